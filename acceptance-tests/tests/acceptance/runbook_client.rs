//! A raw HTTP client of the emulated services, as `az` and `avn` are, and the runbook's steps
//! over it. `emulator_runbook` walks the runbook with it as a correct client does;
//! `hand_made_runbook` makes the objects a team made by hand before adopting them.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use vnetpeer_emulator::{Emulator, Seed};

use crate::emulator_http::{Reply, send_lenient};

pub(crate) const NETWORK: &str = "2024-05-01";
pub(crate) const AUTHORIZATION: &str = "2022-04-01";
pub(crate) const ARM_SCOPE: &str = "https://management.azure.com/.default";
pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
pub(crate) const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";
/// How long the client keeps retrying an eventual-consistency answer.
const PATIENCE: Duration = Duration::from_secs(20);
/// Backoff between retries of an eventual-consistency answer without Retry-After.
const BACKOFF: Duration = Duration::from_millis(50);

/// The operator's tokens (`az login --service-principal`).
pub(crate) struct OperatorTokens {
    pub(crate) graph: String,
    pub(crate) arm: String,
}

/// What Aiven reported when the connection reached `PENDING_PEER`: Aiven's tenant and VNet.
pub(crate) struct PendingPeer {
    pub(crate) aiven_tenant: String,
    pub(crate) aiven_vnet: String,
}

/// The Aiven peering connection of the seeded customer VNet on one project VPC.
pub(crate) struct AivenConnection {
    /// `/project/{project}/vpcs/{vpc}`.
    pub(crate) vpc_path: String,
    /// The VNet name as Aiven keeps it (lower case).
    pub(crate) vnet_name: String,
    /// The path that deletes the connection.
    pub(crate) delete_path: String,
}

