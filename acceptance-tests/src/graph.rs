//! Microsoft Graph v1.0: applications, passwords, service principals, deleted items.

use axum::Router;

use crate::emulator::EmulatorState;

/// The Graph routes.
pub fn router(state: EmulatorState) -> Router {
    Router::new().with_state(state)
}
