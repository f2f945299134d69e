//! go-plugin server side: handshake, AutoMTLS, gRPC services, hclog-shaped logs on stderr.

pub mod proto;
pub mod provider_service;

/// Entry point of the provider binary.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
