//! The repository is self-contained: no file points at the reference documents the project was
//! started from, which a maintainer who clones it does not have. What the code relies on is in
//! `docs/development/`, cited by page and section title (or protocol item id).

use std::path::{Path, PathBuf};

use crate::workspace::root;

/// The section sign, written as an escape so that this file cites nothing itself.
const SECTION: char = '\u{a7}';

/// Directories that hold no committed text: git's own, build output, Terraform's working files.
const SKIPPED_DIRS: [&str; 3] = [".git", "target", ".terraform"];

/// The citation forms of the outside documents. Built from pieces so that this file does not
/// match itself.
fn outside_citations() -> Vec<String> {
    let mut forms = vec![
        ["api", "-facts"].concat(),
        ["../", "shared"].concat(),
        format!("design {SECTION}"),
        format!("protocol {SECTION}"),
    ];
    for name in [
        "design",
        "protocol",
        "performance",
        "conventions",
        "anchors",
    ] {
        forms.push(format!("{name}.md"));
    }
    forms
}

/// "protocol" followed by an item id of the outside protocol checklist (a letter A–O and a
/// digit), cited without a page.
fn cites_protocol_item(line: &str) -> bool {
    line.match_indices("protocol ").any(|(at, found)| {
        let mut rest = line[at + found.len()..].chars();
        matches!(
            (rest.next(), rest.next()),
            (Some('A'..='O'), Some('0'..='9'))
        )
    })
}

/// A bare section sign followed by a number: a section of some outside document. RFC section
/// numbers ("RFC 6749" followed by one) are fine.
fn cites_bare_section(line: &str) -> bool {
    line.match_indices(SECTION).any(|(at, _)| {
        let before = line[..at].trim_end();
        let after_digit = line[at + SECTION.len_utf8()..]
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit());
        let after_rfc = before.rsplit_once(' ').is_some_and(|(head, number)| {
            head.ends_with("RFC") && number.chars().all(|c| c.is_ascii_digit())
        });
        after_digit && !after_rfc
    })
}

fn text_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !SKIPPED_DIRS.iter().any(|skipped| name == *skipped) {
                text_files(&path, files);
            }
        } else {
            files.push(path);
        }
    }
}

/// `path:line: text` for every line that cites an outside document.
fn outside_references(repository: &Path) -> Vec<String> {
    let forms = outside_citations();
    let mut files = Vec::new();
    text_files(repository, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        // Binary files (images, zips) are not text and cite nothing.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let relative = path.strip_prefix(repository).unwrap_or(&path);
        for (number, line) in text.lines().enumerate() {
            if forms.iter().any(|form| line.contains(form.as_str()))
                || cites_protocol_item(line)
                || cites_bare_section(line)
            {
                found.push(format!(
                    "{}:{}: {}",
                    relative.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let found = outside_references(&root());
    assert!(
        found.is_empty(),
        "{} lines cite documents outside the repository; cite docs/development/ instead \
         (a page and a section title, or a protocol item id):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn every_citation_form_is_recognised_and_in_repository_ones_are_not() {
    let scratch = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = scratch.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let outside = [
        format!("(api-{}s {SECTION}4.2)", "fact"),
        ["see ../", "shared/docs/x"].concat(),
        ["per design", ".md"].concat(),
        format!("(design {SECTION}2)"),
        format!("protocol {SECTION}I"),
        ["(protocol", " G4)"].concat(),
        ["performance", ".md"].concat(),
        ["conventions", ".md b3"].concat(),
        format!("the schedule of {SECTION}6.4"),
    ];
    write("src/outside.rs", &outside.join("\n"));
    write(
        "src/inside.rs",
        "// docs/development/arm.md, 'Virtual network peerings'\n\
         // docs/development/plugin-obligations.md, G4\n\
         // docs/development/design-decisions.md, 'Provider configuration'\n\
         // HTTP Basic (RFC 6749 \u{a7}2.3.1)\n\
         // the protocol layer\n",
    );
    write("target/debug/built.rs", &outside.join("\n"));
    write(".git/COMMIT_EDITMSG", &outside.join("\n"));

    let found = outside_references(scratch.path());
    assert_eq!(found.len(), outside.len(), "{found:#?}");
    assert!(
        found.iter().all(|line| line.starts_with("src/outside.rs:")),
        "{found:#?}"
    );
}
