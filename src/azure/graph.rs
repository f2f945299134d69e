//! Microsoft Graph v1.0 client: applications, client secrets (passwords) and service principals.
//!
//! Entra ID is eventually consistent: an object created moments ago may be unknown to the next
//! call for tens of seconds (docs/development/entra-and-graph.md, 'Eventual consistency'). Calls that depend on an object created
//! moments earlier retry exactly the answers that mean "not replicated yet", for at most the
//! client's replication window and never past the caller's deadline:
//!
//! - 404 `Request_ResourceNotFound` for calls on a new application (addPassword, update);
//! - 400 with detail `NoBackingApplicationObject` when creating a service principal;
//! - 403 `Authorization_RequestDenied` "must in the local tenant" when creating a service
//!   principal (also the permanent answer for insufficient permissions, hence the bound).
//!
//! 409 `Request_MultipleObjectsWithSameKeyValue` is [`CloudError::AlreadyExists`], so the caller
//! can look the existing object up and adopt it.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::credentials::{AzureEndpoints, TokenSource};
use super::error::AzureErrorResponse;
use crate::cloud::error::{CloudError, Service};
use crate::cloud::http::{
    ApiResponse, CallContext, HttpClient, Replay, backoff_delay, join_path, operation_name,
    sensitive_header,
};
use crate::cloud::secret::SecretString;

/// How long replication-aware retries go on by default (replication usually takes 30–60 s,
/// sometimes more).
pub const DEFAULT_REPLICATION_WINDOW: Duration = Duration::from_secs(180);

/// Graph error codes the resources branch on.
pub mod codes {
    /// 404: the object does not exist (or has not replicated yet).
    pub const RESOURCE_NOT_FOUND: &str = "Request_ResourceNotFound";
    /// 409: an object with the same key (e.g. a service principal for that appId) exists.
    pub const MULTIPLE_OBJECTS_WITH_SAME_KEY_VALUE: &str =
        "Request_MultipleObjectsWithSameKeyValue";
    /// 400 detail: the service principal's application has not replicated yet.
    pub const NO_BACKING_APPLICATION_OBJECT: &str = "NoBackingApplicationObject";
    /// 403: insufficient privileges (or a replication race, see the module docs).
    pub const AUTHORIZATION_REQUEST_DENIED: &str = "Authorization_RequestDenied";
}

/// `signInAudience` values.
pub mod sign_in_audience {
    /// Single tenant (rejected by the peering workflow: Aiven's tenant must use the app).
    pub const AZURE_AD_MY_ORG: &str = "AzureADMyOrg";
    /// Any Entra tenant: the value to use.
    pub const AZURE_AD_MULTIPLE_ORGS: &str = "AzureADMultipleOrgs";
    /// Any Entra tenant and personal accounts (needs `requestedAccessTokenVersion = 2`).
    pub const AZURE_AD_AND_PERSONAL_MICROSOFT_ACCOUNT: &str = "AzureADandPersonalMicrosoftAccount";
    /// Personal accounts only (needs `requestedAccessTokenVersion = 2`).
    pub const PERSONAL_MICROSOFT_ACCOUNT: &str = "PersonalMicrosoftAccount";
}

/// The body of `POST /applications`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApplication {
    /// `displayName`.
    pub display_name: String,
    /// `signInAudience` (see [`sign_in_audience`]); always sent.
    pub sign_in_audience: String,
    /// Owner object ids, bound inline with `owners@odata.bind` (no extra request).
    pub owners: Vec<String>,
    /// `api.requestedAccessTokenVersion`, required (2) for the personal-account audiences.
    pub requested_access_token_version: Option<i32>,
}

/// Changes for `PATCH /applications/{id}`; `None` leaves a property unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplicationPatch {
    /// New `displayName`.
    pub display_name: Option<String>,
    /// New `signInAudience`.
    pub sign_in_audience: Option<String>,
    /// New `api.requestedAccessTokenVersion`.
    pub requested_access_token_version: Option<i32>,
}

/// Metadata of a client secret (the secret itself is never readable again).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredentialInfo {
    /// The secret's id (GUID).
    pub key_id: String,
    /// `displayName`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `startDateTime` (RFC 3339).
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// `endDateTime` (RFC 3339).
    #[serde(default)]
    pub end_date_time: Option<String>,
    /// The first characters of the secret.
    #[serde(default)]
    pub hint: Option<String>,
}

/// A new client secret, as `addPassword` returns it: the only time `secret_text` is visible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordCredential {
    /// The secret's id (GUID).
    pub key_id: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `startDateTime` (RFC 3339).
    pub start_date_time: Option<String>,
    /// `endDateTime` (RFC 3339).
    pub end_date_time: Option<String>,
    /// The first characters of the secret.
    pub hint: Option<String>,
    /// The secret value (redacted in `Debug`).
    pub secret_text: SecretString,
}

