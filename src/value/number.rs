//! Arbitrary-precision numbers (cty numbers are big decimals).
//!
//! A finite [`Number`] is kept as its canonical plain decimal text (no exponent, no leading `+`,
//! no leading zeros, no trailing fractional zeros, never `-0`), so equal numbers have equal text
//! and derived `Eq`/`Hash` are by value. Comparison (`Ord`) is numeric. cty also has the two
//! infinities (msgpack carries them as float64 infinities, K5); they are kept as such.
//!
//! Values that arrive as float64 keep their *exact* binary value (`0.1f64` becomes
//! `0.1000000000000000055511151231257827021181583404541015625`), because Terraform compares the
//! number it sent with the one it gets back by value: the decimal `0.1` is not the float `0.1`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Canonical texts longer than this are refused, so that input such as `1e999999999` cannot make
/// us allocate gigabytes. The exact expansion of every finite f64 fits easily (≤ 1077 characters).
const MAX_CANONICAL_LEN: usize = 10_000;

/// A cty number: an exact decimal of any size, or ±infinity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Repr {
    /// Canonical plain decimal text.
    Finite(String),
    PositiveInfinity,
    NegativeInfinity,
}

/// Why a text is not a number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberParseError {
    #[error("a number is required")]
    Invalid,
    #[error("number is too large or too precise to represent")]
    TooLong,
    #[error("NaN is not a number cty can represent")]
    NotANumber,
}

impl Number {
    /// Zero.
    pub fn zero() -> Number {
        Number(Repr::Finite("0".to_owned()))
    }

    pub fn positive_infinity() -> Number {
        Number(Repr::PositiveInfinity)
    }

    pub fn negative_infinity() -> Number {
        Number(Repr::NegativeInfinity)
    }

    /// Parses a decimal text as cty does (`big.ParseFloat` in base 10): optional sign, digits
    /// with an optional fraction (`5.`, `.5`), optional `e`/`E` exponent, or `Inf`/`Infinity`.
    pub fn parse(text: &str) -> Result<Number, NumberParseError> {
        text.parse()
    }

    /// The exact value of a float (NaN has none).
    pub fn from_f64(float: f64) -> Result<Number, NumberParseError> {
        if float.is_nan() {
            return Err(NumberParseError::NotANumber);
        }
        if float.is_infinite() {
            return Ok(if float > 0.0 {
                Number::positive_infinity()
            } else {
                Number::negative_infinity()
            });
        }
        Ok(Number(Repr::Finite(exact_f64_text(float))))
    }

    /// The canonical decimal text of a finite number; `None` for the infinities.
    pub fn as_decimal_str(&self) -> Option<&str> {
        match &self.0 {
            Repr::Finite(text) => Some(text),
            _ => None,
        }
    }

    pub fn is_infinite(&self) -> bool {
        !matches!(self.0, Repr::Finite(_))
    }

    pub fn is_integer(&self) -> bool {
        matches!(&self.0, Repr::Finite(text) if !text.contains('.'))
    }

    /// The value as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Finite(text) if !text.contains('.') => text.parse().ok(),
            _ => None,
        }
    }

    /// The value as a `u64`, if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Finite(text) if !text.contains('.') => text.parse().ok(),
            _ => None,
        }
    }

    /// The nearest `f64` (±infinity beyond its range).
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            // Canonical text always parses; Rust's float parsing rounds correctly.
            Repr::Finite(text) => text.parse().unwrap_or(f64::NAN),
            Repr::PositiveInfinity => f64::INFINITY,
            Repr::NegativeInfinity => f64::NEG_INFINITY,
        }
    }

    /// The value as an `f64` only if that float is exactly this number, and the number is not an
    /// integer: the condition under which go-cty writes a float64 rather than a string (K5).
    pub(crate) fn as_exact_non_integer_f64(&self) -> Option<f64> {
        let Repr::Finite(text) = &self.0 else {
            return None;
        };
        let (_, fraction) = text.split_once('.')?;
        // Every f64 has at most 1074 fractional digits and 767 significant digits.
        if fraction.len() > 1074 || text.len() > 1100 {
            return None;
        }
        let float: f64 = text.parse().ok()?;
        (float.is_finite() && exact_f64_text(float) == *text).then_some(float)
    }
}

impl Default for Number {
    fn default() -> Number {
        Number::zero()
    }
}

