//! `vnetpeer_aad_app`: runbook step 1. A multi-tenant Entra ID application, its service
//! principal in the home tenant, and a client secret that demonstrably works.
//!
//! Create: `POST /applications` (owners bound inline), `POST /servicePrincipals` (retried while
//! the new application replicates), `addPassword`, then token requests with the new secret until
//! Entra ID accepts it. No read-back: the answers of those calls fill the state.
//!
//! If a step after the application's creation fails, the create is **rolled back**: the service
//! principal and the application (with its secret) are deleted again, so nothing is left that
//! Terraform does not know about. Only when the rollback itself fails, or when Terraform asked the
//! provider to stop, is the half-made application returned as partial state, which Terraform
//! records as tainted and deletes on the next apply or destroy.
//!
//! Secret rotation (a change of `rotate_when_changed` or of the secret arguments) adds the new
//! secret, waits until it obtains a token, and only then removes the old one: there is no moment
//! without a working secret. A managed secret that disappeared (removed out of band, or never
//! known because the application was imported) is re-added by the next apply in the same way.
//!
//! Destroy is one `DELETE /applications/{id}`: Entra ID deletes the application's service
//! principal in its home tenant with it (Microsoft Learn, "Application and service principal
//! objects", consequences of deleting applications), and its secrets go with the application. The
//! secret is not removed first: an application restored from deleted items does come back with
//! its credentials, but restoring needs rights (Application Administrator, or
//! `Application.ReadWrite.*` on it) that can add a new secret anyway, so removing it protects
//! nothing against those who can restore; `permanently_delete = true` purges the application and
//! its credentials at once.
//!
//! Destroy with `permanently_delete`: once the application is deleted, a failed purge keeps it in
//! the state. The next refresh finds it in the directory's deleted items and keeps it (marked in
//! the private state as awaiting its purge), so the next destroy only purges it, and a plan
//! replaces it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::azure::app_lifecycle::{self, OwnServicePrincipalError};
use crate::azure::app_passwords::{
    self, NewPassword, PasswordEndError, PasswordOwner, ProvenPasswordFailure, RotationFailure,
    SecretNotAccepted,
};
use crate::azure::graph::{
    Application, ApplicationPatch, DirectoryObject, GraphClient, NewApplication,
    PasswordCredential, ServicePrincipal, sign_in_audience,
};
use crate::cloud::{CallContext, CloudError, SecretString};
use crate::framework::ListResource;
use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Identity, Model, MoveSource,
    ObjectExt, PlannedChange, Resource, Schema, StringSet, Timeouts, UpdateRequest, Validator,
    model, parse_go_duration, replace_if, validators,
};
use crate::resources::Ctx;
use crate::value::{Type, Value};
use std::sync::Arc;

use super::ProviderData;
use super::identity;
use super::support::{
    OrDiagnostics, ReplicationGrace, call_context, checks, cloud_diagnostic, graph,
};

/// `list "vnetpeer_aad_app"` for `terraform query`.
pub mod list;

/// See the module documentation.
pub struct AadApp;

// The attributes in five groups, each read and written whole. Every field is optional: an
// imported state knows only `object_id`.

model! {
    /// What `PATCH /applications/{id}` changes in place.
    struct Naming {
        display_name: Option<String>,
        sign_in_audience: Option<String>,
    }
}

model! {
    /// Settings that take effect without a request of their own when changed.
    struct Settings {
        owners: Option<StringSet>,
        create_password: Option<bool>,
        permanently_delete: Option<bool>,
    }
}

model! {
    /// The managed secret's arguments; a change of any rotates the secret.
    struct SecretArguments {
        secret_display_name: Option<String>,
        secret_end_date: Option<String>,
        secret_lifetime: Option<String>,
        rotate_when_changed: Option<BTreeMap<String, String>>,
    }
}

model! {
    /// Where the application and its service principal are.
    struct Ids {
        client_id: Option<String>,
        object_id: Option<String>,
        service_principal_object_id: Option<String>,
        tenant_id: Option<String>,
    }
}

model! {
    /// The managed client secret (null throughout when there is none: `default()`).
    #[derive(Default)]
    struct ManagedSecret {
        client_secret: Option<SecretString>,
        client_secret_key_id: Option<String>,
        client_secret_end_date: Option<String>,
    }
}

impl Naming {
    /// Display name and audience, as [`ApplicationPatch::between`] compares them.
    fn pair(&self) -> (Option<&str>, Option<&str>) {
        (
            self.display_name.as_deref(),
            self.sign_in_audience.as_deref(),
        )
    }
}

impl ManagedSecret {
    fn of(secret: &PasswordCredential) -> Self {
        ManagedSecret {
            client_secret: Some(secret.secret_text.clone()),
            client_secret_key_id: Some(secret.key_id.clone()),
            client_secret_end_date: secret.end_date_time.clone(),
        }
    }
}

