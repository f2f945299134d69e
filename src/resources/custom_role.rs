//! `vnetpeer_custom_role`: runbook step 4, first half — a custom role that allows
//! `Microsoft.Network/virtualNetworks/peer/action` and nothing else, for Aiven's service principal.
//!
//! - The role definition GUID is derived from scope + name ([`custom_role_id`]), so it is known
//!   at plan time and a retried create PUTs the same role again instead of making a second.
//! - Create and update are one PUT each (no read-back: the PUT answers with the definition).
//! - Role names are unique across the whole tenant: `RoleDefinitionWithSameNameExists` becomes a
//!   diagnostic naming the role that holds the name, and how to import it.
//! - Renaming is an in-place PUT of the same GUID: assignments that use the role stay valid.
//! - Delete waits out `RoleDefinitionHasAssignments` (assignments deleted moments ago take time
//!   to disappear) and, if the timeout comes first, names the assignments that still exist.
//!
//! The ARM rules behind these (the PUT body, the delete's wait, which role holds a name) are the
//! client's: `azure::arm::role_definitions`.
//!
//! Import id: the role definition's resource id,
//! `/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.

use std::time::Duration;

use async_trait::async_trait;

use crate::azure::arm::role_definitions::{RoleDefinitionDeletion, custom_role_id};
use crate::azure::arm::{
    ArmClient, PEER_ACTION, RoleAssignment, RoleDefinition, RoleDefinitionProperties, codes,
};
use crate::azure::ids::{RoleDefinitionId, SubscriptionScope};
use crate::cloud::{CallContext, CloudError};
use crate::framework::ListResource;
use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Identity, Model, MoveSource,
    ObjectExt, PlannedChange, Resource, Schema, Timeouts, UpdateRequest, Validator, model,
    validators,
};
use crate::resources::Ctx;
use crate::value::{Type, Value};
use std::sync::Arc;

use super::ProviderData;
use super::identity;
use super::support::{
    OrDiagnostics, arm, call_context, checks, cloud_diagnostic, cloud_diagnostics,
};

/// `list "vnetpeer_custom_role"` for `terraform query`.
pub mod list;

/// See the module documentation.
pub struct CustomRole;

model! {
    /// The role definition as planned, and as a refresh reads it back: the PUT body.
    struct Definition {
        name: String,
        scope: String,
        description: Option<String>,
        actions: Vec<String>,
        not_actions: Vec<String>,
        /// Null only where the plan has not filled in its default (`[scope]`) yet.
        assignable_scopes: Option<Vec<String>>,
    }
}

model! {
    /// Where ARM keeps the role definition: known at plan time, kept when the role is renamed.
    struct Location {
        role_definition_id: String,
        role_definition_resource_id: String,
    }
}

impl Location {
    fn of(id: &RoleDefinitionId) -> Self {
        Location {
            role_definition_id: id.guid.to_string(),
            role_definition_resource_id: id.to_string(),
        }
    }

    /// The state an import (or a `moved` block) starts from: where the role is; `read` fills in
    /// the rest.
    fn imported(id: &RoleDefinitionId) -> Value {
        let mut state = Location::of(id).to_value();
        state.set_attr(Definition::scope, id.scope.clone());
        state
    }
}