impl FromStr for Number {
    type Err = NumberParseError;

    fn from_str(text: &str) -> Result<Number, NumberParseError> {
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if matches!(unsigned, "Inf" | "inf" | "Infinity" | "infinity") {
            return Ok(if negative {
                Number::negative_infinity()
            } else {
                Number::positive_infinity()
            });
        }
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], parse_exponent(&unsigned[at + 1..])?),
            None => (unsigned, 0),
        };
        let (integer_digits, fraction_digits) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if integer_digits.is_empty() && fraction_digits.is_empty()
            || !all_digits(integer_digits)
            || !all_digits(fraction_digits)
        {
            return Err(NumberParseError::Invalid);
        }
        Ok(Number(Repr::Finite(canonical_text(
            negative,
            integer_digits,
            fraction_digits,
            exponent,
        )?)))
    }
}

/// Parses an exponent, saturating far beyond any size we accept (the length check rejects it).
fn parse_exponent(text: &str) -> Result<i64, NumberParseError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(NumberParseError::Invalid);
    }
    let magnitude = digits.bytes().fold(0i64, |acc, digit| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(digit - b'0'))
            .min(1 << 40)
    });
    Ok(if negative { -magnitude } else { magnitude })
}

/// Builds the canonical plain text of `±integer.fraction × 10^exponent`.
fn canonical_text(
    negative: bool,
    integer_digits: &str,
    fraction_digits: &str,
    exponent: i64,
) -> Result<String, NumberParseError> {
    // Work on the significant digits `d1 d2 … dn` with the decimal point after `point` of them.
    let digits = format!("{integer_digits}{fraction_digits}");
    let leading_zeros = digits.bytes().take_while(|&byte| byte == b'0').count();
    let significant = digits[leading_zeros..].trim_end_matches('0');
    if significant.is_empty() {
        return Ok("0".to_owned());
    }
    // Position of the decimal point relative to the first significant digit.
    let point = integer_digits.len() as i64 - leading_zeros as i64 + exponent;
    let significant_len = significant.len() as i64;
    let text_len = if point <= 0 {
        2 - point + significant_len
    } else {
        point.max(significant_len) + 1
    };
    if text_len > MAX_CANONICAL_LEN as i64 {
        return Err(NumberParseError::TooLong);
    }
    let mut text = String::with_capacity(text_len as usize + 1);
    if negative {
        text.push('-');
    }
    if point <= 0 {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', (-point) as usize));
        text.push_str(significant);
    } else if point >= significant_len {
        text.push_str(significant);
        text.extend(std::iter::repeat_n('0', (point - significant_len) as usize));
    } else {
        let (whole, fraction) = significant.split_at(point as usize);
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
    }
    Ok(text)
}

/// The exact decimal expansion of a finite float, in canonical form.
fn exact_f64_text(float: f64) -> String {
    let bits = float.to_bits();
    let negative = bits >> 63 == 1;
    let biased_exponent = ((bits >> 52) & 0x7ff) as i64;
    let fraction_bits = bits & ((1 << 52) - 1);
    // value = mantissa × 2^exponent
    let (mantissa, exponent) = if biased_exponent == 0 {
        (fraction_bits, -1074)
    } else {
        (fraction_bits | (1 << 52), biased_exponent - 1075)
    };
    if mantissa == 0 {
        return "0".to_owned();
    }
    let mut big = BigDecimalInteger::from_u64(mantissa);
    let digits;
    let fraction_len;
    if exponent >= 0 {
        big.multiply_by_power(2, exponent as u32);
        digits = big.to_decimal_string();
        fraction_len = 0;
    } else {
        // m × 2^-k = m × 5^k / 10^k
        big.multiply_by_power(5, (-exponent) as u32);
        digits = big.to_decimal_string();
        fraction_len = (-exponent) as usize;
    }
    let (integer_part, fraction_part) = if digits.len() > fraction_len {
        digits.split_at(digits.len() - fraction_len)
    } else {
        ("", digits.as_str())
    };
    let padded_fraction = format!(
        "{}{}",
        "0".repeat(fraction_len - fraction_part.len()),
        fraction_part
    );
    // The expansion of a finite f64 is far below the length limit.
    canonical_text(negative, integer_part, &padded_fraction, 0).unwrap_or_else(|_| "0".to_owned())
}

