//! Azure Resource Manager: Microsoft.Resources (subscriptions), Microsoft.Network (virtual
//! networks, peerings, long-running operations) and Microsoft.Authorization (role definitions,
//! role assignments), with the checks ARM makes on every request (docs/development/arm.md; the
//! cross-service preconditions of docs/development/cross-api-rules.md, 'Preconditions'). Section
//! titles quoted below are those of docs/development/arm.md.
//!
//! Every request, in this order:
//! - `api-version` is required (400 `MissingApiVersionParameter`) and must be one the namespace
//!   serves (400 `InvalidApiVersionParameter` listing them): Microsoft.Authorization `2022-04-01`
//!   (and older previews), Microsoft.Network `2023-02-01` … `2025-09-01`, Microsoft.Resources
//!   `2022-12-01` and the resource-group versions up to `2024-11-01`. Both are also `missing_api_version` / `unsupported_api_version`
//!   violations.
//! - A bearer token for ARM (401 `AuthenticationFailed`, `InvalidAuthenticationToken`,
//!   `ExpiredAuthenticationToken`, `InvalidAuthenticationTokenAudience` + `wrong_audience`).
//! - The subscription exists (404 `SubscriptionNotFound`) and belongs to the token's tenant
//!   (401 `InvalidAuthenticationTokenTenant`, message and `WWW-Authenticate` naming both
//!   tenants; `wrong_tenant` violation) ('Cross-tenant requests: `x-ms-authorization-auxiliary`';
//!   precondition (a)).
//! - RBAC ('Role definitions', 'Role assignment errors'): role assignments at the subscription,
//!   resource group or resource scope and above, built-in roles Owner, Contributor, Reader, Network
//!   Contributor, User Access Administrator and custom roles, `*` wildcards, notActions,
//!   case-insensitive actions. Reads count every assignment; writes and deletes only those older
//!   than `knobs.rbac_propagation`. 403 `AuthorizationFailed` names client id, object id, action
//!   and scope.
//! - Token buckets per (subscription, principal, reads/writes/deletes) ('Throttling'):
//!   `x-ms-ratelimit-remaining-*` on every answer; 429 `SubscriptionRequestsThrottled` with an
//!   integer `Retry-After` only when `world.arm.throttling.enforce` is on.
//!
//! Resources:
//! - `GET /subscriptions/{s}` (`tenantId`), `GET /subscriptions`,
//!   `GET /subscriptions/{s}/resourceGroups/{rg}`; visible to principals holding a role at, above
//!   or inside them (403 `AuthorizationFailed` otherwise).
//! - `GET …/virtualNetworks/{v}`: names case-insensitive; 404 `ResourceNotFound` /
//!   `ResourceGroupNotFound`.
//! - Role definitions ('Role definitions', 'Role definition errors'): `PUT` 201 (create and update;
//!   roleName unique per tenant across custom and built-in roles: 409
//!   `RoleDefinitionWithSameNameExists`; 400 `InvalidRoleDefinition` for a missing name, no
//!   actions, or assignable scopes that are empty, `/`, wildcards or outside the tenant); `GET` by
//!   scope path or tenant-level id (built-ins resolvable everywhere; 404
//!   `RoleDefinitionDoesNotExist`); list with `$filter=roleName eq '…'`, `type eq '…'`,
//!   `atScopeAndBelow()`; `DELETE` 200 with the body, 204 when absent, 409
//!   `RoleDefinitionHasAssignments` while assigned.
//! - Role assignments ('Role assignments', 'Role assignment errors'): `PUT` 201, identical repeat
//!   200, 400 `InvalidRoleAssignmentId`, 400 `RoleDefinitionDoesNotExist`, 409
//!   `RoleAssignmentExists` (same scope, role and principal under another name), 400
//!   `RoleAssignmentUpdateNotPermitted` (same name, other properties), 400 `PrincipalNotFound`
//!   while the principal is not visible (Graph replication window) or does not exist, unless
//!   `principalType` is given (then accepted, possibly dangling, as ARM does), 400
//!   `UnmatchedPrincipalType`; responses carry the tenant-level
//!   `/providers/Microsoft.Authorization/roleDefinitions/{guid}` form; `GET`, `DELETE` 200/204,
//!   list with `$filter=atScope()`, `principalId eq '…'`, `assignedTo('…')`.
//! - Peerings ('Virtual network peerings', 'Long-running operations (ARM RPC)'): `PUT` is a
//!   long-running operation: 201 (200 for an update) with `provisioningState: Updating`,
//!   `Azure-AsyncOperation` (absolute URL on this listener) and `Retry-After`
//!   (`knobs.lro_retry_after`, fractional seconds when not whole, omitted when `None`); the
//!   operation ends after `knobs.lro_duration`. `DELETE` answers 202 with `Location`,
//!   `Azure-AsyncOperation` and `Retry-After`; the `Location` URL answers 202 then 204; 204 when
//!   absent. Polling an operation before its `Retry-After` is an `early_poll` violation.
//!   Preconditions: `virtualNetworkPeerings/write` on the local VNet (403 `AuthorizationFailed`);
//!   for a remote VNet in another tenant an `x-ms-authorization-auxiliary: Bearer <t>[, Bearer
//!   <t2>]` token (at most 3) of the same application for that tenant whose service principal holds
//!   `peer/action` on the remote VNet (propagated), else 403 `LinkedAuthorizationFailed` (also for
//!   an unknown linked subscription, and, in one tenant, for a caller without `peer/action`); a bad
//!   auxiliary token is 401 naming its client and tenant. Then 400 `LinkedInvalidPropertyId`,
//!   `InvalidResourceName`, `InvalidGlobalResourceReference` / `InvalidResourceReference` (remote
//!   VNet missing), `RemotePeeringIsDisconnected` (this peering or the remote one pointing back is
//!   `Disconnected`), `AnotherPeeringAlreadyReferencesRemoteVnet`, `VnetAddressSpacesOverlap`,
//!   `VnetAddressSpaceOverlapsWithAlreadyPeeredVnet`; 429 `RetryableErrorDueToAnotherOperation`
//!   with `Retry-After` while another peering operation runs on the same VNet (an earlier retry is
//!   an `early_retry` violation). `peeringState` is `Initiated` until the reverse peering exists
//!   and both are provisioned, then `Connected` (`peeringSyncLevel: FullyInSync`); when the remote
//!   side is deleted the survivor is `Disconnected` for good. Aiven's own peering (Aiven VNet →
//!   customer VNet) is an ordinary peering of Aiven's VNet.
//!
//! Literal path segments are case-insensitive in ARM (`resourcegroups` works as well as
//! `resourceGroups`); requests that do not match a route in canonical case are re-routed once
//! with their literal segments canonicalized (the request log then shows their path as route).