/// A raw HTTP client of the emulated services, as `az` and `avn` are (also used by
/// `hand_made_runbook`).
pub(crate) struct Client {
    pub(crate) emulator: Emulator,
    pub(crate) http: reqwest::Client,
    pub(crate) seed: Seed,
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
    pub(crate) async fn token(
        &self,
        tenant: &str,
        client_id: &str,
        secret: &str,
        scope: &str,
    ) -> String {
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

    pub(crate) async fn graph(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Reply {
        let url = format!("{}/v1.0{path}", self.emulator.endpoints().graph);
        self.send(method, &url, Some(format!("Bearer {token}")), body, &[])
            .await
    }

    /// A Graph call retried while it answers with a replication-lag status.
    pub(crate) async fn graph_until(
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
    pub(crate) async fn arm(
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
    pub(crate) async fn wait_for_operation(&self, first: &Reply, url: &str, token: &str) -> Reply {
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

    pub(crate) async fn aiven(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let url = format!("{}/v1{path}", self.emulator.endpoints().aiven);
        let authorization = format!("aivenv1 {}", self.seed.aiven_token.expose());
        self.send(method, &url, Some(authorization), body, &[])
            .await
    }

    /// Polls the project VPC until the connection for `vnet` leaves the given states (or is
    /// gone: `None`).
    pub(crate) async fn aiven_until_not(
        &self,
        vpc_path: &str,
        vnet: &str,
        states: &[&str],
    ) -> Option<Value> {
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

impl Client {
    pub(crate) fn new(emulator: &Emulator) -> Self {
        Self {
            emulator: emulator.clone(),
            http: reqwest::Client::new(),
            seed: emulator.seed().clone(),
        }
    }

    /// The seeded operator's Graph and ARM tokens in the customer tenant.
    pub(crate) async fn operator_tokens(&self) -> OperatorTokens {
        let tenant = &self.seed.customer_tenant_id;
        let client_id = &self.seed.operator_client_id;
        let secret = self.seed.operator_client_secret.expose();
        OperatorTokens {
            graph: self.token(tenant, client_id, secret, GRAPH_SCOPE).await,
            arm: self.token(tenant, client_id, secret, ARM_SCOPE).await,
        }
    }

    /// `POST /applications` of a multi-tenant application: its object id and application id.
    pub(crate) async fn create_application(
        &self,
        graph: &str,
        display_name: &str,
    ) -> (String, String) {
        let body = json!({"displayName": display_name, "signInAudience": "AzureADMultipleOrgs"});
        let app = self
            .graph(Method::POST, "/applications", graph, Some(&body))
            .await;
        assert_eq!(app.status, 201, "create the application: {}", app.body);
        let object_id = app.body["id"].as_str().expect("id").to_owned();
        let app_id = app.body["appId"].as_str().expect("appId").to_owned();
        (object_id, app_id)
    }

    /// `POST /servicePrincipals` for `app_id`, retried while Graph has not replicated a new
    /// application; the new service principal.
    pub(crate) async fn create_service_principal(&self, graph: &str, app_id: &str) -> Value {
        let body = json!({"appId": app_id});
        let sp = self
            .graph_until(
                Method::POST,
                "/servicePrincipals",
                graph,
                Some(&body),
                &[400, 404],
            )
            .await;
        assert_eq!(sp.status, 201, "create the service principal: {}", sp.body);
        sp.body
    }

    /// `addPassword` on the application: the new password credential (with `secretText`).
    pub(crate) async fn add_password(
        &self,
        graph: &str,
        app_object_id: &str,
        display_name: &str,
    ) -> Value {
        let body = json!({"passwordCredential": {"displayName": display_name}});
        let password = self
            .graph_until(
                Method::POST,
                &format!("/applications/{app_object_id}/addPassword"),
                graph,
                Some(&body),
                &[404],
            )
            .await;
        assert_eq!(password.status, 200, "add a password: {}", password.body);
        password.body
    }

    /// `PUT` of the role assignment `assignment_id` (without api-version) for a service
    /// principal, with `principalType` (it may be brand new), retrying `retry_codes`.
    pub(crate) async fn assign_role(
        &self,
        arm: &str,
        assignment_id: &str,
        role_definition_id: &str,
        principal_id: &str,
        retry_codes: &[&str],
    ) {
        let body = json!({"properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
        }});
        let url = format!("{assignment_id}?api-version={AUTHORIZATION}");
        let reply = self
            .arm(Method::PUT, &url, arm, Some(&body), &[], retry_codes)
            .await;
        assert_eq!(reply.status, 201, "assign the role: {}", reply.body);
    }

    /// `PUT` of the custom role `role_definition_id` (without api-version) allowing only
    /// `peer/action`, assignable at `subscription_scope`; the role's id as ARM returns it.
    pub(crate) async fn create_custom_role(
        &self,
        arm: &str,
        role_definition_id: &str,
        role_name: &str,
        subscription_scope: &str,
    ) -> String {
        let guid = role_definition_id.rsplit('/').next().unwrap_or_default();
        let body = json!({"name": guid, "properties": {
            "roleName": role_name,
            "description": "Lets Aiven peer its VNet with this one",
            "type": "CustomRole",
            "permissions": [{"actions": [PEER_ACTION], "notActions": [], "dataActions": [], "notDataActions": []}],
            "assignableScopes": [subscription_scope],
        }});
        let url = format!("{role_definition_id}?api-version={AUTHORIZATION}");
        let reply = self
            .arm(Method::PUT, &url, arm, Some(&body), &[], &[])
            .await;
        assert_eq!(reply.status, 201, "create the custom role: {}", reply.body);
        reply.body["id"].as_str().expect("role id").to_owned()
    }

    /// The Aiven connection of the seeded VNet on the project VPC `vpc_id`.
    pub(crate) fn aiven_connection(&self, vpc_id: &str) -> AivenConnection {
        let seed = &self.seed;
        let vpc_path = format!("/project/{}/vpcs/{vpc_id}", seed.aiven_project);
        let account = seed.customer_subscription_id.to_lowercase();
        let group = seed.customer_resource_group.to_lowercase();
        let vnet_name = seed.customer_vnet_name.to_lowercase();
        let delete_path = format!(
            "{vpc_path}/peering-connections/peer-accounts/{account}/peer-resource-groups/{group}/peer-vpcs/{vnet_name}"
        );
        AivenConnection {
            vpc_path,
            vnet_name,
            delete_path,
        }
    }

    /// Creates the Aiven connection for the application `app_id` (Azure names in lower case,
    /// as Aiven keeps them) and waits for `PENDING_PEER`. Right after the role assignments
    /// Aiven may not see its service principal (Graph replication) or its permission (RBAC
    /// propagation): the failed connection is deleted and made again after a wait.
    pub(crate) async fn create_aiven_peering(
        &self,
        connection: &AivenConnection,
        app_id: &str,
    ) -> PendingPeer {
        let seed = &self.seed;
        let create = json!({
            "peer_cloud_account": seed.customer_subscription_id.to_lowercase(),
            "peer_resource_group": seed.customer_resource_group.to_lowercase(),
            "peer_vpc": connection.vnet_name,
            "peer_azure_app_id": app_id.to_lowercase(),
            "peer_azure_tenant_id": seed.customer_tenant_id.to_lowercase(),
        });
        let (vpc_path, vnet_name) = (&connection.vpc_path, &connection.vnet_name);
        let mut attempts = 0;
        let pending = loop {
            attempts += 1;
            let reply = self
                .aiven(
                    Method::POST,
                    &format!("{vpc_path}/peering-connections"),
                    Some(&create),
                )
                .await;
            assert_eq!(
                reply.status, 200,
                "create the Aiven peering: {}",
                reply.body
            );
            assert_eq!(reply.body["state"], "APPROVED");
            let current = self
                .aiven_until_not(vpc_path, vnet_name, &["APPROVED"])
                .await
                .expect("the connection");
            if current["state"] == "PENDING_PEER" {
                break current;
            }
            let message = current["state_info"]["message"]
                .as_str()
                .unwrap_or_default();
            assert!(
                current["state"] == "INVALID_SPECIFICATION"
                    && (message.contains("permission") || message.contains("no service principal"))
                    && attempts < 10,
                "{current}"
            );
            let reply = self
                .aiven(Method::DELETE, &connection.delete_path, None)
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert!(
                self.aiven_until_not(vpc_path, vnet_name, &["DELETING"])
                    .await
                    .is_none()
            );
            tokio::time::sleep(self.emulator.knobs().rbac_propagation).await;
        };
        let state_info = |key: &str| {
            pending["state_info"][key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} in {pending}"))
                .to_owned()
        };
        PendingPeer {
            aiven_tenant: state_info("to-tenant-id"),
            aiven_vnet: state_info("to-network-id"),
        }
    }

    /// `PUT` of the VNet peering `peering_id` (without api-version) to Aiven's VNet as the
    /// application, with Aiven's tenant's token as the auxiliary one, waiting out RBAC
    /// propagation on both sides and then the long-running operation.
    pub(crate) async fn create_vnet_peering(
        &self,
        peering_id: &str,
        primary: &str,
        auxiliary: &str,
        aiven_vnet: &str,
    ) {
        let body = json!({"properties": {
            "remoteVirtualNetwork": {"id": aiven_vnet},
            "allowVirtualNetworkAccess": true,
            "allowForwardedTraffic": false,
            "allowGatewayTransit": false,
            "useRemoteGateways": false,
        }});
        let created = self
            .arm(
                Method::PUT,
                &format!("{peering_id}?api-version={NETWORK}"),
                primary,
                Some(&body),
                &[(
                    "x-ms-authorization-auxiliary",
                    format!("Bearer {auxiliary}"),
                )],
                &["AuthorizationFailed", "LinkedAuthorizationFailed"],
            )
            .await;
        assert_eq!(
            created.status, 201,
            "create the VNet peering: {}",
            created.body
        );
        let operation = created
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation");
        let status = self.wait_for_operation(&created, operation, primary).await;
        assert_eq!(status.body["status"], "Succeeded", "{}", status.body);
    }
}
