//! `vnetpeer_role_assignment`: runbook steps 2 and 4 — "Network Contributor" for the peering
//! app's service principal on the customer VNet, and the peer-only custom role for Aiven's
//! service principal on the same VNet.
//!
//! - The assignment name is derived from scope + role + principal ([`RoleGrant::assignment_name`]),
//!   so a retried create PUTs the same assignment again.
//! - Create is one PUT with `principalType` (a principal created moments ago is then accepted
//!   before Entra ID has replicated it, docs/development/arm.md, 'Role assignment errors').
//!   `PrincipalNotFound` and `RoleDefinitionDoesNotExist` (a custom role created moments ago) are
//!   retried for a bounded window, well inside the create timeout, then explained.
//! - `RoleAssignmentExists` (the same scope, role and principal under another name) is adopted:
//!   the state records the existing assignment's name.
//! - Built-in roles named in the ARM client's
//!   [`BUILT_IN_ROLES`](crate::azure::arm::role_definitions::BUILT_IN_ROLES) resolve without a
//!   request (their GUIDs are the same in every Azure cloud); other names are looked up once.
//! - Delete waits until ARM no longer returns the assignment, so a custom role deleted next does
//!   not race with it.
//!
//! The ARM rules behind these (replication retries, finding the identical assignment, the wait
//! after a delete) are the client's: `azure::arm::role_assignments` and `role_definitions`.
//!
//! Import id: the assignment's resource id,
//! `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::azure::arm::role_assignments::{
    PRINCIPAL_TYPES, RoleAssignmentPut, RoleGrant, UNMATCHED_PRINCIPAL_TYPE,
    check_assignment_scope, replication_window,
};
use crate::azure::arm::role_definitions::{
    built_in_role_guid, built_in_role_name, role_at_subscription_of, role_guid,
};
use crate::azure::arm::{ArmClient, PrincipalType, RoleAssignment, codes};
use crate::azure::ids::{RoleAssignmentId, RoleDefinitionId};
use crate::cloud::{CallContext, CloudError};
use crate::framework::ListResource;
use crate::framework::model::not_known;
use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Identity, Model, MoveSource,
    ObjectExt, PlannedChange, Resource, Schema, Timeouts, UpdateRequest, Validator,
    format_go_duration, model, validators,
};
use crate::resources::Ctx;
use crate::value::Value;

use super::ProviderData;
use super::identity;
use super::support::{OrDiagnostics, arm, call_context, checks, cloud_diagnostic, required_str};

/// `list "vnetpeer_role_assignment"` for `terraform query`.
pub mod list;

/// See the module documentation.
pub struct RoleAssignmentResource;

model! {
    /// The assignment as planned and stored. The role fields stay values: the plan leaves the
    /// form the user did not write unknown until apply.
    struct Assignment {
        scope: String,
        principal_id: String,
        principal_type: String,
        role_definition_id: Value,
        role_definition_name: Value,
        name: Value,
        id: Value,
    }
}

