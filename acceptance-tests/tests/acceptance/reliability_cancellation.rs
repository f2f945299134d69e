//! Cancellation (issue 7): Ctrl-C while `terraform apply` or `terraform destroy` waits on a
//! resource. Terraform calls StopProvider, the provider's wait ends at once with "cancelled",
//! Terraform saves the state of what finished, and running the command again converges without
//! duplicates.
//!
//! With the test fixture (create, update and delete that wait), and with the real runbook
//! (`examples/complete`) interrupted while `vnetpeer_aiven_vpc_peering` waits for Aiven.
//!
//! Ctrl-C in a terminal signals the whole foreground process group (Terraform and the provider
//! processes it started), so the tests start Terraform in a process group of its own and send
//! SIGINT to the group, exactly like a terminal would.
//!
//! Run locally:
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance reliability_cancellation:: -- --nocapture
//! ```

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::reliability_common::{
    StateInstance, emulator_env, install_complete_example, provider_operation_started, saved_state,
    spawn_terraform, trace_log, trace_log_len, traced_fixture_workspace, wait_for_log,
};
use serde_json::Value as Json;
use vnetpeer_emulator::{Emulator, Knobs};
use vnetpeer_harness::terraform::{PROVIDER_HEADER, TerraformWorkspace};

/// Far longer than any test may take: if the wait were not cancelled, the test would visibly
/// hang instead of passing by luck.
const LONG_SLEEP: &str = "10m";

/// After [`PROVIDER_HEADER`]: `fast` is created first; `slow` depends on it and then waits `var.slow_sleep` in create,
/// update and delete.
const CONFIG: &str = r#"
variable "slow_sleep" {
  type = string
}

resource "vnetpeer_test_fixture" "fast" {
  name = "fast"
}

resource "vnetpeer_test_fixture" "slow" {
  name  = "slow-after-${vnetpeer_test_fixture.fast.id}"
  sleep = var.slow_sleep
}
"#;

