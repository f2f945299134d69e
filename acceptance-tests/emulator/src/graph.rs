//! Microsoft Graph v1.0 (docs/development/entra-and-graph.md, 'Microsoft Graph v1.0'):
//! applications, passwords, service principals and deleted items, with the replication window
//! of 'Eventual consistency' and the permission model of 'General' there.
//!
//! Every request needs a bearer token for Graph. The caller acts in its token's tenant: it sees
//! and changes only the objects of that tenant.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::emulator::EmulatorState;
use crate::log::{Service, ViolationKind};
use crate::world::identity::{
    APPLICATION_READ_WRITE_ALL, APPLICATION_READ_WRITE_OWNED_BY, Application, Audience, AuthError,
    Identity, PasswordCredential, Principal, PrincipalKind, ServicePrincipal, generate_secret,
};

/// Graph permission that allows reading every application and service principal.
const APPLICATION_READ_ALL: &str = "Application.Read.All";

/// The Graph routes.
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .route(
            "/v1.0/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/v1.0/applications/{id}",
            get(get_application)
                .patch(update_application)
                .delete(delete_application),
        )
        .route("/v1.0/applications/{id}/addPassword", post(add_password))
        .route(
            "/v1.0/applications/{id}/removePassword",
            post(remove_password),
        )
        .route(
            "/v1.0/servicePrincipals",
            get(list_service_principals).post(create_service_principal),
        )
        .route(
            "/v1.0/servicePrincipals/{id}",
            get(get_service_principal).delete(delete_service_principal),
        )
        // Alternate keys: `applications(appId='…')`, `servicePrincipals(appId='…')`.
        .route(
            "/v1.0/{keyed}",
            get(get_keyed).patch(patch_keyed).delete(delete_keyed),
        )
        .route("/v1.0/{keyed}/addPassword", post(add_password_keyed))
        .route("/v1.0/{keyed}/removePassword", post(remove_password_keyed))
        .route(
            "/v1.0/directory/deletedItems/microsoft.graph.application",
            get(list_deleted_applications),
        )
        .route(
            "/v1.0/directory/deletedItems/{id}",
            get(get_deleted_item).delete(purge_deleted_item),
        )
        .route(
            "/v1.0/directory/deletedItems/{id}/restore",
            post(restore_deleted_item),
        )
        .fallback(not_found_route)
        .with_state(state)
}

/// A Graph error in the envelope of docs/development/entra-and-graph.md, 'Error envelope'.
struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Value>,
}

impl GraphError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    fn not_found(id: &str) -> GraphError {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    fn denied() -> GraphError {
        GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    fn with_details(mut self, details: Value) -> GraphError {
        self.details = Some(details);
        self
    }

