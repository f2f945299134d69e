//! The request log and the list of violations.
//!
//! Every request to every service is recorded by the shared middleware (method, route template,
//! status, timing, credential). Violations are requests the real service would reject or a careful
//! client never sends; tests assert there are none after a correct run.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The emulated services, one listener each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Entra token endpoint, managed-identity endpoint.
    Login,
    /// Microsoft Graph v1.0.
    Graph,
    /// Azure Resource Manager.
    Arm,
    /// Aiven API v1.
    Aiven,
    /// The emulator's own admin API (never logged).
    Admin,
}

impl Service {
    /// Lower-case name used in logs and fault rules.
    pub fn name(self) -> &'static str {
        match self {
            Service::Login => "login",
            Service::Graph => "graph",
            Service::Arm => "arm",
            Service::Aiven => "aiven",
            Service::Admin => "admin",
        }
    }
}

/// Who made a request, as far as the emulator can tell. Never holds the secret or token itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRef {
    /// `entra` (bearer token issued by the emulator), `client` (token request: the client id that
    /// asked), `aiven` (Aiven token), `unknown` (a header that matches nothing).
    pub kind: String,
    /// Tenant of the token or of the token request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Client id (appId).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Service principal object id of the caller in `tenant_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
}

/// How many of `requests` went to `service` with `method` and a path containing `path_contains`
/// (ARM paths compare case-insensitively, so the match does too).
pub fn count_calls(
    requests: &[RequestRecord],
    service: Service,
    method: &str,
    path_contains: &str,
) -> usize {
    let needle = path_contains.to_ascii_lowercase();
    requests
        .iter()
        .filter(|r| {
            r.service == service
                && r.method == method
                && r.path.to_ascii_lowercase().contains(&needle)
        })
        .count()
}

/// One served request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Position in the log, from 0.
    pub seq: u64,
    pub service: Service,
    pub method: String,
    /// The axum route template (e.g. `/{tenant}/oauth2/v2.0/token`), or the path when no route
    /// matched.
    pub route: String,
    /// The concrete path, without the query string.
    pub path: String,
    pub status: u16,
    /// Milliseconds since the emulator started, when the request arrived.
    pub at_ms: f64,
    /// Milliseconds spent serving it (including injected latency).
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialRef>,
    /// The fault rule that shaped this answer, if any (its id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<u64>,
}

/// Kinds of violation (stable names, asserted by tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// ARM request without `api-version`.
    MissingApiVersion,
    /// ARM request with an api-version the resource provider does not serve.
    UnsupportedApiVersion,
    /// A token for the wrong resource (audience).
    WrongAudience,
    /// A token for the wrong tenant.
    WrongTenant,
    /// A client secret or token in a URL (query string or path).
    SecretInUrl,
    /// Polling a long-running operation or Aiven object earlier than its `Retry-After`.
    EarlyPoll,
    /// Retrying a throttled (429) request before its `Retry-After` passed.
    EarlyRetry,
    /// Creating the same object twice.
    DuplicateCreate,
    /// Aiven peering fields (`peer_*`) not in lower case (docs/development/aiven.md, 'Create a
    /// peering connection (project VPC)').
    NotLowerCase,
    /// Anything else a careful client would not send; see the detail.
    Other,
}

/// A request the real service would reject, or a careful client never sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub service: Service,
    pub method: String,
    /// Concrete path of the offending request (never its query string, which may hold a secret).
    pub path: String,
    /// What was wrong, for humans. Must never contain a secret.
    pub detail: String,
    /// Milliseconds since the emulator started.
    pub at_ms: f64,
}

/// Shared, append-only log of requests and violations.
#[derive(Debug, Default)]
pub struct RequestLog {
    requests: Mutex<Vec<RequestRecord>>,
    violations: Mutex<Vec<Violation>>,
}

impl RequestLog {
    /// Appends a record, assigning its `seq`.
    pub fn record(&self, mut record: RequestRecord) {
        let mut requests = lock(&self.requests);
        record.seq = requests.len() as u64;
        requests.push(record);
    }

    /// Records a violation. `at` is the time since the emulator started (see
    /// [`crate::emulator::Clock::elapsed`]).
    pub fn violation(
        &self,
        kind: ViolationKind,
        service: Service,
        method: &str,
        path: &str,
        detail: impl Into<String>,
        at: Duration,
    ) {
        let violation = Violation {
            kind,
            service,
            method: method.to_owned(),
            path: path.to_owned(),
            detail: detail.into(),
            at_ms: at.as_secs_f64() * 1000.0,
        };
        tracing::debug!(?violation.kind, violation.path, "emulator violation");
        lock(&self.violations).push(violation);
    }

    /// All requests so far, in arrival order of their completion.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.requests).clone()
    }

    /// All violations so far.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.violations).clone()
    }
}

/// Locks a mutex, recovering from poisoning: a panicking test thread must not hide the log from
/// the assertions that follow.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