#[async_trait]
impl Resource<ProviderData> for RoleAssignmentResource {
    fn type_name(&self) -> &'static str {
        "vnetpeer_role_assignment"
    }

    fn list(&self) -> Option<Arc<dyn ListResource<ProviderData>>> {
        Some(Arc::new(list::RoleAssignmentList))
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
                "An Azure role assignment: runbook step 2 (built-in \"Network Contributor\" for \
                 the peering app's service principal on the customer VNet) and step 4 (the \
                 peer-only `vnetpeer_custom_role` for Aiven's service principal on the VNet).\n\n\
                 Give the role by id or by name. `principalType` is always sent, so a service \
                 principal created moments earlier in the same apply is accepted before Entra ID \
                 has replicated it. The assignment's name is derived from scope, role and \
                 principal, so a retried apply never creates a second assignment, and an \
                 identical assignment that already exists under another name is adopted (it is \
                 then managed, and deleted on destroy, like one created here). Destroy waits \
                 until the assignment is gone.\n\n\
                 Import with the assignment's resource id: \
                 `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. Import cannot \
                 tell how the role was written: `role_definition_name` is filled in only for the \
                 built-in roles listed under `role_definition_name`, and `role_definition_id` in \
                 the `/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}` \
                 form; writing them differently in the configuration updates the state in place, \
                 without touching the assignment.",
            )
            .attribute(
                Attribute::string("scope")
                    .required()
                    .force_new()
                    .description(
                        "Where the role applies: a subscription \
                         (`/subscriptions/{id}`), a resource group, or a resource id such as the \
                         customer VNet's. Changing it replaces the assignment.",
                    )
                    .validate(assignment_scope()),
            )
            .attribute(
                Attribute::string("principal_id")
                    .required()
                    .case_insensitive()
                    .force_new()
                    .description(
                        "Object id of the user, group or service principal that gets the role. \
                         For an application this is its **service principal's** object id \
                         (`vnetpeer_aad_app.service_principal_object_id`, \
                         `vnetpeer_service_principal.object_id`), not its client id. Changing it \
                         replaces the assignment.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::string("role_definition_id")
                    .optional()
                    .computed()
                    .description(
                        "Resource id of the role, e.g. \
                         `vnetpeer_custom_role.x.role_definition_resource_id` or \
                         `/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid}`. \
                         Exactly one of `role_definition_id` and `role_definition_name`. \
                         Choosing another role replaces the assignment; another spelling of the \
                         same role (tenant-level form, letter case) does not.",
                    )
                    .validate(validators::parsed(
                        "a role definition resource id such as \
                         `/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid}`",
                        RoleDefinitionId::parse,
                    )),
            )
            .attribute(
                Attribute::string("role_definition_name")
                    .optional()
                    .computed()
                    .description(
                        "Name of the role, resolved at `scope`, e.g. `\"Network Contributor\"`. \
                         The built-in roles Network Contributor, Owner, Contributor, Reader and \
                         User Access Administrator are resolved without a request; other names \
                         (custom roles) are looked up once. Exactly one of `role_definition_id` \
                         and `role_definition_name`. Choosing another role replaces the \
                         assignment.",
                    )
                    .validate(validators::not_blank()),
            )
            .attribute(
                Attribute::string("principal_type")
                    .optional()
                    .case_insensitive()
                    .computed()
                    .force_new()
                    .default("ServicePrincipal")
                    .description(
                        "Kind of principal: `ServicePrincipal` (default), `User`, `Group` or \
                         `ForeignGroup`. Always sent, which lets Azure accept a principal created \
                         moments ago. Changing it replaces the assignment.",
                    )
                    .validate(validators::one_of(&PRINCIPAL_TYPES)),
            )
            .attribute(
                Attribute::string("name")
                    .computed()
                    .case_insensitive()
                    .use_state_for_unknown()
                    .description(
                        "The assignment's name (a GUID derived from scope, role and principal, \
                         or the name of the identical assignment that was adopted).",
                    ),
            )
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The assignment's resource id (the import id)."),
            ),
        )
        .with_timeouts(Timeouts::minutes(10, 5, 5, 10))
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        let by_id = config.attr(Assignment::role_definition_id);
        let by_name = config.attr(Assignment::role_definition_name);
        let set = |value: &Value| value.is_known() && !value.is_null();
        if set(by_id) && set(by_name) {
            diagnostics.push(
                Diagnostic::error(
                    "Only one of role_definition_id and role_definition_name may be set",
                    "Give the role either by resource id or by name, not both.",
                )
                .at(Assignment::role_definition_name),
            );
        } else if by_id.is_null() && by_name.is_null() {
            diagnostics.push(Diagnostic::error(
                "One of role_definition_id and role_definition_name is required",
                "Give the role by resource id (e.g. \
                 `vnetpeer_custom_role.x.role_definition_resource_id`) or by name (e.g. \
                 `\"Network Contributor\"`).",
            ));
        }
    }

    /// The role is given one way: by name when it is a built-in role the table knows (what a
    /// user writes), else by id.
    fn generated_config(&self, config: &mut Value) {
        if !config.attr(Assignment::role_definition_name).is_null() {
            config.set_attr(Assignment::role_definition_id, Value::Null);
        }
    }

    async fn modify_plan(&self, _ctx: &Ctx, plan: &mut PlannedChange) -> Result<(), Diagnostics> {
        // Pure: built-in names resolve from the table; anything else waits for apply.
        let config_id = plan.config.attr(Assignment::role_definition_id).clone();
        let config_name = plan.config.attr(Assignment::role_definition_name).clone();
        if plan.is_create() {
            if let (Some(name), Some(scope)) =
                (config_name.as_str(), plan.get(Assignment::scope).as_str())
                && let Some(guid) = built_in_role_guid(name)
            {
                plan.set(
                    Assignment::role_definition_id,
                    Value::string(role_at_subscription_of(scope, guid).to_string()),
                );
            }
            if let Some(guid) = config_id.as_str().and_then(role_guid) {
                plan.set(Assignment::role_definition_name, built_in_name_value(guid));
            }
            return Ok(());
        }
        // Update: the role of an assignment cannot change. Compare roles by GUID, not by
        // spelling, so another form of the same id is an in-place (state-only) update.
        let prior_guid = plan
            .prior
            .attr_str(Assignment::role_definition_id)
            .and_then(role_guid);
        let other_id = match &config_id {
            Value::Unknown(_) => true,
            Value::String(text) => role_guid(text).is_none_or(|guid| Some(guid) != prior_guid),
            _ => false,
        };
        let other_name = match &config_name {
            Value::Unknown(_) => true,
            Value::String(name) => match plan.prior.attr_str(Assignment::role_definition_name) {
                Some(prior) => !prior.eq_ignore_ascii_case(name),
                // Imported (or switched from id to name): compare when the name is a built-in;
                // other names are checked against the assigned role at apply (see `update`).
                None => built_in_role_guid(name).is_some_and(|guid| Some(guid) != prior_guid),
            },
            _ => false,
        };
        if other_name {
            plan.require_replace(Assignment::role_definition_name);
        } else if other_id {
            plan.require_replace(Assignment::role_definition_id);
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let mut assignment = Assignment::from_value(&request.planned)?;
        let arm = arm(ctx)?;
        let call = call_context(ctx);
        let window = replication_window(ctx.timeout());
        let grant = RoleGrant {
            role: resolve_role(&arm, &call, &assignment, window).await?,
            scope: assignment.scope.clone(),
            principal_id: assignment.principal_id.clone(),
            principal_type: PrincipalType::parse(&assignment.principal_type)
                .unwrap_or(PrincipalType::ServicePrincipal),
        };
        let put = arm.put_role_assignment_when_replicated(&call, window, &grant);
        let name = match put.await {
            Ok(RoleAssignmentPut::Created(created)) => created.name,
            Ok(RoleAssignmentPut::ExistsUnderAnotherName) => {
                adopt_existing(&arm, &call, &grant).await?
            }
            Ok(RoleAssignmentPut::PrincipalNotFound(last)) => {
                return Err(principal_not_found(&last, window, &grant).into());
            }
            Ok(RoleAssignmentPut::RoleNotFound(last)) => {
                return Err(role_not_found(&last, window, &grant).into());
            }
            Err(error) => return Err(assign_failure(&error, &grant).into()),
        };
        let name = Uuid::parse_str(&name)
            .map(|guid| guid.to_string())
            .unwrap_or(name);
        let scope = &grant.scope;
        assignment.id = Value::string(format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        ));
        assignment.name = Value::string(name);
        if !assignment.role_definition_id.is_known() || assignment.role_definition_id.is_null() {
            let role = role_at_subscription_of(scope, grant.role.guid);
            assignment.role_definition_id = Value::string(role.to_string());
        }
        if !assignment.role_definition_name.is_known() {
            assignment.role_definition_name = built_in_name_value(grant.role.guid);
        }
        assignment.principal_type = grant.principal_type.as_str().to_owned();
        let mut state = request.planned;
        assignment.write_to(&mut state);
        Ok(state)
    }

    async fn read(&self, ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let id = state_assignment_id(&state)?;
        let Some(assignment) = arm(ctx)?
            .get_role_assignment(&call_context(ctx), &id)
            .await
            .or_diagnostics("Could not read the role assignment")?
        else {
            return Ok(None);
        };
        Ok(Some(refreshed_state(state, &id, &assignment)?))
    }

    async fn update(&self, ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        // Only spellings change in place (see `modify_plan`); nothing is sent to Azure, except
        // one lookup when a custom role name is first given for an imported assignment.
        let planned = request.planned;
        let prior_name = request.prior.attr_str(Assignment::role_definition_name);
        if let (None, Some(name)) = (
            prior_name,
            planned.attr_str(Assignment::role_definition_name),
        ) && built_in_role_guid(name).is_none()
        {
            let assigned = state_role_guid(&request.prior)?;
            let scope = required_str(&planned, Assignment::scope)?;
            let arm = arm(ctx)?;
            let call = call_context(ctx);
            let named = arm
                .find_role_by_name(&call, &scope, name)
                .await
                .or_diagnostics(format!("Could not look up the role \"{name}\""))?;
            if named != Some(assigned) {
                return Err(Diagnostic::error(
                    format!("role_definition_name \"{name}\" is not the assigned role"),
                    format!(
                        "This assignment grants role {assigned}, and \"{name}\" {}. The role of an \
                         assignment cannot change: to assign another role, replace it with \
                         `terraform apply -replace=<address of this resource>`.",
                        match named {
                            Some(other) => format!("is role {other}"),
                            None => format!("is not a role visible at {scope}"),
                        }
                    ),
                )
                .at(Assignment::role_definition_name)
                .into());
            }
        }
        Ok(planned)
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        let id = state_assignment_id(&state)?;
        arm(ctx)?
            .delete_role_assignment_and_wait(&call_context(ctx), &id)
            .await
            .or_diagnostics(format!("Could not delete the role assignment {}", id.name))
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let parsed = RoleAssignmentId::parse(id).map_err(|error| {
            Diagnostic::error(
                "Invalid import id for vnetpeer_role_assignment",
                format!("{error}."),
            )
        })?;
        if let Err(reason) = check_assignment_scope(&parsed.scope) {
            return Err(Diagnostic::error(
                "Invalid import id for vnetpeer_role_assignment",
                format!("The scope of {id:?} is invalid: {reason}."),
            )
            .into());
        }
        Ok(imported(&parsed))
    }
}

