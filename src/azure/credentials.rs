//! Azure credentials: settings, the credential chain in azurerm's order, and cached tokens.
//!
//! - [`AzureSettings`]: what the provider block (or the `ARM_*` environment) says.
//! - [`AzureEndpoints`]: authority, ARM and Graph URLs and token scopes for the chosen cloud, with
//!   the endpoint overrides applied (private clouds, the emulator).
//! - [`TokenSource`]: one identity in one tenant, producing [`AccessToken`]s per scope. Tokens are
//!   fetched lazily, cached per (authority, tenant, client, scope, credential) until 5 minutes
//!   before expiry, and concurrent callers share a single refresh.
//!
//! Choosing a credential reads local settings and files only; the first network request happens
//! when a resource first asks for a token.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, Url};
use serde_json::Value;

use super::assertion::ClientCertificate;
use super::error::AzureErrorResponse;
use super::federation::FederatedTokenSource;
use super::managed_identity::ManagedIdentityHost;
pub use super::managed_identity::{
    IMDS_TOKEN_ENDPOINT, IdentitySelector, ManagedIdentityEnvironment,
};
use crate::cloud::error::{CloudError, CredentialAttempt, Service};
use crate::cloud::http::{
    CallContext, HttpClient, Replay, join_path, operation_name, validate_endpoint,
};
use crate::cloud::secret::SecretString;

/// The Azure cloud whose endpoints and token audiences are used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AzureEnvironment {
    /// Azure public cloud.
    #[default]
    Public,
    /// Azure US Government (L4).
    UsGovernment,
    /// Azure China (21Vianet).
    China,
}

impl AzureEnvironment {
    /// The names of the `environment` setting, as azurerm spells them.
    pub const NAMES: &'static [&'static str] = &["public", "usgovernment", "china"];

    /// The cloud named by the `environment` setting (one of [`Self::NAMES`]).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "public" => Some(Self::Public),
            "usgovernment" => Some(Self::UsGovernment),
            "china" => Some(Self::China),
            _ => None,
        }
    }

    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        // (authority host, ARM endpoint, Graph endpoint): docs/development/entra-and-graph.md,
        // 'Authority hosts and endpoints per cloud'.
        match self {
            Self::Public => (
                "https://login.microsoftonline.com",
                "https://management.azure.com",
                "https://graph.microsoft.com",
            ),
            Self::UsGovernment => (
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
                "https://graph.microsoft.us",
            ),
            Self::China => (
                "https://login.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
        }
    }
}

/// Endpoint overrides (`endpoints { ... }` in the provider block; `VNETPEER_*` variables).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AzureEndpointOverrides {
    /// Token authority, e.g. `https://login.microsoftonline.com`.
    pub authority_host: Option<String>,
    /// Azure Resource Manager, e.g. `https://management.azure.com`.
    pub resource_manager: Option<String>,
    /// Microsoft Graph, e.g. `https://graph.microsoft.com` (without `/v1.0`).
    pub microsoft_graph: Option<String>,
}

/// The provider's Azure settings, after configuration and environment are merged.
///
/// A plain struct: the provider configuration (`ProviderConfig::resolve`, after its environment
/// fallbacks and checks) fills it and holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureSettings {
    /// The customer tenant (GUID or domain).
    pub tenant_id: Option<String>,
    /// The customer subscription.
    pub subscription_id: Option<String>,
    /// The application (client) id of the provider's identity.
    pub client_id: Option<String>,
    /// A client secret of that application.
    pub client_secret: Option<SecretString>,
    /// A base64-encoded PKCS#12 bundle with the client certificate and its private key (line
    /// breaks allowed, as `base64` prints them).
    pub client_certificate: Option<SecretString>,
    /// A PKCS#12 (.pfx/.p12) or PEM file with the client certificate and its private key.
    pub client_certificate_path: Option<PathBuf>,
    /// The password of a PKCS#12 file (PEM keys must be unencrypted).
    pub client_certificate_password: Option<SecretString>,
    /// Use workload identity federation (OIDC).
    pub use_oidc: bool,
    /// The federated token itself.
    pub oidc_token: Option<SecretString>,
    /// A file holding the federated token, re-read on every token request (it rotates).
    pub oidc_token_file_path: Option<PathBuf>,
    /// A CI system's ID token endpoint (GitHub Actions, Azure DevOps).
    pub oidc_request_url: Option<String>,
    /// The bearer token for `oidc_request_url`.
    pub oidc_request_token: Option<SecretString>,
    /// An Azure DevOps service connection: makes `oidc_request_url` the Azure DevOps protocol.
    pub ado_pipeline_service_connection_id: Option<String>,
    /// AKS workload identity (turns federation on, like `use_oidc`).
    pub use_aks_workload_identity: bool,
    /// Use a managed identity.
    pub use_msi: bool,
    /// The managed-identity token endpoint (default: detected from the host, else the Azure VM
    /// IMDS).
    pub msi_endpoint: Option<String>,
    /// A user-assigned identity's object id (`client_id` selects by client id).
    pub msi_object_id: Option<String>,
    /// A user-assigned identity's ARM resource id.
    pub msi_resource_id: Option<String>,
    /// The hosting platform's managed-identity variables (and whether this is Cloud Shell).
    pub host: ManagedIdentityEnvironment,
    /// Use the Azure CLI (`az account get-access-token`).
    pub use_cli: bool,
    /// The cloud.
    pub environment: AzureEnvironment,
    /// Endpoint overrides.
    pub endpoints: AzureEndpointOverrides,
}

impl Default for AzureSettings {
    fn default() -> Self {
        Self {
            tenant_id: None,
            subscription_id: None,
            client_id: None,
            client_secret: None,
            client_certificate: None,
            client_certificate_path: None,
            client_certificate_password: None,
            use_oidc: false,
            oidc_token: None,
            oidc_token_file_path: None,
            oidc_request_url: None,
            oidc_request_token: None,
            ado_pipeline_service_connection_id: None,
            use_aks_workload_identity: false,
            use_msi: false,
            msi_endpoint: None,
            msi_object_id: None,
            msi_resource_id: None,
            host: ManagedIdentityEnvironment::default(),
            // azurerm's default: a developer's `az login` just works.
            use_cli: true,
            environment: AzureEnvironment::Public,
            endpoints: AzureEndpointOverrides::default(),
        }
    }
}

/// Resolved endpoints and token scopes of one cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureEndpoints {
    /// The cloud.
    pub environment: AzureEnvironment,
    /// Token authority (`{authority_host}/{tenant}/oauth2/v2.0/token`).
    pub authority_host: Url,
    /// Azure Resource Manager base URL.
    pub resource_manager: Url,
    /// Microsoft Graph base URL (without `/v1.0`).
    pub microsoft_graph: Url,
    /// Token scope for ARM, e.g. `https://management.azure.com/.default`.
    pub resource_manager_scope: String,
    /// Token scope for Graph, e.g. `https://graph.microsoft.com/.default`.
    pub microsoft_graph_scope: String,
}

