//! Codec vectors and property tests for the value model: byte-exact msgpack vectors for every
//! K rule, type JSON shapes (L), JSON codec vectors (K8), proptest round trips and a bounded,
//! seeded fuzz run of the msgpack decoder.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// Bytes from a hex string with optional spaces: `hex("c7 03 0c")`.
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// msgpack str header + bytes.
fn mp_str(text: &str) -> Vec<u8> {
    let mut out = rmp::encode::ByteBuf::new();
    let Ok(()) = rmp::encode::write_str(&mut out, text);
    out.into_vec()
}

fn mp_bin(bytes: &[u8]) -> Vec<u8> {
    let mut out = rmp::encode::ByteBuf::new();
    let Ok(()) = rmp::encode::write_bin(&mut out, bytes);
    out.into_vec()
}

fn decode(ty: &Type, bytes: &[u8]) -> Value {
    decode_msgpack(ty, bytes).unwrap_or_else(|error| panic!("decode failed: {error}"))
}

fn decode_error(ty: &Type, bytes: &[u8]) -> String {
    match decode_msgpack(ty, bytes) {
        Ok(value) => panic!("expected an error, decoded {value:?}"),
        Err(error) => error.to_string(),
    }
}

fn encode(ty: &Type, value: &Value) -> Vec<u8> {
    encode_msgpack(ty, value).unwrap_or_else(|error| panic!("encode failed: {error}"))
}

/// Decodes `bytes` to `expected`, and `expected` encodes back to exactly `bytes`.
fn check_both_ways(ty: &Type, bytes: &[u8], expected: &Value) {
    assert_eq!(&decode(ty, bytes), expected, "decoding {bytes:02x?}");
    assert_eq!(encode(ty, expected), bytes, "encoding {expected:?}");
}

fn number(text: &str) -> Value {
    Value::Number(Number::parse(text).unwrap())
}

fn not_null_unknown() -> Value {
    Value::unknown_not_null()
}

// ---------------------------------------------------------------------------------------------
// K1, K2: null and plain unknowns.

#[test]
fn null_is_nil_for_every_type() {
    for ty in super::msgpack::fuzz_types() {
        check_both_ways(&ty, &hex("c0"), &Value::Null);
    }
}

#[test]
fn plain_unknown_is_fixext1_type_zero_for_every_type() {
    for ty in super::msgpack::fuzz_types() {
        check_both_ways(&ty, &hex("d4 00 00"), &Value::unknown());
    }
}

#[test]
fn any_ext_of_at_most_one_byte_is_a_plain_unknown_whatever_its_code() {
    for bytes in [
        "d4 00 00",
        "d4 05 ff",
        "d4 0c 00",
        "c7 00 00",
        "c7 00 07",
        "c7 01 63 00",
    ] {
        assert_eq!(
            decode(&Type::String, &hex(bytes)),
            Value::unknown(),
            "{bytes}"
        );
    }
    // The payload byte is skipped: the next element starts after it.
    assert_eq!(
        decode(&Type::list(Type::String), &hex("92 d4 09 ff a1 61")),
        Value::list([Value::unknown(), Value::string("a")])
    );
}

// ---------------------------------------------------------------------------------------------
// K3: refined unknowns.

#[test]
fn not_null_unknown_string_matches_terraform_bytes() {
    check_both_ways(
        &Type::String,
        &hex("c7 03 0c 81 01 c2"),
        &not_null_unknown(),
    );
}

#[test]
fn refined_unknowns_decode_in_every_ext_size() {
    let expected = not_null_unknown();
    for bytes in [
        "c7 03 0c 81 01 c2",                                     // ext8
        "c8 00 03 0c 81 01 c2",                                  // ext16
        "c9 00 00 00 03 0c 81 01 c2",                            // ext32
        "d6 0c 81 01 c2 00",                                     // fixext4, trailing byte ignored
        "d7 0c 81 01 c2 00 00 00 00 00",                         // fixext8
        "d8 0c 81 01 c2 00 00 00 00 00 00 00 00 00 00 00 00 00", // fixext16
    ] {
        assert_eq!(decode(&Type::String, &hex(bytes)), expected, "{bytes}");
        // Followed by another element: the whole payload was consumed, no more.
        let mut list = hex("92");
        list.extend(hex(bytes));
        list.extend(mp_str("next"));
        assert_eq!(
            decode(&Type::list(Type::String), &list),
            Value::list([expected.clone(), Value::string("next")]),
            "{bytes} in a list"
        );
    }
    // fixext2 with an empty map and a padding byte: no refinements.
    assert_eq!(decode(&Type::String, &hex("d5 0c 80 00")), Value::unknown());
}

#[test]
fn longer_payloads_need_ext_type_twelve() {
    let message = decode_error(&Type::String, &hex("d5 00 80 00"));
    assert!(
        message.contains("unsupported extension type 0x00 with length 2"),
        "{message}"
    );
    let message = decode_error(&Type::String, &hex("c7 03 05 81 01 c2"));
    assert!(message.contains("0x05"), "{message}");
}

#[test]
fn refinement_payloads_over_1024_bytes_are_rejected() {
    let mut bytes = hex("c8 04 01 0c 81 02");
    bytes.extend(hex("da 03 fc"));
    bytes.extend(std::iter::repeat_n(b'a', 1020));
    assert_eq!(bytes.len(), 4 + 1025);
    let message = decode_error(&Type::String, &bytes);
    assert!(message.contains("oversize"), "{message}");
    // 1024 exactly is fine.
    let mut bytes = hex("c8 04 00 0c 81 02");
    bytes.extend(hex("da 03 fb"));
    bytes.extend(std::iter::repeat_n(b'a', 1019));
    let Value::Unknown(refinements) = decode(&Type::String, &bytes) else {
        panic!("expected an unknown");
    };
    assert_eq!(
        refinements.string_prefix.as_deref().map(str::len),
        Some(1019)
    );
}

#[test]
fn string_prefix_refinement_round_trips() {
    let value = Value::Unknown(Box::new(Refinements {
        nullable: Some(false),
        string_prefix: Some("abc".to_owned()),
        ..Refinements::default()
    }));
    // An eight-byte payload takes the fixext8 form; ext8 of the same payload decodes the same.
    check_both_ways(&Type::String, &hex("d7 0c 82 01 c2 02 a3 61 62 63"), &value);
    assert_eq!(
        decode(&Type::String, &hex("c7 08 0c 82 01 c2 02 a3 61 62 63")),
        value
    );
}

#[test]
fn number_bound_refinements_round_trip() {
    let value = Value::Unknown(Box::new(Refinements {
        number_lower: Some((Number::from(0), true)),
        number_upper: Some((Number::parse("10.5").unwrap(), false)),
        ..Refinements::default()
    }));
    check_both_ways(
        &Type::Number,
        &hex("c7 11 0c 82 03 92 00 c3 04 92 cb 40 25 00 00 00 00 00 00 c2"),
        &value,
    );
    // Bounds may come in any number form, e.g. a decimal string.
    let mut bytes = hex("c7 08 0c 81 03 92");
    bytes.extend(mp_str("0.1"));
    bytes.extend(hex("c3"));
    assert_eq!(
        decode(&Type::Number, &bytes),
        Value::Unknown(Box::new(Refinements {
            number_lower: Some((Number::parse("0.1").unwrap(), true)),
            ..Refinements::default()
        }))
    );
}

#[test]
fn length_refinements_round_trip_for_collections() {
    let value = Value::Unknown(Box::new(Refinements {
        length_lower: Some(1),
        length_upper: Some(5),
        ..Refinements::default()
    }));
    for ty in [
        Type::list(Type::String),
        Type::set(Type::Bool),
        Type::map(Type::Number),
    ] {
        check_both_ways(&ty, &hex("c7 05 0c 82 05 01 06 05"), &value);
    }
    // A four-byte payload takes the fixext4 form.
    let value = Value::Unknown(Box::new(Refinements {
        length_lower: Some(200),
        ..Refinements::default()
    }));
    check_both_ways(&Type::list(Type::String), &hex("d6 0c 81 05 cc c8"), &value);
}

