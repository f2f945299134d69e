//! The emulated Aiven API over raw HTTP: authentication, project VPCs, and the peering state
//! machine with every INVALID_SPECIFICATION cause of docs/development/aiven.md, 'Peering connection
//! object, states and state_info' and of docs/development/cross-api-rules.md, 'Preconditions' (e),
//! (f).

use crate::emulator_http::{Reply, send};
use crate::peering_setup::assign_role;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use vnetpeer_emulator::world::arm::{Permission, RoleDefinition};
use vnetpeer_emulator::{Emulator, Knobs, Seed, ViolationKind};

const NETWORK: &str = "2024-05-01";
const ARM_AUDIENCE: &str = "https://management.azure.com/";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";
const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";

struct Aiven {
    emulator: Emulator,
    http: reqwest::Client,
    seed: Seed,
    /// The customer's multi-tenant app: (client id, SP object id in the customer tenant).
    app_id: String,
    app_sp: String,
}

impl Aiven {
    /// An emulator with a customer app (multi-tenant) and Network Contributor for it on the
    /// customer VNet (aged: already propagated).
    async fn start() -> Aiven {
        let emulator = Emulator::start(Knobs::test()).await;
        let seed = emulator.seed().clone();
        let now = emulator.now();
        let tenant = seed.customer_tenant_id.clone();
        let (app_id, app_sp, _) = emulator.with_world(|w| {
            let created = w
                .identity
                .add_app_with_secret(&tenant, "peering-app", &[], now);
            for app in w.identity.applications.values_mut() {
                if app.app_id == created.0 {
                    app.sign_in_audience = "AzureADMultipleOrgs".to_owned();
                }
            }
            created
        });
        let aiven = Aiven {
            emulator,
            http: reqwest::Client::new(),
            seed,
            app_id,
            app_sp,
        };
        let vnet = aiven.seed.customer_vnet_id.clone();
        let app_sp = aiven.app_sp.clone();
        aiven.assign(&vnet, NETWORK_CONTRIBUTOR, &app_sp, true);
        aiven
    }

    /// Everything Aiven's check needs on the customer side: Aiven's SP in the customer tenant
    /// with a peer-only custom role on the VNet (aged or fresh).
    fn grant_aiven(&self, aged: bool) -> String {
        let now = self.emulator.now();
        let tenant = self.seed.customer_tenant_id.clone();
        let aiven_app = self.seed.aiven_app_id.clone();
        let sp = self.emulator.with_world(|w| {
            w.identity
                .ensure_service_principal(&tenant, &aiven_app, now)
        });
        let guid = uuid::Uuid::new_v4().to_string();
        let sub_scope = format!("/subscriptions/{}", self.seed.customer_subscription_id);
        self.emulator.with_world(|w| {
            w.arm.role_definitions.push(RoleDefinition {
                name: guid.clone(),
                role_name: "Aiven VNet peering".to_owned(),
                description: String::new(),
                role_type: "CustomRole".to_owned(),
                tenant_id: Some(tenant),
                permissions: vec![Permission {
                    actions: vec![PEER_ACTION.to_owned()],
                    ..Permission::default()
                }],
                assignable_scopes: vec![sub_scope],
                created_on: String::new(),
                updated_on: String::new(),
                created_by: None,
                updated_by: None,
            });
        });
        self.assign(&self.seed.customer_vnet_id, &guid, &sp, aged);
        sp
    }

