//! `list "vnetpeer_custom_role"`: the custom roles of a subscription (ARM's role definitions at
//! the scope with `$filter=type eq 'CustomRole'`). Each is named by its resource id, the import
//! id of `vnetpeer_custom_role`, and shown by its role name.

use async_trait::async_trait;

use crate::azure::ids::RoleDefinitionId;
use crate::framework::{Attribute, Block, Diagnostics, ListResource, Listing, ObjectExt, Schema};
use crate::resources::Ctx;

use super::super::ProviderData;
use super::super::support::{OrDiagnostics, arm, call_context};
use super::subscription_scope;

/// See the module documentation.
pub struct CustomRoleList;

const SCOPE: &str = "scope";

#[async_trait]
impl ListResource<ProviderData> for CustomRoleList {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The custom roles defined at a subscription, for `terraform query`: each result \
                 is named by the subscription and the role's GUID (its identity) and shown by \
                 its role name.",
            )
            .attribute(
                Attribute::string(SCOPE)
                    .required()
                    .description(
                        "The subscription the roles are defined at, \
                         `/subscriptions/{id}` (as the resource's `scope`).",
                    )
                    .validate(subscription_scope()),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx, listing: &mut Listing<'_>) -> Result<(), Diagnostics> {
        let Some(scope) = listing.config.attr_str(SCOPE) else {
            return Ok(());
        };
        let scope = scope.trim_end_matches('/');
        let roles = arm(ctx)?
            .list_custom_role_definitions(&call_context(ctx), scope)
            .await
            .or_diagnostics("Cannot list the custom roles")?;
        // The same role is readable at every scope it is assignable at: named at the
        // subscription it was listed at, as `vnetpeer_custom_role` imports it.
        let found = roles.into_iter().filter_map(|role| {
            let id = RoleDefinitionId::parse(&role.id).ok()?;
            let import_id = RoleDefinitionId::new(scope, id.guid).to_string();
            Some((import_id, role.properties.role_name))
        });
        listing.found_each(found).await.map(|_| ())
    }
}