#[async_trait]
impl Resource<ProviderData> for CustomRole {
    fn type_name(&self) -> &'static str {
        "vnetpeer_custom_role"
    }

    fn list(&self) -> Option<Arc<dyn ListResource<ProviderData>>> {
        Some(Arc::new(list::CustomRoleList))
    }

    fn identity(&self) -> Option<Identity> {
        Some(identity_declaration())
    }

    fn move_from(&self, source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
        moved_from(source)
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "A custom Azure role definition: runbook step 4, the role that lets Aiven's \
                 service principal peer with the customer VNet (by default it allows \
                 `Microsoft.Network/virtualNetworks/peer/action` and nothing else). Assign it \
                 with `vnetpeer_role_assignment`.\n\n\
                 The role definition id is derived from `scope` and `name`, so it is known at \
                 plan time and a retried apply never creates a second role. Role names are \
                 unique across the whole Entra ID tenant; a clash is reported with the id of the \
                 role that holds the name. Destroy waits until the role's assignments are gone.\n\n\
                 Import with the role definition's resource id: \
                 `/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.",
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .description(
                        "Role name. Must be unique across the whole Entra ID tenant (an Azure \
                         rule), at most 512 characters. Changing it renames the role in place: \
                         its id and its assignments stay.",
                    )
                    .validate(validators::string_length(1, 512))
                    .validate(validators::not_blank()),
            )
            .attribute(
                Attribute::string("scope")
                    .required()
                    .force_new()
                    .description(
                        "Subscription the role is defined in, as `/subscriptions/{subscription id}`. \
                         Changing it replaces the role.",
                    )
                    .validate(subscription_scope()),
            )
            .attribute(
                Attribute::string("description")
                    .optional()
                    .description("Description shown in the Azure portal, at most 2048 characters.")
                    .validate(validators::string_length(1, 2048)),
            )
            // ARM rejects a role without actions or assignable scopes.
            .attribute(
                case_insensitive_list(Definition::actions)
                    .default(Value::list([Value::string(PEER_ACTION)]))
                    .description(
                        "Control-plane actions the role allows. Default \
                         `[\"Microsoft.Network/virtualNetworks/peer/action\"]`, all Aiven needs.",
                    )
                    .validate(validators::non_empty_list())
                    .validate(validators::each(validators::not_blank())),
            )
            .attribute(
                case_insensitive_list(Definition::not_actions)
                    .default(Value::list([]))
                    .description("Actions excluded from `actions`. Default `[]`.")
                    .validate(validators::each(validators::not_blank())),
            )
            .attribute(
                case_insensitive_list(Definition::assignable_scopes)
                    .description(
                        "Scopes at or below which the role may be assigned. Default `[scope]`.",
                    )
                    .validate(validators::non_empty_list())
                    .validate(validators::each(checks::arm_scope())),
            )
            .attribute(
                Attribute::string("role_definition_id")
                    .computed()
                    .use_state_for_unknown()
                    .description(
                        "The role definition GUID, derived from `scope` and `name` at create \
                         (kept when the role is renamed).",
                    ),
            )
            .attribute(
                Attribute::string("role_definition_resource_id")
                    .computed()
                    .use_state_for_unknown()
                    .description(
                        "The role definition's resource id: pass it as `role_definition_id` of \
                         `vnetpeer_role_assignment`.",
                    ),
            ),
        )
        .with_timeouts(Timeouts::minutes(10, 5, 10, 15))
    }

    async fn modify_plan(&self, _ctx: &Ctx, plan: &mut PlannedChange) -> Result<(), Diagnostics> {
        // Everything here is derived from the configuration; plans stay free of network calls.
        if plan.config.attr(Definition::assignable_scopes).is_null() && plan.is_create() {
            let scope = plan.get(Definition::scope).clone();
            let default = match scope {
                Value::String(_) => Value::list([scope]),
                _ => Value::unknown(),
            };
            plan.set(Definition::assignable_scopes, default);
        }
        if plan.is_create()
            && let (Some(scope), Some(name)) = (
                plan.get(Definition::scope).as_str(),
                plan.get(Definition::name).as_str(),
            )
        {
            Location::of(&custom_role_id(scope, name)).write_to(&mut plan.planned);
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let definition = Definition::from_value(&request.planned)?;
        let id = custom_role_id(&definition.scope, &definition.name);
        put_role(ctx, &id, &definition, request.planned).await
    }

    async fn read(&self, ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let id = state_role_id(&state)?;
        let arm = arm(ctx)?;
        let Some(definition) = arm
            .get_role_definition(&call_context(ctx), &id)
            .await
            .or_diagnostics("Could not read the custom role")?
        else {
            return Ok(None);
        };
        if definition.is_built_in() {
            return Err(Diagnostic::error(
                format!("\"{}\" is a built-in role", definition.properties.role_name),
                "Built-in roles cannot be managed by vnetpeer_custom_role. Remove it from the \
                 state (`terraform state rm`) and refer to it by name in vnetpeer_role_assignment \
                 (`role_definition_name`).",
            )
            .into());
        }
        Ok(Some(refreshed_state(state, &id, &definition)))
    }

    async fn update(&self, ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        // The GUID stays the one made at create (or imported), whatever the name is now.
        let id = state_role_id(&request.prior)?;
        let definition = Definition::from_value(&request.planned)?;
        put_role(ctx, &id, &definition, request.planned).await
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        let id = state_role_id(&state)?;
        let arm = arm(ctx)?;
        let call = call_context(ctx);
        // Keep a little of the timeout to name the assignments that block the delete.
        let reserve = (ctx.timeout() / 5).min(Duration::from_secs(15));
        let wait = ctx.remaining().saturating_sub(reserve);
        match arm
            .delete_role_definition_when_unassigned(&call, wait, &id)
            .await
        {
            Ok(RoleDefinitionDeletion::Deleted) => Ok(()),
            Ok(RoleDefinitionDeletion::StillAssigned(assignments)) => {
                Err(still_assigned(&id, assignments, ctx.timeout()).into())
            }
            Err(error) => Err(cloud_diagnostics(
                format!("Could not delete the custom role {}", id.guid),
                &error,
            )),
        }
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let parsed = RoleDefinitionId::parse(id).map_err(|error| {
            Diagnostic::error(
                "Invalid import id for vnetpeer_custom_role",
                format!("{error}."),
            )
        })?;
        if SubscriptionScope::parse(&parsed.scope).is_err() {
            return Err(Diagnostic::error(
                "Invalid import id for vnetpeer_custom_role",
                format!(
                    "{id:?} is not defined at a subscription scope. Import custom roles with \
                     /subscriptions/{{subscription}}/providers/Microsoft.Authorization/roleDefinitions/{{guid}}."
                ),
            )
            .into());
        }
        Ok(Location::imported(&parsed))
    }
}

