//! ARM's rules for role assignments, kept by the client so every caller follows them
//! (docs/development/arm.md, 'Role assignments' and 'Role assignment errors').
//!
//! - **One name per grant.** The assignment's name is derived from scope, role and principal
//!   ([`RoleGrant::assignment_name`]), so a repeated create PUTs the same assignment again.
//! - **New principals and roles take a while to be seen.** `principalType` is always sent (ARM
//!   then accepts a principal created moments ago before Entra ID has replicated it), and
//!   `PrincipalNotFound` / `RoleDefinitionDoesNotExist` are retried within a window
//!   ([`replication_window`]) that ends well before the caller's deadline, so the caller can still
//!   explain them.
//! - **The same grant under another name is found, not made twice.** `RoleAssignmentExists`
//!   means the same scope, role and principal are assigned under another name; listing the
//!   principal's assignments finds it ([`ArmClient::find_role_assignment`]).
//! - **A deleted assignment lingers.** ARM may return an assignment for a while after its
//!   delete; the delete waits until it is gone, so a role definition deleted next does not race
//!   with it.

use std::sync::Mutex;
use std::time::Duration;

use uuid::Uuid;

use super::{ArmClient, PrincipalType, RoleAssignment, RoleAssignmentFilter, codes};
use crate::azure::ids::{self, RoleAssignmentId, RoleDefinitionId, role_assignment_name};
use crate::cloud::{CallContext, CloudError, PollStep, poll_until};

/// Longest time a create keeps retrying `PrincipalNotFound` / `RoleDefinitionDoesNotExist`:
/// Entra ID and ARM replicate new objects within seconds, rarely a minute or two.
pub const REPLICATION_WINDOW: Duration = Duration::from_secs(120);

/// 400: the role definition is not (yet) visible at the scope: a custom role created moments
/// ago, or one whose assignable scopes do not include the scope.
pub const ROLE_DEFINITION_DOES_NOT_EXIST: &str = "RoleDefinitionDoesNotExist";
/// 400: `principalType` is not the kind of the principal.
pub const UNMATCHED_PRINCIPAL_TYPE: &str = "UnmatchedPrincipalType";

/// Every `principalType` ARM accepts, as ARM spells them.
pub const PRINCIPAL_TYPES: [&str; 4] = ["ServicePrincipal", "User", "Group", "ForeignGroup"];

/// How long a create retries replication errors: [`REPLICATION_WINDOW`], or half the create
/// timeout when that is shorter, so the explanation comes well before the timeout.
pub fn replication_window(timeout: Duration) -> Duration {
    REPLICATION_WINDOW.min(timeout / 2)
}

/// Checks a scope a role can be assigned at: `/subscriptions/{id}`, a resource group under it,
/// or a resource (or child resource) id under that.
pub fn check_assignment_scope(text: &str) -> Result<(), String> {
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
        && segments.get(2).is_some_and(|s| ids::parse_uuid(s).is_ok())
        && segments[1..].iter().all(|s| !s.is_empty());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a subscription, resource group or resource id"
        ))
    }
}

/// A role granted to a principal at a scope: what an assignment says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    /// Where the role applies.
    pub scope: String,
    /// The role.
    pub role: RoleDefinitionId,
    /// The object id of the user, group or service principal.
    pub principal_id: String,
    /// The kind of principal, sent with every PUT.
    pub principal_type: PrincipalType,
}

impl RoleGrant {
    /// The name of the grant's assignment: the same grant always gives the same GUID.
    pub fn assignment_name(&self) -> Uuid {
        role_assignment_name(&self.scope, self.role.guid, &self.principal_id)
    }
}

/// What [`ArmClient::put_role_assignment_when_replicated`] achieved.
#[derive(Debug)]
pub enum RoleAssignmentPut {
    /// The assignment exists under the derived name.
    Created(RoleAssignment),
    /// `RoleAssignmentExists`: the same scope, role and principal are assigned under another
    /// name ([`ArmClient::find_role_assignment`] finds it).
    ExistsUnderAnotherName,
    /// ARM answered `PrincipalNotFound` until the window closed: this was its last answer.
    PrincipalNotFound(CloudError),
    /// ARM answered `RoleDefinitionDoesNotExist` until the window closed: its last answer.
    RoleNotFound(CloudError),
}

