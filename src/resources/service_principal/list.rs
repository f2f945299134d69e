//! `list "vnetpeer_service_principal"`: the service principals of the provider's tenant, by
//! application (client) id and/or display-name prefix (`GET /servicePrincipals` with
//! `appId eq '…'` / `startswith(displayName,'…')`, following `@odata.nextLink`). Each is named by
//! its object id, the import id of `vnetpeer_service_principal`.

use async_trait::async_trait;

use crate::framework::{
    Attribute, Block, Diagnostics, ListResource, Listing, ObjectExt, Schema, validators,
};
use crate::resources::Ctx;

use super::super::ProviderData;
use super::super::support::{OrDiagnostics, call_context, checks, graph};

/// See the module documentation.
pub struct ServicePrincipalList;

const CLIENT_ID: &str = "client_id";
const DISPLAY_NAME_PREFIX: &str = "display_name_prefix";

#[async_trait]
impl ListResource<ProviderData> for ServicePrincipalList {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The service principals of the provider's tenant, for `terraform query`: each \
                 result is named by the service principal's object id (its identity) and shown \
                 by its display name and client id. Give `client_id` to find the service \
                 principal of one application, e.g. Aiven's.",
            )
            .attribute(
                Attribute::string(CLIENT_ID)
                    .optional()
                    .description(
                        "Only the service principal of this application (client) id, e.g. \
                         Aiven's application id.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::string(DISPLAY_NAME_PREFIX)
                    .optional()
                    .description(
                        "Only service principals whose display name starts with this text \
                         (compared without regard to letter case).",
                    )
                    .validate(validators::not_blank()),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx, listing: &mut Listing<'_>) -> Result<(), Diagnostics> {
        let client_id = listing.config.attr_str(CLIENT_ID);
        let prefix = listing.config.attr_str(DISPLAY_NAME_PREFIX);
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        let mut next = None;
        loop {
            let page = graph
                .list_service_principals(&call, client_id, prefix, next.as_ref())
                .await
                .or_diagnostics("Cannot list the service principals")?;
            let found = page.items.into_iter().map(|principal| {
                let name = principal.shown_name().unwrap_or_default();
                let display_name = format!("{name} (client id {})", principal.app_id);
                (principal.id, display_name)
            });
            if !listing.found_each(found).await? || page.next_link.is_none() {
                return Ok(());
            }
            next = page.next_link;
        }
    }
}
