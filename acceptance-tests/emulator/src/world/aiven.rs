//! Aiven state (projects, project VPCs, peering connections) and the one place where delayed
//! effects across ARM and Aiven are applied: [`settle`].
//!
//! The peering state machine follows docs/development/aiven.md, 'Peering connection object,
//! states and state_info': `APPROVED` → (after `knobs.aiven_peering_setup`, Aiven's checks of
//! precondition (e) in docs/development/cross-api-rules.md, 'Preconditions') `PENDING_PEER` or
//! `INVALID_SPECIFICATION` → (once the customer's Azure peering is `Connected` and
//! `knobs.aiven_peering_activation` has passed) `ACTIVE`; a DELETE moves it to `DELETING`, and it
//! disappears `knobs.aiven_peering_deletion` later, taking Aiven's side with it.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::knobs::Knobs;
use crate::world::arm::{
    ArmWorld, NETWORK_CONTRIBUTOR_ROLE_ID, PEER_ACTION, RoleAssignment, VnetPeering, first_overlap,
    normalize_scope,
};
use crate::world::{IdGenerator, Secret, Seed, World, vnet_id};

/// `vpc_peering_connection_type` of Azure peerings.
pub const AZURE_PEERING_TYPE: &str = "azure-vnet-peering";

/// All of Aiven.
#[derive(Debug, Clone, Serialize)]
pub struct AivenWorld {
    pub projects: Vec<AivenProject>,
    /// Aiven's Entra tenant (where its VNets and its service principals for customer apps live).
    pub aiven_tenant_id: String,
    /// Aiven's multi-tenant application.
    pub aiven_app_id: String,
    /// Customer apps whose service principal in Aiven's tenant Aiven created itself (removed
    /// again with the last peering that needed it).
    pub managed_service_principals: Vec<String>,
    /// Valid API tokens (never serialized).
    #[serde(skip)]
    pub tokens: Vec<Secret>,
    /// Valid API tokens whose user lacks the organization permission
    /// `organization:networking:read/write`: the organization VPC routes answer them 403.
    #[serde(skip)]
    pub tokens_without_organization_networking: Vec<Secret>,
    #[serde(skip)]
    pub ids: IdGenerator,
}

/// An Aiven project, or an Aiven organization: both own VPCs with the same peering
/// connections (docs/development/aiven.md, 'Organization VPCs'); `kind` says which.
#[derive(Debug, Clone, Serialize)]
pub struct AivenProject {
    /// The project name, or the organization id.
    pub name: String,
    pub kind: OwnerKind,
    pub vpcs: Vec<ProjectVpc>,
}

/// What owns a VPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OwnerKind {
    Project,
    Organization,
}

/// A project VPC (docs/development/aiven.md, 'Project VPCs'). On Azure it is backed by a VNet in
/// Aiven's subscription.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectVpc {
    /// `project_vpc_id`, or `organization_vpc_id` of an organization VPC.
    pub project_vpc_id: String,
    /// Set for an organization VPC (its JSON differs: `clouds[]`, `organization_id`).
    pub organization_id: Option<String>,
    /// An organization VPC's display name.
    pub display_name: Option<String>,
    pub cloud_name: String,
    pub network_cidr: String,
    pub state: String,
    /// ARM id of the VNet behind this VPC (what `state_info["to-network-id"]` reports).
    pub azure_vnet_id: String,
    pub create_time: String,
    pub update_time: String,
    pub peering_connections: Vec<PeeringConnection>,
}

/// A peering connection of a project VPC (docs/development/aiven.md, 'Peering connection object,
/// states and state_info').
#[derive(Debug, Clone, Serialize)]
pub struct PeeringConnection {
    pub peering_connection_id: String,
    /// The five peer fields exactly as the client sent them (Aiven compares them as strings).
    pub peer_cloud_account: String,
    pub peer_vpc: String,
    pub peer_resource_group: String,
    pub peer_azure_app_id: String,
    pub peer_azure_tenant_id: String,
    pub user_peer_network_cidrs: Vec<String>,
    pub state: PeeringConnectionState,
    pub state_info: Option<serde_json::Value>,
    pub create_time: String,
    pub update_time: String,
    /// What Aiven built in Azure for this connection (after `PENDING_PEER`).
    pub aiven_side: Option<AivenSide>,
    #[serde(skip)]
    pub created_at: Instant,
    /// When the current state was entered.
    #[serde(skip)]
    pub state_since: Instant,
}

/// The Azure objects Aiven creates for a connection.
#[derive(Debug, Clone, Serialize)]
pub struct AivenSide {
    /// Aiven's peering (Aiven VNet → customer VNet), on the VPC's VNet.
    pub peering_name: String,
    /// The role assignment giving the customer app's service principal peer rights on Aiven's
    /// VNet.
    pub assignment_name: String,
    /// That service principal (in Aiven's tenant).
    pub service_principal_id: String,
}

/// Peering connection states (docs/development/aiven.md, 'Peering connection object, states and
/// state_info').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeeringConnectionState {
    Approved,
    PendingPeer,
    Active,
    InvalidSpecification,
    Deleting,
    DeletedByPeer,
}

