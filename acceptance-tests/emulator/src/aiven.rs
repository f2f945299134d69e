//! Aiven API v1: project VPCs and their peering connections (docs/development/aiven.md, 'Aiven
//! REST API v1'; preconditions (e) and (f) of docs/development/cross-api-rules.md,
//! 'Preconditions').
//!
//! - Authentication: `Authorization: aivenv1 <token>` or `Bearer <token>`; anything else is 403
//!   "Authentication failed". Errors use Aiven's envelope
//!   `{"message", "errors": [{"message", "status"}]}`; not found is 404.
//! - `GET /v1/project/{p}/vpcs` → `{"vpcs": [VpcOut]}`; `GET /v1/project/{p}/vpcs/{id}` adds
//!   `peering_connections[]`.
//! - `POST /v1/project/{p}/vpcs/{id}/peering-connections` → 200 with the connection in
//!   `APPROVED` (`state_info: null`). On an Azure VPC `peer_resource_group`,
//!   `peer_azure_app_id` and `peer_azure_tenant_id` are required and `peer_region` must be null
//!   (400). The five peer fields are stored verbatim; any upper-case letter is a
//!   `not_lower_case` violation. The same (account, resource group, VNet), compared as strings,
//!   is 409 "... already exists" and a `duplicate_create` violation.
//! - `DELETE .../peering-connections/peer-accounts/{a}/peer-resource-groups/{rg}/peer-vpcs/{v}`
//!   (and the form without resource group) → 200 with the connection in `DELETING`; 404 when no
//!   connection matches exactly.
//!
//! Organization VPCs (docs/development/aiven.md, 'Organization VPCs') share the connections and
//! their state machine; their routes are `/v1/organization/{o}/vpcs` (list) and the VPC item
//! under both `vpc/{id}` (the spec's singular form) and `vpcs/{id}` (the form Aiven's CLI and
//! docs still use): GET, `POST …/peering-connections` (200), `DELETE
//! …/peering-connection/{pcid}` (also `…/peering-connections/{pcid}`), and `PUT
//! …/user-peer-network-cidrs`. An unknown organization is 404 `organization_not_found`; a token
//! without `organization:networking:write` is 403 naming the permission. The project VPC's
//! `PUT /v1/project/{p}/vpcs/{id}/user-peer-network-cidrs` is served too.
//!
//! The state machine ([`crate::world::aiven`], evaluated lazily on every ARM and Aiven request):
//! `APPROVED` → after `knobs.aiven_peering_setup` Aiven checks that the VNet exists under the
//! exact lower-case names, that the subscription belongs to `peer_azure_tenant_id`, that the app
//! exists and is multi-tenant, that Aiven's service principal is visible in the customer tenant
//! and holds `peer/action` on the VNet through an assignment older than
//! `knobs.rbac_propagation`, and that the address spaces do not overlap; otherwise
//! `INVALID_SPECIFICATION` with `state_info.message`. On success Aiven creates the app's service
//! principal in its own tenant, grants it Network Contributor on Aiven's VNet, creates its own
//! peering Aiven VNet → customer VNet, and reports `PENDING_PEER` with `state_info`
//! `{message, "to-tenant-id", "to-network-id", type}`. `ACTIVE` follows
//! `knobs.aiven_peering_activation` after the customer's peering towards Aiven's VNet is
//! `Connected`. If the customer's peering is deleted, Aiven re-creates its side and goes back to
//! `PENDING_PEER` (unverified, see docs/development/aiven.md, 'Peering connection object, states
//! and state_info'); if Aiven's own peering is removed outside Aiven, the connection is
//! `DELETED_BY_PEER`. A `DELETING` connection disappears after `knobs.aiven_peering_deletion`,
//! taking Aiven's peering (the customer's becomes `Disconnected`) and, once no other connection
//! needs them, the role assignment and service principal Aiven made.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::EmulatorState;
use crate::log::{Service, ViolationKind};
use crate::world::aiven::{
    CidrAddition, CreatePeeringError, CreatePeeringRequest, OwnerKind, PeerKey,
};

/// An Aiven error answer.
#[derive(Debug, Clone)]
pub struct AivenError {
    pub status: StatusCode,
    pub message: String,
    /// `errors[].error_code`, when Aiven documents one.
    pub error_code: Option<&'static str>,
}