/// A workspace with its own fixture store and a trace log.
struct Fixture {
    workspace: TerraformWorkspace,
    store: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Fixture {
    fn new() -> Fixture {
        let (workspace, store, env) = traced_fixture_workspace();
        workspace.write_config(&format!("{PROVIDER_HEADER}{CONFIG}"));
        Fixture {
            workspace,
            store,
            env,
        }
    }

    /// The fixture store: object id → its stored state.
    fn stored_objects(&self) -> serde_json::Map<String, Json> {
        let text = std::fs::read_to_string(&self.store).unwrap_or_else(|_| "{}".to_owned());
        serde_json::from_str(&text).expect("the fixture store is JSON")
    }

    /// Names of the stored objects, sorted.
    fn stored_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .stored_objects()
            .values()
            .map(|record| {
                record["state"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Sets `sleep` of every stored object whose name starts with `prefix` (an out-of-band
    /// change the next refresh picks up).
    fn set_stored_sleep(&self, prefix: &str, sleep: &str) {
        let mut stored = self.stored_objects();
        for record in stored.values_mut() {
            if record["state"]["name"]
                .as_str()
                .is_some_and(|name| name.starts_with(prefix))
            {
                record["state"]["sleep"] = Json::from(sleep);
            }
        }
        std::fs::write(
            &self.store,
            serde_json::to_vec(&stored).expect("serialise the store"),
        )
        .expect("write the store");
    }

    fn state(&self) -> Vec<StateInstance> {
        saved_state(&self.workspace)
    }
}

/// Time from SIGINT until terraform exited, and the command's output.
struct Interrupted {
    latency: Duration,
    exit_code: i32,
    output: String,
}

/// Runs `terraform <args>`, waits until the provider has started `count` operations named
/// `operation` ("create", "update", "delete"; the last one is the one that waits), then presses
/// Ctrl-C.
fn interrupt_when(fixture: &Fixture, args: &[&str], operation: &str, count: usize) -> Interrupted {
    let offset = trace_log_len(&fixture.workspace);
    let terraform = spawn_terraform(&fixture.workspace, &fixture.env, args);
    wait_for_log(
        &fixture.workspace,
        offset,
        &provider_operation_started(operation),
        count,
    );
    let sent = Instant::now();
    terraform.interrupt();
    let (exit_code, output) = terraform.finish();
    Interrupted {
        latency: sent.elapsed(),
        exit_code,
        output,
    }
}

impl Interrupted {
    /// Prints the latency, and asserts that terraform failed with the provider's "The
    /// {operation} was cancelled" (the wait ended because of StopProvider, not because it ran
    /// out).
    #[track_caller]
    fn assert_cancelled(&self, operation: &str) {
        println!(
            "cancellation latency (SIGINT during {operation} -> terraform exited): {} ms",
            self.latency.as_millis()
        );
        let output = &self.output;
        assert_eq!(self.exit_code, 1, "{output}");
        assert!(
            output.contains(&format!("The {operation} was cancelled")),
            "{output}"
        );
    }
}

/// `terraform <command>` without prompts or colour, with `sleep_var` (`-var=slow_sleep=…`).
fn fixture_args<'a>(command: &'a str, sleep_var: &'a str) -> [&'a str; 5] {
    [
        command,
        "-auto-approve",
        "-input=false",
        "-no-color",
        sleep_var,
    ]
}

#[test]
fn ctrl_c_during_create_saves_what_finished_and_the_next_apply_converges() {
    let fixture = Fixture::new();
    let slow_sleep = format!("-var=slow_sleep={LONG_SLEEP}");
    let interrupted = interrupt_when(&fixture, &fixture_args("apply", &slow_sleep), "create", 2);
    interrupted.assert_cancelled("create");
    let output = &interrupted.output;
    assert!(output.contains("Interrupt received"), "{output}");
    assert!(
        trace_log(&fixture.workspace).contains("StopProvider"),
        "Terraform called StopProvider"
    );

    // Terraform saved what finished: `fast` is in the state and in the store, `slow` in neither.
    let state = fixture.state();
    assert_eq!(state.len(), 1, "{state:?}");
    assert_eq!(state[0].address, "vnetpeer_test_fixture.fast");
    assert_eq!(fixture.stored_names(), ["fast"]);

    // Apply again (the wait now short): only `slow` is created; nothing is duplicated.
    let apply = fixture
        .workspace
        .run_ok(&fixture_args("apply", "-var=slow_sleep=10ms"));
    assert!(
        apply
            .stdout
            .contains("Resources: 1 added, 0 changed, 0 destroyed"),
        "{apply}"
    );
    let stored = fixture.stored_objects();
    assert_eq!(stored.len(), 2, "{stored:?}");
    let state = fixture.state();
    let state_ids: Vec<&str> = state.iter().map(|instance| instance.id.as_str()).collect();
    for id in stored.keys() {
        assert!(state_ids.contains(&id.as_str()), "{id} not in {state:?}");
    }
    let plan = fixture.workspace.run(&[
        "plan",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        "-var=slow_sleep=10ms",
    ]);
    assert_eq!(plan.status, 0, "{plan}");

    fixture
        .workspace
        .run_ok(&fixture_args("destroy", "-var=slow_sleep=10ms"));
    assert!(fixture.stored_objects().is_empty());
}

#[test]
fn ctrl_c_during_update_and_destroy_keeps_the_state_true_and_the_next_run_finishes() {
    let fixture = Fixture::new();
    let slow_sleep = format!("-var=slow_sleep={LONG_SLEEP}");
    fixture
        .workspace
        .run_ok(&fixture_args("apply", "-var=slow_sleep=1ms"));
    assert_eq!(fixture.stored_names().len(), 2);
    let before = fixture.state();

    // Ctrl-C while `slow` is updated (the update waits the new, long sleep): the update is
    // abandoned and the prior state kept.
    let interrupted = interrupt_when(&fixture, &fixture_args("apply", &slow_sleep), "update", 1);
    interrupted.assert_cancelled("update");
    assert_eq!(fixture.state(), before, "the state is unchanged");

    // Delete waits the sleep of the refreshed state: change it out of band in the store so the
    // delete of `slow` waits long (the refresh at the start of destroy picks it up).
    fixture.set_stored_sleep("slow", LONG_SLEEP);

    // Ctrl-C while destroying `slow` (it goes first: `fast` is its dependency).
    let interrupted = interrupt_when(
        &fixture,
        &fixture_args("destroy", "-var=slow_sleep=1ms"),
        "delete",
        1,
    );
    interrupted.assert_cancelled("delete");
    // Both still exist, and the state still knows both: nothing is orphaned.
    assert_eq!(fixture.state(), before);
    assert_eq!(fixture.stored_names().len(), 2);

    // Destroy again, without the long wait: everything goes.
    fixture.set_stored_sleep("", "1ms");
    fixture
        .workspace
        .run_ok(&fixture_args("destroy", "-var=slow_sleep=1ms"));
    assert!(fixture.stored_objects().is_empty());
    assert!(fixture.state().is_empty());
}

/// Aiven's setup of a new peering connection in the test below: long enough that Ctrl-C
/// surely lands while the provider waits for PENDING_PEER, short enough for the second apply.
const AIVEN_SETUP: Duration = Duration::from_secs(3);

/// Route of the Aiven call that creates a peering connection.
const CREATE_CONNECTION_ROUTE: &str =
    "/v1/project/{project}/vpcs/{project_vpc_id}/peering-connections";

/// The Aiven connections of every project VPC, as their states.
fn aiven_connection_states(emulator: &Emulator) -> Vec<String> {
    let world = emulator.snapshot();
    let mut states = Vec::new();
    for project in world["aiven"]["projects"].as_array().into_iter().flatten() {
        for vpc in project["vpcs"].as_array().into_iter().flatten() {
            for connection in vpc["peering_connections"].as_array().into_iter().flatten() {
                states.push(connection["state"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_for_aiven_keeps_the_connection_in_state_and_the_next_apply_converges()
{
    let emulator = Emulator::start(Knobs {
        aiven_peering_setup: AIVEN_SETUP,
        ..Knobs::test()
    })
    .await;
    let seeded = emulator.snapshot();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let env = emulator_env(&emulator, &workspace.log_path());

    let (workspace, interrupted) =
        tokio::task::spawn_blocking({
            let emulator = emulator.clone();
            move || {
                install_complete_example(&workspace);
                let terraform = spawn_terraform(
                    &workspace,
                    &env,
                    &["apply", "-auto-approve", "-input=false", "-no-color"],
                );
                // Aiven accepted the new connection: the provider now waits for PENDING_PEER.
                let deadline = Instant::now() + crate::reliability_common::PATIENCE;
                while !emulator.requests().iter().any(|r| {
                    r.method == "POST" && r.route == CREATE_CONNECTION_ROUTE && r.status < 300
                }) {
                    assert!(
                        Instant::now() < deadline,
                        "the Aiven connection was never created"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                let sent = Instant::now();
                terraform.interrupt();
                let (exit_code, output) = terraform.finish();
                (
                    workspace,
                    Interrupted {
                        latency: sent.elapsed(),
                        exit_code,
                        output,
                    },
                )
            }
        })
        .await
        .expect("terraform ran");
    println!(
        "cancellation latency (SIGINT while waiting for Aiven's PENDING_PEER -> terraform \
         exited): {} ms",
        interrupted.latency.as_millis()
    );
    let output = &interrupted.output;
    assert_eq!(interrupted.exit_code, 1, "{output}");
    assert!(output.contains("Interrupt received"), "{output}");
    assert!(
        output.contains("cancel"),
        "the error says the wait was cancelled:\n{output}"
    );

    // The connection Aiven holds is in the state, tainted: nothing Terraform does not know.
    assert_eq!(aiven_connection_states(&emulator).len(), 1);
    let state = saved_state(&workspace);
    let peering = state
        .iter()
        .find(|instance| {
            instance
                .address
                .ends_with("vnetpeer_aiven_vpc_peering.this")
        })
        .unwrap_or_else(|| panic!("the Aiven peering is in the state: {state:?}"));
    assert!(peering.tainted, "{peering:?}");
    assert!(
        !state
            .iter()
            .any(|instance| instance.address.contains("cross_tenant")),
        "{state:?}"
    );

    // The next apply replaces the tainted connection and finishes: one connection, ACTIVE.
    let workspace = tokio::task::spawn_blocking({
        move || {
            // Terraform plans the tainted connection's replacement as a create without prior
            // state; the plan-time duplicate check only warns, and the old connection is
            // deleted before the new one is created.
            workspace.apply();
            let (code, plan) = workspace.plan_detailed_exitcode();
            assert_eq!(code, 0, "{plan}");
            workspace
        }
    })
    .await
    .expect("terraform ran");
    assert_eq!(aiven_connection_states(&emulator), ["ACTIVE"]);
    let workspace = tokio::task::spawn_blocking(move || {
        workspace.destroy();
        workspace
    })
    .await
    .expect("terraform ran");

    // Everything is gone again (the application waits in deleted items: the example does not
    // purge it).
    let mut after = emulator.snapshot();
    after["identity"]["deleted_applications"] = seeded["identity"]["deleted_applications"].clone();
    assert_eq!(after, seeded, "the world is as seeded");
    assert_eq!(emulator.violations(), vec![]);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}