    fn render(self, headers: &HeaderMap) -> Response {
        let mut inner = Map::new();
        inner.insert(
            "date".to_owned(),
            json!(
                OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap_or_else(|_| OffsetDateTime::now_utc())
                    .format(&Rfc3339)
                    .unwrap_or_default()
            ),
        );
        inner.insert(
            "request-id".to_owned(),
            json!(uuid::Uuid::new_v4().to_string()),
        );
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        inner.insert("client-request-id".to_owned(), json!(client_request_id));
        let mut error = Map::new();
        error.insert("code".to_owned(), json!(self.code));
        error.insert("message".to_owned(), json!(self.message));
        error.insert("innerError".to_owned(), Value::Object(inner));
        if let Some(details) = self.details {
            error.insert("details".to_owned(), details);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

type GraphResult = Result<Response, GraphError>;

/// The authenticated caller and what it may do.
struct Caller {
    principal: Principal,
    permissions: BTreeSet<String>,
}

impl Caller {
    fn can_manage_all(&self) -> bool {
        self.permissions.contains(APPLICATION_READ_WRITE_ALL)
    }

    fn can_read_all(&self) -> bool {
        self.can_manage_all() || self.permissions.contains(APPLICATION_READ_ALL)
    }

    fn can_create_applications(&self) -> bool {
        self.can_manage_all() || self.permissions.contains(APPLICATION_READ_WRITE_OWNED_BY)
    }

    fn owns(&self, app: &Application) -> bool {
        app.owners
            .iter()
            .any(|owner| owner.eq_ignore_ascii_case(&self.principal.object_id))
    }

    fn can_manage(&self, app: &Application) -> bool {
        self.can_manage_all() || self.owns(app)
    }

    fn can_read(&self, app: &Application) -> bool {
        self.can_read_all() || self.owns(app)
    }

    fn tenant(&self) -> &str {
        &self.principal.tenant_id
    }
}

/// One Graph request, as every handler takes it: the emulator, the request's method, path,
/// headers, query and body, and the emulator time it arrived. Handlers ask it for the
/// authenticated [`Caller`] and turn their result into a response with [`GraphCall::finish`].
struct GraphCall {
    state: EmulatorState,
    headers: HeaderMap,
    method: Method,
    path: String,
    query: HashMap<String, String>,
    body: Bytes,
    now: Instant,
}

impl FromRequest<EmulatorState> for GraphCall {
    type Rejection = Response;

    async fn from_request(request: Request, state: &EmulatorState) -> Result<GraphCall, Response> {
        let (parts, body) = crate::request::read(request, state).await?;
        let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(query)| query)
            .unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let now = state.clock.now();
        Ok(GraphCall {
            state: state.clone(),
            headers: parts.headers,
            method: parts.method,
            path,
            query,
            body,
            now,
        })
    }
}

impl GraphCall {
    /// Checks the bearer token (Graph audience) and loads the caller's permissions.
    fn caller(&self) -> Result<Caller, GraphError> {
        let world = self.state.world();
        let authorization = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        match world
            .identity
            .authenticate(authorization, Audience::Graph, self.now)
        {
            Ok(principal) => {
                let permissions = world
                    .identity
                    .service_principals
                    .get(&principal.object_id)
                    .map(|sp| sp.graph_permissions.clone())
                    .unwrap_or_default();
                Ok(Caller {
                    principal,
                    permissions,
                })
            }
            Err(error) => {
                drop(world);
                if let AuthError::WrongAudience { audience } = &error {
                    self.state.violation(
                        ViolationKind::WrongAudience,
                        Service::Graph,
                        self.method.as_str(),
                        &self.path,
                        format!("a token for '{audience}' sent to Microsoft Graph"),
                    );
                }
                Err(GraphError::new(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken",
                    error.graph_message(),
                ))
            }
        }
    }

    fn violation(&self, kind: ViolationKind, detail: impl Into<String>) {
        self.state.violation(
            kind,
            Service::Graph,
            self.method.as_str(),
            &self.path,
            detail,
        );
    }

    fn finish(&self, result: GraphResult) -> Response {
        result.unwrap_or_else(|error| error.render(&self.headers))
    }
}

/// How a request addresses an application.
enum AppKey {
    ObjectId(String),
    AppId(String),
    UniqueName(String),
}

/// How a request addresses a service principal.
enum SpKey {
    ObjectId(String),
    AppId(String),
}

/// Parses `applications(appId='…')`, `applications(uniqueName='…')`,
/// `servicePrincipals(appId='…')`.
enum Keyed {
    Application(AppKey),
    ServicePrincipal(SpKey),
}

fn parse_keyed(segment: &str) -> Option<Keyed> {
    let (collection, rest) = segment.split_once('(')?;
    let inner = rest.strip_suffix(')')?;
    let (key, value) = inner.split_once('=')?;
    let value = value
        .trim()
        .strip_prefix('\'')?
        .strip_suffix('\'')?
        .to_owned();
    match (collection, key.trim()) {
        ("applications", "appId") => Some(Keyed::Application(AppKey::AppId(value))),
        ("applications", "uniqueName") => Some(Keyed::Application(AppKey::UniqueName(value))),
        ("servicePrincipals", "appId") => Some(Keyed::ServicePrincipal(SpKey::AppId(value))),
        _ => None,
    }
}

fn format_time(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn password_json(credential: &PasswordCredential, include_secret: bool) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": credential.display_name,
        "endDateTime": format_time(credential.end_date_time),
        "hint": credential.hint,
        "keyId": credential.key_id,
        "secretText": if include_secret { json!(credential.secret_text.expose()) } else { Value::Null },
        "startDateTime": format_time(credential.start_date_time),
    })
}

fn application_json(app: &Application, identity: &Identity) -> Value {
    let publisher_domain = identity
        .tenants
        .get(&app.tenant_id)
        .map(|tenant| tenant.default_domain.clone());
    let mut object = Map::new();
    object.insert("id".to_owned(), json!(app.id));
    object.insert(
        "deletedDateTime".to_owned(),
        json!(app.deleted_date_time.map(format_time)),
    );
    object.insert("appId".to_owned(), json!(app.app_id));
    object.insert(
        "createdDateTime".to_owned(),
        json!(format_time(app.created_date_time)),
    );
    object.insert("description".to_owned(), Value::Null);
    object.insert("displayName".to_owned(), json!(app.display_name));
    object.insert("identifierUris".to_owned(), json!([]));
    object.insert("notes".to_owned(), Value::Null);
    object.insert("publisherDomain".to_owned(), json!(publisher_domain));
    object.insert("signInAudience".to_owned(), json!(app.sign_in_audience));
    object.insert("tags".to_owned(), json!([]));
    object.insert(
        "api".to_owned(),
        json!({
            "acceptMappedClaims": null,
            "knownClientApplications": [],
            "requestedAccessTokenVersion": null,
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": [],
        }),
    );
    object.insert(
        "keyCredentials".to_owned(),
        Value::Array(
            app.key_credentials
                .iter()
                .map(|credential| {
                    json!({
                        "customKeyIdentifier": credential.thumbprint_sha1,
                        "keyId": credential.key_id,
                        "type": "AsymmetricX509Cert",
                        "usage": "Verify",
                    })
                })
                .collect(),
        ),
    );
    object.insert(
        "passwordCredentials".to_owned(),
        Value::Array(
            app.password_credentials
                .iter()
                .map(|credential| password_json(credential, false))
                .collect(),
        ),
    );
    for (name, value) in &app.other_properties {
        match (object.get_mut(name), value) {
            // Complex properties are merged, as Graph keeps unspecified sub-properties.
            (Some(Value::Object(existing)), Value::Object(update)) => {
                for (key, item) in update {
                    existing.insert(key.clone(), item.clone());
                }
            }
            _ => {
                object.insert(name.clone(), value.clone());
            }
        }
    }
    Value::Object(object)
}

fn service_principal_json(sp: &ServicePrincipal, identity: &Identity) -> Value {
    let sign_in_audience = identity
        .application_by_app_id(&sp.app_id)
        .map(|app| app.sign_in_audience.clone());
    let kind = match sp.kind {
        PrincipalKind::ServicePrincipal => "Application",
        PrincipalKind::ManagedIdentity => "ManagedIdentity",
    };
    json!({
        "id": sp.id,
        "deletedDateTime": null,
        "accountEnabled": sp.account_enabled,
        "appDisplayName": sp.display_name,
        "appId": sp.app_id,
        "appOwnerOrganizationId": sp.app_owner_organization_id,
        "appRoleAssignmentRequired": false,
        "displayName": sp.display_name,
        "servicePrincipalNames": [sp.app_id],
        "servicePrincipalType": kind,
        "signInAudience": sign_in_audience,
        "tags": [],
    })
}

/// Applies `$select` (a comma-separated list of top-level properties).
fn select(value: Value, query: &HashMap<String, String>) -> Value {
    let Some(selection) = query.get("$select") else {
        return value;
    };
    let wanted: Vec<&str> = selection.split(',').map(str::trim).collect();
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(key, _)| wanted.iter().any(|name| name.eq_ignore_ascii_case(key)))
                .collect(),
        ),
        other => other,
    }
}

