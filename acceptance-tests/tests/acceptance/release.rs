//! The release path a registry user takes: the provider packaged into the registry's zip layout
//! (`xtask::dist::package`, what `cargo xtask dist` runs after its release build), installed by
//! `terraform init` from a `filesystem_mirror` with no network
//! (docs/development/plugin-obligations.md, N3), then planned.
//!
//! The packaged binary is a stripped copy of the debug build under test (the release profile
//! strips too), so the test costs seconds, not a release build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vnetpeer_harness::binaries::{provider_binary, workspace_root};
use xtask::dist::{PackageRequest, Platform, package, sha256_hex};

const VERSION: &str = "1.2.3";
const PROVIDER_ADDRESS: &str = "registry.terraform.io/vnetpeer/vnetpeer";

/// This machine's platform in registry spelling (`linux_amd64`).
fn host_platform() -> Platform {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => panic!("no registry platform for architecture {other}"),
    };
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    Platform::parse(&format!("{os}_{arch}")).expect("host platform")
}

fn terraform(work_dir: &Path, cli_config: &Path, args: &[&str]) -> Output {
    let output = vnetpeer_harness::binaries::terraform_command()
        .args(args)
        .arg("-no-color")
        .current_dir(work_dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        // A user's plugin cache would let init succeed without our mirror.
        .env_remove("TF_PLUGIN_CACHE_DIR")
        .env_remove("TF_LOG")
        .output()
        .expect("terraform is on PATH");
    assert!(
        output.status.success(),
        "terraform {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A stripped copy of the provider under test: a tenth of the debug binary's size, so packaging
/// (unoptimised deflate in a test build) stays quick.
fn stripped_provider(dir: &Path) -> PathBuf {
    let copy = dir.join("terraform-provider-vnetpeer");
    std::fs::copy(provider_binary(), &copy).expect("copy the provider binary");
    let status = Command::new("strip")
        .arg(&copy)
        .status()
        .expect("strip (binutils) is installed");
    assert!(status.success(), "strip failed");
    copy
}

/// Packages the provider under test as release `VERSION` into `<scratch>/dist`.
fn package_release(scratch: &Path) -> xtask::dist::Release {
    let binaries = [(host_platform(), stripped_provider(scratch))];
    let out_dir = scratch.join("dist");
    package(&PackageRequest {
        version: VERSION,
        out_dir: &out_dir,
        binaries: &binaries,
        manifest: &workspace_root().join("terraform-registry-manifest.json"),
        gpg_key: None,
        gpg_homedir: None,
    })
    .expect("packaging succeeds")
}

#[test]
fn release_assets_follow_the_registry_layout() {
    let scratch = tempfile::tempdir().unwrap();
    let release = package_release(scratch.path());
    let dist = scratch.path().join("dist");
    let platform = host_platform();

    let zip_name = format!("terraform-provider-vnetpeer_{VERSION}_{platform}.zip");
    let manifest_name = format!("terraform-provider-vnetpeer_{VERSION}_manifest.json");
    assert_eq!(release.zips, [dist.join(&zip_name)]);
    assert_eq!(release.manifest, dist.join(&manifest_name));
    assert_eq!(
        release.sha256sums,
        dist.join(format!("terraform-provider-vnetpeer_{VERSION}_SHA256SUMS"))
    );

    // One executable, named like a registry provider, byte for byte the binary we packaged.
    let listing = Command::new("unzip")
        .arg("-Z1")
        .arg(&release.zips[0])
        .output()
        .expect("unzip");
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout).trim(),
        format!("terraform-provider-vnetpeer_v{VERSION}")
    );
    let extracted = Command::new("unzip")
        .arg("-p")
        .arg(&release.zips[0])
        .output()
        .expect("unzip");
    let packaged = std::fs::read(scratch.path().join("terraform-provider-vnetpeer")).unwrap();
    assert!(
        extracted.stdout == packaged,
        "the zipped binary differs from the packaged one"
    );

    // The manifest declares protocol 6 and is covered by SHA256SUMS, like every zip.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&release.manifest).unwrap()).unwrap();
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let sums = std::fs::read_to_string(&release.sha256sums).unwrap();
    let expected_sums: String = [&zip_name, &manifest_name]
        .iter()
        .map(|name| {
            format!(
                "{}  {name}\n",
                sha256_hex(&std::fs::read(dist.join(name)).unwrap())
            )
        })
        .collect();
    assert_eq!(sums, expected_sums);

    // `sha256sum -c` is how people verify a download.
    let verified = Command::new("sha256sum")
        .arg("-c")
        .arg(&release.sha256sums)
        .current_dir(&dist)
        .output()
        .expect("sha256sum");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn signing_makes_a_binary_detached_signature_gpg_verifies() {
    let scratch = tempfile::tempdir().unwrap();
    let gnupg_home = scratch.path().join("gnupg");
    std::fs::create_dir(&gnupg_home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg_home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // The registries accept RSA keys (not the default ECC type).
    let key_user = "vnetpeer release test <release-test@example.invalid>";
    let generated = Command::new("gpg")
        .env("GNUPGHOME", &gnupg_home)
        .args([
            "--batch",
            "--passphrase",
            "",
            "--quick-generate-key",
            key_user,
            "rsa2048",
            "sign",
            "1d",
        ])
        .output()
        .expect("gpg is installed");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );

    // Signing covers SHA256SUMS only, so any small file stands in for the provider here.
    let binary = scratch.path().join("terraform-provider-vnetpeer");
    std::fs::write(&binary, b"#!/bin/sh\n").unwrap();
    let out_dir = scratch.path().join("dist");
    let binaries = [(host_platform(), binary)];
    let release = package(&PackageRequest {
        version: VERSION,
        out_dir: &out_dir,
        binaries: &binaries,
        manifest: &workspace_root().join("terraform-registry-manifest.json"),
        gpg_key: Some(key_user),
        gpg_homedir: Some(&gnupg_home),
    })
    .expect("packaging with a key succeeds");

    let signature = release.signature.expect("a signature");
    assert_eq!(
        signature,
        out_dir.join(format!(
            "terraform-provider-vnetpeer_{VERSION}_SHA256SUMS.sig"
        ))
    );
    let bytes = std::fs::read(&signature).unwrap();
    assert!(
        !bytes.starts_with(b"-----BEGIN"),
        "the registries want a binary signature, not an armoured one"
    );
    let verified = Command::new("gpg")
        .env("GNUPGHOME", &gnupg_home)
        .args(["--batch", "--verify"])
        .arg(&signature)
        .arg(&release.sha256sums)
        .output()
        .expect("gpg");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn terraform_init_installs_the_host_zip_from_a_filesystem_mirror_and_plans_offline() {
    let scratch = tempfile::tempdir().unwrap();
    let release = package_release(scratch.path());

    // The packed mirror layout: <mirror>/<host>/<namespace>/<type>/<zip named as released>.
    let mirror = scratch.path().join("mirror");
    let package_dir = mirror.join(PROVIDER_ADDRESS);
    std::fs::create_dir_all(&package_dir).unwrap();
    let zip_name = release.zips[0].file_name().unwrap();
    std::fs::copy(&release.zips[0], package_dir.join(zip_name)).unwrap();

    let cli_config = scratch.path().join("terraform.rc");
    std::fs::write(
        &cli_config,
        format!(
            r#"provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/vnetpeer/*"]
  }}
  direct {{
    exclude = ["registry.terraform.io/vnetpeer/*"]
  }}
}}
disable_checkpoint = true
"#,
            mirror = mirror.display()
        ),
    )
    .unwrap();

    let work_dir = scratch.path().join("work");
    std::fs::create_dir(&work_dir).unwrap();
    std::fs::write(
        work_dir.join("main.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    vnetpeer = {{
      source  = "vnetpeer/vnetpeer"
      version = "{VERSION}"
    }}
  }}
}}

