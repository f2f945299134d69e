//! Resources `vnetpeer_aiven_vpc_peering` and `vnetpeer_aiven_org_vpc_peering`: runbook step 6,
//! "ask Aiven to peer the VPC with the customer VNet, wait for PENDING_PEER, capture Aiven's
//! tenant id and VNet id" (docs/development/aiven.md, 'Create a peering connection (project
//! VPC)' through 'Delete a peering connection (project VPC)', and 'Organization VPCs').
//!
//! One Aiven peering model with two addressings ([`Addressing`]): a project VPC
//! (`project`, `project_vpc_id`) or an organization VPC (`organization_id`,
//! `organization_vpc_id`). Everything below is the same for both; the client's [`VpcAddress`]
//! carries the difference in paths (and the organization API's delete by id).
//!
//! - Plan (create): a preflight reads the VNet's address space (ARM) and the VPC (Aiven), and
//!   stops the plan on an address overlap or on a connection that already exists for the VNet,
//!   instead of letting Aiven reject it minutes into the apply. It runs as soon as the VPC and
//!   `vnet_id` are known, whatever else is not (the app of the same apply), so the plan of the
//!   whole runbook catches an overlap before anything is created.
//! - Update: a change of `user_peer_network_cidrs` is sent through Aiven's update endpoint, in
//!   place; every other argument forces a new connection.
//! - Create: refuse to adopt an existing connection (the error carries the import command), POST,
//!   then poll the VPC until the connection leaves `APPROVED`. The existing-connection check uses
//!   the VPC read of the preflight that Terraform's apply-time re-plan ran moments earlier in the
//!   same process (at most [`PLANNED_READ_REUSE`] old, used once), and reads the VPC itself only
//!   without one, so a create sends the POST and its polls, nothing else. (A connection made in
//!   the milliseconds between would make the POST answer 409, reported the same way.) Aiven
//!   checks Azure RBAC when it builds its side, and a role assignment made moments earlier may
//!   not have propagated yet, so the client retries an `INVALID_SPECIFICATION` about a missing
//!   permission or service principal (delete the failed connection, wait until it is gone,
//!   back off, create again) within [`crate::aiven::PROPAGATION_RETRY_WINDOW`] and the create
//!   timeout. Any other failure deletes the half-made connection and explains the cause from
//!   `state_info.message`.
//! - Refresh: missing, `DELETING`, `DELETED` or `DELETED_BY_PEER` is gone (Terraform plans a
//!   re-create). `aiven_tenant_id` / `aiven_vnet_id` keep their values when Aiven stops
//!   reporting them.
//! - Delete: DELETE, then wait until Aiven no longer lists the connection.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::aiven::{
    AIVEN_APP_ID, AzurePeeringRequest, CidrChanges, ClearingError, CreateError, CreateOutcome,
    PeerVnet, PeeringConnection, Rejection, RejectionCause, VpcAddress, VpcKind, is_uuid,
};
use crate::azure::arm::PEER_ACTION;
use crate::azure::ids::VirtualNetworkId;
use crate::cidr;
use crate::cloud::CloudError;
use crate::framework::ListResource;
use crate::framework::{
    Attribute, AttributeValue, Block, CreateRequest, Diagnostic, Diagnostics, Failure,
    Identity as ResourceIdentity, Model, MoveSource, ObjectExt, PlannedChange, Resource, Schema,
    Severity, StringSet, Timeouts, UpdateRequest, Validator, model, validators,
};
use crate::resources::Ctx;
use crate::value::{Type, Value};
use std::sync::Arc;

use super::ProviderData;
use super::identity;
use super::support::{aiven_peer, call_context, checks, cloud_diagnostic, required_str};

/// `list "vnetpeer_aiven_vpc_peering"` and `list "vnetpeer_aiven_org_vpc_peering"` for
/// `terraform query`.
pub mod list;

/// The `vnetpeer_aiven_vpc_peering` resource (a project VPC) or the
/// `vnetpeer_aiven_org_vpc_peering` resource (an organization VPC).
pub struct AivenVpcPeering(pub Addressing);

/// Which kind of Aiven VPC a peering resource addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// `project` + `project_vpc_id`.
    Project,
    /// `organization_id` + `organization_vpc_id`.
    Organization,
}

impl Addressing {
    /// Both kinds, project first.
    pub const BOTH: [Addressing; 2] = [Addressing::Project, Addressing::Organization];

    /// The resource type.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Project => "vnetpeer_aiven_vpc_peering",
            Self::Organization => "vnetpeer_aiven_org_vpc_peering",
        }
    }

    /// The attribute naming the VPC's owner.
    pub(super) fn owner_attribute(self) -> &'static str {
        match self {
            Self::Project => ProjectVpc::project,
            Self::Organization => OrganizationVpc::organization_id,
        }
    }

    /// The attribute holding the VPC id.
    pub(super) fn vpc_attribute(self) -> &'static str {
        match self {
            Self::Project => ProjectVpc::project_vpc_id,
            Self::Organization => OrganizationVpc::organization_vpc_id,
        }
    }

    /// The kind of VPC it addresses.
    pub(super) fn kind(self) -> VpcKind {
        match self {
            Self::Project => VpcKind::Project,
            Self::Organization => VpcKind::Organization,
        }
    }

    /// "project VPC" or "organization VPC".
    pub(super) fn vpc_kind(self) -> &'static str {
        self.kind().noun()
    }

    /// The import id's form.
    fn id_form(self) -> &'static str {
        match self {
            Self::Project => "<project>/<project_vpc_id><vnet_id>",
            Self::Organization => "organization/<organization_id>/<organization_vpc_id><vnet_id>",
        }
    }

    /// The attributes that say which VPC to peer.
    fn vpc_attributes(self) -> [Attribute; 2] {
        let (owner_description, owner_form, lookup) = match self {
            Self::Project => (
                "Name of the Aiven project, e.g. `acme-prod`.",
                "an Aiven project name such as `acme-prod`",
                "vnetpeer_aiven_project_vpc",
            ),
            Self::Organization => (
                "Id of the Aiven organization that owns the VPC, e.g. \
                         `org1a2b3c4d5e6`. The Aiven token needs the organization permission \
                         `organization:networking:write`.",
                "an Aiven organization id such as `org1a2b3c4d5e6`",
                "vnetpeer_aiven_organization_vpc",
            ),
        };
        [
            Attribute::string(self.owner_attribute())
                .required()
                .force_new()
                .description(owner_description)
                .validate(owner_name(owner_form)),
            Attribute::string(self.vpc_attribute())
                .required()
                .force_new()
                .description(format!(
                    "Id of the {} to peer (a UUID), e.g. from the `{lookup}` data source.",
                    self.vpc_kind()
                ))
                .validate(checks::uuid()),
        ]
    }

    fn summary(self) -> String {
        let (what, lookup, example) = match self {
            Self::Project => (
                "a project VPC",
                "",
                "`acme-prod/99999999-9999-9999-9999-999999999999/subscriptions/.../resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet`",
            ),
            Self::Organization => (
                "an organization VPC (shared by the organization's projects)",
                " The token needs the organization permission `organization:networking:write`; \
                 a refusal names it.",
                "`organization/org1a2b3c4d5e6/99999999-9999-9999-9999-999999999999/subscriptions/.../resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet`",
            ),
        };
        format!(
            "Asks Aiven to peer {what} with an Azure virtual network, and waits until \
             Aiven has built its side (runbook step 6). The connection then is \
             `PENDING_PEER`, and `aiven_tenant_id` / `aiven_vnet_id` hold what the Azure-side \
             peering (`vnetpeer_cross_tenant_vnet_peering`) needs; it becomes `ACTIVE` once \
             that peering is connected.{lookup}\n\n\
             Prerequisites, which Aiven checks when it builds its side: the app \
             `peer_azure_app_id` is multi-tenant; Aiven's application \
             (`55f300d4-fc50-4c5e-9222-e90a6e2187fb`) has a service principal in \
             `peer_azure_tenant_id` holding `Microsoft.Network/virtualNetworks/peer/action` \
             on the VNet; the VNet's address space does not overlap the VPC's range. \
             Make this resource depend on those role assignments.\n\n\
             The plan checks the address spaces and refuses a VNet that already has a \
             connection on the VPC (the error gives the import command: an existing \
             connection is never adopted silently), as soon as the VPC and `vnet_id` are \
             known, even when the app is created in the same apply. A role assignment made \
             moments before may not have reached Aiven yet: a rejection for a missing \
             permission is retried (the failed connection is deleted first) for up to 10 \
             minutes within the create timeout. Other rejections delete the half-made \
             connection and explain the cause. A connection deleted in Aiven, or whose Azure \
             side was deleted (`DELETED_BY_PEER`), is planned for re-creation. A change of \
             `user_peer_network_cidrs` is made in place; every other argument forces a new \
             connection.\n\n\
             Import with `{}`, e.g. {example} (spell `vnet_id` as in the configuration).",
            self.id_form()
        )
    }
}

