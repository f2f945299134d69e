//! Microsoft.Network: virtual networks, virtual network peerings as long-running operations, and
//! the operation status endpoints (docs/development/arm.md, 'ARM: Microsoft.Network (VNet and
//! peerings)'; preconditions (b) and (c) of docs/development/cross-api-rules.md, 'Preconditions').

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ArmCall, ArmError, Context, Namespace, empty, json_response, respond};
use crate::emulator::EmulatorState;
use crate::faults::RequestKey;
use crate::log::{Service, ViolationKind};
use crate::world::arm::{
    ArmWorld, Operation, OperationKind, PEER_ACTION, PEERING_DELETE_ACTION, PEERING_READ_ACTION,
    PEERING_WRITE_ACTION, PeeringState, VNET_READ_ACTION, VirtualNetwork, VnetPeering, VnetRef,
    first_overlap, normalize_scope,
};
use crate::world::identity::{Audience, AuthError, Principal};
use crate::world::vnet_id;

/// The header carrying tokens for other tenants (docs/development/arm.md, 'Cross-tenant requests:
/// `x-ms-authorization-auxiliary`').
pub const AUXILIARY_HEADER: &str = "x-ms-authorization-auxiliary";

const VNET: &str = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{vnet}";
const PEERINGS: &str = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{vnet}/virtualNetworkPeerings";
const PEERING: &str = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{vnet}/virtualNetworkPeerings/{peering}";
const OPERATION: &str = "/subscriptions/{subscription_id}/providers/Microsoft.Network/locations/{location}/operations/{operation_id}";
const OPERATION_RESULT: &str = "/subscriptions/{subscription_id}/providers/Microsoft.Network/locations/{location}/operationResults/{operation_id}";

pub(super) fn routes() -> Router<EmulatorState> {
    Router::new()
        .route(VNET, get(get_vnet))
        .route(PEERINGS, get(list_peerings))
        .route(
            PEERING,
            get(get_peering).put(put_peering).delete(delete_peering),
        )
        .route(OPERATION, get(get_operation))
        .route(OPERATION_RESULT, get(get_operation_result))
}

#[derive(Debug, Deserialize)]
struct VnetPath {
    subscription_id: String,
    resource_group: String,
    vnet: String,
}

#[derive(Debug, Deserialize)]
struct PeeringPath {
    subscription_id: String,
    resource_group: String,
    vnet: String,
    peering: String,
}

#[derive(Debug, Deserialize)]
struct OperationPath {
    subscription_id: String,
    operation_id: String,
}

/// The JSON of a virtual network (VirtualNetwork, docs/development/arm.md, 'Versions and the VNet
/// GET').
fn vnet_json(world: &ArmWorld, id: &str, vnet: &VirtualNetwork, now: Instant) -> Value {
    json!({
        "name": vnet.name,
        "id": id,
        "etag": format!("W/\"{}\"", vnet.resource_guid),
        "type": "Microsoft.Network/virtualNetworks",
        "location": vnet.location,
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": vnet.resource_guid,
            "addressSpace": {"addressPrefixes": vnet.address_prefixes},
            "subnets": [],
            "virtualNetworkPeerings": vnet
                .peerings
                .iter()
                .map(|p| peering_json(world, id, p, now))
                .collect::<Vec<_>>(),
            "enableDdosProtection": false,
        },
    })
}

