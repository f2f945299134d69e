//! The Terraform value model (go-cty as Terraform serialises it): types, values with null and
//! (refined) unknowns, arbitrary-precision numbers, and the msgpack / JSON codecs of the plugin
//! protocol (docs/development/plugin-obligations.md, K1–K8, L1–L3).
//!
//! Knows nothing of gRPC, schemas or clouds.
//!
//! Values are untyped trees; the type lives beside them (schemas know their types) and every
//! codec takes it as an argument. Only a value in a `dynamic` position carries its concrete type,
//! in [`Value::Dynamic`]. Accessors such as [`Value::as_str`] look through that wrapper.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

mod json;
mod msgpack;
mod number;
mod type_json;

#[cfg(test)]
mod tests;

pub use json::{StoredJsonError, decode_json, decode_stored_json, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack, fuzz_decode};
pub use number::{Number, NumberParseError};

/// Nesting deeper than this is refused by the decoders, so hostile input cannot overflow the
/// stack (a `dynamic` value can nest types without end). Real Terraform values stay far below.
pub(crate) const MAX_DEPTH: usize = 200;

/// A cty type (docs/development/plugin-obligations.md, L1–L3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    String,
    Number,
    Bool,
    /// Any type; values travel in the dynamic wrapper (K6).
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Vec<Type>),
    /// Attribute types, plus the names of optional attributes (type constraints only, L2).
    Object(BTreeMap<String, Type>, BTreeSet<String>),
}

/// What an unknown value is known to satisfy (docs/development/plugin-obligations.md, K3).
/// `Refinements::default()` is a plain unknown.
///
/// Only the refinements that apply to the value's type are encoded (prefix for strings, bounds
/// for numbers, lengths for list/set/map), as go-cty does.
#[derive(Clone, Default, PartialEq)]
pub struct Refinements {
    /// `Some(false)`: definitely not null. (`Some(true)` would mean "definitely null", which cty
    /// collapses into a known null; the codecs do the same.)
    pub nullable: Option<bool>,
    /// A known prefix of an unknown string (Terraform truncates it to 256 bytes).
    pub string_prefix: Option<String>,
    /// `(bound, inclusive)`.
    pub number_lower: Option<(Number, bool)>,
    pub number_upper: Option<(Number, bool)>,
    pub length_lower: Option<u64>,
    pub length_upper: Option<u64>,
}

/// A Terraform value. The type lives beside it (schemas know their types); only values in a
/// `dynamic` position carry their concrete type (`Value::Dynamic`).
///
/// `Debug` never shows string contents (values carry client secrets and tokens, and `Debug`
/// output ends up in logs and panic messages); it shows their length instead.
#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    /// Boxed: the refinements are five times the size of any other variant, and an unknown is
    /// rare (never in a stored state), while every object's B-tree node holds eleven values.
    Unknown(Box<Refinements>),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Elements in no particular order, without duplicates.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// A value of concrete type `.0` in a `dynamic` position: known, null (a typed null) or an
    /// unknown of that type. `.0` is never `Type::Dynamic`: a null or unknown of type dynamic is
    /// plain `Value::Null` / `Value::Unknown`.
    Dynamic(Box<(Type, Value)>),
}

impl fmt::Debug for Value {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => formatter.write_str("Null"),
            Value::Unknown(refinements) if refinements.is_plain() => formatter.write_str("Unknown"),
            Value::Unknown(refinements) => write!(formatter, "Unknown({refinements:?})"),
            Value::Bool(flag) => write!(formatter, "Bool({flag})"),
            Value::Number(number) => write!(formatter, "Number({number})"),
            Value::String(text) => write!(formatter, "String(<{} bytes>)", text.len()),
            Value::List(elements) => {
                formatter.write_str("List")?;
                formatter.debug_list().entries(elements).finish()
            }
            Value::Set(elements) => {
                formatter.write_str("Set")?;
                formatter.debug_list().entries(elements).finish()
            }
            Value::Tuple(elements) => {
                formatter.write_str("Tuple")?;
                formatter.debug_list().entries(elements).finish()
            }
            Value::Map(entries) => {
                formatter.write_str("Map")?;
                formatter.debug_map().entries(entries).finish()
            }
            Value::Object(attributes) => {
                formatter.write_str("Object")?;
                formatter.debug_map().entries(attributes).finish()
            }
            Value::Dynamic(typed) => write!(formatter, "Dynamic({}, {:?})", typed.0, typed.1),
        }
    }
}

