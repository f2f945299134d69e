//! Runs the real `terraform` for the benchmarks, under GNU time, and collects the CPU time and
//! peak RSS of Terraform and of every provider process it started (through the wrapper of
//! [`super::build::timed_wrapper`]).
//!
//! The test harness (`vnetpeer_harness::terraform`) is not used here: it cannot time the terraform process
//! and always logs at trace level, which would dominate the CPU being measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vnetpeer_harness::terraform::PROVIDER_SOURCE;

/// CPU and memory of one process, as GNU time reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub wall_s: f64,
    pub user_s: f64,
    pub system_s: f64,
    pub max_rss_kb: u64,
}

impl Usage {
    /// User + system CPU seconds.
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.system_s
    }

    /// Parses the `%e %U %S %M` line (GNU time puts "Command exited with non-zero status" or
    /// "Command terminated by signal" before it when the process failed).
    fn parse(text: &str) -> Option<Usage> {
        let line = text.lines().rev().find(|line| !line.trim().is_empty())?;
        let mut fields = line.split_whitespace();
        let mut next = || fields.next().and_then(|field| field.parse::<f64>().ok());
        Some(Usage {
            wall_s: next()?,
            user_s: next()?,
            system_s: next()?,
            max_rss_kb: next()? as u64,
        })
    }
}

/// What one terraform command cost.
#[derive(Debug, Clone)]
pub struct Run {
    pub status: i32,
    pub wall: Duration,
    /// Terraform's own rusage; it includes its reaped descendants (the providers).
    pub terraform: Usage,
    /// One entry per provider process.
    pub providers: Vec<Usage>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Provider CPU seconds summed over processes.
    pub fn provider_cpu_s(&self) -> f64 {
        self.providers.iter().map(Usage::cpu_s).sum()
    }

    /// Largest provider peak RSS, in kB.
    pub fn provider_peak_rss_kb(&self) -> u64 {
        self.providers
            .iter()
            .map(|usage| usage.max_rss_kb)
            .max()
            .unwrap_or(0)
    }

    /// Terraform core's CPU: Terraform's rusage minus its provider children.
    pub fn core_cpu_s(&self) -> f64 {
        (self.terraform.cpu_s() - self.provider_cpu_s()).max(0.0)
    }

    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// The command's output, for error messages.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A Terraform working directory with its own CLI configuration.
#[derive(Debug)]
pub struct Workspace {
    dir: PathBuf,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
}

impl Workspace {
    /// A fresh directory `root/name`; when `overrides` is given, `vnetpeer/vnetpeer` resolves to
    /// the provider in that directory (dev_overrides, no `terraform init`).
    pub fn new(root: &Path, name: &str, overrides: Option<&Path>) -> Result<Workspace, String> {
        let dir = root.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        let cli_config = dir.join("terraformrc");
        let mut config = String::new();
        if let Some(overrides) = overrides {
            let escaped = overrides
                .display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            config.push_str(&format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{escaped}\"\n  }}\n  direct {{}}\n}}\n"
            ));
        }
        config.push_str("disable_checkpoint = true\n");
        std::fs::write(&cli_config, config)
            .map_err(|error| format!("{}: {error}", cli_config.display()))?;
        Ok(Workspace {
            dir,
            cli_config,
            env: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Sets an environment variable for every later command (and its providers).
    pub fn set_env(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(existing, _)| existing != key);
        self.env.push((key.to_owned(), value.into()));
    }

    /// Writes a file into the directory.
    pub fn write(&self, name: &str, text: &str) -> Result<(), String> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).map_err(|error| format!("{}: {error}", path.display()))
    }

    /// Runs `terraform <args>` under GNU time and collects the usage of every process.
    pub fn run(&self, args: &[&str]) -> Result<Run, String> {
        let times = tempfile::Builder::new()
            .prefix("times-")
            .tempdir_in(&self.dir)
            .map_err(|error| format!("cannot create a time directory: {error}"))?;
        let terraform_time = times.path().join("terraform");
        let mut command = Command::new("/usr/bin/time");
        command
            .args(["-f", "%e %U %S %M", "-o"])
            .arg(&terraform_time)
            .arg("terraform")
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("VNETPEER_BENCH_TIME_DIR", times.path())
            .env_remove("TF_CLI_ARGS")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_DATA_DIR")
            .env_remove("TF_WORKSPACE")
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null());
        let started = Instant::now();
        let output = command
            .output()
            .map_err(|error| format!("cannot run terraform under /usr/bin/time: {error}"))?;
        let wall = started.elapsed();
        let terraform = std::fs::read_to_string(&terraform_time)
            .ok()
            .and_then(|text| Usage::parse(&text))
            .ok_or_else(|| format!("GNU time wrote no usage for `terraform {}`", args.join(" ")))?;
        let mut providers = Vec::new();
        for entry in std::fs::read_dir(times.path()).map_err(|error| error.to_string())? {
            let entry = entry.map_err(|error| error.to_string())?;
            if entry.file_name().to_string_lossy().starts_with("provider.")
                && let Some(usage) = std::fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|text| Usage::parse(&text))
            {
                providers.push(usage);
            }
        }
        Ok(Run {
            status: output.status.code().unwrap_or(-1),
            wall,
            terraform,
            providers,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs a command that must succeed.
    pub fn run_ok(&self, args: &[&str]) -> Result<Run, String> {
        let run = self.run(args)?;
        if run.success() {
            Ok(run)
        } else {
            Err(format!(
                "`terraform {}` failed in {} (exit {}):\n{}",
                args.join(" "),
                self.dir.display(),
                run.status,
                tail(&run.output(), 60)
            ))
        }
    }
}

/// The last `lines` lines of a text.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub use vnetpeer_harness::terraform::PROVIDER_HEADER;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_time_lines_parse_even_after_a_failure_note() {
        let usage = Usage::parse("Command exited with non-zero status 1\n0.52 0.30 0.05 61234\n")
            .expect("usage");
        assert_eq!(usage.max_rss_kb, 61234);
        assert!((usage.cpu_s() - 0.35).abs() < 1e-9);
        assert_eq!(Usage::parse(""), None);
    }
}