provider "vnetpeer" {{}}

# Registered by test builds only; planning it configures the installed provider and plans
# without any cloud.
resource "vnetpeer_test_fixture" "probe" {{
  name = "installed-from-a-mirror"
}}
"#
        ),
    )
    .unwrap();

    let init = terraform(&work_dir, &cli_config, &["init", "-input=false"]);
    let init_text = String::from_utf8_lossy(&init.stdout);
    assert!(
        init_text.contains(&format!("Installed vnetpeer/vnetpeer v{VERSION}")),
        "{init_text}"
    );

    // The lock file pins the version and the package hash, as for a registry install.
    let lock = std::fs::read_to_string(work_dir.join(".terraform.lock.hcl")).unwrap();
    assert!(
        lock.contains(&format!("provider \"{PROVIDER_ADDRESS}\"")),
        "{lock}"
    );
    assert!(
        lock.contains(&format!("version     = \"{VERSION}\"")),
        "{lock}"
    );
    assert!(lock.contains("\"h1:"), "{lock}");

    // The installed binary is the packaged one, unpacked under .terraform/providers.
    let installed: PathBuf = work_dir
        .join(".terraform/providers")
        .join(PROVIDER_ADDRESS)
        .join(VERSION)
        .join(host_platform().to_string())
        .join(format!("terraform-provider-vnetpeer_v{VERSION}"));
    assert!(installed.is_file(), "{} is missing", installed.display());

    // It runs: Terraform reads its schema, configures it and plans a resource, without network.
    let schema = terraform(&work_dir, &cli_config, &["providers", "schema", "-json"]);
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    assert!(
        schema["provider_schemas"][PROVIDER_ADDRESS]["provider"]["block"].is_object(),
        "{schema}"
    );
    let plan = terraform(&work_dir, &cli_config, &["plan", "-input=false"]);
    let plan_text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan_text.contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{plan_text}"
    );
}
