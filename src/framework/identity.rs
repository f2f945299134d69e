//! Resource identity (Terraform 1.12+): the few string attributes a user would write by hand to
//! name a remote object, stored by Terraform beside the state and accepted by
//! `import { to = …, identity = { … } }`.
//!
//! A resource declares its identity once, with [`Resource::identity`](super::Resource::identity):
//! the attributes, how its state maps to them ([`Identity::of_state`]) and how they map to its
//! import id ([`Identity::import_id`]), so that importing by identity and by id share one path.
//! The server derives the identity from every state it returns (read, plan, apply, import), so
//! it cannot drift from the state.

use std::collections::BTreeMap;

use crate::value::{Type, Value};

use super::diagnostics::Diagnostic;

/// One identity attribute; every identity attribute is a string.
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: &'static str,
    pub description: &'static str,
    /// Optional attributes may be left out of an `identity = { … }` import block.
    pub required_for_import: bool,
}

impl IdentityAttribute {
    /// An attribute the import block must set.
    pub const fn required(name: &'static str, description: &'static str) -> Self {
        IdentityAttribute {
            name,
            description,
            required_for_import: true,
        }
    }
}

/// A resource type's identity: its attributes and the two mappings.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Version of the identity schema; raise it (and handle the old one in
    /// [`Identity::upgrade`]) when the attributes change.
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
    /// The identity attribute values of the object `state` describes, by attribute name; `None`
    /// while a part is not known yet (the plan of a create) or the state lacks it.
    pub of_state: fn(&Value) -> Option<BTreeMap<&'static str, String>>,
    /// The import id naming the same object as `identity` (attribute name → value; optional
    /// attributes may be absent). An error names the attribute and the expected form.
    pub import_id: fn(&BTreeMap<String, String>) -> Result<String, Diagnostic>,
}

impl Identity {
    /// The identity object type Terraform stores: one string per attribute.
    pub fn implied_type(&self) -> Type {
        Type::object(
            self.attributes
                .iter()
                .map(|attribute| (attribute.name, Type::String)),
        )
    }

    /// The identity object of `state`, with every attribute present; `None` when the state does
    /// not determine it yet. A mapping that leaves an attribute out is a provider bug, reported by
    /// the caller through the same `None`.
    pub fn value_of_state(&self, state: &Value) -> Option<Value> {
        if state.is_null() || !state.is_known() {
            return None;
        }
        let mut parts = (self.of_state)(state)?;
        let mut fields = Vec::with_capacity(self.attributes.len());
        for attribute in &self.attributes {
            match parts.remove(attribute.name) {
                Some(value) => fields.push((attribute.name, Value::string(value))),
                None if attribute.required_for_import => return None,
                None => fields.push((attribute.name, Value::Null)),
            }
        }
        Some(Value::object(fields))
    }

    /// Reads an identity object from Terraform into attribute name → value, rejecting unknown
    /// and missing required attributes with a diagnostic that names them.
    pub fn parts(
        &self,
        type_name: &str,
        identity: &Value,
    ) -> Result<BTreeMap<String, String>, Diagnostic> {
        let mut parts = BTreeMap::new();
        let mut missing = Vec::new();
        for attribute in &self.attributes {
            match identity.get(attribute.name) {
                Some(Value::String(text)) if !text.trim().is_empty() => {
                    parts.insert(attribute.name.to_owned(), text.trim().to_owned());
                }
                Some(value) if !value.is_known() => {
                    return Err(Diagnostic::error(
                        format!("Unknown identity attribute `{}`", attribute.name),
                        format!(
                            "Importing {type_name} by identity needs every identity attribute \
                             known at plan time; `{}` is not. Use a literal or a value known \
                             before apply.",
                            attribute.name
                        ),
                    ));
                }
                _ if attribute.required_for_import => missing.push(attribute.name),
                _ => {}
            }
        }
        if !missing.is_empty() {
            let expected: Vec<String> = self
                .attributes
                .iter()
                .map(|attribute| format!("`{}` ({})", attribute.name, attribute.description))
                .collect();
            return Err(Diagnostic::error(
                format!("Incomplete identity for {type_name}"),
                format!(
                    "The identity sets no {}. The identity of {type_name} has: {}.",
                    missing
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    expected.join("; ")
                ),
            ));
        }
        Ok(parts)
    }