/// Bound of the plan-time preflight reads (a slow service must not hold up a plan).
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(30);

/// How old the preflight's VPC read may be for the create to rely on it instead of reading the
/// VPC again. Terraform calls ApplyResourceChange right after the apply-time re-plan of the same
/// resource, so the gap is milliseconds; a plan made any earlier ran in another process anyway.
pub const PLANNED_READ_REUSE: Duration = Duration::from_secs(5);

#[async_trait]
impl Resource<ProviderData> for AivenVpcPeering {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn list(&self) -> Option<Arc<dyn ListResource<ProviderData>>> {
        Some(Arc::new(list::AivenVpcPeeringList(self.0)))
    }

    fn identity(&self) -> Option<ResourceIdentity> {
        Some(identity_declaration(self.0))
    }

    fn move_from(&self, source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
        match self.0 {
            Addressing::Project => moved_from(source),
            Addressing::Organization => None,
        }
    }

    fn schema(&self) -> Schema {
        let [owner, vpc] = self.0.vpc_attributes();
        Schema::new(
            Block::new(self.0.summary())
                .attribute(owner)
                .attribute(vpc)
                .attribute(
                    Attribute::string("vnet_id")
                        .required()
                        .force_new()
                        .description(
                            "Resource id of the customer's Azure virtual network. The provider \
                         derives the subscription, resource group and VNet name from it and \
                         sends them to Aiven in lower case, as Aiven requires.",
                        )
                        .validate(checks::virtual_network_id()),
                )
                .attribute(
                    Attribute::string("peer_azure_app_id")
                        .required()
                        .force_new()
                        .case_insensitive()
                        .description(
                            "Client (application) id of the customer's multi-tenant app that will \
                         create the Azure-side peering, e.g. `vnetpeer_aad_app.this.client_id` \
                         (the appId, not the object id).",
                        )
                        .validate(checks::uuid()),
                )
                .attribute(
                    Attribute::string("peer_azure_tenant_id")
                        .required()
                        .force_new()
                        .case_insensitive()
                        .description("Customer tenant id: the tenant of the VNet's subscription.")
                        .validate(checks::uuid()),
                )
                .attribute(
                    Attribute::set("user_peer_network_cidrs", Type::String)
                        .optional()
                        .description(
                            "Private IPv4 ranges Aiven routes through the peering instead of the \
                         VNet's address space. Sent only when set; a change is made in place \
                         through Aiven's update endpoint.",
                        )
                        .validate(validators::each(checks::cidr())),
                )
                .attribute(
                    Attribute::string("id")
                        .computed()
                        .use_state_for_unknown()
                        .description(
                            "`<project>/<project_vpc_id><vnet_id>` for a project VPC, \
                         `organization/<organization_id>/<organization_vpc_id><vnet_id>` for an \
                         organization VPC (the import id; `vnet_id` starts with `/`).",
                        ),
                )
                .attribute(
                    Attribute::string("peering_connection_id")
                        .computed()
                        .use_state_for_unknown()
                        .description("Aiven's id of the peering connection."),
                )
                .attribute(Attribute::string("state").computed().description(
                    "State of the connection: `PENDING_PEER` after create, `ACTIVE` once the \
                 Azure-side peering is connected.",
                ))
                .attribute(
                    Attribute::map("state_info", Type::String)
                        .computed()
                        .description(
                            "Aiven's details about the state (`message`, `type`, and in \
                         `PENDING_PEER` `to-tenant-id` and `to-network-id`), values as strings. \
                         Its content changes with the state: use `aiven_tenant_id` and \
                         `aiven_vnet_id` instead of reading it.",
                        ),
                )
                .attribute(Attribute::string("aiven_tenant_id").computed().description(
                    "Aiven's Entra tenant id (`state_info[\"to-tenant-id\"]`), captured at \
                         create and kept even when Aiven no longer reports it: the tenant of the \
                         auxiliary token for the Azure-side peering.",
                ))
                .attribute(Attribute::string("aiven_vnet_id").computed().description(
                    "Resource id of Aiven's virtual network (`state_info[\"to-network-id\"]`), \
                         captured at create and kept even when Aiven no longer reports it: the \
                         remote VNet of the Azure-side peering.",
                )),
        )
        .with_timeouts(Timeouts::minutes(30, 5, 5, 20))
    }

