//! Metric (c): plan, apply, plan with refresh and destroy of N resources, against two floors
//! (docs/development/benchmark-method.md, 'Floor reference'): Terraform's builtin `terraform_data`
//! (no plugin at all: the core-only floor) and the network-free `vnetpeer_test_fixture` served by
//! the provider binary (the cost of being a plugin: launches, handshakes, gRPC, value codecs).
//!
//! With the resources registered, the mix of docs/development/benchmark-method.md, 'Harness' runs
//! against the emulator with every wait at zero ([`mix_knobs`];
//! docs/development/benchmark-method.md, 'Harness': "All waits default to 0 except where a metric
//! needs them") and is compared with `vnetpeer_test_fixture` in the same graph (its plugin floor)
//! and with `terraform_data` in the same graph (its core-only floor). Its overhead subtracts the
//! waits the emulator imposes along the critical chain ([`imposed_waits`]), which are zero with
//! these knobs unless the emulator refuses a peering while another operation holds its VNet
//! (counted per command from the request log and reported).
//!
//! Provider CPU is summed over the provider processes of a command and compared with Terraform
//! core's CPU in the same command; peak RSS is the largest provider process.

use std::path::Path;
use std::time::Duration;

use vnetpeer_emulator::world::arm::{NETWORK_CONTRIBUTOR_ROLE_ID, RoleAssignment};
use vnetpeer_emulator::{Emulator, Knobs};

use super::terraform::{PROVIDER_HEADER, Run, Workspace};
use super::{Row, progress};

/// The commands of one measurement cycle, in order.
pub const COMMANDS: [(&str, &[&str]); 4] = [
    (
        "plan",
        &["plan", "-out=tfplan", "-input=false", "-no-color"],
    ),
    ("apply", &["apply", "-input=false", "-no-color", "tfplan"]),
    ("plan (refresh)", &["plan", "-input=false", "-no-color"]),
    (
        "destroy",
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    ),
];

/// The N of the largest run, where the CPU target applies.
pub const TARGET_N: usize = 400;

