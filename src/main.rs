fn main() -> std::process::ExitCode {
    vnetpeer::plugin::main()
}
