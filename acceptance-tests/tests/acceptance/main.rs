//! The acceptance suite, as one test binary.
//!
//! One binary instead of one per file: each test binary links the provider library, the emulator
//! and their dependencies, so thirty of them cost a gigabyte of disk and a minute of linking on
//! a clean build. Run one part with its module path, e.g.
//! `cargo test -p vnetpeer-acceptance-tests --test acceptance flow::`.
//!
//! `clients_logs.rs` stays a binary of its own: it installs a process-wide tracing subscriber.

// A test binary: its helpers may fail loudly (clippy exempts only `#[test]` functions).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "../clients_common/mod.rs"]
mod clients_common;
mod reliability_common;

mod adoption_query;
mod clients;
mod credentials_diagnostics;
mod credentials_sources;
mod data_aiven_project_vpc;
mod data_client_config;
mod emulator_aiven;
mod emulator_arm;
mod emulator_faults;
mod emulator_graph;
mod emulator_http;
mod emulator_identity;
mod emulator_listing;
mod emulator_runbook;
mod ephemeral_aad_app_secret;
mod examples;
mod flow;
mod functions;
mod hand_made_runbook;
mod identity_import;
mod list_resources;
mod org_vpc_runbook;
mod peering_setup;
mod plugin_process;
mod protocol;
mod release;
mod reliability_bad_input;
mod reliability_cancellation;
mod reliability_concurrency;
mod reliability_connect;
mod reliability_faults;
mod reliability_secrets;
mod resource_aad_app;
mod resource_aiven_vpc_peering;
mod resource_cross_tenant_peering;
mod resource_custom_role;
mod resource_role_assignment;
mod resource_service_principal;
mod runbook_client;
mod safety_day2;
mod safety_lost_answers;
mod terraform_common;
