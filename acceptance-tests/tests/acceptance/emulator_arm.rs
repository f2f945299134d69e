//! The emulated Azure Resource Manager over raw HTTP: one test per rule of docs/development/arm.md
//! and of preconditions (a)–(c) in docs/development/cross-api-rules.md, 'Preconditions', each
//! asserting the real status, error code and envelope.

use crate::emulator_http::{Reply, send};
use crate::peering_setup::assign_role;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use vnetpeer_emulator::world::arm::{
    CONTRIBUTOR_ROLE_ID, NETWORK_CONTRIBUTOR_ROLE_ID, VnetPeering,
};
use vnetpeer_emulator::{Emulator, Knobs, Seed, ViolationKind};

const NETWORK: &str = "2024-05-01";
const AUTHORIZATION: &str = "2022-04-01";
const SUBSCRIPTIONS: &str = "2022-12-01";
const ARM_AUDIENCE: &str = "https://management.azure.com/";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

/// Asserts ARM's error envelope (docs/development/arm.md, 'ARM error envelope').
#[track_caller]
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.code(), code, "{}", reply.body);
    assert!(!reply.message().is_empty(), "{}", reply.body);
}

/// An application with a service principal (in one or two tenants).
struct App {
    app_id: String,
    sp_id: String,
}

struct Arm {
    emulator: Emulator,
    http: reqwest::Client,
    seed: Seed,
}

impl Arm {
    async fn start() -> Arm {
        let emulator = Emulator::start(Knobs::test()).await;
        let seed = emulator.seed().clone();
        Arm {
            emulator,
            http: reqwest::Client::new(),
            seed,
        }
    }

    /// An ARM token for service principal `sp_id`, minted directly.
    fn token(&self, sp_id: &str) -> String {
        self.token_with(sp_id, ARM_AUDIENCE, Duration::from_secs(3600))
    }

    fn token_with(&self, sp_id: &str, audience: &str, lifetime: Duration) -> String {
        let now = self.emulator.now();
        let utc = self.emulator.clock().utc_now();
        self.emulator
            .with_world(|w| {
                w.identity
                    .issue_token(sp_id, audience, "1", lifetime, now, utc)
            })
            .expect("token for a known service principal")
    }

    fn operator(&self) -> String {
        self.token(&self.seed.operator_sp_object_id)
    }

    /// A single-tenant application in `tenant` with no role anywhere.
    fn app(&self, tenant: &str) -> App {
        let now = self.emulator.now();
        let (app_id, sp_id, _) = self
            .emulator
            .with_world(|w| w.identity.add_app_with_secret(tenant, "test-app", &[], now));
        App { app_id, sp_id }
    }

    /// A multi-tenant application of the customer tenant, with a service principal in the Aiven
    /// tenant too (as Aiven creates it). Returns the app and its SP id in the Aiven tenant.
    fn cross_tenant_app(&self) -> (App, String) {
        let app = self.app(&self.seed.customer_tenant_id);
        let now = self.emulator.now();
        let aiven_tenant = self.seed.aiven_tenant_id.clone();
        let remote_sp = self.emulator.with_world(|w| {
            for application in w.identity.applications.values_mut() {
                if application.app_id == app.app_id {
                    application.sign_in_audience = "AzureADMultipleOrgs".to_owned();
                }
            }
            w.identity
                .ensure_service_principal(&aiven_tenant, &app.app_id, now)
        });
        (app, remote_sp)
    }

    /// Gives `principal` a role at `scope` directly (as if assigned long ago when `aged`).
    fn assign(&self, scope: &str, role: &str, principal: &str, aged: bool) {
        assign_role(&self.emulator, scope, role, principal, aged);
    }

    /// A custom role of the customer tenant holding exactly `peer/action`, assigned to
    /// `principal` on `scope`.
    fn peer_role_for(&self, scope: &str, principal: &str, aged: bool) {
        let tenant = if scope.contains(&self.seed.aiven_subscription_id) {
            self.seed.aiven_tenant_id.clone()
        } else {
            self.seed.customer_tenant_id.clone()
        };
        let guid = uuid::Uuid::new_v4().to_string();
        self.emulator.with_world(|w| {
            w.arm
                .role_definitions
                .push(vnetpeer_emulator::world::arm::RoleDefinition {
                    name: guid.clone(),
                    role_name: format!("peer-{guid}"),
                    description: String::new(),
                    role_type: "CustomRole".to_owned(),
                    tenant_id: Some(tenant),
                    permissions: vec![vnetpeer_emulator::world::arm::Permission {
                        actions: vec![PEER_ACTION.to_owned()],
                        ..Default::default()
                    }],
                    assignable_scopes: vec![scope.to_owned()],
                    created_on: String::new(),
                    updated_on: String::new(),
                    created_by: None,
                    updated_by: None,
                });
        });
        self.assign(scope, &guid, principal, aged);
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.emulator.endpoints().arm)
        };
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(token), Some(body), &[])
            .await
    }

    async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    fn customer_vnet(&self) -> String {
        self.seed.customer_vnet_id.clone()
    }

    fn peering_path(&self, name: &str) -> String {
        format!(
            "{}/virtualNetworkPeerings/{name}?api-version={NETWORK}",
            self.customer_vnet()
        )
    }

    fn peering_body(&self) -> Value {
        json!({"properties": {
            "remoteVirtualNetwork": {"id": self.seed.aiven_vnet_id},
            "allowVirtualNetworkAccess": true,
            "allowForwardedTraffic": false,
            "allowGatewayTransit": false,
            "useRemoteGateways": false,
        }})
    }

    fn advance(&self, by: Duration) {
        self.emulator.clock().advance(by);
    }

    fn violations(&self, kind: ViolationKind) -> usize {
        self.emulator.violation_count(kind)
    }

    /// The app, ready to peer the customer VNet with Aiven's: Network Contributor on the
    /// customer VNet and peer/action on Aiven's VNet in the Aiven tenant, both propagated.
    fn ready_peering_app(&self) -> (App, String) {
        let (app, remote_sp) = self.cross_tenant_app();
        self.assign(
            &self.customer_vnet(),
            NETWORK_CONTRIBUTOR_ROLE_ID,
            &app.sp_id,
            true,
        );
        self.peer_role_for(&self.seed.aiven_vnet_id, &remote_sp, true);
        (app, remote_sp)
    }

    fn aux_header(&self, token: &str) -> Vec<(&'static str, String)> {
        vec![("x-ms-authorization-auxiliary", format!("Bearer {token}"))]
    }

    /// Aiven's own peering (Aiven VNet → customer VNet), as Aiven creates it.
    fn aiven_reverse_peering(&self) {
        let now = self.emulator.now();
        let customer = self.customer_vnet();
        let aiven = self.seed.aiven_vnet_id.clone();
        self.emulator.with_world(|w| {
            let vnet = w.arm.vnet_by_id_mut(&aiven).expect("Aiven VNet");
            vnet.peerings.push(VnetPeering {
                name: "aiven-side".to_owned(),
                remote_vnet_id: customer,
                allow_virtual_network_access: true,
                allow_forwarded_traffic: false,
                allow_gateway_transit: false,
                use_remote_gateways: false,
                resource_guid: "r".to_owned(),
                remote_address_prefixes: vec!["10.10.0.0/16".to_owned()],
                version: 1,
                provisioned_at: now,
                updating_until: None,
                deleting_since: None,
                disconnected_at: None,
            });
        });
    }
}