impl AzureEndpoints {
    /// The endpoints of `environment` with `overrides` applied.
    ///
    /// Overrides change where requests go, not the token audiences: the scopes stay those of
    /// the cloud (the emulator issues tokens for the real audiences).
    pub fn resolve(
        environment: AzureEnvironment,
        overrides: &AzureEndpointOverrides,
    ) -> Result<Self, CloudError> {
        let (authority, arm, graph) = environment.defaults();
        let pick = |name: &str, value: &Option<String>, default: &str| {
            validate_endpoint(name, value.as_deref().unwrap_or(default))
        };
        Ok(Self {
            environment,
            authority_host: pick("authority_host", &overrides.authority_host, authority)?,
            resource_manager: pick("resource_manager", &overrides.resource_manager, arm)?,
            microsoft_graph: pick("microsoft_graph", &overrides.microsoft_graph, graph)?,
            resource_manager_scope: format!("{arm}/.default"),
            microsoft_graph_scope: format!("{graph}/.default"),
        })
    }

    /// The v2 token endpoint of `tenant`.
    pub fn token_url(&self, tenant: &str) -> Url {
        join_path(&self.authority_host, &format!("{tenant}/oauth2/v2.0/token"))
    }
}

/// An access token. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: SystemTime,
    refresh_at: SystemTime,
}

/// How long before expiry a cached token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

impl AccessToken {
    /// A token valid until `expires_at`.
    pub fn new(secret: impl Into<SecretString>, expires_at: SystemTime) -> Self {
        let now = SystemTime::now();
        let lifetime = expires_at.duration_since(now).unwrap_or_default();
        // Short-lived tokens (some managed identities, the emulator) are used for half their
        // life rather than never.
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        Self {
            secret: secret.into(),
            expires_at,
            refresh_at: expires_at - margin,
        }
    }

    /// The bearer token, for the `Authorization` header.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// True while the cache may hand out this token.
    pub fn is_fresh(&self) -> bool {
        SystemTime::now() < self.refresh_at
    }

    /// The token's claims, read without verification (for tenant and object ids of the
    /// provider's own identity). `None` when the token is not a JWT.
    pub fn claims(&self) -> Option<TokenClaims> {
        let payload = self.expose_secret().split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let json: Value = serde_json::from_slice(&bytes).ok()?;
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(TokenClaims {
            tenant_id: text("tid"),
            object_id: text("oid"),
            app_id: text("appid").or_else(|| text("azp")),
            audience: text("aud"),
        })
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Identity claims of an access token (unverified; for display and ids only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// `tid`: the tenant that issued the token.
    pub tenant_id: Option<String>,
    /// `oid`: the object id of the identity (service principal or user).
    pub object_id: Option<String>,
    /// `appid` (v1) or `azp` (v2): the client id.
    pub app_id: Option<String>,
    /// `aud`.
    pub audience: Option<String>,
}

/// A token producer plugged into a [`TokenSource`] (tests, special identities).
#[async_trait]
pub trait FetchToken: Send + Sync {
    /// A fresh token for `scope`.
    async fn fetch_token(&self, ctx: &CallContext, scope: &str) -> Result<AccessToken, CloudError>;
}

/// Cached tokens, shared by every [`TokenSource`] built from one [`TokenCache`].
///
/// One slot per key; the slot's async mutex makes concurrent callers wait for a single refresh
/// instead of each fetching a token.
#[derive(Clone, Default)]
pub struct TokenCache {
    slots: Arc<Mutex<HashMap<String, TokenSlot>>>,
}

/// One cache entry; holding its lock means "I am refreshing this token".
type TokenSlot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache")
    }
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached token for `key` if fresh, else the result of `fetch` (stored on success).
    /// Concurrent calls with the same key run `fetch` once.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        ctx: &CallContext,
        key: &str,
        fetch: F,
    ) -> Result<AccessToken, CloudError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, CloudError>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            match slots.get(key) {
                Some(slot) => slot.clone(),
                None => slots.entry(key.to_owned()).or_default().clone(),
            }
        };
        let mut cached = ctx.run("waiting for an access token", slot.lock()).await?;
        if let Some(token) = cached.as_ref().filter(|t| t.is_fresh()) {
            return Ok(token.clone());
        }
        let token = fetch().await?;
        *cached = Some(token.clone());
        Ok(token)
    }
}

/// The kind of credential behind a [`TokenSource`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    /// Application id + client secret.
    ClientSecret,
    /// Application id + certificate (signed client assertion).
    ClientCertificate,
    /// Workload identity federation: a federated token as client assertion.
    Oidc,
    /// Managed identity.
    ManagedIdentity,
    /// Azure CLI.
    AzureCli,
    /// A [`FetchToken`] implementation.
    Custom,
}

impl CredentialKind {
    fn label(self) -> &'static str {
        match self {
            Self::ClientSecret => "client secret",
            Self::ClientCertificate => "client certificate",
            Self::Oidc => "OIDC (workload identity federation)",
            Self::ManagedIdentity => "managed identity",
            Self::AzureCli => "Azure CLI",
            Self::Custom => "custom",
        }
    }
}

enum Credential {
    ClientSecret(SecretString),
    ClientCertificate(Arc<ClientCertificate>),
    Oidc(FederatedTokenSource),
    ManagedIdentity(ManagedIdentityHost, IdentitySelector),
    AzureCli { cloud_shell: bool },
    Custom(Arc<dyn FetchToken>),
}

impl Credential {
    fn kind(&self) -> CredentialKind {
        match self {
            Self::ClientSecret(_) => CredentialKind::ClientSecret,
            Self::ClientCertificate(_) => CredentialKind::ClientCertificate,
            Self::Oidc(_) => CredentialKind::Oidc,
            Self::ManagedIdentity(..) => CredentialKind::ManagedIdentity,
            Self::AzureCli { .. } => CredentialKind::AzureCli,
            Self::Custom(_) => CredentialKind::Custom,
        }
    }
}

struct TokenSourceInner {
    credential: Credential,
    tenant_id: Option<String>,
    client_id: Option<String>,
    http: HttpClient,
    endpoints: Arc<AzureEndpoints>,
    cache: TokenCache,
    /// The cache key of this source's tokens, but for the scope: authority, tenant, client and
    /// what distinguishes the credential without holding the secret. Built once: every
    /// request asks for a token.
    cache_key_prefix: String,
}

