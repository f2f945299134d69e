//! Where pipelines and Azure hosts get their identity, emulated on the `login` listener:
//!
//! - a CI token issuer: GitHub Actions' ID token endpoint (`GET`, bearer request token, optional
//!   `audience`, answer `{"count": 1, "value": <jwt>}`) and Azure DevOps' OIDC endpoint (`POST`,
//!   `api-version=7.1&serviceConnectionId=…`, answer `{"oidcToken": <jwt>}`). The JWTs come from
//!   the stand-in external identity provider, so the token endpoint accepts them only when a
//!   federated identity credential of the application matches issuer, subject and audience, and
//!   only inside their lifetime;
//! - a token file that rotates ([`spawn_token_file_rotation`]), as the kubelet keeps AKS's
//!   projected service account token current;
//! - the App Service / Functions / Container Apps identity endpoint (`api-version=2019-08-01`,
//!   header `X-IDENTITY-HEADER`; answer without `expires_in`, `expires_on` as a string);
//! - the Azure Arc identity endpoint (a 401 naming a key file it has just written, then the
//!   same request with `Authorization: Basic <key>`);
//! - the Cloud Shell endpoint (`POST` form `resource=…`, header `Metadata: true`).
//!
//! Test helpers register pipelines and hosts and return the variables the platform would set.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};

use crate::emulator::{Emulator, EmulatorState, LoggedCredential};
use crate::log::CredentialRef;
use crate::world::arm::{
    NETWORK_CONTRIBUTOR_ROLE_ID, RoleAssignment, USER_ACCESS_ADMINISTRATOR_ROLE_ID,
};
use crate::world::identity::{
    APPLICATION_READ_WRITE_ALL, Audience, FEDERATION_AUDIENCE, PrincipalKind, ServicePrincipal,
    bearer_token,
};

/// GitHub Actions' issuer (what `iss` says in its ID tokens).
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// HCP Terraform's issuer.
pub const HCP_TERRAFORM_ISSUER: &str = "https://app.terraform.io";

/// Paths on the `login` listener.
pub const GITHUB_TOKEN_PATH: &str = "/ci/github/idtoken";
pub const AZURE_DEVOPS_TOKEN_PATH: &str = "/ci/azure-devops/oidctoken";
pub const APP_SERVICE_PATH: &str = "/appservice/msi/token";
pub const ARC_PATH: &str = "/arc/metadata/identity/oauth2/token";
pub const CLOUD_SHELL_PATH: &str = "/cloudshell/oauth2/token";

/// One CI job: who its ID tokens say it is.
#[derive(Debug, Clone)]
pub struct CiJob {
    pub issuer: String,
    pub subject: String,
    /// How long each minted token lives.
    pub lifetime: Duration,
    /// Azure DevOps: the service connection the job may ask tokens for.
    pub service_connection_id: Option<String>,
}

/// The pipelines and hosts registered in one emulator.
#[derive(Debug, Default)]
pub struct IdentityHosts {
    /// CI request tokens (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `SYSTEM_ACCESSTOKEN`) → job.
    pub ci_jobs: HashMap<String, CiJob>,
    /// The App Service `IDENTITY_HEADER`.
    pub app_service_header: Option<String>,
    /// The Arc agent's key directory, and the keys it wrote that are not used yet (one per
    /// challenge: concurrent requests each get their own).
    pub arc_key_directory: Option<PathBuf>,
    pub arc_keys: HashSet<String>,
    /// Every secret handed out here (request tokens, headers, keys), for leak checks.
    pub issued: Vec<String>,
}

/// The routes, merged into the `login` listener's router.
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .route(GITHUB_TOKEN_PATH, get(github_token))
        .route(AZURE_DEVOPS_TOKEN_PATH, post(azure_devops_token))
        .route(APP_SERVICE_PATH, get(app_service_token))
        .route(ARC_PATH, get(arc_token))
        .route(CLOUD_SHELL_PATH, post(cloud_shell_token))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": "invalid_request", "error_description": message})),
    )
        .into_response()
}

/// The job a bearer request token stands for.
fn ci_job(state: &EmulatorState, headers: &HeaderMap) -> Option<CiJob> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)?;
    state.world().identity.hosts.ci_jobs.get(token).cloned()
}

fn mint(state: &EmulatorState, job: &CiJob, audience: &str) -> String {
    let now = state.clock.now();
    state.world().identity.issue_external_assertion(
        &job.issuer,
        &job.subject,
        audience,
        job.lifetime,
        now,
    )
}

