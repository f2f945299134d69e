//! Aiven state (placeholder created by E1 so the crate builds; E2 owns this file).

use std::time::Instant;

use serde::Serialize;

use crate::world::Seed;

/// Projects, project VPCs and peering connections.
#[derive(Debug, Default, Serialize)]
pub struct AivenWorld {}

impl AivenWorld {
    /// The seeded Aiven world.
    pub fn seeded(_seed: &Seed, _now: Instant) -> AivenWorld {
        AivenWorld::default()
    }
}
