//! ARM's rules for role definitions, kept by the client so every caller follows them
//! (docs/development/arm.md, 'Role definitions' and 'Role definition errors').
//!
//! - **Built-in roles have one GUID everywhere.** The same GUID names a built-in role in every
//!   tenant and cloud, and role names are unique per tenant, so the roles of [`BUILT_IN_ROLES`]
//!   resolve by name without a request.
//! - **A role definition id has several forms.** ARM echoes a role as the tenant-level
//!   `/providers/…/roleDefinitions/{guid}` or at a scope; the GUID names the role.
//!   [`role_at_subscription_of`] is the form recorded for a role given by name.
//! - **A new custom role is not listed at once.** Role definitions are eventually consistent, so
//!   a lookup by name is repeated within a window ([`ArmClient::wait_for_role_named`]).
//! - **A role in use cannot be deleted.** The delete answers `RoleDefinitionHasAssignments` while
//!   assignments refer to the role, and assignments deleted moments ago still count for a while:
//!   the delete is repeated until it succeeds or the caller's wait ends
//!   ([`ArmClient::delete_role_definition_when_unassigned`]), which then lists the assignments
//!   that still use the role, with a bound of its own: the caller's deadline is nearly spent.

use std::time::Duration;

use uuid::Uuid;

use super::{
    ArmClient, NETWORK_CONTRIBUTOR_ROLE_GUID, Permission, RoleAssignment, RoleAssignmentFilter,
    RoleDefinition, RoleDefinitionProperties, codes,
};
use crate::azure::ids::{RoleDefinitionId, role_definition_guid};
use crate::cloud::{CallContext, CloudError, PollStep, poll_until};

/// Built-in roles resolved by name without asking ARM, by their names as ARM spells them.
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

/// `properties.type` of the roles a tenant defines.
pub const CUSTOM_ROLE: &str = "CustomRole";
/// `properties.type` of the roles Azure defines.
pub const BUILT_IN_ROLE: &str = "BuiltInRole";

/// The GUID of the built-in role `name` (ignoring case and surrounding blanks), if the table
/// knows it.
pub fn built_in_role_guid(name: &str) -> Option<Uuid> {
    BUILT_IN_ROLES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
        .map(|(_, guid)| *guid)
}

/// The table's name of the built-in role `guid`; `None` for other roles.
pub fn built_in_role_name(guid: Uuid) -> Option<&'static str> {
    BUILT_IN_ROLES
        .iter()
        .find(|(_, known)| *known == guid)
        .map(|(name, _)| *name)
}

/// Where the custom role `name` of `scope` is kept: its GUID is derived from both
/// ([`role_definition_guid`]), so it is known before the role exists and a repeated create
/// writes the same role instead of making a second.
pub fn custom_role_id(scope: &str, name: &str) -> RoleDefinitionId {
    RoleDefinitionId::new(scope, role_definition_guid(scope, name))
}

/// The GUID that names the role of a role definition id, whichever form the id has (ARM
/// compares roles by it); `None` when `id` is not a role definition id.
pub fn role_guid(id: &str) -> Option<Uuid> {
    RoleDefinitionId::parse(id).ok().map(|id| id.guid)
}

/// Role `guid` at the subscription of `scope` (`/subscriptions/{id}/...`): how ARM lists a role
/// at a subscription, whichever scope below it the role is assigned at.
pub fn role_at_subscription_of(scope: &str, guid: Uuid) -> RoleDefinitionId {
    let subscription = scope.split('/').nth(2).unwrap_or_default();
    RoleDefinitionId::new(&format!("/subscriptions/{subscription}"), guid)
}

impl RoleDefinitionProperties {
    /// The body of a custom role with one permission block.
    pub fn custom_role(
        role_name: String,
        description: Option<String>,
        actions: Vec<String>,
        not_actions: Vec<String>,
        assignable_scopes: Vec<String>,
    ) -> Self {
        Self {
            role_name,
            description,
            role_type: Some(CUSTOM_ROLE.to_owned()),
            permissions: vec![Permission {
                actions,
                not_actions,
                ..Permission::default()
            }],
            assignable_scopes,
        }
    }