mod authorization;
mod network;
mod subscriptions;

use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::ServiceExt as _;

use crate::emulator::EmulatorState;
use crate::log::{Service, ViolationKind};
use crate::world::World;
use crate::world::arm::RequestKind;
use crate::world::identity::{Audience, AuthError, Principal};

/// The api-versions each namespace serves (docs/development/arm.md: Authorization `2022-04-01`;
/// 'Versions and the VNet GET'; 'Subscription → tenant id').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// Microsoft.Resources (subscriptions).
    Resources,
    /// Microsoft.Network.
    Network,
    /// Microsoft.Authorization.
    Authorization,
}

impl Namespace {
    /// Supported api-versions, newest first.
    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            Namespace::Resources => &[
                "2024-11-01",
                "2024-07-01",
                "2024-03-01",
                "2023-07-01",
                "2022-12-01",
                "2022-09-01",
                "2021-04-01",
                "2021-01-01",
                "2020-01-01",
                "2019-11-01",
                "2019-06-01",
                "2016-06-01",
            ],
            Namespace::Network => &[
                "2025-09-01",
                "2025-07-01",
                "2025-05-01",
                "2025-03-01",
                "2025-01-01",
                "2024-07-01",
                "2024-05-01",
                "2024-03-01",
                "2024-01-01",
                "2023-11-01",
                "2023-09-01",
                "2023-06-01",
                "2023-05-01",
                "2023-04-01",
                "2023-02-01",
            ],
            Namespace::Authorization => &[
                "2022-05-01-preview",
                "2022-04-01",
                "2020-10-01-preview",
                "2020-04-01-preview",
                "2018-09-01-preview",
                "2018-01-01-preview",
                "2015-07-01",
            ],
        }
    }
}

/// An ARM error answer in the envelope of docs/development/arm.md, 'ARM error envelope'.
#[derive(Debug, Clone)]
pub struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub headers: Vec<(HeaderName, String)>,
}