/// `scope` must be a subscription: custom roles live there (management groups are out of scope).
fn subscription_scope() -> Validator {
    validators::parsed(
        "a subscription scope such as `/subscriptions/00000000-0000-0000-0000-000000000000`",
        SubscriptionScope::parse,
    )
}

/// An optional list of actions or scopes, which ARM compares without case (the framework keeps
/// the user's spelling).
fn case_insensitive_list(name: &str) -> Attribute {
    Attribute::list(name, Type::String)
        .case_insensitive()
        .optional()
        .computed()
}

/// The role definition id recorded in a state (or returned by import).
fn state_role_id(state: &Value) -> Result<RoleDefinitionId, Diagnostics> {
    let text = Location::from_value(state)?.role_definition_resource_id;
    RoleDefinitionId::parse(&text).map_err(|error| {
        Diagnostics::from(Diagnostic::error(
            "The state holds an invalid role definition id",
            format!("{error}. Remove the resource from the state and import it again."),
        ))
    })
}

/// The PUT body for the role.
fn role_properties(definition: &Definition) -> RoleDefinitionProperties {
    let assignable_scopes = match &definition.assignable_scopes {
        Some(scopes) if !scopes.is_empty() => scopes.clone(),
        _ => vec![definition.scope.clone()],
    };
    RoleDefinitionProperties::custom_role(
        definition.name.clone(),
        definition.description.clone(),
        definition.actions.clone(),
        definition.not_actions.clone(),
        assignable_scopes,
    )
}

/// One PUT, and `planned` with where the role is as the new state; a name clash becomes a
/// diagnostic that names the role holding the name.
async fn put_role(
    ctx: &Ctx,
    id: &RoleDefinitionId,
    definition: &Definition,
    mut planned: Value,
) -> Result<Value, Failure> {
    let (arm, call) = (arm(ctx)?, call_context(ctx));
    let properties = role_properties(definition);
    match arm
        .put_role_definition(&call, &id.scope, id.guid, &properties)
        .await
    {
        Ok(_) => {
            Location::of(id).write_to(&mut planned);
            Ok(planned)
        }
        Err(error) if error.has_code(codes::ROLE_DEFINITION_WITH_SAME_NAME_EXISTS) => {
            Err(name_clash(&arm, &call, &id.scope, &properties.role_name)
                .await
                .into())
        }
        Err(error) => {
            let mut diagnostic = cloud_diagnostic(
                format!(
                    "Could not write the custom role \"{}\"",
                    properties.role_name
                ),
                &error,
            );
            if error.has_code(codes::AUTHORIZATION_FAILED) {
                diagnostic = diagnostic.with_paragraph(
                    "Writing role definitions needs \
                     Microsoft.Authorization/roleDefinitions/write on the subscription, e.g. the \
                     Owner or User Access Administrator role.",
                );
            }
            Err(diagnostic.into())
        }
    }
}