impl fmt::Debug for Refinements {
    /// Like a derived `Debug`, but the string prefix shows only its length (it may be the start
    /// of a secret).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Refinements")
            .field("nullable", &self.nullable)
            .field(
                "string_prefix",
                &self
                    .string_prefix
                    .as_ref()
                    .map(|prefix| format!("<{} bytes>", prefix.len())),
            )
            .field("number_lower", &self.number_lower)
            .field("number_upper", &self.number_upper)
            .field("length_lower", &self.length_lower)
            .field("length_upper", &self.length_upper)
            .finish()
    }
}

/// One step of a [`Path`] into a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute.
    Attribute(String),
    /// A list, tuple or set element (for sets: its position in the encoding).
    Index(u64),
    /// A map key.
    Key(String),
}

/// Where in a value something is; displays as `.attr[2]["key"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<PathStep>);

impl Path {
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.0 {
            match step {
                PathStep::Attribute(name) => write!(formatter, ".{name}")?,
                PathStep::Index(index) => write!(formatter, "[{index}]")?,
                PathStep::Key(key) => write!(formatter, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// A value that does not decode, encode or conform, and where in it the problem is. Messages
/// never contain values (they may be secrets), only types, attribute names and map keys.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValueError {
    path: Path,
    message: String,
}

impl ValueError {
    pub fn new(path: Path, message: impl Into<String>) -> ValueError {
        ValueError {
            path,
            message: message.into(),
        }
    }

    /// `result`, with `name`'s step put at `depth` of the path if it is an error: the codecs and
    /// the conformance check do not clone every attribute name into the path while all goes well.
    pub(crate) fn within_attribute<T>(
        depth: usize,
        name: &str,
        result: Result<T, ValueError>,
    ) -> Result<T, ValueError> {
        result.map_err(|mut error| {
            error.insert_step(depth, PathStep::Attribute(name.to_owned()));
            error
        })
    }

    /// Puts `step` at `depth` of the path: a decoder that does not track a step while all goes
    /// well adds it to the errors that pass through it.
    pub(crate) fn insert_step(&mut self, depth: usize, step: PathStep) {
        let depth = depth.min(self.path.0.len());
        self.path.0.insert(depth, step);
    }

    /// Where the problem is (empty: the value as a whole).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the problem is, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            formatter.write_str(&self.message)
        } else {
            write!(formatter, "{}: {}", self.path, self.message)
        }
    }
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    pub fn tuple(elements: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(elements.into_iter().collect())
    }

    /// An object type without optional attributes (what schemas imply).
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(
            attributes
                .into_iter()
                .map(|(name, ty)| (name.into(), ty))
                .collect(),
            BTreeSet::new(),
        )
    }

    /// An object type constraint whose `optional` attributes may be omitted (L2).
    pub fn object_with_optional<K: Into<String>, O: Into<String>>(
        attributes: impl IntoIterator<Item = (K, Type)>,
        optional: impl IntoIterator<Item = O>,
    ) -> Type {
        Type::Object(
            attributes
                .into_iter()
                .map(|(name, ty)| (name.into(), ty))
                .collect(),
            optional.into_iter().map(Into::into).collect(),
        )
    }

