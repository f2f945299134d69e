//! [`CloudError`]: the one error type of the cloud clients (Entra ID, Graph, ARM, managed
//! identity, Aiven), and the parsers that turn each service's error envelope into it.
//!
//! Callers branch on the typed variants ([`CloudError::NotFound`], [`CloudError::AlreadyExists`],
//! [`CloudError::Cancelled`], ...) and on service codes ([`CloudError::has_code`],
//! [`CloudError::aadsts_codes`]), never on message text.

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

/// Builds the [`CloudError`] for a non-success answer of `service`.
///
/// `body` is the raw response body; only the fields of the service's error envelope are kept.
pub(crate) fn error_from_response(
    service: Service,
    operation: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> CloudError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let mut error = ServiceError {
        service,
        operation: operation.to_owned(),
        status: status.as_u16(),
        code: None,
        detail_codes: Vec::new(),
        message: String::new(),
        aadsts_codes: Vec::new(),
        request_id: request_id_from_headers(service, headers),
    };
    if let Some(json) = &json {
        match service {
            Service::ResourceManager | Service::Graph => parse_odata_envelope(json, &mut error),
            Service::EntraId | Service::ManagedIdentity => parse_oauth_envelope(json, &mut error),
            Service::Aiven => parse_aiven_envelope(json, &mut error),
            Service::AzureCli => {}
        }
    }
    if error.message.is_empty() {
        error.message = fallback_message(status, json.is_none().then_some(body));
    }
    classify(error)
}

/// Chooses the typed variant for a parsed service error.
pub(crate) fn classify(error: ServiceError) -> CloudError {
    let already_exists = match error.service {
        Service::Graph => {
            error.status == 409
                && error.code.as_deref().is_some_and(|c| {
                    c.eq_ignore_ascii_case("Request_MultipleObjectsWithSameKeyValue")
                })
        }
        Service::Aiven => error.status == 409,
        _ => false,
    };
    if error.status == 404 {
        CloudError::NotFound(Box::new(error))
    } else if already_exists {
        CloudError::AlreadyExists(Box::new(error))
    } else {
        CloudError::Service(Box::new(error))
    }
}

fn request_id_from_headers(service: Service, headers: &HeaderMap) -> Option<String> {
    let names: &[&str] = match service {
        Service::ResourceManager => &["x-ms-request-id", "x-ms-correlation-request-id"],
        Service::Graph => &["request-id", "client-request-id"],
        Service::EntraId | Service::ManagedIdentity => &["x-ms-request-id"],
        Service::Aiven => &["x-request-id", "x-aiven-request-id"],
        Service::AzureCli => &[],
    };
    names
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_owned)
}