/// One identity in one tenant: hands out cached access tokens per scope.
///
/// Cheap to clone. Build the provider's own with [`TokenSource::from_settings`], another app's
/// with [`TokenSource::client_secret`].
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<TokenSourceInner>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("credential", &self.inner.credential.kind())
            .field("tenant_id", &self.inner.tenant_id)
            .field("client_id", &self.inner.client_id)
            .finish()
    }
}

impl TokenSource {
    /// The provider's own credential, chosen from `settings` in azurerm's order: client secret,
    /// client certificate, OIDC, managed identity, Azure CLI.
    ///
    /// Reads local files only (the certificate); no network. A credential that is partly
    /// configured (e.g. a secret without a tenant) is an error rather than a silent fall-through
    /// to the next one. When none is configured, [`CloudError::Credential`] lists each type and
    /// why it was skipped.
    pub fn from_settings(
        settings: &AzureSettings,
        endpoints: Arc<AzureEndpoints>,
        http: HttpClient,
        cache: TokenCache,
    ) -> Result<Self, CloudError> {
        let (credential, cache_identity) =
            select_credential(settings, |name| find_on_path(name).is_some())?;
        Ok(Self::build(
            credential,
            settings.tenant_id.clone(),
            settings.client_id.clone(),
            cache_identity,
            endpoints,
            http,
            cache,
        ))
    }

    /// Another application's client-secret credential in `tenant_id` (e.g. the step-1 app in the
    /// customer and in Aiven's tenant), sharing `cache` with the provider's own tokens.
    pub fn client_secret(
        tenant_id: &str,
        client_id: &str,
        secret: SecretString,
        endpoints: Arc<AzureEndpoints>,
        http: HttpClient,
        cache: TokenCache,
    ) -> Self {
        let cache_identity = format!("secret:{}", fingerprint(secret.expose_secret()));
        Self::build(
            Credential::ClientSecret(secret),
            Some(tenant_id.to_owned()),
            Some(client_id.to_owned()),
            cache_identity,
            endpoints,
            http,
            cache,
        )
    }

    /// A source backed by `fetcher`, with its own cache (tests, special identities).
    pub fn custom(
        fetcher: Arc<dyn FetchToken>,
        tenant_id: Option<String>,
        client_id: Option<String>,
        endpoints: Arc<AzureEndpoints>,
    ) -> Result<Self, CloudError> {
        Ok(Self::build(
            Credential::Custom(fetcher),
            tenant_id,
            client_id,
            "custom".to_owned(),
            endpoints,
            HttpClient::shared()?,
            TokenCache::new(),
        ))
    }

    fn build(
        credential: Credential,
        tenant_id: Option<String>,
        client_id: Option<String>,
        cache_identity: String,
        endpoints: Arc<AzureEndpoints>,
        http: HttpClient,
        cache: TokenCache,
    ) -> Self {
        let cache_key_prefix = format!(
            "{}|{}|{}|{}|",
            endpoints.authority_host,
            tenant_id.as_deref().unwrap_or("-"),
            client_id.as_deref().unwrap_or("-"),
            cache_identity
        );
        Self {
            inner: Arc::new(TokenSourceInner {
                credential,
                tenant_id,
                client_id,
                http,
                endpoints,
                cache,
                cache_key_prefix,
            }),
        }
    }

    /// The kind of credential.
    pub fn kind(&self) -> CredentialKind {
        self.inner.credential.kind()
    }

    /// The tenant tokens are requested in (None: the identity's home tenant, MSI/CLI).
    pub fn tenant_id(&self) -> Option<&str> {
        self.inner.tenant_id.as_deref()
    }

    /// The client id, when known from settings.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The endpoints this source's tokens are for.
    pub fn endpoints(&self) -> &Arc<AzureEndpoints> {
        &self.inner.endpoints
    }

    /// A token for `scope` (e.g. [`AzureEndpoints::resource_manager_scope`]), from the cache when
    /// fresh.
    pub async fn token(&self, ctx: &CallContext, scope: &str) -> Result<AccessToken, CloudError> {
        let inner = &self.inner;
        let mut key = String::with_capacity(inner.cache_key_prefix.len() + scope.len());
        key.push_str(&inner.cache_key_prefix);
        key.push_str(scope);
        inner
            .cache
            .get_or_fetch(ctx, &key, || self.fetch(ctx, scope))
            .await
    }

    /// A token for Azure Resource Manager.
    pub async fn resource_manager_token(
        &self,
        ctx: &CallContext,
    ) -> Result<AccessToken, CloudError> {
        self.token(ctx, &self.inner.endpoints.resource_manager_scope)
            .await
    }

    /// A token for Microsoft Graph.
    pub async fn graph_token(&self, ctx: &CallContext) -> Result<AccessToken, CloudError> {
        self.token(ctx, &self.inner.endpoints.microsoft_graph_scope)
            .await
    }

    async fn fetch(&self, ctx: &CallContext, scope: &str) -> Result<AccessToken, CloudError> {
        let inner = &self.inner;
        tracing::debug!(
            credential = inner.credential.kind().label(),
            tenant = inner.tenant_id.as_deref().unwrap_or("-"),
            scope,
            "requesting an access token"
        );
        let app = || -> Result<(&str, &str), CloudError> {
            match (inner.tenant_id.as_deref(), inner.client_id.as_deref()) {
                (Some(tenant), Some(client)) => Ok((tenant, client)),
                _ => Err(CloudError::Invalid(
                    "tenant_id and client_id are required for this credential".into(),
                )),
            }
        };
        match &inner.credential {
            Credential::ClientSecret(secret) => {
                let (tenant, client) = app()?;
                request_client_credentials(
                    &inner.http,
                    ctx,
                    &inner.endpoints,
                    tenant,
                    client,
                    scope,
                    ClientAuth::Secret(secret),
                )
                .await
            }
            Credential::ClientCertificate(certificate) => {
                let (tenant, client) = app()?;
                let audience = inner.endpoints.token_url(tenant).to_string();
                let assertion = SecretString::new(certificate.assertion(client, &audience)?);
                request_client_credentials(
                    &inner.http,
                    ctx,
                    &inner.endpoints,
                    tenant,
                    client,
                    scope,
                    ClientAuth::Assertion(&assertion),
                )
                .await
                .map_err(|error| explain_certificate_error(error, client))
            }
            Credential::Oidc(source) => {
                let (tenant, client) = app()?;
                // A fresh federated token for every Entra ID request: CI tokens live minutes.
                let assertion = source.assertion(&inner.http, ctx).await?;
                request_client_credentials(
                    &inner.http,
                    ctx,
                    &inner.endpoints,
                    tenant,
                    client,
                    scope,
                    ClientAuth::Assertion(&assertion),
                )
                .await
                .map_err(|error| explain_federation_error(error, client, source.settings_hint()))
            }
            Credential::ManagedIdentity(host, selector) => {
                host.token(&inner.http, ctx, selector, scope).await
            }
            Credential::AzureCli { cloud_shell } => {
                // Cloud Shell's `az` refuses `--tenant`: it is signed in to one tenant only.
                let tenant = if *cloud_shell {
                    None
                } else {
                    inner.tenant_id.as_deref()
                };
                request_cli_token(ctx, tenant, scope).await
            }
            Credential::Custom(fetcher) => fetcher.fetch_token(ctx, scope).await,
        }
    }
}

