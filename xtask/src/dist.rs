//! `cargo xtask dist`: the release assets the Terraform and OpenTofu registries expect
//! (docs/development/style.md, 'Registry publishing requirements (HashiCorp)' and 'OpenTofu
//! registry differences'), for every platform this machine can build:
//!
//! - `terraform-provider-vnetpeer_{VERSION}_{OS}_{ARCH}.zip`, holding the single binary
//!   `terraform-provider-vnetpeer_v{VERSION}` (`.exe` on Windows);
//! - `terraform-provider-vnetpeer_{VERSION}_manifest.json`, a copy of
//!   `terraform-registry-manifest.json` (without it the registries assume protocol 5);
//! - `terraform-provider-vnetpeer_{VERSION}_SHA256SUMS`, covering the zips **and** the manifest;
//! - `terraform-provider-vnetpeer_{VERSION}_SHA256SUMS.sig`, a binary detached GPG signature, when a
//!   key is given (the registries accept RSA and DSA keys).
//!
//! Archives are deterministic (fixed timestamps, fixed order), so the same binary always gives the
//! same checksums.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::Result;
use crate::workspace::{self, PROVIDER_PACKAGE};

/// Options of `cargo xtask dist`.
#[derive(Debug, Default)]
pub struct DistOptions {
    /// Release version without a leading `v`; defaults to the Cargo version.
    pub version: Option<String>,
    /// GPG key id (or user id) to sign `SHA256SUMS` with.
    pub gpg_key: Option<String>,
    /// Output directory; defaults to `dist/` in the repository.
    pub out_dir: Option<PathBuf>,
    /// Package this already-built binary instead of building (for tests and CI pipelines that
    /// build elsewhere).
    pub binary: Option<PathBuf>,
    /// Registry platform of `binary` (`linux_amd64`, ...); defaults to this machine's.
    pub platform: Option<String>,
}

/// A registry platform: `os` and `arch` as the registries spell them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub arch: String,
}

impl Platform {
    /// Parses `linux_amd64`.
    pub fn parse(text: &str) -> Result<Self> {
        let (os, arch) = text
            .split_once('_')
            .ok_or_else(|| format!("platform {text:?} is not of the form os_arch"))?;
        let known_os = [
            "darwin", "freebsd", "linux", "windows", "openbsd", "solaris",
        ];
        let known_arch = ["386", "amd64", "arm", "arm64"];
        if !known_os.contains(&os) || !known_arch.contains(&arch) {
            return Err(format!("platform {text:?} is not one the registries index").into());
        }
        Ok(Platform {
            os: os.to_string(),
            arch: arch.to_string(),
        })
    }

    fn executable_suffix(&self) -> &'static str {
        if self.os == "windows" { ".exe" } else { "" }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}_{}", self.os, self.arch)
    }
}

/// The platforms the registry recommends (docs/development/style.md, 'Registry publishing
/// requirements (HashiCorp)'), with their Rust targets.
const RELEASE_TARGETS: &[(&str, &str)] = &[
    ("darwin_amd64", "x86_64-apple-darwin"),
    ("darwin_arm64", "aarch64-apple-darwin"),
    ("linux_amd64", "x86_64-unknown-linux-gnu"),
    ("linux_arm64", "aarch64-unknown-linux-gnu"),
    ("linux_arm", "arm-unknown-linux-gnueabihf"),
    ("windows_amd64", "x86_64-pc-windows-gnu"),
];

/// What to package.
#[derive(Debug)]
pub struct PackageRequest<'a> {
    pub version: &'a str,
    pub out_dir: &'a Path,
    /// One binary per platform.
    pub binaries: &'a [(Platform, PathBuf)],
    /// `terraform-registry-manifest.json`.
    pub manifest: &'a Path,
    pub gpg_key: Option<&'a str>,
    /// GnuPG home holding `gpg_key`; `None` uses gpg's default (`GNUPGHOME` or `~/.gnupg`).
    pub gpg_homedir: Option<&'a Path>,
}

/// The files `package` wrote.
#[derive(Debug)]
pub struct Release {
    pub zips: Vec<PathBuf>,
    pub manifest: PathBuf,
    pub sha256sums: PathBuf,
    pub signature: Option<PathBuf>,
}

