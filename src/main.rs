//! The provider binary: everything happens in the library.

fn main() -> std::process::ExitCode {
    vnetpeer::plugin::run(vnetpeer::provider::grpc_service)
}