#[test]
fn unknown_refinement_keys_are_skipped() {
    let mut bytes = hex("c7 0f 0c 83 01 c2 09 93 01 cd 01 00 a1 78 02 a2 61 62");
    assert_eq!(bytes.len(), 3 + 15);
    assert_eq!(
        decode(&Type::String, &bytes),
        Value::Unknown(Box::new(Refinements {
            nullable: Some(false),
            string_prefix: Some("ab".to_owned()),
            ..Refinements::default()
        }))
    );
    // A truncated unknown-key value is an error, not a panic.
    bytes = hex("c7 03 0c 81 09 dc");
    assert!(decode_msgpack(&Type::String, &bytes).is_err());
}

#[test]
fn refinements_that_do_not_fit_the_type_are_errors_when_decoding() {
    let prefix_on_number = hex("c7 04 0c 81 02 a1 61");
    assert!(decode_error(&Type::Number, &prefix_on_number).contains("non-string"));
    let length_on_string = hex("c7 03 0c 81 05 01");
    assert!(decode_error(&Type::String, &length_on_string).contains("non-collection"));
    let bound_on_list = hex("c7 05 0c 81 03 92 00 c3");
    assert!(decode_error(&Type::list(Type::Number), &bound_on_list).contains("non-number"));
    let not_a_map = hex("c7 02 0c 91 01");
    assert!(decode_error(&Type::String, &not_a_map).contains("not a map"));
}

#[test]
fn refinements_that_do_not_fit_the_type_are_not_encoded() {
    let value = Value::Unknown(Box::new(Refinements {
        string_prefix: Some("abc".to_owned()),
        length_lower: Some(3),
        ..Refinements::default()
    }));
    assert_eq!(encode(&Type::Number, &value), hex("d4 00 00"));
    assert_eq!(encode(&Type::Bool, &value), hex("d4 00 00"));
    // Default-valued refinements are not encoded either.
    let value = Value::Unknown(Box::new(Refinements {
        string_prefix: Some(String::new()),
        length_lower: Some(0),
        number_lower: Some((Number::negative_infinity(), true)),
        ..Refinements::default()
    }));
    for ty in [Type::String, Type::Number, Type::list(Type::String)] {
        assert_eq!(encode(&ty, &value), hex("d4 00 00"));
    }
}

#[test]
fn dynamic_unknowns_carry_no_refinements() {
    assert_eq!(
        decode(&Type::Dynamic, &hex("c7 03 0c 81 01 c2")),
        Value::unknown()
    );
    assert_eq!(encode(&Type::Dynamic, &not_null_unknown()), hex("d4 00 00"));
}

#[test]
fn definitely_null_refinement_collapses_to_null() {
    assert_eq!(
        decode(&Type::String, &hex("c7 03 0c 81 01 c3")),
        Value::Null
    );
    let value = Value::Unknown(Box::new(Refinements {
        nullable: Some(true),
        ..Refinements::default()
    }));
    assert_eq!(encode(&Type::String, &value), hex("c0"));
}

#[test]
fn long_string_prefixes_are_truncated_below_the_payload_limit() {
    let value = Value::Unknown(Box::new(Refinements {
        string_prefix: Some("x".repeat(2000)),
        ..Refinements::default()
    }));
    let bytes = encode(&Type::String, &value);
    assert!(bytes.len() < 300);
    let Value::Unknown(refinements) = decode(&Type::String, &bytes) else {
        panic!("expected an unknown");
    };
    let prefix = refinements.string_prefix.unwrap();
    assert!(prefix.len() <= 256 && !prefix.is_empty() && prefix.bytes().all(|byte| byte == b'x'));
}

// ---------------------------------------------------------------------------------------------
// K5: numbers.

#[test]
fn integers_of_every_width_decode() {
    for (bytes, expected) in [
        ("05", "5"),
        ("7f", "127"),
        ("e0", "-32"),
        ("ff", "-1"),
        ("cc ff", "255"),
        ("cd ff ff", "65535"),
        ("ce ff ff ff ff", "4294967295"),
        ("cf ff ff ff ff ff ff ff ff", "18446744073709551615"),
        ("d0 80", "-128"),
        ("d1 80 00", "-32768"),
        ("d2 80 00 00 00", "-2147483648"),
        ("d3 80 00 00 00 00 00 00 00", "-9223372036854775808"),
        ("d0 05", "5"),
        ("cc 05", "5"),
        ("ca 3f c0 00 00", "1.5"),
        ("cb 3f f8 00 00 00 00 00 00", "1.5"),
        ("cb 40 08 00 00 00 00 00 00", "3"),
    ] {
        assert_eq!(
            decode(&Type::Number, &hex(bytes)),
            number(expected),
            "{bytes}"
        );
    }
}

#[test]
fn numbers_also_arrive_as_decimal_strings() {
    for (text, expected) in [
        ("0.1", "0.1"),
        ("1e3", "1000"),
        ("-2.50", "-2.5"),
        (
            "123456789012345678901234567890.5",
            "123456789012345678901234567890.5",
        ),
    ] {
        assert_eq!(
            decode(&Type::Number, &mp_str(text)),
            number(expected),
            "{text}"
        );
        assert_eq!(
            decode(&Type::Number, &mp_bin(text.as_bytes())),
            number(expected)
        );
    }
    assert!(decode_error(&Type::Number, &mp_str("twelve")).contains("number is required"));
    assert!(decode_error(&Type::Number, &hex("c3")).contains("number is required"));
}

#[test]
fn numbers_encode_in_go_cty_canonical_form() {
    for (text, bytes) in [
        ("0", "00"),
        ("127", "7f"),
        ("128", "cc 80"),
        ("256", "cd 01 00"),
        ("65536", "ce 00 01 00 00"),
        ("4294967296", "cf 00 00 00 01 00 00 00 00"),
        ("9223372036854775807", "cf 7f ff ff ff ff ff ff ff"),
        ("-1", "ff"),
        ("-32", "e0"),
        ("-33", "d0 df"),
        ("-129", "d1 ff 7f"),
        ("-32769", "d2 ff ff 7f ff"),
        ("-9223372036854775808", "d3 80 00 00 00 00 00 00 00"),
        ("1.5", "cb 3f f8 00 00 00 00 00 00"),
        ("-0.25", "cb bf d0 00 00 00 00 00 00"),
        // Integer-valued after canonicalisation: an int, not a float.
        ("3.000", "03"),
    ] {
        check_both_ways(&Type::Number, &hex(bytes), &number(text));
    }
    // Not exact in float64, or integers beyond int64: a plain decimal string.
    for text in [
        "0.1",
        "18446744073709551615",
        "1180591620717411303424",
        "-9223372036854775809",
        "3.14159265358979323846264338327950288",
    ] {
        check_both_ways(&Type::Number, &mp_str(text), &number(text));
    }
}

#[test]
fn floats_round_trip_bit_for_bit() {
    // Terraform compares numbers by value: the float 0.1 must come back as that float.
    let bytes = hex("cb 3f b9 99 99 99 99 99 9a");
    let value = decode(&Type::Number, &bytes);
    assert_eq!(value.as_number().unwrap().as_f64(), 0.1);
    assert_ne!(value, number("0.1"));
    assert_eq!(encode(&Type::Number, &value), bytes);
    // float32 values widen exactly.
    let value = decode(&Type::Number, &hex("ca 3d cc cc cd"));
    assert_eq!(
        encode(&Type::Number, &value),
        hex("cb 3f b9 99 99 a0 00 00 00")
    );
}