impl PeeringConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringConnectionState::Approved => "APPROVED",
            PeeringConnectionState::PendingPeer => "PENDING_PEER",
            PeeringConnectionState::Active => "ACTIVE",
            PeeringConnectionState::InvalidSpecification => "INVALID_SPECIFICATION",
            PeeringConnectionState::Deleting => "DELETING",
            PeeringConnectionState::DeletedByPeer => "DELETED_BY_PEER",
        }
    }
}

impl PeeringConnection {
    /// The JSON Aiven returns for it (PeeringConnectionOut).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "create_time": self.create_time,
            "update_time": self.update_time,
            "peer_cloud_account": self.peer_cloud_account,
            "peer_vpc": self.peer_vpc,
            "peer_resource_group": self.peer_resource_group,
            "peer_azure_app_id": self.peer_azure_app_id,
            "peer_azure_tenant_id": self.peer_azure_tenant_id,
            "peer_region": null,
            "peering_connection_id": self.peering_connection_id,
            "state": self.state.as_str(),
            "state_info": self.state_info,
            "user_peer_network_cidrs": self.user_peer_network_cidrs,
            "vpc_peering_connection_type": AZURE_PEERING_TYPE,
        })
    }
}

impl ProjectVpc {
    /// VpcOut (list item); for an organization VPC its list item (`organization_vpc_id`,
    /// `organization_id`, a `clouds` list of one, `display_name`).
    pub fn summary_json(&self) -> serde_json::Value {
        if let Some(organization_id) = &self.organization_id {
            return json!({
                "organization_vpc_id": self.project_vpc_id,
                "organization_id": organization_id,
                "clouds": [{"cloud_name": self.cloud_name, "network_cidr": self.network_cidr}],
                "display_name": self.display_name.clone().unwrap_or_default(),
                "state": self.state,
                "create_time": self.create_time,
                "update_time": self.update_time,
            });
        }
        json!({
            "project_vpc_id": self.project_vpc_id,
            "cloud_name": self.cloud_name,
            "network_cidr": self.network_cidr,
            "state": self.state,
            "create_time": self.create_time,
            "update_time": self.update_time,
        })
    }

    /// VpcGetOut: the summary plus `peering_connections[]`.
    pub fn full_json(&self) -> serde_json::Value {
        let mut value = self.summary_json();
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "peering_connections".to_owned(),
                self.peering_connections
                    .iter()
                    .map(PeeringConnection::to_json)
                    .collect(),
            );
            if self.organization_id.is_some() {
                object.insert(
                    "pending_build_only_peering_connections".to_owned(),
                    serde_json::Value::Null,
                );
            }
        }
        value
    }
}

/// Fixed timestamp of seeded Aiven objects, so snapshots compare equal.
const SEEDED_TIME: &str = "2024-01-01T00:00:00Z";

/// Aiven's timestamp format (RFC 3339, whole seconds, `Z`).
pub fn aiven_time(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

/// The UTC time of `at`, given that `now` is `utc_now`.
fn utc_of(at: Instant, now: Instant, utc_now: OffsetDateTime) -> OffsetDateTime {
    utc_now - now.saturating_duration_since(at)
}

impl AivenWorld {
    /// The seeded project with its project VPC backed by the seeded Aiven VNet.
    pub fn seeded(seed: &Seed, _now: Instant) -> AivenWorld {
        AivenWorld {
            projects: vec![AivenProject {
                name: seed.aiven_project.clone(),
                kind: OwnerKind::Project,
                vpcs: vec![ProjectVpc {
                    project_vpc_id: seed.aiven_project_vpc_id.clone(),
                    organization_id: None,
                    display_name: None,
                    cloud_name: seed.aiven_cloud_name.clone(),
                    network_cidr: seed.aiven_project_vpc_cidr.clone(),
                    state: "ACTIVE".to_owned(),
                    azure_vnet_id: seed.aiven_vnet_id.clone(),
                    create_time: SEEDED_TIME.to_owned(),
                    update_time: SEEDED_TIME.to_owned(),
                    peering_connections: Vec::new(),
                }],
            }],
            aiven_tenant_id: seed.aiven_tenant_id.clone(),
            aiven_app_id: seed.aiven_app_id.clone(),
            managed_service_principals: Vec::new(),
            tokens: vec![seed.aiven_token.clone()],
            tokens_without_organization_networking: Vec::new(),
            ids: IdGenerator::new("aiven"),
        }
    }

    /// Whether `token` is a valid Aiven API token.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.tokens
            .iter()
            .chain(&self.tokens_without_organization_networking)
            .any(|known| known.expose() == token)
    }

    /// Whether `token` carries the organization networking permission.
    pub fn token_has_organization_networking(&self, token: &str) -> bool {
        self.tokens.iter().any(|known| known.expose() == token)
    }

    /// The project named `name` (Aiven project names are case-sensitive).
    pub fn project(&self, name: &str) -> Option<&AivenProject> {
        self.owner(OwnerKind::Project, name)
    }

    /// The organization with id `id`.
    pub fn organization(&self, id: &str) -> Option<&AivenProject> {
        self.owner(OwnerKind::Organization, id)
    }

    /// The project or organization `name`.
    pub fn owner(&self, kind: OwnerKind, name: &str) -> Option<&AivenProject> {
        self.projects
            .iter()
            .find(|p| p.kind == kind && p.name == name)
    }

    /// A project VPC.
    pub fn vpc(&self, project: &str, vpc_id: &str) -> Option<&ProjectVpc> {
        self.vpc_of(OwnerKind::Project, project, vpc_id)
    }

    /// A VPC of a project or organization.
    pub fn vpc_of(&self, kind: OwnerKind, owner: &str, vpc_id: &str) -> Option<&ProjectVpc> {
        self.owner(kind, owner)?
            .vpcs
            .iter()
            .find(|v| v.project_vpc_id.eq_ignore_ascii_case(vpc_id))
    }

    /// A project VPC, mutable.
    pub fn vpc_mut(&mut self, project: &str, vpc_id: &str) -> Option<&mut ProjectVpc> {
        self.vpc_of_mut(OwnerKind::Project, project, vpc_id)
    }

    /// A VPC of a project or organization, mutable.
    pub fn vpc_of_mut(
        &mut self,
        kind: OwnerKind,
        owner: &str,
        vpc_id: &str,
    ) -> Option<&mut ProjectVpc> {
        self.projects
            .iter_mut()
            .find(|p| p.kind == kind && p.name == owner)?
            .vpcs
            .iter_mut()
            .find(|v| v.project_vpc_id.eq_ignore_ascii_case(vpc_id))
    }

    /// The connection with id `peering_connection_id`, with its VPC.
    pub fn connection(
        &self,
        peering_connection_id: &str,
    ) -> Option<(&ProjectVpc, &PeeringConnection)> {
        self.projects
            .iter()
            .flat_map(|p| p.vpcs.iter())
            .find_map(|vpc| {
                vpc.peering_connections
                    .iter()
                    .find(|c| c.peering_connection_id == peering_connection_id)
                    .map(|c| (vpc, c))
            })
    }

    fn connection_mut(&mut self, peering_connection_id: &str) -> Option<&mut PeeringConnection> {
        self.projects
            .iter_mut()
            .flat_map(|p| p.vpcs.iter_mut())
            .flat_map(|vpc| vpc.peering_connections.iter_mut())
            .find(|c| c.peering_connection_id == peering_connection_id)
    }

    fn all_connections(&self) -> impl Iterator<Item = (&ProjectVpc, &PeeringConnection)> {
        self.projects
            .iter()
            .flat_map(|p| p.vpcs.iter())
            .flat_map(|vpc| vpc.peering_connections.iter().map(move |c| (vpc, c)))
    }
}

