//! Microsoft.Authorization: role definitions and role assignments at tenant, subscription,
//! resource-group and VNet scope (docs/development/arm.md, 'ARM: Microsoft.Authorization
//! (api-version `2022-04-01`)').

use std::collections::HashMap;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ArmCall, ArmError, Context, Namespace, json_response, respond};
use crate::emulator::EmulatorState;
use crate::world::arm::{
    Permission, RoleAssignment, RoleDefinition, normalize_scope, role_definition_guid, scope_covers,
};

const PROVIDER: &str = "/providers/Microsoft.Authorization/";

const SCOPES: [&str; 4] = [
    "",
    "/subscriptions/{subscription_id}",
    "/subscriptions/{subscription_id}/resourceGroups/{resource_group}",
    "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{vnet}",
];

pub(super) fn routes() -> Router<EmulatorState> {
    let mut router = Router::new();
    for scope in SCOPES {
        router = router
            .route(
                &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions"),
                get(list_role_definitions),
            )
            .route(
                &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{{role_definition_id}}"),
                get(get_role_definition)
                    .put(put_role_definition)
                    .delete(delete_role_definition),
            );
        if !scope.is_empty() {
            router = router
                .route(
                    &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
                    get(list_role_assignments),
                )
                .route(
                    &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{{role_assignment_name}}"),
                    get(get_role_assignment)
                        .put(put_role_assignment)
                        .delete(delete_role_assignment),
                );
        }
    }
    router
}

type Params = HashMap<String, String>;

/// The scope part of an Authorization path, as sent (everything before
/// `/providers/Microsoft.Authorization/`).
fn scope_of(path: &str) -> String {
    path.rfind(PROVIDER)
        .map_or_else(String::new, |index| path[..index].to_owned())
}

/// A checked scope: as sent, its tenant and subscription.
struct Scope {
    path: String,
    tenant_id: String,
    subscription_id: Option<String>,
}

/// Checks that the scope exists and that the token's tenant may use it.
fn resolve_scope(ctx: &Context<'_>, params: &Params) -> Result<Scope, ArmError> {
    let path = scope_of(&ctx.path);
    let Some(subscription_id) = params.get("subscription_id") else {
        return Ok(Scope {
            path,
            tenant_id: ctx.principal.tenant_id.clone(),
            subscription_id: None,
        });
    };
    ctx.check_subscription(subscription_id)?;
    if let Some(resource_group) = params.get("resource_group") {
        ctx.check_resource_group(subscription_id, resource_group)?;
        if let Some(vnet) = params.get("vnet")
            && ctx
                .world
                .arm
                .vnet(subscription_id, resource_group, vnet)
                .is_none()
        {
            return Err(ArmError::vnet_not_found(resource_group, vnet));
        }
    }
    let subscription = ctx
        .world
        .arm
        .subscription(subscription_id)
        .ok_or_else(|| ArmError::subscription_not_found(subscription_id))?;
    Ok(Scope {
        path,
        tenant_id: subscription.tenant_id.clone(),
        subscription_id: Some(subscription.subscription_id.clone()),
    })
}

/// ARM's timestamp format (7 fractional digits, `Z`).
fn arm_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

fn is_guid(text: &str) -> bool {
    Uuid::parse_str(text).is_ok() && text.len() == 36
}

// ----- role definitions -----------------------------------------------------------------------

fn role_definition_json(definition: &RoleDefinition, subscription_id: Option<&str>) -> Value {
    let prefix = subscription_id.map_or_else(String::new, |s| format!("/subscriptions/{s}"));
    json!({
        "id": format!("{prefix}/providers/Microsoft.Authorization/roleDefinitions/{}", definition.name),
        "name": definition.name,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": definition.role_name,
            "type": definition.role_type,
            "description": definition.description,
            "assignableScopes": definition.assignable_scopes,
            "permissions": definition
                .permissions
                .iter()
                .map(|p| json!({
                    "actions": p.actions,
                    "notActions": p.not_actions,
                    "dataActions": p.data_actions,
                    "notDataActions": p.not_data_actions,
                }))
                .collect::<Vec<_>>(),
            "createdOn": definition.created_on,
            "updatedOn": definition.updated_on,
            "createdBy": definition.created_by,
            "updatedBy": definition.updated_by,
        },
    })
}

