//! The JSON form of `DynamicValue` (docs/development/plugin-obligations.md, K8), as go-cty's
//! `cty/json`: used for `RawState.json` and accepted in responses. Null is `null`; objects may omit
//! attributes (they read as null) but unknown keys are an error; dynamic values are
//! `{"value":…,"type":…}`; numbers keep their full precision (serde_json's `arbitrary_precision`
//! keeps the digits); unknowns have no representation.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::Value as Json;

use super::{
    Number, Path, PathStep, Type, Value, ValueError, check_attribute_names, dedupe_set_elements,
    unique_set_elements,
};

/// Decodes the JSON form of a value of type `ty`.
pub fn decode_json(ty: &Type, bytes: &[u8]) -> Result<Value, ValueError> {
    let json: Json = serde_json::from_slice(bytes)
        .map_err(|error| ValueError::new(Path::default(), format!("invalid JSON: {error}")))?;
    from_json_value(ty, &json)
}

/// Why [`decode_stored_json`] failed.
#[derive(Debug)]
pub enum StoredJsonError {
    /// The bytes are not JSON.
    Syntax(serde_json::Error),
    /// JSON, but not a value of the type.
    Mismatch(ValueError),
}

/// Decodes the JSON form of a value of type `ty` that the same type wrote earlier (a stored
/// state of the current schema version): as [`decode_json`], except that object attributes the
/// type does not have are dropped, at any depth outside tuples and dynamic values.
///
/// The document is read once, straight into [`Value`]; objects, maps, lists and sets never pass
/// through a `serde_json::Value` tree (Terraform asks for this for every object of every
/// command). Leaves, tuples and dynamic values are read as [`decode_json`] reads them. A syntax
/// error anywhere is reported before a mismatch, as a parse of the whole document first would.
pub fn decode_stored_json(ty: &Type, bytes: &[u8]) -> Result<Value, StoredJsonError> {
    use serde::de::DeserializeSeed;

    let mut mismatch = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let decoded = StoredSeed {
        ty,
        mismatch: &mut mismatch,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match decoded {
        Ok(value) => Ok(value),
        Err(error) => {
            // The decoder stops at the first mismatch; the rest of the document must still be
            // JSON for the mismatch to be the answer.
            if let Err(syntax) = serde_json::from_slice::<Json>(bytes) {
                return Err(StoredJsonError::Syntax(syntax));
            }
            Err(match mismatch {
                Some(mismatch) => StoredJsonError::Mismatch(mismatch),
                None => StoredJsonError::Syntax(error),
            })
        }
    }
}

/// Reads one value of `ty`; a mismatch is recorded in `mismatch` (the serde error that carries
/// it up only stops the parse), and each level on the way up puts its step in front of the path.
struct StoredSeed<'t, 'm> {
    ty: &'t Type,
    mismatch: &'m mut Option<ValueError>,
}

impl<'de> serde::de::DeserializeSeed<'de> for StoredSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        use serde::Deserialize;

        match self.ty {
            Type::Object(..) | Type::Map(_) | Type::List(_) | Type::Set(_) => {
                deserializer.deserialize_option(self)
            }
            // Leaves, tuples and dynamic values: as `decode_json` reads them.
            _ => {
                let json = Json::deserialize(deserializer)?;
                read(self.ty, &json, &mut Vec::new()).map_err(|mismatch| {
                    *self.mismatch = Some(mismatch);
                    serde::de::Error::custom("the value does not match its type")
                })
            }
        }
    }
}

impl<'de> serde::de::Visitor<'de> for StoredSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(formatter, "a {} value", self.ty.friendly_name())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let StoredSeed { ty, mismatch } = self;
        let container = StoredContainer {
            ty,
            mismatch: &mut *mismatch,
        };
        let result = match ty {
            Type::Object(..) | Type::Map(_) => deserializer.deserialize_map(container),
            _ => deserializer.deserialize_seq(container),
        };
        // An error no level recorded is the deserializer's own: this value is not a container
        // of the kind (or the document is not JSON, which `decode_stored_json` checks).
        if result.is_err() && mismatch.is_none() {
            let message = match ty {
                Type::Object(..) => "an object is required",
                Type::Map(_) => "a map is required",
                Type::Set(_) => "a set is required",
                _ => "a list is required",
            };
            *mismatch = Some(ValueError::new(Path::default(), message));
        }
        result
    }
}

/// The contents of a non-null object, map, list or set.
struct StoredContainer<'t, 'm> {
    ty: &'t Type,
    mismatch: &'m mut Option<ValueError>,
}

