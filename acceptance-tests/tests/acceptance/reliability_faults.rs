//! The fault suite (issue 7): the whole runbook (`examples/provider/runbook`, steps 1–7 in one
//! configuration) applied through the real `terraform` while the emulator injects faults:
//!
//! - (a) 429 on every Nth write, with `Retry-After` in seconds, fractional seconds and HTTP-date
//!   form;
//! - (b) bursts of 5xx (and on the token endpoint);
//! - (c) 300 ms added to every request;
//! - (d) replication windows of 8 s (Graph replication, secret activation, RBAC propagation;
//!   the real services take tens of seconds, 8 s keeps the suite short while still far beyond
//!   any fixed sleep);
//! - (e) connections dropped in the middle of long-running operations (the ARM operation poll,
//!   the wait for Aiven);
//! - (f) a permanent failure (400) of each write route of the runbook in turn, discovered from a
//!   clean run's request log, plus the short-lived secret the cross-tenant step mints, and of
//!   each delete route during destroy.
//!
//! Every scenario has its own emulator. Each apply ends with either the whole flow up (the
//! Azure peering `Connected`, the Aiven connection `ACTIVE`, a re-plan with no changes) or a
//! clear error; then `terraform destroy` (faults still active; if that fails with a clear
//! error, again once the fault is gone) must bring the world back exactly to the seeded one.
//! Destroy only deletes what the state knows, so a seeded world proves that no failure left an
//! object Terraform did not know about. No scenario may cause a violation (an early retry after
//! a 429, an early poll, a duplicate create, ...).
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance reliability_faults:: -- --nocapture
//! ```

use crate::terraform_common::runbook_workspace;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use vnetpeer_emulator::{
    Emulator, FaultAction, FaultRule, Knobs, RetryAfter, Schedule, Service, WorldSnapshot,
};
use vnetpeer_harness::terraform::TerraformOutput;

/// Scenarios running at once (each is mostly terraform and provider processes waiting).
const WORKERS: usize = 4;

/// Terraform override merged into the runbook example: purge the application on destroy, so the
/// directory's deleted items end as seeded too (the example keeps it restorable, as users want).
const OVERRIDE: &str = r#"
resource "vnetpeer_aad_app" "peering" {
  permanently_delete = true
}
"#;

/// Aiven's Entra tenant in the seeded world.
const AIVEN_TENANT: &str = "a1000000-0000-4000-8000-000000000001";

/// What a scenario must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// The flow is up despite the faults.
    Converges,
    /// The apply fails with a clear error (a permanent failure).
    ClearError,
}

/// When the faults are active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum During {
    /// From the start (apply, plan and destroy).
    Everything,
    /// Only during destroy (a delete route that keeps failing).
    Destroy,
}

#[derive(Clone, Debug)]
struct Scenario {
    name: String,
    knobs: Knobs,
    faults: Vec<FaultRule>,
    during: During,
    expect: Expect,
    /// A defect of the provider this scenario exposes and that is not fixed yet: the world
    /// paths it leaves behind start with `.0`; `.1` says what and who owns it. The scenario
    /// fails once the defect is gone, so the marker cannot outlive the fix.
    known_defect: Option<(&'static str, &'static str)>,
}

impl Scenario {
    fn new(name: impl Into<String>, faults: Vec<FaultRule>, expect: Expect) -> Scenario {
        Scenario {
            name: name.into(),
            knobs: Knobs::test(),
            faults,
            during: During::Everything,
            expect,
            known_defect: None,
        }
    }
}

/// How a scenario ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Outcome {
    /// Apply and destroy succeeded despite the faults.
    #[default]
    Converged,
    /// The apply failed with a clear error; destroy then cleaned up.
    ApplyFailedClearly,
    /// The destroy failed with a clear error; a destroy after the outage cleaned up.
    DestroyFailedClearly,
    /// Both failed with clear errors (the failing call serves both); a destroy after the outage
    /// cleaned up.
    BothFailedClearly,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::ApplyFailedClearly => "apply: clear error",
            Outcome::DestroyFailedClearly => "destroy: clear error",
            Outcome::BothFailedClearly => "both: clear errors",
        }
    }
}

