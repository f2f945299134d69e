//! Helpers for the resource identities declared in each resource file (the section "Resource
//! identity" at the end of each): reading an identity attribute when building an import id, and
//! the identity and `moved` source of the Entra objects named by their Graph object id. (State
//! attributes copied into identity attributes of the same names: `Identity::of_same_named`.)

use std::collections::BTreeMap;

use crate::framework::{Diagnostic, Diagnostics, Identity, MoveSource};
use crate::value::Value;

use super::support::checks;

/// The attribute holding a Graph object id: in the state, in the identity and in azuread's
/// state alike.
const OBJECT_ID: &str = "object_id";

/// The identity of an Entra object named by its Microsoft Graph object id, as in Graph's
/// `/applications/{id}` and `/servicePrincipals/{id}`; `description` says how to find it.
pub fn graph_object(description: &'static str) -> Identity {
    Identity::required(
        &[(OBJECT_ID, description)],
        |state| Identity::of_same_named(state, &[OBJECT_ID]),
        |parts| part(parts, OBJECT_ID).map(str::to_owned),
    )
}

/// `moved` from azuread's `source_type` (its `object_id`, in every azuread version): the state
/// `imported` gives for that object id, as an import by it would. `None` for other sources.
pub fn moved_graph_object(
    source: &MoveSource<'_>,
    source_type: &str,
    imported: fn(&str) -> Value,
) -> Option<Result<Value, Diagnostics>> {
    if !source.is("azuread", source_type) {
        return None;
    }
    Some(source.required(OBJECT_ID).and_then(|object_id| {
        if !checks::is_uuid(object_id) {
            return Err(Diagnostic::error(
                format!("Cannot move {source_type}"),
                format!("Its `object_id` {object_id:?} is not a UUID."),
            )
            .into());
        }
        Ok(imported(object_id))
    }))
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
