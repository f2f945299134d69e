//! Helpers shared by the `reliability_*` test modules: a terraform command running in the
//! background in its own process group (to press Ctrl-C or look at the provider while it works),
//! the environment that points such a command at an emulator, reading the saved state, and
//! installing `examples/complete` with its module.
//!
//! Each test module uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub use crate::terraform_common::install_complete_example;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use vnetpeer_emulator::Emulator;
use vnetpeer_harness::terraform::TerraformWorkspace;

/// How long a background command may take to print an awaited line or to exit.
pub const PATIENCE: Duration = Duration::from_secs(180);

pub use vnetpeer_harness::terraform::REQUIRED_PROVIDERS;

/// A workspace for the test fixture with a fixture store of its own and a trace log: the
/// workspace, the store's path, and the variables it sets (background commands are given them
/// again).
pub fn traced_fixture_workspace() -> (TerraformWorkspace, PathBuf, Vec<(OsString, OsString)>) {
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
    (workspace, store, env)
}

/// What `TerraformWorkspace::connect` sets for an emulator (the workspace keeps its variables
/// private, so background commands are given them again).
pub fn emulator_env(emulator: &Emulator, log_path: &Path) -> Vec<(OsString, OsString)> {
    vnetpeer_harness::provider_env::emulator_env(emulator, log_path)
        .into_iter()
        .map(|(name, value)| (OsString::from(name), OsString::from(value)))
        .collect()
}

/// `terraform <args>` in `workspace`, as a child process in its own process group (like a
/// terminal's foreground job), with stdout lines delivered as they are printed. `env` is added
/// to the workspace's CLI configuration and variables.
pub fn spawn_terraform(
    workspace: &TerraformWorkspace,
    env: &[(OsString, OsString)],
    args: &[&str],
) -> RunningTerraform {
    let mut command = workspace.command(args);
    command
        .envs(env.iter().map(|(name, value)| (name, value)))
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

/// A terraform command running in the background.
pub struct RunningTerraform {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stdout line received so far.
    stdout: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl RunningTerraform {
    /// Waits until stdout prints a line containing `needle`.
    #[track_caller]
    pub fn wait_for_line(&mut self, needle: &str) {
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

    /// Ctrl-C as a terminal sends it: SIGINT to every process of the group (Terraform and the
    /// provider processes it started).
    pub fn interrupt(&self) {
        let group = format!("-{}", self.child.id());
        let status = Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT {group} failed");
    }

    /// Waits for the exit; returns the exit code and everything printed (stdout, then stderr).
    #[track_caller]
    pub fn finish(mut self) -> (i32, String) {
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

impl Drop for RunningTerraform {
    fn drop(&mut self) {
        // A test that panicked half-way must not leave terraform (or its providers) running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = self.child.wait();
        }
    }
}

/// One resource instance in a saved state file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateInstance {
    /// `type.name` (with a module prefix when inside a module).
    pub address: String,
    /// The `id` attribute.
    pub id: String,
    pub tainted: bool,
}

/// Every resource instance of the saved `terraform.tfstate`, sorted (read from disk, so it
/// shows exactly what Terraform persisted).
pub fn saved_state(workspace: &TerraformWorkspace) -> Vec<StateInstance> {
    let text = workspace.state_file_text();
    if text.is_empty() {
        return Vec::new();
    }
    let state: Json = serde_json::from_str(&text).expect("terraform.tfstate is JSON");
    let mut instances = Vec::new();
    for resource in state["resources"].as_array().into_iter().flatten() {
        if resource["mode"] != "managed" {
            continue;
        }
        let module = resource["module"]
            .as_str()
            .map(|module| format!("{module}."))
            .unwrap_or_default();
        for instance in resource["instances"].as_array().into_iter().flatten() {
            instances.push(StateInstance {
                address: format!(
                    "{module}{}.{}",
                    resource["type"].as_str().unwrap_or_default(),
                    resource["name"].as_str().unwrap_or_default()
                ),
                id: instance["attributes"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                tainted: instance["status"] == "tainted",
            });
        }
    }
    instances.sort();
    instances
}

/// The trace log of a workspace wired with `TF_LOG_PATH` = `<workspace>/terraform-trace.log`.
pub fn trace_log(workspace: &TerraformWorkspace) -> String {
    std::fs::read_to_string(trace_log_path(workspace)).unwrap_or_default()
}

/// Where the helpers point `TF_LOG_PATH` (the same file `TerraformWorkspace::log_path` names).
pub fn trace_log_path(workspace: &TerraformWorkspace) -> PathBuf {
    workspace.log_path()
}

/// The current length of the trace log, to look only at what a later command writes.
pub fn trace_log_len(workspace: &TerraformWorkspace) -> usize {
    std::fs::metadata(trace_log_path(workspace))
        .map(|metadata| usize::try_from(metadata.len()).unwrap_or(usize::MAX))
        .unwrap_or(0)
}

/// Waits until the trace log, from byte `offset` on, holds `needle` at least `count` times.
#[track_caller]
pub fn wait_for_log(workspace: &TerraformWorkspace, offset: usize, needle: &str, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let log = std::fs::read(trace_log_path(workspace)).unwrap_or_default();
        let recent = String::from_utf8_lossy(log.get(offset..).unwrap_or_default());
        if recent.matches(needle).count() >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the trace log never showed {needle:?} {count} times"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The provider's trace line that an operation has started (logged by the framework once the
/// operation's context, and so its cancellation, exists), e.g. `provider_started("create")`.
pub fn provider_operation_started(operation: &str) -> String {
    format!("provider.terraform-provider-vnetpeer: {operation}:")
}
