//! Typed clients for the Azure side: credentials and tokens (Entra ID), Azure Resource Manager
//! (role definitions, role assignments, VNets, peerings) and Microsoft Graph (applications,
//! passwords, service principals). Plain Rust APIs returning `Result<_, CloudError>`; this module
//! knows nothing of Terraform.
//!
//! The HTTP layer ([`http`]) and the error type ([`error`]) are shared with [`crate::aiven`].

pub mod arm;
mod assertion;
pub mod clients;
pub mod credentials;
pub mod error;
mod federation;
pub mod graph;
pub mod http;
pub mod ids;
mod managed_identity;
pub mod permissions;
mod rate_limit;
pub mod secret;

pub use clients::AzureClients;
pub use credentials::{
    AccessToken, AzureEndpointOverrides, AzureEndpoints, AzureEnvironment, AzureSettings,
    CredentialKind, IdentitySelector, ManagedIdentityEnvironment, TokenCache, TokenClaims,
    TokenSource,
};
pub use error::{CloudError, CredentialAttempt, Service, ServiceError};
pub use http::{CallContext, CancellationToken, HttpClient, PollStep, RetryPolicy, poll_until};
pub use secret::SecretString;
