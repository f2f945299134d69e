//! The JSON type syntax (docs/development/plugin-obligations.md, L1–L3), as go-cty's
//! `Type.MarshalJSON` / `UnmarshalJSON`.
//!
//! An invalid type in a schema panics Terraform, so the writer only ever produces the shapes of
//! L1–L2, and the reader refuses anything else (extra elements, unknown kinds, trailing data).

use std::collections::{BTreeMap, BTreeSet};

use super::{Path, Type, ValueError};

impl Type {
    /// The JSON type syntax, compact: `"string"`, `["list","number"]`,
    /// `["object",{"a":"bool"}]`; an object's optional attributes are a third element, written
    /// only when there are some (L2).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Type::String => out.push_str("\"string\""),
            Type::Number => out.push_str("\"number\""),
            Type::Bool => out.push_str("\"bool\""),
            Type::Dynamic => out.push_str("\"dynamic\""),
            Type::List(element) => write_collection(out, "list", element),
            Type::Set(element) => write_collection(out, "set", element),
            Type::Map(element) => write_collection(out, "map", element),
            Type::Tuple(elements) => {
                out.push_str("[\"tuple\",[");
                for (index, element) in elements.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    element.write_json(out);
                }
                out.push_str("]]");
            }
            Type::Object(attributes, optional) => {
                out.push_str("[\"object\",{");
                // BTreeMap order is bytewise, like Go's sorted map keys.
                for (index, (name, ty)) in attributes.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_json_string(out, name);
                    out.push(':');
                    ty.write_json(out);
                }
                out.push('}');
                if !optional.is_empty() {
                    out.push_str(",[");
                    for (index, name) in optional.iter().enumerate() {
                        if index > 0 {
                            out.push(',');
                        }
                        write_json_string(out, name);
                    }
                    out.push(']');
                }
                out.push(']');
            }
        }
    }

    /// Parses the JSON type syntax. Whitespace is accepted; extra elements, unknown kinds,
    /// optional attributes that are not attributes and trailing data are not.
    pub fn from_json(bytes: &[u8]) -> Result<Type, ValueError> {
        let json: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|error| type_error(format!("invalid type JSON: {error}")))?;
        Type::from_json_value(&json)
    }

    /// [`Type::from_json`] on already-parsed JSON.
    pub fn from_json_value(json: &serde_json::Value) -> Result<Type, ValueError> {
        use serde_json::Value as Json;
        match json {
            Json::String(name) => match name.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(type_error(format!("invalid primitive type name {name:?}"))),
            },
            Json::Array(items) => {
                let Some(Json::String(kind)) = items.first() else {
                    return Err(type_error("invalid complex type kind name"));
                };
                let arguments = &items[1..];
                match (kind.as_str(), arguments) {
                    ("list", [element]) => Ok(Type::list(Type::from_json_value(element)?)),
                    ("set", [element]) => Ok(Type::set(Type::from_json_value(element)?)),
                    ("map", [element]) => Ok(Type::map(Type::from_json_value(element)?)),
                    ("tuple", [Json::Array(elements)]) => Ok(Type::Tuple(
                        elements
                            .iter()
                            .map(Type::from_json_value)
                            .collect::<Result<_, _>>()?,
                    )),
                    ("object", [Json::Object(attributes)]) => {
                        Ok(Type::Object(attribute_types(attributes)?, BTreeSet::new()))
                    }
                    ("object", [Json::Object(attributes), Json::Array(optional)]) => {
                        let attribute_types = attribute_types(attributes)?;
                        let optional = optional
                            .iter()
                            .map(|name| match name {
                                Json::String(name) if attribute_types.contains_key(name) => {
                                    Ok(name.clone())
                                }
                                Json::String(name) => Err(type_error(format!(
                                    "optional attribute {name:?} is not an attribute of the object type"
                                ))),
                                _ => Err(type_error("optional attribute names must be strings")),
                            })
                            .collect::<Result<_, _>>()?;
                        Ok(Type::Object(attribute_types, optional))
                    }
                    ("list" | "set" | "map" | "tuple" | "object", _) => Err(type_error(format!(
                        "unexpected extra data in {kind} type description"
                    ))),
                    _ => Err(type_error("invalid complex type kind name")),
                }
            }
            _ => Err(type_error("invalid type description")),
        }
    }
}

fn attribute_types(
    attributes: &serde_json::Map<String, serde_json::Value>,
) -> Result<BTreeMap<String, Type>, ValueError> {
    attributes
        .iter()
        .map(|(name, ty)| Ok((name.clone(), Type::from_json_value(ty)?)))
        .collect()
}

fn write_collection(out: &mut String, kind: &str, element: &Type) {
    out.push_str("[\"");
    out.push_str(kind);
    out.push_str("\",");
    element.write_json(out);
    out.push(']');
}

fn write_json_string(out: &mut String, text: &str) {
    // Serialising a str cannot fail.
    out.push_str(&serde_json::Value::from(text).to_string());
}

fn type_error(message: impl Into<String>) -> ValueError {
    ValueError::new(Path::default(), message)
}
