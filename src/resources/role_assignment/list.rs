//! `list "vnetpeer_role_assignment"`: the role assignments made at one scope (a subscription,
//! resource group or resource such as the VNet): ARM's list at that scope with
//! `$filter=atScope()`, which also returns those inherited from above, keeping those whose scope
//! is the given one. Each is named by its resource id, the import id of
//! `vnetpeer_role_assignment`, and shown as "role on scope → principal".

use std::collections::HashMap;

use async_trait::async_trait;
use uuid::Uuid;

use crate::azure::arm::ArmClient;
use crate::azure::arm::role_definitions::built_in_role_name;
use crate::azure::ids::RoleDefinitionId;
use crate::cloud::CallContext;
use crate::framework::{Attribute, Block, Diagnostics, ListResource, Listing, ObjectExt, Schema};
use crate::resources::Ctx;

use super::super::ProviderData;
use super::super::support::{OrDiagnostics, arm, call_context};
use super::assignment_scope;

/// See the module documentation.
pub struct RoleAssignmentList;

const SCOPE: &str = "scope";

#[async_trait]
impl ListResource<ProviderData> for RoleAssignmentList {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The role assignments made at one ARM scope, for `terraform query`: each result \
                 is named by the assignment's scope and name (its identity) and shown as \
                 \"role on scope → principal\". Assignments inherited from a parent scope are \
                 not listed.",
            )
            .attribute(
                Attribute::string(SCOPE)
                    .required()
                    .description(
                        "The ARM scope the assignments are made at: a subscription \
                         (`/subscriptions/{id}`), a resource group, or a resource id such as \
                         the virtual network's.",
                    )
                    .validate(assignment_scope()),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx, listing: &mut Listing<'_>) -> Result<(), Diagnostics> {
        let Some(scope) = listing.config.attr_str(SCOPE) else {
            return Ok(());
        };
        let scope = scope.trim_end_matches('/');
        let call = call_context(ctx);
        let arm = arm(ctx)?;
        let assignments = arm
            .role_assignments_made_at(&call, scope)
            .await
            .or_diagnostics("Cannot list the role assignments")?;
        let scope_name = scope.rsplit('/').next().unwrap_or(scope);
        let mut role_names = RoleNames::default();
        for assignment in assignments {
            let properties = &assignment.properties;
            let role = role_names
                .name_of(&arm, &call, &properties.role_definition_id)
                .await?;
            let display_name = format!(
                "{role} on {scope_name} → {} {}",
                properties.principal_type.as_deref().unwrap_or("principal"),
                properties.principal_id
            );
            if !listing.found(assignment.id, display_name).await? {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Role names for display: built-in ones from the ARM client's table, others read once each.
#[derive(Default)]
struct RoleNames(HashMap<Uuid, String>);

impl RoleNames {
    async fn name_of(
        &mut self,
        arm: &ArmClient,
        call: &CallContext,
        role_definition_id: &str,
    ) -> Result<String, Diagnostics> {
        let Ok(id) = RoleDefinitionId::parse(role_definition_id) else {
            return Ok(role_definition_id.to_owned());
        };
        if let Some(name) = built_in_role_name(id.guid) {
            return Ok(name.to_owned());
        }
        if let Some(name) = self.0.get(&id.guid) {
            return Ok(name.clone());
        }
        let name = arm
            .get_role_definition(call, &id)
            .await
            .or_diagnostics("Cannot read an assigned role")?
            .map_or_else(|| id.guid.to_string(), |role| role.properties.role_name);
        self.0.insert(id.guid, name.clone());
        Ok(name)
    }
}