// ----- api-version, authentication, tenant -----------------------------------------------------

#[tokio::test]
async fn a_missing_api_version_is_refused_and_recorded() {
    let arm = Arm::start().await;
    let reply = arm.get(&arm.customer_vnet(), &arm.operator()).await;
    assert_error(&reply, 400, "MissingApiVersionParameter");
    assert!(reply.message().contains("api-version"));
    assert_eq!(arm.violations(ViolationKind::MissingApiVersion), 1);
}

#[tokio::test]
async fn an_api_version_of_another_namespace_is_refused_naming_the_supported_ones() {
    let arm = Arm::start().await;
    let path = format!("{}?api-version={AUTHORIZATION}", arm.customer_vnet());
    let reply = arm.get(&path, &arm.operator()).await;
    assert_error(&reply, 400, "InvalidApiVersionParameter");
    assert!(
        reply.message().contains("'2022-04-01' is invalid"),
        "{}",
        reply.message()
    );
    assert!(
        reply.message().contains("2024-05-01"),
        "{}",
        reply.message()
    );
    assert_eq!(arm.violations(ViolationKind::UnsupportedApiVersion), 1);

    let definitions = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?api-version={NETWORK}",
        arm.seed.customer_subscription_id
    );
    let reply = arm.get(&definitions, &arm.operator()).await;
    assert_error(&reply, 400, "InvalidApiVersionParameter");
    assert!(
        reply.message().contains("2022-04-01"),
        "{}",
        reply.message()
    );

    let newer = format!("{}?api-version=2025-05-01", arm.customer_vnet());
    assert_eq!(arm.get(&newer, &arm.operator()).await.status, 200);
}

#[tokio::test]
async fn tokens_that_are_missing_forged_or_for_graph_get_401() {
    let arm = Arm::start().await;
    let path = format!("{}?api-version={NETWORK}", arm.customer_vnet());
    let reply = arm.send(Method::GET, &path, None, None, &[]).await;
    assert_error(&reply, 401, "AuthenticationFailed");
    assert!(reply.header("www-authenticate").is_some());

    let reply = arm.get(&path, "eyJhbGciOiJub25lIn0.e30.forged").await;
    assert_error(&reply, 401, "InvalidAuthenticationToken");

    let graph = arm.token_with(
        &arm.seed.operator_sp_object_id,
        "https://graph.microsoft.com",
        Duration::from_secs(3600),
    );
    let reply = arm.get(&path, &graph).await;
    assert_error(&reply, 401, "InvalidAuthenticationTokenAudience");
    assert_eq!(arm.violations(ViolationKind::WrongAudience), 1);

    let short = arm.token_with(
        &arm.seed.operator_sp_object_id,
        ARM_AUDIENCE,
        Duration::from_millis(50),
    );
    arm.advance(Duration::from_millis(100));
    let reply = arm.get(&path, &short).await;
    assert_error(&reply, 401, "ExpiredAuthenticationToken");
}

#[tokio::test]
async fn a_token_of_another_tenant_gets_invalid_authentication_token_tenant() {
    let arm = Arm::start().await;
    // Aiven's own service principal: a valid ARM token, but of the Aiven tenant.
    let foreign = arm.token(&arm.seed.aiven_sp_object_id);
    let path = format!(
        "/subscriptions/{}?api-version={SUBSCRIPTIONS}",
        arm.seed.customer_subscription_id
    );
    let reply = arm.get(&path, &foreign).await;
    assert_error(&reply, 401, "InvalidAuthenticationTokenTenant");
    let message = reply.message();
    assert!(message.contains(&format!(
        "https://sts.windows.net/{}/",
        arm.seed.aiven_tenant_id
    )));
    assert!(message.contains(&format!(
        "https://login.windows.net/{}",
        arm.seed.customer_tenant_id
    )));
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|h| h.contains(&arm.seed.customer_tenant_id))
    );
    assert_eq!(arm.violations(ViolationKind::WrongTenant), 1);
}

