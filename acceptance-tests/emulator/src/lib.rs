//! A faithful, in-process emulator of the four services the provider talks to (Entra ID token
//! endpoint, Microsoft Graph v1.0, Azure Resource Manager, Aiven API v1). The Terraform harness
//! that drives the real `terraform` CLI against it is the `vnetpeer_harness` library of
//! `acceptance-tests/`.
//!
//! Every test starts its own emulator on loopback ports (milliseconds) and gets its own world:
//!
//! ```no_run
//! # async fn demo() {
//! use vnetpeer_emulator::{Emulator, Knobs};
//! let emulator = Emulator::start(Knobs::test()).await;
//! let token_url = format!(
//!     "{}/{}/oauth2/v2.0/token",
//!     emulator.endpoints().authority_host,
//!     emulator.seed().customer_tenant_id
//! );
//! # let _ = token_url;
//! # }
//! ```
pub mod admin;
pub mod aiven;
pub mod arm;
pub mod emulator;
pub mod faults;
pub mod graph;
pub mod identity_hosts;
pub mod jwt;
pub mod knobs;
pub mod log;
pub mod provider_env;
mod request;
pub mod token;
pub mod world;

pub use emulator::{
    Clock, Emulator, EmulatorState, Endpoints, Shared, StartOptions, WorldSnapshot,
};
pub use faults::{FaultAction, FaultRule, RetryAfter, Schedule};
pub use knobs::Knobs;
pub use log::{RequestRecord, Service, Violation, ViolationKind, count_calls};
pub use world::{Secret, Seed, World};
