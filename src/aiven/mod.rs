//! Aiven REST API v1 client: project VPCs, organization VPCs and their Azure peering connections.
//!
//! - A VPC is addressed by [`VpcAddress`]: `project/{project}/vpcs/{id}` or
//!   `organization/{organization_id}/vpc/{id}` (the organization API's singular item path).
//!   Reads, creates and the `user_peer_network_cidrs` update are the same requests under either
//!   path; deletes differ (a project connection by its peer fields, an organization connection
//!   by its id).
//! - Authentication: `Authorization: aivenv1 <token>`.
//! - Aiven matches peerings by case-sensitive string equality, and its guide says to send the
//!   subscription id, resource group, VNet name, app id and tenant id in lower case; this client
//!   lower-cases them on create, when matching, and in delete paths.
//! - Errors: the `{message, errors[]}` envelope (also inside a 200), 404 as
//!   [`CloudError::NotFound`], 409 as [`CloudError::AlreadyExists`].
//! - A VPC read made for one peering can be left with the client and taken once by the next
//!   caller about the same peering, when it is recent enough for that caller (`recent`).
//!
//! Built on the shared HTTP layer (retries, deadlines, cancellation) of [`crate::cloud`]. Knows
//! nothing of Terraform, nor of the Azure clients.

mod activation;
mod error;
mod peering_id;
mod peering_lifecycle;
mod recent;
mod rejection;

pub use activation::NotActivated;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cloud::error::{CloudError, Service};
use crate::cloud::http::{
    ApiResponse, CallContext, HttpClient, Replay, backoff_delay, operation_name, sensitive_header,
    validate_endpoint,
};
use crate::cloud::secret::SecretString;

pub use peering_id::is_uuid;
pub use peering_lifecycle::{
    ClearingError, CreateError, CreateOutcome, PROPAGATION_RETRY_WINDOW, Rejection,
};
use recent::RecentVpcReads;
pub use rejection::RejectionCause;

/// Aiven's multi-tenant Azure application: its service principal in the customer tenant is what
/// Aiven acts as when it peers its VNet with the customer's, and needs `peer/action` on the
/// customer VNet.
pub const AIVEN_APP_ID: &str = "55f300d4-fc50-4c5e-9222-e90a6e2187fb";

/// The Aiven API used when neither `aiven_api_url` nor `AIVEN_WEB_URL` is set.
pub const DEFAULT_API_URL: &str = "https://api.aiven.io";

/// Aiven settings (provider `aiven_api_token` / `AIVEN_TOKEN`, `aiven_api_url` / `AIVEN_WEB_URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AivenSettings {
    /// The API token.
    pub api_token: SecretString,
    /// The API base without `/v1`, e.g. `https://api.aiven.io`.
    pub api_url: String,
}

/// The state of a peering connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PeeringState {
    /// Just created; Aiven is building its side.
    Approved,
    /// Aiven's side is done; the customer must create the reverse (Azure) peering.
    PendingPeer,
    /// Set up.
    Active,
    /// Rejected by the peer.
    RejectedByPeer,
    /// Something the user controls is wrong (see `state_info`).
    InvalidSpecification,
    /// Being deleted.
    Deleting,
    /// Deleted.
    Deleted,
    /// The cloud-side peering was deleted.
    DeletedByPeer,
    /// In the enum without documentation; treated as not final.
    ApprovedPeerRequested,
    /// Failed.
    Error,
    /// A state this client does not know.
    Other(String),
}

impl PeeringState {
    /// Parses Aiven's spelling.
    pub fn parse(value: &str) -> Self {
        match value {
            "APPROVED" => Self::Approved,
            "PENDING_PEER" => Self::PendingPeer,
            "ACTIVE" => Self::Active,
            "REJECTED_BY_PEER" => Self::RejectedByPeer,
            "INVALID_SPECIFICATION" => Self::InvalidSpecification,
            "DELETING" => Self::Deleting,
            "DELETED" => Self::Deleted,
            "DELETED_BY_PEER" => Self::DeletedByPeer,
            "APPROVED_PEER_REQUESTED" => Self::ApprovedPeerRequested,
            "ERROR" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Aiven's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Approved => "APPROVED",
            Self::PendingPeer => "PENDING_PEER",
            Self::Active => "ACTIVE",
            Self::RejectedByPeer => "REJECTED_BY_PEER",
            Self::InvalidSpecification => "INVALID_SPECIFICATION",
            Self::Deleting => "DELETING",
            Self::Deleted => "DELETED",
            Self::DeletedByPeer => "DELETED_BY_PEER",
            Self::ApprovedPeerRequested => "APPROVED_PEER_REQUESTED",
            Self::Error => "ERROR",
            Self::Other(value) => value,
        }
    }

    /// States from which the connection will not recover on its own.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::RejectedByPeer | Self::InvalidSpecification | Self::Error
        )
    }

    /// The connection is deleted or going, or its Azure side was deleted: it will not come
    /// back (a refresh reports it gone).
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Deleting | Self::Deleted | Self::DeletedByPeer)
    }
}

impl fmt::Display for PeeringState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PeeringState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Self::parse(&s))
    }
}

/// The Azure VNet a connection peers with: Aiven's `peer_cloud_account`, `peer_resource_group`
/// and `peer_vpc`. Aiven stores them lower-cased, so they are compared without case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerVnet<'a> {
    pub subscription_id: &'a str,
    pub resource_group: &'a str,
    pub name: &'a str,
}

impl<'a> PeerVnet<'a> {
    pub const fn new(subscription_id: &'a str, resource_group: &'a str, name: &'a str) -> Self {
        Self {
            subscription_id,
            resource_group,
            name,
        }
    }
}

