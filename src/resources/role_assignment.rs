//! `vnetpeer_role_assignment`: runbook steps 2 and 4 — "Network Contributor" for the peering
//! app's service principal on the customer VNet, and the peer-only custom role for Aiven's
//! service principal on the same VNet.
//!
//! - The assignment name is derived from scope + role + principal ([`role_assignment_name`]), so a
//!   retried create PUTs the same assignment again.
//! - Create is one PUT with `principalType` (a principal created moments ago is then accepted
//!   before Entra ID has replicated it, docs/development/arm.md, 'Role assignment errors').
//!   `PrincipalNotFound` and `RoleDefinitionDoesNotExist` (a custom role created moments ago) are
//!   retried for a bounded window, well inside the create timeout, then explained.
//! - `RoleAssignmentExists` (the same scope, role and principal under another name) is adopted:
//!   the state records the existing assignment's name.
//! - Built-in roles named in [`BUILT_IN_ROLES`] resolve without a request (their GUIDs are the same
//!   in every Azure cloud); other names are looked up once at the scope.
//! - Delete waits until ARM no longer returns the assignment, so a custom role deleted next does
//!   not race with it.
//!
//! Import id: the assignment's resource id,
//! `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::azure::arm::{
    ArmClient, NETWORK_CONTRIBUTOR_ROLE_GUID, PrincipalType, RoleAssignment, RoleAssignmentFilter,
    codes,
};
use crate::azure::ids::{RoleAssignmentId, RoleDefinitionId, role_assignment_name};
use crate::cloud::{CallContext, CloudError, PollStep, poll_until};
use crate::framework::ListResource;
use crate::framework::model::not_known;
use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Identity, IdentityAttribute,
    Model, MoveSource, ObjectExt, PlannedChange, Resource, Schema, Timeouts, UpdateRequest,
    Validator, format_go_duration, model, validators,
};
use crate::resources::Ctx;
use crate::value::Value;
use std::sync::Arc;

use super::ProviderData;
use super::identity;
use super::support::{
    arm, call_context, checks, cloud_diagnostic, cloud_diagnostics, required_str,
};

/// Built-in roles resolved by name without asking ARM. Built-in role GUIDs are identical in
/// every tenant and cloud (docs/development/arm.md, 'Role definitions'); role names are unique per
/// tenant, so no custom role can shadow them.
pub const BUILT_IN_ROLES: [(&str, Uuid); 5] = [
    ("Network Contributor", NETWORK_CONTRIBUTOR_ROLE_GUID),
    (
        "Owner",
        Uuid::from_u128(0x8e3af657_a8ff_443c_a75c_2fe8c4bcb635),
    ),
    (
        "Contributor",
        Uuid::from_u128(0xb24988ac_6180_42a0_ab88_20f7382dd24c),
    ),
    (
        "Reader",
        Uuid::from_u128(0xacdd72a7_3385_48ef_bd42_f606fba81ae7),
    ),
    (
        "User Access Administrator",
        Uuid::from_u128(0x18d7d88d_d35e_4fb5_a5c3_7773c20a72d9),
    ),
];

/// Longest time a create keeps retrying `PrincipalNotFound` / `RoleDefinitionDoesNotExist`:
/// Entra ID and ARM replicate new objects within seconds, rarely a minute or two.
pub const REPLICATION_WINDOW: Duration = Duration::from_secs(120);

