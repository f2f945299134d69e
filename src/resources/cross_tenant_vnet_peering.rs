//! `vnetpeer_cross_tenant_vnet_peering`: runbook step 7, the customer's side of the private
//! peering with Aiven.
//!
//! The customer VNet is peered with Aiven's VNet while acting as the step-1 application in both
//! tenants at once: a primary token for the customer tenant and an auxiliary token
//! (`x-ms-authorization-auxiliary`) of the same application for Aiven's tenant
//! (docs/development/arm.md, 'Cross-tenant requests'). The application's secret is either given
//! write-only (`client_secret`), or minted for the operation on `application_object_id` with the
//! provider's own Graph credentials and removed afterwards, whatever happened: no secret is stored
//! anywhere.
//!
//! Create, in runbook order:
//! 1. mint a one-hour secret (only with `application_object_id`);
//! 2. tokens in both tenants, waiting out a secret that is not usable yet and Aiven's service
//!    principal for the application in Aiven's tenant, which Aiven creates at PENDING_PEER;
//! 3. PUT the peering and follow its long-running operation, retrying while RBAC propagates
//!    (403 `AuthorizationFailed` for Network Contributor, 403 `LinkedAuthorizationFailed` for
//!    Aiven's grant) and replacing a stale `Disconnected` peering of the same name;
//! 4. wait for `Connected`; remove the minted secret;
//! 5. with `aiven_peering_id`, wait until Aiven reports the connection ACTIVE.
//!
//! Refresh and delete act as the provider's own identity. A `Disconnected` peering is drift:
//! refresh reports it gone, and the next apply creates it again. Import by the peering's ARM id.
//!
//! Concurrency: the ARM client serialises peering writes per VNet that owns the peering and
//! waits out a busy VNet (`crate::azure::arm`, peering writes); the cross-tenant write
//! (`crate::azure::cross_tenant_peering`: tokens in both tenants, the retries RBAC propagation
//! causes, the wait for `Connected`) and Aiven's activation (`crate::aiven`) are the clients'
//! rules; this file orders the steps and explains their failures.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::aiven::{PeeringState as AivenState, VpcAddress};
use crate::azure::arm::{
    ArmClient, PEER_ACTION, PEERING_WRITE_ACTION, PeeringProperties, PeeringState, PeeringsToSync,
    VnetPeering, codes,
};
use crate::azure::cross_tenant_peering::{
    CrossTenantWriteError, PeeringApplication, PeeringWrite, TenantRole, TokenRefusal, own_tenant,
    write_and_connect,
};
use crate::azure::ids::{VirtualNetworkId, VnetPeeringId, validate_peering_name};
use crate::cloud::{CloudError, SecretString};
use crate::framework::ListResource;
use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Identity, Model, MoveSource,
    ObjectExt, PlannedChange, Resource, Schema, Timeouts, UpdateRequest, Validator, model,
    replace_if,
};
use crate::resources::Ctx;
use crate::value::{Type, Value};

use super::ProviderData;
use super::app_secret::{self, MintedSecret};
use super::identity;
use super::support::{OrDiagnostics, aiven_peer, call_context, checks, cloud_diagnostic};

/// Lifetime of a secret minted for one operation: long enough for any create, short enough to
/// be harmless if its removal ever fails.
const MINTED_SECRET_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// `list "vnetpeer_cross_tenant_vnet_peering"` for `terraform query`.
pub mod list;

mod imported;

/// The resource type. See the module documentation.
pub struct CrossTenantVnetPeering;

model! {
    /// What the plan asks for, read in create and update (every field must be known then; the
    /// flags' defaults come from the schema).
    struct Planned {
        name: String,
        vnet_id: String,
        remote_vnet_id: String,
        remote_tenant_id: String,
        client_id: String,
        allow_virtual_network_access: bool,
        allow_forwarded_traffic: bool,
        allow_gateway_transit: bool,
        use_remote_gateways: bool,
    }
}

model! {
    /// The attributes sent in the peering PUT; changing one updates the peering in place.
    #[derive(PartialEq)]
    struct Flags {
        allow_virtual_network_access: Option<bool>,
        allow_forwarded_traffic: Option<bool>,
        allow_gateway_transit: Option<bool>,
        use_remote_gateways: Option<bool>,
    }
}

model! {
    /// Computed attributes that Azure reports and an in-place PUT may change.
    struct Observed {
        peering_state: Option<String>,
        peering_sync_level: Option<String>,
        remote_address_space: Option<Vec<String>>,
    }
}

model! {
    /// Where the peering is, as a refresh records it.
    struct Location {
        id: String,
        name: String,
        vnet_id: String,
    }
}

impl Location {
    fn of(peering: &VnetPeeringId) -> Self {
        Location {
            id: peering.to_string(),
            name: peering.name.clone(),
            vnet_id: peering.vnet.to_string(),
        }
    }
}

model! {
    /// How the step-1 application signs in: the configuration's write-only secret, or the
    /// application whose secret the provider mints for the operation.
    struct Credential {
        client_secret: Value,
        application_object_id: Value,
    }
}

model! {
    /// The Aiven connection to wait for, and what Aiven last reported about it.
    struct AivenWait {
        aiven_peering_id: Option<String>,
        aiven_peering_state: Value,
    }
}

