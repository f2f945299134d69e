//! Typed resource models: a struct whose fields are named like the schema's attributes, read
//! from a plan, state or configuration in one call and written back into a state in one call,
//! so resource code works on fields instead of attribute-name strings.
//!
//! ```
//! use vnetpeer::framework::{Model, model};
//! use vnetpeer::value::Value;
//!
//! model! {
//!     /// The planned peering.
//!     pub struct Peering {
//!         pub name: String,
//!         pub allow_forwarded_traffic: bool,
//!         pub remote_address_space: Option<Vec<String>>,
//!         pub id: Option<String>,
//!     }
//! }
//!
//! let planned = Value::object([
//!     ("name", Value::string("to-aiven")),
//!     ("allow_forwarded_traffic", Value::Bool(false)),
//!     ("remote_address_space", Value::Null),
//!     ("id", Value::Null),
//! ]);
//! let mut peering = Peering::from_value(&planned).unwrap();
//! peering.id = Some(format!("peerings/{}", peering.name));
//! let mut state = planned.clone();
//! peering.write_to(&mut state);
//! assert_eq!(state.get("id"), Some(&Value::string("peerings/to-aiven")));
//! ```
//!
//! Each field's attribute name is also an associated constant of the same name
//! (`Peering::allow_forwarded_traffic == "allow_forwarded_traffic"`), for the few places that
//! name an attribute (plan checks, diagnostics paths) without a string literal.
//!
//! Field types say what the operation needs. Every typed field must be known ("must be known to
//! create": an unknown value, or an unknown element of a collection, gives a diagnostic at the
//! attribute); `String`, `bool`, `i64`, `Vec<String>` and [`StringSet`] must also be non-null,
//! while `Option<…>` reads null as `None`. A [`Value`] field takes the attribute as it is, for
//! the plan-time code that tells unknown from null.

use std::collections::BTreeMap;

use crate::value::Value;

use super::diagnostics::{Diagnostic, Diagnostics};
#[cfg(doc)]
use super::schema::Block;
use super::schema::Schema;

/// A struct bound to a schema's attributes by field name; declare it with [`model!`].
pub trait Model: Sized {
    /// The attribute names the model reads and writes, in declaration order.
    const ATTRIBUTES: &'static [&'static str];

    /// Reads every field from the object `value`; a field that must be known but is not gives a
    /// diagnostic at its attribute (all such fields are reported at once).
    fn from_value(value: &Value) -> Result<Self, Diagnostics>;

    /// [`Model::from_value`] after filling null attributes with their schema defaults
    /// ([`Block::apply_defaults`]): defaults are declared once, on the attribute.
    fn from_value_with_defaults(schema: &Schema, value: &Value) -> Result<Self, Diagnostics> {
        let mut value = value.clone();
        schema.block.apply_defaults(&mut value);
        Self::from_value(&value)
    }

    /// Sets every field's attribute in the object `state`; other attributes stay as they are.
    fn write_to(&self, state: &mut Value);

    /// The model as an object holding only its fields (the framework turns missing attributes
    /// into null).
    fn to_value(&self) -> Value {
        let mut value = Value::object::<&str>([]);
        self.write_to(&mut value);
        value
    }
}

/// How one field type reads and writes an attribute value.
pub trait AttributeValue: Sized {
    /// The value, or `None` when the attribute is not known (null or unknown) and the type
    /// needs a value.
    fn from_attribute(value: &Value) -> Option<Self>;
    fn to_attribute(&self) -> Value;
}

impl AttributeValue for String {
    fn from_attribute(value: &Value) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
    fn to_attribute(&self) -> Value {
        Value::string(self.as_str())
    }
}

impl AttributeValue for bool {
    fn from_attribute(value: &Value) -> Option<Self> {
        value.as_bool()
    }
    fn to_attribute(&self) -> Value {
        Value::Bool(*self)
    }
}

impl AttributeValue for i64 {
    fn from_attribute(value: &Value) -> Option<Self> {
        value.as_i64()
    }
    fn to_attribute(&self) -> Value {
        Value::from(*self)
    }
}

/// A list of known strings.
impl AttributeValue for Vec<String> {
    fn from_attribute(value: &Value) -> Option<Self> {
        match value {
            Value::List(items) | Value::Set(items) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect(),
            _ => None,
        }
    }
    fn to_attribute(&self) -> Value {
        Value::list(self.iter().map(|item| Value::string(item.as_str())))
    }
}

/// A map of known strings.
impl AttributeValue for BTreeMap<String, String> {
    fn from_attribute(value: &Value) -> Option<Self> {
        value
            .as_map()?
            .iter()
            .map(|(key, item)| Some((key.clone(), item.as_str()?.to_owned())))
            .collect()
    }
    fn to_attribute(&self) -> Value {
        Value::map(
            self.iter()
                .map(|(key, item)| (key.as_str(), Value::string(item.as_str()))),
        )
    }
}

/// A set of strings (written as a set; read from a set or list), in the value's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringSet(pub Vec<String>);

impl AttributeValue for StringSet {
    fn from_attribute(value: &Value) -> Option<Self> {
        Vec::<String>::from_attribute(value).map(StringSet)
    }
    fn to_attribute(&self) -> Value {
        Value::set(self.0.iter().map(|item| Value::string(item.as_str())))
    }
}