const TYPE_NAME: &str = "vnetpeer_aad_app";

/// Secret lifetime when neither `secret_end_date` nor `secret_lifetime` is set.
const DEFAULT_SECRET_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Private state of an application that is deleted but not purged yet (see the module docs).
/// JSON, like the other private state of this provider ([`ReplicationGrace`]), which it replaces.
const AWAITING_PURGE: &[u8] = br#"{"awaiting_purge":true}"#;

#[async_trait]
impl Resource<ProviderData> for AadApp {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn list(&self) -> Option<Arc<dyn ListResource<ProviderData>>> {
        Some(Arc::new(list::AadAppList))
    }

    fn identity(&self) -> Option<Identity> {
        Some(identity::graph_object(
            "The application's object id (a UUID, not its client id): \
             `az ad app show --id <client id> --query id`.",
        ))
    }

    fn move_from(&self, source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
        identity::moved_graph_object(source, "azuread_application", imported)
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "Runbook step 1: a multi-tenant Entra ID application, its service principal and \
                 a client secret, for the cross-tenant VNet peering with Aiven.\n\n\
                 Create returns only when the new secret actually obtains a token (new secrets \
                 and service principals take seconds to reach Entra ID's token service), so \
                 resources using `client_id` and `client_secret` can sign in at once. A create \
                 that fails half-way deletes what it made.\n\n\
                 Rotation: changing `rotate_when_changed` (or a `secret_*` argument) adds a new \
                 secret, waits until it works, and only then removes the old one.\n\n\
                 Import with the application's **object id** (not its client id): `terraform \
                 import vnetpeer_aad_app.peering <object id>`. Entra ID never returns a secret \
                 again, so after import `client_secret` and the other `client_secret_*` \
                 attributes are null, as are `owners` and the `secret_*` arguments, \
                 `permanently_delete` is `false` and `create_password` is `false` (no managed \
                 secret is known); with `create_password = true` (the default) in the \
                 configuration the next apply adds a new managed secret (existing secrets are \
                 left alone).",
            )
            .attribute(
                Attribute::string("display_name")
                    .required()
                    .description("Display name of the application. Updated in place.")
                    .validate(validators::not_blank())
                    .validate(validators::string_length(1, 256)),
            )
            .attribute(
                Attribute::string("sign_in_audience")
                    .optional()
                    .computed()
                    .default(sign_in_audience::AZURE_AD_MULTIPLE_ORGS)
                    .description(
                        "Who may sign in: `AzureADMultipleOrgs` (default; any Entra tenant) or \
                         `AzureADandPersonalMicrosoftAccount` (then the application is set to \
                         issue v2 tokens, as Entra ID requires). Single-tenant audiences are \
                         rejected: Aiven's tenant must be able to use the application. Updated \
                         in place.",
                    )
                    .validate(audience_validator()),
            )
            .attribute(
                Attribute::set("owners", Type::String)
                    .optional()
                    .requires_replace_if(replace_if::recorded_set_changed_ignoring_case)
                    .description(
                        "Object ids of the users or service principals that own the \
                         application, bound when it is created. Changing them replaces the \
                         application. After an import the configured owners are recorded \
                         without a replacement.",
                    )
                    .validate(validators::each(checks::uuid())),
            )
            .attribute(
                Attribute::bool("create_password")
                    .optional()
                    .computed()
                    .default(true)
                    .description(
                        "Whether the application gets a managed client secret (a password \
                         credential). `false` creates the application and its service principal \
                         with no secret at all: nothing stays valid in Entra ID and nothing \
                         secret is in the state. Use it when the cross-tenant peering mints its \
                         secret per operation (`application_object_id`). The `secret_*` \
                         arguments and `rotate_when_changed` need `true`. Changing it adds or \
                         removes the secret in place. Default `true`.",
                    ),
            )
            .attribute(
                Attribute::string("secret_display_name")
                    .optional()
                    .description("Display name of the client secret. A change rotates the secret."),
            )
            .attribute(
                Attribute::string("secret_end_date")
                    .optional()
                    .description(
                        "When the client secret expires (RFC 3339). Conflicts with \
                         `secret_lifetime`. A change rotates the secret.",
                    )
                    .validate(validators::rfc3339()),
            )
            .attribute(
                Attribute::string("secret_lifetime")
                    .optional()
                    .description(
                        "How long the client secret is valid from its creation, as a Go \
                         duration (`4380h` is six months). Default one year (`8760h`) when \
                         `secret_end_date` is not set either. A change rotates the secret.",
                    )
                    .validate(validators::go_duration()),
            )
            .attribute(
                Attribute::map("rotate_when_changed", Type::String)
                    .optional()
                    .description(
                        "Arbitrary values; any change adds a new secret, waits until it works, \
                         then removes the old one (no moment without a working secret). Pair it \
                         with e.g. a `time_rotating` resource.",
                    ),
            )
            .attribute(
                Attribute::bool("permanently_delete")
                    .optional()
                    .computed()
                    .default(false)
                    .description(
                        "On destroy, also purge the application from the directory's deleted \
                         items (otherwise it can be restored for 30 days, with its client \
                         secrets; restoring needs rights that can add a new secret anyway). The \
                         purge removes the application and its credentials for good. Default \
                         `false`.",
                    ),
            )
            .attribute(
                Attribute::string("client_id")
                    .computed()
                    .use_state_for_unknown()
                    .description(
                        "Application (client) id: the `client_id` of the cross-tenant peering \
                         and Aiven's `peer_azure_app_id`.",
                    ),
            )
            .attribute(
                Attribute::string("object_id")
                    .computed()
                    .use_state_for_unknown()
                    .description("Object id of the application (the import id)."),
            )
            .attribute(
                Attribute::string("service_principal_object_id")
                    .computed()
                    .use_state_for_unknown()
                    .description(
                        "Object id of the application's service principal in the home tenant: \
                         the `principal_id` of its role assignments.",
                    ),
            )
            .attribute(
                Attribute::string("tenant_id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The application's home tenant (the provider's tenant)."),
            )
            .attribute(
                Attribute::string("client_secret")
                    .computed()
                    .sensitive()
                    .description(
                        "The client secret. Known only to the state of the apply that created \
                         it; null after import.",
                    ),
            )
            .attribute(
                Attribute::string("client_secret_key_id")
                    .computed()
                    .description("Key id of the managed client secret."),
            )
            .attribute(
                Attribute::string("client_secret_end_date")
                    .computed()
                    .description("When the managed client secret expires (RFC 3339)."),
            ),
        )
        .with_timeouts(Timeouts::minutes(15, 5, 15, 10))
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        if config.attr(Settings::create_password).as_bool() == Some(false) {
            // Arguments that only mean something with a managed client secret.
            for &name in SecretArguments::ATTRIBUTES {
                if !config.attr(name).is_null() {
                    diagnostics.push(
                        Diagnostic::error(
                            format!("{name} needs a client secret"),
                            format!(
                                "`create_password = false` creates no client secret, so `{name}` \
                                 would have no effect. Remove `{name}`, or set \
                                 `create_password = true`."
                            ),
                        )
                        .at(name),
                    );
                }
            }
        }
        let end_date = config.attr(SecretArguments::secret_end_date);
        let lifetime = config.attr(SecretArguments::secret_lifetime);
        if !end_date.is_null() && !lifetime.is_null() && end_date.is_known() && lifetime.is_known()
        {
            diagnostics.push(
                Diagnostic::error(
                    "Conflicting secret_end_date and secret_lifetime",
                    "Set either `secret_end_date` (a fixed expiry) or `secret_lifetime` (a \
                     duration from the secret's creation), not both.",
                )
                .at(SecretArguments::secret_lifetime),
            );
        }
        if let Some(text) = lifetime.as_str()
            && parse_go_duration(text).is_ok_and(|duration| duration.is_zero())
        {
            diagnostics.push(
                Diagnostic::error(
                    "Invalid secret_lifetime: must be positive",
                    "A secret that expires when it is created could never be used. Use e.g. \
                     `8760h` (one year).",
                )
                .at(SecretArguments::secret_lifetime),
            );
        }
    }

    async fn modify_plan(&self, ctx: &Ctx, plan: &mut PlannedChange) -> Result<(), Diagnostics> {
        let no_password = plan.get(Settings::create_password).as_bool() == Some(false);
        if no_password {
            // No secret is made, kept or rotated: the plan says so instead of "known after apply".
            ManagedSecret::default().write_to(&mut plan.planned);
        }
        if plan.is_create() {
            return Ok(());
        }
        if ctx.private_is(AWAITING_PURGE) {
            plan.warnings.push(Diagnostic::warning(
                "The application is deleted but not purged",
                "A destroy deleted the application but could not purge it from the directory's \
                 deleted items. Applying purges it and creates a new application; `terraform \
                 destroy` only purges it.",
            ));
            // The secret went with the application (and, unlike the ids, is not kept from the
            // state when unknown): its change is the replacement's reason.
            plan.set_unknown_all(ManagedSecret::ATTRIBUTES);
            plan.require_replace(ManagedSecret::client_secret_key_id);
            return Ok(());
        }
        let secret_missing = plan
            .prior
            .attr(ManagedSecret::client_secret_key_id)
            .is_null();
        let rotation_asked = plan.any_changed(SecretArguments::ATTRIBUTES);
        if !no_password && (secret_missing || rotation_asked) {
            plan.set_unknown_all(ManagedSecret::ATTRIBUTES);
        }
        if plan.prior.attr(Ids::service_principal_object_id).is_null() {
            plan.set_unknown(Ids::service_principal_object_id);
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let planned = request.planned;
        let naming = Naming::from_value_with_defaults(&self.schema(), &planned)?;
        let settings = Settings::from_value(&planned)?;
        let arguments = SecretArguments::from_value(&planned)?;
        // A replacement of an application awaiting its purge: the marker was the old one's.
        ctx.forget_private(AWAITING_PURGE);
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        let secret_end = secret_end_date(&arguments, OffsetDateTime::now_utc())?;
        let tenant_id = home_tenant(ctx, &graph, &call).await?;
        let owners = settings.owners.clone().unwrap_or_default().0;
        let new_application = NewApplication::for_audience(
            naming.display_name.unwrap_or_default(),
            naming.sign_in_audience.unwrap_or_default(),
            owners.iter().map(String::as_str),
        );
        let application = app_lifecycle::create_application(&graph, &call, &new_application)
            .await
            .map_err(|error| {
                let mut diagnostic = cloud_diagnostic("Cannot create the application", &error);
                if error.status() == Some(400) && !new_application.owners.is_empty() {
                    diagnostic = diagnostic.with_paragraph(
                        "Check `owners`: each must be the object id of a user or service \
                         principal of this tenant.",
                    );
                }
                diagnostic
            })?;
        // From here on the application exists: a failure must not leave it behind unknown.
        let mut made = Made {
            application,
            tenant_id,
            service_principal: None,
            secret: None,
        };
        let secret = (settings.create_password != Some(false)).then_some(NewPassword {
            display_name: arguments.secret_display_name.as_deref(),
            end: secret_end,
        });
        let outcome = self
            .complete_create(ctx, &call, &graph, secret, &mut made)
            .await;
        match outcome {
            Ok(()) => {
                ReplicationGrace::remember_creation(ctx);
                Ok(made.state(planned))
            }
            Err(diagnostic) => {
                Err(roll_back(ctx, &graph, &planned, &settings, made, diagnostic).await)
            }
        }
    }

    async fn read(&self, ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let mut ids = Ids::from_value(&state)?;
        let mut settings = Settings::from_value(&state)?;
        let mut secret = ManagedSecret::from_value(&state)?;
        let Some(object_id) = ids.object_id.clone() else {
            return Ok(None);
        };
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        let service_principal_id = ids.service_principal_object_id.clone();
        let read_application = ReplicationGrace::read(ctx, || async {
            graph.get_application(&call, &object_id).await
        });
        let read_service_principal = async {
            match &service_principal_id {
                Some(id) => {
                    ReplicationGrace::read(ctx, || async {
                        graph.get_service_principal(&call, id).await
                    })
                    .await
                }
                // Imported, or found missing before: look it up by the app's client id below.
                None => Ok(None),
            }
        };
        let (application, service_principal) =
            tokio::join!(read_application, read_service_principal);
        let application = application.or_diagnostics("Cannot read the application")?;
        let Some(application) = application else {
            // Deleted, but perhaps not purged (a destroy whose purge failed): then it stays in
            // the state, so that the next destroy purges it. One request, and only here.
            if settings.permanently_delete == Some(true)
                && graph
                    .get_deleted_application(&call, &object_id)
                    .await
                    .or_diagnostics("Cannot read the directory's deleted items")?
                    .is_some()
            {
                ctx.set_private(AWAITING_PURGE.to_vec());
                return Ok(Some(state));
            }
            return Ok(None);
        };
        // Live again (restored from deleted items): nothing awaits a purge.
        ctx.forget_private(AWAITING_PURGE);
        let mut service_principal =
            service_principal.or_diagnostics("Cannot read the service principal")?;
        if service_principal_id.is_none() {
            service_principal = graph
                .find_service_principal_by_app_id(&call, &application.app_id)
                .await
                .or_diagnostics("Cannot read the service principal")?;
        }

        if service_principal.is_some() {
            ReplicationGrace::forget(ctx);
        }
        let mut naming = Naming::from_value(&state)?;
        naming.display_name = Some(application.display_name.clone());
        if let Some(audience) = &application.sign_in_audience {
            naming.sign_in_audience = Some(audience.clone());
        }
        ids.client_id = Some(application.app_id.clone());
        ids.object_id = Some(application.id.clone());
        ids.service_principal_object_id = service_principal.map(|found| found.id);
        if ids.tenant_id.is_none() {
            ids.tenant_id = Some(home_tenant(ctx, &graph, &call).await?);
        }
        settings.permanently_delete.get_or_insert(false);
        // Imported (or moved): no managed secret is known, and the state says so. The
        // configuration `terraform query` generates from this state then plans no change;
        // `create_password = true` in the configuration adds a managed secret.
        settings.create_password.get_or_insert(false);
        let managed_secret = (secret.client_secret_key_id.as_deref())
            .and_then(|key_id| application.password(key_id));
        match managed_secret {
            Some(credential) => {
                if let Some(end) = &credential.end_date_time {
                    secret.client_secret_end_date = Some(end.clone());
                }
            }
            // Gone (or never known): the next plan adds a new secret.
            None => secret = ManagedSecret::default(),
        }
        let mut state = state;
        naming.write_to(&mut state);
        settings.write_to(&mut state);
        ids.write_to(&mut state);
        secret.write_to(&mut state);
        Ok(Some(state))
    }

    async fn update(&self, ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        let UpdateRequest { prior, planned, .. } = request;
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        let ids = Ids::from_value(&prior)?;
        let prior_secret = ManagedSecret::from_value(&prior)?;
        let naming = Naming::from_value(&planned)?;
        let settings = Settings::from_value(&planned)?;
        let arguments = SecretArguments::from_value(&planned)?;
        let object_id = ids.object_id.clone().unwrap_or_default();
        // What exists so far; returned as the partial state if a later step fails. The rotation
        // triggers keep their prior values until the rotation happened, so that a failed
        // rotation is planned again.
        let mut state = prior.clone();
        settings.write_to(&mut state);

        let patch = ApplicationPatch::between(Naming::from_value(&prior)?.pair(), naming.pair());
        if patch != ApplicationPatch::default() {
            graph
                .update_application(&call, &object_id, &patch)
                .await
                .map_err(failed_step("Cannot update the application", &state))?;
            naming.write_to(&mut state);
        }

        if planned.attr(Ids::service_principal_object_id).is_unknown() {
            let client_id = ids.client_id.as_deref().unwrap_or_default();
            let upserted = graph
                .ensure_service_principal(&call, client_id)
                .await
                .map_err(failed_step("Cannot create the service principal", &state))?;
            state.set_attr(Ids::service_principal_object_id, upserted.value.id);
        }

        if planned
            .attr(ManagedSecret::client_secret_key_id)
            .is_unknown()
        {
            self.rotate_secret(ctx, &call, &graph, &arguments, &mut state)
                .await?;
        } else if settings.create_password == Some(false)
            && let Some(key_id) = &prior_secret.client_secret_key_id
        {
            // `create_password` turned off: the managed secret goes.
            graph
                .remove_password(&call, &object_id, key_id)
                .await
                .map_err(failed_step("Cannot remove the client secret", &state))?;
            ManagedSecret::default().write_to(&mut state);
        }
        arguments.write_to(&mut state);
        Ok(state)
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        let Some(object_id) = Ids::from_value(&state)?.object_id else {
            return Ok(());
        };
        let object_id = object_id.as_str();
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        if ctx.private_is(AWAITING_PURGE) {
            // Secret, service principal and application were deleted by an earlier destroy.
            return purge(&graph, &call, object_id).await;
        }
        // One request: the service principal and the secrets go with the application (see the
        // module docs). Moments after the create a 404 may only mean "not replicated yet".
        let recent = ReplicationGrace::is_recent(ctx);
        graph
            .delete_object(&call, DirectoryObject::Application, object_id, recent)
            .await
            .or_diagnostics("Cannot delete the application")?;
        if Settings::from_value(&state)?.permanently_delete == Some(true) {
            purge(&graph, &call, object_id).await?;
        }
        Ok(())
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim().trim_start_matches("/applications/");
        if !checks::is_uuid(id) {
            return Err(Diagnostic::error(
                "Invalid import id for vnetpeer_aad_app",
                format!(
                    "{id:?} is not an object id. Import with the application's object id (a \
                     UUID; not its client id), e.g. `terraform import vnetpeer_aad_app.peering \
                     00000000-0000-0000-0000-000000000000`. Find it with `az ad app show --id \
                     <client id> --query id`."
                ),
            )
            .into());
        }
        Ok(imported(id))
    }
}

