//! `vnetpeer_cross_tenant_vnet_peering` through the real `terraform` against the emulator.
//!
//! The runbook steps before it (application, role assignments, Aiven's service principal, the
//! Aiven peering connection) are prepared directly in the emulator's world, so these tests
//! exercise this resource alone; `flow.rs` runs the whole runbook through Terraform.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance resource_cross_tenant_peering::
//! ```

use std::time::Duration;

use crate::peering_setup::{
    PeeringApp, add_aiven_connection, add_peering_app, add_peering_app_with_network_contributor,
    connect_seeded_vpc, prepared_for_step_7, secret_key_ids, settle, uuid_for,
};
use serde_json::Value as Json;
use vnetpeer_emulator::world::arm::{NETWORK_CONTRIBUTOR_ROLE_ID, RoleAssignment};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Seed, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_cross_tenant_vnet_peering.to_aiven";
const PEERING: &str = "to-aiven";

/// How the step-1 application's secret reaches the resource.
enum Credential<'a> {
    /// `application_object_id`: the provider mints a secret.
    Minted(&'a PeeringApp),
    /// `client_secret` from an ephemeral variable, set with [`given_secret`].
    Given,
}

/// Passes `secret` to the configuration's `peering_secret` variable through the environment,
/// as a pipeline would (a literal in `main.tf` would be echoed by Terraform's diagnostics).
fn given_secret(workspace: &mut TerraformWorkspace, secret: &str) {
    workspace.set_env("TF_VAR_peering_secret", secret);
}

fn config(seed: &Seed, app: &PeeringApp, credential: Credential<'_>, extra: &str) -> String {
    let credential = match credential {
        Credential::Minted(app) => format!("application_object_id = \"{}\"", app.object_id),
        Credential::Given => "client_secret = var.peering_secret".to_owned(),
    };
    format!(
        r#"
{REQUIRED_PROVIDERS}
variable "peering_secret" {{
  type      = string
  default   = null
  sensitive = true
  ephemeral = true
}}

resource "vnetpeer_cross_tenant_vnet_peering" "to_aiven" {{
  name             = "{PEERING}"
  vnet_id          = "{vnet}"
  remote_vnet_id   = "{remote}"
  remote_tenant_id = "{tenant}"
  client_id        = "{client}"
  {credential}
  aiven_peering_id = "{project}/{vpc}{vnet}"
  {extra}
}}
"#,
        vnet = seed.customer_vnet_id,
        remote = seed.aiven_vnet_id,
        tenant = seed.aiven_tenant_id,
        client = app.client_id,
        project = seed.aiven_project,
        vpc = seed.aiven_project_vpc_id,
    )
}

fn peering_id(seed: &Seed) -> String {
    format!("{}/virtualNetworkPeerings/{PEERING}", seed.customer_vnet_id)
}

/// Requests to the peering resource itself (not its operations) with `method`.
fn peering_calls(requests: &[RequestRecord], method: &str) -> usize {
    requests
        .iter()
        .filter(|r| {
            r.service == Service::Arm
                && r.method == method
                && r.path
                    .ends_with(&format!("/virtualNetworkPeerings/{PEERING}"))
        })
        .count()
}

fn count(requests: &[RequestRecord], service: Service, method: &str, path_contains: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.service == service && r.method == method && r.path.contains(path_contains))
        .count()
}

/// The customer VNet's peerings in the world: (name, peering JSON).
fn customer_peerings(emulator: &Emulator) -> Vec<Json> {
    let seed = emulator.seed().clone();
    let world = emulator.snapshot();
    let mut found = Vec::new();
    for subscription in world["arm"]["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if subscription["subscription_id"] != seed.customer_subscription_id.as_str() {
            continue;
        }
        for group in subscription["resource_groups"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for vnet in group["virtual_networks"].as_array().into_iter().flatten() {
                if vnet["name"] == seed.customer_vnet_name.as_str() {
                    found.extend(vnet["peerings"].as_array().into_iter().flatten().cloned());
                }
            }
        }
    }
    found
}