    /// List, set or map: the types cty calls collections (length refinements apply to them).
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(element) | Type::Set(element) | Type::Map(element) => Some(element),
            _ => None,
        }
    }

    /// The attribute types of an object type.
    pub fn attribute_types(&self) -> Option<&BTreeMap<String, Type>> {
        match self {
            Type::Object(attributes, _) => Some(attributes),
            _ => None,
        }
    }

    /// Whether `dynamic` appears anywhere in the type.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(element) | Type::Set(element) | Type::Map(element) => element.has_dynamic(),
            Type::Tuple(elements) => elements.iter().any(Type::has_dynamic),
            Type::Object(attributes, _) => attributes.values().any(Type::has_dynamic),
        }
    }

    /// The same type with every object's optional-attribute markers removed, recursively: the
    /// shape of values (schema implied types never carry them, L2).
    pub fn without_optional_attributes(&self) -> Type {
        match self {
            Type::String | Type::Number | Type::Bool | Type::Dynamic => self.clone(),
            Type::List(element) => Type::list(element.without_optional_attributes()),
            Type::Set(element) => Type::set(element.without_optional_attributes()),
            Type::Map(element) => Type::map(element.without_optional_attributes()),
            Type::Tuple(elements) => Type::Tuple(
                elements
                    .iter()
                    .map(Type::without_optional_attributes)
                    .collect(),
            ),
            Type::Object(attributes, _) => Type::Object(
                attributes
                    .iter()
                    .map(|(name, ty)| (name.clone(), ty.without_optional_attributes()))
                    .collect(),
                BTreeSet::new(),
            ),
        }
    }

    /// A short name for messages: `string`, `list of number`, `object`, …
    pub fn friendly_name(&self) -> String {
        match self {
            Type::String => "string".to_owned(),
            Type::Number => "number".to_owned(),
            Type::Bool => "bool".to_owned(),
            Type::Dynamic => "dynamic".to_owned(),
            Type::List(element) => format!("list of {}", element.friendly_name()),
            Type::Set(element) => format!("set of {}", element.friendly_name()),
            Type::Map(element) => format!("map of {}", element.friendly_name()),
            Type::Tuple(_) => "tuple".to_owned(),
            Type::Object(_, _) => "object".to_owned(),
        }
    }
}

impl fmt::Display for Type {
    /// The JSON type syntax (L), e.g. `["list","string"]`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_json())
    }
}

impl Refinements {
    /// Refinements of a value known not to be null.
    pub fn not_null() -> Refinements {
        Refinements {
            nullable: Some(false),
            ..Refinements::default()
        }
    }

    pub fn is_plain(&self) -> bool {
        *self == Refinements::default()
    }
}

impl Value {
    /// A known string.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A known number.
    pub fn number(number: impl Into<Number>) -> Value {
        Value::Number(number.into())
    }

    /// A plain (unrefined) unknown.
    pub fn unknown() -> Value {
        Value::Unknown(Box::default())
    }