impl AadApp {
    /// Create, after the application exists: service principal, secret, and the proof that the
    /// secret works. Records each object in `made` as soon as it exists.
    async fn complete_create(
        &self,
        ctx: &Ctx,
        call: &CallContext,
        graph: &GraphClient,
        secret: Option<NewPassword<'_>>,
        made: &mut Made,
    ) -> Result<(), Diagnostic> {
        let client_id = made.application.app_id.clone();
        let service_principal =
            app_lifecycle::create_own_service_principal(graph, call, &client_id)
                .await
                .map_err(|error| match error {
                    OwnServicePrincipalError::NotFound(error) => {
                        cloud_diagnostic("Cannot find the new service principal", &error)
                    }
                    OwnServicePrincipalError::NotCreated(error) => cloud_diagnostic(
                        "Cannot create the application's service principal",
                        &error,
                    ),
                })?;
        made.service_principal = Some(service_principal);
        let Some(secret) = secret else {
            return Ok(());
        };
        let owner = PasswordOwner {
            object_id: &made.application.id,
            client_id: &client_id,
            tenant_id: &made.tenant_id,
        };
        let azure = &ctx.data().azure;
        let proven = app_passwords::add_proven_password(azure, graph, call, owner, secret, &[]);
        match proven.await {
            Ok(secret) => made.secret = Some(secret),
            Err(ProvenPasswordFailure::NotAdded(error)) => {
                return Err(cloud_diagnostic("Cannot add the client secret", &error));
            }
            Err(ProvenPasswordFailure::NotAccepted { added, refused }) => {
                made.secret = Some(added);
                return Err(secret_not_accepted(refused));
            }
        }
        Ok(())
    }

