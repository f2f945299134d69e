//! `cargo xtask test`: the project's one test command (README and `.ci/run` call it).
//!
//! 1. Build every binary and every test target once, with the test fixtures enabled.
//! 2. Run the whole workspace test suite with the same features, telling the acceptance tests where
//!    the provider and sandbox binaries are (`VNETPEER_PROVIDER_BIN`, `VNETPEER_SANDBOX_BIN`).
//! 3. Check that the committed docs are what `cargo xtask docs` generates.
//!
//! Step 1 passes `--tests` as well as `--bins`: cargo unifies dev-dependency features only when a
//! test target is part of the build, so without it the binaries of step 1 would be compiled
//! against other dependency features than step 2 uses, and step 2 would compile everything again.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::workspace::{self, PROVIDER_PACKAGE, TEST_FEATURES};
use crate::{Result, docs};

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
    if let Err(error) = workspace::run_step("run the test suite", &mut test) {
        failures.push(error.to_string());
    }

    eprintln!("==> check that docs/ is up to date: cargo xtask docs --check");
    let docs_options = docs::DocsOptions {
        check: true,
        provider_binary: Some(binaries.provider.clone()),
    };
    if let Err(error) = docs::run(&docs_options) {
        failures.push(error.to_string());
    }

    if failures.is_empty() {
        eprintln!("==> cargo xtask test: all steps passed");
        Ok(())
    } else {
        Err(format!("cargo xtask test failed:\n  - {}", failures.join("\n  - ")).into())
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