fn with_context(mut value: Value, context: &str) -> Value {
    if let Value::Object(object) = &mut value {
        let mut ordered = Map::new();
        ordered.insert(
            "@odata.context".to_owned(),
            json!(format!(
                "https://graph.microsoft.com/v1.0/$metadata#{context}"
            )),
        );
        ordered.append(object);
        return Value::Object(ordered);
    }
    value
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(GraphError::bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

const SIGN_IN_AUDIENCES: [&str; 4] = [
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

/// Checks `signInAudience` against `api.requestedAccessTokenVersion`
/// (docs/development/entra-and-graph.md, 'Applications').
fn validate_audience(sign_in_audience: &str, token_version: Option<i64>) -> Result<(), GraphError> {
    if !SIGN_IN_AUDIENCES.contains(&sign_in_audience) {
        return Err(GraphError::bad_request(format!(
            "Invalid value specified for property 'signInAudience' of resource 'Application': '{sign_in_audience}'."
        )));
    }
    let personal = matches!(
        sign_in_audience,
        "AzureADandPersonalMicrosoftAccount" | "PersonalMicrosoftAccount"
    );
    if personal && token_version != Some(2) {
        return Err(GraphError::bad_request(
            "Property api.requestedAccessTokenVersion is invalid.",
        ));
    }
    Ok(())
}

fn requested_token_version(properties: &Map<String, Value>) -> Option<i64> {
    properties
        .get("api")
        .and_then(|api| api.get("requestedAccessTokenVersion"))
        .and_then(Value::as_i64)
}

// ---------------------------------------------------------------- applications

async fn create_application(call: GraphCall) -> Response {
    let result = create_application_inner(&call, &call.body);
    call.finish(result)
}

fn create_application_inner(call: &GraphCall, body: &Bytes) -> GraphResult {
    let caller = call.caller()?;
    let mut properties = parse_body(body)?;
    if !caller.can_create_applications() {
        return Err(GraphError::denied());
    }
    let display_name = match properties.remove("displayName") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        _ => {
            return Err(GraphError::bad_request(
                "Property 'displayName' is required and must be a non-empty string.",
            ));
        }
    };
    let sign_in_audience = match properties.remove("signInAudience") {
        None | Some(Value::Null) => "AzureADMyOrg".to_owned(),
        Some(Value::String(audience)) => audience,
        Some(_) => {
            return Err(GraphError::bad_request(
                "Invalid value specified for property 'signInAudience' of resource 'Application'.",
            ));
        }
    };
    validate_audience(&sign_in_audience, requested_token_version(&properties))?;
    if properties
        .get("passwordCredentials")
        .and_then(Value::as_array)
        .is_some_and(|items| !items.is_empty())
    {
        return Err(GraphError::bad_request(
            "Adding passwordCredentials when creating an application is not supported; use addPassword.",
        ));
    }
    properties.remove("passwordCredentials");
    let mut world = call.state.world();
    let identity = &mut world.identity;
    let mut owners = Vec::new();
    if let Some(binds) = properties.remove("owners@odata.bind") {
        let Some(binds) = binds.as_array() else {
            return Err(GraphError::bad_request(
                "'owners@odata.bind' must be an array.",
            ));
        };
        for bind in binds {
            let owner = bind
                .as_str()
                .and_then(|url| url.trim_end_matches('/').rsplit('/').next())
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !identity.directory_object_exists(caller.tenant(), &owner, call.now) {
                return Err(GraphError::bad_request(format!(
                    "Invalid object identifier '{owner}'."
                )));
            }
            owners.push(owner);
        }
    }
    // With only Application.ReadWrite.OwnedBy the creator becomes an owner, or it could not
    // manage what it created.
    if !caller.can_manage_all() && !owners.contains(&caller.principal.object_id) {
        owners.push(caller.principal.object_id.clone());
    }
    if let Some(Value::String(unique_name)) = properties.get("uniqueName") {
        let taken = identity.applications.values().any(|app| {
            app.other_properties
                .get("uniqueName")
                .and_then(Value::as_str)
                == Some(unique_name.as_str())
        });
        if taken {
            return Err(GraphError::new(
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                format!(
                    "Another object with the same value for property uniqueName already exists: '{unique_name}'."
                ),
            ));
        }
    }
    let object_id = identity.ids.next_id();
    let app_id = identity.ids.next_id();
    let mut app = Application::new(
        &object_id,
        &app_id,
        caller.tenant(),
        &display_name,
        &sign_in_audience,
        call.state.clock.utc_now(),
        call.now + call.state.knobs.graph_replication,
    );
    app.owners = owners;
    app.other_properties = properties;
    let body = with_context(application_json(&app, identity), "applications/$entity");
    identity.applications.insert(object_id, app);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list_applications(call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        let filter = parse_filter(
            call.query.get("$filter"),
            &["appId", "displayName", "uniqueName"],
            &["displayName"],
        )?;
        let world = call.state.world();
        let identity = &world.identity;
        let items: Vec<Value> = identity
            .applications
            .values()
            .filter(|app| app.tenant_id == caller.tenant() && call.now >= app.visible_at)
            .filter(|app| caller.can_read(app))
            .map(|app| application_json(app, identity))
            .filter(|item| filter_matches(item, filter.as_ref()))
            .map(|item| select(item, &call.query))
            .collect();
        collection_page(&call, "applications", items)
    })();
    call.finish(result)
}

/// Finds a live, replicated application of the caller's tenant.
fn find_application<'a>(
    identity: &'a Identity,
    caller: &Caller,
    key: &AppKey,
    now: Instant,
) -> Result<&'a Application, GraphError> {
    let (found, shown) = match key {
        AppKey::ObjectId(id) => (identity.applications.get(&id.to_ascii_lowercase()), id),
        AppKey::AppId(app_id) => (
            identity
                .applications
                .values()
                .find(|app| app.app_id.eq_ignore_ascii_case(app_id)),
            app_id,
        ),
        AppKey::UniqueName(name) => (
            identity.applications.values().find(|app| {
                app.other_properties
                    .get("uniqueName")
                    .and_then(Value::as_str)
                    == Some(name.as_str())
            }),
            name,
        ),
    };
    found
        .filter(|app| app.tenant_id == caller.tenant() && now >= app.visible_at)
        .ok_or_else(|| GraphError::not_found(shown))
}