/// Whether a custom definition is visible at `scope` (assignable there or, with `below`, at a
/// scope under it). Built-ins are visible everywhere.
fn visible_at(definition: &RoleDefinition, scope: &str, below: bool) -> bool {
    definition.tenant_id.is_none()
        || scope.is_empty()
        || definition.assignable_scopes.iter().any(|assignable| {
            scope_covers(assignable, scope) || (below && scope_covers(scope, assignable))
        })
}

fn role_definition_not_found(guid: &str) -> ArmError {
    ArmError::not_found(
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{guid}' does not exist."),
    )
}

async fn get_role_definition(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let guid = params
            .get("role_definition_id")
            .map(|g| g.to_ascii_lowercase())
            .unwrap_or_default();
        let definition = ctx
            .world
            .arm
            .role_definition(&scope.tenant_id, &guid)
            .filter(|d| visible_at(d, &scope.path, false))
            .ok_or_else(|| role_definition_not_found(&guid))?;
        Ok(json_response(
            StatusCode::OK,
            role_definition_json(definition, scope.subscription_id.as_deref()),
        ))
    })())
}

/// A parsed role-definition `$filter`.
#[derive(Default)]
struct DefinitionFilter {
    role_name: Option<String>,
    role_type: Option<String>,
    below: bool,
}

/// The quoted value of `name eq 'value'` (quotes doubled inside, OData style).
fn eq_value<'a>(clause: &'a str, name: &str) -> Option<&'a str> {
    let rest = clause.trim();
    let lower = rest.to_ascii_lowercase();
    let prefix = format!("{} eq ", name.to_ascii_lowercase());
    if !lower.starts_with(&prefix) {
        return None;
    }
    let value = rest[prefix.len()..].trim();
    value.strip_prefix('\'')?.strip_suffix('\'')
}

fn parse_definition_filter(filter: Option<&String>) -> Result<DefinitionFilter, ArmError> {
    let mut parsed = DefinitionFilter::default();
    let Some(filter) = filter else {
        return Ok(parsed);
    };
    for clause in filter.split(" and ") {
        let clause = clause.trim();
        if let Some(name) = eq_value(clause, "roleName") {
            parsed.role_name = Some(name.replace("''", "'"));
        } else if let Some(kind) = eq_value(clause, "type") {
            parsed.role_type = Some(kind.to_owned());
        } else if clause.eq_ignore_ascii_case("atScopeAndBelow()") {
            parsed.below = true;
        } else {
            return Err(ArmError::bad_request(
                "InvalidFilterInQueryString",
                format!(
                    "The filter '{filter}' is not supported. Supported filters: roleName eq '{{name}}', type eq '{{type}}', atScopeAndBelow()."
                ),
            ));
        }
    }
    Ok(parsed)
}

async fn list_role_definitions(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let query = &call.query;
        let filter = parse_definition_filter(query.get("$filter"))?;
        let value: Vec<Value> = ctx
            .world
            .arm
            .role_definitions_of_tenant(&scope.tenant_id)
            .iter()
            .filter(|d| visible_at(d, &scope.path, filter.below))
            .filter(|d| {
                filter
                    .role_name
                    .as_ref()
                    .is_none_or(|name| d.role_name.eq_ignore_ascii_case(name))
            })
            .filter(|d| {
                filter
                    .role_type
                    .as_ref()
                    .is_none_or(|kind| d.role_type.eq_ignore_ascii_case(kind))
            })
            .map(|d| role_definition_json(d, scope.subscription_id.as_deref()))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            json!({"value": value, "nextLink": null}),
        ))
    })())
}

fn invalid_definition(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidRoleDefinition", message)
}

