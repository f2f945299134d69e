//! Data source `vnetpeer_client_config`: who the provider is signed in as (tenant, subscription,
//! client id and object id), e.g. to make the provider's identity an owner of the peering
//! application (runbook step 1).
//!
//! Everything comes from the claims of the provider's Azure Resource Manager token, which the
//! other resources need anyway: no request besides the (cached) token request.

use async_trait::async_trait;

use crate::framework::{Attribute, Block, DataSource, Diagnostics, Model, Schema, model};
use crate::resources::Ctx;
use crate::value::Value;

use super::ProviderData;
use super::support::{OrDiagnostics, call_context};

/// See the module documentation.
pub struct ClientConfig;

model! {
    /// Every attribute of the data source, as its result holds it.
    struct Caller {
        tenant_id: Option<String>,
        subscription_id: Option<String>,
        client_id: Option<String>,
        object_id: Option<String>,
    }
}

#[async_trait]
impl DataSource<ProviderData> for ClientConfig {
    fn type_name(&self) -> &'static str {
        "vnetpeer_client_config"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The identity the provider signs in as: its tenant, subscription, client id \
                 and object id. Read from the claims of the provider's own access token; no \
                 other request is made.",
            )
            .attribute(
                Attribute::string("tenant_id")
                    .computed()
                    .description("Tenant the provider's token was issued in (`tid` claim)."),
            )
            .attribute(Attribute::string("subscription_id").computed().description(
                "The configured subscription (`subscription_id` or `ARM_SUBSCRIPTION_ID`); null \
                 when none is configured.",
            ))
            .attribute(
                Attribute::string("client_id")
                    .computed()
                    .description("Client (application) id of the provider's identity."),
            )
            .attribute(Attribute::string("object_id").computed().description(
                "Object id of the provider's identity (its service principal or managed \
                 identity), usable as an application owner or a role assignment's principal.",
            )),
        )
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> Result<Value, Diagnostics> {
        let azure = &ctx.data().azure;
        let tokens = azure.token_source().or_diagnostics("No Azure credential")?;
        let token = tokens
            .resource_manager_token(&call_context(ctx))
            .await
            .or_diagnostics("Cannot sign in to Azure")?;
        let claims = token.claims().unwrap_or_default();
        let mut state = config;
        Caller {
            tenant_id: claims
                .tenant_id
                .or_else(|| tokens.tenant_id().map(str::to_owned))
                .or_else(|| azure.tenant_id().map(str::to_owned)),
            subscription_id: azure.subscription_id().map(str::to_owned),
            client_id: claims
                .app_id
                .or_else(|| tokens.client_id().map(str::to_owned)),
            object_id: claims.object_id,
        }
        .write_to(&mut state);
        Ok(state)
    }
}
