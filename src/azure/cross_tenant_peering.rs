//! Writing a VNet peering to a VNet of another tenant as one multi-tenant application, the
//! application holding a role on both VNets (docs/development/arm.md, 'Cross-tenant requests'):
//!
//! - **Tokens in both tenants.** ARM wants the application's token of the peering's tenant
//!   (primary) and, in `x-ms-authorization-auxiliary`, its token of the remote VNet's tenant. A
//!   secret added moments ago is refused (AADSTS7000215) until it has replicated, and so is an
//!   application whose service principal has not reached the token service yet
//!   (AADSTS7000229/700016): in the remote tenant that principal is created by the remote side
//!   (Aiven, at PENDING_PEER), so it gets its own, longer window.
//! - **Role assignments propagate.** A 403 `AuthorizationFailed` (the role on the local VNet) or
//!   `LinkedAuthorizationFailed` (the grant on the remote VNet) right after the roles were given
//!   means "not yet": the write is retried within the deadline, backing off, and the tokens are
//!   renewed once they are older than [`TOKEN_REFRESH_AFTER_DENIAL`], since a new token makes
//!   Azure evaluate the role assignments again (docs/development/arm.md, 'Role assignment
//!   errors').
//! - **A stale `Disconnected` peering is replaced.** A peering whose remote side was deleted
//!   cannot be updated back (docs/development/arm.md, 'Virtual network peerings'): it is
//!   deleted once (by the provider's own identity) and written again.
//! - **`Initiated` is waited out.** The peering is `Initiated` until the remote side's own
//!   peering back exists; it is polled until `Connected`. `Disconnected` ends the wait.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::aadsts;
use super::app_passwords::SECRET_ACTIVATION_WINDOW;
use super::arm::role_definitions::role_guid;
use super::arm::{
    ArmClient, NETWORK_CONTRIBUTOR_ROLE_GUID, PeeringProperties, PeeringState, VnetPeering, codes,
};
use super::clients::AzureClients;
use super::credentials::{AccessToken, FetchToken, TokenSource};
use super::graph::{Application, GraphClient, sign_in_audience};
use super::ids::VnetPeeringId;
use crate::cloud::{CallContext, CloudError, PollStep, SecretString, poll_until};

/// How long a missing service principal in the remote tenant (AADSTS7000229/700016) is retried:
/// the remote side creates it (Aiven at PENDING_PEER) and it then replicates to the token
/// service.
pub const REMOTE_PRINCIPAL_WINDOW: Duration = Duration::from_secs(300);
/// After a 403, tokens older than this are replaced: a new token makes Azure re-evaluate role
/// assignments.
pub const TOKEN_REFRESH_AFTER_DENIAL: Duration = Duration::from_secs(30);
/// Peering retries after a 403: not faster than this...
const MIN_RETRY_INTERVAL: Duration = Duration::from_millis(250);
/// ...and not slower than this (RBAC propagation takes up to 10 minutes; 1,200 writes an hour
/// are allowed per principal, docs/development/arm.md, 'Throttling').
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(15);

/// The token-service answers that mean "not usable yet" right after a secret, an application or
/// its service principal was made, in either tenant. In the customer tenant a missing service
/// principal is waited out too: the application is often created in the same apply, and with
/// no managed secret of its own nothing has waited for its service principal yet.
const NOT_USABLE_YET: [u32; 3] = [
    aadsts::INVALID_CLIENT_SECRET,
    aadsts::MISSING_SERVICE_PRINCIPAL,
    aadsts::APPLICATION_NOT_FOUND,
];

/// The application that writes the peering, and the tenants it signs in to.
pub struct PeeringApplication<'a> {
    pub client_id: &'a str,
    pub secret: &'a SecretString,
    /// The tenant of the VNet that owns the peering (the primary token).
    pub customer_tenant: &'a str,
    /// The remote VNet's tenant (the auxiliary token).
    pub remote_tenant: &'a str,
}

/// The peering to write.
pub struct PeeringWrite<'a> {
    pub id: &'a VnetPeeringId,
    pub properties: &'a PeeringProperties,
    /// Write with `syncRemoteAddressSpace=true` (the remote address space changed).
    pub resync: bool,
}

/// Which tenant a token was asked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantRole {
    Customer,
    Remote,
}

/// What Entra ID's refusal of an application's token request means (its AADSTS codes), once
/// the waits for replication are over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The secret is wrong, expired, or another application's.
    Secret,
    /// The application has no service principal in the tenant (or is unknown there).
    NoServicePrincipal,
    /// The tenant does not exist.
    UnknownTenant,
    /// Anything else.
    Other,
}