/// ARM and Graph: `{"error": {"code", "message", "details": [{"code"}], "innerError": {"request-id"}}}`.
/// Some ARM resource providers answer with the inner object at the top level.
fn parse_odata_envelope(json: &Value, error: &mut ServiceError) {
    let inner = json.get("error").filter(|e| e.is_object()).unwrap_or(json);
    error.code = inner.get("code").and_then(Value::as_str).map(str::to_owned);
    error.message = inner
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(details) = inner.get("details").and_then(Value::as_array) {
        error.detail_codes = details
            .iter()
            .filter_map(|d| d.get("code").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
    }
    if error.request_id.is_none() {
        error.request_id = ["innerError", "innererror"]
            .iter()
            .find_map(|k| inner.get(*k)?.get("request-id")?.as_str())
            .map(str::to_owned);
    }
}

/// Entra ID and managed identity: `{"error", "error_description", "error_codes": [..], "trace_id"}`.
fn parse_oauth_envelope(json: &Value, error: &mut ServiceError) {
    error.code = json.get("error").and_then(Value::as_str).map(str::to_owned);
    let description = json
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Entra appends "Trace ID: … Correlation ID: … Timestamp: …" on further lines; the first line
    // carries the meaning, the trace id is kept separately.
    error.message = description
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    error.aadsts_codes = json
        .get("error_codes")
        .and_then(Value::as_array)
        .map(|codes| {
            codes
                .iter()
                .filter_map(|c| c.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect()
        })
        .unwrap_or_default();
    if error.aadsts_codes.is_empty() {
        error.aadsts_codes = aadsts_codes_in_text(description);
    }
    if error.request_id.is_none() {
        error.request_id = json
            .get("trace_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
}

/// Aiven: `{"message", "errors": [{"message", "error_code", "status"}]}`, also inside a 200.
fn parse_aiven_envelope(json: &Value, error: &mut ServiceError) {
    let errors = json.get("errors").and_then(Value::as_array);
    let mut codes = errors
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("error_code").and_then(Value::as_str))
        .map(str::to_owned);
    error.code = codes.next();
    error.detail_codes = codes.collect();
    error.message = json
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| json.get("error").and_then(Value::as_str))
        .or_else(|| errors?.first()?.get("message")?.as_str())
        .unwrap_or_default()
        .to_owned();
}

fn aadsts_codes_in_text(text: &str) -> Vec<u32> {
    let mut codes = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("AADSTS") {
        rest = &rest[at + "AADSTS".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(code) = digits.parse() {
            codes.push(code);
        }
    }
    codes
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

/// Aiven sometimes answers 200 with `{"error": ...}` (aiven-client treats it as a failure).
pub(crate) fn aiven_error_in_success_body(
    operation: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<CloudError> {
    // Almost every 200 carries no `error`: look for the key first, skipping the other fields
    // without building them (a VPC with its peering connections is tens of KB, and building
    // it as a `Value` cost a fifth of a refresh's CPU). Only an error is parsed in full.
    #[derive(serde::Deserialize)]
    struct ErrorProbe {
        #[serde(default)]
        error: Option<serde::de::IgnoredAny>,
    }
    let probe: ErrorProbe = serde_json::from_slice(body).ok()?;
    probe.error?;
    let json: Value = serde_json::from_slice(body).ok()?;
    json.get("error").filter(|e| !e.is_null())?;
    let mut error = ServiceError {
        service: Service::Aiven,
        operation: operation.to_owned(),
        status: 200,
        code: None,
        detail_codes: Vec::new(),
        message: String::new(),
        aadsts_codes: Vec::new(),
        request_id: request_id_from_headers(Service::Aiven, headers),
    };
    parse_aiven_envelope(&json, &mut error);
    if error.message.is_empty() {
        error.message = json["error"].to_string();
    }
    Some(CloudError::Service(Box::new(error)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn parse(service: Service, status: u16, body: &str) -> CloudError {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-request-id", HeaderValue::from_static("arm-req-1"));
        error_from_response(
            service,
            "PUT /x",
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn arm_envelope_keeps_code_details_and_request_id() {
        let err = parse(
            Service::ResourceManager,
            400,
            r#"{"error":{"code":"PrincipalNotFound","message":"Principal abc does not exist","details":[{"code":"Inner","message":"m"}]}}"#,
        );
        assert!(matches!(err, CloudError::Service(_)));
        assert_eq!(err.code(), Some("PrincipalNotFound"));
        assert!(err.has_code("principalnotfound"));
        assert!(err.has_code("Inner"));
        let e = err.service_error().unwrap();
        assert_eq!(e.request_id.as_deref(), Some("arm-req-1"));
        assert_eq!(e.message, "Principal abc does not exist");
        let text = err.to_string();
        assert!(text.contains("HTTP 400 PrincipalNotFound"), "{text}");
    }

    #[test]
    fn arm_404_is_not_found() {
        let err = parse(
            Service::ResourceManager,
            404,
            r#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#,
        );
        assert!(err.is_not_found());
        assert_eq!(err.status(), Some(404));
    }

    #[test]
    fn graph_envelope_detail_codes_and_inner_request_id() {
        let err = error_from_response(
            Service::Graph,
            "POST /servicePrincipals",
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"error":{"code":"Request_BadRequest","message":"does not reference a valid application object","details":[{"code":"NoBackingApplicationObject","target":"appId"}],"innerError":{"request-id":"g-1","date":"2024"}}}"#,
        );
        assert!(err.has_code("NoBackingApplicationObject"));
        assert_eq!(err.code(), Some("Request_BadRequest"));
        assert_eq!(
            err.service_error().unwrap().request_id.as_deref(),
            Some("g-1")
        );
    }

    #[test]
    fn graph_conflict_on_same_key_is_already_exists() {
        let err = parse(
            Service::Graph,
            409,
            r#"{"error":{"code":"Request_MultipleObjectsWithSameKeyValue","message":"in use"}}"#,
        );
        assert!(err.is_already_exists());
        let other = parse(
            Service::Graph,
            409,
            r#"{"error":{"code":"Other","message":"x"}}"#,
        );
        assert!(matches!(other, CloudError::Service(_)));
    }

    #[test]
    fn entra_envelope_aadsts_codes_and_first_line() {
        let err = parse(
            Service::EntraId,
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[7000215],"trace_id":"trace-1"}"#,
        );
        assert_eq!(err.aadsts_codes(), &[7000215]);
        assert_eq!(err.code(), Some("invalid_client"));
        assert_eq!(
            err.service_error().unwrap().message,
            "AADSTS7000215: Invalid client secret provided."
        );
        // The header wins over the body's trace id.
        assert_eq!(
            err.service_error().unwrap().request_id.as_deref(),
            Some("arm-req-1")
        );
    }

    #[test]
    fn entra_codes_parsed_from_text_when_error_codes_missing() {
        let err = parse(
            Service::EntraId,
            400,
            r#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'x' not found."}"#,
        );
        assert_eq!(err.aadsts_codes(), &[90002]);
    }

    #[test]
    fn aiven_envelope_and_typed_statuses() {
        let err = parse(
            Service::Aiven,
            409,
            r#"{"message":"Peering connection already exists","errors":[{"message":"Peering connection already exists","error_code":"peering_exists","status":409}]}"#,
        );
        assert!(err.is_already_exists());
        assert_eq!(err.code(), Some("peering_exists"));
        assert_eq!(err.message(), "Peering connection already exists");
        assert!(
            parse(
                Service::Aiven,
                404,
                r#"{"message":"VPC not found","errors":[]}"#
            )
            .is_not_found()
        );
    }

    #[test]
    fn aiven_error_inside_200() {
        let err = aiven_error_in_success_body(
            "GET /v1/project/p/vpcs",
            &HeaderMap::new(),
            br#"{"error":"boom","message":"Something failed"}"#,
        )
        .unwrap();
        assert_eq!(err.message(), "Something failed");
        assert!(
            aiven_error_in_success_body("GET /", &HeaderMap::new(), br#"{"vpcs":[]}"#).is_none()
        );
    }

    #[test]
    fn aiven_error_after_other_fields_is_found_and_null_error_is_none() {
        let err = aiven_error_in_success_body(
            "GET /v1/project/p/vpcs/v",
            &HeaderMap::new(),
            br#"{"peering_connections":[{"state_info":{"n":1.50}}],"error":{"code":7},"message":"Late failure"}"#,
        )
        .unwrap();
        assert_eq!(err.message(), "Late failure");
        let err = aiven_error_in_success_body("GET /", &HeaderMap::new(), br#"{"error":"boom"}"#)
            .unwrap();
        assert_eq!(err.message(), "boom");
        for body in [
            &br#"{"error":null,"vpcs":[]}"#[..],
            br#"[{"error":"in an array"}]"#,
            b"",
            b"not json",
        ] {
            assert!(aiven_error_in_success_body("GET /", &HeaderMap::new(), body).is_none());
        }
    }

    #[test]
    fn non_json_body_gives_reason_and_excerpt() {
        let err = parse(Service::ResourceManager, 502, "<html>Bad gateway</html>");
        assert!(
            err.message().starts_with("Bad Gateway"),
            "{}",
            err.message()
        );
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
