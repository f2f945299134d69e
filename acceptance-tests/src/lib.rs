//! A faithful, in-process emulator of the four services the provider talks to (Entra ID token
//! endpoint, Microsoft Graph v1.0, Azure Resource Manager, Aiven API v1), and a harness that drives
//! the real `terraform` CLI against it.
//!
//! Every test starts its own emulator on loopback ports (milliseconds) and gets its own world.
pub mod binaries;