/// An application registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// Object id (for `/applications/{id}` and addPassword).
    pub id: String,
    /// Application (client) id (for tokens, service principals, Aiven's `peer_azure_app_id`).
    pub app_id: String,
    /// `displayName`.
    pub display_name: String,
    /// `signInAudience`.
    pub sign_in_audience: Option<String>,
    /// `api.requestedAccessTokenVersion`.
    pub requested_access_token_version: Option<i32>,
    /// Secrets' metadata.
    pub password_credentials: Vec<PasswordCredentialInfo>,
}

/// A service principal.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Object id (RBAC `principalId`).
    pub id: String,
    /// The application's client id.
    pub app_id: String,
    /// The application's home tenant (for Aiven's SP: Aiven's tenant).
    #[serde(default)]
    pub app_owner_organization_id: Option<String>,
    /// `displayName`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `appDisplayName`.
    #[serde(default)]
    pub app_display_name: Option<String>,
}

/// Whether an upsert created the object or found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upserted<T> {
    /// The object.
    pub value: T,
    /// True when this call created it.
    pub created: bool,
}

/// How many lost answers to a create are recovered from (cleaned up or read back, then sent
/// again) before the last failure is reported.
const MAX_LOST_ANSWERS: u32 = 3;

const APPLICATION_SELECT: &str = "id,appId,displayName,signInAudience,api,passwordCredentials";
const SERVICE_PRINCIPAL_SELECT: &str = "id,appId,appOwnerOrganizationId,displayName,appDisplayName";

/// The directory objects the provider deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryObject {
    Application,
    ServicePrincipal,
}

impl DirectoryObject {
    fn collection(self) -> &'static str {
        match self {
            DirectoryObject::Application => "applications",
            DirectoryObject::ServicePrincipal => "servicePrincipals",
        }
    }
}

/// The Graph client, acting as one identity. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GraphClient {
    http: HttpClient,
    /// `{graph}/v1.0`.
    base: Url,
    tokens: TokenSource,
    replication_window: Duration,
}

impl GraphClient {
    /// A client for `endpoints.microsoft_graph`, acting as `tokens`.
    pub fn new(http: HttpClient, endpoints: &AzureEndpoints, tokens: TokenSource) -> Self {
        Self {
            http,
            base: join_path(&endpoints.microsoft_graph, "v1.0"),
            tokens,
            replication_window: DEFAULT_REPLICATION_WINDOW,
        }
    }

    /// The same client acting as another identity.
    pub fn with_token_source(&self, tokens: TokenSource) -> Self {
        Self {
            tokens,
            ..self.clone()
        }
    }

    /// The same client with another bound on replication-aware retries.
    pub fn with_replication_window(mut self, window: Duration) -> Self {
        self.replication_window = window;
        self
    }

    /// The identity this client acts as.
    pub fn token_source(&self) -> &TokenSource {
        &self.tokens
    }

    // ----- applications -----

    /// `POST /applications`. Not retried when the outcome is unknown (a retry could create a
    /// second app); use [`GraphClient::create_application_exactly_once`] for idempotent creates.
    pub async fn create_application(
        &self,
        ctx: &CallContext,
        new: &NewApplication,
    ) -> Result<Application, CloudError> {
        let url = self.url("applications");
        let body = self.application_body(
            &new.display_name,
            &new.sign_in_audience,
            &new.owners,
            new.requested_access_token_version,
        );
        let response = self
            .send(
                ctx,
                Method::POST,
                url.clone(),
                Some(&body),
                Replay::Unsafe,
                &[],
            )
            .await?;
        let wire: WireApplication = expect_json(response, &operation_name(&Method::POST, &url))?;
        Ok(wire.into())
    }