fn string_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, ArmError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    ArmError::invalid_content(format!("'{field}' must hold strings"))
                })
            })
            .collect(),
        Some(_) => Err(ArmError::invalid_content(format!(
            "'{field}' must be an array"
        ))),
    }
}

async fn put_role_definition(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let guid = params
            .get("role_definition_id")
            .cloned()
            .unwrap_or_default();
        ctx.authorize(
            "Microsoft.Authorization/roleDefinitions/write",
            &format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                scope.path
            ),
        )?;
        if !is_guid(&guid) {
            return Err(ArmError::bad_request(
                "InvalidRoleDefinitionId",
                format!(
                    "The role definition ID '{guid}' is not valid. The role definition ID must be a GUID."
                ),
            ));
        }
        let guid = guid.to_ascii_lowercase();
        if scope.subscription_id.is_none() {
            return Err(invalid_definition(
                "Custom role definitions cannot be created at the tenant root scope '/'.",
            ));
        }
        let value: Value = serde_json::from_slice(&call.body).map_err(ArmError::invalid_content)?;
        let properties = value
            .get("properties")
            .filter(|p| p.is_object())
            .ok_or_else(|| ArmError::invalid_content("the body has no 'properties' object"))?;
        let role_name = properties
            .get("roleName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                invalid_definition(
                    "The role definition name (properties.roleName) cannot be null or empty.",
                )
            })?
            .to_owned();
        if role_name.chars().count() > 512 {
            return Err(invalid_definition(
                "The role definition name exceeds 512 characters.",
            ));
        }
        let description = properties
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if description.chars().count() > 2048 {
            return Err(invalid_definition(
                "The role definition description exceeds 2048 characters.",
            ));
        }
        let permissions = match properties.get("permissions") {
            Some(Value::Array(blocks)) => blocks
                .iter()
                .map(|block| {
                    Ok(Permission {
                        actions: string_list(block.get("actions"), "permissions.actions")?,
                        not_actions: string_list(
                            block.get("notActions"),
                            "permissions.notActions",
                        )?,
                        data_actions: string_list(
                            block.get("dataActions"),
                            "permissions.dataActions",
                        )?,
                        not_data_actions: string_list(
                            block.get("notDataActions"),
                            "permissions.notDataActions",
                        )?,
                    })
                })
                .collect::<Result<Vec<_>, ArmError>>()?,
            _ => Vec::new(),
        };
        if !permissions
            .iter()
            .any(|p| !p.actions.is_empty() || !p.data_actions.is_empty())
        {
            return Err(invalid_definition(
                "The role definition must grant at least one action or data action.",
            ));
        }
        let assignable_scopes =
            string_list(properties.get("assignableScopes"), "assignableScopes")?;
        if assignable_scopes.is_empty() {
            return Err(invalid_definition(
                "The role definition must have at least one assignable scope.",
            ));
        }
        for assignable in &assignable_scopes {
            if assignable.trim() == "/" || assignable.contains('*') {
                return Err(invalid_definition(format!(
                    "The assignable scope '{assignable}' is not allowed: the root scope '/' and wildcards cannot be used in custom role definitions."
                )));
            }
            let subscription = assignable
                .split('/')
                .nth(2)
                .filter(|_| {
                    assignable
                        .to_ascii_lowercase()
                        .starts_with("/subscriptions/")
                })
                .and_then(|s| ctx.world.arm.tenant_of_subscription(s));
            if !subscription.is_some_and(|tenant| tenant.eq_ignore_ascii_case(&scope.tenant_id)) {
                return Err(invalid_definition(format!(
                    "The assignable scope '{assignable}' is not a valid scope of this tenant."
                )));
            }
        }
        if let Some(clash) = ctx
            .world
            .arm
            .role_definitions_of_tenant(&scope.tenant_id)
            .into_iter()
            .find(|d| d.name != guid && d.role_name.eq_ignore_ascii_case(&role_name))
        {
            tracing::debug!(existing = %clash.name, "role name clash");
            return Err(ArmError::conflict(
                "RoleDefinitionWithSameNameExists",
                "A role definition cannot be updated with a name that already exists.",
            ));
        }
        if crate::world::arm::builtin_role_definitions()
            .iter()
            .any(|d| d.name == guid)
        {
            return Err(ArmError::authorization_failed(
                &ctx.principal,
                "Microsoft.Authorization/roleDefinitions/write",
                &format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            ));
        }
        let now_text = arm_time(ctx.state.clock.utc_at(ctx.now));
        let caller = ctx.principal.object_id.clone();
        let tenant = scope.tenant_id.clone();
        let existing = ctx
            .world
            .arm
            .role_definitions
            .iter()
            .position(|d| d.name == guid && d.tenant_id.as_deref() == Some(tenant.as_str()));
        let (created_on, created_by) = existing
            .map(|i| {
                let d = &ctx.world.arm.role_definitions[i];
                (d.created_on.clone(), d.created_by.clone())
            })
            .unwrap_or_else(|| (now_text.clone(), Some(caller.clone())));
        let definition = RoleDefinition {
            name: guid.clone(),
            role_name,
            description,
            role_type: "CustomRole".to_owned(),
            tenant_id: Some(tenant),
            permissions,
            assignable_scopes,
            created_on,
            updated_on: now_text,
            created_by,
            updated_by: Some(caller),
        };
        let body = role_definition_json(&definition, scope.subscription_id.as_deref());
        match existing {
            Some(index) => ctx.world.arm.role_definitions[index] = definition,
            None => ctx.world.arm.role_definitions.push(definition),
        }
        Ok(json_response(StatusCode::CREATED, body))
    })())
}