#[tokio::test]
async fn the_subscription_names_its_tenant() {
    let arm = Arm::start().await;
    let path = format!(
        "/subscriptions/{}?api-version={SUBSCRIPTIONS}",
        arm.seed.customer_subscription_id
    );
    let reply = arm.get(&path, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["tenantId"], arm.seed.customer_tenant_id.as_str());
    assert_eq!(reply.body["state"], "Enabled");

    let missing = format!(
        "/subscriptions/{}?api-version={SUBSCRIPTIONS}",
        uuid::Uuid::new_v4()
    );
    assert_error(
        &arm.get(&missing, &arm.operator()).await,
        404,
        "SubscriptionNotFound",
    );

    // A principal without any role in it does not see it.
    let stranger = arm.app(&arm.seed.customer_tenant_id);
    let reply = arm.get(&path, &arm.token(&stranger.sp_id)).await;
    assert_error(&reply, 403, "AuthorizationFailed");
}

// ----- virtual networks ---------------------------------------------------------------------

#[tokio::test]
async fn vnet_names_and_path_segments_are_case_insensitive() {
    let arm = Arm::start().await;
    let path = format!(
        "/subscriptions/{}/resourcegroups/{}/providers/microsoft.network/virtualnetworks/{}?api-version={NETWORK}",
        arm.seed.customer_subscription_id,
        arm.seed.customer_resource_group.to_lowercase(),
        arm.seed.customer_vnet_name.to_uppercase()
    );
    let reply = arm.get(&path, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["name"], arm.seed.customer_vnet_name.as_str());
    assert_eq!(reply.body["id"], arm.customer_vnet().as_str());
    assert_eq!(
        reply.body["properties"]["addressSpace"]["addressPrefixes"],
        json!([arm.seed.customer_vnet_cidr])
    );
}

#[tokio::test]
async fn missing_vnets_and_resource_groups_are_404_with_their_own_codes() {
    let arm = Arm::start().await;
    let sub = &arm.seed.customer_subscription_id;
    let rg = &arm.seed.customer_resource_group;
    let no_vnet = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/nope?api-version={NETWORK}"
    );
    let reply = arm.get(&no_vnet, &arm.operator()).await;
    assert_error(&reply, 404, "ResourceNotFound");
    assert!(
        reply
            .message()
            .contains("Microsoft.Network/virtualNetworks/nope")
    );

    let no_rg = format!(
        "/subscriptions/{sub}/resourceGroups/rg-nope/providers/Microsoft.Network/virtualNetworks/x?api-version={NETWORK}"
    );
    assert_error(
        &arm.get(&no_rg, &arm.operator()).await,
        404,
        "ResourceGroupNotFound",
    );
}

#[tokio::test]
async fn reads_need_read_permission_and_the_message_names_client_object_action_and_scope() {
    let arm = Arm::start().await;
    let stranger = arm.app(&arm.seed.customer_tenant_id);
    let path = format!("{}?api-version={NETWORK}", arm.customer_vnet());
    let reply = arm.get(&path, &arm.token(&stranger.sp_id)).await;
    assert_error(&reply, 403, "AuthorizationFailed");
    let message = reply.message();
    assert!(
        message.contains(&format!("The client '{}'", stranger.app_id)),
        "{message}"
    );
    assert!(
        message.contains(&format!("object id '{}'", stranger.sp_id)),
        "{message}"
    );
    assert!(
        message.contains("'Microsoft.Network/virtualNetworks/read'"),
        "{message}"
    );
    assert!(message.contains(&arm.customer_vnet()), "{message}");

    // Reads count a fresh assignment at once (only writes wait for propagation).
    arm.assign(
        &arm.customer_vnet(),
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &stranger.sp_id,
        false,
    );
    assert_eq!(
        arm.get(&path, &arm.token(&stranger.sp_id)).await.status,
        200
    );
}

// ----- RBAC on writes -------------------------------------------------------------------------

#[tokio::test]
async fn a_fresh_assignment_authorizes_writes_only_after_propagation() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.cross_tenant_app();
    arm.peer_role_for(&arm.seed.aiven_vnet_id, &remote_sp, true);
    arm.assign(
        &arm.customer_vnet(),
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &app.sp_id,
        false,
    );
    let aux = arm.token(&remote_sp);
    let primary = arm.token(&app.sp_id);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&primary),
            Some(arm.peering_body()),
            &arm.aux_header(&aux),
        )
        .await;
    assert_error(&reply, 403, "AuthorizationFailed");
    assert!(reply.message().contains("virtualNetworkPeerings/write"));

    arm.advance(arm.emulator.knobs().rbac_propagation);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&primary),
            Some(arm.peering_body()),
            &arm.aux_header(&aux),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn contributor_cannot_write_role_assignments_but_owner_can() {
    let arm = Arm::start().await;
    let contributor = arm.app(&arm.seed.customer_tenant_id);
    let target = arm.app(&arm.seed.customer_tenant_id);
    let sub_scope = format!("/subscriptions/{}", arm.seed.customer_subscription_id);
    arm.assign(&sub_scope, CONTRIBUTOR_ROLE_ID, &contributor.sp_id, true);
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHORIZATION}",
        arm.customer_vnet(),
        uuid::Uuid::new_v4()
    );
    let body = json!({"properties": {
        "roleDefinitionId": format!("{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE_ID}"),
        "principalId": target.sp_id,
        "principalType": "ServicePrincipal",
    }});
    let reply = arm
        .put(&path, &arm.token(&contributor.sp_id), body.clone())
        .await;
    assert_error(&reply, 403, "AuthorizationFailed");
    assert!(
        reply
            .message()
            .contains("Microsoft.Authorization/roleAssignments/write")
    );
    assert_eq!(arm.put(&path, &arm.operator(), body).await.status, 201);
}