impl AivenError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> AivenError {
        AivenError {
            status,
            message: message.into(),
            error_code: None,
        }
    }

    fn with_code(mut self, code: &'static str) -> AivenError {
        self.error_code = Some(code);
        self
    }
}

impl IntoResponse for AivenError {
    fn into_response(self) -> Response {
        let mut error = json!({"message": self.message, "status": self.status.as_u16()});
        if let (Some(code), Some(object)) = (self.error_code, error.as_object_mut()) {
            object.insert("error_code".to_owned(), json!(code));
        }
        let body = json!({
            "message": self.message,
            "errors": [error],
        });
        (self.status, axum::Json(body)).into_response()
    }
}

/// The Aiven routes.
pub fn router(state: EmulatorState) -> Router {
    const CONNECTIONS: &str = "/v1/project/{project}/vpcs/{project_vpc_id}/peering-connections";
    Router::new()
        .route("/v1/project/{project}/vpcs", get(list_vpcs))
        .route("/v1/project/{project}/vpcs/{project_vpc_id}", get(get_vpc))
        .route(CONNECTIONS, post(create_peering))
        .route(
            &format!("{CONNECTIONS}/peer-accounts/{{peer_cloud_account}}/peer-resource-groups/{{peer_resource_group}}/peer-vpcs/{{peer_vpc}}"),
            delete(delete_peering),
        )
        .route(
            &format!("{CONNECTIONS}/peer-accounts/{{peer_cloud_account}}/peer-vpcs/{{peer_vpc}}"),
            delete(delete_peering),
        )
        .route(
            "/v1/project/{project}/vpcs/{project_vpc_id}/user-peer-network-cidrs",
            put(update_project_cidrs),
        )
        .route("/v1/organization/{organization_id}/vpcs", get(list_org_vpcs))
        .merge(organization_vpc_routes("vpc", "peering-connection"))
        .merge(organization_vpc_routes("vpcs", "peering-connections"))
        .with_state(state)
}

/// The organization VPC item routes under `/{vpc}/{id}`, deleting by id under
/// `/{connection}/{pcid}`.
fn organization_vpc_routes(vpc: &str, connection: &str) -> Router<EmulatorState> {
    let item = format!("/v1/organization/{{organization_id}}/{vpc}/{{vpc_id}}");
    Router::new()
        .route(&item, get(get_org_vpc))
        .route(
            &format!("{item}/peering-connections"),
            post(create_org_peering),
        )
        .route(
            &format!("{item}/{connection}/{{peering_connection_id}}"),
            delete(delete_org_peering),
        )
        .route(
            &format!("{item}/user-peer-network-cidrs"),
            put(update_org_cidrs),
        )
}

fn respond(result: Result<Response, AivenError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// One Aiven request, as every handler takes it: the emulator and the request's method, path,
/// headers and body. [`AivenCall::begin`] runs the checks every Aiven request goes through.
struct AivenCall {
    state: EmulatorState,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl FromRequest<EmulatorState> for AivenCall {
    type Rejection = Response;

    async fn from_request(request: Request, state: &EmulatorState) -> Result<AivenCall, Response> {
        let (parts, body) = crate::request::read(request, state).await?;
        Ok(AivenCall {
            state: state.clone(),
            path: parts.uri.path().to_owned(),
            method: parts.method,
            headers: parts.headers,
            body,
        })
    }
}

impl AivenCall {
    /// Authenticates and brings the world up to date.
    fn begin(&self) -> Result<(), AivenError> {
        self.authenticate()?;
        let state = &self.state;
        let now = state.clock.now();
        let mut world = state.world();
        crate::world::aiven::settle(&mut world, &state.knobs, now, state.clock.utc_at(now));
        Ok(())
    }

    /// [`AivenCall::begin`] for an organization route: the token needs the organization
    /// networking permission, and the organization must exist.
    fn begin_organization(&self, organization: &str) -> Result<(), AivenError> {
        self.begin()?;
        let token = self.token().unwrap_or_default();
        let world = self.state.world();
        if !world.aiven.token_has_organization_networking(&token) {
            let write = self.method != Method::GET;
            let permission = if write {
                "organization:networking:write"
            } else {
                "organization:networking:read"
            };
            return Err(AivenError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Permission denied: this operation requires the organization permission \
                     {permission} (Manage organization networking)"
                ),
            )
            .with_code("permission_denied"));
        }
        if world.aiven.organization(organization).is_none() {
            return Err(AivenError::new(
                StatusCode::NOT_FOUND,
                format!("Organization {organization} not found"),
            )
            .with_code("organization_not_found"));
        }
        Ok(())
    }

    /// The token of the `Authorization` header.
    fn token(&self) -> Option<String> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("aivenv1") || scheme.eq_ignore_ascii_case("bearer")
            })
            .map(|(_, token)| token.trim().to_owned())
    }

    /// Checks the `Authorization` header against the known tokens.
    fn authenticate(&self) -> Result<(), AivenError> {
        let token = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("aivenv1") || scheme.eq_ignore_ascii_case("bearer")
            })
            .map(|(_, token)| token.trim().to_owned());
        let valid = token.is_some_and(|token| self.state.world().aiven.token_is_valid(&token));
        if valid {
            Ok(())
        } else {
            Err(AivenError::new(
                StatusCode::FORBIDDEN,
                "Authentication failed",
            ))
        }
    }

    /// Records a violation for this request.
    fn violation(&self, kind: ViolationKind, detail: impl Into<String>) {
        self.state.violation(
            kind,
            Service::Aiven,
            self.method.as_str(),
            &self.path,
            detail,
        );
    }
}

