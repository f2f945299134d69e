//! The emulated world: everything that exists in the four services, behind one mutex in
//! [`crate::emulator::Shared`].
//!
//! Handlers lock it briefly and never across an `.await`. Delayed effects are stored as
//! timestamps and evaluated when an object is observed (see [`crate::knobs`]).

pub mod aiven;
pub mod arm;
pub mod identity;

use std::fmt;
use std::time::Instant;

use serde::Serialize;
use uuid::Uuid;

use crate::knobs::Knobs;

/// Everything that exists. Serialized as the admin API's `GET /world` snapshot.
#[derive(Debug, Serialize)]
pub struct World {
    pub identity: identity::Identity,
    pub arm: arm::ArmWorld,
    pub aiven: aiven::AivenWorld,
}

impl World {
    /// The deterministic starting world described by `seed`.
    pub fn seeded(seed: &Seed, knobs: &Knobs, now: Instant) -> World {
        let mut world = World {
            identity: identity::Identity::seeded(seed, knobs, now),
            arm: arm::ArmWorld::seeded(seed, now),
            aiven: aiven::AivenWorld::seeded(seed, now),
        };
        world.seed_organization_vpc(seed);
        world
    }
}

/// Generates deterministic GUIDs (UUID v5 of a label and a counter), so two runs of the same test
/// see the same ids. Each part of the world owns one with its own label.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    namespace: Uuid,
    counter: u64,
}

impl IdGenerator {
    /// A generator whose ids differ from those of any other label.
    pub fn new(label: &str) -> IdGenerator {
        IdGenerator {
            namespace: Uuid::new_v5(&Uuid::NAMESPACE_OID, label.as_bytes()),
            counter: 0,
        }
    }

    /// The next id, lower-case hyphenated.
    pub fn next_id(&mut self) -> String {
        self.counter += 1;
        Uuid::new_v5(&self.namespace, &self.counter.to_be_bytes())
            .hyphenated()
            .to_string()
    }
}

impl Default for IdGenerator {
    fn default() -> IdGenerator {
        IdGenerator::new("default")
    }
}

/// A secret value (client secret, token): shown as `***` by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret text. Call only where it must travel (a response body, a comparison).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Ids, names and credentials of the seeded world (documented in `acceptance-tests/README.md`).
#[derive(Clone)]
pub struct Seed {
    // Customer side.
    pub customer_tenant_id: String,
    pub customer_tenant_domain: String,
    pub customer_subscription_id: String,
    /// Mixed case on purpose: Azure is case-insensitive, Aiven is not (docs/development/aiven.md,
    /// 'Create a peering connection (project VPC)').
    pub customer_resource_group: String,
    /// Mixed case on purpose.
    pub customer_vnet_name: String,
    pub customer_vnet_id: String,
    pub customer_vnet_cidr: String,
    pub location: String,
    // Operator identity in the customer tenant (Application.ReadWrite.All, Owner on the
    // customer subscription).
    pub operator_client_id: String,
    pub operator_app_object_id: String,
    pub operator_sp_object_id: String,
    pub operator_client_secret: Secret,
    // Managed identity in the customer tenant (no role assignments).
    pub managed_identity_client_id: String,
    pub managed_identity_object_id: String,
    // Aiven side, Azure.
    pub aiven_tenant_id: String,
    pub aiven_tenant_domain: String,
    pub aiven_subscription_id: String,
    pub aiven_resource_group: String,
    pub aiven_vnet_name: String,
    pub aiven_vnet_id: String,
    pub aiven_vnet_cidr: String,
    /// Aiven's multi-tenant application.
    pub aiven_app_id: String,
    pub aiven_app_object_id: String,
    /// Aiven's service principal in the Aiven tenant.
    pub aiven_sp_object_id: String,
    // Aiven side, Aiven API.
    pub aiven_project: String,
    pub aiven_cloud_name: String,
    pub aiven_project_vpc_id: String,
    pub aiven_project_vpc_cidr: String,
    pub aiven_token: Secret,
    /// The Aiven organization that owns the project, with one organization VPC in the same
    /// cloud, backed by its own VNet in Aiven's subscription.
    pub aiven_organization_id: String,
    pub aiven_organization_vpc_id: String,
    pub aiven_organization_vpc_cidr: String,
    pub aiven_organization_vnet_name: String,
    pub aiven_organization_vnet_id: String,
}

