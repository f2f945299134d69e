//! The whole runbook of docs/development/cross-api-rules.md, 'Workflow → API call map' over raw
//! HTTP, as a correct client sends it: tokens, Graph app + service principal + secret, role
//! assignments with principalType, the custom role, Aiven's service principal, the Aiven peering up
//! to PENDING_PEER, tokens for the app in both tenants, the cross-tenant peering PUT with the
//! auxiliary header and its long-running operation, Connected, Aiven ACTIVE; then the cleanup in
//! reverse, after which the world equals the seeded one and no request broke a rule.
//!
//! The client waits the way a careful one does (Retry-After, replication windows, RBAC
//! propagation) in real time, so this test also proves the default knobs stay fast.

use crate::emulator_http::{Reply, send_lenient};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use vnetpeer_emulator::{Emulator, Knobs, Seed, Service};

const NETWORK: &str = "2024-05-01";
const AUTHORIZATION: &str = "2022-04-01";
const SUBSCRIPTIONS: &str = "2022-12-01";
const ARM_SCOPE: &str = "https://management.azure.com/.default";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";
/// How long the client keeps retrying an eventual-consistency answer.
const PATIENCE: Duration = Duration::from_secs(20);
/// Backoff between retries of an eventual-consistency answer without Retry-After.
const BACKOFF: Duration = Duration::from_millis(50);