/// The JSON of a peering (VirtualNetworkPeering, docs/development/arm.md, 'Virtual network
/// peerings').
fn peering_json(world: &ArmWorld, vnet_id: &str, peering: &VnetPeering, now: Instant) -> Value {
    let state = world.peering_state(vnet_id, peering, now);
    let provisioning = if peering.deleting_since.is_some() {
        "Deleting"
    } else if peering.provisioned_at > now
        || peering.updating_until.is_some_and(|until| until > now)
    {
        "Updating"
    } else {
        "Succeeded"
    };
    let sync_level = match state {
        PeeringState::Connected => world.peering_sync_level(vnet_id, peering),
        PeeringState::Initiated | PeeringState::Disconnected => "RemoteNotInSync",
    };
    let local_prefixes = world
        .vnet_by_id(vnet_id)
        .map(|v| v.address_prefixes.clone())
        .unwrap_or_default();
    json!({
        "name": peering.name,
        "id": format!("{vnet_id}/virtualNetworkPeerings/{}", peering.name),
        "etag": format!("W/\"{}-{}\"", peering.resource_guid, peering.version),
        "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "properties": {
            "provisioningState": provisioning,
            "resourceGuid": peering.resource_guid,
            "peeringState": state.as_str(),
            "peeringSyncLevel": sync_level,
            "remoteVirtualNetwork": {"id": peering.remote_vnet_id},
            "allowVirtualNetworkAccess": peering.allow_virtual_network_access,
            "allowForwardedTraffic": peering.allow_forwarded_traffic,
            "allowGatewayTransit": peering.allow_gateway_transit,
            "useRemoteGateways": peering.use_remote_gateways,
            "doNotVerifyRemoteGateways": false,
            "peerCompleteVnets": true,
            "remoteAddressSpace": {"addressPrefixes": peering.remote_address_prefixes},
            "remoteVirtualNetworkAddressSpace": {"addressPrefixes": peering.remote_address_prefixes},
            "localAddressSpace": {"addressPrefixes": local_prefixes},
            "localVirtualNetworkAddressSpace": {"addressPrefixes": local_prefixes},
            "routeServiceVips": {},
        },
    })
}

/// The canonical id of the addressed VNet, after the resource group and VNet existence checks.
fn existing_vnet(
    ctx: &Context<'_>,
    subscription_id: &str,
    resource_group: &str,
    vnet: &str,
) -> Result<String, ArmError> {
    ctx.check_resource_group(subscription_id, resource_group)?;
    ctx.world
        .arm
        .canonical_vnet_id(&vnet_id(subscription_id, resource_group, vnet))
        .ok_or_else(|| ArmError::vnet_not_found(resource_group, vnet))
}

async fn get_vnet(Path(p): Path<VnetPath>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Network)?;
        ctx.check_subscription(&p.subscription_id)?;
        let requested = vnet_id(&p.subscription_id, &p.resource_group, &p.vnet);
        ctx.authorize(VNET_READ_ACTION, &requested)?;
        let id = existing_vnet(&ctx, &p.subscription_id, &p.resource_group, &p.vnet)?;
        let vnet = ctx
            .world
            .arm
            .vnet_by_id(&id)
            .ok_or_else(|| ArmError::vnet_not_found(&p.resource_group, &p.vnet))?;
        Ok(json_response(
            StatusCode::OK,
            vnet_json(&ctx.world.arm, &id, vnet, ctx.now),
        ))
    })())
}

async fn list_peerings(Path(p): Path<VnetPath>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Network)?;
        ctx.check_subscription(&p.subscription_id)?;
        let requested = vnet_id(&p.subscription_id, &p.resource_group, &p.vnet);
        ctx.authorize(
            PEERING_READ_ACTION,
            &format!("{requested}/virtualNetworkPeerings"),
        )?;
        let id = existing_vnet(&ctx, &p.subscription_id, &p.resource_group, &p.vnet)?;
        let vnet = ctx
            .world
            .arm
            .vnet_by_id(&id)
            .ok_or_else(|| ArmError::vnet_not_found(&p.resource_group, &p.vnet))?;
        let value: Vec<Value> = vnet
            .peerings
            .iter()
            .map(|peering| peering_json(&ctx.world.arm, &id, peering, ctx.now))
            .collect();
        Ok(json_response(StatusCode::OK, json!({"value": value})))
    })())
}

fn peering_not_found(id: &str) -> ArmError {
    ArmError::not_found("NotFound", format!("Resource {id} not found."))
}

async fn get_peering(Path(p): Path<PeeringPath>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Network)?;
        ctx.check_subscription(&p.subscription_id)?;
        let requested = format!(
            "{}/virtualNetworkPeerings/{}",
            vnet_id(&p.subscription_id, &p.resource_group, &p.vnet),
            p.peering
        );
        ctx.authorize(PEERING_READ_ACTION, &requested)?;
        let id = existing_vnet(&ctx, &p.subscription_id, &p.resource_group, &p.vnet)?;
        let peering = ctx
            .world
            .arm
            .peering(&id, &p.peering)
            .ok_or_else(|| peering_not_found(&requested))?;
        Ok(json_response(
            StatusCode::OK,
            peering_json(&ctx.world.arm, &id, peering, ctx.now),
        ))
    })())
}

