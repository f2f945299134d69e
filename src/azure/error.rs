//! The error envelopes of the Azure services: how ARM, Graph, Entra ID and managed identity
//! write their error answers, read into the shared [`CloudError`].

use serde_json::Value;

use crate::cloud::error::{CloudError, ErrorEnvelope, Service, ServiceError, error_from_response};
use crate::cloud::http::ApiResponse;

/// The Graph code of a create that collides with an existing object (409).
pub(crate) const MULTIPLE_OBJECTS_WITH_SAME_KEY_VALUE: &str =
    "Request_MultipleObjectsWithSameKeyValue";

/// ARM: `{"error": {"code", "message", "details": [{"code"}]}}`, request id in headers.
const RESOURCE_MANAGER: ErrorEnvelope = ErrorEnvelope {
    request_id_headers: &["x-ms-request-id", "x-ms-correlation-request-id"],
    parse: parse_odata_envelope,
    already_exists: |_| false,
};

/// Graph: the ARM shape, plus `innerError.request-id`; 409 on a duplicate key is "already exists".
const GRAPH: ErrorEnvelope = ErrorEnvelope {
    request_id_headers: &["request-id", "client-request-id"],
    parse: parse_odata_envelope,
    already_exists: graph_already_exists,
};

/// The identity platform and managed-identity endpoints: the OAuth 2.0 error shape.
const OAUTH: ErrorEnvelope = ErrorEnvelope {
    request_id_headers: &["x-ms-request-id"],
    parse: parse_oauth_envelope,
    already_exists: |_| false,
};

/// The Azure CLI answers no HTTP: nothing to read.
const NONE: ErrorEnvelope = ErrorEnvelope {
    request_id_headers: &[],
    parse: |_, _| {},
    already_exists: |_| false,
};

fn envelope_of(service: Service) -> &'static ErrorEnvelope {
    match service {
        Service::ResourceManager => &RESOURCE_MANAGER,
        Service::Graph => &GRAPH,
        Service::EntraId | Service::ManagedIdentity => &OAUTH,
        Service::AzureCli | Service::Aiven => &NONE,
    }
}

/// Reading an Azure service's error answer.
pub(crate) trait AzureErrorResponse {
    /// The error for this answer as `service` (an Azure service) reports it.
    fn into_error(self, service: Service, operation: &str) -> CloudError;
}

impl AzureErrorResponse for ApiResponse {
    fn into_error(self, service: Service, operation: &str) -> CloudError {
        error_from_response(
            service,
            envelope_of(service),
            operation,
            self.status,
            &self.headers,
            &self.body,
        )
    }
}

/// The typed variant for a service error built by hand, as its service's answer would be read.
#[cfg(test)]
pub(crate) fn classify(error: ServiceError) -> CloudError {
    let already_exists = (envelope_of(error.service).already_exists)(&error);
    crate::cloud::error::classify(error, already_exists)
}

fn graph_already_exists(error: &ServiceError) -> bool {
    error.status == 409
        && error
            .code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(MULTIPLE_OBJECTS_WITH_SAME_KEY_VALUE))
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn answer(status: u16, headers: HeaderMap, body: &str) -> ApiResponse {
        ApiResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    fn parse(service: Service, status: u16, body: &str) -> CloudError {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-request-id", HeaderValue::from_static("arm-req-1"));
        answer(status, headers, body).into_error(service, "PUT /x")
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
        let err = answer(
            400,
            HeaderMap::new(),
            r#"{"error":{"code":"Request_BadRequest","message":"does not reference a valid application object","details":[{"code":"NoBackingApplicationObject","target":"appId"}],"innerError":{"request-id":"g-1","date":"2024"}}}"#,
        )
        .into_error(Service::Graph, "POST /servicePrincipals");
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
        let arm = parse(
            Service::ResourceManager,
            409,
            r#"{"error":{"code":"Request_MultipleObjectsWithSameKeyValue","message":"x"}}"#,
        );
        assert!(matches!(arm, CloudError::Service(_)), "only Graph's code");
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
    fn non_json_body_gives_reason_and_excerpt() {
        let err = parse(Service::ResourceManager, 502, "<html>Bad gateway</html>");
        assert!(
            err.message().starts_with("Bad Gateway"),
            "{}",
            err.message()
        );
    }
}
