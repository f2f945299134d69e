//! The runbook against the emulator: the shared set-up of every emulator-backed figure (provider
//! settings, the runbook walk-through of `examples/provider/runbook`, `examples/complete`, knob
//! presets, request-log slices) and metric (i), `examples/complete` (the whole runbook as a
//! module) end to end against delays scaled down from the real services, compared with the
//! physical floor and with the modelled peers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Service};

use super::terraform::{Run, Workspace};
use super::{Row, progress};

/// Where the runbook walk-through lives (the provider page's example).
pub fn runbook_dir(repository: &Path) -> PathBuf {
    repository.join("examples").join("provider").join("runbook")
}

/// Every delay 1 ms (knobs must stay above zero): for figures that count work, not waits. One
/// poll then always sees the end of a long-running operation.
pub fn instant_knobs() -> Knobs {
    let ms = Duration::from_millis(1);
    Knobs {
        graph_replication: ms,
        secret_activation: ms,
        token_lifetime: Duration::from_secs(3600),
        rbac_propagation: ms,
        lro_duration: ms,
        lro_retry_after: Some(ms),
        aiven_peering_setup: ms,
        aiven_peering_activation: ms,
        aiven_peering_deletion: ms,
        base_latency: Duration::ZERO,
        max_list_page_size: None,
    }
}

/// The provider settings a user would export to use the emulator as the seeded operator, plus
/// the runbook's variables (the names `vnetpeer-sandbox` exports).
pub fn provider_env(emulator: &Emulator) -> Vec<(&'static str, String)> {
    let mut env = emulator.provider_env();
    env.extend(emulator.runbook_variables());
    env
}

/// An empty workspace named `name` whose provider talks to `emulator` ([`provider_env`]).
pub fn emulator_workspace(
    scratch: &Path,
    name: &str,
    provider_dir: &Path,
    emulator: &Emulator,
) -> Result<Workspace, String> {
    let mut workspace = Workspace::new(scratch, name, Some(provider_dir))?;
    for (key, value) in provider_env(emulator) {
        workspace.set_env(key, value);
    }
    Ok(workspace)
}

/// A workspace holding the runbook's `.tf` files, wired to `emulator`.
pub fn runbook_workspace(
    scratch: &Path,
    name: &str,
    repository: &Path,
    provider_dir: &Path,
    emulator: &Emulator,
) -> Result<Workspace, String> {
    let workspace = emulator_workspace(scratch, name, provider_dir, emulator)?;
    let dir = runbook_dir(repository);
    let entries = std::fs::read_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|error| error.to_string())?.path();
        if path.extension().is_some_and(|extension| extension == "tf") {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            let file_name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned());
            workspace.write(&file_name.unwrap_or_default(), &text)?;
        }
    }
    Ok(workspace)
}

/// A workspace holding `examples/complete` and the module it calls (the module moves from
/// `../modules` to `./modules`, linked with `terraform get`), wired to `emulator`.
pub fn complete_workspace(
    scratch: &Path,
    name: &str,
    repository: &Path,
    provider_dir: &Path,
    emulator: &Emulator,
) -> Result<Workspace, String> {
    let workspace = emulator_workspace(scratch, name, provider_dir, emulator)?;
    let examples = repository.join("examples");
    let module_dir = workspace.path().join("modules").join("aiven-vnet-peering");
    std::fs::create_dir_all(&module_dir)
        .map_err(|error| format!("{}: {error}", module_dir.display()))?;
    copy_tf_files(
        &examples.join("modules").join("aiven-vnet-peering"),
        &module_dir,
        |text| text,
    )?;
    copy_tf_files(&examples.join("complete"), workspace.path(), |text| {
        text.replace("\"../modules/", "\"./modules/")
    })?;
    workspace.run_ok(&["get", "-no-color"])?;
    Ok(workspace)
}

fn copy_tf_files(from: &Path, to: &Path, edit: impl Fn(String) -> String) -> Result<(), String> {
    let entries =
        std::fs::read_dir(from).map_err(|error| format!("{}: {error}", from.display()))?;
    for entry in entries {
        let path = entry.map_err(|error| error.to_string())?.path();
        if path.extension().is_some_and(|extension| extension == "tf") {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            let target = to.join(path.file_name().unwrap_or_default());
            std::fs::write(&target, edit(text))
                .map_err(|error| format!("{}: {error}", target.display()))?;
        }
    }
    Ok(())
}

/// A run and the emulator requests it caused.
#[derive(Debug)]
pub struct Observed {
    pub run: Run,
    pub requests: Vec<RequestRecord>,
}

