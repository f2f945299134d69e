//! The resources and data sources, one file each, and their registry.
//!
//! Adding a resource: write `src/resources/<name>.rs` with a type implementing
//! [`Resource<ProviderData>`](crate::framework::Resource) (see the example in
//! [`crate::framework`]), declare the module below, and add one line to [`resources`].

use std::sync::Arc;

use crate::framework::{DataSource, Diagnostics, Resource};
use crate::provider::ProviderConfig;

#[cfg(feature = "test-fixtures")]
pub mod test_fixture;

/// What every operation receives through `Context::data()`.
#[derive(Debug)]
pub struct ProviderData {
    /// The provider block after environment fallbacks.
    pub config: ProviderConfig,
    // The cloud clients (`crate::azure` credentials + ARM + Graph, `crate::aiven`) belong here,
    // built in `ProviderData::new` from `config` without touching the network (tokens are
    // fetched on first use).
}

impl ProviderData {
    /// Builds the provider data at ConfigureProvider time. No network access.
    pub fn new(config: ProviderConfig) -> Result<Self, Diagnostics> {
        Ok(ProviderData { config })
    }
}

/// Every managed resource type, one line each.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    let mut all: Vec<Arc<dyn Resource<ProviderData>>> = vec![
        // Arc::new(aad_app::AadApp),
    ];
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

/// Every data source type, one line each.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_valid_and_every_name_is_prefixed() {
        let mut problems = Vec::new();
        for resource in resources() {
            let name = resource.type_name();
            if !name.starts_with("vnetpeer_") {
                problems.push(format!("{name}: type names start with vnetpeer_"));
            }
            if let Err(found) = resource.schema().check() {
                problems.extend(found.into_iter().map(|p| format!("{name}: {p}")));
            }
        }
        for data_source in data_sources() {
            let name = data_source.type_name();
            if !name.starts_with("vnetpeer_") {
                problems.push(format!("data {name}: type names start with vnetpeer_"));
            }
            if let Err(found) = data_source.schema().check() {
                problems.extend(found.into_iter().map(|p| format!("data {name}: {p}")));
            }
        }
        if let Err(found) = crate::provider::provider_schema().check() {
            problems.extend(found.into_iter().map(|p| format!("provider: {p}")));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
