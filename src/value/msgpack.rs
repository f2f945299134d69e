//! The msgpack form of `DynamicValue` (docs/development/plugin-obligations.md, K1–K7),
//! byte-compatible with go-cty's `cty/msgpack` as Terraform v1.11 uses it.
//!
//! The decoder peeks at each marker before consuming anything (rmp consumes a marker even when it
//! has the wrong type, so try-and-rewind loses data), accepts every form go-cty accepts (ints of
//! every width, floats and decimal strings for numbers; bin for strings; unknowns in every ext
//! size), and is strict where go-cty is lax only by accident: an object must list each attribute
//! exactly once, a tuple must have its length, and nothing may follow the value. The encoder
//! writes what go-cty writes: compact ints, float64 only for exact non-integers, strings for
//! other numbers, `d4 00 00` for plain unknowns, sorted keys.

use std::collections::BTreeMap;

use rmp::Marker;
use rmp::encode::ByteBuf;

use super::{
    MAX_DEPTH, Number, Path, PathStep, Refinements, Type, Value, ValueError, check_attribute_names,
    unique_set_elements,
};

/// The ext type of an unknown that carries refinements (K3).
const REFINED_UNKNOWN_EXT: i8 = 0x0c;
/// The bytes of a plain unknown: fixext1, type 0, one zero byte (K2).
const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];
/// Terraform refuses larger refinement payloads.
const MAX_REFINEMENT_PAYLOAD: u32 = 1024;
/// Terraform truncates string prefixes to this many bytes before encoding them.
const MAX_STRING_PREFIX: usize = 256;

const REFINE_NULLNESS: i64 = 1;
const REFINE_STRING_PREFIX: i64 = 2;
const REFINE_NUMBER_LOWER: i64 = 3;
const REFINE_NUMBER_UPPER: i64 = 4;
const REFINE_LENGTH_LOWER: i64 = 5;
const REFINE_LENGTH_UPPER: i64 = 6;

/// Decodes a msgpack `DynamicValue` of type `ty`.
pub fn decode_msgpack(ty: &Type, bytes: &[u8]) -> Result<Value, ValueError> {
    let mut decoder = Decoder {
        input: bytes,
        path: Vec::new(),
        depth: 0,
    };
    let value = decoder.value(ty)?;
    if !decoder.input.is_empty() {
        return Err(ValueError::new(
            Path::default(),
            format!(
                "{} unexpected bytes after the msgpack value",
                decoder.input.len()
            ),
        ));
    }
    Ok(value)
}

/// The encoder's first buffer, in bytes.
const INITIAL_CAPACITY: usize = 1024;

/// Encodes `value`, which must conform to `ty` ([`Value::conforms_to`]), as msgpack.
pub fn encode_msgpack(ty: &Type, value: &Value) -> Result<Vec<u8>, ValueError> {
    let mut encoder = Encoder {
        // Most states are a few hundred bytes to 2 KB: starting at 1 KiB (the largest size of
        // glibc's per-thread cache) spares the six or seven doublings from empty, each a
        // `realloc` and a copy (about 4 M instructions in a refresh of 400 resources).
        out: ByteBuf::with_capacity(INITIAL_CAPACITY),
        path: Vec::new(),
    };
    encoder.value(ty, value)?;
    Ok(encoder.out.into_vec())
}

/// Decodes arbitrary bytes as several types, ignoring the results: the entry point of the
/// bounded fuzz test and of a libFuzzer target. Must never panic, whatever `data` is.
pub fn fuzz_decode(data: &[u8]) {
    let types = fuzz_types();
    for ty in &types {
        if let Ok(value) = decode_msgpack(ty, data) {
            // What decodes must encode again, and decode to the same value.
            let Ok(encoded) = encode_msgpack(ty, &value) else {
                continue;
            };
            let _ = decode_msgpack(ty, &encoded);
        }
    }
    if let Some((&selector, rest)) = data.split_first() {
        let _ = decode_msgpack(&types[usize::from(selector) % types.len()], rest);
    }
}