/// The state an import (or a `moved` block) starts from; `read` fills in the rest.
fn imported(id: &RoleAssignmentId) -> Value {
    Value::object([
        (Assignment::id, Value::string(id.to_string())),
        (Assignment::scope, Value::string(id.scope.clone())),
        (Assignment::name, Value::string(id.name.to_string())),
    ])
}

/// An ARM scope a role can be assigned at (the grammar is the ARM client's).
fn assignment_scope() -> Validator {
    validators::parsed(
        "an ARM scope: `/subscriptions/{id}`, `/subscriptions/{id}/resourceGroups/{name}` or a \
         resource id such as a virtual network's",
        check_assignment_scope,
    )
}

/// The table's name for a built-in role GUID, else null (custom roles are not looked up).
fn built_in_name_value(guid: Uuid) -> Value {
    built_in_role_name(guid).map_or(Value::Null, Value::string)
}

fn state_assignment_id(state: &Value) -> Result<RoleAssignmentId, Diagnostics> {
    let text = required_str(state, Assignment::id)?;
    RoleAssignmentId::parse(&text).map_err(|error| {
        Diagnostics::from(Diagnostic::error(
            "The state holds an invalid role assignment id",
            format!("{error}. Remove the resource from the state and import it again."),
        ))
    })
}