impl World {
    /// Test helper: a second project VPC in `project` (created if missing), backed by a new VNet
    /// named `vnet_name` in Aiven's subscription and resource group. Returns (project VPC id,
    /// Aiven VNet id).
    pub fn add_project_vpc(
        &mut self,
        seed: &Seed,
        project: &str,
        cloud_name: &str,
        network_cidr: &str,
        vnet_name: &str,
    ) -> Option<(String, String)> {
        let vnet = self.arm.add_vnet(
            &seed.aiven_subscription_id,
            &seed.aiven_resource_group,
            vnet_name,
            &seed.location,
            &[network_cidr],
        )?;
        let vpc_id = self.aiven.ids.next_id();
        if self.aiven.project(project).is_none() {
            self.aiven.projects.push(AivenProject {
                name: project.to_owned(),
                kind: OwnerKind::Project,
                vpcs: Vec::new(),
            });
        }
        let project = self
            .aiven
            .projects
            .iter_mut()
            .find(|p| p.kind == OwnerKind::Project && p.name == project)?;
        project.vpcs.push(ProjectVpc {
            project_vpc_id: vpc_id.clone(),
            organization_id: None,
            display_name: None,
            cloud_name: cloud_name.to_owned(),
            network_cidr: network_cidr.to_owned(),
            state: "ACTIVE".to_owned(),
            azure_vnet_id: vnet.clone(),
            create_time: SEEDED_TIME.to_owned(),
            update_time: SEEDED_TIME.to_owned(),
            peering_connections: Vec::new(),
        });
        Some((vpc_id, vnet))
    }

    /// The seeded organization and its VPC (in the seed's cloud, backed by its own VNet).
    pub(crate) fn seed_organization_vpc(&mut self, seed: &Seed) {
        let vnet = self
            .arm
            .add_vnet(
                &seed.aiven_subscription_id,
                &seed.aiven_resource_group,
                &seed.aiven_organization_vnet_name,
                &seed.location,
                &[&seed.aiven_organization_vpc_cidr],
            )
            .unwrap_or_else(|| seed.aiven_organization_vnet_id.clone());
        self.aiven.projects.push(AivenProject {
            name: seed.aiven_organization_id.clone(),
            kind: OwnerKind::Organization,
            vpcs: vec![ProjectVpc {
                project_vpc_id: seed.aiven_organization_vpc_id.clone(),
                organization_id: Some(seed.aiven_organization_id.clone()),
                display_name: Some("shared-switzerland".to_owned()),
                cloud_name: seed.aiven_cloud_name.clone(),
                network_cidr: seed.aiven_organization_vpc_cidr.clone(),
                state: "ACTIVE".to_owned(),
                azure_vnet_id: vnet,
                create_time: SEEDED_TIME.to_owned(),
                update_time: SEEDED_TIME.to_owned(),
                peering_connections: Vec::new(),
            }],
        });
    }

