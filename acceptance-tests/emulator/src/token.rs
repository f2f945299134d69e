//! Entra ID token endpoint (client credentials with a secret, a certificate-signed assertion or a
//! federated assertion; docs/development/entra-and-graph.md, 'Client-credentials token request
//! (v2 endpoint)' and 'Workload identity federation') and the managed-identity endpoint (IMDS,
//! 'Managed identity (Azure VM IMDS)' there).
//!
//! Tokens are JWT-shaped so clients can read `tid`, `oid`, `appid`, `aud`, `iss` and `exp`, but
//! the emulator accepts only the exact text it issued (see [`Identity::authenticate`]).

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use time::OffsetDateTime;

use crate::emulator::{EmulatorState, LoggedCredential};
use crate::identity_hosts::IdentitySelector;
use crate::jwt;
use crate::log::CredentialRef;
use crate::world::identity::{Application, Audience, Identity, Tenant};

/// The `client_assertion_type` of certificate and federated assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `login` listener's routes.
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/metadata/identity/oauth2/token",
            get(managed_identity_token),
        )
        .with_state(state.clone())
        .merge(crate::identity_hosts::router(state))
}

/// An AADSTS error (docs/development/entra-and-graph.md, 'Client-credentials token request (v2
/// endpoint)'): status, `error`, code and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str, code: u32, description: String) -> TokenError {
        TokenError {
            status,
            error,
            code,
            description,
        }
    }

    fn missing_parameter(name: &str) -> TokenError {
        TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    fn render(&self, authority_host: &str) -> Response {
        let now = OffsetDateTime::now_utc();
        let timestamp = now
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .unwrap_or_default();
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{authority_host}/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}

/// The client's credential, as presented.
enum Presented {
    Secret(String),
    Assertion(String),
}

async fn token(
    State(state): State<EmulatorState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let fields: HashMap<String, String> = match form {
        Ok(Form(pairs)) => pairs.into_iter().collect(),
        Err(_) => Vec::<(String, String)>::new().into_iter().collect(),
    };
    let client_id = fields
        .get("client_id")
        .cloned()
        .or_else(|| basic_credentials(&headers).map(|(id, _)| id));
    let result = issue(&state, &tenant, &headers, &fields);
    let mut response = match result {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(error) => error.render(&state.endpoints.authority_host),
    };
    response
        .extensions_mut()
        .insert(LoggedCredential(CredentialRef {
            kind: "client".to_owned(),
            tenant_id: Some(tenant.to_ascii_lowercase()),
            app_id: client_id,
            object_id: None,
        }));
    response
}

fn issue(
    state: &EmulatorState,
    tenant: &str,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Result<serde_json::Value, TokenError> {
    let now = state.clock.now();
    let utc_now = state.clock.utc_now();
    let mut world = state.world();
    let identity = &mut world.identity;

    let Some(tenant) = identity.tenant(tenant).cloned() else {
        return Err(TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        ));
    };
    match fields.get("grant_type").map(String::as_str) {
        None => return Err(TokenError::missing_parameter("grant_type")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(TokenError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    }
    let basic = basic_credentials(headers);
    let client_id = match (fields.get("client_id"), &basic) {
        (Some(id), _) => id.clone(),
        (None, Some((id, _))) => id.clone(),
        (None, None) => return Err(TokenError::missing_parameter("client_id")),
    };
    let scope = fields
        .get("scope")
        .ok_or_else(|| TokenError::missing_parameter("scope"))?;
    let (_, audience_claim) = parse_scope(scope)?;

    let not_in_directory = || {
        TokenError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                tenant.display_name
            ),
        )
    };
    let Some(app) = identity
        .application_by_app_id(&client_id)
        .filter(|app| now >= app.visible_at)
        .cloned()
    else {
        return Err(not_in_directory());
    };
    let home = app.tenant_id.eq_ignore_ascii_case(&tenant.id);
    if !home && !app.is_multi_tenant() {
        return Err(not_in_directory());
    }
    let Some(service_principal) = identity
        .service_principal_by_app(&tenant.id, &app.app_id)
        .filter(|sp| now >= sp.visible_to_dependents_at)
        .cloned()
    else {
        return Err(TokenError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000229,
            format!(
                "The client application {} is missing service principal in the tenant {}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
                app.app_id, tenant.id
            ),
        ));
    };

    let presented = match (fields.get("client_secret"), fields.get("client_assertion")) {
        (Some(secret), _) => Presented::Secret(secret.clone()),
        (None, Some(assertion)) => {
            if fields.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                return Err(TokenError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "Invalid client_assertion_type: expected 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.".to_owned(),
                ));
            }
            Presented::Assertion(assertion.clone())
        }
        (None, None) => match basic {
            Some((_, secret)) => Presented::Secret(secret),
            None => {
                return Err(TokenError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".to_owned(),
                ));
            }
        },
    };
    let authentication_method = match presented {
        Presented::Secret(secret) => {
            check_secret(&app, &secret, now, utc_now)?;
            "1"
        }
        Presented::Assertion(assertion) => {
            check_assertion(
                &*identity,
                &app,
                &assertion,
                &tenant,
                &state.endpoints.authority_host,
                now,
                utc_now,
            )?;
            "2"
        }
    };

    let lifetime = state.knobs.token_lifetime;
    let Some(access_token) = identity.issue_token(
        &service_principal.id,
        audience_claim,
        authentication_method,
        lifetime,
        now,
        utc_now,
    ) else {
        // Unreachable in practice: the service principal and audience were just checked.
        return Err(TokenError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            90033,
            "The token could not be issued.".to_owned(),
        ));
    };
    Ok(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": access_token,
    }))
}

