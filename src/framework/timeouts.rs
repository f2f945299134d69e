//! The conventional `timeouts { create = "30m" ... }` block (conventions d4) and Go duration syntax.
//!
//! Terraform core does not enforce timeouts: the provider reads them and bounds its own work. A
//! resource declares its defaults with [`Schema::with_timeouts`](super::Schema::with_timeouts);
//! the framework adds the block, validates its values, and hands every operation its deadline
//! through [`Context::deadline`](super::Context::deadline).

use std::time::Duration;

use crate::value::Value;

use super::schema::{Attribute, Block, NestedBlock};
use super::validators;

/// Name of the block in configurations and states.
pub const TIMEOUTS_BLOCK: &str = "timeouts";

/// The operation a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
}

impl Operation {
    /// The attribute name inside the `timeouts` block.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// Default time allowed for each operation of a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub read: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Timeouts {
    /// Defaults given in whole minutes, e.g. `Timeouts::minutes(30, 5, 30, 30)`.
    pub const fn minutes(create: u64, read: u64, update: u64, delete: u64) -> Self {
        Timeouts {
            create: Duration::from_secs(create * 60),
            read: Duration::from_secs(read * 60),
            update: Duration::from_secs(update * 60),
            delete: Duration::from_secs(delete * 60),
        }
    }

    pub fn get(&self, operation: Operation) -> Duration {
        match operation {
            Operation::Create => self.create,
            Operation::Read => self.read,
            Operation::Update => self.update,
            Operation::Delete => self.delete,
        }
    }

    /// The time allowed for `operation`: the value the user wrote in the `timeouts` block of
    /// `object` (a configuration, plan or state), else this default. Values are validated at
    /// validate time, so an unparsable one here falls back to the default.
    pub fn for_operation(&self, object: &Value, operation: Operation) -> Duration {
        object
            .get(TIMEOUTS_BLOCK)
            .and_then(|block| block.get(operation.name()))
            .and_then(Value::as_str)
            .and_then(|text| parse_go_duration(text).ok())
            .unwrap_or_else(|| self.get(operation))
    }
}

/// Timeouts used for resources that declare no `timeouts` block (azurerm's usual values).
impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::minutes(30, 5, 30, 30)
    }
}

/// The `timeouts` block: a single optional block with one optional string per operation, each
/// validated as a Go duration and documented with its default.
pub fn timeouts_block(defaults: &Timeouts) -> NestedBlock {
    let mut block = Block::new(
        "How long each operation may take before the provider gives up, in Go duration syntax \
         (`30s`, `10m`, `1h30m`, `1.5h`).",
    );
    for operation in [
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
    ] {
        let default = format_go_duration(defaults.get(operation));
        block = block.attribute(
            Attribute::string(operation.name())
                .optional()
                .description(format!(
                    "Time allowed for the {} operation. Default `{default}`.",
                    operation.name()
                ))
                .validate(validators::go_duration()),
        );
    }
    NestedBlock::single(TIMEOUTS_BLOCK, block)
}