    /// Test helper: a further organization VPC of the seeded organization, in `cloud_name`
    /// (not backed by a VNet: for clouds other than Azure). Returns its id.
    pub fn add_organization_vpc(
        &mut self,
        seed: &Seed,
        cloud_name: &str,
        network_cidr: &str,
    ) -> Option<String> {
        let vpc_id = self.aiven.ids.next_id();
        let organization =
            self.aiven.projects.iter_mut().find(|p| {
                p.kind == OwnerKind::Organization && p.name == seed.aiven_organization_id
            })?;
        organization.vpcs.push(ProjectVpc {
            project_vpc_id: vpc_id.clone(),
            organization_id: Some(seed.aiven_organization_id.clone()),
            display_name: Some(format!("vpc-{cloud_name}")),
            cloud_name: cloud_name.to_owned(),
            network_cidr: network_cidr.to_owned(),
            state: "ACTIVE".to_owned(),
            azure_vnet_id: String::new(),
            create_time: SEEDED_TIME.to_owned(),
            update_time: SEEDED_TIME.to_owned(),
            peering_connections: Vec::new(),
        });
        Some(vpc_id)
    }

    /// Test helper: deletes a peering connection out of band, at once (as if someone deleted it
    /// in Aiven's console and Aiven had finished): Aiven's side in Azure goes with it.
    pub fn remove_aiven_connection(&mut self, peering_connection_id: &str, now: Instant) -> bool {
        if self.aiven.connection(peering_connection_id).is_none() {
            return false;
        }
        delete_connection(self, peering_connection_id, now);
        true
    }

    /// Test helper: removes Aiven's own Azure peering of a connection out of band (as if someone
    /// deleted it in Aiven's subscription). Aiven then reports `DELETED_BY_PEER`.
    pub fn remove_aiven_side_peering(&mut self, peering_connection_id: &str, now: Instant) -> bool {
        let Some((vpc, connection)) = self.aiven.connection(peering_connection_id) else {
            return false;
        };
        let Some(side) = connection.aiven_side.clone() else {
            return false;
        };
        let vnet = vpc.azure_vnet_id.clone();
        self.arm
            .remove_peering(&vnet, &side.peering_name, now)
            .is_some()
    }
}

/// One delayed effect that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// An ARM peering's DELETE completed.
    PeeringRemoved { vnet_id: String, name: String },
    /// Aiven ran its checks on an `APPROVED` connection.
    Setup { connection: String },
    /// Aiven noticed the customer's peering is `Connected`.
    Activate { connection: String },
    /// Aiven's own peering went `Disconnected` (the customer's peering was deleted): Aiven
    /// re-creates its side and waits for the customer again.
    ResetAivenSide { connection: String },
    /// Aiven's own peering disappeared (removed outside Aiven).
    DeletedByPeer { connection: String },
    /// A `DELETING` connection is gone.
    Deleted { connection: String },
}

/// Applies every delayed effect due by `now`, in time order, so that what a handler reads is the
/// world as it would be at `now`. `utc_now` is the wall-clock time of `now` (for timestamps).
pub fn settle(world: &mut World, knobs: &Knobs, now: Instant, utc_now: OffsetDateTime) {
    // Each event changes the state that made it due, so the loop ends; the bound is a guard
    // against a bug turning into a hang.
    for _ in 0..10_000 {
        let Some((at, event)) = next_event(world, knobs, now) else {
            return;
        };
        apply(world, knobs, at, event, now, utc_now);
    }
    tracing::warn!("emulator settle loop did not converge");
}

fn next_event(world: &World, knobs: &Knobs, now: Instant) -> Option<(Instant, Event)> {
    let mut best: Option<(Instant, Event)> = None;
    let mut consider = |at: Instant, event: Event| {
        if at <= now && best.as_ref().is_none_or(|(best_at, _)| at < *best_at) {
            best = Some((at, event));
        }
    };
    if let Some((at, vnet_id, name)) = world.arm.next_peering_removal(knobs, now) {
        consider(at, Event::PeeringRemoved { vnet_id, name });
    }
    for (vpc, connection) in world.aiven.all_connections() {
        let id = connection.peering_connection_id.clone();
        match connection.state {
            PeeringConnectionState::Approved => consider(
                connection.state_since + knobs.aiven_peering_setup,
                Event::Setup { connection: id },
            ),
            PeeringConnectionState::Deleting => consider(
                connection.state_since + knobs.aiven_peering_deletion,
                Event::Deleted { connection: id },
            ),
            PeeringConnectionState::PendingPeer | PeeringConnectionState::Active => {
                let Some(side) = &connection.aiven_side else {
                    continue;
                };
                match world.arm.peering(&vpc.azure_vnet_id, &side.peering_name) {
                    None => consider(now, Event::DeletedByPeer { connection: id }),
                    Some(own) => {
                        if let Some(disconnected) = own.disconnected_at {
                            consider(disconnected, Event::ResetAivenSide { connection: id });
                        } else if connection.state == PeeringConnectionState::PendingPeer
                            && let Some(connected) =
                                customer_peering_connected_since(world, vpc, connection, now)
                        {
                            consider(
                                connected.max(connection.state_since)
                                    + knobs.aiven_peering_activation,
                                Event::Activate { connection: id },
                            );
                        }
                    }
                }
            }
            PeeringConnectionState::InvalidSpecification
            | PeeringConnectionState::DeletedByPeer => {}
        }
    }
    best
}