async fn delete_role_definition(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let guid = params
            .get("role_definition_id")
            .map(|g| g.to_ascii_lowercase())
            .unwrap_or_default();
        ctx.authorize(
            "Microsoft.Authorization/roleDefinitions/delete",
            &format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                scope.path
            ),
        )?;
        let tenant = scope.tenant_id.clone();
        let Some(index) = ctx.world.arm.role_definitions.iter().position(|d| {
            d.name == guid
                && d.tenant_id
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(&tenant))
        }) else {
            return Ok(super::empty(StatusCode::NO_CONTENT));
        };
        if ctx
            .world
            .arm
            .role_assignments
            .iter()
            .any(|a| a.role_definition_guid == guid && a.tenant_id.eq_ignore_ascii_case(&tenant))
        {
            return Err(ArmError::conflict(
                "RoleDefinitionHasAssignments",
                format!(
                    "There are existing role assignments referencing role '{guid}'. Delete them before deleting the role definition."
                ),
            ));
        }
        let removed = ctx.world.arm.role_definitions.remove(index);
        Ok(json_response(
            StatusCode::OK,
            role_definition_json(&removed, scope.subscription_id.as_deref()),
        ))
    })())
}

// ----- role assignments -----------------------------------------------------------------------

fn role_assignment_json(assignment: &RoleAssignment) -> Value {
    json!({
        "id": assignment.id(),
        "name": assignment.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            // The tenant-level form, as in the spec's example (docs/development/arm.md, 'Role
            // assignments'): clients compare role definition ids by their trailing GUID.
            "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{}", assignment.role_definition_guid),
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type,
            "scope": assignment.scope,
            "condition": null,
            "conditionVersion": null,
            "description": assignment.description,
            "createdOn": assignment.created_on,
            "updatedOn": assignment.created_on,
            "createdBy": assignment.created_by,
            "updatedBy": assignment.created_by,
            "delegatedManagedIdentityResourceId": null,
        },
    })
}

fn assignment_not_found(name: &str) -> ArmError {
    ArmError::not_found(
        "RoleAssignmentNotFound",
        format!("The role assignment '{name}' is not found."),
    )
}

fn assignment_path_name(params: &Params) -> String {
    params
        .get("role_assignment_name")
        .cloned()
        .unwrap_or_default()
}

