//! `cargo xtask docs [--check]`: the registry docs under `docs/`, rendered like tfplugindocs
//! renders them (docs/development/style.md, 'tfplugindocs output format (what the Registry
//! renders)') from the provider schema that Terraform itself reads from the binary, plus
//! `examples/` and `templates/`.
//!
//! `docs/` is generated, except `docs/development/` (the maintainers' notes, written by hand and
//! not registry documentation): `--check` reports every generated file that differs, is missing,
//! or should not be there, and a plain run rewrites the directory to match, leaving
//! `docs/development/` alone.

mod pages;
mod plain;
mod schema;
mod schema_md;
mod template;
mod terraform;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use pages::{TEST_ONLY_TYPE_PREFIX, render_all, short_name};
pub use schema::ProviderSchema;
pub use terraform::{PROVIDER_ADDRESS, provider_schema_json};

use crate::workspace::{self, PROVIDER_PACKAGE, TEST_FEATURES};
use crate::{Result, workspace::root};

/// Options of `cargo xtask docs`.
#[derive(Debug, Default)]
pub struct DocsOptions {
    /// Only compare; fail naming the stale files.
    pub check: bool,
    /// A provider binary to read the schema from; without it the task builds one.
    pub provider_binary: Option<PathBuf>,
}

/// Renders the docs and writes or checks `docs/`.
pub fn run(options: &DocsOptions) -> Result<()> {
    let provider_binary = match &options.provider_binary {
        Some(binary) => binary.clone(),
        None => build_provider()?,
    };
    let root = root();
    let document = provider_schema_json(&provider_binary, &root)?;
    let schema = ProviderSchema::from_terraform_json(&document, PROVIDER_ADDRESS)?;
    let pages = render_all(&schema, &root)?;
    check_registry_limits(&pages)?;
    let docs_dir = root.join("docs");
    if options.check {
        let stale = stale_files(&docs_dir, &pages)?;
        if stale.is_empty() {
            eprintln!("docs/ is up to date ({} pages)", pages.len());
            Ok(())
        } else {
            Err(format!(
                "docs/ is stale; run `cargo xtask docs` and commit the result. Files that differ:\n    {}",
                stale.join("\n    ")
            )
            .into())
        }
    } else {
        write_pages(&docs_dir, &pages)?;
        eprintln!("wrote {} pages to docs/", pages.len());
        Ok(())
    }
}

/// Builds the provider for its schema. The test fixtures are enabled (and left out of the docs)
/// so that the binary cargo leaves in `target/debug` still serves the acceptance tests.
fn build_provider() -> Result<PathBuf> {
    let mut build = workspace::cargo();
    build.args([
        "build",
        "--package",
        PROVIDER_PACKAGE,
        "--bin",
        PROVIDER_PACKAGE,
        "--features",
        TEST_FEATURES,
    ]);
    workspace::run_step("build the provider", &mut build)?;
    Ok(workspace::target_dir()?.join("debug").join(format!(
        "{PROVIDER_PACKAGE}{}",
        std::env::consts::EXE_SUFFIX
    )))
}

/// The Terraform Registry publishes at most 1000 docs per version, each at most 500 KB, and only
/// markdown files (docs/development/style.md, 'tfplugindocs output format (what the Registry
/// renders)').
fn check_registry_limits(pages: &BTreeMap<PathBuf, String>) -> Result<()> {
    const MAX_PAGES: usize = 1000;
    const MAX_PAGE_BYTES: usize = 500 * 1000;
    if pages.len() > MAX_PAGES {
        return Err(format!(
            "{} pages: the registry accepts at most {MAX_PAGES}",
            pages.len()
        )
        .into());
    }
    for (path, content) in pages {
        if content.len() > MAX_PAGE_BYTES {
            return Err(format!(
                "docs/{} is {} bytes: the registry accepts at most {MAX_PAGE_BYTES}",
                path.display(),
                content.len()
            )
            .into());
        }
        if path.extension().is_none_or(|extension| extension != "md") {
            return Err(format!(
                "docs/{}: the registry publishes only .md files",
                path.display()
            )
            .into());
        }
    }
    Ok(())
}

/// The folder under `docs/` that holds the maintainers' notes, written by hand.
const HAND_WRITTEN_DIR: &str = "development";

/// The files under `docs/` (relative to it) that the task owns: all but `docs/development/`.
fn generated_area_files(docs_dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(pages::list_files(docs_dir)?
        .into_iter()
        .map(|path| path.strip_prefix(docs_dir).unwrap_or(&path).to_path_buf())
        .filter(|relative| !relative.starts_with(HAND_WRITTEN_DIR))
        .collect())
}

/// Paths (relative to the repository root) whose content differs from `pages`.
fn stale_files(docs_dir: &Path, pages: &BTreeMap<PathBuf, String>) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for (relative, content) in pages {
        let path = docs_dir.join(relative);
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == *content => {}
            Ok(_) => stale.push(format!("docs/{} (differs)", relative.display())),
            Err(_) => stale.push(format!("docs/{} (missing)", relative.display())),
        }
    }
    for relative in generated_area_files(docs_dir)? {
        if !pages.contains_key(&relative) {
            stale.push(format!(
                "docs/{} (not generated; remove it)",
                relative.display()
            ));
        }
    }
    Ok(stale)
}

fn write_pages(docs_dir: &Path, pages: &BTreeMap<PathBuf, String>) -> Result<()> {
    for relative in generated_area_files(docs_dir)? {
        if !pages.contains_key(&relative) {
            let path = docs_dir.join(&relative);
            std::fs::remove_file(&path)
                .map_err(|error| format!("cannot remove {}: {error}", path.display()))?;
        }
    }
    for (relative, content) in pages {
        let path = docs_dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            std::fs::write(&path, content)
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        }
    }
    Ok(())
}
