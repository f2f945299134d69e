//! Concurrency (issue 7): many cross-tenant peerings on the same VNets in one
//! `terraform apply -parallelism=10`. Azure refuses a second peering operation on a VNet while
//! one is running (429 `RetryableErrorDueToAnotherOperation`, which the emulator enforces), and a
//! peering PUT rewrites the VNet, so concurrent writes could also lose each other. The provider
//! orders peering operations per VNet — never with one global lock, so different VNets proceed
//! side by side.
//!
//! The world: six extra Aiven project VPCs (each with its own Aiven VNet), the customer VNet
//! peered with all six and a second customer VNet with three of them: nine
//! `vnetpeer_cross_tenant_vnet_peering`, each minting its own short-lived secret on the same
//! application. The steps before (application, role assignments, Aiven's connections) are
//! prepared in the emulator's world, as in `resource_cross_tenant_peering.rs`.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance reliability_concurrency:: -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use crate::peering_setup::{
    PeeringApp, add_aiven_connection, add_peering_app, add_project_vpc, add_second_customer_vnet,
    grant_network_contributor, uuid_for,
};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

/// Peerings of the seeded customer VNet, and of the second one.
const ON_FIRST_VNET: usize = 6;
const ON_SECOND_VNET: usize = 3;

/// One planned peering: its resource name and the ids it joins.
struct Planned {
    name: String,
    vnet_id: String,
    remote_vnet_id: String,
    project_vpc_id: String,
}

/// Every peering of the customer VNets `vnet_ids`, as (VNet name, peering name, state).
fn customer_peerings(emulator: &Emulator, vnet_ids: &[&str]) -> Vec<(String, String, String)> {
    let now = emulator.now();
    emulator.with_world(|world| {
        let mut found = Vec::new();
        for vnet_id in vnet_ids {
            let Some(vnet) = world.arm.vnet_by_id(vnet_id) else {
                continue;
            };
            for peering in &vnet.peerings {
                let state = world.arm.peering_state(vnet_id, peering, now);
                found.push((
                    vnet.name.clone(),
                    peering.name.clone(),
                    state.as_str().to_owned(),
                ));
            }
        }
        found
    })
}