impl StoredContainer<'_, '_> {
    /// `result`, with `step` put in front of the path of a mismatch below.
    fn within<T, E>(
        &mut self,
        step: impl FnOnce() -> PathStep,
        result: Result<T, E>,
    ) -> Result<T, E> {
        if result.is_err()
            && let Some(mismatch) = self.mismatch.as_mut()
        {
            mismatch.insert_step(0, step());
        }
        result
    }
}

impl<'de> serde::de::Visitor<'de> for StoredContainer<'_, '_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(formatter, "a {} value", self.ty.friendly_name())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        match self.ty {
            Type::Object(attribute_types, _) => {
                let mut attributes = BTreeMap::new();
                while let Some(known) = map.next_key_seed(AttributeName(attribute_types))? {
                    let Some((name, attribute_type)) = known else {
                        // Dropped, but read in full so that it is checked to be JSON as a
                        // whole-document parse would.
                        map.next_value::<Json>()?;
                        continue;
                    };
                    let seed = StoredSeed {
                        ty: attribute_type,
                        mismatch: &mut *self.mismatch,
                    };
                    let attribute = map.next_value_seed(seed);
                    let attribute =
                        self.within(|| PathStep::Attribute(name.to_owned()), attribute)?;
                    attributes.insert(name.to_owned(), attribute);
                }
                // Omitted attributes are null (K8).
                if attributes.len() < attribute_types.len() {
                    for name in attribute_types.keys() {
                        if !attributes.contains_key(name) {
                            attributes.insert(name.clone(), Value::Null);
                        }
                    }
                }
                Ok(Value::Object(attributes))
            }
            Type::Map(element_type) => {
                let mut entries = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let seed = StoredSeed {
                        ty: element_type,
                        mismatch: &mut *self.mismatch,
                    };
                    let element = map.next_value_seed(seed);
                    let element = self.within(|| PathStep::Key(key.clone()), element)?;
                    entries.insert(key, element);
                }
                Ok(Value::Map(entries))
            }
            _ => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Map,
                &self,
            )),
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let (Type::List(element_type) | Type::Set(element_type)) = self.ty else {
            return Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Seq,
                &self,
            ));
        };
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            let seed = StoredSeed {
                ty: element_type,
                mismatch: &mut *self.mismatch,
            };
            let index = elements.len() as u64;
            let element = seq.next_element_seed(seed);
            match self.within(|| PathStep::Index(index), element)? {
                Some(element) => elements.push(element),
                None => break,
            }
        }
        Ok(match self.ty {
            Type::Set(_) => Value::Set(dedupe_set_elements(elements)),
            _ => Value::List(elements),
        })
    }
}

/// An object key: the attribute's name and type as the object type has them, or `None` for a
/// name it does not have.
struct AttributeName<'t>(&'t BTreeMap<String, Type>);

impl<'de, 't> serde::de::DeserializeSeed<'de> for AttributeName<'t> {
    type Value = Option<(&'t str, &'t Type)>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 't> serde::de::Visitor<'de> for AttributeName<'t> {
    type Value = Option<(&'t str, &'t Type)>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an attribute name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .get_key_value(name)
            .map(|(name, ty)| (name.as_str(), ty)))
    }
}

/// Encodes `value` (conforming to `ty`, wholly known) in the JSON form.
pub fn encode_json(ty: &Type, value: &Value) -> Result<Vec<u8>, ValueError> {
    let json = to_json_value(ty, value)?;
    serde_json::to_vec(&json)
        .map_err(|error| ValueError::new(Path::default(), format!("failed to write JSON: {error}")))
}

pub(super) fn from_json_value(ty: &Type, json: &Json) -> Result<Value, ValueError> {
    let mut path = Vec::new();
    read(ty, json, &mut path)
}

pub(super) fn to_json_value(ty: &Type, value: &Value) -> Result<Json, ValueError> {
    let mut path = Vec::new();
    write(ty, value, &mut path)
}

fn error(path: &[PathStep], message: impl Into<String>) -> ValueError {
    ValueError::new(Path(path.to_vec()), message)
}