async fn get_role_assignment(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let name = assignment_path_name(&params);
        ctx.authorize("Microsoft.Authorization/roleAssignments/read", &scope.path)?;
        let wanted = normalize_scope(&scope.path);
        let assignment = ctx
            .world
            .arm
            .role_assignments
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&name) && normalize_scope(&a.scope) == wanted)
            .ok_or_else(|| assignment_not_found(&name))?;
        Ok(json_response(
            StatusCode::OK,
            role_assignment_json(assignment),
        ))
    })())
}

const PRINCIPAL_TYPES: [&str; 5] = [
    "User",
    "Group",
    "ServicePrincipal",
    "ForeignGroup",
    "Device",
];

async fn put_role_assignment(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let name = assignment_path_name(&params);
        ctx.authorize("Microsoft.Authorization/roleAssignments/write", &scope.path)?;
        if !is_guid(&name) {
            return Err(ArmError::bad_request(
                "InvalidRoleAssignmentId",
                format!(
                    "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
                ),
            ));
        }
        let value: Value = serde_json::from_slice(&call.body).map_err(ArmError::invalid_content)?;
        let properties = value
            .get("properties")
            .filter(|p| p.is_object())
            .ok_or_else(|| ArmError::invalid_content("the body has no 'properties' object"))?;
        let required = |field: &str| -> Result<String, ArmError> {
            properties
                .get(field)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    ArmError::invalid_content(format!("'properties.{field}' is required"))
                })
        };
        let role_definition_id = required("roleDefinitionId")?;
        let principal_id = required("principalId")?.to_ascii_lowercase();
        let principal_type = properties
            .get("principalType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(kind) = &principal_type
            && !PRINCIPAL_TYPES.contains(&kind.as_str())
        {
            return Err(ArmError::invalid_content(format!(
                "'properties.principalType' must be one of {}",
                PRINCIPAL_TYPES.join(", ")
            )));
        }
        let description = properties
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let role_guid = role_definition_guid(&role_definition_id);
        if ctx
            .world
            .arm
            .role_definition(&scope.tenant_id, &role_guid)
            .is_none()
        {
            return Err(ArmError::bad_request(
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{role_guid}' does not exist."),
            ));
        }

        let wanted_scope = normalize_scope(&scope.path);
        if let Some(existing) = ctx
            .world
            .arm
            .role_assignments
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&name))
        {
            let same = normalize_scope(&existing.scope) == wanted_scope
                && existing.role_definition_guid == role_guid
                && existing.principal_id.eq_ignore_ascii_case(&principal_id);
            return if same {
                Ok(json_response(
                    StatusCode::OK,
                    role_assignment_json(existing),
                ))
            } else {
                Err(ArmError::bad_request(
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                ))
            };
        }
        if ctx.world.arm.role_assignments.iter().any(|a| {
            normalize_scope(&a.scope) == wanted_scope
                && a.role_definition_guid == role_guid
                && a.principal_id.eq_ignore_ascii_case(&principal_id)
        }) {
            return Err(ArmError::conflict(
                "RoleAssignmentExists",
                "The role assignment already exists.",
            ));
        }

        // Without principalType ARM looks the principal up in the directory, which fails inside
        // the replication window (docs/development/arm.md, 'Role assignment errors'); with it, ARM
        // trusts the caller.
        let actual_type = if ctx
            .world
            .identity
            .service_principal(&scope.tenant_id, &principal_id, ctx.now)
            .is_some()
        {
            Some("ServicePrincipal")
        } else if ctx
            .world
            .identity
            .users
            .get(&principal_id)
            .is_some_and(|user| user.tenant_id.eq_ignore_ascii_case(&scope.tenant_id))
        {
            Some("User")
        } else {
            None
        };
        let principal_type = match (principal_type, actual_type) {
            (Some(kind), Some(actual)) if kind != actual => {
                return Err(ArmError::bad_request(
                    "UnmatchedPrincipalType",
                    format!(
                        "The PrincipalType '{kind}' in the request does not match the type of principal {principal_id} ('{actual}')."
                    ),
                ));
            }
            (Some(kind), _) => kind,
            (None, Some(actual)) => actual.to_owned(),
            (None, None) => {
                return Err(ArmError::bad_request(
                    "PrincipalNotFound",
                    format!(
                        "Principal {} does not exist in the directory {}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                        principal_id.replace('-', ""),
                        scope.tenant_id
                    ),
                ));
            }
        };
        let assignment = RoleAssignment {
            name,
            scope: scope.path.trim_end_matches('/').to_owned(),
            tenant_id: scope.tenant_id.clone(),
            role_definition_guid: role_guid,
            principal_id,
            principal_type,
            description,
            created_on: arm_time(ctx.state.clock.utc_at(ctx.now)),
            created_by: Some(ctx.principal.object_id.clone()),
            created_at: Some(ctx.now),
        };
        let body = role_assignment_json(&assignment);
        ctx.world.arm.insert_role_assignment(assignment);
        Ok(json_response(StatusCode::CREATED, body))
    })())
}

