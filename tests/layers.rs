//! The layer rule of ARCHITECTURE.md, checked: every module of `src/` may use only the modules
//! its row of the "Dependency rule" table lists, and only `plugin` touches protobuf or gRPC
//! types. The table in ARCHITECTURE.md is the one statement of the rule; this test reads it, so
//! changing the rule means changing the document.
//!
//! What counts as a use: every `crate::<module>` path in code (not comments) of the module's
//! files, and `vnetpeer::<module>` in `src/main.rs`. Test code (`#[cfg(test)]` items and
//! `tests.rs` / `*_tests.rs` files) is exempt: tests may wire layers together.

// A test binary: its helpers may fail loudly (clippy exempts only `#[test]` functions).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Tokens that only the protocol layer may name.
const PROTOCOL_ONLY: [&str; 4] = ["tonic::", "prost::", "tfplugin6", "proto::"];
const PROTOCOL_LAYER: &str = "plugin";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table under "Dependency rule" in ARCHITECTURE.md: module → modules it may use.
fn allowed_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md is readable");
    let section = text
        .split_once("Dependency rule")
        .expect("ARCHITECTURE.md has a 'Dependency rule' section")
        .1;
    let backticked = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut table = BTreeMap::new();
    for line in section.lines().skip_while(|line| !line.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').collect();
        if cells.len() < 4 || !cells[1].contains('`') {
            continue; // header and separator rows
        }
        for module in backticked(cells[1]) {
            table.insert(module, backticked(cells[2]));
        }
    }
    assert!(
        table.len() >= 8,
        "the Dependency rule table of ARCHITECTURE.md was not found or is incomplete: {table:?}"
    );
    table
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to: `src/azure/arm.rs` → `azure`, `src/provider.rs` → `provider`.
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .expect("a path under src/")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// The code lines of `source` outside `#[cfg(test)]` items, without comments.
fn production_lines(source: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut skipping_item = false;
    let mut depth: i64 = 0;
    let mut saw_brace = false;
    for (index, raw) in source.lines().enumerate() {
        let line = raw.trim();
        if line == "#[cfg(test)]" {
            skipping_item = true;
            depth = 0;
            saw_brace = false;
            continue;
        }
        if skipping_item {
            if line.starts_with("#[") {
                continue;
            }
            let opens = line.matches('{').count() as i64;
            let closes = line.matches('}').count() as i64;
            depth += opens - closes;
            saw_brace |= opens > 0;
            if (saw_brace && depth <= 0) || (!saw_brace && line.ends_with(';')) {
                skipping_item = false;
            }
            continue;
        }
        if line.starts_with("//") {
            continue;
        }
        let code = line.split(" //").next().unwrap_or(line);
        lines.push((index + 1, code.to_owned()));
    }
    lines
}

/// The first path segments after each `prefix` in `line` (`crate::azure::ids` → `azure`).
fn used_modules(line: &str, prefix: &str) -> Vec<String> {
    line.match_indices(prefix)
        .filter(|(at, _)| {
            // `crate::` as a whole word, not `mycrate::`.
            line[..*at]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
        .map(|(at, _)| {
            line[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .filter(|name: &String| !name.is_empty())
        .collect()
}

#[test]
fn every_module_uses_only_what_the_dependency_rule_allows() {
    let allowed = allowed_dependencies();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    for path in files {
        let relative = path.strip_prefix(&src).expect("under src/").to_path_buf();
        if is_test_file(&relative) || relative == Path::new("lib.rs") {
            continue;
        }
        let module = module_of(&relative);
        let Some(may_use) = allowed.get(&module) else {
            violations.push(format!(
                "src/{}: module `{module}` has no row in the Dependency rule table of \
                 ARCHITECTURE.md",
                relative.display()
            ));
            continue;
        };
        let prefix = if module == "main" {
            "vnetpeer::"
        } else {
            "crate::"
        };
        let source = std::fs::read_to_string(&path).expect("source is readable");
        for (number, line) in production_lines(&source) {
            for used in used_modules(&line, prefix) {
                if used != module && !may_use.contains(&used) {
                    violations.push(format!(
                        "src/{}:{number}: `{module}` uses `{used}` ({line})",
                        relative.display()
                    ));
                }
            }
            if module != PROTOCOL_LAYER {
                for token in PROTOCOL_ONLY {
                    if line.contains(token) {
                        violations.push(format!(
                            "src/{}:{number}: only `{PROTOCOL_LAYER}` may use protobuf or gRPC \
                             types ({line})",
                            relative.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer rule broken (see 'Dependency rule' in ARCHITECTURE.md):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_uses_and_skips_tests_and_comments() {
    let source = "use crate::value::Value;\n\
                  // crate::plugin in a comment\n\
                  fn f() { crate::azure::ids::parse_uuid(\"x\"); }\n\
                  #[cfg(test)]\n\
                  mod tests {\n    use crate::resources::VnetpeerProvider;\n}\n\
                  use crate::framework::Schema;\n";
    let used: Vec<String> = production_lines(source)
        .iter()
        .flat_map(|(_, line)| used_modules(line, "crate::"))
        .collect();
    assert_eq!(used, ["value", "azure", "framework"]);
    assert!(used_modules("use mycrate::x;", "crate::").is_empty());
}

/// ARCHITECTURE.md is the codemap a new engineer follows: every source file of `src/` is named in
/// it (by its file name; a resource or function file by its type or function name, which the
/// codemap lists), so a file added without a line there fails here.
#[test]
fn every_source_file_is_named_in_the_codemap() {
    let codemap = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md is readable");
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut unnamed = Vec::new();
    for path in files {
        let relative = path.strip_prefix(&src).expect("under src/");
        let file_name = relative
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if file_name == "mod.rs" || is_test_file(relative) {
            continue;
        }
        let stem = file_name.trim_end_matches(".rs");
        let named_by_item = matches!(
            relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str()),
            Some("resources" | "functions")
        ) && codemap.contains(stem);
        if !codemap.contains(file_name) && !named_by_item {
            unnamed.push(relative.display().to_string());
        }
    }
    assert!(
        unnamed.is_empty(),
        "source files ARCHITECTURE.md does not name (add a line to its codemap): {unnamed:?}"
    );
}
