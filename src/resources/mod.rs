//! The resources and data sources, one file each, and their registry.
//!
//! Adding a resource: write `src/resources/<name>.rs` with a type implementing
//! [`Resource<ProviderData>`](crate::framework::Resource) (see the example in
//! [`crate::framework`] and the models of [`crate::framework::model`]), declare the module below,
//! and add one line to [`resources`]. ARCHITECTURE.md, 'How to add a resource', lists every
//! other place (example, docs page, acceptance test).

use std::sync::Arc;

use crate::aiven::AivenClient;
use crate::azure::AzureClients;
use crate::cloud::{CloudError, HttpClient};
use crate::framework::{
    ConfigureRequest, Context, DataSource, Diagnostic, Diagnostics, EphemeralResource, Function,
    Provider, Resource, Schema,
};
use crate::provider::{ProviderConfig, provider_schema};

use aiven_vpc_peering::Addressing;

pub mod aad_app;
pub mod aad_app_secret;
pub mod aiven_vpc;
pub mod aiven_vpc_peering;
pub mod app_secret;
pub mod client_config;
pub mod cross_tenant_vnet_peering;
pub mod custom_role;
mod identity;
pub mod role_assignment;
pub mod service_principal;
pub mod support;
#[cfg(feature = "test-fixtures")]
pub mod test_fixture;

/// The vnetpeer provider: the provider block of [`crate::provider`] and the registry below.
/// `src/main.rs` serves it.
#[derive(Clone, Copy, Debug, Default)]
pub struct VnetpeerProvider;

impl Provider for VnetpeerProvider {
    type Data = ProviderData;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn configure(&self, request: ConfigureRequest) -> Result<ProviderData, Diagnostics> {
        let config = ProviderConfig::resolve(&request.config, |name| std::env::var(name).ok())?;
        tracing::debug!(
            terraform_version = request.terraform_version.as_str(),
            "provider configured"
        );
        ProviderData::new(config)
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        resources()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        data_sources()
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        crate::functions::functions()
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<ProviderData>>> {
        vec![Arc::new(aad_app_secret::AadAppSecret)]
    }
}

/// The context every resource, data source, ephemeral resource and list of this provider gets.
pub type Ctx = Context<ProviderData>;

/// What every operation receives through `Context::data()`: the settings and the cloud clients.
/// Built at ConfigureProvider time without touching the network; tokens are fetched on first use.
#[derive(Debug)]
pub struct ProviderData {
    /// The provider block after environment fallbacks.
    pub config: ProviderConfig,
    /// Entra tokens, ARM and Graph, sharing one HTTP client and one token cache.
    pub azure: AzureClients,
    /// The Aiven API, when a token is configured.
    aiven: Option<AivenClient>,
}

impl ProviderData {
    /// Builds the provider data at ConfigureProvider time. No network access.
    pub fn new(config: ProviderConfig) -> Result<Self, Diagnostics> {
        let http = HttpClient::shared().map_err(|error| configure_error("HTTP client", &error))?;
        let azure = AzureClients::new(http.clone(), &config.azure)
            .map_err(|error| configure_error("Azure endpoints", &error))?;
        let aiven = match config.aiven_settings() {
            Some(settings) => Some(
                AivenClient::new(http, &settings)
                    .map_err(|error| configure_error("aiven_api_url", &error))?,
            ),
            None => None,
        };
        Ok(ProviderData {
            config,
            azure,
            aiven,
        })
    }

    /// The Aiven client, or a diagnostic saying how to configure the token.
    pub fn aiven(&self) -> Result<&AivenClient, Diagnostics> {
        self.aiven.as_ref().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Missing Aiven API token",
                "This resource calls the Aiven API. Set `aiven_api_token` in the provider block or \
                 the AIVEN_TOKEN environment variable.",
            ))
        })
    }
}

fn configure_error(what: &str, error: &CloudError) -> Diagnostics {
    Diagnostics::from(Diagnostic::error(
        format!("Invalid provider configuration: {what}"),
        error.to_string(),
    ))
}

/// Every managed resource type.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    let mut all: Vec<Arc<dyn Resource<ProviderData>>> = vec![
        Arc::new(aad_app::AadApp),
        Arc::new(service_principal::ServicePrincipalResource),
        Arc::new(custom_role::CustomRole),
        Arc::new(role_assignment::RoleAssignmentResource),
    ];
    // One peering resource per kind of Aiven VPC.
    for addressing in Addressing::BOTH {
        all.push(Arc::new(aiven_vpc_peering::AivenVpcPeering(addressing)));
    }
    all.push(Arc::new(cross_tenant_vnet_peering::CrossTenantVnetPeering));
    all.extend(test_resources());
    all
}

/// Resource types that exist only in test builds.
fn test_resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    #[cfg(feature = "test-fixtures")]
    return vec![Arc::new(test_fixture::TestFixture)];
    #[cfg(not(feature = "test-fixtures"))]
    Vec::new()
}

/// Every data source type.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    let mut all: Vec<Arc<dyn DataSource<ProviderData>>> = Vec::new();
    // One VPC lookup per kind of Aiven VPC.
    for addressing in Addressing::BOTH {
        all.push(Arc::new(aiven_vpc::AivenVpcLookup(addressing)));
    }
    all.push(Arc::new(client_config::ClientConfig));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_valid_and_every_name_is_prefixed() {
        let mut problems = Vec::new();
        let resources = resources()
            .into_iter()
            .map(|resource| ("", resource.type_name(), resource.schema()));
        let data_sources = data_sources()
            .into_iter()
            .map(|data_source| ("data ", data_source.type_name(), data_source.schema()));
        for (kind, name, schema) in resources.chain(data_sources) {
            if !name.starts_with("vnetpeer_") {
                problems.push(format!("{kind}{name}: type names start with vnetpeer_"));
            }
            if let Err(found) = schema.check() {
                problems.extend(found.into_iter().map(|p| format!("{kind}{name}: {p}")));
            }
        }
        for resource in super::resources() {
            let name = resource.type_name();
            if let Some(list) = resource.list() {
                if resource.identity().is_none() {
                    problems.push(format!("list {name}: the resource type has no identity"));
                }
                if let Err(found) = list.schema().check() {
                    problems.extend(found.into_iter().map(|p| format!("list {name}: {p}")));
                }
            }
        }
        if let Err(found) = provider_schema().check() {
            problems.extend(found.into_iter().map(|p| format!("provider: {p}")));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