/// The diagnostic for `RoleDefinitionWithSameNameExists`, naming the existing role when it is
/// visible at `scope` (one list request, only on this failure path).
async fn name_clash(arm: &ArmClient, call: &CallContext, scope: &str, name: &str) -> Diagnostic {
    // The diagnostic is the same, only less precise, when this lookup fails.
    let existing = arm.role_definition_named(call, scope, name).await;
    let holder = match existing.ok().flatten() {
        Some(definition) => {
            let kind = definition.kind();
            let import = if definition.is_built_in() {
                "It is a built-in role: refer to it by name in vnetpeer_role_assignment \
                 (`role_definition_name`) instead of defining it."
                    .to_owned()
            } else {
                format!(
                    "To manage that role with this resource, import it:\n  terraform import \
                     <address of this resource> {}",
                    definition.id
                )
            };
            format!(
                "The role {} ({kind}) already uses this name. {import}",
                definition.id
            )
        }
        None => format!(
            "The role holding the name is not assignable at {scope}, so it is defined for \
             another subscription of the tenant. Find it with\n  az role definition list \
             --custom-role-only --query \"[?roleName=='{name}'].id\""
        ),
    };
    Diagnostic::error(
        format!("A role named \"{name}\" already exists in this tenant"),
        format!(
            "Azure role names are unique across the whole Entra ID tenant, not just the \
             subscription. {holder}\n\nOtherwise choose another `name` (for example one that \
             includes the subscription or VNet name)."
        ),
    )
    .at(Definition::name)
}

/// The diagnostic when the delete timed out on `RoleDefinitionHasAssignments`: which
/// `assignments` still use the role.
fn still_assigned(
    id: &RoleDefinitionId,
    assignments: Result<Vec<RoleAssignment>, CloudError>,
    timeout: Duration,
) -> Diagnostic {
    let listing = match assignments {
        Ok(assignments) => {
            let using: Vec<String> = assignments
                .iter()
                .map(|assignment| {
                    format!(
                        "  - {} (principal {})",
                        assignment.id, assignment.properties.principal_id
                    )
                })
                .collect();
            if using.is_empty() {
                "Azure no longer lists any assignment of it, so the deletions are still \
                 propagating: run destroy again in a few minutes."
                    .to_owned()
            } else {
                format!(
                    "These assignments still use it:\n{}\nDelete them (or manage them with \
                     vnetpeer_role_assignment so that Terraform deletes them first), then run \
                     destroy again.",
                    using.join("\n")
                )
            }
        }
        Err(error) => format!("Listing its assignments failed as well: {error}."),
    };
    Diagnostic::error(
        format!("The custom role {} still has role assignments", id.guid),
        format!(
            "Azure refused to delete the role for {} because role assignments still refer to \
             it (RoleDefinitionHasAssignments). {listing}",
            crate::framework::format_go_duration(timeout)
        ),
    )
}

/// `state` updated from what ARM reports, keeping the user's spelling where ARM only differs in
/// case (ARM compares scopes and actions case-insensitively).
fn refreshed_state(mut state: Value, id: &RoleDefinitionId, definition: &RoleDefinition) -> Value {
    let properties = &definition.properties;
    // Several permission blocks (made outside Terraform) read as one: their union. The
    // framework keeps the prior spelling (the lists are case-insensitive).
    Definition {
        name: properties.role_name.clone(),
        scope: state
            .attr_str(Definition::scope)
            .unwrap_or(&id.scope)
            .to_owned(),
        description: properties
            .description
            .clone()
            .filter(|text| !text.is_empty()),
        actions: properties.all_actions(),
        not_actions: properties.all_not_actions(),
        assignable_scopes: Some(properties.assignable_scopes.clone()),
    }
    .write_to(&mut state);
    Location::of(id).write_to(&mut state);
    state
}

// ----- resource identity ------------------------------------------------------------------------

/// A role definition is named by its scope and GUID, as azurerm's `azurerm_role_definition`
/// identity names it.
fn identity_declaration() -> Identity {
    Identity::required(
        &[
            (
                "scope",
                "The subscription the role is defined at, e.g. \
                 `/subscriptions/00000000-0000-0000-0000-000000000000`.",
            ),
            (
                "role_definition_id",
                "The role definition's GUID (the `name` ARM gives it).",
            ),
        ],
        |state| Identity::of_same_named(state, &[Definition::scope, Location::role_definition_id]),
        |parts| {
            Ok(format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                identity::part(parts, "scope")?.trim_end_matches('/'),
                identity::part(parts, "role_definition_id")?
            ))
        },
    )
}

