//! What the per-service request extractors (`graph::GraphCall`, `arm::ArmCall`, `aiven::AivenCall`)
//! start from.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::emulator::EmulatorState;

/// The request's head and its whole body; a body that cannot be read is answered as axum's
/// `Bytes` extractor answers it.
pub(crate) async fn read(
    request: Request,
    state: &EmulatorState,
) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let body = Bytes::from_request(Request::new(body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((parts, body))
}
