//! An Entra application and its service principal over their life, as request sequences on top
//! of the single Graph calls of [`GraphClient`]: the multi-tenant application's create and patch
//! bodies, its home tenant, the service principal made right after the application (or for
//! someone else's application), and the deletes that undo a half-made application.

use std::time::Duration;

use super::clients::AzureClients;
use super::graph::{
    Application, ApplicationPatch, DEFAULT_REPLICATION_WINDOW, DirectoryObject, GraphClient,
    NewApplication, PasswordCredentialInfo, ServicePrincipal, codes, sign_in_audience,
};
use crate::cloud::CancellationToken;
use crate::cloud::error::CloudError;
use crate::cloud::http::CallContext;

/// How long undoing a failed create may take (it runs after the create's own deadline may
/// already have passed).
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(120);

/// `api.requestedAccessTokenVersion` Entra ID requires for an audience: 2 for those admitting
/// personal accounts.
pub fn token_version_for(audience: &str) -> Option<i32> {
    (audience == sign_in_audience::AZURE_AD_AND_PERSONAL_MICROSOFT_ACCOUNT).then_some(2)
}

impl NewApplication {
    /// An application for `audience`, with the token version it requires and its owners bound
    /// inline (object ids lower-cased and without repeats: Graph compares them without case).
    pub fn for_audience<'a>(
        display_name: String,
        audience: String,
        owners: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let owners: std::collections::BTreeSet<String> =
            owners.into_iter().map(str::to_ascii_lowercase).collect();
        NewApplication {
            display_name,
            requested_access_token_version: token_version_for(&audience),
            sign_in_audience: audience,
            owners: owners.into_iter().collect(),
        }
    }
}

impl ApplicationPatch {
    /// The PATCH from `prior` to `planned` display name and audience (empty when nothing
    /// changed); a new audience brings the token version it requires.
    pub fn between(
        (prior_name, prior_audience): (Option<&str>, Option<&str>),
        (planned_name, planned_audience): (Option<&str>, Option<&str>),
    ) -> Self {
        let mut patch = ApplicationPatch::default();
        if planned_name != prior_name {
            patch.display_name = planned_name.map(str::to_owned);
        }
        if planned_audience != prior_audience
            && let Some(audience) = planned_audience
        {
            patch.requested_access_token_version = token_version_for(audience);
            patch.sign_in_audience = Some(audience.to_owned());
        }
        patch
    }
}

impl Application {
    /// The password credential with `key_id` (key ids compare without case).
    pub fn password(&self, key_id: &str) -> Option<&PasswordCredentialInfo> {
        self.password_credentials
            .iter()
            .find(|credential| credential.key_id.eq_ignore_ascii_case(key_id))
    }
}

impl ServicePrincipal {
    /// The name the portal shows: its own display name, else its application's.
    pub fn shown_name(&self) -> Option<String> {
        self.display_name
            .clone()
            .or_else(|| self.app_display_name.clone())
    }
}

/// Creates an application exactly once: under a unique name of this call, so a repeat after a
/// lost answer finds the application the first attempt made instead of making a second one.
pub async fn create_application(
    graph: &GraphClient,
    call: &CallContext,
    new: &NewApplication,
) -> Result<Application, CloudError> {
    let unique_name = format!("vnetpeer-{}", uuid::Uuid::new_v4());
    graph
        .create_application_exactly_once(call, &unique_name, new)
        .await
}

/// The home tenant of new applications: the tenant of the provider's Graph token (no request
/// beyond the token the Graph calls need anyway), else the configured tenant. `None` when
/// neither names one.
pub async fn home_tenant(
    azure: &AzureClients,
    graph: &GraphClient,
    call: &CallContext,
) -> Result<Option<String>, CloudError> {
    let token = graph.token_source().graph_token(call).await?;
    Ok(token
        .claims()
        .and_then(|claims| claims.tenant_id)
        .or_else(|| azure.tenant_id().map(str::to_owned)))
}

/// Why the service principal of a just-created application is missing.
#[derive(Debug)]
pub enum OwnServicePrincipalError {
    /// The create failed.
    NotCreated(CloudError),
    /// The create was refused as a duplicate, and the existing one never showed up.
    NotFound(CloudError),
}

/// The service principal of an application this operation just created. A duplicate is only
/// possible when a replayed POST had already succeeded: that one is ours, and is waited for
/// until the directory lists it.
pub async fn create_own_service_principal(
    graph: &GraphClient,
    call: &CallContext,
    client_id: &str,
) -> Result<ServicePrincipal, OwnServicePrincipalError> {
    match graph.create_service_principal(call, client_id).await {
        Ok(created) => Ok(created),
        Err(error) if error.is_already_exists() => graph
            .find_service_principal_visible(call, client_id)
            .await
            .map_err(OwnServicePrincipalError::NotFound),
        Err(error) => Err(OwnServicePrincipalError::NotCreated(error)),
    }
}

/// Why a service principal was not created without adoption.
#[derive(Debug)]
pub enum NotCreated {
    /// The application already has one (`Some` when it could be looked up).
    AlreadyExists(Option<ServicePrincipal>),
    /// Any other failure.
    Failed(CloudError),
}