fn state_role_guid(state: &Value) -> Result<Uuid, Diagnostics> {
    let text = required_str(state, Assignment::role_definition_id)?;
    let id = RoleDefinitionId::parse(&text)
        .map_err(|error| Diagnostic::error("Invalid role_definition_id", error.to_string()))?;
    Ok(id.guid)
}

/// The role to assign: the configured id, the table's GUID for a built-in name, or one lookup
/// of a custom role name at the scope (retried within the replication window: a custom role
/// created moments ago may not be listed yet).
async fn resolve_role(
    arm: &ArmClient,
    call: &CallContext,
    assignment: &Assignment,
    window: Duration,
) -> Result<RoleDefinitionId, Diagnostics> {
    let scope = assignment.scope.as_str();
    if let Some(text) = assignment.role_definition_id.as_str() {
        return RoleDefinitionId::parse(text).map_err(|error| {
            Diagnostics::from(
                Diagnostic::error("Invalid role_definition_id", error.to_string())
                    .at(Assignment::role_definition_id),
            )
        });
    }
    let name = assignment
        .role_definition_name
        .as_str()
        .ok_or_else(|| not_known(Assignment::role_definition_name))?;
    if let Some(guid) = built_in_role_guid(name) {
        return Ok(role_at_subscription_of(scope, guid));
    }
    let found = arm
        .wait_for_role_named(call, window, scope, name)
        .await
        .or_diagnostics(format!("Could not look up the role \"{name}\""))?;
    match found {
        Some(guid) => Ok(role_at_subscription_of(scope, guid)),
        None => Err(Diagnostic::error(
            format!("No role named \"{name}\" is visible at the scope"),
            format!(
                "Azure Resource Manager listed no role definition named \"{name}\" at \
                 {scope} for {}. Check the spelling of role_definition_name; for a custom \
                 role, check that its assignable_scopes include this scope (or give it by \
                 id: `role_definition_id = vnetpeer_custom_role.<name>.role_definition_resource_id`).",
                format_go_duration(window)
            ),
        )
        .at(Assignment::role_definition_name)
        .into()),
    }
}