#[test]
fn infinities_travel_as_float64_and_nan_is_refused() {
    check_both_ways(
        &Type::Number,
        &hex("cb 7f f0 00 00 00 00 00 00"),
        &Value::Number(Number::positive_infinity()),
    );
    check_both_ways(
        &Type::Number,
        &hex("cb ff f0 00 00 00 00 00 00"),
        &Value::Number(Number::negative_infinity()),
    );
    assert!(decode_msgpack(&Type::Number, &hex("cb 7f f8 00 00 00 00 00 00")).is_err());
}

// ---------------------------------------------------------------------------------------------
// K4: objects.

fn two_attribute_object() -> Type {
    Type::object([("id", Type::String), ("size", Type::Number)])
}

#[test]
fn objects_are_maps_with_sorted_keys_and_every_attribute() {
    let ty = two_attribute_object();
    let mut bytes = hex("82");
    bytes.extend(mp_str("id"));
    bytes.extend(mp_str("x"));
    bytes.extend(mp_str("size"));
    bytes.extend(hex("c0"));
    check_both_ways(
        &ty,
        &bytes,
        &Value::object([("id", Value::string("x")), ("size", Value::Null)]),
    );
    // Keys in another order decode the same.
    let mut reversed = hex("82");
    reversed.extend(mp_str("size"));
    reversed.extend(hex("c0"));
    reversed.extend(mp_str("id"));
    reversed.extend(mp_str("x"));
    assert_eq!(decode(&ty, &reversed), decode(&ty, &bytes));
}

#[test]
fn object_key_count_must_match_the_attribute_count() {
    let ty = two_attribute_object();
    let mut bytes = hex("81");
    bytes.extend(mp_str("id"));
    bytes.extend(mp_str("x"));
    assert_eq!(
        decode_error(&ty, &bytes),
        ".size: attribute is missing; an object with 2 attributes is required (1 given)"
    );

    let mut bytes = hex("83");
    for name in ["id", "size", "more"] {
        bytes.extend(mp_str(name));
        bytes.extend(hex("c0"));
    }
    assert_eq!(
        decode_error(&ty, &bytes),
        ".more: unsupported attribute; an object with 2 attributes is required (3 given)"
    );
    // Entries that cannot even be read still give the count.
    assert_eq!(
        decode_error(&ty, &hex("81 01 c0")),
        "an object with 2 attributes is required (1 given)"
    );
}

#[test]
fn unknown_and_repeated_object_keys_are_errors_naming_the_key() {
    let ty = two_attribute_object();
    let mut bytes = hex("82");
    bytes.extend(mp_str("id"));
    bytes.extend(hex("c0"));
    bytes.extend(mp_str("bogus"));
    bytes.extend(hex("c0"));
    let error = decode_msgpack(&ty, &bytes).unwrap_err();
    assert_eq!(error.to_string(), ".bogus: unsupported attribute");

    let mut bytes = hex("82");
    bytes.extend(mp_str("id"));
    bytes.extend(hex("c0"));
    bytes.extend(mp_str("id"));
    bytes.extend(hex("c0"));
    assert_eq!(
        decode_msgpack(&ty, &bytes).unwrap_err().to_string(),
        ".id: attribute appears more than once"
    );
}

#[test]
fn object_keys_that_are_not_utf8_are_errors_in_and_out_of_order() {
    let ty = two_attribute_object();
    // "i\xff" where "id" is expected next, then where it is not.
    let mut bytes = hex("82 a2 69 ff c0");
    bytes.extend(mp_str("size"));
    bytes.extend(hex("c0"));
    assert_eq!(
        decode_msgpack(&ty, &bytes).unwrap_err().to_string(),
        "string is not valid UTF-8"
    );
    let mut bytes = hex("82");
    bytes.extend(mp_str("id"));
    bytes.extend(hex("c0"));
    bytes.extend(hex("a2 69 ff c0"));
    assert_eq!(
        decode_msgpack(&ty, &bytes).unwrap_err().to_string(),
        "string is not valid UTF-8"
    );
}

#[test]
fn object_keys_in_any_order_decode_and_repeats_are_found_out_of_order_too() {
    let ty = Type::object([
        ("a", Type::String),
        ("b", Type::String),
        ("c", Type::String),
    ]);
    let mut bytes = hex("83");
    for name in ["c", "a", "b"] {
        bytes.extend(mp_str(name));
        bytes.extend(mp_str(&name.to_uppercase()));
    }
    assert_eq!(
        decode_msgpack(&ty, &bytes).unwrap(),
        Value::object([
            ("a", Value::string("A")),
            ("b", Value::string("B")),
            ("c", Value::string("C")),
        ])
    );
    let mut bytes = hex("83");
    for name in ["b", "a", "b"] {
        bytes.extend(mp_str(name));
        bytes.extend(hex("c0"));
    }
    assert_eq!(
        decode_msgpack(&ty, &bytes).unwrap_err().to_string(),
        ".b: attribute appears more than once"
    );
}

#[test]
fn empty_map_is_the_empty_object() {
    let empty_object_type = Type::object::<&str>([]);
    check_both_ways(
        &empty_object_type,
        &hex("80"),
        &Value::Object(BTreeMap::new()),
    );
    // An object type with attributes needs them all, even when the map is empty.
    assert!(decode_error(&two_attribute_object(), &hex("80")).contains("(0 given"));
}

#[test]
fn encoding_refuses_objects_with_missing_or_extra_attributes() {
    let ty = two_attribute_object();
    let missing = Value::object([("id", Value::string("x"))]);
    assert_eq!(
        encode_msgpack(&ty, &missing).unwrap_err().to_string(),
        ".size: attribute is missing from the object"
    );
    let extra = Value::object([
        ("id", Value::Null),
        ("size", Value::Null),
        ("zzz", Value::Null),
    ]);
    assert_eq!(
        encode_msgpack(&ty, &extra).unwrap_err().to_string(),
        ".zzz: unsupported attribute"
    );
}

#[test]
fn errors_carry_the_path_of_the_problem() {
    let ty = Type::object([(
        "rules",
        Type::list(Type::map(Type::object([("port", Type::Number)]))),
    )]);
    let value = Value::object([(
        "rules",
        Value::list([
            Value::map([("a", Value::object([("port", Value::from(1))]))]),
            Value::map([("web", Value::object([("port", Value::string("eighty"))]))]),
        ]),
    )]);
    let error = encode_msgpack(&ty, &value).unwrap_err();
    assert_eq!(
        error.to_string(),
        ".rules[1][\"web\"].port: a number value is required"
    );
    assert_eq!(
        error.path().steps(),
        [
            PathStep::Attribute("rules".to_owned()),
            PathStep::Index(1),
            PathStep::Key("web".to_owned()),
            PathStep::Attribute("port".to_owned()),
        ]
    );
    assert_eq!(
        value.conforms_to(&ty).unwrap_err(),
        ".rules[1][\"web\"].port: a number value is required"
    );
}

#[test]
fn decoding_errors_carry_the_path_of_the_problem_too() {
    let port = |ty: Type| {
        Type::object([(
            "rules",
            Type::list(Type::map(Type::object([
                ("name", Type::String),
                ("port", ty),
            ]))),
        )])
    };
    let value = Value::object([(
        "rules",
        Value::list([
            Value::map([(
                "a",
                Value::object([("name", Value::string("a")), ("port", Value::string("1"))]),
            )]),
            Value::map([(
                "web",
                Value::object([("name", Value::string("w")), ("port", Value::string("x"))]),
            )]),
        ]),
    )]);
    // Numbers may travel as strings (go-cty), so "1" decodes as a number and "x" does not.
    let bytes = encode_msgpack(&port(Type::String), &value).unwrap();
    let error = decode_msgpack(&port(Type::Number), &bytes).unwrap_err();
    assert_eq!(
        error.path().steps(),
        [
            PathStep::Attribute("rules".to_owned()),
            PathStep::Index(1),
            PathStep::Key("web".to_owned()),
            PathStep::Attribute("port".to_owned()),
        ],
        "{error}"
    );
    // A well-formed value leaves no trace of the path behind.
    let decoded = decode_msgpack(&port(Type::String), &bytes).unwrap();
    assert_eq!(decoded, value);
}