const PRINCIPAL_TYPES: [&str; 4] = ["ServicePrincipal", "User", "Group", "ForeignGroup"];

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
                    .validate(role_definition_id()),
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
                && let Some(guid) = built_in_guid(name)
            {
                plan.set(
                    Assignment::role_definition_id,
                    Value::string(canonical_role_id(scope, guid)),
                );
            }
            if let Some(text) = config_id.as_str()
                && let Ok(id) = RoleDefinitionId::parse(text)
            {
                plan.set(
                    Assignment::role_definition_name,
                    built_in_name_value(id.guid),
                );
            }
            return Ok(());
        }
        // Update: the role of an assignment cannot change. Compare roles by GUID, not by
        // spelling, so another form of the same id is an in-place (state-only) update.
        let prior_guid = plan
            .prior
            .attr_str(Assignment::role_definition_id)
            .and_then(|text| RoleDefinitionId::parse(text).ok())
            .map(|id| id.guid);
        let mut other_role: Option<&str> = None;
        match &config_id {
            Value::Unknown(_) => other_role = Some(Assignment::role_definition_id),
            Value::String(text) => {
                let guid = RoleDefinitionId::parse(text).ok().map(|id| id.guid);
                if guid.is_none() || guid != prior_guid {
                    other_role = Some(Assignment::role_definition_id);
                }
            }
            _ => {}
        }
        match &config_name {
            Value::Unknown(_) => other_role = Some(Assignment::role_definition_name),
            Value::String(name) => match plan.prior.attr_str(Assignment::role_definition_name) {
                Some(prior) if prior.eq_ignore_ascii_case(name) => {}
                Some(_) => other_role = Some(Assignment::role_definition_name),
                // Imported (or switched from id to name): compare when the name is a built-in;
                // other names are checked against the assigned role at apply (see `update`).
                None => {
                    if built_in_guid(name).is_some_and(|guid| Some(guid) != prior_guid) {
                        other_role = Some(Assignment::role_definition_name);
                    }
                }
            },
            _ => {}
        }
        if let Some(path) = other_role {
            plan.require_replace(path);
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let mut assignment = Assignment::from_value(&request.planned)?;
        let scope = assignment.scope.clone();
        let principal_id = assignment.principal_id.clone();
        let principal_type = PrincipalType::parse(&assignment.principal_type)
            .unwrap_or(PrincipalType::ServicePrincipal);
        let arm = arm(ctx)?;
        let call = call_context(ctx);
        let window = replication_window(ctx.timeout());
        let role = resolve_role(&arm, &call, &assignment, window).await?;
        let name = role_assignment_name(&scope, role.guid, &principal_id);
        let outcome = put_assignment(
            &arm,
            &call,
            window,
            &scope,
            name,
            &role,
            &principal_id,
            principal_type,
        )
        .await?;
        let name = match outcome {
            Put::Created(created) => created.name,
            Put::Exists => adopt_existing(&arm, &call, &scope, role.guid, &principal_id).await?,
        };
        let name = Uuid::parse_str(&name)
            .map(|guid| guid.to_string())
            .unwrap_or(name);
        assignment.id = Value::string(format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        ));
        assignment.name = Value::string(name);
        if !assignment.role_definition_id.is_known() || assignment.role_definition_id.is_null() {
            assignment.role_definition_id = Value::string(canonical_role_id(&scope, role.guid));
        }
        if !assignment.role_definition_name.is_known() {
            assignment.role_definition_name = built_in_name_value(role.guid);
        }
        assignment.principal_type = principal_type.as_str().to_owned();
        let mut state = request.planned;
        assignment.write_to(&mut state);
        Ok(state)
    }

    async fn read(&self, ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let id = state_assignment_id(&state)?;
        let arm = arm(ctx)?;
        let Some(assignment) = arm
            .get_role_assignment(&call_context(ctx), &id)
            .await
            .map_err(|error| cloud_diagnostics("Could not read the role assignment", &error))?
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
        ) && built_in_guid(name).is_none()
        {
            let assigned = state_role_guid(&request.prior)?;
            let scope = required_str(&planned, Assignment::scope)?;
            let arm = arm(ctx)?;
            let call = call_context(ctx);
            let named = find_role_by_name(&arm, &call, &scope, name)
                .await
                .map_err(|error| {
                    Failure::from(cloud_diagnostic(
                        format!("Could not look up the role \"{name}\""),
                        &error,
                    ))
                })?;
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
        let arm = arm(ctx)?;
        let call = call_context(ctx);
        let failed = |error: CloudError| {
            cloud_diagnostics(
                format!("Could not delete the role assignment {}", id.name),
                &error,
            )
        };
        arm.delete_role_assignment(&call, &id)
            .await
            .map_err(failed)?;
        let (arm_ref, call_ref, id_ref) = (&arm, &call, &id);
        let what = format!("waiting for the role assignment {} to disappear", id.name);
        poll_until(&call, &what, move || async move {
            Ok(match arm_ref.get_role_assignment(call_ref, id_ref).await? {
                None => PollStep::Done(()),
                Some(_) => PollStep::pending("still returned by Azure Resource Manager"),
            })
        })
        .await
        .map_err(failed)
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let parsed = RoleAssignmentId::parse(id).map_err(|error| {
            Diagnostics::from(Diagnostic::error(
                "Invalid import id for vnetpeer_role_assignment",
                format!("{error}."),
            ))
        })?;
        if let Err(reason) = assignment_scope().check(&Value::string(parsed.scope.clone())) {
            return Err(Diagnostic::error(
                "Invalid import id for vnetpeer_role_assignment",
                format!("The scope of {id:?} is invalid: {reason}."),
            )
            .into());
        }
        // `read` fills in the rest.
        Ok(Value::object([
            (Assignment::id, Value::string(parsed.to_string())),
            (Assignment::scope, Value::string(parsed.scope.clone())),
            (Assignment::name, Value::string(parsed.name.to_string())),
        ]))
    }
}