impl TokenRefusal {
    pub fn of(error: &CloudError) -> Self {
        let codes = error.aadsts_codes();
        let has = |code: u32| codes.contains(&code);
        if has(aadsts::INVALID_CLIENT_SECRET) || has(aadsts::EXPIRED_CLIENT_SECRET) {
            TokenRefusal::Secret
        } else if has(aadsts::MISSING_SERVICE_PRINCIPAL) || has(aadsts::APPLICATION_NOT_FOUND) {
            TokenRefusal::NoServicePrincipal
        } else if has(aadsts::TENANT_NOT_FOUND) {
            TokenRefusal::UnknownTenant
        } else {
            TokenRefusal::Other
        }
    }
}

/// Why a cross-tenant peering write failed.
#[derive(Debug)]
pub enum CrossTenantWriteError {
    /// Entra ID refused the application a token in `tenant` (after waiting out what replication
    /// explains).
    Token {
        tenant: TenantRole,
        error: CloudError,
    },
    /// A token could not be turned into an identity for ARM.
    TokenSource(CloudError),
    /// A stale `Disconnected` peering of the same name could not be deleted.
    StaleNotDeleted(CloudError),
    /// ARM refused or failed the write (a 403 after retrying until the deadline).
    Write(CloudError),
    /// The peering was written but did not become `Connected`.
    NotConnected(CloudError),
}

impl CrossTenantWriteError {
    /// Whether the peering may exist after this failure (its state must then be kept).
    pub fn peering_may_exist(&self) -> bool {
        match self {
            CrossTenantWriteError::Write(error) => super::arm::may_have_written(error),
            CrossTenantWriteError::NotConnected(_) => true,
            _ => false,
        }
    }
}

/// Tokens → PUT (retrying what RBAC propagation causes, replacing a stale Disconnected peering
/// once) → wait for `Connected`. `own` is the provider's own ARM client (it deletes a stale
/// peering); everything else is done as the application.
pub async fn write_and_connect(
    cc: &CallContext,
    azure: &AzureClients,
    own: &ArmClient,
    app: &PeeringApplication<'_>,
    write: &PeeringWrite<'_>,
) -> Result<VnetPeering, CrossTenantWriteError> {
    let mut tokens = AppTokens::acquire(cc, azure, app).await?;
    let started = Instant::now();
    let mut replaced_stale = false;
    loop {
        let as_app = arm_as_application(own, &tokens.primary, app)
            .map_err(CrossTenantWriteError::TokenSource)?;
        let auxiliary = std::slice::from_ref(&tokens.auxiliary);
        let written = if write.resync {
            as_app
                .resync_vnet_peering(cc, write.id, write.properties, auxiliary)
                .await
        } else {
            as_app
                .put_vnet_peering(cc, write.id, write.properties, auxiliary)
                .await
        };
        let error = match written {
            Ok(peering) => return wait_until_connected(cc, &as_app, write.id, peering).await,
            Err(error) => error,
        };
        if error.has_code(codes::REMOTE_PEERING_IS_DISCONNECTED) && !replaced_stale {
            tracing::info!(peering = %write.id, "replacing a Disconnected peering");
            own.delete_vnet_peering(cc, write.id)
                .await
                .map_err(CrossTenantWriteError::StaleNotDeleted)?;
            replaced_stale = true;
            continue;
        }
        if !is_permission_denial(&error) {
            return Err(CrossTenantWriteError::Write(error));
        }
        // Role assignments take minutes to propagate: wait and retry within the deadline, then
        // report the last refusal.
        let wait = (started.elapsed() / 4).clamp(MIN_RETRY_INTERVAL, MAX_RETRY_INTERVAL);
        tracing::debug!(code = ?error.code(), wait_ms = wait.as_millis() as u64, "the peering write was refused; retrying");
        if cc
            .sleep(wait, "waiting before retrying the peering")
            .await
            .is_err()
        {
            return Err(CrossTenantWriteError::Write(error));
        }
        if tokens.acquired.elapsed() >= TOKEN_REFRESH_AFTER_DENIAL {
            tokens = AppTokens::acquire(cc, azure, app).await?;
        }
    }
}

/// 403s that mean "not yet" right after the role assignments and the remote grant were made.
pub fn is_permission_denial(error: &CloudError) -> bool {
    error.status() == Some(403)
        && (error.has_code(codes::AUTHORIZATION_FAILED)
            || error.has_code(codes::LINKED_AUTHORIZATION_FAILED))
}

/// The tenant of the provider's own identity: the configured one, else the one its ARM token
/// names (`None` when the token names none).
pub async fn own_tenant(
    cc: &CallContext,
    azure: &AzureClients,
) -> Result<Option<String>, CloudError> {
    if let Some(tenant) = azure.tenant_id() {
        return Ok(Some(tenant.to_owned()));
    }
    let token = azure.token_source()?.resource_manager_token(cc).await?;
    Ok(token.claims().and_then(|claims| claims.tenant_id))
}

