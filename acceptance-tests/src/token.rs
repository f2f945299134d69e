//! Entra ID token endpoint (client credentials with secret, certificate or federated assertion)
//! and the managed-identity (IMDS) endpoint.

use axum::Router;

use crate::emulator::EmulatorState;

/// The `login` listener's routes.
pub fn router(state: EmulatorState) -> Router {
    Router::new().with_state(state)
}
