//! The project's build tasks, in Rust so that they need nothing but cargo
//! (docs/development/style.md, 'cargo xtask').
//!
//! - `cargo xtask test`: the one test command (build the binaries, run every test, check the docs).
//! - `cargo xtask docs [--check]`: registry docs rendered from the provider schema, `examples/` and
//!   `templates/`, in the tfplugindocs page format (docs/development/style.md, 'tfplugindocs output
//!   format (what the Registry renders)').
//! - `cargo xtask dist`: release archives, manifest, `SHA256SUMS` and signature in the registry's
//!   naming (docs/development/style.md, 'Registry publishing requirements (HashiCorp)' and
//!   'OpenTofu registry differences').
//!
//! The library exists so that acceptance tests can call the packaging code directly
//! (`dist::package`) instead of running cargo inside cargo.

pub mod dist;
pub mod docs;
pub mod test_command;
pub mod workspace;

#[cfg(test)]
mod self_contained;

/// Errors of the tasks: a message for the person running them.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Result of a task step.
pub type Result<T, E = Error> = std::result::Result<T, E>;
