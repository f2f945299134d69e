//! How Aiven writes its error answers: `{"message", "errors": [{"message", "error_code",
//! "status"}]}`, with 404 read as [`CloudError::NotFound`] and 409 as
//! [`CloudError::AlreadyExists`]; and sometimes a 200 whose body carries `error`, which
//! aiven-client also treats as a failure.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::cloud::error::{CloudError, ErrorEnvelope, Service, ServiceError, error_from_response};
use crate::cloud::http::ApiResponse;

const AIVEN: ErrorEnvelope = ErrorEnvelope {
    request_id_headers: &["x-request-id", "x-aiven-request-id"],
    parse: parse_aiven_envelope,
    already_exists: |error| error.status == 409,
};

/// The error for a non-success answer of Aiven.
pub(super) fn error_of(response: ApiResponse, operation: &str) -> CloudError {
    error_from_response(
        Service::Aiven,
        &AIVEN,
        operation,
        response.status,
        &response.headers,
        &response.body,
    )
}

/// `{"message", "errors": [{"message", "error_code", "status"}]}`, also inside a 200.
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

/// The error of a 200 whose body carries a non-null `error`; `None` for a real success.
pub(super) fn error_in_success_body(
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
    let mut error = ServiceError::from_answer(
        Service::Aiven,
        operation,
        200,
        headers,
        AIVEN.request_id_headers,
    );
    parse_aiven_envelope(&json, &mut error);
    if error.message.is_empty() {
        error.message = json["error"].to_string();
    }
    Some(CloudError::Service(Box::new(error)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn parse(status: u16, body: &str) -> CloudError {
        error_of(
            ApiResponse {
                status: StatusCode::from_u16(status).unwrap(),
                headers: HeaderMap::new(),
                body: bytes::Bytes::copy_from_slice(body.as_bytes()),
            },
            "PUT /x",
        )
    }

    #[test]
    fn aiven_envelope_and_typed_statuses() {
        let err = parse(
            409,
            r#"{"message":"Peering connection already exists","errors":[{"message":"Peering connection already exists","error_code":"peering_exists","status":409}]}"#,
        );
        assert!(err.is_already_exists());
        assert_eq!(err.code(), Some("peering_exists"));
        assert_eq!(err.message(), "Peering connection already exists");
        assert!(parse(404, r#"{"message":"VPC not found","errors":[]}"#).is_not_found());
    }

    #[test]
    fn aiven_error_inside_200() {
        let err = error_in_success_body(
            "GET /v1/project/p/vpcs",
            &HeaderMap::new(),
            br#"{"error":"boom","message":"Something failed"}"#,
        )
        .unwrap();
        assert_eq!(err.message(), "Something failed");
        assert!(error_in_success_body("GET /", &HeaderMap::new(), br#"{"vpcs":[]}"#).is_none());
    }

    #[test]
    fn aiven_error_after_other_fields_is_found_and_null_error_is_none() {
        let err = error_in_success_body(
            "GET /v1/project/p/vpcs/v",
            &HeaderMap::new(),
            br#"{"peering_connections":[{"state_info":{"n":1.50}}],"error":{"code":7},"message":"Late failure"}"#,
        )
        .unwrap();
        assert_eq!(err.message(), "Late failure");
        let err =
            error_in_success_body("GET /", &HeaderMap::new(), br#"{"error":"boom"}"#).unwrap();
        assert_eq!(err.message(), "boom");
        for body in [
            &br#"{"error":null,"vpcs":[]}"#[..],
            br#"[{"error":"in an array"}]"#,
            b"",
            b"not json",
        ] {
            assert!(error_in_success_body("GET /", &HeaderMap::new(), body).is_none());
        }
    }
}