/// A short, non-reversible tag of a secret, so two secrets of one app get separate cache slots.
fn fingerprint(secret: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The credential chain (pure, except for reading the certificate file).
fn select_credential(
    settings: &AzureSettings,
    cli_available: impl Fn(&str) -> bool,
) -> Result<(Credential, String), CloudError> {
    let mut attempts = Vec::new();
    let skip = |attempts: &mut Vec<CredentialAttempt>, kind: CredentialKind, why: &str| {
        attempts.push(CredentialAttempt {
            credential: kind.label(),
            outcome: why.to_owned(),
        });
    };
    let require_app = |kind: CredentialKind| -> Result<(), CloudError> {
        let mut missing = Vec::new();
        if settings.tenant_id.as_deref().is_none_or(str::is_empty) {
            missing.push("tenant_id (ARM_TENANT_ID)");
        }
        if settings.client_id.as_deref().is_none_or(str::is_empty) {
            missing.push("client_id (ARM_CLIENT_ID)");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CloudError::Invalid(format!(
                "the {} credential is configured but {} {} not set",
                kind.label(),
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" }
            )))
        }
    };

    match settings.client_secret.as_ref().filter(|s| !s.is_empty()) {
        Some(secret) => {
            require_app(CredentialKind::ClientSecret)?;
            let identity = format!("secret:{}", fingerprint(secret.expose_secret()));
            return Ok((Credential::ClientSecret(secret.clone()), identity));
        }
        None => skip(
            &mut attempts,
            CredentialKind::ClientSecret,
            "client_secret (ARM_CLIENT_SECRET) is not set",
        ),
    }

    let certificate_data = settings
        .client_certificate
        .as_ref()
        .filter(|data| !data.is_empty());
    let password = settings.client_certificate_password.as_ref();
    // azurerm's order: the inline bundle wins over the path.
    let loaded = match (certificate_data, &settings.client_certificate_path) {
        (Some(data), _) => {
            require_app(CredentialKind::ClientCertificate)?;
            Some((
                ClientCertificate::from_base64_pkcs12(data, password)?,
                format!("certificate:inline:{}", fingerprint(data.expose_secret())),
            ))
        }
        (None, Some(path)) => {
            require_app(CredentialKind::ClientCertificate)?;
            Some((
                ClientCertificate::load(path, password)?,
                format!("certificate:{}", path.display()),
            ))
        }
        (None, None) => None,
    };
    if let Some((certificate, identity)) = loaded {
        return Ok((
            Credential::ClientCertificate(Arc::new(certificate)),
            identity,
        ));
    }
    skip(
        &mut attempts,
        CredentialKind::ClientCertificate,
        "client_certificate (ARM_CLIENT_CERTIFICATE) and client_certificate_path \
         (ARM_CLIENT_CERTIFICATE_PATH) are not set",
    );

    if settings.use_oidc || settings.use_aks_workload_identity {
        require_app(CredentialKind::Oidc)?;
        let source = federated_token_source(settings)?;
        let identity = format!("oidc:{}", source.describe());
        return Ok((Credential::Oidc(source), identity));
    }
    skip(
        &mut attempts,
        CredentialKind::Oidc,
        "use_oidc (ARM_USE_OIDC) and use_aks_workload_identity (ARM_USE_AKS_WORKLOAD_IDENTITY) are false",
    );

    if settings.use_msi {
        let selector = IdentitySelector {
            client_id: settings.client_id.clone(),
            object_id: settings.msi_object_id.clone(),
            resource_id: settings.msi_resource_id.clone(),
        };
        let host = ManagedIdentityHost::detect(
            settings.msi_endpoint.as_deref(),
            &settings.host,
            &selector,
        )?;
        let identity = format!(
            "msi:{}:{}:{}",
            host.name(),
            settings.msi_object_id.as_deref().unwrap_or("-"),
            settings.msi_resource_id.as_deref().unwrap_or("-")
        );
        return Ok((Credential::ManagedIdentity(host, selector), identity));
    }
    skip(
        &mut attempts,
        CredentialKind::ManagedIdentity,
        "use_msi (ARM_USE_MSI) is false",
    );

    if !settings.use_cli {
        skip(
            &mut attempts,
            CredentialKind::AzureCli,
            "use_cli (ARM_USE_CLI) is false",
        );
    } else if !cli_available("az") {
        skip(
            &mut attempts,
            CredentialKind::AzureCli,
            "the `az` command was not found on PATH",
        );
    } else {
        return Ok((
            Credential::AzureCli {
                cloud_shell: settings.host.cloud_shell,
            },
            "cli".to_owned(),
        ));
    }
    Err(CloudError::Credential { attempts })
}

/// Loads a client certificate the way the credential will (base64 bundle first, then the path),
/// so that an unusable one (an EC key, a wrong password) is reported at configure time.
pub fn check_client_certificate(
    data: Option<&SecretString>,
    path: Option<&std::path::Path>,
    password: Option<&SecretString>,
) -> Result<(), String> {
    let loaded = match (data, path) {
        (Some(data), _) => ClientCertificate::from_base64_pkcs12(data, password),
        (None, Some(path)) => ClientCertificate::load(path, password),
        (None, None) => return Ok(()),
    };
    loaded.map(|_| ()).map_err(|error| error.to_string())
}

