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

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use vnetpeer_emulator::terraform::TerraformWorkspace;

/// Far longer than any test may take: if the wait were not cancelled, the test would visibly
/// hang instead of passing by luck.
const LONG_SLEEP: &str = "10m";

/// How long the harness waits for a line or an exit before declaring the test failed.
const PATIENCE: Duration = Duration::from_secs(120);

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

/// A workspace with its own fixture store, plus the environment the tests pass to the
/// terraform processes they start themselves.
struct Fixture {
    workspace: TerraformWorkspace,
    store: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let mut workspace = TerraformWorkspace::new();
        let store = workspace.path().join("fixture-store.json");
        workspace.set_env("VNETPEER_FIXTURE_STORE", &store);
        workspace.set_env("TF_LOG", "trace");
        workspace.set_env("TF_LOG_PATH", workspace.path().join("terraform-trace.log"));
        workspace.write_config(CONFIG);
        Fixture { workspace, store }
    }

    /// `terraform <args>` as a child process in its own process group, with stdout lines sent to
    /// the returned channel as they are printed.
    fn spawn(&self, args: &[&str]) -> RunningTerraform {
        let mut command = Command::new("terraform");
        command
            .args(args)
            .current_dir(self.workspace.path())
            // The workspace's CLI configuration (dev_overrides to the provider under test).
            .env(
                "TF_CLI_CONFIG_FILE",
                self.workspace.path().join("terraformrc"),
            )
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("VNETPEER_FIXTURE_STORE", &self.store)
            .env("TF_LOG", "trace")
            .env(
                "TF_LOG_PATH",
                self.workspace.path().join("terraform-trace.log"),
            )
            .env_remove("TF_CLI_ARGS")
            .env_remove("TF_WORKSPACE")
            .env_remove("TF_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().expect("start terraform");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        RunningTerraform {
            child,
            lines: receiver,
            stdout: String::new(),
            stderr: Some(stderr),
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

    /// `address → id` of every resource instance in the saved state file (what Terraform
    /// persisted, read from disk rather than through another terraform command).
    fn state_ids(&self) -> Vec<(String, String, bool)> {
        let text = self.workspace.state_file_text();
        if text.is_empty() {
            return Vec::new();
        }
        let state: Json = serde_json::from_str(&text).expect("terraform.tfstate is JSON");
        let mut ids = Vec::new();
        for resource in state["resources"].as_array().into_iter().flatten() {
            for instance in resource["instances"].as_array().into_iter().flatten() {
                ids.push((
                    format!(
                        "{}.{}",
                        resource["type"].as_str().unwrap_or_default(),
                        resource["name"].as_str().unwrap_or_default()
                    ),
                    instance["attributes"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    instance["status"] == "tainted",
                ));
            }
        }
        ids.sort();
        ids
    }
}

/// A terraform command running in the background.
struct RunningTerraform {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stdout line received so far.
    stdout: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl RunningTerraform {
    /// Waits until stdout prints a line containing `needle`.
    #[track_caller]
    fn wait_for_line(&mut self, needle: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                    if found {
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "terraform never printed {needle:?}; stdout so far:\n{}",
                        self.stdout
                    );
                }
            }
        }
    }

    /// Ctrl-C as a terminal sends it: SIGINT to every process of the group.
    fn interrupt(&self) {
        let group = format!("-{}", self.child.id());
        let status = Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT {group} failed");
    }

    /// Waits for the exit; returns the exit code and everything printed.
    #[track_caller]
    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + PATIENCE;
        let code = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break status.code().unwrap_or(-1),
                None if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    panic!("terraform did not exit; stdout so far:\n{}", self.stdout);
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        for line in self.lines.iter() {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        (code, format!("{}\n{stderr}", self.stdout))
    }
}

/// Time from SIGINT until terraform exited, and the command's output.
struct Interrupted {
    latency: Duration,
    exit_code: i32,
    output: String,
}

/// Runs `terraform <args>`, waits for `line` (the resource has started waiting), then presses
/// Ctrl-C.
fn interrupt_when(fixture: &Fixture, args: &[&str], line: &str) -> Interrupted {
    let mut terraform = fixture.spawn(args);
    terraform.wait_for_line(line);
    // Terraform prints the line just before it sends the request; give the provider a moment to
    // be inside its wait (the wait is ten minutes, so the margin is irrelevant to the outcome).
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    terraform.interrupt();
    let (exit_code, output) = terraform.finish();
    Interrupted {
        latency: sent.elapsed(),
        exit_code,
        output,
    }
}

fn trace_log(path: &Path) -> String {
    std::fs::read_to_string(path.join("terraform-trace.log")).unwrap_or_default()
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
        "vnetpeer_test_fixture.slow: Creating...",
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
        trace_log(fixture.workspace.path()).contains("StopProvider"),
        "Terraform called StopProvider"
    );

    // Terraform saved what finished: `fast` is in the state and in the store, `slow` in neither.
    let state = fixture.state_ids();
    assert_eq!(state.len(), 1, "{state:?}");
    assert_eq!(state[0].0, "vnetpeer_test_fixture.fast");
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
    let state = fixture.state_ids();
    let state_ids: Vec<&str> = state.iter().map(|(_, id, _)| id.as_str()).collect();
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
    let before = fixture.state_ids();

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
        "vnetpeer_test_fixture.slow: Modifying...",
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
    assert_eq!(fixture.state_ids(), before, "the state is unchanged");

    // Delete waits the sleep of the refreshed state: change it out of band in the store so the
    // delete of `slow` waits long (the refresh at the start of destroy picks it up).
    let mut stored = fixture.stored_objects();
    for record in stored.values_mut() {
        if record["state"]["name"]
            .as_str()
            .is_some_and(|name| name.starts_with("slow"))
        {
            record["state"]["sleep"] = Json::from(LONG_SLEEP);
        }
    }
    std::fs::write(
        &fixture.store,
        serde_json::to_vec(&stored).expect("serialise the store"),
    )
    .expect("write the store");

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
        "vnetpeer_test_fixture.slow: Destroying...",
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
    assert_eq!(fixture.state_ids(), before);
    assert_eq!(fixture.stored_names().len(), 2);

    // Destroy again, without the long wait: everything goes.
    let mut stored = fixture.stored_objects();
    for record in stored.values_mut() {
        record["state"]["sleep"] = Json::from("1ms");
    }
    std::fs::write(
        &fixture.store,
        serde_json::to_vec(&stored).expect("serialise the store"),
    )
    .expect("write the store");
    fixture.workspace.run_ok(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var=slow_sleep=1ms",
    ]);
    assert!(fixture.stored_objects().is_empty());
    assert!(fixture.state_ids().is_empty());
}