/// A refused PUT, with what to check for the refusals a configuration can cause.
fn assign_failure(error: &CloudError, grant: &RoleGrant) -> Diagnostic {
    let diagnostic = cloud_diagnostic(
        format!(
            "Could not assign role {} to principal {}",
            grant.role.guid, grant.principal_id
        ),
        error,
    );
    if error.has_code(codes::AUTHORIZATION_FAILED) {
        diagnostic.with_paragraph(
            "Assigning roles needs Microsoft.Authorization/roleAssignments/write at the scope, \
             e.g. the Owner, User Access Administrator or Role Based Access Control \
             Administrator role.",
        )
    } else if error.has_code(UNMATCHED_PRINCIPAL_TYPE) {
        diagnostic
            .with_paragraph("Set principal_type to the kind of principal that principal_id names.")
            .at(Assignment::principal_type)
    } else {
        diagnostic
    }
}

/// The explanation once ARM has answered `PrincipalNotFound` for the whole replication window.
fn principal_not_found(last: &CloudError, window: Duration, grant: &RoleGrant) -> Diagnostic {
    let (principal_id, kind, scope) = (&grant.principal_id, grant.principal_type, &grant.scope);
    Diagnostic::error(
        format!("principal_id {principal_id} does not exist in the tenant"),
        format!(
            "Azure Resource Manager answered PrincipalNotFound for {}: no {} with \
             object id {principal_id} exists in the tenant that owns {scope}. Check that \
             principal_id is an object id, not a client (application) id: for an application \
             use its service principal's object id (`az ad sp show --id <client id> --query \
             id`); that the principal lives in this tenant; and that principal_type ({}) is \
             its kind. A principal created moments ago can take longer to replicate: then run \
             apply again.\n\nLast answer: {last}",
            format_go_duration(window),
            kind.as_str(),
            kind.as_str()
        ),
    )
    .at(Assignment::principal_id)
}

/// The explanation once ARM has answered `RoleDefinitionDoesNotExist` for the whole window.
fn role_not_found(last: &CloudError, window: Duration, grant: &RoleGrant) -> Diagnostic {
    Diagnostic::error(
        format!("Role {} does not exist at the scope", grant.role.guid),
        format!(
            "Azure Resource Manager answered RoleDefinitionDoesNotExist for {}. Check \
             role_definition_id, and that the role's assignable_scopes include {}.\n\n\
             Last answer: {last}",
            format_go_duration(window),
            grant.scope
        ),
    )
    .at(Assignment::role_definition_id)
}