    /// UpgradeResourceIdentity: only the current version exists so far, so an identity written
    /// by it is returned as it is and any other version is refused with a way out.
    pub fn upgrade(
        &self,
        type_name: &str,
        from_version: i64,
        json: &serde_json::Value,
    ) -> Result<Value, Diagnostic> {
        if from_version != self.version {
            return Err(Diagnostic::error(
                format!("Cannot upgrade the identity of {type_name} from version {from_version}"),
                format!(
                    "This provider version knows identity version {} only. Use the provider \
                     version that wrote the state, or remove the object from state and import \
                     it again.",
                    self.version
                ),
            ));
        }
        let fields = self.attributes.iter().map(|attribute| {
            let value = json
                .get(attribute.name)
                .and_then(serde_json::Value::as_str)
                .map(Value::string)
                .unwrap_or(Value::Null);
            (attribute.name, value)
        });
        Ok(Value::object(fields))
    }
}

// ----- identities named like the state's attributes ---------------------------------------------

impl Identity {
    /// An [`Identity::of_state`] for identity attributes that are the state's attributes of the
    /// same `names`: their values in `state`; `None` while any of them is unknown, null or empty.
    pub fn of_same_named(
        state: &Value,
        names: &[&'static str],
    ) -> Option<BTreeMap<&'static str, String>> {
        names
            .iter()
            .map(|name| {
                let text = state.get(name)?.as_str()?;
                (!text.is_empty()).then(|| (*name, text.to_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            version: 0,
            attributes: vec![
                IdentityAttribute::required("scope", "the ARM scope"),
                IdentityAttribute::required("name", "the GUID"),
            ],
            of_state: |state| {
                let scope = state.get("scope")?.as_str()?;
                let name = state.get("name")?.as_str()?;
                Some(BTreeMap::from([
                    ("scope", scope.to_owned()),
                    ("name", name.to_owned()),
                ]))
            },
            import_id: |parts| Ok(format!("{}/{}", parts["scope"], parts["name"])),
        }
    }

    #[test]
    fn the_identity_of_a_state_has_every_attribute_and_none_while_unknown() {
        let state = Value::object([
            ("scope", Value::string("/subscriptions/s")),
            ("name", Value::string("n")),
            ("other", Value::Bool(true)),
        ]);
        assert_eq!(
            identity().value_of_state(&state),
            Some(Value::object([
                ("scope", Value::string("/subscriptions/s")),
                ("name", Value::string("n")),
            ]))
        );
        let planned = Value::object([
            ("scope", Value::string("/subscriptions/s")),
            ("name", Value::Unknown(Default::default())),
        ]);
        assert_eq!(identity().value_of_state(&planned), None);
        assert_eq!(identity().value_of_state(&Value::Null), None);
    }

    #[test]
    fn an_identity_named_like_the_state_reads_those_attributes_once_all_are_known() {
        let state = Value::object([
            ("scope", Value::string("/subscriptions/s")),
            ("name", Value::string("n")),
            ("other", Value::Bool(true)),
        ]);
        assert_eq!(
            Identity::of_same_named(&state, &["scope", "name"]),
            Some(BTreeMap::from([
                ("scope", "/subscriptions/s".to_owned()),
                ("name", "n".to_owned()),
            ]))
        );
        for not_yet in [Value::unknown(), Value::Null, Value::string("")] {
            let state = Value::object([("scope", Value::string("/s")), ("name", not_yet)]);
            assert_eq!(Identity::of_same_named(&state, &["scope", "name"]), None);
        }
    }

    #[test]
    fn an_incomplete_identity_names_what_is_missing_and_what_is_expected() {
        let error = identity()
            .parts(
                "vnetpeer_x",
                &Value::object([
                    ("scope", Value::string("/subscriptions/s")),
                    ("name", Value::Null),
                ]),
            )
            .unwrap_err();
        assert_eq!(error.summary, "Incomplete identity for vnetpeer_x");
        assert!(error.detail.contains("sets no `name`"), "{}", error.detail);
        assert!(
            error.detail.contains("`scope` (the ARM scope)"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn only_the_current_identity_version_is_accepted() {
        let json = serde_json::json!({"scope": "/subscriptions/s", "name": "n"});
        assert_eq!(
            identity().upgrade("vnetpeer_x", 0, &json).unwrap(),
            Value::object([
                ("scope", Value::string("/subscriptions/s")),
                ("name", Value::string("n")),
            ])
        );
        let error = identity().upgrade("vnetpeer_x", 3, &json).unwrap_err();
        assert!(
            error.summary.contains("from version 3"),
            "{}",
            error.summary
        );
    }
}