/// The federated token source, in azurerm's precedence: `oidc_token`, `oidc_token_file_path`
/// (or AKS's `AZURE_FEDERATED_TOKEN_FILE`), Azure DevOps (request URL + token + service
/// connection), GitHub Actions (request URL + token).
fn federated_token_source(settings: &AzureSettings) -> Result<FederatedTokenSource, CloudError> {
    if let Some(token) = settings.oidc_token.as_ref().filter(|t| !t.is_empty()) {
        return Ok(FederatedTokenSource::Inline {
            token: token.clone(),
            setting: "oidc_token (ARM_OIDC_TOKEN)",
        });
    }
    if let Some(path) = &settings.oidc_token_file_path {
        return Ok(FederatedTokenSource::File {
            path: path.clone(),
            setting: "oidc_token_file_path (ARM_OIDC_TOKEN_FILE_PATH, AZURE_FEDERATED_TOKEN_FILE)",
        });
    }
    let request_token = settings
        .oidc_request_token
        .as_ref()
        .filter(|t| !t.is_empty());
    match (&settings.oidc_request_url, request_token) {
        (Some(url), Some(request_token)) => {
            let url = validate_endpoint("oidc_request_url", url)?;
            Ok(match &settings.ado_pipeline_service_connection_id {
                Some(connection) => FederatedTokenSource::AzureDevOps {
                    url,
                    request_token: request_token.clone(),
                    service_connection_id: connection.clone(),
                },
                None => FederatedTokenSource::GitHub {
                    url,
                    request_token: request_token.clone(),
                },
            })
        }
        (Some(_), None) => Err(CloudError::Invalid(
            "oidc_request_url is set but oidc_request_token is not: set ARM_OIDC_REQUEST_TOKEN \
             (GitHub Actions sets ACTIONS_ID_TOKEN_REQUEST_TOKEN when the job has `permissions: \
             id-token: write`; Azure DevOps needs `SYSTEM_ACCESSTOKEN: $(System.AccessToken)`)"
                .into(),
        )),
        (None, _) => Err(CloudError::Invalid(
            "use_oidc is true but no federated token is configured: set oidc_token \
             (ARM_OIDC_TOKEN), oidc_token_file_path (ARM_OIDC_TOKEN_FILE_PATH, \
             AZURE_FEDERATED_TOKEN_FILE) or oidc_request_url + oidc_request_token \
             (ARM_OIDC_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_URL + \
             ARM_OIDC_REQUEST_TOKEN/ACTIONS_ID_TOKEN_REQUEST_TOKEN)"
                .into(),
        )),
    }
}

/// Appends to an Entra ID rejection of a federated token what to change, and where.
fn explain_federation_error(error: CloudError, client_id: &str, source: &str) -> CloudError {
    let where_to_fix = format!(
        "Compare with the federated credentials of application {client_id} (Entra ID portal: App \
         registrations > the application > Certificates & secrets > Federated credentials)"
    );
    let hint = match error.aadsts_codes().first().copied() {
        Some(700_211) => format!(
            "The issuer of {source} is not the issuer of any federated credential. {where_to_fix}: \
             add one whose issuer is the token's `iss` shown above."
        ),
        Some(700_212) => format!(
            "The audience of {source} matches no federated credential. {where_to_fix}: the \
             credential's audience is normally `api://AzureADTokenExchange`; do not add another \
             `audience=` to ARM_OIDC_REQUEST_URL unless the credential expects it."
        ),
        Some(700_213) => format!(
            "The subject of {source} matches no federated credential. {where_to_fix}: add one whose \
             subject is exactly the token's `sub` shown above (case-sensitive; for GitHub it \
             depends on the branch, tag, environment or pull request that runs the job)."
        ),
        Some(70_021) => format!(
            "No federated credential matches {source}. {where_to_fix}: the issuer is known, so the \
             subject is the likely mismatch: add a credential whose subject is exactly the \
             Assertion Subject shown above (case-sensitive; for GitHub it depends on the branch, \
             tag, environment or pull request that runs the job). A credential created moments \
             ago may need a minute to take effect."
        ),
        Some(700_024) => format!(
            "{source} was outside its validity window when Entra ID received it; check the \
             clock of this machine, and that the token is renewed (a file the platform rotates, \
             or oidc_request_url + oidc_request_token)."
        ),
        _ => return error,
    };
    with_hint(error, &hint)
}

/// Appends to an Entra ID rejection of a certificate assertion what to change.
fn explain_certificate_error(error: CloudError, client_id: &str) -> CloudError {
    let hint = match error.aadsts_codes().first().copied() {
        Some(700_027) | Some(50_013) => format!(
            "Upload the certificate (its public part, e.g. the .cer or .pem without the key) to \
             application {client_id}: Entra ID portal: App registrations > the application > \
             Certificates & secrets > Certificates."
        ),
        _ => return error,
    };
    with_hint(error, &hint)
}

fn with_hint(error: CloudError, hint: &str) -> CloudError {
    match error {
        CloudError::Service(mut service_error) => {
            service_error.message = format!("{} {hint}", service_error.message);
            CloudError::Service(service_error)
        }
        other => other,
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

enum ClientAuth<'a> {
    Secret(&'a SecretString),
    Assertion(&'a SecretString),
}

/// The client-credentials grant at `{authority}/{tenant}/oauth2/v2.0/token`
/// (docs/development/entra-and-graph.md, 'Client-credentials token request (v2 endpoint)').
async fn request_client_credentials(
    http: &HttpClient,
    ctx: &CallContext,
    endpoints: &AzureEndpoints,
    tenant: &str,
    client_id: &str,
    scope: &str,
    auth: ClientAuth<'_>,
) -> Result<AccessToken, CloudError> {
    validate_tenant(tenant)?;
    let url = endpoints.token_url(tenant);
    let operation = operation_name(&Method::POST, &url);
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope),
    ];
    match &auth {
        ClientAuth::Secret(secret) => form.push(("client_secret", secret.expose_secret())),
        ClientAuth::Assertion(assertion) => {
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
            form.push(("client_assertion", assertion.expose_secret()));
        }
    }
    let request = http.request(Method::POST, url)?.form(&form);
    let response = http.send(ctx, request, Replay::Safe, &[]).await?;
    if !response.status.is_success() {
        return Err(response.into_error(Service::EntraId, &operation));
    }
    parse_token_response(&response.body, Service::EntraId, &operation)
}

/// Tenant ids go into a URL path: GUIDs or domain names only.
fn validate_tenant(tenant: &str) -> Result<(), CloudError> {
    let valid = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(CloudError::Invalid(format!(
            "tenant id {tenant:?} is not valid: expected a GUID or a domain name"
        )))
    }
}

/// Parses `{access_token, expires_in | expires_on}` where the numbers may be JSON numbers or
/// strings (IMDS sends strings).
pub(crate) fn parse_token_response(
    body: &[u8],
    service: Service,
    operation: &str,
) -> Result<AccessToken, CloudError> {
    let decode_error = |detail: &str| CloudError::Decode {
        service,
        operation: operation.to_owned(),
        detail: detail.to_owned(),
    };
    let json: Value =
        serde_json::from_slice(body).map_err(|_| decode_error("the token response is not JSON"))?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| decode_error("the token response has no access_token"))?;
    let number = |key: &str| -> Option<u64> {
        let value = json.get(key)?;
        value
            .as_u64()
            .or_else(|| value.as_str()?.trim().parse().ok())
    };
    let now = SystemTime::now();
    let expires_at = if let Some(on) = number("expires_on") {
        UNIX_EPOCH + Duration::from_secs(on)
    } else if let Some(seconds) = number("expires_in") {
        now + Duration::from_secs(seconds)
    } else {
        return Err(decode_error(
            "the token response has neither expires_in nor expires_on",
        ));
    };
    Ok(AccessToken::new(SecretString::new(token), expires_at))
}