#[async_trait]
impl Resource<ProviderData> for CrossTenantVnetPeering {
    fn type_name(&self) -> &'static str {
        "vnetpeer_cross_tenant_vnet_peering"
    }

    fn list(&self) -> Option<Arc<dyn ListResource<ProviderData>>> {
        Some(Arc::new(list::CrossTenantVnetPeeringList))
    }

    fn identity(&self) -> Option<Identity> {
        Some(identity_declaration())
    }

    fn move_from(&self, source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
        moved_from(source)
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "Peers a customer virtual network with Aiven's virtual network across tenants \
                 (runbook step 7), acting as the step-1 application in the customer tenant and, \
                 through an auxiliary token, in Aiven's tenant, all in the same apply as the rest \
                 of the runbook. Create waits until the peering is `Connected` and, with \
                 `aiven_peering_id`, until Aiven reports the connection `ACTIVE` (the moment the \
                 services are reachable).\n\n\
                 The application's secret is either `client_secret` (write-only: never stored) or \
                 minted for the operation on `application_object_id` with the provider's own Graph \
                 credentials, used, and removed again, also when the operation fails.\n\n\
                 Refresh and delete use the provider's own credentials. A `Disconnected` peering \
                 (Aiven's side was deleted) is reported as gone, so the next apply creates it \
                 again.\n\n\
                 Import with the peering's ARM id, \
                 `/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/virtualNetworkPeerings/<name>`. \
                 `client_id`, `remote_tenant_id`, `application_object_id`, `client_secret` and \
                 `aiven_peering_id` cannot be read back from the peering. An import derives \
                 `remote_tenant_id` (the home tenant of Aiven's service principal, which holds a \
                 role on the VNet) and `client_id` and `application_object_id` (the one \
                 multi-tenant application of this tenant holding Network Contributor on the VNet) \
                 when the VNet's role assignments name exactly one of each; what differs in the \
                 configuration is recorded by the next apply without touching the peering (which \
                 also fills `aiven_peering_state`).",
            )
            .attribute(
                endpoint_argument(Planned::name)
                    .case_insensitive()
                    .description(
                        "Name of the peering on the customer VNet, e.g. `to-aiven`. 1–80 letters, \
                         digits, `_`, `.` and `-`. Changing it replaces the peering.",
                    )
                    .validate(peering_name()),
            )
            .attribute(
                endpoint_argument(Planned::vnet_id)
                    .case_insensitive()
                    .description(
                        "Resource id of the customer virtual network (the local side). Changing \
                         it replaces the peering.",
                    )
                    .validate(checks::virtual_network_id()),
            )
            .attribute(
                endpoint_argument(Planned::remote_vnet_id)
                    .case_insensitive()
                    .description(
                        "Resource id of Aiven's virtual network: `aiven_vnet_id` of the \
                         `vnetpeer_aiven_vpc_peering`. Changing it replaces the peering.",
                    )
                    .validate(checks::virtual_network_id()),
            )
            .attribute(
                endpoint_argument(Planned::remote_tenant_id)
                    .description(
                        "Aiven's Entra tenant, where the auxiliary token is requested: \
                         `aiven_tenant_id` of the `vnetpeer_aiven_vpc_peering`. Changing it \
                         replaces the peering.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                endpoint_argument(Planned::client_id)
                    .description(
                        "Client (application) id of the step-1 application (`client_id` of the \
                         `vnetpeer_aad_app`). It needs Network Contributor on `vnet_id` and must \
                         be the `peer_azure_app_id` of the Aiven peering. Changing it replaces the \
                         peering.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::string("client_secret")
                    .optional()
                    .sensitive()
                    .write_only()
                    .description(
                        "A secret of the step-1 application, used for this create or update only \
                         and never stored (write-only, Terraform 1.11+). Set exactly one of \
                         `client_secret` and `application_object_id`.",
                    ),
            )
            .attribute(
                Attribute::string("application_object_id")
                    .optional()
                    .description(
                        "Object id of the step-1 application (`object_id` of the \
                         `vnetpeer_aad_app`). The provider then adds a secret valid for one hour \
                         with its own Graph credentials, waits until it works in both tenants, \
                         uses it and removes it, also when the operation fails. Set exactly one \
                         of `client_secret` and `application_object_id`.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                peering_flag(Planned::allow_virtual_network_access, true)
                    .description(
                        "Whether the two address spaces reach each other. Default `true`. \
                         Updated in place.",
                    ),
            )
            .attribute(
                peering_flag(Planned::allow_forwarded_traffic, false)
                    .description(
                        "Whether traffic forwarded from Aiven's VNet is allowed in. Default \
                         `false`. Updated in place.",
                    ),
            )
            .attribute(
                peering_flag(Planned::allow_gateway_transit, false)
                    .description(
                        "Whether Aiven's VNet may use this VNet's gateway. Default `false`. \
                         Updated in place.",
                    ),
            )
            .attribute(
                peering_flag(Planned::use_remote_gateways, false)
                    .description(
                        "Whether this VNet uses the remote VNet's gateway. Default `false`. \
                         Updated in place.",
                    ),
            )
            .attribute(
                Attribute::string("aiven_peering_id")
                    .optional()
                    .description(
                        "`id` of the `vnetpeer_aiven_vpc_peering` \
                         (`<project>/<project_vpc_id>/<vnet_id>`). When set, create also waits \
                         until Aiven reports the connection `ACTIVE`: the moment the database is \
                         reachable.",
                    )
                    .validate(aiven_peering_id_validator()),
            )
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .case_insensitive()
                    .description("Resource id of the peering (known at plan time)."),
            )
            .attribute(Attribute::string("peering_state").computed().description(
                "`peeringState`: `Connected` after create; `Initiated` while Aiven's side is \
                 missing.",
            ))
            .attribute(
                Attribute::string("peering_sync_level")
                    .computed()
                    .description("`peeringSyncLevel`, e.g. `FullyInSync`."),
            )
            .attribute(
                Attribute::list("remote_address_space", Type::String)
                    .computed()
                    .description("Address prefixes of Aiven's VNet as the peering sees them."),
            )
            .attribute(
                Attribute::string("aiven_peering_state")
                    .computed()
                    .description(
                        "Aiven's state of the connection named by `aiven_peering_id`: `ACTIVE` \
                         after create; refresh reads it from Aiven (one request more per \
                         refresh). Null without `aiven_peering_id`, or when Aiven no longer \
                         lists the connection.",
                    ),
            ),
        )
        .with_timeouts(Timeouts::minutes(30, 5, 30, 30))
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        let secret = config.attr(Credential::client_secret);
        let object_id = config.attr(Credential::application_object_id);
        match (secret.is_null(), object_id.is_null()) {
            (true, true) => diagnostics.push(
                Diagnostic::error(
                    "Missing credential for the peering application",
                    "Set `application_object_id` (the provider then mints a short-lived secret \
                     on the application and removes it after use) or `client_secret` (a secret \
                     of the application, write-only).",
                )
                .at(Credential::application_object_id),
            ),
            (false, false) => diagnostics.push(
                Diagnostic::error(
                    "Conflicting credentials for the peering application",
                    "Set only one of `client_secret` and `application_object_id`.",
                )
                .at(Credential::client_secret),
            ),
            _ => {}
        }
        let vnet_at = |name| {
            config
                .attr_str(name)
                .and_then(|id| VirtualNetworkId::parse(id).ok())
        };
        let (vnet, remote) = (vnet_at(Location::vnet_id), vnet_at(Planned::remote_vnet_id));
        if let (Some(vnet), Some(remote)) = (&vnet, &remote)
            && vnet.eq_ignore_case(remote)
        {
            diagnostics.push(
                Diagnostic::error(
                    "A virtual network cannot peer with itself",
                    "`remote_vnet_id` must be Aiven's virtual network (`aiven_vnet_id` of the \
                     `vnetpeer_aiven_vpc_peering`), not `vnet_id`.",
                )
                .at(Planned::remote_vnet_id),
            );
        }
        if let (Some(vnet), Some(aiven)) = (
            &vnet,
            config
                .attr_str(AivenWait::aiven_peering_id)
                .and_then(|id| AivenPeeringRef::parse(id).ok()),
        ) && !vnet.eq_ignore_case(&aiven.vnet)
        {
            diagnostics.push(
                Diagnostic::error(
                    "The Aiven peering is for another virtual network",
                    format!(
                        "`aiven_peering_id` names a connection with {}, but this peering is on \
                         {vnet}. Use the `id` of the `vnetpeer_aiven_vpc_peering` of `vnet_id`.",
                        aiven.vnet
                    ),
                )
                .at(AivenWait::aiven_peering_id),
            );
        }
    }

    async fn modify_plan(&self, _ctx: &Ctx, plan: &mut PlannedChange) -> Result<(), Diagnostics> {
        if plan.is_create() {
            // The id follows from the name and the VNet: known at plan time for dependents.
            if let (Some(vnet), Some(name)) = (
                plan.get(Location::vnet_id).as_str(),
                plan.get(Location::name).as_str(),
            ) && let Ok(id) = VirtualNetworkId::parse(vnet).and_then(|v| v.peering(name))
            {
                plan.set(Location::id, Value::string(id.to_string()));
            }
            return Ok(());
        }
        // Replacement is declared on the attributes (`requires_replace_if`).
        let flags_changed = plan.any_changed(Flags::ATTRIBUTES);
        let (level, sync) = sync_needed(&plan.prior).unwrap_or_default();
        if sync.local {
            plan.warnings.push(Diagnostic::warning(
                "The peering's address spaces are out of sync",
                format!(
                    "Azure reports peeringSyncLevel `{level}`: the address space of the remote \
                     virtual network changed, and this peering still routes only the ranges it \
                     knew before. Applying re-syncs it in place (a PUT with \
                     syncRemoteAddressSpace=true)."
                ),
            ));
        }
        if sync.remote {
            let vnet = plan
                .prior
                .attr_str(Location::vnet_id)
                .unwrap_or("this VNet");
            plan.warnings.push(Diagnostic::warning(
                "The remote side of the peering does not know this VNet's new address space",
                format!(
                    "Azure reports peeringSyncLevel `{level}`: the address space of {vnet} \
                     changed, and the peering on the remote virtual network (Aiven's) still \
                     routes only the ranges it knew before. Only a sync of that peering, on \
                     Aiven's virtual network, adds the new ranges; this provider cannot write \
                     it, so the plan changes nothing for it. Ask Aiven to sync their peering \
                     with {vnet}."
                ),
            ));
        }
        if flags_changed || sync.local {
            plan.set_unknown_all(Observed::ATTRIBUTES);
        }
        if flags_changed || plan.changed(AivenWait::aiven_peering_id) {
            plan.set_unknown(AivenWait::aiven_peering_state);
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let target = Target::from_value(&request.planned)?;
        let mut state = request.planned;
        state.set_attr(Location::id, target.id.to_string());
        let mut aiven = AivenWait::from_value(&state)?;
        aiven.aiven_peering_state = Value::Null;
        aiven.write_to(&mut state);
        let written = write_as_application(ctx, &request.config, &target).await;
        let peering = written.map_err(|failed| Failure {
            partial_state: failed.peering_may_exist.then(|| {
                Observed::of(None).write_to(&mut state);
                state.clone()
            }),
            diagnostics: failed.diagnostics,
        })?;
        Observed::of(Some(&peering)).write_to(&mut state);
        aiven.record_activation(ctx, &mut state).await?;
        Ok(state)
    }

    async fn read(&self, ctx: &Ctx, mut state: Value) -> Result<Option<Value>, Diagnostics> {
        let id = peering_id_of(&state)?;
        let peering = own_arm(ctx)?
            .get_vnet_peering(&call_context(ctx), &id)
            .await
            .or_diagnostics("Could not read the virtual network peering")?;
        let Some(peering) = peering else {
            return Ok(None);
        };
        if peering.peering_state == Some(PeeringState::Disconnected) {
            // Aiven's side is gone: the peering carries no traffic and cannot be updated back
            // (docs/development/arm.md, 'Virtual network peerings'). Reported as gone so the next
            // apply creates it again.
            tracing::info!(peering = %id, "the peering is Disconnected; reporting it gone");
            return Ok(None);
        }
        // ARM's spelling of ids and names; the framework keeps the user's where only the letter
        // case differs (the attributes are case-insensitive).
        Location::of(&id).write_to(&mut state);
        if state.attr(Planned::client_id).is_null() {
            // Imported: what Azure keeps no record of, from the roles held on the VNet.
            imported::derive_arguments(ctx, &mut state).await?;
        }
        if let Some(remote) = &peering.remote_virtual_network_id {
            state.set_attr(Planned::remote_vnet_id, remote.as_str());
        }
        Flags {
            allow_virtual_network_access: Some(peering.allow_virtual_network_access),
            allow_forwarded_traffic: Some(peering.allow_forwarded_traffic),
            allow_gateway_transit: Some(peering.allow_gateway_transit),
            use_remote_gateways: Some(peering.use_remote_gateways),
        }
        .write_to(&mut state);
        Observed::of(Some(&peering)).write_to(&mut state);
        let mut aiven = AivenWait::from_value(&state)?;
        aiven.aiven_peering_state = match aiven.connection() {
            Some(aiven_peering) => read_aiven_state(ctx, &aiven_peering).await?,
            None => Value::Null,
        };
        aiven.write_to(&mut state);
        Ok(Some(state))
    }

    async fn update(&self, ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        let mut state = request.planned;
        let flags_changed = Flags::from_value(&request.prior)? != Flags::from_value(&state)?;
        let resync = sync_needed(&request.prior).is_some_and(|(_, sync)| sync.local);
        if flags_changed || resync {
            let mut target = Target::from_value(&state)?;
            target.resync = resync;
            let peering = write_as_application(ctx, &request.config, &target)
                .await
                .map_err(|failed| Failure::from(failed.diagnostics))?;
            Observed::of(Some(&peering)).write_to(&mut state);
        }
        // Otherwise only attributes that live in Terraform changed (credentials, the Aiven
        // peering to wait for, spelling, or values recorded after an import): nothing to send.
        let mut aiven = AivenWait::from_value(&state)?;
        let newly_awaited =
            AivenWait::from_value(&request.prior)?.aiven_peering_id != aiven.aiven_peering_id;
        match aiven.connection() {
            Some(_) if flags_changed || newly_awaited => {
                aiven.record_activation(ctx, &mut state).await?;
            }
            Some(_) if !aiven.aiven_peering_state.is_unknown() => {}
            _ => {
                aiven.aiven_peering_state = Value::Null;
                aiven.write_to(&mut state);
            }
        }
        Ok(state)
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        let id = peering_id_of(&state)?;
        own_arm(ctx)?
            .delete_vnet_peering(&call_context(ctx), &id)
            .await
            .or_diagnostics("Could not delete the virtual network peering")
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let parsed = VnetPeeringId::parse(id.trim()).map_err(|error| {
            Diagnostic::error(
                "Invalid import id",
                format!(
                    "{error}. Import a cross-tenant peering by its resource id, e.g. \
                     `terraform import vnetpeer_cross_tenant_vnet_peering.to_aiven \
                     /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/virtualNetworkPeerings/<name>`."
                ),
            )
        })?;
        Ok(Location::of(&parsed).to_value())
    }
}