/// Runs a command that must succeed and returns the requests it caused.
pub fn observe(
    workspace: &Workspace,
    emulator: &Emulator,
    args: &[&str],
) -> Result<Observed, String> {
    let observed = observe_any(workspace, emulator, args)?;
    if observed.run.success() {
        Ok(observed)
    } else {
        Err(format!(
            "`terraform {}` failed in {} (exit {}):\n{}",
            args.join(" "),
            workspace.path().display(),
            observed.run.status,
            super::terraform::tail(&observed.run.output(), 60)
        ))
    }
}

/// Runs a command, successful or not, and returns the requests it caused.
pub fn observe_any(
    workspace: &Workspace,
    emulator: &Emulator,
    args: &[&str],
) -> Result<Observed, String> {
    let before = emulator.requests().len();
    let run = workspace.run(args)?;
    let requests = emulator.requests().split_off(before);
    Ok(Observed { run, requests })
}

/// Whether a request is a token request of the provider's own identity (the operator), as
/// opposed to one a resource makes with a credential it created.
pub fn is_operator_token_request(request: &RequestRecord, operator_client_id: &str) -> bool {
    request.service == Service::Login
        && request.credential.as_ref().is_none_or(|credential| {
            credential
                .app_id
                .as_deref()
                .is_none_or(|app| app.eq_ignore_ascii_case(operator_client_id))
        })
}

/// Delays of the end-to-end run: the realistic preset's shape, scaled down so the runbook takes
/// seconds instead of minutes (docs/development/benchmark-method.md, 'Metrics, how to compute them,
/// and targets' (i) uses 20 ms latency, L = 8 s, R = 10 s, D = 5 s, Aiven 3 s).
pub fn scaled_realistic_knobs() -> Knobs {
    Knobs {
        graph_replication: Duration::from_millis(1000),
        secret_activation: Duration::from_millis(1500),
        token_lifetime: Duration::from_secs(3600),
        rbac_propagation: Duration::from_millis(2000),
        lro_duration: Duration::from_millis(2000),
        lro_retry_after: Some(Duration::from_millis(1000)),
        aiven_peering_setup: Duration::from_millis(2000),
        aiven_peering_activation: Duration::from_millis(2000),
        aiven_peering_deletion: Duration::from_millis(1000),
        base_latency: Duration::from_millis(20),
        max_list_page_size: None,
    }
}

/// The earliest moment a client can see the end of an operation of `duration` when it may poll
/// only every `retry_after`: the first allowed poll at or after completion.
fn first_allowed_poll(duration: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(step) if !step.is_zero() => {
            let steps = (duration.as_secs_f64() / step.as_secs_f64()).ceil();
            step.mul_f64(steps)
        }
        _ => duration,
    }
}

/// The physical floor of the runbook's create: the waits the emulator imposes along its
/// critical chain (the emulator's rules: docs/development/entra-and-graph.md, 'Eventual
/// consistency'; docs/development/arm.md, 'Role assignment errors' and the Network section;
/// docs/development/aiven.md, 'Peering connection object, states and state_info'), plus one latency
/// per request that must happen in sequence.
///
/// aad_app: the service principal waits for the application to replicate (D), the new secret
/// must become usable (S) → role assignment for it → Aiven peering: APPROVED → PENDING_PEER
/// (A_s) → cross-tenant peering: the minted secret must become usable (S), the service
/// principal Aiven creates for the app in its tenant must replicate (D) and Aiven's grant there
/// must propagate (RBAC), all counted from PENDING_PEER → the LRO (L, seen at the first poll
/// `Retry-After` allows) → Aiven notices the Connected peering (A_a).
pub fn create_floor(knobs: &Knobs) -> Duration {
    const SEQUENTIAL_REQUESTS: u32 = 14;
    knobs.graph_replication
        + knobs.secret_activation
        + knobs.aiven_peering_setup
        + knobs
            .secret_activation
            .max(knobs.rbac_propagation)
            .max(knobs.graph_replication)
        + first_allowed_poll(knobs.lro_duration, knobs.lro_retry_after)
        + knobs.aiven_peering_activation
        + knobs.base_latency * SEQUENTIAL_REQUESTS
}