/// Since when the customer's peering towards this VPC's VNet is `Connected`, if it is.
fn customer_peering_connected_since(
    world: &World,
    vpc: &ProjectVpc,
    connection: &PeeringConnection,
    now: Instant,
) -> Option<Instant> {
    let customer_vnet = world.arm.canonical_vnet_id(&vnet_id(
        &connection.peer_cloud_account,
        &connection.peer_resource_group,
        &connection.peer_vpc,
    ))?;
    let vnet = world.arm.vnet_by_id(&customer_vnet)?;
    let aiven_vnet = normalize_scope(&vpc.azure_vnet_id);
    vnet.peerings
        .iter()
        .filter(|p| normalize_scope(&p.remote_vnet_id) == aiven_vnet)
        .filter_map(|p| world.arm.connected_since(&customer_vnet, p, now))
        .min()
}

fn apply(
    world: &mut World,
    knobs: &Knobs,
    at: Instant,
    event: Event,
    now: Instant,
    utc_now: OffsetDateTime,
) {
    let stamp = aiven_time(utc_of(at, now, utc_now));
    match event {
        Event::PeeringRemoved { vnet_id, name } => {
            world.arm.remove_peering(&vnet_id, &name, at);
        }
        Event::Setup { connection } => setup(world, knobs, &connection, at, &stamp),
        Event::Activate { connection } => {
            if let Some(c) = world.aiven.connection_mut(&connection) {
                c.state = PeeringConnectionState::Active;
                c.state_since = at;
                c.update_time = stamp;
                if let Some(serde_json::Value::Object(info)) = &mut c.state_info {
                    info.insert("message".to_owned(), json!("Peering connection is active"));
                    info.insert("type".to_owned(), json!("active"));
                }
            }
        }
        Event::ResetAivenSide { connection } => {
            let Some((vpc, c)) = world.aiven.connection(&connection) else {
                return;
            };
            let vnet = vpc.azure_vnet_id.clone();
            let peering_name = c.aiven_side.as_ref().map(|s| s.peering_name.clone());
            if let Some(name) = peering_name
                && let Some(own) = world
                    .arm
                    .vnet_by_id_mut(&vnet)
                    .and_then(|v| v.peerings.iter_mut().find(|p| p.name == name))
            {
                // Re-created: a fresh peering that is `Initiated` until the customer comes back.
                own.disconnected_at = None;
                own.provisioned_at = at;
                own.version += 1;
            }
            if let Some(c) = world.aiven.connection_mut(&connection) {
                c.state = PeeringConnectionState::PendingPeer;
                c.state_since = at;
                c.update_time = stamp;
                if let Some(serde_json::Value::Object(info)) = &mut c.state_info {
                    info.insert("message".to_owned(), json!(pending_peer_message()));
                    info.insert("type".to_owned(), json!("pending-peer"));
                }
            }
        }
        Event::DeletedByPeer { connection } => {
            if let Some(c) = world.aiven.connection_mut(&connection) {
                c.state = PeeringConnectionState::DeletedByPeer;
                c.state_since = at;
                c.update_time = stamp;
                c.state_info = Some(json!({
                    "message": "The Azure virtual network peering from the Aiven VNet was deleted; delete this peering connection and create it again",
                    "type": "deleted-by-peer",
                }));
            }
        }
        Event::Deleted { connection } => delete_connection(world, &connection, at),
    }
}

fn pending_peer_message() -> &'static str {
    "Aiven has created its side of the peering. Create the peering from your Azure virtual network to the Aiven virtual network (to-network-id) with an auxiliary token for tenant to-tenant-id"
}