impl ArmError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ArmError {
        ArmError {
            status,
            code: code.to_owned(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 with `code`.
    pub fn conflict(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::CONFLICT, code, message)
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> ArmError {
        self.headers.push((name, value.into()));
        self
    }

    /// 403 `AuthorizationFailed` (docs/development/arm.md, 'Cross-tenant requests:
    /// `x-ms-authorization-auxiliary`').
    pub fn authorization_failed(principal: &Principal, action: &str, scope: &str) -> ArmError {
        ArmError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                principal.app_id, principal.object_id
            ),
        )
    }

    /// 400 `InvalidRequestContent` for a body that is not the expected JSON.
    pub fn invalid_content(detail: impl std::fmt::Display) -> ArmError {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    }

    /// 404 `SubscriptionNotFound`.
    pub fn subscription_not_found(subscription_id: &str) -> ArmError {
        ArmError::not_found(
            "SubscriptionNotFound",
            format!("The subscription '{subscription_id}' could not be found."),
        )
    }

    /// 404 `ResourceGroupNotFound`.
    pub fn resource_group_not_found(resource_group: &str) -> ArmError {
        ArmError::not_found(
            "ResourceGroupNotFound",
            format!("Resource group '{resource_group}' could not be found."),
        )
    }

    /// 404 `ResourceNotFound` for a virtual network.
    pub fn vnet_not_found(resource_group: &str, vnet: &str) -> ArmError {
        ArmError::not_found(
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.Network/virtualNetworks/{vnet}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// What every ARM handler starts from: the checked request, the locked and settled world, and
/// the caller.
pub(crate) struct Context<'a> {
    pub state: &'a EmulatorState,
    pub world: MutexGuard<'a, World>,
    pub principal: Principal,
    pub now: Instant,
    pub method: Method,
    pub path: String,
    pub api_version: String,
}

impl Context<'_> {
    /// Checks that the caller may perform `action` on `scope`. Writes count only role
    /// assignments older than the RBAC propagation delay (docs/development/arm.md, 'Role assignment
    /// errors' "Propagation").
    pub fn authorize(&self, action: &str, scope: &str) -> Result<(), ArmError> {
        let write = !action.to_ascii_lowercase().ends_with("/read");
        let propagation = if write {
            self.state.knobs.rbac_propagation
        } else {
            std::time::Duration::ZERO
        };
        if self.world.arm.principal_can(
            &self.principal.object_id,
            action,
            scope,
            self.now,
            propagation,
        ) {
            Ok(())
        } else {
            Err(ArmError::authorization_failed(
                &self.principal,
                action,
                scope,
            ))
        }
    }

    /// Checks that `resource_group` exists in the subscription (404 `ResourceGroupNotFound`).
    pub fn check_resource_group(
        &self,
        subscription_id: &str,
        resource_group: &str,
    ) -> Result<(), ArmError> {
        match self
            .world
            .arm
            .resource_group(subscription_id, resource_group)
        {
            Some(_) => Ok(()),
            None => Err(ArmError::resource_group_not_found(resource_group)),
        }
    }

    /// Checks that the subscription exists and belongs to the token's tenant
    /// (docs/development/cross-api-rules.md, 'Preconditions' (a)).
    pub fn check_subscription(&self, subscription_id: &str) -> Result<(), ArmError> {
        let Some(tenant) = self.world.arm.tenant_of_subscription(subscription_id) else {
            return Err(ArmError::subscription_not_found(subscription_id));
        };
        if tenant.eq_ignore_ascii_case(&self.principal.tenant_id) {
            return Ok(());
        }
        self.state.violation(
            ViolationKind::WrongTenant,
            Service::Arm,
            self.method.as_str(),
            &self.path,
            format!(
                "token of tenant {} used on subscription {subscription_id} of tenant {tenant}",
                self.principal.tenant_id
            ),
        );
        Err(wrong_tenant(&self.principal.tenant_id, tenant))
    }

    /// Records a violation for this request.
    pub fn violation(&self, kind: ViolationKind, detail: impl Into<String>) {
        self.state
            .violation(kind, Service::Arm, self.method.as_str(), &self.path, detail);
    }

    /// Checks that `scope` (a subscription or resource group) is visible to the caller: it is
    /// to any principal holding a role at, above or inside it; otherwise 403 naming `read_action`.
    pub fn check_visible(&self, scope: &str, read_action: &str) -> Result<(), ArmError> {
        if self
            .world
            .arm
            .principal_has_any_assignment_within(&self.principal.object_id, scope)
        {
            Ok(())
        } else {
            Err(ArmError::authorization_failed(
                &self.principal,
                read_action,
                scope,
            ))
        }
    }
}

/// 401 `InvalidAuthenticationTokenTenant` (docs/development/arm.md, 'Cross-tenant requests:
/// `x-ms-authorization-auxiliary`').
pub fn wrong_tenant(token_tenant: &str, subscription_tenant: &str) -> ArmError {
    ArmError::new(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationTokenTenant",
        format!(
            "The access token is from the wrong issuer 'https://sts.windows.net/{token_tenant}/'. It must match the tenant 'https://sts.windows.net/{subscription_tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{subscription_tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
        ),
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        format!(
            "Bearer authorization_uri=\"https://login.windows.net/{subscription_tenant}\", error=\"invalid_token\", error_description=\"The access token is from the wrong issuer.\""
        ),
    )
}

/// The ARM 401 for a bearer-token problem.
pub fn auth_error(error: &AuthError) -> ArmError {
    ArmError::new(StatusCode::UNAUTHORIZED, error.arm_code(), error.arm_message()).with_header(
        header::WWW_AUTHENTICATE,
        "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"The authentication failed.\"",
    )
}

/// The parsed query string (names as sent, values percent-decoded).
pub(crate) fn query_pairs(uri: &Uri) -> HashMap<String, String> {
    url_decode_pairs(uri.query().unwrap_or_default())
}

fn url_decode_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (form encoding of a space).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        index += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One ARM request, as every handler takes it: the emulator and the request's method, URI,
/// headers, query and body. [`ArmCall::begin`] runs the checks every ARM request goes through.
pub(crate) struct ArmCall {
    pub state: EmulatorState,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The parsed query string (names as sent, values percent-decoded).
    pub query: HashMap<String, String>,
    pub body: Bytes,
}

impl FromRequest<EmulatorState> for ArmCall {
    type Rejection = Response;

