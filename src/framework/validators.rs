//! Per-attribute validators: small described checks run at validate time on known, non-null
//! configuration values. The description completes "must be ..." in error summaries and in the
//! generated docs, so write it as a noun phrase: "a UUID", "one of `a`, `b`".
//!
//! A check returns `Err(reason)`; the framework turns it into an error diagnostic at the
//! attribute's path. Reasons of sensitive attributes are never shown (they might echo the value).

use std::fmt;
use std::sync::Arc;

use crate::value::Value;

use super::timeouts::parse_go_duration;

type Check = dyn Fn(&Value) -> Result<(), String> + Send + Sync;

/// A described check of one attribute value.
#[derive(Clone)]
pub struct Validator {
    description: String,
    check: Arc<Check>,
}

impl Validator {
    /// A validator over any value (known and non-null; it may contain unknown elements).
    pub fn new(
        description: impl Into<String>,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator {
            description: description.into(),
            check: Arc::new(check),
        }
    }

    /// A validator over string values; other values pass (Terraform has checked the type).
    pub fn string(
        description: impl Into<String>,
        check: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator::new(description, move |value| match value.as_str() {
            Some(text) => check(text),
            None => Ok(()),
        })
    }

    /// What a valid value is ("a UUID"), for messages and docs.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Runs the check. Null and unknown values always pass.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if value.is_null() || value.is_unknown() {
            return Ok(());
        }
        (self.check)(value)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Validator").field(&self.description).finish()
    }
}

/// A validator that accepts what `parse` accepts; the parse error is the reason. This is how
/// checks whose grammar belongs to a cloud client (ARM ids, UUIDs) or to another module (CIDR
/// blocks) become validators without the framework knowing the grammar: the resource binds
/// the owner's parse function, e.g. `validators::parsed("a UUID", ids::parse_uuid)`.
pub fn parsed<T, E: fmt::Display>(
    description: impl Into<String>,
    parse: impl Fn(&str) -> Result<T, E> + Send + Sync + 'static,
) -> Validator {
    Validator::string(description, move |text| {
        parse(text).map(|_| ()).map_err(|error| error.to_string())
    })
}

/// Applies `element` to every element of a list, set or map (unknown elements are skipped).
pub fn each(element: Validator) -> Validator {
    let description = format!("elements that are each {}", element.description);
    Validator::new(description, move |value| {
        let elements: Vec<&Value> = match value {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().collect(),
            Value::Map(entries) => entries.values().collect(),
            _ => return Ok(()),
        };
        for item in elements {
            element
                .check(item)
                .map_err(|reason| format!("an element is invalid: {reason}"))?;
        }
        Ok(())
    })
}

/// Exactly one of the given strings (case-sensitive).
pub fn one_of(allowed: &'static [&'static str]) -> Validator {
    let listed = allowed
        .iter()
        .map(|choice| format!("`{choice}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Validator::string(format!("one of {listed}"), move |text| {
        if allowed.contains(&text) {
            Ok(())
        } else {
            Err(format!("{text:?} is not allowed"))
        }
    })
}

/// An RFC 3339 timestamp such as `2030-01-01T00:00:00Z`.
pub fn rfc3339() -> Validator {
    Validator::string(
        "an RFC 3339 timestamp such as `2030-01-01T00:00:00Z`",
        |text| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(|_| ())
                .map_err(|_| format!("{text:?} is not an RFC 3339 timestamp"))
        },
    )
}

/// A duration in Go syntax: `30s`, `10m`, `1h30m`, `1.5h`.
pub fn go_duration() -> Validator {
    Validator::string(
        "a duration in Go syntax such as `30s`, `10m`, `1h30m` or `1.5h`",
        |text| parse_go_duration(text).map(|_| ()),
    )
}

/// A string of `min..=max` characters.
pub fn string_length(min: usize, max: usize) -> Validator {
    Validator::string(
        format!("between {min} and {max} characters long"),
        move |text| {
            let length = text.chars().count();
            if (min..=max).contains(&length) {
                Ok(())
            } else {
                Err(format!("the value is {length} characters long"))
            }
        },
    )
}

