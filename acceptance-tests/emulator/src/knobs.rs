//! Every delay the emulator imposes, in one place.
//!
//! Delayed effects are evaluated lazily from timestamps when an object is observed, so a knob is
//! only a `Duration` compared with [`crate::emulator::Clock::now`]. The test preset keeps every
//! consistency delay small but never zero: a provider that does not wait or retry must still fail
//! against it, while the suite stays fast.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Delays and sizes of the emulated world. Build one with [`Knobs::test`] or
/// [`Knobs::realistic`] and adjust fields with struct update syntax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Knobs {
    /// Graph replication window: a new application or service principal answers 404 to GET and
    /// addPassword, is invisible to dependent calls (SP creation, ARM principal checks) until then
    /// (docs/development/entra-and-graph.md, 'Eventual consistency'; docs/development/arm.md, 'Role
    /// assignment errors').
    #[serde(with = "duration_ms")]
    pub graph_replication: Duration,
    /// A new client secret fails at the token endpoint with AADSTS7000215 until this has passed
    /// (docs/development/entra-and-graph.md, 'Eventual consistency' item 3).
    #[serde(with = "duration_ms")]
    pub secret_activation: Duration,
    /// Lifetime of issued access tokens (`expires_in`).
    #[serde(with = "duration_ms")]
    pub token_lifetime: Duration,
    /// New or removed role assignments take effect for authorization checks only after this
    /// (docs/development/arm.md, 'Role assignment errors' "Propagation").
    #[serde(with = "duration_ms")]
    pub rbac_propagation: Duration,
    /// How long an ARM long-running operation (peering PUT/DELETE) stays `InProgress`.
    #[serde(with = "duration_ms")]
    pub lro_duration: Duration,
    /// `Retry-After` sent with long-running operations; `None` omits the header
    /// (docs/development/arm.md, 'Long-running operations (ARM RPC)').
    #[serde(with = "opt_duration_ms")]
    pub lro_retry_after: Option<Duration>,
    /// Aiven: time from `APPROVED` to `PENDING_PEER` (or `INVALID_SPECIFICATION`) of a new peering.
    #[serde(with = "duration_ms")]
    pub aiven_peering_setup: Duration,
    /// Aiven: how long after the customer-side Azure peering is `Connected` Aiven notices it and
    /// moves `PENDING_PEER` to `ACTIVE` (Aiven polls periodically, docs/development/aiven.md,
    /// 'Peering connection object, states and state_info').
    #[serde(with = "duration_ms")]
    pub aiven_peering_activation: Duration,
    /// Aiven: how long a deleted peering stays `DELETING` before it disappears.
    #[serde(with = "duration_ms")]
    pub aiven_peering_deletion: Duration,
    /// Latency added to every request of every service (stands in for a WAN round trip in
    /// benchmarks). Zero in tests: it is not a consistency delay a client must handle.
    #[serde(with = "duration_ms")]
    pub base_latency: Duration,
    /// Largest page a list answers (Graph applications and service principals, ARM role
    /// definitions, role assignments and VNet peerings); `None`: the services' own sizes (Graph
    /// 100 or `$top`, ARM everything in one page here). A small value makes every list page, so
    /// tests see clients follow `@odata.nextLink` / `nextLink`.
    pub max_list_page_size: Option<usize>,
}

impl Knobs {
    /// Test preset: every consistency delay between 150 and 400 ms.
    pub fn test() -> Knobs {
        Knobs {
            graph_replication: Duration::from_millis(300),
            secret_activation: Duration::from_millis(300),
            token_lifetime: Duration::from_secs(3600),
            rbac_propagation: Duration::from_millis(300),
            lro_duration: Duration::from_millis(200),
            lro_retry_after: Some(Duration::from_millis(150)),
            aiven_peering_setup: Duration::from_millis(200),
            aiven_peering_activation: Duration::from_millis(200),
            aiven_peering_deletion: Duration::from_millis(150),
            base_latency: Duration::ZERO,
            max_list_page_size: None,
        }
    }

    /// Closer to the real services (seconds), for the sandbox and benchmarks.
    pub fn realistic() -> Knobs {
        Knobs {
            graph_replication: Duration::from_secs(10),
            secret_activation: Duration::from_secs(15),
            token_lifetime: Duration::from_secs(3600),
            rbac_propagation: Duration::from_secs(30),
            lro_duration: Duration::from_secs(10),
            lro_retry_after: Some(Duration::from_secs(10)),
            aiven_peering_setup: Duration::from_secs(20),
            aiven_peering_activation: Duration::from_secs(30),
            aiven_peering_deletion: Duration::from_secs(10),
            base_latency: Duration::from_millis(20),
            max_list_page_size: None,
        }
    }
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs::test()
    }
}

/// Durations travel as integer milliseconds in the admin API and snapshots.
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => {
                serializer.serialize_some(&u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            }
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_millis))
    }
}