    /// The `actions` of every permission block: a role written outside this provider may hold
    /// several, which together allow their union.
    pub fn all_actions(&self) -> Vec<String> {
        self.permissions
            .iter()
            .flat_map(|permission| permission.actions.iter().cloned())
            .collect()
    }

    /// The `notActions` of every permission block (see [`Self::all_actions`]).
    pub fn all_not_actions(&self) -> Vec<String> {
        self.permissions
            .iter()
            .flat_map(|permission| permission.not_actions.iter().cloned())
            .collect()
    }
}

impl RoleDefinition {
    /// `BuiltInRole` or `CustomRole` as ARM reports it (custom when ARM leaves it out).
    pub fn kind(&self) -> &str {
        self.properties.role_type.as_deref().unwrap_or(CUSTOM_ROLE)
    }

    /// Whether Azure defines the role (it cannot be written or deleted).
    pub fn is_built_in(&self) -> bool {
        self.kind().eq_ignore_ascii_case(BUILT_IN_ROLE)
    }
}

/// How long listing a role's assignments may take once its delete waited in vain.
const STILL_ASSIGNED_LOOKUP: Duration = Duration::from_secs(30);

/// What [`ArmClient::delete_role_definition_when_unassigned`] achieved.
#[derive(Debug)]
pub enum RoleDefinitionDeletion {
    /// The role is gone.
    Deleted,
    /// ARM still answered `RoleDefinitionHasAssignments` when the wait ended: the assignments
    /// that still use the role ([`ArmClient::assignments_of_role`], within
    /// [`STILL_ASSIGNED_LOOKUP`]), or why they could not be listed.
    StillAssigned(Result<Vec<RoleAssignment>, CloudError>),
}