#[tokio::test]
async fn not_actions_of_a_custom_role_subtract_from_its_wildcards() {
    let arm = Arm::start().await;
    let sub_scope = format!("/subscriptions/{}", arm.seed.customer_subscription_id);
    let guid = uuid::Uuid::new_v4().to_string();
    let definition = format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}?api-version={AUTHORIZATION}"
    );
    let reply = arm
        .put(
            &definition,
            &arm.operator(),
            json!({"properties": {
                "roleName": "network but no peering",
                "type": "CustomRole",
                "permissions": [{"actions": ["microsoft.network/*"], "notActions": ["Microsoft.Network/virtualNetworks/virtualNetworkPeerings/*"]}],
                "assignableScopes": [sub_scope],
            }}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (app, remote_sp) = arm.cross_tenant_app();
    arm.peer_role_for(&arm.seed.aiven_vnet_id, &remote_sp, true);
    arm.assign(&arm.customer_vnet(), &guid, &app.sp_id, true);
    let primary = arm.token(&app.sp_id);
    let vnet = format!("{}?api-version={NETWORK}", arm.customer_vnet());
    assert_eq!(arm.get(&vnet, &primary).await.status, 200);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("p"),
            Some(&primary),
            Some(arm.peering_body()),
            &arm.aux_header(&arm.token(&remote_sp)),
        )
        .await;
    assert_error(&reply, 403, "AuthorizationFailed");
}

// ----- role definitions -----------------------------------------------------------------------

fn custom_role(sub_scope: &str, name: &str) -> Value {
    json!({"properties": {
        "roleName": name,
        "description": "peer only",
        "type": "CustomRole",
        "permissions": [{"actions": [PEER_ACTION], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": [sub_scope],
    }})
}

#[tokio::test]
async fn role_names_are_unique_per_tenant() {
    let arm = Arm::start().await;
    let sub_scope = format!("/subscriptions/{}", arm.seed.customer_subscription_id);
    let path = |guid: &str| {
        format!(
            "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}?api-version={AUTHORIZATION}"
        )
    };
    let first = uuid::Uuid::new_v4().to_string();
    let reply = arm
        .put(
            &path(&first),
            &arm.operator(),
            custom_role(&sub_scope, "Aiven peering"),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["name"], first.as_str());
    assert_eq!(reply.body["properties"]["type"], "CustomRole");

    // The same GUID again is an update (201 per the spec).
    let reply = arm
        .put(
            &path(&first),
            &arm.operator(),
            custom_role(&sub_scope, "Aiven peering"),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    let second = uuid::Uuid::new_v4().to_string();
    let reply = arm
        .put(
            &path(&second),
            &arm.operator(),
            custom_role(&sub_scope, "aiven PEERING"),
        )
        .await;
    assert_error(&reply, 409, "RoleDefinitionWithSameNameExists");
    let reply = arm
        .put(
            &path(&second),
            &arm.operator(),
            custom_role(&sub_scope, "Network Contributor"),
        )
        .await;
    assert_error(&reply, 409, "RoleDefinitionWithSameNameExists");
}

#[tokio::test]
async fn assignable_scopes_are_validated() {
    let arm = Arm::start().await;
    let sub_scope = format!("/subscriptions/{}", arm.seed.customer_subscription_id);
    let path = format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{}?api-version={AUTHORIZATION}",
        uuid::Uuid::new_v4()
    );
    for scopes in [
        json!([]),
        json!(["/"]),
        json!([format!("{sub_scope}/*")]),
        json!([format!("/subscriptions/{}", arm.seed.aiven_subscription_id)]),
    ] {
        let mut body = custom_role(&sub_scope, "bad scopes");
        body["properties"]["assignableScopes"] = scopes.clone();
        let reply = arm.put(&path, &arm.operator(), body).await;
        assert_error(&reply, 400, "InvalidRoleDefinition");
    }
}

#[tokio::test]
async fn role_definitions_resolve_by_scope_path_full_id_and_name_filter() {
    let arm = Arm::start().await;
    let sub_scope = format!("/subscriptions/{}", arm.seed.customer_subscription_id);
    let by_scope = format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE_ID}?api-version={AUTHORIZATION}"
    );
    let reply = arm.get(&by_scope, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["properties"]["roleName"], "Network Contributor");
    assert_eq!(reply.body["properties"]["type"], "BuiltInRole");
    assert_eq!(
        reply.body["id"],
        format!(
            "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE_ID}"
        )
    );
    let tenant_level = format!(
        "/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE_ID}?api-version={AUTHORIZATION}"
    );
    assert_eq!(arm.get(&tenant_level, &arm.operator()).await.status, 200);

    let list = format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions?api-version={AUTHORIZATION}&$filter=roleName+eq+'Network%20Contributor'"
    );
    let reply = arm.get(&list, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let found = reply.body["value"].as_array().expect("value");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], NETWORK_CONTRIBUTOR_ROLE_ID);

    let missing = format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{}?api-version={AUTHORIZATION}",
        uuid::Uuid::new_v4()
    );
    assert_error(
        &arm.get(&missing, &arm.operator()).await,
        404,
        "RoleDefinitionDoesNotExist",
    );
}