fn get_application_inner(
    call: &GraphCall,
    key: &AppKey,
    query: &HashMap<String, String>,
) -> GraphResult {
    let caller = call.caller()?;
    let world = call.state.world();
    let app = find_application(&world.identity, &caller, key, call.now)?;
    if !caller.can_read(app) {
        return Err(GraphError::denied());
    }
    let body = select(application_json(app, &world.identity), query);
    Ok(Json(with_context(body, "applications/$entity")).into_response())
}

fn update_application_inner(call: &GraphCall, key: &AppKey, body: &Bytes) -> GraphResult {
    let caller = call.caller()?;
    let mut properties = parse_body(body)?;
    let mut world = call.state.world();
    let object_id = {
        let app = find_application(&world.identity, &caller, key, call.now)?;
        if !caller.can_manage(app) {
            return Err(GraphError::denied());
        }
        app.id.clone()
    };
    if properties.contains_key("passwordCredentials") {
        return Err(GraphError::bad_request(
            "Updating passwordCredentials with PATCH is not supported; use addPassword and removePassword.",
        ));
    }
    let Some(app) = world.identity.applications.get_mut(&object_id) else {
        return Err(GraphError::not_found(&object_id));
    };
    let sign_in_audience = match properties.remove("signInAudience") {
        Some(Value::String(audience)) => audience,
        _ => app.sign_in_audience.clone(),
    };
    let token_version = requested_token_version(&properties)
        .or_else(|| requested_token_version(&app.other_properties));
    validate_audience(&sign_in_audience, token_version)?;
    app.sign_in_audience = sign_in_audience;
    match properties.remove("displayName") {
        Some(Value::String(name)) if !name.trim().is_empty() => app.display_name = name,
        Some(_) => {
            return Err(GraphError::bad_request(
                "Property 'displayName' must be a non-empty string.",
            ));
        }
        None => {}
    }
    properties.remove("owners@odata.bind");
    for (name, value) in properties {
        app.other_properties.insert(name, value);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn delete_application_inner(call: &GraphCall, key: &AppKey) -> GraphResult {
    let caller = call.caller()?;
    let mut world = call.state.world();
    let identity = &mut world.identity;
    let (object_id, app_id, home) = {
        let app = find_application(identity, &caller, key, call.now)?;
        if !caller.can_manage(app) {
            return Err(GraphError::denied());
        }
        (app.id.clone(), app.app_id.clone(), app.tenant_id.clone())
    };
    if let Some(mut app) = identity.applications.remove(&object_id) {
        app.deleted_date_time = Some(call.state.clock.utc_now());
        identity.deleted_applications.insert(object_id, app);
    }
    // The service principal in the home tenant goes with its application.
    identity.remove_service_principal_of_app(&home, &app_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordRequest {
    display_name: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

fn add_password_inner(call: &GraphCall, key: &AppKey, body: &Bytes) -> GraphResult {
    let caller = call.caller()?;
    let body = parse_body(body)?;
    let request: PasswordRequest = match body.get("passwordCredential") {
        None | Some(Value::Null) => PasswordRequest::default(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|error| {
            GraphError::bad_request(format!("Invalid passwordCredential: {error}"))
        })?,
    };
    let parse_time = |text: &Option<String>,
                      name: &str|
     -> Result<Option<OffsetDateTime>, GraphError> {
        match text {
            None => Ok(None),
            Some(text) => OffsetDateTime::parse(text, &Rfc3339).map(Some).map_err(|_| {
                GraphError::bad_request(format!(
                    "Invalid value specified for property '{name}' of resource 'PasswordCredential'."
                ))
            }),
        }
    };
    let utc_now = call.state.clock.utc_now();
    let start = parse_time(&request.start_date_time, "startDateTime")?.unwrap_or(utc_now);
    let end = parse_time(&request.end_date_time, "endDateTime")?
        .unwrap_or(start + time::Duration::days(730));
    if end <= start {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential': it must be after startDateTime.",
        ));
    }
    let mut world = call.state.world();
    let identity = &mut world.identity;
    let object_id = {
        let app = find_application(identity, &caller, key, call.now)?;
        if !caller.can_manage(app) {
            return Err(GraphError::denied());
        }
        app.id.clone()
    };
    let secret = generate_secret();
    identity.issued_secrets.push(secret.clone());
    let credential = PasswordCredential {
        key_id: identity.ids.next_id(),
        display_name: request.display_name,
        hint: secret.expose().chars().take(3).collect(),
        start_date_time: start,
        end_date_time: end,
        secret_text: secret,
        usable_at: call.now + call.state.knobs.secret_activation,
    };
    let body = with_context(
        password_json(&credential, true),
        "microsoft.graph.passwordCredential",
    );
    if let Some(app) = identity.applications.get_mut(&object_id) {
        app.password_credentials.push(credential);
    }
    Ok(Json(body).into_response())
}

fn remove_password_inner(call: &GraphCall, key: &AppKey, body: &Bytes) -> GraphResult {
    let caller = call.caller()?;
    let body = parse_body(body)?;
    let Some(key_id) = body.get("keyId").and_then(Value::as_str) else {
        return Err(GraphError::bad_request("Property 'keyId' is required."));
    };
    let mut world = call.state.world();
    let identity = &mut world.identity;
    let object_id = {
        let app = find_application(identity, &caller, key, call.now)?;
        if !caller.can_manage(app) {
            return Err(GraphError::denied());
        }
        app.id.clone()
    };
    let Some(app) = identity.applications.get_mut(&object_id) else {
        return Err(GraphError::not_found(&object_id));
    };
    let before = app.password_credentials.len();
    app.password_credentials
        .retain(|credential| !credential.key_id.eq_ignore_ascii_case(key_id));
    if app.password_credentials.len() == before {
        return Err(GraphError::bad_request(format!(
            "No password credential found with keyId '{key_id}'."
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_application(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = get_application_inner(&call, &AppKey::ObjectId(id), &call.query);
    call.finish(result)
}

async fn update_application(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = update_application_inner(&call, &AppKey::ObjectId(id), &call.body);
    call.finish(result)
}

async fn delete_application(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = delete_application_inner(&call, &AppKey::ObjectId(id));
    call.finish(result)
}

async fn add_password(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = add_password_inner(&call, &AppKey::ObjectId(id), &call.body);
    call.finish(result)
}

async fn remove_password(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = remove_password_inner(&call, &AppKey::ObjectId(id), &call.body);
    call.finish(result)
}

// ---------------------------------------------------------------- service principals

fn find_service_principal<'a>(
    identity: &'a Identity,
    caller: &Caller,
    key: &SpKey,
    now: Instant,
) -> Result<&'a ServicePrincipal, GraphError> {
    let (found, shown) = match key {
        SpKey::ObjectId(id) => (identity.service_principal(caller.tenant(), id, now), id),
        SpKey::AppId(app_id) => (
            identity
                .service_principal_by_app(caller.tenant(), app_id)
                .filter(|sp| now >= sp.visible_to_dependents_at),
            app_id,
        ),
    };
    found.ok_or_else(|| GraphError::not_found(shown))
}

/// Creates the service principal of `app_id` in the caller's tenant, with every check of
/// docs/development/entra-and-graph.md, 'Service principals'.
fn create_service_principal_for(
    call: &GraphCall,
    caller: &Caller,
    app_id: &str,
    extra: &Map<String, Value>,
) -> Result<Value, GraphError> {
    let mut world = call.state.world();
    let identity = &mut world.identity;
    if let Some(existing) = identity.service_principal_by_app(caller.tenant(), app_id) {
        let existing_id = existing.id.clone();
        drop(world);
        call.violation(
            ViolationKind::DuplicateCreate,
            format!("a second service principal for appId {app_id} (existing: {existing_id})"),
        );
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            format!(
                "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
            ),
        )
        .with_details(json!([{
            "code": "ObjectConflict",
            "message": format!("The service principal name {app_id} is already in use."),
            "target": "servicePrincipalNames",
        }])));
    }
    let no_backing_application = || {
        GraphError::bad_request(format!(
            "The appId '{app_id}' of the service principal does not reference a valid application object."
        ))
        .with_details(json!([{
            "code": "NoBackingApplicationObject",
            "message": format!("The appId '{app_id}' of the service principal does not reference a valid application object."),
            "target": "appId",
        }]))
    };
    let Some(app) = identity.application_by_app_id(app_id).cloned() else {
        return Err(no_backing_application());
    };
    let local = app.tenant_id == caller.tenant();
    if !local && !app.is_multi_tenant() {
        return Err(no_backing_application());
    }
    // A foreign application's service principal needs Application.ReadWrite.All; the
    // permission check comes before replication, as in the real service.
    let allowed = caller.can_manage_all() || (local && caller.can_manage(&app));
    if !allowed {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "When using this permission, the backing application of the service principal being created must in the local tenant",
        ));
    }
    if call.now < app.visible_at {
        return Err(no_backing_application());
    }
    let id = identity.ids.next_id();
    let display_name = extra
        .get("displayName")
        .and_then(Value::as_str)
        .map_or_else(|| app.display_name.clone(), str::to_owned);
    let account_enabled = extra
        .get("accountEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let sp = ServicePrincipal {
        id: id.clone(),
        app_id: app.app_id.clone(),
        tenant_id: caller.tenant().to_owned(),
        display_name,
        app_owner_organization_id: app.tenant_id.clone(),
        kind: PrincipalKind::ServicePrincipal,
        account_enabled,
        graph_permissions: BTreeSet::new(),
        created_date_time: call.state.clock.utc_now(),
        visible_to_dependents_at: call.now + call.state.knobs.graph_replication,
    };
    let body = service_principal_json(&sp, identity);
    identity.insert_service_principal(sp);
    Ok(body)
}

async fn create_service_principal(call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        let body = parse_body(&call.body)?;
        let Some(app_id) = body.get("appId").and_then(Value::as_str) else {
            return Err(GraphError::bad_request("Property 'appId' is required."));
        };
        let created = create_service_principal_for(&call, &caller, app_id, &body)?;
        Ok((
            StatusCode::CREATED,
            Json(with_context(created, "servicePrincipals/$entity")),
        )
            .into_response())
    })();
    call.finish(result)
}