/// An ARM scope a role can be assigned at: `/subscriptions/{id}`, a resource group under it, or
/// a resource (or child resource) id under that.
fn assignment_scope() -> Validator {
    Validator::string(
        "an ARM scope: `/subscriptions/{id}`, `/subscriptions/{id}/resourceGroups/{name}` or a \
         resource id such as a virtual network's",
        |text| {
            let segments: Vec<&str> = text.split('/').collect();
            let is = |index: usize, name: &str| {
                segments
                    .get(index)
                    .is_some_and(|s| s.eq_ignore_ascii_case(name))
            };
            let shape_ok = match segments.len() {
                3 => true,
                5 => is(3, "resourceGroups"),
                // providers/{namespace}/{type}/{name}, then {type}/{name} pairs for children.
                n if n >= 9 && n % 2 == 1 => is(3, "resourceGroups") && is(5, "providers"),
                _ => false,
            };
            let ok = shape_ok
                && segments[0].is_empty()
                && is(1, "subscriptions")
                && segments.get(2).is_some_and(|s| checks::is_uuid(s))
                && segments[1..].iter().all(|s| !s.is_empty());
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{text:?} is not a subscription, resource group or resource id"
                ))
            }
        },
    )
}

/// A role definition resource id, in the subscription-scoped or tenant-level form.
fn role_definition_id() -> Validator {
    Validator::string(
        "a role definition resource id such as \
         `/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid}`",
        |text| {
            RoleDefinitionId::parse(text)
                .map(|_| ())
                .map_err(|error| error.to_string())
        },
    )
}

/// How long a create retries replication errors: [`REPLICATION_WINDOW`], or half the create
/// timeout when that is shorter, so the explanation comes well before the timeout.
fn replication_window(timeout: Duration) -> Duration {
    REPLICATION_WINDOW.min(timeout / 2)
}

fn built_in_guid(name: &str) -> Option<Uuid> {
    BUILT_IN_ROLES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
        .map(|(_, guid)| *guid)
}

/// The table's name for a built-in role GUID, else null (custom roles are not looked up).
fn built_in_name_value(guid: Uuid) -> Value {
    BUILT_IN_ROLES
        .iter()
        .find(|(_, known)| *known == guid)
        .map_or(Value::Null, |(name, _)| Value::string(*name))
}

/// Role `guid` at the subscription of `scope` (validated as `/subscriptions/{id}/...`).
fn role_at_subscription_of(scope: &str, guid: Uuid) -> RoleDefinitionId {
    let subscription = scope.split('/').nth(2).unwrap_or_default();
    RoleDefinitionId::new(&format!("/subscriptions/{subscription}"), guid)
}