/// The VNet name in an ARM peering path (`.../virtualNetworks/{vnet}/virtualNetworkPeerings/...`).
fn vnet_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .position(|segment| segment.eq_ignore_ascii_case("virtualNetworks"))
        .and_then(|index| segments.get(index + 1))
        .map(|name| name.to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_peering_write(record: &RequestRecord) -> bool {
    record.service == Service::Arm
        && matches!(record.method.as_str(), "PUT" | "DELETE")
        && record.route.ends_with("/virtualNetworkPeerings/{peering}")
}

/// The most peering operations in progress at once, per VNet and over all VNets, taking each
/// accepted PUT or DELETE as in progress for the emulator's operation duration.
fn concurrency(writes: &[&RequestRecord], lro: Duration) -> (BTreeMap<String, usize>, usize) {
    let lro_ms = lro.as_secs_f64() * 1000.0;
    let in_progress_at = |at: f64, only: Option<&str>| {
        writes
            .iter()
            .filter(|w| only.is_none_or(|vnet| vnet_of(&w.path) == vnet))
            .filter(|w| w.at_ms <= at && at < w.at_ms + lro_ms)
            .count()
    };
    let mut per_vnet = BTreeMap::new();
    let mut overall = 0;
    for write in writes {
        let vnet = vnet_of(&write.path);
        let here = in_progress_at(write.at_ms, Some(&vnet));
        let entry = per_vnet.entry(vnet).or_insert(0);
        *entry = (*entry).max(here);
        overall = overall.max(in_progress_at(write.at_ms, None));
    }
    (per_vnet, overall)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_peerings_of_the_same_vnets_with_parallelism_10_are_all_connected_without_conflicts() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let app = add_peering_app(&emulator);
    let second_vnet = add_second_customer_vnet(&emulator);
    for vnet in [&seed.customer_vnet_id, &second_vnet] {
        grant_network_contributor(
            &emulator,
            &app.service_principal_id,
            vnet,
            &uuid_for(&format!("{}{vnet}", app.service_principal_id)),
        );
    }
    let mut planned = Vec::new();
    for index in 0..ON_FIRST_VNET {
        let (vpc, remote_vnet) = add_project_vpc(
            &emulator,
            &format!("azure-test-{index}"),
            &format!("10.{}.0.0/24", 31 + index),
            &format!("aiven-vnet-acme-prod-{index}"),
        );
        add_aiven_connection(&emulator, &app, &vpc, &seed.customer_vnet_id);
        planned.push(Planned {
            name: format!("app_{index}"),
            vnet_id: seed.customer_vnet_id.clone(),
            remote_vnet_id: remote_vnet.clone(),
            project_vpc_id: vpc.clone(),
        });
        if index < ON_SECOND_VNET {
            add_aiven_connection(&emulator, &app, &vpc, &second_vnet);
            planned.push(Planned {
                name: format!("data_{index}"),
                vnet_id: second_vnet.clone(),
                remote_vnet_id: remote_vnet,
                project_vpc_id: vpc,
            });
        }
    }
    // Past Aiven's setup (PENDING_PEER, its own peering and rights) and every other delay.
    emulator.clock().advance(Duration::from_secs(2));
    // Delayed effects apply when the world is observed.
    let _ = emulator.snapshot();
    let customer_vnets = [seed.customer_vnet_id.clone(), second_vnet.clone()];
    let peerings_now = {
        let emulator = emulator.clone();
        let customer_vnets = customer_vnets.clone();
        move || {
            let ids: Vec<&str> = customer_vnets.iter().map(String::as_str).collect();
            customer_peerings(&emulator, &ids)
        }
    };
    let seeded_peerings = peerings_now();
    assert!(seeded_peerings.is_empty(), "{seeded_peerings:?}");
    let seeded_secrets = secret_count(&emulator, &app);

    let resources: String = planned
        .iter()
        .map(|p| {
            format!(
                r#"
resource "vnetpeer_cross_tenant_vnet_peering" "{name}" {{
  name                  = "to-aiven-{name}"
  vnet_id               = "{vnet}"
  remote_vnet_id        = "{remote}"
  remote_tenant_id      = "{tenant}"
  client_id             = "{client}"
  application_object_id = "{object}"
  aiven_peering_id      = "{project}/{vpc}{vnet}"
}}
"#,
                name = p.name,
                vnet = p.vnet_id,
                remote = p.remote_vnet_id,
                tenant = seed.aiven_tenant_id,
                client = app.client_id,
                object = app.object_id,
                project = seed.aiven_project,
                vpc = p.project_vpc_id,
            )
        })
        .collect();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}{resources}"#
    ));

    let before = emulator.requests().len();
    let peerings = tokio::task::spawn_blocking({
        let emulator = emulator.clone();
        let total = planned.len();
        let peerings_now = peerings_now.clone();
        move || {
            let apply = workspace.run(&[
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                "-parallelism=10",
            ]);
            assert!(
                apply.success(),
                "the apply failed:\n{}",
                tail(&apply.combined())
            );
            assert!(
                apply
                    .stdout
                    .contains(&format!("Resources: {total} added, 0 changed, 0 destroyed")),
                "{}",
                tail(&apply.stdout)
            );
            let (code, plan) = workspace.plan_detailed_exitcode();
            assert_eq!(code, 0, "the re-plan is empty:\n{plan}");
            let peerings = peerings_now();
            let destroy = workspace.run(&[
                "destroy",
                "-auto-approve",
                "-input=false",
                "-no-color",
                "-parallelism=10",
            ]);
            assert!(
                destroy.success(),
                "the destroy failed:\n{}",
                tail(&destroy.combined())
            );
            workspace.assert_no_secret_leaks(&emulator, &[]);
            peerings
        }
    })
    .await
    .expect("terraform ran");

    // No lost update: every peering exists once, Connected, on its VNet.
    assert_eq!(peerings.len(), planned.len(), "{peerings:?}");
    for (vnet, peering, state) in &peerings {
        assert_eq!(state, "Connected", "{vnet}/{peering}");
    }
    let on_second = peerings
        .iter()
        .filter(|(vnet, _, _)| vnet == "vnet-Data")
        .count();
    assert_eq!(on_second, ON_SECOND_VNET);

    // No conflicting operation on a VNet: not one 429 from ARM, one PUT and one DELETE per
    // peering (nothing had to be retried), and no violation.
    let requests = emulator.requests();
    let during = &requests[before..];
    let throttled: Vec<&RequestRecord> = during
        .iter()
        .filter(|r| r.service == Service::Arm && r.status == 429)
        .collect();
    assert!(throttled.is_empty(), "{throttled:?}");
    let writes: Vec<&RequestRecord> = during.iter().filter(|r| is_peering_write(r)).collect();
    let puts = writes.iter().filter(|w| w.method == "PUT").count();
    let deletes = writes.iter().filter(|w| w.method == "DELETE").count();
    assert_eq!((puts, deletes), (planned.len(), planned.len()));
    assert_eq!(emulator.violations(), vec![]);

    // Ordered per VNet, but not globally: operations on the two VNets overlapped.
    let (per_vnet, overall) = concurrency(&writes, emulator.knobs().lro_duration);
    assert!(per_vnet.values().all(|&most| most == 1), "{per_vnet:?}");
    assert!(
        overall >= 2,
        "operations on different VNets never ran at the same time: a global lock?"
    );
    println!(
        "concurrency: {} peerings on 2 VNets with -parallelism=10: all Connected, 0 conflicts \
         (429), {puts} PUTs and {deletes} DELETEs (no retries); at most 1 operation per VNet, \
         {overall} across VNets at once",
        planned.len()
    );

    // Destroy removed every peering and every minted secret.
    assert!(peerings_now().is_empty());
    assert_eq!(secret_count(&emulator, &app), seeded_secrets);
}