/// Whether a peering name is valid (docs/development/arm.md, 'Virtual network peerings': 1–80
/// characters; alphanumerics, `_`, `.`, `-`; starts with an alphanumeric; ends with an alphanumeric
/// or `_`).
fn valid_peering_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let allowed = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    !bytes.is_empty()
        && bytes.len() <= 80
        && bytes.iter().all(allowed)
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The writable properties of a peering PUT body.
struct PeeringRequest {
    remote_vnet_id: String,
    allow_virtual_network_access: bool,
    allow_forwarded_traffic: bool,
    allow_gateway_transit: bool,
    use_remote_gateways: bool,
}

fn parse_peering_body(body: &[u8]) -> Result<PeeringRequest, ArmError> {
    let value: Value = serde_json::from_slice(body).map_err(ArmError::invalid_content)?;
    let properties = value
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or_else(|| ArmError::invalid_content("the body has no 'properties' object"))?;
    let remote = properties
        .get("remoteVirtualNetwork")
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRequestFormat",
                "Cannot parse the request: 'properties.remoteVirtualNetwork.id' is required.",
            )
        })?;
    let flag = |name: &str, default: bool| -> Result<bool, ArmError> {
        match properties.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(value)) => Ok(*value),
            Some(other) => Err(ArmError::invalid_content(format!(
                "'properties.{name}' must be a boolean, not {other}"
            ))),
        }
    };
    Ok(PeeringRequest {
        remote_vnet_id: remote.to_owned(),
        allow_virtual_network_access: flag("allowVirtualNetworkAccess", true)?,
        allow_forwarded_traffic: flag("allowForwardedTraffic", false)?,
        allow_gateway_transit: flag("allowGatewayTransit", false)?,
        use_remote_gateways: flag("useRemoteGateways", false)?,
    })
}

fn linked_failed(message: String) -> ArmError {
    ArmError::new(StatusCode::FORBIDDEN, "LinkedAuthorizationFailed", message)
}

/// The cross-tenant rule (docs/development/arm.md, 'Cross-tenant requests:
/// `x-ms-authorization-auxiliary`'; precondition (c) of docs/development/cross-api-rules.md,
/// 'Preconditions'): the caller (or, for a remote VNet in
/// another tenant, the same application authenticated in that tenant through
/// `x-ms-authorization-auxiliary`) must hold `peer/action` on the remote VNet.
fn check_linked_authorization(
    ctx: &Context<'_>,
    headers: &HeaderMap,
    peering_id: &str,
    remote: &VnetRef,
    remote_id: &str,
) -> Result<(), ArmError> {
    let principal = &ctx.principal;
    let Some(remote_tenant) = ctx
        .world
        .arm
        .tenant_of_subscription(&remote.subscription_id)
    else {
        return Err(linked_failed(format!(
            "The client has permission to perform action '{PEERING_WRITE_ACTION}' on scope '{peering_id}', however the linked subscription '{}' was not found.",
            remote.subscription_id
        )));
    };
    let propagation = ctx.state.knobs.rbac_propagation;
    let no_peer_permission = |who: &Principal| {
        linked_failed(format!(
            "The client '{}' with object id '{}' has permission to perform action '{PEERING_WRITE_ACTION}' on scope '{peering_id}'; however, it does not have permission to perform action(s) '{PEER_ACTION}' on the linked scope(s) '{remote_id}' (respectively) or the linked scope(s) are invalid.",
            who.app_id, who.object_id
        ))
    };
    if remote_tenant.eq_ignore_ascii_case(&principal.tenant_id) {
        return if ctx.world.arm.principal_can(
            &principal.object_id,
            PEER_ACTION,
            remote_id,
            ctx.now,
            propagation,
        ) {
            Ok(())
        } else {
            Err(no_peer_permission(principal))
        };
    }

    let auxiliary = auxiliary_principals(ctx, headers)?;
    let not_authorized = || {
        linked_failed(format!(
            "The client has permission to perform action '{PEERING_WRITE_ACTION}' on scope '{peering_id}', however the current tenant '{}' is not authorized to access linked subscription '{}'.",
            principal.tenant_id, remote.subscription_id
        ))
    };
    // Only a token of the same application counts: all tokens of a request must belong to one
    // identity (docs/development/arm.md, 'Cross-tenant requests: `x-ms-authorization-auxiliary`').
    let Some(linked) = auxiliary.iter().find(|aux| {
        aux.tenant_id.eq_ignore_ascii_case(remote_tenant)
            && aux.app_id.eq_ignore_ascii_case(&principal.app_id)
    }) else {
        return Err(not_authorized());
    };
    if ctx.world.arm.principal_can(
        &linked.object_id,
        PEER_ACTION,
        remote_id,
        ctx.now,
        propagation,
    ) {
        Ok(())
    } else {
        Err(no_peer_permission(linked))
    }
}