/// A project VPC peering connection.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PeeringConnection {
    /// Azure subscription id (as stored by Aiven).
    pub peer_cloud_account: String,
    /// Azure resource group.
    #[serde(default)]
    pub peer_resource_group: Option<String>,
    /// Azure VNet name.
    pub peer_vpc: String,
    /// The customer app's client id.
    #[serde(default)]
    pub peer_azure_app_id: Option<String>,
    /// The customer tenant.
    #[serde(default)]
    pub peer_azure_tenant_id: Option<String>,
    /// AWS only; null for Azure.
    #[serde(default)]
    pub peer_region: Option<String>,
    /// The connection id, when Aiven gives one.
    #[serde(default)]
    pub peering_connection_id: Option<String>,
    /// The state.
    pub state: PeeringState,
    /// Free-form details; for Azure in `PENDING_PEER`: `to-tenant-id`, `to-network-id`.
    #[serde(default)]
    pub state_info: Option<Map<String, Value>>,
    /// `user_peer_network_cidrs`.
    #[serde(default)]
    pub user_peer_network_cidrs: Vec<String>,
    /// `azure-vnet-peering` for Azure.
    #[serde(default)]
    pub vpc_peering_connection_type: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub create_time: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub update_time: Option<String>,
}

impl PeeringConnection {
    fn state_info_str(&self, key: &str) -> Option<&str> {
        self.state_info
            .as_ref()?
            .get(key)?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    /// `state_info["to-tenant-id"]`: Aiven's Entra tenant (the auxiliary token's tenant).
    pub fn to_tenant_id(&self) -> Option<&str> {
        self.state_info_str("to-tenant-id")
    }

    /// `state_info["to-network-id"]`: Aiven's VNet id (the Azure peering's remote VNet).
    pub fn to_network_id(&self) -> Option<&str> {
        self.state_info_str("to-network-id")
    }

    /// `state_info` with every value as text: strings as they are, other values as JSON, nulls
    /// left out (Aiven's details change with the state and are not all strings).
    pub fn state_info_text(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let entries = self.state_info.iter().flatten();
        entries.filter_map(|(key, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((key.clone(), text.clone())),
            other => Some((key.clone(), other.to_string())),
        })
    }

    /// `state_info["message"]`: Aiven's explanation of the state.
    pub fn state_message(&self) -> Option<&str> {
        self.state_info_str("message")
    }

    /// True when this connection peers with `peer`, compared in lower case as Aiven stores
    /// them.
    pub fn matches_azure(&self, peer: PeerVnet<'_>) -> bool {
        self.peer_cloud_account.to_lowercase() == peer.subscription_id.to_lowercase()
            && self.peer_vpc.to_lowercase() == peer.name.to_lowercase()
            && self
                .peer_resource_group
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                == peer.resource_group.to_lowercase()
    }
}

/// Where a VPC lives: an Aiven project, or an Aiven organization (shared by its projects).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VpcAddress {
    /// A project VPC: `project/{project}/vpcs/{vpc_id}`.
    Project {
        /// The project name (case-sensitive).
        project: String,
        /// The project VPC id.
        vpc_id: String,
    },
    /// An organization VPC: `organization/{organization_id}/vpc/{vpc_id}`.
    Organization {
        /// The organization id, e.g. `org1a2b3c4d5e6`.
        organization_id: String,
        /// The organization VPC id.
        vpc_id: String,
    },
}

/// The kind of a VPC: a project's, or an organization's (shared by its projects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpcKind {
    Project,
    Organization,
}

impl VpcKind {
    /// "project VPC" or "organization VPC", as messages name the kind.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Project => "project VPC",
            Self::Organization => "organization VPC",
        }
    }

    /// "project" or "organization": what owns a VPC of this kind.
    pub fn owner_noun(self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::Organization => "organization",
        }
    }

    /// The owner as messages name it: `Aiven project "acme-prod"`, `Aiven organization org1`.
    pub fn owner_label(self, owner: &str) -> String {
        match self {
            Self::Project => format!("Aiven project {owner:?}"),
            Self::Organization => format!("Aiven organization {owner}"),
        }
    }

    /// The address of the VPC `vpc_id` of `owner` (a project name or an organization id).
    pub fn address(self, owner: String, vpc_id: String) -> VpcAddress {
        match self {
            Self::Project => VpcAddress::Project {
                project: owner,
                vpc_id,
            },
            Self::Organization => VpcAddress::Organization {
                organization_id: owner,
                vpc_id,
            },
        }
    }
}

impl VpcAddress {
    /// A project's or an organization's VPC.
    pub fn kind(&self) -> VpcKind {
        match self {
            Self::Project { .. } => VpcKind::Project,
            Self::Organization { .. } => VpcKind::Organization,
        }
    }

    /// The VPC's id.
    pub fn vpc_id(&self) -> &str {
        match self {
            Self::Project { vpc_id, .. } | Self::Organization { vpc_id, .. } => vpc_id,
        }
    }

    /// The project name or organization id.
    pub fn owner(&self) -> &str {
        match self {
            Self::Project { project, .. } => project,
            Self::Organization {
                organization_id, ..
            } => organization_id,
        }
    }

    /// The path segments of the VPC item.
    fn segments(&self) -> [&str; 4] {
        match self {
            Self::Project { project, vpc_id } => ["project", project, "vpcs", vpc_id],
            Self::Organization {
                organization_id,
                vpc_id,
            } => ["organization", organization_id, "vpc", vpc_id],
        }
    }

    /// A key naming the owner unambiguously (a project may be named like an organization id).
    fn owner_key(&self) -> String {
        match self {
            Self::Project { project, .. } => format!("project/{project}"),
            Self::Organization {
                organization_id, ..
            } => format!("organization/{organization_id}"),
        }
    }
}

impl fmt::Display for VpcAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        let owner = kind.owner_label(self.owner());
        write!(f, "{} {} of {owner}", kind.noun(), self.vpc_id())
    }
}

/// A project VPC or an organization VPC, in one shape: a project VPC has its cloud at the top
/// level, an organization VPC a `clouds` list of exactly one entry today.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "VpcBody")]
pub struct Vpc {
    /// `project_vpc_id` or `organization_vpc_id`.
    pub vpc_id: String,
    /// e.g. `azure-switzerland-north`.
    pub cloud_name: String,
    /// The VPC's CIDR.
    pub network_cidr: String,
    /// `APPROVED` (being built), `ACTIVE`, `DELETING`, `DELETED`.
    pub state: String,
    /// An organization VPC's display name.
    pub display_name: Option<String>,
    /// The peering connections (empty in list answers).
    pub peering_connections: Vec<PeeringConnection>,
}