/// A non-negative integer in base 10^9 limbs (least significant first): just enough arithmetic
/// to expand a float exactly.
struct BigDecimalInteger {
    limbs: Vec<u32>,
}

const LIMB_BASE: u64 = 1_000_000_000;

impl BigDecimalInteger {
    fn from_u64(mut value: u64) -> BigDecimalInteger {
        let mut limbs = Vec::new();
        while value > 0 {
            limbs.push((value % LIMB_BASE) as u32);
            value /= LIMB_BASE;
        }
        BigDecimalInteger { limbs }
    }

    fn multiply_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = (product % LIMB_BASE) as u32;
            carry = product / LIMB_BASE;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB_BASE) as u32);
            carry /= LIMB_BASE;
        }
    }

    /// Multiplies by `base^power` (base 2 or 5), in chunks that keep each factor below 2^32.
    fn multiply_by_power(&mut self, base: u32, mut power: u32) {
        let chunk = if base == 2 { 31 } else { 13 };
        while power > 0 {
            let step = power.min(chunk);
            self.multiply_small(base.pow(step));
            power -= step;
        }
    }

    fn to_decimal_string(&self) -> String {
        let Some((most_significant, rest)) = self.limbs.split_last() else {
            return "0".to_owned();
        };
        let mut text = most_significant.to_string();
        for limb in rest.iter().rev() {
            text.push_str(&format!("{limb:09}"));
        }
        text
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        fn rank(repr: &Repr) -> u8 {
            match repr {
                Repr::NegativeInfinity => 0,
                Repr::Finite(_) => 1,
                Repr::PositiveInfinity => 2,
            }
        }
        match (&self.0, &other.0) {
            (Repr::Finite(left), Repr::Finite(right)) => compare_canonical(left, right),
            (left, right) => rank(left).cmp(&rank(right)),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Numeric comparison of two canonical texts.
fn compare_canonical(left: &str, right: &str) -> Ordering {
    let left_negative = left.starts_with('-');
    let right_negative = right.starts_with('-');
    match (left_negative, right_negative) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => compare_magnitudes(left, right),
        (true, true) => compare_magnitudes(&right[1..], &left[1..]),
    }
}

/// Compares two unsigned canonical texts: a longer integer part is larger (no leading zeros);
/// equal integer parts compare digit-wise, and so do fractions (no trailing zeros, so a prefix is
/// smaller).
fn compare_magnitudes(left: &str, right: &str) -> Ordering {
    let (left_integer, left_fraction) = left.split_once('.').unwrap_or((left, ""));
    let (right_integer, right_fraction) = right.split_once('.').unwrap_or((right, ""));
    left_integer
        .len()
        .cmp(&right_integer.len())
        .then_with(|| left_integer.cmp(right_integer))
        .then_with(|| left_fraction.cmp(right_fraction))
}

impl fmt::Display for Number {
    /// The canonical plain decimal text; infinities as `+Inf` / `-Inf` (Go's `Text('f', -1)`).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Finite(text) => formatter.write_str(text),
            Repr::PositiveInfinity => formatter.write_str("+Inf"),
            Repr::NegativeInfinity => formatter.write_str("-Inf"),
        }
    }
}

macro_rules! number_from_integer {
    ($($integer:ty),*) => {$(
        impl From<$integer> for Number {
            fn from(integer: $integer) -> Number {
                Number(Repr::Finite(integer.to_string()))
            }
        }
    )*};
}
number_from_integer!(
    i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, isize, usize
);

impl TryFrom<f64> for Number {
    type Error = NumberParseError;

    fn try_from(float: f64) -> Result<Number, NumberParseError> {
        Number::from_f64(float)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        Number::parse(text).unwrap().to_string()
    }