/// `{resource}/.default` for exactly one known resource (ARM or Graph).
fn parse_scope(scope: &str) -> Result<(Audience, &'static str), TokenError> {
    let invalid = |detail: String| {
        TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. {detail}"
            ),
        )
    };
    let mut found: Option<(Audience, &'static str)> = None;
    for item in scope.split_whitespace() {
        let Some(resource) = item.strip_suffix("/.default") else {
            return Err(invalid(format!(
                "The scope {item} is not valid: the client credentials flow needs '{{resource}}/.default'."
            )));
        };
        let Some(parsed) = Audience::from_resource(resource) else {
            return Err(invalid(format!("The scope {item} is not valid.")));
        };
        if let Some(previous) = found
            && previous.0 != parsed.0
        {
            return Err(invalid(format!(
                "The scope {scope} is not valid: all scopes must belong to one resource."
            )));
        }
        found = Some(parsed);
    }
    found.ok_or_else(|| invalid("The scope is empty.".to_owned()))
}

fn check_secret(
    app: &Application,
    secret: &str,
    now: Instant,
    utc_now: OffsetDateTime,
) -> Result<(), TokenError> {
    let invalid = || {
        TokenError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                app.app_id
            ),
        )
    };
    let Some(credential) = app
        .password_credentials
        .iter()
        .find(|credential| credential.secret_text.expose() == secret)
    else {
        return Err(invalid());
    };
    // A new secret is unknown to the token service until it has replicated.
    if now < credential.usable_at || utc_now < credential.start_date_time {
        return Err(invalid());
    }
    if utc_now >= credential.end_date_time {
        return Err(TokenError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                app.app_id
            ),
        ));
    }
    Ok(())
}