/// The wire form of both VPC kinds.
#[derive(Deserialize)]
struct VpcBody {
    #[serde(alias = "organization_vpc_id")]
    project_vpc_id: String,
    #[serde(default)]
    cloud_name: Option<String>,
    #[serde(default)]
    network_cidr: Option<String>,
    #[serde(default)]
    clouds: Vec<VpcCloud>,
    state: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    peering_connections: Vec<PeeringConnection>,
}

#[derive(Deserialize)]
struct VpcCloud {
    cloud_name: String,
    network_cidr: String,
}

impl TryFrom<VpcBody> for Vpc {
    type Error = String;

    fn try_from(body: VpcBody) -> Result<Self, String> {
        let (cloud_name, network_cidr) = match (body.cloud_name, body.network_cidr) {
            (Some(cloud), Some(cidr)) => (cloud, cidr),
            _ => {
                let first = body
                    .clouds
                    .into_iter()
                    .next()
                    .ok_or("the VPC has neither `cloud_name` nor `clouds`")?;
                (first.cloud_name, first.network_cidr)
            }
        };
        Ok(Self {
            vpc_id: body.project_vpc_id,
            cloud_name,
            network_cidr,
            state: body.state,
            display_name: body.display_name,
            peering_connections: body.peering_connections,
        })
    }
}

impl Vpc {
    /// Whether this VPC is in `cloud` (compared without case) and not being deleted or deleted:
    /// a VPC going away is never the answer to "which VPC is in this cloud".
    pub fn is_live_in(&self, cloud: &str) -> bool {
        self.cloud_name.eq_ignore_ascii_case(cloud)
            && !matches!(self.state.as_str(), "DELETING" | "DELETED")
    }

    /// Whether the VPC is in one of Aiven's Azure clouds (`azure-…`): only such a VPC can be
    /// peered with an Azure VNet.
    pub fn is_in_azure(&self) -> bool {
        self.cloud_name.starts_with("azure-")
    }

    /// The connection peering with `peer`, compared in lower case.
    pub fn find_azure_peering(&self, peer: PeerVnet<'_>) -> Option<&PeeringConnection> {
        self.peering_connections
            .iter()
            .find(|p| p.matches_azure(peer))
    }
}

/// How many lost answers to a create are recovered from (read back, then sent again) before
/// the last failure is reported.
const MAX_LOST_ANSWERS: u32 = 3;

/// The fields of an Azure peering create. The five peer fields are lower-cased by
/// [`AivenClient::create_azure_peering`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzurePeeringRequest {
    /// Azure subscription id.
    pub peer_cloud_account: String,
    /// Azure resource group name.
    pub peer_resource_group: String,
    /// Azure VNet name (not its id).
    pub peer_vpc: String,
    /// The customer app's client id (appId).
    pub peer_azure_app_id: String,
    /// The customer tenant id.
    pub peer_azure_tenant_id: String,
    /// Only sent when set.
    pub user_peer_network_cidrs: Option<Vec<String>>,
}

impl AzurePeeringRequest {
    /// The VNet the connection peers with.
    pub fn peer(&self) -> PeerVnet<'_> {
        PeerVnet {
            subscription_id: &self.peer_cloud_account,
            resource_group: &self.peer_resource_group,
            name: &self.peer_vpc,
        }
    }
}

#[derive(Serialize)]
struct CreateBody<'a> {
    peer_cloud_account: String,
    peer_resource_group: String,
    peer_vpc: String,
    peer_azure_app_id: String,
    peer_azure_tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_peer_network_cidrs: Option<&'a [String]>,
}

impl AzurePeeringRequest {
    fn body(&self) -> CreateBody<'_> {
        CreateBody {
            peer_cloud_account: self.peer_cloud_account.to_lowercase(),
            peer_resource_group: self.peer_resource_group.to_lowercase(),
            peer_vpc: self.peer_vpc.to_lowercase(),
            peer_azure_app_id: self.peer_azure_app_id.to_lowercase(),
            peer_azure_tenant_id: self.peer_azure_tenant_id.to_lowercase(),
            user_peer_network_cidrs: self.user_peer_network_cidrs.as_deref(),
        }
    }
}

/// What the update of a connection's `user_peer_network_cidrs` sends: the ranges to add and
/// the ranges to delete (Aiven takes the two lists, not the new set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrChanges {
    pub add: Vec<String>,
    pub delete: Vec<String>,
}

impl CidrChanges {
    /// The changes from the ranges `before` to the ranges `after`; `None` when they are the
    /// same ranges.
    pub fn between(before: &[String], after: &[String]) -> Option<Self> {
        let missing_from = |ranges: &[String], other: &[String]| -> Vec<String> {
            let missing = ranges.iter().filter(|range| !other.contains(range));
            missing.cloned().collect()
        };
        let changes = Self {
            add: missing_from(after, before),
            delete: missing_from(before, after),
        };
        (!changes.add.is_empty() || !changes.delete.is_empty()).then_some(changes)
    }
}

/// The Aiven client. Cheap to clone.
#[derive(Clone)]
pub struct AivenClient {
    http: HttpClient,
    /// `{api_url}/v1`.
    base: Url,
    token: SecretString,
    /// VPC reads left for the next caller about the same peering (see `recent`).
    recent_vpc_reads: RecentVpcReads,
    /// The last body of each VPC read, decoded (see `VpcBodies`).
    vpc_bodies: VpcBodies,
}

impl fmt::Debug for AivenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AivenClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl AivenClient {
    /// A client for `settings`. Validates the URL (https, or http on loopback); no network.
    pub fn new(http: HttpClient, settings: &AivenSettings) -> Result<Self, CloudError> {
        if settings.api_token.is_empty() {
            return Err(CloudError::Invalid(
                "the Aiven API token is not set: set aiven_api_token in the provider block or AIVEN_TOKEN".into(),
            ));
        }
        let mut base = validate_endpoint("aiven_api_url", &settings.api_url)?;
        {
            let mut segments = base.path_segments_mut().map_err(|()| {
                CloudError::Invalid(format!(
                    "aiven_api_url {:?} cannot be a base URL",
                    settings.api_url
                ))
            })?;
            segments.pop_if_empty().push("v1");
        }
        Ok(Self {
            http,
            base,
            token: settings.api_token.clone(),
            recent_vpc_reads: RecentVpcReads::default(),
            vpc_bodies: VpcBodies::default(),
        })
    }