fn project_not_found() -> AivenError {
    AivenError::new(StatusCode::NOT_FOUND, "Project does not exist")
}

fn vpc_not_found() -> AivenError {
    AivenError::new(StatusCode::NOT_FOUND, "Project VPC does not exist")
}

#[derive(Debug, Deserialize)]
struct ProjectPath {
    project: String,
}

#[derive(Debug, Deserialize)]
struct VpcPath {
    project: String,
    project_vpc_id: String,
}

#[derive(Debug, Deserialize)]
struct DeletePath {
    project: String,
    project_vpc_id: String,
    peer_cloud_account: String,
    peer_resource_group: Option<String>,
    peer_vpc: String,
}

async fn list_vpcs(Path(p): Path<ProjectPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin()?;
        let world = call.state.world();
        let project = world
            .aiven
            .project(&p.project)
            .ok_or_else(project_not_found)?;
        let vpcs: Vec<Value> = project.vpcs.iter().map(|v| v.summary_json()).collect();
        Ok(axum::Json(json!({"vpcs": vpcs})).into_response())
    })())
}

async fn get_vpc(Path(p): Path<VpcPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin()?;
        let world = call.state.world();
        if world.aiven.project(&p.project).is_none() {
            return Err(project_not_found());
        }
        let vpc = world
            .aiven
            .vpc(&p.project, &p.project_vpc_id)
            .ok_or_else(vpc_not_found)?;
        Ok(axum::Json(vpc.full_json()).into_response())
    })())
}

/// A string field of the create body; `None` when absent or null.
fn text_field(body: &Value, name: &str) -> Result<Option<String>, AivenError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(AivenError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid value for '{name}': expected a string"),
        )),
    }
}

async fn create_peering(Path(p): Path<VpcPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin()?;
        create_in(&call, OwnerKind::Project, &p.project, &p.project_vpc_id)
    })())
}

