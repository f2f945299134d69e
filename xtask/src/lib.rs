//! The project's build tasks, in Rust so that they need nothing but cargo (conventions.md a2).
//!
//! - `cargo xtask test`: the one test command (build the binaries, run every test, check the docs).
//! - `cargo xtask docs [--check]`: registry docs rendered from the provider schema, `examples/` and
//!   `templates/`, in the tfplugindocs page format (conventions.md b3).
//! - `cargo xtask dist`: release archives, manifest, `SHA256SUMS` and signature in the registry's
//!   naming (conventions.md b4, b5).
//!
//! The library exists so that acceptance tests can call the packaging code directly
//! (`dist::package`) instead of running cargo inside cargo.

pub mod dist;
pub mod docs;
pub mod test_command;
pub mod workspace;

/// Errors of the tasks: a message for the person running them.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Result of a task step.
pub type Result<T, E = Error> = std::result::Result<T, E>;