    async fn modify_plan(&self, ctx: &Ctx, plan: &mut PlannedChange) -> Result<(), Diagnostics> {
        if !plan.is_create() {
            return Ok(());
        }
        // Checked as soon as the VPC and the VNet are known: the app (peer_azure_app_id) is
        // often created in the same apply and unknown here, but the checks do not need it.
        let Ok(peering) = PeeringInputs::from_state(self.0, &plan.planned) else {
            return Ok(());
        };
        let mut findings = preflight(ctx, &peering).await;
        if findings.has_errors() {
            return Err(findings);
        }
        plan.warnings.extend(std::mem::take(&mut findings));
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let peering = PeeringInputs::from_plan(self.0, &request.planned)?;
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);

        // 1. Never adopt an existing connection; the client clears away a dead one (this VNet's
        //    old, deleted connection still blocks a new one in Aiven).
        let (vpc, peer) = (&peering.vpc, peering.peer());
        match aiven
            .live_azure_peering_before_create(&call, vpc, peer, PLANNED_READ_REUSE)
            .await
        {
            Ok(None) => {}
            Ok(Some(live)) => return Err(peering.already_exists(Some(&live)).into()),
            Err(ClearingError::Lookup(error)) => return Err(peering.vpc_diagnostic(&error).into()),
            Err(ClearingError::RemovingDead { state, error }) => {
                return Err(cloud_diagnostic(
                    format!("Cannot remove the old {state} peering connection of this VNet"),
                    &error,
                )
                .into());
            }
        }

        // 2. Create and wait for Aiven's verdict; the client retries permission failures that
        //    are likely RBAC propagation, and deletes what Aiven rejected.
        let mut state = request.planned;
        state.set_attr(Identity::id, peering.resource_id());
        let outcome = aiven
            .create_azure_peering_and_wait(&call, vpc, &peering.request(), ctx.timeout(), |seen| {
                record_connection(&mut state, seen)
            })
            .await;
        let (rejection, cleanup) = match outcome {
            Ok(CreateOutcome::Built(_)) => return Ok(state),
            Ok(CreateOutcome::Rejected { rejection, cleanup }) => (rejection, cleanup),
            Ok(CreateOutcome::Disappeared) => {
                return Err(Diagnostic::error(
                    "The peering connection disappeared during create",
                    format!(
                        "Aiven stopped listing the new connection of {} to VNet {} while it \
                         was being set up: it was probably deleted in the Aiven console or \
                         API. Run apply again to create it.",
                        peering.vpc, peering.vnet_id
                    ),
                )
                .into());
            }
            Ok(CreateOutcome::UnknownState(connection)) => {
                let unknown = connection.state.as_str();
                return Err(Failure::with_partial_state(
                    Diagnostic::error(
                        format!("Aiven reported an unknown peering state {unknown:?}"),
                        "This provider does not know the state, so it neither waits for it \
                         nor deletes the connection; it is recorded as tainted. Check it \
                         in the Aiven console; the next apply replaces it.",
                    ),
                    complete_partial_state(state),
                ));
            }
            Err(CreateError::Post(error)) if error.is_already_exists() => {
                return Err(peering.already_exists(None).into());
            }
            Err(CreateError::Post(error)) => return Err(peering.create_error(&error).into()),
            // Out of time or stopped while Aiven is still working: keep the connection in
            // state (tainted), so Terraform deletes or replaces it later.
            Err(CreateError::Waiting(error)) => {
                return Err(Failure::with_partial_state(
                    cloud_diagnostic(
                        "Aiven did not finish setting up the peering connection",
                        &error,
                    ),
                    complete_partial_state(state),
                ));
            }
            // Stopped between attempts, with nothing left behind.
            Err(CreateError::BackingOff(error)) => {
                return Err(ctx.interruption(error.is_cancelled()).into());
            }
        };
        let rejected = rejection_diagnostic(&peering, &rejection, cleanup.is_ok());
        let Err(error) = cleanup else {
            return Err(rejected.into());
        };
        let mut diagnostics = Diagnostics::from(rejected);
        diagnostics.push(cloud_diagnostic(
            "Could not delete the rejected peering connection",
            &error,
        ));
        Err(Failure::with_partial_state(
            diagnostics,
            complete_partial_state(state),
        ))
    }

    async fn read(&self, ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let peering = PeeringInputs::from_state(self.0, &state)?;
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);
        let found = aiven.find_live_azure_peering(&call, &peering.vpc, peering.peer());
        let connection = match found.await {
            Ok(Some(connection)) => connection,
            // Deleted in Aiven, its Azure side deleted, or its VPC gone: plan a re-create.
            Ok(None) => return Ok(None),
            Err(error) => {
                return Err(cloud_diagnostic(
                    format!("Cannot read the peering connection of {}", peering.vpc),
                    &error,
                )
                .into());
            }
        };
        let mut refreshed = state;
        refreshed.set_attr(Identity::id, peering.resource_id());
        // Aiven stores the ids lower-cased; the framework keeps the configuration's spelling
        // of the same id (the attributes are case-insensitive).
        if let Some(app_id) = connection.peer_azure_app_id.as_deref() {
            refreshed.set_attr(PlannedPeer::peer_azure_app_id, app_id);
        }
        if let Some(tenant_id) = connection.peer_azure_tenant_id.as_deref() {
            refreshed.set_attr(PlannedPeer::peer_azure_tenant_id, tenant_id);
        }
        // Only an import (a stub without `state` yet) learns the ranges from Aiven: Aiven may
        // not echo them for Azure, and an echo that differs in form must not force a
        // replacement.
        let importing = refreshed.attr(Reported::state).is_null();
        if importing && !connection.user_peer_network_cidrs.is_empty() {
            let cidrs = StringSet(connection.user_peer_network_cidrs.clone());
            refreshed.set_attr(PlannedPeer::user_peer_network_cidrs, cidrs.to_attribute());
        }
        record_connection(&mut refreshed, &connection);
        Ok(Some(refreshed))
    }

    async fn update(&self, ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        // Every argument but `user_peer_network_cidrs` forces replacement (and `timeouts`
        // changes nothing in Aiven).
        let prior = PeeringInputs::from_state(self.0, &request.prior)?;
        let planned = PeeringInputs::from_state(self.0, &request.planned)?;
        let before = prior.user_peer_network_cidrs.unwrap_or_default();
        let after = planned.user_peer_network_cidrs.clone().unwrap_or_default();
        let mut state = request.planned;
        let Some(changes) = CidrChanges::between(&before, &after) else {
            return Ok(complete_from_prior(state, &request.prior));
        };
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);
        let failed = |error: &CloudError| {
            let what = "Cannot update `user_peer_network_cidrs` of";
            let failed = planned.connection_diagnostic(what, error);
            Failure::from(failed.at(PlannedPeer::user_peer_network_cidrs))
        };
        aiven
            .update_user_peer_network_cidrs(&call, &planned.vpc, planned.peer(), &changes)
            .await
            .map_err(|error| failed(&error))?;
        let found = aiven.find_azure_peering(&call, &planned.vpc, planned.peer());
        match found.await {
            Ok(Some(connection)) => record_connection(&mut state, &connection),
            Ok(None) => return Ok(complete_from_prior(state, &request.prior)),
            Err(error) => return Err(failed(&error)),
        }
        Ok(complete_partial_state(state))
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        let peering = PeeringInputs::from_state(self.0, &state)?;
        let aiven = ctx.data().aiven()?;
        let connection_id = peering.peering_connection_id.as_deref();
        aiven
            .delete_azure_peering_and_wait(
                &call_context(ctx),
                &peering.vpc,
                peering.peer(),
                connection_id,
            )
            .await
            .map_err(|error| {
                peering
                    .connection_diagnostic("Cannot delete", &error)
                    .into()
            })
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        imported(self.0, id)
    }
}

