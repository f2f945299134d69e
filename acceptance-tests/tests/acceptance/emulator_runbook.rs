//! The whole runbook of docs/development/cross-api-rules.md, 'Workflow → API call map' over raw
//! HTTP, as a correct client sends it: tokens, Graph app + service principal + secret, role
//! assignments with principalType, the custom role, Aiven's service principal, the Aiven peering up
//! to PENDING_PEER, tokens for the app in both tenants, the cross-tenant peering PUT with the
//! auxiliary header and its long-running operation, Connected, Aiven ACTIVE; then the cleanup in
//! reverse, after which the world equals the seeded one and no request broke a rule.
//!
//! The client waits the way a careful one does (Retry-After, replication windows, RBAC
//! propagation) in real time, so this test also proves the default knobs stay fast.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;
use vnetpeer_emulator::{Emulator, Knobs, Service};

use crate::runbook_client::{ARM_SCOPE, AUTHORIZATION, Client, NETWORK, NETWORK_CONTRIBUTOR};

const SUBSCRIPTIONS: &str = "2022-12-01";

/// Deterministic GUID for an idempotent create (docs/development/cross-api-rules.md, 'Idempotency
/// keys').
fn guid_for(parts: &[&str]) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        parts.join("|").to_lowercase().as_bytes(),
    )
    .to_string()
}

