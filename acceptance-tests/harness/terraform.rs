//! Drives the real `terraform` CLI against the provider binary under test, without a registry
//! (docs/development/plugin-obligations.md, N1–N2).
//!
//! Each [`TerraformWorkspace`] is a temporary directory with its own CLI configuration: a
//! `dev_overrides` entry points `vnetpeer/vnetpeer` at the directory of
//! [`provider_binary`](crate::binaries::provider_binary), so `terraform init` is never run (it
//! would fail offline). Every command gets `-input=false -no-color`, and `apply`/`destroy` get
//! `-auto-approve`.
//!
//! ```no_run
//! use vnetpeer_harness::terraform::TerraformWorkspace;
//!
//! let mut workspace = TerraformWorkspace::new();
//! let store = workspace.path().join("store.json");
//! workspace.set_env("VNETPEER_FIXTURE_STORE", store);
//! workspace.write_config(r#"resource "vnetpeer_test_fixture" "x" { name = "a" }"#);
//! workspace.apply();
//! assert_eq!(workspace.plan_detailed_exitcode().0, 0);
//! workspace.destroy();
//! ```

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::provider_binary;

/// The provider's source address, as written in `required_providers`.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/vnetpeer/vnetpeer";

// A macro so that both constants below can be built from the one text with `concat!`.
macro_rules! required_providers {
    () => {
        r#"
terraform {
  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}
"#
    };
}

/// The `terraform` block every configuration starts with (`vnetpeer` from its registry address,
/// which the workspace's `dev_overrides` point at the binary under test).
pub const REQUIRED_PROVIDERS: &str = required_providers!();

/// [`REQUIRED_PROVIDERS`] and a `provider "vnetpeer"` block with no arguments (every setting
/// from the environment).
pub const PROVIDER_HEADER: &str = concat!(required_providers!(), "\nprovider \"vnetpeer\" {}\n");

