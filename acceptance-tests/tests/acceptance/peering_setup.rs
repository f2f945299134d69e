//! World setup shared by the peering tests (`resource_cross_tenant_peering`,
//! `ephemeral_aad_app_secret`, `reliability_concurrency`): what the earlier runbook steps would
//! have made, put straight into the emulator's world so a test starts at step 7.

use std::time::Duration;

use vnetpeer_emulator::world::aiven::CreatePeeringRequest;
use vnetpeer_emulator::world::arm::{NETWORK_CONTRIBUTOR_ROLE_ID, RoleAssignment};
use vnetpeer_emulator::{Emulator, Knobs};

/// Everything step 7 needs, in effect: the step-1 application with Network Contributor on the
/// customer VNet, and Aiven's connection of the seeded project VPC past PENDING_PEER (the
/// emulator's clock is moved past every delay).
pub async fn prepared_for_step_7() -> (Emulator, PeeringApp) {
    let emulator = Emulator::start(Knobs::test()).await;
    let app = add_peering_app_with_network_contributor(&emulator);
    connect_seeded_vpc(&emulator, &app);
    settle(&emulator);
    (emulator, app)
}

/// [`add_peering_app`] with Network Contributor on the customer VNet (runbook steps 1 and 2).
pub fn add_peering_app_with_network_contributor(emulator: &Emulator) -> PeeringApp {
    let app = add_peering_app(emulator);
    grant_network_contributor(
        emulator,
        &app.service_principal_id,
        &emulator.seed().customer_vnet_id,
        &uuid_for("network-contributor"),
    );
    app
}

/// Moves the emulator's clock past every pending delay (Aiven setup, replication, RBAC).
pub fn settle(emulator: &Emulator) {
    emulator.clock().advance(Duration::from_secs(2));
    let _ = emulator.snapshot();
}

/// The step-1 application, made in the world as `vnetpeer_aad_app` would make it.
pub struct PeeringApp {
    pub client_id: String,
    pub object_id: String,
    pub service_principal_id: String,
    pub secret: String,
}

/// A multi-tenant application with a service principal and a usable secret in the customer
/// tenant.
pub fn add_peering_app(emulator: &Emulator) -> PeeringApp {
    let seed = emulator.seed().clone();
    let now = emulator.now();
    emulator.with_world(|world| {
        let (client_id, service_principal_id, secret) =
            world
                .identity
                .add_app_with_secret(&seed.customer_tenant_id, "aiven-peering", &[], now);
        let app = world
            .identity
            .applications
            .values_mut()
            .find(|app| app.app_id == client_id)
            .expect("the new application");
        app.sign_in_audience = "AzureADMultipleOrgs".to_owned();
        PeeringApp {
            object_id: app.id.clone(),
            client_id,
            service_principal_id,
            secret: secret.expose().to_owned(),
        }
    })
}

/// A Network Contributor assignment (which includes `peer/action`) in effect at once.
pub fn grant_network_contributor(emulator: &Emulator, principal_id: &str, scope: &str, name: &str) {
    let seed = emulator.seed().clone();
    emulator.with_world(|world| {
        world.arm.insert_role_assignment(RoleAssignment {
            description: Some("test setup".to_owned()),
            ..RoleAssignment::of_service_principal(
                name,
                scope,
                &seed.customer_tenant_id,
                NETWORK_CONTRIBUTOR_ROLE_ID,
                principal_id,
                None,
            )
        });
    });
}

/// Gives the service principal `principal` role `role` (a definition GUID) at `scope`, in the
/// tenant of the scope's subscription, as if assigned long ago when `aged` (else just now).
pub fn assign_role(emulator: &Emulator, scope: &str, role: &str, principal: &str, aged: bool) {
    let seed = emulator.seed();
    let tenant = if scope.contains(&seed.aiven_subscription_id) {
        &seed.aiven_tenant_id
    } else {
        &seed.customer_tenant_id
    };
    let made = if aged { None } else { Some(emulator.now()) };
    let assignment = RoleAssignment::of_service_principal(
        uuid::Uuid::new_v4().to_string(),
        scope,
        tenant,
        role,
        principal,
        made,
    );
    emulator.with_world(|world| world.arm.insert_role_assignment(assignment));
}