#[tokio::test]
async fn a_role_definition_cannot_be_deleted_while_assigned() {
    let arm = Arm::start().await;
    let sub_scope = format!("/subscriptions/{}", arm.seed.customer_subscription_id);
    let guid = uuid::Uuid::new_v4().to_string();
    let definition = format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}?api-version={AUTHORIZATION}"
    );
    assert_eq!(
        arm.put(
            &definition,
            &arm.operator(),
            custom_role(&sub_scope, "peer")
        )
        .await
        .status,
        201
    );
    let assignment = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHORIZATION}",
        arm.customer_vnet(),
        uuid::Uuid::new_v4()
    );
    let reply = arm
        .put(
            &assignment,
            &arm.operator(),
            json!({"properties": {
                "roleDefinitionId": format!("{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
                "principalId": arm.seed.aiven_sp_object_id,
                "principalType": "ServicePrincipal",
            }}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    assert_error(
        &arm.delete(&definition, &arm.operator()).await,
        409,
        "RoleDefinitionHasAssignments",
    );
    let reply = arm.delete(&assignment, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(arm.delete(&assignment, &arm.operator()).await.status, 204);
    let reply = arm.delete(&definition, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["properties"]["roleName"], "peer");
    assert_eq!(arm.delete(&definition, &arm.operator()).await.status, 204);
}

// ----- role assignments -----------------------------------------------------------------------

fn assignment_body(role: &str, principal: &str, principal_type: Option<&str>) -> Value {
    let mut properties = json!({
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": principal,
    });
    if let Some(kind) = principal_type {
        properties["principalType"] = json!(kind);
    }
    json!({"properties": properties})
}

#[tokio::test]
async fn principal_not_found_inside_the_replication_window_unless_principal_type_is_given() {
    let arm = Arm::start().await;
    let fresh = arm.app(&arm.seed.customer_tenant_id);
    let later = arm.emulator.now() + Duration::from_secs(3600);
    arm.emulator.with_world(|w| {
        if let Some(sp) = w.identity.service_principals.get_mut(&fresh.sp_id) {
            sp.visible_to_dependents_at = later;
        }
    });
    let path = |name: &str| {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHORIZATION}",
            arm.customer_vnet()
        )
    };
    let reply = arm
        .put(
            &path(&uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(NETWORK_CONTRIBUTOR_ROLE_ID, &fresh.sp_id, None),
        )
        .await;
    assert_error(&reply, 400, "PrincipalNotFound");
    assert!(
        reply.message().contains(&arm.seed.customer_tenant_id),
        "{}",
        reply.message()
    );
    assert!(
        reply.message().contains("principalType"),
        "{}",
        reply.message()
    );

    let reply = arm
        .put(
            &path(&uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(
                NETWORK_CONTRIBUTOR_ROLE_ID,
                &fresh.sp_id,
                Some("ServicePrincipal"),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.body["properties"]["principalType"],
        "ServicePrincipal"
    );

    // A principal that does not exist at all: refused without principalType, accepted (and
    // dangling) with it, as the real service does.
    let ghost = uuid::Uuid::new_v4().to_string();
    let reply = arm
        .put(
            &path(&uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(NETWORK_CONTRIBUTOR_ROLE_ID, &ghost, None),
        )
        .await;
    assert_error(&reply, 400, "PrincipalNotFound");
    let reply = arm
        .put(
            &path(&uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(
                NETWORK_CONTRIBUTOR_ROLE_ID,
                &ghost,
                Some("ServicePrincipal"),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn assignment_names_and_triples_are_unique() {
    let arm = Arm::start().await;
    let target = arm.app(&arm.seed.customer_tenant_id);
    let other = arm.app(&arm.seed.customer_tenant_id);
    let name = uuid::Uuid::new_v4().to_string();
    let path = |name: &str| {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHORIZATION}",
            arm.customer_vnet()
        )
    };
    let body = assignment_body(
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &target.sp_id,
        Some("ServicePrincipal"),
    );
    let reply = arm.put(&path(&name), &arm.operator(), body.clone()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    // The tenant-level role definition id form (docs/development/arm.md, 'Role assignments').
    assert_eq!(
        reply.body["properties"]["roleDefinitionId"],
        format!("/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE_ID}")
    );
    assert_eq!(
        reply.body["properties"]["scope"],
        arm.customer_vnet().as_str()
    );

    // Identical repeat: 200.
    let reply = arm.put(&path(&name), &arm.operator(), body.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Same triple, other name: 409.
    let reply = arm
        .put(
            &path(&uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            body,
        )
        .await;
    assert_error(&reply, 409, "RoleAssignmentExists");
    assert_eq!(reply.message(), "The role assignment already exists.");

    // Same name, other principal: 400.
    let reply = arm
        .put(
            &path(&name),
            &arm.operator(),
            assignment_body(
                NETWORK_CONTRIBUTOR_ROLE_ID,
                &other.sp_id,
                Some("ServicePrincipal"),
            ),
        )
        .await;
    assert_error(&reply, 400, "RoleAssignmentUpdateNotPermitted");

    let reply = arm
        .put(
            &path("not-a-guid"),
            &arm.operator(),
            assignment_body(NETWORK_CONTRIBUTOR_ROLE_ID, &other.sp_id, None),
        )
        .await;
    assert_error(&reply, 400, "InvalidRoleAssignmentId");
    let reply = arm
        .put(
            &path(&uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(&uuid::Uuid::new_v4().to_string(), &other.sp_id, None),
        )
        .await;
    assert_error(&reply, 400, "RoleDefinitionDoesNotExist");
}

#[tokio::test]
async fn assignments_list_at_scope_and_by_principal() {
    let arm = Arm::start().await;
    let target = arm.app(&arm.seed.customer_tenant_id);
    let assignment = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHORIZATION}",
        arm.customer_vnet(),
        uuid::Uuid::new_v4()
    );
    let body = assignment_body(
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &target.sp_id,
        Some("ServicePrincipal"),
    );
    assert_eq!(
        arm.put(&assignment, &arm.operator(), body).await.status,
        201
    );

    let at_vnet = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION}&$filter=atScope()",
        arm.customer_vnet()
    );
    let reply = arm.get(&at_vnet, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // The VNet's own assignment and the operator's Owner inherited from the subscription.
    assert_eq!(
        reply.body["value"].as_array().map(Vec::len),
        Some(2),
        "{}",
        reply.body
    );

    let by_principal = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION}&$filter=principalId+eq+'{}'",
        arm.seed.customer_subscription_id, target.sp_id
    );
    let reply = arm.get(&by_principal, &arm.operator()).await;
    let value = reply.body["value"].as_array().expect("value");
    assert_eq!(value.len(), 1, "{}", reply.body);
    assert_eq!(value[0]["properties"]["principalId"], target.sp_id.as_str());

    let at_sub = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION}&$filter=atScope()",
        arm.seed.customer_subscription_id
    );
    let reply = arm.get(&at_sub, &arm.operator()).await;
    assert_eq!(
        reply.body["value"].as_array().map(Vec::len),
        Some(1),
        "{}",
        reply.body
    );
}

// ----- cross-tenant peering -------------------------------------------------------------------

#[tokio::test]
async fn without_an_auxiliary_token_the_peering_is_linked_authorization_failed() {
    let arm = Arm::start().await;
    let (app, _) = arm.ready_peering_app();
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&arm.token(&app.sp_id)),
            Some(arm.peering_body()),
            &[],
        )
        .await;
    assert_error(&reply, 403, "LinkedAuthorizationFailed");
    let message = reply.message();
    assert!(
        message.contains(&format!("current tenant '{}'", arm.seed.customer_tenant_id)),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "linked subscription '{}'",
            arm.seed.aiven_subscription_id
        )),
        "{message}"
    );
}