    async fn from_request(request: Request, state: &EmulatorState) -> Result<ArmCall, Response> {
        let (parts, body) = crate::request::read(request, state).await?;
        Ok(ArmCall {
            state: state.clone(),
            query: query_pairs(&parts.uri),
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        })
    }
}

impl ArmCall {
    /// Starts the request: checks the api-version for `namespace`, locks the world, applies due
    /// delayed effects and authenticates the bearer token.
    pub fn begin(&self, namespace: Namespace) -> Result<Context<'_>, ArmError> {
        let state = &self.state;
        let method = &self.method;
        let path = self.uri.path().to_owned();
        let api_version = check_api_version(state, namespace, method, &path, &self.query)?;
        let now = state.clock.now();
        let mut world = state.world();
        crate::world::aiven::settle(&mut world, &state.knobs, now, state.clock.utc_at(now));
        let authorization = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let principal = match world
            .identity
            .authenticate(authorization, Audience::Arm, now)
        {
            Ok(principal) => principal,
            Err(error) => {
                if let AuthError::WrongAudience { audience } = &error {
                    state.violation(
                        ViolationKind::WrongAudience,
                        Service::Arm,
                        method.as_str(),
                        &path,
                        format!("token for audience {audience} sent to ARM"),
                    );
                }
                return Err(auth_error(&error));
            }
        };
        Ok(Context {
            state,
            world,
            principal,
            now,
            method: method.clone(),
            path,
            api_version,
        })
    }
}

fn check_api_version(
    state: &EmulatorState,
    namespace: Namespace,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
) -> Result<String, ArmError> {
    let version = query
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("api-version"))
        .map(|(_, value)| value.clone());
    let Some(version) = version.filter(|v| !v.is_empty()) else {
        state.violation(
            ViolationKind::MissingApiVersion,
            Service::Arm,
            method.as_str(),
            path,
            "no api-version query parameter",
        );
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if namespace.api_versions().contains(&version.as_str()) {
        return Ok(version);
    }
    state.violation(
        ViolationKind::UnsupportedApiVersion,
        Service::Arm,
        method.as_str(),
        path,
        format!("api-version {version} is not served by {namespace:?}"),
    );
    Err(ArmError::bad_request(
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{version}' is invalid. The supported versions are '{}'.",
            namespace.api_versions().join(",")
        ),
    ))
}