    fn assign(&self, scope: &str, role: &str, principal: &str, aged: bool) {
        assign_role(&self.emulator, scope, role, principal, aged);
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.emulator.endpoints().aiven));
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    fn auth(&self) -> String {
        format!("aivenv1 {}", self.seed.aiven_token.expose())
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&self.auth()), None).await
    }

    fn vpc_path(&self) -> String {
        format!(
            "/v1/project/{}/vpcs/{}",
            self.seed.aiven_project, self.seed.aiven_project_vpc_id
        )
    }

    /// The create body with the seeded customer names in lower case.
    fn create_body(&self) -> Value {
        json!({
            "peer_cloud_account": self.seed.customer_subscription_id.to_lowercase(),
            "peer_resource_group": self.seed.customer_resource_group.to_lowercase(),
            "peer_vpc": self.seed.customer_vnet_name.to_lowercase(),
            "peer_azure_app_id": self.app_id.to_lowercase(),
            "peer_azure_tenant_id": self.seed.customer_tenant_id.to_lowercase(),
        })
    }

    async fn create(&self, body: Value) -> Reply {
        self.call(
            Method::POST,
            &format!("{}/peering-connections", self.vpc_path()),
            Some(&self.auth()),
            Some(body),
        )
        .await
    }

    /// The only peering connection of the seeded VPC.
    async fn connection(&self) -> Value {
        let reply = self.get(&self.vpc_path()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let connections = reply.body["peering_connections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(connections.len(), 1, "{}", reply.body);
        connections[0].clone()
    }

    async fn connections(&self) -> Vec<Value> {
        self.get(&self.vpc_path()).await.body["peering_connections"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn advance(&self, by: Duration) {
        self.emulator.clock().advance(by);
    }

    fn knobs(&self) -> Knobs {
        self.emulator.knobs().clone()
    }

    async fn delete_path(&self) -> String {
        format!(
            "{}/peering-connections/peer-accounts/{}/peer-resource-groups/{}/peer-vpcs/{}",
            self.vpc_path(),
            self.seed.customer_subscription_id.to_lowercase(),
            self.seed.customer_resource_group.to_lowercase(),
            self.seed.customer_vnet_name.to_lowercase()
        )
    }

    fn token(&self, sp: &str) -> String {
        let now = self.emulator.now();
        let utc = self.emulator.clock().utc_now();
        self.emulator
            .with_world(|w| {
                w.identity
                    .issue_token(sp, ARM_AUDIENCE, "1", Duration::from_secs(3600), now, utc)
            })
            .expect("token")
    }

    /// The app's service principal in Aiven's tenant (created by Aiven).
    fn app_sp_in_aiven_tenant(&self) -> Option<String> {
        let tenant = self.seed.aiven_tenant_id.clone();
        let app = self.app_id.clone();
        self.emulator.with_world(|w| {
            w.identity
                .service_principal_by_app(&tenant, &app)
                .map(|sp| sp.id.clone())
        })
    }

    fn customer_peering_path(&self) -> String {
        format!(
            "{}{}/virtualNetworkPeerings/to-aiven?api-version={NETWORK}",
            self.emulator.endpoints().arm,
            self.seed.customer_vnet_id
        )
    }

    /// The customer's peering PUT, with the auxiliary token of the app in Aiven's tenant.
    async fn put_customer_peering(&self, remote: &str) -> u16 {
        let aiven_sp = self.app_sp_in_aiven_tenant().expect("SP created by Aiven");
        let response = self
            .http
            .put(self.customer_peering_path())
            .bearer_auth(self.token(&self.app_sp))
            .header("x-ms-authorization-auxiliary", format!("Bearer {}", self.token(&aiven_sp)))
            .json(&json!({"properties": {"remoteVirtualNetwork": {"id": remote}, "allowVirtualNetworkAccess": true}}))
            .send()
            .await
            .expect("ARM");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert!(status < 300, "{status} {body}");
        status
    }

    async fn customer_peering_state(&self) -> Option<String> {
        let response = self
            .http
            .get(self.customer_peering_path())
            .bearer_auth(self.token(&self.app_sp))
            .send()
            .await
            .expect("ARM");
        if response.status().as_u16() == 404 {
            return None;
        }
        let body: Value = response.json().await.expect("JSON");
        body["properties"]["peeringState"]
            .as_str()
            .map(str::to_owned)
    }

    fn violations(&self, kind: ViolationKind) -> usize {
        self.emulator.violation_count(kind)
    }

    /// Creates the connection and lets Aiven process it; returns the connection.
    async fn created_and_processed(&self, body: Value) -> Value {
        let reply = self.create(body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        self.advance(self.knobs().aiven_peering_setup);
        self.connection().await
    }

    /// From a fresh emulator to an ACTIVE connection.
    async fn active(&self) -> Value {
        self.grant_aiven(true);
        let pending = self.created_and_processed(self.create_body()).await;
        assert_eq!(pending["state"], "PENDING_PEER", "{pending}");
        // Aiven's grant to the app in its tenant propagates before the auxiliary check counts it.
        self.advance(self.knobs().rbac_propagation);
        let remote = pending["state_info"]["to-network-id"]
            .as_str()
            .expect("to-network-id")
            .to_owned();
        self.put_customer_peering(&remote).await;
        self.advance(self.knobs().lro_duration);
        assert_eq!(
            self.customer_peering_state().await.as_deref(),
            Some("Connected")
        );
        self.advance(self.knobs().aiven_peering_activation);
        let active = self.connection().await;
        assert_eq!(active["state"], "ACTIVE", "{active}");
        active
    }
}

/// Asserts Aiven's error envelope (docs/development/aiven.md, 'Base URL, authentication and
/// errors').
#[track_caller]
fn assert_aiven_error(reply: &Reply, status: u16, text: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(text), "{message}");
    assert_eq!(reply.body["errors"][0]["status"], status, "{}", reply.body);
    assert!(
        reply.body["errors"][0]["message"].is_string(),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn aivenv1_and_bearer_are_accepted_anything_else_is_403() {
    let aiven = Aiven::start().await;
    let path = format!("/v1/project/{}/vpcs", aiven.seed.aiven_project);
    let token = aiven.seed.aiven_token.expose().to_owned();
    for scheme in ["aivenv1", "Bearer"] {
        let reply = aiven
            .call(Method::GET, &path, Some(&format!("{scheme} {token}")), None)
            .await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.body);
    }
    for authorization in [
        None,
        Some("aivenv1 wrong-token".to_owned()),
        Some(format!("Basic {token}")),
    ] {
        let reply = aiven
            .call(Method::GET, &path, authorization.as_deref(), None)
            .await;
        assert_aiven_error(&reply, 403, "Authentication failed");
    }
}

#[tokio::test]
async fn project_vpcs_are_listed_and_fetched_with_their_peering_connections() {
    let aiven = Aiven::start().await;
    let reply = aiven
        .get(&format!("/v1/project/{}/vpcs", aiven.seed.aiven_project))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let vpcs = reply.body["vpcs"].as_array().expect("vpcs");
    assert_eq!(vpcs.len(), 1);
    assert_eq!(vpcs[0]["cloud_name"], aiven.seed.aiven_cloud_name.as_str());
    assert_eq!(
        vpcs[0]["network_cidr"],
        aiven.seed.aiven_project_vpc_cidr.as_str()
    );
    assert_eq!(vpcs[0]["state"], "ACTIVE");
    assert_eq!(
        vpcs[0]["project_vpc_id"],
        aiven.seed.aiven_project_vpc_id.as_str()
    );

    let reply = aiven.get(&aiven.vpc_path()).await;
    assert_eq!(reply.body["peering_connections"], json!([]));

    assert_aiven_error(
        &aiven.get("/v1/project/nope/vpcs").await,
        404,
        "Project does not exist",
    );
    let other = format!(
        "/v1/project/{}/vpcs/{}",
        aiven.seed.aiven_project,
        uuid::Uuid::new_v4()
    );
    assert_aiven_error(&aiven.get(&other).await, 404, "Project VPC does not exist");
}

#[tokio::test]
async fn azure_peerings_need_the_azure_fields_and_no_region() {
    let aiven = Aiven::start().await;
    for field in [
        "peer_resource_group",
        "peer_azure_app_id",
        "peer_azure_tenant_id",
        "peer_vpc",
    ] {
        let mut body = aiven.create_body();
        body.as_object_mut().map(|o| o.remove(field));
        assert_aiven_error(&aiven.create(body).await, 400, field);
    }
    let mut body = aiven.create_body();
    body["peer_region"] = json!("westeurope");
    assert_aiven_error(&aiven.create(body).await, 400, "peer_region");
    assert!(aiven.connections().await.is_empty());
}

#[tokio::test]
async fn a_second_create_for_the_same_vnet_is_409_and_a_violation() {
    let aiven = Aiven::start().await;
    let reply = aiven.create(aiven.create_body()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "APPROVED");
    assert_eq!(reply.body["state_info"], Value::Null);
    assert_eq!(
        reply.body["vpc_peering_connection_type"],
        "azure-vnet-peering"
    );
    assert_eq!(reply.body["peer_region"], Value::Null);

    assert_aiven_error(
        &aiven.create(aiven.create_body()).await,
        409,
        "already exists",
    );
    assert_eq!(aiven.violations(ViolationKind::DuplicateCreate), 1);
    assert_eq!(aiven.connections().await.len(), 1);
}

#[tokio::test]
async fn the_happy_path_goes_pending_peer_then_active() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let reply = aiven.create(aiven.create_body()).await;
    assert_eq!(reply.body["state"], "APPROVED");
    // Nothing happens before Aiven's setup delay.
    assert_eq!(aiven.connection().await["state"], "APPROVED");
    assert!(aiven.app_sp_in_aiven_tenant().is_none());

    aiven.advance(aiven.knobs().aiven_peering_setup);
    let pending = aiven.connection().await;
    assert_eq!(pending["state"], "PENDING_PEER", "{pending}");
    assert_eq!(
        pending["state_info"]["to-tenant-id"],
        aiven.seed.aiven_tenant_id.as_str()
    );
    assert_eq!(
        pending["state_info"]["to-network-id"],
        aiven.seed.aiven_vnet_id.as_str()
    );
    assert!(pending["state_info"]["message"].is_string());

    // Aiven made the app's SP in its tenant, gave it peer rights, and peered its side.
    let sp = aiven
        .app_sp_in_aiven_tenant()
        .expect("SP in Aiven's tenant");
    let aiven_vnet = aiven.seed.aiven_vnet_id.clone();
    let (peerings, granted) = aiven.emulator.with_world(|w| {
        let peerings = w.arm.vnet_by_id(&aiven_vnet).map(|v| v.peerings.len());
        let granted = w.arm.principal_can(
            &sp,
            PEER_ACTION,
            &aiven_vnet,
            aiven.emulator.now(),
            Duration::ZERO,
        );
        (peerings, granted)
    });
    assert_eq!(peerings, Some(1));
    assert!(granted);

    aiven.advance(aiven.knobs().rbac_propagation);
    aiven.put_customer_peering(&aiven.seed.aiven_vnet_id).await;
    // Until the LRO ends the customer's side is not connected and Aiven keeps waiting.
    assert_eq!(aiven.connection().await["state"], "PENDING_PEER");
    aiven.advance(aiven.knobs().lro_duration);
    assert_eq!(
        aiven.customer_peering_state().await.as_deref(),
        Some("Connected")
    );
    assert_eq!(aiven.connection().await["state"], "PENDING_PEER");
    aiven.advance(aiven.knobs().aiven_peering_activation);
    let active = aiven.connection().await;
    assert_eq!(active["state"], "ACTIVE", "{active}");
    assert_eq!(
        active["state_info"]["to-network-id"],
        aiven.seed.aiven_vnet_id.as_str()
    );
}

#[tokio::test]
async fn deleting_removes_aivens_side_and_disconnects_the_customer_peering() {
    let aiven = Aiven::start().await;
    aiven.active().await;
    let path = aiven.delete_path().await;
    let reply = aiven
        .call(Method::DELETE, &path, Some(&aiven.auth()), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "DELETING");
    assert_eq!(aiven.connection().await["state"], "DELETING");

    aiven.advance(aiven.knobs().aiven_peering_deletion);
    assert!(aiven.connections().await.is_empty());
    assert_eq!(
        aiven.customer_peering_state().await.as_deref(),
        Some("Disconnected")
    );
    assert!(aiven.app_sp_in_aiven_tenant().is_none());
    let aiven_vnet = aiven.seed.aiven_vnet_id.clone();
    let aiven_tenant = aiven.seed.aiven_tenant_id.clone();
    let (peerings, assignments) = aiven.emulator.with_world(|w| {
        (
            w.arm.vnet_by_id(&aiven_vnet).map(|v| v.peerings.len()),
            w.arm
                .role_assignments
                .iter()
                .filter(|a| a.tenant_id == aiven_tenant)
                .count(),
        )
    });
    assert_eq!(peerings, Some(0));
    // Only Aiven's own seeded Owner assignment remains in its tenant.
    assert_eq!(assignments, 1);

    let again = aiven
        .call(Method::DELETE, &path, Some(&aiven.auth()), None)
        .await;
    assert_aiven_error(&again, 404, "does not exist");
}

#[tokio::test]
async fn the_delete_form_without_resource_group_works_too() {
    let aiven = Aiven::start().await;
    aiven.create(aiven.create_body()).await;
    let path = format!(
        "{}/peering-connections/peer-accounts/{}/peer-vpcs/{}",
        aiven.vpc_path(),
        aiven.seed.customer_subscription_id.to_lowercase(),
        aiven.seed.customer_vnet_name.to_lowercase()
    );
    let reply = aiven
        .call(Method::DELETE, &path, Some(&aiven.auth()), None)
        .await;
    assert_eq!(reply.body["state"], "DELETING", "{}", reply.body);
    aiven.advance(aiven.knobs().aiven_peering_deletion);
    assert!(aiven.connections().await.is_empty());
}

#[tokio::test]
async fn when_the_customer_peering_goes_aiven_waits_for_it_again() {
    let aiven = Aiven::start().await;
    aiven.active().await;
    let response = aiven
        .http
        .delete(aiven.customer_peering_path())
        .bearer_auth(aiven.token(&aiven.app_sp))
        .send()
        .await
        .expect("ARM");
    assert_eq!(response.status().as_u16(), 202);
    aiven.advance(aiven.knobs().lro_duration);
    assert_eq!(aiven.customer_peering_state().await, None);
    let pending = aiven.connection().await;
    assert_eq!(pending["state"], "PENDING_PEER", "{pending}");

    // The customer can peer again (Aiven's side was reset, not left Disconnected).
    aiven.put_customer_peering(&aiven.seed.aiven_vnet_id).await;
    aiven.advance(aiven.knobs().lro_duration);
    assert_eq!(
        aiven.customer_peering_state().await.as_deref(),
        Some("Connected")
    );
    aiven.advance(aiven.knobs().aiven_peering_activation);
    assert_eq!(aiven.connection().await["state"], "ACTIVE");
}

#[tokio::test]
async fn removing_aivens_side_out_of_band_is_deleted_by_peer() {
    let aiven = Aiven::start().await;
    let id = aiven.active().await["peering_connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let now = aiven.emulator.now();
    assert!(
        aiven
            .emulator
            .with_world(|w| w.remove_aiven_side_peering(&id, now))
    );
    assert_eq!(aiven.connection().await["state"], "DELETED_BY_PEER");
    assert_eq!(
        aiven.customer_peering_state().await.as_deref(),
        Some("Disconnected")
    );
}

// ----- INVALID_SPECIFICATION ------------------------------------------------------------------

async fn assert_invalid(aiven: &Aiven, body: Value, text: &str) {
    let connection = aiven.created_and_processed(body).await;
    assert_eq!(connection["state"], "INVALID_SPECIFICATION", "{connection}");
    let message = connection["state_info"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains(text), "{message}");
    assert!(aiven.app_sp_in_aiven_tenant().is_none());
}

#[tokio::test]
async fn invalid_specification_when_the_vnet_does_not_exist() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let mut body = aiven.create_body();
    body["peer_vpc"] = json!("vnet-nope");
    assert_invalid(&aiven, body, "was not found").await;
}

#[tokio::test]
async fn invalid_specification_when_names_are_not_lower_case() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let mut body = aiven.create_body();
    body["peer_resource_group"] = json!(aiven.seed.customer_resource_group);
    body["peer_vpc"] = json!(aiven.seed.customer_vnet_name);
    assert_invalid(&aiven, body, "lower case").await;
    assert_eq!(aiven.violations(ViolationKind::NotLowerCase), 1);
}

#[tokio::test]
async fn invalid_specification_when_the_app_is_single_tenant_or_unknown() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let app = aiven.app_id.clone();
    aiven.emulator.with_world(|w| {
        for application in w.identity.applications.values_mut() {
            if application.app_id == app {
                application.sign_in_audience = "AzureADMyOrg".to_owned();
            }
        }
    });
    assert_invalid(&aiven, aiven.create_body(), "not multi-tenant").await;

    let other = Aiven::start().await;
    other.grant_aiven(true);
    let mut body = other.create_body();
    body["peer_azure_app_id"] = json!(uuid::Uuid::new_v4().to_string());
    assert_invalid(&other, body, "was not found").await;
}

#[tokio::test]
async fn invalid_specification_without_aivens_service_principal_in_the_customer_tenant() {
    let aiven = Aiven::start().await;
    assert_invalid(&aiven, aiven.create_body(), "has no service principal").await;
}

#[tokio::test]
async fn invalid_specification_without_peer_permission() {
    let aiven = Aiven::start().await;
    let now = aiven.emulator.now();
    let tenant = aiven.seed.customer_tenant_id.clone();
    let aiven_app = aiven.seed.aiven_app_id.clone();
    aiven.emulator.with_world(|w| {
        w.identity
            .ensure_service_principal(&tenant, &aiven_app, now)
    });
    assert_invalid(&aiven, aiven.create_body(), "does not have permission").await;
}

#[tokio::test]
async fn a_role_assignment_counts_for_aiven_only_after_propagation() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(false);
    // Aiven checks after `aiven_peering_setup`, before the fresh assignment has propagated.
    assert!(aiven.knobs().aiven_peering_setup < aiven.knobs().rbac_propagation);
    assert_invalid(&aiven, aiven.create_body(), "does not have permission").await;

    // What a careful client does: delete the failed connection, wait, create it again.
    let path = aiven.delete_path().await;
    aiven
        .call(Method::DELETE, &path, Some(&aiven.auth()), None)
        .await;
    aiven.advance(
        aiven
            .knobs()
            .aiven_peering_deletion
            .max(aiven.knobs().rbac_propagation),
    );
    assert!(aiven.connections().await.is_empty());
    let connection = aiven.created_and_processed(aiven.create_body()).await;
    assert_eq!(connection["state"], "PENDING_PEER", "{connection}");
}

