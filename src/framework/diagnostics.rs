//! Diagnostics: what the provider tells the user, with a severity and, when it is about one
//! argument, the attribute path Terraform uses to underline the configuration
//! (docs/development/plugin-obligations.md, G15).
//!
//! Never put a secret in a summary or a detail: diagnostics are printed and logged verbatim.

use std::fmt;

/// How bad a diagnostic is. There is deliberately no "invalid" severity
/// (docs/development/plugin-obligations.md, G15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One step of an [`AttributePath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An attribute or a nested block type, by name.
    Attribute(String),
    /// An element of a list (or a list block), by index.
    Index(i64),
    /// An element of a map, by key.
    Key(String),
}

/// Where in a configuration or state a value lives, e.g. `rule[0].port`.
///
/// Set elements cannot be addressed (Terraform has no syntax for it); point at the set instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttributePath {
    pub steps: Vec<PathStep>,
}

impl AttributePath {
    /// The path of a top-level attribute or block.
    pub fn root(name: impl Into<String>) -> Self {
        AttributePath {
            steps: vec![PathStep::Attribute(name.into())],
        }
    }

    /// This path, then an attribute (or nested block) of the object it designates.
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(PathStep::Attribute(name.into()));
        self
    }

    /// This path, then the list element at `index`.
    pub fn index(mut self, index: usize) -> Self {
        self.steps
            .push(PathStep::Index(i64::try_from(index).unwrap_or(i64::MAX)));
        self
    }

    /// This path, then the map element under `key`.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::Key(key.into()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl From<&str> for AttributePath {
    fn from(name: &str) -> Self {
        AttributePath::root(name)
    }
}

impl From<String> for AttributePath {
    fn from(name: String) -> Self {
        AttributePath::root(name)
    }
}

/// Renders the path as Terraform users write it: `endpoints.authority_host`, `rule[0]`, `tags["env"]`.
impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if position == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::Index(index) => write!(f, "[{index}]")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// One message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One line: what is wrong, naming the argument when there is one.
    pub summary: String,
    /// What to do about it.
    pub detail: String,
    /// The argument the message is about, if any.
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    /// Attaches the diagnostic to an argument (`"name"`, or a full [`AttributePath`]).
    pub fn at(mut self, path: impl Into<AttributePath>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.summary)?;
        if let Some(path) = &self.path {
            write!(f, " (at {path})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// An ordered collection of diagnostics. Also the error type of most framework operations, so
/// `?` works on `Result<_, Diagnostics>` and on anything convertible into a [`Diagnostic`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Adds an error without a path.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }

    /// Adds a warning without a path.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::warning(summary, detail));
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// `Ok(())` when there is no error (warnings alone are fine), else these diagnostics.
    pub fn into_result(self) -> Result<(), Diagnostics> {
        if self.has_errors() { Err(self) } else { Ok(()) }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Diagnostics(diagnostics)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, diagnostic) in self.0.iter().enumerate() {
            if position > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

// ----- building a diagnostic up: an attribute's rejected value, advice after the cause -----

impl Diagnostic {
    /// The error for an attribute whose value cannot be used: "Invalid `name`", the reason as
    /// the detail, at the attribute.
    pub fn invalid(name: &str, reason: impl fmt::Display) -> Self {
        Diagnostic::error(format!("Invalid `{name}`"), reason.to_string()).at(name)
    }

    /// The diagnostic with `paragraph` added to its detail after a blank line: what to check or
    /// do, after what went wrong.
    pub fn with_paragraph(mut self, paragraph: impl AsRef<str>) -> Self {
        self.detail.push_str("\n\n");
        self.detail.push_str(paragraph.as_ref());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_value_is_named_and_advice_follows_the_cause() {
        let diagnostic = Diagnostic::invalid("vnet_id", "not an ARM id")
            .with_paragraph("Use the VNet's resource id.");
        assert_eq!(diagnostic.summary, "Invalid `vnet_id`");
        assert_eq!(diagnostic.path, Some(AttributePath::root("vnet_id")));
        assert_eq!(
            diagnostic.detail,
            "not an ARM id\n\nUse the VNet's resource id."
        );
    }

    #[test]
    fn paths_render_like_terraform_references() {
        let path = AttributePath::root("rule").index(2).attr("port");
        assert_eq!(path.to_string(), "rule[2].port");
        assert_eq!(
            AttributePath::root("tags").key("env").to_string(),
            "tags[\"env\"]"
        );
    }

    #[test]
    fn warnings_alone_are_not_failures() {
        let mut diagnostics = Diagnostics::new();
        diagnostics.warning("deprecated", "use x instead");
        assert!(diagnostics.clone().into_result().is_ok());
        diagnostics.push(Diagnostic::error("bad", "fix it").at("name"));
        let error = diagnostics.into_result().unwrap_err();
        assert_eq!(error.len(), 2);
        assert!(error.to_string().contains("error: bad (at name): fix it"));
    }
}