/// Authenticates every token of `x-ms-authorization-auxiliary` (`Bearer <t1>, Bearer <t2>`, at
/// most three).
fn auxiliary_principals(
    ctx: &Context<'_>,
    headers: &HeaderMap,
) -> Result<Vec<Principal>, ArmError> {
    let Some(value) = headers.get(AUXILIARY_HEADER) else {
        return Ok(Vec::new());
    };
    let text = value.to_str().map_err(|_| {
        ArmError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The 'x-ms-authorization-auxiliary' header is not valid text.",
        )
    })?;
    let entries: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.len() > 3 {
        return Err(ArmError::bad_request(
            "InvalidAuxiliaryTokens",
            format!(
                "The 'x-ms-authorization-auxiliary' header carries {} tokens; at most 3 are allowed.",
                entries.len()
            ),
        ));
    }
    let mut principals = Vec::new();
    for entry in entries {
        let token = crate::world::identity::bearer_token(entry).ok_or_else(|| {
            ArmError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The 'x-ms-authorization-auxiliary' header must hold 'Bearer <token>' entries separated by ', '.",
            )
        })?;
        match ctx
            .world
            .identity
            .authenticate_token(token, Audience::Arm, ctx.now)
        {
            Ok(principal) => principals.push(principal),
            Err(error) => {
                let who = ctx
                    .world
                    .identity
                    .tokens
                    .get(token)
                    .map(|t| format!(" for client '{}' in tenant '{}'", t.app_id, t.tenant_id))
                    .unwrap_or_default();
                if let AuthError::WrongAudience { audience } = &error {
                    ctx.violation(
                        ViolationKind::WrongAudience,
                        format!("auxiliary token for audience {audience} sent to ARM"),
                    );
                }
                return Err(ArmError::new(
                    StatusCode::UNAUTHORIZED,
                    error.arm_code(),
                    format!(
                        "The auxiliary token{who} in the 'x-ms-authorization-auxiliary' header was refused: {}",
                        error.arm_message()
                    ),
                ));
            }
        }
    }
    Ok(principals)
}