/// One cycle's runs, by command.
#[derive(Debug)]
pub struct Cycle {
    pub runs: Vec<(&'static str, Run)>,
}

/// `terraform_data` × n (core only).
pub fn terraform_data_config(n: usize) -> String {
    format!(
        "resource \"terraform_data\" \"r\" {{\n  count = {n}\n  input = \"object-${{count.index}}\"\n}}\n"
    )
}

/// `vnetpeer_test_fixture` × n.
pub fn fixture_config(n: usize) -> String {
    format!(
        "{PROVIDER_HEADER}\nresource \"vnetpeer_test_fixture\" \"r\" {{\n  count = {n}\n  name  = \"object-${{count.index}}\"\n}}\n"
    )
}

/// Runs the four commands on a fresh workspace holding `config`.
pub fn cycle(
    scratch: &Path,
    name: &str,
    config: &str,
    overrides: Option<&Path>,
    env: &[(&str, String)],
) -> Result<Cycle, String> {
    cycle_observed(scratch, name, config, overrides, env, |_| {})
}

/// [`cycle`], calling `after` with each command's name once it has finished.
fn cycle_observed(
    scratch: &Path,
    name: &str,
    config: &str,
    overrides: Option<&Path>,
    env: &[(&str, String)],
    mut after: impl FnMut(&'static str),
) -> Result<Cycle, String> {
    let mut workspace = Workspace::new(scratch, name, overrides)?;
    for (key, value) in env {
        workspace.set_env(key, value.clone());
    }
    if overrides.is_some() {
        // A directory: the fixture keeps one file per object there (O(1) per operation).
        let store = workspace.path().join("fixture-store");
        std::fs::create_dir_all(&store).map_err(|error| format!("{}: {error}", store.display()))?;
        workspace.set_env("VNETPEER_FIXTURE_STORE", store.display().to_string());
    }
    workspace.write("main.tf", config)?;
    let mut runs = Vec::new();
    for (command, args) in COMMANDS {
        let run = workspace.run_ok(args)?;
        after(command);
        runs.push((command, run));
    }
    Ok(Cycle { runs })
}

/// Measures the two floors, and the real resources when `with_resources`, at every N; one row
/// per (N, command) and comparison.
pub async fn measure(
    scratch: &Path,
    wrapper_dir: &Path,
    sizes: &[usize],
    with_resources: bool,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut index = 0;
    let mut next_id = || {
        index += 1;
        format!("c{index}")
    };
    for &n in sizes {
        progress(format!("(c) N = {n}: terraform_data (core-only floor)"));
        let core_only = cycle(
            scratch,
            &format!("data-{n}"),
            &terraform_data_config(n),
            None,
            &[],
        )?;
        progress(format!("(c) N = {n}: vnetpeer_test_fixture (plugin floor)"));
        let fixture = cycle(
            scratch,
            &format!("fixture-{n}"),
            &fixture_config(n),
            Some(wrapper_dir),
            &[],
        )?;
        for ((command, floor_run), (_, run)) in core_only.runs.iter().zip(&fixture.runs) {
            rows.push(
                scale_row(
                    &next_id(),
                    &format!("{command}, N = {n}: vnetpeer_test_fixture vs terraform_data"),
                    n,
                    run,
                    floor_run,
                )
                .with_note(FIXTURE_NOTE),
            );
        }
        if !with_resources {
            continue;
        }
        progress(format!(
            "(c) N = {n}: the resource mix of 'Harness' against the emulator"
        ));
        let mix = mix_cycle(scratch, wrapper_dir, n).await?;
        progress(format!(
            "(c) N = {n}: terraform_data in the mix's graph (its core-only floor)"
        ));
        let shadow = cycle(
            scratch,
            &format!("mix-shadow-{n}"),
            &mix_shadow_config(&MixCounts::of(n)),
            None,
            &[],
        )?;
        progress(format!(
            "(c) N = {n}: vnetpeer_test_fixture in the mix's graph (its plugin floor)"
        ));
        let plugin_shadow = cycle(
            scratch,
            &format!("mix-fixture-shadow-{n}"),
            &mix_fixture_shadow_config(&MixCounts::of(n)),
            Some(wrapper_dir),
            &[],
        )?;
        let floors = shadow.runs.iter().zip(&plugin_shadow.runs);
        for ((((command, core_run), (_, floor_run)), (_, run)), busy) in
            floors.zip(&mix.runs).zip(&mix.vnet_busy)
        {
            let mut row = scale_row(
                &next_id(),
                &format!(
                    "{command}, N = {n}: resource mix (emulator, zero waits) vs vnetpeer_test_fixture in the same graph"
                ),
                n,
                run,
                floor_run,
            );
            // Overhead against the plugin floor of the same graph
            // (docs/development/benchmark-method.md, 'Floor reference': the no-op resource, so the
            // difference is the cost of the real resources), minus the waits the emulator imposed
            // along the critical chain. terraform_data in the same graph is shown too: the gap
            // between the two floors is Terraform core's extra work per plugin resource, which no
            // provider can remove.
            let waits = imposed_waits(command, &mix.knobs).as_secs_f64();
            let floor = floor_run.wall.as_secs_f64();
            let overhead = run.wall.as_secs_f64() - floor - waits;
            let budget = (0.005 + EMULATOR_ROUND_TRIP_S) * n as f64 / 10.0;
            let share = 100.0 * overhead / floor;
            row.value.push_str(&format!(
                "; terraform_data in the same graph {:.2} s; emulator waits on the chain {waits:.2} s; {busy} × 429 RetryableErrorDueToAnotherOperation; overhead {overhead:+.2} s (budget {budget:.2} s, {share:.0}% of the floor)",
                core_run.wall.as_secs_f64()
            ));
            if n >= TARGET_N {
                row.target
                    .push_str("; overhead ≤ (5 ms + 1 round trip) × N / 10 and ≤ 10% of the floor");
                let within = overhead <= budget && share <= 10.0;
                if row.verdict == super::Verdict::Met && !within {
                    row.verdict = super::Verdict::Missed;
                }
            }
            rows.push(row.with_note(mix.note.clone()));
        }
    }
    Ok(rows)
}

/// Only the resource mix at every N, without the floors (`--mix-only`): a quick, repeatable
/// measurement of the provider's CPU share per command (c31's figure is the `plan (refresh)`
/// row), e.g. while profiling the provider. Ids are `mix-<N>-<command number>`.
pub async fn measure_mix_only(
    scratch: &Path,
    wrapper_dir: &Path,
    sizes: &[usize],
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for &n in sizes {
        progress(format!(
            "(c) N = {n}: the resource mix of 'Harness' against the emulator (no floors)"
        ));
        let mix = mix_cycle(scratch, wrapper_dir, n).await?;
        for (index, (command, run)) in mix.runs.iter().enumerate() {
            let cpu = run.provider_cpu_s();
            let core = run.core_cpu_s();
            let value = format!(
                "wall {:.2} s; provider CPU {cpu:.3} s over {} processes = {:.1}% of core's {core:.2} s; peak RSS {:.1} MB",
                run.wall.as_secs_f64(),
                run.providers.len(),
                100.0 * cpu / core.max(f64::MIN_POSITIVE),
                run.provider_peak_rss_kb() as f64 / 1024.0
            );
            rows.push(
                Row::info(
                    &format!("mix-{n}-{}", index + 1),
                    format!("{command}, N = {n}: resource mix (emulator, zero waits), no floors"),
                    value,
                )
                .with_note(mix.note.clone()),
            );
        }
    }
    Ok(rows)
}

/// What the fixture floor includes besides the plugin machinery.
const FIXTURE_NOTE: &str = "the gap to terraform_data is the cost of being a plugin (launches, handshakes, gRPC, codecs) plus the fixture's store: one small JSON file per object, written with a rename (O(1) per operation)";

/// The emulator settings of the mix: every wait zero (docs/development/benchmark-method.md,
/// 'Harness'), so the run measures the provider and not the consistency windows; tokens live an
/// hour as usual.
///
/// Zero is a valid delay for every knob: delayed effects compare `now` with `since + delay`,
/// an LRO of zero is finished at its first poll, and `Retry-After: 0` allows an immediate poll.
pub fn mix_knobs() -> Knobs {
    Knobs {
        graph_replication: Duration::ZERO,
        secret_activation: Duration::ZERO,
        token_lifetime: Duration::from_secs(3600),
        rbac_propagation: Duration::ZERO,
        lro_duration: Duration::ZERO,
        lro_retry_after: Some(Duration::ZERO),
        aiven_peering_setup: Duration::ZERO,
        aiven_peering_activation: Duration::ZERO,
        aiven_peering_deletion: Duration::ZERO,
        base_latency: Duration::ZERO,
        max_list_page_size: None,
    }
}

/// The waits the emulator imposes along the mix's critical chain for `command`: the runbook's
/// chain (application → role assignment → Aiven peering → VNet peering → ACTIVE) on create,
/// the peering's delete LRO and Aiven's deletion on destroy, one latency per request in
/// sequence; plan and refresh wait for nothing but latency. Every chain of the mix is
/// independent of the others (each peering has a VNet of its own), so at parallelism 10 the
/// chain is the emulator's share of the wall time.
pub fn imposed_waits(command: &str, knobs: &Knobs) -> Duration {
    match command {
        "apply" => super::runbook::create_floor(knobs),
        "destroy" => super::runbook::destroy_floor(knobs),
        // Refresh reads each object once; the chain is one request deep.
        _ => knobs.base_latency,
    }
}

/// A loopback round trip to the emulator (for the overhead budget).
const EMULATOR_ROUND_TRIP_S: f64 = 0.001;

/// How many of each type a mix of `n` holds (docs/development/benchmark-method.md, 'Harness': 40%
/// applications, 20% service principals, 15% role assignments, 5% custom roles, 10% VNet peerings,
/// 10% Aiven peerings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixCounts {
    pub apps: usize,
    pub service_principals: usize,
    pub role_assignments: usize,
    pub custom_roles: usize,
    /// Aiven peerings, and as many VNet peerings (one per extra customer VNet).
    pub peerings: usize,
}

impl MixCounts {
    pub fn of(n: usize) -> MixCounts {
        let share = |percent: f64| (n as f64 * percent / 100.0).round() as usize;
        let peerings = share(10.0);
        // Every peering's application needs Network Contributor on its VNet.
        let role_assignments = share(15.0).max(peerings);
        let custom_roles = share(5.0);
        let service_principals = share(20.0);
        let apps =
            n.saturating_sub(service_principals + role_assignments + custom_roles + 2 * peerings);
        MixCounts {
            apps,
            service_principals,
            role_assignments,
            custom_roles,
            peerings,
        }
    }

