//! The admin API (its own listener, never logged): world snapshot, request log, violations,
//! fault rules, address-space changes of VNets.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use crate::emulator::{EmulatorState, set_vnet_address_space, snapshot};
use crate::faults::FaultRule;

/// The admin routes.
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .route("/world", get(world))
        .route("/requests", get(requests))
        .route("/requests.ndjson", get(requests_ndjson))
        .route("/violations", get(violations))
        .route("/knobs", get(knobs))
        .route("/endpoints", get(endpoints))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/vnets/address-space", post(change_address_space))
        .with_state(state)
}

async fn world(State(state): State<EmulatorState>) -> impl IntoResponse {
    Json(snapshot(&state))
}

async fn requests(State(state): State<EmulatorState>) -> impl IntoResponse {
    Json(state.log.requests())
}

/// One JSON object per line, for benchmark tooling (docs/development/benchmark-method.md,
/// 'Harness').
async fn requests_ndjson(State(state): State<EmulatorState>) -> impl IntoResponse {
    let lines: String = state
        .log
        .requests()
        .iter()
        .filter_map(|record| serde_json::to_string(record).ok())
        .map(|line| line + "\n")
        .collect();
    ([(header::CONTENT_TYPE, "application/x-ndjson")], lines)
}

async fn violations(State(state): State<EmulatorState>) -> impl IntoResponse {
    Json(state.log.violations())
}

async fn knobs(State(state): State<EmulatorState>) -> impl IntoResponse {
    Json(state.knobs.clone())
}

async fn endpoints(State(state): State<EmulatorState>) -> impl IntoResponse {
    Json(state.endpoints.clone())
}

async fn list_faults(State(state): State<EmulatorState>) -> impl IntoResponse {
    Json(state.faults.list())
}

async fn add_fault(
    State(state): State<EmulatorState>,
    Json(rule): Json<FaultRule>,
) -> impl IntoResponse {
    let id = state.faults.inject(rule);
    (StatusCode::CREATED, Json(serde_json::json!({ "id": id })))
}

async fn clear_faults(State(state): State<EmulatorState>) -> impl IntoResponse {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(state): State<EmulatorState>, Path(id): Path<u64>) -> StatusCode {
    if state.faults.remove(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// `POST /vnets/address-space` `{"vnet_id": …, "address_prefixes": […]}`.
#[derive(serde::Deserialize)]
struct AddressSpaceChange {
    vnet_id: String,
    address_prefixes: Vec<String>,
}

async fn change_address_space(
    State(state): State<EmulatorState>,
    Json(change): Json<AddressSpaceChange>,
) -> StatusCode {
    let prefixes: Vec<&str> = change.address_prefixes.iter().map(String::as_str).collect();
    if set_vnet_address_space(&state, &change.vnet_id, &prefixes) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