/// GitHub: `GET …?audience=<aud>`; without `audience` the token's `aud` is the owner's URL, as
/// GitHub does (and Entra ID then refuses it).
async fn github_token(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(job) = ci_job(&state, &headers).filter(|job| job.service_connection_id.is_none())
    else {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let audience = query
        .get("audience")
        .cloned()
        .unwrap_or_else(|| "https://github.com/contoso".to_owned());
    let token = mint(&state, &job, &audience);
    Json(serde_json::json!({"count": 1, "value": token})).into_response()
}

/// Azure DevOps: `POST …?api-version=7.1&serviceConnectionId=<id>`.
async fn azure_devops_token(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(job) = ci_job(&state, &headers) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "TF400813: The user is not authorized to access this resource.",
        );
    };
    if query
        .get("api-version")
        .is_none_or(|v| !v.starts_with("7.1"))
    {
        return error(StatusCode::BAD_REQUEST, "api-version 7.1 is required");
    }
    let requested = query.get("serviceConnectionId");
    if requested.is_none() || requested != job.service_connection_id.as_ref() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "No service connection found with identifier '{}'.",
                requested.map(String::as_str).unwrap_or_default()
            ),
        );
    }
    let token = mint(&state, &job, FEDERATION_AUDIENCE);
    Json(serde_json::json!({"oidcToken": token})).into_response()
}

/// Which managed identity a host's token request asks for: a user-assigned one by client id,
/// object (principal) id or ARM resource id, or none of them for the host's own
/// (system-assigned) identity, the seeded one.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentitySelector<'a> {
    pub client_id: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub resource_id: Option<&'a str>,
}

impl IdentitySelector<'_> {
    /// Whether `sp` is the identity selected on a host whose own identity is `system_assigned`.
    /// A user-assigned identity's resource id is
    /// `…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`, and its service
    /// principal is named after it.
    pub fn selects(&self, sp: &ServicePrincipal, system_assigned: &str) -> bool {
        if sp.kind != PrincipalKind::ManagedIdentity {
            return false;
        }
        if self.client_id.is_none() && self.object_id.is_none() && self.resource_id.is_none() {
            return sp.id == system_assigned;
        }
        let by_resource_id = |id: &str| {
            let id = id.to_ascii_lowercase();
            id.contains("/providers/microsoft.managedidentity/userassignedidentities/")
                && id.rsplit('/').next() == Some(sp.display_name.to_ascii_lowercase().as_str())
        };
        self.client_id
            .is_none_or(|id| sp.app_id.eq_ignore_ascii_case(id))
            && self
                .object_id
                .is_none_or(|id| sp.id.eq_ignore_ascii_case(id))
            && self.resource_id.is_none_or(by_resource_id)
    }
}