    pub fn total(&self) -> usize {
        self.apps
            + self.service_principals
            + self.role_assignments
            + self.custom_roles
            + 2 * self.peerings
    }
}

/// One cycle of the mix against a fresh emulator with [`mix_knobs`].
struct MixCycle {
    runs: Vec<(&'static str, Run)>,
    knobs: Knobs,
    /// Per command: peering writes the emulator refused because another operation held the VNet.
    vnet_busy: Vec<usize>,
    note: String,
}

async fn mix_cycle(scratch: &Path, wrapper_dir: &Path, n: usize) -> Result<MixCycle, String> {
    let counts = MixCounts::of(n);
    let knobs = mix_knobs();
    let emulator = Emulator::start(knobs.clone()).await;
    let seed = emulator.seed().clone();
    let now = emulator.now();
    // Aiven's service principal in the customer tenant may peer with every VNet of the
    // subscription (what the runbook's custom role and assignment grant per VNet), and every
    // peering gets a VNet of its own.
    let vnets: Vec<String> = emulator.with_world(|world| {
        let aiven_sp = world.identity.ensure_service_principal(
            &seed.customer_tenant_id,
            &seed.aiven_app_id,
            now,
        );
        world
            .arm
            .insert_role_assignment(RoleAssignment::of_service_principal(
                uuid::Uuid::new_v4().to_string(),
                format!("/subscriptions/{}", seed.customer_subscription_id),
                &seed.customer_tenant_id,
                NETWORK_CONTRIBUTOR_ROLE_ID,
                aiven_sp,
                None,
            ));
        (0..counts.peerings)
            .filter_map(|index| {
                world.arm.add_vnet(
                    &seed.customer_subscription_id,
                    &seed.customer_resource_group,
                    &format!("vnet-bench-{index}"),
                    &seed.location,
                    &[&format!("10.{}.0.0/16", 100 + index)],
                )
            })
            .collect()
    });
    if vnets.len() != counts.peerings {
        return Err("the emulator refused the benchmark's extra VNets".to_owned());
    }
    let env = super::runbook::provider_env(&emulator);
    let env: Vec<(&str, String)> = env.into_iter().collect();
    let mut vnet_busy = Vec::new();
    let mut seen = 0;
    let cycle = cycle_observed(
        scratch,
        &format!("mix-{n}"),
        &mix_config(&counts, &vnets, &seed),
        Some(wrapper_dir),
        &env,
        |_| {
            let requests = emulator.requests();
            vnet_busy.push(count_vnet_busy(&requests[seen.min(requests.len())..]));
            seen = requests.len();
        },
    )?;
    // The request log, for a look at where the time went (`--keep`).
    let log: String = emulator
        .requests()
        .iter()
        .filter_map(|request| serde_json::to_string(request).ok())
        .map(|line| line + "\n")
        .collect();
    let log_path = scratch.join(format!("mix-{n}")).join("requests.ndjson");
    std::fs::write(&log_path, log).map_err(|error| format!("{}: {error}", log_path.display()))?;
    let violations = emulator.violations();
    let mut note = format!(
        "{} resources: {} apps, {} service principals, {} role assignments, {} custom roles, {} Aiven + {} VNet peerings; {} requests",
        counts.total(),
        counts.apps,
        counts.service_principals,
        counts.role_assignments,
        counts.custom_roles,
        counts.peerings,
        counts.peerings,
        emulator.requests().len()
    );
    if !violations.is_empty() {
        note.push_str(&format!("; {} emulator violations", violations.len()));
    }
    Ok(MixCycle {
        runs: cycle.runs,
        knobs,
        vnet_busy,
        note,
    })
}

/// Peering writes answered 429 because another operation held the VNet: the only throttling
/// this emulator imposes on ARM while its buckets are off (the default).
fn count_vnet_busy(requests: &[vnetpeer_emulator::log::RequestRecord]) -> usize {
    requests
        .iter()
        .filter(|request| {
            request.status == 429
                && request.service == vnetpeer_emulator::log::Service::Arm
                && request.route.contains("virtualNetworkPeerings")
        })
        .count()
}

/// `terraform_data` in the mix's graph: the same counts, references and `depends_on`, so
/// Terraform core does the same graph work without any plugin (the mix's core-only floor).
fn mix_shadow_config(counts: &MixCounts) -> String {
    format!(
        r#"resource "terraform_data" "app" {{
  count = {apps}
  input = "bench-app-${{count.index}}"
}}

resource "terraform_data" "sp" {{
  count = {sps}
  input = terraform_data.app[count.index].output
}}

resource "terraform_data" "role" {{
  count = {roles}
  input = "bench-role-${{count.index}}"
}}

resource "terraform_data" "ra" {{
  count = {ras}
  input = ["scope-${{count.index}}", terraform_data.app[count.index].output]
}}

resource "terraform_data" "aiven" {{
  count      = {peerings}
  input      = ["vnet-${{count.index}}", terraform_data.app[count.index].output]
  depends_on = [terraform_data.ra]
}}

resource "terraform_data" "vnet" {{
  count = {peerings}
  input = [terraform_data.aiven[count.index].output, terraform_data.app[count.index].output]
}}
"#,
        apps = counts.apps,
        sps = counts.service_principals,
        roles = counts.custom_roles,
        ras = counts.role_assignments,
        peerings = counts.peerings,
    )
}

