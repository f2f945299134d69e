//! [`AzureClients`]: everything a resource needs on the Azure side, built once per provider
//! configuration from [`AzureSettings`] without touching the network.

use std::sync::Arc;

use super::arm::ArmClient;
use super::credentials::{
    AccessToken, AzureEndpoints, AzureSettings, TokenCache, TokenSource,
    acquire_token_with_secret_retrying,
};
use super::graph::GraphClient;
use crate::cloud::error::CloudError;
use crate::cloud::http::{CallContext, HttpClient};
use crate::cloud::secret::SecretString;

/// The provider's Azure side: endpoints, its own identity, and factories for clients acting as
/// the provider or as another app. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AzureClients {
    http: HttpClient,
    endpoints: Arc<AzureEndpoints>,
    cache: TokenCache,
    /// The provider's own credential, or why there is none (reported when first needed, so
    /// configurations that never call Azure still work).
    own: Result<TokenSource, CloudError>,
    subscription_id: Option<String>,
    tenant_id: Option<String>,
}

impl AzureClients {
    /// Resolves endpoints and chooses the provider's credential. Fails only for invalid
    /// settings (environment, endpoints); a missing or broken credential is reported by
    /// [`AzureClients::token_source`], [`AzureClients::arm`] and [`AzureClients::graph`].
    pub fn new(http: HttpClient, settings: &AzureSettings) -> Result<Self, CloudError> {
        let endpoints = Arc::new(AzureEndpoints::resolve(
            settings.environment,
            &settings.endpoints,
        )?);
        let cache = TokenCache::new();
        let own =
            TokenSource::from_settings(settings, endpoints.clone(), http.clone(), cache.clone());
        Ok(Self {
            http,
            endpoints,
            cache,
            own,
            subscription_id: settings.subscription_id.clone(),
            tenant_id: settings.tenant_id.clone(),
        })
    }

    /// The resolved endpoints and scopes.
    pub fn endpoints(&self) -> &Arc<AzureEndpoints> {
        &self.endpoints
    }

    /// The configured subscription id, if any.
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription_id.as_deref()
    }

    /// The configured tenant id, if any.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The provider's own identity.
    pub fn token_source(&self) -> Result<TokenSource, CloudError> {
        self.own.clone()
    }

    /// ARM as the provider's own identity.
    pub fn arm(&self) -> Result<ArmClient, CloudError> {
        Ok(ArmClient::new(
            self.http.clone(),
            &self.endpoints,
            self.own.clone()?,
        ))
    }

    /// Graph as the provider's own identity.
    pub fn graph(&self) -> Result<GraphClient, CloudError> {
        Ok(GraphClient::new(
            self.http.clone(),
            &self.endpoints,
            self.own.clone()?,
        ))
    }

    /// Another app's client-secret identity in `tenant_id`, sharing the provider's token cache
    /// (use with [`ArmClient::with_token_source`]).
    pub fn client_secret_token_source(
        &self,
        tenant_id: &str,
        client_id: &str,
        secret: SecretString,
    ) -> TokenSource {
        TokenSource::client_secret(
            tenant_id,
            client_id,
            secret,
            self.endpoints.clone(),
            self.http.clone(),
            self.cache.clone(),
        )
    }

    /// A token for `client_id` with `secret` in `tenant_id` for `scope`, uncached, retrying
    /// AADSTS7000215 (a new secret not usable yet) until `ctx`'s deadline. For "wait until the
    /// new secret works"; other AADSTS failures return at once ([`CloudError::aadsts_codes`]).
    pub async fn acquire_token_with_secret(
        &self,
        ctx: &CallContext,
        tenant_id: &str,
        client_id: &str,
        secret: &SecretString,
        scope: &str,
    ) -> Result<AccessToken, CloudError> {
        self.acquire_token_with_secret_retrying(
            ctx,
            tenant_id,
            client_id,
            secret,
            scope,
            &[super::aadsts::INVALID_CLIENT_SECRET],
        )
        .await
    }

    /// Like [`AzureClients::acquire_token_with_secret`], retrying every AADSTS code in
    /// `retry_codes` (see [`super::aadsts`]): e.g. also 7000229/700016 while a new
    /// app and service principal replicate to the token service.
    pub async fn acquire_token_with_secret_retrying(
        &self,
        ctx: &CallContext,
        tenant_id: &str,
        client_id: &str,
        secret: &SecretString,
        scope: &str,
        retry_codes: &[u32],
    ) -> Result<AccessToken, CloudError> {
        acquire_token_with_secret_retrying(
            &self.http,
            ctx,
            &self.endpoints,
            tenant_id,
            client_id,
            secret,
            scope,
            retry_codes,
        )
        .await
    }
}