/// `Retry-After` text for a delay: integer seconds when whole, fractional seconds otherwise
/// (the test preset uses sub-second delays).
pub(crate) fn retry_after_text(delay: Duration) -> String {
    if delay.subsec_nanos() == 0 {
        delay.as_secs().to_string()
    } else {
        let text = format!("{:.3}", delay.as_secs_f64());
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Rounds a delay up to whole milliseconds.
fn ceil_millis(delay: Duration) -> Duration {
    let millis = delay.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// 429 `RetryableErrorDueToAnotherOperation` while another peering operation holds the VNet
/// (docs/development/arm.md, 'Throttling'); an earlier retry is recorded as a violation by the
/// shared middleware.
fn another_operation(
    ctx: &Context<'_>,
    vnet: &str,
    resource: &str,
    operation: &Operation,
    ends: Instant,
) -> ArmError {
    let wait = ceil_millis(ends.saturating_duration_since(ctx.now)).max(Duration::from_millis(1));
    ctx.state.faults.note_throttled(
        &RequestKey {
            service: Service::Arm,
            method: ctx.method.as_str(),
            route: "",
            path: &ctx.path,
        },
        ctx.now + wait,
    );
    let kind = match operation.kind {
        OperationKind::PutPeering => "PutVirtualNetworkPeeringOperation",
        OperationKind::DeletePeering => "DeleteVirtualNetworkPeeringOperation",
    };
    let ours = if ctx.method == Method::DELETE {
        "DeleteVirtualNetworkPeeringOperation"
    } else {
        "PutVirtualNetworkPeeringOperation"
    };
    ArmError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RetryableErrorDueToAnotherOperation",
        format!(
            "Operation {ours} on resource {resource} is not allowed because operation {kind} ({}) is in progress on virtual network {vnet}. Retry after that operation completes.",
            operation.id
        ),
    )
    .with_header(header::RETRY_AFTER, retry_after_text(wait))
}

/// URLs of an operation's status endpoints.
fn operation_urls(ctx: &Context<'_>, operation: &Operation) -> (String, String) {
    let base = format!(
        "{}/subscriptions/{}/providers/Microsoft.Network/locations/{}",
        ctx.state.endpoints.arm, operation.subscription_id, operation.location
    );
    (
        format!(
            "{base}/operations/{}?api-version={}",
            operation.id, ctx.api_version
        ),
        format!(
            "{base}/operationResults/{}?api-version={}",
            operation.id, ctx.api_version
        ),
    )
}

fn start_operation(
    ctx: &mut Context<'_>,
    kind: OperationKind,
    subscription_id: &str,
    location: &str,
    resource_id: &str,
) -> Operation {
    let retry_after = ctx.state.knobs.lro_retry_after;
    let operation = Operation {
        id: ctx.world.arm.ids.next_id(),
        subscription_id: subscription_id.to_owned(),
        location: location.to_owned(),
        kind,
        resource_id: resource_id.to_owned(),
        started_at: ctx.now,
        completes_at: ctx.now + ctx.state.knobs.lro_duration,
        retry_after,
        poll_not_before: ctx.now + retry_after.unwrap_or_default(),
    };
    ctx.world
        .arm
        .operations
        .insert(operation.id.clone(), operation.clone());
    operation
}

async fn put_peering(Path(p): Path<PeeringPath>, call: ArmCall) -> Response {
    respond(put_peering_sync(&call, &p))
}

fn put_peering_sync(call: &ArmCall, p: &PeeringPath) -> Result<Response, ArmError> {
    let mut ctx = call.begin(Namespace::Network)?;
    ctx.check_subscription(&p.subscription_id)?;
    let requested = format!(
        "{}/virtualNetworkPeerings/{}",
        vnet_id(&p.subscription_id, &p.resource_group, &p.vnet),
        p.peering
    );
    ctx.authorize(PEERING_WRITE_ACTION, &requested)?;
    ctx.check_resource_group(&p.subscription_id, &p.resource_group)?;
    let Some(local_id) =
        ctx.world
            .arm
            .canonical_vnet_id(&vnet_id(&p.subscription_id, &p.resource_group, &p.vnet))
    else {
        return Err(ArmError::not_found(
            "ParentResourceNotFound",
            format!(
                "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
                p.vnet
            ),
        ));
    };
    if !valid_peering_name(&p.peering) {
        return Err(ArmError::bad_request(
            "InvalidResourceName",
            format!(
                "Resource name {} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.",
                p.peering
            ),
        ));
    }
    let request = parse_peering_body(&call.body)?;
    // The only value the spec allows is "true".
    let sync_remote_address_space = call
        .query
        .get("syncRemoteAddressSpace")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let Some(remote) = VnetRef::parse(&request.remote_vnet_id) else {
        return Err(ArmError::bad_request(
            "LinkedInvalidPropertyId",
            format!(
                "Property id '{}' at path 'properties.remoteVirtualNetwork.id' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'.",
                request.remote_vnet_id
            ),
        ));
    };
    let remote_id = request.remote_vnet_id.trim_end_matches('/').to_owned();
    check_linked_authorization(&ctx, &call.headers, &requested, &remote, &remote_id)?;

    let Some(remote_canonical) = ctx.world.arm.canonical_vnet_id(&remote_id) else {
        let code = if remote
            .subscription_id
            .eq_ignore_ascii_case(&p.subscription_id)
        {
            "InvalidResourceReference"
        } else {
            "InvalidGlobalResourceReference"
        };
        return Err(ArmError::bad_request(
            code,
            format!(
                "Resource {remote_id} referenced by resource {requested} was not found. Please make sure that the referenced resource exists."
            ),
        ));
    };
    if let Some((operation, ends)) = ctx.world.arm.running_operation_on_vnet(&local_id, ctx.now) {
        let operation = operation.clone();
        return Err(another_operation(
            &ctx, &local_id, &requested, &operation, ends,
        ));
    }

    let peering_id = format!("{local_id}/virtualNetworkPeerings/{}", p.peering);
    let existing = ctx.world.arm.peering(&local_id, &p.peering).cloned();
    let remote_vnet = ctx
        .world
        .arm
        .vnet_by_id(&remote_canonical)
        .cloned()
        .ok_or_else(|| ArmError::vnet_not_found(&remote.resource_group, &remote.name))?;
    let local_vnet = ctx
        .world
        .arm
        .vnet_by_id(&local_id)
        .cloned()
        .ok_or_else(|| ArmError::vnet_not_found(&p.resource_group, &p.vnet))?;

    if let Some(existing) = &existing
        && existing.disconnected_at.is_some()
    {
        return Err(ArmError::bad_request(
            "RemotePeeringIsDisconnected",
            format!(
                "Cannot create or update peering {peering_id} because it is in Disconnected state: its remote peering or the remote virtual network {} was deleted. Delete this peering and create it again once the remote peering exists.",
                existing.remote_vnet_id
            ),
        ));
    }
    let local_normalized = normalize_scope(&local_id);
    if let Some(reverse) = remote_vnet.peerings.iter().find(|q| {
        normalize_scope(&q.remote_vnet_id) == local_normalized && q.disconnected_at.is_some()
    }) {
        return Err(ArmError::bad_request(
            "RemotePeeringIsDisconnected",
            format!(
                "Cannot create or update peering {peering_id} because remote peering {remote_canonical}/virtualNetworkPeerings/{} referencing parent virtual network {local_id} is in Disconnected state. Update or re-create the remote peering to get it back to Initiated state. Peering gets Disconnected when remote vnet or remote peering is deleted and re-created.",
                reverse.name
            ),
        ));
    }
    let remote_normalized = normalize_scope(&remote_canonical);
    if let Some(other) = local_vnet.peerings.iter().find(|q| {
        !q.name.eq_ignore_ascii_case(&p.peering)
            && normalize_scope(&q.remote_vnet_id) == remote_normalized
    }) {
        return Err(ArmError::bad_request(
            "AnotherPeeringAlreadyReferencesRemoteVnet",
            format!(
                "Peering {local_id}/virtualNetworkPeerings/{} already references remote virtual network Id: {remote_canonical}",
                other.name
            ),
        ));
    }
    if let Some(prefix) = first_overlap(&local_vnet.address_prefixes, &remote_vnet.address_prefixes)
    {
        return Err(ArmError::bad_request(
            "VnetAddressSpacesOverlap",
            format!(
                "Cannot create or update peering {peering_id}. Virtual networks {local_id} and {remote_canonical} cannot be peered because their address spaces overlap. Overlapping address prefixes: {prefix}"
            ),
        ));
    }
    for other in local_vnet
        .peerings
        .iter()
        .filter(|q| !q.name.eq_ignore_ascii_case(&p.peering) && q.deleting_since.is_none())
    {
        if let Some(prefix) = first_overlap(
            &remote_vnet.address_prefixes,
            &other.remote_address_prefixes,
        ) {
            return Err(ArmError::bad_request(
                "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet",
                format!(
                    "Cannot create or update peering {peering_id}. Virtual networks {local_id} and {remote_canonical} cannot be peered because address space of the first virtual network overlaps with address space of virtual network {} already peered with the second virtual network. Overlapping address prefixes: {prefix}.",
                    other.remote_vnet_id
                ),
            ));
        }
    }

    let location = local_vnet.location.clone();
    let operation = start_operation(
        &mut ctx,
        OperationKind::PutPeering,
        &p.subscription_id,
        &location,
        &peering_id,
    );
    let resource_guid = existing
        .as_ref()
        .map_or_else(|| ctx.world.arm.ids.next_id(), |e| e.resource_guid.clone());
    let created = existing.is_none();
    let peering = VnetPeering {
        name: existing
            .as_ref()
            .map_or_else(|| p.peering.clone(), |e| e.name.clone()),
        remote_vnet_id: request.remote_vnet_id.clone(),
        allow_virtual_network_access: request.allow_virtual_network_access,
        allow_forwarded_traffic: request.allow_forwarded_traffic,
        allow_gateway_transit: request.allow_gateway_transit,
        use_remote_gateways: request.use_remote_gateways,
        resource_guid,
        // An update keeps what the peering knew of the remote address space; only a create or
        // `syncRemoteAddressSpace=true` learns it anew.
        remote_address_prefixes: match &existing {
            Some(existing) if !sync_remote_address_space => {
                existing.remote_address_prefixes.clone()
            }
            _ => remote_vnet.address_prefixes.clone(),
        },
        version: existing.as_ref().map_or(1, |e| e.version + 1),
        // An update keeps the peering connected; only a create waits for the operation.
        provisioned_at: existing
            .as_ref()
            .map_or(operation.completes_at, |e| e.provisioned_at),
        updating_until: existing.as_ref().map(|_| operation.completes_at),
        deleting_since: None,
        disconnected_at: None,
    };
    let stored_name = peering.name.clone();
    if let Some(vnet) = ctx.world.arm.vnet_by_id_mut(&local_id) {
        vnet.peerings
            .retain(|q| !q.name.eq_ignore_ascii_case(&stored_name));
        vnet.peerings.push(peering);
    }
    if sync_remote_address_space {
        ctx.world.arm.sync_address_spaces(&local_id, &stored_name);
    }
    let Some(stored) = ctx.world.arm.peering(&local_id, &stored_name) else {
        return Err(peering_not_found(&peering_id));
    };
    let body = peering_json(&ctx.world.arm, &local_id, stored, ctx.now);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, body);
    let (async_url, _) = operation_urls(&ctx, &operation);
    insert_header(&mut response, "azure-asyncoperation", &async_url);
    if let Some(retry_after) = operation.retry_after {
        insert_header(&mut response, "retry-after", &retry_after_text(retry_after));
    }
    Ok(response)
}

fn insert_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = axum::http::HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(axum::http::HeaderName::from_static(name), value);
    }
}

