//! Why Aiven rejected an Azure peering connection, read from its state (`REJECTED_BY_PEER`,
//! `INVALID_SPECIFICATION`) and the free-form `state_info.message`, whose wording Aiven does not
//! document: the causes are recognised by the words their messages use.

use super::{PeeringConnection, PeeringState};

/// Why Aiven rejected a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionCause {
    /// Aiven's service principal lacks `peer/action` on the customer VNet (or the role
    /// assignment that grants it has not reached Aiven yet).
    MissingPermission,
    /// Aiven's application has no service principal in the customer tenant (or it has not
    /// replicated yet).
    MissingAivenServicePrincipal,
    /// Aiven found no such VNet (subscription, resource group, name) in the peer tenant.
    VnetNotFound,
    /// Aiven found no application with the peer application id.
    AppNotFound,
    /// The peer application is single-tenant, so Aiven cannot use it from its own tenant.
    AppNotMultiTenant,
    /// The VNet's subscription does not belong to the peer tenant.
    TenantMismatch,
    /// The VNet's address space overlaps the project VPC's range.
    AddressOverlap,
    /// Azure refused Aiven's side of the peering, with no recognised message.
    RejectedByPeer,
    /// A message this client does not recognise.
    Unknown,
}

impl RejectionCause {
    /// The cause of `connection`'s rejection.
    pub fn of(connection: &PeeringConnection) -> Self {
        let message = connection
            .state_message()
            .unwrap_or_default()
            .to_lowercase();
        let has = |needle: &str| message.contains(needle);
        if has("overlap") {
            Self::AddressOverlap
        } else if has("multi-tenant") || has("multitenant") || has("signinaudience") {
            Self::AppNotMultiTenant
        } else if has("permission")
            || has("authoriz")
            || has("peer/action")
            || has("forbidden")
            || has("not allowed")
        {
            Self::MissingPermission
        } else if has("service principal")
            && (has("no service principal") || has("not found") || has("does not exist"))
        {
            Self::MissingAivenServicePrincipal
        } else if (has("application") || has("app "))
            && (has("not found") || has("not a valid") || has("does not exist"))
        {
            Self::AppNotFound
        } else if (has("virtual network") || has("vnet"))
            && (has("not found") || has("does not exist"))
        {
            Self::VnetNotFound
        } else if has("tenant") && (has("does not belong") || has("mismatch")) {
            Self::TenantMismatch
        } else if connection.state == PeeringState::RejectedByPeer {
            Self::RejectedByPeer
        } else {
            Self::Unknown
        }
    }

    /// Causes that a role assignment or service principal made moments ago explains: Aiven
    /// checks Azure RBAC when it builds its side, and both take a while to propagate, so a new
    /// connection may succeed where this one failed.
    pub fn may_be_propagation(self) -> bool {
        matches!(
            self,
            Self::MissingPermission | Self::MissingAivenServicePrincipal
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::aiven_connection as connection;

    #[test]
    fn rejection_causes_from_aiven_messages() {
        let cause = |message: &str| {
            RejectionCause::of(&connection(
                "INVALID_SPECIFICATION",
                serde_json::json!({"message": message}),
            ))
        };
        assert_eq!(
            cause(
                "Aiven's service principal 'x' does not have permission to perform 'Microsoft.Network/virtualNetworks/peer/action' on virtual network 'v'"
            ),
            RejectionCause::MissingPermission
        );
        assert_eq!(
            cause("Aiven's application '55f3' has no service principal in Azure tenant 't'"),
            RejectionCause::MissingAivenServicePrincipal
        );
        assert_eq!(
            cause(
                "Azure virtual network 'v' in resource group 'r' of subscription 's' was not found"
            ),
            RejectionCause::VnetNotFound
        );
        assert_eq!(
            cause("Azure application 'a' was not found"),
            RejectionCause::AppNotFound
        );
        assert_eq!(
            cause("Azure application 'a' is not multi-tenant (signInAudience AzureADMyOrg)"),
            RejectionCause::AppNotMultiTenant
        );
        assert_eq!(
            cause("Subscription 's' does not belong to Azure tenant 't'"),
            RejectionCause::TenantMismatch
        );
        assert_eq!(
            cause("The address space 10.0.0.0/16 overlaps with the project VPC network"),
            RejectionCause::AddressOverlap
        );
        assert_eq!(cause("something new"), RejectionCause::Unknown);
        assert_eq!(
            RejectionCause::of(&connection("REJECTED_BY_PEER", serde_json::Value::Null)),
            RejectionCause::RejectedByPeer
        );
        assert!(RejectionCause::MissingPermission.may_be_propagation());
        assert!(RejectionCause::MissingAivenServicePrincipal.may_be_propagation());
        assert!(!RejectionCause::VnetNotFound.may_be_propagation());
    }
}
