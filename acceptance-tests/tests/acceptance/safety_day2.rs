//! No standing secrets and day-2 address-space changes (issue 12), through the real `terraform`:
//!
//! - `examples/complete` (the module with `create_password = false`): after apply the
//!   application holds no password credential and no value in the state file is a secret (one
//!   the emulator issued, or the provider's own credentials); the cross-tenant peering still
//!   reaches ACTIVE; destroy is clean;
//! - address space added to the customer VNet, then to Aiven's: the plan shows an in-place resync
//!   and says why, the apply repairs it with one peering PUT, and the next plan is empty;
//! - `create_password = false` with any `secret_*` argument or `rotate_when_changed` is refused
//!   at `terraform validate`, the diagnostic at that argument, naming the fix.
//!
//! ```text
//! cargo xtask test -- safety_day2::
//! ```

use crate::reliability_common::install_complete_example;
use crate::terraform_common::blocking;
use crate::terraform_common::flat;
use vnetpeer_emulator::{Emulator, Knobs, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

/// Password credentials on the applications the apply created (display name `demo-…`).
pub fn password_credentials_of_new_apps(emulator: &Emulator) -> Vec<usize> {
    emulator.with_world(|world| {
        world
            .identity
            .applications
            .values()
            .filter(|app| app.display_name.starts_with("demo-"))
            .map(|app| app.password_credentials.len())
            .collect()
    })
}

/// Peering PUTs in the request log.
fn peering_puts(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| {
            r.service == Service::Arm
                && r.method == "PUT"
                && r.route.ends_with("/virtualNetworkPeerings/{peering}")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_complete_example_leaves_no_secret_standing_or_at_rest() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let (workspace, outputs, state) = blocking(move || {
        install_complete_example(&workspace);
        workspace.apply();
        let outputs = workspace.output_json();
        let state = workspace.state_file_text();
        (workspace, outputs, state)
    })
    .await;
    assert_eq!(outputs["aiven_peering_state"]["value"], "ACTIVE");
    assert_eq!(
        password_credentials_of_new_apps(&emulator),
        [0],
        "the application holds no password credential after apply"
    );
    let minted = emulator.with_world(|world| world.identity.issued_secrets.len());
    assert!(minted > 0, "a secret was minted for the peering");
    let mut secrets = emulator.issued_secrets();
    // The provider's own credentials too: none of them belongs in the state either.
    let seed = emulator.seed();
    secrets.push(seed.operator_client_secret.expose().to_owned());
    secrets.push(seed.aiven_token.expose().to_owned());
    let at_rest: Vec<&String> = secrets
        .iter()
        .filter(|secret| state.contains(secret.as_str()))
        .collect();
    assert!(at_rest.is_empty(), "{} secrets in the state", at_rest.len());
    let state_json: serde_json::Value = serde_json::from_str(&state).expect("state JSON");
    let app = state_json["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "vnetpeer_aad_app")
        .expect("the application in the state");
    let attributes = &app["instances"][0]["attributes"];
    assert!(attributes["client_secret"].is_null(), "{attributes}");
    assert!(attributes["client_secret_key_id"].is_null(), "{attributes}");
    assert_eq!(attributes["create_password"], false);

    let workspace = blocking(move || {
        assert_eq!(
            workspace.plan_detailed_exitcode().0,
            0,
            "the re-plan is empty"
        );
        workspace.destroy();
        workspace
    })
    .await;
    // The module keeps the deleted application restorable (`permanently_delete` is off): it is
    // in the deleted items, without any secret to restore.
    let mut after = emulator.snapshot();
    let deleted = std::mem::take(&mut after["identity"]["deleted_applications"]);
    let deleted: Vec<&serde_json::Value> = deleted
        .as_object()
        .into_iter()
        .flat_map(|apps| apps.values())
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["password_credentials"], serde_json::json!([]));
    after["identity"]["deleted_applications"] = serde_json::json!({});
    assert_eq!(after, seeded, "destroy leaves the world as seeded");
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_space_changes_of_either_vnet_are_resynced_in_place() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let mut workspace = blocking(move || {
        install_complete_example(&workspace);
        workspace.apply();
        assert_eq!(workspace.plan_detailed_exitcode().0, 0);
        workspace
    })
    .await;

    for (vnet_id, prefixes, level) in [
        (
            seed.customer_vnet_id.clone(),
            vec!["10.10.0.0/16", "10.11.0.0/16"],
            "LocalNotInSync",
        ),
        (
            seed.aiven_vnet_id.clone(),
            vec!["10.20.0.0/24", "10.21.0.0/24"],
            "RemoteNotInSync",
        ),
    ] {
        assert!(emulator.set_vnet_address_space(&vnet_id, &prefixes));
        let puts_before = peering_puts(&emulator);
        let (returned, code, plan, apply, after) = blocking(move || {
            let (code, plan) = workspace.plan_detailed_exitcode();
            let apply = workspace.apply().combined();
            let after = workspace.plan_detailed_exitcode();
            (workspace, code, plan, apply, after)
        })
        .await;
        assert_eq!(code, 2, "the plan shows the resync:\n{plan}");
        assert!(plan.contains("out of sync"), "{plan}");
        assert!(plan.contains(level), "the plan names {level}:\n{plan}");
        assert!(
            plan.contains("1 to change, 0 to destroy"),
            "in place:\n{plan}"
        );
        assert!(apply.contains("1 changed, 0 destroyed"), "{apply}");
        assert_eq!(
            peering_puts(&emulator) - puts_before,
            1,
            "one PUT with syncRemoteAddressSpace=true"
        );
        assert_eq!(after.0, 0, "the next plan is empty:\n{}", after.1);
        let state: serde_json::Value =
            serde_json::from_str(&returned.state_file_text()).expect("state JSON");
        let synced = state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == "vnetpeer_cross_tenant_vnet_peering")
            .map(|r| r["instances"][0]["attributes"].clone())
            .expect("the peering in the state");
        assert_eq!(synced["peering_sync_level"], "FullyInSync");
        let remote = synced["remote_address_space"].to_string();
        if level == "RemoteNotInSync" {
            assert!(remote.contains("10.21.0.0/24"), "{remote}");
        }
        workspace = returned;
    }
    blocking(move || workspace.destroy()).await;
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_arguments_without_a_secret_are_refused_naming_the_argument() {
    let emulator = Emulator::start(Knobs::test()).await;
    // Each argument that only means something with a managed secret, alone.
    for (name, value) in [
        ("secret_display_name", r#""peering""#),
        ("secret_end_date", r#""2030-01-01T00:00:00Z""#),
        ("secret_lifetime", r#""720h""#),
        ("rotate_when_changed", r#"{ rotation = "1" }"#),
    ] {
        let workspace = TerraformWorkspace::for_emulator(&emulator);
        workspace.write_file(
            "main.tf",
            &format!(
                r#"
{REQUIRED_PROVIDERS}
resource "vnetpeer_aad_app" "peering" {{
  display_name    = "no-secret"
  create_password = false
  {name} = {value}
}}
"#
            ),
        );
        let output = blocking(move || workspace.run(&["validate", "-no-color"])).await;
        assert!(!output.success(), "{output}");
        // Terraform wraps the detail: compare with single spaces.
        let text = flat(&output.combined());
        assert!(
            text.contains(&format!("{name} needs a client secret")),
            "{text}"
        );
        assert!(
            text.contains("create_password = true"),
            "the fix is named:\n{text}"
        );
        // The diagnostic points at the argument: Terraform quotes its line.
        assert!(
            text.contains(&format!("{name} = {value}")),
            "the diagnostic is at `{name}`:\n{text}"
        );
    }
    assert!(emulator.requests().is_empty(), "refused before any request");
}