model! {
    /// What identifies the connection beyond its VPC (the import id's last part, and the id
    /// itself).
    struct Identity {
        vnet_id: Value,
        id: Value,
    }
}

model! {
    /// A project VPC's address.
    struct ProjectVpc {
        project: Value,
        project_vpc_id: Value,
    }
}

model! {
    /// An organization VPC's address.
    struct OrganizationVpc {
        organization_id: Value,
        organization_vpc_id: Value,
    }
}

model! {
    /// What Aiven reports about the connection (written by [`record_connection`]).
    struct Reported {
        peering_connection_id: Option<String>,
        state: String,
        state_info: BTreeMap<String, String>,
        aiven_tenant_id: Option<String>,
        aiven_vnet_id: Option<String>,
    }
}

model! {
    /// What must be known to create the connection, beyond what identifies it.
    struct PlannedPeer {
        peer_azure_app_id: String,
        peer_azure_tenant_id: String,
        user_peer_network_cidrs: Option<StringSet>,
    }
}

/// The resource's inputs, parsed.
#[derive(Clone, Debug)]
struct PeeringInputs {
    addressing: Addressing,
    /// Where the VPC is.
    vpc: VpcAddress,
    /// As configured (the id and the import command use this spelling).
    vnet_id: String,
    vnet: VirtualNetworkId,
    /// Null after an import until the first refresh.
    app_id: Option<String>,
    tenant_id: Option<String>,
    user_peer_network_cidrs: Option<Vec<String>>,
    /// Aiven's id of the connection, once known (an organization connection is deleted by it).
    peering_connection_id: Option<String>,
}

impl PeeringInputs {
    /// From a plan: every input must be known (they are at apply time).
    fn from_plan(addressing: Addressing, object: &Value) -> Result<Self, Diagnostics> {
        let inputs = Self::from_state(addressing, object)?;
        PlannedPeer::from_value(object)?;
        Ok(inputs)
    }

    /// From a state (or an imported stub): what identifies the connection, and the rest as far
    /// as it is known.
    fn from_state(addressing: Addressing, object: &Value) -> Result<Self, Diagnostics> {
        let vnet_id = required_str(object, Identity::vnet_id)?;
        let vnet = VirtualNetworkId::parse(&vnet_id).map_err(|error| {
            Diagnostics::from(
                Diagnostic::error("Invalid virtual network id", error.to_string())
                    .at(Identity::vnet_id),
            )
        })?;
        Ok(Self {
            addressing,
            vpc: addressing.kind().address(
                required_str(object, addressing.owner_attribute())?,
                required_str(object, addressing.vpc_attribute())?,
            ),
            vnet_id,
            vnet,
            app_id: object.attr_string(PlannedPeer::peer_azure_app_id),
            tenant_id: object.attr_string(PlannedPeer::peer_azure_tenant_id),
            user_peer_network_cidrs: object.attr_strings(PlannedPeer::user_peer_network_cidrs),
            peering_connection_id: object.attr_string(Reported::peering_connection_id),
        })
    }

    /// `<project>/<project_vpc_id><vnet_id>` or
    /// `organization/<organization_id>/<organization_vpc_id><vnet_id>`: the `id` attribute and
    /// the import id.
    fn resource_id(&self) -> String {
        self.vpc.peering_id(&self.vnet_id)
    }

    fn import_command(&self) -> String {
        format!(
            "terraform import {}.<name> '{}'",
            self.addressing.type_name(),
            self.resource_id()
        )
    }

    /// How Aiven identifies the peer network.
    fn peer(&self) -> PeerVnet<'_> {
        aiven_peer(&self.vnet)
    }

    /// What Aiven's create takes (it lower-cases the peer fields itself).
    fn request(&self) -> AzurePeeringRequest {
        AzurePeeringRequest {
            peer_cloud_account: self.vnet.subscription_id.clone(),
            peer_resource_group: self.vnet.resource_group.clone(),
            peer_vpc: self.vnet.name.clone(),
            peer_azure_app_id: self.app_id.clone().unwrap_or_default(),
            peer_azure_tenant_id: self.tenant_id.clone().unwrap_or_default(),
            user_peer_network_cidrs: self.user_peer_network_cidrs.clone(),
        }
    }

    fn already_exists(&self, existing: Option<&PeeringConnection>) -> Diagnostic {
        let what = existing.map_or(String::new(), |connection| {
            let id = connection.peering_connection_id.as_deref();
            let id = id.map(|id| format!(", id {id}")).unwrap_or_default();
            format!(" (state {}{id})", connection.state)
        });
        Diagnostic::error(
            "A peering connection for this VNet already exists in Aiven",
            format!(
                "{} already has a peering connection to VNet {}{what}. It is not adopted \
                 silently, because another configuration may \
                 manage it (destroying one copy would cut the other's peering).\n\n\
                 To manage it with this configuration, import it:\n\n  {}\n\n\
                 or add an `import` block with that id. Otherwise delete it in Aiven, or peer a \
                 different VNet.",
                capitalized(&self.vpc.to_string()),
                self.vnet_id,
                self.import_command()
            ),
        )
        .at(Identity::vnet_id)
    }

    /// A failed request about the connection: "`what` the peering connection of … to VNet …".
    fn connection_diagnostic(&self, what: &str, error: &CloudError) -> Diagnostic {
        let summary = format!(
            "{what} the peering connection of {} to VNet {}",
            self.vpc, self.vnet_id
        );
        cloud_diagnostic(summary, error)
    }

    fn create_error(&self, error: &CloudError) -> Diagnostic {
        if error.is_not_found() || error.status() == Some(403) {
            return self.vpc_diagnostic(error);
        }
        self.connection_diagnostic("Aiven refused to create", error)
    }

    /// The diagnostic of a VPC that cannot be read, with what to check.
    fn vpc_diagnostic(&self, error: &CloudError) -> Diagnostic {
        let mut diagnostic = cloud_diagnostic(format!("Cannot read {}", self.vpc), error);
        let owner = self.addressing.owner_attribute();
        let vpc_attribute = self.addressing.vpc_attribute();
        if error.is_not_found() {
            diagnostic = diagnostic.with_paragraph(format!(
                "Check `{owner}` (case-sensitive) and `{vpc_attribute}`, and that the Aiven \
                 token has access to it."
            ));
            diagnostic = diagnostic.at(vpc_attribute);
        } else if error.status() == Some(403) && self.addressing == Addressing::Organization {
            diagnostic = diagnostic.with_paragraph(format!(
                "The Aiven token needs the organization permission \
                 `organization:networking:write` on organization {} (`{owner}`): grant it to the \
                 user or application user of the token (organization Admin includes it).",
                self.vpc.owner()
            ));
            diagnostic = diagnostic.at(owner);
        }
        diagnostic
    }
}