/// The physical floor of the runbook's destroy: the peering's delete LRO, then Aiven's deletion,
/// plus one latency per request that must happen in sequence.
///
/// `terraform destroy` refreshes every object first, walking the dependency graph, so the reads
/// along the chain are in sequence too, each with the emulator's latency: a token, the
/// application, its role assignment, the Aiven peering, the cross-tenant peering (5). Then the
/// destroying process's own token (tokens are cached per process,
/// docs/development/benchmark-method.md, 'Tokens'), the peering DELETE and the poll that sees its
/// end, Aiven's DELETE and the poll that sees DELETED, the role assignment DELETE, and the custom
/// role's or the application's DELETE (7; deleting the application also deletes its service
/// principal). The timeline of a run is written to `end-to-end/destroy-requests.txt` (kept with
/// `--keep`).
pub fn destroy_floor(knobs: &Knobs) -> Duration {
    const REFRESH_CHAIN: u32 = 5;
    const DESTROY_CHAIN: u32 = 7;
    const SEQUENTIAL_REQUESTS: u32 = REFRESH_CHAIN + DESTROY_CHAIN;
    first_allowed_poll(knobs.lro_duration, knobs.lro_retry_after)
        + knobs.aiven_peering_deletion
        + knobs.base_latency * SEQUENTIAL_REQUESTS
}

/// The azurerm + azuread + aiven combination's time for the same chain, from their fixed waits
/// and request counts (docs/development/benchmark-method.md, 'Peer minimum vs physical minimum'; a
/// lower bound: SDK backoff on 404s is left out, and so is the second apply the anchors need for
/// the cross-tenant peering).
///
/// Create: azuread password (seen 5 times, 1 s apart: 4 s) → azurerm role assignment (20 s) →
/// aiven peering (10 s sleep, then 5 s steps) → azurerm peering (15 s + ⌈L / 10 s⌉ × 10 s) →
/// Aiven activation (the peers do not wait for it; the user does). About 30 requests in sequence.
pub fn peer_create_model(knobs: &Knobs) -> Duration {
    let aiven_wait = stepped(
        knobs.aiven_peering_setup,
        Duration::from_secs(10),
        Duration::from_secs(5),
    );
    let peering_wait = Duration::from_secs(15)
        + first_allowed_poll(knobs.lro_duration, Some(Duration::from_secs(10)));
    Duration::from_secs(4)
        + Duration::from_secs(20)
        + aiven_wait
        + peering_wait
        + knobs.aiven_peering_activation
        + knobs.base_latency * 30
}

/// Destroy: azurerm peering delete (⌈L / 10 s⌉ × 10 s) → aiven peering delete (10 s, then 5 s
/// steps) → azurerm custom role delete (at least 190 s; the azuread deletes, 20 s each, run in
/// parallel with it).
pub fn peer_destroy_model(knobs: &Knobs) -> Duration {
    first_allowed_poll(knobs.lro_duration, Some(Duration::from_secs(10)))
        + stepped(
            knobs.aiven_peering_deletion,
            Duration::from_secs(10),
            Duration::from_secs(5),
        )
        + Duration::from_secs(190)
        + knobs.base_latency * 25
}

/// A wait that sleeps `delay` first and then polls every `step`: when it notices a change at
/// `change`.
fn stepped(change: Duration, delay: Duration, step: Duration) -> Duration {
    if change <= delay {
        return delay;
    }
    let steps = ((change - delay).as_secs_f64() / step.as_secs_f64()).ceil();
    delay + step.mul_f64(steps)
}

/// Writes the requests of one command, one line each with its arrival relative to the command's
/// start, for reading where a wall time goes (kept with `--keep`). Best effort: the figures do
/// not depend on it.
fn write_timeline(path: &Path, requests: &[RequestRecord], started_ms: f64) {
    let lines: String = requests
        .iter()
        .map(|r| {
            format!(
                "{:>8.1} ms {:>6.1} ms  {:?} {} {} {}\n",
                r.at_ms - started_ms,
                r.duration_ms,
                r.service,
                r.method,
                r.route,
                r.status
            )
        })
        .collect();
    if let Err(error) = std::fs::write(path, lines) {
        progress(format!("could not write {}: {error}", path.display()));
    }
}

