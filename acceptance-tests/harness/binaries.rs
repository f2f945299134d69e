//! Where the binaries under test are. `cargo xtask test` builds them once per test run and
//! passes their paths in the environment; a plain `cargo test` falls back to `target/debug`.

use std::path::PathBuf;

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
