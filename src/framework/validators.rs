//! Per-attribute validators: small described checks run at validate time on known, non-null
//! configuration values. The description completes "must be ..." in error summaries and in the
//! generated docs, so write it as a noun phrase: "a UUID", "one of `a`, `b`".
//!
//! A check returns `Err(reason)`; the framework turns it into an error diagnostic at the
//! attribute's path. Reasons of sensitive attributes are never shown (they might echo the value).

use std::fmt;
use std::net::IpAddr;
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

/// A UUID in its 8-4-4-4-12 hexadecimal form (Entra ids, subscription ids, ...).
pub fn uuid() -> Validator {
    Validator::string(
        "a UUID such as `00000000-0000-0000-0000-000000000000`",
        |text| {
            if is_uuid(text) {
                Ok(())
            } else {
                Err(format!("{text:?} is not a UUID"))
            }
        },
    )
}

pub(crate) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An ARM resource id of the given resource type inside a resource group, e.g.
/// `arm_resource_id("Microsoft.Network/virtualNetworks")` accepts
/// `/subscriptions/<uuid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>`.
/// Child types are written in full: `Microsoft.Network/virtualNetworks/virtualNetworkPeerings`.
/// Segment names compare case-insensitively, as ARM does.
pub fn arm_resource_id(resource_type: &'static str) -> Validator {
    let mut type_segments = resource_type.split('/');
    let namespace = type_segments.next().unwrap_or_default().to_owned();
    let types: Vec<String> = type_segments.map(str::to_owned).collect();
    let example = types.iter().fold(
        format!("/subscriptions/<subscription id>/resourceGroups/<group>/providers/{namespace}"),
        |example, ty| format!("{example}/{ty}/<name>"),
    );
    Validator::string(
        format!("an ARM resource id of the form `{example}`"),
        move |text| {
            let segments: Vec<&str> = text.split('/').collect();
            let expected_len = 6 + 1 + 2 * types.len();
            let shape_ok = segments.len() == expected_len
                && segments[0].is_empty()
                && segments[1].eq_ignore_ascii_case("subscriptions")
                && is_uuid(segments[2])
                && segments[3].eq_ignore_ascii_case("resourceGroups")
                && !segments[4].is_empty()
                && segments[5].eq_ignore_ascii_case("providers")
                && segments[6].eq_ignore_ascii_case(&namespace)
                && types.iter().enumerate().all(|(i, ty)| {
                    segments[7 + 2 * i].eq_ignore_ascii_case(ty) && !segments[8 + 2 * i].is_empty()
                });
            if shape_ok {
                Ok(())
            } else {
                Err(format!("{text:?} is not an id of a {resource_type}"))
            }
        },
    )
}

/// An ARM scope: a subscription (`/subscriptions/<uuid>`), a resource group under it, or any
/// resource id below those.
pub fn arm_scope() -> Validator {
    Validator::string(
        "an ARM scope such as `/subscriptions/<subscription id>` or a resource id under it",
        |text| {
            let segments: Vec<&str> = text.split('/').collect();
            let ok = segments.len() >= 3
                && segments[0].is_empty()
                && segments[1].eq_ignore_ascii_case("subscriptions")
                && is_uuid(segments[2])
                && segments.len() % 2 == 1
                && segments[3..].iter().all(|segment| !segment.is_empty());
            if ok {
                Ok(())
            } else {
                Err(format!("{text:?} is not an ARM scope"))
            }
        },
    )
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

/// An IPv4 or IPv6 CIDR block whose host bits are zero, e.g. `10.0.0.0/24`.
pub fn cidr() -> Validator {
    Validator::string(
        "a CIDR block such as `10.0.0.0/24` (network address, host bits zero)",
        |text| parse_cidr(text).map(|_| ()),
    )
}

/// Parses `address/prefix`, requiring zero host bits.
pub(crate) fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let not_cidr = || format!("{text:?} is not a CIDR block");
    let (address, prefix) = text.split_once('/').ok_or_else(not_cidr)?;
    let address: IpAddr = address.parse().map_err(|_| not_cidr())?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_cidr());
    }
    let prefix: u8 = prefix.parse().map_err(|_| not_cidr())?;
    let (bits, max): (u128, u8) = match address {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    if prefix > max {
        return Err(format!("{text:?} has a prefix longer than {max} bits"));
    }
    let host_bits = u32::from(max - prefix);
    let host_mask = if host_bits == 0 {
        0
    } else {
        u128::MAX >> (128 - host_bits)
    };
    if bits & host_mask != 0 {
        return Err(format!(
            "{text:?} has host bits set; use the network address of the range"
        ));
    }
    Ok((address, prefix))
}