/// `vnetpeer_test_fixture` in the mix's graph: the same counts and references through the same
/// plugin machinery, without any network (the mix's plugin floor).
fn mix_fixture_shadow_config(counts: &MixCounts) -> String {
    format!(
        r#"{PROVIDER_HEADER}
resource "vnetpeer_test_fixture" "app" {{
  count = {apps}
  name  = "bench-app-${{count.index}}"
}}

resource "vnetpeer_test_fixture" "sp" {{
  count = {sps}
  name  = vnetpeer_test_fixture.app[count.index].id
}}

resource "vnetpeer_test_fixture" "role" {{
  count = {roles}
  name  = "bench-role-${{count.index}}"
}}

resource "vnetpeer_test_fixture" "ra" {{
  count = {ras}
  name  = "scope-${{count.index}}-${{vnetpeer_test_fixture.app[count.index].id}}"
}}

resource "vnetpeer_test_fixture" "aiven" {{
  count      = {peerings}
  name       = "vnet-${{count.index}}-${{vnetpeer_test_fixture.app[count.index].id}}"
  depends_on = [vnetpeer_test_fixture.ra]
}}

resource "vnetpeer_test_fixture" "vnet" {{
  count = {peerings}
  name  = "${{vnetpeer_test_fixture.aiven[count.index].id}}-${{vnetpeer_test_fixture.app[count.index].id}}"
}}
"#,
        apps = counts.apps,
        sps = counts.service_principals,
        roles = counts.custom_roles,
        ras = counts.role_assignments,
        peerings = counts.peerings,
    )
}