#[tokio::test]
async fn an_auxiliary_token_of_another_application_does_not_count() {
    let arm = Arm::start().await;
    let (app, _) = arm.ready_peering_app();
    // Aiven's own service principal in its tenant: right tenant, wrong application.
    let other_app_aux = arm.token(&arm.seed.aiven_sp_object_id);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&arm.token(&app.sp_id)),
            Some(arm.peering_body()),
            &arm.aux_header(&other_app_aux),
        )
        .await;
    assert_error(&reply, 403, "LinkedAuthorizationFailed");
}

#[tokio::test]
async fn the_auxiliary_principal_needs_peer_action_on_the_remote_vnet_after_propagation() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.cross_tenant_app();
    arm.assign(
        &arm.customer_vnet(),
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &app.sp_id,
        true,
    );
    let primary = arm.token(&app.sp_id);
    let aux = arm.token(&remote_sp);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&primary),
            Some(arm.peering_body()),
            &arm.aux_header(&aux),
        )
        .await;
    assert_error(&reply, 403, "LinkedAuthorizationFailed");
    assert!(reply.message().contains(PEER_ACTION), "{}", reply.message());
    assert!(
        reply.message().contains(&arm.seed.aiven_vnet_id),
        "{}",
        reply.message()
    );

    arm.peer_role_for(&arm.seed.aiven_vnet_id, &remote_sp, false);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&primary),
            Some(arm.peering_body()),
            &arm.aux_header(&aux),
        )
        .await;
    assert_error(&reply, 403, "LinkedAuthorizationFailed");

    arm.advance(arm.emulator.knobs().rbac_propagation);
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&primary),
            Some(arm.peering_body()),
            &arm.aux_header(&aux),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn an_expired_or_forged_auxiliary_token_is_401() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    let short = arm.token_with(&remote_sp, ARM_AUDIENCE, Duration::from_millis(50));
    arm.advance(Duration::from_millis(100));
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&arm.token(&app.sp_id)),
            Some(arm.peering_body()),
            &arm.aux_header(&short),
        )
        .await;
    assert_error(&reply, 401, "ExpiredAuthenticationToken");
    assert!(reply.message().contains(&app.app_id), "{}", reply.message());
    assert!(
        reply.message().contains(&arm.seed.aiven_tenant_id),
        "{}",
        reply.message()
    );

    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&arm.token(&app.sp_id)),
            Some(arm.peering_body()),
            &arm.aux_header("forged"),
        )
        .await;
    assert_error(&reply, 401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn the_peering_is_a_long_running_operation_that_connects_with_the_reverse_side() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    let primary = arm.token(&app.sp_id);
    let aux = arm.token(&remote_sp);
    // Two auxiliary tokens (the second one irrelevant) in the `, ` form of the Azure SDKs.
    let header = vec![(
        "x-ms-authorization-auxiliary",
        format!(
            "Bearer {aux}, Bearer {}",
            arm.token(&arm.seed.aiven_sp_object_id)
        ),
    )];
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("to-aiven"),
            Some(&primary),
            Some(arm.peering_body()),
            &header,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["properties"]["provisioningState"], "Updating");
    assert_eq!(reply.body["properties"]["peeringState"], "Initiated");
    let operation = reply
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation")
        .to_owned();
    assert!(
        operation.starts_with(&arm.emulator.endpoints().arm),
        "{operation}"
    );
    assert!(
        operation.contains("/providers/Microsoft.Network/locations/"),
        "{operation}"
    );
    let retry_after = reply.header("retry-after").expect("Retry-After").to_owned();
    let wait = Duration::from_secs_f64(retry_after.parse().expect("seconds"));

    // Polling before Retry-After is recorded.
    let early = arm.get(&operation, &primary).await;
    assert_eq!(early.status, 200);
    assert_eq!(early.body["status"], "InProgress");
    assert_eq!(arm.violations(ViolationKind::EarlyPoll), 1);

    arm.advance(arm.emulator.knobs().lro_duration.max(wait));
    let done = arm.get(&operation, &primary).await;
    assert_eq!(done.body["status"], "Succeeded", "{}", done.body);
    assert_eq!(arm.violations(ViolationKind::EarlyPoll), 1);

    let peering = arm.get(&arm.peering_path("to-aiven"), &primary).await;
    assert_eq!(peering.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(peering.body["properties"]["peeringState"], "Initiated");
    assert_eq!(
        peering.body["properties"]["remoteAddressSpace"]["addressPrefixes"],
        json!([arm.seed.aiven_vnet_cidr])
    );

    arm.aiven_reverse_peering();
    let peering = arm.get(&arm.peering_path("to-aiven"), &primary).await;
    assert_eq!(peering.body["properties"]["peeringState"], "Connected");
    assert_eq!(
        peering.body["properties"]["peeringSyncLevel"],
        "FullyInSync"
    );
}

