//! Azure Resource Manager client: subscriptions, virtual networks, role definitions, role
//! assignments and virtual network peerings.
//!
//! Long-running operations are followed to the end: a PUT that answers with
//! `Azure-AsyncOperation` is polled until `Succeeded`/`Failed`/`Canceled` and the resource is then
//! read once; a DELETE that answers 202 is polled on `Location` until 200/204. `Retry-After` is
//! honoured; otherwise polls follow [`crate::cloud::http::poll_interval`]. A failed status read is a
//! read failure and is retried until the deadline, never mistaken for a failed operation.
//!
//! Each client acts as one identity ([`TokenSource`]); [`ArmClient::with_token_source`] gives a
//! client acting as another app (the cross-tenant peering's step-1 app).

mod peering_writes;
mod quotas;
pub mod role_assignments;
pub mod role_definitions;

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::credentials::{AccessToken, AzureEndpoints, TokenSource};
use super::error::AzureErrorResponse;
use super::ids::{RoleAssignmentId, RoleDefinitionId, VirtualNetworkId, VnetPeeringId};
use crate::cloud::error::{CloudError, Service, ServiceError};
use crate::cloud::http::{
    ApiResponse, CallContext, HttpClient, PollStep, Replay, join_path, operation_name, poll_until,
    sensitive_header, url_for_logs,
};

/// api-version of Microsoft.Authorization (role definitions and assignments).
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";
/// api-version of Microsoft.Network (VNets and peerings).
pub const NETWORK_API_VERSION: &str = "2024-05-01";
/// api-version of the subscriptions API.
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
/// The built-in "Network Contributor" role GUID.
pub const NETWORK_CONTRIBUTOR_ROLE_GUID: Uuid =
    Uuid::from_u128(0x4d97b98b_1d4f_4787_a291_c67834d212e7);
/// Most auxiliary tokens ARM accepts in `x-ms-authorization-auxiliary`.
pub const MAX_AUXILIARY_TOKENS: usize = 3;

pub use peering_writes::{
    ANOTHER_OPERATION, REFERENCED_RESOURCE_NOT_PROVISIONED, is_busy, may_have_written,
};

/// The action a principal needs on a VNet to peer another VNet with it: what Aiven's service
/// principal needs on the customer VNet, and the peering application on Aiven's.
pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";
/// The action of writing a peering on the VNet that owns it.
pub const PEERING_WRITE_ACTION: &str =
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";

/// ARM error codes the resources branch on.
pub mod codes {
    /// 400: the principal is not (yet) visible to ARM: a principal created moments ago takes a
    /// while to replicate from the directory to ARM.
    pub const PRINCIPAL_NOT_FOUND: &str = "PrincipalNotFound";
    /// 409: the same (scope, role, principal) is assigned under another name.
    pub const ROLE_ASSIGNMENT_EXISTS: &str = "RoleAssignmentExists";
    /// 409: the role name is used by another role definition in the tenant.
    pub const ROLE_DEFINITION_WITH_SAME_NAME_EXISTS: &str = "RoleDefinitionWithSameNameExists";
    /// Delete of a role definition that still has assignments.
    pub const ROLE_DEFINITION_HAS_ASSIGNMENTS: &str = "RoleDefinitionHasAssignments";
    /// 403: missing permission (may be RBAC propagation right after an assignment).
    pub const AUTHORIZATION_FAILED: &str = "AuthorizationFailed";
    /// 403: the cross-tenant peering lacks a valid auxiliary token or `peer/action`.
    pub const LINKED_AUTHORIZATION_FAILED: &str = "LinkedAuthorizationFailed";
    /// 401: the primary token comes from the wrong tenant.
    pub const INVALID_AUTHENTICATION_TOKEN_TENANT: &str = "InvalidAuthenticationTokenTenant";
    /// 400: the peering's remote side is gone; delete and re-create it.
    pub const REMOTE_PEERING_IS_DISCONNECTED: &str = "RemotePeeringIsDisconnected";
}

/// `GET /subscriptions/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// `/subscriptions/{id}`.
    pub id: String,
    /// The subscription GUID.
    pub subscription_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// The tenant that owns the subscription.
    pub tenant_id: String,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    #[serde(default)]
    pub state: Option<String>,
}

/// A virtual network, as far as the peering workflow needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualNetwork {
    /// The resource id, as ARM returns it.
    pub id: String,
    /// The VNet name.
    pub name: String,
    /// The Azure region.
    pub location: String,
    /// `properties.addressSpace.addressPrefixes`.
    pub address_prefixes: Vec<String>,
    /// `properties.provisioningState`.
    pub provisioning_state: Option<String>,
}