/// A token of the managed identity a host request selects, in the App Service response shape
/// (no `expires_in`).
fn issue_managed_identity_token(
    state: &EmulatorState,
    resource: &str,
    selector: IdentitySelector<'_>,
) -> Response {
    let Some((_, audience_claim)) = Audience::from_resource(resource) else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant."
            ),
        );
    };
    let now = state.clock.now();
    let utc_now = state.clock.utc_now();
    let lifetime = state.knobs.token_lifetime;
    let mut world = state.world();
    let identity = &mut world.identity;
    let system_assigned = &state.seed.managed_identity_object_id;
    let selected = identity
        .service_principals
        .values()
        .find(|sp| selector.selects(sp, system_assigned))
        .cloned();
    let Some(managed_identity) = selected else {
        return error(StatusCode::BAD_REQUEST, "Identity not found");
    };
    let Some(token) = identity.issue_token(
        &managed_identity.id,
        audience_claim,
        "2",
        lifetime,
        now,
        utc_now,
    ) else {
        return error(StatusCode::BAD_REQUEST, "Identity not found");
    };
    drop(world);
    let expires_on = (utc_now + lifetime).unix_timestamp();
    let body = serde_json::json!({
        "access_token": token,
        "client_id": managed_identity.app_id,
        "expires_on": expires_on.to_string(),
        "not_before": utc_now.unix_timestamp().to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    let credential = CredentialRef {
        kind: "managed_identity".to_owned(),
        tenant_id: Some(managed_identity.tenant_id),
        app_id: Some(managed_identity.app_id),
        object_id: Some(managed_identity.id),
    };
    let mut response = Json(body).into_response();
    response
        .extensions_mut()
        .insert(LoggedCredential(credential));
    response
}

/// App Service: `X-IDENTITY-HEADER` must be the platform's current header value.
async fn app_service_token(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let expected = state.world().identity.hosts.app_service_header.clone();
    let presented = headers
        .get("x-identity-header")
        .and_then(|value| value.to_str().ok());
    if expected.is_none() || presented != expected.as_deref() {
        return error(
            StatusCode::BAD_REQUEST,
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        );
    }
    if query.get("api-version").map(String::as_str) != Some("2019-08-01") {
        return error(
            StatusCode::BAD_REQUEST,
            "UnsupportedApiVersion: use api-version=2019-08-01",
        );
    }
    let Some(resource) = query.get("resource") else {
        return error(StatusCode::BAD_REQUEST, "Missing resource");
    };
    let selector = IdentitySelector {
        client_id: query.get("client_id").map(String::as_str),
        object_id: query
            .get("principal_id")
            .or(query.get("object_id"))
            .map(String::as_str),
        resource_id: query.get("mi_res_id").map(String::as_str),
    };
    issue_managed_identity_token(&state, resource, selector)
}

fn metadata_header(headers: &HeaderMap) -> bool {
    headers
        .get("metadata")
        .and_then(|value| value.to_str().ok())
        == Some("true")
}

/// Arc: without `Authorization`, writes a fresh key and answers 401 naming its file.
async fn arc_token(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !metadata_header(&headers) {
        return error(
            StatusCode::BAD_REQUEST,
            "Required metadata header not specified",
        );
    }
    let Some(resource) = query.get("resource").cloned() else {
        return error(StatusCode::BAD_REQUEST, "Missing resource");
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .map(str::to_owned);
    let Some(directory) = state.world().identity.hosts.arc_key_directory.clone() else {
        return error(StatusCode::NOT_FOUND, "no Arc agent on this machine");
    };
    match presented {
        // One use per key.
        Some(key) if state.world().identity.hosts.arc_keys.remove(&key) => {
            issue_managed_identity_token(&state, &resource, IdentitySelector::default())
        }
        Some(_) => error(StatusCode::UNAUTHORIZED, "Invalid key"),
        None => {
            let key = uuid::Uuid::new_v4().simple().to_string();
            let path = directory.join(format!("{}.key", uuid::Uuid::new_v4().simple()));
            if std::fs::write(&path, &key).is_err() {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot write the key");
            }
            {
                let mut world = state.world();
                world.identity.hosts.arc_keys.insert(key.clone());
                world.identity.hosts.issued.push(key);
            }
            let mut response = error(StatusCode::UNAUTHORIZED, "Unauthorized");
            if let Ok(value) = format!("Basic realm={}", path.display()).parse() {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

/// Cloud Shell: `POST` with a form `resource=…` and `Metadata: true`.
async fn cloud_shell_token(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !metadata_header(&headers) {
        return error(
            StatusCode::BAD_REQUEST,
            "Required metadata header not specified",
        );
    }
    let Some(resource) = form.get("resource") else {
        return error(StatusCode::BAD_REQUEST, "Missing resource");
    };
    issue_managed_identity_token(&state, resource, IdentitySelector::default())
}

// ----- Test helpers: what a platform sets up, and the variables it exports. -----

/// A GitHub Actions job whose ID tokens carry `subject`, each living `lifetime`: returns the
/// runner's `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
pub fn github_job(emulator: &Emulator, subject: &str, lifetime: Duration) -> (String, String) {
    let request_token = format!("ghs_{}", uuid::Uuid::new_v4().simple());
    register_job(
        emulator,
        &request_token,
        CiJob {
            issuer: GITHUB_ISSUER.to_owned(),
            subject: subject.to_owned(),
            lifetime,
            service_connection_id: None,
        },
    );
    // GitHub's URL already carries a query string.
    let url = format!(
        "{}{GITHUB_TOKEN_PATH}?api-version=2.0",
        emulator.endpoints().authority_host
    );
    (url, request_token)
}

/// An Azure DevOps job using service connection `connection_id` (issuer
/// `https://vstoken.dev.azure.com/<org id>`, subject `sc://contoso/infra/<connection>`): returns
/// `SYSTEM_OIDCREQUESTURI`, `SYSTEM_ACCESSTOKEN`, and the (issuer, subject) to federate.
pub fn azure_devops_job(
    emulator: &Emulator,
    connection_id: &str,
    lifetime: Duration,
) -> (String, String, String, String) {
    let request_token = format!("ado{}", uuid::Uuid::new_v4().simple());
    let issuer = "https://vstoken.dev.azure.com/c0ffee00-0000-4000-8000-000000000001".to_owned();
    let subject = "sc://contoso/infra/vnetpeer-production".to_owned();
    register_job(
        emulator,
        &request_token,
        CiJob {
            issuer: issuer.clone(),
            subject: subject.clone(),
            lifetime,
            service_connection_id: Some(connection_id.to_owned()),
        },
    );
    let url = format!(
        "{}{AZURE_DEVOPS_TOKEN_PATH}",
        emulator.endpoints().authority_host
    );
    (url, request_token, issuer, subject)
}

fn register_job(emulator: &Emulator, request_token: &str, job: CiJob) {
    emulator.with_world(|world| {
        let hosts = &mut world.identity.hosts;
        hosts.ci_jobs.insert(request_token.to_owned(), job);
        hosts.issued.push(request_token.to_owned());
    });
}

/// Registers a federated identity credential (audience `api://AzureADTokenExchange`) on the
/// seeded operator application.
pub fn federate_operator(emulator: &Emulator, issuer: &str, subject: &str) {
    let app_id = emulator.seed().operator_client_id.clone();
    emulator.with_world(|world| {
        assert!(
            world
                .identity
                .add_federated_credential(&app_id, issuer, subject),
            "the operator application exists"
        );
    });
}

/// A token of the stand-in identity provider, as HCP Terraform or a kubelet would issue it.
pub fn external_token(
    emulator: &Emulator,
    issuer: &str,
    subject: &str,
    audience: &str,
    lifetime: Duration,
) -> String {
    let now = emulator.now();
    emulator.with_world(|world| {
        world
            .identity
            .issue_external_assertion(issuer, subject, audience, lifetime, now)
    })
}

/// [`federate_operator`] for (`issuer`, `subject`), and a token of that identity provider for
/// the federation audience, valid for `lifetime`: what a pipeline hands the provider.
pub fn federated_operator_token(
    emulator: &Emulator,
    issuer: &str,
    subject: &str,
    lifetime: Duration,
) -> String {
    federate_operator(emulator, issuer, subject);
    external_token(emulator, issuer, subject, FEDERATION_AUDIENCE, lifetime)
}

/// Keeps `path` holding a live token of (`issuer`, `subject`), rewriting it every `every` with a
/// new token valid for `lifetime` (the kubelet rotates projected tokens the same way). Stops
/// when the returned guard is dropped. Fails when the first token cannot be written; a later
/// write that fails is logged and tried again at the next turn (the reader then sees the previous,
/// still complete, token).
pub fn spawn_token_file_rotation(
    emulator: &Emulator,
    path: &Path,
    issuer: &str,
    subject: &str,
    lifetime: Duration,
    every: Duration,
) -> std::io::Result<RotationGuard> {
    let write = {
        let emulator = emulator.clone();
        let (path, issuer, subject) = (path.to_owned(), issuer.to_owned(), subject.to_owned());
        move || {
            let token = external_token(&emulator, &issuer, &subject, FEDERATION_AUDIENCE, lifetime);
            // Write then rename: a reader never sees a half-written file.
            let temporary = path.with_extension("tmp");
            std::fs::write(&temporary, token)?;
            std::fs::rename(&temporary, &path)
        }
    };
    write()?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {
                    if let Err(error) = write() {
                        tracing::warn!(%error, "cannot rewrite the rotating token file");
                    }
                }
                _ = stopped.changed() => break,
            }
        }
    });
    Ok(RotationGuard { stop, _task: task })
}

/// Stops a token file rotation when dropped.
pub struct RotationGuard {
    stop: tokio::sync::watch::Sender<bool>,
    _task: tokio::task::JoinHandle<()>,
}

impl Drop for RotationGuard {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Gives the seeded managed identity exactly what the provider's identity needs for the runbook
/// (the least-privilege table of the guides: Graph `Application.ReadWrite.All`; User Access
/// Administrator on the customer subscription; Network Contributor on the VNet) and nothing
/// more.
pub fn grant_runbook_rights_to_managed_identity(emulator: &Emulator) {
    let seed = emulator.seed().clone();
    emulator.with_world(|world| {
        if let Some(sp) = world
            .identity
            .service_principals
            .get_mut(&seed.managed_identity_object_id)
        {
            sp.graph_permissions
                .insert(APPLICATION_READ_WRITE_ALL.to_owned());
        }
        let template = world
            .arm
            .role_assignments
            .iter()
            .find(|assignment| assignment.principal_id == seed.operator_sp_object_id)
            .cloned();
        if let Some(template) = template {
            world.arm.role_assignments.push(RoleAssignment {
                name: "c1000000-0000-4000-8000-0000000000c2".to_owned(),
                principal_id: seed.managed_identity_object_id.clone(),
                role_definition_guid: USER_ACCESS_ADMINISTRATOR_ROLE_ID.to_owned(),
                scope: format!("/subscriptions/{}", seed.customer_subscription_id),
                ..template.clone()
            });
            world.arm.role_assignments.push(RoleAssignment {
                name: "c1000000-0000-4000-8000-0000000000c3".to_owned(),
                principal_id: seed.managed_identity_object_id.clone(),
                role_definition_guid: NETWORK_CONTRIBUTOR_ROLE_ID.to_owned(),
                scope: seed.customer_vnet_id.clone(),
                ..template
            });
        }
    });
}

/// A user-assigned managed identity named `name` in the customer subscription's resource group,
/// besides the host's own: returns its client id, object id and ARM resource id.
pub fn user_assigned_identity(emulator: &Emulator, name: &str) -> (String, String, String) {
    let seed = emulator.seed().clone();
    let client_id = uuid::Uuid::new_v4().to_string();
    let object_id = uuid::Uuid::new_v4().to_string();
    let resource_id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
        seed.customer_subscription_id, seed.customer_resource_group
    );
    let (now, utc_now) = (emulator.now(), emulator.clock().utc_now());
    emulator.with_world(|world| {
        world.identity.insert_service_principal(ServicePrincipal {
            id: object_id.clone(),
            app_id: client_id.clone(),
            tenant_id: seed.customer_tenant_id.clone(),
            display_name: name.to_owned(),
            app_owner_organization_id: seed.customer_tenant_id.clone(),
            kind: PrincipalKind::ManagedIdentity,
            account_enabled: true,
            graph_permissions: Default::default(),
            created_date_time: utc_now,
            visible_to_dependents_at: now,
        });
    });
    (client_id, object_id, resource_id)
}

/// The App Service platform: returns `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
pub fn app_service_host(emulator: &Emulator) -> (String, String) {
    let header = uuid::Uuid::new_v4().simple().to_string();
    emulator.with_world(|world| {
        let hosts = &mut world.identity.hosts;
        hosts.app_service_header = Some(header.clone());
        hosts.issued.push(header.clone());
    });
    (
        format!("{}{APP_SERVICE_PATH}", emulator.endpoints().authority_host),
        header,
    )
}

/// An Arc-enabled machine whose agent writes keys into `key_directory`: returns
/// `IDENTITY_ENDPOINT` and `IMDS_ENDPOINT`.
pub fn arc_host(emulator: &Emulator, key_directory: &Path) -> (String, String) {
    emulator.with_world(|world| {
        world.identity.hosts.arc_key_directory = Some(key_directory.to_owned());
    });
    let base = emulator.endpoints().authority_host.clone();
    (format!("{base}{ARC_PATH}"), base)
}

/// Cloud Shell: returns `MSI_ENDPOINT`.
pub fn cloud_shell_host(emulator: &Emulator) -> String {
    format!("{}{CLOUD_SHELL_PATH}", emulator.endpoints().authority_host)
}

/// Every credential secret of this module and every federated token minted (for leak checks).
pub fn credential_secrets(emulator: &Emulator) -> Vec<String> {
    emulator.with_world(|world| {
        world
            .identity
            .hosts
            .issued
            .iter()
            .cloned()
            .chain(world.identity.external_assertions.keys().cloned())
            .collect()
    })
}

/// The credential types `vnetpeer-sandbox --credential` can rehearse.
pub const CREDENTIAL_KINDS: &[&str] = &[
    "client-secret",
    "github-actions",
    "azure-devops",
    "token-file",
    "aks-workload-identity",
    "hcp-terraform",
    "app-service",
    "azure-arc",
    "vm-imds",
    "cloud-shell",
];

/// Environment variables as a platform sets them.
pub type Settings = Vec<(&'static str, String)>;

/// Sets up `kind` in `emulator` (the pipeline or host, and the federated credential or the
/// managed identity's rights) and returns the variables that replace the operator's client
/// secret, as the platform would set them. `scratch` holds token and key files. The returned
/// guard keeps a token file rotating; keep it alive as long as the emulator.
pub fn credential_settings(
    emulator: &Emulator,
    kind: &str,
    scratch: &Path,
) -> Result<(Settings, Option<RotationGuard>), String> {
    const LIFETIME: Duration = Duration::from_secs(600);
    let seed = emulator.seed().clone();
    let no_secret = ("ARM_CLIENT_SECRET", String::new());
    let oidc = ("ARM_USE_OIDC", "true".to_owned());
    let mut guard = None;
    let settings = match kind {
        "client-secret" => Vec::new(),
        "github-actions" => {
            let subject = "repo:contoso/network:ref:refs/heads/main";
            federate_operator(emulator, GITHUB_ISSUER, subject);
            let (url, token) = github_job(emulator, subject, LIFETIME);
            vec![
                no_secret,
                oidc,
                ("ACTIONS_ID_TOKEN_REQUEST_URL", url),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", token),
            ]
        }
        "azure-devops" => {
            let connection = "5f1c2a5e-0000-4000-8000-00000000ad01";
            let (url, token, issuer, subject) = azure_devops_job(emulator, connection, LIFETIME);
            federate_operator(emulator, &issuer, &subject);
            vec![
                no_secret,
                oidc,
                ("SYSTEM_OIDCREQUESTURI", url),
                ("SYSTEM_ACCESSTOKEN", token),
                (
                    "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
                    connection.to_owned(),
                ),
            ]
        }
        "token-file" | "aks-workload-identity" => {
            let issuer = "https://oidc.prod-aks.azure.example/contoso/";
            let subject = "system:serviceaccount:atlantis:atlantis";
            federate_operator(emulator, issuer, subject);
            let path = scratch.join("azure-identity-token");
            guard = Some(
                spawn_token_file_rotation(emulator, &path, issuer, subject, LIFETIME, LIFETIME / 2)
                    .map_err(|error| {
                        format!("cannot write the token file {}: {error}", path.display())
                    })?,
            );
            let path = path.display().to_string();
            if kind == "token-file" {
                vec![no_secret, oidc, ("ARM_OIDC_TOKEN_FILE_PATH", path)]
            } else {
                vec![
                    no_secret,
                    ("ARM_CLIENT_ID", String::new()),
                    ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true".to_owned()),
                    ("AZURE_CLIENT_ID", seed.operator_client_id.clone()),
                    ("AZURE_TENANT_ID", seed.customer_tenant_id.clone()),
                    ("AZURE_FEDERATED_TOKEN_FILE", path),
                ]
            }
        }
        "hcp-terraform" => {
            let subject = "organization:contoso:project:network:workspace:peering:run_phase:apply";
            let token = federated_operator_token(
                emulator,
                HCP_TERRAFORM_ISSUER,
                subject,
                Duration::from_secs(3600),
            );
            vec![no_secret, oidc, ("ARM_OIDC_TOKEN", token)]
        }
        "app-service" | "azure-arc" | "vm-imds" | "cloud-shell" => {
            grant_runbook_rights_to_managed_identity(emulator);
            let mut settings = vec![
                no_secret,
                ("ARM_CLIENT_ID", String::new()),
                ("ARM_USE_MSI", "true".to_owned()),
            ];
            match kind {
                "app-service" => {
                    let (endpoint, header) = app_service_host(emulator);
                    settings.push(("IDENTITY_ENDPOINT", endpoint));
                    settings.push(("IDENTITY_HEADER", header));
                }
                "azure-arc" => {
                    let (endpoint, imds) = arc_host(emulator, scratch);
                    settings.push(("IDENTITY_ENDPOINT", endpoint));
                    settings.push(("IMDS_ENDPOINT", imds));
                    // Honoured by provider builds with the `test-fixtures` feature only.
                    settings.push((
                        "VNETPEER_TEST_ARC_KEY_DIRECTORY",
                        scratch.display().to_string(),
                    ));
                }
                "vm-imds" => settings.push(("ARM_MSI_ENDPOINT", emulator.endpoints().msi.clone())),
                _ => settings.push(("MSI_ENDPOINT", cloud_shell_host(emulator))),
            }
            settings
        }
        other => {
            return Err(format!(
                "unknown credential type '{other}'; one of: {}",
                CREDENTIAL_KINDS.join(", ")
            ));
        }
    };
    Ok((settings, guard))
}