#[tokio::test]
async fn a_disconnected_peering_cannot_be_updated() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    arm.aiven_reverse_peering();
    let primary = arm.token(&app.sp_id);
    let aux = arm.aux_header(&arm.token(&remote_sp));
    let path = arm.peering_path("to-aiven");
    assert_eq!(
        arm.send(
            Method::PUT,
            &path,
            Some(&primary),
            Some(arm.peering_body()),
            &aux
        )
        .await
        .status,
        201
    );
    arm.advance(arm.emulator.knobs().lro_duration);
    assert_eq!(
        arm.get(&path, &primary).await.body["properties"]["peeringState"],
        "Connected"
    );

    // The remote side disappears.
    let now = arm.emulator.now();
    let aiven_vnet = arm.seed.aiven_vnet_id.clone();
    arm.emulator
        .with_world(|w| w.arm.remove_peering(&aiven_vnet, "aiven-side", now));
    assert_eq!(
        arm.get(&path, &primary).await.body["properties"]["peeringState"],
        "Disconnected"
    );

    let reply = arm
        .send(
            Method::PUT,
            &path,
            Some(&primary),
            Some(arm.peering_body()),
            &aux,
        )
        .await;
    assert_error(&reply, 400, "RemotePeeringIsDisconnected");
}

#[tokio::test]
async fn deleting_a_peering_is_a_long_running_operation_with_location() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    let primary = arm.token(&app.sp_id);
    let path = arm.peering_path("to-aiven");
    let aux = arm.aux_header(&arm.token(&remote_sp));
    assert_eq!(
        arm.send(
            Method::PUT,
            &path,
            Some(&primary),
            Some(arm.peering_body()),
            &aux
        )
        .await
        .status,
        201
    );
    arm.advance(arm.emulator.knobs().lro_duration);

    let reply = arm.delete(&path, &primary).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let location = reply.header("location").expect("Location").to_owned();
    assert!(reply.header("azure-asyncoperation").is_some());
    assert!(reply.header("retry-after").is_some());
    assert_eq!(
        arm.get(&path, &primary).await.body["properties"]["provisioningState"],
        "Deleting"
    );

    arm.advance(arm.emulator.knobs().lro_retry_after.unwrap_or_default());
    let running = arm.get(&location, &primary).await;
    assert_eq!(running.status, 202);
    arm.advance(arm.emulator.knobs().lro_duration);
    assert_eq!(arm.get(&location, &primary).await.status, 204);
    assert_error(&arm.get(&path, &primary).await, 404, "NotFound");
    assert_eq!(arm.delete(&path, &primary).await.status, 204);
    assert_eq!(arm.violations(ViolationKind::EarlyPoll), 0);
}

#[tokio::test]
async fn a_second_operation_on_the_same_vnet_is_429_until_the_first_ends() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    let second_vnet = arm.emulator.with_world(|w| {
        let seed = w.arm.subscriptions[1].subscription_id.clone();
        w.arm.add_vnet(
            &seed,
            "aiven-rg-acme-prod",
            "aiven-vnet-2",
            "switzerlandnorth",
            &["10.30.0.0/24"],
        )
    });
    let second_vnet = second_vnet.expect("second VNet");
    arm.peer_role_for(&second_vnet, &remote_sp, true);
    let primary = arm.token(&app.sp_id);
    let aux = arm.aux_header(&arm.token(&remote_sp));
    assert_eq!(
        arm.send(
            Method::PUT,
            &arm.peering_path("one"),
            Some(&primary),
            Some(arm.peering_body()),
            &aux
        )
        .await
        .status,
        201
    );

    let second_body = json!({"properties": {"remoteVirtualNetwork": {"id": second_vnet}}});
    let path = arm.peering_path("two");
    let reply = arm
        .send(
            Method::PUT,
            &path,
            Some(&primary),
            Some(second_body.clone()),
            &aux,
        )
        .await;
    assert_error(&reply, 429, "RetryableErrorDueToAnotherOperation");
    let retry_after: f64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry_after > 0.0);

    // An immediate retry ignores Retry-After.
    let again = arm
        .send(
            Method::PUT,
            &path,
            Some(&primary),
            Some(second_body.clone()),
            &aux,
        )
        .await;
    assert_eq!(again.status, 429);
    assert_eq!(arm.violations(ViolationKind::EarlyRetry), 1);

    arm.advance(arm.emulator.knobs().lro_duration);
    let reply = arm
        .send(Method::PUT, &path, Some(&primary), Some(second_body), &aux)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(arm.violations(ViolationKind::EarlyRetry), 1);
}

#[tokio::test]
async fn overlapping_or_missing_remote_vnets_are_refused() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    let overlapping = arm
        .emulator
        .with_world(|w| {
            let sub = w.arm.subscriptions[1].subscription_id.clone();
            w.arm.add_vnet(
                &sub,
                "aiven-rg-acme-prod",
                "overlap",
                "switzerlandnorth",
                &["10.10.128.0/24"],
            )
        })
        .expect("VNet");
    arm.peer_role_for(&overlapping, &remote_sp, true);
    let primary = arm.token(&app.sp_id);
    let aux = arm.aux_header(&arm.token(&remote_sp));
    let body = json!({"properties": {"remoteVirtualNetwork": {"id": overlapping}}});
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("overlap"),
            Some(&primary),
            Some(body),
            &aux,
        )
        .await;
    assert_error(&reply, 400, "VnetAddressSpacesOverlap");
    assert!(
        reply.message().contains("10.10.0.0/16"),
        "{}",
        reply.message()
    );

    let missing = format!(
        "/subscriptions/{}/resourceGroups/aiven-rg-acme-prod/providers/Microsoft.Network/virtualNetworks/ghost",
        arm.seed.aiven_subscription_id
    );
    arm.peer_role_for(
        &format!("/subscriptions/{}", arm.seed.aiven_subscription_id),
        &remote_sp,
        true,
    );
    let body = json!({"properties": {"remoteVirtualNetwork": {"id": missing}}});
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("ghost"),
            Some(&primary),
            Some(body),
            &aux,
        )
        .await;
    assert_error(&reply, 400, "InvalidGlobalResourceReference");

    let body = json!({"properties": {"remoteVirtualNetwork": {"id": "vnet-by-name"}}});
    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("bad-id"),
            Some(&primary),
            Some(body),
            &aux,
        )
        .await;
    assert_error(&reply, 400, "LinkedInvalidPropertyId");

    let reply = arm
        .send(
            Method::PUT,
            &arm.peering_path("-bad-name"),
            Some(&primary),
            Some(arm.peering_body()),
            &aux,
        )
        .await;
    assert_error(&reply, 400, "InvalidResourceName");
}