    /// `POST /applications` with `uniqueName` set: creates the app exactly once. The unique name
    /// is the marker that makes a repeat harmless: when the answer is lost (408, 5xx, a
    /// connection broken after sending) the same create is sent again, and Graph refuses a
    /// second application with that unique name; the one the lost attempt made is then read by
    /// its unique name (waiting out replication) and returned. No request more than a plain
    /// create when nothing is lost.
    pub async fn create_application_exactly_once(
        &self,
        ctx: &CallContext,
        unique_name: &str,
        new: &NewApplication,
    ) -> Result<Application, CloudError> {
        let url = self.url("applications");
        let mut body = self.application_body(
            &new.display_name,
            &new.sign_in_audience,
            &new.owners,
            new.requested_access_token_version,
        );
        body["uniqueName"] = Value::from(unique_name);
        let operation = operation_name(&Method::POST, &url);
        let mut lost_answers = 0;
        loop {
            let created = self
                .send(
                    ctx,
                    Method::POST,
                    url.clone(),
                    Some(&body),
                    Replay::Unsafe,
                    &[],
                )
                .await
                .and_then(|response| expect_json::<WireApplication>(response, &operation));
            match created {
                Ok(wire) => return Ok(wire.into()),
                Err(error) if error.outcome_unknown() && lost_answers < MAX_LOST_ANSWERS => {
                    lost_answers += 1;
                    tracing::debug!(%error, "the answer to the application create was lost; sending it again under the same unique name");
                    self.pause_after_lost_answer(ctx, lost_answers).await?;
                }
                Err(error)
                    if lost_answers > 0
                        && (error.is_already_exists()
                            || error.has_code("Request_MultipleObjectsWithSameKeyValue")) =>
                {
                    // The lost attempt made it: read it back by its unique name.
                    let key = format!("applications(uniqueName='{}')", odata_quote(unique_name));
                    let mut get_url = self.url(&key);
                    get_url
                        .query_pairs_mut()
                        .append_pair("$select", APPLICATION_SELECT);
                    let get_url = &get_url;
                    let wire: WireApplication = self
                        .replicated(
                            ctx,
                            "waiting for the application to replicate",
                            is_not_replicated_yet,
                            move || async move { self.get_json(ctx, get_url.clone()).await },
                        )
                        .await?;
                    return Ok(wire.into());
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `GET /applications/{id}` with `$select`; `None` when it does not exist.
    pub async fn get_application(
        &self,
        ctx: &CallContext,
        object_id: &str,
    ) -> Result<Option<Application>, CloudError> {
        let mut url = self.url(&format!("applications/{}", path_segment(object_id)?));
        url.query_pairs_mut()
            .append_pair("$select", APPLICATION_SELECT);
        Ok(optional(self.get_json::<WireApplication>(ctx, url).await)?.map(Application::from))
    }

    /// `PATCH /applications/{id}`, retrying a 404 of a just-created app within the replication
    /// window.
    pub async fn update_application(
        &self,
        ctx: &CallContext,
        object_id: &str,
        patch: &ApplicationPatch,
    ) -> Result<(), CloudError> {
        let url = self.url(&format!("applications/{}", path_segment(object_id)?));
        let mut body = serde_json::Map::new();
        if let Some(name) = &patch.display_name {
            body.insert("displayName".into(), Value::from(name.clone()));
        }
        if let Some(audience) = &patch.sign_in_audience {
            body.insert("signInAudience".into(), Value::from(audience.clone()));
        }
        if let Some(version) = patch.requested_access_token_version {
            body.insert(
                "api".into(),
                serde_json::json!({ "requestedAccessTokenVersion": version }),
            );
        }
        let body = Value::Object(body);
        let operation = operation_name(&Method::PATCH, &url);
        let (url, body, operation) = (&url, &body, &operation);
        self.replicated(
            ctx,
            "waiting for the application to replicate",
            is_not_replicated_yet,
            move || async move {
                let response = self
                    .send(
                        ctx,
                        Method::PATCH,
                        url.clone(),
                        Some(body),
                        Replay::Safe,
                        &[],
                    )
                    .await?;
                expect_no_content(response, operation)
            },
        )
        .await
    }

    /// `DELETE /applications/{id}` (the app goes to deleted items for 30 days, taking its
    /// service principal in the home tenant with it) or `DELETE /servicePrincipals/{id}`.
    /// Succeeds when it is already gone. With `created_moments_ago` (rolling back a failed
    /// create, or destroying right after it), a 404 may only mean "not replicated yet", so it is
    /// retried within the replication window before the object is taken as gone.
    pub async fn delete_object(
        &self,
        ctx: &CallContext,
        object: DirectoryObject,
        object_id: &str,
        created_moments_ago: bool,
    ) -> Result<(), CloudError> {
        let url = self.url(&format!(
            "{}/{}",
            object.collection(),
            path_segment(object_id)?
        ));
        if created_moments_ago {
            self.delete_new(ctx, url).await
        } else {
            self.delete(ctx, url).await
        }
    }

    /// `GET /directory/deletedItems/{id}`: the application while it waits in the directory's
    /// deleted items (restorable, not yet purged); `None` when it is not there.
    pub async fn get_deleted_application(
        &self,
        ctx: &CallContext,
        object_id: &str,
    ) -> Result<Option<Application>, CloudError> {
        // No `$select`: the item is a directoryObject, and its default properties (those of the
        // application) are all that is needed.
        let url = self.url(&format!(
            "directory/deletedItems/{}",
            path_segment(object_id)?
        ));
        Ok(optional(self.get_json::<WireApplication>(ctx, url).await)?.map(Application::from))
    }

    /// `DELETE /directory/deletedItems/{id}`: purges a deleted application for good. Succeeds
    /// when it is already purged.
    pub async fn purge_deleted_application(
        &self,
        ctx: &CallContext,
        object_id: &str,
    ) -> Result<(), CloudError> {
        let url = self.url(&format!(
            "directory/deletedItems/{}",
            path_segment(object_id)?
        ));
        self.delete(ctx, url).await
    }

    // ----- passwords -----

    /// `POST /applications/{id}/addPassword`; the returned secret is the only copy. Retries a 404
    /// of a just-created app within the replication window. Never replayed blindly: a lost
    /// answer (408, 5xx, a connection broken after sending) may hide a secret that was added
    /// and that nobody will ever see, so the application's secrets are read, every secret with
    /// this display name and end date that is not in `known_key_ids` (the caller's existing
    /// secrets) is removed as the lost attempt's, and only then is the secret added again.
    pub async fn add_password(
        &self,
        ctx: &CallContext,
        app_object_id: &str,
        display_name: Option<&str>,
        end_date_time: OffsetDateTime,
        known_key_ids: &[&str],
    ) -> Result<PasswordCredential, CloudError> {
        let mut lost_answers = 0;
        loop {
            let error = match self
                .add_password_once(ctx, app_object_id, display_name, Some(end_date_time))
                .await
            {
                Err(error) if error.outcome_unknown() && lost_answers < MAX_LOST_ANSWERS => error,
                other => return other,
            };
            lost_answers += 1;
            tracing::debug!(%error, "the answer to addPassword was lost; removing what it may have added");
            self.pause_after_lost_answer(ctx, lost_answers).await?;
            let Some(app) = self.get_application(ctx, app_object_id).await? else {
                return Err(error);
            };
            let lost = app.password_credentials.iter().filter(|secret| {
                !known_key_ids.contains(&secret.key_id.as_str())
                    && secret.display_name.as_deref() == display_name
                    && secret
                        .end_date_time
                        .as_deref()
                        .and_then(|end| OffsetDateTime::parse(end, &Rfc3339).ok())
                        .is_some_and(|end| end.unix_timestamp() == end_date_time.unix_timestamp())
            });
            for secret in lost {
                self.remove_password(ctx, app_object_id, &secret.key_id)
                    .await?;
            }
        }
    }

    /// One `addPassword`, with the replication retries but never replayed once sent.
    async fn add_password_once(
        &self,
        ctx: &CallContext,
        app_object_id: &str,
        display_name: Option<&str>,
        end_date_time: Option<OffsetDateTime>,
    ) -> Result<PasswordCredential, CloudError> {
        let url = self.url(&format!(
            "applications/{}/addPassword",
            path_segment(app_object_id)?
        ));
        let mut credential = serde_json::Map::new();
        if let Some(name) = display_name {
            credential.insert("displayName".into(), Value::from(name));
        }
        if let Some(end) = end_date_time {
            let end = end.format(&Rfc3339).map_err(|e| {
                CloudError::Invalid(format!("secret end date cannot be formatted: {e}"))
            })?;
            credential.insert("endDateTime".into(), Value::from(end));
        }
        let body = serde_json::json!({ "passwordCredential": credential });
        let operation = operation_name(&Method::POST, &url);
        let (url, body, operation) = (&url, &body, &operation);
        self.replicated(
            ctx,
            "waiting for the application to replicate",
            is_not_replicated_yet,
            move || async move {
                let response = self
                    .send(
                        ctx,
                        Method::POST,
                        url.clone(),
                        Some(body),
                        Replay::Unsafe,
                        &[],
                    )
                    .await?;
                let wire: WirePassword = expect_json(response, operation)?;
                wire.into_credential(operation)
            },
        )
        .await
    }

    /// `POST /applications/{id}/removePassword`. Succeeds when the secret is already gone.
    pub async fn remove_password(
        &self,
        ctx: &CallContext,
        app_object_id: &str,
        key_id: &str,
    ) -> Result<(), CloudError> {
        let url = self.url(&format!(
            "applications/{}/removePassword",
            path_segment(app_object_id)?
        ));
        let body = serde_json::json!({ "keyId": key_id });
        let operation = operation_name(&Method::POST, &url);
        let response = self
            .send(ctx, Method::POST, url, Some(&body), Replay::Safe, &[])
            .await?;
        if response.status.is_success() {
            return Ok(());
        }
        let error = response.into_error(Service::Graph, &operation);
        // Graph answers 400 "No password credential found with keyId" once the secret is gone,
        // and 404 once the whole app is.
        let already_gone = error.is_not_found()
            || (error.status() == Some(400)
                && error
                    .message()
                    .to_ascii_lowercase()
                    .contains("no password credential"));
        if already_gone { Ok(()) } else { Err(error) }
    }

    // ----- service principals -----

    /// `POST /servicePrincipals {appId}`. Retries "not replicated yet" answers (see the module
    /// docs) within the replication window. An existing SP for `app_id` is
    /// [`CloudError::AlreadyExists`]: look it up with
    /// [`GraphClient::find_service_principal_by_app_id`] and adopt it.
    ///
    /// Exactly once: when the answer is lost (a 408 or 5xx, or a connection broken after
    /// sending), the create is finished by the upsert of [`GraphClient::ensure_service_principal`],
    /// which makes the service principal only when the lost attempt did not. A blind replay of
    /// the POST would be refused as a duplicate.
    pub async fn create_service_principal(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<ServicePrincipal, CloudError> {
        let error = match self.post_service_principal(ctx, app_id).await {
            Err(error) if error.outcome_unknown() => error,
            other => return other,
        };
        tracing::debug!(%error, "the answer to the service principal create was lost; upserting instead");
        self.pause_after_lost_answer(ctx, 1).await?;
        // The upsert is safe to replay: it creates the service principal when the lost POST did
        // not, and finds the one it made when it did, without waiting on list replication for
        // a service principal that was never made.
        Ok(self.ensure_service_principal(ctx, app_id).await?.value)
    }

    /// One `POST /servicePrincipals`, never replayed by the HTTP layer once sent.
    async fn post_service_principal(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<ServicePrincipal, CloudError> {
        let url = self.url("servicePrincipals");
        let body = serde_json::json!({ "appId": app_id });
        let operation = operation_name(&Method::POST, &url);
        let (url, body, operation) = (&url, &body, &operation);
        self.replicated(
            ctx,
            "waiting for the application to replicate",
            is_service_principal_replication_error,
            move || async move {
                let response = self
                    .send(
                        ctx,
                        Method::POST,
                        url.clone(),
                        Some(body),
                        Replay::Unsafe,
                        &[],
                    )
                    .await?;
                expect_json::<ServicePrincipal>(response, operation)
            },
        )
        .await
    }

    /// `PATCH /servicePrincipals(appId='…')` with `Prefer: create-if-missing`: the service
    /// principal of `app_id`, created if missing (one request when it already exists). An upsert
    /// that loses the race with another client creating the same service principal (two
    /// modules of one configuration do that for Aiven's application) is answered 409
    /// `Request_MultipleObjectsWithSameKeyValue`: it exists then, as if the upsert had come a
    /// moment later.
    pub async fn ensure_service_principal(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<Upserted<ServicePrincipal>, CloudError> {
        let key = format!("servicePrincipals(appId='{}')", odata_quote(app_id));
        let url = self.url(&key);
        let operation = operation_name(&Method::PATCH, &url);
        let body = serde_json::json!({});
        let (url_ref, body, operation_ref) = (&url, &body, &operation);
        let upserted = self
            .replicated(
                ctx,
                "waiting for the application to replicate",
                is_service_principal_replication_error,
                move || async move {
                    let response = self
                        .send(
                            ctx,
                            Method::PATCH,
                            url_ref.clone(),
                            Some(body),
                            Replay::Safe,
                            &[("Prefer", "create-if-missing")],
                        )
                        .await?;
                    if response.status.is_success() {
                        Ok(response)
                    } else {
                        Err(response.into_error(Service::Graph, operation_ref))
                    }
                },
            )
            .await;
        let created = match upserted {
            Ok(response) => (response.status == StatusCode::CREATED).then_some(response),
            Err(error) if error.is_already_exists() => None,
            Err(error) => return Err(error),
        };
        if let Some(response) = created {
            let value = expect_json::<ServicePrincipal>(response, &operation)?;
            return Ok(Upserted {
                value,
                created: true,
            });
        }
        // It exists, but a list read may lag behind the write: wait until it is visible.
        let value = self.find_service_principal_visible(ctx, app_id).await?;
        Ok(Upserted {
            value,
            created: false,
        })
    }

    /// The service principal of `app_id`, known to exist (e.g. after a 409), waiting within the
    /// replication window until the directory lists it. [`CloudError::NotFound`] when it never
    /// shows up.
    pub async fn find_service_principal_visible(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<ServicePrincipal, CloudError> {
        self.replicated(
            ctx,
            "waiting for the service principal to be listed",
            is_not_replicated_yet,
            move || async move {
                self.find_service_principal_by_app_id(ctx, app_id)
                    .await?
                    .ok_or_else(|| {
                        CloudError::NotFound(Box::new(crate::cloud::error::ServiceError {
                            service: Service::Graph,
                            operation: "GET /v1.0/servicePrincipals".to_owned(),
                            status: 404,
                            code: Some(codes::RESOURCE_NOT_FOUND.to_owned()),
                            detail_codes: Vec::new(),
                            message: format!("no service principal is listed for appId {app_id}"),
                            aadsts_codes: Vec::new(),
                            request_id: None,
                        }))
                    })
            },
        )
        .await
    }

    /// `GET /servicePrincipals/{id}`; `None` when it does not exist.
    pub async fn get_service_principal(
        &self,
        ctx: &CallContext,
        object_id: &str,
    ) -> Result<Option<ServicePrincipal>, CloudError> {
        let mut url = self.url(&format!("servicePrincipals/{}", path_segment(object_id)?));
        url.query_pairs_mut()
            .append_pair("$select", SERVICE_PRINCIPAL_SELECT);
        optional(self.get_json(ctx, url).await)
    }

    /// `GET /servicePrincipals?$filter=appId eq '…'`: the SP of `app_id` in this tenant, if any.
    /// With the provider's own client id, this gives the provider identity's object id.
    pub async fn find_service_principal_by_app_id(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, CloudError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            value: Vec<ServicePrincipal>,
        }
        let mut url = self.url("servicePrincipals");
        url.query_pairs_mut()
            .append_pair("$filter", &format!("appId eq '{}'", odata_quote(app_id)))
            .append_pair("$select", SERVICE_PRINCIPAL_SELECT);
        let list: List = self.get_json(ctx, url).await?;
        Ok(list.value.into_iter().next())
    }

    /// `GET /applications?$filter=appId eq '…'`: the application of this client id registered
    /// in this tenant, if any.
    pub async fn find_application_by_app_id(
        &self,
        ctx: &CallContext,
        app_id: &str,
    ) -> Result<Option<Application>, CloudError> {
        let mut url = self.url("applications");
        url.query_pairs_mut()
            .append_pair("$filter", &format!("appId eq '{}'", odata_quote(app_id)))
            .append_pair("$select", APPLICATION_SELECT);
        let page: WirePage<WireApplication> = self.get_json(ctx, url).await?;
        Ok(page.value.into_iter().next().map(Application::from))
    }

    /// One page of `GET /applications`, optionally `$filter=startswith(displayName,'…')`:
    /// `next` is `None` for the first page, then the previous page's [`Page::next_link`].
    pub async fn list_applications(
        &self,
        ctx: &CallContext,
        display_name_prefix: Option<&str>,
        next: Option<&Url>,
    ) -> Result<Page<Application>, CloudError> {
        let url = match next {
            Some(next) => self.next_page(next)?,
            None => {
                let mut url = self.url("applications");
                if let Some(prefix) = display_name_prefix {
                    url.query_pairs_mut().append_pair(
                        "$filter",
                        &format!("startswith(displayName,'{}')", odata_quote(prefix)),
                    );
                }
                url.query_pairs_mut()
                    .append_pair("$select", APPLICATION_SELECT);
                url
            }
        };
        let page: WirePage<WireApplication> = self.get_json(ctx, url).await?;
        page.into_page(Application::from)
    }

    /// One page of `GET /servicePrincipals`, filtered by client id and/or display-name prefix
    /// (both: `and`). Paging as in [`GraphClient::list_applications`].
    pub async fn list_service_principals(
        &self,
        ctx: &CallContext,
        app_id: Option<&str>,
        display_name_prefix: Option<&str>,
        next: Option<&Url>,
    ) -> Result<Page<ServicePrincipal>, CloudError> {
        let url = match next {
            Some(next) => self.next_page(next)?,
            None => {
                let mut url = self.url("servicePrincipals");
                let clauses: Vec<String> =
                    app_id
                        .map(|app_id| format!("appId eq '{}'", odata_quote(app_id)))
                        .into_iter()
                        .chain(display_name_prefix.map(|prefix| {
                            format!("startswith(displayName,'{}')", odata_quote(prefix))
                        }))
                        .collect();
                if !clauses.is_empty() {
                    url.query_pairs_mut()
                        .append_pair("$filter", &clauses.join(" and "));
                }
                url.query_pairs_mut()
                    .append_pair("$select", SERVICE_PRINCIPAL_SELECT);
                url
            }
        };
        let page: WirePage<ServicePrincipal> = self.get_json(ctx, url).await?;
        page.into_page(|principal| principal)
    }

    /// An `@odata.nextLink` is followed only on this client's Graph endpoint: the request
    /// carries the provider's token.
    fn next_page(&self, next: &Url) -> Result<Url, CloudError> {
        if next.origin() == self.base.origin() && next.path().starts_with(self.base.path()) {
            Ok(next.clone())
        } else {
            Err(CloudError::Invalid(format!(
                "Graph answered with a next page on another endpoint ({}); not followed",
                next.origin().ascii_serialization()
            )))
        }
    }

    // ----- plumbing -----

    fn url(&self, path: &str) -> Url {
        join_path(&self.base, path)
    }

    fn application_body(
        &self,
        display_name: &str,
        audience: &str,
        owners: &[String],
        token_version: Option<i32>,
    ) -> Value {
        let mut body = serde_json::json!({
            "displayName": display_name,
            "signInAudience": audience,
        });
        if !owners.is_empty() {
            let directory_objects = join_path(&self.base, "directoryObjects");
            body["owners@odata.bind"] = owners
                .iter()
                .map(|owner| {
                    Value::from(format!(
                        "{}/{owner}",
                        directory_objects.as_str().trim_end_matches('/')
                    ))
                })
                .collect();
        }
        if let Some(version) = token_version {
            body["api"] = serde_json::json!({ "requestedAccessTokenVersion": version });
        }
        body
    }

    /// Backs off before a create is sent again after a lost answer (the service may be failing).
    async fn pause_after_lost_answer(
        &self,
        ctx: &CallContext,
        lost_answers: u32,
    ) -> Result<(), CloudError> {
        let wait = backoff_delay(self.http.retry_policy(), lost_answers - 1, fastrand::f64());
        ctx.sleep(
            wait,
            "waiting before sending a create again after a lost answer",
        )
        .await
    }

    async fn send(
        &self,
        ctx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        replay: Replay,
        headers: &[(&str, &str)],
    ) -> Result<ApiResponse, CloudError> {
        let token = self.tokens.graph_token(ctx).await?;
        let mut request = self.http.request(method, url)?.header(
            "Authorization",
            sensitive_header(&format!("Bearer {}", token.expose_secret()))?,
        );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.http.send(ctx, request, replay, &[]).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        ctx: &CallContext,
        url: Url,
    ) -> Result<T, CloudError> {
        let operation = operation_name(&Method::GET, &url);
        let response = self
            .send(ctx, Method::GET, url, None, Replay::Safe, &[])
            .await?;
        expect_json(response, &operation)
    }

    async fn delete(&self, ctx: &CallContext, url: Url) -> Result<(), CloudError> {
        let operation = operation_name(&Method::DELETE, &url);
        let response = self
            .send(ctx, Method::DELETE, url, None, Replay::Safe, &[])
            .await?;
        match response.status {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(response.into_error(Service::Graph, &operation)),
        }
    }

    async fn delete_new(&self, ctx: &CallContext, url: Url) -> Result<(), CloudError> {
        let operation = operation_name(&Method::DELETE, &url);
        let (url, operation) = (&url, &operation);
        let outcome = self
            .replicated(
                ctx,
                "waiting for the new object to replicate before deleting it",
                is_not_replicated_yet,
                move || async move {
                    let response = self
                        .send(ctx, Method::DELETE, url.clone(), None, Replay::Safe, &[])
                        .await?;
                    expect_no_content(response, operation)
                },
            )
            .await;
        match outcome {
            // Still 404 after the window: it is really gone.
            Err(CloudError::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    /// Runs `attempt` until it succeeds, fails with an error `transient` does not accept, or the
    /// replication window (or the caller's deadline) ends; then the last error is returned as is.
    async fn replicated<T, F, Fut>(
        &self,
        ctx: &CallContext,
        what: &str,
        transient: fn(&CloudError) -> bool,
        mut attempt: F,
    ) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, CloudError>>,
    {
        let window = ctx.narrowed(self.replication_window);
        let started = tokio::time::Instant::now();
        loop {
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if transient(&error) => error,
                Err(error) => return Err(error),
            };
            tracing::debug!(what, error = %error, "not replicated yet; retrying");
            let wait = crate::cloud::http::poll_interval(started.elapsed());
            match window.sleep(wait, what).await {
                Ok(()) => {}
                // The window (or the deadline) is over: the service's answer explains best.
                Err(CloudError::DeadlineExceeded { .. }) => return Err(error),
                Err(other) => return Err(other),
            }
        }
    }
}

/// 404 on an object created moments earlier.
fn is_not_replicated_yet(error: &CloudError) -> bool {
    error.is_not_found()
}

/// The answers of `POST /servicePrincipals` that mean the app has not replicated yet.
fn is_service_principal_replication_error(error: &CloudError) -> bool {
    let Some(service_error) = error.service_error() else {
        return false;
    };
    match service_error.status {
        400 => {
            error.has_code(codes::NO_BACKING_APPLICATION_OBJECT)
                || service_error
                    .message
                    .contains("does not reference a valid application object")
        }
        403 => {
            error.has_code(codes::AUTHORIZATION_REQUEST_DENIED)
                && service_error.message.contains("must in the local tenant")
        }
        404 => true,
        _ => false,
    }
}

fn expect_json<T: DeserializeOwned>(
    response: ApiResponse,
    operation: &str,
) -> Result<T, CloudError> {
    if !response.status.is_success() {
        return Err(response.into_error(Service::Graph, operation));
    }
    response.json(Service::Graph, operation)
}

fn expect_no_content(response: ApiResponse, operation: &str) -> Result<(), CloudError> {
    if response.status.is_success() {
        Ok(())
    } else {
        Err(response.into_error(Service::Graph, operation))
    }
}

fn optional<T>(result: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(CloudError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn odata_quote(value: &str) -> String {
    value.replace('\'', "''")
}

/// Object ids go into URL paths: GUID-like text only.
fn path_segment(id: &str) -> Result<&str, CloudError> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(id)
    } else {
        Err(CloudError::Invalid(format!(
            "{id:?} is not a valid object id: expected a GUID"
        )))
    }
}

/// One page of a Graph collection.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The next page (`@odata.nextLink`), absent on the last one.
    pub next_link: Option<Url>,
}

#[derive(Deserialize)]
struct WirePage<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

impl<T> WirePage<T> {
    fn into_page<U>(self, convert: impl Fn(T) -> U) -> Result<Page<U>, CloudError> {
        let next_link = match self.next_link {
            Some(link) => Some(Url::parse(&link).map_err(|error| {
                CloudError::Invalid(format!("Graph answered with an invalid next page: {error}"))
            })?),
            None => None,
        };
        Ok(Page {
            items: self.value.into_iter().map(convert).collect(),
            next_link,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireApplication {
    id: String,
    app_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    sign_in_audience: Option<String>,
    #[serde(default)]
    api: Option<WireApi>,
    #[serde(default)]
    password_credentials: Option<Vec<PasswordCredentialInfo>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireApi {
    #[serde(default)]
    requested_access_token_version: Option<i32>,
}

impl From<WireApplication> for Application {
    fn from(wire: WireApplication) -> Self {
        Self {
            id: wire.id,
            app_id: wire.app_id,
            display_name: wire.display_name.unwrap_or_default(),
            sign_in_audience: wire.sign_in_audience,
            requested_access_token_version: wire
                .api
                .and_then(|api| api.requested_access_token_version),
            password_credentials: wire.password_credentials.unwrap_or_default(),
        }
    }
}

/// The addPassword answer. No `Debug`: it holds the secret.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePassword {
    key_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    start_date_time: Option<String>,
    #[serde(default)]
    end_date_time: Option<String>,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    secret_text: Option<String>,
}

impl WirePassword {
    fn into_credential(self, operation: &str) -> Result<PasswordCredential, CloudError> {
        let secret_text =
            self.secret_text
                .filter(|s| !s.is_empty())
                .ok_or_else(|| CloudError::Decode {
                    service: Service::Graph,
                    operation: operation.to_owned(),
                    detail: "addPassword returned no secretText".into(),
                })?;
        Ok(PasswordCredential {
            key_id: self.key_id,
            display_name: self.display_name,
            start_date_time: self.start_date_time,
            end_date_time: self.end_date_time,
            hint: self.hint,
            secret_text: SecretString::new(secret_text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::error::classify;
    use crate::cloud::ServiceError;
    use crate::test_support::refusal;

    fn graph_error(status: u16, code: &str, details: &[&str], message: &str) -> CloudError {
        classify(ServiceError {
            operation: "POST /v1.0/servicePrincipals".into(),
            detail_codes: details.iter().map(|d| d.to_string()).collect(),
            message: message.into(),
            ..refusal(Service::Graph, status, code)
        })
    }

    #[test]
    fn only_the_documented_replication_answers_are_retried() {
        assert!(is_service_principal_replication_error(&graph_error(
            400,
            "Request_BadRequest",
            &["NoBackingApplicationObject"],
            "x"
        )));
        assert!(is_service_principal_replication_error(&graph_error(
            403,
            "Authorization_RequestDenied",
            &[],
            "When using this permission, the backing application of the service principal being created must in the local tenant"
        )));
        assert!(!is_service_principal_replication_error(&graph_error(
            403,
            "Authorization_RequestDenied",
            &[],
            "Insufficient privileges to complete the operation."
        )));
        assert!(!is_service_principal_replication_error(&graph_error(
            400,
            "Request_BadRequest",
            &[],
            "invalid appId"
        )));
        assert!(!is_service_principal_replication_error(&graph_error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            &[],
            "in use"
        )));
        assert!(is_not_replicated_yet(&graph_error(
            404,
            "Request_ResourceNotFound",
            &[],
            "gone"
        )));
    }

    #[test]
    fn added_passwords_keep_the_secret_out_of_debug() {
        let wire: WirePassword = serde_json::from_str(
            r#"{"keyId":"k1","displayName":"d","endDateTime":"2030-01-01T00:00:00Z","hint":"abc","secretText":"abc-very-secret"}"#,
        )
        .unwrap();
        let credential = wire.into_credential("POST /x").unwrap();
        assert_eq!(credential.secret_text.expose_secret(), "abc-very-secret");
        assert!(!format!("{credential:?}").contains("very-secret"));
        let missing: WirePassword = serde_json::from_str(r#"{"keyId":"k1"}"#).unwrap();
        assert!(missing.into_credential("POST /x").is_err());
    }

    #[test]
    fn applications_parse_with_nested_token_version() {
        let wire: WireApplication = serde_json::from_str(
            r#"{"id":"o1","appId":"a1","displayName":"n","signInAudience":"AzureADMultipleOrgs","api":{"requestedAccessTokenVersion":2},"passwordCredentials":[{"keyId":"k","hint":"abc","secretText":null}]}"#,
        )
        .unwrap();
        let app = Application::from(wire);
        assert_eq!(app.requested_access_token_version, Some(2));
        assert_eq!(app.password_credentials[0].key_id, "k");
        let bare: WireApplication =
            serde_json::from_str(r#"{"id":"o1","appId":"a1","api":null}"#).unwrap();
        assert_eq!(Application::from(bare).requested_access_token_version, None);
    }

    #[test]
    fn object_ids_are_checked_before_going_into_paths() {
        assert!(path_segment("0f5a1b2c-0000-4000-8000-000000000001").is_ok());
        assert!(path_segment("../applications").is_err());
        assert!(path_segment("").is_err());
        assert_eq!(odata_quote("a'b"), "a''b");
    }
}