/// `RoleAssignmentExists`: the name of the identical assignment at exactly the scope (one list
/// request), which the state then records.
async fn adopt_existing(
    arm: &ArmClient,
    call: &CallContext,
    grant: &RoleGrant,
) -> Result<String, Failure> {
    let existing = arm.find_role_assignment(call, grant).await.or_diagnostics(
        "The role is already assigned under another name, and listing assignments failed",
    )?;
    let Some(existing) = existing else {
        let (role, principal_id, scope) = (grant.role.guid, &grant.principal_id, &grant.scope);
        return Err(Diagnostic::error(
            "The role is already assigned under another name",
            format!(
                "Azure Resource Manager answered RoleAssignmentExists for role {role}, principal \
                 {principal_id} at {scope}, but lists no such assignment at exactly that scope. \
                 Find it with `az role assignment list --assignee {principal_id} --scope {scope}` \
                 and import it, or delete it, then apply again."
            ),
        )
        .into());
    };
    tracing::info!(
        assignment = %existing.id,
        "adopting the identical role assignment that already exists"
    );
    Ok(existing.name)
}

/// `state` updated from ARM, keeping the user's spelling where ARM only differs in case or form.
fn refreshed_state(
    mut state: Value,
    id: &RoleAssignmentId,
    assignment: &RoleAssignment,
) -> Result<Value, Diagnostics> {
    let properties = &assignment.properties;
    // The framework keeps the prior spelling of these case-insensitive attributes.
    state.set_attr(Assignment::principal_id, properties.principal_id.as_str());
    if let Some(kind) = &properties.principal_type {
        state.set_attr(Assignment::principal_type, kind.as_str());
    } else if state.attr(Assignment::principal_type).is_null() {
        state.set_attr(
            Assignment::principal_type,
            PrincipalType::ServicePrincipal.as_str(),
        );
    }
    state.set_attr(Assignment::name, assignment.name.as_str());
    let scope = state
        .attr_str(Assignment::scope)
        .unwrap_or(&id.scope)
        .to_owned();
    state.set_attr(Assignment::scope, scope.as_str());
    state.set_attr(
        Assignment::id,
        RoleAssignmentId::new(&scope, id.name).to_string(),
    );
    let role = RoleDefinitionId::parse(&properties.role_definition_id).map_err(|error| {
        Diagnostic::error(
            "Azure returned an unexpected role definition id",
            error.to_string(),
        )
    })?;
    let prior_role = state.attr_str(Assignment::role_definition_id);
    if prior_role.and_then(role_guid) != Some(role.guid) {
        state.set_attr(
            Assignment::role_definition_id,
            role_at_subscription_of(&scope, role.guid).to_string(),
        );
        state.set_attr(
            Assignment::role_definition_name,
            built_in_name_value(role.guid),
        );
    }
    Ok(state)
}

// ----- resource identity ------------------------------------------------------------------------

/// A role assignment is named by its scope and GUID name, as azurerm's
/// `azurerm_role_assignment` identity names it.
fn identity_declaration() -> Identity {
    Identity::required(
        &[
            (
                Assignment::scope,
                "The ARM scope of the assignment: a subscription, resource group or resource id, \
                 e.g. the virtual network's id.",
            ),
            (Assignment::name, "The assignment's name (a GUID)."),
        ],
        |state| Identity::of_same_named(state, &[Assignment::scope, Assignment::name]),
        |parts| {
            Ok(format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                identity::part(parts, Assignment::scope)?.trim_end_matches('/'),
                identity::part(parts, Assignment::name)?
            ))
        },
    )
}