async fn list_service_principals(call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        if caller.permissions.is_empty() {
            return Err(GraphError::denied());
        }
        let filter = parse_filter(
            call.query.get("$filter"),
            &["appId", "displayName"],
            &["displayName"],
        )?;
        let world = call.state.world();
        let identity = &world.identity;
        let items: Vec<Value> = identity
            .service_principals
            .values()
            .filter(|sp| sp.tenant_id == caller.tenant() && call.now >= sp.visible_to_dependents_at)
            .map(|sp| service_principal_json(sp, identity))
            .filter(|item| filter_matches(item, filter.as_ref()))
            .map(|item| select(item, &call.query))
            .collect();
        collection_page(&call, "servicePrincipals", items)
    })();
    call.finish(result)
}

fn get_service_principal_inner(
    call: &GraphCall,
    key: &SpKey,
    query: &HashMap<String, String>,
) -> GraphResult {
    let caller = call.caller()?;
    if caller.permissions.is_empty() {
        return Err(GraphError::denied());
    }
    let world = call.state.world();
    let sp = find_service_principal(&world.identity, &caller, key, call.now)?;
    let body = select(service_principal_json(sp, &world.identity), query);
    Ok(Json(with_context(body, "servicePrincipals/$entity")).into_response())
}

fn delete_service_principal_inner(call: &GraphCall, key: &SpKey) -> GraphResult {
    let caller = call.caller()?;
    let mut world = call.state.world();
    let identity = &mut world.identity;
    let (sp_id, app_id) = {
        let sp = find_service_principal(identity, &caller, key, call.now)?;
        (sp.id.clone(), sp.app_id.clone())
    };
    let allowed = caller.can_manage_all()
        || identity
            .application_by_app_id(&app_id)
            .is_some_and(|app| app.tenant_id == caller.tenant() && caller.owns(app));
    if !allowed {
        return Err(GraphError::denied());
    }
    identity.service_principals.remove(&sp_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_service_principal(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = get_service_principal_inner(&call, &SpKey::ObjectId(id), &call.query);
    call.finish(result)
}

async fn delete_service_principal(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = delete_service_principal_inner(&call, &SpKey::ObjectId(id));
    call.finish(result)
}

// ---------------------------------------------------------------- alternate keys

fn keyed_or_404(segment: &str) -> Result<Keyed, GraphError> {
    parse_keyed(segment).ok_or_else(|| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    })
}

async fn get_keyed(Path(keyed): Path<String>, call: GraphCall) -> Response {
    let result = keyed_or_404(&keyed).and_then(|keyed| match keyed {
        Keyed::Application(key) => get_application_inner(&call, &key, &call.query),
        Keyed::ServicePrincipal(key) => get_service_principal_inner(&call, &key, &call.query),
    });
    call.finish(result)
}

async fn patch_keyed(Path(keyed): Path<String>, call: GraphCall) -> Response {
    let result = keyed_or_404(&keyed).and_then(|keyed| match keyed {
        Keyed::Application(AppKey::UniqueName(name)) => {
            upsert_application(&call, &name, &call.body)
        }
        Keyed::Application(key) => update_application_inner(&call, &key, &call.body),
        Keyed::ServicePrincipal(SpKey::AppId(app_id)) => {
            upsert_service_principal(&call, &app_id, &call.body)
        }
        Keyed::ServicePrincipal(SpKey::ObjectId(_)) => {
            Err(GraphError::bad_request("Unsupported key."))
        }
    });
    call.finish(result)
}

fn create_if_missing(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| preference.trim().eq_ignore_ascii_case("create-if-missing"))
}