/// The mix as HCL: explicit lists instead of conditionals (HCL evaluates both branches).
fn mix_config(counts: &MixCounts, vnets: &[String], seed: &vnetpeer_emulator::Seed) -> String {
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|item| format!("\"{item}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Role assignment i: application i's service principal on VNet i (its peering's), or on the
    // seeded VNet when there are more assignments than peerings.
    let scopes: Vec<String> = (0..counts.role_assignments)
        .map(|index| {
            vnets
                .get(index)
                .cloned()
                .unwrap_or_else(|| seed.customer_vnet_id.clone())
        })
        .collect();
    format!(
        r#"{PROVIDER_HEADER}
locals {{
  vnets     = [{vnets}]
  ra_scopes = [{scopes}]
}}

resource "vnetpeer_aad_app" "app" {{
  count        = {apps}
  display_name = "bench-app-${{count.index}}"
}}

resource "vnetpeer_service_principal" "sp" {{
  count     = {sps}
  client_id = vnetpeer_aad_app.app[count.index].client_id
}}

resource "vnetpeer_custom_role" "role" {{
  count = {roles}
  name  = "bench-role-${{count.index}}"
  scope = "/subscriptions/{subscription}"
}}

resource "vnetpeer_role_assignment" "ra" {{
  count                = {ras}
  scope                = local.ra_scopes[count.index]
  role_definition_name = "Network Contributor"
  principal_id         = vnetpeer_aad_app.app[count.index].service_principal_object_id
}}

resource "vnetpeer_aiven_vpc_peering" "aiven" {{
  count                = {peerings}
  project              = "{project}"
  project_vpc_id       = "{vpc}"
  vnet_id              = local.vnets[count.index]
  peer_azure_app_id    = vnetpeer_aad_app.app[count.index].client_id
  peer_azure_tenant_id = vnetpeer_aad_app.app[count.index].tenant_id
  depends_on           = [vnetpeer_role_assignment.ra]
}}

resource "vnetpeer_cross_tenant_vnet_peering" "vnet" {{
  count                 = {peerings}
  name                  = "to-aiven"
  vnet_id               = local.vnets[count.index]
  remote_vnet_id        = vnetpeer_aiven_vpc_peering.aiven[count.index].aiven_vnet_id
  remote_tenant_id      = vnetpeer_aiven_vpc_peering.aiven[count.index].aiven_tenant_id
  client_id             = vnetpeer_aad_app.app[count.index].client_id
  application_object_id = vnetpeer_aad_app.app[count.index].object_id
  aiven_peering_id      = vnetpeer_aiven_vpc_peering.aiven[count.index].id
}}
"#,
        vnets = quoted(vnets),
        scopes = quoted(&scopes),
        apps = counts.apps,
        sps = counts.service_principals,
        roles = counts.custom_roles,
        ras = counts.role_assignments,
        peerings = counts.peerings,
        subscription = seed.customer_subscription_id,
        project = seed.aiven_project,
        vpc = seed.aiven_project_vpc_id,
    )
}

/// A row comparing a provider run with its floor run.
pub fn scale_row(id: &str, figure: &str, n: usize, run: &Run, floor: &Run) -> Row {
    let cpu = run.provider_cpu_s();
    let core = run.core_cpu_s();
    let share = 100.0 * cpu / core.max(f64::MIN_POSITIVE);
    let rss_mb = run.provider_peak_rss_kb() as f64 / 1024.0;
    let gap = run.wall.as_secs_f64() - floor.wall.as_secs_f64();
    let value = format!(
        "wall {:.2} s (floor {:.2} s, {:+.2} s); provider CPU {:.3} s over {} processes = {:.1}% of core's {:.2} s; peak RSS {:.1} MB",
        run.wall.as_secs_f64(),
        floor.wall.as_secs_f64(),
        gap,
        cpu,
        run.providers.len(),
        share,
        core,
        rss_mb
    );
    let rss_ok = rss_mb <= 20.0;
    if n >= TARGET_N {
        Row::target(
            id,
            figure,
            value,
            "provider CPU ≤ 10% of core; peak RSS ≤ 20 MB",
            share <= 10.0 && rss_ok,
        )
    } else {
        Row::target(id, figure, value, "peak RSS ≤ 20 MB", rss_ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_the_mix_knobs_the_emulator_imposes_no_wait_on_any_command() {
        for (command, _) in COMMANDS {
            assert_eq!(
                imposed_waits(command, &mix_knobs()),
                Duration::ZERO,
                "{command}"
            );
        }
        // With waits, the overhead subtracts the chain's: six 1 ms waits in sequence on create.
        let knobs = super::super::runbook::instant_knobs();
        assert!(imposed_waits("apply", &knobs) >= Duration::from_millis(6));
        assert!(imposed_waits("destroy", &knobs) >= Duration::from_millis(2));
        assert_eq!(imposed_waits("plan (refresh)", &knobs), Duration::ZERO);
    }

    #[test]
    fn the_plugin_floor_has_the_mix_graph() {
        let counts = MixCounts::of(400);
        let config = mix_fixture_shadow_config(&counts);
        for (name, count) in [
            ("app", counts.apps),
            ("sp", counts.service_principals),
            ("role", counts.custom_roles),
            ("ra", counts.role_assignments),
            ("aiven", counts.peerings),
            ("vnet", counts.peerings),
        ] {
            let block =
                format!("resource \"vnetpeer_test_fixture\" \"{name}\" {{\n  count = {count}");
            let block_with_depends =
                format!("resource \"vnetpeer_test_fixture\" \"{name}\" {{\n  count      = {count}");
            assert!(
                config.contains(&block) || config.contains(&block_with_depends),
                "{name} × {count} in\n{config}"
            );
        }
        assert!(config.contains("depends_on = [vnetpeer_test_fixture.ra]"));
    }

    #[test]
    fn the_mix_adds_up_to_n_with_a_role_assignment_per_peering() {
        for n in [1, 10, 100, 400] {
            let counts = MixCounts::of(n);
            assert_eq!(counts.total(), n, "{counts:?}");
            assert!(counts.role_assignments >= counts.peerings);
            assert!(counts.apps >= counts.role_assignments.max(counts.service_principals));
        }
        assert_eq!(
            MixCounts::of(400),
            MixCounts {
                apps: 160,
                service_principals: 80,
                role_assignments: 60,
                custom_roles: 20,
                peerings: 40,
            }
        );
    }
}