// ----- what the configuration asks for ---------------------------------------------------------

/// The peering as planned: where it goes and what it allows.
struct Target {
    id: VnetPeeringId,
    remote_vnet: VirtualNetworkId,
    remote_tenant_id: String,
    client_id: String,
    properties: PeeringProperties,
    /// Write with `syncRemoteAddressSpace=true` (the address spaces changed).
    resync: bool,
}

impl Target {
    fn from_value(value: &Value) -> Result<Self, Diagnostics> {
        let planned = Planned::from_value_with_defaults(&CrossTenantVnetPeering.schema(), value)?;
        let id = VirtualNetworkId::parse(&planned.vnet_id)
            .and_then(|vnet| vnet.peering(&planned.name))
            .map_err(|error| Diagnostic::invalid(Planned::vnet_id, error))?;
        let remote_vnet = VirtualNetworkId::parse(&planned.remote_vnet_id)
            .map_err(|error| Diagnostic::invalid(Planned::remote_vnet_id, error))?;
        Ok(Target {
            id,
            remote_vnet,
            remote_tenant_id: planned.remote_tenant_id,
            client_id: planned.client_id,
            properties: PeeringProperties {
                remote_virtual_network_id: planned.remote_vnet_id,
                allow_virtual_network_access: planned.allow_virtual_network_access,
                allow_forwarded_traffic: planned.allow_forwarded_traffic,
                allow_gateway_transit: planned.allow_gateway_transit,
                use_remote_gateways: planned.use_remote_gateways,
            },
            resync: false,
        })
    }
}