    /// Adds a new secret, waits until it works, then removes the old one; updates `state`.
    async fn rotate_secret(
        &self,
        ctx: &Ctx,
        call: &CallContext,
        graph: &GraphClient,
        arguments: &SecretArguments,
        state: &mut Value,
    ) -> Result<(), Failure> {
        let ids = Ids::from_value(state)?;
        let object_id = ids.object_id.unwrap_or_default();
        let client_id = ids.client_id.unwrap_or_default();
        let tenant_id = match ids.tenant_id {
            Some(tenant) => tenant,
            None => home_tenant(ctx, graph, call)
                .await
                .map_err(|diagnostic| partial(diagnostic, state))?,
        };
        let old_key_id = ManagedSecret::from_value(state)?.client_secret_key_id;
        let secret_end = secret_end_date(arguments, OffsetDateTime::now_utc())
            .map_err(|diagnostic| partial(diagnostic, state))?;
        let new = NewPassword {
            display_name: arguments.secret_display_name.as_deref(),
            end: secret_end,
        };
        let azure = &ctx.data().azure;
        let application = PasswordOwner {
            object_id: &object_id,
            client_id: &client_id,
            tenant_id: &tenant_id,
        };
        let old = old_key_id.as_deref();
        let rotated =
            app_passwords::rotate_password(azure, graph, call, application, new, old).await;
        let (secret, old_not_removed) = match rotated {
            Ok(secret) => (secret, None),
            Err(RotationFailure::NotAdded(error)) => {
                return Err(failed_step("Cannot add the new client secret", state)(
                    error,
                ));
            }
            Err(RotationFailure::NotAccepted {
                refused,
                new_key_id,
                removal,
            }) => {
                // The old secret still works: everything stays as it was.
                let diagnostic = secret_not_accepted(refused);
                let diagnostic = match removal {
                    Ok(()) => diagnostic.with_paragraph(
                        "The new secret was removed again; the current secret is unchanged.",
                    ),
                    Err(error) => diagnostic.with_paragraph(format!(
                        "The new secret (key id {new_key_id}) could not be removed again and \
                         is left on the application: {error}"
                    )),
                };
                return Err(partial(diagnostic, state));
            }
            Err(RotationFailure::OldNotRemoved { new, error }) => (new, Some(error)),
        };
        // The new secret works: from here on the state must hold it.
        ManagedSecret::of(&secret).write_to(state);
        arguments.write_to(state);
        if let Some(error) = old_not_removed {
            let old_key_id = old_key_id.unwrap_or_default();
            let diagnostic = cloud_diagnostic("Cannot remove the previous client secret", &error)
                .with_paragraph(format!(
                    "The new secret is in use; the previous one (key id {old_key_id}) is \
                 still on the application. Remove it in the Entra admin center or with \
                 `az ad app credential delete --id {client_id} --key-id {old_key_id}`."
                ));
            return Err(partial(diagnostic, state));
        }
        Ok(())
    }
}