fn read(ty: &Type, json: &Json, path: &mut Vec<PathStep>) -> Result<Value, ValueError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => read_dynamic(json, path),
        Type::String => match json {
            Json::String(text) => Ok(Value::String(text.clone())),
            // go-cty converts numbers (keeping their text) and bools to strings.
            Json::Number(number) => Ok(Value::String(number.to_string())),
            Json::Bool(flag) => Ok(Value::String(flag.to_string())),
            _ => Err(error(path, "string is required")),
        },
        Type::Number => {
            let text = match json {
                Json::Number(number) => number.to_string(),
                Json::String(text) => text.clone(),
                _ => return Err(error(path, "number is required")),
            };
            Number::parse(&text)
                .map(Value::Number)
                .map_err(|parse_error| error(path, parse_error.to_string()))
        }
        Type::Bool => match json {
            Json::Bool(flag) => Ok(Value::Bool(*flag)),
            Json::String(text) => match text.as_str() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") => {
                    Err(error(
                        path,
                        "a bool is required; to convert from string, use lowercase \"true\" or \"false\"",
                    ))
                }
                _ => Err(error(path, "a bool is required")),
            },
            _ => Err(error(path, "bool is required")),
        },
        Type::List(element_type) => {
            let items = json
                .as_array()
                .ok_or_else(|| error(path, "a list is required"))?;
            read_elements(items, |_| element_type, path).map(Value::List)
        }
        Type::Set(element_type) => {
            let items = json
                .as_array()
                .ok_or_else(|| error(path, "a set is required"))?;
            let elements = read_elements(items, |_| element_type, path)?;
            Ok(Value::Set(dedupe_set_elements(elements)))
        }
        Type::Tuple(element_types) => {
            let items = json
                .as_array()
                .ok_or_else(|| error(path, "a tuple is required"))?;
            if items.len() > element_types.len() {
                return Err(error(
                    path,
                    format!("too many tuple elements (need {})", element_types.len()),
                ));
            }
            if items.len() < element_types.len() {
                return Err(error(
                    path,
                    format!("not enough tuple elements (need {})", element_types.len()),
                ));
            }
            read_elements(items, |index| &element_types[index], path).map(Value::Tuple)
        }
        Type::Map(element_type) => {
            let members = json
                .as_object()
                .ok_or_else(|| error(path, "a map is required"))?;
            let mut entries = BTreeMap::new();
            for (key, member) in members {
                path.push(PathStep::Key(key.clone()));
                let element = read(element_type, member, path)?;
                path.pop();
                entries.insert(key.clone(), element);
            }
            Ok(Value::Map(entries))
        }
        Type::Object(attribute_types, _) => {
            let members = json
                .as_object()
                .ok_or_else(|| error(path, "an object is required"))?;
            let mut attributes = BTreeMap::new();
            for (name, member) in members {
                let Some(attribute_type) = attribute_types.get(name) else {
                    return Err(error(path, format!("unsupported attribute {name:?}")));
                };
                let depth = path.len();
                let attribute =
                    ValueError::within_attribute(depth, name, read(attribute_type, member, path))?;
                attributes.insert(name.clone(), attribute);
            }
            // Omitted attributes are null (K8). Every attribute is present in stored state, so
            // the names are not copied again just to find that out.
            if attributes.len() < attribute_types.len() {
                for name in attribute_types.keys() {
                    if !attributes.contains_key(name) {
                        attributes.insert(name.clone(), Value::Null);
                    }
                }
            }
            Ok(Value::Object(attributes))
        }
    }
}

fn read_elements<'t>(
    items: &[Json],
    element_type: impl Fn(usize) -> &'t Type,
    path: &mut Vec<PathStep>,
) -> Result<Vec<Value>, ValueError> {
    let mut elements = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        path.push(PathStep::Index(index as u64));
        elements.push(read(element_type(index), item, path)?);
        path.pop();
    }
    Ok(elements)
}

/// `{"value":…,"type":…}`; both keys required, no others.
fn read_dynamic(json: &Json, path: &mut Vec<PathStep>) -> Result<Value, ValueError> {
    let members = json.as_object().ok_or_else(|| {
        error(
            path,
            "a dynamically-typed value ({\"value\":…,\"type\":…}) is required",
        )
    })?;
    if let Some(key) = members.keys().find(|key| *key != "type" && *key != "value") {
        return Err(error(
            path,
            format!("invalid key {key:?} in dynamically-typed value"),
        ));
    }
    let type_json = members
        .get("type")
        .ok_or_else(|| error(path, "missing type in dynamically-typed value"))?;
    let ty = Type::from_json_value(type_json).map_err(|type_error| {
        error(
            path,
            format!(
                "failed to decode type for dynamic value: {}",
                type_error.message()
            ),
        )
    })?;
    let value_json = members
        .get("value")
        .ok_or_else(|| error(path, "missing value in dynamically-typed value"))?;
    let value = read(&ty, value_json, path)?;
    Ok(Value::dynamic(ty, value))
}