fn aiven_state(emulator: &Emulator) -> String {
    let world = emulator.snapshot();
    world["aiven"]["projects"][0]["vpcs"][0]["peering_connections"][0]["state"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_secret_lifecycle_import_drift_and_destroy() {
    let (emulator, app) = prepared_for_step_7().await;
    let seed = emulator.seed().clone();
    let original_secrets = secret_key_ids(&emulator, &app);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, &app, Credential::Minted(&app), ""));

    // Create: ACTIVE at the end, the minted secret gone again.
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["id"], peering_id(&seed).as_str());
    assert_eq!(values["peering_state"], "Connected");
    assert_eq!(values["peering_sync_level"], "FullyInSync");
    assert_eq!(
        values["remote_address_space"],
        serde_json::json!([seed.aiven_vnet_cidr])
    );
    assert_eq!(values["allow_virtual_network_access"], true);
    assert_eq!(values["allow_forwarded_traffic"], false);
    assert!(values["client_secret"].is_null());
    assert_eq!(values["aiven_peering_state"], "ACTIVE");
    assert_eq!(aiven_state(&emulator), "ACTIVE");
    assert_eq!(
        secret_key_ids(&emulator, &app),
        original_secrets,
        "the minted secret is removed after use"
    );
    // Minimum requests: one PUT, one final read, one addPassword and one removePassword.
    assert_eq!(peering_calls(&created, "PUT"), 1, "{created:#?}");
    assert_eq!(
        peering_calls(&created, "GET"),
        1,
        "no probe before, no extra read after"
    );
    assert_eq!(peering_calls(&created, "DELETE"), 0);
    assert_eq!(count(&created, Service::Graph, "POST", "/addPassword"), 1);
    assert_eq!(
        count(&created, Service::Graph, "POST", "/removePassword"),
        1
    );
    let app_tokens: Vec<&RequestRecord> = created
        .iter()
        .filter(|r| {
            r.service == Service::Login
                && r.status == 200
                && r.credential.as_ref().is_some_and(|c| {
                    c.app_id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&app.client_id))
                })
        })
        .collect();
    assert_eq!(app_tokens.len(), 2, "one token per tenant: {app_tokens:#?}");

    // Refresh: one GET, and no changes.
    let before = emulator.requests().len();
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    let refreshed = emulator.requests_since(before);
    assert_eq!(peering_calls(&refreshed, "GET"), 1);
    assert_eq!(count(&refreshed, Service::Arm, "PUT", ""), 0);
    assert_eq!(
        count(&refreshed, Service::Aiven, "GET", ""),
        1,
        "Aiven's state of the connection, as aiven_peering_id asks"
    );

    // Import into a fresh state: the same attributes, except those Azure cannot tell.
    let imported = TerraformWorkspace::for_emulator(&emulator);
    imported.write_config(&config(&seed, &app, Credential::Minted(&app), ""));
    imported.import(ADDRESS, &peering_id(&seed));
    let imported_values = imported.state_show_json(ADDRESS).expect("imported");
    let not_importable = [
        "client_id",
        "remote_tenant_id",
        "application_object_id",
        "client_secret",
        "aiven_peering_id",
        "aiven_peering_state",
        "timeouts",
    ];
    for (name, value) in values.as_object().expect("object") {
        if !not_importable.contains(&name.as_str()) {
            assert_eq!(&imported_values[name], value, "imported {name}");
        }
    }
    // The next apply records the configuration without replacing or even writing the peering.
    let plan = imported.plan();
    assert!(plan.contains("1 to change, 0 to destroy"), "{plan}");
    let before = emulator.requests().len();
    imported.apply();
    let recorded = emulator.requests_since(before);
    assert_eq!(
        count(&recorded, Service::Arm, "PUT", ""),
        0,
        "{recorded:#?}"
    );
    assert_eq!(count(&recorded, Service::Graph, "POST", "/addPassword"), 0);
    assert_eq!(
        imported.state_show_json(ADDRESS).expect("recorded")["aiven_peering_state"],
        "ACTIVE"
    );
    assert_eq!(imported.plan_detailed_exitcode().0, 0);

    // Deleted out of band: refresh plans a create, apply creates it again.
    let now = emulator.now();
    emulator.with_world(|world| {
        world
            .arm
            .remove_peering(&seed.customer_vnet_id, PEERING, now)
            .expect("the peering exists")
    });
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("will be created"), "{output}");
    ws.apply();
    assert_eq!(aiven_state(&emulator), "ACTIVE");

    // Destroy: nothing of it is left, and no secret was left on the application.
    ws.destroy();
    assert!(
        customer_peerings(&emulator).is_empty(),
        "{:#?}",
        customer_peerings(&emulator)
    );
    assert_eq!(secret_key_ids(&emulator, &app), original_secrets);
    assert_eq!(emulator.violations(), vec![], "violations");
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
    imported.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_only_secret_updates_flags_in_place() {
    let (emulator, app) = prepared_for_step_7().await;
    let seed = emulator.seed().clone();
    let mut ws = TerraformWorkspace::for_emulator(&emulator);
    given_secret(&mut ws, &app.secret);
    ws.write_config(&config(&seed, &app, Credential::Given, ""));
    ws.apply();
    assert!(
        !ws.state_file_text().contains(&app.secret),
        "a write-only secret is never stored"
    );
    assert_eq!(ws.plan_detailed_exitcode().0, 0);

    ws.write_config(&config(
        &seed,
        &app,
        Credential::Given,
        "allow_forwarded_traffic = true",
    ));
    let plan = ws.plan();
    assert!(plan.contains("1 to change, 0 to destroy"), "{plan}");
    let before = emulator.requests().len();
    ws.apply();
    let updated = emulator.requests_since(before);
    assert_eq!(peering_calls(&updated, "PUT"), 1);
    assert_eq!(peering_calls(&updated, "DELETE"), 0);
    let peerings = customer_peerings(&emulator);
    assert_eq!(peerings.len(), 1);
    assert_eq!(peerings[0]["allow_forwarded_traffic"], true);
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["allow_forwarded_traffic"], true);
    assert_eq!(values["peering_state"], "Connected");
    assert_eq!(ws.plan_detailed_exitcode().0, 0);

    ws.destroy();
    assert!(customer_peerings(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_peering_is_drift_and_is_replaced_by_the_next_apply() {
    let (emulator, app) = prepared_for_step_7().await;
    let seed = emulator.seed().clone();
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, &app, Credential::Minted(&app), ""));
    ws.apply();

    // The peering goes Disconnected (as when the remote side vanished).
    let now = emulator.now();
    emulator.with_world(|world| {
        let vnet = world
            .arm
            .vnet_by_id_mut(&seed.customer_vnet_id)
            .expect("customer VNet");
        let peering = vnet
            .peerings
            .iter_mut()
            .find(|p| p.name == PEERING)
            .expect("the peering");
        peering.disconnected_at = Some(now);
    });
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("will be created"), "{output}");

    let before = emulator.requests().len();
    ws.apply();
    let repaired = emulator.requests_since(before);
    assert_eq!(
        peering_calls(&repaired, "DELETE"),
        1,
        "the stale peering is deleted"
    );
    assert_eq!(
        peering_calls(&repaired, "PUT"),
        2,
        "refused once, then created"
    );
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["peering_state"], "Connected");
    assert_eq!(ws.plan_detailed_exitcode().0, 0);

    ws.destroy();
    assert!(customer_peerings(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_explained_and_nothing_is_created() {
    let (emulator, app) = prepared_for_step_7().await;
    let seed = emulator.seed().clone();
    let wrong = "wrong~secret-value-0123456789";
    let mut ws = TerraformWorkspace::for_emulator(&emulator);
    given_secret(&mut ws, wrong);
    ws.write_config(&config(
        &seed,
        &app,
        Credential::Given,
        "timeouts {\n    create = \"4s\"\n  }",
    ));
    let output = ws.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains("The peering application's secret does not work"),
        "{text}"
    );
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("`client_secret` is wrong"), "{text}");
    assert!(customer_peerings(&emulator).is_empty());
    assert!(ws.state_show_json(ADDRESS).is_none(), "nothing recorded");
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret, wrong]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_service_principal_in_aivens_tenant_is_explained_and_the_minted_secret_removed() {
    // The application and its role exist, but Aiven never processed a connection for it, so the
    // application has no service principal in Aiven's tenant.
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let app = add_peering_app_with_network_contributor(&emulator);
    settle(&emulator);
    let original_secrets = secret_key_ids(&emulator, &app);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(
        &seed,
        &app,
        Credential::Minted(&app),
        "timeouts {\n    create = \"3s\"\n  }",
    ));
    let output = ws.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains("The peering application cannot sign in to Aiven's tenant"),
        "{text}"
    );
    assert!(text.contains("AADSTS7000229"), "{text}");
    assert!(text.contains("peer_azure_app_id"), "{text}");
    assert_eq!(
        secret_key_ids(&emulator, &app),
        original_secrets,
        "the minted secret is removed on failure too"
    );
    assert!(customer_peerings(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_network_contributor_role_is_explained_after_retrying() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let app = add_peering_app(&emulator);
    connect_seeded_vpc(&emulator, &app);
    settle(&emulator);
    let original_secrets = secret_key_ids(&emulator, &app);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(
        &seed,
        &app,
        Credential::Minted(&app),
        "timeouts {\n    create = \"3s\"\n  }",
    ));
    let before = emulator.requests().len();
    let output = ws.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains("The peering application may not create peerings on the virtual network"),
        "{text}"
    );
    assert!(text.contains("AuthorizationFailed"), "{text}");
    assert!(text.contains("Network Contributor"), "{text}");
    let attempts = peering_calls(&emulator.requests_since(before), "PUT");
    assert!(
        attempts >= 2,
        "a 403 is retried while RBAC may propagate: {attempts}"
    );
    assert_eq!(secret_key_ids(&emulator, &app), original_secrets);
    assert!(customer_peerings(&emulator).is_empty());
    assert!(ws.state_show_json(ADDRESS).is_none(), "nothing recorded");
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_that_propagate_during_the_create_are_waited_for() {
    // The application's Network Contributor role and Aiven's grant on its VNet are moments old
    // when the apply starts: the create waits until they take effect.
    // RBAC propagation longer than Terraform takes to start, so the first writes are refused.
    let knobs = Knobs {
        rbac_propagation: Duration::from_secs(3),
        ..Knobs::test()
    };
    let emulator = Emulator::start(knobs).await;
    let seed = emulator.seed().clone();
    let app = add_peering_app(&emulator);
    let now = emulator.now();
    emulator.with_world(|world| {
        world
            .arm
            .insert_role_assignment(RoleAssignment::of_service_principal(
                uuid_for("fresh-network-contributor"),
                &seed.customer_vnet_id,
                &seed.customer_tenant_id,
                NETWORK_CONTRIBUTOR_ROLE_ID,
                &app.service_principal_id,
                Some(now),
            ));
    });
    connect_seeded_vpc(&emulator, &app);
    // Past Aiven's setup (200 ms: PENDING_PEER, its grant just made), well within RBAC
    // propagation of both grants. The emulator applies Aiven's background work when its API or ARM
    // is called, as the Aiven peering resource does before this one runs.
    emulator.clock().advance(Duration::from_millis(250));
    let _ = emulator.snapshot();
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, &app, Credential::Minted(&app), ""));
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    assert!(
        peering_calls(&created, "PUT") >= 2,
        "the first PUT is refused while the grants propagate: {created:#?}"
    );
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["peering_state"], "Connected");
    assert_eq!(aiven_state(&emulator), "ACTIVE");
    ws.destroy();
    assert!(customer_peerings(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peerings_of_one_vnet_are_written_one_at_a_time() {
    let (emulator, app) = prepared_for_step_7().await;
    let seed = emulator.seed().clone();
    let (second_vpc, second_vnet) = emulator
        .with_world(|world| {
            world.add_project_vpc(
                &seed,
                &seed.aiven_project,
                "azure-westeurope",
                "10.30.0.0/24",
                "aiven-vnet-acme-prod-2",
            )
        })
        .expect("a second project VPC");
    // Aiven allows one connection per (VNet, VPC); this one is for the second VPC.
    add_aiven_connection(&emulator, &app, &second_vpc, &seed.customer_vnet_id);
    settle(&emulator);

    let first = config(&seed, &app, Credential::Minted(&app), "");
    let second = first
        .replace("\"to_aiven\"", "\"to_aiven_2\"")
        .replace(&format!("\"{PEERING}\""), "\"to-aiven-2\"")
        .replace(&seed.aiven_vnet_id, &second_vnet)
        .replace(&seed.aiven_project_vpc_id, &second_vpc)
        .split_once("resource ")
        .map(|(_, resource)| format!("resource {resource}"))
        .expect("a resource block");
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&format!("{first}\n{second}"));
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    let busy = created
        .iter()
        .filter(|r| r.service == Service::Arm && r.status == 429)
        .count();
    assert_eq!(busy, 0, "no write collided with another on the same VNet");
    assert_eq!(customer_peerings(&emulator).len(), 2);
    assert_eq!(ws.plan_detailed_exitcode().0, 0);
    ws.destroy();
    assert!(customer_peerings(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}