/// Aiven's checks of docs/development/cross-api-rules.md, 'Preconditions' (e), run when an
/// `APPROVED` connection is processed. `Err` holds the `state_info.message` of
/// `INVALID_SPECIFICATION`.
fn check_specification(
    world: &World,
    knobs: &Knobs,
    vpc: &ProjectVpc,
    c: &PeeringConnection,
    at: Instant,
) -> Result<String, String> {
    let names = [
        ("peer_cloud_account", &c.peer_cloud_account),
        ("peer_resource_group", &c.peer_resource_group),
        ("peer_vpc", &c.peer_vpc),
        ("peer_azure_app_id", &c.peer_azure_app_id),
        ("peer_azure_tenant_id", &c.peer_azure_tenant_id),
    ];
    // Aiven's side looks the VNet up with the strings as given and compares them as strings:
    // anything but lower case fails to match (docs/development/aiven.md, 'Create a peering
    // connection (project VPC)').
    let not_lower: Vec<&str> = names
        .iter()
        .filter(|(_, value)| value.chars().any(|ch| ch.is_ascii_uppercase()))
        .map(|(field, _)| *field)
        .collect();
    let vnet = world
        .arm
        .vnet(&c.peer_cloud_account, &c.peer_resource_group, &c.peer_vpc);
    let Some(vnet) = vnet.filter(|_| not_lower.is_empty()) else {
        let mut message = format!(
            "Azure virtual network '{}' in resource group '{}' of subscription '{}' was not found",
            c.peer_vpc, c.peer_resource_group, c.peer_cloud_account
        );
        if !not_lower.is_empty() {
            message.push_str(&format!(
                " (names must be given in lower case; not lower case: {})",
                not_lower.join(", ")
            ));
        }
        return Err(message);
    };
    let customer_vnet = world
        .arm
        .canonical_vnet_id(&vnet_id(
            &c.peer_cloud_account,
            &c.peer_resource_group,
            &c.peer_vpc,
        ))
        .unwrap_or_default();
    let subscription_tenant = world
        .arm
        .tenant_of_subscription(&c.peer_cloud_account)
        .unwrap_or_default();
    if !subscription_tenant.eq_ignore_ascii_case(&c.peer_azure_tenant_id) {
        return Err(format!(
            "Subscription '{}' does not belong to Azure tenant '{}'",
            c.peer_cloud_account, c.peer_azure_tenant_id
        ));
    }
    match world.identity.application_by_app_id(&c.peer_azure_app_id) {
        None => {
            return Err(format!(
                "Azure application '{}' was not found",
                c.peer_azure_app_id
            ));
        }
        Some(app) if !app.is_multi_tenant() => {
            return Err(format!(
                "Azure application '{}' is not multi-tenant (signInAudience {}); Aiven cannot sign in to it from its own tenant",
                c.peer_azure_app_id, app.sign_in_audience
            ));
        }
        Some(_) => {}
    }
    let aiven_app = &world.aiven.aiven_app_id;
    let aiven_sp = world
        .identity
        .service_principal_by_app(&c.peer_azure_tenant_id, aiven_app)
        .filter(|sp| {
            world
                .identity
                .service_principal(&c.peer_azure_tenant_id, &sp.id, at)
                .is_some()
        });
    let Some(aiven_sp) = aiven_sp else {
        return Err(format!(
            "Aiven's application '{aiven_app}' has no service principal in Azure tenant '{}'",
            c.peer_azure_tenant_id
        ));
    };
    if !world.arm.principal_can(
        &aiven_sp.id,
        PEER_ACTION,
        &customer_vnet,
        at,
        knobs.rbac_propagation,
    ) {
        return Err(format!(
            "Aiven's service principal '{}' does not have permission to perform '{PEER_ACTION}' on virtual network '{customer_vnet}'",
            aiven_sp.id
        ));
    }
    if let Some(prefix) = first_overlap(
        &vnet.address_prefixes,
        std::slice::from_ref(&vpc.network_cidr),
    ) {
        return Err(format!(
            "The address space {prefix} of Azure virtual network '{customer_vnet}' overlaps with the project VPC network {}",
            vpc.network_cidr
        ));
    }
    Ok(customer_vnet)
}

fn setup(world: &mut World, knobs: &Knobs, connection: &str, at: Instant, stamp: &str) {
    let Some((vpc, c)) = world.aiven.connection(connection) else {
        return;
    };
    let verdict = check_specification(world, knobs, vpc, c, at);
    let vpc_vnet = vpc.azure_vnet_id.clone();
    let app_id = c.peer_azure_app_id.to_ascii_lowercase();
    let aiven_tenant = world.aiven.aiven_tenant_id.clone();
    let customer_vnet = match verdict {
        Err(message) => {
            if let Some(c) = world.aiven.connection_mut(connection) {
                c.state = PeeringConnectionState::InvalidSpecification;
                c.state_since = at;
                c.update_time = stamp.to_owned();
                c.state_info = Some(json!({"message": message, "type": "invalid-specification"}));
            }
            return;
        }
        Ok(customer_vnet) => customer_vnet,
    };

    // 1. A service principal for the customer's app in Aiven's tenant.
    if world
        .identity
        .service_principal_by_app(&aiven_tenant, &app_id)
        .is_none()
        && !world.aiven.managed_service_principals.contains(&app_id)
    {
        world.aiven.managed_service_principals.push(app_id.clone());
    }
    let service_principal_id = world
        .identity
        .ensure_service_principal(&aiven_tenant, &app_id, at);

    // 2. Peer rights for it on Aiven's VNet.
    let assignment_name = ArmWorld::derived_assignment_name(
        &vpc_vnet,
        NETWORK_CONTRIBUTOR_ROLE_ID,
        &service_principal_id,
    );
    if !world
        .arm
        .role_assignments
        .iter()
        .any(|a| a.name.eq_ignore_ascii_case(&assignment_name))
    {
        world.arm.insert_role_assignment(RoleAssignment {
            name: assignment_name.clone(),
            scope: vpc_vnet.clone(),
            tenant_id: aiven_tenant.clone(),
            role_definition_guid: NETWORK_CONTRIBUTOR_ROLE_ID.to_owned(),
            principal_id: service_principal_id.clone(),
            principal_type: "ServicePrincipal".to_owned(),
            description: Some("Aiven: peering from the customer's VNet".to_owned()),
            created_on: stamp.to_owned(),
            created_by: None,
            created_at: Some(at),
        });
    }

    // 3. Aiven's own peering, Aiven VNet → customer VNet.
    let peering_name = format!("aiven-{connection}");
    let remote_prefixes = world
        .arm
        .vnet_by_id(&customer_vnet)
        .map(|v| v.address_prefixes.clone())
        .unwrap_or_default();
    let resource_guid = world.arm.ids.next_id();
    if let Some(vnet) = world.arm.vnet_by_id_mut(&vpc_vnet) {
        vnet.peerings.retain(|p| p.name != peering_name);
        vnet.peerings.push(VnetPeering {
            name: peering_name.clone(),
            remote_vnet_id: customer_vnet,
            allow_virtual_network_access: true,
            allow_forwarded_traffic: false,
            allow_gateway_transit: false,
            use_remote_gateways: false,
            resource_guid,
            remote_address_prefixes: remote_prefixes,
            version: 1,
            provisioned_at: at,
            updating_until: None,
            deleting_since: None,
            disconnected_at: None,
        });
    }

    if let Some(c) = world.aiven.connection_mut(connection) {
        c.state = PeeringConnectionState::PendingPeer;
        c.state_since = at;
        c.update_time = stamp.to_owned();
        c.state_info = Some(json!({
            "message": pending_peer_message(),
            "to-tenant-id": aiven_tenant,
            "to-network-id": vpc_vnet,
            "type": "pending-peer",
        }));
        c.aiven_side = Some(AivenSide {
            peering_name,
            assignment_name,
            service_principal_id,
        });
    }
}

