//! Arbitrary-precision numbers (cty numbers are big decimals).

/// A decimal number kept in its canonical text form (plain decimal, no exponent, no trailing
/// fractional zeros), so no precision is ever lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Number(String);