/// [`add_aiven_connection`] of the seeded project VPC to the seeded customer VNet.
pub fn connect_seeded_vpc(emulator: &Emulator, app: &PeeringApp) {
    let seed = emulator.seed();
    add_aiven_connection(
        emulator,
        app,
        &seed.aiven_project_vpc_id,
        &seed.customer_vnet_id,
    );
}

/// Aiven's service principal in the customer tenant with peer rights on `vnet_id`, and an
/// Aiven peering connection of `project_vpc_id` for it (APPROVED; PENDING_PEER once settled).
pub fn add_aiven_connection(
    emulator: &Emulator,
    app: &PeeringApp,
    project_vpc_id: &str,
    vnet_id: &str,
) {
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let utc_now = emulator.clock().utc_now();
    let aiven_sp = emulator.with_world(|world| {
        world
            .identity
            .ensure_service_principal(&seed.customer_tenant_id, &seed.aiven_app_id, now)
    });
    grant_network_contributor(
        emulator,
        &aiven_sp,
        vnet_id,
        &uuid_for(&format!("aiven-peer-{vnet_id}")),
    );
    let (subscription, group, vnet) = split_vnet_id(vnet_id);
    emulator.with_world(|world| {
        world
            .aiven
            .create_peering(
                &seed.aiven_project,
                project_vpc_id,
                CreatePeeringRequest {
                    peer_cloud_account: subscription.to_lowercase(),
                    peer_vpc: vnet.to_lowercase(),
                    peer_resource_group: group.to_lowercase(),
                    peer_azure_app_id: app.client_id.to_lowercase(),
                    peer_azure_tenant_id: seed.customer_tenant_id.to_lowercase(),
                    user_peer_network_cidrs: Vec::new(),
                },
                now,
                utc_now,
            )
            .expect("the Aiven peering connection");
    });
}

/// A second customer VNet, `vnet-Data` (10.11.0.0/16), beside the seeded one; returns its id.
pub fn add_second_customer_vnet(emulator: &Emulator) -> String {
    let seed = emulator.seed().clone();
    emulator
        .with_world(|world| {
            world.arm.add_vnet(
                &seed.customer_subscription_id,
                &seed.customer_resource_group,
                "vnet-Data",
                &seed.location,
                &["10.11.0.0/16"],
            )
        })
        .expect("a second customer VNet")
}

/// A project VPC of the seeded Aiven project in `cloud`; returns (its id, the id of the VNet
/// Aiven made for it).
pub fn add_project_vpc(
    emulator: &Emulator,
    cloud: &str,
    cidr: &str,
    vnet_name: &str,
) -> (String, String) {
    let seed = emulator.seed().clone();
    emulator
        .with_world(|world| {
            world.add_project_vpc(&seed, &seed.aiven_project, cloud, cidr, vnet_name)
        })
        .expect("a project VPC")
}

/// The key ids of the application's secrets in the emulator's world.
pub fn secret_key_ids(emulator: &Emulator, app: &PeeringApp) -> Vec<String> {
    emulator.with_world(|world| {
        world
            .identity
            .applications
            .get(&app.object_id)
            .map(|application| {
                application
                    .password_credentials
                    .iter()
                    .map(|credential| credential.key_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// (subscription, resource group, VNet name) of a VNet id.
pub fn split_vnet_id(vnet_id: &str) -> (String, String, String) {
    let parts: Vec<&str> = vnet_id.split('/').collect();
    (
        parts[2].to_owned(),
        parts[4].to_owned(),
        parts[8].to_owned(),
    )
}

/// A deterministic GUID for a test object.
pub fn uuid_for(label: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, label.as_bytes()).to_string()
}
