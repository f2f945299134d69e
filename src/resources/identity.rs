//! Helpers for the resource identities declared in each resource file (the section "Resource
//! identity" at the end of each): copying state attributes into identity attributes, and
//! reading an identity attribute when building an import id.

use std::collections::BTreeMap;

use crate::framework::{Diagnostic, ObjectExt};
use crate::value::Value;

/// The identity attributes read from `state`: each pair is (identity attribute, state
/// attribute). `None` while any of them is unknown or null.
pub fn from_state(
    state: &Value,
    pairs: &[(&'static str, &str)],
) -> Option<BTreeMap<&'static str, String>> {
    pairs
        .iter()
        .map(|(identity, attribute)| {
            let text = state.attr_str(attribute)?;
            (!text.is_empty()).then(|| (*identity, text.to_owned()))
        })
        .collect()
}

/// A required identity attribute (the framework has checked it is there; a missing one is
/// still an error, not a panic).
pub fn part<'a>(parts: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, Diagnostic> {
    parts.get(name).map(String::as_str).ok_or_else(|| {
        Diagnostic::error(
            format!("The identity sets no `{name}`"),
            format!("Set `{name}` in the import block's `identity`."),
        )
    })
}
