//! Metric (h): the stripped release binary and the registry zip `cargo xtask dist` makes of it.

use std::path::Path;
use std::process::Command;

use super::{Row, progress};

/// Sizes of the shipping binary (release profile: stripped, thin LTO) and of its release zip.
pub fn measure(repository: &Path, shipping: &Path, scratch: &Path) -> Vec<Row> {
    progress("(h) binary and zip size");
    let mut rows = Vec::new();
    match std::fs::metadata(shipping) {
        Ok(metadata) => {
            let mb = metadata.len() as f64 / 1e6;
            rows.push(Row::target(
                "h1",
                "stripped release binary (linux x86_64, no test features)",
                format!("{mb:.2} MB"),
                "≤ 15 MB",
                mb <= 15.0,
            ));
        }
        Err(error) => rows.push(Row::not_measured(
            "h1",
            "stripped release binary",
            format!("{}: {error}", shipping.display()),
        )),
    }
    match release_zip_size(repository, shipping, &scratch.join("dist")) {
        Ok(bytes) => {
            let mb = bytes as f64 / 1e6;
            rows.push(Row::target(
                "h2",
                "release zip (`cargo xtask dist --binary`, linux_amd64)",
                format!("{mb:.2} MB"),
                "≤ 6 MB",
                mb <= 6.0,
            ));
        }
        Err(why) => rows.push(Row::not_measured("h2", "release zip", why)),
    }
    rows
}

fn release_zip_size(repository: &Path, binary: &Path, out: &Path) -> Result<u64, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["xtask", "dist", "--platform", "linux_amd64", "--binary"])
        .arg(binary)
        .arg("--out")
        .arg(out)
        .current_dir(repository)
        .output()
        .map_err(|error| format!("cannot run cargo xtask dist: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo xtask dist failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let zip = std::fs::read_dir(out)
        .map_err(|error| error.to_string())?
        .filter_map(Result::ok)
        .find(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .ends_with("_linux_amd64.zip")
        })
        .ok_or("cargo xtask dist wrote no linux_amd64 zip")?;
    zip.metadata()
        .map(|metadata| metadata.len())
        .map_err(|error| error.to_string())
}