    /// An unknown that is known not to be null.
    pub fn unknown_not_null() -> Value {
        Value::Unknown(Box::new(Refinements::not_null()))
    }

    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(
            attributes
                .into_iter()
                .map(|(name, value)| (name.into(), value))
                .collect(),
        )
    }

    pub fn list(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::List(elements.into_iter().collect())
    }

    pub fn tuple(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(elements.into_iter().collect())
    }

    /// A set; equal (wholly known) elements collapse into one, as in cty.
    pub fn set(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(dedupe_set_elements(elements.into_iter().collect()))
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| (key.into(), value))
                .collect(),
        )
    }

    /// `value`, of concrete type `ty`, for a `dynamic` position. A `dynamic` `ty` says nothing
    /// more, so `value` is returned as it is.
    pub fn dynamic(ty: Type, value: Value) -> Value {
        if ty == Type::Dynamic {
            value
        } else {
            Value::Dynamic(Box::new((ty, value)))
        }
    }

    /// The value itself, or the wrapped value of a [`Value::Dynamic`].
    pub fn unwrap_dynamic(&self) -> &Value {
        match self {
            Value::Dynamic(typed) => &typed.1,
            other => other,
        }
    }

    fn unwrap_dynamic_mut(&mut self) -> &mut Value {
        match self {
            Value::Dynamic(typed) => &mut typed.1,
            other => other,
        }
    }

    /// The concrete type carried by a [`Value::Dynamic`].
    pub fn dynamic_type(&self) -> Option<&Type> {
        match self {
            Value::Dynamic(typed) => Some(&typed.0),
            _ => None,
        }
    }

    /// Null (typed or not).
    pub fn is_null(&self) -> bool {
        matches!(self.unwrap_dynamic(), Value::Null)
    }

    /// Unknown at the top level (elements of a known collection may still be unknown).
    pub fn is_unknown(&self) -> bool {
        matches!(self.unwrap_dynamic(), Value::Unknown(_))
    }

    /// Not unknown at the top level.
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// Known all the way down.
    pub fn is_wholly_known(&self) -> bool {
        match self.unwrap_dynamic() {
            Value::Unknown(_) => false,
            Value::List(elements) | Value::Set(elements) | Value::Tuple(elements) => {
                elements.iter().all(Value::is_wholly_known)
            }
            Value::Map(entries) | Value::Object(entries) => {
                entries.values().all(Value::is_wholly_known)
            }
            _ => true,
        }
    }

    /// The refinements of an unknown value.
    pub fn refinements(&self) -> Option<&Refinements> {
        match self.unwrap_dynamic() {
            Value::Unknown(refinements) => Some(refinements),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_dynamic() {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrap_dynamic() {
            Value::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unwrap_dynamic() {
            Value::Number(number) => Some(number),
            _ => None,
        }
    }

    /// A number that is an integer within `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// An object attribute.
    pub fn get(&self, attribute: &str) -> Option<&Value> {
        match self.unwrap_dynamic() {
            Value::Object(attributes) => attributes.get(attribute),
            _ => None,
        }
    }

    /// An object attribute, to change it.
    pub fn get_mut(&mut self, attribute: &str) -> Option<&mut Value> {
        match self.unwrap_dynamic_mut() {
            Value::Object(attributes) => attributes.get_mut(attribute),
            _ => None,
        }
    }

    /// The elements of a list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unwrap_dynamic() {
            Value::List(elements) | Value::Set(elements) | Value::Tuple(elements) => Some(elements),
            _ => None,
        }
    }

    /// The entries of a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The attributes of an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Object(attributes) => Some(attributes),
            _ => None,
        }
    }

    /// Whether the value has exactly type `ty` (I1): every object attribute present and no
    /// other, tuples of the right length, dynamic positions wrapped. Null and unknown conform to
    /// every type. The error names the path of the first mismatch.
    pub fn conforms_to(&self, ty: &Type) -> Result<(), String> {
        self.check_conformance(ty)
            .map_err(|error| error.to_string())
    }

    /// [`Value::conforms_to`] with a structured error.
    pub fn check_conformance(&self, ty: &Type) -> Result<(), ValueError> {
        let mut path = Vec::new();
        check_conformance(self, ty, &mut path)
    }

    /// Exact equality, as cty's `RawEquals`: null, empty and unknown all differ; list order
    /// matters; numbers compare by value; sets compare without regard to order; two unknowns are
    /// equal when their refinements are.
    pub fn raw_equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Dynamic(left), Value::Dynamic(right)) => {
                left.0 == right.0 && left.1.raw_equals(&right.1)
            }
            (Value::Set(left), Value::Set(right)) => {
                left.len() == right.len()
                    && left
                        .iter()
                        .all(|element| right.iter().any(|other| element.raw_equals(other)))
                    && right
                        .iter()
                        .all(|element| left.iter().any(|other| element.raw_equals(other)))
            }
            (Value::List(left), Value::List(right)) | (Value::Tuple(left), Value::Tuple(right)) => {
                left.len() == right.len()
                    && left
                        .iter()
                        .zip(right)
                        .all(|(element, other)| element.raw_equals(other))
            }
            (Value::Map(left), Value::Map(right)) | (Value::Object(left), Value::Object(right)) => {
                left.len() == right.len()
                    && left
                        .iter()
                        .zip(right)
                        .all(|((left_key, element), (right_key, other))| {
                            left_key == right_key && element.raw_equals(other)
                        })
            }
            (left, right) => left == right,
        }
    }

    /// The JSON form (K8) as a `serde_json::Value`; fails on unknowns.
    pub fn to_json_value(&self, ty: &Type) -> Result<serde_json::Value, ValueError> {
        json::to_json_value(ty, self)
    }

    /// Reads the JSON form (K8) from a `serde_json::Value`.
    pub fn from_json_value(ty: &Type, json: &serde_json::Value) -> Result<Value, ValueError> {
        json::from_json_value(ty, json)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Value {
        Value::Bool(flag)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::String(text)
    }
}