#[tokio::test]
async fn the_whole_runbook_walks_end_to_end_and_cleans_up_to_the_seeded_world() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let seed = emulator.seed().clone();
    let client = Client::new(&emulator);
    let customer_tenant = seed.customer_tenant_id.clone();

    // 1. Operator tokens.
    let operator = client.operator_tokens().await;
    let (operator_graph, operator_arm) = (&operator.graph, &operator.arm);

    // 2–4. The customer app (multi-tenant), its service principal, a secret.
    let (app_object_id, app_id) = client
        .create_application(operator_graph, "vnetpeer-runbook")
        .await;
    let sp = client
        .create_service_principal(operator_graph, &app_id)
        .await;
    let app_sp = sp["id"].as_str().expect("SP id").to_owned();
    let password = client
        .add_password(operator_graph, &app_object_id, "vnetpeer")
        .await;
    let app_secret = password["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();

    // 5. The VNet and its tenant.
    let vnet = client
        .arm(
            Method::GET,
            &format!("{}?api-version={NETWORK}", seed.customer_vnet_id),
            operator_arm,
            None,
            &[],
            &[],
        )
        .await;
    assert_eq!(vnet.status, 200, "{}", vnet.body);
    let vnet_id = vnet.body["id"].as_str().expect("VNet id").to_owned();
    let subscription_scope = format!("/subscriptions/{}", seed.customer_subscription_id);
    let subscription = client
        .arm(
            Method::GET,
            &format!("{subscription_scope}?api-version={SUBSCRIPTIONS}"),
            operator_arm,
            None,
            &[],
            &[],
        )
        .await;
    assert_eq!(subscription.body["tenantId"], customer_tenant.as_str());

    // 6. Network Contributor for the app's SP on the VNet (principalType: it is brand new).
    let contributor_assignment = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        guid_for(&[&vnet_id, NETWORK_CONTRIBUTOR, &app_sp])
    );
    let network_contributor = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR}"
    );
    client
        .assign_role(
            operator_arm,
            &contributor_assignment,
            &network_contributor,
            &app_sp,
            &[],
        )
        .await;

    // 7. Aiven's service principal in the customer tenant (adopt it if it exists).
    let filter = format!(
        "/servicePrincipals?$filter=appId%20eq%20'{}'",
        seed.aiven_app_id
    );
    let existing = client
        .graph(Method::GET, &filter, operator_graph, None)
        .await;
    assert_eq!(existing.status, 200, "{}", existing.body);
    assert_eq!(existing.body["value"], json!([]));
    let aiven_sp = client
        .create_service_principal(operator_graph, &seed.aiven_app_id)
        .await;
    let aiven_sp_id = aiven_sp["id"].as_str().expect("Aiven SP id").to_owned();
    assert_eq!(
        aiven_sp["appOwnerOrganizationId"],
        seed.aiven_tenant_id.as_str()
    );

    // 8. The custom role with only peer/action.
    let role_guid = guid_for(&[&subscription_scope, "aiven-vnet-peering"]);
    let role_definition = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
    );
    let role_definition_id = client
        .create_custom_role(
            operator_arm,
            &role_definition,
            "Aiven VNet peering",
            &subscription_scope,
        )
        .await;

    // 9. The custom role for Aiven's SP on the VNet.
    let aiven_assignment = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        guid_for(&[&vnet_id, &role_guid, &aiven_sp_id])
    );
    client
        .assign_role(
            operator_arm,
            &aiven_assignment,
            &role_definition_id,
            &aiven_sp_id,
            &[],
        )
        .await;

    // 10. The project VPC in the cloud.
    let vpcs = client
        .aiven(
            Method::GET,
            &format!("/project/{}/vpcs", seed.aiven_project),
            None,
        )
        .await;
    let vpc_id = vpcs.body["vpcs"]
        .as_array()
        .and_then(|all| {
            all.iter().find(|v| {
                v["cloud_name"] == seed.aiven_cloud_name.as_str() && v["state"] == "ACTIVE"
            })
        })
        .and_then(|v| v["project_vpc_id"].as_str())
        .expect("project VPC in the cloud")
        .to_owned();
    let connection = client.aiven_connection(&vpc_id);
    let (vpc_path, vnet_name) = (&connection.vpc_path, &connection.vnet_name);

    // 11–12. The Aiven peering, with lower-case names, until PENDING_PEER.
    let pending = client.create_aiven_peering(&connection, &app_id).await;
    assert_eq!(pending.aiven_tenant, seed.aiven_tenant_id);

    // 13. The app's tokens in both tenants.
    let primary = client
        .token(&customer_tenant, &app_id, &app_secret, ARM_SCOPE)
        .await;
    let auxiliary = client
        .token(&pending.aiven_tenant, &app_id, &app_secret, ARM_SCOPE)
        .await;

    // 14. The cross-tenant peering, waiting out RBAC propagation on both sides.
    let peering_id = format!("{vnet_id}/virtualNetworkPeerings/peer-to-aiven");
    client
        .create_vnet_peering(&peering_id, &primary, &auxiliary, &pending.aiven_vnet)
        .await;
    let peering = format!("{peering_id}?api-version={NETWORK}");
    let state = client
        .arm(Method::GET, &peering, &primary, None, &[], &[])
        .await;
    assert_eq!(state.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        state.body["properties"]["peeringState"], "Connected",
        "{}",
        state.body
    );

    // 15. Aiven notices and goes ACTIVE.
    let active = client
        .aiven_until_not(vpc_path, vnet_name, &["PENDING_PEER"])
        .await
        .expect("connection");
    assert_eq!(active["state"], "ACTIVE", "{active}");

    // Cleanup, in reverse. The Azure peering (LRO with Location).
    let deleting = client
        .arm(Method::DELETE, &peering, operator_arm, None, &[], &[])
        .await;
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    let location = deleting.header("location").expect("Location");
    let done = client
        .wait_for_operation(&deleting, location, operator_arm)
        .await;
    assert!(matches!(done.status, 200 | 204), "{}", done.status);
    let gone = client
        .arm(Method::GET, &peering, operator_arm, None, &[], &[])
        .await;
    assert_eq!(gone.status, 404);

    // The Aiven peering.
    let reply = client
        .aiven(Method::DELETE, &connection.delete_path, None)
        .await;
    assert_eq!(reply.body["state"], "DELETING", "{}", reply.body);
    assert!(
        client
            .aiven_until_not(vpc_path, vnet_name, &["DELETING", "ACTIVE", "PENDING_PEER"])
            .await
            .is_none()
    );

    // Role assignments, then the role definition.
    for assignment in [&aiven_assignment, &contributor_assignment] {
        let url = format!("{assignment}?api-version={AUTHORIZATION}");
        let reply = client
            .arm(Method::DELETE, &url, operator_arm, None, &[], &[])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let reply = client
        .arm(
            Method::DELETE,
            &format!("{role_definition}?api-version={AUTHORIZATION}"),
            operator_arm,
            None,
            &[],
            &["RoleDefinitionHasAssignments"],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Service principals and the application (purged from deleted items).
    let reply = client
        .graph(
            Method::DELETE,
            &format!("/servicePrincipals/{aiven_sp_id}"),
            operator_graph,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = client
        .graph(
            Method::DELETE,
            &format!("/applications/{app_object_id}"),
            operator_graph,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = client
        .graph(
            Method::DELETE,
            &format!("/directory/deletedItems/{app_object_id}"),
            operator_graph,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);

    assert_eq!(emulator.violations(), Vec::new());
    // Every ARM and Aiven request was served by a route (the log names its template, which is
    // what fault rules match on).
    for record in emulator.requests() {
        if matches!(record.service, Service::Arm | Service::Aiven) {
            assert!(
                record.route.contains('{'),
                "unrouted: {} {}",
                record.method,
                record.route
            );
        }
    }
    assert_eq!(
        emulator.snapshot(),
        seeded,
        "the world differs from the seeded one after cleanup"
    );
}