    #[test]
    fn parsing_canonicalises_equal_numbers_to_equal_text() {
        for (input, expected) in [
            ("1", "1"),
            ("1.0", "1"),
            ("1.50", "1.5"),
            ("+001.500", "1.5"),
            ("-0", "0"),
            ("-0.000", "0"),
            ("0.1", "0.1"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1.5E+2", "150"),
            ("15e-3", "0.015"),
            ("-12.34e1", "-123.4"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("0.000000000000000000001", "0.000000000000000000001"),
            ("1e-3", "0.001"),
        ] {
            assert_eq!(canonical(input), expected, "{input}");
        }
        assert_eq!(Number::parse("1").unwrap(), Number::parse("1.000").unwrap());
    }

    #[test]
    fn parsing_rejects_non_numbers_and_absurd_sizes() {
        for input in [
            "", "-", ".", "1.2.3", "abc", "1e", "1e+", "0x10", "1_000", " 1", "NaN",
        ] {
            assert_eq!(
                Number::parse(input),
                Err(NumberParseError::Invalid),
                "{input:?}"
            );
        }
        assert_eq!(
            Number::parse("1e999999999999"),
            Err(NumberParseError::TooLong)
        );
        assert_eq!(Number::parse("1e-20000"), Err(NumberParseError::TooLong));
        // Zero stays zero whatever the exponent.
        assert_eq!(canonical("0e999999999999"), "0");
    }

    #[test]
    fn infinities_parse_and_order_outside_every_finite_number() {
        assert_eq!(Number::parse("Inf").unwrap(), Number::positive_infinity());
        assert_eq!(Number::parse("-inf").unwrap(), Number::negative_infinity());
        assert!(Number::positive_infinity() > Number::from(i64::MAX));
        assert!(Number::negative_infinity() < Number::from(i64::MIN));
        assert_eq!(Number::positive_infinity().as_f64(), f64::INFINITY);
        assert_eq!(
            Number::from_f64(f64::NEG_INFINITY).unwrap(),
            Number::negative_infinity()
        );
        assert_eq!(
            Number::from_f64(f64::NAN),
            Err(NumberParseError::NotANumber)
        );
    }

    #[test]
    fn ordering_is_numeric() {
        let ordered = [
            "-100", "-10.5", "-10", "-9.99", "-1", "-0.5", "-0.45", "0", "0.45", "0.5", "0.51",
            "1", "9", "10", "10.01", "100",
        ];
        for (index, left) in ordered.iter().enumerate() {
            for (other_index, right) in ordered.iter().enumerate() {
                let expected = index.cmp(&other_index);
                assert_eq!(
                    Number::parse(left)
                        .unwrap()
                        .cmp(&Number::parse(right).unwrap()),
                    expected,
                    "{left} vs {right}"
                );
            }
        }
    }

    #[test]
    fn floats_keep_their_exact_binary_value() {
        assert_eq!(Number::from_f64(1.5).unwrap().to_string(), "1.5");
        assert_eq!(Number::from_f64(-0.0).unwrap().to_string(), "0");
        assert_eq!(Number::from_f64(3.0).unwrap(), Number::from(3));
        assert_eq!(
            Number::from_f64(0.1).unwrap().to_string(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(
            Number::from_f64(2f64.powi(70)).unwrap().to_string(),
            "1180591620717411303424"
        );
        let smallest = Number::from_f64(f64::from_bits(1)).unwrap();
        assert_eq!(smallest.as_f64(), f64::from_bits(1));
        assert!(smallest.to_string().starts_with("0.000"));
        assert_eq!(Number::from_f64(f64::MAX).unwrap().as_f64(), f64::MAX);
    }

    #[test]
    fn exact_float_detection_matches_go_cty_encoding_rule() {
        assert_eq!(
            Number::parse("1.5").unwrap().as_exact_non_integer_f64(),
            Some(1.5)
        );
        assert_eq!(
            Number::parse("-0.25").unwrap().as_exact_non_integer_f64(),
            Some(-0.25)
        );
        assert_eq!(
            Number::parse("0.1").unwrap().as_exact_non_integer_f64(),
            None
        );
        assert_eq!(Number::parse("3").unwrap().as_exact_non_integer_f64(), None);
        assert_eq!(
            Number::from_f64(0.1).unwrap().as_exact_non_integer_f64(),
            Some(0.1)
        );
    }

    #[test]
    fn integer_accessors_refuse_fractions_and_out_of_range_values() {
        assert_eq!(Number::from(i64::MIN).as_i64(), Some(i64::MIN));
        assert_eq!(Number::from(u64::MAX).as_u64(), Some(u64::MAX));
        assert_eq!(Number::from(u64::MAX).as_i64(), None);
        assert_eq!(Number::from(-1).as_u64(), None);
        assert_eq!(Number::parse("1.5").unwrap().as_i64(), None);
        assert_eq!(Number::parse("1e2").unwrap().as_i64(), Some(100));
        assert_eq!(Number::positive_infinity().as_i64(), None);
    }
}
