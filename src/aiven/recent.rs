//! A short memory of project VPC reads, per client: a caller that has just read a VPC for one
//! peering (one VNet) leaves the read with the client, and a later caller about the same peering
//! takes it instead of reading the VPC again. The contract:
//!
//! - per client, so never shared across processes or provider configurations;
//! - keyed by project, VPC id and the VNet (lower case, as Aiven matches it);
//! - taken, not read: one remembered read serves one caller, and the next one reads afresh;
//! - bounded in age by the taker (`max_age`): an older read is never handed out, and every entry
//!   is forgotten [`FORGET_AFTER`] after it was read.
//!
//! How stale a read may be for its use is the taker's judgement, not this module's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{PeerVnet, Vpc};

/// Which peering a VPC read was made for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PeeringKey {
    project: String,
    project_vpc_id: String,
    subscription_id: String,
    resource_group: String,
    vnet_name: String,
}

impl PeeringKey {
    /// The key of the peering of `project`'s VPC with the VNet `peer` (subscription, resource
    /// group, name).
    fn new(project: &str, project_vpc_id: &str, peer: PeerVnet<'_>) -> Self {
        Self {
            project: project.to_owned(),
            project_vpc_id: project_vpc_id.to_lowercase(),
            subscription_id: peer.subscription_id.to_lowercase(),
            resource_group: peer.resource_group.to_lowercase(),
            vnet_name: peer.name.to_lowercase(),
        }
    }
}

/// Entries older than this are dropped whenever a new one is stored (bounds the memory of a
/// long-lived process; far above any `max_age` a caller uses).
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// VPC reads remembered for peerings. Cheap to clone (shared).
#[derive(Clone, Default)]
pub(super) struct RecentVpcReads {
    entries: Arc<Mutex<HashMap<PeeringKey, (Instant, Vpc)>>>,
}

impl RecentVpcReads {
    /// Remembers `vpc`, read just now for the peering of (subscription, resource group, VNet).
    pub(super) fn remember(
        &self,
        project: &str,
        project_vpc_id: &str,
        peer: PeerVnet<'_>,
        vpc: Vpc,
    ) {
        self.remember_at(Instant::now(), project, project_vpc_id, peer, vpc);
    }

    /// Takes the read remembered for this peering when it is at most `max_age` old.
    pub(super) fn take(
        &self,
        project: &str,
        project_vpc_id: &str,
        peer: PeerVnet<'_>,
        max_age: Duration,
    ) -> Option<Vpc> {
        self.take_at(Instant::now(), project, project_vpc_id, peer, max_age)
    }

    fn remember_at(
        &self,
        now: Instant,
        project: &str,
        project_vpc_id: &str,
        peer: PeerVnet<'_>,
        vpc: Vpc,
    ) {
        let key = PeeringKey::new(project, project_vpc_id, peer);
        // A poisoned lock only means another thread panicked mid-update of a plain map.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (read_at, _)| now.saturating_duration_since(*read_at) < FORGET_AFTER);
        entries.insert(key, (now, vpc));
    }

    fn take_at(
        &self,
        now: Instant,
        project: &str,
        project_vpc_id: &str,
        peer: PeerVnet<'_>,
        max_age: Duration,
    ) -> Option<Vpc> {
        let key = PeeringKey::new(project, project_vpc_id, peer);
        let (read_at, vpc) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key)?;
        (now.saturating_duration_since(read_at) <= max_age).then_some(vpc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc(cidr: &str) -> Vpc {
        Vpc {
            vpc_id: "a1000000-0000-4000-8000-0000000000f1".to_owned(),
            cloud_name: "azure-westeurope".to_owned(),
            network_cidr: cidr.to_owned(),
            state: "ACTIVE".to_owned(),
            display_name: None,
            peering_connections: Vec::new(),
        }
    }

    const VNET: PeerVnet<'static> = PeerVnet::new("C1000000-0000", "rg-Workload", "vnet-App");

    #[test]
    fn a_read_serves_one_create_of_the_same_peering_while_fresh() {
        let reads = RecentVpcReads::default();
        let max_age = Duration::from_secs(5);
        let start = Instant::now();
        let soon = start + Duration::from_millis(3);
        reads.remember_at(start, "acme", "VPC-1", VNET, vpc("10.0.0.0/24"));
        // Another VNet, another project or VPC: not this peering's read.
        let other_vnet = PeerVnet::new("c1000000-0000", "rg-workload", "other");
        assert!(
            reads
                .take_at(soon, "acme", "vpc-1", other_vnet, max_age)
                .is_none()
        );
        assert!(
            reads
                .take_at(soon, "Acme", "vpc-1", VNET, max_age)
                .is_none()
        );
        assert!(
            reads
                .take_at(soon, "acme", "vpc-2", VNET, max_age)
                .is_none()
        );
        // The same peering in another spelling of the case-insensitive parts: taken once.
        let respelled = PeerVnet::new("c1000000-0000", "RG-WORKLOAD", "VNET-APP");
        let taken = reads.take_at(soon, "acme", "vpc-1", respelled, max_age);
        assert_eq!(
            taken.map(|vpc| vpc.network_cidr),
            Some("10.0.0.0/24".into())
        );
        assert!(
            reads
                .take_at(soon, "acme", "vpc-1", VNET, max_age)
                .is_none()
        );

        // Too old: not used (and gone).
        reads.remember_at(start, "acme", "vpc-1", VNET, vpc("10.0.1.0/24"));
        let late = start + Duration::from_secs(6);
        assert!(
            reads
                .take_at(late, "acme", "vpc-1", VNET, max_age)
                .is_none()
        );
        let forever = Duration::from_secs(3600);
        assert!(
            reads
                .take_at(late, "acme", "vpc-1", VNET, forever)
                .is_none()
        );
    }

    #[test]
    fn old_entries_are_forgotten_when_new_ones_come() {
        let reads = RecentVpcReads::default();
        let start = Instant::now();
        reads.remember_at(start, "acme", "vpc-1", VNET, vpc("10.0.0.0/24"));
        reads.remember_at(
            start + FORGET_AFTER,
            "acme",
            "vpc-2",
            VNET,
            vpc("10.0.1.0/24"),
        );
        let entries = reads.entries.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(entries.len(), 1);
    }
}