// ---------------------------------------------------------------------------------------------
// K6: dynamic.

#[test]
fn dynamic_values_are_wrapped_with_their_type_json() {
    let mut bin_form = hex("92");
    bin_form.extend(mp_bin(b"\"string\""));
    bin_form.extend(mp_str("hello"));
    let expected = Value::dynamic(Type::String, Value::string("hello"));
    check_both_ways(&Type::Dynamic, &bin_form, &expected);
    assert_eq!(&bin_form[..3], &hex("92 c4 08"));

    // Terraform's decoder also takes the type JSON as str.
    let mut str_form = hex("92");
    str_form.extend(mp_str("\"string\""));
    str_form.extend(mp_str("hello"));
    assert_eq!(decode(&Type::Dynamic, &str_form), expected);

    // Whitespace in the type JSON is fine.
    let mut spaced = hex("92");
    spaced.extend(mp_bin(b" [ \"list\" , \"number\" ] "));
    spaced.extend(hex("92 01 02"));
    assert_eq!(
        decode(&Type::Dynamic, &spaced),
        Value::dynamic(
            Type::list(Type::Number),
            Value::list([Value::from(1), Value::from(2)])
        )
    );
}

#[test]
fn dynamic_nulls_and_unknowns() {
    // Null of no type: plain nil. Wholly unknown: plain unknown.
    check_both_ways(&Type::Dynamic, &hex("c0"), &Value::Null);
    check_both_ways(&Type::Dynamic, &hex("d4 00 00"), &Value::unknown());
    // A typed null: [typeJSON, nil].
    let mut typed_null = hex("92");
    typed_null.extend(mp_bin(b"\"number\""));
    typed_null.extend(hex("c0"));
    let expected = Value::dynamic(Type::Number, Value::Null);
    check_both_ways(&Type::Dynamic, &typed_null, &expected);
    assert!(expected.is_null());
    // An unknown of a known type keeps its type and refinements.
    let mut typed_unknown = hex("92");
    typed_unknown.extend(mp_bin(b"\"string\""));
    typed_unknown.extend(hex("c7 03 0c 81 01 c2"));
    let expected = Value::dynamic(Type::String, not_null_unknown());
    check_both_ways(&Type::Dynamic, &typed_unknown, &expected);
    assert!(expected.is_unknown());
}

#[test]
fn dynamic_inside_collections_and_objects() {
    let ty = Type::object([
        ("extra", Type::Dynamic),
        ("list", Type::list(Type::Dynamic)),
    ]);
    let value = Value::object([
        (
            "extra",
            Value::dynamic(
                Type::object([("a", Type::Bool)]),
                Value::object([("a", Value::from(true))]),
            ),
        ),
        (
            "list",
            Value::list([
                Value::dynamic(Type::String, Value::string("s")),
                Value::Null,
                Value::dynamic(Type::Number, Value::from(7)),
            ]),
        ),
    ]);
    let bytes = encode(&ty, &value);
    assert_eq!(decode(&ty, &bytes), value);
}

#[test]
fn malformed_dynamic_wrappers_are_errors() {
    assert!(decode_error(&Type::Dynamic, &hex("a1 61")).contains("dynamic value"));
    let mut three = hex("93");
    three.extend(mp_bin(b"\"string\""));
    three.extend(mp_str("a"));
    three.extend(hex("c0"));
    assert!(decode_error(&Type::Dynamic, &three).contains("exactly two elements"));
    let mut bad_type = hex("92");
    bad_type.extend(mp_bin(b"[\"list\"]"));
    bad_type.extend(hex("90"));
    assert!(decode_error(&Type::Dynamic, &bad_type).contains("invalid type"));
    let mut mismatch = hex("92");
    mismatch.extend(mp_bin(b"\"bool\""));
    mismatch.extend(mp_str("yes"));
    assert!(decode_error(&Type::Dynamic, &mismatch).contains("bool is required"));
}

#[test]
fn dynamic_positions_need_the_wrapper_when_encoding() {
    let error = encode_msgpack(&Type::Dynamic, &Value::string("bare")).unwrap_err();
    assert!(error.to_string().contains("Value::Dynamic"));
    let error = encode_msgpack(
        &Type::String,
        &Value::dynamic(Type::String, Value::string("a")),
    );
    assert!(error.is_err());
}

// ---------------------------------------------------------------------------------------------
// K7 and I3: collections, null versus empty.

#[test]
fn the_same_array_is_a_list_a_set_or_a_tuple_by_type() {
    let bytes = hex("92 01 02");
    let elements = vec![Value::from(1), Value::from(2)];
    check_both_ways(
        &Type::list(Type::Number),
        &bytes,
        &Value::List(elements.clone()),
    );
    check_both_ways(
        &Type::set(Type::Number),
        &bytes,
        &Value::Set(elements.clone()),
    );
    check_both_ways(
        &Type::tuple([Type::Number, Type::Number]),
        &bytes,
        &Value::Tuple(elements),
    );
    let message = decode_error(&Type::tuple([Type::Number]), &bytes);
    assert!(
        message.contains("a tuple of length 1 is required (2 given)"),
        "{message}"
    );
}

#[test]
fn sets_never_hold_equal_elements() {
    assert_eq!(
        decode(&Type::set(Type::Number), &hex("93 01 01 02")),
        Value::Set(vec![Value::from(1), Value::from(2)])
    );
    let with_duplicates = Value::Set(vec![number("1"), number("1.0"), number("2")]);
    assert_eq!(
        encode(&Type::set(Type::Number), &with_duplicates),
        hex("92 01 02")
    );
    // Unknown elements cannot be told apart, so both stay.
    let unknowns = Value::Set(vec![Value::unknown(), Value::unknown()]);
    assert_eq!(
        encode(&Type::set(Type::String), &unknowns),
        hex("92 d4 00 00 d4 00 00")
    );
}

#[test]
fn null_and_empty_collections_differ() {
    let list = Type::list(Type::String);
    let map = Type::map(Type::String);
    check_both_ways(&list, &hex("c0"), &Value::Null);
    check_both_ways(&list, &hex("90"), &Value::List(vec![]));
    check_both_ways(&map, &hex("c0"), &Value::Null);
    check_both_ways(&map, &hex("80"), &Value::Map(BTreeMap::new()));
    assert!(!Value::Null.raw_equals(&Value::List(vec![])));
    assert!(!Value::List(vec![]).raw_equals(&Value::Map(BTreeMap::new())));
    assert!(!Value::List(vec![]).raw_equals(&Value::Set(vec![])));
}

#[test]
fn map_keys_are_written_sorted() {
    let value = Value::map([("b", Value::from(1)), ("a", Value::from(2))]);
    assert_eq!(
        encode(&Type::map(Type::Number), &value),
        hex("82 a1 61 02 a1 62 01")
    );
    // Any order on input.
    assert_eq!(
        decode(&Type::map(Type::Number), &hex("82 a1 62 01 a1 61 02")),
        value
    );
}

#[test]
fn strings_accept_bin_and_refuse_invalid_utf8() {
    assert_eq!(decode(&Type::String, &mp_bin(b"abc")), Value::string("abc"));
    assert!(decode_error(&Type::String, &hex("a2 c3 28")).contains("UTF-8"));
    assert!(decode_error(&Type::String, &hex("01")).contains("string is required"));
}