/// The create of a connection on a VPC of either owner, once the caller's checks have passed.
fn create_in(
    call: &AivenCall,
    kind: OwnerKind,
    owner: &str,
    vpc_id: &str,
) -> Result<Response, AivenError> {
    {
        let body: Value = serde_json::from_slice(&call.body).map_err(|error| {
            AivenError::new(
                StatusCode::BAD_REQUEST,
                format!("Invalid JSON in request body: {error}"),
            )
        })?;
        if !body.is_object() {
            return Err(AivenError::new(
                StatusCode::BAD_REQUEST,
                "Request body must be a JSON object",
            ));
        }
        let cloud_name = {
            let world = call.state.world();
            if world.aiven.owner(kind, owner).is_none() {
                return Err(project_not_found());
            }
            world
                .aiven
                .vpc_of(kind, owner, vpc_id)
                .ok_or_else(vpc_not_found)?
                .cloud_name
                .clone()
        };
        let required = |name: &str| -> Result<String, AivenError> {
            text_field(&body, name)?
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    AivenError::new(
                        StatusCode::BAD_REQUEST,
                        format!("Missing required field '{name}'"),
                    )
                })
        };
        let peer_cloud_account = required("peer_cloud_account")?;
        let peer_vpc = required("peer_vpc")?;
        let azure = cloud_name.starts_with("azure");
        let azure_field = |name: &str| -> Result<String, AivenError> {
            match text_field(&body, name)?.filter(|v| !v.is_empty()) {
                Some(value) => Ok(value),
                None if azure => Err(AivenError::new(
                    StatusCode::BAD_REQUEST,
                    format!("'{name}' is required for Azure peering connections"),
                )),
                None => Ok(String::new()),
            }
        };
        let peer_resource_group = azure_field("peer_resource_group")?;
        let peer_azure_app_id = azure_field("peer_azure_app_id")?;
        let peer_azure_tenant_id = azure_field("peer_azure_tenant_id")?;
        if azure && text_field(&body, "peer_region")?.is_some() {
            return Err(AivenError::new(
                StatusCode::BAD_REQUEST,
                "'peer_region' must be null or omitted for Azure peering connections",
            ));
        }
        let user_peer_network_cidrs = match body.get("user_peer_network_cidrs") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_owned).ok_or_else(|| {
                        AivenError::new(
                            StatusCode::BAD_REQUEST,
                            "'user_peer_network_cidrs' must hold strings",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(AivenError::new(
                    StatusCode::BAD_REQUEST,
                    "'user_peer_network_cidrs' must be an array",
                ));
            }
        };
        let not_lower: Vec<&str> = [
            ("peer_cloud_account", &peer_cloud_account),
            ("peer_resource_group", &peer_resource_group),
            ("peer_vpc", &peer_vpc),
            ("peer_azure_app_id", &peer_azure_app_id),
            ("peer_azure_tenant_id", &peer_azure_tenant_id),
        ]
        .iter()
        .filter(|(_, value)| value.chars().any(|c| c.is_ascii_uppercase()))
        .map(|(name, _)| *name)
        .collect();
        if !not_lower.is_empty() {
            call.violation(
                ViolationKind::NotLowerCase,
                format!("peer fields not in lower case: {}", not_lower.join(", ")),
            );
        }
        let request = CreatePeeringRequest {
            peer_cloud_account,
            peer_vpc,
            peer_resource_group,
            peer_azure_app_id,
            peer_azure_tenant_id,
            user_peer_network_cidrs,
        };
        let now = call.state.clock.now();
        let utc_now = call.state.clock.utc_at(now);
        let created = call
            .state
            .world()
            .aiven
            .create_peering_in(kind, owner, vpc_id, request, now, utc_now);
        match created {
            Ok(connection) => Ok(axum::Json(connection.to_json()).into_response()),
            Err(CreatePeeringError::NotFound(message)) => {
                Err(AivenError::new(StatusCode::NOT_FOUND, message))
            }
            Err(CreatePeeringError::AlreadyExists(message)) => {
                call.violation(
                    ViolationKind::DuplicateCreate,
                    "peering connection created twice for the same peer network",
                );
                Err(AivenError::new(StatusCode::CONFLICT, message))
            }
        }
    }
}

async fn delete_peering(Path(p): Path<DeletePath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin()?;
        let now = call.state.clock.now();
        let utc_now = call.state.clock.utc_at(now);
        let mut world = call.state.world();
        if world.aiven.project(&p.project).is_none() {
            return Err(project_not_found());
        }
        if world.aiven.vpc(&p.project, &p.project_vpc_id).is_none() {
            return Err(vpc_not_found());
        }
        let key = PeerKey {
            cloud_account: &p.peer_cloud_account,
            resource_group: p.peer_resource_group.as_deref(),
            vpc: &p.peer_vpc,
        };
        let connection = world
            .aiven
            .delete_peering(&p.project, &p.project_vpc_id, &key, now, utc_now)
            .ok_or_else(|| {
                AivenError::new(StatusCode::NOT_FOUND, "Peering connection does not exist")
            })?;
        Ok(axum::Json(connection.to_json()).into_response())
    })())
}

#[derive(Debug, Deserialize)]
struct OrganizationPath {
    organization_id: String,
}

#[derive(Debug, Deserialize)]
struct OrgVpcPath {
    organization_id: String,
    vpc_id: String,
}

#[derive(Debug, Deserialize)]
struct OrgConnectionPath {
    organization_id: String,
    vpc_id: String,
    peering_connection_id: String,
}

fn organization_vpc_not_found() -> AivenError {
    AivenError::new(StatusCode::NOT_FOUND, "Organization VPC does not exist")
}