/// Longest any single terraform command may take before the harness kills it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What a terraform command printed, and how it ended.
#[derive(Clone, Debug)]
pub struct TerraformOutput {
    /// The exit code (`-1` when killed by a signal or the harness timeout).
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TerraformOutput {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Stdout then stderr, for assertions that do not care where a message went.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for TerraformOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A temporary Terraform working directory wired to the provider under test.
pub struct TerraformWorkspace {
    dir: tempfile::TempDir,
    cli_config: PathBuf,
    env: Vec<(OsString, OsString)>,
    /// Everything terraform printed in this workspace, for the secret-leak checks.
    transcript: std::sync::Mutex<String>,
}

impl Default for TerraformWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

impl TerraformWorkspace {
    /// A fresh workspace. Panics (with the reason) if the temporary directory or the CLI
    /// configuration cannot be written, or if the provider binary is missing.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vnetpeer-tf-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create a temporary directory: {error}"));
        let binary = provider_binary();
        let binary_dir = binary
            .parent()
            .unwrap_or_else(|| panic!("{} has no parent directory", binary.display()));
        let cli_config = dir.path().join("terraformrc");
        // The override path is an HCL string: escape what HCL would interpret.
        let override_dir = binary_dir
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("${", "$${");
        let contents = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{override_dir}\"\n  }}\n  direct {{}}\n}}\ndisable_checkpoint = true\n"
        );
        std::fs::write(&cli_config, contents)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", cli_config.display()));
        TerraformWorkspace {
            dir,
            cli_config,
            env: Vec::new(),
            transcript: std::sync::Mutex::new(String::new()),
        }
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `main.tf` (replacing it).
    pub fn write_config(&self, hcl: &str) {
        self.write_file("main.tf", hcl);
    }

    /// Writes any file in the working directory.
    pub fn write_file(&self, name: &str, contents: &str) {
        let path = self.path().join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    /// Sets an environment variable for every later terraform command (and so for the provider
    /// processes it starts).
    pub fn set_env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        let key = key.into();
        self.env.retain(|(existing, _)| *existing != key);
        self.env.push((key, value.into()));
    }

    /// Runs `terraform <args>` in the workspace and returns what happened (never panics on a
    /// failing command; panics only if terraform cannot be started).
    pub fn run(&self, args: &[&str]) -> TerraformOutput {
        let output = self.run_unrecorded(args);
        if let Ok(mut transcript) = self.transcript.lock() {
            transcript.push_str(&output.stdout);
            transcript.push_str(&output.stderr);
        }
        output
    }

    /// Like [`TerraformWorkspace::run`], but kept out of the transcript: for the machine-readable
    /// `show -json` / `output -json`, which print sensitive values by design.
    fn run_unrecorded(&self, args: &[&str]) -> TerraformOutput {
        let mut command = self.command(args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        run_with_timeout(command, args)
    }

    /// `terraform <args>` in this workspace with its CLI configuration and variables, not yet
    /// started (for tests that run terraform in the background); stdin is closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = crate::binaries::terraform_command();
        command
            .args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            // Settings from the developer's shell must not change what the tests see.
            .env_remove("TF_CLI_ARGS")
            .env_remove("TF_WORKSPACE")
            .env_remove("TF_DATA_DIR")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Everything terraform printed so far in this workspace (stdout and stderr of every
    /// command).
    pub fn transcript(&self) -> String {
        self.transcript
            .lock()
            .map(|transcript| transcript.clone())
            .unwrap_or_default()
    }

    #[track_caller]
    fn run_unrecorded_ok(&self, args: &[&str]) -> TerraformOutput {
        self.succeeded(args, self.run_unrecorded(args))
    }

    /// Runs a command that must succeed; panics with terraform's output otherwise.
    #[track_caller]
    pub fn run_ok(&self, args: &[&str]) -> TerraformOutput {
        self.succeeded(args, self.run(args))
    }

    /// `output` of `terraform {args}`, which must have succeeded.
    #[track_caller]
    fn succeeded(&self, args: &[&str], output: TerraformOutput) -> TerraformOutput {
        assert!(
            output.success(),
            "`terraform {}` failed in {}:\n{output}",
            args.join(" "),
            self.path().display()
        );
        output
    }

    /// `terraform apply -auto-approve`, which must succeed.
    #[track_caller]
    pub fn apply(&self) -> TerraformOutput {
        self.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform apply -auto-approve`, success or not.
    pub fn try_apply(&self) -> TerraformOutput {
        self.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform plan -detailed-exitcode`: 0 = no changes, 2 = changes, 1 = error.
    pub fn plan_detailed_exitcode(&self) -> (i32, String) {
        let output = self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        let combined = output.combined();
        (output.status, combined)
    }

    /// `terraform plan`, which must succeed; returns its output.
    #[track_caller]
    pub fn plan(&self) -> String {
        self.run_ok(&["plan", "-input=false", "-no-color"]).stdout
    }

    /// `terraform destroy -auto-approve`, which must succeed.
    #[track_caller]
    pub fn destroy(&self) -> TerraformOutput {
        self.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform import <address> <id>`, which must succeed.
    #[track_caller]
    pub fn import(&self, address: &str, id: &str) -> TerraformOutput {
        self.run_ok(&["import", "-input=false", "-no-color", address, id])
    }

    /// `terraform validate -json`, success or not, with its parsed JSON report.
    pub fn validate(&self) -> (TerraformOutput, serde_json::Value) {
        let output = self.run(&["validate", "-json", "-no-color"]);
        let report = parse_json(&output.stdout, "terraform validate -json", &output);
        (output, report)
    }

    /// The parsed `terraform show -json` (state of the workspace).
    #[track_caller]
    pub fn show_json(&self) -> serde_json::Value {
        let output = self.run_unrecorded_ok(&["show", "-json", "-no-color"]);
        parse_json(&output.stdout, "terraform show -json", &output)
    }

    /// The `values` object of the managed resource at `address` in the state, if present.
    #[track_caller]
    pub fn state_show_json(&self, address: &str) -> Option<serde_json::Value> {
        self.state_resource(address)
            .map(|resource| resource["values"].clone())
    }

    /// The whole state entry (`address`, `values`, `sensitive_values`, `tainted`, ...) of the
    /// resource at `address`.
    #[track_caller]
    pub fn state_resource(&self, address: &str) -> Option<serde_json::Value> {
        let state = self.show_json();
        state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|resources| {
                resources
                    .iter()
                    .find(|resource| resource["address"] == address)
                    .cloned()
            })
    }

    /// The parsed `terraform output -json`.
    #[track_caller]
    pub fn output_json(&self) -> serde_json::Value {
        let output = self.run_unrecorded_ok(&["output", "-json", "-no-color"]);
        parse_json(&output.stdout, "terraform output -json", &output)
    }

    /// The parsed `terraform providers schema -json`.
    #[track_caller]
    pub fn providers_schema_json(&self) -> serde_json::Value {
        let output = self.run_ok(&["providers", "schema", "-json"]);
        parse_json(&output.stdout, "terraform providers schema -json", &output)
    }

    /// The raw text of `terraform.tfstate` (empty if there is none yet).
    pub fn state_file_text(&self) -> String {
        std::fs::read_to_string(self.path().join("terraform.tfstate")).unwrap_or_default()
    }
}

#[track_caller]
fn parse_json(text: &str, what: &str, output: &TerraformOutput) -> serde_json::Value {
    serde_json::from_str(text)
        .unwrap_or_else(|error| panic!("{what} did not print JSON ({error}):\n{output}"))
}

fn run_with_timeout(mut command: Command, args: &[&str]) -> TerraformOutput {
    let mut child = command.spawn().unwrap_or_else(|error| {
        panic!(
            "cannot start `terraform {}` (is terraform on PATH?): {error}",
            args.join(" ")
        )
    });
    let stdout = child.stdout.take().map(read_in_background);
    let stderr = child.stderr.take().map(read_in_background);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code().unwrap_or(-1),
            Ok(None) if started.elapsed() > COMMAND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break -1;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("waiting for `terraform {}` failed: {error}", args.join(" ")),
        }
    };
    let collect = |handle: Option<std::thread::JoinHandle<String>>| {
        handle
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default()
    };
    let mut stderr_text = collect(stderr);
    if status == -1 && started.elapsed() > COMMAND_TIMEOUT {
        stderr_text.push_str(&format!(
            "\n[harness] killed after {}s",
            COMMAND_TIMEOUT.as_secs()
        ));
    }
    TerraformOutput {
        status,
        stdout: collect(stdout),
        stderr: stderr_text,
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