/// Parses Go's `time.ParseDuration` syntax (`300ms`, `1.5h`, `2h45m`, `0`), without a sign: a
/// negative timeout makes no sense. Fractions below a nanosecond are truncated, as Go does.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "{text:?} is not a duration; use Go syntax such as \"30s\", \"10m\", \"1h30m\" or \"1.5h\""
        )
    };
    let rest = text.strip_prefix('+').unwrap_or(text);
    if rest.starts_with('-') {
        return Err(format!("{text:?} is negative; a duration must be positive"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    let mut chars = rest.char_indices().peekable();
    while chars.peek().is_some() {
        let mut whole: u128 = 0;
        let mut whole_digits = 0usize;
        while let Some(&(_, c)) = chars.peek() {
            let Some(digit) = c.to_digit(10) else { break };
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u128::from(digit)))
                .ok_or_else(|| format!("{text:?} is too large"))?;
            whole_digits += 1;
            chars.next();
        }
        let mut fraction: u128 = 0;
        let mut fraction_scale: u128 = 1;
        let mut fraction_digits = 0usize;
        if chars.peek().is_some_and(|&(_, c)| c == '.') {
            chars.next();
            while let Some(&(_, c)) = chars.peek() {
                let Some(digit) = c.to_digit(10) else { break };
                // Beyond 20 digits the fraction is far below a nanosecond of any unit.
                if fraction_digits < 20 {
                    fraction = fraction * 10 + u128::from(digit);
                    fraction_scale *= 10;
                }
                fraction_digits += 1;
                chars.next();
            }
        }
        if whole_digits == 0 && fraction_digits == 0 {
            return Err(invalid());
        }
        let unit_start = chars.peek().map(|&(i, _)| i).ok_or_else(invalid)?;
        let mut unit_end = rest.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_ascii_digit() || c == '.' {
                unit_end = i;
                break;
            }
            chars.next();
        }
        let unit_nanos: u128 = match &rest[unit_start..unit_end] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "" => {
                return Err(format!(
                    "{text:?} is missing a unit (ns, us, ms, s, m or h)"
                ));
            }
            other => {
                return Err(format!(
                    "{text:?} has an unknown unit {other:?}; use ns, us, ms, s, m or h"
                ));
            }
        };
        let component = whole
            .checked_mul(unit_nanos)
            .and_then(|nanos| nanos.checked_add(fraction * unit_nanos / fraction_scale))
            .ok_or_else(|| format!("{text:?} is too large"))?;
        total_nanos = total_nanos
            .checked_add(component)
            .ok_or_else(|| format!("{text:?} is too large"))?;
    }
    // Go's durations are int64 nanoseconds (about 292 years).
    if total_nanos > i64::MAX as u128 {
        return Err(format!("{text:?} is too large"));
    }
    let nanos = u64::try_from(total_nanos).map_err(|_| format!("{text:?} is too large"))?;
    Ok(Duration::from_nanos(nanos))
}

/// Formats a duration compactly in Go syntax: `30m`, `1h30m`, `45s`, `1.5s`, `250ms`.
pub fn format_go_duration(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".to_owned();
    }
    if duration < Duration::from_secs(1) {
        let nanos = duration.as_nanos();
        return if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let total_secs = duration.as_secs();
    let (hours, minutes, seconds) = (total_secs / 3600, total_secs / 60 % 60, total_secs % 60);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    let sub_nanos = duration.subsec_nanos();
    if seconds > 0 || sub_nanos > 0 {
        if sub_nanos == 0 {
            text.push_str(&format!("{seconds}s"));
        } else {
            let fraction = format!("{sub_nanos:09}");
            text.push_str(&format!("{seconds}.{}s", fraction.trim_end_matches('0')));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        let cases: &[(&str, Duration)] = &[
            ("30s", Duration::from_secs(30)),
            ("10m", Duration::from_secs(600)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("300ms", Duration::from_millis(300)),
            ("2h45m10s", Duration::from_secs(2 * 3600 + 45 * 60 + 10)),
            ("1us", Duration::from_micros(1)),
            ("1\u{b5}s", Duration::from_micros(1)),
            ("7ns", Duration::from_nanos(7)),
            ("0", Duration::ZERO),
            ("+5m", Duration::from_secs(300)),
            ("0.000000001s", Duration::from_nanos(1)),
            ("1.0000000009s", Duration::from_secs(1)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_go_duration(text), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn bad_durations_are_rejected_with_a_reason() {
        for text in [
            "",
            "30",
            "m",
            ".s",
            "1x",
            "-5m",
            "1h-5m",
            "1.5",
            "10 m",
            "9999999999h",
        ] {
            let error = parse_go_duration(text).expect_err(text);
            assert!(error.contains(&format!("{text:?}")), "{error}");
        }
    }

    #[test]
    fn durations_format_compactly_and_round_trip() {
        for (duration, text) in [
            (Duration::from_secs(1800), "30m"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(45), "45s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(250), "250ms"),
        ] {
            assert_eq!(format_go_duration(duration), text);
            assert_eq!(parse_go_duration(text), Ok(duration));
        }
    }
}