/// One `permissions[]` entry of a role definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// Allowed control-plane actions.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Excluded control-plane actions.
    #[serde(default)]
    pub not_actions: Vec<String>,
    /// Allowed data-plane actions.
    #[serde(default)]
    pub data_actions: Vec<String>,
    /// Excluded data-plane actions.
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

/// `properties` of a role definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    /// The role name, unique across the tenant.
    pub role_name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `CustomRole` or `BuiltInRole` (ARM's `properties.type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub role_type: Option<String>,
    /// Permissions.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Scopes where the role may be assigned.
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
}

/// A role definition.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RoleDefinition {
    /// The full id.
    pub id: String,
    /// The GUID.
    pub name: String,
    /// The properties.
    pub properties: RoleDefinitionProperties,
}

/// The kind of principal of a role assignment. Sending it avoids `PrincipalNotFound` for a
/// principal created moments earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalType {
    /// A user.
    User,
    /// A group.
    Group,
    /// A service principal.
    ServicePrincipal,
    /// A group from another tenant.
    ForeignGroup,
}

impl PrincipalType {
    /// The ARM spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::ServicePrincipal => "ServicePrincipal",
            Self::ForeignGroup => "ForeignGroup",
        }
    }

    /// Parses the ARM spelling (case-insensitive).
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::User,
            Self::Group,
            Self::ServicePrincipal,
            Self::ForeignGroup,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

/// `properties` of a role assignment.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    /// The scope.
    #[serde(default)]
    pub scope: Option<String>,
    /// The full role definition id (ARM may echo the tenant-level form).
    pub role_definition_id: String,
    /// The principal's object id.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`, `ForeignGroup`.
    #[serde(default)]
    pub principal_type: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A role assignment.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RoleAssignment {
    /// The full id.
    pub id: String,
    /// The assignment name (GUID).
    pub name: String,
    /// The properties.
    pub properties: RoleAssignmentProperties,
}

/// Which role assignments [`ArmClient::list_role_assignments`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleAssignmentFilter {
    /// Every assignment at, above and below the scope.
    All,
    /// `atScope()`: assignments at or above the scope.
    AtScope,
    /// `principalId eq '{id}'`: that principal's assignments at, above and below the scope.
    PrincipalId(String),
}

/// The writable settings of a VNet peering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeeringProperties {
    /// The remote VNet's full resource id.
    pub remote_virtual_network_id: String,
    /// `allowVirtualNetworkAccess`.
    pub allow_virtual_network_access: bool,
    /// `allowForwardedTraffic`.
    pub allow_forwarded_traffic: bool,
    /// `allowGatewayTransit`.
    pub allow_gateway_transit: bool,
    /// `useRemoteGateways`.
    pub use_remote_gateways: bool,
}

/// `peeringState` of a VNet peering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeeringState {
    /// Only this side exists.
    Initiated,
    /// Both sides exist: traffic flows.
    Connected,
    /// The remote side is gone; the peering must be deleted and re-created.
    Disconnected,
    /// Another value.
    Other(String),
}

impl PeeringState {
    fn parse(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "initiated" => Self::Initiated,
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            _ => Self::Other(value.to_owned()),
        }
    }

    /// The ARM spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Initiated => "Initiated",
            Self::Connected => "Connected",
            Self::Disconnected => "Disconnected",
            Self::Other(value) => value,
        }
    }
}

/// A virtual network peering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VnetPeering {
    /// The full id.
    pub id: String,
    /// The peering name.
    pub name: String,
    /// `peeringState` (None when ARM did not say).
    pub peering_state: Option<PeeringState>,
    /// `peeringSyncLevel`: `FullyInSync`, `RemoteNotInSync`, ...
    pub peering_sync_level: Option<String>,
    /// `provisioningState`: `Succeeded`, `Updating`, `Deleting`, `Failed`.
    pub provisioning_state: Option<String>,
    /// `remoteVirtualNetwork.id`.
    pub remote_virtual_network_id: Option<String>,
    /// `remoteAddressSpace.addressPrefixes`.
    pub remote_address_space: Vec<String>,
    /// `allowVirtualNetworkAccess`.
    pub allow_virtual_network_access: bool,
    /// `allowForwardedTraffic`.
    pub allow_forwarded_traffic: bool,
    /// `allowGatewayTransit`.
    pub allow_gateway_transit: bool,
    /// `useRemoteGateways`.
    pub use_remote_gateways: bool,
}