/// Creates the service principal of `client_id`, refusing to adopt an existing one; the existing
/// one is looked up (best effort) so that the refusal can name it.
pub async fn create_service_principal_without_adopting(
    graph: &GraphClient,
    call: &CallContext,
    client_id: &str,
) -> Result<ServicePrincipal, NotCreated> {
    match graph.create_service_principal(call, client_id).await {
        Ok(created) => Ok(created),
        Err(error) if error.is_already_exists() => {
            let existing = graph
                .find_service_principal_by_app_id(call, client_id)
                .await
                .ok()
                .flatten();
            Err(NotCreated::AlreadyExists(existing))
        }
        Err(error) => Err(NotCreated::Failed(error)),
    }
}

/// How long to wait for someone else's application to replicate before creating its service
/// principal: a wrong client id looks exactly like an application that has not replicated yet,
/// so replication gets at most half of `timeout`, and a typo ends with an explanation well
/// before the timeout.
pub fn replication_window_within(timeout: Duration) -> Duration {
    DEFAULT_REPLICATION_WINDOW.min(timeout / 2)
}

/// Whether a service principal create was refused because no application has the client id
/// (after the replication window: a wrong id, or one of an object rather than an application).
pub fn is_unknown_application(error: &CloudError) -> bool {
    error.has_code(codes::NO_BACKING_APPLICATION_OBJECT)
        || (error.status() == Some(400) && error.message().contains("valid application object"))
}

/// Deletes a half-made application again: its service principal (if made), the application
/// (with its secrets), and with `purge` its deleted item. Both objects were created moments ago,
/// so a 404 may only mean "not replicated yet". Runs with its own time (the create's deadline
/// may have passed), still stopped by `cancel`; stops at the first failure.
pub async fn delete_half_made(
    graph: &GraphClient,
    cancel: &CancellationToken,
    app_object_id: &str,
    service_principal_id: Option<&str>,
    purge: bool,
) -> Result<(), CloudError> {
    let cleanup = CallContext::new(ROLLBACK_TIMEOUT, cancel.clone());
    if let Some(service_principal_id) = service_principal_id {
        graph
            .delete_object(
                &cleanup,
                DirectoryObject::ServicePrincipal,
                service_principal_id,
                true,
            )
            .await?;
    }
    graph
        .delete_object(&cleanup, DirectoryObject::Application, app_object_id, true)
        .await?;
    if purge {
        graph
            .purge_deleted_application(&cleanup, app_object_id)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_account_audiences_ask_for_v2_tokens() {
        assert_eq!(
            token_version_for(sign_in_audience::AZURE_AD_AND_PERSONAL_MICROSOFT_ACCOUNT),
            Some(2)
        );
        assert_eq!(
            token_version_for(sign_in_audience::AZURE_AD_MULTIPLE_ORGS),
            None
        );
        let prior = (Some("a"), Some(sign_in_audience::AZURE_AD_MULTIPLE_ORGS));
        let next = (
            Some("a"),
            Some(sign_in_audience::AZURE_AD_AND_PERSONAL_MICROSOFT_ACCOUNT),
        );
        let patch = ApplicationPatch::between(prior, next);
        assert_eq!(patch.display_name, None);
        assert_eq!(patch.requested_access_token_version, Some(2));
        assert_eq!(
            ApplicationPatch::between(prior, prior),
            ApplicationPatch::default()
        );
        let new = NewApplication::for_audience(
            "a".into(),
            sign_in_audience::AZURE_AD_AND_PERSONAL_MICROSOFT_ACCOUNT.into(),
            [],
        );
        assert_eq!(new.requested_access_token_version, Some(2));
    }

    #[test]
    fn owners_are_bound_once_each_in_lower_case() {
        let new = NewApplication::for_audience(
            "a".into(),
            sign_in_audience::AZURE_AD_MULTIPLE_ORGS.into(),
            [
                "AAAAAAAA-0000-4000-8000-000000000000",
                "aaaaaaaa-0000-4000-8000-000000000000",
            ],
        );
        assert_eq!(new.owners, ["aaaaaaaa-0000-4000-8000-000000000000"]);
        assert_eq!(new.requested_access_token_version, None);
    }

    #[test]
    fn a_missing_application_is_told_from_other_refusals() {
        let refusal = |status, detail: &str, message: &str| {
            CloudError::Service(Box::new(crate::cloud::ServiceError {
                detail_codes: vec![detail.to_owned()],
                message: message.to_owned(),
                ..crate::test_support::refusal(
                    crate::cloud::Service::Graph,
                    status,
                    "Request_BadRequest",
                )
            }))
        };
        assert!(is_unknown_application(&refusal(
            400,
            codes::NO_BACKING_APPLICATION_OBJECT,
            ""
        )));
        assert!(is_unknown_application(&refusal(
            400,
            "",
            "The appId 'x' does not reference a valid application object."
        )));
        assert!(!is_unknown_application(&refusal(
            403,
            codes::AUTHORIZATION_REQUEST_DENIED,
            "Insufficient privileges"
        )));
    }

    #[test]
    fn replication_gets_at_most_half_the_timeout() {
        assert_eq!(
            replication_window_within(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            replication_window_within(Duration::from_secs(3600)),
            DEFAULT_REPLICATION_WINDOW
        );
    }
}