/// How many secrets the application holds.
fn secret_count(emulator: &Emulator, app: &PeeringApp) -> usize {
    emulator.with_world(|world| {
        world
            .identity
            .applications
            .get(&app.object_id)
            .map(|a| a.password_credentials.len())
            .unwrap_or_default()
    })
}

/// The last lines of a long output, for failure messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Peerings from two customer VNets to the same remote (Aiven) VNet: only the VNet that owns a
/// peering runs one peering operation at a time, so the provider locks only that one. Aiven's
/// VNet is in another tenant, where other customers peer with it concurrently anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peerings_of_two_vnets_to_one_remote_vnet_run_concurrently() {
    // Operations long enough that two writes Terraform starts together overlap, whatever the
    // machine's load; still well under a second of waiting per command.
    let lro = Duration::from_millis(800);
    let emulator = Emulator::start(Knobs {
        lro_duration: lro,
        lro_retry_after: Some(Duration::from_millis(200)),
        ..Knobs::test()
    })
    .await;
    let seed = emulator.seed().clone();
    let app = add_peering_app(&emulator);
    let second_vnet = add_second_customer_vnet(&emulator);
    let (vpc, remote_vnet) = add_project_vpc(
        &emulator,
        "azure-shared",
        "10.31.0.0/24",
        "aiven-vnet-acme-shared",
    );
    let customer_vnets = [seed.customer_vnet_id.clone(), second_vnet.clone()];
    for vnet in &customer_vnets {
        grant_network_contributor(
            &emulator,
            &app.service_principal_id,
            vnet,
            &uuid_for(&format!("{}{vnet}", app.service_principal_id)),
        );
        add_aiven_connection(&emulator, &app, &vpc, vnet);
    }
    emulator.clock().advance(Duration::from_secs(2));
    let _ = emulator.snapshot();

    let resources: String = customer_vnets
        .iter()
        .enumerate()
        .map(|(index, vnet)| {
            format!(
                r#"
resource "vnetpeer_cross_tenant_vnet_peering" "p{index}" {{
  name                  = "to-aiven-shared"
  vnet_id               = "{vnet}"
  remote_vnet_id        = "{remote_vnet}"
  remote_tenant_id      = "{tenant}"
  client_id             = "{client}"
  application_object_id = "{object}"
}}
"#,
                tenant = seed.aiven_tenant_id,
                client = app.client_id,
                object = app.object_id,
            )
        })
        .collect();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}{resources}"#
    ));
    let before = emulator.requests().len();
    tokio::task::spawn_blocking(move || {
        for command in ["apply", "destroy"] {
            let run = workspace.run(&[command, "-auto-approve", "-input=false", "-no-color"]);
            assert!(
                run.success(),
                "{command} failed:\n{}",
                tail(&run.combined())
            );
        }
    })
    .await
    .expect("terraform ran");

    let requests = emulator.requests();
    let writes: Vec<&RequestRecord> = requests[before..]
        .iter()
        .filter(|r| is_peering_write(r) && r.status < 300)
        .collect();
    for method in ["PUT", "DELETE"] {
        let accepted: Vec<&&RequestRecord> = writes.iter().filter(|w| w.method == method).collect();
        assert_eq!(accepted.len(), 2, "one {method} per peering: {writes:?}");
        let (first, second) = (accepted[0], accepted[1]);
        assert_ne!(vnet_of(&first.path), vnet_of(&second.path));
        // The emulator completes an operation `lro` after the request that started it.
        assert!(
            second.at_ms < first.at_ms + lro.as_secs_f64() * 1000.0,
            "the second {method} waited for the first operation to complete ({} ms, then {} \
             ms): a lock on the shared remote VNet?",
            first.at_ms,
            second.at_ms
        );
    }
    let throttled = requests[before..]
        .iter()
        .filter(|r| r.service == Service::Arm && r.status == 429)
        .count();
    assert_eq!(throttled, 0, "no conflicting operation on a VNet");
    assert_eq!(emulator.violations(), vec![]);
}