#[test]
fn truncated_and_trailing_input_are_errors() {
    for bytes in [
        "",
        "a3 61 62",
        "92 01",
        "c7 03 0c 81",
        "cd 01",
        "82 a2 69 64",
    ] {
        assert!(
            decode_msgpack(&two_attribute_object(), &hex(bytes)).is_err(),
            "{bytes}"
        );
        assert!(
            decode_msgpack(&Type::String, &hex(bytes)).is_err(),
            "{bytes}"
        );
    }
    assert!(decode_error(&Type::Number, &hex("01 02")).contains("unexpected bytes"));
}

#[test]
fn absurd_nesting_is_refused_without_overflowing_the_stack() {
    // [[[[…]]]] 10 000 deep, through a list(dynamic) type whose elements nest again.
    let mut ty = Type::String;
    for _ in 0..(MAX_DEPTH + 10) {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; MAX_DEPTH + 10];
    bytes.extend(mp_str("deep"));
    assert!(decode_error(&ty, &bytes).contains("nested too deeply"));

    let mut nested_dynamic = Vec::new();
    for _ in 0..10_000 {
        nested_dynamic.extend(hex("92"));
        nested_dynamic.extend(mp_bin(b"\"dynamic\""));
    }
    nested_dynamic.extend(hex("c0"));
    assert!(decode_error(&Type::Dynamic, &nested_dynamic).contains("nested too deeply"));
}

#[test]
fn huge_declared_lengths_do_not_allocate_up_front() {
    // An array that claims 4 billion elements but has none.
    assert!(decode_msgpack(&Type::list(Type::String), &hex("dd ff ff ff ff")).is_err());
    assert!(decode_msgpack(&Type::String, &hex("db ff ff ff ff")).is_err());
    assert!(decode_msgpack(&Type::String, &hex("c9 ff ff ff ff 0c")).is_err());
}

// ---------------------------------------------------------------------------------------------
// L: type JSON.

