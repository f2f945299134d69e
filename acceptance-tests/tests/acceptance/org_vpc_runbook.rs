//! Aiven organization VPCs (issue 13) and the plan-time checks and in-place range update of the
//! shared Aiven peering (issue 12), through the real `terraform` against the emulator, with the
//! `aiven-vnet-peering` module: the whole runbook on the seeded organization VPC, as
//! `examples/complete` with `aiven_organization_id` set (one apply to ACTIVE, an empty re-plan,
//! import by id, destroy back to the seeded world, request counts);
//! both VPC kinds in one configuration (`examples/project-and-organization`); bad input refused
//! at plan with nothing created; an overlapping VNet refused at plan naming both ranges; and a
//! `user_peer_network_cidrs` change made in place, on either kind of VPC.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance org_vpc_runbook::
//! ```

use crate::terraform_common::{
    aiven_connections, applied, assert_empty_plan_and_clean_destroy, assert_world_is, blocking,
    complete_workspace, count, describe, flat, install_example, install_module, module_resource,
    next_seq, output, requests_since,
};
use vnetpeer_emulator::{Emulator, Knobs, Secret, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const ORG_PEERING: &str = "module.aiven_peering.vnetpeer_aiven_org_vpc_peering.this[0]";
const ORG_LIST_ROUTE: &str = "/v1/organization/{organization_id}/vpcs";
const ORG_VPC_ROUTE: &str = "/v1/organization/{organization_id}/vpc/{vpc_id}";
const ORG_CREATE_ROUTE: &str =
    "/v1/organization/{organization_id}/vpc/{vpc_id}/peering-connections";
const ORG_DELETE_ROUTE: &str =
    "/v1/organization/{organization_id}/vpc/{vpc_id}/peering-connection/{peering_connection_id}";
const ORG_CIDRS_ROUTE: &str =
    "/v1/organization/{organization_id}/vpc/{vpc_id}/user-peer-network-cidrs";
const PROJECT_PEERING: &str = "module.aiven_peering.vnetpeer_aiven_vpc_peering.this[0]";
const PROJECT_CIDRS_ROUTE: &str =
    "/v1/project/{project}/vpcs/{project_vpc_id}/user-peer-network-cidrs";

/// A workspace on `emulator` with the module under `./modules/aiven-vnet-peering` and `config`
/// as `main.tf` calling it.
fn module_workspace(emulator: &Emulator, config: &str) -> TerraformWorkspace {
    let workspace = TerraformWorkspace::for_emulator(emulator);
    install_module(&workspace);
    workspace.write_config(config);
    workspace.run_ok(&["get", "-no-color"]);
    workspace
}

/// The module called once as `aiven_peering` with `arguments` (HCL lines).
fn module_config(arguments: &str) -> String {
    format!(
        r#"
{REQUIRED_PROVIDERS}
module "aiven_peering" {{
  source = "./modules/aiven-vnet-peering"
{arguments}
}}

output "aiven_peering_state" {{
  value = module.aiven_peering.aiven_peering_state
}}

output "azure_peering_state" {{
  value = module.aiven_peering.azure_peering_state
}}

output "aiven_peering_id" {{
  value = module.aiven_peering.aiven_peering_id
}}
"#
    )
}

/// The module on the seeded organization VPC and customer VNet, plus `extra` arguments.
fn organization_config(emulator: &Emulator, extra: &str) -> String {
    let seed = emulator.seed();
    module_config(&format!(
        "  aiven_organization_id = \"{}\"\n  aiven_cloud_name = \"{}\"\n  vnet_id = \"{}\"\n{extra}",
        seed.aiven_organization_id, seed.aiven_cloud_name, seed.customer_vnet_id
    ))
}

/// The module on the seeded project VPC and customer VNet, plus `extra` arguments.
fn project_config(emulator: &Emulator, extra: &str) -> String {
    let seed = emulator.seed();
    module_config(&format!(
        "  aiven_project = \"{}\"\n  aiven_cloud_name = \"{}\"\n  vnet_id = \"{}\"\n{extra}",
        seed.aiven_project, seed.aiven_cloud_name, seed.customer_vnet_id
    ))
}

/// Requests since `seq` that could change something in Graph, ARM or Aiven.
fn writes_since(emulator: &Emulator, seq: u64) -> Vec<String> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| {
            r.seq >= seq
                && matches!(r.service, Service::Graph | Service::Arm | Service::Aiven)
                && r.method != "GET"
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_vpc_runbook_one_apply_import_destroy() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let seeded = emulator.snapshot();
    // What the issue's user does: `examples/complete` with the organization id set.
    let mut workspace = complete_workspace(&emulator);
    workspace.set_env("TF_VAR_aiven_organization_id", &seed.aiven_organization_id);

    let start = next_seq(&emulator);
    let workspace = applied(workspace).await;
    assert_eq!(output(&workspace, "aiven_peering_state"), "ACTIVE");
    assert_eq!(output(&workspace, "azure_peering_state"), "Connected");
    let id = format!(
        "organization/{}/{}{}",
        seed.aiven_organization_id, seed.aiven_organization_vpc_id, seed.customer_vnet_id
    );
    assert_eq!(output(&workspace, "aiven_peering_id"), id.as_str());
    let peering = module_resource(&workspace, ORG_PEERING);
    assert_eq!(peering["aiven_tenant_id"], seed.aiven_tenant_id.as_str());
    assert_eq!(
        peering["aiven_vnet_id"],
        seed.aiven_organization_vnet_id.as_str(),
        "the organization VPC's own VNet"
    );
    let connections = aiven_connections(&emulator);
    assert_eq!(connections.len(), 1, "{connections:?}");
    assert_eq!(connections[0].0, seed.aiven_organization_id);
    assert_eq!(connections[0].2, "ACTIVE");

    // Requests at their minimum: the data source lists the organization's VPCs once; the
    // preflight reads the VPC once per plan (the plan, and the apply's final plan: the app of
    // the same apply is unknown at the first, and the checks run all the same); one create; the
    // rest are reads of the VPC while waiting for PENDING_PEER and then ACTIVE.
    let aiven = requests_since(&emulator, start, Service::Aiven);
    assert_eq!(
        count(&aiven, "GET", ORG_LIST_ROUTE),
        1,
        "{}",
        describe(&aiven)
    );
    assert_eq!(
        count(&aiven, "POST", ORG_CREATE_ROUTE),
        1,
        "{}",
        describe(&aiven)
    );
    let post = aiven
        .iter()
        .position(|r| r.method == "POST")
        .expect("the create");
    assert_eq!(
        count(&aiven[..post], "GET", ORG_VPC_ROUTE),
        2,
        "one preflight read per plan\n{}",
        describe(&aiven)
    );
    assert_eq!(
        aiven[post + 1..]
            .iter()
            .filter(|r| !(r.method == "GET" && r.route == ORG_VPC_ROUTE))
            .count(),
        0,
        "after the create, only reads of the VPC\n{}",
        describe(&aiven)
    );
    // Two waits read the VPC after the create: the peering's for PENDING_PEER and the
    // cross-tenant peering's for ACTIVE, each done within a few polls (the emulator's Aiven
    // builds its side in 200 ms; the number of polls depends on timing, so it is bounded).
    let polls = aiven.len() - post - 1;
    assert!(
        (2..=8).contains(&polls),
        "{polls} reads of the VPC after the create\n{}",
        describe(&aiven)
    );
    assert!(
        aiven.iter().all(|r| r.status == 200),
        "{}",
        describe(&aiven)
    );

    let workspace = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(
            code, 0,
            "a plan right after the apply wants changes:\n{plan}"
        );

        // Import by the documented id into a state that forgot the peering.
        workspace.run_ok(&["state", "rm", ORG_PEERING]);
        workspace.import(ORG_PEERING, &id);
        let imported = module_resource(&workspace, ORG_PEERING);
        assert_eq!(imported["id"], id.as_str());
        assert_eq!(imported["state"], "ACTIVE");
        assert_eq!(
            imported["peering_connection_id"],
            peering["peering_connection_id"]
        );
        // Terraform 1.15's `state rm` also forgets the outputs that read the peering, so its
        // plan may save them again; the infrastructure must not change either way.
        let (code, plan) = workspace.plan_detailed_exitcode();
        let outputs_only = plan.contains("without changing any real infrastructure")
            && !plan.contains("will perform the following actions");
        assert!(
            code == 0 || (code == 2 && outputs_only),
            "a plan right after the import wants changes:\n{plan}"
        );
        if code == 2 {
            let applied = workspace.apply().combined();
            assert!(
                applied.contains("Resources: 0 added, 0 changed, 0 destroyed."),
                "{applied}"
            );
        }
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 0, "a plan after the import wants changes:\n{plan}");
        workspace
    })
    .await;

    let start = next_seq(&emulator);
    let workspace = blocking(move || {
        workspace.destroy();
        workspace
    })
    .await;
    let aiven = requests_since(&emulator, start, Service::Aiven);
    assert_eq!(
        count(&aiven, "DELETE", ORG_DELETE_ROUTE),
        1,
        "deleted once, by its id\n{}",
        describe(&aiven)
    );
    assert_eq!(aiven.iter().filter(|r| r.method != "GET").count(), 1);
    assert_world_is(&emulator, &seeded);
    assert_eq!(emulator.violations(), vec![]);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_and_organization_vpcs_in_one_configuration() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let seeded = emulator.snapshot();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    install_example(&workspace, "project-and-organization");
    let workspace = applied(workspace).await;
    assert_eq!(output(&workspace, "project_vpc_peering_state"), "ACTIVE");
    assert_eq!(
        output(&workspace, "organization_vpc_peering_state"),
        "ACTIVE"
    );
    let owners: Vec<(String, String)> = aiven_connections(&emulator)
        .into_iter()
        .map(|(owner, _, state, _)| (owner, state))
        .collect();
    let mut expected = vec![
        (seed.aiven_organization_id.clone(), "ACTIVE".to_owned()),
        (seed.aiven_project.clone(), "ACTIVE".to_owned()),
    ];
    expected.sort();
    assert_eq!(owners, expected);
    assert_empty_plan_and_clean_destroy(&emulator, workspace, &seeded).await;
}