/// What a create has made so far.
struct Made {
    application: Application,
    tenant_id: String,
    service_principal: Option<ServicePrincipal>,
    secret: Option<PasswordCredential>,
}

impl Made {
    /// `planned` with every computed attribute filled in from what exists (null where nothing
    /// was made).
    fn state(&self, planned: Value) -> Value {
        let mut state = planned;
        Ids {
            client_id: Some(self.application.app_id.clone()),
            object_id: Some(self.application.id.clone()),
            service_principal_object_id: self.service_principal.as_ref().map(|sp| sp.id.clone()),
            tenant_id: Some(self.tenant_id.clone()),
        }
        .write_to(&mut state);
        self.secret
            .as_ref()
            .map_or_else(ManagedSecret::default, ManagedSecret::of)
            .write_to(&mut state);
        state
    }
}

/// Undoes a failed create. Returns the failure to report: without state when everything was
/// deleted again, with the half-made application (tainted by Terraform) otherwise.
async fn roll_back(
    ctx: &Ctx,
    graph: &GraphClient,
    planned: &Value,
    settings: &Settings,
    made: Made,
    diagnostic: Diagnostic,
) -> Failure {
    if ctx.is_cancelled() {
        let diagnostic = diagnostic.with_paragraph(
            "The half-made application is kept in the state as tainted; the next apply \
             replaces it and `terraform destroy` deletes it.",
        );
        return Failure::with_partial_state(diagnostic, made.state(planned.clone()));
    }
    let result = app_lifecycle::delete_half_made(
        graph,
        ctx.cancellation(),
        &made.application.id,
        made.service_principal.as_ref().map(|sp| sp.id.as_str()),
        settings.permanently_delete == Some(true),
    )
    .await;
    match result {
        Ok(()) => {
            tracing::info!(
                object_id = made.application.id,
                "rolled back the half-made application"
            );
            Failure::from(diagnostic.with_paragraph(
                "The application and what was created with it were deleted again, so \
                 nothing is left behind.",
            ))
        }
        Err(error) => {
            let diagnostic = diagnostic.with_paragraph(format!(
                "Deleting the half-made application (object id {}) failed as well ({error}); \
                 it is kept in the state as tainted, so the next apply replaces it and \
                 `terraform destroy` deletes it.",
                made.application.id
            ));
            Failure::with_partial_state(diagnostic, made.state(planned.clone()))
        }
    }
}