/// The `peeringSyncLevel` of a connected peering and which sides it says need a sync of their
/// address spaces ([`PeeringsToSync`]): this one by an in-place update, the remote one only by
/// its VNet's owner. `None` when not connected or unknown.
fn sync_needed(state: &Value) -> Option<(&str, PeeringsToSync)> {
    let level = state.attr_str(Observed::peering_sync_level)?;
    let connected = PeeringState::Connected.as_str();
    (state.attr_str(Observed::peering_state) == Some(connected))
        .then(|| (level, PeeringsToSync::of_level(level)))
}

/// The peering id of a state: `id`, or `vnet_id` + `name` when `id` is missing.
fn peering_id_of(state: &Value) -> Result<VnetPeeringId, Diagnostic> {
    let parsed = match state.attr_str(Location::id) {
        Some(id) => VnetPeeringId::parse(id),
        None => VirtualNetworkId::parse(state.attr_str(Location::vnet_id).unwrap_or_default())
            .and_then(|vnet| vnet.peering(state.attr_str(Location::name).unwrap_or_default())),
    };
    parsed.map_err(|error| {
        Diagnostic::error(
            "Invalid peering id in the state",
            format!("{error}. Remove the resource from the state and import it again."),
        )
    })
}

impl Observed {
    /// What Azure reported (all null when nothing was observed).
    fn of(peering: Option<&VnetPeering>) -> Self {
        Observed {
            peering_state: peering
                .and_then(|p| p.peering_state.as_ref())
                .map(|state| state.as_str().to_owned()),
            peering_sync_level: peering.and_then(|p| p.peering_sync_level.clone()),
            remote_address_space: peering.map(|p| p.remote_address_space.clone()),
        }
    }
}

/// A required argument naming one end of the peering (or who builds it): changing it replaces
/// the peering, unless the recorded value only differs in case (Azure compares ids so).
fn endpoint_argument(name: &str) -> Attribute {
    Attribute::string(name)
        .required()
        .requires_replace_if(replace_if::recorded_value_changed_ignoring_case)
}

/// A peering setting sent in the PUT (updated in place), `default` when not configured.
fn peering_flag(name: &str, default: bool) -> Attribute {
    Attribute::bool(name).optional().computed().default(default)
}

fn peering_name() -> Validator {
    Validator::string(
        "a peering name: 1–80 letters, digits, `_`, `.` and `-`, starting with a letter or digit \
         and ending with a letter, digit or `_`",
        |name| validate_peering_name(name).map_err(|error| error.reason),
    )
}

// ----- the Aiven connection to wait for ---------------------------------------------------------

/// A `vnetpeer_aiven_vpc_peering` id: `<project>/<project_vpc_id>/<vnet_id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AivenPeeringRef {
    /// The project VPC or organization VPC.
    vpc: VpcAddress,
    vnet: VirtualNetworkId,
}

