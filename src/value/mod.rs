//! The Terraform value model (go-cty as Terraform serialises it): types, values with null and
//! (refined) unknowns, arbitrary-precision numbers, and the msgpack / JSON codecs of the plugin
//! protocol (protocol.md K1–K8, L1–L3).
//!
//! Knows nothing of gRPC, schemas or clouds.

use std::collections::{BTreeMap, BTreeSet};

mod number;
pub use number::Number;

/// A cty type (protocol.md L).
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

/// What an unknown value is known to satisfy (protocol.md K3). `Refinements::default()` is a
/// plain unknown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinements {
    /// `Some(false)`: definitely not null.
    pub nullable: Option<bool>,
    pub string_prefix: Option<String>,
    /// `(bound, inclusive)`.
    pub number_lower: Option<(Number, bool)>,
    pub number_upper: Option<(Number, bool)>,
    pub length_lower: Option<u64>,
    pub length_upper: Option<u64>,
}

/// A Terraform value. The type lives beside it (schemas know their types); only values in a
/// `dynamic` position carry their concrete type (`Value::Dynamic`).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Unknown(Refinements),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Elements in no particular order, without duplicates.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// A known or null value of concrete type `.0` in a `dynamic` position.
    Dynamic(Box<(Type, Value)>),
}