/// One scenario's figures.
#[derive(Debug, Default)]
struct Report {
    name: String,
    faults_fired: u64,
    outcome: Outcome,
    /// Paths in the final world that differ from the seeded one.
    left_behind: usize,
    /// The known defect that left them, if any.
    known_defect: Option<&'static str>,
    seconds: f64,
}

/// A write of the runbook: the service, method and route template a fault rule matches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    service: Service,
    method: String,
    route: String,
}

/// The Aiven connections of every project VPC, as `(state, vnet)`.
fn aiven_connections(snapshot: &WorldSnapshot) -> Vec<String> {
    let mut states = Vec::new();
    collect_connection_states(&snapshot["aiven"], &mut states);
    states
}

fn collect_connection_states(value: &Json, states: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            if let (Some(state), true) = (
                map.get("state").and_then(Json::as_str),
                map.contains_key("peering_connection_id"),
            ) {
                states.push(state.to_owned());
            }
            for child in map.values() {
                collect_connection_states(child, states);
            }
        }
        Json::Array(items) => {
            for child in items {
                collect_connection_states(child, states);
            }
        }
        _ => {}
    }
}

/// Paths (JSON pointers) whose values differ between the two worlds.
fn differences(seeded: &Json, now: &Json, path: &str, found: &mut Vec<String>) {
    match (seeded, now) {
        (Json::Object(a), Json::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                differences(
                    a.get(key.as_str()).unwrap_or(&Json::Null),
                    b.get(key.as_str()).unwrap_or(&Json::Null),
                    &format!("{path}/{key}"),
                    found,
                );
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}/{index}"), found);
            }
        }
        (a, b) if a != b => found.push(path.to_owned()),
        _ => {}
    }
}

/// Whether terraform's output explains the failure to a person (an error with a summary and a
/// detail), rather than crashing, hanging or blaming the plugin.
fn is_clear_error(output: &TerraformOutput) -> Result<(), String> {
    let text = output.combined();
    if output.status != 1 {
        return Err(format!("exit status {}", output.status));
    }
    for sign_of_a_crash in [
        "panicked",
        "Plugin did not respond",
        "rpc error",
        "The plugin encountered an error",
        "Request cancelled",
    ] {
        if text.contains(sign_of_a_crash) {
            return Err(format!("the output shows {sign_of_a_crash:?}"));
        }
    }
    if !text.contains("Error: ") {
        return Err("no error diagnostic".to_owned());
    }
    Ok(())
}