/// `PATCH /servicePrincipals(appId='…')`: with `Prefer: create-if-missing`, creates (201) or
/// leaves the existing one (204) (docs/development/entra-and-graph.md, 'Service principals').
fn upsert_service_principal(call: &GraphCall, app_id: &str, body: &Bytes) -> GraphResult {
    let caller = call.caller()?;
    let properties = parse_body(body)?;
    let exists = {
        let world = call.state.world();
        world
            .identity
            .service_principal_by_app(caller.tenant(), app_id)
            .map(|sp| sp.id.clone())
    };
    match exists {
        Some(id) => {
            let mut world = call.state.world();
            if let Some(sp) = world.identity.service_principals.get_mut(&id)
                && let Some(Value::Bool(enabled)) = properties.get("accountEnabled")
            {
                sp.account_enabled = *enabled;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        None if create_if_missing(&call.headers) => {
            let created = create_service_principal_for(call, &caller, app_id, &properties)?;
            Ok((
                StatusCode::CREATED,
                Json(with_context(created, "servicePrincipals/$entity")),
            )
                .into_response())
        }
        None => Err(GraphError::not_found(app_id)),
    }
}

/// `PATCH /applications(uniqueName='…')`: upsert with `Prefer: create-if-missing`
/// (docs/development/entra-and-graph.md, 'Applications').
fn upsert_application(call: &GraphCall, unique_name: &str, body: &Bytes) -> GraphResult {
    let exists = {
        let caller = call.caller()?;
        let world = call.state.world();
        find_application(
            &world.identity,
            &caller,
            &AppKey::UniqueName(unique_name.to_owned()),
            call.now,
        )
        .is_ok()
    };
    if exists {
        return update_application_inner(call, &AppKey::UniqueName(unique_name.to_owned()), body);
    }
    if !create_if_missing(&call.headers) {
        return Err(GraphError::not_found(unique_name));
    }
    let mut properties = parse_body(body)?;
    properties.insert("uniqueName".to_owned(), json!(unique_name));
    let body = Bytes::from(Value::Object(properties).to_string());
    create_application_inner(call, &body)
}

async fn delete_keyed(Path(keyed): Path<String>, call: GraphCall) -> Response {
    let result = keyed_or_404(&keyed).and_then(|keyed| match keyed {
        Keyed::Application(key) => delete_application_inner(&call, &key),
        Keyed::ServicePrincipal(key) => delete_service_principal_inner(&call, &key),
    });
    call.finish(result)
}

/// The application a keyed `addPassword` or `removePassword` (`action`) addresses: service
/// principals have no password actions in this emulator.
fn keyed_application(segment: &str, action: &str) -> Result<AppKey, GraphError> {
    match keyed_or_404(segment)? {
        Keyed::Application(key) => Ok(key),
        Keyed::ServicePrincipal(_) => Err(GraphError::bad_request(format!(
            "{action} on a service principal is not supported by this emulator."
        ))),
    }
}

async fn add_password_keyed(Path(keyed): Path<String>, call: GraphCall) -> Response {
    let result = keyed_application(&keyed, "addPassword")
        .and_then(|key| add_password_inner(&call, &key, &call.body));
    call.finish(result)
}

async fn remove_password_keyed(Path(keyed): Path<String>, call: GraphCall) -> Response {
    let result = keyed_application(&keyed, "removePassword")
        .and_then(|key| remove_password_inner(&call, &key, &call.body));
    call.finish(result)
}

// ---------------------------------------------------------------- deleted items

fn deleted_application<'a>(
    identity: &'a Identity,
    caller: &Caller,
    id: &str,
) -> Result<&'a Application, GraphError> {
    identity
        .deleted_applications
        .get(&id.to_ascii_lowercase())
        .filter(|app| app.tenant_id == caller.tenant())
        .ok_or_else(|| GraphError::not_found(id))
}