impl AivenPeeringRef {
    /// Parses the `id` of either Aiven peering resource; the VNet id may follow the VPC id with
    /// one slash or two.
    fn parse(id: &str) -> Result<Self, String> {
        let (vpc, vnet_id) = super::aiven_vpc_peering::parse_peering_id(id).map_err(|reason| {
            format!(
                "{reason}; expected the `id` of a vnetpeer_aiven_vpc_peering \
                 (`<project>/<project_vpc_id>/<vnet_id>`) or of a vnetpeer_aiven_org_vpc_peering \
                 (`organization/<organization_id>/<organization_vpc_id>/<vnet_id>`)"
            )
        })?;
        let vnet = VirtualNetworkId::parse(&vnet_id).map_err(|error| error.to_string())?;
        Ok(AivenPeeringRef { vpc, vnet })
    }
}

fn aiven_peering_id_validator() -> Validator {
    Validator::string(
        "the `id` of a `vnetpeer_aiven_vpc_peering` (`<project>/<project_vpc_id>/<vnet_id>`) or of a \
         `vnetpeer_aiven_org_vpc_peering`",
        |id| AivenPeeringRef::parse(id).map(|_| ()),
    )
}

/// Aiven's current state of the connection (null when Aiven no longer lists it).
async fn read_aiven_state(ctx: &Ctx, peering: &AivenPeeringRef) -> Result<Value, Diagnostics> {
    let state = ctx
        .data()
        .aiven()?
        .azure_peering_state(&call_context(ctx), &peering.vpc, aiven_peer(&peering.vnet))
        .await
        .or_diagnostics(
            "Could not read the Aiven peering connection named by `aiven_peering_id`",
        )?;
    Ok(state.map_or(Value::Null, |state| Value::string(state.as_str())))
}

impl AivenWait {
    /// The connection named by `aiven_peering_id`, if any.
    fn connection(&self) -> Option<AivenPeeringRef> {
        self.aiven_peering_id
            .as_deref()
            .and_then(|id| AivenPeeringRef::parse(id).ok())
    }

    /// With a connection to wait for, polls Aiven until it is ACTIVE (it gets there once Aiven
    /// notices the Connected peering) and records that in `state`. A failure state or a
    /// vanished connection ends the wait with an explanation, and a failure leaves `state` as it
    /// stands, Aiven's state null, as the partial state.
    async fn record_activation(&mut self, ctx: &Ctx, state: &mut Value) -> Result<(), Failure> {
        let Some(connection) = self.connection() else {
            return Ok(());
        };
        self.aiven_peering_state = Value::Null;
        self.write_to(state);
        let partial = |diagnostics: Diagnostics, state: &Value| {
            Failure::with_partial_state(diagnostics, state.clone())
        };
        let aiven = ctx.data().aiven().map_err(|d| partial(d, state))?;
        let (vpc, peer) = (&connection.vpc, aiven_peer(&connection.vnet));
        let outcome = aiven
            .wait_until_azure_peering_active(&call_context(ctx), vpc, peer)
            .await;
        let summary = "Aiven did not activate the peering connection";
        let diagnostic = match outcome {
            Ok(Ok(())) => {
                self.aiven_peering_state = Value::string(AivenState::Active.as_str());
                self.write_to(state);
                return Ok(());
            }
            Ok(Err(reason)) => Diagnostic::error(
                summary,
                format!(
                    "The Azure peering is Connected, but {reason}. Apply again: the Aiven peering \
                     connection is re-created when refresh finds it gone, and this peering \
                     (tainted) after it."
                ),
            ),
            Err(error) => cloud_diagnostic(summary, &error).with_paragraph(
                "The Azure peering is Connected; Aiven turns the connection ACTIVE once it \
                 notices (usually within minutes).",
            ),
        };
        Err(partial(
            diagnostic.at(AivenWait::aiven_peering_id).into(),
            state,
        ))
    }
}

// ----- the write, as the step-1 application --------------------------------------------------------

/// Why a write as the application failed, and whether the peering may exist now.
struct WriteFailure {
    diagnostics: Diagnostics,
    peering_may_exist: bool,
}

impl WriteFailure {
    fn before_write(diagnostics: impl Into<Diagnostics>) -> Self {
        WriteFailure {
            diagnostics: diagnostics.into(),
            peering_may_exist: false,
        }
    }
}

/// Creates or updates the peering as the step-1 application and waits for `Connected`, with
/// the secret from the configuration or a minted one that is removed afterwards in any case.
async fn write_as_application(
    ctx: &Ctx,
    config: &Value,
    target: &Target,
) -> Result<VnetPeering, WriteFailure> {
    let secret = AppSecret::obtain(ctx, config, &target.id.name)
        .await
        .map_err(WriteFailure::before_write)?;
    let written = put_and_connect(ctx, target, &secret).await;
    match (written, secret.discard(ctx).await) {
        (written, None) => written,
        (Ok(_), Some(leftover)) => Err(WriteFailure {
            diagnostics: leftover.into(),
            peering_may_exist: true,
        }),
        (Err(mut failed), Some(leftover)) => {
            failed.diagnostics.push(leftover);
            Err(failed)
        }
    }
}

/// The step-1 application's secret for one operation. `Debug` never shows it.
#[derive(Debug)]
enum AppSecret {
    /// `client_secret` from the configuration.
    Configured(SecretString),
    /// Added for this operation; [`AppSecret::discard`] removes it.
    Minted(MintedSecret),
}

impl AppSecret {
    async fn obtain(ctx: &Ctx, config: &Value, peering_name: &str) -> Result<Self, Diagnostics> {
        if let Some(secret) = config.attr_str(Credential::client_secret) {
            return Ok(AppSecret::Configured(SecretString::new(secret)));
        }
        let Some(app_object_id) = config.attr_str(Credential::application_object_id) else {
            return Err(Diagnostic::error(
                "Missing credential for the peering application",
                "Set `application_object_id` or `client_secret`.",
            )
            .at(Credential::application_object_id)
            .into());
        };
        let display_name =
            format!("vnetpeer: peering {peering_name} (temporary, removed after use)");
        let minted = app_secret::mint(
            ctx,
            app_object_id,
            &display_name,
            MINTED_SECRET_LIFETIME,
            Credential::application_object_id,
        )
        .await?;
        Ok(AppSecret::Minted(minted))
    }