/// The attribute as it is, unknown and null included.
impl AttributeValue for Value {
    fn from_attribute(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
    fn to_attribute(&self) -> Value {
        self.clone()
    }
}

/// Null reads as `None` (an unknown value is still "not known"); `None` writes null.
impl<T: AttributeValue> AttributeValue for Option<T> {
    fn from_attribute(value: &Value) -> Option<Self> {
        if value.is_null() {
            return Some(None);
        }
        T::from_attribute(value).map(Some)
    }
    fn to_attribute(&self) -> Value {
        self.as_ref()
            .map_or(Value::Null, AttributeValue::to_attribute)
    }
}

/// The diagnostic for an attribute that must be known when the object is written but is not.
pub fn not_known(name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("`{name}` is not known"),
        format!(
            "`{name}` must be known when the object is written. This is a bug in the provider: \
             the plan should have provided it."
        ),
    )
    .at(name)
}

/// Reads attribute `name` of `object` as `T`, recording [`not_known`] when it is missing.
/// Used by [`model!`].
pub fn read_attribute<T: AttributeValue>(
    object: &Value,
    name: &str,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    let value = object.get(name).unwrap_or(&Value::Null);
    let read = T::from_attribute(value);
    if read.is_none() {
        diagnostics.push(not_known(name));
    }
    read
}

/// Declares a struct and its [`Model`] implementation; each field reads and writes the
/// attribute of the same name. See the [module documentation](self).
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $ty, )*
        }

        /// The attribute names, checked by the compiler: `Model::field_name`.
        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $( pub const $field: &'static str = stringify!($field); )*
        }

        impl $crate::framework::Model for $name {
            const ATTRIBUTES: &'static [&'static str] = &[$(stringify!($field)),*];

            fn from_value(
                value: &$crate::value::Value,
            ) -> ::std::result::Result<Self, $crate::framework::Diagnostics> {
                let mut diagnostics = $crate::framework::Diagnostics::new();
                $(
                    let $field = $crate::framework::model::read_attribute::<$ty>(
                        value,
                        stringify!($field),
                        &mut diagnostics,
                    );
                )*
                match ($($field,)*) {
                    ($(Some($field),)*) => Ok($name { $($field,)* }),
                    _ => Err(diagnostics),
                }
            }

            fn write_to(&self, state: &mut $crate::value::Value) {
                if let $crate::value::Value::Object(fields) = state {
                    $(
                        fields.insert(
                            stringify!($field).to_owned(),
                            $crate::framework::model::AttributeValue::to_attribute(&self.$field),
                        );
                    )*
                }
            }
        }
    };
}

pub use model;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Model;

    model! {
        struct Sample {
            name: String,
            enabled: bool,
            size: i64,
            note: Option<String>,
            ranges: Option<StringSet>,
            actions: Vec<String>,
            raw: Value,
        }
    }

    fn planned() -> Value {
        Value::object([
            ("name", Value::string("a")),
            ("enabled", Value::Bool(true)),
            ("size", Value::from(3)),
            ("note", Value::Null),
            ("ranges", Value::set([Value::string("10.0.0.0/24")])),
            ("actions", Value::list([Value::string("x/read")])),
            ("raw", Value::Unknown(Default::default())),
            ("other", Value::string("kept")),
        ])
    }

    #[test]
    fn reads_every_field_and_writes_them_back_without_touching_the_rest() {
        let mut sample = Sample::from_value(&planned()).unwrap();
        assert_eq!(sample.name, "a");
        assert!(sample.enabled);
        assert_eq!(sample.size, 3);
        assert_eq!(sample.note, None);
        assert_eq!(
            sample.ranges,
            Some(StringSet(vec!["10.0.0.0/24".to_owned()]))
        );
        assert_eq!(sample.actions, ["x/read"]);
        assert!(sample.raw.is_unknown());

        sample.note = Some("done".to_owned());
        sample.raw = Value::Null;
        let mut state = planned();
        sample.write_to(&mut state);
        assert_eq!(state.get("note"), Some(&Value::string("done")));
        assert_eq!(state.get("raw"), Some(&Value::Null));
        assert!(matches!(state.get("ranges"), Some(Value::Set(_))));
        assert!(matches!(state.get("actions"), Some(Value::List(_))));
        assert_eq!(state.get("other"), Some(&Value::string("kept")));
        assert_eq!(
            Sample::ATTRIBUTES,
            [
                "name", "enabled", "size", "note", "ranges", "actions", "raw"
            ]
        );
        assert!(sample.to_value().get("other").is_none());
        assert_eq!(Sample::ranges, "ranges");
    }

    #[test]
    fn fields_that_must_be_known_are_reported_at_their_attributes() {
        let mut value = planned();
        if let Value::Object(fields) = &mut value {
            fields.insert("name".into(), Value::Unknown(Default::default()));
            fields.insert("enabled".into(), Value::Null);
            fields.insert("note".into(), Value::Unknown(Default::default()));
            fields.insert(
                "ranges".into(),
                Value::set([Value::Unknown(Default::default())]),
            );
        }
        let diagnostics = Sample::from_value(&value).unwrap_err();
        assert_eq!(diagnostics.len(), 4);
        let text = diagnostics.to_string();
        for name in ["name", "enabled", "note", "ranges"] {
            assert!(text.contains(&format!("`{name}` is not known")), "{text}");
        }
    }
}