/// `az account get-access-token --scope ... [--tenant ...]` (docs/development/credentials.md,
/// 'Azure CLI').
async fn request_cli_token(
    ctx: &CallContext,
    tenant: Option<&str>,
    scope: &str,
) -> Result<AccessToken, CloudError> {
    let mut command = tokio::process::Command::new("az");
    command
        .args([
            "account",
            "get-access-token",
            "--output",
            "json",
            "--scope",
            scope,
        ])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(tenant) = tenant {
        validate_tenant(tenant)?;
        command.args(["--tenant", tenant]);
    }
    let cli_error = |outcome: String| CloudError::Credential {
        attempts: vec![CredentialAttempt {
            credential: CredentialKind::AzureCli.label(),
            outcome,
        }],
    };
    let output = ctx
        .run("running `az account get-access-token`", command.output())
        .await?
        .map_err(|e| cli_error(format!("could not run `az`: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first_line = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no error output");
        let shown: String = first_line.chars().take(300).collect();
        return Err(cli_error(format!(
            "`az account get-access-token` failed ({}): {shown}; {}",
            output.status,
            cli_advice(&stderr, tenant, scope)
        )));
    }
    parse_cli_token(&output.stdout, SystemTime::now())
}

/// What to run after `az account get-access-token` failed, from what the CLI printed.
fn cli_advice(stderr: &str, tenant: Option<&str>, scope: &str) -> String {
    let tenant_flag = tenant.map(|t| format!(" --tenant {t}")).unwrap_or_default();
    let lower = stderr.to_ascii_lowercase();
    // The CLI names the renewing command itself when a session expired.
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let named = lines.iter().enumerate().find_map(|(index, line)| {
        let (_, rest) = line.split_once("please run:")?;
        // The command follows on the same line or on the next one.
        let rest = rest.trim();
        let command = if rest.is_empty() {
            lines.get(index + 1).copied().unwrap_or_default()
        } else {
            rest
        };
        command.starts_with("az login").then_some(command)
    });
    if let Some(command) = named {
        return format!("the Azure CLI session expired: renew it with `{command}`");
    }
    let expired = [
        "aadsts700082",
        "aadsts50173",
        "aadsts50078",
        "expired",
        "interaction_required",
    ]
    .iter()
    .any(|marker| lower.contains(marker));
    if expired {
        return format!(
            "the Azure CLI session expired: renew it with `az login{tenant_flag} --scope {scope}`"
        );
    }
    if lower.contains("az login") {
        return format!(
            "the Azure CLI is not signed in: run `az login{tenant_flag}` (or set use_cli = false \
             and configure another credential)"
        );
    }
    format!("check `az account show`, then run `az login{tenant_flag}`")
}

/// Parses the CLI's JSON: `accessToken`, then `expires_on` (epoch seconds, newer CLIs) or
/// `expiresOn` (a local-time string, older CLIs).
fn parse_cli_token(stdout: &[u8], now: SystemTime) -> Result<AccessToken, CloudError> {
    let decode_error = |detail: &str| CloudError::Decode {
        service: Service::AzureCli,
        operation: "az account get-access-token".to_owned(),
        detail: detail.to_owned(),
    };
    let json: Value =
        serde_json::from_slice(stdout).map_err(|_| decode_error("the output is not JSON"))?;
    let token = json
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| decode_error("the output has no accessToken"))?;
    let epoch = json
        .get("expires_on")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()));
    let expires_at = match epoch {
        Some(seconds) => UNIX_EPOCH + Duration::from_secs(seconds),
        None => {
            let text = json
                .get("expiresOn")
                .and_then(Value::as_str)
                .ok_or_else(|| decode_error("the output has neither expires_on nor expiresOn"))?;
            let naive = parse_cli_local_time(text)
                .ok_or_else(|| decode_error("expiresOn does not parse"))?;
            // The string is in the machine's local time zone, which a multi-threaded process
            // cannot read soundly. Reading it as UTC is early west of UTC (safe) and may be late
            // east of it, so cap the reuse at 10 minutes: at worst `az` runs again sooner.
            naive.min(now + Duration::from_secs(10 * 60))
        }
    };
    Ok(AccessToken::new(SecretString::new(token), expires_at))
}

fn parse_cli_local_time(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let whole_seconds = text.split('.').next()?;
    let naive = time::PrimitiveDateTime::parse(whole_seconds.trim(), &format).ok()?;
    let unix = naive.assume_utc().unix_timestamp();
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).ok()?))
}