/// Purges the deleted application from the directory's deleted items.
async fn purge(
    graph: &GraphClient,
    call: &CallContext,
    object_id: &str,
) -> Result<(), Diagnostics> {
    graph
        .purge_deleted_application(call, object_id)
        .await
        .map_err(|error| {
            cloud_diagnostic(
                "Cannot purge the application from the deleted items",
                &error,
            )
            .with_paragraph(format!(
                "The application (object id {object_id}) is deleted but can still be \
                     restored from the deleted items. It stays in the state: the next `terraform \
                     destroy` retries the purge."
            ))
            .into()
        })
}

/// The failure of a new secret that never obtained a token.
fn secret_not_accepted(refused: SecretNotAccepted) -> Diagnostic {
    let mut diagnostic = cloud_diagnostic("The new client secret does not work", &refused.error);
    if refused.still_replicating {
        diagnostic = diagnostic.with_paragraph(
            "Entra ID did not accept the new secret before the timeout. New \
             applications, service principals and secrets usually reach the token \
             service within a minute, sometimes more: raise `timeouts { create = ... }` \
             (or `update`).",
        );
    }
    diagnostic
}

/// The home tenant of new applications (see [`app_lifecycle::home_tenant`]).
async fn home_tenant(
    ctx: &Ctx,
    graph: &GraphClient,
    call: &CallContext,
) -> Result<String, Diagnostic> {
    app_lifecycle::home_tenant(&ctx.data().azure, graph, call)
        .await
        .map_err(|error| cloud_diagnostic("Cannot sign in to Microsoft Graph", &error))?
        .ok_or_else(|| {
            Diagnostic::error(
                "Unknown tenant",
                "The provider's token names no tenant and none is configured: set `tenant_id` \
                 in the provider block (or ARM_TENANT_ID).",
            )
        })
}