/// Access tokens of the application in the customer tenant (primary) and in the remote tenant
/// (auxiliary).
struct AppTokens {
    primary: AccessToken,
    auxiliary: AccessToken,
    acquired: Instant,
}

impl AppTokens {
    /// Both tokens at once, each waiting out what replication explains within its window.
    async fn acquire(
        cc: &CallContext,
        azure: &AzureClients,
        app: &PeeringApplication<'_>,
    ) -> Result<Self, CrossTenantWriteError> {
        let scope = &azure.endpoints().resource_manager_scope;
        let (customer_window, remote_window) = (
            cc.narrowed(SECRET_ACTIVATION_WINDOW),
            cc.narrowed(REMOTE_PRINCIPAL_WINDOW),
        );
        let primary = azure.acquire_token_with_secret_retrying(
            &customer_window,
            app.customer_tenant,
            app.client_id,
            app.secret,
            scope,
            &NOT_USABLE_YET,
        );
        let auxiliary = azure.acquire_token_with_secret_retrying(
            &remote_window,
            app.remote_tenant,
            app.client_id,
            app.secret,
            scope,
            &NOT_USABLE_YET,
        );
        let (primary, auxiliary) = tokio::join!(primary, auxiliary);
        let refused = |tenant| move |error| CrossTenantWriteError::Token { tenant, error };
        Ok(AppTokens {
            primary: primary.map_err(refused(TenantRole::Customer))?,
            auxiliary: auxiliary.map_err(refused(TenantRole::Remote))?,
            acquired: Instant::now(),
        })
    }
}

/// A token obtained earlier, served to an [`ArmClient`] as its identity.
struct HeldToken(AccessToken);

#[async_trait]
impl FetchToken for HeldToken {
    async fn fetch_token(
        &self,
        _ctx: &CallContext,
        _scope: &str,
    ) -> Result<AccessToken, CloudError> {
        Ok(self.0.clone())
    }
}

/// An ARM client acting as the application with `token`.
fn arm_as_application(
    own: &ArmClient,
    token: &AccessToken,
    app: &PeeringApplication<'_>,
) -> Result<ArmClient, CloudError> {
    let source = TokenSource::custom(
        Arc::new(HeldToken(token.clone())),
        Some(app.customer_tenant.to_owned()),
        Some(app.client_id.to_owned()),
        own.token_source().endpoints().clone(),
    )?;
    Ok(own.with_token_source(source))
}

/// Polls the peering (as the application) until it is `Connected`: `Initiated` means the remote
/// side's peering back does not exist yet.
async fn wait_until_connected(
    cc: &CallContext,
    app: &ArmClient,
    id: &VnetPeeringId,
    written: VnetPeering,
) -> Result<VnetPeering, CrossTenantWriteError> {
    if written.peering_state == Some(PeeringState::Connected) {
        return Ok(written);
    }
    poll_until(
        cc,
        "waiting for the peering to become Connected",
        move || async move {
            match app.get_vnet_peering(cc, id).await? {
                Some(p) if p.peering_state == Some(PeeringState::Connected) => {
                    Ok(PollStep::Done(p))
                }
                Some(p) if p.peering_state == Some(PeeringState::Disconnected) => {
                    Err(CloudError::Invalid(format!(
                        "the peering {} became Disconnected: Aiven's side of it was deleted",
                        id.name
                    )))
                }
                Some(p) => Ok(PollStep::pending(format!(
                    "peeringState {}",
                    p.peering_state
                        .as_ref()
                        .map_or("unknown", PeeringState::as_str)
                ))),
                None => Ok(PollStep::pending("the peering is not visible yet")),
            }
        },
    )
    .await
    .map_err(CrossTenantWriteError::NotConnected)
}

// ----- who made a peering ---------------------------------------------------------------------

/// Who the role assignments at a peered VNet name. ARM keeps no record of the application that
/// wrote a peering, nor of the remote tenant, yet the roles the peering needs stay visible at
/// the VNet: the remote side's service principal holds a role there (its application's home
/// tenant is the remote tenant), and the writing application's service principal holds Network
/// Contributor there. Each is named only when exactly one candidate is found.
#[derive(Debug, Default)]
pub struct PeeringParties {
    /// The home tenant of the remote side's service principal.
    pub remote_tenant: Option<String>,
    /// The application registered in this tenant and open to other tenants whose service
    /// principal holds Network Contributor at the VNet.
    pub application: Option<Application>,
}

/// Which read failed while looking for a peering's parties.
#[derive(Debug)]
pub enum PartiesError {
    Assignments(CloudError),
    ServicePrincipal(CloudError),
    Application(CloudError),
}