impl ArmClient {
    /// The GUID of the role named `name` (ARM compares role names without case) that ARM lists
    /// at `scope`, if any.
    pub async fn find_role_by_name(
        &self,
        call: &CallContext,
        scope: &str,
        name: &str,
    ) -> Result<Option<Uuid>, CloudError> {
        let definitions = self
            .list_role_definitions_by_name(call, scope, name)
            .await?;
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

    /// [`Self::find_role_by_name`], asked again until ARM lists the role or `window` passes (a
    /// custom role created moments ago may not be listed yet): `Ok(None)` when the window
    /// closed first, an error when `call` ended (deadline or cancellation) or a lookup failed.
    pub async fn wait_for_role_named(
        &self,
        call: &CallContext,
        window: Duration,
        scope: &str,
        name: &str,
    ) -> Result<Option<Uuid>, CloudError> {
        let waiting = call.narrowed(window);
        let what = format!("waiting for a role named \"{name}\" to be visible at {scope}");
        let found = poll_until(&waiting, &what, || async {
            Ok(match self.find_role_by_name(call, scope, name).await? {
                Some(guid) => PollStep::Done(guid),
                None => PollStep::pending("no such role listed"),
            })
        })
        .await;
        match found {
            Ok(guid) => Ok(Some(guid)),
            // The window closed, not the caller's deadline, and nothing was cancelled.
            Err(CloudError::DeadlineExceeded { .. }) if call.check("").is_ok() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The role definition named `name` that ARM lists at `scope`, if any: which role holds a
    /// name when a write answered `RoleDefinitionWithSameNameExists` (role names are unique
    /// across the tenant, but a role is listed only where it is assignable).
    pub async fn role_definition_named(
        &self,
        call: &CallContext,
        scope: &str,
        name: &str,
    ) -> Result<Option<RoleDefinition>, CloudError> {
        Ok(self
            .list_role_definitions_by_name(call, scope, name)
            .await?
            .into_iter()
            .find(|definition| definition.properties.role_name.eq_ignore_ascii_case(name)))
    }

    /// Deletes the role definition, again while ARM answers `RoleDefinitionHasAssignments`
    /// (assignments deleted moments ago still count for a while), for at most `wait`: then
    /// [`RoleDefinitionDeletion::StillAssigned`] with the assignments that still use the role,
    /// unless `call` was cancelled.
    pub async fn delete_role_definition_when_unassigned(
        &self,
        call: &CallContext,
        wait: Duration,
        id: &RoleDefinitionId,
    ) -> Result<RoleDefinitionDeletion, CloudError> {
        let waiting = call.narrowed(wait);
        let what = format!(
            "waiting for the assignments of role {} to disappear",
            id.guid
        );
        let outcome = poll_until(&waiting, &what, || async {
            match self.delete_role_definition(call, id).await {
                Ok(()) => Ok(PollStep::Done(())),
                Err(error) if error.has_code(codes::ROLE_DEFINITION_HAS_ASSIGNMENTS) => {
                    Ok(PollStep::pending(error.message()))
                }
                Err(error) => Err(error),
            }
        })
        .await;
        match outcome {
            Ok(()) => Ok(RoleDefinitionDeletion::Deleted),
            Err(CloudError::DeadlineExceeded {
                last_observed: Some(_),
                ..
            }) if !call.cancel_token().is_cancelled() => {
                let lookup = CallContext::new(STILL_ASSIGNED_LOOKUP, call.cancel_token().clone());
                let assignments = self.assignments_of_role(&lookup, id).await;
                Ok(RoleDefinitionDeletion::StillAssigned(assignments))
            }
            Err(error) => Err(error),
        }
    }

    /// The assignments of role `id` at its scope and below (one list request).
    pub async fn assignments_of_role(
        &self,
        call: &CallContext,
        id: &RoleDefinitionId,
    ) -> Result<Vec<RoleAssignment>, CloudError> {
        let all = self
            .list_role_assignments(call, &id.scope, &RoleAssignmentFilter::All)
            .await?;
        Ok(all
            .into_iter()
            .filter(|assignment| {
                RoleDefinitionId::parse(&assignment.properties.role_definition_id)
                    .is_ok_and(|role| role.same_role(id))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "c1000000-0000-4000-8000-000000000002";

    #[test]
    fn built_in_names_resolve_case_insensitively_to_the_documented_guids() {
        assert_eq!(
            built_in_role_guid(" network contributor"),
            Some(NETWORK_CONTRIBUTOR_ROLE_GUID)
        );
        assert_eq!(
            built_in_role_guid("Network Contributor").map(|g| g.to_string()),
            Some("4d97b98b-1d4f-4787-a291-c67834d212e7".to_owned())
        );
        assert_eq!(built_in_role_guid("Aiven VNet peering"), None);
        assert_eq!(
            built_in_role_name(NETWORK_CONTRIBUTOR_ROLE_GUID),
            Some("Network Contributor")
        );
        assert_eq!(built_in_role_name(Uuid::nil()), None);
    }

    #[test]
    fn a_role_is_named_by_its_guid_in_every_form_of_its_id() {
        let guid = Some(NETWORK_CONTRIBUTOR_ROLE_GUID);
        let tail = "/providers/Microsoft.Authorization/roleDefinitions/4D97B98B-1D4F-4787-A291-C67834D212E7";
        assert_eq!(role_guid(tail), guid);
        assert_eq!(role_guid(&format!("/subscriptions/{SUB}{tail}")), guid);
        assert_eq!(role_guid("Network Contributor"), None);
    }

    #[test]
    fn roles_given_by_name_are_recorded_at_the_subscription_of_the_scope() {
        let vnet = format!(
            "/subscriptions/{SUB}/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App"
        );
        assert_eq!(
            role_at_subscription_of(&vnet, NETWORK_CONTRIBUTOR_ROLE_GUID).to_string(),
            format!(
                "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
            )
        );
    }

    #[test]
    fn several_permission_blocks_read_as_their_union() {
        let mut properties = RoleDefinitionProperties::custom_role(
            "peer".into(),
            None,
            vec!["a".into()],
            vec!["x".into()],
            vec![format!("/subscriptions/{SUB}")],
        );
        properties.permissions.push(Permission {
            actions: vec!["b".into()],
            ..Permission::default()
        });
        assert_eq!(properties.all_actions(), vec!["a", "b"]);
        assert_eq!(properties.all_not_actions(), vec!["x"]);
        let definition = |role_type: Option<&str>| RoleDefinition {
            id: String::new(),
            name: String::new(),
            properties: RoleDefinitionProperties {
                role_type: role_type.map(str::to_owned),
                ..properties.clone()
            },
        };
        assert!(definition(Some("builtinrole")).is_built_in());
        assert!(!definition(None).is_built_in());
        assert_eq!(definition(None).kind(), "CustomRole");
    }
}