impl VnetPeering {
    fn from_json(json: &Value) -> Self {
        let properties = &json["properties"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let flag = |key: &str| properties[key].as_bool().unwrap_or(false);
        Self {
            id: text(&json["id"]).unwrap_or_default(),
            name: text(&json["name"]).unwrap_or_default(),
            peering_state: properties["peeringState"].as_str().map(PeeringState::parse),
            peering_sync_level: text(&properties["peeringSyncLevel"]),
            provisioning_state: text(&properties["provisioningState"]),
            remote_virtual_network_id: text(&properties["remoteVirtualNetwork"]["id"]),
            remote_address_space: string_list(&properties["remoteAddressSpace"]["addressPrefixes"]),
            allow_virtual_network_access: flag("allowVirtualNetworkAccess"),
            allow_forwarded_traffic: flag("allowForwardedTraffic"),
            allow_gateway_transit: flag("allowGatewayTransit"),
            use_remote_gateways: flag("useRemoteGateways"),
        }
    }
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The ARM client, acting as one identity. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ArmClient {
    http: HttpClient,
    base: Url,
    tokens: TokenSource,
}

/// How a long-running operation reports progress.
enum OperationMonitor {
    /// `Azure-AsyncOperation`: 200 with `{"status": ...}`.
    AsyncOperation(Url),
    /// `Location`: 202 while running, then 200/204.
    Location(Url),
}

impl ArmClient {
    /// A client for `endpoints.resource_manager`, acting as `tokens`.
    pub fn new(http: HttpClient, endpoints: &AzureEndpoints, tokens: TokenSource) -> Self {
        Self {
            http: http.with_quota_rules(quotas::ARM_QUOTAS),
            base: endpoints.resource_manager.clone(),
            tokens,
        }
    }

    /// The same client acting as another identity (e.g. the step-1 app's [`TokenSource`]).
    pub fn with_token_source(&self, tokens: TokenSource) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            tokens,
        }
    }

    /// The identity this client acts as.
    pub fn token_source(&self) -> &TokenSource {
        &self.tokens
    }

    // ----- subscriptions and VNets -----

    /// `GET /subscriptions/{id}`: the subscription and its tenant.
    pub async fn get_subscription(
        &self,
        ctx: &CallContext,
        subscription_id: &str,
    ) -> Result<Subscription, CloudError> {
        let subscription_id = super::ids::validate_subscription_id(subscription_id)?;
        let url = self.url(
            &format!("/subscriptions/{subscription_id}"),
            SUBSCRIPTIONS_API_VERSION,
        );
        self.get_json(ctx, url).await
    }

    /// `GET` a virtual network. [`CloudError::NotFound`] when it does not exist.
    pub async fn get_virtual_network(
        &self,
        ctx: &CallContext,
        id: &VirtualNetworkId,
    ) -> Result<VirtualNetwork, CloudError> {
        let url = self.url(&id.to_string(), NETWORK_API_VERSION);
        let json: Value = self.get_json(ctx, url).await?;
        let properties = &json["properties"];
        Ok(VirtualNetwork {
            id: json["id"].as_str().unwrap_or_default().to_owned(),
            name: json["name"].as_str().unwrap_or_default().to_owned(),
            location: json["location"].as_str().unwrap_or_default().to_owned(),
            address_prefixes: string_list(&properties["addressSpace"]["addressPrefixes"]),
            provisioning_state: properties["provisioningState"].as_str().map(str::to_owned),
        })
    }

    // ----- role definitions -----

    /// `PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`: creates or updates a
    /// role definition. A clash with another role's name is [`codes::ROLE_DEFINITION_WITH_SAME_NAME_EXISTS`].
    pub async fn put_role_definition(
        &self,
        ctx: &CallContext,
        scope: &str,
        guid: Uuid,
        properties: &RoleDefinitionProperties,
    ) -> Result<RoleDefinition, CloudError> {
        super::ids::validate_scope(scope)?;
        let id = RoleDefinitionId::new(scope, guid);
        let url = self.url(&id.to_string(), AUTHORIZATION_API_VERSION);
        let mut properties = properties.clone();
        properties
            .role_type
            .get_or_insert_with(|| "CustomRole".to_owned());
        let body = serde_json::json!({ "name": guid.to_string(), "properties": properties });
        let response = self
            .send(ctx, Method::PUT, url.clone(), Some(&body), None)
            .await?;
        self.expect_json(response, &operation_name(&Method::PUT, &url))
    }

    /// `GET` a role definition; `None` when it does not exist.
    pub async fn get_role_definition(
        &self,
        ctx: &CallContext,
        id: &RoleDefinitionId,
    ) -> Result<Option<RoleDefinition>, CloudError> {
        let url = self.url(&id.to_string(), AUTHORIZATION_API_VERSION);
        optional(self.get_json(ctx, url).await)
    }