impl Seed {
    /// The fixed seed every emulator starts from.
    pub fn standard() -> Seed {
        let customer_subscription_id = "c1000000-0000-4000-8000-000000000002".to_owned();
        let customer_resource_group = "rg-Workload".to_owned();
        let customer_vnet_name = "vnet-App".to_owned();
        let aiven_subscription_id = "a1000000-0000-4000-8000-000000000002".to_owned();
        let aiven_resource_group = "aiven-rg-acme-prod".to_owned();
        let aiven_vnet_name = "aiven-vnet-acme-prod".to_owned();
        Seed {
            customer_tenant_id: "c1000000-0000-4000-8000-000000000001".to_owned(),
            customer_tenant_domain: "contoso.onmicrosoft.com".to_owned(),
            customer_vnet_id: vnet_id(
                &customer_subscription_id,
                &customer_resource_group,
                &customer_vnet_name,
            ),
            customer_subscription_id,
            customer_resource_group,
            customer_vnet_name,
            customer_vnet_cidr: "10.10.0.0/16".to_owned(),
            location: "switzerlandnorth".to_owned(),
            operator_client_id: "c1000000-0000-4000-8000-000000000011".to_owned(),
            operator_app_object_id: "c1000000-0000-4000-8000-000000000010".to_owned(),
            operator_sp_object_id: "c1000000-0000-4000-8000-000000000012".to_owned(),
            operator_client_secret: Secret::new("opr8Q~EmulatorOperatorSecret0000000000001"),
            managed_identity_client_id: "c1000000-0000-4000-8000-000000000021".to_owned(),
            managed_identity_object_id: "c1000000-0000-4000-8000-000000000022".to_owned(),
            aiven_tenant_id: "a1000000-0000-4000-8000-000000000001".to_owned(),
            aiven_tenant_domain: "aivencloud.onmicrosoft.com".to_owned(),
            aiven_vnet_id: vnet_id(
                &aiven_subscription_id,
                &aiven_resource_group,
                &aiven_vnet_name,
            ),
            aiven_subscription_id,
            aiven_resource_group,
            aiven_vnet_name,
            aiven_vnet_cidr: "10.20.0.0/24".to_owned(),
            aiven_app_id: "55f300d4-fc50-4c5e-9222-e90a6e2187fb".to_owned(),
            aiven_app_object_id: "a1000000-0000-4000-8000-000000000010".to_owned(),
            aiven_sp_object_id: "a1000000-0000-4000-8000-000000000011".to_owned(),
            aiven_project: "acme-prod".to_owned(),
            aiven_cloud_name: "azure-switzerland-north".to_owned(),
            aiven_project_vpc_id: "a1000000-0000-4000-8000-0000000000f1".to_owned(),
            aiven_project_vpc_cidr: "10.20.0.0/24".to_owned(),
            aiven_token: Secret::new("aivenv1-emulator-token-0000000000000000000001"),
            aiven_organization_id: "org1a2b3c4d5e6".to_owned(),
            aiven_organization_vpc_id: "a1000000-0000-4000-8000-0000000000f2".to_owned(),
            aiven_organization_vpc_cidr: "10.30.0.0/24".to_owned(),
            aiven_organization_vnet_id: vnet_id(
                "a1000000-0000-4000-8000-000000000002",
                "aiven-rg-acme-prod",
                "aiven-vnet-org1a2b3c4d5e6",
            ),
            aiven_organization_vnet_name: "aiven-vnet-org1a2b3c4d5e6".to_owned(),
        }
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the ids: the two secrets are redacted by `Secret`'s own Debug.
        f.debug_struct("Seed")
            .field("customer_tenant_id", &self.customer_tenant_id)
            .field("customer_subscription_id", &self.customer_subscription_id)
            .field("customer_vnet_id", &self.customer_vnet_id)
            .field("operator_client_id", &self.operator_client_id)
            .field("operator_client_secret", &self.operator_client_secret)
            .field("aiven_tenant_id", &self.aiven_tenant_id)
            .field("aiven_vnet_id", &self.aiven_vnet_id)
            .field("aiven_project", &self.aiven_project)
            .field("aiven_project_vpc_id", &self.aiven_project_vpc_id)
            .field("aiven_token", &self.aiven_token)
            .finish_non_exhaustive()
    }
}

/// The ARM id of a virtual network.
pub fn vnet_id(subscription_id: &str, resource_group: &str, vnet_name: &str) -> String {
    format!(
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{vnet_name}"
    )
}