/// Types that exercise every decoder path.
pub(crate) fn fuzz_types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Dynamic),
        Type::tuple([Type::Bool, Type::Number, Type::Dynamic]),
        Type::object([
            ("id", Type::String),
            ("count", Type::Number),
            ("tags", Type::map(Type::String)),
            ("rules", Type::list(Type::object([("port", Type::Number)]))),
            ("extra", Type::Dynamic),
        ]),
    ]
}

struct Decoder<'a> {
    /// What is left to read.
    input: &'a [u8],
    path: Vec<PathStep>,
    depth: usize,
}

impl<'a> Decoder<'a> {
    fn error(&self, message: impl Into<String>) -> ValueError {
        ValueError::new(Path(self.path.clone()), message)
    }

    fn peek(&self) -> Result<Marker, ValueError> {
        match self.input.first() {
            Some(&byte) => Ok(Marker::from_u8(byte)),
            None => Err(self.error("unexpected end of msgpack data")),
        }
    }

    fn truncated(&self) -> ValueError {
        self.error("unexpected end of msgpack data")
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ValueError> {
        if self.input.len() < len {
            return Err(self.truncated());
        }
        let (taken, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(taken)
    }

    fn value(&mut self, ty: &Type) -> Result<Value, ValueError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error("value is nested too deeply"));
        }
        self.depth += 1;
        let result = self.value_at_depth(ty);
        self.depth -= 1;
        result
    }

    fn value_at_depth(&mut self, ty: &Type) -> Result<Value, ValueError> {
        let marker = self.peek()?;
        if is_ext(marker) {
            return self.unknown(ty);
        }
        if *ty == Type::Dynamic {
            return self.dynamic();
        }
        if marker == Marker::Null {
            self.input = &self.input[1..];
            return Ok(Value::Null);
        }
        match ty {
            Type::Bool => match marker {
                Marker::True | Marker::False => {
                    self.input = &self.input[1..];
                    Ok(Value::Bool(marker == Marker::True))
                }
                _ => Err(self.error("bool is required")),
            },
            Type::Number => self.number().map(Value::Number),
            Type::String => self.string("string is required").map(Value::String),
            Type::List(element_type) => {
                let len = self.array_len("a list is required")?;
                Ok(Value::List(self.elements(len, |_| element_type)?))
            }
            Type::Set(element_type) => {
                let len = self.array_len("a set is required")?;
                let elements = self.elements(len, |_| element_type)?;
                Ok(Value::Set(super::dedupe_set_elements(elements)))
            }
            Type::Tuple(element_types) => {
                let len = self.array_len("a tuple is required")?;
                if len != element_types.len() {
                    return Err(self.error(format!(
                        "a tuple of length {} is required ({len} given)",
                        element_types.len()
                    )));
                }
                Ok(Value::Tuple(
                    self.elements(len, |index| &element_types[index])?,
                ))
            }
            Type::Map(element_type) => {
                let len = self.map_len("a map is required")?;
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    let key = self.string("map keys must be strings")?;
                    self.path.push(PathStep::Key(key.clone()));
                    let element = self.value(element_type)?;
                    self.path.pop();
                    entries.insert(key, element);
                }
                Ok(Value::Map(entries))
            }
            Type::Object(attribute_types, _) => self.object(attribute_types),
            // Dynamic values were read above, before the null check (K6).
            Type::Dynamic => self.dynamic(),
        }
    }

    /// `len` elements; `element_type(index)` gives each one's type.
    fn elements<'t>(
        &mut self,
        len: usize,
        element_type: impl Fn(usize) -> &'t Type,
    ) -> Result<Vec<Value>, ValueError> {
        // Each element takes at least one byte, so the input bounds a sane capacity.
        let mut elements = Vec::with_capacity(len.min(self.input.len()));
        for index in 0..len {
            self.path.push(PathStep::Index(index as u64));
            elements.push(self.value(element_type(index))?);
            self.path.pop();
        }
        Ok(elements)
    }

    fn object(&mut self, attribute_types: &BTreeMap<String, Type>) -> Result<Value, ValueError> {
        let len = self.map_len("an object is required")?;
        if len != attribute_types.len() {
            return Err(self.object_count_error(attribute_types, len));
        }
        // Terraform writes the attributes in key order: collected in a vector and built into
        // the map in one go, which is cheaper than an insertion per attribute (this runs for
        // every object of every value crossing the wire). Strictly increasing names cannot
        // repeat; only input in another order needs the duplicate search.
        let mut attributes: Vec<(String, Value)> = Vec::with_capacity(len);
        let mut in_order = true;
        // The attribute expected next in key order: in the usual case each name is compared
        // with it once instead of searched for in the type.
        let mut expected = attribute_types.iter();
        for _ in 0..len {
            let name = self.borrowed_bytes("object attribute names must be strings")?;
            let at_attribute = |decoder: &Self, name: &str, message: &str| {
                let mut path = decoder.path.clone();
                path.push(PathStep::Attribute(name.to_owned()));
                ValueError::new(Path(path), message)
            };
            // Bytes equal to the expected name are valid UTF-8 (the name is a `String`), so
            // only a name out of order is checked and searched for.
            let (name, attribute_type) = match expected.next() {
                Some(next) if next.0.as_bytes() == name => next,
                _ => {
                    let name = self.utf8(name)?;
                    match attribute_types.get_key_value(name) {
                        Some(found) => found,
                        None => return Err(at_attribute(self, name, "unsupported attribute")),
                    }
                }
            };
            if let Some((previous, _)) = attributes.last()
                && previous.as_str() >= name.as_str()
            {
                in_order = false;
            }
            if !in_order && attributes.iter().any(|(seen, _)| seen == name) {
                return Err(at_attribute(self, name, "attribute appears more than once"));
            }
            let depth = self.path.len();
            let decoded = self.value(attribute_type);
            let attribute = ValueError::within_attribute(depth, name, decoded)?;
            attributes.push((name.clone(), attribute));
        }
        let attributes: BTreeMap<String, Value> = attributes.into_iter().collect();
        // Every name is one of the type's (looked up above) and the map holds each once, so
        // as many entries as the type has attributes means every attribute is there. Checked
        // anyway, by count rather than name by name (this runs for every object decoded), so
        // that a future change cannot silently let a partial object through.
        if attributes.len() != attribute_types.len() {
            check_attribute_names(attribute_types, &attributes, &self.path)?;
            return Err(self.error("an object with every attribute is required"));
        }
        Ok(Value::Object(attributes))
    }

    /// The error for an object map with the wrong number of entries, naming the first key that
    /// is not an attribute or else the first attribute that is missing (the keys are read, and
    /// the values skipped, to find out).
    fn object_count_error(
        &mut self,
        attribute_types: &BTreeMap<String, Type>,
        len: usize,
    ) -> ValueError {
        let summary = format!(
            "an object with {} attributes is required ({len} given)",
            attribute_types.len()
        );
        let mut names = Vec::new();
        for _ in 0..len {
            let Ok(name) = self.string("") else {
                return self.error(summary);
            };
            if self.skip_value().is_err() {
                return self.error(summary);
            }
            names.push(name);
        }
        let unexpected = names
            .iter()
            .find(|name| !attribute_types.contains_key(*name));
        let missing = attribute_types.keys().find(|name| !names.contains(name));
        let (name, problem) = match (unexpected, missing) {
            (Some(name), _) => (name, "unsupported attribute"),
            (None, Some(name)) => (name, "attribute is missing"),
            (None, None) => return self.error(summary),
        };
        self.path.push(PathStep::Attribute(name.clone()));
        let error = self.error(format!("{problem}; {summary}"));
        self.path.pop();
        error
    }

    /// A dynamic value: nil (null of no type), or `[typeJSON, value]` (K6).
    fn dynamic(&mut self) -> Result<Value, ValueError> {
        if self.peek()? == Marker::Null {
            self.input = &self.input[1..];
            return Ok(Value::Null);
        }
        let len = self.array_len("a dynamic value ([type, value] array) is required")?;
        if len != 2 {
            return Err(self.error("dynamic value array must have exactly two elements"));
        }
        let type_json = match self.peek()? {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let len = self.read_len(rmp::decode::read_str_len)?;
                self.take(len)?
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let len = self.read_len(rmp::decode::read_bin_len)?;
                self.take(len)?
            }
            _ => return Err(self.error("the type of a dynamic value must be bin or str JSON")),
        };
        let ty = Type::from_json(type_json).map_err(|error| {
            self.error(format!(
                "invalid type of a dynamic value: {}",
                error.message()
            ))
        })?;
        let value = self.value(&ty)?;
        Ok(Value::dynamic(ty, value))
    }

    fn unknown(&mut self, ty: &Type) -> Result<Value, ValueError> {
        let meta = rmp::decode::read_ext_meta(&mut self.input).map_err(|_| self.truncated())?;
        let payload = self.take(meta.size as usize)?;
        if meta.size <= 1 {
            // Any ext of at most one byte is a plain unknown, whatever its type code (K2).
            return Ok(Value::unknown());
        }
        if meta.typeid != REFINED_UNKNOWN_EXT {
            return Err(self.error(format!(
                "unsupported extension type 0x{:02x} with length {}",
                meta.typeid as u8, meta.size
            )));
        }
        if meta.size > MAX_REFINEMENT_PAYLOAD {
            return Err(self.error("oversize unknown value refinement"));
        }
        // Read the refinement map from the payload, then carry on after the ext.
        let rest = std::mem::replace(&mut self.input, payload);
        let refinements = self.refinements(ty);
        self.input = rest;
        let refinements = refinements?;
        if refinements.nullable == Some(true) {
            // cty collapses "definitely null" into a known null.
            return Ok(Value::Null);
        }
        Ok(Value::Unknown(Box::new(refinements)))
    }

    /// The refinement map of K3. Unknown keys are skipped; bytes after the map are ignored.
    fn refinements(&mut self, ty: &Type) -> Result<Refinements, ValueError> {
        const BAD_BODY: &str = "failed to decode msgpack extension body";
        let entries = self
            .map_len("")
            .map_err(|_| self.error(format!("{BAD_BODY}: not a map")))?;
        let mut refinements = Refinements::default();
        if *ty == Type::Dynamic {
            // Unknowns of type dynamic carry no refinements; ignore any, as go-cty does.
            return Ok(refinements);
        }
        for _ in 0..entries {
            let key = self
                .int()
                .map_err(|_| self.error(format!("{BAD_BODY}: non-integer key in map")))?;
            match key {
                REFINE_NULLNESS => match self.peek()? {
                    marker @ (Marker::True | Marker::False) => {
                        self.input = &self.input[1..];
                        refinements.nullable = Some(marker == Marker::True);
                    }
                    _ => {
                        return Err(
                            self.error(format!("{BAD_BODY}: null refinement is not boolean"))
                        );
                    }
                },
                REFINE_STRING_PREFIX => {
                    if *ty != Type::String {
                        return Err(self.error(format!(
                            "{BAD_BODY}: string prefix refinement for non-string type"
                        )));
                    }
                    let prefix = self.string(&format!(
                        "{BAD_BODY}: string prefix refinement is not a UTF-8 string"
                    ))?;
                    refinements.string_prefix = (!prefix.is_empty()).then_some(prefix);
                }
                REFINE_LENGTH_LOWER | REFINE_LENGTH_UPPER => {
                    if !ty.is_collection() {
                        return Err(self.error(format!(
                            "{BAD_BODY}: length bound refinement for non-collection type"
                        )));
                    }
                    let bound = self
                        .int()
                        .ok()
                        .and_then(|bound| u64::try_from(bound).ok())
                        .ok_or_else(|| {
                            self.error(format!(
                                "{BAD_BODY}: length bound refinement must be a non-negative integer"
                            ))
                        })?;
                    if key == REFINE_LENGTH_LOWER {
                        refinements.length_lower = (bound != 0).then_some(bound);
                    } else {
                        // cty's "no upper bound" is the largest int.
                        refinements.length_upper = (bound < i64::MAX as u64).then_some(bound);
                    }
                }
                REFINE_NUMBER_LOWER | REFINE_NUMBER_UPPER => {
                    if *ty != Type::Number {
                        return Err(self.error(format!(
                            "{BAD_BODY}: numeric bound refinement for non-number type"
                        )));
                    }
                    let bound_type = Type::tuple([Type::Number, Type::Bool]);
                    let bound = match self.value(&bound_type) {
                        Ok(Value::Tuple(pair)) => match pair.as_slice() {
                            [Value::Number(bound), Value::Bool(inclusive)] => {
                                Some((bound.clone(), *inclusive))
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    let Some((bound, inclusive)) = bound else {
                        return Err(self.error(format!(
                            "{BAD_BODY}: number bound refinement must be a [number, bool] array"
                        )));
                    };
                    if key == REFINE_NUMBER_LOWER {
                        refinements.number_lower =
                            (bound != Number::negative_infinity()).then_some((bound, inclusive));
                    } else {
                        refinements.number_upper =
                            (bound != Number::positive_infinity()).then_some((bound, inclusive));
                    }
                }
                _ => self.skip_value()?,
            }
        }
        Ok(refinements)
    }

    /// Skips one msgpack value of any kind (an unknown refinement's value).
    fn skip_value(&mut self) -> Result<(), ValueError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error("value is nested too deeply"));
        }
        let marker = self.peek()?;
        let fixed_data_len = match marker {
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::Null
            | Marker::True
            | Marker::False
            | Marker::Reserved => 0,
            Marker::U8 | Marker::I8 => 1,
            Marker::U16 | Marker::I16 => 2,
            Marker::U32 | Marker::I32 | Marker::F32 => 4,
            Marker::U64 | Marker::I64 | Marker::F64 => 8,
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let len = self.read_len(rmp::decode::read_str_len)?;
                self.take(len)?;
                return Ok(());
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let len = self.read_len(rmp::decode::read_bin_len)?;
                self.take(len)?;
                return Ok(());
            }
            marker if is_ext(marker) => {
                let meta =
                    rmp::decode::read_ext_meta(&mut self.input).map_err(|_| self.truncated())?;
                self.take(meta.size as usize)?;
                return Ok(());
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                let len = self.array_len("")?;
                return self.skip_nested(len);
            }
            _ => {
                let len = self.map_len("")?;
                return self.skip_nested(len.saturating_mul(2));
            }
        };
        self.take(1 + fixed_data_len)?;
        Ok(())
    }

    fn skip_nested(&mut self, count: usize) -> Result<(), ValueError> {
        self.depth += 1;
        let result = (0..count).try_for_each(|_| self.skip_value());
        self.depth -= 1;
        result
    }

    fn number(&mut self) -> Result<Number, ValueError> {
        const REQUIRED: &str = "number is required";
        match self.peek()? {
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => {
                let integer: i64 =
                    rmp::decode::read_int(&mut self.input).map_err(|_| self.error(REQUIRED))?;
                Ok(Number::from(integer))
            }
            Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                let integer: u64 =
                    rmp::decode::read_int(&mut self.input).map_err(|_| self.error(REQUIRED))?;
                Ok(Number::from(integer))
            }
            Marker::F32 => {
                let float = rmp::decode::read_f32(&mut self.input).map_err(|_| self.truncated())?;
                Number::from_f64(f64::from(float)).map_err(|_| self.error(REQUIRED))
            }
            Marker::F64 => {
                let float = rmp::decode::read_f64(&mut self.input).map_err(|_| self.truncated())?;
                Number::from_f64(float).map_err(|_| self.error(REQUIRED))
            }
            _ => {
                let text = self.string(REQUIRED)?;
                Number::parse(&text).map_err(|error| self.error(error.to_string()))
            }
        }
    }

    /// A str (or bin, which go-cty also accepts) holding UTF-8.
    fn string(&mut self, required: &str) -> Result<String, ValueError> {
        self.borrowed_str(required).map(str::to_owned)
    }

    /// A string (or binary) as a slice of the input, checked to be UTF-8.
    fn borrowed_str(&mut self, required: &str) -> Result<&'a str, ValueError> {
        let bytes = self.borrowed_bytes(required)?;
        self.utf8(bytes)
    }

    /// The bytes of a string (or binary), not yet checked to be UTF-8.
    fn borrowed_bytes(&mut self, required: &str) -> Result<&'a [u8], ValueError> {
        let len = match self.peek()? {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                self.read_len(rmp::decode::read_str_len)?
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                self.read_len(rmp::decode::read_bin_len)?
            }
            _ => return Err(self.error(required)),
        };
        self.take(len)
    }

    fn utf8(&self, bytes: &'a [u8]) -> Result<&'a str, ValueError> {
        std::str::from_utf8(bytes).map_err(|_| self.error("string is not valid UTF-8"))
    }

    /// Any msgpack int as an i64 (used for refinement keys and lengths).
    fn int(&mut self) -> Result<i64, ValueError> {
        match self.peek()? {
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::U8
            | Marker::U16
            | Marker::U32
            | Marker::U64
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => rmp::decode::read_int(&mut self.input)
                .map_err(|_| self.error("integer out of range")),
            _ => Err(self.error("an integer is required")),
        }
    }

    fn array_len(&mut self, required: &str) -> Result<usize, ValueError> {
        match self.peek()? {
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                self.read_len(rmp::decode::read_array_len)
            }
            _ => Err(self.error(required)),
        }
    }

    fn map_len(&mut self, required: &str) -> Result<usize, ValueError> {
        match self.peek()? {
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                self.read_len(rmp::decode::read_map_len)
            }
            _ => Err(self.error(required)),
        }
    }

    /// Runs an rmp length reader whose marker was already checked; only truncation can fail.
    fn read_len<E>(
        &mut self,
        reader: fn(&mut &'a [u8]) -> Result<u32, E>,
    ) -> Result<usize, ValueError> {
        reader(&mut self.input)
            .map(|len| len as usize)
            .map_err(|_| self.truncated())
    }
}