    /// `DELETE` a role definition; succeeds when it is already gone. Assignments that still use
    /// it give [`codes::ROLE_DEFINITION_HAS_ASSIGNMENTS`].
    pub async fn delete_role_definition(
        &self,
        ctx: &CallContext,
        id: &RoleDefinitionId,
    ) -> Result<(), CloudError> {
        let url = self.url(&id.to_string(), AUTHORIZATION_API_VERSION);
        self.delete_simple(ctx, url).await
    }

    /// Role definitions named `role_name` visible at `scope` (`$filter=roleName eq '...'`),
    /// following `nextLink`.
    pub async fn list_role_definitions_by_name(
        &self,
        ctx: &CallContext,
        scope: &str,
        role_name: &str,
    ) -> Result<Vec<RoleDefinition>, CloudError> {
        let filter = format!("roleName eq '{}'", odata_quote(role_name));
        self.list_role_definitions(ctx, scope, &filter).await
    }

    /// The custom role definitions assignable at `scope` (`$filter=type eq 'CustomRole'`),
    /// following `nextLink`.
    pub async fn list_custom_role_definitions(
        &self,
        ctx: &CallContext,
        scope: &str,
    ) -> Result<Vec<RoleDefinition>, CloudError> {
        self.list_role_definitions(ctx, scope, "type eq 'CustomRole'")
            .await
    }

