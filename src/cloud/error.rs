//! [`CloudError`]: the one error type of the cloud clients, and the service-neutral part of
//! reading an error answer into it.
//!
//! Callers branch on the typed variants ([`CloudError::NotFound`], [`CloudError::AlreadyExists`],
//! [`CloudError::Cancelled`], ...) and on service codes ([`CloudError::has_code`],
//! [`CloudError::aadsts_codes`]), never on message text. Each client reads its own service's error
//! envelope (the JSON shape of its error answers) and decides which answers mean "already
//! exists"; [`error_from_response`] does the rest.

use std::fmt;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The service that answered (or failed to answer) a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// The Microsoft identity platform token endpoint (`login.microsoftonline.com`).
    EntraId,
    /// A managed-identity token endpoint (IMDS or `msi_endpoint`).
    ManagedIdentity,
    /// The Azure CLI (`az account get-access-token`).
    AzureCli,
    /// Microsoft Graph v1.0.
    Graph,
    /// Azure Resource Manager.
    ResourceManager,
    /// The Aiven REST API.
    Aiven,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::EntraId => "Entra ID",
            Service::ManagedIdentity => "managed identity endpoint",
            Service::AzureCli => "Azure CLI",
            Service::Graph => "Microsoft Graph",
            Service::ResourceManager => "Azure Resource Manager",
            Service::Aiven => "Aiven API",
        })
    }
}

/// An error answer from a service, with everything needed to act on it or to report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    /// Which service answered.
    pub service: Service,
    /// What was asked, e.g. `PUT /subscriptions/.../roleAssignments/...` (never a query string).
    pub operation: String,
    /// The HTTP status (200 for Aiven's "200 with an `error` body").
    pub status: u16,
    /// The service's top-level error code: ARM/Graph `error.code`, Entra `error`, Aiven
    /// `errors[0].error_code`.
    pub code: Option<String>,
    /// Codes of nested details: ARM/Graph `error.details[].code`, Aiven `errors[1..].error_code`.
    pub detail_codes: Vec<String>,
    /// The human-readable message of the service.
    pub message: String,
    /// Entra ID `AADSTS` numbers (`error_codes`, or parsed from the description).
    pub aadsts_codes: Vec<u32>,
    /// The service's request id, for support tickets.
    pub request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered {} with HTTP {}",
            self.service, self.operation, self.status
        )?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if !self.detail_codes.is_empty() {
            write!(f, " ({})", self.detail_codes.join(", "))?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " [request id {request_id}]")?;
        }
        Ok(())
    }
}

/// One credential type that was considered, and why it was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialAttempt {
    /// The credential type, e.g. "client secret".
    pub credential: &'static str,
    /// Why it was skipped or why it failed.
    pub outcome: String,
}

/// Every failure of the cloud clients.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// HTTP 404 (the object does not exist, or not yet: see the Graph replication retries).
    #[error("{0}")]
    NotFound(Box<ServiceError>),
    /// The object already exists: Graph 409 `Request_MultipleObjectsWithSameKeyValue`, Aiven 409.
    /// The caller can look the existing object up and adopt it.
    #[error("{0}")]
    AlreadyExists(Box<ServiceError>),
    /// Any other error answer from a service.
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// The service could not be reached or the connection broke, after the retries allowed.
    #[error("{what}: could not reach the service: {detail}")]
    Transport {
        /// What was being done.
        what: String,
        /// The transport failure (never contains headers or bodies).
        detail: String,
    },
    /// The caller cancelled (Terraform's StopProvider, or the operation was abandoned).
    #[error("{what}: cancelled")]
    Cancelled {
        /// What was being done or waited for.
        what: String,
    },
    /// The caller's deadline passed (the resource's timeout).
    #[error("timed out {what}{}", last_observed.as_ref().map(|s| format!(" (last seen: {s})")).unwrap_or_default())]
    DeadlineExceeded {
        /// What was being waited for, e.g. "waiting for the peering to become Connected".
        what: String,
        /// The last state or error seen before the deadline, if any.
        last_observed: Option<String>,
    },
    /// No usable Azure credential, or the selected credential could not produce a token.
    #[error("no usable Azure credential: {}", format_attempts(.attempts))]
    Credential {
        /// Every credential type considered, in order, with the reason it was not used.
        attempts: Vec<CredentialAttempt>,
    },
    /// Invalid settings or arguments, detected before any request (bad ids, endpoints, files).
    #[error("{0}")]
    Invalid(String),
    /// A service answered with a body this client does not understand.
    #[error("{service} answered {operation} with an unexpected body: {detail}")]
    Decode {
        /// Which service answered.
        service: Service,
        /// What was asked.
        operation: String,
        /// What did not parse (never the body itself: it may hold secrets).
        detail: String,
    },
}