/// `/subscriptions/{subscription of scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`:
/// the form recorded when the role was given by name or imported.
fn canonical_role_id(scope: &str, guid: Uuid) -> String {
    role_at_subscription_of(scope, guid).to_string()
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
    RoleDefinitionId::parse(&text)
        .map(|id| id.guid)
        .map_err(|error| {
            Diagnostics::from(Diagnostic::error(
                "Invalid role_definition_id",
                error.to_string(),
            ))
        })
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
        .map(str::to_owned)
        .ok_or_else(|| Diagnostics::from(not_known(Assignment::role_definition_name)))?;
    if let Some(guid) = built_in_guid(&name) {
        return Ok(role_at_subscription_of(scope, guid));
    }
    let waiting = call.narrowed(window);
    let what = format!("waiting for a role named \"{name}\" to be visible at {scope}");
    let name_ref = name.as_str();
    let found = poll_until(&waiting, &what, move || async move {
        Ok(match find_role_by_name(arm, call, scope, name_ref).await? {
            Some(guid) => PollStep::Done(guid),
            None => PollStep::pending("no such role listed"),
        })
    })
    .await;
    match found {
        Ok(guid) => Ok(role_at_subscription_of(scope, guid)),
        Err(CloudError::DeadlineExceeded { .. }) if call.check("").is_ok() => {
            Err(Diagnostic::error(
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
            .into())
        }
        Err(error) => Err(cloud_diagnostics(
            format!("Could not look up the role \"{name}\""),
            &error,
        )),
    }
}

/// The GUID of the role named `name` at `scope`, if ARM lists one.
async fn find_role_by_name(
    arm: &ArmClient,
    call: &CallContext,
    scope: &str,
    name: &str,
) -> Result<Option<Uuid>, CloudError> {
    let definitions = arm.list_role_definitions_by_name(call, scope, name).await?;
    Ok(definitions
        .iter()
        .filter(|definition| definition.properties.role_name.eq_ignore_ascii_case(name))
        .find_map(|definition| {
            Uuid::parse_str(&definition.name).ok().or_else(|| {
                RoleDefinitionId::parse(&definition.id)
                    .ok()
                    .map(|id| id.guid)
            })
        }))
}

/// What the PUT achieved.
enum Put {
    Created(RoleAssignment),
    /// The same scope, role and principal are assigned under another name.
    Exists,
}

/// The PUT, retrying the replication errors within `window`; then a diagnostic that says what
/// to check.
#[allow(clippy::too_many_arguments)]
async fn put_assignment(
    arm: &ArmClient,
    call: &CallContext,
    window: Duration,
    scope: &str,
    name: Uuid,
    role: &RoleDefinitionId,
    principal_id: &str,
    principal_type: PrincipalType,
) -> Result<Put, Failure> {
    let waiting = call.narrowed(window);
    let last_replication_error: Mutex<Option<CloudError>> = Mutex::new(None);
    let last = &last_replication_error;
    let what = format!(
        "waiting for Azure to see principal {principal_id} and role {}",
        role.guid
    );
    let outcome = poll_until(&waiting, &what, move || async move {
        match arm
            .put_role_assignment(call, scope, name, role, principal_id, principal_type)
            .await
        {
            Ok(assignment) => Ok(PollStep::Done(Put::Created(assignment))),
            Err(error) if error.has_code(codes::ROLE_ASSIGNMENT_EXISTS) => {
                Ok(PollStep::Done(Put::Exists))
            }
            Err(error)
                if error.has_code(codes::PRINCIPAL_NOT_FOUND)
                    || error.has_code("RoleDefinitionDoesNotExist") =>
            {
                let observed = error.code().unwrap_or_default().to_owned();
                if let Ok(mut slot) = last.lock() {
                    *slot = Some(error);
                }
                Ok(PollStep::pending(observed))
            }
            Err(error) => Err(error),
        }
    })
    .await;
    let error = match outcome {
        Ok(put) => return Ok(put),
        Err(error) => error,
    };
    let replication_error = last_replication_error
        .lock()
        .ok()
        .and_then(|mut slot| slot.take());
    match (error, replication_error) {
        // The window closed (not the create timeout, not a cancellation).
        (CloudError::DeadlineExceeded { .. }, Some(last)) if call.check("").is_ok() => Err(
            replication_failure(&last, window, scope, principal_id, principal_type, role).into(),
        ),
        (error, _) => {
            let mut diagnostic = cloud_diagnostic(
                format!(
                    "Could not assign role {} to principal {principal_id}",
                    role.guid
                ),
                &error,
            );
            if error.has_code(codes::AUTHORIZATION_FAILED) {
                diagnostic.detail.push_str(
                    "\n\nAssigning roles needs Microsoft.Authorization/roleAssignments/write at \
                     the scope, e.g. the Owner, User Access Administrator or Role Based Access \
                     Control Administrator role.",
                );
            } else if error.has_code("UnmatchedPrincipalType") {
                diagnostic.detail.push_str(
                    "\n\nSet principal_type to the kind of principal that principal_id names.",
                );
                diagnostic = diagnostic.at(Assignment::principal_type);
            }
            Err(diagnostic.into())
        }
    }
}

/// The explanation once the replication window has passed.
fn replication_failure(
    last: &CloudError,
    window: Duration,
    scope: &str,
    principal_id: &str,
    principal_type: PrincipalType,
    role: &RoleDefinitionId,
) -> Diagnostic {
    let waited = format_go_duration(window);
    if last.has_code(codes::PRINCIPAL_NOT_FOUND) {
        Diagnostic::error(
            format!("principal_id {principal_id} does not exist in the tenant"),
            format!(
                "Azure Resource Manager answered PrincipalNotFound for {waited}: no {} with \
                 object id {principal_id} exists in the tenant that owns {scope}. Check that \
                 principal_id is an object id, not a client (application) id: for an application \
                 use its service principal's object id (`az ad sp show --id <client id> --query \
                 id`); that the principal lives in this tenant; and that principal_type ({}) is \
                 its kind. A principal created moments ago can take longer to replicate: then run \
                 apply again.\n\nLast answer: {last}",
                principal_type.as_str(),
                principal_type.as_str()
            ),
        )
        .at(Assignment::principal_id)
    } else {
        Diagnostic::error(
            format!("Role {} does not exist at the scope", role.guid),
            format!(
                "Azure Resource Manager answered RoleDefinitionDoesNotExist for {waited}. Check \
                 role_definition_id, and that the role's assignable_scopes include {scope}.\n\n\
                 Last answer: {last}"
            ),
        )
        .at(Assignment::role_definition_id)
    }
}

/// `RoleAssignmentExists`: the name of the assignment of `role` to `principal_id` at exactly
/// `scope` (one list request), which the state then records.
async fn adopt_existing(
    arm: &ArmClient,
    call: &CallContext,
    scope: &str,
    role: Uuid,
    principal_id: &str,
) -> Result<String, Failure> {
    let assignments = arm
        .list_role_assignments(
            call,
            scope,
            &RoleAssignmentFilter::PrincipalId(principal_id.to_owned()),
        )
        .await
        .map_err(|error| {
            Failure::from(cloud_diagnostic(
                "The role is already assigned under another name, and listing assignments failed",
                &error,
            ))
        })?;
    let wanted_scope = scope.trim_end_matches('/');
    let same_triple = |assignment: &&RoleAssignment| {
        let assignment_scope = assignment
            .properties
            .scope
            .clone()
            .or_else(|| {
                RoleAssignmentId::parse(&assignment.id)
                    .ok()
                    .map(|id| id.scope)
            })
            .unwrap_or_default();
        assignment_scope
            .trim_end_matches('/')
            .eq_ignore_ascii_case(wanted_scope)
            && assignment
                .properties
                .principal_id
                .eq_ignore_ascii_case(principal_id)
            && RoleDefinitionId::parse(&assignment.properties.role_definition_id)
                .is_ok_and(|id| id.guid == role)
    };
    match assignments.iter().find(same_triple) {
        Some(existing) => {
            tracing::info!(
                assignment = %existing.id,
                "adopting the identical role assignment that already exists"
            );
            Ok(existing.name.clone())
        }
        None => Err(Diagnostic::error(
            "The role is already assigned under another name",
            format!(
                "Azure Resource Manager answered RoleAssignmentExists for role {role}, principal \
                 {principal_id} at {scope}, but lists no such assignment at exactly that scope. \
                 Find it with `az role assignment list --assignee {principal_id} --scope {scope}` \
                 and import it, or delete it, then apply again."
            ),
        )
        .into()),
    }
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
    if state.attr_str(Assignment::scope).is_none() {
        state.set_attr(Assignment::scope, id.scope.clone());
    }
    let scope = state
        .attr_str(Assignment::scope)
        .unwrap_or_default()
        .to_owned();
    state.set_attr(
        Assignment::id,
        RoleAssignmentId::new(&scope, id.name).to_string(),
    );
    let role = RoleDefinitionId::parse(&properties.role_definition_id).map_err(|error| {
        Diagnostics::from(Diagnostic::error(
            "Azure returned an unexpected role definition id",
            error.to_string(),
        ))
    })?;
    let prior_role = state
        .attr_str(Assignment::role_definition_id)
        .and_then(|text| RoleDefinitionId::parse(text).ok());
    if prior_role.is_none_or(|prior| !prior.same_role(&role)) {
        state.set_attr(
            Assignment::role_definition_id,
            canonical_role_id(&scope, role.guid),
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
    Identity {
        version: 0,
        attributes: vec![
            IdentityAttribute::required(
                "scope",
                "The ARM scope of the assignment: a subscription, resource group or resource \
                 id, e.g. the virtual network's id.",
            ),
            IdentityAttribute::required("name", "The assignment's name (a GUID)."),
        ],
        of_state: |state| {
            identity::from_state(
                state,
                &[("scope", Assignment::scope), ("name", Assignment::name)],
            )
        },
        import_id: |parts| {
            Ok(format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                identity::part(parts, "scope")?.trim_end_matches('/'),
                identity::part(parts, "name")?
            ))
        },
    }
}

/// `moved` from azurerm's `azurerm_role_assignment` (its `id`, the assignment's resource id):
/// the state an import by that id gives.
fn moved_from(source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
    if !source.is("azurerm", "azurerm_role_assignment") {
        return None;
    }
    Some(source.required("id").and_then(|id| {
        let parsed = RoleAssignmentId::parse(id).map_err(|error| {
            Diagnostics::from(Diagnostic::error(
                "Cannot move azurerm_role_assignment",
                format!("Its `id` is not a role assignment id: {error}."),
            ))
        })?;
        Ok(Value::object([
            (Assignment::id, Value::string(parsed.to_string())),
            (Assignment::scope, Value::string(parsed.scope.clone())),
            (Assignment::name, Value::string(parsed.name.to_string())),
        ]))
    }))
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

    #[test]
    fn scopes_in_every_arm_form_and_nothing_else() {
        let check = |text: &str| assignment_scope().check(&Value::string(text));
        assert!(check(&format!("/subscriptions/{SUB}")).is_ok());
        assert!(check(&format!("/subscriptions/{SUB}/resourceGroups/rg")).is_ok());
        assert!(check(&vnet()).is_ok());
        assert!(check(&format!("{}/subnets/default", vnet())).is_ok());
        for bad in [
            "/".to_owned(),
            format!("/subscriptions/{SUB}/"),
            "/subscriptions/not-a-guid".to_owned(),
            format!("/subscriptions/{SUB}/resourceGroups"),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network"),
            format!("/subscriptions/{SUB}/resourceGroups/rg/things/Microsoft.Network/x/y"),
            format!("subscriptions/{SUB}"),
        ] {
            assert!(check(&bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn built_in_names_resolve_case_insensitively_to_the_documented_guids() {
        assert_eq!(
            built_in_guid("network contributor"),
            Some(NETWORK_CONTRIBUTOR_ROLE_GUID)
        );
        assert_eq!(
            built_in_guid("Network Contributor").map(|g| g.to_string()),
            Some("4d97b98b-1d4f-4787-a291-c67834d212e7".to_owned())
        );
        assert_eq!(built_in_guid("Aiven VNet peering"), None);
        assert_eq!(
            built_in_name_value(NETWORK_CONTRIBUTOR_ROLE_GUID),
            Value::string("Network Contributor")
        );
        assert_eq!(
            canonical_role_id(&vnet(), NETWORK_CONTRIBUTOR_ROLE_GUID),
            format!(
                "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
            )
        );
    }

    #[test]
    fn the_replication_window_ends_well_before_the_timeout() {
        assert_eq!(
            replication_window(Duration::from_secs(600)),
            REPLICATION_WINDOW
        );
        assert_eq!(
            replication_window(Duration::from_secs(4)),
            Duration::from_secs(2)
        );
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
            Some(canonical_role_id(&vnet(), NETWORK_CONTRIBUTOR_ROLE_GUID).as_str())
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