async fn delete_role_assignment(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let mut ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        let name = assignment_path_name(&params);
        ctx.authorize(
            "Microsoft.Authorization/roleAssignments/delete",
            &scope.path,
        )?;
        let wanted = normalize_scope(&scope.path);
        let found = ctx
            .world
            .arm
            .role_assignments
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(&name) && normalize_scope(&a.scope) == wanted);
        if !found {
            return Ok(super::empty(StatusCode::NO_CONTENT));
        }
        match ctx.world.arm.remove_role_assignment(&name) {
            Some(removed) => Ok(json_response(
                StatusCode::OK,
                role_assignment_json(&removed),
            )),
            None => Ok(super::empty(StatusCode::NO_CONTENT)),
        }
    })())
}

/// A parsed role-assignment `$filter`.
#[derive(Default)]
struct AssignmentFilter {
    at_scope: bool,
    principal_id: Option<String>,
}

fn parse_assignment_filter(filter: Option<&String>) -> Result<AssignmentFilter, ArmError> {
    let mut parsed = AssignmentFilter::default();
    let Some(filter) = filter else {
        return Ok(parsed);
    };
    for clause in filter.split(" and ") {
        let clause = clause.trim();
        if clause.eq_ignore_ascii_case("atScope()") {
            parsed.at_scope = true;
        } else if let Some(id) = eq_value(clause, "principalId") {
            parsed.principal_id = Some(id.to_ascii_lowercase());
        } else if let Some(id) = clause
            .strip_prefix("assignedTo('")
            .and_then(|rest| rest.strip_suffix("')"))
        {
            parsed.principal_id = Some(id.to_ascii_lowercase());
        } else {
            return Err(ArmError::bad_request(
                "InvalidFilterInQueryString",
                format!(
                    "The filter '{filter}' is not supported. Supported filters: atScope(), principalId eq '{{id}}', assignedTo('{{id}}')."
                ),
            ));
        }
    }
    Ok(parsed)
}

async fn list_role_assignments(Path(params): Path<Params>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Authorization)?;
        let scope = resolve_scope(&ctx, &params)?;
        ctx.authorize("Microsoft.Authorization/roleAssignments/read", &scope.path)?;
        let query = &call.query;
        let filter = parse_assignment_filter(query.get("$filter"))?;
        let value: Vec<Value> = ctx
            .world
            .arm
            .role_assignments
            .iter()
            .filter(|a| a.tenant_id.eq_ignore_ascii_case(&scope.tenant_id))
            .filter(|a| {
                let above = scope_covers(&a.scope, &scope.path);
                let below = scope_covers(&scope.path, &a.scope);
                if filter.at_scope {
                    above
                } else {
                    above || below
                }
            })
            .filter(|a| {
                filter
                    .principal_id
                    .as_ref()
                    .is_none_or(|id| a.principal_id.eq_ignore_ascii_case(id))
            })
            .map(role_assignment_json)
            .collect();
        Ok(json_response(
            StatusCode::OK,
            json!({"value": value, "nextLink": null}),
        ))
    })())
}
