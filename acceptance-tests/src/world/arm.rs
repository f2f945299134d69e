//! ARM state (placeholder created by E1 so the crate builds; E2 owns this file).

use std::time::Instant;

use serde::Serialize;

use crate::world::Seed;

/// Subscriptions, resource groups, VNets, peerings, role definitions and assignments.
#[derive(Debug, Default, Serialize)]
pub struct ArmWorld {}

impl ArmWorld {
    /// The seeded ARM world.
    pub fn seeded(_seed: &Seed, _now: Instant) -> ArmWorld {
        ArmWorld::default()
    }
}
