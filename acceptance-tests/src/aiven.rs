//! Aiven API v1 (placeholder created by E1 so the crate builds; E2 owns this file).

use axum::Router;

use crate::emulator::EmulatorState;

/// The Aiven routes.
pub fn router(state: EmulatorState) -> Router {
    Router::new().with_state(state)
}
