//! `list "vnetpeer_aad_app"`: the Entra ID applications of the provider's tenant, optionally
//! those whose display name starts with a prefix (`GET /applications` with
//! `startswith(displayName,'…')`, following `@odata.nextLink`). Each is named by its object
//! id, the import id of `vnetpeer_aad_app`.

use async_trait::async_trait;

use crate::framework::{
    Attribute, Block, Diagnostics, ListResource, Listing, ObjectExt, Schema, validators,
};
use crate::resources::Ctx;

use super::super::ProviderData;
use super::super::support::{OrDiagnostics, call_context, graph};

/// See the module documentation.
pub struct AadAppList;

const DISPLAY_NAME_PREFIX: &str = "display_name_prefix";

#[async_trait]
impl ListResource<ProviderData> for AadAppList {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The Entra ID applications of the provider's tenant, for `terraform query`: \
                 each result is named by the application's object id (its identity) and shown \
                 by its display name.",
            )
            .attribute(
                Attribute::string(DISPLAY_NAME_PREFIX)
                    .optional()
                    .description(
                        "Only applications whose display name starts with this text (Microsoft \
                         Graph compares it without regard to letter case). Without it, every \
                         application the provider's identity can read.",
                    )
                    .validate(validators::not_blank()),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx, listing: &mut Listing<'_>) -> Result<(), Diagnostics> {
        let prefix = listing.config.attr_str(DISPLAY_NAME_PREFIX);
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        let mut next = None;
        loop {
            let page = graph
                .list_applications(&call, prefix, next.as_ref())
                .await
                .or_diagnostics("Cannot list the applications")?;
            let found = page.items.into_iter().map(|app| (app.id, app.display_name));
            if !listing.found_each(found).await? || page.next_link.is_none() {
                return Ok(());
            }
            next = page.next_link;
        }
    }
}