impl RoleAssignment {
    /// The assignment's scope: as ARM reports it, else taken from its id.
    pub fn scope(&self) -> String {
        self.properties
            .scope
            .clone()
            .or_else(|| RoleAssignmentId::parse(&self.id).ok().map(|id| id.scope))
            .unwrap_or_default()
    }

    /// Whether this assignment is `grant` (ARM compares scopes and principal ids without case,
    /// and roles by GUID whatever the form of their id).
    pub fn is(&self, grant: &RoleGrant) -> bool {
        self.scope()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(grant.scope.trim_end_matches('/'))
            && self
                .properties
                .principal_id
                .eq_ignore_ascii_case(&grant.principal_id)
            && RoleDefinitionId::parse(&self.properties.role_definition_id)
                .is_ok_and(|role| role.same_role(&grant.role))
    }
}

impl ArmClient {
    /// PUTs `grant` under its name ([`RoleGrant::assignment_name`]), again while ARM has not replicated the principal
    /// or the role (`PrincipalNotFound`, `RoleDefinitionDoesNotExist`), for at most `window`.
    /// An error when another refusal came, or `call` ended (deadline or cancellation).
    pub async fn put_role_assignment_when_replicated(
        &self,
        call: &CallContext,
        window: Duration,
        grant: &RoleGrant,
    ) -> Result<RoleAssignmentPut, CloudError> {
        let name = grant.assignment_name();
        let waiting = call.narrowed(window);
        let last_replication_error: Mutex<Option<CloudError>> = Mutex::new(None);
        let what = format!(
            "waiting for Azure to see principal {} and role {}",
            grant.principal_id, grant.role.guid
        );
        let outcome = poll_until(&waiting, &what, || async {
            let put = self.put_role_assignment(
                call,
                &grant.scope,
                name,
                &grant.role,
                &grant.principal_id,
                grant.principal_type,
            );
            match put.await {
                Ok(assignment) => Ok(PollStep::Done(RoleAssignmentPut::Created(assignment))),
                Err(error) if error.has_code(codes::ROLE_ASSIGNMENT_EXISTS) => {
                    Ok(PollStep::Done(RoleAssignmentPut::ExistsUnderAnotherName))
                }
                Err(error)
                    if error.has_code(codes::PRINCIPAL_NOT_FOUND)
                        || error.has_code(ROLE_DEFINITION_DOES_NOT_EXIST) =>
                {
                    let observed = error.code().unwrap_or_default().to_owned();
                    if let Ok(mut slot) = last_replication_error.lock() {
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
        let last = last_replication_error
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        match (error, last) {
            // The window closed (not the caller's deadline, not a cancellation).
            (CloudError::DeadlineExceeded { .. }, Some(last)) if call.check("").is_ok() => {
                Ok(if last.has_code(codes::PRINCIPAL_NOT_FOUND) {
                    RoleAssignmentPut::PrincipalNotFound(last)
                } else {
                    RoleAssignmentPut::RoleNotFound(last)
                })
            }
            (error, _) => Err(error),
        }
    }

    /// The assignment that is `grant`, whatever its name (one list of the principal's
    /// assignments at the scope): what `RoleAssignmentExists` refers to.
    pub async fn find_role_assignment(
        &self,
        call: &CallContext,
        grant: &RoleGrant,
    ) -> Result<Option<RoleAssignment>, CloudError> {
        let filter = RoleAssignmentFilter::PrincipalId(grant.principal_id.clone());
        let assignments = self
            .list_role_assignments(call, &grant.scope, &filter)
            .await?;
        Ok(assignments
            .into_iter()
            .find(|assignment| assignment.is(grant)))
    }

    /// The assignments made at exactly `scope` (one `atScope()` list, which also returns those
    /// made at the scopes above it: they are left out).
    pub async fn role_assignments_made_at(
        &self,
        call: &CallContext,
        scope: &str,
    ) -> Result<Vec<RoleAssignment>, CloudError> {
        let scope = scope.trim_end_matches('/');
        let assignments = self
            .list_role_assignments(call, scope, &RoleAssignmentFilter::AtScope)
            .await?;
        Ok(assignments
            .into_iter()
            .filter(|assignment| {
                assignment
                    .properties
                    .scope
                    .as_deref()
                    .is_some_and(|found| found.trim_end_matches('/').eq_ignore_ascii_case(scope))
            })
            .collect())
    }

    /// Deletes the assignment and waits until ARM no longer returns it.
    pub async fn delete_role_assignment_and_wait(
        &self,
        call: &CallContext,
        id: &RoleAssignmentId,
    ) -> Result<(), CloudError> {
        self.delete_role_assignment(call, id).await?;
        let what = format!("waiting for the role assignment {} to disappear", id.name);
        poll_until(call, &what, || async {
            Ok(match self.get_role_assignment(call, id).await? {
                None => PollStep::Done(()),
                Some(_) => PollStep::pending("still returned by Azure Resource Manager"),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::arm::RoleAssignmentProperties;

    const SUB: &str = "c1000000-0000-4000-8000-000000000002";

    fn vnet() -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App"
        )
    }

    #[test]
    fn scopes_in_every_arm_form_and_nothing_else() {
        assert!(check_assignment_scope(&format!("/subscriptions/{SUB}")).is_ok());
        assert!(check_assignment_scope(&format!("/subscriptions/{SUB}/resourceGroups/rg")).is_ok());
        assert!(check_assignment_scope(&vnet()).is_ok());
        assert!(check_assignment_scope(&format!("{}/subnets/default", vnet())).is_ok());
        for bad in [
            "/".to_owned(),
            format!("/subscriptions/{SUB}/"),
            "/subscriptions/not-a-guid".to_owned(),
            format!("/subscriptions/{SUB}/resourceGroups"),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network"),
            format!("/subscriptions/{SUB}/resourceGroups/rg/things/Microsoft.Network/x/y"),
            format!("subscriptions/{SUB}"),
        ] {
            assert_eq!(
                check_assignment_scope(&bad),
                Err(format!(
                    "{bad:?} is not a subscription, resource group or resource id"
                ))
            );
        }
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

    #[test]
    fn an_assignment_is_its_grant_whatever_the_spelling_and_role_id_form() {
        let guid = super::super::NETWORK_CONTRIBUTOR_ROLE_GUID;
        let grant = RoleGrant {
            scope: format!("{}/", vnet().to_uppercase()),
            role: RoleDefinitionId::new(&format!("/subscriptions/{SUB}"), guid),
            principal_id: "ABCDEF00-0000-0000-0000-000000000001".into(),
            principal_type: PrincipalType::ServicePrincipal,
        };
        let name = grant.assignment_name();
        let assignment = |scope: Option<String>, role: Uuid| RoleAssignment {
            id: RoleAssignmentId::new(&vnet(), name).to_string(),
            name: name.to_string(),
            properties: RoleAssignmentProperties {
                scope,
                role_definition_id: RoleDefinitionId::new("", role).to_string(),
                principal_id: "abcdef00-0000-0000-0000-000000000001".into(),
                principal_type: Some("ServicePrincipal".into()),
                description: None,
            },
        };
        assert!(assignment(Some(vnet()), guid).is(&grant));
        // Without `properties.scope`, the scope comes from the id.
        assert!(assignment(None, guid).is(&grant));
        assert!(!assignment(Some(vnet()), Uuid::nil()).is(&grant));
        assert!(!assignment(Some(format!("/subscriptions/{SUB}")), guid).is(&grant));
        // The name does not depend on the spelling of scope and principal.
        let lower = RoleGrant {
            scope: vnet(),
            principal_id: grant.principal_id.to_lowercase(),
            ..grant.clone()
        };
        assert_eq!(lower.assignment_name(), name);
    }
}