    fn value(&self) -> &SecretString {
        match self {
            AppSecret::Configured(secret) | AppSecret::Minted(MintedSecret { secret, .. }) => {
                secret
            }
        }
    }

    fn is_minted(&self) -> bool {
        matches!(self, AppSecret::Minted(_))
    }

    /// Removes a minted secret (with its own time budget, so that a timeout or Ctrl-C of the
    /// operation still cleans up). `Some` names a secret that could not be removed.
    async fn discard(self, ctx: &Ctx) -> Option<Diagnostic> {
        let AppSecret::Minted(minted) = self else {
            return None;
        };
        app_secret::remove(ctx, &minted.key)
            .await
            .map(|diagnostic| diagnostic.at(Credential::application_object_id))
    }
}

/// The tenant of the customer VNet: the provider's configured tenant, else its token's.
pub(super) async fn customer_tenant(ctx: &Ctx) -> Result<String, Diagnostic> {
    match own_tenant(&call_context(ctx), &ctx.data().azure).await {
        Ok(Some(tenant)) => Ok(tenant),
        Ok(None) => Err(Diagnostic::error(
            "Could not determine the customer tenant",
            "The provider's token names no tenant. Set `tenant_id` in the provider block.",
        )),
        Err(error) => Err(cloud_diagnostic(
            "Could not determine the customer tenant",
            &error,
        )),
    }
}

/// The provider's own ARM client.
fn own_arm(ctx: &Ctx) -> Result<ArmClient, Diagnostics> {
    let arm = ctx.data().azure.arm();
    arm.or_diagnostics("The provider has no usable Azure credential")
}

/// The peering written as the application in both tenants (tokens, PUT retried while RBAC
/// propagates, a stale Disconnected peering replaced, `Connected` awaited: the client's rules),
/// its failures explained.
async fn put_and_connect(
    ctx: &Ctx,
    target: &Target,
    secret: &AppSecret,
) -> Result<VnetPeering, WriteFailure> {
    let own = own_arm(ctx).map_err(WriteFailure::before_write)?;
    let tenant = customer_tenant(ctx)
        .await
        .map_err(WriteFailure::before_write)?;
    let application = PeeringApplication {
        client_id: &target.client_id,
        secret: secret.value(),
        customer_tenant: &tenant,
        remote_tenant: &target.remote_tenant_id,
    };
    let write = PeeringWrite {
        id: &target.id,
        properties: &target.properties,
        resync: target.resync,
    };
    let cc = call_context(ctx);
    let failed = match write_and_connect(&cc, &ctx.data().azure, &own, &application, &write).await {
        Ok(peering) => return Ok(peering),
        Err(failed) => failed,
    };
    let peering_may_exist = failed.peering_may_exist();
    let diagnostic = match failed {
        CrossTenantWriteError::Token { tenant, error } => {
            token_diagnostic(&error, tenant, target, secret)
        }
        CrossTenantWriteError::TokenSource(error) => {
            cloud_diagnostic("Invalid token source", &error)
        }
        CrossTenantWriteError::StaleNotDeleted(error) => {
            cloud_diagnostic("Could not delete the stale Disconnected peering", &error)
        }
        CrossTenantWriteError::Write(error) => put_diagnostic(&error, target),
        CrossTenantWriteError::NotConnected(error) => {
            cloud_diagnostic("The peering did not become Connected", &error).with_paragraph(
                format!(
                    "The peering {} exists but stays Initiated while Aiven's own peering (from {} \
                 back to this VNet) is missing. Aiven creates it when its peering connection \
                 reaches PENDING_PEER: check the state of the `vnetpeer_aiven_vpc_peering`. The \
                 peering is kept (tainted) and replaced on the next apply.",
                    target.id, target.remote_vnet
                ),
            )
        }
    };
    Err(WriteFailure {
        diagnostics: diagnostic.into(),
        peering_may_exist,
    })
}

// ----- explanations ------------------------------------------------------------------------------

/// A refused or failed peering write, with the likely causes and fixes of the refusals the
/// workflow runs into.
fn put_diagnostic(error: &CloudError, target: &Target) -> Diagnostic {
    let client = &target.client_id;
    let vnet = &target.id.vnet;
    let remote = &target.remote_vnet;
    let remote_tenant = &target.remote_tenant_id;
    if error.has_code(codes::AUTHORIZATION_FAILED) {
        return cloud_diagnostic(
            "The peering application may not create peerings on the virtual network",
            error,
        )
        .with_paragraph(format!(
            "Azure refused `{PEERING_WRITE_ACTION}` on {vnet} to application {client} until the \
             operation's timeout. Likely causes:\n\
             - the application's service principal has no Network Contributor role on the VNet: \
             add a `vnetpeer_role_assignment` with `role_definition_name = \"Network \
             Contributor\"`, `scope` = the VNet id and `principal_id` = the application's \
             `service_principal_object_id`, and make this peering depend on it;\n\
             - the assignment was made moments ago and has not propagated yet (up to 10 \
             minutes): raise `timeouts {{ create }}` and apply again."
        ))
        .at(Planned::client_id);
    }
    if error.has_code(codes::LINKED_AUTHORIZATION_FAILED) {
        return cloud_diagnostic("Azure refused the link to Aiven's virtual network", error)
            .with_paragraph(format!(
                "The peering needs application {client} to hold `{PEER_ACTION}` on {remote}, \
                 proven by the application's own token for tenant {remote_tenant}. Likely \
                 causes:\n\
                 - `remote_tenant_id` or `remote_vnet_id` are not Aiven's: use `aiven_tenant_id` \
                 and `aiven_vnet_id` of the `vnetpeer_aiven_vpc_peering`;\n\
                 - Aiven has not granted the application `peer/action` on its VNet: it does so \
                 when its peering connection for this application reaches PENDING_PEER; check \
                 that `peer_azure_app_id` of the Aiven peering is `client_id` and that its state \
                 is PENDING_PEER or ACTIVE;\n\
                 - the grant was made moments ago and is still propagating in Aiven's tenant: \
                 raise `timeouts {{ create }}` and apply again."
            ))
            .at(Planned::remote_tenant_id);
    }
    if error.has_code(codes::REMOTE_PEERING_IS_DISCONNECTED) {
        return cloud_diagnostic("Aiven's side of the peering is disconnected", error)
            .with_paragraph(
                "Aiven's own peering back to this VNet is Disconnected, so this peering cannot \
                 connect. Re-create the Aiven peering connection: `terraform apply \
                 -replace=<address of the vnetpeer_aiven_vpc_peering>`.",
            )
            .at(Planned::remote_vnet_id);
    }
    cloud_diagnostic(
        "Could not create or update the virtual network peering",
        error,
    )
}