/// Copies what Aiven reports into `state`. `aiven_tenant_id` / `aiven_vnet_id` keep their known
/// values when Aiven no longer reports them (its `state_info` changes with the state).
fn record_connection(state: &mut Value, connection: &PeeringConnection) {
    let known = |attribute| state.attr_string(attribute);
    Reported {
        peering_connection_id: connection.peering_connection_id.clone(),
        state: connection.state.as_str().to_owned(),
        state_info: connection.state_info_text().collect(),
        aiven_tenant_id: connection
            .to_tenant_id()
            .map(str::to_owned)
            .or_else(|| known(Reported::aiven_tenant_id)),
        aiven_vnet_id: connection
            .to_network_id()
            .map(str::to_owned)
            .or_else(|| known(Reported::aiven_vnet_id)),
    }
    .write_to(state);
}

/// A create's state after a failure: unknown computed values become null, `state_info` empty
/// (state must be wholly known).
fn complete_partial_state(mut state: Value) -> Value {
    if state.attr(Reported::state_info).is_unknown() {
        state.set_attr(Reported::state_info, Value::map::<&str>([]));
    }
    for attribute in Reported::ATTRIBUTES {
        if state.attr(attribute).is_unknown() {
            state.set_attr(attribute, Value::Null);
        }
    }
    state
}

/// A planned state whose computed values that Aiven did not report again come from `prior`.
fn complete_from_prior(mut state: Value, prior: &Value) -> Value {
    for attribute in Reported::ATTRIBUTES {
        if state.attr(attribute).is_unknown() {
            state.set_attr(attribute, prior.attr(attribute).clone());
        }
    }
    complete_partial_state(state)
}

/// The argument to point at for a rejection `cause`.
fn attribute_of(cause: RejectionCause) -> Option<&'static str> {
    match cause {
        RejectionCause::VnetNotFound
        | RejectionCause::AddressOverlap
        | RejectionCause::MissingPermission => Some(Identity::vnet_id),
        RejectionCause::AppNotFound | RejectionCause::AppNotMultiTenant => {
            Some(PlannedPeer::peer_azure_app_id)
        }
        RejectionCause::TenantMismatch | RejectionCause::MissingAivenServicePrincipal => {
            Some(PlannedPeer::peer_azure_tenant_id)
        }
        RejectionCause::RejectedByPeer | RejectionCause::Unknown => None,
    }
}

/// The error for a connection Aiven rejected (already deleted by the caller): Aiven's words,
/// the likely cause and the fix.
fn rejection_diagnostic(
    peering: &PeeringInputs,
    rejection: &Rejection,
    cleaned_up: bool,
) -> Diagnostic {
    let Rejection {
        connection,
        cause,
        attempts,
        elapsed,
    } = rejection;
    let tenant = peering
        .tenant_id
        .as_deref()
        .unwrap_or("the customer tenant");
    let app = peering.app_id.as_deref().unwrap_or("peer_azure_app_id");
    let explanation = match *cause {
        RejectionCause::MissingPermission => format!(
            "Aiven's service principal (application {AIVEN_APP_ID}) in tenant {tenant} does not \
             hold `{PEER_ACTION}` on VNet {vnet}. Assign it a role with that action at the VNet \
             scope (e.g. `vnetpeer_custom_role` + `vnetpeer_role_assignment`), and make this \
             resource depend on the assignment. A new assignment takes a while to reach Aiven: \
             the provider retried for {elapsed}; if the assignment exists and is recent, raise \
             `timeouts {{ create = ... }}` or apply again.",
            vnet = peering.vnet_id,
            elapsed = format_elapsed(*elapsed),
        ),
        RejectionCause::MissingAivenServicePrincipal => format!(
            "Aiven's application {AIVEN_APP_ID} has no service principal in tenant {tenant}. \
             Create it (e.g. `vnetpeer_service_principal` with `client_id = \"{AIVEN_APP_ID}\"`) \
             and give it `{PEER_ACTION}` on the VNet; a new service principal can take a while \
             to replicate (the provider retried for {elapsed}).",
            elapsed = format_elapsed(*elapsed),
        ),
        RejectionCause::VnetNotFound => format!(
            "Aiven could not find VNet {vnet} (subscription {sub}, resource group {rg}, name \
             {name}, sent in lower case). Check `vnet_id`, and that `peer_azure_tenant_id` is \
             the tenant of that subscription.",
            vnet = peering.vnet_id,
            sub = peering.vnet.subscription_id,
            rg = peering.vnet.resource_group,
            name = peering.vnet.name,
        ),
        RejectionCause::AppNotFound => format!(
            "Aiven could not find application {app}. `peer_azure_app_id` must be the client \
             (application) id of the multi-tenant app, its `appId`, not its object id."
        ),
        RejectionCause::AppNotMultiTenant => format!(
            "Application {app} is single-tenant, so Aiven cannot use it from its own tenant. \
             Set its sign-in audience to `AzureADMultipleOrgs` (the default of \
             `vnetpeer_aad_app`)."
        ),
        RejectionCause::TenantMismatch => format!(
            "The VNet's subscription {sub} does not belong to tenant {tenant}. Set \
             `peer_azure_tenant_id` to the subscription's tenant.",
            sub = peering.vnet.subscription_id,
        ),
        RejectionCause::AddressOverlap => format!(
            "The VNet's address space overlaps the project VPC's range. Peer a project VPC \
             whose `network_cidr` does not overlap the VNet (or change the VNet's address \
             space){}.",
            peering
                .user_peer_network_cidrs
                .as_ref()
                .filter(|cidrs| !cidrs.is_empty())
                .map(|cidrs| format!(", or fix `user_peer_network_cidrs` ({})", cidrs.join(", ")))
                .unwrap_or_default()
        ),
        RejectionCause::RejectedByPeer => format!(
            "Azure refused Aiven's side of the peering. Usual causes: Aiven's service principal \
             (application {AIVEN_APP_ID}) lacks `{PEER_ACTION}` on the VNet, or the address \
             spaces overlap."
        ),
        RejectionCause::Unknown => format!(
            "Check the prerequisites: application {app} is multi-tenant; Aiven's application \
             {AIVEN_APP_ID} has a service principal in tenant {tenant} holding `{PEER_ACTION}` \
             on the VNet; the VNet exists and its address space does not overlap the project \
             VPC."
        ),
    };
    let aiven_says = connection
        .state_message()
        .map(|message| format!("Aiven says: \"{message}\"\n\n"))
        .unwrap_or_default();
    let aftermath = if cleaned_up {
        "The rejected connection was deleted, so nothing is left behind; fix the cause and \
         apply again."
    } else {
        "The rejected connection could not be deleted (see the next error): it is recorded as \
         tainted, and the next apply deletes it before creating a new one."
    };
    let tries = if *attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    };
    let diagnostic = Diagnostic::error(
        format!(
            "Aiven rejected the peering connection: {}{tries}",
            connection.state
        ),
        format!("{aiven_says}{explanation}\n\n{aftermath}"),
    );
    match attribute_of(*cause) {
        Some(attribute) => diagnostic.at(attribute),
        None => diagnostic,
    }
}