async fn delete_peering(Path(p): Path<PeeringPath>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Network)?;
        ctx.check_subscription(&p.subscription_id)?;
        let requested = format!(
            "{}/virtualNetworkPeerings/{}",
            vnet_id(&p.subscription_id, &p.resource_group, &p.vnet),
            p.peering
        );
        ctx.authorize(PEERING_DELETE_ACTION, &requested)?;
        let Some(local_id) = ctx.world.arm.canonical_vnet_id(&vnet_id(
            &p.subscription_id,
            &p.resource_group,
            &p.vnet,
        )) else {
            return Ok(empty(StatusCode::NO_CONTENT));
        };
        if ctx.world.arm.peering(&local_id, &p.peering).is_none() {
            return Ok(empty(StatusCode::NO_CONTENT));
        }
        if let Some((operation, ends)) = ctx.world.arm.running_operation_on_vnet(&local_id, ctx.now)
        {
            let operation = operation.clone();
            return Err(another_operation(
                &ctx, &local_id, &requested, &operation, ends,
            ));
        }
        let location = ctx
            .world
            .arm
            .vnet_by_id(&local_id)
            .map(|v| v.location.clone())
            .unwrap_or_default();
        let peering_id = format!("{local_id}/virtualNetworkPeerings/{}", p.peering);
        let operation = start_operation(
            &mut ctx,
            OperationKind::DeletePeering,
            &p.subscription_id,
            &location,
            &peering_id,
        );
        let now = ctx.now;
        if let Some(vnet) = ctx.world.arm.vnet_by_id_mut(&local_id)
            && let Some(peering) = vnet
                .peerings
                .iter_mut()
                .find(|q| q.name.eq_ignore_ascii_case(&p.peering))
        {
            peering.deleting_since = Some(now);
        }
        let mut response = empty(StatusCode::ACCEPTED);
        let (async_url, location_url) = operation_urls(&ctx, &operation);
        insert_header(&mut response, "azure-asyncoperation", &async_url);
        insert_header(&mut response, "location", &location_url);
        if let Some(retry_after) = operation.retry_after {
            insert_header(&mut response, "retry-after", &retry_after_text(retry_after));
        }
        Ok(response)
    })())
}