/// The end of a DELETE: Aiven removes its peering (the customer's becomes `Disconnected`), and
/// the service principal and role assignment it made once no other connection needs them.
fn delete_connection(world: &mut World, connection: &str, at: Instant) {
    let Some((vpc, c)) = world.aiven.connection(connection) else {
        return;
    };
    let vpc_vnet = vpc.azure_vnet_id.clone();
    let side = c.aiven_side.clone();
    let app_id = c.peer_azure_app_id.to_ascii_lowercase();
    for project in &mut world.aiven.projects {
        for vpc in &mut project.vpcs {
            vpc.peering_connections
                .retain(|c| c.peering_connection_id != connection);
        }
    }
    let Some(side) = side else {
        return;
    };
    world.arm.remove_peering(&vpc_vnet, &side.peering_name, at);
    let still_needed = |world: &World, matches: &dyn Fn(&AivenSide, &PeeringConnection) -> bool| {
        world
            .aiven
            .all_connections()
            .any(|(_, other)| other.aiven_side.as_ref().is_some_and(|s| matches(s, other)))
    };
    let assignment = side.assignment_name.clone();
    if !still_needed(world, &|s, _| {
        s.assignment_name.eq_ignore_ascii_case(&assignment)
    }) {
        world.arm.remove_role_assignment(&assignment);
    }
    if !still_needed(world, &|_, other| {
        other.peer_azure_app_id.eq_ignore_ascii_case(&app_id)
    }) && world.aiven.managed_service_principals.contains(&app_id)
    {
        let aiven_tenant = world.aiven.aiven_tenant_id.clone();
        world
            .identity
            .remove_service_principal_of_app(&aiven_tenant, &app_id);
        world
            .aiven
            .managed_service_principals
            .retain(|a| a != &app_id);
    }
}

/// The fields of a create request that Aiven keeps (docs/development/aiven.md, 'Create a peering
/// connection (project VPC)').
#[derive(Debug, Clone)]
pub struct CreatePeeringRequest {
    pub peer_cloud_account: String,
    pub peer_vpc: String,
    pub peer_resource_group: String,
    pub peer_azure_app_id: String,
    pub peer_azure_tenant_id: String,
    pub user_peer_network_cidrs: Vec<String>,
}

/// The peer fields that identify a connection in a DELETE path (the resource group is absent
/// in the form without it).
#[derive(Debug, Clone, Copy)]
pub struct PeerKey<'a> {
    pub cloud_account: &'a str,
    pub resource_group: Option<&'a str>,
    pub vpc: &'a str,
}

/// Why a create was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatePeeringError {
    /// The project or VPC does not exist.
    NotFound(String),
    /// The same (account, resource group, VNet) already has a connection on this VPC.
    AlreadyExists(String),
}

impl AivenWorld {
    /// Creates an `APPROVED` connection (docs/development/aiven.md, 'Create a peering connection
    /// (project VPC)').
    pub fn create_peering(
        &mut self,
        project: &str,
        vpc_id: &str,
        request: CreatePeeringRequest,
        now: Instant,
        utc_now: OffsetDateTime,
    ) -> Result<PeeringConnection, CreatePeeringError> {
        self.create_peering_in(OwnerKind::Project, project, vpc_id, request, now, utc_now)
    }