/// Requests a token for `client_id` with `secret` in `tenant`, bypassing the cache, and keeps
/// retrying while Entra ID answers one of `retry_codes` (e.g. [`aadsts::INVALID_CLIENT_SECRET`]
/// for a new secret), on the polling schedule (docs/development/benchmark-method.md, 'Polling
/// schedule'), until `ctx`'s deadline; then the last Entra ID answer is returned. Other failures
/// return at once, with their codes in [`CloudError::aadsts_codes`].
#[allow(clippy::too_many_arguments)]
pub async fn acquire_token_with_secret_retrying(
    http: &HttpClient,
    ctx: &CallContext,
    endpoints: &AzureEndpoints,
    tenant: &str,
    client_id: &str,
    secret: &SecretString,
    scope: &str,
    retry_codes: &[u32],
) -> Result<AccessToken, CloudError> {
    let what = "waiting for the client secret to work";
    let started = tokio::time::Instant::now();
    loop {
        let error = match request_client_credentials(
            http,
            ctx,
            endpoints,
            tenant,
            client_id,
            scope,
            ClientAuth::Secret(secret),
        )
        .await
        {
            Ok(token) => return Ok(token),
            Err(e) if e.aadsts_codes().iter().any(|c| retry_codes.contains(c)) => e,
            Err(e) => return Err(e),
        };
        tracing::debug!(tenant, codes = ?error.aadsts_codes(), "the client secret does not work yet; retrying");
        match ctx
            .sleep(crate::cloud::http::poll_interval(started.elapsed()), what)
            .await
        {
            Ok(()) => {}
            // At the deadline, Entra ID's own answer is the most useful error.
            Err(CloudError::DeadlineExceeded { .. }) => return Err(error),
            Err(other) => return Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio_util::sync::CancellationToken;

    fn ctx() -> CallContext {
        CallContext::new(Duration::from_secs(10), CancellationToken::new())
    }

    fn settings() -> AzureSettings {
        AzureSettings {
            use_cli: false,
            ..AzureSettings::default()
        }
    }

    #[test]
    fn environment_parsing_and_scopes() {
        for name in AzureEnvironment::NAMES {
            assert!(AzureEnvironment::from_name(name).is_some(), "{name}");
        }
        assert_eq!(
            AzureEnvironment::from_name("usgovernment"),
            Some(AzureEnvironment::UsGovernment)
        );
        assert_eq!(AzureEnvironment::from_name("german"), None);
        let china =
            AzureEndpoints::resolve(AzureEnvironment::China, &AzureEndpointOverrides::default())
                .unwrap();
        assert_eq!(
            china.resource_manager_scope,
            "https://management.chinacloudapi.cn/.default"
        );
        assert_eq!(
            china.microsoft_graph_scope,
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
        let gov = AzureEndpoints::resolve(
            AzureEnvironment::UsGovernment,
            &AzureEndpointOverrides::default(),
        )
        .unwrap();
        assert_eq!(
            gov.authority_host.as_str(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(
            gov.microsoft_graph_scope,
            "https://graph.microsoft.us/.default"
        );
    }

    #[test]
    fn overrides_move_urls_not_audiences() {
        let endpoints = AzureEndpoints::resolve(
            AzureEnvironment::Public,
            &AzureEndpointOverrides {
                authority_host: Some("http://127.0.0.1:4000/login".into()),
                resource_manager: Some("http://127.0.0.1:4001".into()),
                microsoft_graph: None,
            },
        )
        .unwrap();
        assert_eq!(
            endpoints.token_url("t1").as_str(),
            "http://127.0.0.1:4000/login/t1/oauth2/v2.0/token"
        );
        assert_eq!(
            endpoints.resource_manager_scope,
            "https://management.azure.com/.default"
        );
        assert!(
            AzureEndpoints::resolve(
                AzureEnvironment::Public,
                &AzureEndpointOverrides {
                    microsoft_graph: Some("http://graph.example".into()),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn chain_prefers_secret_then_certificate_then_oidc_then_msi_then_cli() {
        let mut s = settings();
        s.tenant_id = Some("t".into());
        s.client_id = Some("c".into());
        s.use_msi = true;
        s.use_oidc = true;
        s.oidc_token = Some("federated".into());
        s.client_secret = Some("secret".into());
        let kind = |s: &AzureSettings| select_credential(s, |_| true).map(|(c, _)| c.kind());
        assert_eq!(kind(&s).unwrap(), CredentialKind::ClientSecret);
        s.client_secret = None;
        assert_eq!(kind(&s).unwrap(), CredentialKind::Oidc);
        s.use_oidc = false;
        assert_eq!(kind(&s).unwrap(), CredentialKind::ManagedIdentity);
        s.use_msi = false;
        s.use_cli = true;
        assert_eq!(kind(&s).unwrap(), CredentialKind::AzureCli);
    }

    /// azurerm's order among federated tokens: inline, file, Azure DevOps (a request URL with a
    /// service connection), GitHub (a request URL alone).
    #[test]
    fn federated_tokens_come_from_the_first_configured_source() {
        let mut s = settings();
        s.oidc_token = Some("inline".into());
        s.oidc_token_file_path = Some(PathBuf::from("/var/run/token"));
        s.oidc_request_url = Some("https://token.ci.example/id?x=1".into());
        s.oidc_request_token = Some("request".into());
        s.ado_pipeline_service_connection_id = Some("sc-1".into());
        let source = |s: &AzureSettings| {
            federated_token_source(s)
                .map(|source| source.describe())
                .unwrap_or_else(|error| error.to_string())
        };
        assert_eq!(source(&s), "inline:oidc_token (ARM_OIDC_TOKEN)");
        s.oidc_token = None;
        assert_eq!(source(&s), "file:/var/run/token");
        s.oidc_token_file_path = None;
        assert!(source(&s).starts_with("azure-devops:"), "{}", source(&s));
        assert!(source(&s).ends_with(":sc-1"), "{}", source(&s));
        s.ado_pipeline_service_connection_id = None;
        assert!(source(&s).starts_with("github:"), "{}", source(&s));
        s.oidc_request_token = None;
        assert!(source(&s).contains("oidc_request_token"), "{}", source(&s));
    }

    #[test]
    fn no_credential_lists_every_type_and_why() {
        let err = match select_credential(&settings(), |_| false) {
            Err(e) => e,
            Ok(_) => panic!("no credential expected"),
        };
        let CloudError::Credential { attempts } = &err else {
            panic!("{err:?}")
        };
        let kinds: Vec<_> = attempts.iter().map(|a| a.credential).collect();
        assert_eq!(
            kinds,
            [
                "client secret",
                "client certificate",
                "OIDC (workload identity federation)",
                "managed identity",
                "Azure CLI"
            ]
        );
        assert!(
            err.to_string().contains("use_cli (ARM_USE_CLI) is false"),
            "{err}"
        );
        let mut with_cli = settings();
        with_cli.use_cli = true;
        let err = select_credential(&with_cli, |_| false).err().unwrap();
        assert!(
            err.to_string().contains("`az` command was not found"),
            "{err}"
        );
    }

    #[test]
    fn partly_configured_credentials_are_errors_not_fall_through() {
        let mut s = settings();
        s.use_cli = true;
        s.client_secret = Some("secret".into());
        s.client_id = Some("c".into());
        let err = select_credential(&s, |_| true).err().unwrap();
        assert!(
            err.to_string()
                .contains("tenant_id (ARM_TENANT_ID) is not set"),
            "{err}"
        );
        let mut oidc = settings();
        oidc.use_oidc = true;
        oidc.tenant_id = Some("t".into());
        oidc.client_id = Some("c".into());
        assert!(
            select_credential(&oidc, |_| true)
                .err()
                .unwrap()
                .to_string()
                .contains("oidc_token")
        );
    }

    #[test]
    fn token_claims_and_redacted_debug() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"tid":"tenant-1","oid":"obj-1","azp":"app-1","aud":"https://management.azure.com"}"#);
        let token = AccessToken::new(
            format!("h.{payload}.sig"),
            SystemTime::now() + Duration::from_secs(3600),
        );
        let claims = token.claims().unwrap();
        assert_eq!(claims.tenant_id.as_deref(), Some("tenant-1"));
        assert_eq!(claims.object_id.as_deref(), Some("obj-1"));
        assert_eq!(claims.app_id.as_deref(), Some("app-1"));
        assert!(!format!("{token:?}").contains(&payload));
        assert!(token.is_fresh());
        let opaque = AccessToken::new("opaque", SystemTime::now() + Duration::from_secs(3600));
        assert_eq!(opaque.claims(), None);
    }

    #[test]
    fn tokens_are_refreshed_five_minutes_early_or_at_half_life() {
        let long = AccessToken::new("a", SystemTime::now() + Duration::from_secs(240));
        assert!(
            long.is_fresh(),
            "a 4-minute token is used for its first half"
        );
        let expiring = AccessToken::new("b", SystemTime::now() + Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(2));
        assert!(!expiring.is_fresh());
    }

    #[test]
    fn token_response_numbers_may_be_strings() {
        let t = parse_token_response(
            br#"{"access_token":"x","expires_in":"3599"}"#,
            Service::ManagedIdentity,
            "GET /",
        )
        .unwrap();
        assert!(t.expires_at() > SystemTime::now() + Duration::from_secs(3500));
        let t = parse_token_response(
            br#"{"access_token":"x","expires_on":"2000000000","expires_in":1}"#,
            Service::ManagedIdentity,
            "GET /",
        )
        .unwrap();
        assert_eq!(
            t.expires_at(),
            UNIX_EPOCH + Duration::from_secs(2_000_000_000)
        );
        let err = parse_token_response(br#"{"access_token":"x"}"#, Service::EntraId, "POST /")
            .unwrap_err();
        assert!(matches!(err, CloudError::Decode { .. }));
        let err = parse_token_response(
            br#"{"error":"x","access_token":"leak-me"}"#.as_slice(),
            Service::EntraId,
            "POST /",
        );
        assert!(err.is_err() || !format!("{err:?}").contains("leak-me"));
    }

    #[test]
    fn cli_output_prefers_expires_on_then_expires_on_string() {
        let now = SystemTime::now();
        let t = parse_cli_token(br#"{"accessToken":"a","expires_on":1900000000,"expiresOn":"2030-01-01 00:00:00.000000"}"#, now).unwrap();
        assert_eq!(
            t.expires_at(),
            UNIX_EPOCH + Duration::from_secs(1_900_000_000)
        );
        let t = parse_cli_token(
            br#"{"accessToken":"a","expiresOn":"2000-01-01 00:00:00.000000"}"#,
            now,
        )
        .unwrap();
        assert_eq!(
            t.expires_at(),
            UNIX_EPOCH + Duration::from_secs(946_684_800)
        );
        let t = parse_cli_token(
            br#"{"accessToken":"a","expiresOn":"2999-01-01 00:00:00.000000"}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.expires_at(), now + Duration::from_secs(600), "capped");
        assert!(parse_cli_token(br#"{"accessToken":"a"}"#, now).is_err());
    }

    #[test]
    fn cli_failures_say_which_az_login_to_run() {
        let scope = "https://management.azure.com/.default";
        let not_logged_in = cli_advice(
            "ERROR: Please run 'az login' to setup account.",
            Some("t1"),
            scope,
        );
        assert!(
            not_logged_in.contains("not signed in")
                && not_logged_in.contains("`az login --tenant t1`"),
            "{not_logged_in}"
        );
        let expired = cli_advice(
            "ERROR: AADSTS700082: The refresh token has expired due to inactivity.\nTo re-authenticate, please run:\naz login --scope https://management.core.windows.net//.default",
            None,
            scope,
        );
        assert!(
            expired.contains("`az login --scope https://management.core.windows.net//.default`"),
            "{expired}"
        );
        let named = cli_advice(
            "ERROR: AADSTS50173: expired. To re-authenticate, please run: az login --tenant t1 --scope x",
            None,
            scope,
        );
        assert!(
            named.contains("`az login --tenant t1 --scope x`"),
            "{named}"
        );
    }

    #[test]
    fn cloud_shell_cli_runs_without_tenant() {
        let mut s = settings();
        s.use_cli = true;
        s.tenant_id = Some("t".into());
        s.host.cloud_shell = true;
        let (credential, _) = select_credential(&s, |_| true).unwrap();
        assert!(matches!(
            credential,
            Credential::AzureCli { cloud_shell: true }
        ));
    }

    #[test]
    fn tenants_in_paths_are_validated() {
        assert!(validate_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(validate_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(validate_tenant("../x").is_err());
        assert!(validate_tenant("").is_err());
    }

    #[tokio::test]
    async fn cache_fetches_once_for_many_concurrent_callers() {
        let cache = TokenCache::new();
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(&ctx(), "tenant|scope", || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(AccessToken::new(
                            "t",
                            SystemTime::now() + Duration::from_secs(3600),
                        ))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().expose_secret(), "t");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Another key is another token.
        cache
            .get_or_fetch(&ctx(), "tenant|other-scope", || async {
                fetches.fetch_add(1, Ordering::SeqCst);
                Ok(AccessToken::new(
                    "u",
                    SystemTime::now() + Duration::from_secs(3600),
                ))
            })
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn cache_refetches_after_a_failure_and_when_stale() {
        let cache = TokenCache::new();
        let failed = cache
            .get_or_fetch(&ctx(), "k", || async {
                Err(CloudError::Invalid("boom".into()))
            })
            .await;
        assert!(failed.is_err());
        let stale = cache
            .get_or_fetch(&ctx(), "k", || async {
                Ok(AccessToken::new("old", SystemTime::now()))
            })
            .await
            .unwrap();
        assert_eq!(stale.expose_secret(), "old");
        let fresh = cache
            .get_or_fetch(&ctx(), "k", || async {
                Ok(AccessToken::new(
                    "new",
                    SystemTime::now() + Duration::from_secs(3600),
                ))
            })
            .await
            .unwrap();
        assert_eq!(fresh.expose_secret(), "new");
    }

    #[tokio::test]
    async fn custom_sources_share_one_refresh() {
        struct Counting(AtomicUsize);
        #[async_trait]
        impl FetchToken for Counting {
            async fn fetch_token(
                &self,
                _: &CallContext,
                scope: &str,
            ) -> Result<AccessToken, CloudError> {
                self.0.fetch_add(1, Ordering::SeqCst);
                Ok(AccessToken::new(
                    format!("token-for-{scope}"),
                    SystemTime::now() + Duration::from_secs(3600),
                ))
            }
        }
        let fetcher = Arc::new(Counting(AtomicUsize::new(0)));
        let endpoints = Arc::new(
            AzureEndpoints::resolve(AzureEnvironment::Public, &AzureEndpointOverrides::default())
                .unwrap(),
        );
        let source =
            TokenSource::custom(fetcher.clone(), Some("t".into()), None, endpoints).unwrap();
        let (ctx_a, ctx_b) = (ctx(), ctx());
        let (a, b) = tokio::join!(
            source.resource_manager_token(&ctx_a),
            source.resource_manager_token(&ctx_b)
        );
        assert_eq!(
            a.unwrap().expose_secret(),
            "token-for-https://management.azure.com/.default"
        );
        assert!(b.is_ok());
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 1);
        assert!(format!("{source:?}").contains("Custom"));
    }
}