/// Looks an operation up, checks it against the poll's `Retry-After`, and remembers the next
/// one.
fn poll_operation(ctx: &mut Context<'_>, p: &OperationPath) -> Result<Operation, ArmError> {
    let key = ctx
        .world
        .arm
        .operations
        .keys()
        .find(|id| id.eq_ignore_ascii_case(&p.operation_id))
        .cloned();
    let operation = key
        .and_then(|key| ctx.world.arm.operations.get(&key).cloned())
        .filter(|op| op.subscription_id.eq_ignore_ascii_case(&p.subscription_id))
        .ok_or_else(|| {
            ArmError::not_found(
                "NotFound",
                format!("Operation {} not found.", p.operation_id),
            )
        })?;
    if let Some(retry_after) = operation.retry_after
        && ctx.now < operation.poll_not_before
    {
        let early = operation.poll_not_before.saturating_duration_since(ctx.now);
        ctx.violation(
            ViolationKind::EarlyPoll,
            format!(
                "operation polled {} ms before its Retry-After ({} s) had passed",
                early.as_millis(),
                retry_after_text(retry_after)
            ),
        );
    }
    let now = ctx.now;
    if let Some(stored) = ctx.world.arm.operations.get_mut(&operation.id) {
        stored.poll_not_before = now + stored.retry_after.unwrap_or_default();
    }
    Ok(operation)
}

