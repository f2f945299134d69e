//! Helpers shared by the client tests (`acceptance/clients.rs`, `clients_logs.rs`).

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::time::Duration;

use vnetpeer::azure::{AzureClients, AzureEndpointOverrides, AzureSettings};
use vnetpeer::cloud::{CallContext, CancellationToken, HttpClient, SecretString};
use vnetpeer_emulator::world::arm::{NETWORK_CONTRIBUTOR_ROLE_ID, RoleAssignment};
use vnetpeer_emulator::{Emulator, RequestRecord, Service, ViolationKind};

pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

pub fn ctx() -> CallContext {
    CallContext::new(Duration::from_secs(30), CancellationToken::new())
}

/// Settings pointing at the emulator, with no credential chosen yet.
pub fn base_settings(emulator: &Emulator) -> AzureSettings {
    let endpoints = emulator.endpoints();
    let seed = emulator.seed();
    AzureSettings {
        tenant_id: Some(seed.customer_tenant_id.clone()),
        subscription_id: Some(seed.customer_subscription_id.clone()),
        use_cli: false,
        endpoints: AzureEndpointOverrides {
            authority_host: Some(endpoints.authority_host.clone()),
            resource_manager: Some(endpoints.arm.clone()),
            microsoft_graph: Some(endpoints.graph.clone()),
        },
        ..AzureSettings::default()
    }
}

/// The seeded operator (Owner on the customer subscription, Application.ReadWrite.All) with
/// its client secret.
pub fn operator_settings(emulator: &Emulator) -> AzureSettings {
    let seed = emulator.seed();
    AzureSettings {
        client_id: Some(seed.operator_client_id.clone()),
        client_secret: Some(SecretString::new(seed.operator_client_secret.expose())),
        ..base_settings(emulator)
    }
}

pub fn clients(settings: &AzureSettings) -> AzureClients {
    AzureClients::new(HttpClient::new().expect("HTTP client"), settings).expect("valid settings")
}

pub fn requests(emulator: &Emulator, service: Service, method: &str) -> Vec<RequestRecord> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.service == service && r.method.eq_ignore_ascii_case(method))
        .collect()
}

pub fn token_requests(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.service == Service::Login)
        .count()
}

pub fn violations(emulator: &Emulator, kind: ViolationKind) -> usize {
    emulator
        .violations()
        .iter()
        .filter(|v| v.kind == kind)
        .count()
}

/// An app of the customer tenant that may peer the customer VNet with Aiven's VNet: multi-tenant,
/// with a service principal in both tenants, Network Contributor on the customer VNet and
/// `peer/action` on Aiven's VNet. Returns (client id, secret).
pub fn cross_tenant_app(emulator: &Emulator) -> (String, SecretString) {
    let seed = emulator.seed().clone();
    let now = emulator.now();
    emulator.with_world(|w| {
        let (app_id, sp_id, secret) =
            w.identity
                .add_app_with_secret(&seed.customer_tenant_id, "peering-app", &[], now);
        for application in w.identity.applications.values_mut() {
            if application.app_id == app_id {
                application.sign_in_audience = "AzureADMultipleOrgs".to_owned();
            }
        }
        let remote_sp = w
            .identity
            .ensure_service_principal(&seed.aiven_tenant_id, &app_id, now);
        let assign = |w: &mut vnetpeer_emulator::World,
                      scope: &str,
                      tenant: &str,
                      role: &str,
                      principal: &str| {
            w.arm
                .insert_role_assignment(RoleAssignment::of_service_principal(
                    uuid::Uuid::new_v4().to_string(),
                    scope,
                    tenant,
                    role,
                    principal,
                    None,
                ));
        };
        assign(
            w,
            &seed.customer_vnet_id,
            &seed.customer_tenant_id,
            NETWORK_CONTRIBUTOR_ROLE_ID,
            &sp_id,
        );
        let peer_role = uuid::Uuid::new_v4().to_string();
        w.arm
            .role_definitions
            .push(vnetpeer_emulator::world::arm::RoleDefinition {
                name: peer_role.clone(),
                role_name: "aiven-peer".to_owned(),
                description: String::new(),
                role_type: "CustomRole".to_owned(),
                tenant_id: Some(seed.aiven_tenant_id.clone()),
                permissions: vec![vnetpeer_emulator::world::arm::Permission {
                    actions: vec![PEER_ACTION.to_owned()],
                    ..Default::default()
                }],
                assignable_scopes: vec![seed.aiven_vnet_id.clone()],
                created_on: String::new(),
                updated_on: String::new(),
                created_by: None,
                updated_by: None,
            });
        assign(
            w,
            &seed.aiven_vnet_id,
            &seed.aiven_tenant_id,
            &peer_role,
            &remote_sp,
        );
        (app_id, SecretString::new(secret.expose()))
    })
}
