//! What the provider's own identity needs for the whole runbook, and the hint a diagnostic
//! carries when Microsoft Graph or Azure Resource Manager refuses for lack of it
//! (docs/development/credentials.md, 'Least privilege').
//!
//! | Where | Grant | Why |
//! |---|---|---|
//! | Microsoft Graph | application permission `Application.ReadWrite.All`, with admin consent | create the peering application, its secret and service principal, and the service principal of Aiven's application (another tenant's application: `Application.ReadWrite.OwnedBy` cannot) |
//! | Azure RBAC | User Access Administrator on the subscription holding the VNet | create the custom role (assignable on the subscription) and the role assignments on the VNet; read the VNet |
//! | Azure RBAC | Network Contributor on the VNet | read and delete the customer-side peering (the peering application creates it, the provider's identity removes it on destroy) |

use crate::cloud::error::{CloudError, Service};

/// The Graph permission the provider's identity needs.
pub const GRAPH_PERMISSION: &str = "Application.ReadWrite.All";
/// The Azure role for role definitions and assignments (on the subscription).
pub const AUTHORIZATION_ROLE: &str = "User Access Administrator";
/// The Azure role for the peering (on the VNet).
pub const NETWORK_ROLE: &str = "Network Contributor";

/// How to grant what a 403 of Graph or ARM says is missing; `None` for other errors.
pub fn missing_permission_hint(error: &CloudError) -> Option<String> {
    let service_error = error.service_error()?;
    if service_error.status != 403 {
        return None;
    }
    match service_error.service {
        Service::Graph if error.has_code("Authorization_RequestDenied") => Some(format!(
            "The provider's identity lacks the Microsoft Graph application permission \
             `{GRAPH_PERMISSION}`. Grant it in the Entra ID portal: App registrations > the \
             provider's application > API permissions > Add a permission > Microsoft Graph > \
             Application permissions > {GRAPH_PERMISSION}, then \"Grant admin consent\" (for a \
             managed identity: `az rest` on its service principal's appRoleAssignments). It may \
             take a few minutes to apply."
        )),
        Service::ResourceManager
            if error.has_code("AuthorizationFailed")
                || error.has_code("LinkedAuthorizationFailed") =>
        {
            // ARM names the refused action: `Microsoft.Network/...` needs the network role on
            // the VNet, anything else (role definitions and assignments) the authorization role.
            let network = service_error.message.contains("'Microsoft.Network/");
            let (role, scope, scope_hint) = if network {
                (NETWORK_ROLE, "the virtual network", "<VNet resource id>")
            } else {
                (
                    AUTHORIZATION_ROLE,
                    "the subscription holding the virtual network",
                    "/subscriptions/<subscription id>",
                )
            };
            Some(format!(
                "The provider's identity lacks the Azure role the action above needs. Assign it \
                 `{role}` on {scope} (Azure portal: Access control (IAM) > Add role assignment; \
                 or `az role assignment create --assignee <client id> --role \"{role}\" --scope \
                 {scope_hint}`). Role assignments take a few minutes to apply."
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::refusal;

    fn forbidden(service: Service, code: &str) -> CloudError {
        CloudError::Service(Box::new(refusal(service, 403, code)))
    }

    #[test]
    fn graph_and_arm_refusals_say_what_to_grant_and_where() {
        let graph =
            missing_permission_hint(&forbidden(Service::Graph, "Authorization_RequestDenied"))
                .unwrap();
        assert!(graph.contains("Application.ReadWrite.All") && graph.contains("API permissions"));
        let arm =
            missing_permission_hint(&forbidden(Service::ResourceManager, "AuthorizationFailed"))
                .unwrap();
        assert!(
            arm.contains("User Access Administrator") && arm.contains("az role assignment create")
        );
        assert_eq!(
            missing_permission_hint(&forbidden(Service::Aiven, "Forbidden")),
            None
        );
    }
}