fn format_elapsed(elapsed: Duration) -> String {
    crate::framework::format_go_duration(Duration::from_secs(elapsed.as_secs().max(1)))
}

/// The plan-time checks: an existing live connection for the VNet, and an address overlap
/// between the VNet (and `user_peer_network_cidrs`) and the VPC. A read that fails leaves its
/// check to the apply (a plan must not fail because a preflight could not run).
async fn preflight(ctx: &Ctx, peering: &PeeringInputs) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    let Ok(aiven) = ctx.data().aiven() else {
        return diagnostics;
    };
    let call = call_context(ctx).narrowed(PREFLIGHT_TIMEOUT);
    let vnet_prefixes = async {
        let arm = ctx.data().azure.arm().ok()?;
        match arm.get_virtual_network(&call, &peering.vnet).await {
            Ok(vnet) => Some(vnet.address_prefixes),
            Err(error) => {
                tracing::debug!(%error, "preflight: cannot read the VNet; overlap check skipped");
                None
            }
        }
    };
    let vpc = aiven.get_vpc(&call, &peering.vpc);
    let (vnet_prefixes, vpc) = tokio::join!(vnet_prefixes, vpc);
    let vpc = match vpc {
        Ok(vpc) => vpc,
        // Aiven's definite answers (no such project, organization or VPC; a token without the
        // permission) fail the plan: the apply could only fail the same way, later.
        Err(error) if error.is_not_found() || error.status() == Some(403) => {
            diagnostics.push(peering.vpc_diagnostic(&error));
            return diagnostics;
        }
        Err(error) => {
            tracing::debug!(%error, "preflight: cannot read the VPC");
            return diagnostics;
        }
    };
    if !vpc.is_in_azure() {
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "The Aiven {} is not in an Azure cloud",
                    peering.addressing.vpc_kind()
                ),
                format!(
                    "{} is in cloud {:?}: only a VPC in an Aiven Azure cloud (`azure-…`) can \
                     be peered with an Azure virtual network. Choose the VPC of the VNet's \
                     region, e.g. with the data source's `cloud_name = \"azure-…\"`.",
                    capitalized(&peering.vpc.to_string()),
                    vpc.cloud_name
                ),
            )
            .at(peering.addressing.vpc_attribute()),
        );
        return diagnostics;
    }
    // For the create that follows this plan in the same process (the apply-time re-plan).
    aiven.remember_vpc_read(&peering.vpc, peering.peer(), vpc.clone());
    if let Some(existing) = vpc.find_azure_peering(peering.peer())
        && !existing.state.is_gone()
    {
        // Only a warning at plan: Terraform plans the replacement of this resource's own
        // connection (tainted, or a force-new change) as a create without prior state, and it
        // deletes the old connection before creating the new one. The create itself refuses a
        // connection that still exists then.
        let mut warning = peering.already_exists(Some(existing));
        warning.severity = Severity::Warning;
        warning.detail = format!(
            "If this plan replaces this resource's own connection (a tainted resource, or a \
             change that forces replacement), Terraform deletes it first and you can ignore \
             this warning. Otherwise the apply will fail:\n\n{}",
            warning.detail
        );
        diagnostics.push(warning);
    }
    let vnet_ranges = vnet_prefixes.into_iter().flatten();
    let configured = peering.user_peer_network_cidrs.iter().flatten().cloned();
    let overlapping = (vnet_ranges.map(|range| (range, Identity::vnet_id)))
        .chain(configured.map(|range| (range, PlannedPeer::user_peer_network_cidrs)))
        .find(|(range, _)| cidr::ranges_overlap(range, &vpc.network_cidr));
    if let Some((range, attribute)) = overlapping {
        let source = if attribute == Identity::vnet_id {
            "the VNet's address space"
        } else {
            "`user_peer_network_cidrs`"
        };
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "The VNet and the Aiven {} address ranges overlap",
                    peering.addressing.vpc_kind()
                ),
                format!(
                    "{range} ({source} of {vnet}) overlaps {vpc_range} (`network_cidr` of \
                         {kind} {vpc_id}, cloud {cloud}). Peered networks need disjoint address \
                         ranges, and Aiven would reject the connection minutes into the apply. \
                         Peer a {kind} with a non-overlapping range, or change the VNet's \
                         address space.",
                    vnet = peering.vnet_id,
                    vpc_range = vpc.network_cidr,
                    kind = peering.addressing.vpc_kind(),
                    vpc_id = vpc.vpc_id,
                    cloud = vpc.cloud_name,
                ),
            )
            .at(attribute),
        );
    }
    diagnostics
}

/// The state an import of `id` starts from (`read` fills in the rest).
fn imported(addressing: Addressing, id: &str) -> Result<Value, Diagnostics> {
    let (vpc, vnet_id) = parse_import_id(addressing, id)?;
    Ok(Value::object([
        (addressing.owner_attribute(), Value::string(vpc.owner())),
        (addressing.vpc_attribute(), Value::string(vpc.vpc_id())),
        (Identity::vnet_id, Value::string(vnet_id)),
    ]))
}

