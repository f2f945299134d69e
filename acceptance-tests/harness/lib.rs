//! The Terraform harness of the acceptance tests: a [`TerraformWorkspace`](terraform::TerraformWorkspace)
//! runs the real `terraform` CLI against the provider binary under test, wired to an
//! [`Emulator`](vnetpeer_emulator::Emulator) by [`TerraformWorkspace::for_emulator`](terraform::TerraformWorkspace::for_emulator).

// The harness is test support: each of its calls states what the calling test expects (the
// command starts, the workspace can be written, terraform printed JSON), and a `panic!` with the
// reason is how a test fails. `unwrap` and `expect` stay denied: every failure names its cause.
#![allow(
    clippy::panic,
    reason = "a harness call that cannot do what the test asked fails that test"
)]

pub mod binaries;
pub mod provider_env;
pub mod terraform;
