//! The go-plugin server side of the provider: the handshake with Terraform, AutoMTLS, the gRPC
//! services (tfplugin6 Provider, GRPCController, GRPCStdio, GRPCBroker, health), the process
//! lifecycle and hclog-shaped logs on stderr. Knows tfplugin6, nothing of clouds.
//!
//! The binary's `main` is one call to [`serve`] with the framework provider; this module is the
//! only one that sees protobuf types.

mod broker;
pub mod client;
mod coalesced_writes;
mod controller;
pub mod handshake;
pub mod listener;
pub mod logging;
pub mod placeholder;
pub mod proto;
pub mod provider_service;
mod serve;
pub mod shutdown;
mod stdio;
pub mod tls;

#[cfg(test)]
mod tests;

use std::process::ExitCode;

pub use serve::{MAX_MESSAGE_BYTES, Mode, PROVIDER_ADDRESS, serve_connections};

use proto::tfplugin6::provider_server::Provider;
use provider_service::ProviderService;

/// Runs the provider process serving `provider` (a framework provider) over tfplugin6; see
/// [`run`]. The binary's whole `main`.
pub fn serve<P: crate::framework::Provider>(provider: P) -> ExitCode {
    run(move || ProviderService::new(provider))
}

/// Runs the provider process and returns its exit code.
///
/// Without arguments it behaves as Terraform expects from a plugin: checks the magic cookie
/// (exit 1 with a message on stderr when absent), generates the TLS identity when
/// `PLUGIN_CLIENT_CERT` is set, binds a Unix socket, prints the handshake line, then serves
/// until Terraform calls Shutdown or goes away. With `--debug` it serves plaintext and prints a
/// `TF_REATTACH_PROVIDERS` line instead. `make_provider` is called once, after the handshake.
pub fn run<S, F>(make_provider: F) -> ExitCode
where
    F: FnOnce() -> S,
    S: Provider,
{
    serve::run(make_provider)
}