/// Whether two blocks from [`parse_cidr`] share an address (different address families never
/// do): they overlap exactly when they agree on the shorter prefix.
pub(crate) fn cidr_blocks_overlap(a: (IpAddr, u8), b: (IpAddr, u8)) -> bool {
    let bits = |address: IpAddr| match address {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u32),
        IpAddr::V6(v6) => (u128::from(v6), 128u32),
    };
    let ((a_bits, a_width), (b_bits, b_width)) = (bits(a.0), bits(b.0));
    if a_width != b_width {
        return false;
    }
    let common = u32::from(a.1.min(b.1));
    if common == 0 {
        return true;
    }
    a_bits >> (a_width - common) == b_bits >> (b_width - common)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(validator: &Validator, text: &str) -> Result<(), String> {
        validator.check(&Value::String(text.to_owned()))
    }

    #[test]
    fn uuids() {
        let v = uuid();
        assert!(check(&v, "55f300d4-fc50-4c5e-9222-e90a6e2187fb").is_ok());
        assert!(check(&v, "55F300D4-FC50-4C5E-9222-E90A6E2187FB").is_ok());
        for bad in [
            "",
            "55f300d4fc504c5e9222e90a6e2187fb",
            "55f300d4-fc50-4c5e-9222-e90a6e2187fg",
        ] {
            assert!(check(&v, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arm_ids() {
        let v = arm_resource_id("Microsoft.Network/virtualNetworks");
        let good = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet";
        assert!(check(&v, good).is_ok());
        assert!(check(&v, &good.to_lowercase()).is_ok());
        assert!(check(&v, &format!("{good}/")).is_err());
        assert!(
            check(
                &v,
                &good.replace("virtualNetworks", "networkSecurityGroups")
            )
            .is_err()
        );
        assert!(v.description().contains("virtualNetworks/<name>"));
        let child = arm_resource_id("Microsoft.Network/virtualNetworks/virtualNetworkPeerings");
        assert!(check(&child, &format!("{good}/virtualNetworkPeerings/p")).is_ok());
        assert!(check(&child, good).is_err());

        let scope = arm_scope();
        assert!(
            check(
                &scope,
                "/subscriptions/11111111-1111-1111-1111-111111111111"
            )
            .is_ok()
        );
        assert!(check(&scope, good).is_ok());
        assert!(check(&scope, "/subscriptions/x").is_err());
        assert!(
            check(
                &scope,
                "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups"
            )
            .is_err()
        );
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
    fn cidrs() {
        let v = cidr();
        for good in ["10.0.0.0/24", "0.0.0.0/0", "192.168.1.7/32", "fd00::/8"] {
            assert!(check(&v, good).is_ok(), "{good}");
        }
        for bad in [
            "10.0.0.1/24",
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "x/8",
            "10.0.0.0/+8",
        ] {
            assert!(check(&v, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn null_unknown_and_other_types_pass() {
        let v = uuid();
        assert!(v.check(&Value::Null).is_ok());
        assert!(v.check(&Value::Unknown(Default::default())).is_ok());
        assert!(v.check(&Value::Bool(true)).is_ok());
    }

    #[test]
    fn each_checks_every_known_element() {
        let v = each(uuid());
        let good = Value::Set(vec![
            Value::String("55f300d4-fc50-4c5e-9222-e90a6e2187fb".into()),
            Value::Unknown(Default::default()),
        ]);
        assert!(v.check(&good).is_ok());
        let bad = Value::List(vec![Value::String("nope".into())]);
        assert!(
            v.check(&bad)
                .unwrap_err()
                .contains("\"nope\" is not a UUID")
        );
    }
}
