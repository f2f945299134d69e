//! Metric (f): behaviour under ARM throttling.
//!
//! `vnetpeer_role_assignment` × W (one per seeded user, so every assignment is distinct) is
//! applied and destroyed at Terraform's default parallelism 10 while the emulator enforces ARM's
//! token buckets scaled down (docs/development/benchmark-method.md, 'Metrics, how to compute them,
//! and targets' (f)): writes and deletes a bucket of 20 that refills at 3 per second. The bucket
//! model gives the optimal span of W writes: the first 20 at once, then one per refill, (W − 20) /
//! 3 s. The emulator answers an empty bucket with 429 and an integer `Retry-After`, and records a
//! violation for a retry sent before it.
//!
//! `Retry-After` parsing is checked separately with injected 429s: fractional seconds (1.5) and
//! an HTTP-date (2 s ahead).

use std::fmt::Write as _;
use std::path::Path;

use vnetpeer_emulator::world::arm::{BucketLimits, Throttling};
use vnetpeer_emulator::{
    Emulator, FaultAction, FaultRule, RequestRecord, RetryAfter, Schedule, Service, ViolationKind,
};

use super::runbook::{emulator_workspace, instant_knobs, observe, observe_any};
use super::terraform::PROVIDER_HEADER;
use super::{Row, progress};

/// Role assignments per run.
const ASSIGNMENTS: usize = 50;
/// Scaled-down write and delete buckets.
const BUCKET: f64 = 20.0;
const REFILL_PER_SECOND: f64 = 3.0;

/// `count` role assignments of Network Contributor on the seeded VNet for `principals`.
fn assignments_config(vnet_id: &str, principals: &[String]) -> String {
    let list = principals
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{PROVIDER_HEADER}\nlocals {{\n  principals = [{list}]\n}}\n\nresource \"vnetpeer_role_assignment\" \"user\" {{\n  count                = length(local.principals)\n  scope                = \"{vnet_id}\"\n  role_definition_name = \"Network Contributor\"\n  principal_id         = local.principals[count.index]\n  principal_type       = \"User\"\n}}\n"
    )
}

/// Runs metric (f).
pub async fn measure(scratch: &Path, provider_dir: &Path) -> Result<Vec<Row>, String> {
    let mut rows = bucket_run(scratch, provider_dir).await?;
    rows.extend(retry_after_forms(scratch, provider_dir).await?);
    Ok(rows)
}

async fn bucket_run(scratch: &Path, provider_dir: &Path) -> Result<Vec<Row>, String> {
    progress(format!(
        "(f) {ASSIGNMENTS} role assignments against ARM buckets of {BUCKET} refilling {REFILL_PER_SECOND}/s"
    ));
    let emulator = Emulator::start(instant_knobs()).await;
    let seed = emulator.seed().clone();
    let principals: Vec<String> = emulator.with_world(|world| {
        let limits = BucketLimits {
            capacity: BUCKET,
            refill_per_second: REFILL_PER_SECOND,
        };
        let mut throttling = Throttling::azure(true);
        throttling.writes = limits;
        throttling.deletes = limits;
        world.arm.throttling = throttling;
        (0..ASSIGNMENTS)
            .map(|index| {
                world.identity.add_user(
                    &seed.customer_tenant_id,
                    &format!("bench-user-{index}@{}", seed.customer_tenant_domain),
                )
            })
            .collect()
    });
    let workspace = emulator_workspace(scratch, "throttling", provider_dir, &emulator)?;
    workspace.write(
        "main.tf",
        &assignments_config(&seed.customer_vnet_id, &principals),
    )?;
    // A run that gives up on a throttled write is a finding, not a failed measurement.
    let apply = observe_any(
        &workspace,
        &emulator,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    )?;
    let destroy = observe_any(
        &workspace,
        &emulator,
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
    )?;
    let early = emulator
        .violations()
        .iter()
        .filter(|violation| violation.kind == ViolationKind::EarlyRetry)
        .count();
    let optimal_s = ((ASSIGNMENTS as f64 - BUCKET) / REFILL_PER_SECOND).max(0.0);
    let mut rows = Vec::new();
    for (id, name, method, observed) in [
        ("f1", "creates", "PUT", &apply),
        ("f2", "deletes", "DELETE", &destroy),
    ] {
        let writes: Vec<&RequestRecord> = observed
            .requests
            .iter()
            .filter(|request| {
                request.service == Service::Arm
                    && request.method == method
                    && request.path.contains("roleAssignments")
            })
            .collect();
        let succeeded = writes
            .iter()
            .filter(|request| (200..300).contains(&request.status))
            .count();
        let throttled = writes
            .iter()
            .filter(|request| request.status == 429)
            .count();
        let first = writes
            .iter()
            .map(|request| request.at_ms)
            .fold(f64::INFINITY, f64::min);
        let last = writes
            .iter()
            .map(|request| request.at_ms + request.duration_ms)
            .fold(0.0, f64::max);
        let span_s = (last - first).max(0.0) / 1e3;
        let ratio = span_s / optimal_s.max(f64::MIN_POSITIVE);
        let share_429 = 100.0 * throttled as f64 / succeeded.max(1) as f64;
        let mut value = format!(
            "{span_s:.2} s ÷ {optimal_s:.2} s = {ratio:.2}; {throttled} × 429 for {succeeded} writes = {share_429:.0}%; terraform wall {:.1} s",
            observed.run.wall.as_secs_f64()
        );
        // When the 429s came (from the first write) tells a first probe of an empty bucket from
        // a model that runs ahead of the refill.
        if (1..=5).contains(&throttled) {
            let at: Vec<String> = writes
                .iter()
                .filter(|request| request.status == 429)
                .map(|request| format!("{:.1} s", (request.at_ms - first) / 1e3))
                .collect();
            let _ = write!(value, " (429s at {})", at.join(", "));
        }
        let mut note = String::from(
            "the client paces on x-ms-ratelimit-remaining-*: it learns the refill rate only once the bucket first runs dry, so one 429 per provider process is expected (one request probes, its Retry-After gates the rest); the emulator's Retry-After is whole seconds (at least 1), as ARM's is",
        );
        if !observed.run.success() {
            let failed = ASSIGNMENTS.saturating_sub(succeeded);
            value.push_str(&format!("; **{failed} of {ASSIGNMENTS} failed**"));
            note = format!(
                "terraform {name} failed: {}; {note}",
                first_error(&observed.run.output())
            );
        }
        rows.push(
            Row::target(
                id,
                format!(
                    "{ASSIGNMENTS} role assignment {name} at parallelism 10, bucket {BUCKET} + {REFILL_PER_SECOND}/s: span ÷ optimal; 429s ÷ successful writes"
                ),
                value,
                "≤ 1.10; 429s ≤ 5% of writes; all succeed",
                ratio <= 1.10
                    && share_429 <= 5.0
                    && succeeded == ASSIGNMENTS
                    && observed.run.success(),
            )
            .with_note(note),
        );
    }
    rows.push(Row::target(
        "f3",
        "requests sent before an announced Retry-After (emulator `early_retry` violations)",
        early.to_string(),
        "0",
        early == 0,
    ));
    Ok(rows)
}