async fn list_org_vpcs(Path(p): Path<OrganizationPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin_organization(&p.organization_id)?;
        let world = call.state.world();
        let vpcs: Vec<Value> = world
            .aiven
            .organization(&p.organization_id)
            .map(|o| o.vpcs.iter().map(|v| v.summary_json()).collect())
            .unwrap_or_default();
        Ok(axum::Json(json!({"vpcs": vpcs})).into_response())
    })())
}

async fn get_org_vpc(Path(p): Path<OrgVpcPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin_organization(&p.organization_id)?;
        let world = call.state.world();
        let vpc = world
            .aiven
            .vpc_of(OwnerKind::Organization, &p.organization_id, &p.vpc_id)
            .ok_or_else(organization_vpc_not_found)?;
        Ok(axum::Json(vpc.full_json()).into_response())
    })())
}

async fn create_org_peering(Path(p): Path<OrgVpcPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin_organization(&p.organization_id)?;
        create_in(
            &call,
            OwnerKind::Organization,
            &p.organization_id,
            &p.vpc_id,
        )
    })())
}

async fn delete_org_peering(Path(p): Path<OrgConnectionPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin_organization(&p.organization_id)?;
        let now = call.state.clock.now();
        let utc_now = call.state.clock.utc_at(now);
        let mut world = call.state.world();
        if world
            .aiven
            .vpc_of(OwnerKind::Organization, &p.organization_id, &p.vpc_id)
            .is_none()
        {
            return Err(organization_vpc_not_found());
        }
        let connection = world
            .aiven
            .delete_peering_by_id(
                &p.organization_id,
                &p.vpc_id,
                &p.peering_connection_id,
                now,
                utc_now,
            )
            .ok_or_else(|| {
                AivenError::new(StatusCode::NOT_FOUND, "Peering connection does not exist")
            })?;
        Ok(axum::Json(connection.to_json()).into_response())
    })())
}

async fn update_project_cidrs(Path(p): Path<VpcPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin()?;
        update_cidrs(&call, OwnerKind::Project, &p.project, &p.project_vpc_id)
    })())
}

async fn update_org_cidrs(Path(p): Path<OrgVpcPath>, call: AivenCall) -> Response {
    respond((|| {
        call.begin_organization(&p.organization_id)?;
        update_cidrs(
            &call,
            OwnerKind::Organization,
            &p.organization_id,
            &p.vpc_id,
        )
    })())
}

/// `PUT …/user-peer-network-cidrs` with `{add: [{cidr, peer_cloud_account,
/// peer_resource_group, peer_vpc}], delete: [cidr]}`; answers the whole VPC.
fn update_cidrs(
    call: &AivenCall,
    kind: OwnerKind,
    owner: &str,
    vpc_id: &str,
) -> Result<Response, AivenError> {
    let bad = |message: &str| AivenError::new(StatusCode::BAD_REQUEST, message);
    let body: Value = serde_json::from_slice(&call.body)
        .map_err(|error| bad(&format!("Invalid JSON in request body: {error}")))?;
    let add = match body.get("add") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let field = |name: &str| {
                    text_field(item, name)?
                        .ok_or_else(|| bad(&format!("Missing required field 'add[].{name}'")))
                };
                Ok(CidrAddition {
                    cidr: field("cidr")?,
                    peer_cloud_account: field("peer_cloud_account")?,
                    peer_resource_group: text_field(item, "peer_resource_group")?
                        .unwrap_or_default(),
                    peer_vpc: field("peer_vpc")?,
                })
            })
            .collect::<Result<Vec<_>, AivenError>>()?,
        Some(_) => return Err(bad("'add' must be an array")),
    };
    let delete: Vec<String> = match body.get("delete") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("'delete' must hold strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("'delete' must be an array")),
    };
    let now = call.state.clock.now();
    let utc_now = call.state.clock.utc_at(now);
    let mut world = call.state.world();
    match world
        .aiven
        .update_user_peer_network_cidrs(kind, owner, vpc_id, &add, &delete, utc_now)
    {
        None => Err(vpc_not_found()),
        Some(Err(message)) => Err(AivenError::new(StatusCode::NOT_FOUND, message)),
        Some(Ok(())) => {
            let vpc = world
                .aiven
                .vpc_of(kind, owner, vpc_id)
                .ok_or_else(vpc_not_found)?;
            Ok(axum::Json(vpc.full_json()).into_response())
        }
    }
}