struct Client {
    emulator: Emulator,
    http: reqwest::Client,
    seed: Seed,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        url: &str,
        authorization: Option<String>,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut request = self.http.request(method, url);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        send_lenient(request).await
    }

    /// Client-credentials token, retried while Entra is still catching up (new secret not yet
    /// active: AADSTS7000215; service principal not yet in the tenant: AADSTS7000229/700016).
    async fn token(&self, tenant: &str, client_id: &str, secret: &str, scope: &str) -> String {
        let url = format!(
            "{}/{tenant}/oauth2/v2.0/token",
            self.emulator.endpoints().authority_host
        );
        let deadline = Instant::now() + PATIENCE;
        loop {
            let response = self
                .http
                .post(&url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", scope),
                ])
                .send()
                .await
                .expect("token request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("token JSON");
            if status == 200 {
                return body["access_token"]
                    .as_str()
                    .expect("access_token")
                    .to_owned();
            }
            let codes = body["error_codes"].as_array().cloned().unwrap_or_default();
            let transient = codes
                .iter()
                .any(|c| [7000215, 7000229, 700016].contains(&c.as_u64().unwrap_or(0)));
            assert!(
                transient && Instant::now() < deadline,
                "token: {status} {body}"
            );
            tokio::time::sleep(BACKOFF).await;
        }
    }

    async fn graph(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Reply {
        let url = format!("{}/v1.0{path}", self.emulator.endpoints().graph);
        self.send(method, &url, Some(format!("Bearer {token}")), body, &[])
            .await
    }

    /// A Graph call retried while it answers with a replication-lag status.
    async fn graph_until(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        lag: &[u16],
    ) -> Reply {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let reply = self.graph(method.clone(), path, token, body).await;
            if !lag.contains(&reply.status) || Instant::now() > deadline {
                return reply;
            }
            tokio::time::sleep(BACKOFF).await;
        }
    }

    fn arm_url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.emulator.endpoints().arm)
        }
    }

    /// An ARM call; 429 is retried after its Retry-After, and the codes in `retry_codes` (RBAC
    /// not yet propagated) with a backoff.
    async fn arm(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
        retry_codes: &[&str],
    ) -> Reply {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let reply = self
                .send(
                    method.clone(),
                    &self.arm_url(path),
                    Some(format!("Bearer {token}")),
                    body,
                    headers,
                )
                .await;
            let wait = if reply.status == 429 {
                reply.retry_after().unwrap_or(Duration::from_secs(1))
            } else if retry_codes.contains(&reply.code()) {
                BACKOFF
            } else {
                return reply;
            };
            assert!(
                Instant::now() < deadline,
                "gave up: {} {}",
                reply.status,
                reply.body
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Follows a long-running operation's status URL, waiting Retry-After between polls, until
    /// it reports a terminal status (or, for a Location URL, 200/204).
    async fn wait_for_operation(&self, first: &Reply, url: &str, token: &str) -> Reply {
        let mut wait = first.retry_after().unwrap_or(Duration::from_secs(1));
        let deadline = Instant::now() + PATIENCE;
        loop {
            tokio::time::sleep(wait).await;
            let reply = self
                .send(Method::GET, url, Some(format!("Bearer {token}")), None, &[])
                .await;
            let running = reply.status == 202
                || (reply.status == 200
                    && reply.body["status"]
                        .as_str()
                        .is_some_and(|s| !["Succeeded", "Failed", "Canceled"].contains(&s)));
            if !running {
                return reply;
            }
            assert!(Instant::now() < deadline, "operation never ended");
            wait = reply.retry_after().unwrap_or(Duration::from_secs(1));
        }
    }

    async fn aiven(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let url = format!("{}/v1{path}", self.emulator.endpoints().aiven);
        let authorization = format!("aivenv1 {}", self.seed.aiven_token.expose());
        self.send(method, &url, Some(authorization), body, &[])
            .await
    }

    /// Polls the project VPC until the connection for `vnet` leaves the given states (or is
    /// gone: `None`).
    async fn aiven_until_not(&self, vpc_path: &str, vnet: &str, states: &[&str]) -> Option<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let reply = self.aiven(Method::GET, vpc_path, None).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let connection = reply.body["peering_connections"]
                .as_array()
                .and_then(|all| all.iter().find(|c| c["peer_vpc"] == vnet).cloned());
            match &connection {
                Some(c) if states.contains(&c["state"].as_str().unwrap_or_default()) => {}
                _ => return connection,
            }
            assert!(Instant::now() < deadline, "Aiven stuck in {states:?}");
            tokio::time::sleep(BACKOFF).await;
        }
    }
}

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
    let client = Client {
        emulator: emulator.clone(),
        http: reqwest::Client::new(),
        seed: seed.clone(),
    };
    let customer_tenant = seed.customer_tenant_id.clone();
    let operator_secret = seed.operator_client_secret.expose().to_owned();

    // 1. Operator tokens.
    let operator_graph = client
        .token(
            &customer_tenant,
            &seed.operator_client_id,
            &operator_secret,
            GRAPH_SCOPE,
        )
        .await;
    let operator_arm = client
        .token(
            &customer_tenant,
            &seed.operator_client_id,
            &operator_secret,
            ARM_SCOPE,
        )
        .await;

    // 2–4. The customer app (multi-tenant), its service principal, a secret.
    let app = client
        .graph(Method::POST, "/applications", &operator_graph, Some(&json!({"displayName": "vnetpeer-runbook", "signInAudience": "AzureADMultipleOrgs"})))
        .await;
    assert_eq!(app.status, 201, "{}", app.body);
    let app_object_id = app.body["id"].as_str().expect("id").to_owned();
    let app_id = app.body["appId"].as_str().expect("appId").to_owned();
    let sp = client
        .graph_until(
            Method::POST,
            "/servicePrincipals",
            &operator_graph,
            Some(&json!({"appId": app_id})),
            &[400, 404],
        )
        .await;
    assert_eq!(sp.status, 201, "{}", sp.body);
    let app_sp = sp.body["id"].as_str().expect("SP id").to_owned();
    let password = client
        .graph_until(
            Method::POST,
            &format!("/applications/{app_object_id}/addPassword"),
            &operator_graph,
            Some(&json!({"passwordCredential": {"displayName": "vnetpeer"}})),
            &[404],
        )
        .await;
    assert_eq!(password.status, 200, "{}", password.body);
    let app_secret = password.body["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();

    // 5. The VNet and its tenant.
    let vnet = client
        .arm(
            Method::GET,
            &format!("{}?api-version={NETWORK}", seed.customer_vnet_id),
            &operator_arm,
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
            &operator_arm,
            None,
            &[],
            &[],
        )
        .await;
    assert_eq!(subscription.body["tenantId"], customer_tenant.as_str());

    // 6. Network Contributor for the app's SP on the VNet (principalType: it is brand new).
    let contributor_assignment = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHORIZATION}",
        guid_for(&[&vnet_id, NETWORK_CONTRIBUTOR, &app_sp])
    );
    let reply = client
        .arm(
            Method::PUT,
            &contributor_assignment,
            &operator_arm,
            Some(&json!({"properties": {
                "roleDefinitionId": format!("{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR}"),
                "principalId": app_sp,
                "principalType": "ServicePrincipal",
            }})),
            &[],
            &[],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    // 7. Aiven's service principal in the customer tenant (adopt it if it exists).
    let filter = format!(
        "/servicePrincipals?$filter=appId%20eq%20'{}'",
        seed.aiven_app_id
    );
    let existing = client
        .graph(Method::GET, &filter, &operator_graph, None)
        .await;
    assert_eq!(existing.status, 200, "{}", existing.body);
    assert_eq!(existing.body["value"], json!([]));
    let aiven_sp = client
        .graph(
            Method::POST,
            "/servicePrincipals",
            &operator_graph,
            Some(&json!({"appId": seed.aiven_app_id})),
        )
        .await;
    assert_eq!(aiven_sp.status, 201, "{}", aiven_sp.body);
    let aiven_sp_id = aiven_sp.body["id"]
        .as_str()
        .expect("Aiven SP id")
        .to_owned();
    assert_eq!(
        aiven_sp.body["appOwnerOrganizationId"],
        seed.aiven_tenant_id.as_str()
    );

    // 8. The custom role with only peer/action.
    let role_guid = guid_for(&[&subscription_scope, "aiven-vnet-peering"]);
    let role_definition = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}?api-version={AUTHORIZATION}"
    );
    let reply = client
        .arm(
            Method::PUT,
            &role_definition,
            &operator_arm,
            Some(&json!({"name": role_guid, "properties": {
                "roleName": "Aiven VNet peering",
                "description": "Lets Aiven peer its VNet with this one",
                "type": "CustomRole",
                "permissions": [{"actions": [PEER_ACTION], "notActions": [], "dataActions": [], "notDataActions": []}],
                "assignableScopes": [subscription_scope],
            }})),
            &[],
            &[],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let role_definition_id = reply.body["id"].as_str().expect("role id").to_owned();

    // 9. The custom role for Aiven's SP on the VNet.
    let aiven_assignment = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHORIZATION}",
        guid_for(&[&vnet_id, &role_guid, &aiven_sp_id])
    );
    let reply = client
        .arm(
            Method::PUT,
            &aiven_assignment,
            &operator_arm,
            Some(&json!({"properties": {
                "roleDefinitionId": role_definition_id,
                "principalId": aiven_sp_id,
                "principalType": "ServicePrincipal",
            }})),
            &[],
            &[],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

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
    let vpc_path = format!("/project/{}/vpcs/{vpc_id}", seed.aiven_project);

    // 11–12. The Aiven peering, with lower-case names, until PENDING_PEER. Right after the role
    // assignment, Aiven may not see its service principal yet (Graph replication) or its
    // permission (RBAC propagation): delete the failed connection, wait, create it again.
    let account = seed.customer_subscription_id.to_lowercase();
    let group = seed.customer_resource_group.to_lowercase();
    let vnet_name = seed.customer_vnet_name.to_lowercase();
    let create = json!({
        "peer_cloud_account": account,
        "peer_resource_group": group,
        "peer_vpc": vnet_name,
        "peer_azure_app_id": app_id.to_lowercase(),
        "peer_azure_tenant_id": customer_tenant.to_lowercase(),
    });
    let delete_path = format!(
        "{vpc_path}/peering-connections/peer-accounts/{account}/peer-resource-groups/{group}/peer-vpcs/{vnet_name}"
    );
    let mut attempts = 0;
    let pending = loop {
        attempts += 1;
        let reply = client
            .aiven(
                Method::POST,
                &format!("{vpc_path}/peering-connections"),
                Some(&create),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["state"], "APPROVED");
        let connection = client
            .aiven_until_not(&vpc_path, &vnet_name, &["APPROVED"])
            .await
            .expect("connection");
        if connection["state"] == "PENDING_PEER" {
            break connection;
        }
        let message = connection["state_info"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            connection["state"] == "INVALID_SPECIFICATION"
                && (message.contains("permission") || message.contains("no service principal"))
                && attempts < 10,
            "{connection}"
        );
        let reply = client.aiven(Method::DELETE, &delete_path, None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            client
                .aiven_until_not(&vpc_path, &vnet_name, &["DELETING"])
                .await
                .is_none()
        );
        tokio::time::sleep(emulator.knobs().rbac_propagation).await;
    };
    let aiven_tenant = pending["state_info"]["to-tenant-id"]
        .as_str()
        .expect("to-tenant-id")
        .to_owned();
    let aiven_vnet = pending["state_info"]["to-network-id"]
        .as_str()
        .expect("to-network-id")
        .to_owned();
    assert_eq!(aiven_tenant, seed.aiven_tenant_id);

    // 13. The app's tokens in both tenants.
    let primary = client
        .token(&customer_tenant, &app_id, &app_secret, ARM_SCOPE)
        .await;
    let auxiliary = client
        .token(&aiven_tenant, &app_id, &app_secret, ARM_SCOPE)
        .await;

    // 14. The cross-tenant peering, waiting out RBAC propagation on both sides.
    let peering = format!("{vnet_id}/virtualNetworkPeerings/peer-to-aiven?api-version={NETWORK}");
    let aux_header = [(
        "x-ms-authorization-auxiliary",
        format!("Bearer {auxiliary}"),
    )];
    let created = client
        .arm(
            Method::PUT,
            &peering,
            &primary,
            Some(&json!({"properties": {
                "remoteVirtualNetwork": {"id": aiven_vnet},
                "allowVirtualNetworkAccess": true,
                "allowForwardedTraffic": false,
                "allowGatewayTransit": false,
                "useRemoteGateways": false,
            }})),
            &aux_header,
            &["AuthorizationFailed", "LinkedAuthorizationFailed"],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let operation = created
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    let status = client
        .wait_for_operation(&created, operation, &primary)
        .await;
    assert_eq!(status.body["status"], "Succeeded", "{}", status.body);
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
        .aiven_until_not(&vpc_path, &vnet_name, &["PENDING_PEER"])
        .await
        .expect("connection");
    assert_eq!(active["state"], "ACTIVE", "{active}");

    // Cleanup, in reverse. The Azure peering (LRO with Location).
    let deleting = client
        .arm(Method::DELETE, &peering, &operator_arm, None, &[], &[])
        .await;
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    let location = deleting.header("location").expect("Location");
    let done = client
        .wait_for_operation(&deleting, location, &operator_arm)
        .await;
    assert!(matches!(done.status, 200 | 204), "{}", done.status);
    let gone = client
        .arm(Method::GET, &peering, &operator_arm, None, &[], &[])
        .await;
    assert_eq!(gone.status, 404);

    // The Aiven peering.
    let reply = client.aiven(Method::DELETE, &delete_path, None).await;
    assert_eq!(reply.body["state"], "DELETING", "{}", reply.body);
    assert!(
        client
            .aiven_until_not(
                &vpc_path,
                &vnet_name,
                &["DELETING", "ACTIVE", "PENDING_PEER"]
            )
            .await
            .is_none()
    );

    // Role assignments, then the role definition.
    for assignment in [&aiven_assignment, &contributor_assignment] {
        let reply = client
            .arm(Method::DELETE, assignment, &operator_arm, None, &[], &[])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let reply = client
        .arm(
            Method::DELETE,
            &role_definition,
            &operator_arm,
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
            &operator_graph,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = client
        .graph(
            Method::DELETE,
            &format!("/applications/{app_object_id}"),
            &operator_graph,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = client
        .graph(
            Method::DELETE,
            &format!("/directory/deletedItems/{app_object_id}"),
            &operator_graph,
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