/// When a new secret should expire: `secret_end_date`, else now + `secret_lifetime` (default
/// one year). Whole seconds, and never in the past.
fn secret_end_date(
    arguments: &SecretArguments,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Diagnostic> {
    let fixed_end = arguments.secret_end_date.as_deref();
    let lifetime = match (fixed_end, arguments.secret_lifetime.as_deref()) {
        (None, Some(text)) => parse_go_duration(text).map_err(|reason| {
            Diagnostic::error("Invalid secret_lifetime", reason)
                .at(SecretArguments::secret_lifetime)
        })?,
        _ => DEFAULT_SECRET_LIFETIME,
    };
    let text = fixed_end.unwrap_or_default();
    app_passwords::password_end(fixed_end, lifetime, now).map_err(|error| match error {
        PasswordEndError::NotRfc3339 => Diagnostic::error(
            "Invalid secret_end_date",
            format!("{text:?} is not an RFC 3339 timestamp such as `2030-01-01T00:00:00Z`."),
        )
        .at(SecretArguments::secret_end_date),
        PasswordEndError::InPast => Diagnostic::error(
            "secret_end_date is in the past",
            format!(
                "A secret ending at {text} could never be used. Choose a later date, or use \
                 `secret_lifetime` for a duration from the secret's creation."
            ),
        )
        .at(SecretArguments::secret_end_date),
        PasswordEndError::BeyondRange => Diagnostic::error(
            "Invalid secret_lifetime",
            "The lifetime ends beyond the dates Entra ID accepts. Use a shorter one.",
        )
        .at(SecretArguments::secret_lifetime),
    })
}

/// The state an import by object id gives (also the one a `moved` block gives): `read` fills
/// in the rest.
fn imported(object_id: &str) -> Value {
    let mut state = Value::object::<&str>([]);
    state.set_attr(Ids::object_id, object_id.to_ascii_lowercase());
    state.set_attr(Settings::permanently_delete, false);
    state
}

fn partial(diagnostic: Diagnostic, state: &Value) -> Failure {
    Failure::with_partial_state(diagnostic, state.clone())
}

/// The failure of an update's step: `summary` and the service's answer, with what exists so
/// far (`state`) as the partial state.
fn failed_step<'a>(summary: &'a str, state: &'a Value) -> impl FnOnce(CloudError) -> Failure + 'a {
    move |error| partial(cloud_diagnostic(summary, &error), state)
}

/// `signInAudience`: the multi-tenant values only, each refusal saying why.
fn audience_validator() -> Validator {
    Validator::string(
        "`AzureADMultipleOrgs` or `AzureADandPersonalMicrosoftAccount` (a multi-tenant audience)",
        |text| match text {
            sign_in_audience::AZURE_AD_MULTIPLE_ORGS
            | sign_in_audience::AZURE_AD_AND_PERSONAL_MICROSOFT_ACCOUNT => Ok(()),
            sign_in_audience::AZURE_AD_MY_ORG => Err(
                "`AzureADMyOrg` is single-tenant, but Aiven's tenant must sign in with this \
                 application for the cross-tenant peering, so it has to be multi-tenant. Use \
                 `AzureADMultipleOrgs`"
                    .to_owned(),
            ),
            sign_in_audience::PERSONAL_MICROSOFT_ACCOUNT => Err(
                "`PersonalMicrosoftAccount` admits personal accounts only, so no Entra tenant \
                 (neither yours nor Aiven's) could use the application. Use \
                 `AzureADMultipleOrgs`"
                    .to_owned(),
            ),
            other => Err(format!("{other:?} is not a sign-in audience")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    fn planned(pairs: &[(&str, &str)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(name, value)| (*name, Value::string(*value))),
        )
    }

    fn arguments(pairs: &[(&str, &str)]) -> SecretArguments {
        SecretArguments::from_value(&planned(pairs)).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-01-01T00:00:00.5Z", &Rfc3339).unwrap()
    }

    #[test]
    fn secret_end_dates_default_to_one_year_in_whole_seconds() {
        let end = secret_end_date(&arguments(&[]), now()).unwrap();
        assert_eq!(end.format(&Rfc3339).unwrap(), "2027-01-01T00:00:00Z");
        let end = secret_end_date(&arguments(&[("secret_lifetime", "1h30m")]), now()).unwrap();
        assert_eq!(end.format(&Rfc3339).unwrap(), "2026-01-01T01:30:00Z");
        let end = secret_end_date(
            &arguments(&[("secret_end_date", "2030-06-01T12:00:00Z")]),
            now(),
        )
        .unwrap();
        assert_eq!(end.format(&Rfc3339).unwrap(), "2030-06-01T12:00:00Z");
    }

    #[test]
    fn past_secret_end_dates_are_refused_before_anything_is_created() {
        let diagnostic = secret_end_date(
            &arguments(&[("secret_end_date", "2020-01-01T00:00:00Z")]),
            now(),
        )
        .unwrap_err();
        assert_eq!(diagnostic.summary, "secret_end_date is in the past");
        assert_eq!(diagnostic.path, Some("secret_end_date".into()));
    }

    #[test]
    fn single_tenant_audiences_are_refused_with_the_reason() {
        let validator = audience_validator();
        assert!(
            validator
                .check(&Value::string("AzureADMultipleOrgs"))
                .is_ok()
        );
        assert!(
            validator
                .check(&Value::string("AzureADandPersonalMicrosoftAccount"))
                .is_ok()
        );
        let reason = validator.check(&Value::string("AzureADMyOrg")).unwrap_err();
        assert!(reason.contains("single-tenant"), "{reason}");
        assert!(reason.contains("Aiven"), "{reason}");
        assert!(
            validator
                .check(&Value::string("PersonalMicrosoftAccount"))
                .is_err()
        );
    }
}
