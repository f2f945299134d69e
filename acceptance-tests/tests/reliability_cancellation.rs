//! Cancellation (issue 7): Ctrl-C while `terraform apply` or `terraform destroy` waits on a
//! resource. Terraform calls StopProvider, the provider's wait ends at once with "cancelled",
//! Terraform saves the state of what finished, and running the command again converges without
//! duplicates.
//!
//! Ctrl-C in a terminal signals the whole foreground process group (Terraform and the provider
//! processes it started), so the tests start Terraform in a process group of its own and send
//! SIGINT to the group, exactly like a terminal would.
//!
//! Run locally:
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test reliability_cancellation -- --nocapture
//! ```

mod reliability_common;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reliability_common::{
    StateInstance, provider_operation_started, saved_state, spawn_terraform, trace_log,
    trace_log_len, wait_for_log,
};
use serde_json::Value as Json;
use vnetpeer_emulator::terraform::TerraformWorkspace;

/// Far longer than any test may take: if the wait were not cancelled, the test would visibly
/// hang instead of passing by luck.
const LONG_SLEEP: &str = "10m";

/// `fast` is created first; `slow` depends on it and then waits `var.slow_sleep` in create,
/// update and delete.
const CONFIG: &str = r#"
terraform {
  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}

provider "vnetpeer" {}

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
        let mut workspace = TerraformWorkspace::new();
        let store = workspace.path().join("fixture-store.json");
        let env: Vec<(OsString, OsString)> = vec![
            ("VNETPEER_FIXTURE_STORE".into(), store.clone().into()),
            ("TF_LOG".into(), "trace".into()),
            ("TF_LOG_PATH".into(), workspace.log_path().into()),
        ];
        for (name, value) in &env {
            workspace.set_env(name, value);
        }
        workspace.write_config(CONFIG);
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

#[test]
fn ctrl_c_during_create_saves_what_finished_and_the_next_apply_converges() {
    let fixture = Fixture::new();
    let slow_sleep = format!("-var=slow_sleep={LONG_SLEEP}");
    let interrupted = interrupt_when(
        &fixture,
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &slow_sleep,
        ],
        "create",
        2,
    );
    println!(
        "cancellation latency (SIGINT during create -> terraform exited): {} ms",
        interrupted.latency.as_millis()
    );
    let output = &interrupted.output;
    assert_eq!(interrupted.exit_code, 1, "{output}");
    assert!(output.contains("Interrupt received"), "{output}");
    // The wait ended because of StopProvider, not because it ran out.
    assert!(output.contains("The create was cancelled"), "{output}");
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
    let apply = fixture.workspace.run_ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var=slow_sleep=10ms",
    ]);
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

    fixture.workspace.run_ok(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var=slow_sleep=10ms",
    ]);
    assert!(fixture.stored_objects().is_empty());
}

#[test]
fn ctrl_c_during_update_and_destroy_keeps_the_state_true_and_the_next_run_finishes() {
    let fixture = Fixture::new();
    let slow_sleep = format!("-var=slow_sleep={LONG_SLEEP}");
    fixture.workspace.run_ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var=slow_sleep=1ms",
    ]);
    assert_eq!(fixture.stored_names().len(), 2);
    let before = fixture.state();

    // Ctrl-C while `slow` is updated (the update waits the new, long sleep): the update is
    // abandoned and the prior state kept.
    let interrupted = interrupt_when(
        &fixture,
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &slow_sleep,
        ],
        "update",
        1,
    );
    println!(
        "cancellation latency (SIGINT during update -> terraform exited): {} ms",
        interrupted.latency.as_millis()
    );
    assert_eq!(interrupted.exit_code, 1, "{}", interrupted.output);
    assert!(
        interrupted.output.contains("The update was cancelled"),
        "{}",
        interrupted.output
    );
    assert_eq!(fixture.state(), before, "the state is unchanged");

    // Delete waits the sleep of the refreshed state: change it out of band in the store so the
    // delete of `slow` waits long (the refresh at the start of destroy picks it up).
    fixture.set_stored_sleep("slow", LONG_SLEEP);

    // Ctrl-C while destroying `slow` (it goes first: `fast` is its dependency).
    let interrupted = interrupt_when(
        &fixture,
        &[
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-var=slow_sleep=1ms",
        ],
        "delete",
        1,
    );
    println!(
        "cancellation latency (SIGINT during delete -> terraform exited): {} ms",
        interrupted.latency.as_millis()
    );
    assert_eq!(interrupted.exit_code, 1, "{}", interrupted.output);
    assert!(
        interrupted.output.contains("The delete was cancelled"),
        "{}",
        interrupted.output
    );
    // Both still exist, and the state still knows both: nothing is orphaned.
    assert_eq!(fixture.state(), before);
    assert_eq!(fixture.stored_names().len(), 2);

    // Destroy again, without the long wait: everything goes.
    fixture.set_stored_sleep("", "1ms");
    fixture.workspace.run_ok(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var=slow_sleep=1ms",
    ]);
    assert!(fixture.stored_objects().is_empty());
    assert!(fixture.state().is_empty());
}