fn format_attempts(attempts: &[CredentialAttempt]) -> String {
    if attempts.is_empty() {
        return "no credential type was configured".to_owned();
    }
    attempts
        .iter()
        .map(|a| format!("{}: {}", a.credential, a.outcome))
        .collect::<Vec<_>>()
        .join("; ")
}

impl CloudError {
    /// The service error, when the service answered.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            CloudError::NotFound(e) | CloudError::AlreadyExists(e) | CloudError::Service(e) => {
                Some(e)
            }
            _ => None,
        }
    }

    /// Whether a write that failed this way may still have taken effect: the connection broke
    /// after the request was sent, or the answer was a 408 or 5xx (a gateway may have lost the
    /// answer to a write the service applied). A create that is not safe to repeat must find out
    /// what happened before it is sent again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            CloudError::Transport { .. } => true,
            _ => self
                .status()
                .is_some_and(|status| status == 408 || status >= 500),
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        self.service_error().map(|e| e.status)
    }

    /// The service's top-level error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        self.service_error().and_then(|e| e.code.as_deref())
    }

    /// True when `code` is the top-level code or one of the detail codes (case-insensitive).
    pub fn has_code(&self, code: &str) -> bool {
        self.service_error().is_some_and(|e| {
            e.code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
                || e.detail_codes.iter().any(|c| c.eq_ignore_ascii_case(code))
        })
    }

    /// Entra ID `AADSTS` numbers of a token-endpoint failure (empty otherwise).
    pub fn aadsts_codes(&self) -> &[u32] {
        self.service_error()
            .map(|e| e.aadsts_codes.as_slice())
            .unwrap_or(&[])
    }

    /// True for [`CloudError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, CloudError::NotFound(_))
    }

    /// True for [`CloudError::AlreadyExists`].
    pub fn is_already_exists(&self) -> bool {
        matches!(self, CloudError::AlreadyExists(_))
    }

    /// True for [`CloudError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, CloudError::Cancelled { .. })
    }

    /// True for [`CloudError::DeadlineExceeded`].
    pub fn is_deadline_exceeded(&self) -> bool {
        matches!(self, CloudError::DeadlineExceeded { .. })
    }

    /// The service's message, or the whole error text for other kinds.
    pub fn message(&self) -> String {
        match self.service_error() {
            Some(e) => e.message.clone(),
            None => self.to_string(),
        }
    }
}

/// How one service writes its error answers, supplied by its client.
pub(crate) struct ErrorEnvelope {
    /// Response headers carrying the service's request id, the first present wins.
    pub request_id_headers: &'static [&'static str],
    /// Reads the service's JSON error body into the code, detail codes, message (and request id,
    /// when no header had one).
    pub parse: fn(&Value, &mut ServiceError),
    /// Whether an answer means "the object already exists" (the caller may adopt it).
    pub already_exists: fn(&ServiceError) -> bool,
}

impl ServiceError {
    /// An error answer of `service` before its body is read: the request id from the first of
    /// `request_id_headers` present, no code, no message.
    pub(crate) fn from_answer(
        service: Service,
        operation: &str,
        status: u16,
        headers: &HeaderMap,
        request_id_headers: &[&str],
    ) -> Self {
        Self {
            service,
            operation: operation.to_owned(),
            status,
            code: None,
            detail_codes: Vec::new(),
            message: String::new(),
            aadsts_codes: Vec::new(),
            request_id: request_id_headers
                .iter()
                .find_map(|name| headers.get(*name)?.to_str().ok())
                .map(str::to_owned),
        }
    }
}

