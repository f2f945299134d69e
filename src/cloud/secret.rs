//! A string that must never reach logs, `Debug` output, error messages or panics: client secrets,
//! access tokens, the Aiven API token, certificate passwords.
//!
//! The value is reachable only through [`SecretString::expose_secret`], so every place that reads
//! it is easy to find in review.

use std::fmt;

/// A secret string with a redacting `Debug` and no `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call this only where the value is sent to the service that needs it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (treated as "not set" by settings).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = SecretString::new("hunter2-very-secret");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(secret.expose_secret(), "hunter2-very-secret");
    }
}