    /// The role definitions assignable at `scope` that match an OData `$filter`, following
    /// `nextLink`.
    async fn list_role_definitions(
        &self,
        ctx: &CallContext,
        scope: &str,
        filter: &str,
    ) -> Result<Vec<RoleDefinition>, CloudError> {
        super::ids::validate_scope(scope)?;
        let mut url = self.url(
            &format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions",
                scope.trim_end_matches('/')
            ),
            AUTHORIZATION_API_VERSION,
        );
        url.query_pairs_mut().append_pair("$filter", filter);
        self.list(ctx, url).await
    }

    // ----- role assignments -----

    /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}` with
    /// `principalType` (so a fresh principal does not fail with `PrincipalNotFound`).
    ///
    /// Errors to expect: [`codes::ROLE_ASSIGNMENT_EXISTS`] (same triple under another name),
    /// [`codes::PRINCIPAL_NOT_FOUND`] (replication; the caller retries within its bound).
    pub async fn put_role_assignment(
        &self,
        ctx: &CallContext,
        scope: &str,
        name: Uuid,
        role_definition_id: &RoleDefinitionId,
        principal_id: &str,
        principal_type: PrincipalType,
    ) -> Result<RoleAssignment, CloudError> {
        super::ids::validate_scope(scope)?;
        let id = RoleAssignmentId::new(scope, name);
        let url = self.url(&id.to_string(), AUTHORIZATION_API_VERSION);
        let body = serde_json::json!({
            "properties": {
                "roleDefinitionId": role_definition_id.to_string(),
                "principalId": principal_id,
                "principalType": principal_type.as_str(),
            }
        });
        let response = self
            .send(ctx, Method::PUT, url.clone(), Some(&body), None)
            .await?;
        self.expect_json(response, &operation_name(&Method::PUT, &url))
    }

    /// `GET` a role assignment; `None` when it does not exist.
    pub async fn get_role_assignment(
        &self,
        ctx: &CallContext,
        id: &RoleAssignmentId,
    ) -> Result<Option<RoleAssignment>, CloudError> {
        let url = self.url(&id.to_string(), AUTHORIZATION_API_VERSION);
        optional(self.get_json(ctx, url).await)
    }

    /// `DELETE` a role assignment; succeeds when it is already gone.
    pub async fn delete_role_assignment(
        &self,
        ctx: &CallContext,
        id: &RoleAssignmentId,
    ) -> Result<(), CloudError> {
        let url = self.url(&id.to_string(), AUTHORIZATION_API_VERSION);
        self.delete_simple(ctx, url).await
    }

    /// Role assignments at `scope` matching `filter`, following `nextLink`.
    pub async fn list_role_assignments(
        &self,
        ctx: &CallContext,
        scope: &str,
        filter: &RoleAssignmentFilter,
    ) -> Result<Vec<RoleAssignment>, CloudError> {
        super::ids::validate_scope(scope)?;
        let mut url = self.url(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments",
                scope.trim_end_matches('/')
            ),
            AUTHORIZATION_API_VERSION,
        );
        match filter {
            RoleAssignmentFilter::All => {}
            RoleAssignmentFilter::AtScope => {
                url.query_pairs_mut().append_pair("$filter", "atScope()");
            }
            RoleAssignmentFilter::PrincipalId(id) => {
                url.query_pairs_mut()
                    .append_pair("$filter", &format!("principalId eq '{}'", odata_quote(id)));
            }
        }
        self.list(ctx, url).await
    }

    // ----- VNet peerings -----

    /// Creates or updates a VNet peering and follows the long-running operation to its end.
    ///
    /// `auxiliary_tokens` (at most 3) go into `x-ms-authorization-auxiliary` for a remote VNet in
    /// another tenant: tokens of this client's identity in the remote tenants. The write waits
    /// for other peering writes of the same VNet in this process, and is repeated while a VNet is
    /// busy ([`peering_writes`]); [`may_have_written`] tells whether a failure left a peering.
    pub async fn put_vnet_peering(
        &self,
        ctx: &CallContext,
        id: &VnetPeeringId,
        properties: &PeeringProperties,
        auxiliary_tokens: &[AccessToken],
    ) -> Result<VnetPeering, CloudError> {
        peering_writes::write_when_free(ctx, &id.vnet, || {
            self.put_vnet_peering_once(ctx, id, properties, auxiliary_tokens, false)
        })
        .await
    }

    /// [`ArmClient::put_vnet_peering`] with `syncRemoteAddressSpace=true`: the peering learns the
    /// remote VNet's current address space after it changed (until then Azure reports the
    /// peering `LocalNotInSync` and routes the old ranges only).
    pub async fn resync_vnet_peering(
        &self,
        ctx: &CallContext,
        id: &VnetPeeringId,
        properties: &PeeringProperties,
        auxiliary_tokens: &[AccessToken],
    ) -> Result<VnetPeering, CloudError> {
        peering_writes::write_when_free(ctx, &id.vnet, || {
            self.put_vnet_peering_once(ctx, id, properties, auxiliary_tokens, true)
        })
        .await
    }

    async fn put_vnet_peering_once(
        &self,
        ctx: &CallContext,
        id: &VnetPeeringId,
        properties: &PeeringProperties,
        auxiliary_tokens: &[AccessToken],
        sync_remote_address_space: bool,
    ) -> Result<VnetPeering, CloudError> {
        if auxiliary_tokens.len() > MAX_AUXILIARY_TOKENS {
            return Err(CloudError::Invalid(format!(
                "at most {MAX_AUXILIARY_TOKENS} auxiliary tokens are allowed, got {}",
                auxiliary_tokens.len()
            )));
        }
        let auxiliary = if auxiliary_tokens.is_empty() {
            None
        } else {
            let joined = auxiliary_tokens
                .iter()
                .map(|t| format!("Bearer {}", t.expose_secret()))
                .collect::<Vec<_>>()
                .join(", ");
            Some(sensitive_header(&joined)?)
        };
        let url = self.url(&id.to_string(), NETWORK_API_VERSION);
        let mut put_url = url.clone();
        if sync_remote_address_space {
            // The only value the Network spec defines for it.
            put_url
                .query_pairs_mut()
                .append_pair("syncRemoteAddressSpace", "true");
        }
        let operation = operation_name(&Method::PUT, &url);
        let body = serde_json::json!({
            "properties": {
                "remoteVirtualNetwork": { "id": properties.remote_virtual_network_id },
                "allowVirtualNetworkAccess": properties.allow_virtual_network_access,
                "allowForwardedTraffic": properties.allow_forwarded_traffic,
                "allowGatewayTransit": properties.allow_gateway_transit,
                "useRemoteGateways": properties.use_remote_gateways,
            }
        });
        let response = self
            .send(ctx, Method::PUT, put_url, Some(&body), auxiliary)
            .await?;
        if !response.status.is_success() {
            return Err(response.into_error(Service::ResourceManager, &operation));
        }
        let initial: Value = response.json(Service::ResourceManager, &operation)?;
        let monitor = response
            .header("azure-asyncoperation")
            .map(|u| self.monitor_url(u, &operation))
            .transpose()?
            .map(OperationMonitor::AsyncOperation);
        let what = format!("waiting for the peering {} to be provisioned", id.name);
        match monitor {
            Some(monitor) => {
                self.wait_for_operation(ctx, monitor, response.retry_after(), &operation, &what)
                    .await?;
                // final-state-via: azure-async-operation → read the resource once.
                let json: Value = self.get_json(ctx, url).await?;
                Ok(VnetPeering::from_json(&json))
            }
            None if is_terminal_provisioning(&initial) => {
                check_provisioning(VnetPeering::from_json(&initial), &operation)
            }
            None => {
                // No monitor header: poll the resource itself until provisioning ends.
                let url = &url;
                let peering = poll_until(ctx, &what, move || async move {
                    let json: Value = self.get_json(ctx, url.clone()).await?;
                    if is_terminal_provisioning(&json) {
                        Ok(PollStep::Done(VnetPeering::from_json(&json)))
                    } else {
                        Ok(PollStep::pending(format!(
                            "provisioningState {}",
                            json["properties"]["provisioningState"]
                                .as_str()
                                .unwrap_or("unknown")
                        )))
                    }
                })
                .await?;
                check_provisioning(peering, &operation)
            }
        }
    }

    /// The peerings of a VNet (`GET {vnet}/virtualNetworkPeerings`), following `nextLink`.
    pub async fn list_vnet_peerings(
        &self,
        ctx: &CallContext,
        vnet: &VirtualNetworkId,
    ) -> Result<Vec<VnetPeering>, CloudError> {
        let url = self.url(
            &format!("{vnet}/virtualNetworkPeerings"),
            NETWORK_API_VERSION,
        );
        let peerings: Vec<Value> = self.list(ctx, url).await?;
        Ok(peerings.iter().map(VnetPeering::from_json).collect())
    }

    /// `GET` a VNet peering; `None` when it does not exist.
    pub async fn get_vnet_peering(
        &self,
        ctx: &CallContext,
        id: &VnetPeeringId,
    ) -> Result<Option<VnetPeering>, CloudError> {
        let url = self.url(&id.to_string(), NETWORK_API_VERSION);
        let json: Option<Value> = optional(self.get_json(ctx, url).await)?;
        Ok(json.as_ref().map(VnetPeering::from_json))
    }

    /// Deletes a VNet peering and waits until it is gone (202 + `Location` polled until 200/204).
    /// Succeeds when it is already gone. Serialised and retried per VNet like
    /// [`ArmClient::put_vnet_peering`].
    pub async fn delete_vnet_peering(
        &self,
        ctx: &CallContext,
        id: &VnetPeeringId,
    ) -> Result<(), CloudError> {
        peering_writes::write_when_free(ctx, &id.vnet, || self.delete_vnet_peering_once(ctx, id))
            .await
    }

    async fn delete_vnet_peering_once(
        &self,
        ctx: &CallContext,
        id: &VnetPeeringId,
    ) -> Result<(), CloudError> {
        let url = self.url(&id.to_string(), NETWORK_API_VERSION);
        let operation = operation_name(&Method::DELETE, &url);
        let response = self.send(ctx, Method::DELETE, url, None, None).await?;
        match response.status {
            StatusCode::OK | StatusCode::NO_CONTENT | StatusCode::NOT_FOUND => return Ok(()),
            StatusCode::ACCEPTED => {}
            _ => return Err(response.into_error(Service::ResourceManager, &operation)),
        }
        // final-state-via: location; Azure-AsyncOperation when Location is absent.
        let monitor = if let Some(location) = response.header("location") {
            OperationMonitor::Location(self.monitor_url(location, &operation)?)
        } else if let Some(status) = response.header("azure-asyncoperation") {
            OperationMonitor::AsyncOperation(self.monitor_url(status, &operation)?)
        } else {
            return Err(CloudError::Decode {
                service: Service::ResourceManager,
                operation,
                detail: "202 Accepted without a Location or Azure-AsyncOperation header".into(),
            });
        };
        let what = format!("waiting for the peering {} to be deleted", id.name);
        self.wait_for_operation(ctx, monitor, response.retry_after(), &operation, &what)
            .await
    }

    // ----- plumbing -----

    fn url(&self, path: &str, api_version: &str) -> Url {
        let mut url = join_path(&self.base, path);
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        url
    }

    /// A monitor URL from a response header. It must be on the ARM host: the bearer token is
    /// sent to it.
    fn monitor_url(&self, value: &str, operation: &str) -> Result<Url, CloudError> {
        let url = Url::parse(value).map_err(|_| CloudError::Decode {
            service: Service::ResourceManager,
            operation: operation.to_owned(),
            detail: "the operation monitor URL does not parse".into(),
        })?;
        if url.origin() != self.base.origin() {
            return Err(CloudError::Decode {
                service: Service::ResourceManager,
                operation: operation.to_owned(),
                detail: format!(
                    "the operation monitor URL {} is not on {}; refusing to send a token there",
                    url_for_logs(&url),
                    url_for_logs(&self.base)
                ),
            });
        }
        Ok(url)
    }

    async fn wait_for_operation(
        &self,
        ctx: &CallContext,
        monitor: OperationMonitor,
        first_wait: Option<Duration>,
        operation: &str,
        what: &str,
    ) -> Result<(), CloudError> {
        // The server's first Retry-After applies before the first poll.
        if let Some(wait) = first_wait {
            ctx.sleep(wait, what).await?;
        }
        let monitor = &monitor;
        poll_until(ctx, what, move || async move {
            match monitor {
                OperationMonitor::AsyncOperation(url) => {
                    let response = self.send(ctx, Method::GET, url.clone(), None, None).await?;
                    if !response.status.is_success() {
                        // Reading the status failed; the operation itself may be fine.
                        let error = response.into_error(
                            Service::ResourceManager,
                            &operation_name(&Method::GET, url),
                        );
                        return Ok(PollStep::pending(format!("status read failed: {error}")));
                    }
                    let status: Value = response.json(Service::ResourceManager, operation)?;
                    let state = status["status"].as_str().unwrap_or("InProgress");
                    match state.to_ascii_lowercase().as_str() {
                        "succeeded" => Ok(PollStep::Done(())),
                        "failed" | "canceled" | "cancelled" => {
                            Err(operation_failure(operation, state, &status["error"]))
                        }
                        _ => Ok(PollStep::Pending {
                            retry_after: response.retry_after(),
                            observed: Some(format!("status {state}")),
                        }),
                    }
                }
                OperationMonitor::Location(url) => {
                    let response = self.send(ctx, Method::GET, url.clone(), None, None).await?;
                    match response.status {
                        StatusCode::OK | StatusCode::NO_CONTENT | StatusCode::NOT_FOUND => {
                            Ok(PollStep::Done(()))
                        }
                        StatusCode::ACCEPTED => Ok(PollStep::Pending {
                            retry_after: response.retry_after(),
                            observed: Some("202 Accepted".into()),
                        }),
                        status if status.is_server_error() => Ok(PollStep::pending(format!(
                            "status read failed: {}",
                            response.into_error(
                                Service::ResourceManager,
                                &operation_name(&Method::GET, url)
                            )
                        ))),
                        // A 4xx from Location is the operation's own failure (ARM RPC).
                        _ => Err(response.into_error(Service::ResourceManager, operation)),
                    }
                }
            }
        })
        .await
    }

    /// Sends one request with this identity's ARM token (retries per [`HttpClient`]).
    async fn send(
        &self,
        ctx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        auxiliary: Option<HeaderValue>,
    ) -> Result<ApiResponse, CloudError> {
        let token = self.tokens.resource_manager_token(ctx).await?;
        let mut request = self.http.request(method, url)?.header(
            "Authorization",
            sensitive_header(&format!("Bearer {}", token.expose_secret()))?,
        );
        if let Some(auxiliary) = auxiliary {
            request = request.header("x-ms-authorization-auxiliary", auxiliary);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        // Every ARM call here is a GET, PUT or DELETE: safe to replay.
        self.http.send(ctx, request, Replay::Safe, &[]).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        ctx: &CallContext,
        url: Url,
    ) -> Result<T, CloudError> {
        let operation = operation_name(&Method::GET, &url);
        let response = self.send(ctx, Method::GET, url, None, None).await?;
        self.expect_json(response, &operation)
    }

    fn expect_json<T: DeserializeOwned>(
        &self,
        response: ApiResponse,
        operation: &str,
    ) -> Result<T, CloudError> {
        if !response.status.is_success() {
            return Err(response.into_error(Service::ResourceManager, operation));
        }
        response.json(Service::ResourceManager, operation)
    }

    async fn delete_simple(&self, ctx: &CallContext, url: Url) -> Result<(), CloudError> {
        let operation = operation_name(&Method::DELETE, &url);
        let response = self.send(ctx, Method::DELETE, url, None, None).await?;
        match response.status {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(response.into_error(Service::ResourceManager, &operation)),
        }
    }

    async fn list<T: DeserializeOwned>(
        &self,
        ctx: &CallContext,
        first: Url,
    ) -> Result<Vec<T>, CloudError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
            next_link: Option<String>,
        }
        let mut items = Vec::new();
        let mut next = Some(first);
        // A bound on pages guards against a server that keeps returning the same nextLink.
        for _ in 0..100 {
            let Some(url) = next.take() else { break };
            let operation = operation_name(&Method::GET, &url);
            let page: Page<T> = self.get_json(ctx, url).await?;
            items.extend(page.value);
            next = page
                .next_link
                .filter(|l| !l.is_empty())
                .map(|l| self.monitor_url(&l, &operation))
                .transpose()?;
        }
        Ok(items)
    }
}

/// OData string literal: single quotes doubled.
fn odata_quote(value: &str) -> String {
    value.replace('\'', "''")
}

fn optional<T>(result: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(CloudError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn is_terminal_provisioning(json: &Value) -> bool {
    match json["properties"]["provisioningState"].as_str() {
        None => true,
        Some(state) => {
            ["succeeded", "failed", "canceled"].contains(&state.to_ascii_lowercase().as_str())
        }
    }
}

fn check_provisioning(peering: VnetPeering, operation: &str) -> Result<VnetPeering, CloudError> {
    match peering.provisioning_state.as_deref() {
        Some(state)
            if state.eq_ignore_ascii_case("failed") || state.eq_ignore_ascii_case("canceled") =>
        {
            Err(operation_failure(operation, state, &Value::Null))
        }
        _ => Ok(peering),
    }
}

/// A long-running operation that ended `Failed`/`Canceled`, with the error it reported.
fn operation_failure(operation: &str, state: &str, error: &Value) -> CloudError {
    let code = error["code"].as_str().map(str::to_owned);
    let message = error["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the operation ended {state}"));
    let detail_codes = error["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|e| e["code"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    CloudError::Service(Box::new(ServiceError {
        service: Service::ResourceManager,
        operation: format!("{operation} (long-running operation {state})"),
        status: 200,
        code,
        detail_codes,
        message,
        aadsts_codes: Vec::new(),
        request_id: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peering_json_maps_to_typed_fields() {
        let json = serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings/p",
            "name": "p",
            "properties": {
                "peeringState": "Connected",
                "peeringSyncLevel": "FullyInSync",
                "provisioningState": "Succeeded",
                "remoteVirtualNetwork": {"id": "/x"},
                "remoteAddressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                "allowVirtualNetworkAccess": true
            }
        });
        let peering = VnetPeering::from_json(&json);
        assert_eq!(peering.peering_state, Some(PeeringState::Connected));
        assert_eq!(peering.remote_address_space, vec!["10.1.0.0/16"]);
        assert!(peering.allow_virtual_network_access && !peering.use_remote_gateways);
        assert_eq!(
            PeeringState::parse("weird"),
            PeeringState::Other("weird".into())
        );
        assert_eq!(PeeringState::parse("disconnected").as_str(), "Disconnected");
    }

    #[test]
    fn failed_operations_keep_the_reported_code() {
        let err = operation_failure(
            "PUT /x",
            "Failed",
            &serde_json::json!({"code": "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet", "message": "overlap"}),
        );
        assert!(err.has_code("VnetAddressSpaceOverlapsWithAlreadyPeeredVnet"));
        assert_eq!(err.message(), "overlap");
        assert!(
            check_provisioning(
                VnetPeering::from_json(
                    &serde_json::json!({"properties": {"provisioningState": "Failed"}})
                ),
                "PUT /x"
            )
            .is_err()
        );
    }

    #[test]
    fn terminal_provisioning_states() {
        let with = |s: &str| serde_json::json!({"properties": {"provisioningState": s}});
        assert!(is_terminal_provisioning(&with("Succeeded")));
        assert!(is_terminal_provisioning(&with("Failed")));
        assert!(!is_terminal_provisioning(&with("Updating")));
        assert!(is_terminal_provisioning(&serde_json::json!({})));
    }

    #[test]
    fn odata_literals_double_quotes_and_role_definition_bodies_serialize() {
        assert_eq!(odata_quote("O'Brien's role"), "O''Brien''s role");
        let properties = RoleDefinitionProperties {
            role_name: "aiven-peer".into(),
            description: None,
            role_type: Some("CustomRole".into()),
            permissions: vec![Permission {
                actions: vec!["Microsoft.Network/virtualNetworks/peer/action".into()],
                ..Permission::default()
            }],
            assignable_scopes: vec!["/subscriptions/s".into()],
        };
        let json = serde_json::to_value(&properties).unwrap();
        assert_eq!(json["roleName"], "aiven-peer");
        assert_eq!(json["type"], "CustomRole");
        assert_eq!(
            json["permissions"][0]["actions"][0],
            "Microsoft.Network/virtualNetworks/peer/action"
        );
        assert_eq!(json["assignableScopes"][0], "/subscriptions/s");
        assert!(json.get("description").is_none());
        assert_eq!(
            PrincipalType::parse("serviceprincipal"),
            Some(PrincipalType::ServicePrincipal)
        );
    }
}
