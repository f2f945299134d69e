//! Provider-defined functions (`provider::<name>::<function>(...)`, Terraform 1.8+).
//!
//! A function is pure: it sees only its arguments, never the provider configuration or the
//! network, because Terraform may call it before (or without) configuring the provider, for
//! example while validating variables. Arguments arrive decoded with the parameter types; the
//! result is checked against the return type before it reaches Terraform.

use crate::value::{Type, Value};

/// One provider-defined function.
pub trait Function: Send + Sync + 'static {
    /// The name after `provider::<provider>::`, e.g. `parse_vnet_id`.
    fn name(&self) -> &'static str;

    /// Parameters, return type and documentation.
    fn signature(&self) -> Signature;

    /// Computes the result. `arguments` has one value per parameter, of the parameter's type;
    /// never unknown (Terraform skips the call for unknown arguments) and never null unless
    /// the parameter allows it.
    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError>;
}

/// What Terraform needs to type-check a call and what the docs show.
#[derive(Clone, Debug)]
pub struct Signature {
    pub parameters: Vec<Parameter>,
    pub return_type: Type,
    /// One line, shown by `terraform console` and the docs.
    pub summary: String,
    /// Markdown.
    pub description: String,
}

/// One positional parameter.
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: &'static str,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    /// When false, Terraform rejects a null argument before calling.
    pub allow_null: bool,
}

impl Parameter {
    /// A parameter that must not be null.
    pub fn new(name: &'static str, ty: Type, description: impl Into<String>) -> Self {
        Parameter {
            name,
            ty,
            description: description.into(),
            allow_null: false,
        }
    }
}

/// A failed call: Terraform shows `text` against the call, pointing at the argument when one is
/// to blame. Say what is wrong with the value and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    /// Zero-based position of the offending argument.
    pub argument: Option<usize>,
}

impl FunctionError {
    /// An error caused by the argument at `position` (zero-based).
    pub fn argument(position: usize, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(position),
        }
    }

    /// An error not tied to one argument (a provider bug, usually).
    pub fn general(text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: None,
        }
    }
}
