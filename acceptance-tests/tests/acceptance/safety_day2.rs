//! No standing secrets and day-2 address-space changes (issue 12), through the real `terraform`:
//!
//! - `examples/complete` (the module with `create_password = false`): after apply the
//!   application holds no password credential and no value in the state file is a secret (one
//!   the emulator issued, or the provider's own credentials); the cross-tenant peering still
//!   reaches ACTIVE; destroy is clean;
//! - address space added to the customer VNet: Azure wants the sync on Aiven's peering, which
//!   the provider cannot write, so the plan changes nothing and says so; then to Aiven's VNet:
//!   the plan shows an in-place resync and says why, the apply repairs it with one peering PUT,
//!   and the next plan is empty;
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

/// The `peeringSyncLevel` the emulator reports for the peering on `vnet_id` towards
/// `remote_vnet_id`, and that peering's name.
fn sync_level(emulator: &Emulator, vnet_id: &str, remote_vnet_id: &str) -> (String, String) {
    emulator.with_world(|world| {
        let vnet = world.arm.vnet_by_id(vnet_id).expect("the VNet");
        let peering = vnet
            .peerings
            .iter()
            .find(|p| p.remote_vnet_id.eq_ignore_ascii_case(remote_vnet_id))
            .expect("the peering towards the remote VNet");
        (
            peering.name.clone(),
            world.arm.peering_sync_level(vnet_id, peering).to_owned(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_space_changes_are_synced_on_the_side_azure_names() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (customer, aiven) = (seed.customer_vnet_id.clone(), seed.aiven_vnet_id.clone());
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let workspace = blocking(move || {
        install_complete_example(&workspace);
        workspace.apply();
        assert_eq!(workspace.plan_detailed_exitcode().0, 0);
        workspace
    })
    .await;

    // The customer VNet grows. Azure wants the sync on the peering pointing at it, Aiven's
    // (`LocalNotInSync` there); the customer's own peering reports `RemoteNotInSync`. The
    // provider cannot write Aiven's peering: the plan changes nothing and says who must sync.
    assert!(emulator.set_vnet_address_space(&customer, &["10.10.0.0/16", "10.11.0.0/16"]));
    assert_eq!(
        sync_level(&emulator, &customer, &aiven).1,
        "RemoteNotInSync"
    );
    let (aiven_side, level) = sync_level(&emulator, &aiven, &customer);
    assert_eq!(level, "LocalNotInSync");
    let puts_before = peering_puts(&emulator);
    let (workspace, code, plan) = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        (workspace, code, plan)
    })
    .await;
    let plan = flat(&plan);
    assert_eq!(code, 0, "nothing this provider can change:\n{plan}");
    assert!(
        plan.contains("RemoteNotInSync") && plan.contains("Ask Aiven to sync"),
        "the plan says whose side needs the sync:\n{plan}"
    );
    assert_eq!(peering_puts(&emulator), puts_before, "no peering written");
    // Aiven syncs its side: both peerings are in sync, and the plan no longer warns.
    emulator.with_world(|world| world.arm.sync_address_spaces(&aiven, &aiven_side));
    assert_eq!(sync_level(&emulator, &customer, &aiven).1, "FullyInSync");
    let (workspace, code, plan) = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        (workspace, code, plan)
    })
    .await;
    assert_eq!(code, 0, "{plan}");
    assert!(!plan.contains("NotInSync"), "{plan}");

    // Aiven's VNet grows: the customer's peering points at it and reports `LocalNotInSync`;
    // the plan shows an in-place resync and says why, the apply repairs it with one PUT, and
    // the next plan is empty.
    assert!(emulator.set_vnet_address_space(&aiven, &["10.20.0.0/24", "10.21.0.0/24"]));
    assert_eq!(sync_level(&emulator, &customer, &aiven).1, "LocalNotInSync");
    let puts_before = peering_puts(&emulator);
    let (workspace, code, plan, apply, after) = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        let apply = workspace.apply().combined();
        let after = workspace.plan_detailed_exitcode();
        (workspace, code, plan, apply, after)
    })
    .await;
    assert_eq!(code, 2, "the plan shows the resync:\n{plan}");
    assert!(plan.contains("out of sync"), "{plan}");
    assert!(
        plan.contains("LocalNotInSync"),
        "the plan names the level:\n{plan}"
    );
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
    assert_eq!(sync_level(&emulator, &customer, &aiven).1, "FullyInSync");
    let state: serde_json::Value =
        serde_json::from_str(&workspace.state_file_text()).expect("state JSON");
    let synced = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "vnetpeer_cross_tenant_vnet_peering")
        .map(|r| r["instances"][0]["attributes"].clone())
        .expect("the peering in the state");
    assert_eq!(synced["peering_sync_level"], "FullyInSync");
    let remote = synced["remote_address_space"].to_string();
    assert!(remote.contains("10.21.0.0/24"), "{remote}");

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