/// Builds the [`CloudError`] for a non-success answer of `service`, reading `body` with the
/// service's `envelope`. Only the envelope's fields are kept; a body that is not JSON gives the
/// status reason and a short excerpt.
pub(crate) fn error_from_response(
    service: Service,
    envelope: &ErrorEnvelope,
    operation: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> CloudError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let mut error = ServiceError::from_answer(
        service,
        operation,
        status.as_u16(),
        headers,
        envelope.request_id_headers,
    );
    if let Some(json) = &json {
        (envelope.parse)(json, &mut error);
    }
    if error.message.is_empty() {
        error.message = fallback_message(status, json.is_none().then_some(body));
    }
    let already_exists = (envelope.already_exists)(&error);
    classify(error, already_exists)
}

/// Chooses the typed variant for a parsed service error: 404 is [`CloudError::NotFound`],
/// `already_exists` [`CloudError::AlreadyExists`], anything else [`CloudError::Service`].
pub(crate) fn classify(error: ServiceError, already_exists: bool) -> CloudError {
    if error.status == 404 {
        CloudError::NotFound(Box::new(error))
    } else if already_exists {
        CloudError::AlreadyExists(Box::new(error))
    } else {
        CloudError::Service(Box::new(error))
    }
}

fn fallback_message(status: StatusCode, non_json_body: Option<&[u8]>) -> String {
    let reason = status
        .canonical_reason()
        .unwrap_or("unexpected status")
        .to_owned();
    match non_json_body.map(String::from_utf8_lossy) {
        Some(text) if !text.trim().is_empty() => {
            let text: String = text.trim().chars().take(200).collect();
            format!("{reason}: {text}")
        }
        _ => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// A service whose errors are `{"code", "message"}`, with 409 meaning "already exists".
    const PLAIN: ErrorEnvelope = ErrorEnvelope {
        request_id_headers: &["x-request-id", "x-other-id"],
        parse: |json, error| {
            error.code = json.get("code").and_then(Value::as_str).map(str::to_owned);
            error.message = json
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
        },
        already_exists: |error| error.status == 409,
    };

    fn parse(status: u16, headers: &HeaderMap, body: &str) -> CloudError {
        error_from_response(
            Service::Graph,
            &PLAIN,
            "PUT /x",
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn the_envelope_is_read_and_the_first_request_id_header_wins() {
        let mut headers = HeaderMap::new();
        headers.insert("x-other-id", HeaderValue::from_static("second"));
        headers.insert("x-request-id", HeaderValue::from_static("first"));
        let err = parse(400, &headers, r#"{"code":"Bad","message":"no"}"#);
        assert!(matches!(err, CloudError::Service(_)));
        assert!(err.has_code("bad"));
        let e = err.service_error().unwrap();
        assert_eq!(e.request_id.as_deref(), Some("first"));
        assert_eq!(e.message, "no");
        assert_eq!(
            err.to_string(),
            "Microsoft Graph answered PUT /x with HTTP 400 Bad: no [request id first]"
        );
    }

    #[test]
    fn statuses_become_typed_variants() {
        let none = HeaderMap::new();
        assert!(parse(404, &none, "{}").is_not_found());
        assert!(parse(409, &none, "{}").is_already_exists());
        assert!(matches!(parse(500, &none, "{}"), CloudError::Service(_)));
    }

    #[test]
    fn non_json_body_gives_reason_and_excerpt() {
        let err = parse(502, &HeaderMap::new(), "<html>Bad gateway</html>");
        assert_eq!(err.message(), "Bad Gateway: <html>Bad gateway</html>");
        let err = parse(503, &HeaderMap::new(), "");
        assert_eq!(err.message(), "Service Unavailable");
    }

    #[test]
    fn credential_error_lists_every_attempt() {
        let err = CloudError::Credential {
            attempts: vec![
                CredentialAttempt {
                    credential: "client secret",
                    outcome: "client_secret is not set".into(),
                },
                CredentialAttempt {
                    credential: "Azure CLI",
                    outcome: "use_cli is false".into(),
                },
            ],
        };
        let text = err.to_string();
        assert!(
            text.contains("client secret: client_secret is not set"),
            "{text}"
        );
        assert!(text.contains("Azure CLI: use_cli is false"), "{text}");
    }
}