    /// [`AivenWorld::create_peering`] on a VPC of a project or an organization.
    pub fn create_peering_in(
        &mut self,
        kind: OwnerKind,
        owner: &str,
        vpc_id: &str,
        request: CreatePeeringRequest,
        now: Instant,
        utc_now: OffsetDateTime,
    ) -> Result<PeeringConnection, CreatePeeringError> {
        let id = self.ids.next_id();
        let vpc = self
            .vpc_of_mut(kind, owner, vpc_id)
            .ok_or_else(|| CreatePeeringError::NotFound("Project VPC does not exist".to_owned()))?;
        if vpc.peering_connections.iter().any(|c| {
            c.peer_cloud_account == request.peer_cloud_account
                && c.peer_resource_group == request.peer_resource_group
                && c.peer_vpc == request.peer_vpc
        }) {
            return Err(CreatePeeringError::AlreadyExists(format!(
                "Peering connection to {}/{}/{} already exists",
                request.peer_cloud_account, request.peer_resource_group, request.peer_vpc
            )));
        }
        let stamp = aiven_time(utc_now);
        let connection = PeeringConnection {
            peering_connection_id: id,
            peer_cloud_account: request.peer_cloud_account,
            peer_vpc: request.peer_vpc,
            peer_resource_group: request.peer_resource_group,
            peer_azure_app_id: request.peer_azure_app_id,
            peer_azure_tenant_id: request.peer_azure_tenant_id,
            user_peer_network_cidrs: request.user_peer_network_cidrs,
            state: PeeringConnectionState::Approved,
            state_info: None,
            create_time: stamp.clone(),
            update_time: stamp,
            aiven_side: None,
            created_at: now,
            state_since: now,
        };
        vpc.peering_connections.push(connection.clone());
        Ok(connection)
    }

    /// Starts deleting the connection matching the peer fields exactly (docs/development/aiven.md,
    /// 'Delete a peering connection (project VPC)'). Returns it in `DELETING`.
    pub fn delete_peering(
        &mut self,
        project: &str,
        vpc_id: &str,
        peer: &PeerKey<'_>,
        now: Instant,
        utc_now: OffsetDateTime,
    ) -> Option<PeeringConnection> {
        let vpc = self.vpc_mut(project, vpc_id)?;
        let connection = vpc.peering_connections.iter_mut().find(|c| {
            c.peer_cloud_account == peer.cloud_account
                && c.peer_vpc == peer.vpc
                && peer
                    .resource_group
                    .is_none_or(|rg| c.peer_resource_group == rg)
        })?;
        Some(start_deleting(connection, now, utc_now))
    }

    /// Starts deleting the connection of an organization VPC by its id
    /// (docs/development/aiven.md, 'Organization VPCs'). Returns it in `DELETING`.
    pub fn delete_peering_by_id(
        &mut self,
        organization: &str,
        vpc_id: &str,
        peering_connection_id: &str,
        now: Instant,
        utc_now: OffsetDateTime,
    ) -> Option<PeeringConnection> {
        let vpc = self.vpc_of_mut(OwnerKind::Organization, organization, vpc_id)?;
        let connection = vpc.peering_connections.iter_mut().find(|c| {
            c.peering_connection_id
                .eq_ignore_ascii_case(peering_connection_id)
        })?;
        Some(start_deleting(connection, now, utc_now))
    }

    /// `PUT .../user-peer-network-cidrs`: adds each range to the connection its peer fields
    /// name (compared exactly), and removes the deleted ranges from every connection of the
    /// VPC. `None` when the VPC does not exist; `Err` names an `add` entry that matches no
    /// connection.
    pub fn update_user_peer_network_cidrs(
        &mut self,
        kind: OwnerKind,
        owner: &str,
        vpc_id: &str,
        add: &[CidrAddition],
        delete: &[String],
        utc_now: OffsetDateTime,
    ) -> Option<Result<(), String>> {
        let vpc = self.vpc_of_mut(kind, owner, vpc_id)?;
        let stamp = aiven_time(utc_now);
        for addition in add {
            let Some(connection) = vpc.peering_connections.iter_mut().find(|c| {
                c.peer_cloud_account == addition.peer_cloud_account
                    && c.peer_vpc == addition.peer_vpc
                    && c.peer_resource_group == addition.peer_resource_group
            }) else {
                return Some(Err(format!(
                    "No peering connection to {}/{}/{}",
                    addition.peer_cloud_account, addition.peer_resource_group, addition.peer_vpc
                )));
            };
            if !connection.user_peer_network_cidrs.contains(&addition.cidr) {
                connection
                    .user_peer_network_cidrs
                    .push(addition.cidr.clone());
                connection.update_time = stamp.clone();
            }
        }
        for connection in &mut vpc.peering_connections {
            let before = connection.user_peer_network_cidrs.len();
            connection
                .user_peer_network_cidrs
                .retain(|cidr| !delete.contains(cidr));
            if connection.user_peer_network_cidrs.len() != before {
                connection.update_time = stamp.clone();
            }
        }
        Some(Ok(()))
    }
}

/// One `add` entry of a `user-peer-network-cidrs` update.
#[derive(Debug, Clone)]
pub struct CidrAddition {
    pub cidr: String,
    pub peer_cloud_account: String,
    pub peer_resource_group: String,
    pub peer_vpc: String,
}

/// Moves a connection to `DELETING` (once) and returns it.
fn start_deleting(
    connection: &mut PeeringConnection,
    now: Instant,
    utc_now: OffsetDateTime,
) -> PeeringConnection {
    if connection.state != PeeringConnectionState::Deleting {
        connection.state = PeeringConnectionState::Deleting;
        connection.state_since = now;
        connection.update_time = aiven_time(utc_now);
    }
    connection.clone()
}