async fn list_deleted_applications(call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        if !caller.can_read_all() {
            return Err(GraphError::denied());
        }
        let world = call.state.world();
        let items: Vec<Value> = world
            .identity
            .deleted_applications
            .values()
            .filter(|app| app.tenant_id == caller.tenant())
            .map(|app| application_json(app, &world.identity))
            .collect();
        Ok(Json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects(microsoft.graph.application)",
            "value": items,
        }))
        .into_response())
    })();
    call.finish(result)
}

async fn get_deleted_item(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        let world = call.state.world();
        let app = deleted_application(&world.identity, &caller, &id)?;
        if !caller.can_read(app) {
            return Err(GraphError::denied());
        }
        let mut body = application_json(app, &world.identity);
        if let Value::Object(object) = &mut body {
            object.insert(
                "@odata.type".to_owned(),
                json!("#microsoft.graph.application"),
            );
        }
        Ok(Json(with_context(body, "directoryObjects/$entity")).into_response())
    })();
    call.finish(result)
}

async fn purge_deleted_item(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        let mut world = call.state.world();
        let object_id = {
            let app = deleted_application(&world.identity, &caller, &id)?;
            if !caller.can_manage(app) {
                return Err(GraphError::denied());
            }
            app.id.clone()
        };
        world.identity.deleted_applications.remove(&object_id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    call.finish(result)
}

async fn restore_deleted_item(Path(id): Path<String>, call: GraphCall) -> Response {
    let result = (|| {
        let caller = call.caller()?;
        let mut world = call.state.world();
        let identity = &mut world.identity;
        let object_id = {
            let app = deleted_application(identity, &caller, &id)?;
            if !caller.can_manage(app) {
                return Err(GraphError::denied());
            }
            app.id.clone()
        };
        let Some(mut app) = identity.deleted_applications.remove(&object_id) else {
            return Err(GraphError::not_found(&id));
        };
        app.deleted_date_time = None;
        let body = application_json(&app, identity);
        identity.applications.insert(object_id, app);
        Ok(Json(with_context(body, "directoryObjects/$entity")).into_response())
    })();
    call.finish(result)
}

async fn not_found_route(call: GraphCall) -> Response {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!(
            "Resource not found for the segment '{}' ({}).",
            call.path.rsplit('/').next().unwrap_or_default(),
            call.method
        ),
    )
    .render(&call.headers)
}