/// A string that is not empty and not only whitespace.
pub fn not_blank() -> Validator {
    Validator::string("a non-empty string", |text| {
        if text.trim().is_empty() {
            Err("the value is empty".to_owned())
        } else {
            Ok(())
        }
    })
}

/// A string starting with `prefix`.
pub fn starts_with(prefix: &'static str) -> Validator {
    Validator::string(format!("a string starting with `{prefix}`"), move |text| {
        if text.starts_with(prefix) {
            Ok(())
        } else {
            Err(format!("{text:?} does not start with {prefix:?}"))
        }
    })
}

/// A non-empty string whose characters all satisfy `allowed`; `description` names the
/// character set ("letters, digits, `-` and `_`").
pub fn charset(description: &'static str, allowed: fn(char) -> bool) -> Validator {
    Validator::string(
        format!("a non-empty string of {description}"),
        move |text| match text.chars().find(|&c| !allowed(c)) {
            _ if text.is_empty() => Err("the value is empty".to_owned()),
            Some(bad) => Err(format!("{bad:?} is not allowed")),
            None => Ok(()),
        },
    )
}

/// A list with at least one element.
pub fn non_empty_list() -> Validator {
    Validator::new("a list with at least one element", |value| {
        match value.as_list() {
            Some([]) => Err("the list is empty".to_owned()),
            _ => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(validator: &Validator, text: &str) -> Result<(), String> {
        validator.check(&Value::String(text.to_owned()))
    }

    #[test]
    fn simple_string_validators() {
        assert!(check(&one_of(&["a", "b"]), "b").is_ok());
        assert!(check(&one_of(&["a", "b"]), "B").is_err());
        assert_eq!(one_of(&["a", "b"]).description(), "one of `a`, `b`");
        assert!(check(&rfc3339(), "2030-01-01T00:00:00Z").is_ok());
        assert!(check(&rfc3339(), "2030-01-01").is_err());
        assert!(check(&go_duration(), "1.5h").is_ok());
        assert!(check(&go_duration(), "90").is_err());
        assert!(check(&string_length(1, 3), "abc").is_ok());
        assert!(check(&string_length(1, 3), "abcd").is_err());
        assert!(check(&not_blank(), "  ").is_err());
        assert!(check(&starts_with("/subscriptions/"), "/subscriptions/x").is_ok());
        let names = charset("lower-case letters and `-`", |c| {
            c.is_ascii_lowercase() || c == '-'
        });
        assert!(check(&names, "my-app").is_ok());
        assert_eq!(
            check(&names, "My-app"),
            Err("'M' is not allowed".to_owned())
        );
    }

    #[test]
    fn non_empty_lists() {
        let v = non_empty_list();
        assert_eq!(
            v.check(&Value::List(vec![])),
            Err("the list is empty".to_owned())
        );
        assert!(
            v.check(&Value::List(vec![Value::String("a".into())]))
                .is_ok()
        );
        assert!(v.check(&Value::Null).is_ok());
    }

    /// A stand-in for a parser owned elsewhere: accepts decimal numbers.
    fn decimal() -> Validator {
        parsed("a decimal number", |text: &str| {
            text.parse::<u32>()
                .map_err(|_| format!("{text:?} is not a decimal number"))
        })
    }

    #[test]
    fn parsed_validators_report_the_parse_error() {
        let v = decimal();
        assert_eq!(v.description(), "a decimal number");
        assert!(check(&v, "42").is_ok());
        assert_eq!(
            check(&v, "4x"),
            Err("\"4x\" is not a decimal number".to_owned())
        );
    }

    #[test]
    fn null_unknown_and_other_types_pass() {
        let v = decimal();
        assert!(v.check(&Value::Null).is_ok());
        assert!(v.check(&Value::Unknown(Default::default())).is_ok());
        assert!(v.check(&Value::Bool(true)).is_ok());
    }

    #[test]
    fn each_checks_every_known_element() {
        let v = each(decimal());
        let good = Value::Set(vec![
            Value::String("7".into()),
            Value::Unknown(Default::default()),
        ]);
        assert!(v.check(&good).is_ok());
        let bad = Value::List(vec![Value::String("nope".into())]);
        assert!(
            v.check(&bad)
                .unwrap_err()
                .contains("\"nope\" is not a decimal number")
        );
    }
}