/// Runs one scenario; returns its figures or what went wrong.
fn run_scenario(scenario: &Scenario, emulator: &Emulator) -> Result<Report, String> {
    let started = Instant::now();
    let seeded = emulator.snapshot();
    let workspace = runbook_workspace(emulator, "reliability_override.tf", OVERRIDE);
    let inject = |emulator: &Emulator| {
        for rule in &scenario.faults {
            emulator.faults().inject(rule.clone());
        }
    };
    if scenario.during == During::Everything {
        inject(emulator);
    }

    let apply = workspace.try_apply();
    let converged = apply.success();
    match (scenario.expect, converged) {
        (Expect::Converges, false) => {
            return Err(format!("the apply failed:\n{}", tail(&apply.combined())));
        }
        (Expect::ClearError, true) => {
            return Err("the apply succeeded despite a permanent failure".to_owned());
        }
        (Expect::ClearError, false) => is_clear_error(&apply).map_err(|reason| {
            format!("unclear failure ({reason}):\n{}", tail(&apply.combined()))
        })?,
        (Expect::Converges, true) => {
            let outputs = workspace.output_json();
            if outputs["peering_state"]["value"] != "Connected" {
                return Err(format!(
                    "peering_state is {}",
                    outputs["peering_state"]["value"]
                ));
            }
            let states = aiven_connections(&emulator.snapshot());
            if states != ["ACTIVE"] {
                return Err(format!("Aiven connections: {states:?}"));
            }
            let (code, plan) = workspace.plan_detailed_exitcode();
            if code != 0 {
                return Err(format!(
                    "the re-plan is not empty ({code}):\n{}",
                    tail(&plan)
                ));
            }
        }
    }

    if scenario.during == During::Destroy {
        inject(emulator);
    }
    let destroy = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    let mut fired_before_recovery = 0;
    let mut outcome = if converged {
        Outcome::Converged
    } else {
        Outcome::ApplyFailedClearly
    };
    if !destroy.success() {
        outcome = if converged {
            Outcome::DestroyFailedClearly
        } else {
            Outcome::BothFailedClearly
        };
        is_clear_error(&destroy).map_err(|reason| {
            format!(
                "destroy failed unclearly ({reason}):\n{}",
                tail(&destroy.combined())
            )
        })?;
        if scenario
            .faults
            .iter()
            .all(|rule| rule.schedule != Schedule::Always)
        {
            return Err(format!(
                "destroy failed under transient faults:\n{}",
                tail(&destroy.combined())
            ));
        }
        // The outage is over: what the state still holds is deleted now.
        fired_before_recovery = fired(emulator);
        emulator.faults().clear();
        let again = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        if !again.success() {
            return Err(format!(
                "the second destroy failed:\n{}",
                tail(&again.combined())
            ));
        }
    }
    let faults_fired = fired_before_recovery.max(fired(emulator));
    if scenario.during == During::Destroy && outcome != Outcome::DestroyFailedClearly {
        return Err(format!(
            "destroy succeeded although a delete kept failing ({faults_fired} faults fired)"
        ));
    }

    let mut left = Vec::new();
    differences(&seeded, &emulator.snapshot(), "", &mut left);
    match scenario.known_defect {
        None if left.is_empty() => {}
        None => return Err(format!("the world differs from the seeded one at {left:?}")),
        Some((prefix, _)) if !left.is_empty() && left.iter().all(|p| p.starts_with(prefix)) => {}
        Some((prefix, _)) if left.is_empty() => {
            return Err(format!(
                "nothing is left under {prefix} any more: the known defect is fixed, remove \
                 its marker from the scenario"
            ));
        }
        Some(_) => return Err(format!("the world differs from the seeded one at {left:?}")),
    }
    let violations = emulator.violations();
    if !violations.is_empty() {
        return Err(format!(
            "violations: {violations:?}\nrequests to those paths:\n{}",
            requests_near(emulator, &violations)
        ));
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        workspace.assert_no_secret_leaks(emulator, &[]);
    }))
    .map_err(|_| "a secret leaked".to_owned())?;
    if faults_fired == 0 && !scenario.faults.is_empty() {
        return Err("no fault fired: the scenario tested nothing".to_owned());
    }
    Ok(Report {
        name: scenario.name.clone(),
        faults_fired,
        outcome,
        left_behind: left.len(),
        known_defect: scenario.known_defect.map(|(_, note)| note),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// How many times the scenario's rules fired so far.
fn fired(emulator: &Emulator) -> u64 {
    emulator.faults().list().iter().map(|rule| rule.fired).sum()
}

/// The requests to the paths of `violations`, with who sent them, for failure messages.
fn requests_near(emulator: &Emulator, violations: &[vnetpeer_emulator::Violation]) -> String {
    emulator
        .requests()
        .iter()
        .filter(|record| violations.iter().any(|v| v.path == record.path))
        .map(|record| {
            format!(
                "  #{} {:>9.1} ms {} {} -> {} fault={:?} caller={:?}",
                record.seq,
                record.at_ms,
                record.method,
                record.path,
                record.status,
                record.fault,
                record.credential.as_ref().map(|c| c.app_id.clone()),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last lines of a long output, for failure messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A rule for one route.
fn on_route(route: &Route, action: FaultAction, schedule: Schedule) -> FaultRule {
    FaultRule::new(route.service, action)
        .method(&route.method)
        .route(&route.route)
        .schedule(schedule)
}

/// Rules for every write method of the three cloud services.
fn on_every_write(action: FaultAction, schedule: Schedule) -> Vec<FaultRule> {
    let mut rules = Vec::new();
    for service in [Service::Graph, Service::Arm, Service::Aiven] {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            rules.push(
                FaultRule::new(service, action.clone())
                    .method(method)
                    .schedule(schedule),
            );
        }
    }
    rules
}

/// The writes of a clean run, split into the apply's and the destroy's.
struct CleanRun {
    apply_writes: BTreeSet<Route>,
    destroy_writes: BTreeSet<Route>,
    /// Routes of long-running operation polls (ARM GETs on operation status URLs).
    operation_polls: BTreeSet<Route>,
    /// Routes of the GETs that wait for an Aiven connection's state.
    aiven_waits: BTreeSet<Route>,
    /// Every route the clean run used.
    all_routes: BTreeSet<Route>,
    requests: usize,
}

/// The runbook without faults: it must converge and clean up, and its request log names the
/// routes the other scenarios fail.
fn clean_run(emulator: &Emulator) -> Result<CleanRun, String> {
    let seeded = emulator.snapshot();
    let workspace = runbook_workspace(emulator, "reliability_override.tf", OVERRIDE);
    let apply = workspace.try_apply();
    if !apply.success() {
        return Err(format!(
            "the clean apply failed:\n{}",
            tail(&apply.combined())
        ));
    }
    let after_apply = emulator.requests().len();
    let destroy = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    if !destroy.success() {
        return Err(format!(
            "the clean destroy failed:\n{}",
            tail(&destroy.combined())
        ));
    }
    let requests = emulator.requests();
    let route_of = |record: &vnetpeer_emulator::RequestRecord| Route {
        service: record.service,
        method: record.method.clone(),
        route: record.route.clone(),
    };
    let is_write = |record: &&vnetpeer_emulator::RequestRecord| {
        matches!(record.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
            && record.service != Service::Login
            && record.status < 400
    };
    let mut left = Vec::new();
    differences(&seeded, &emulator.snapshot(), "", &mut left);
    if !left.is_empty() {
        return Err(format!("the clean run left {left:?}"));
    }
    Ok(CleanRun {
        apply_writes: requests[..after_apply]
            .iter()
            .filter(is_write)
            .map(route_of)
            .collect(),
        destroy_writes: requests[after_apply..]
            .iter()
            .filter(is_write)
            .map(route_of)
            .collect(),
        operation_polls: requests
            .iter()
            .filter(|r| {
                r.service == Service::Arm
                    && r.method == "GET"
                    && r.route.to_ascii_lowercase().contains("operation")
            })
            .map(route_of)
            .collect(),
        aiven_waits: requests
            .iter()
            .filter(|r| {
                // The project VPC lists its connections with their states.
                r.service == Service::Aiven
                    && r.method == "GET"
                    && r.route.ends_with("/{project_vpc_id}")
            })
            .map(route_of)
            .collect(),
        all_routes: requests.iter().map(route_of).collect(),
        requests: requests.len(),
    })
}

fn ordinal(n: u64) -> String {
    match n {
        1 => "1st".to_owned(),
        2 => "2nd".to_owned(),
        3 => "3rd".to_owned(),
        n => format!("{n}th"),
    }
}

/// Every scenario, given what the clean run showed.
fn scenarios(clean: &CleanRun) -> Vec<Scenario> {
    use Expect::{ClearError, Converges};
    let mut all = Vec::new();

    // (a) 429 on every Nth write, each Retry-After form.
    for (n, retry_after, form) in [
        (3, RetryAfter::Seconds { seconds: 1 }, "integer seconds"),
        (
            2,
            RetryAfter::FractionalSeconds { seconds: 0.4 },
            "fractional seconds",
        ),
        (3, RetryAfter::HttpDate { seconds: 1 }, "an HTTP date"),
        (2, RetryAfter::Omitted, "no Retry-After"),
    ] {
        all.push(Scenario::new(
            format!(
                "(a) 429 on every {} write, Retry-After as {form}",
                ordinal(n)
            ),
            on_every_write(
                FaultAction::Throttle { retry_after },
                Schedule::EveryNth { n },
            ),
            Converges,
        ));
    }
    // And on the token endpoint, in Aiven's tenant (the auxiliary token of the cross-tenant
    // step). Not in the customer tenant: the emulator spots early retries by method and path,
    // and there concurrent token requests for different scopes share one path, so a request
    // that is not a retry at all would count as one.
    all.push(Scenario::new(
        "(a) 429 on every 2nd token request in Aiven's tenant",
        vec![
            FaultRule::new(
                Service::Login,
                FaultAction::Throttle {
                    retry_after: RetryAfter::FractionalSeconds { seconds: 0.3 },
                },
            )
            .path_contains(&format!("/{AIVEN_TENANT}/"))
            .schedule(Schedule::EveryNth { n: 2 }),
        ],
        Converges,
    ));

    // (b) bursts of 5xx.
    let mut bursts = Vec::new();
    for (service, status) in [
        (Service::Login, 503),
        (Service::Graph, 503),
        (Service::Arm, 500),
        (Service::Aiven, 502),
    ] {
        bursts.push(
            FaultRule::new(service, FaultAction::Status { status })
                .schedule(Schedule::NextN { n: 3 }),
        );
    }
    all.push(Scenario::new(
        "(b) a burst of three 5xx on every service",
        bursts,
        Converges,
    ));
    all.push(Scenario::new(
        "(b) 503 on every 4th request of every service",
        [Service::Login, Service::Graph, Service::Arm, Service::Aiven]
            .into_iter()
            .map(|service| {
                FaultRule::new(service, FaultAction::Status { status: 503 })
                    .schedule(Schedule::EveryNth { n: 4 })
            })
            .collect(),
        Converges,
    ));

    // (c) 300 ms more on every request.
    all.push(Scenario::new(
        "(c) 300 ms latency on every request",
        [Service::Login, Service::Graph, Service::Arm, Service::Aiven]
            .into_iter()
            .map(|service| FaultRule::new(service, FaultAction::Latency { ms: 300 }))
            .collect(),
        Converges,
    ));

    // (d) replication windows of 8 s.
    let mut slow = Scenario::new(
        "(d) 8 s replication, activation and propagation",
        vec![],
        Converges,
    );
    slow.knobs = Knobs {
        graph_replication: Duration::from_secs(8),
        secret_activation: Duration::from_secs(8),
        rbac_propagation: Duration::from_secs(8),
        ..Knobs::test()
    };
    all.push(slow);

    // (e) connections dropped in the middle of long-running operations.
    for route in &clean.operation_polls {
        all.push(Scenario::new(
            format!(
                "(e) dropped connection while polling {} {}",
                route.method, route.route
            ),
            vec![on_route(route, FaultAction::Drop, Schedule::NextN { n: 2 })],
            Converges,
        ));
    }
    if let Some(put) = clean.apply_writes.iter().find(|route| {
        route.method == "PUT" && route.route.ends_with("/virtualNetworkPeerings/{peering}")
    }) {
        all.push(Scenario::new(
            "(e) dropped connection on the PUT that starts the peering operation",
            vec![on_route(put, FaultAction::Drop, Schedule::NextN { n: 1 })],
            Converges,
        ));
    }
    all.push(Scenario::new(
        "(e) dropped connection on every 3rd token request",
        vec![
            FaultRule::new(Service::Login, FaultAction::Drop).schedule(Schedule::EveryNth { n: 3 }),
        ],
        Converges,
    ));
    for route in &clean.aiven_waits {
        all.push(Scenario::new(
            format!(
                "(e) dropped connection while waiting on {} {}",
                route.method, route.route
            ),
            vec![on_route(
                route,
                FaultAction::Drop,
                Schedule::EveryNth { n: 3 },
            )],
            Converges,
        ));
    }

    // (f) signing in fails for good (the first step of every operation).
    all.push(Scenario::new(
        "(f) the token endpoint always fails",
        vec![FaultRule::new(
            Service::Login,
            FaultAction::Status { status: 400 },
        )],
        ClearError,
    ));
    // (f) a permanent failure of each write of the runbook.
    for route in &clean.apply_writes {
        all.push(Scenario::new(
            format!(
                "(f) {:?} {} {} always fails",
                route.service, route.method, route.route
            ),
            vec![on_route(
                route,
                FaultAction::Status { status: 400 },
                Schedule::Always,
            )],
            ClearError,
        ));
    }
    if let Some(add_password) = clean
        .apply_writes
        .iter()
        .find(|route| route.route.ends_with("/addPassword"))
    {
        // The first addPassword is the application's secret; the second is the short-lived
        // secret the cross-tenant step mints.
        all.push(Scenario::new(
            "(f) the cross-tenant step's short-lived secret cannot be added",
            vec![on_route(
                add_password,
                FaultAction::Status { status: 400 },
                Schedule::EveryNth { n: 2 },
            )],
            ClearError,
        ));
    }
    for route in &clean.destroy_writes {
        let mut scenario = Scenario::new(
            format!(
                "(f) {:?} {} {} always fails during destroy",
                route.service, route.method, route.route
            ),
            vec![on_route(
                route,
                FaultAction::Status { status: 400 },
                Schedule::Always,
            )],
            Converges,
        );
        // Each fails the destroy clearly; the destroy after the outage must still delete
        // everything. For the purge (`DELETE /directory/deletedItems/{id}`) the application is
        // already deleted by then: the state keeps it, and the retried destroy purges it, so the
        // deleted items end as seeded too.
        scenario.during = During::Destroy;
        all.push(scenario);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runbook_survives_faults_or_fails_clearly_and_destroy_leaves_the_seeded_world() {
    let started = Instant::now();
    let clean_emulator = Emulator::start(Knobs::test()).await;
    let clean = tokio::task::spawn_blocking({
        let emulator = clean_emulator.clone();
        move || clean_run(&emulator)
    })
    .await
    .expect("the clean run")
    .unwrap_or_else(|error| panic!("{error}"));
    assert!(!clean.apply_writes.is_empty() && !clean.destroy_writes.is_empty());
    if std::env::var_os("RELIABILITY_FAULTS_ROUTES").is_some() {
        for route in &clean.all_routes {
            println!(
                "  route {:?} {} {}",
                route.service, route.method, route.route
            );
        }
    }
    println!(
        "clean run: {} requests, {} write routes in apply, {} in destroy",
        clean.requests,
        clean.apply_writes.len(),
        clean.destroy_writes.len()
    );

    // `RELIABILITY_FAULTS_ONLY=<text>` runs only the scenarios whose name contains it.
    let only = std::env::var("RELIABILITY_FAULTS_ONLY").unwrap_or_default();
    let scenarios: Vec<Scenario> = scenarios(&clean)
        .into_iter()
        .filter(|scenario| scenario.name.contains(&only))
        .collect();
    let mut emulators = Vec::new();
    for scenario in &scenarios {
        emulators.push(Emulator::start(scenario.knobs.clone()).await);
    }
    let (reports, failures) = tokio::task::spawn_blocking(move || run_all(&scenarios, &emulators))
        .await
        .expect("the scenarios run");

    for report in &reports {
        if let Some(note) = report.known_defect {
            println!(
                "  KNOWN DEFECT, {} object(s) left: {note}",
                report.left_behind
            );
        }
        println!(
            "  {:<90} {:>4} faults  {:<20} {:>5.1} s",
            report.name,
            report.faults_fired,
            report.outcome.label(),
            report.seconds
        );
    }
    let faults: u64 = reports.iter().map(|report| report.faults_fired).sum();
    let survived: u64 = reports
        .iter()
        .filter(|report| report.outcome == Outcome::Converged)
        .map(|report| report.faults_fired)
        .sum();
    let reported = |outcomes: &[Outcome]| {
        reports
            .iter()
            .filter(|r| outcomes.contains(&r.outcome))
            .count()
    };
    let left_behind: usize = reports.iter().map(|report| report.left_behind).sum();
    println!(
        "fault suite: {} scenarios, {faults} faults injected, {survived} survived (runs that \
         converged), permanent failures reported clearly: {} in apply, {} in destroy; objects \
         left behind: {left_behind}; violations: 0; {:.0} s",
        reports.len(),
        reported(&[Outcome::ApplyFailedClearly, Outcome::BothFailedClearly]),
        reported(&[Outcome::DestroyFailedClearly, Outcome::BothFailedClearly]),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs the scenarios on [`WORKERS`] threads.
fn run_all(scenarios: &[Scenario], emulators: &[Emulator]) -> (Vec<Report>, Vec<String>) {
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(scenario) = scenarios.get(index) else {
                        break;
                    };
                    match run_scenario(scenario, &emulators[index]) {
                        Ok(report) => reports.lock().expect("reports").push(report),
                        Err(error) => failures
                            .lock()
                            .expect("failures")
                            .push(format!("scenario {:?}: {error}", scenario.name)),
                    }
                }
            });
        }
    });
    let mut reports = reports.into_inner().expect("reports");
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    (reports, failures.into_inner().expect("failures"))
}