/// `moved` from azurerm's `azurerm_role_definition` (its `scope` and `role_definition_id`; its
/// `id` is `<resource id>|<scope>`): the state an import by resource id gives.
fn moved_from(source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
    if !source.is("azurerm", "azurerm_role_definition") {
        return None;
    }
    let parsed = source.required("scope").and_then(|scope| {
        let guid = source.required("role_definition_id")?;
        let id = format!(
            "{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            scope.trim_end_matches('/')
        );
        let invalid = |reason: String| {
            Diagnostics::from(Diagnostic::error(
                "Cannot move azurerm_role_definition",
                format!("{reason}. vnetpeer_custom_role manages roles defined at a subscription."),
            ))
        };
        let parsed = RoleDefinitionId::parse(&id).map_err(|error| invalid(error.to_string()))?;
        SubscriptionScope::parse(&parsed.scope)
            .map_err(|_| invalid(format!("Its scope {scope:?} is not a subscription")))?;
        Ok(parsed)
    });
    Some(parsed.map(|parsed| Location::imported(&parsed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::arm::Permission;

    const SCOPE: &str = "/subscriptions/c1000000-0000-4000-8000-000000000002";

    /// A refresh as Terraform sees it: `read`'s state after the framework's own steps.
    fn refreshed(prior: Value, id: &RoleDefinitionId, reported: &RoleDefinition) -> Value {
        let mut state = refreshed_state(prior.clone(), id, reported);
        let schema = CustomRole.schema();
        crate::framework::plan::keep_reference_spelling(&schema.block, &prior, &mut state);
        state
    }

    fn definition(actions: &[&str], scopes: &[&str], description: Option<&str>) -> RoleDefinition {
        RoleDefinition {
            id: format!("{SCOPE}/providers/Microsoft.Authorization/roleDefinitions/x"),
            name: "x".into(),
            properties: RoleDefinitionProperties {
                role_name: "peer".into(),
                description: description.map(str::to_owned),
                role_type: Some("CustomRole".into()),
                permissions: vec![Permission {
                    actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                    ..Permission::default()
                }],
                assignable_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        }
    }

    #[test]
    fn the_put_body_defaults_assignable_scopes_to_the_scope() {
        let state = Value::object([
            ("name", Value::string("peer")),
            ("scope", Value::string(SCOPE)),
            ("actions", Value::list([Value::string(PEER_ACTION)])),
            ("not_actions", Value::list([])),
            ("assignable_scopes", Value::Null),
            ("description", Value::Null),
        ]);
        let properties = role_properties(&Definition::from_value(&state).unwrap());
        assert_eq!(properties.assignable_scopes, vec![SCOPE.to_owned()]);
        assert_eq!(properties.permissions[0].actions, vec![PEER_ACTION]);
        assert_eq!(properties.description, None);
        assert_eq!(properties.role_type.as_deref(), Some("CustomRole"));
    }

    #[test]
    fn refresh_keeps_the_users_spelling_and_reads_empty_descriptions_as_null() {
        let id = custom_role_id(SCOPE, "peer");
        let prior = Value::object([
            ("name", Value::string("peer")),
            ("scope", Value::string(SCOPE)),
            ("actions", Value::list([Value::string(PEER_ACTION)])),
            ("not_actions", Value::list([])),
            ("assignable_scopes", Value::list([Value::string(SCOPE)])),
            ("description", Value::Null),
        ]);
        let reported = definition(&[&PEER_ACTION.to_ascii_lowercase()], &[SCOPE], Some(""));
        let state = refreshed(prior.clone(), &id, &reported);
        assert_eq!(state.attr("actions"), prior.attr("actions"));
        assert!(state.attr("description").is_null());

        let changed = definition(&["Microsoft.Network/*"], &[SCOPE], Some("d"));
        let state = refreshed(prior, &id, &changed);
        assert_eq!(
            state.attr("actions"),
            &Value::list([Value::string("Microsoft.Network/*")])
        );
        assert_eq!(state.attr_str("description"), Some("d"));
        assert_eq!(
            state.attr_str("role_definition_resource_id"),
            Some(id.to_string().as_str())
        );
    }

    #[test]
    fn imported_states_take_the_scope_from_the_id() {
        let id = custom_role_id(SCOPE, "peer");
        let imported = Value::object([
            ("role_definition_resource_id", Value::string(id.to_string())),
            ("scope", Value::string(SCOPE)),
        ]);
        let state = refreshed(imported, &id, &definition(&[PEER_ACTION], &[SCOPE], None));
        assert_eq!(state.attr_str("scope"), Some(SCOPE));
        assert_eq!(state.attr_str("name"), Some("peer"));
        assert_eq!(state.attr("not_actions"), &Value::list([]));
    }

    #[test]
    fn validators_reject_what_arm_would() {
        assert!(subscription_scope().check(&Value::string(SCOPE)).is_ok());
        assert!(
            subscription_scope()
                .check(&Value::string(format!("{SCOPE}/resourceGroups/rg")))
                .is_err()
        );
        assert!(
            validators::non_empty_list()
                .check(&Value::list([]))
                .is_err()
        );
        assert!(
            validators::non_empty_list()
                .check(&Value::list([Value::string("a")]))
                .is_ok()
        );
    }
}