fn is_ext(marker: Marker) -> bool {
    matches!(
        marker,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

struct Encoder {
    out: ByteBuf,
    path: Vec<PathStep>,
}

/// Unwraps the result of writing into a `ByteBuf`, which cannot fail (its error type is
/// uninhabited).
macro_rules! infallible {
    ($write:expr) => {{
        let Ok(written) = $write;
        written
    }};
}

impl Encoder {
    fn error(&self, message: impl Into<String>) -> ValueError {
        ValueError::new(Path(self.path.clone()), message)
    }

    fn mismatch(&self, ty: &Type) -> ValueError {
        self.error(format!("a {} value is required", ty.friendly_name()))
    }

    fn length(&self, len: usize) -> Result<u32, ValueError> {
        u32::try_from(len).map_err(|_| self.error("too many elements for msgpack"))
    }

    fn value(&mut self, ty: &Type, value: &Value) -> Result<(), ValueError> {
        if self.path.len() >= MAX_DEPTH {
            return Err(self.error("value is nested too deeply"));
        }
        match (ty, value) {
            (Type::Dynamic, Value::Null) => infallible!(rmp::encode::write_nil(&mut self.out)),
            (Type::Dynamic, Value::Unknown(_)) => {
                // A wholly unknown dynamic value carries no refinements (K3, K6).
                self.out.as_mut_vec().extend_from_slice(&PLAIN_UNKNOWN);
            }
            (Type::Dynamic, Value::Dynamic(typed)) => {
                let (concrete, inner) = &**typed;
                if *concrete == Type::Dynamic {
                    return Err(
                        self.error("the concrete type of a dynamic value cannot be dynamic")
                    );
                }
                infallible!(rmp::encode::write_array_len(&mut self.out, 2));
                infallible!(rmp::encode::write_bin(
                    &mut self.out,
                    concrete.to_json().as_bytes()
                ));
                self.value(concrete, inner)?;
            }
            (Type::Dynamic, _) => {
                return Err(self.error(
                    "a value in a dynamic position needs its concrete type (Value::Dynamic)",
                ));
            }
            (_, Value::Dynamic(_)) => {
                return Err(self.error(format!(
                    "a {} value is required, not a dynamically-typed value",
                    ty.friendly_name()
                )));
            }
            (_, Value::Unknown(refinements)) => self.unknown(ty, refinements),
            (_, Value::Null) => infallible!(rmp::encode::write_nil(&mut self.out)),
            (Type::String, Value::String(text)) => {
                infallible!(rmp::encode::write_str(&mut self.out, text))
            }
            (Type::Number, Value::Number(number)) => self.number(number),
            (Type::Bool, Value::Bool(flag)) => {
                infallible!(rmp::encode::write_bool(&mut self.out, *flag))
            }
            (Type::List(element_type), Value::List(elements)) => {
                self.elements(elements.iter().map(|element| (&**element_type, element)))?
            }
            (Type::Set(element_type), Value::Set(elements)) => {
                // Terraform collapses equal elements; never send one twice (K7).
                let unique = unique_set_elements(elements);
                self.elements(unique.into_iter().map(|element| (&**element_type, element)))?
            }
            (Type::Tuple(element_types), Value::Tuple(elements)) => {
                if element_types.len() != elements.len() {
                    return Err(self.error(format!(
                        "a tuple of length {} is required ({} given)",
                        element_types.len(),
                        elements.len()
                    )));
                }
                self.elements(element_types.iter().zip(elements))?
            }
            (Type::Map(element_type), Value::Map(entries)) => {
                let len = self.length(entries.len())?;
                infallible!(rmp::encode::write_map_len(&mut self.out, len));
                // BTreeMap iterates keys in bytewise order, as Terraform writes them.
                for (key, element) in entries {
                    infallible!(rmp::encode::write_str(&mut self.out, key));
                    self.path.push(PathStep::Key(key.clone()));
                    self.value(element_type, element)?;
                    self.path.pop();
                }
            }
            (Type::Object(attribute_types, _), Value::Object(attributes)) => {
                check_attribute_names(attribute_types, attributes, &self.path)?;
                let len = self.length(attribute_types.len())?;
                infallible!(rmp::encode::write_map_len(&mut self.out, len));
                // Same keys in the same order (checked above), so the maps walk in lockstep.
                for ((name, attribute_type), attribute) in
                    attribute_types.iter().zip(attributes.values())
                {
                    infallible!(rmp::encode::write_str(&mut self.out, name));
                    let depth = self.path.len();
                    let written = self.value(attribute_type, attribute);
                    ValueError::within_attribute(depth, name, written)?;
                }
            }
            _ => return Err(self.mismatch(ty)),
        }
        Ok(())
    }

    fn elements<'v>(
        &mut self,
        typed_elements: impl ExactSizeIterator<Item = (&'v Type, &'v Value)>,
    ) -> Result<(), ValueError> {
        let len = self.length(typed_elements.len())?;
        infallible!(rmp::encode::write_array_len(&mut self.out, len));
        for (index, (element_type, element)) in typed_elements.enumerate() {
            self.path.push(PathStep::Index(index as u64));
            self.value(element_type, element)?;
            self.path.pop();
        }
        Ok(())
    }

    /// Canonical number form (K5): exact int64 as an int, exact non-integer float64 as a
    /// float64, infinities as float64 infinities, anything else as a plain decimal string.
    fn number(&mut self, number: &Number) {
        if let Some(integer) = number.as_i64() {
            infallible!(rmp::encode::write_sint(&mut self.out, integer));
        } else if let Some(float) = number.as_exact_non_integer_f64() {
            infallible!(rmp::encode::write_f64(&mut self.out, float));
        } else if number.is_infinite() {
            infallible!(rmp::encode::write_f64(&mut self.out, number.as_f64()));
        } else {
            infallible!(rmp::encode::write_str(&mut self.out, &number.to_string()));
        }
    }

    /// An unknown: `d4 00 00` unless it has refinements that apply to `ty` (K2, K3).
    fn unknown(&mut self, ty: &Type, refinements: &Refinements) {
        if refinements.nullable == Some(true) {
            // "Definitely null" is a known null in cty.
            infallible!(rmp::encode::write_nil(&mut self.out));
            return;
        }
        let mut entries = ByteBuf::new();
        let mut entry_count = 0u32;
        let mut key = |entries: &mut ByteBuf, key: i64| {
            entry_count += 1;
            infallible!(rmp::encode::write_sint(entries, key));
        };
        if refinements.nullable == Some(false) {
            key(&mut entries, REFINE_NULLNESS);
            infallible!(rmp::encode::write_bool(&mut entries, false));
        }
        match ty {
            Type::Number => {
                let bounds = [
                    (
                        REFINE_NUMBER_LOWER,
                        &refinements.number_lower,
                        Number::negative_infinity(),
                    ),
                    (
                        REFINE_NUMBER_UPPER,
                        &refinements.number_upper,
                        Number::positive_infinity(),
                    ),
                ];
                for (bound_key, bound, unbounded) in bounds {
                    if let Some((bound, inclusive)) = bound
                        && *bound != unbounded
                    {
                        key(&mut entries, bound_key);
                        infallible!(rmp::encode::write_array_len(&mut entries, 2));
                        let mut bound_encoder = Encoder {
                            out: std::mem::take(&mut entries),
                            path: Vec::new(),
                        };
                        bound_encoder.number(bound);
                        entries = bound_encoder.out;
                        infallible!(rmp::encode::write_bool(&mut entries, *inclusive));
                    }
                }
            }
            Type::String => {
                if let Some(prefix) = &refinements.string_prefix
                    && !prefix.is_empty()
                {
                    key(&mut entries, REFINE_STRING_PREFIX);
                    infallible!(rmp::encode::write_str(
                        &mut entries,
                        safe_prefix(prefix, MAX_STRING_PREFIX)
                    ));
                }
            }
            Type::List(_) | Type::Set(_) | Type::Map(_) => {
                if let Some(lower) = refinements.length_lower
                    && lower != 0
                {
                    key(&mut entries, REFINE_LENGTH_LOWER);
                    let lower = i64::try_from(lower).unwrap_or(i64::MAX);
                    infallible!(rmp::encode::write_sint(&mut entries, lower));
                }
                if let Some(upper) = refinements.length_upper
                    && let Ok(upper) = i64::try_from(upper)
                    && upper != i64::MAX
                {
                    key(&mut entries, REFINE_LENGTH_UPPER);
                    infallible!(rmp::encode::write_sint(&mut entries, upper));
                }
            }
            _ => {}
        }
        if entry_count == 0 {
            self.out.as_mut_vec().extend_from_slice(&PLAIN_UNKNOWN);
            return;
        }
        let mut payload = ByteBuf::new();
        infallible!(rmp::encode::write_map_len(&mut payload, entry_count));
        payload.as_mut_vec().extend_from_slice(entries.as_slice());
        // A few small entries and a prefix of at most 256 bytes: far below u32::MAX.
        let payload_len = payload.as_slice().len() as u32;
        infallible!(rmp::encode::write_ext_meta(
            &mut self.out,
            payload_len,
            REFINED_UNKNOWN_EXT
        ));
        self.out.as_mut_vec().extend_from_slice(payload.as_slice());
    }
}

/// A prefix that stays a true prefix of the unknown string after truncation to `max_len` bytes.
/// Like go-cty's `SafeKnownPrefix`, it drops the last character, which a longer string might
/// extend into a different grapheme cluster; without Unicode tables we also drop a trailing run
/// of non-ASCII characters (combining marks, joiners) and a trailing CR (of a CR LF pair).
fn safe_prefix(prefix: &str, max_len: usize) -> &str {
    if prefix.len() <= max_len {
        return prefix;
    }
    let mut end = max_len - 1;
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    let mut truncated = &prefix[..end];
    truncated = truncated.trim_end_matches(|character: char| !character.is_ascii());
    let mut characters = truncated.chars();
    characters.next_back();
    characters.as_str().trim_end_matches('\r')
}

#[cfg(test)]
mod safe_prefix_tests {
    use super::safe_prefix;

    #[test]
    fn short_prefixes_are_kept_and_long_ones_cut_to_a_safe_point() {
        assert_eq!(safe_prefix("abc", 256), "abc");
        let long = "a".repeat(300);
        assert_eq!(safe_prefix(&long, 256).len(), 254);
        let accented = format!("{}e\u{301}\u{301}xyz", "a".repeat(253));
        let cut = safe_prefix(&accented, 256);
        assert!(accented.starts_with(cut));
        assert!(cut.len() < 255 && cut.chars().all(|character| character == 'a'));
    }
}