/// The VPC and the VNet id of a peering id: `<project>/<project_vpc_id><vnet_id>` or
/// `organization/<organization_id>/<organization_vpc_id><vnet_id>`, whichever `addressing`
/// names; a `/` doubled before `subscriptions` is accepted.
fn parse_import_id(addressing: Addressing, id: &str) -> Result<(VpcAddress, String), Diagnostics> {
    parse_peering_id(id)
        .and_then(|(vpc, vnet_id)| {
            if vpc.kind() != addressing.kind() {
                Err(format!(
                    "{id:?} is the id of a {} peering, not of {}",
                    vpc.kind().noun(),
                    addressing.type_name()
                ))
            } else if !is_uuid(vpc.vpc_id()) {
                Err(format!("{id:?} has a VPC id that is not a UUID"))
            } else {
                Ok((vpc, vnet_id))
            }
        })
        .map_err(|reason| {
            Diagnostics::from(Diagnostic::error(
                "Invalid import id",
                format!(
                    "{reason}. Expected `{}`, e.g. `{}99999999-9999-9999-9999-999999999999/subscriptions/<subscription \
                     id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>`.",
                    addressing.id_form(),
                    match addressing {
                        Addressing::Project => "acme-prod/",
                        Addressing::Organization => "organization/org1a2b3c4d5e6/",
                    }
                ),
            ))
        })
}

/// The VPC and the VNet id of the `id` of either peering resource (also what
/// `vnetpeer_cross_tenant_vnet_peering.aiven_peering_id` holds), the VNet id checked.
pub(super) fn parse_peering_id(id: &str) -> Result<(VpcAddress, String), String> {
    let (vpc, vnet_id) = VpcAddress::parse_peering_id(id)?;
    VirtualNetworkId::parse(&vnet_id).map_err(|error| format!("{id:?} is invalid: {error}"))?;
    Ok((vpc, vnet_id))
}

/// `text` with its first letter upper-cased.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A project name or organization id: not blank, and no `/` (the import id separates with it).
fn owner_name(description: &'static str) -> Validator {
    Validator::string(description, |text| {
        if text.trim().is_empty() {
            Err("the value is empty".to_owned())
        } else if text.contains('/') {
            Err(format!("{text:?} contains `/`"))
        } else {
            Ok(())
        }
    })
}

// ----- resource identity ------------------------------------------------------------------------

/// A connection is named by what names it in Aiven's API: the VPC's owner (project or
/// organization), the VPC and the peer VNet (its ARM id, which carries Aiven's peer subscription,
/// resource group and VNet); the parts of its import id.
fn identity_declaration(addressing: Addressing) -> ResourceIdentity {
    let (owner, vpc) = match addressing {
        Addressing::Project => (
            "The Aiven project, e.g. `acme-prod`.",
            "The id of the Aiven project VPC (a UUID): `avn vpc list --project <project>`.",
        ),
        Addressing::Organization => (
            "The Aiven organization that owns the VPC, e.g. `org1a2b3c4d5e6`.",
            "The id of the organization VPC (a UUID): `avn organization vpc list \
             --organization-id <organization_id>`.",
        ),
    };
    ResourceIdentity::required(
        &[
            (addressing.owner_attribute(), owner),
            (addressing.vpc_attribute(), vpc),
            (
                Identity::vnet_id,
                "The resource id of the Azure virtual network peered with.",
            ),
        ],
        // `fn` pointers: one non-capturing closure per addressing.
        match addressing {
            Addressing::Project => |state| identity_of_state(Addressing::Project, state),
            Addressing::Organization => |state| identity_of_state(Addressing::Organization, state),
        },
        match addressing {
            Addressing::Project => |parts| identity_import_id(Addressing::Project, parts),
            Addressing::Organization => |parts| identity_import_id(Addressing::Organization, parts),
        },
    )
}

fn identity_of_state(
    addressing: Addressing,
    state: &Value,
) -> Option<BTreeMap<&'static str, String>> {
    let names = [
        addressing.owner_attribute(),
        addressing.vpc_attribute(),
        Identity::vnet_id,
    ];
    ResourceIdentity::of_same_named(state, &names)
}

fn identity_import_id(
    addressing: Addressing,
    parts: &BTreeMap<String, String>,
) -> Result<String, Diagnostic> {
    let vpc = addressing.kind().address(
        identity::part(parts, addressing.owner_attribute())?.to_owned(),
        identity::part(parts, addressing.vpc_attribute())?.to_owned(),
    );
    Ok(vpc.peering_id(identity::part(parts, Identity::vnet_id)?))
}