/// A certificate-signed assertion (header `x5t` / `x5t#S256` names a registered certificate) or a
/// federated assertion (minted by the emulator's stand-in external identity provider).
fn check_assertion(
    identity: &Identity,
    app: &Application,
    assertion: &str,
    tenant: &Tenant,
    authority_host: &str,
    now: Instant,
    utc_now: OffsetDateTime,
) -> Result<(), TokenError> {
    let unauthorized = |code: u32, description: String| {
        TokenError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        )
    };
    let Some(parsed) = jwt::parse(assertion) else {
        return Err(TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.".to_owned(),
        ));
    };
    let utc_now = utc_now.unix_timestamp();
    let expired = parsed.claim_time("exp").is_none_or(|exp| exp <= utc_now)
        || parsed
            .claim_time("nbf")
            .is_some_and(|nbf| nbf > utc_now + 300);
    let expired_error = || {
        unauthorized(
            700024,
            "Client assertion is not within its valid time range.".to_owned(),
        )
    };

    if let Some(external) = identity.external_assertions.get(assertion.trim()) {
        let issuer_known = app
            .federated_identity_credentials
            .iter()
            .any(|credential| credential.issuer == external.issuer);
        if !issuer_known {
            return Err(unauthorized(
                700211,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                    external.issuer
                ),
            ));
        }
        // Issuer, then subject (case-sensitive), then audience, each with Entra ID's answer.
        let same_issuer = app
            .federated_identity_credentials
            .iter()
            .filter(|credential| credential.issuer == external.issuer);
        let mut same_subject = same_issuer
            .filter(|credential| credential.subject == external.subject)
            .peekable();
        if same_subject.peek().is_none() {
            // What Entra ID answers a wrong subject (a branch or environment the credential
            // does not name) in practice: the generic record-not-found with all three claims.
            return Err(unauthorized(
                70021,
                format!(
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'.",
                    external.issuer, external.subject, external.audience
                ),
            ));
        }
        let audience_matches = same_subject.any(|credential| {
            credential
                .audiences
                .iter()
                .any(|audience| audience == &external.audience)
        });
        if !audience_matches {
            return Err(unauthorized(
                700212,
                format!(
                    "No matching federated identity record found for presented assertion audience '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                    external.audience
                ),
            ));
        }
        if now >= external.expires_at {
            let expiry = parsed.claim_time("exp").unwrap_or_default();
            let issued = parsed.claim_time("nbf").unwrap_or_default();
            return Err(unauthorized(
                700024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
                    rfc3339(utc_now),
                    rfc3339(issued),
                    rfc3339(expiry)
                ),
            ));
        }
        return Ok(());
    }

    let header_str = |name: &str| parsed.header.get(name).and_then(serde_json::Value::as_str);
    let certificate = app.key_credentials.iter().find(|credential| {
        header_str("x5t") == Some(credential.thumbprint_sha1.as_str())
            || header_str("x5t#S256") == Some(credential.thumbprint_sha256.as_str())
    });
    let Some(certificate) = certificate else {
        if header_str("x5t").is_none() && header_str("x5t#S256").is_none() {
            // Not a certificate assertion, and not a token the stand-in identity provider
            // minted: forged when its issuer is a registered one, unknown otherwise.
            let issuer = parsed.claim_str("iss").unwrap_or_default();
            let issuer_registered = app
                .federated_identity_credentials
                .iter()
                .any(|credential| credential.issuer == issuer);
            if issuer_registered {
                return Err(unauthorized(
                    50013,
                    "Assertion failed signature validation. [Reason - The key was not found.]"
                        .to_owned(),
                ));
            }
            return Err(unauthorized(
                700211,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion."
                ),
            ));
        }
        return Err(unauthorized(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                header_str("x5t")
                    .or(header_str("x5t#S256"))
                    .unwrap_or_default(),
                app.app_id
            ),
        ));
    };
    if let Err(error) = jwt::verify_with_certificate(&parsed, &certificate.certificate_der) {
        return Err(unauthorized(
            700027,
            format!("Client assertion failed signature validation. ({error:?})"),
        ));
    }
    let client_id_matches = |claim: &str| {
        parsed
            .claim_str(claim)
            .is_some_and(|value| value.eq_ignore_ascii_case(&app.app_id))
    };
    if !client_id_matches("iss") || !client_id_matches("sub") {
        return Err(unauthorized(
            700023,
            "Client assertion audience claim does not match Realm issuer, or 'iss' and 'sub' are not the client id.".to_owned(),
        ));
    }
    let audience_ok = parsed.has_audience(|audience| {
        token_endpoint_audiences(authority_host, &tenant.id, &tenant.default_domain)
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(audience.trim_end_matches('/')))
    });
    if !audience_ok {
        return Err(unauthorized(
            700016,
            "Client assertion audience claim does not match the token endpoint of this tenant."
                .to_owned(),
        ));
    }
    if expired {
        return Err(expired_error());
    }
    Ok(())
}

fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix_seconds.to_string())
}

/// The `aud` values a client assertion may carry: the token endpoint (v2 or v1, tenant as id or
/// domain) on this emulator's host or on the public authority, or the bare authority.
fn token_endpoint_audiences(authority_host: &str, tenant_id: &str, domain: &str) -> Vec<String> {
    let mut accepted = Vec::new();
    for host in [authority_host, "https://login.microsoftonline.com"] {
        for tenant in [tenant_id, domain] {
            accepted.push(format!("{host}/{tenant}/oauth2/v2.0/token"));
            accepted.push(format!("{host}/{tenant}/oauth2/token"));
            accepted.push(format!("{host}/{tenant}/v2.0"));
            accepted.push(format!("{host}/{tenant}"));
        }
    }
    accepted
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((percent_decode(id)?, percent_decode(secret)?))
}

/// Decodes `%XX` escapes and `+` (form encoding).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// IMDS: `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…` with
/// `Metadata: true` (docs/development/entra-and-graph.md, 'Managed identity (Azure VM IMDS)').
/// Answers with string fields, as IMDS does.
async fn managed_identity_token(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let bad_request = |error: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    let metadata = headers
        .get("metadata")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == "true");
    if !metadata {
        return bad_request("invalid_request", "Required metadata header not specified");
    }
    if !query.contains_key("api-version") {
        return bad_request(
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = query.get("resource") else {
        return bad_request(
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let Some((_, audience_claim)) = Audience::from_resource(resource) else {
        return bad_request(
            "invalid_resource",
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant."
            ),
        );
    };

    let now = state.clock.now();
    let utc_now = state.clock.utc_now();
    let mut world = state.world();
    let identity = &mut world.identity;
    let selector = IdentitySelector {
        client_id: query.get("client_id").map(String::as_str),
        object_id: query.get("object_id").map(String::as_str),
        resource_id: query.get("msi_res_id").map(String::as_str),
    };
    let system_assigned = &state.seed.managed_identity_object_id;
    let selected = identity
        .service_principals
        .values()
        .find(|sp| selector.selects(sp, system_assigned));
    let Some(managed_identity) = selected.cloned() else {
        return bad_request("invalid_request", "Identity not found");
    };
    let lifetime = state.knobs.token_lifetime;
    let expires_on = utc_now + lifetime;
    let Some(access_token) = identity.issue_token(
        &managed_identity.id,
        audience_claim,
        "2",
        lifetime,
        now,
        utc_now,
    ) else {
        return bad_request("invalid_request", "Identity not found");
    };
    drop(world);
    let mut response = Json(serde_json::json!({
        "access_token": access_token,
        "client_id": managed_identity.app_id,
        "expires_in": lifetime.as_secs().to_string(),
        "expires_on": expires_on.unix_timestamp().to_string(),
        "ext_expires_in": lifetime.as_secs().to_string(),
        "not_before": utc_now.unix_timestamp().to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "refresh_token": "",
    }))
    .into_response();
    response
        .extensions_mut()
        .insert(LoggedCredential(CredentialRef {
            kind: "managed_identity".to_owned(),
            tenant_id: Some(managed_identity.tenant_id),
            app_id: Some(managed_identity.app_id),
            object_id: Some(managed_identity.id),
        }));
    response
}
