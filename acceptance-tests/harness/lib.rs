//! The Terraform harness of the acceptance tests: a [`TerraformWorkspace`](terraform::TerraformWorkspace)
//! runs the real `terraform` CLI against the provider binary under test, wired to an
//! [`Emulator`](vnetpeer_emulator::Emulator) by [`TerraformWorkspace::for_emulator`](terraform::TerraformWorkspace::for_emulator).

pub mod binaries;
pub mod provider_env;
pub mod query;
pub mod terraform;