/// Builds and packages the release.
pub fn run(options: &DistOptions) -> Result<()> {
    let root = workspace::root();
    let cargo_version = cargo_version()?;
    let version = match &options.version {
        Some(version) => normalize_version(version)?,
        None => cargo_version.clone(),
    };
    if version != cargo_version {
        // The binary reports its Cargo version in its logs; a release named otherwise confuses
        // whoever reads them.
        eprintln!(
            "warning: releasing {version}, but Cargo.toml says {cargo_version}: the binary will \
             report {cargo_version}"
        );
    }
    let out_dir = options.out_dir.clone().unwrap_or_else(|| root.join("dist"));

    let host = host_target()?;
    let mut binaries = Vec::new();
    let mut skipped = Vec::new();
    if let Some(binary) = &options.binary {
        let platform = match &options.platform {
            Some(platform) => Platform::parse(platform)?,
            None => platform_of_target(&host)?,
        };
        binaries.push((platform, binary.clone()));
    } else {
        let target_dir = workspace::target_dir()?;
        for (platform_name, target) in RELEASE_TARGETS {
            let platform = Platform::parse(platform_name)?;
            if *target == host {
                binaries.push((platform, build_release(None, &target_dir)?));
                continue;
            }
            match cross_target_readiness(target) {
                Ok(()) => match build_release(Some(target), &target_dir) {
                    Ok(binary) => binaries.push((platform, binary)),
                    Err(error) => {
                        skipped.push(format!("{platform} ({target}): the build failed: {error}"))
                    }
                },
                Err(reason) => skipped.push(format!("{platform} ({target}): {reason}")),
            }
        }
        if binaries.is_empty() {
            return Err(
                format!("this machine ({host}) builds none of the release platforms").into(),
            );
        }
    }

    let release = package(&PackageRequest {
        version: &version,
        out_dir: &out_dir,
        binaries: &binaries,
        manifest: &root.join("terraform-registry-manifest.json"),
        gpg_key: options.gpg_key.as_deref(),
        gpg_homedir: None,
    })?;

    eprintln!("release {version} in {}:", out_dir.display());
    for file in release
        .zips
        .iter()
        .chain([&release.manifest, &release.sha256sums])
        .chain(release.signature.as_ref())
    {
        eprintln!(
            "  {}",
            file.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    if !skipped.is_empty() {
        eprintln!("skipped platforms (build them with GoReleaser, see .goreleaser.yml):");
        for reason in &skipped {
            eprintln!("  {reason}");
        }
    }
    if options.gpg_key.is_none() {
        eprintln!("not signed: pass --gpg-key <id> (an RSA key registered with the registry)");
    }
    Ok(())
}

/// Writes the zips, the manifest copy, `SHA256SUMS` and (with a key) its signature into
/// `out_dir`, replacing earlier assets of this provider there.
pub fn package(request: &PackageRequest<'_>) -> Result<Release> {
    let version = normalize_version(request.version)?;
    std::fs::create_dir_all(request.out_dir)
        .map_err(|error| format!("cannot create {}: {error}", request.out_dir.display()))?;
    remove_previous_assets(request.out_dir)?;

    let mut zips = Vec::new();
    for (platform, binary) in request.binaries {
        let zip_path = request
            .out_dir
            .join(format!("{PROVIDER_PACKAGE}_{version}_{platform}.zip"));
        let entry_name = format!(
            "{PROVIDER_PACKAGE}_v{version}{}",
            platform.executable_suffix()
        );
        write_zip(&zip_path, &entry_name, binary)?;
        zips.push(zip_path);
    }

    let manifest_text = std::fs::read_to_string(request.manifest)
        .map_err(|error| format!("cannot read {}: {error}", request.manifest.display()))?;
    check_manifest(&manifest_text)?;
    let manifest = request
        .out_dir
        .join(format!("{PROVIDER_PACKAGE}_{version}_manifest.json"));
    std::fs::write(&manifest, &manifest_text)?;

    let mut hashed: Vec<&PathBuf> = zips.iter().chain([&manifest]).collect();
    hashed.sort();
    let mut sums = String::new();
    for file in hashed {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        sums.push_str(&format!("{}  {name}\n", sha256_hex(&std::fs::read(file)?)));
    }
    let sha256sums = request
        .out_dir
        .join(format!("{PROVIDER_PACKAGE}_{version}_SHA256SUMS"));
    std::fs::write(&sha256sums, sums)?;

    let signature = match request.gpg_key {
        Some(key) => Some(sign(&sha256sums, key, request.gpg_homedir)?),
        None => None,
    };
    Ok(Release {
        zips,
        manifest,
        sha256sums,
        signature,
    })
}

/// Lower-case hex SHA-256, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn write_zip(zip_path: &Path, entry_name: &str, binary: &Path) -> Result<()> {
    let content = std::fs::read(binary)
        .map_err(|error| format!("cannot read {}: {error}", binary.display()))?;
    let file = std::fs::File::create(zip_path)
        .map_err(|error| format!("cannot create {}: {error}", zip_path.display()))?;
    let mut archive = zip::ZipWriter::new(file);
    // The default timestamp (1980-01-01) keeps archives identical across builds of one binary.
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    archive.start_file(entry_name, options)?;
    archive.write_all(&content)?;
    archive.finish()?;
    Ok(())
}

/// The manifest must declare protocol 6: without it both registries assume 5.0 and Terraform
/// would refuse our binary.
fn check_manifest(text: &str) -> Result<()> {
    let manifest: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| format!("terraform-registry-manifest.json: {error}"))?;
    let protocols = manifest
        .pointer("/metadata/protocol_versions")
        .and_then(serde_json::Value::as_array);
    let declares_six =
        protocols.is_some_and(|protocols| protocols.iter().any(|protocol| protocol == "6.0"));
    if manifest.get("version") != Some(&serde_json::json!(1)) || !declares_six {
        return Err("terraform-registry-manifest.json must be {\"version\":1,\"metadata\":{\"protocol_versions\":[\"6.0\"]}}".into());
    }
    Ok(())
}

