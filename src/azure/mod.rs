//! Typed clients for the Azure side: credentials and tokens (Entra ID), Azure Resource Manager
//! (role definitions, role assignments, VNets, peerings) and Microsoft Graph (applications,
//! passwords, service principals). Plain Rust APIs returning `Result<_, CloudError>`; this module
//! knows nothing of Terraform.
//!
//! Built on [`crate::cloud`] (HTTP, retries, pacing, errors, secrets); [`error`] reads the Azure
//! services' error envelopes.

pub mod aadsts;
pub mod app_lifecycle;
pub mod app_passwords;
pub mod arm;
mod assertion;
pub mod clients;
pub mod credentials;
pub(crate) mod error;
mod federation;
pub mod graph;
pub mod ids;
mod managed_identity;
pub mod permissions;

pub use clients::AzureClients;
pub use credentials::{
    AccessToken, AzureEndpointOverrides, AzureEndpoints, AzureEnvironment, AzureSettings,
    CredentialKind, IdentitySelector, ManagedIdentityEnvironment, TokenCache, TokenClaims,
    TokenSource,
};