#[tokio::test]
async fn invalid_specification_when_the_tenant_does_not_own_the_subscription() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let mut body = aiven.create_body();
    body["peer_azure_tenant_id"] = json!(aiven.seed.aiven_tenant_id);
    assert_invalid(&aiven, body, "does not belong to Azure tenant").await;
}

#[tokio::test]
async fn invalid_specification_when_address_spaces_overlap() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let seed = aiven.seed.clone();
    let (vpc_id, _) = aiven
        .emulator
        .with_world(|w| {
            w.add_project_vpc(
                &seed,
                &seed.aiven_project,
                "azure-westeurope",
                "10.10.64.0/24",
                "aiven-vnet-overlap",
            )
        })
        .expect("second VPC");
    let reply = aiven
        .call(
            Method::POST,
            &format!(
                "/v1/project/{}/vpcs/{vpc_id}/peering-connections",
                seed.aiven_project
            ),
            Some(&aiven.auth()),
            Some(aiven.create_body()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    aiven.advance(aiven.knobs().aiven_peering_setup);
    let vpc = aiven
        .get(&format!("/v1/project/{}/vpcs/{vpc_id}", seed.aiven_project))
        .await;
    let connection = &vpc.body["peering_connections"][0];
    assert_eq!(connection["state"], "INVALID_SPECIFICATION", "{connection}");
    assert!(
        connection["state_info"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("overlaps")),
        "{connection}"
    );
}

#[tokio::test]
async fn a_connection_deleted_out_of_band_takes_aivens_side_with_it() {
    let aiven = Aiven::start().await;
    let id = aiven.active().await["peering_connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let now = aiven.emulator.now();
    assert!(
        aiven
            .emulator
            .with_world(|w| w.remove_aiven_connection(&id, now))
    );
    assert!(aiven.connections().await.is_empty());
    assert_eq!(
        aiven.customer_peering_state().await.as_deref(),
        Some("Disconnected")
    );
    assert!(aiven.app_sp_in_aiven_tenant().is_none());
}

/// Aiven's CLI and older docs address an organization VPC as `…/vpcs/{id}` and delete a
/// connection under `…/peering-connections/{id}`; the emulator serves these plural forms besides
/// the singular ones, as the same VPC with the same connections.
#[tokio::test]
async fn organization_vpcs_answer_under_the_plural_paths_too() {
    let aiven = Aiven::start().await;
    aiven.grant_aiven(true);
    let organization = aiven.seed.aiven_organization_id.clone();
    let vpc_id = aiven.seed.aiven_organization_vpc_id.clone();
    let singular = format!("/v1/organization/{organization}/vpc/{vpc_id}");
    let plural = format!("/v1/organization/{organization}/vpcs/{vpc_id}");
    let auth = aiven.auth();
    let first_request = aiven.emulator.requests().len();

    // GET: the same VPC under both.
    let by_plural = aiven.get(&plural).await;
    assert_eq!(by_plural.status, 200, "{}", by_plural.body);
    assert_eq!(by_plural.body["organization_vpc_id"], vpc_id.as_str());
    assert_eq!(by_plural.body, aiven.get(&singular).await.body);

    // POST …/vpcs/{id}/peering-connections creates the connection the singular GET lists.
    let created = aiven
        .call(
            Method::POST,
            &format!("{plural}/peering-connections"),
            Some(&auth),
            Some(aiven.create_body()),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["state"], "APPROVED", "{}", created.body);
    let connection_id = created.body["peering_connection_id"]
        .as_str()
        .expect("peering_connection_id")
        .to_owned();
    let listed = aiven.get(&singular).await.body["peering_connections"].clone();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["peering_connection_id"], connection_id.as_str());

    // PUT …/vpcs/{id}/user-peer-network-cidrs adds a range to that connection.
    let body = aiven.create_body();
    let updated = aiven
        .call(
            Method::PUT,
            &format!("{plural}/user-peer-network-cidrs"),
            Some(&auth),
            Some(json!({
                "add": [{
                    "cidr": "10.99.0.0/24",
                    "peer_cloud_account": body["peer_cloud_account"],
                    "peer_resource_group": body["peer_resource_group"],
                    "peer_vpc": body["peer_vpc"],
                }],
            })),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let cidrs =
        &aiven.get(&singular).await.body["peering_connections"][0]["user_peer_network_cidrs"];
    assert_eq!(*cidrs, json!(["10.99.0.0/24"]));

    // DELETE …/vpcs/{id}/peering-connections/{pcid} deletes it.
    let delete_path = format!("{plural}/peering-connections/{connection_id}");
    let deleted = aiven
        .call(Method::DELETE, &delete_path, Some(&auth), None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        deleted.body["peering_connection_id"],
        connection_id.as_str()
    );
    assert_eq!(deleted.body["state"], "DELETING", "{}", deleted.body);

    // An unknown VPC is the same 404 under the plural form.
    let unknown = aiven
        .get(&format!(
            "/v1/organization/{organization}/vpcs/a1000000-0000-4000-8000-0000000000ff"
        ))
        .await;
    assert_aiven_error(&unknown, 404, "Organization VPC does not exist");

    // Each request was routed to the plural route, not answered by a fallback.
    let routes: Vec<(String, String, u16)> = aiven
        .emulator
        .requests_since(first_request)
        .iter()
        .map(|r| (r.method.clone(), r.route.clone(), r.status))
        .collect();
    let item = "/v1/organization/{organization_id}/vpcs/{vpc_id}";
    let singular_item = "/v1/organization/{organization_id}/vpc/{vpc_id}";
    let expected: Vec<(String, String, u16)> = [
        ("GET", item.to_owned(), 200),
        ("GET", singular_item.to_owned(), 200),
        ("POST", format!("{item}/peering-connections"), 200),
        ("GET", singular_item.to_owned(), 200),
        ("PUT", format!("{item}/user-peer-network-cidrs"), 200),
        ("GET", singular_item.to_owned(), 200),
        (
            "DELETE",
            format!("{item}/peering-connections/{{peering_connection_id}}"),
            200,
        ),
        ("GET", item.to_owned(), 404),
    ]
    .into_iter()
    .map(|(method, route, status)| (method.to_owned(), route, status))
    .collect();
    assert_eq!(routes, expected);
    let violations = aiven.emulator.violations();
    assert!(violations.is_empty(), "{violations:?}");
}