impl From<Number> for Value {
    fn from(number: Number) -> Value {
        Value::Number(number)
    }
}

impl From<i64> for Value {
    fn from(integer: i64) -> Value {
        Value::Number(Number::from(integer))
    }
}

impl From<i32> for Value {
    fn from(integer: i32) -> Value {
        Value::Number(Number::from(integer))
    }
}

impl From<u64> for Value {
    fn from(integer: u64) -> Value {
        Value::Number(Number::from(integer))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is null.
    fn from(option: Option<T>) -> Value {
        option.map_or(Value::Null, Into::into)
    }
}

/// The elements of a set without repeats, keeping the first of equal elements. Elements that are
/// not wholly known are never the same as anything (cty cannot tell them apart), so all stay.
/// Linear in the number of elements (hashing a canonical key), so a hostile set of many elements
/// cannot make decoding quadratic.
pub(crate) fn unique_set_elements(elements: &[Value]) -> Vec<&Value> {
    let mut seen = HashSet::with_capacity(elements.len());
    elements
        .iter()
        .filter(|element| {
            if !element.is_wholly_known() {
                return true;
            }
            let mut key = Vec::new();
            canonical_key(element, &mut key);
            seen.insert(key)
        })
        .collect()
}

/// [`unique_set_elements`] for an owned list.
pub(crate) fn dedupe_set_elements(elements: Vec<Value>) -> Vec<Value> {
    let mut seen = HashSet::with_capacity(elements.len());
    elements
        .into_iter()
        .filter(|element| {
            if !element.is_wholly_known() {
                return true;
            }
            let mut key = Vec::new();
            canonical_key(element, &mut key);
            seen.insert(key)
        })
        .collect()
}

/// Writes bytes that are equal for two wholly known values exactly when they are raw-equal:
/// self-delimiting (lengths before contents), numbers in canonical text, set elements sorted.
fn canonical_key(value: &Value, out: &mut Vec<u8>) {
    fn write_len(out: &mut Vec<u8>, len: usize) {
        out.extend_from_slice(&(len as u64).to_le_bytes());
    }
    fn write_text(out: &mut Vec<u8>, text: &str) {
        write_len(out, text.len());
        out.extend_from_slice(text.as_bytes());
    }
    match value {
        Value::Null => out.push(0),
        Value::Unknown(_) => out.push(1),
        Value::Bool(flag) => out.extend_from_slice(&[2, u8::from(*flag)]),
        Value::Number(number) => {
            out.push(3);
            write_text(out, &number.to_string());
        }
        Value::String(text) => {
            out.push(4);
            write_text(out, text);
        }
        Value::List(elements) | Value::Tuple(elements) => {
            out.push(if matches!(value, Value::List(_)) {
                5
            } else {
                6
            });
            write_len(out, elements.len());
            for element in elements {
                canonical_key(element, out);
            }
        }
        Value::Set(elements) => {
            let mut keys: Vec<Vec<u8>> = elements
                .iter()
                .map(|element| {
                    let mut key = Vec::new();
                    canonical_key(element, &mut key);
                    key
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            out.push(7);
            write_len(out, keys.len());
            for key in keys {
                out.extend_from_slice(&key);
            }
        }
        Value::Map(entries) | Value::Object(entries) => {
            out.push(if matches!(value, Value::Map(_)) { 8 } else { 9 });
            write_len(out, entries.len());
            for (key, element) in entries {
                write_text(out, key);
                canonical_key(element, out);
            }
        }
        Value::Dynamic(typed) => {
            out.push(10);
            write_text(out, &typed.0.to_json());
            canonical_key(&typed.1, out);
        }
    }
}

fn check_conformance(value: &Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<(), ValueError> {
    let mismatch = |path: &Vec<PathStep>| {
        Err(ValueError::new(
            Path(path.clone()),
            format!("a {} value is required", ty.friendly_name()),
        ))
    };
    match (ty, value) {
        (_, Value::Null | Value::Unknown(_)) => Ok(()),
        (Type::Dynamic, Value::Dynamic(typed)) => {
            let (concrete, inner) = &**typed;
            if *concrete == Type::Dynamic {
                return Err(ValueError::new(
                    Path(path.clone()),
                    "the concrete type of a dynamic value cannot be dynamic",
                ));
            }
            check_conformance(inner, concrete, path)
        }
        (Type::Dynamic, _) => Err(ValueError::new(
            Path(path.clone()),
            "a value in a dynamic position needs its concrete type (Value::Dynamic)",
        )),
        (_, Value::Dynamic(_)) => Err(ValueError::new(
            Path(path.clone()),
            format!(
                "a {} value is required, not a dynamically-typed value",
                ty.friendly_name()
            ),
        )),
        (Type::String, Value::String(_))
        | (Type::Number, Value::Number(_))
        | (Type::Bool, Value::Bool(_)) => Ok(()),
        (Type::List(element_type), Value::List(elements))
        | (Type::Set(element_type), Value::Set(elements)) => {
            for (index, element) in elements.iter().enumerate() {
                path.push(PathStep::Index(index as u64));
                check_conformance(element, element_type, path)?;
                path.pop();
            }
            Ok(())
        }
        (Type::Map(element_type), Value::Map(entries)) => {
            for (key, element) in entries {
                path.push(PathStep::Key(key.clone()));
                check_conformance(element, element_type, path)?;
                path.pop();
            }
            Ok(())
        }
        (Type::Tuple(element_types), Value::Tuple(elements)) => {
            if element_types.len() != elements.len() {
                return Err(ValueError::new(
                    Path(path.clone()),
                    format!(
                        "a tuple of length {} is required ({} given)",
                        element_types.len(),
                        elements.len()
                    ),
                ));
            }
            for (index, (element, element_type)) in elements.iter().zip(element_types).enumerate() {
                path.push(PathStep::Index(index as u64));
                check_conformance(element, element_type, path)?;
                path.pop();
            }
            Ok(())
        }
        (Type::Object(attribute_types, _), Value::Object(attributes)) => {
            check_attribute_names(attribute_types, attributes, path)?;
            // Same keys in the same order (checked above), so the two maps walk in lockstep.
            for ((name, attribute_type), attribute) in
                attribute_types.iter().zip(attributes.values())
            {
                let depth = path.len();
                ValueError::within_attribute(
                    depth,
                    name,
                    check_conformance(attribute, attribute_type, path),
                )?;
            }
            Ok(())
        }
        _ => mismatch(path),
    }
}

/// Errors naming the first attribute that is missing from, or unexpected in, an object value.
pub(crate) fn check_attribute_names(
    attribute_types: &BTreeMap<String, Type>,
    attributes: &BTreeMap<String, Value>,
    path: &[PathStep],
) -> Result<(), ValueError> {
    // Both maps iterate in key order, so equal key sets are one lockstep walk: this runs for
    // every object of every value crossing the wire, where lookups per key showed in profiles.
    if attribute_types.len() == attributes.len() && attribute_types.keys().eq(attributes.keys()) {
        return Ok(());
    }
    if let Some(missing) = attribute_types
        .keys()
        .find(|name| !attributes.contains_key(*name))
    {
        let mut attribute_path = path.to_vec();
        attribute_path.push(PathStep::Attribute(missing.clone()));
        return Err(ValueError::new(
            Path(attribute_path),
            "attribute is missing from the object",
        ));
    }
    if let Some(unexpected) = attributes
        .keys()
        .find(|name| !attribute_types.contains_key(*name))
    {
        let mut attribute_path = path.to_vec();
        attribute_path.push(PathStep::Attribute(unexpected.clone()));
        return Err(ValueError::new(
            Path(attribute_path),
            "unsupported attribute",
        ));
    }
    Ok(())
}