/// A token request of the application that Entra ID refused, with the likely causes.
fn token_diagnostic(
    error: &CloudError,
    tenant: TenantRole,
    target: &Target,
    secret: &AppSecret,
) -> Diagnostic {
    let client = &target.client_id;
    let refusal = TokenRefusal::of(error);
    let where_ = match tenant {
        TenantRole::Customer => "the customer tenant".to_owned(),
        TenantRole::Remote => format!("Aiven's tenant {}", target.remote_tenant_id),
    };
    let secret_attribute = if secret.is_minted() {
        Credential::application_object_id
    } else {
        Credential::client_secret
    };
    if refusal == TokenRefusal::Secret {
        let cause = if secret.is_minted() {
            "- `application_object_id` is not the object id of the application whose client id \
             is `client_id` (use `object_id` and `client_id` of the same `vnetpeer_aad_app`);"
        } else {
            "- `client_secret` is wrong, expired, or the secret's id instead of its value, or it \
             belongs to another application than `client_id`;"
        };
        return cloud_diagnostic("The peering application's secret does not work", error)
            .with_paragraph(format!(
                "Entra ID refused the secret of application {client} in {where_}. Likely \
                 causes:\n{cause}\n- the secret was added moments ago and is not usable yet \
                 (new secrets take seconds, rarely minutes): apply again."
            ))
            .at(secret_attribute);
    }
    let missing_principal = refusal == TokenRefusal::NoServicePrincipal;
    if missing_principal && tenant == TenantRole::Remote {
        return cloud_diagnostic(
            "The peering application cannot sign in to Aiven's tenant",
            error,
        )
        .with_paragraph(format!(
            "Application {client} has no service principal in tenant {}. Aiven creates it when \
             its peering connection for this application reaches PENDING_PEER. Likely causes:\n\
             - the Aiven peering connection names another application (`peer_azure_app_id` \
             must be `client_id`) or has not reached PENDING_PEER: make this peering depend on \
             the `vnetpeer_aiven_vpc_peering` (use its `aiven_tenant_id` and `aiven_vnet_id`);\n\
             - `remote_tenant_id` is not Aiven's tenant;\n\
             - the application is single-tenant: `sign_in_audience` must be \
             `AzureADMultipleOrgs`.",
            target.remote_tenant_id
        ))
        .at(Planned::remote_tenant_id);
    }
    if missing_principal {
        return cloud_diagnostic(
            "The peering application is unknown in the customer tenant",
            error,
        )
        .with_paragraph(format!(
            "Entra ID knows no application {client} with a service principal in the customer \
             tenant. Use `client_id` of the `vnetpeer_aad_app` (which creates both)."
        ))
        .at(Planned::client_id);
    }
    if refusal == TokenRefusal::UnknownTenant {
        let attribute = match tenant {
            TenantRole::Customer => Planned::client_id,
            TenantRole::Remote => Planned::remote_tenant_id,
        };
        return cloud_diagnostic(format!("Entra ID does not know {where_}"), error).at(attribute);
    }
    cloud_diagnostic(
        format!("Could not obtain a token for the peering application in {where_}"),
        error,
    )
}

// ----- resource identity ------------------------------------------------------------------------

/// A VNet peering is named by its subscription, resource group, VNet and name: the identity of
/// azurerm's `azurerm_virtual_network_peering`, so the same four values work for both.
fn identity_declaration() -> Identity {
    Identity::required(
        &[
            (
                "subscription_id",
                "The subscription of the local virtual network (a UUID).",
            ),
            (
                "resource_group_name",
                "The resource group of the local virtual network.",
            ),
            (
                "virtual_network_name",
                "The name of the local virtual network.",
            ),
            ("name", "The name of the peering."),
        ],
        |state| {
            let vnet = VirtualNetworkId::parse(state.attr_str(Location::vnet_id)?).ok()?;
            let name = state.attr_str(Location::name)?;
            Some(std::collections::BTreeMap::from([
                ("subscription_id", vnet.subscription_id),
                ("resource_group_name", vnet.resource_group),
                ("virtual_network_name", vnet.name),
                ("name", name.to_owned()),
            ]))
        },
        |parts| {
            Ok(format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}/virtualNetworkPeerings/{}",
                identity::part(parts, "subscription_id")?,
                identity::part(parts, "resource_group_name")?,
                identity::part(parts, "virtual_network_name")?,
                identity::part(parts, "name")?
            ))
        },
    )
}