/// `moved` from Aiven's `aiven_azure_vpc_peering_connection`: its `vpc_id` is
/// `<project>/<project VPC id>` and the peer VNet is `azure_subscription_id`,
/// `peer_resource_group` and `vnet_name`; the state an import by the same parts gives.
fn moved_from(source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
    if !source.is("aiven", "aiven_azure_vpc_peering_connection") {
        return None;
    }
    let import_id = source.required("vpc_id").and_then(|vpc_id| {
        Ok(format!(
            "{vpc_id}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}",
            source.required("azure_subscription_id")?,
            source.required("peer_resource_group")?,
            source.required("vnet_name")?
        ))
    });
    Some(import_id.and_then(|id| imported(Addressing::Project, &id)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::test_support::{VNET, aiven_connection as connection};

    const VPC: &str = "a1000000-0000-4000-8000-0000000000f1";

    #[test]
    fn each_addressing_has_an_identity_whose_import_id_names_the_same_peering() {
        let organization_state = Value::object([
            ("organization_id", Value::string("org1a2b3c4d5e6")),
            ("organization_vpc_id", Value::string(VPC)),
            ("vnet_id", Value::string(VNET)),
        ]);
        let declared = AivenVpcPeering(Addressing::Organization)
            .identity()
            .expect("an organization peering has an identity");
        let names: Vec<&str> = declared.attributes.iter().map(|a| a.name).collect();
        assert_eq!(names, ["organization_id", "organization_vpc_id", "vnet_id"]);
        let parts: BTreeMap<String, String> = (declared.of_state)(&organization_state)
            .expect("the identity of a full state")
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        let id = (declared.import_id)(&parts).unwrap();
        assert_eq!(id, format!("organization/org1a2b3c4d5e6/{VPC}{VNET}"));
        let (vpc, vnet) = parse_import_id(Addressing::Organization, &id).unwrap();
        assert_eq!(
            vpc,
            VpcAddress::Organization {
                organization_id: "org1a2b3c4d5e6".into(),
                vpc_id: VPC.into()
            }
        );
        assert_eq!(vnet, VNET);
        // A part left out is an error naming it, not a panic.
        let mut missing = parts.clone();
        missing.remove("organization_vpc_id");
        let error = (declared.import_id)(&missing).unwrap_err();
        assert!(error.summary.contains("organization_vpc_id"), "{error:?}");
        assert!(AivenVpcPeering(Addressing::Project).identity().is_some());
    }

    #[test]
    fn import_ids_round_trip_and_bad_ones_say_the_form() {
        let id = format!("acme-prod/{VPC}{VNET}");
        let (vpc, vnet) = parse_import_id(Addressing::Project, &id).unwrap();
        assert_eq!(
            vpc,
            VpcAddress::Project {
                project: "acme-prod".into(),
                vpc_id: VPC.into()
            }
        );
        assert_eq!(vnet, VNET);
        let doubled = format!("acme-prod/{VPC}/{VNET}");
        assert_eq!(
            parse_import_id(Addressing::Project, &doubled).unwrap().1,
            VNET
        );
        for bad in [
            "acme-prod",
            "acme-prod/not-a-uuid/subscriptions/x",
            &format!("/{VPC}{VNET}"),
            &format!("organization/org1a2b/{VPC}{VNET}"),
        ] {
            let errors = parse_import_id(Addressing::Project, bad).unwrap_err();
            assert!(
                errors
                    .iter()
                    .next()
                    .unwrap()
                    .detail
                    .contains("<project>/<project_vpc_id><vnet_id>"),
                "{bad}"
            );
        }
        let inputs = PeeringInputs::from_state(
            Addressing::Project,
            &Value::object([
                ("project", Value::string(vpc.owner())),
                ("project_vpc_id", Value::string(vpc.vpc_id())),
                ("vnet_id", Value::string(vnet)),
            ]),
        )
        .unwrap();
        assert_eq!(inputs.resource_id(), id);
        assert!(inputs.import_command().contains(&format!("'{id}'")));
    }

    #[test]
    fn organization_ids_are_told_apart_from_project_ids() {
        let id = format!("organization/org1a2b3c4d5e6/{VPC}{VNET}");
        let (vpc, vnet) = parse_import_id(Addressing::Organization, &id).unwrap();
        assert_eq!(
            vpc,
            VpcAddress::Organization {
                organization_id: "org1a2b3c4d5e6".into(),
                vpc_id: VPC.into()
            }
        );
        let inputs = PeeringInputs::from_state(
            Addressing::Organization,
            &Value::object([
                ("organization_id", Value::string("org1a2b3c4d5e6")),
                ("organization_vpc_id", Value::string(VPC)),
                ("vnet_id", Value::string(vnet)),
            ]),
        )
        .unwrap();
        assert_eq!(inputs.resource_id(), id);
        assert!(
            inputs
                .import_command()
                .starts_with("terraform import vnetpeer_aiven_org_vpc_peering.")
        );
        // A project named `organization` keeps its project meaning (a UUID follows it).
        let (project, _) = parse_peering_id(&format!("organization/{VPC}{VNET}")).unwrap();
        assert_eq!(project.owner(), "organization");
        assert!(matches!(project, VpcAddress::Project { .. }));
        let wrong =
            parse_import_id(Addressing::Organization, &format!("acme/{VPC}{VNET}")).unwrap_err();
        assert!(
            wrong
                .iter()
                .next()
                .unwrap()
                .detail
                .contains("organization/<organization_id>"),
            "{wrong:?}"
        );
    }

    #[test]
    fn the_rejection_diagnostic_quotes_aiven_and_says_the_fix() {
        let peering = PeeringInputs::from_state(
            Addressing::Project,
            &Value::object([
                ("project", Value::string("acme-prod")),
                ("project_vpc_id", Value::string(VPC)),
                ("vnet_id", Value::string(VNET)),
                (
                    "peer_azure_tenant_id",
                    Value::string("c1000000-0000-4000-8000-000000000001"),
                ),
            ]),
        )
        .unwrap();
        let rejected = connection(
            "INVALID_SPECIFICATION",
            serde_json::json!({"message": "SP lacks permission to perform peer/action"}),
        );
        let rejection = Rejection {
            cause: RejectionCause::of(&rejected),
            connection: rejected,
            attempts: 3,
            elapsed: Duration::from_secs(75),
        };
        let diagnostic = rejection_diagnostic(&peering, &rejection, true);
        assert_eq!(
            diagnostic.summary,
            "Aiven rejected the peering connection: INVALID_SPECIFICATION (after 3 attempts)"
        );
        assert!(
            diagnostic
                .detail
                .starts_with("Aiven says: \"SP lacks permission")
        );
        assert!(diagnostic.detail.contains(AIVEN_APP_ID));
        assert!(diagnostic.detail.contains(PEER_ACTION));
        assert!(diagnostic.detail.contains("retried for 1m15s"));
        assert!(diagnostic.detail.contains("nothing is left behind"));
    }

    #[test]
    fn state_info_is_stringified_and_the_aiven_ids_stay_stable() {
        let pending = connection(
            "PENDING_PEER",
            serde_json::json!({
                "message": "m", "to-tenant-id": "a-tenant", "to-network-id": "/a/vnet",
                "count": 2, "nested": {"k": true}, "nothing": null
            }),
        );
        let mut state = Value::object([
            ("aiven_tenant_id", Value::unknown()),
            ("aiven_vnet_id", Value::unknown()),
        ]);
        record_connection(&mut state, &pending);
        assert_eq!(state.attr_str("aiven_tenant_id"), Some("a-tenant"));
        assert_eq!(state.attr_str("aiven_vnet_id"), Some("/a/vnet"));
        let info = state.attr("state_info").as_map().unwrap();
        assert_eq!(info["count"], Value::string("2"));
        assert_eq!(info["nested"], Value::string("{\"k\":true}"));
        assert!(!info.contains_key("nothing"));

        let active_without_info = connection("ACTIVE", serde_json::Value::Null);
        record_connection(&mut state, &active_without_info);
        assert_eq!(state.attr_str("state"), Some("ACTIVE"));
        assert_eq!(state.attr_str("aiven_tenant_id"), Some("a-tenant"));
        assert_eq!(state.attr_str("aiven_vnet_id"), Some("/a/vnet"));
        assert!(state.attr("state_info").as_map().unwrap().is_empty());

        let mut fresh = Value::object([("aiven_tenant_id", Value::unknown())]);
        record_connection(&mut fresh, &active_without_info);
        assert!(fresh.attr("aiven_tenant_id").is_null());
    }

    #[test]
    fn partial_states_are_wholly_known() {
        let state = complete_partial_state(Value::object([
            ("id", Value::string("x")),
            ("peering_connection_id", Value::unknown()),
            ("state", Value::string("APPROVED")),
            ("state_info", Value::unknown()),
            ("aiven_tenant_id", Value::unknown()),
            ("aiven_vnet_id", Value::unknown()),
        ]));
        assert!(state.is_wholly_known());
        assert_eq!(state.attr_str("state"), Some("APPROVED"));
    }
}
