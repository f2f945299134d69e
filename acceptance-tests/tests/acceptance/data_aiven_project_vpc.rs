//! Data source `vnetpeer_aiven_project_vpc` through the real `terraform` against the emulator:
//! lookups by cloud and by id (one request each, VPCs being deleted ignored), and the errors a
//! user can act on (no VPC in the cloud, several, unknown project, selectors missing or both
//! given).
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance data_aiven_project_vpc::
//! ```

use crate::terraform_common::flat;
use serde_json::Value as Json;
use vnetpeer_emulator::{Emulator, Knobs, Seed, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

/// A data source block named `name` with the given selector lines, and an output of it.
fn lookup(name: &str, project: &str, selector: &str) -> String {
    format!(
        r#"
data "vnetpeer_aiven_project_vpc" "{name}" {{
  project = "{project}"
  {selector}
}}

output "{name}" {{
  value = data.vnetpeer_aiven_project_vpc.{name}
}}
"#
    )
}

/// Adds a project VPC to the seeded project; returns its id.
fn add_vpc(emulator: &Emulator, cloud: &str, cidr: &str, vnet_name: &str, state: &str) -> String {
    let seed = emulator.seed().clone();
    emulator.with_world(|world| {
        let (id, _) = world
            .add_project_vpc(&seed, &seed.aiven_project, cloud, cidr, vnet_name)
            .expect("a new project VPC");
        if let Some(vpc) = world.aiven.vpc_mut(&seed.aiven_project, &id) {
            vpc.state = state.to_owned();
        }
        id
    })
}

/// `terraform plan`, which must fail; returns its output.
#[track_caller]
fn failed_plan(workspace: &TerraformWorkspace) -> String {
    let output = workspace.run(&["plan", "-input=false", "-no-color"]);
    assert!(!output.success(), "the plan should fail:\n{output}");
    flat(&output.combined())
}

fn expected(seed: &Seed, project_vpc_id: &str, cloud: &str, cidr: &str) -> Json {
    serde_json::json!({
        "project": seed.aiven_project,
        "project_vpc_id": project_vpc_id,
        "cloud_name": cloud,
        "network_cidr": cidr,
        "state": "ACTIVE",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_vpc_by_cloud_or_by_id_in_one_request_each() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    // In another cloud: one VPC being deleted, and its live replacement.
    add_vpc(
        &emulator,
        "azure-westeurope",
        "10.30.0.0/24",
        "aiven-vnet-old",
        "DELETING",
    );
    let live = add_vpc(
        &emulator,
        "azure-westeurope",
        "10.31.0.0/24",
        "aiven-vnet-new",
        "ACTIVE",
    );
    let project = &seed.aiven_project;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}{}{}",
        lookup(
            "by_cloud",
            project,
            &format!("cloud_name = \"{}\"", seed.aiven_cloud_name)
        ),
        lookup(
            "by_id",
            project,
            &format!("project_vpc_id = \"{}\"", seed.aiven_project_vpc_id)
        ),
        lookup("live", project, "cloud_name = \"azure-westeurope\""),
    ));

    let start = emulator.requests().len() as u64;
    workspace.apply();
    let outputs = workspace.output_json();
    let seeded = expected(
        &seed,
        &seed.aiven_project_vpc_id,
        &seed.aiven_cloud_name,
        &seed.aiven_project_vpc_cidr,
    );
    assert_eq!(outputs["by_cloud"]["value"], seeded);
    assert_eq!(outputs["by_id"]["value"], seeded);
    assert_eq!(
        outputs["live"]["value"],
        expected(&seed, &live, "azure-westeurope", "10.31.0.0/24"),
        "the VPC being deleted is ignored"
    );

    let aiven: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.seq >= start && r.service == Service::Aiven)
        .collect();
    let lists = aiven
        .iter()
        .filter(|r| r.route == "/v1/project/{project}/vpcs")
        .count();
    let gets = aiven
        .iter()
        .filter(|r| r.route == "/v1/project/{project}/vpcs/{project_vpc_id}")
        .count();
    assert_eq!(
        (lists, gets, aiven.len()),
        (2, 1, 3),
        "one request per lookup: {aiven:#?}"
    );

    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    assert!(
        emulator.violations().is_empty(),
        "{:#?}",
        emulator.violations()
    );
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_exists_and_what_to_set() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let project = &seed.aiven_project;
    let workspace = TerraformWorkspace::for_emulator(&emulator);

    // No VPC in that cloud: the error lists the project's VPCs.
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}",
        lookup("x", project, "cloud_name = \"azure-westeurope\"")
    ));
    let text = failed_plan(&workspace);
    assert!(
        text.contains("No project VPC in cloud \"azure-westeurope\""),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} ({}, {}, ACTIVE)",
            seed.aiven_cloud_name, seed.aiven_project_vpc_id, seed.aiven_project_vpc_cidr
        )),
        "{text}"
    );

    // An unknown project: the 404 is explained.
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}",
        lookup("x", "no-such-project", "cloud_name = \"azure-westeurope\"")
    ));
    let text = failed_plan(&workspace);
    assert!(text.contains("no-such-project"), "{text}");
    assert!(text.contains("case-sensitive"), "{text}");

    // A VPC id that does not exist.
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}",
        lookup(
            "x",
            project,
            "project_vpc_id = \"00000000-0000-4000-8000-000000000000\""
        )
    ));
    let text = failed_plan(&workspace);
    assert!(
        text.contains("Cannot read project VPC 00000000-0000-4000-8000-000000000000"),
        "{text}"
    );

    // Neither selector, or both: caught before any request.
    let before = emulator.requests().len();
    for (selector, summary) in [
        ("", "Missing project VPC selector"),
        (
            "cloud_name = \"a\"\n  project_vpc_id = \"00000000-0000-4000-8000-000000000000\"",
            "Conflicting project VPC selectors",
        ),
    ] {
        workspace.write_config(&format!(
            "{REQUIRED_PROVIDERS}{}",
            lookup("x", project, selector)
        ));
        let (output, _) = workspace.validate();
        assert!(!output.success(), "{output}");
        assert!(flat(&output.combined()).contains(summary), "{output}");
    }
    assert_eq!(emulator.requests().len(), before, "validate calls nothing");

    // Two live VPCs in the same cloud: both named, and the way out.
    let second = add_vpc(
        &emulator,
        &seed.aiven_cloud_name,
        "10.40.0.0/24",
        "aiven-vnet-second",
        "ACTIVE",
    );
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}",
        lookup(
            "x",
            project,
            &format!("cloud_name = \"{}\"", seed.aiven_cloud_name)
        )
    ));
    let text = failed_plan(&workspace);
    for expected in [
        "Several project VPCs",
        seed.aiven_project_vpc_id.as_str(),
        second.as_str(),
        "project_vpc_id",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    assert!(
        emulator.violations().is_empty(),
        "{:#?}",
        emulator.violations()
    );
    workspace.assert_no_secret_leaks(&emulator, &[]);
}
