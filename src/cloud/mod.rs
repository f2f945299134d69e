//! What the cloud clients share, knowing no cloud: the HTTP client with its retries, deadlines,
//! cancellation and pacing on quotas ([`http`], [`rate_limit`]), the one error type
//! ([`error`]), and the string type secrets live in ([`secret`]).
//!
//! `azure` and `aiven` build on this module; it depends on neither, nor on Terraform. What is
//! particular to a service (the shape of its error answers, how it meters requests, which answers
//! are worth waiting out) is supplied by that service's client.

pub mod error;
pub mod http;
mod rate_limit;
mod roots;
pub mod secret;

pub use error::{CloudError, CredentialAttempt, Service, ServiceError};
pub use http::{CallContext, CancellationToken, HttpClient, PollStep, RetryPolicy, poll_until};
pub(crate) use rate_limit::{QuotaKind, QuotaRules};
pub use secret::SecretString;