fn sign(sha256sums: &Path, key: &str, homedir: Option<&Path>) -> Result<PathBuf> {
    let mut signature = sha256sums.as_os_str().to_owned();
    signature.push(".sig");
    let signature = PathBuf::from(signature);
    // Binary output (no --armor): the registries reject ASCII-armoured signatures.
    let mut command = Command::new("gpg");
    if let Some(homedir) = homedir {
        command.arg("--homedir").arg(homedir);
    }
    command
        .args(["--batch", "--yes", "--local-user", key, "--output"])
        .arg(&signature)
        .arg("--detach-sign")
        .arg(sha256sums);
    workspace::run_step("sign SHA256SUMS", &mut command)?;
    Ok(signature)
}

fn remove_previous_assets(out_dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(out_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{PROVIDER_PACKAGE}_")) && entry.path().is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Accepts `1.2.3` or `v1.2.3` (and pre-releases such as `1.2.3-rc.1`); returns it without `v`.
pub fn normalize_version(version: &str) -> Result<String> {
    let version = version.strip_prefix('v').unwrap_or(version);
    let (core, pre_release) = match version.split_once('-') {
        Some((core, pre_release)) => (core, Some(pre_release)),
        None => (version, None),
    };
    let core_ok = core.split('.').count() == 3
        && core
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    let pre_release_ok = pre_release.is_none_or(|pre_release| {
        !pre_release.is_empty()
            && pre_release
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    });
    if core_ok && pre_release_ok {
        Ok(version.to_string())
    } else {
        Err(format!("version {version:?} is not semantic (X.Y.Z or X.Y.Z-pre)").into())
    }
}

/// The provider's Cargo version: the provider version (issue 6).
fn cargo_version() -> Result<String> {
    normalize_version(&workspace::provider_version()?)
}

fn host_target() -> Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|error| format!("cannot run rustc: {error}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| "`rustc -vV` names no host".into())
}

fn platform_of_target(target: &str) -> Result<Platform> {
    RELEASE_TARGETS
        .iter()
        .find(|(_, candidate)| *candidate == target)
        .map(|(platform, _)| Platform::parse(platform))
        .unwrap_or_else(|| {
            Err(format!("no registry platform for {target}; pass --platform").into())
        })
}

/// Why a cross target cannot be built here, if it cannot.
fn cross_target_readiness(target: &str) -> Result<(), String> {
    let output = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .map_err(|error| format!("cannot run rustc: {error}"))?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let has_std = output.status.success()
        && std::fs::read_dir(&libdir).is_ok_and(|mut entries| {
            entries.any(|entry| {
                entry.is_ok_and(|entry| entry.file_name().to_string_lossy().starts_with("libstd-"))
            })
        });
    if !has_std {
        return Err(format!(
            "the Rust standard library for {target} is not installed (`rustup target add {target}`)"
        ));
    }
    Ok(())
}

fn build_release(target: Option<&str>, target_dir: &Path) -> Result<PathBuf> {
    let mut build = workspace::cargo();
    build.args([
        "build",
        "--release",
        "--package",
        PROVIDER_PACKAGE,
        "--bin",
        PROVIDER_PACKAGE,
    ]);
    let mut output_dir = target_dir.to_path_buf();
    if let Some(target) = target {
        build.args(["--target", target]);
        output_dir.push(target);
    }
    output_dir.push("release");
    workspace::run_step(
        &format!("release build for {}", target.unwrap_or("the host")),
        &mut build,
    )?;
    let suffix = if target.is_some_and(|target| target.contains("windows")) {
        ".exe"
    } else {
        ""
    };
    Ok(output_dir.join(format!("{PROVIDER_PACKAGE}{suffix}")))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn versions_are_semantic_without_v() {
        assert_eq!(normalize_version("v0.1.0").unwrap(), "0.1.0");
        assert_eq!(normalize_version("1.2.3-rc.1").unwrap(), "1.2.3-rc.1");
        for bad in ["1.2", "1.2.x", "1.2.3-", "", "1.2.3 "] {
            assert!(normalize_version(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn platforms_use_registry_names() {
        assert_eq!(
            Platform::parse("linux_amd64").unwrap().to_string(),
            "linux_amd64"
        );
        assert!(Platform::parse("linux_x86_64").is_err());
        assert!(Platform::parse("amd64").is_err());
        assert_eq!(
            platform_of_target("x86_64-unknown-linux-gnu")
                .unwrap()
                .to_string(),
            "linux_amd64"
        );
    }

    #[test]
    fn the_cargo_version_is_the_provider_version() {
        // Read the root manifest's [package] version by hand, independently of cargo metadata.
        let manifest = std::fs::read_to_string(workspace::root().join("Cargo.toml")).unwrap();
        let package_table = manifest.split("[package]").nth(1).unwrap();
        let version_line = package_table
            .lines()
            .find(|line| line.trim_start().starts_with("version"))
            .unwrap();
        let declared = version_line.split('"').nth(1).unwrap();
        assert_eq!(cargo_version().unwrap(), declared);
    }

    #[test]
    fn package_writes_the_registry_layout() {
        let scratch = tempfile::tempdir().unwrap();
        let binary = scratch.path().join("provider");
        std::fs::write(&binary, b"#!/bin/sh\necho provider\n").unwrap();
        let manifest = scratch.path().join("terraform-registry-manifest.json");
        std::fs::write(
            &manifest,
            r#"{"version":1,"metadata":{"protocol_versions":["6.0"]}}"#,
        )
        .unwrap();
        let out_dir = scratch.path().join("dist");
        std::fs::create_dir(&out_dir).unwrap();
        std::fs::write(
            out_dir.join("terraform-provider-vnetpeer_0.0.9_SHA256SUMS"),
            "old",
        )
        .unwrap();
        std::fs::write(out_dir.join("unrelated.txt"), "kept").unwrap();
        let binaries = [
            (Platform::parse("linux_amd64").unwrap(), binary.clone()),
            (Platform::parse("windows_amd64").unwrap(), binary.clone()),
        ];

        let release = package(&PackageRequest {
            version: "v1.2.3",
            out_dir: &out_dir,
            binaries: &binaries,
            manifest: &manifest,
            gpg_key: None,
            gpg_homedir: None,
        })
        .unwrap();

        let mut names: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "terraform-provider-vnetpeer_1.2.3_SHA256SUMS",
                "terraform-provider-vnetpeer_1.2.3_linux_amd64.zip",
                "terraform-provider-vnetpeer_1.2.3_manifest.json",
                "terraform-provider-vnetpeer_1.2.3_windows_amd64.zip",
                "unrelated.txt",
            ]
        );
        assert!(release.signature.is_none());

        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(&release.zips[0]).unwrap()).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "terraform-provider-vnetpeer_v1.2.3");
        assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o755));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, std::fs::read(&binary).unwrap());
        drop(entry);
        let windows = zip::ZipArchive::new(std::fs::File::open(&release.zips[1]).unwrap()).unwrap();
        let names: Vec<String> = windows
            .file_names()
            .map(|name| name.unwrap().into_owned())
            .collect();
        assert_eq!(names, ["terraform-provider-vnetpeer_v1.2.3.exe"]);

        let sums = std::fs::read_to_string(&release.sha256sums).unwrap();
        let listed: Vec<&str> = sums
            .lines()
            .map(|line| line.split_once("  ").unwrap().1)
            .collect();
        assert_eq!(
            listed,
            [
                "terraform-provider-vnetpeer_1.2.3_linux_amd64.zip",
                "terraform-provider-vnetpeer_1.2.3_manifest.json",
                "terraform-provider-vnetpeer_1.2.3_windows_amd64.zip",
            ]
        );
        for line in sums.lines() {
            let (hash, name) = line.split_once("  ").unwrap();
            assert_eq!(
                hash,
                sha256_hex(&std::fs::read(out_dir.join(name)).unwrap()),
                "{name}"
            );
        }

        // Same inputs, same bytes: checksums of a re-run do not change.
        package(&PackageRequest {
            version: "1.2.3",
            out_dir: &out_dir,
            binaries: &binaries,
            manifest: &manifest,
            gpg_key: None,
            gpg_homedir: None,
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&release.sha256sums).unwrap(), sums);
    }

    #[test]
    fn a_manifest_without_protocol_6_is_refused() {
        assert!(
            check_manifest(r#"{"version":1,"metadata":{"protocol_versions":["6.0"]}}"#).is_ok()
        );
        assert!(
            check_manifest(r#"{"version":1,"metadata":{"protocol_versions":["5.0"]}}"#).is_err()
        );
        assert!(check_manifest(r#"{"version":1}"#).is_err());
    }

    #[test]
    fn sha256_matches_the_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