/// `moved` from azurerm's `azurerm_virtual_network_peering` (its `id`, the peering's resource
/// id): the state an import by that id gives.
fn moved_from(source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
    let import = |id: &str| VnetPeeringId::parse(id).map(|id| Location::of(&id).to_value());
    source.imported_by_id(
        "azurerm",
        "azurerm_virtual_network_peering",
        "a virtual network peering id",
        import,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::aadsts;
    use crate::cloud::{Service, ServiceError};
    use crate::test_support::{VNET, arm_error, refusal};

    fn token_error(code: u32) -> CloudError {
        CloudError::Service(Box::new(ServiceError {
            operation: "POST /t/oauth2/v2.0/token".into(),
            message: format!("AADSTS{code}: refused"),
            aadsts_codes: vec![code],
            ..refusal(Service::EntraId, 401, "invalid_client")
        }))
    }

    fn target() -> Target {
        Target::from_value(&Value::object([
            ("name", Value::string("to-aiven")),
            ("vnet_id", Value::string(VNET)),
            (
                "remote_vnet_id",
                Value::string("/subscriptions/a1000000-0000-4000-8000-000000000002/resourceGroups/aiven-rg/providers/Microsoft.Network/virtualNetworks/aiven-vnet"),
            ),
            ("remote_tenant_id", Value::string("a1000000-0000-4000-8000-000000000001")),
            ("client_id", Value::string("c1000000-0000-4000-8000-0000000000aa")),
            ("allow_forwarded_traffic", Value::from(true)),
        ]))
        .unwrap()
    }

    #[test]
    fn only_a_peering_whose_remote_vnet_changed_is_synced_here() {
        let state = |peering_state: &str, level: &str| {
            Value::object([
                ("peering_state", Value::string(peering_state)),
                ("peering_sync_level", Value::string(level)),
            ])
        };
        let needed =
            |level: &'static str, local, remote| Some((level, PeeringsToSync { local, remote }));
        assert_eq!(
            sync_needed(&state("Connected", "FullyInSync")),
            needed("FullyInSync", false, false)
        );
        assert_eq!(
            sync_needed(&state("Connected", "LocalNotInSync")),
            needed("LocalNotInSync", true, false)
        );
        assert_eq!(
            sync_needed(&state("Connected", "RemoteNotInSync")),
            needed("RemoteNotInSync", false, true)
        );
        assert_eq!(
            sync_needed(&state("Connected", "LocalAndRemoteNotInSync")),
            needed("LocalAndRemoteNotInSync", true, true)
        );
        // Waiting for the remote side: never in sync, nothing to do yet.
        assert_eq!(sync_needed(&state("Initiated", "RemoteNotInSync")), None);
    }

    #[test]
    fn aiven_peering_ids_parse_with_one_or_two_slashes() {
        let one = AivenPeeringRef::parse(&format!("acme-prod/vpc-1{VNET}")).unwrap();
        let two = AivenPeeringRef::parse(&format!("acme-prod/vpc-1/{VNET}")).unwrap();
        assert_eq!(one, two);
        assert_eq!(
            one.vpc,
            VpcAddress::Project {
                project: "acme-prod".into(),
                vpc_id: "vpc-1".into()
            }
        );
        let organization =
            AivenPeeringRef::parse(&format!("organization/org1a2b3c4d5e6/vpc-1{VNET}")).unwrap();
        assert_eq!(
            organization.vpc,
            VpcAddress::Organization {
                organization_id: "org1a2b3c4d5e6".into(),
                vpc_id: "vpc-1".into()
            }
        );
        assert_eq!(one.vnet.name, "vnet-App");
        assert!(AivenPeeringRef::parse("acme-prod/vpc-1").is_err());
        assert!(AivenPeeringRef::parse("acme-prod//subscriptions/x").is_err());
        assert!(
            aiven_peering_id_validator()
                .check(&Value::string("nope"))
                .is_err()
        );
    }

    #[test]
    fn replacement_ignores_case_and_imported_nulls() {
        let prior = Value::object([
            ("vnet_id", Value::string(VNET)),
            ("client_id", Value::Null),
            ("name", Value::string("to-aiven")),
        ]);
        let planned = Value::object([
            ("vnet_id", Value::string(VNET.to_uppercase())),
            (
                "client_id",
                Value::string("c1000000-0000-4000-8000-0000000000aa"),
            ),
            ("name", Value::string("to-aiven-2")),
        ]);
        // Through the schema's attribute rules, as every plan applies them.
        let replaced = |planned: &Value| -> Vec<String> {
            let mut change = PlannedChange {
                prior: prior.clone(),
                config: planned.clone(),
                planned: planned.clone(),
                requires_replace: Vec::new(),
                warnings: Diagnostics::new(),
            };
            let _ = crate::framework::plan::finish_plan(
                &CrossTenantVnetPeering.schema(),
                &mut change,
                false,
            );
            change
                .requires_replace
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let paths = replaced(&planned);
        assert!(!paths.contains(&"vnet_id".to_owned()), "case only");
        assert!(
            !paths.contains(&"client_id".to_owned()),
            "recorded after import"
        );
        assert!(paths.contains(&"name".to_owned()));
        let unknown = Value::object([("name", Value::unknown())]);
        assert!(replaced(&unknown).contains(&"name".to_owned()));
    }

    #[test]
    fn targets_carry_the_flags_and_both_vnets() {
        let target = target();
        assert!(target.properties.allow_forwarded_traffic);
        assert!(
            target.properties.allow_virtual_network_access,
            "default true"
        );
        assert!(!target.properties.use_remote_gateways);
        assert_eq!(
            target.id.to_string(),
            format!("{VNET}/virtualNetworkPeerings/to-aiven")
        );
        assert_eq!(target.id.vnet.name, "vnet-App");
        assert_eq!(target.remote_vnet.name, "aiven-vnet");
        let missing = Target::from_value(&Value::object([("name", Value::string("x"))]));
        assert!(missing.is_err());
    }

    #[test]
    fn explanations_name_the_fix_and_the_attribute() {
        let target = target();
        let linked = put_diagnostic(&arm_error(403, codes::LINKED_AUTHORIZATION_FAILED), &target);
        assert!(
            linked.detail.contains("peer_azure_app_id"),
            "{}",
            linked.detail
        );
        assert!(linked.detail.contains("PENDING_PEER"));
        let denied = put_diagnostic(&arm_error(403, codes::AUTHORIZATION_FAILED), &target);
        assert!(denied.detail.contains("Network Contributor"));

        let configured = AppSecret::Configured(SecretString::new("s3cr3t-value-123"));
        let wrong = token_diagnostic(
            &token_error(aadsts::INVALID_CLIENT_SECRET),
            TenantRole::Customer,
            &target,
            &configured,
        );
        assert!(
            wrong.detail.contains("`client_secret` is wrong"),
            "{}",
            wrong.detail
        );
        assert!(!wrong.detail.contains("s3cr3t"));
        let no_sp = token_diagnostic(
            &token_error(aadsts::MISSING_SERVICE_PRINCIPAL),
            TenantRole::Remote,
            &target,
            &configured,
        );
        assert_eq!(
            no_sp.summary,
            "The peering application cannot sign in to Aiven's tenant"
        );
        assert!(no_sp.detail.contains("AzureADMultipleOrgs"));
        let unknown_here = token_diagnostic(
            &token_error(aadsts::APPLICATION_NOT_FOUND),
            TenantRole::Customer,
            &target,
            &configured,
        );
        assert_eq!(
            unknown_here.summary,
            "The peering application is unknown in the customer tenant"
        );
        assert!(
            !format!("{configured:?}").contains("s3cr3t"),
            "Debug redacts the secret"
        );
    }
}