// ----- throttling -----------------------------------------------------------------------------

#[tokio::test]
async fn every_answer_reports_the_remaining_requests_of_its_bucket() {
    let arm = Arm::start().await;
    let path = format!("{}?api-version={NETWORK}", arm.customer_vnet());
    let token = arm.operator();
    let first = arm.get(&path, &token).await;
    let second = arm.get(&path, &token).await;
    let remaining = |reply: &Reply| -> u64 {
        reply
            .header("x-ms-ratelimit-remaining-subscription-reads")
            .and_then(|v| v.parse().ok())
            .expect("remaining reads")
    };
    assert!(remaining(&second) < remaining(&first));
    assert!(first.header("x-ms-request-id").is_some());
}

#[tokio::test]
async fn an_empty_bucket_is_429_subscription_requests_throttled_when_enforced() {
    let arm = Arm::start().await;
    arm.emulator.with_world(|w| {
        let mut throttling = vnetpeer_emulator::world::arm::Throttling::azure(true);
        throttling.reads = vnetpeer_emulator::world::arm::BucketLimits {
            capacity: 2.0,
            refill_per_second: 1.0,
        };
        w.arm.throttling = throttling;
    });
    let path = format!("{}?api-version={NETWORK}", arm.customer_vnet());
    let token = arm.operator();
    assert_eq!(arm.get(&path, &token).await.status, 200);
    assert_eq!(arm.get(&path, &token).await.status, 200);
    let throttled = arm.get(&path, &token).await;
    assert_error(&throttled, 429, "SubscriptionRequestsThrottled");
    assert_eq!(throttled.header("retry-after"), Some("1"));
    assert!(
        throttled
            .message()
            .contains(&arm.seed.operator_sp_object_id)
    );

    // Retrying before Retry-After is recorded; after it, the request is served.
    assert_eq!(arm.get(&path, &token).await.status, 429);
    assert_eq!(arm.violations(ViolationKind::EarlyRetry), 1);
    arm.advance(Duration::from_secs(1));
    assert_eq!(arm.get(&path, &token).await.status, 200);
    assert_eq!(arm.violations(ViolationKind::EarlyRetry), 1);
    // Other principals have their own buckets.
    let other = arm.app(&arm.seed.customer_tenant_id);
    arm.assign(
        &arm.customer_vnet(),
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &other.sp_id,
        true,
    );
    assert_eq!(arm.get(&path, &arm.token(&other.sp_id)).await.status, 200);
}

#[tokio::test]
async fn updating_a_connected_peering_keeps_it_connected_while_updating() {
    let arm = Arm::start().await;
    let (app, remote_sp) = arm.ready_peering_app();
    arm.aiven_reverse_peering();
    let primary = arm.token(&app.sp_id);
    let aux = arm.aux_header(&arm.token(&remote_sp));
    let path = arm.peering_path("to-aiven");
    let created = arm
        .send(
            Method::PUT,
            &path,
            Some(&primary),
            Some(arm.peering_body()),
            &aux,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    arm.advance(arm.emulator.knobs().lro_duration);

    let mut body = arm.peering_body();
    body["properties"]["allowForwardedTraffic"] = json!(true);
    let updated = arm
        .send(Method::PUT, &path, Some(&primary), Some(body), &aux)
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["properties"]["provisioningState"], "Updating");
    assert_eq!(updated.body["properties"]["peeringState"], "Connected");
    assert_eq!(updated.body["properties"]["allowForwardedTraffic"], true);
    arm.advance(arm.emulator.knobs().lro_duration);
    let read = arm.get(&path, &primary).await;
    assert_eq!(read.body["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn the_principal_type_must_match_the_directory_object() {
    let arm = Arm::start().await;
    let tenant = arm.seed.customer_tenant_id.clone();
    let user = arm.emulator.with_world(|w| {
        w.identity
            .add_user(&tenant, "alice@contoso.onmicrosoft.com")
    });
    let path = |name: String| {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHORIZATION}",
            arm.customer_vnet()
        )
    };
    let reply = arm
        .put(
            &path(uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(NETWORK_CONTRIBUTOR_ROLE_ID, &user, Some("ServicePrincipal")),
        )
        .await;
    assert_error(&reply, 400, "UnmatchedPrincipalType");
    let reply = arm
        .put(
            &path(uuid::Uuid::new_v4().to_string()),
            &arm.operator(),
            assignment_body(NETWORK_CONTRIBUTOR_ROLE_ID, &user, None),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["properties"]["principalType"], "User");
}

#[tokio::test]
async fn resource_groups_are_readable_case_insensitively() {
    let arm = Arm::start().await;
    let path = format!(
        "/subscriptions/{}/resourcegroups/{}?api-version=2021-04-01",
        arm.seed.customer_subscription_id,
        arm.seed.customer_resource_group.to_uppercase()
    );
    let reply = arm.get(&path, &arm.operator()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["name"],
        arm.seed.customer_resource_group.as_str()
    );
    let missing = format!(
        "/subscriptions/{}/resourceGroups/nope?api-version=2021-04-01",
        arm.seed.customer_subscription_id
    );
    assert_error(
        &arm.get(&missing, &arm.operator()).await,
        404,
        "ResourceGroupNotFound",
    );
}