fn write(ty: &Type, value: &Value, path: &mut Vec<PathStep>) -> Result<Json, ValueError> {
    if let Value::Unknown(_) = value {
        return Err(error(path, "value is not known"));
    }
    match (ty, value) {
        (Type::Dynamic, Value::Null) => Ok(Json::Null),
        (Type::Dynamic, Value::Dynamic(typed)) => {
            let (concrete, inner) = &**typed;
            if *concrete == Type::Dynamic {
                return Err(error(
                    path,
                    "the concrete type of a dynamic value cannot be dynamic",
                ));
            }
            let mut wrapper = serde_json::Map::new();
            // go-cty writes "value" first; serde_json keeps insertion order here.
            wrapper.insert("value".to_owned(), write(concrete, inner, path)?);
            wrapper.insert("type".to_owned(), type_to_json(concrete));
            Ok(Json::Object(wrapper))
        }
        (Type::Dynamic, _) => Err(error(
            path,
            "a value in a dynamic position needs its concrete type (Value::Dynamic)",
        )),
        (_, Value::Dynamic(_)) => Err(error(
            path,
            format!(
                "a {} value is required, not a dynamically-typed value",
                ty.friendly_name()
            ),
        )),
        (_, Value::Null) => Ok(Json::Null),
        (Type::String, Value::String(text)) => Ok(Json::String(text.clone())),
        (Type::Bool, Value::Bool(flag)) => Ok(Json::Bool(*flag)),
        (Type::Number, Value::Number(number)) => {
            let Some(text) = number.as_decimal_str() else {
                return Err(error(path, "cannot serialize infinity as JSON"));
            };
            serde_json::Number::from_str(text)
                .map(Json::Number)
                .map_err(|_| error(path, "number cannot be written as JSON"))
        }
        (Type::List(element_type), Value::List(elements)) => write_elements(
            elements.iter().map(|element| (&**element_type, element)),
            path,
        ),
        (Type::Set(element_type), Value::Set(elements)) => {
            let unique = unique_set_elements(elements);
            write_elements(
                unique.into_iter().map(|element| (&**element_type, element)),
                path,
            )
        }
        (Type::Tuple(element_types), Value::Tuple(elements)) => {
            if element_types.len() != elements.len() {
                return Err(error(
                    path,
                    format!(
                        "a tuple of length {} is required ({} given)",
                        element_types.len(),
                        elements.len()
                    ),
                ));
            }
            write_elements(element_types.iter().zip(elements), path)
        }
        (Type::Map(element_type), Value::Map(entries)) => {
            let mut members = serde_json::Map::new();
            for (key, element) in entries {
                path.push(PathStep::Key(key.clone()));
                members.insert(key.clone(), write(element_type, element, path)?);
                path.pop();
            }
            Ok(Json::Object(members))
        }
        (Type::Object(attribute_types, _), Value::Object(attributes)) => {
            check_attribute_names(attribute_types, attributes, path)?;
            let mut members = serde_json::Map::new();
            // Same keys in the same order (checked above), so the maps walk in lockstep.
            for ((name, attribute_type), attribute) in
                attribute_types.iter().zip(attributes.values())
            {
                let depth = path.len();
                let member = ValueError::within_attribute(
                    depth,
                    name,
                    write(attribute_type, attribute, path),
                )?;
                members.insert(name.clone(), member);
            }
            Ok(Json::Object(members))
        }
        _ => Err(error(
            path,
            format!("a {} value is required", ty.friendly_name()),
        )),
    }
}

fn write_elements<'v>(
    typed_elements: impl Iterator<Item = (&'v Type, &'v Value)>,
    path: &mut Vec<PathStep>,
) -> Result<Json, ValueError> {
    let mut items = Vec::new();
    for (index, (element_type, element)) in typed_elements.enumerate() {
        path.push(PathStep::Index(index as u64));
        items.push(write(element_type, element, path)?);
        path.pop();
    }
    Ok(Json::Array(items))
}

/// The type syntax of L as a JSON value (for the dynamic wrapper).
fn type_to_json(ty: &Type) -> Json {
    let kind_and = |kind: &str, argument: Json| Json::Array(vec![Json::from(kind), argument]);
    match ty {
        Type::String => Json::from("string"),
        Type::Number => Json::from("number"),
        Type::Bool => Json::from("bool"),
        Type::Dynamic => Json::from("dynamic"),
        Type::List(element) => kind_and("list", type_to_json(element)),
        Type::Set(element) => kind_and("set", type_to_json(element)),
        Type::Map(element) => kind_and("map", type_to_json(element)),
        Type::Tuple(elements) => kind_and("tuple", elements.iter().map(type_to_json).collect()),
        Type::Object(attributes, optional) => {
            let attributes = attributes
                .iter()
                .map(|(name, ty)| (name.clone(), type_to_json(ty)))
                .collect();
            let mut items = vec![Json::from("object"), Json::Object(attributes)];
            if !optional.is_empty() {
                items.push(
                    optional
                        .iter()
                        .map(|name| Json::from(name.as_str()))
                        .collect(),
                );
            }
            Json::Array(items)
        }
    }
}