#[test]
fn type_json_round_trips_every_shape() {
    for (ty, json) in [
        (Type::String, r#""string""#),
        (Type::Number, r#""number""#),
        (Type::Bool, r#""bool""#),
        (Type::Dynamic, r#""dynamic""#),
        (Type::list(Type::String), r#"["list","string"]"#),
        (Type::set(Type::Number), r#"["set","number"]"#),
        (
            Type::map(Type::list(Type::Bool)),
            r#"["map",["list","bool"]]"#,
        ),
        (Type::tuple([]), r#"["tuple",[]]"#),
        (
            Type::tuple([Type::String, Type::Dynamic]),
            r#"["tuple",["string","dynamic"]]"#,
        ),
        (Type::object::<&str>([]), r#"["object",{}]"#),
        (
            Type::object([("b", Type::Number), ("a", Type::set(Type::String))]),
            r#"["object",{"a":["set","string"],"b":"number"}]"#,
        ),
        (
            Type::object_with_optional([("a", Type::String), ("b", Type::Number)], ["b"]),
            r#"["object",{"a":"string","b":"number"},["b"]]"#,
        ),
        (
            Type::object([("quote\"d", Type::String)]),
            r#"["object",{"quote\"d":"string"}]"#,
        ),
    ] {
        assert_eq!(ty.to_json(), json);
        assert_eq!(Type::from_json(json.as_bytes()).unwrap(), ty, "{json}");
    }
}

#[test]
fn type_json_accepts_whitespace_and_an_optional_list() {
    let parsed = Type::from_json(b" [ \"object\" , { \"a\" : \"string\" } , [ ] ] ").unwrap();
    assert_eq!(parsed, Type::object([("a", Type::String)]));
    assert_eq!(parsed.to_json(), r#"["object",{"a":"string"}]"#);
    let with_optional =
        Type::object_with_optional([("a", Type::String)], ["a"]).without_optional_attributes();
    assert_eq!(with_optional, Type::object([("a", Type::String)]));
}

#[test]
fn type_json_rejects_anything_else() {
    for json in [
        r#""str""#,
        r#""String""#,
        r#"["list"]"#,
        r#"["list","string","extra"]"#,
        r#"["map","string",{}]"#,
        r#"["tuple","string"]"#,
        r#"["tuple",["string"],1]"#,
        r#"["object",["a"]]"#,
        r#"["object",{"a":"string"},["b"]]"#,
        r#"["object",{"a":"string"},[1]]"#,
        r#"["object",{"a":"string"},["a"],[]]"#,
        r#"["array","string"]"#,
        r#"[]"#,
        r#"[1,"string"]"#,
        r#"{"list":"string"}"#,
        r#"null"#,
        r#"1"#,
        r#""string" "number""#,
        r#"["list","string"]]"#,
        r#""#,
    ] {
        assert!(
            Type::from_json(json.as_bytes()).is_err(),
            "{json} should be refused"
        );
    }
}

#[test]
fn a_value_is_no_larger_than_a_string_and_a_tag() {
    // Objects are B-trees of eleven values a node: a node of large values falls outside the
    // allocator's fast path on every object decoded, copied or dropped.
    assert!(
        std::mem::size_of::<Value>() <= 32,
        "{}",
        std::mem::size_of::<Value>()
    );
}

// ---------------------------------------------------------------------------------------------
// K8: JSON.

fn decode_json_text(ty: &Type, text: &str) -> Value {
    decode_json(ty, text.as_bytes()).unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn encode_json_text(ty: &Type, value: &Value) -> String {
    String::from_utf8(encode_json(ty, value).unwrap()).unwrap()
}

/// What `decode_stored_json` must give: the whole document parsed, the attributes the type does
/// not have removed (not inside tuples or dynamic values), then decoded as `decode_json` does.
fn stored_by_tree(ty: &Type, text: &str) -> Result<Value, String> {
    fn strip(ty: &Type, json: &mut serde_json::Value) {
        match (ty, json) {
            (Type::Object(fields, _), serde_json::Value::Object(map)) => {
                map.retain(|key, _| fields.contains_key(key));
                for (key, value) in map.iter_mut() {
                    strip(&fields[key], value);
                }
            }
            (Type::List(element) | Type::Set(element), serde_json::Value::Array(items)) => {
                items.iter_mut().for_each(|item| strip(element, item));
            }
            (Type::Map(element), serde_json::Value::Object(map)) => {
                map.values_mut().for_each(|value| strip(element, value));
            }
            _ => {}
        }
    }
    let mut json: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("syntax: {error}"))?;
    strip(ty, &mut json);
    Value::from_json_value(ty, &json).map_err(|error| format!("mismatch: {error}"))
}

fn stored_streamed(ty: &Type, text: &str) -> Result<Value, String> {
    decode_stored_json(ty, text.as_bytes()).map_err(|error| match error {
        StoredJsonError::Syntax(error) => format!("syntax: {error}"),
        StoredJsonError::Mismatch(error) => format!("mismatch: {error}"),
    })
}

#[test]
fn stored_json_decodes_as_a_parsed_and_stripped_tree_does() {
    let inner = Type::object([("name", Type::String), ("port", Type::Number)]);
    let ty = Type::object([
        ("id", Type::String),
        ("enabled", Type::Bool),
        ("tags", Type::map(Type::String)),
        ("rules", Type::list(inner.clone())),
        ("members", Type::set(inner.clone())),
        ("nested", inner.clone()),
        ("pair", Type::tuple([Type::String, inner.clone()])),
        ("anything", Type::Dynamic),
        ("maps", Type::map(inner)),
    ]);
    let documents = [
        // Every kind, with attributes the type does not have at each depth.
        r#"{"id":"a","gone":{"deep":[1,2]},"enabled":true,"tags":{"k":"v","n":12.5},
            "rules":[{"name":"r","port":"443","old":true},null],
            "members":[{"name":"m","port":1},{"name":"m","port":1,"old":"x"}],
            "nested":{"name":"n","extra":null},"pair":["p",{"name":"q","port":2}],
            "anything":{"value":{"a":1},"type":["object",{"a":"number"}]},
            "maps":{"x":{"name":"y","old":1}}}"#,
        // Omitted attributes read as null; nulls everywhere.
        r#"{"id":null,"tags":null,"rules":[],"members":null,"nested":null}"#,
        r#"null"#,
        r#"{"id":"\u0061\n","tags":{"\u006b":"v"},"\u006eested":{"name":"\"x\""}}"#,
        r#"{"id":"x","nested":{"port":123456789012345678901234567890.5}}"#,
        // Mismatches, with their paths.
        r#"{"id":[1]}"#,
        r#"{"id":"x","rules":[{"name":"r"},{"port":"many"}]}"#,
        r#"{"tags":{"a":"b","c":{}}}"#,
        r#"{"nested":5}"#,
        r#"{"nested":"text"}"#,
        r#"{"rules":{"name":"r"}}"#,
        r#"{"members":7}"#,
        r#"{"maps":[]}"#,
        r#"{"maps":{"m":{"port":true}}}"#,
        r#"{"pair":["p",{"name":"q","old":1}]}"#,
        r#"{"anything":{"value":1}}"#,
        r#"[]"#,
        r#"12"#,
        // Not JSON: reported as such even after a mismatch, or inside a dropped attribute.
        r#"{"id":[1],"enabled":tru}"#,
        r#"{"gone":[1,}"#,
        r#"{"id":"x"} trailing"#,
        r#"{"id":"x""#,
        "",
    ];
    for text in documents {
        assert_eq!(
            stored_streamed(&ty, text),
            stored_by_tree(&ty, text),
            "{text}"
        );
    }
    // The cases above do what they say.
    assert!(stored_streamed(&ty, documents[0]).is_ok());
    let deep = stored_streamed(&ty, r#"{"id":"x","rules":[{"name":"r"},{"port":"many"}]}"#);
    assert!(
        deep.as_ref()
            .is_err_and(|error| error.starts_with("mismatch: ") && error.contains("rules[1]")),
        "{deep:?}"
    );
    assert!(
        stored_streamed(&ty, r#"{"gone":[1,}"#).is_err_and(|error| error.starts_with("syntax: "))
    );
    assert!(
        stored_streamed(&ty, r#"{"nested":5}"#).is_err_and(|error| error.starts_with("mismatch: "))
    );
}

#[test]
fn stored_json_reads_invalid_utf8_in_a_dropped_attribute_as_not_json() {
    let ty = Type::object([("id", Type::String)]);
    let bytes = b"{\"id\":\"x\",\"gone\":\"\xff\"}";
    assert!(matches!(
        decode_stored_json(&ty, bytes),
        Err(StoredJsonError::Syntax(_))
    ));
    assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_err());
}

#[test]
fn json_objects_may_omit_attributes_but_not_add_them() {
    let ty = two_attribute_object();
    assert_eq!(
        decode_json_text(&ty, r#"{"id":"x"}"#),
        Value::object([("id", Value::string("x")), ("size", Value::Null)])
    );
    let error = decode_json(&ty, br#"{"id":"x","bogus":1}"#).unwrap_err();
    assert_eq!(error.to_string(), "unsupported attribute \"bogus\"");
    assert_eq!(
        encode_json_text(
            &ty,
            &Value::object([("size", Value::from(2)), ("id", Value::Null)])
        ),
        r#"{"id":null,"size":2}"#
    );
}

#[test]
fn json_numbers_keep_full_precision() {
    let big = "123456789012345678901234567890.123456789012345678901234567891";
    let value = decode_json_text(&Type::Number, big);
    assert_eq!(value, number(big));
    assert_eq!(encode_json_text(&Type::Number, &value), big);
    assert_eq!(decode_json_text(&Type::Number, "1.50e2"), number("150"));
    assert_eq!(encode_json_text(&Type::Number, &number("150")), "150");
    // go-cty also reads numbers from strings.
    assert_eq!(decode_json_text(&Type::Number, r#""0.1""#), number("0.1"));
    assert!(encode_json(&Type::Number, &Value::Number(Number::positive_infinity())).is_err());
}

#[test]
fn json_primitive_conversions_match_go_cty() {
    assert_eq!(
        decode_json_text(&Type::String, "12.50"),
        Value::string("12.50")
    );
    assert_eq!(
        decode_json_text(&Type::String, "true"),
        Value::string("true")
    );
    assert_eq!(decode_json_text(&Type::Bool, r#""1""#), Value::from(true));
    assert_eq!(
        decode_json_text(&Type::Bool, r#""false""#),
        Value::from(false)
    );
    assert!(
        decode_json(&Type::Bool, br#""TRUE""#)
            .unwrap_err()
            .to_string()
            .contains("lowercase")
    );
    assert!(decode_json(&Type::Bool, b"1").is_err());
    assert!(decode_json(&Type::String, b"[]").is_err());
}

#[test]
fn json_dynamic_wrapper() {
    let value = Value::dynamic(Type::list(Type::String), Value::list([Value::string("a")]));
    let text = encode_json_text(&Type::Dynamic, &value);
    assert_eq!(text, r#"{"value":["a"],"type":["list","string"]}"#);
    assert_eq!(decode_json_text(&Type::Dynamic, &text), value);
    assert_eq!(
        decode_json_text(&Type::Dynamic, r#"{"type":"number","value":null}"#),
        Value::dynamic(Type::Number, Value::Null)
    );
    assert_eq!(
        encode_json_text(&Type::Dynamic, &Value::dynamic(Type::Number, Value::Null)),
        r#"{"value":null,"type":"number"}"#
    );
    assert_eq!(decode_json_text(&Type::Dynamic, "null"), Value::Null);
    assert_eq!(encode_json_text(&Type::Dynamic, &Value::Null), "null");
    for bad in [
        r#"{"value":1}"#,
        r#"{"type":"number"}"#,
        r#"{"type":"number","value":1,"extra":2}"#,
        r#"{"type":"nope","value":1}"#,
        r#""plain""#,
    ] {
        assert!(
            decode_json(&Type::Dynamic, bad.as_bytes()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn json_collections_tuples_and_nulls() {
    let ty = Type::object([
        ("list", Type::list(Type::Number)),
        ("set", Type::set(Type::String)),
        ("map", Type::map(Type::Bool)),
        ("tuple", Type::tuple([Type::String, Type::Number])),
    ]);
    let text = r#"{"list":[],"map":{"k":true},"set":["a","a","b"],"tuple":["x",1]}"#;
    let value = decode_json_text(&ty, text);
    assert_eq!(
        value,
        Value::object([
            ("list", Value::List(vec![])),
            (
                "set",
                Value::Set(vec![Value::string("a"), Value::string("b")])
            ),
            ("map", Value::map([("k", Value::from(true))])),
            ("tuple", Value::tuple([Value::string("x"), Value::from(1)])),
        ])
    );
    assert_eq!(
        encode_json_text(&ty, &value),
        r#"{"list":[],"map":{"k":true},"set":["a","b"],"tuple":["x",1]}"#
    );
    let tuple = Type::tuple([Type::String]);
    assert!(
        decode_json(&tuple, br#"[]"#)
            .unwrap_err()
            .to_string()
            .contains("not enough")
    );
    assert!(
        decode_json(&tuple, br#"["a","b"]"#)
            .unwrap_err()
            .to_string()
            .contains("too many")
    );
    assert!(decode_json(&Type::list(Type::String), b"{}").is_err());
    assert!(decode_json(&Type::String, b"\"a\" x").is_err());
}

#[test]
fn json_has_no_unknowns() {
    let ty = Type::object([("id", Type::String)]);
    let value = Value::object([("id", Value::unknown())]);
    assert_eq!(
        encode_json(&ty, &value).unwrap_err().to_string(),
        ".id: value is not known"
    );
}

#[test]
fn json_value_conveniences_match_the_byte_codec() {
    let ty = Type::object([("n", Type::Number), ("s", Type::list(Type::String))]);
    let value = Value::object([
        ("n", number("0.1")),
        ("s", Value::list([Value::string("x")])),
    ]);
    let json = value.to_json_value(&ty).unwrap();
    assert_eq!(json.to_string(), r#"{"n":0.1,"s":["x"]}"#);
    assert_eq!(Value::from_json_value(&ty, &json).unwrap(), value);
}

// ---------------------------------------------------------------------------------------------
// Accessors, conformance, equality.

#[test]
fn accessors_see_through_the_dynamic_wrapper() {
    let value = Value::object([
        ("name", Value::string("n")),
        ("count", Value::from(3)),
        ("on", Value::from(true)),
        ("dyn", Value::dynamic(Type::String, Value::string("d"))),
        ("tags", Value::map([("k", Value::string("v"))])),
        ("ids", Value::set([Value::string("a"), Value::string("a")])),
    ]);
    assert_eq!(value.get("name").and_then(Value::as_str), Some("n"));
    assert_eq!(value.get("count").and_then(Value::as_i64), Some(3));
    assert_eq!(value.get("on").and_then(Value::as_bool), Some(true));
    assert_eq!(value.get("dyn").and_then(Value::as_str), Some("d"));
    assert_eq!(
        value.get("dyn").and_then(Value::dynamic_type),
        Some(&Type::String)
    );
    assert_eq!(
        value.get("tags").and_then(Value::as_map).map(BTreeMap::len),
        Some(1)
    );
    assert_eq!(
        value
            .get("ids")
            .and_then(Value::as_list)
            .map(<[Value]>::len),
        Some(1)
    );
    assert_eq!(value.get("missing"), None);
    assert_eq!(Value::string("x").get("name"), None);

    let mut value = value;
    *value.get_mut("name").unwrap() = Value::Null;
    assert!(value.get("name").unwrap().is_null());
}

#[test]
fn known_and_wholly_known() {
    let partly = Value::list([Value::from(1), Value::unknown()]);
    assert!(partly.is_known());
    assert!(!partly.is_wholly_known());
    assert!(Value::unknown().is_unknown());
    assert!(!Value::unknown().is_known());
    assert!(Value::Null.is_wholly_known());
    assert!(
        !Value::dynamic(Type::list(Type::String), Value::list([Value::unknown()]))
            .is_wholly_known()
    );
    assert_eq!(Value::from(None::<&str>), Value::Null);
    assert_eq!(Value::from(Some("x")), Value::string("x"));
}

#[test]
fn conformance_checks_every_level() {
    let ty = Type::object([
        ("id", Type::String),
        ("pair", Type::tuple([Type::Number, Type::Bool])),
        ("any", Type::Dynamic),
    ]);
    let good = Value::object([
        ("id", Value::unknown()),
        ("pair", Value::tuple([Value::from(1), Value::Null])),
        ("any", Value::dynamic(Type::Bool, Value::from(true))),
    ]);
    assert_eq!(good.conforms_to(&ty), Ok(()));
    let short_tuple = Value::object([
        ("id", Value::Null),
        ("pair", Value::tuple([Value::from(1)])),
        ("any", Value::Null),
    ]);
    assert_eq!(
        short_tuple.conforms_to(&ty).unwrap_err(),
        ".pair: a tuple of length 2 is required (1 given)"
    );
    let bare_dynamic = Value::object([
        ("id", Value::Null),
        ("pair", Value::Null),
        ("any", Value::from(true)),
    ]);
    assert!(
        bare_dynamic
            .conforms_to(&ty)
            .unwrap_err()
            .starts_with(".any:")
    );
    let missing = Value::object([("id", Value::Null)]);
    assert!(missing.conforms_to(&ty).unwrap_err().contains("missing"));
    assert!(Value::from(1).conforms_to(&Type::String).is_err());
}

#[test]
fn raw_equals_is_exact_but_numbers_compare_by_value_and_sets_by_content() {
    assert!(number("1").raw_equals(&number("1.0")));
    assert!(!number("1").raw_equals(&Value::string("1")));
    assert!(
        Value::Set(vec![Value::from(1), Value::from(2)])
            .raw_equals(&Value::Set(vec![Value::from(2), Value::from(1)]))
    );
    assert!(
        !Value::list([Value::from(1), Value::from(2)])
            .raw_equals(&Value::list([Value::from(2), Value::from(1)]))
    );
    assert!(!Value::unknown().raw_equals(&Value::Null));
    assert!(Value::unknown().raw_equals(&Value::unknown()));
    assert!(!Value::unknown().raw_equals(&not_null_unknown()));
    assert!(
        !Value::dynamic(Type::String, Value::Null)
            .raw_equals(&Value::dynamic(Type::Number, Value::Null))
    );
    assert!(!Value::Null.raw_equals(&Value::string("")));
}

#[test]
fn debug_output_never_shows_string_contents() {
    let value = Value::object([
        ("client_secret", Value::string("s3cr3t-value")),
        ("port", Value::from(443)),
        (
            "token",
            Value::Unknown(Box::new(Refinements {
                string_prefix: Some("eyJhbGciOi".to_owned()),
                ..Refinements::default()
            })),
        ),
        (
            "any",
            Value::dynamic(Type::String, Value::string("hidden-too")),
        ),
    ]);
    let debug = format!("{value:?} {value:#?}");
    assert!(!debug.contains("s3cr3t") && !debug.contains("eyJ") && !debug.contains("hidden"));
    assert!(debug.contains("client_secret") && debug.contains("String(<12 bytes>)"));
    assert!(debug.contains("Number(443)"));
}

#[test]
fn large_sets_are_deduplicated() {
    // Many distinct elements plus repeats: linear work, so this stays fast.
    let count = 20_000;
    let mut bytes = hex("dc");
    bytes.extend_from_slice(&((count + 2) as u16).to_be_bytes());
    for index in 0..count {
        bytes.extend(mp_str(&format!("element-{index}")));
    }
    bytes.extend(mp_str("element-0"));
    bytes.extend(mp_str("element-1"));
    let decoded = decode(&Type::set(Type::String), &bytes);
    assert_eq!(decoded.as_list().map(<[Value]>::len), Some(count));
    // Nested sets compare without regard to order.
    let nested = Value::Set(vec![
        Value::set([Value::from(1), Value::from(2)]),
        Value::set([Value::from(2), Value::from(1)]),
    ]);
    assert_eq!(
        encode(&Type::set(Type::set(Type::Number)), &nested),
        hex("91 92 01 02")
    );
}

#[test]
fn path_display() {
    let path = Path(vec![
        PathStep::Attribute("attr".to_owned()),
        PathStep::Index(2),
        PathStep::Key("key".to_owned()),
    ]);
    assert_eq!(path.to_string(), r#".attr[2]["key"]"#);
    assert_eq!(
        ValueError::new(path, "broken").to_string(),
        r#".attr[2]["key"]: broken"#
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests.

fn attribute_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,6}"
}

fn arbitrary_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Type::Tuple),
            prop::collection::btree_map(attribute_name(), inner, 0..4)
                .prop_map(|attributes| Type::Object(attributes, Default::default())),
        ]
    })
}

/// Concrete types for values in dynamic positions (never dynamic themselves).
fn concrete_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::list(Type::String)),
        Just(Type::map(Type::Number)),
        Just(Type::object([("a", Type::Bool), ("b", Type::Dynamic)])),
        Just(Type::tuple([Type::String, Type::Dynamic])),
    ]
}

fn arbitrary_number(with_infinities: bool) -> BoxedStrategy<Number> {
    let finite = prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>()
            .prop_filter("finite", |float| float.is_finite())
            .prop_map(|float| Number::from_f64(float).unwrap()),
        "-?[0-9]{1,25}(\\.[0-9]{1,25})?(e-?[0-9]{1,2})?"
            .prop_map(|text| Number::parse(&text).unwrap()),
    ];
    if with_infinities {
        prop_oneof![
            10 => finite,
            1 => Just(Number::positive_infinity()),
            1 => Just(Number::negative_infinity()),
        ]
        .boxed()
    } else {
        finite.boxed()
    }
}

fn arbitrary_refinements(ty: &Type) -> BoxedStrategy<Refinements> {
    let nullable = prop_oneof![Just(None), Just(Some(false))];
    match ty {
        Type::String => (nullable, prop::option::of("[a-zé]{1,12}"))
            .prop_map(|(nullable, string_prefix)| Refinements {
                nullable,
                string_prefix,
                ..Refinements::default()
            })
            .boxed(),
        Type::Number => (
            nullable,
            prop::option::of((arbitrary_number(false), any::<bool>())),
            prop::option::of((arbitrary_number(false), any::<bool>())),
        )
            .prop_map(|(nullable, number_lower, number_upper)| Refinements {
                nullable,
                number_lower,
                number_upper,
                ..Refinements::default()
            })
            .boxed(),
        Type::List(_) | Type::Set(_) | Type::Map(_) => (
            nullable,
            prop::option::of(1u64..1000),
            prop::option::of(0u64..1000),
        )
            .prop_map(|(nullable, length_lower, length_upper)| Refinements {
                nullable,
                length_lower,
                length_upper,
                ..Refinements::default()
            })
            .boxed(),
        Type::Dynamic => Just(Refinements::default()).boxed(),
        _ => nullable
            .prop_map(|nullable| Refinements {
                nullable,
                ..Refinements::default()
            })
            .boxed(),
    }
}

/// A value conforming to `ty`: nulls and (if `unknowns`) refined unknowns at any level.
fn arbitrary_value(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    let known = known_value(ty, unknowns);
    let mut choices = vec![(1, Just(Value::Null).boxed()), (6, known)];
    if unknowns {
        choices.push((
            1,
            arbitrary_refinements(ty)
                .prop_map(|refinements| Value::Unknown(Box::new(refinements)))
                .boxed(),
        ));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

fn known_value(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    match ty {
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Number => arbitrary_number(unknowns).prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Dynamic => concrete_type()
            .prop_flat_map(move |concrete| {
                arbitrary_value(&concrete, unknowns)
                    .prop_map(move |value| Value::dynamic(concrete.clone(), value))
            })
            .boxed(),
        Type::List(element) => prop::collection::vec(arbitrary_value(element, unknowns), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(element) => prop::collection::vec(arbitrary_value(element, unknowns), 0..4)
            .prop_map(Value::set)
            .boxed(),
        Type::Map(element) => {
            prop::collection::btree_map(".{0,5}", arbitrary_value(element, unknowns), 0..4)
                .prop_map(Value::Map)
                .boxed()
        }
        Type::Tuple(elements) => elements
            .iter()
            .map(|element| arbitrary_value(element, unknowns))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Object(attributes, _) => attributes
            .iter()
            .map(|(name, attribute)| {
                let name = name.clone();
                arbitrary_value(attribute, unknowns).prop_map(move |value| (name.clone(), value))
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
    }
}

fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arbitrary_type().prop_flat_map(move |ty| {
        arbitrary_value(&ty, unknowns).prop_map(move |value| (ty.clone(), value))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn msgpack_round_trips_any_conforming_value((ty, value) in typed_value(true)) {
        prop_assert_eq!(value.conforms_to(&ty), Ok(()));
        let bytes = encode_msgpack(&ty, &value).unwrap();
        let decoded = decode_msgpack(&ty, &bytes).unwrap();
        prop_assert_eq!(&decoded, &value);
        prop_assert!(decoded.raw_equals(&value));
        prop_assert_eq!(encode_msgpack(&ty, &decoded).unwrap(), bytes);
    }

    #[test]
    fn json_round_trips_any_known_conforming_value((ty, value) in typed_value(false)) {
        let bytes = encode_json(&ty, &value).unwrap();
        let decoded = decode_json(&ty, &bytes).unwrap();
        prop_assert_eq!(&decoded, &value);
    }

    #[test]
    fn type_json_round_trips_any_type(ty in arbitrary_type()) {
        prop_assert_eq!(Type::from_json(ty.to_json().as_bytes()).unwrap(), ty.clone());
        // What Display prints is the same syntax.
        prop_assert_eq!(ty.to_string(), ty.to_json());
    }

    #[test]
    fn number_text_round_trips_and_orders_like_floats(left in any::<i64>(), right in any::<i64>()) {
        let (left_number, right_number) = (Number::from(left), Number::from(right));
        prop_assert_eq!(left_number.cmp(&right_number), left.cmp(&right));
        prop_assert_eq!(Number::parse(&left_number.to_string()).unwrap(), left_number);
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded fuzzing of the msgpack decoder.

/// A small deterministic generator (xorshift64*), so every run tries the same inputs.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Valid encodings to mutate, so that mutations reach deep into the decoder.
fn fuzz_seeds() -> Vec<Vec<u8>> {
    let object_type = &super::msgpack::fuzz_types()[8];
    let object = Value::object([
        ("id", Value::string("vnet-1")),
        ("count", number("0.1")),
        ("tags", Value::map([("env", Value::string("dev"))])),
        (
            "rules",
            Value::list([Value::object([("port", Value::unknown_not_null())])]),
        ),
        (
            "extra",
            Value::dynamic(
                Type::list(Type::Number),
                Value::list([Value::from(1), Value::from(u64::MAX)]),
            ),
        ),
    ]);
    let mut seeds = vec![
        encode(object_type, &object),
        hex("c7 08 0c 82 01 c2 02 a3 61 62 63"),
        hex("c7 11 0c 82 03 92 00 c3 04 92 cb 40 25 00 00 00 00 00 00 c2"),
        hex("c7 05 0c 82 05 01 06 05"),
        hex("93 01 cb 3f b9 99 99 99 99 99 9a d4 00 00"),
        hex("92 c4 08 22 73 74 72 69 6e 67 22 a1 61"),
    ];
    seeds.push(mp_str("1e3"));
    seeds
}

/// The stronger check the fuzz test makes on each input: whatever decodes re-encodes, and
/// re-encoding is stable.
fn check_decode_invariants(data: &[u8]) {
    super::fuzz_decode(data);
    for ty in super::msgpack::fuzz_types() {
        if let Ok(value) = decode_msgpack(&ty, data) {
            assert_eq!(value.conforms_to(&ty), Ok(()), "{data:02x?}");
            let first = encode_msgpack(&ty, &value)
                .unwrap_or_else(|error| panic!("{data:02x?} re-encodes: {error}"));
            let again = decode_msgpack(&ty, &first)
                .unwrap_or_else(|error| panic!("{data:02x?} decodes again: {error}"));
            assert_eq!(encode_msgpack(&ty, &again).unwrap(), first, "{data:02x?}");
        }
    }
}

#[test]
fn fuzz_msgpack_decoder_with_mutated_inputs() {
    const ITERATIONS: usize = 20_000;
    let seeds = fuzz_seeds();
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    for iteration in 0..ITERATIONS {
        let mut data = if iteration % 8 == 0 {
            // Pure noise, short.
            (0..random.below(24))
                .map(|_| random.next() as u8)
                .collect::<Vec<_>>()
        } else {
            seeds[random.below(seeds.len())].clone()
        };
        for _ in 0..=random.below(4) {
            if data.is_empty() {
                data.push(random.next() as u8);
                continue;
            }
            let at = random.below(data.len());
            match random.below(5) {
                0 => data[at] ^= 1 << random.below(8),
                1 => data[at] = random.next() as u8,
                2 => data.insert(at, random.next() as u8),
                3 => {
                    data.remove(at);
                }
                _ => data.truncate(at),
            }
        }
        check_decode_invariants(&data);
    }
}