// ---------------------------------------------------------------- $filter

/// A parsed `$filter`: `<property> eq '<value>'`, or `startswith(<property>,'<prefix>')` on
/// the properties that allow it.
struct Filter {
    property: String,
    value: String,
    prefix: bool,
}

/// Parses `$filter`; `supported` lists the properties `eq` works on, `prefixable` those
/// `startswith` works on (docs/development/entra-and-graph.md, 'Listing: filters and pages').
fn parse_filter(
    filter: Option<&String>,
    supported: &[&str],
    prefixable: &[&str],
) -> Result<Option<Filter>, GraphError> {
    let Some(filter) = filter else {
        return Ok(None);
    };
    let unsupported = || {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Unsupported or invalid query filter clause specified: '{filter}'."),
        )
    };
    let quoted = |value: &str| -> Option<String> {
        value
            .trim()
            .strip_prefix('\'')
            .and_then(|value| value.strip_suffix('\''))
            .map(|value| value.replace("''", "'"))
    };
    let trimmed = filter.trim();
    let function = trimmed
        .get(..11)
        .filter(|head| head.eq_ignore_ascii_case("startswith("));
    let (property, value, prefix, allowed) = if function.is_some() {
        let arguments = trimmed[11..].strip_suffix(')').ok_or_else(unsupported)?;
        let (property, value) = arguments.split_once(',').ok_or_else(unsupported)?;
        (property.trim(), value, true, prefixable)
    } else {
        let (property, value) = trimmed.split_once(" eq ").ok_or_else(unsupported)?;
        (property.trim(), value, false, supported)
    };
    let value = quoted(value).ok_or_else(unsupported)?;
    if !allowed
        .iter()
        .any(|name| name.eq_ignore_ascii_case(property))
    {
        return Err(unsupported());
    }
    Ok(Some(Filter {
        property: property.to_owned(),
        value,
        prefix,
    }))
}

fn filter_matches(item: &Value, filter: Option<&Filter>) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let Value::Object(object) = item else {
        return false;
    };
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(&filter.property))
        .and_then(|(_, value)| value.as_str())
        .is_some_and(|value| {
            if filter.prefix {
                value
                    .to_lowercase()
                    .starts_with(&filter.value.to_lowercase())
            } else {
                value.eq_ignore_ascii_case(&filter.value)
            }
        })
}

// ---------------------------------------------------------------- paging

/// Page size when the request has no `$top`.
const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest `$top` Graph accepts on these collections.
const MAX_PAGE_SIZE: usize = 999;

/// The page of `items` the request asks for (`$top`, `$skiptoken`), as Graph's collection
/// body: `@odata.nextLink` (an absolute URL on this listener repeating the request's other
/// query parameters, with an opaque `$skiptoken`) only when more items follow.
fn collection_page(call: &GraphCall, context: &str, items: Vec<Value>) -> GraphResult {
    let page_size = match call.query.get("$top") {
        None => DEFAULT_PAGE_SIZE,
        Some(top) => top
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive."
                ))
            })?,
    };
    let page_size = call
        .state
        .knobs
        .max_list_page_size
        .map_or(page_size, |largest| page_size.min(largest.max(1)));
    let start = match call.query.get("$skiptoken") {
        None => 0,
        Some(token) => decode_skip_token(token).ok_or_else(|| {
            GraphError::bad_request(format!("Invalid or expired $skiptoken: '{token}'."))
        })?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(page_size).collect();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"),
        "value": page,
    });
    let next = start + page_size;
    if next < total {
        let mut parameters: Vec<(&String, &String)> = call
            .query
            .iter()
            .filter(|(name, _)| name.as_str() != "$skiptoken")
            .collect();
        parameters.sort();
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in parameters {
            query.append_pair(name, value);
        }
        query.append_pair("$skiptoken", &encode_skip_token(next));
        body["@odata.nextLink"] = json!(format!(
            "{}{}?{}",
            call.state.endpoints.graph,
            call.path,
            query.finish()
        ));
    }
    Ok(Json(body).into_response())
}

/// An opaque token naming where the next page starts (clients must not parse it).
fn encode_skip_token(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("vnetpeer-page:{offset}"))
}

fn decode_skip_token(token: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("vnetpeer-page:")?
        .parse()
        .ok()
}
