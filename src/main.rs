//! The provider binary: everything happens in the library.

fn main() -> std::process::ExitCode {
    vnetpeer::plugin::serve(vnetpeer::resources::VnetpeerProvider)
}