/// Metric (i): apply and destroy `examples/complete` against scaled-down realistic delays.
pub async fn end_to_end(
    scratch: &Path,
    repository: &Path,
    provider_dir: &Path,
) -> Result<Vec<Row>, String> {
    progress("(i) examples/complete end to end with scaled-down realistic delays");
    let knobs = scaled_realistic_knobs();
    let emulator = Emulator::start(knobs.clone()).await;
    let workspace = complete_workspace(scratch, "end-to-end", repository, provider_dir, &emulator)?;
    let started = Instant::now();
    workspace.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"])?;
    let apply = started.elapsed();
    let started = Instant::now();
    let destroy_from = emulator.requests().len();
    let destroy_started_ms = emulator.clock().elapsed().as_secs_f64() * 1000.0;
    workspace.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])?;
    let destroy = started.elapsed();
    write_timeline(
        &workspace.path().join("destroy-requests.txt"),
        &emulator.requests()[destroy_from..],
        destroy_started_ms,
    );
    let violations = emulator.violations();

    let create_floor = create_floor(&knobs);
    let destroy_floor = destroy_floor(&knobs);
    let peer_create = peer_create_model(&knobs);
    let peer_destroy = peer_destroy_model(&knobs);
    let knob_text = format!(
        "latency {} ms, D {} s, secret activation {} s, RBAC {} s, L {} s, R {} s, Aiven setup {} s / activation {} s / deletion {} s",
        knobs.base_latency.as_millis(),
        knobs.graph_replication.as_secs_f64(),
        knobs.secret_activation.as_secs_f64(),
        knobs.rbac_propagation.as_secs_f64(),
        knobs.lro_duration.as_secs_f64(),
        knobs.lro_retry_after.unwrap_or_default().as_secs_f64(),
        knobs.aiven_peering_setup.as_secs_f64(),
        knobs.aiven_peering_activation.as_secs_f64(),
        knobs.aiven_peering_deletion.as_secs_f64(),
    );
    let create_ratio = apply.as_secs_f64() / create_floor.as_secs_f64();
    let destroy_ratio = destroy.as_secs_f64() / destroy_floor.as_secs_f64();
    Ok(vec![
        Row::target(
            "i1",
            format!("`examples/complete` `apply` (the runbook module: 7 resources, 1 data source) ÷ physical floor; {knob_text}"),
            format!(
                "{:.2} s ÷ {:.2} s = {create_ratio:.2}",
                apply.as_secs_f64(),
                create_floor.as_secs_f64()
            ),
            "≤ 1.15",
            create_ratio <= 1.15,
        )
        .with_note(
            "the floor is modelled from the emulator's rules along the critical chain (see runbook.rs); the wall time also holds Terraform's own start-up, plan and the provider launches",
        ),
        Row::target(
            "i2",
            "`examples/complete` `destroy` ÷ physical floor",
            format!(
                "{:.2} s ÷ {:.2} s = {destroy_ratio:.2}",
                destroy.as_secs_f64(),
                destroy_floor.as_secs_f64()
            ),
            "≤ 1.15",
            destroy_ratio <= 1.15,
        )
        .with_note(
            "the floor holds the emulator's waits along the chain, including the latency of the refresh's reads in dependency order (see runbook.rs); the wall time also holds Terraform's start-up, its five provider launches and the polling schedule's granularity on Aiven's deletion (no Retry-After)",
        ),
        Row::info(
            "i3",
            "modelled azurerm + azuread + aiven time ÷ this provider's (create; destroy)",
            format!(
                "{:.0} s ÷ {:.2} s = {:.1}×; {:.0} s ÷ {:.2} s = {:.1}×",
                peer_create.as_secs_f64(),
                apply.as_secs_f64(),
                peer_create.as_secs_f64() / apply.as_secs_f64(),
                peer_destroy.as_secs_f64(),
                destroy.as_secs_f64(),
                peer_destroy.as_secs_f64() / destroy.as_secs_f64()
            ),
        )
        .with_note(
            "the peers' fixed waits of the 'Peer minimum vs physical minimum' model only (a lower bound on their time); with the unscaled delays of metric (i) the gap is the same waits against longer API delays",
        ),
        Row::target(
            "i4",
            "emulator violations during the end-to-end run",
            violations.len().to_string(),
            "0",
            violations.is_empty(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_grid_rounds_completion_up_to_the_next_allowed_poll() {
        let second = Duration::from_secs(1);
        assert_eq!(
            first_allowed_poll(Duration::from_millis(2500), Some(second)),
            Duration::from_secs(3)
        );
        assert_eq!(
            first_allowed_poll(Duration::from_secs(2), Some(second)),
            Duration::from_secs(2)
        );
        assert_eq!(
            first_allowed_poll(Duration::from_millis(700), None),
            Duration::from_millis(700)
        );
        assert_eq!(
            stepped(
                Duration::from_secs(2),
                Duration::from_secs(10),
                Duration::from_secs(5)
            ),
            Duration::from_secs(10)
        );
        assert_eq!(
            stepped(
                Duration::from_secs(12),
                Duration::from_secs(10),
                Duration::from_secs(5)
            ),
            Duration::from_secs(15)
        );
    }
}
