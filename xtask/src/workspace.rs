//! Where things are (repository root, cargo's target directory) and how to run a child process
//! so that the person watching sees what runs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// Name of the provider binary and of its cargo package.
pub const PROVIDER_PACKAGE: &str = "terraform-provider-vnetpeer";

/// The cargo feature that registers test-only resource types; the test command enables it in
/// every cargo invocation so that one set of artifacts serves the build and the tests.
pub const TEST_FEATURES: &str = "terraform-provider-vnetpeer/test-fixtures";

/// The repository root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// A `cargo` command for the same toolchain that runs the xtask, started in the repository root.
pub fn cargo() -> Command {
    // `cargo run` sets CARGO to the cargo that started us; prefer it over whatever PATH holds.
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

/// Cargo's target directory, as cargo itself resolves it (honours `CARGO_TARGET_DIR` and
/// `build.target-dir`).
pub fn target_dir() -> Result<PathBuf> {
    match metadata()?
        .get("target_directory")
        .and_then(|dir| dir.as_str())
    {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Err("`cargo metadata` did not name a target_directory".into()),
    }
}

/// The version of the provider package, as cargo resolves it (including workspace inheritance).
pub fn provider_version() -> Result<String> {
    let metadata = metadata()?;
    let packages = metadata
        .get("packages")
        .and_then(|packages| packages.as_array());
    packages
        .into_iter()
        .flatten()
        .find(|package| {
            package.get("name").and_then(|name| name.as_str()) == Some(PROVIDER_PACKAGE)
        })
        .and_then(|package| package.get("version").and_then(|version| version.as_str()))
        .map(str::to_string)
        .ok_or_else(|| {
            format!("`cargo metadata` lists no {PROVIDER_PACKAGE} package with a version").into()
        })
}

/// `cargo metadata` for the workspace's own packages.
fn metadata() -> Result<serde_json::Value> {
    let mut command = cargo();
    command.args(["metadata", "--format-version", "1", "--no-deps"]);
    let output = command
        .output()
        .map_err(|error| format!("cannot run `cargo metadata`: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("`cargo metadata` printed invalid JSON: {error}").into())
}

/// Runs `command` with inherited stdio after printing it, and fails when it does not succeed.
pub fn run_step(description: &str, command: &mut Command) -> Result<()> {
    eprintln!("==> {description}: {}", display_command(command));
    let status = command.status().map_err(|error| {
        format!(
            "{description}: cannot start {:?}: {error}",
            command.get_program()
        )
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed ({status})").into())
    }
}

/// The command as a person would type it, environment assignments first.
pub fn display_command(command: &Command) -> String {
    let mut words: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| {
            Some(format!(
                "{}={}",
                key.to_string_lossy(),
                value?.to_string_lossy()
            ))
        })
        .collect();
    words.push(shell_word(command.get_program()));
    words.extend(command.get_args().map(shell_word));
    words.join(" ")
}

fn shell_word(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_command_quotes_only_what_needs_quoting() {
        let mut command = Command::new("cargo");
        command
            .args(["test", "--features", TEST_FEATURES, "a b"])
            .env(
                "VNETPEER_PROVIDER_BIN",
                "/t/debug/terraform-provider-vnetpeer",
            );
        assert_eq!(
            display_command(&command),
            "VNETPEER_PROVIDER_BIN=/t/debug/terraform-provider-vnetpeer cargo test --features \
             terraform-provider-vnetpeer/test-fixtures 'a b'"
        );
    }

    #[test]
    fn root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
