//! The provider binaries under test: the release build a user downloads (measured for size) and
//! the release build with the `test-fixtures` feature (the same code plus the network-free
//! `vnetpeer_test_fixture` floor), which every other figure runs.
//!
//! Both are built with the shared target directory and copied into the run's scratch directory,
//! because the two builds share one output path (`target/release/terraform-provider-vnetpeer`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::progress;

/// File name Terraform looks for in a `dev_overrides` directory.
pub const PROVIDER_FILE_NAME: &str = "terraform-provider-vnetpeer";

/// The binaries of one run.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Release build without test features (what a user gets).
    pub shipping: PathBuf,
    /// Release build with `test-fixtures` (used by every figure that runs the provider).
    pub with_fixtures: PathBuf,
}

/// Builds both release binaries and copies them into `scratch`.
pub fn build_release(repository: &Path, scratch: &Path) -> Result<Binaries, String> {
    let shipping = build_and_copy(repository, None, &scratch.join("shipping"))?;
    let with_fixtures =
        build_and_copy(repository, Some("test-fixtures"), &scratch.join("fixtures"))?;
    Ok(Binaries {
        shipping,
        with_fixtures,
    })
}

/// Uses an existing binary for everything (`--provider PATH`, for quick iterations).
pub fn existing(binary: &Path, scratch: &Path) -> Result<Binaries, String> {
    if !binary.is_file() {
        return Err(format!("{} is not a file", binary.display()));
    }
    let copy = copy_into(binary, &scratch.join("fixtures"))?;
    Ok(Binaries {
        shipping: copy.clone(),
        with_fixtures: copy,
    })
}

fn build_and_copy(
    repository: &Path,
    features: Option<&str>,
    into: &Path,
) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--package", PROVIDER_FILE_NAME])
        .current_dir(repository);
    if let Some(features) = features {
        command.args(["--features", features]);
    }
    progress(format!(
        "cargo build --release -p {PROVIDER_FILE_NAME}{}",
        features.map_or_else(String::new, |f| format!(" --features {f}"))
    ));
    let status = command
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!("the release build failed ({status})"));
    }
    let built = repository
        .join("target")
        .join("release")
        .join(PROVIDER_FILE_NAME);
    copy_into(&built, into)
}

fn copy_into(binary: &Path, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let copy = dir.join(PROVIDER_FILE_NAME);
    std::fs::copy(binary, &copy)
        .map_err(|error| format!("cannot copy {}: {error}", binary.display()))?;
    Ok(copy)
}

/// A `dev_overrides` directory whose `terraform-provider-vnetpeer` is a shell script that runs
/// `binary` under GNU time, writing `elapsed user system maxrss_kb` of every provider process to
/// its own file in `$VNETPEER_BENCH_TIME_DIR` (docs/development/benchmark-method.md, 'Harness', on
/// the measurement tools).
pub fn timed_wrapper(binary: &Path, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let script = dir.join(PROVIDER_FILE_NAME);
    let quoted = shell_quote(&binary.display().to_string());
    // `exec` keeps the process tree Terraform → time → provider; `$$` is then time's pid, unique
    // per provider process.
    let text = format!(
        "#!/bin/sh\nexec /usr/bin/time -f '%e %U %S %M' -o \"$VNETPEER_BENCH_TIME_DIR/provider.$$\" {quoted} \"$@\"\n"
    );
    std::fs::write(&script, text).map_err(|error| format!("{}: {error}", script.display()))?;
    set_executable(&script)?;
    Ok(dir.to_path_buf())
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn set_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|error| format!("{}: {error}", path.display()))
}

/// Whether GNU time is installed where the wrapper expects it.
pub fn gnu_time_available() -> bool {
    Command::new("/usr/bin/time")
        .args(["-f", "%e", "true"])
        .output()
        .is_ok_and(|output| output.status.success())
}