/// The first `Error:` paragraph of terraform's output, on one line.
fn first_error(output: &str) -> String {
    let Some(start) = output.find("Error: ") else {
        return "no error message".to_owned();
    };
    output[start..]
        .lines()
        // Terraform indents the "with <address>," and "on <file> line" lines of a diagnostic.
        .take_while(|line| !line.starts_with("  with ") && !line.starts_with("  on "))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(400)
        .collect()
}

/// One 429 with each `Retry-After` form on a role assignment PUT; the delay until the retry.
async fn retry_after_forms(scratch: &Path, provider_dir: &Path) -> Result<Vec<Row>, String> {
    progress("(f) Retry-After forms: fractional seconds and HTTP-date");
    let emulator = Emulator::start(instant_knobs()).await;
    let seed = emulator.seed().clone();
    let workspace = emulator_workspace(scratch, "retry-after", provider_dir, &emulator)?;
    let mut value = String::new();
    let mut honoured = true;
    for (index, (label, form, announced_ms)) in [
        (
            "fractional 1.5 s",
            RetryAfter::FractionalSeconds { seconds: 1.5 },
            1500.0,
        ),
        // The date has whole seconds: the emulator rounds it up, so the real wait is 2–3 s.
        (
            "HTTP-date +2 s",
            RetryAfter::HttpDate { seconds: 2 },
            1950.0,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let principal = emulator.with_world(|world| {
            world.identity.add_user(
                &seed.customer_tenant_id,
                &format!("retry-after-{index}@{}", seed.customer_tenant_domain),
            )
        });
        let rule = emulator.faults().inject(
            FaultRule::new(Service::Arm, FaultAction::Throttle { retry_after: form })
                .method("PUT")
                .schedule(Schedule::NextN { n: 1 }),
        );
        workspace.write(
            "main.tf",
            &assignments_config(&seed.customer_vnet_id, std::slice::from_ref(&principal)),
        )?;
        let observed = observe(
            &workspace,
            &emulator,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        )?;
        emulator.faults().remove(rule);
        let puts: Vec<&RequestRecord> = observed
            .requests
            .iter()
            .filter(|request| request.service == Service::Arm && request.method == "PUT")
            .collect();
        let delay_ms = match puts.as_slice() {
            [throttled, retry, ..] if throttled.status == 429 => {
                retry.at_ms - (throttled.at_ms + throttled.duration_ms)
            }
            _ => {
                return Err(format!(
                    "{label}: expected a 429 and a retry, saw {} PUTs",
                    puts.len()
                ));
            }
        };
        honoured &= delay_ms >= announced_ms - 1.0 && delay_ms <= announced_ms + 1100.0;
        let _ = write!(value, "{label}: retried after {delay_ms:.0} ms; ");
        workspace.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])?;
    }
    let early = emulator
        .violations()
        .iter()
        .filter(|violation| violation.kind == ViolationKind::EarlyRetry)
        .count();
    let _ = write!(value, "{early} early retries");
    Ok(vec![Row::target(
        "f4",
        "Retry-After parsing: fractional seconds and HTTP-date honoured",
        value,
        "retry at or after the announced time, within a second of it (HTTP-date: whole seconds)",
        honoured && early == 0,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_diagnostic_is_one_line_without_its_location() {
        let output = "x: Destroying...\n\nError: Could not delete the role assignment a\n\nAzure Resource Manager answered DELETE\n/subscriptions/s\nwith HTTP 429 SubscriptionRequestsThrottled: too many\n\n  with vnetpeer_role_assignment.user[3],\n  on main.tf line 9\n";
        assert_eq!(
            first_error(output),
            "Error: Could not delete the role assignment a Azure Resource Manager answered DELETE /subscriptions/s with HTTP 429 SubscriptionRequestsThrottled: too many"
        );
        assert_eq!(first_error("fine"), "no error message");
    }
}