/// A plan that must fail before anything is created: its output (whitespace flattened).
async fn failed_plan(emulator: &Emulator, workspace: TerraformWorkspace) -> String {
    let start = next_seq(emulator);
    let (code, output) = blocking(move || workspace.plan_detailed_exitcode()).await;
    assert_eq!(code, 1, "the plan should fail:\n{output}");
    assert_eq!(writes_since(emulator, start), Vec::<String>::new());
    flat(&output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_organization_input_is_refused_at_plan_naming_the_argument() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let seeded = emulator.snapshot();
    let vnet = &seed.customer_vnet_id;
    let cloud = &seed.aiven_cloud_name;

    // Both addressings, and neither.
    for arguments in [
        format!(
            "  aiven_project = \"{}\"\n  aiven_organization_id = \"{}\"\n  aiven_cloud_name = \"{cloud}\"\n  vnet_id = \"{vnet}\"",
            seed.aiven_project, seed.aiven_organization_id
        ),
        format!("  aiven_cloud_name = \"{cloud}\"\n  vnet_id = \"{vnet}\""),
    ] {
        let text = failed_plan(
            &emulator,
            module_workspace(&emulator, &module_config(&arguments)),
        )
        .await;
        assert!(
            text.contains("Invalid value for variable")
                && text.contains(
                    "Set exactly one of aiven_project (to peer the project's VPC) and \
                     aiven_organization_id"
                ),
            "{text}"
        );
    }

    // An organization that does not exist.
    let unknown = module_config(&format!(
        "  aiven_organization_id = \"org0000000000\"\n  aiven_cloud_name = \"{cloud}\"\n  vnet_id = \"{vnet}\""
    ));
    let text = failed_plan(&emulator, module_workspace(&emulator, &unknown)).await;
    assert!(
        text.contains("Cannot list the organization VPCs of Aiven organization org0000000000")
            && text.contains("organization_id")
            && text.contains("Organization org0000000000 not found"),
        "{text}"
    );
    // Terraform shows the argument the diagnostic is attached to, with its line.
    let on_the_owner = |text: &str| {
        text.contains("in data \"vnetpeer_aiven_organization_vpc\" \"this\"")
            && text.contains(": organization_id = var.aiven_organization_id")
    };
    assert!(on_the_owner(&text), "{text}");

    // An organization VPC in another cloud, peered directly by id.
    let aws_vpc = emulator
        .with_world(|world| world.add_organization_vpc(&seed, "aws-eu-central-1", "10.40.0.0/24"))
        .expect("an AWS organization VPC");
    let other_cloud = format!(
        r#"
{REQUIRED_PROVIDERS}
resource "vnetpeer_aiven_org_vpc_peering" "this" {{
  organization_id      = "{organization}"
  organization_vpc_id  = "{aws_vpc}"
  vnet_id              = "{vnet}"
  peer_azure_app_id    = "22222222-2222-4222-8222-222222222222"
  peer_azure_tenant_id = "{tenant}"
}}
"#,
        organization = seed.aiven_organization_id,
        tenant = seed.customer_tenant_id,
    );
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&other_cloud);
    let text = failed_plan(&emulator, workspace).await;
    assert!(
        text.contains("The Aiven organization VPC is not in an Azure cloud")
            && text.contains("\"aws-eu-central-1\"")
            && text.contains(&format!(": organization_vpc_id = \"{aws_vpc}\"")),
        "{text}"
    );

    // A token whose user lacks the organization networking permission.
    let restricted = "aivenv1-emulator-token-without-organization-networking";
    emulator.with_world(|world| {
        world
            .aiven
            .tokens_without_organization_networking
            .push(Secret::new(restricted));
    });
    let mut workspace = module_workspace(&emulator, &organization_config(&emulator, ""));
    workspace.set_env("AIVEN_TOKEN", restricted);
    let text = failed_plan(&emulator, workspace).await;
    assert!(
        text.contains("organization:networking:read")
            && on_the_owner(&text)
            && text.contains("Permission denied"),
        "{text}"
    );
    // The same token on the resource itself: the preflight's refusal names the write permission.
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&other_cloud.replace(&aws_vpc, &seed.aiven_organization_vpc_id));
    workspace.set_env("AIVEN_TOKEN", restricted);
    let text = failed_plan(&emulator, workspace).await;
    assert!(
        text.contains("organization:networking:write")
            && text.contains(&format!(
                ": organization_id = \"{}\"",
                seed.aiven_organization_id
            )),
        "{text}"
    );

    // Nothing was created anywhere (the AWS VPC is the test's own addition).
    emulator.with_world(|world| {
        if let Some(organization) = world
            .aiven
            .projects
            .iter_mut()
            .find(|owner| owner.name == seed.aiven_organization_id)
        {
            organization
                .vpcs
                .retain(|vpc| vpc.project_vpc_id != aws_vpc);
        }
        world.aiven.tokens_without_organization_networking.clear();
    });
    assert_world_is(&emulator, &seeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlapping_vnet_fails_the_plan_of_the_whole_module_naming_both_ranges() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    // A VNet overlapping each VPC: the organization VPC's range (10.30.0.0/24) and the project
    // VPC's (10.20.0.0/24) inside the VNet's.
    let add_vnet = |name: &str, range: &str| {
        emulator
            .with_world(|world| {
                world.arm.add_vnet(
                    &seed.customer_subscription_id,
                    &seed.customer_resource_group,
                    name,
                    &seed.location,
                    &[range],
                )
            })
            .expect("an overlapping customer VNet")
    };
    let cases = [
        (
            format!(
                "  aiven_organization_id = \"{}\"",
                seed.aiven_organization_id
            ),
            add_vnet("vnet-Overlap-Organization", "10.30.0.0/16"),
            "10.30.0.0/16",
            "10.30.0.0/24",
        ),
        (
            format!("  aiven_project = \"{}\"", seed.aiven_project),
            add_vnet("vnet-Overlap-Project", "10.20.0.0/16"),
            "10.20.0.0/16",
            "10.20.0.0/24",
        ),
    ];
    let seeded = emulator.snapshot();
    for (owner, vnet, vnet_range, vpc_range) in cases {
        let config = module_config(&format!(
            "{owner}\n  aiven_cloud_name = \"{}\"\n  vnet_id = \"{vnet}\"",
            seed.aiven_cloud_name
        ));
        let text = failed_plan(&emulator, module_workspace(&emulator, &config)).await;
        assert!(
            text.contains("address ranges overlap")
                && text.contains(&format!("{vnet_range} (the VNet's address space"))
                && text.contains(&format!("overlaps {vpc_range}")),
            "{text}"
        );
    }
    assert_world_is(&emulator, &seeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_peer_network_cidrs_change_is_an_in_place_update() {
    let emulator = Emulator::start(Knobs::test()).await;
    assert_user_peer_network_cidrs_change_is_in_place(
        emulator,
        organization_config,
        ORG_PEERING,
        ORG_CIDRS_ROUTE,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_peer_network_cidrs_change_of_a_project_peering_is_an_in_place_update() {
    let emulator = Emulator::start(Knobs::test()).await;
    assert_user_peer_network_cidrs_change_is_in_place(
        emulator,
        project_config,
        PROJECT_PEERING,
        PROJECT_CIDRS_ROUTE,
    )
    .await;
}

/// The module applied with `user_peer_network_cidrs = ["10.10.1.0/24"]` through `config`, then
/// changed to `["10.10.2.0/24"]`: the plan updates `address` in place, the apply sends one
/// `PUT` of `cidrs_route` and no create or delete, the connection keeps its id and is ACTIVE
/// with the new range, and the re-plan is empty.
async fn assert_user_peer_network_cidrs_change_is_in_place(
    emulator: Emulator,
    config: fn(&Emulator, &str) -> String,
    address: &'static str,
    cidrs_route: &str,
) {
    let seeded = emulator.snapshot();
    let workspace = module_workspace(
        &emulator,
        &config(&emulator, "  user_peer_network_cidrs = [\"10.10.1.0/24\"]"),
    );
    let workspace = applied(workspace).await;
    let before = module_resource(&workspace, address);
    assert_eq!(
        aiven_connections(&emulator)[0].3,
        serde_json::json!(["10.10.1.0/24"])
    );

    workspace.write_config(&config(
        &emulator,
        "  user_peer_network_cidrs = [\"10.10.2.0/24\"]",
    ));
    let start = next_seq(&emulator);
    let workspace = blocking(move || {
        let plan = workspace.plan();
        assert!(
            plan.contains(&format!("{address} will be updated in-place"))
                && !plan.contains("must be replaced")
                && plan.contains("0 to add, 1 to change, 0 to destroy"),
            "{plan}"
        );
        workspace.apply();
        workspace
    })
    .await;
    let aiven = requests_since(&emulator, start, Service::Aiven);
    assert_eq!(count(&aiven, "PUT", cidrs_route), 1, "{}", describe(&aiven));
    assert_eq!(
        aiven.iter().filter(|r| r.method != "GET").count(),
        1,
        "no create or delete\n{}",
        describe(&aiven)
    );
    let after = module_resource(&workspace, address);
    assert_eq!(
        after["peering_connection_id"],
        before["peering_connection_id"]
    );
    assert_eq!(
        after["user_peer_network_cidrs"],
        serde_json::json!(["10.10.2.0/24"])
    );
    let connections = aiven_connections(&emulator);
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].2, "ACTIVE");
    assert_eq!(connections[0].3, serde_json::json!(["10.10.2.0/24"]));
    assert_empty_plan_and_clean_destroy(&emulator, workspace, &seeded).await;
}

/// A `vnetpeer_aiven_organization_vpc` block named `name` with `selector`, and an output of it.
fn organization_vpc_lookup(emulator: &Emulator, name: &str, selector: &str) -> String {
    format!(
        r#"
data "vnetpeer_aiven_organization_vpc" "{name}" {{
  organization_id = "{organization}"
  {selector}
}}

output "{name}" {{
  value = data.vnetpeer_aiven_organization_vpc.{name}
}}
"#,
        organization = emulator.seed().aiven_organization_id
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organization_vpc_data_source_finds_one_vpc_and_explains_none_or_several() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let cloud = &seed.aiven_cloud_name;
    let workspace = TerraformWorkspace::for_emulator(&emulator);

    // By cloud and by id: the same VPC, one request each.
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}{}",
        organization_vpc_lookup(&emulator, "by_cloud", &format!("cloud_name = \"{cloud}\"")),
        organization_vpc_lookup(
            &emulator,
            "by_id",
            &format!(
                "organization_vpc_id = \"{}\"",
                seed.aiven_organization_vpc_id
            )
        ),
    ));
    let start = next_seq(&emulator);
    let workspace = applied(workspace).await;
    let expected = serde_json::json!({
        "organization_id": seed.aiven_organization_id,
        "organization_vpc_id": seed.aiven_organization_vpc_id,
        "cloud_name": cloud,
        "network_cidr": seed.aiven_organization_vpc_cidr,
        "state": "ACTIVE",
        "display_name": "shared-switzerland",
    });
    assert_eq!(output(&workspace, "by_cloud"), expected);
    assert_eq!(output(&workspace, "by_id"), expected);
    let aiven = requests_since(&emulator, start, Service::Aiven);
    assert_eq!(
        (
            count(&aiven, "GET", ORG_LIST_ROUTE),
            count(&aiven, "GET", ORG_VPC_ROUTE),
            aiven.len()
        ),
        (1, 1, 2),
        "one request per lookup\n{}",
        describe(&aiven)
    );

    // No organization VPC in the cloud: the error lists the organization's VPCs.
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}",
        organization_vpc_lookup(&emulator, "x", "cloud_name = \"azure-westeurope\"")
    ));
    let text = failed_plan(&emulator, workspace).await;
    for expected in [
        "No organization VPC in cloud \"azure-westeurope\"".to_owned(),
        format!(
            "{cloud} ({}, {}, ACTIVE)",
            seed.aiven_organization_vpc_id, seed.aiven_organization_vpc_cidr
        ),
        // Attached to the argument to fix.
        ": cloud_name = \"azure-westeurope\"".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }

    // Two organization VPCs in the cloud: both named, and the argument that picks one.
    let second = emulator
        .with_world(|world| world.add_organization_vpc(&seed, cloud, "10.40.0.0/24"))
        .expect("a second organization VPC");
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&format!(
        "{REQUIRED_PROVIDERS}{}",
        organization_vpc_lookup(&emulator, "x", &format!("cloud_name = \"{cloud}\""))
    ));
    let text = failed_plan(&emulator, workspace).await;
    for expected in [
        format!("Several organization VPCs in cloud \"{cloud}\""),
        seed.aiven_organization_vpc_id.clone(),
        second.clone(),
        "organization_vpc_id".to_owned(),
        format!(": cloud_name = \"{cloud}\""),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(emulator.violations(), vec![]);
}