async fn get_operation(Path(p): Path<OperationPath>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Network)?;
        ctx.check_subscription(&p.subscription_id)?;
        let operation = poll_operation(&mut ctx, &p)?;
        let done = ctx.now >= operation.completes_at;
        let status = if done { "Succeeded" } else { "InProgress" };
        let mut response = json_response(StatusCode::OK, json!({"status": status}));
        if !done && let Some(retry_after) = operation.retry_after {
            insert_header(&mut response, "retry-after", &retry_after_text(retry_after));
        }
        Ok(response)
    })())
}

async fn get_operation_result(Path(p): Path<OperationPath>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Network)?;
        ctx.check_subscription(&p.subscription_id)?;
        let operation = poll_operation(&mut ctx, &p)?;
        if ctx.now < operation.completes_at {
            let mut response = empty(StatusCode::ACCEPTED);
            let (_, location_url) = operation_urls(&ctx, &operation);
            insert_header(&mut response, "location", &location_url);
            if let Some(retry_after) = operation.retry_after {
                insert_header(&mut response, "retry-after", &retry_after_text(retry_after));
            }
            return Ok(response);
        }
        match operation.kind {
            OperationKind::DeletePeering => Ok(empty(StatusCode::NO_CONTENT)),
            OperationKind::PutPeering => {
                let resource = operation.resource_id.clone();
                let (vnet, name) = resource
                    .rsplit_once("/virtualNetworkPeerings/")
                    .unwrap_or((resource.as_str(), ""));
                match ctx.world.arm.peering(vnet, name) {
                    Some(peering) => Ok(json_response(
                        StatusCode::OK,
                        peering_json(&ctx.world.arm, vnet, peering, ctx.now),
                    )),
                    None => Ok(empty(StatusCode::NO_CONTENT)),
                }
            }
        }
    })())
}