/// Answers a handler's result.
pub(crate) fn respond(result: Result<Response, ArmError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A JSON response with ARM's usual headers.
pub(crate) fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Literal segments of ARM paths in canonical case, for re-routing requests that spell them
/// differently.
const CANONICAL_SEGMENTS: [&str; 12] = [
    "subscriptions",
    "resourceGroups",
    "providers",
    "Microsoft.Network",
    "Microsoft.Authorization",
    "virtualNetworks",
    "virtualNetworkPeerings",
    "roleDefinitions",
    "roleAssignments",
    "locations",
    "operations",
    "operationResults",
];

fn canonical_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            CANONICAL_SEGMENTS
                .iter()
                .find(|canonical| canonical.eq_ignore_ascii_case(segment))
                .map_or(segment, |canonical| canonical)
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The ARM routes.
pub fn router(state: EmulatorState) -> Router {
    let routes = Router::new()
        .merge(subscriptions::routes())
        .merge(network::routes())
        .merge(authorization::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle,
        ))
        .with_state(state.clone());
    let canonical = routes.clone();
    routes.fallback(move |request: Request| {
        let canonical = canonical.clone();
        async move {
            let path = request.uri().path().to_owned();
            let fixed = canonical_path(&path);
            if fixed == path {
                return not_found_route(&path);
            }
            let (mut parts, body) = request.into_parts();
            let rebuilt = match parts.uri.query() {
                Some(query) => format!("{fixed}?{query}"),
                None => fixed,
            };
            match rebuilt.parse::<Uri>() {
                Ok(uri) => parts.uri = uri,
                Err(_) => return not_found_route(&path),
            }
            let request = Request::from_parts(parts, body);
            match canonical.oneshot(request).await {
                Ok(response) => response,
                Err(infallible) => match infallible {},
            }
        }
    })
}

/// ARM's request accounting (docs/development/arm.md, 'Throttling'): every request of a known
/// principal takes a token from its bucket; the answer carries `x-ms-ratelimit-remaining-*`,
/// request ids, and, when throttling is enforced and the bucket is empty, 429
/// `SubscriptionRequestsThrottled` with an integer `Retry-After`.
async fn throttle(
    axum::extract::State(state): axum::extract::State<EmulatorState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let now = state.clock.now();
    let path = request.uri().path().to_owned();
    let kind = match *request.method() {
        Method::GET | Method::HEAD => RequestKind::Read,
        Method::DELETE => RequestKind::Delete,
        _ => RequestKind::Write,
    };
    let subscription = path
        .strip_prefix("/subscriptions/")
        .and_then(|rest| rest.split('/').next())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let caller = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| state.world().identity.credential_of(value))
        .and_then(|credential| credential.object_id.zip(credential.tenant_id));
    let mut remaining = None;
    if let Some((principal, tenant)) = caller {
        let scope = subscription
            .clone()
            .unwrap_or_else(|| format!("tenant:{tenant}"));
        let taken = state
            .world()
            .arm
            .throttling
            .take(&scope, &principal, kind, now);
        match taken {
            Ok(left) => remaining = Some(left),
            Err(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let seconds = seconds.max(1);
                state.faults.note_throttled(
                    &crate::faults::RequestKey {
                        service: Service::Arm,
                        method: request.method().as_str(),
                        route: "",
                        path: &path,
                    },
                    now + std::time::Duration::from_secs(seconds),
                );
                let target = subscription.map_or_else(
                    || format!("tenant '{tenant}'"),
                    |s| format!("subscription '{s}'"),
                );
                return ArmError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "SubscriptionRequestsThrottled",
                    format!(
                        "Number of '{}' requests for {target} actor '{principal}' exceeded. Please try again after '{seconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
                        match kind {
                            RequestKind::Read => "read",
                            RequestKind::Write => "write",
                            RequestKind::Delete => "delete",
                        }
                    ),
                )
                .with_header(header::RETRY_AFTER, seconds.to_string())
                .into_response();
            }
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(left) = remaining {
        let scope = if path.starts_with("/subscriptions/") {
            "subscription"
        } else {
            "tenant"
        };
        let name = format!("x-ms-ratelimit-remaining-{scope}-{}", kind.as_str());
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&left.to_string()),
        ) {
            headers.insert(name, value);
        }
    }
    for name in ["x-ms-request-id", "x-ms-correlation-request-id"] {
        if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn not_found_route(path: &str) -> Response {
    ArmError::not_found("InvalidResourceType",
        format!("The resource type could not be found for the request path '{path}' (not served by the emulator)."),
    )
    .into_response()
}

/// An empty response with a status.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}