/// The [`PeeringParties`] of `vnet_id`: `remote_app_id` is the remote side's multi-tenant
/// application (Aiven's), and `own_client_id` (the caller's own application, which may hold
/// Network Contributor too) is never taken for the writing application.
pub async fn peering_parties(
    cc: &CallContext,
    arm: &ArmClient,
    graph: &GraphClient,
    vnet_id: &str,
    remote_app_id: &str,
    own_client_id: Option<&str>,
) -> Result<PeeringParties, PartiesError> {
    let assignments = arm
        .role_assignments_made_at(cc, vnet_id)
        .await
        .map_err(PartiesError::Assignments)?;
    let mut network_contributors = BTreeSet::new();
    let mut principals = BTreeSet::new();
    for assignment in &assignments {
        let properties = &assignment.properties;
        let service_principal = properties
            .principal_type
            .as_deref()
            .is_none_or(|kind| kind.eq_ignore_ascii_case("ServicePrincipal"));
        if !service_principal {
            continue;
        }
        let principal_id = properties.principal_id.to_ascii_lowercase();
        if role_guid(&properties.role_definition_id) == Some(NETWORK_CONTRIBUTOR_ROLE_GUID) {
            network_contributors.insert(principal_id.clone());
        }
        principals.insert(principal_id);
    }
    let mut remote_tenants = BTreeSet::new();
    let mut applications = Vec::new();
    for principal_id in &principals {
        let Some(principal) = graph
            .get_service_principal(cc, principal_id)
            .await
            .map_err(PartiesError::ServicePrincipal)?
        else {
            continue;
        };
        let app_id = principal.app_id.to_ascii_lowercase();
        if app_id.eq_ignore_ascii_case(remote_app_id) {
            remote_tenants.extend(principal.app_owner_organization_id);
        } else if network_contributors.contains(principal_id)
            && !own_client_id.is_some_and(|own| own.eq_ignore_ascii_case(&app_id))
        {
            applications.push(app_id);
        }
    }
    let mut registered = Vec::new();
    for app_id in applications {
        let application = graph
            .find_application_by_app_id(cc, &app_id)
            .await
            .map_err(PartiesError::Application)?;
        registered.extend(application.filter(|application| {
            application.sign_in_audience.as_deref() != Some(sign_in_audience::AZURE_AD_MY_ORG)
        }));
    }
    Ok(PeeringParties {
        remote_tenant: only(remote_tenants.into_iter().collect()),
        application: only(registered),
    })
}

/// The one item of `items`, if there is exactly one.
fn only<T>(mut items: Vec<T>) -> Option<T> {
    if items.len() == 1 { items.pop() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{Service, ServiceError};
    use crate::test_support::{arm_error, refusal};

    #[test]
    fn token_refusals_are_read_from_their_aadsts_codes() {
        let refused = |codes: Vec<u32>| {
            TokenRefusal::of(&CloudError::Service(Box::new(ServiceError {
                aadsts_codes: codes,
                ..refusal(Service::EntraId, 401, "invalid_client")
            })))
        };
        assert_eq!(
            refused(vec![aadsts::EXPIRED_CLIENT_SECRET]),
            TokenRefusal::Secret
        );
        assert_eq!(
            refused(vec![aadsts::APPLICATION_NOT_FOUND]),
            TokenRefusal::NoServicePrincipal
        );
        assert_eq!(
            refused(vec![aadsts::TENANT_NOT_FOUND]),
            TokenRefusal::UnknownTenant
        );
        assert_eq!(refused(vec![50_034]), TokenRefusal::Other);
    }

    #[test]
    fn refusals_are_classified() {
        assert!(is_permission_denial(&arm_error(
            403,
            codes::AUTHORIZATION_FAILED
        )));
        assert!(is_permission_denial(&arm_error(
            403,
            codes::LINKED_AUTHORIZATION_FAILED
        )));
        assert!(!is_permission_denial(&arm_error(
            400,
            "InvalidResourceReference"
        )));
    }

    #[test]
    fn only_failures_after_a_write_may_leave_a_peering() {
        let denied = || arm_error(403, codes::AUTHORIZATION_FAILED);
        assert!(!CrossTenantWriteError::Write(denied()).peering_may_exist());
        assert!(
            CrossTenantWriteError::Write(arm_error(200, "VnetAddressSpacesOverlap"))
                .peering_may_exist(),
            "a failed long-running operation may have left it"
        );
        assert!(CrossTenantWriteError::NotConnected(denied()).peering_may_exist());
        let token = CrossTenantWriteError::Token {
            tenant: TenantRole::Remote,
            error: denied(),
        };
        assert!(!token.peering_may_exist());
        assert!(!CrossTenantWriteError::StaleNotDeleted(denied()).peering_may_exist());
    }
}