    /// `GET /v1/project/{project}/vpcs`.
    pub async fn list_project_vpcs(
        &self,
        ctx: &CallContext,
        project: &str,
    ) -> Result<Vec<Vpc>, CloudError> {
        self.list_vpcs(ctx, VpcKind::Project, project).await
    }

    /// The VPCs of `owner`, a project or an organization as `kind` says:
    /// `GET /v1/project/{project}/vpcs` or `GET /v1/organization/{organization_id}/vpcs`.
    pub async fn list_vpcs(
        &self,
        ctx: &CallContext,
        kind: VpcKind,
        owner: &str,
    ) -> Result<Vec<Vpc>, CloudError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            vpcs: Vec<Vpc>,
        }
        let root = match kind {
            VpcKind::Project => "project",
            VpcKind::Organization => "organization",
        };
        let url = self.url(&[root, owner, "vpcs"]);
        let list: List = self.call(ctx, Method::GET, url, None, Replay::Safe).await?;
        Ok(list.vpcs)
    }

    /// `GET` the VPC item, with its peering connections. [`CloudError::NotFound`] when the
    /// owner or the VPC does not exist.
    pub async fn get_vpc(&self, ctx: &CallContext, vpc: &VpcAddress) -> Result<Vpc, CloudError> {
        let url = self.url(&vpc.segments());
        self.call(ctx, Method::GET, url, None, Replay::Safe).await
    }

    /// `POST {vpc}/peering-connections` with the five peer fields lower-cased (answered 200 by
    /// both APIs), exactly once: when the answer is lost (a 408 or 5xx, or a connection broken
    /// after sending), the VPC is read again and a connection to this VNet, which the caller
    /// checked did not exist before, is the one the lost attempt made and is adopted; only when
    /// there is none is the POST sent again. A blind replay would answer 409 for the connection
    /// the first attempt made.
    pub async fn create_azure_peering(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        request: &AzurePeeringRequest,
    ) -> Result<PeeringConnection, CloudError> {
        let mut lost_answers = 0;
        loop {
            let error = match self.post_azure_peering(ctx, vpc, request).await {
                Err(error) if error.outcome_unknown() && lost_answers < MAX_LOST_ANSWERS => error,
                other => return other,
            };
            lost_answers += 1;
            tracing::debug!(%error, "the answer to the peering create was lost; reading the VPC");
            // Back off first: the service may be failing, and the connection may take a moment
            // to show in the VPC.
            let wait = backoff_delay(self.http.retry_policy(), lost_answers - 1, fastrand::f64());
            ctx.sleep(wait, "waiting before reading the VPC after a lost answer")
                .await?;
            let made = self.find_azure_peering(ctx, vpc, request.peer()).await?;
            if let Some(connection) = made {
                return Ok(connection);
            }
        }
    }

    /// One `POST …/peering-connections`, never replayed by the HTTP layer once sent.
    async fn post_azure_peering(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        request: &AzurePeeringRequest,
    ) -> Result<PeeringConnection, CloudError> {
        let url = self.url_under(vpc, &["peering-connections"]);
        let body =
            serde_json::to_value(request.body()).map_err(|e| CloudError::Invalid(e.to_string()))?;
        self.call(ctx, Method::POST, url, Some(&body), Replay::Unsafe)
            .await
    }

    /// `PUT {vpc}/user-peer-network-cidrs`: adds and removes ranges of the connection peering
    /// with (subscription, resource group, VNet), in place. Replaying it is harmless (adding a
    /// range that is there, or removing one that is gone, leaves the same set).
    pub async fn update_user_peer_network_cidrs(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
        CidrChanges { add, delete }: &CidrChanges,
    ) -> Result<(), CloudError> {
        let (account, group, vnet) = (
            peer.subscription_id.to_lowercase(),
            peer.resource_group.to_lowercase(),
            peer.name.to_lowercase(),
        );
        let add: Vec<Value> = add
            .iter()
            .map(|cidr| {
                serde_json::json!({
                    "cidr": cidr,
                    "peer_cloud_account": account,
                    "peer_resource_group": group,
                    "peer_vpc": vnet,
                })
            })
            .collect();
        let body = serde_json::json!({ "add": add, "delete": delete });
        let url = self.url_under(vpc, &["user-peer-network-cidrs"]);
        self.call::<Value>(ctx, Method::PUT, url, Some(&body), Replay::Safe)
            .await
            .map(drop)
    }

    /// Reads the VPC and returns the connection peering with `peer`, compared in lower case;
    /// `None` when there is none.
    pub async fn find_azure_peering(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
    ) -> Result<Option<PeeringConnection>, CloudError> {
        let url = self.url(&vpc.segments());
        let operation = operation_name(&Method::GET, &url);
        let url_of_read = url.clone();
        let response = self
            .send_checked(ctx, Method::GET, url, None, Replay::Safe)
            .await?;
        // One pass finds both an error inside the 200 and the connection; only a body that does
        // not decode as a VPC, or carries `error`, is probed the way `call` probes every body.
        let found = self
            .vpc_bodies
            .index(&url_of_read, &response.body)
            .and_then(|index| index.find(peer));
        if !matches!(found, Ok(VpcSearch::Found(_)))
            && let Some(error) =
                error::error_in_success_body(&operation, &response.headers, &response.body)
        {
            return Err(error);
        }
        match found {
            Ok(VpcSearch::Found(connection)) => Ok(connection.map(|found| *found)),
            // Unreachable in practice: the probe above reports a non-null `error`.
            Ok(VpcSearch::ErrorField) => Err(CloudError::Decode {
                service: Service::Aiven,
                operation,
                detail: "the VPC answer carries an `error` field".to_owned(),
            }),
            Err(e) => Err(CloudError::Decode {
                service: Service::Aiven,
                operation,
                // serde_json's message names the field and position, never the content.
                detail: e.to_string(),
            }),
        }
    }

    /// Remembers `vpc`, read just now for the peering of (subscription, resource group, VNet),
    /// for one later [`AivenClient::take_recent_vpc_read`] on this client.
    pub fn remember_vpc_read(&self, address: &VpcAddress, peer: PeerVnet<'_>, vpc: Vpc) {
        self.recent_vpc_reads
            .remember(&address.owner_key(), address.vpc_id(), peer, vpc);
    }

    /// The VPC read remembered for the peering of (subscription, resource group, VNet), when it
    /// was made at most `max_age` ago; each read is handed out once, and taking it forgets it.
    pub fn take_recent_vpc_read(
        &self,
        address: &VpcAddress,
        peer: PeerVnet<'_>,
        max_age: Duration,
    ) -> Option<Vpc> {
        self.recent_vpc_reads
            .take(&address.owner_key(), address.vpc_id(), peer, max_age)
    }

    /// Deletes the connection peering with (subscription, resource group, VNet). A project
    /// connection: `DELETE .../peering-connections/peer-accounts/{account}/peer-resource-groups/{rg}/peer-vpcs/{vnet}`
    /// with lower-cased segments. An organization connection is deleted by its id
    /// (`DELETE .../peering-connection/{id}`): `peering_connection_id` when known, else found by
    /// reading the VPC first. Returns the connection (state `DELETING`), or `None` when Aiven
    /// no longer has it.
    pub async fn delete_azure_peering(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
        peering_connection_id: Option<&str>,
    ) -> Result<Option<PeeringConnection>, CloudError> {
        let (account, group, vnet) = (
            peer.subscription_id.to_lowercase(),
            peer.resource_group.to_lowercase(),
            peer.name.to_lowercase(),
        );
        let url = match vpc {
            VpcAddress::Project { .. } => self.url_under(
                vpc,
                &[
                    "peering-connections",
                    "peer-accounts",
                    &account,
                    "peer-resource-groups",
                    &group,
                    "peer-vpcs",
                    &vnet,
                ],
            ),
            VpcAddress::Organization { .. } => {
                let id = match peering_connection_id {
                    Some(id) => id.to_owned(),
                    None => {
                        let found = self.find_azure_peering(ctx, vpc, peer).await?;
                        match found.and_then(|c| c.peering_connection_id) {
                            Some(id) => id,
                            None => return Ok(None),
                        }
                    }
                };
                self.url_under(vpc, &["peering-connection", &id])
            }
        };
        match self
            .call::<Value>(ctx, Method::DELETE, url, None, Replay::Safe)
            .await
        {
            Ok(json) => Ok(serde_json::from_value(json).ok()),
            Err(CloudError::NotFound(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The VPC item's URL followed by `tail`.
    fn url_under(&self, vpc: &VpcAddress, tail: &[&str]) -> Url {
        let mut segments: Vec<&str> = vpc.segments().to_vec();
        segments.extend_from_slice(tail);
        self.url(&segments)
    }

    /// `{base}/seg/seg/...` with each segment percent-escaped (a `/` in a value stays inside its
    /// segment, as Aiven's clients escape with `PathEscape`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        url
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        ctx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<T, CloudError> {
        let operation = operation_name(&method, &url);
        let response = self.call_response(ctx, method, url, body, replay).await?;
        response.json(Service::Aiven, &operation)
    }

    /// Sends the request; a successful response without an error inside, or the error.
    async fn call_response(
        &self,
        ctx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<ApiResponse, CloudError> {
        let operation = operation_name(&method, &url);
        let response = self.send_checked(ctx, method, url, body, replay).await?;
        if let Some(error) =
            error::error_in_success_body(&operation, &response.headers, &response.body)
        {
            return Err(error);
        }
        Ok(response)
    }

    /// Sends the request; a response with a success status (its body not yet looked at), or
    /// the error.
    async fn send_checked(
        &self,
        ctx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<ApiResponse, CloudError> {
        let operation = operation_name(&method, &url);
        let mut request = self.http.request(method, url)?.header(
            "Authorization",
            sensitive_header(&format!("aivenv1 {}", self.token.expose_secret()))?,
        );
        if let Some(body) = body {
            request = request.json(body);
        }
        let response: ApiResponse = self.http.send(ctx, request, replay, &[]).await?;
        if !response.status.is_success() {
            return Err(error::error_of(response, &operation));
        }
        Ok(response)
    }
}

/// What [`find_connection_in_vpc_body`] saw.
#[derive(Debug)]
enum VpcSearch {
    /// A VPC, and the matching connection if there is one.
    Found(Option<Box<PeeringConnection>>),
    /// The body has a non-null `error` (reported as Aiven's error).
    ErrorField,
}

/// The connection of a VPC body (`GET .../vpcs/{id}`) that peers with (subscription, resource
/// group, VNet), as [`Vpc::find_azure_peering`] finds it.
#[cfg(test)]
fn find_connection_in_vpc_body(
    body: &[u8],
    peer: PeerVnet<'_>,
) -> Result<VpcSearch, serde_json::Error> {
    VpcBodyIndex::decode(body)?.find(peer)
}

/// A VPC body (`GET .../vpcs/{id}`) with each connection's three matched fields decoded and the
/// rest of it kept as text: a refresh reads the VPC once per peering, and building every
/// connection of a shared VPC each time made this quadratic in the number of peerings.
struct VpcBodyIndex {
    /// The body it was decoded from.
    body: Vec<u8>,
    /// The body has a non-null `error`.
    error_field: bool,
    connections: Vec<IndexedConnection>,
}

/// One connection of a [`VpcBodyIndex`].
struct IndexedConnection {
    /// Its JSON text.
    text: Box<str>,
    /// What [`PeeringConnection::matches_azure`] compares; `None` when they do not decode (the
    /// search reports that if it gets this far).
    peer: Option<ConnectionPeer<'static>>,
}

/// What [`PeeringConnection::matches_azure`] compares.
#[derive(Deserialize)]
struct ConnectionPeer<'a> {
    #[serde(borrow)]
    peer_cloud_account: Cow<'a, str>,
    #[serde(default, borrow)]
    peer_resource_group: Option<Cow<'a, str>>,
    #[serde(borrow)]
    peer_vpc: Cow<'a, str>,
}

impl ConnectionPeer<'_> {
    fn into_owned(self) -> ConnectionPeer<'static> {
        ConnectionPeer {
            peer_cloud_account: Cow::Owned(self.peer_cloud_account.into_owned()),
            peer_resource_group: self
                .peer_resource_group
                .map(|group| Cow::Owned(group.into_owned())),
            peer_vpc: Cow::Owned(self.peer_vpc.into_owned()),
        }
    }

    fn matches(&self, peer: PeerVnet<'_>) -> bool {
        same_lowercase(&self.peer_cloud_account, peer.subscription_id)
            && same_lowercase(&self.peer_vpc, peer.name)
            && same_lowercase(
                self.peer_resource_group.as_deref().unwrap_or_default(),
                peer.resource_group,
            )
    }
}

impl VpcBodyIndex {
    /// Decodes `body`: an error when it is not a VPC (as [`Vpc`] requires its id and state).
    fn decode(body: &[u8]) -> Result<Self, serde_json::Error> {
        use serde_json::value::RawValue;

        /// The VPC's id and state, which [`Vpc`] requires, checked but not kept, and its
        /// connections left undecoded.
        #[derive(Deserialize)]
        #[allow(dead_code)] // Present to reject the bodies `Vpc` rejects.
        struct VpcConnections<'a> {
            #[serde(default)]
            error: Option<serde::de::IgnoredAny>,
            #[serde(alias = "organization_vpc_id")]
            project_vpc_id: serde::de::IgnoredAny,
            state: serde::de::IgnoredAny,
            #[serde(default, borrow)]
            peering_connections: Vec<&'a RawValue>,
        }

        let vpc: VpcConnections<'_> = serde_json::from_slice(body)?;
        let connections = vpc
            .peering_connections
            .into_iter()
            .map(|raw| IndexedConnection {
                text: raw.get().into(),
                peer: serde_json::from_str::<ConnectionPeer<'_>>(raw.get())
                    .ok()
                    .map(ConnectionPeer::into_owned),
            })
            .collect();
        Ok(Self {
            body: body.to_vec(),
            error_field: vpc.error.is_some(),
            connections,
        })
    }

    /// The first connection, in the body's order, that peers with (subscription, resource
    /// group, VNet), decoded in full. A connection before it whose three fields do not decode
    /// is an error, as decoding them one by one until the match would find.
    fn find(&self, peer: PeerVnet<'_>) -> Result<VpcSearch, serde_json::Error> {
        if self.error_field {
            return Ok(VpcSearch::ErrorField);
        }
        for connection in &self.connections {
            let matches = match &connection.peer {
                Some(indexed) => indexed.matches(peer),
                None => serde_json::from_str::<ConnectionPeer<'_>>(&connection.text)?.matches(peer),
            };
            if matches {
                return serde_json::from_str(&connection.text)
                    .map(|found| VpcSearch::Found(Some(Box::new(found))));
            }
        }
        Ok(VpcSearch::Found(None))
    }
}

/// The last decoded body of each VPC this client read, by URL: the reads of a refresh (one per
/// peering) mostly get the same bytes, and equal bytes decode to the same index.
#[derive(Clone, Default)]
struct VpcBodies {
    last: Arc<Mutex<HashMap<String, Arc<VpcBodyIndex>>>>,
}

impl VpcBodies {
    /// The index of `body`, read from `url`: the remembered one when the bytes are the same.
    fn index(&self, url: &Url, body: &[u8]) -> Result<Arc<VpcBodyIndex>, serde_json::Error> {
        let lock = || self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = lock().get(url.as_str())
            && index.body == body
        {
            return Ok(Arc::clone(index));
        }
        let index = Arc::new(VpcBodyIndex::decode(body)?);
        lock().insert(url.as_str().to_owned(), Arc::clone(&index));
        Ok(index)
    }
}

/// `a.to_lowercase() == b.to_lowercase()` without allocating for the usual ASCII case.
fn same_lowercase(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> AivenClient {
        AivenClient::new(
            HttpClient::shared().unwrap(),
            &AivenSettings {
                api_token: SecretString::new("aiven-token-secret"),
                api_url: url.into(),
            },
        )
        .unwrap()
    }

    #[test]
    fn create_body_lower_cases_the_five_peer_fields_and_omits_unset_cidrs() {
        let request = AzurePeeringRequest {
            peer_cloud_account: "AAAA-Sub".into(),
            peer_resource_group: "My-RG".into(),
            peer_vpc: "VNet1".into(),
            peer_azure_app_id: "APP-ID".into(),
            peer_azure_tenant_id: "Tenant".into(),
            user_peer_network_cidrs: None,
        };
        let json = serde_json::to_value(request.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "peer_cloud_account": "aaaa-sub",
                "peer_resource_group": "my-rg",
                "peer_vpc": "vnet1",
                "peer_azure_app_id": "app-id",
                "peer_azure_tenant_id": "tenant",
            })
        );
        let with_cidrs = AzurePeeringRequest {
            user_peer_network_cidrs: Some(vec!["10.0.0.0/24".into()]),
            ..request
        };
        assert_eq!(
            serde_json::to_value(with_cidrs.body()).unwrap()["user_peer_network_cidrs"][0],
            "10.0.0.0/24"
        );
    }

    #[test]
    fn cidr_changes_add_what_is_new_and_delete_what_is_gone() {
        let ranges =
            |list: &[&str]| -> Vec<String> { list.iter().map(|r| r.to_string()).collect() };
        let changes = CidrChanges::between(
            &ranges(&["10.0.0.0/24", "10.1.0.0/24"]),
            &ranges(&["10.1.0.0/24", "10.2.0.0/24"]),
        );
        assert_eq!(
            changes,
            Some(CidrChanges {
                add: ranges(&["10.2.0.0/24"]),
                delete: ranges(&["10.0.0.0/24"]),
            })
        );
        let same = CidrChanges::between(&ranges(&["a", "b"]), &ranges(&["b", "a"]));
        assert_eq!(same, None);
    }

    #[test]
    fn urls_escape_each_segment_and_keep_a_base_path() {
        let c = client("https://api.aiven.io");
        let url = c.url(&["project", "my proj", "vpcs", "a/b", "peer-vpcs", "v%1"]);
        assert_eq!(
            url.as_str(),
            "https://api.aiven.io/v1/project/my%20proj/vpcs/a%2Fb/peer-vpcs/v%251"
        );
        let prefixed = client("http://127.0.0.1:9000/aiven/");
        assert_eq!(
            prefixed.url(&["project", "p"]).as_str(),
            "http://127.0.0.1:9000/aiven/v1/project/p"
        );
    }

    #[test]
    fn settings_validation_and_redaction() {
        assert!(
            AivenClient::new(
                HttpClient::shared().unwrap(),
                &AivenSettings {
                    api_token: SecretString::default(),
                    api_url: DEFAULT_API_URL.into()
                }
            )
            .unwrap_err()
            .to_string()
            .contains("AIVEN_TOKEN")
        );
        assert!(
            AivenClient::new(
                HttpClient::shared().unwrap(),
                &AivenSettings {
                    api_token: "t".into(),
                    api_url: "http://api.example".into()
                }
            )
            .is_err()
        );
        let c = client("https://api.aiven.io");
        assert!(!format!("{c:?}").contains("aiven-token-secret"));
    }

    #[test]
    fn peerings_parse_and_match_in_lower_case() {
        let vpc: Vpc = serde_json::from_value(serde_json::json!({
            "project_vpc_id": "vpc-1",
            "cloud_name": "azure-switzerland-north",
            "network_cidr": "10.1.0.0/24",
            "state": "ACTIVE",
            "peering_connections": [{
                "peer_cloud_account": "aaaa",
                "peer_resource_group": "rg",
                "peer_vpc": "vnet1",
                "peer_azure_app_id": "app",
                "peer_azure_tenant_id": "tenant",
                "peer_region": null,
                "state": "PENDING_PEER",
                "state_info": {"message": "Pending peer", "to-tenant-id": "aiven-tenant", "to-network-id": "/subscriptions/x/vnet"},
                "user_peer_network_cidrs": [],
                "vpc_peering_connection_type": "azure-vnet-peering"
            }]
        }))
        .unwrap();
        let peering = vpc
            .find_azure_peering(PeerVnet::new("AAAA", "RG", "VNet1"))
            .unwrap();
        assert_eq!(peering.state, PeeringState::PendingPeer);
        assert_eq!(peering.to_tenant_id(), Some("aiven-tenant"));
        assert_eq!(peering.to_network_id(), Some("/subscriptions/x/vnet"));
        assert_eq!(peering.state_message(), Some("Pending peer"));
        assert!(
            vpc.find_azure_peering(PeerVnet::new("aaaa", "other", "vnet1"))
                .is_none()
        );
        assert!(PeeringState::parse("INVALID_SPECIFICATION").is_failure());
        assert!(PeeringState::parse("DELETED_BY_PEER").is_gone());
        assert_eq!(
            PeeringState::parse("NEW_THING"),
            PeeringState::Other("NEW_THING".into())
        );
    }

    const SHARED_VPC_BODY: &str = r#"{
        "project_vpc_id": "v1", "cloud_name": "azure-westeurope", "network_cidr": "10.0.0.0/24",
        "state": "ACTIVE", "extra": {"n": 1.250},
        "peering_connections": [
            {"peer_cloud_account": "sub-a", "peer_resource_group": "rg", "peer_vpc": "vnet-1",
             "state": "ACTIVE", "state_info": {"to-tenant-id": "t-1", "n": 3.0}},
            {"peer_cloud_account": "SUB-A", "peer_resource_group": "RG", "peer_vpc": "vnet-2",
             "peer_azure_app_id": "app-2", "state": "PENDING_PEER",
             "state_info": {"to-tenant-id": "t-2", "to-network-id": "/n\/2"},
             "user_peer_network_cidrs": ["10.2.0.0/16"]},
            {"peer_cloud_account": "sub-a", "peer_resource_group": "rg", "peer_vpc": "vnet-2",
             "state": "DELETED"},
            {"peer_cloud_account": "sub-b", "peer_vpc": "vnet-\u00e9", "state": "ACTIVE"}
        ]
    }"#;

    #[test]
    fn finding_a_connection_in_the_body_agrees_with_the_decoded_vpc() {
        let vpc: Vpc = serde_json::from_str(SHARED_VPC_BODY).unwrap();
        for (subscription, group, vnet) in [
            ("sub-a", "rg", "vnet-1"),
            ("Sub-A", "Rg", "VNET-2"),
            ("sub-b", "", "vnet-É"),
            ("sub-b", "", "vnet-é"),
            ("sub-a", "rg", "vnet-3"),
            ("sub-c", "rg", "vnet-1"),
        ] {
            let Ok(VpcSearch::Found(found)) = find_connection_in_vpc_body(
                SHARED_VPC_BODY.as_bytes(),
                PeerVnet::new(subscription, group, vnet),
            ) else {
                panic!("the VPC body decodes");
            };
            assert_eq!(
                found.as_deref(),
                vpc.find_azure_peering(PeerVnet::new(subscription, group, vnet)),
                "{subscription}/{group}/{vnet}"
            );
        }
        let Ok(VpcSearch::Found(Some(second))) = find_connection_in_vpc_body(
            SHARED_VPC_BODY.as_bytes(),
            PeerVnet::new("sub-a", "rg", "vnet-2"),
        ) else {
            panic!("the connection is found");
        };
        // The first match wins, with all its fields.
        assert_eq!(second.state, PeeringState::PendingPeer);
        assert_eq!(second.to_network_id(), Some("/n/2"));
        assert_eq!(second.peer_azure_app_id.as_deref(), Some("app-2"));
        assert_eq!(
            second.user_peer_network_cidrs,
            vec!["10.2.0.0/16".to_owned()]
        );
    }

    #[test]
    fn a_matched_connection_is_decoded_in_full_whatever_its_spelling() {
        let body = r#"{"project_vpc_id": "v", "cloud_name": "c", "network_cidr": "n",
            "state": "ACTIVE", "peering_connections": [
            {"peer_cloud_account": "sub-a", "peer_vpc": "vnet-0", "state": 5},
            {"peer_cloud_\u0061ccount": "sub-a", "peer_resource_group": null,
             "peer_vpc": "vnet-\"1\"", "state": "APPROVED",
             "state_info": {"message": "line\nbreak", "to-network-id": "/n/1"},
             "user_peer_network_cidrs": ["10.1.0.0/16", "10.2.0.0/16"], "unknown": [{}]}
        ]}"#;
        let Ok(VpcSearch::Found(Some(found))) =
            find_connection_in_vpc_body(body.as_bytes(), PeerVnet::new("SUB-A", "", "vnet-\"1\""))
        else {
            panic!("the connection is found");
        };
        let vpc: Vpc =
            serde_json::from_str(&body.replace(r#""state": 5"#, r#""state": "ACTIVE""#)).unwrap();
        assert_eq!(
            Some(&*found),
            vpc.find_azure_peering(PeerVnet::new("SUB-A", "", "vnet-\"1\""))
        );
        assert_eq!(found.state, PeeringState::Approved);
        assert_eq!(found.state_message(), Some("line\nbreak"));
        assert_eq!(found.user_peer_network_cidrs.len(), 2);
        // Connections that do not match are not decoded beyond the three fields.
        assert!(matches!(
            find_connection_in_vpc_body(body.as_bytes(), PeerVnet::new("sub-b", "", "vnet-9")),
            Ok(VpcSearch::Found(None))
        ));
        // The matched one is decoded as `PeeringConnection` decodes it.
        assert!(
            find_connection_in_vpc_body(body.as_bytes(), PeerVnet::new("sub-a", "", "vnet-0"))
                .is_err()
        );
    }

    #[test]
    fn a_matched_field_given_twice_or_not_as_a_string_is_an_error() {
        for connection in [
            r#"{"peer_cloud_account": "a", "peer_vpc": "v", "peer_vpc": "v", "state": "ACTIVE"}"#,
            r#"{"peer_cloud_account": "a", "peer_vpc": 1, "state": "ACTIVE"}"#,
            r#"{"peer_cloud_account": null, "peer_vpc": "v", "state": "ACTIVE"}"#,
            r#"{"peer_cloud_account": "a", "peer_resource_group": 2, "peer_vpc": "v"}"#,
            r#"["peer_cloud_account", "a"]"#,
        ] {
            let body = format!(
                r#"{{"project_vpc_id": "v", "cloud_name": "c", "network_cidr": "n", "state": "ACTIVE", "peering_connections": [{connection}]}}"#
            );
            assert!(
                find_connection_in_vpc_body(body.as_bytes(), PeerVnet::new("a", "", "v")).is_err(),
                "{connection}"
            );
            // The whole VPC does not decode either.
            assert!(serde_json::from_str::<Vpc>(&body).is_err(), "{connection}");
        }
    }

    #[test]
    fn a_vpc_body_is_decoded_again_only_when_its_bytes_change() {
        let bodies = VpcBodies::default();
        let url = Url::parse("https://api.aiven.io/v1/project/p/vpcs/v1").unwrap();
        let first = bodies.index(&url, SHARED_VPC_BODY.as_bytes()).unwrap();
        let again = bodies.index(&url, SHARED_VPC_BODY.as_bytes()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // A connection renamed between two reads: the second read sees the new name.
        let changed = SHARED_VPC_BODY.replace("\"vnet-1\"", "\"vnet-9\"");
        let fresh = bodies.index(&url, changed.as_bytes()).unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh));
        assert!(matches!(
            fresh.find(PeerVnet::new("sub-a", "rg", "vnet-9")),
            Ok(VpcSearch::Found(Some(_)))
        ));
        assert!(matches!(
            fresh.find(PeerVnet::new("sub-a", "rg", "vnet-1")),
            Ok(VpcSearch::Found(None))
        ));
        // A body that is not a VPC is an error every time, and is not remembered.
        assert!(bodies.index(&url, b"{}").is_err());
        assert!(Arc::ptr_eq(
            &fresh,
            &bodies.index(&url, changed.as_bytes()).unwrap()
        ));
    }

    #[test]
    fn a_vpc_body_that_does_not_decode_is_an_error() {
        for body in [
            r#"{"peering_connections": []}"#,
            r#"{"project_vpc_id": "v", "cloud_name": "c", "network_cidr": "n", "state": "s",
                "peering_connections": [{"peer_vpc": "vnet-1"}]}"#,
            r#"{"project_vpc_id": "v", "cloud_name": "c", "network_cidr": "n", "state": "s",
                "peering_connections": [{"peer_cloud_account": "a", "peer_resource_group": "g",
                "peer_vpc": "vnet-1"}]}"#,
        ] {
            assert!(
                find_connection_in_vpc_body(body.as_bytes(), PeerVnet::new("a", "g", "vnet-1"))
                    .is_err()
            );
        }
        let with_error = r#"{"project_vpc_id": "v", "cloud_name": "c", "network_cidr": "n",
            "state": "s", "peering_connections": [], "error": "boom"}"#;
        assert!(matches!(
            find_connection_in_vpc_body(with_error.as_bytes(), PeerVnet::new("a", "g", "vnet-1")),
            Ok(VpcSearch::ErrorField)
        ));
    }

    #[test]
    fn the_organization_vpc_body_reads_its_single_cloud() {
        let vpc: Vpc = serde_json::from_value(serde_json::json!({
            "organization_vpc_id": "a1000000-0000-4000-8000-0000000000f2",
            "organization_id": "org1a2b3c4d5e6",
            "clouds": [{"cloud_name": "azure-switzerland-north", "network_cidr": "10.30.0.0/24"}],
            "display_name": "shared",
            "state": "ACTIVE",
            "peering_connections": [],
            "pending_build_only_peering_connections": null,
        }))
        .unwrap();
        assert_eq!(vpc.vpc_id, "a1000000-0000-4000-8000-0000000000f2");
        assert_eq!(vpc.cloud_name, "azure-switzerland-north");
        assert_eq!(vpc.network_cidr, "10.30.0.0/24");
        assert_eq!(vpc.display_name.as_deref(), Some("shared"));
        assert!(vpc.is_in_azure());
        assert!(vpc.is_live_in("Azure-Switzerland-North"));
        assert!(!vpc.is_live_in("azure-westeurope"));
        let deleting = Vpc {
            state: "DELETING".into(),
            ..vpc.clone()
        };
        assert!(!deleting.is_live_in("azure-switzerland-north"));
        assert!(
            serde_json::from_value::<Vpc>(serde_json::json!({
                "organization_vpc_id": "x", "clouds": [], "state": "ACTIVE"
            }))
            .is_err()
        );
    }
}