/// `moved` from azurerm's `azurerm_role_assignment` (its `id`, the assignment's resource id):
/// the state an import by that id gives.
fn moved_from(source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
    let import = |id: &str| RoleAssignmentId::parse(id).map(|parsed| imported(&parsed));
    source.imported_by_id(
        "azurerm",
        "azurerm_role_assignment",
        "a role assignment id",
        import,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::arm::RoleAssignmentProperties;

    const SUB: &str = "c1000000-0000-4000-8000-000000000002";

    /// A refresh as Terraform sees it: `read`'s state after the framework's own steps.
    fn refreshed(prior: Value, id: &RoleAssignmentId, reported: &RoleAssignment) -> Value {
        let mut state = refreshed_state(prior.clone(), id, reported).unwrap();
        let schema = RoleAssignmentResource.schema();
        crate::framework::plan::keep_reference_spelling(&schema.block, &prior, &mut state);
        state
    }

    fn vnet() -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App"
        )
    }

    fn assignment(role_id: &str, principal: &str) -> RoleAssignment {
        RoleAssignment {
            id: format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-0000000000aa",
                vnet()
            ),
            name: "00000000-0000-0000-0000-0000000000aa".into(),
            properties: RoleAssignmentProperties {
                scope: Some(vnet()),
                role_definition_id: role_id.into(),
                principal_id: principal.into(),
                principal_type: Some("ServicePrincipal".into()),
                description: None,
            },
        }
    }

    #[test]
    fn refresh_keeps_the_configured_spelling_of_the_same_role() {
        let id = RoleAssignmentId::parse(&assignment("", "").id).unwrap();
        let configured = format!(
            "/subscriptions/{SUB}/providers/microsoft.authorization/roleDefinitions/4D97B98B-1D4F-4787-A291-C67834D212E7"
        );
        let prior = Value::object([
            ("scope", Value::string(vnet())),
            (
                "principal_id",
                Value::string("ABCDEF00-0000-0000-0000-000000000001"),
            ),
            ("role_definition_id", Value::string(configured.clone())),
            ("role_definition_name", Value::Null),
            ("principal_type", Value::string("ServicePrincipal")),
            (
                "name",
                Value::string("00000000-0000-0000-0000-0000000000aa"),
            ),
            ("id", Value::string(id.to_string())),
        ]);
        let reported = assignment(
            "/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7",
            "abcdef00-0000-0000-0000-000000000001",
        );
        let state = refreshed(prior.clone(), &id, &reported);
        assert_eq!(state, prior);
    }

    #[test]
    fn imported_states_get_the_canonical_role_id_and_built_in_names() {
        let reported = assignment(
            "/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7",
            "abcdef00-0000-0000-0000-000000000001",
        );
        let id = RoleAssignmentId::parse(&reported.id).unwrap();
        let imported = Value::object([
            ("id", Value::string(id.to_string())),
            ("scope", Value::string(id.scope.clone())),
            ("name", Value::string(id.name.to_string())),
        ]);
        let state = refreshed(imported, &id, &reported);
        assert_eq!(
            state.attr_str("role_definition_id"),
            Some(
                format!(
                    "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
                )
                .as_str()
            )
        );
        assert_eq!(
            state.attr_str("role_definition_name"),
            Some("Network Contributor")
        );
        assert_eq!(
            state.attr_str("principal_id"),
            Some("abcdef00-0000-0000-0000-000000000001")
        );
        assert_eq!(state.attr_str("principal_type"), Some("ServicePrincipal"));
    }

    #[test]
    fn exactly_one_way_of_naming_the_role() {
        let config = |id: Value, name: Value| {
            Value::object([("role_definition_id", id), ("role_definition_name", name)])
        };
        let problems = |config: Value| {
            let mut diagnostics = Diagnostics::new();
            RoleAssignmentResource.validate(&config, &mut diagnostics);
            diagnostics.len()
        };
        assert_eq!(problems(config(Value::Null, Value::Null)), 1);
        assert_eq!(problems(config(Value::string("x"), Value::string("y"))), 1);
        assert_eq!(problems(config(Value::string("x"), Value::Null)), 0);
        assert_eq!(problems(config(Value::unknown(), Value::Null)), 0);
        assert_eq!(problems(config(Value::unknown(), Value::string("y"))), 0);
    }
}
