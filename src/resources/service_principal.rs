//! `vnetpeer_service_principal`: runbook step 3. Aiven's multi-tenant application
//! (`55f300d4-fc50-4c5e-9222-e90a6e2187fb`) needs a service principal in the customer tenant
//! before it can be granted the custom peering role there.
//!
//! Create upserts the service principal (`PATCH servicePrincipals(appId='…')` with
//! `Prefer: create-if-missing`: one request), so an existing one is adopted without a duplicate
//! create; with `use_existing = false` it posts instead and turns the conflict into an error that
//! names the existing object and the import command. An adopted service principal is never
//! deleted: other peerings of the tenant may rely on it.
//!
//! Graph is eventually consistent: a service principal created moments ago answers 404 for a
//! while. Create records its creation time in the private state, and a refresh within the
//! replication window waits for it instead of reporting it gone ([`ReplicationGrace`](super::support::ReplicationGrace)).

use std::time::Duration;

use async_trait::async_trait;

use crate::aiven::AIVEN_APP_ID;
use crate::azure::app_lifecycle::{self, NotCreated};
use crate::azure::graph::{DirectoryObject, ServicePrincipal};
use crate::cloud::CloudError;
use crate::framework::ListResource;
use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Identity, Model, MoveSource,
    ObjectExt, Resource, Schema, Timeouts, UpdateRequest, model,
};
use crate::resources::Ctx;
use crate::value::Value;
use std::sync::Arc;

use super::ProviderData;
use super::identity;
use super::support::{
    OrDiagnostics, ReplicationGrace, call_context, checks, cloud_diagnostic, graph,
};

/// `list "vnetpeer_service_principal"` for `terraform query`.
pub mod list;

/// See the module documentation.
pub struct ServicePrincipalResource;

model! {
    /// What a create asks for (`use_existing` defaults in the schema).
    struct Wanted {
        client_id: String,
        use_existing: bool,
    }
}

model! {
    /// The service principal as Graph reports it.
    struct Reported {
        client_id: String,
        object_id: String,
        application_tenant_id: Option<String>,
        display_name: Option<String>,
    }
}

impl Reported {
    fn of(service_principal: &ServicePrincipal) -> Self {
        Reported {
            client_id: service_principal.app_id.clone(),
            object_id: service_principal.id.clone(),
            application_tenant_id: service_principal.app_owner_organization_id.clone(),
            display_name: service_principal.shown_name(),
        }
    }
}

model! {
    /// Whether destroy deletes it (null only in the state an import starts from).
    struct Ownership {
        use_existing: Option<bool>,
        adopted: Option<bool>,
    }
}

const TYPE_NAME: &str = "vnetpeer_service_principal";

#[async_trait]
impl Resource<ProviderData> for ServicePrincipalResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn list(&self) -> Option<Arc<dyn ListResource<ProviderData>>> {
        Some(Arc::new(list::ServicePrincipalList))
    }

    fn identity(&self) -> Option<Identity> {
        Some(identity::graph_object(
            "The service principal's object id (a UUID, not the application's client id): \
             `az ad sp show --id <client id> --query id`.",
        ))
    }

    fn move_from(&self, source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
        identity::moved_graph_object(source, "azuread_service_principal", imported)
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(format!(
                "Runbook step 3: the service principal of an existing application in the \
                 provider's tenant, typically Aiven's multi-tenant application `{AIVEN_APP_ID}`, \
                 so that it can be granted the custom peering role on your VNet.\n\n\
                 With `use_existing = true` (the default) a service principal that already exists \
                 for the application is adopted (`adopted = true`) and **never deleted** on \
                 destroy, because other peerings in the tenant may rely on it.\n\n\
                 Import with the service principal's object id: `terraform import \
                 vnetpeer_service_principal.aiven <object id>`. An imported service principal is \
                 managed like one this resource created (`adopted = false`): destroy deletes it."
            ))
            .attribute(
                Attribute::string("client_id")
                    .required()
                    .force_new()
                    .case_insensitive()
                    .description(format!(
                        "Client (application) id of the application, e.g. Aiven's \
                         `{AIVEN_APP_ID}`. Changing it replaces the service principal."
                    ))
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::bool("use_existing")
                    .optional()
                    .computed()
                    .default(true)
                    .description(
                        "Adopt a service principal that already exists for the application \
                         instead of failing. An adopted service principal is kept on destroy. \
                         Default `true`.",
                    ),
            )
            .attribute(
                Attribute::string("object_id")
                    .computed()
                    .use_state_for_unknown()
                    .description(
                        "Object id of the service principal: the `principal_id` of role \
                         assignments.",
                    ),
            )
            .attribute(
                Attribute::string("application_tenant_id")
                    .computed()
                    .use_state_for_unknown()
                    .description(
                        "Home tenant of the application (`appOwnerOrganizationId`). For \
                         Aiven's application this is Aiven's tenant id.",
                    ),
            )
            .attribute(
                Attribute::string("display_name")
                    .computed()
                    .description("Display name of the service principal."),
            )
            .attribute(Attribute::bool("adopted").computed().description(
                "Whether the service principal existed before this resource was created. An \
                 adopted service principal is not deleted on destroy.",
            )),
        )
        .with_timeouts(Timeouts::minutes(10, 5, 10, 10))
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        let planned = request.planned;
        let Wanted {
            client_id,
            use_existing,
        } = Wanted::from_value_with_defaults(&self.schema(), &planned)?;
        let call = call_context(ctx);
        let window = app_lifecycle::replication_window_within(ctx.timeout());
        let graph = graph(ctx)?.with_replication_window(window);

        let (service_principal, adopted) = if use_existing {
            let upserted = graph
                .ensure_service_principal(&call, &client_id)
                .await
                .map_err(|error| create_error(&client_id, window, &error))?;
            (upserted.value, !upserted.created)
        } else {
            let created =
                app_lifecycle::create_service_principal_without_adopting(&graph, &call, &client_id)
                    .await
                    .map_err(|refusal| match refusal {
                        NotCreated::AlreadyExists(existing) => {
                            already_exists(&client_id, existing.as_ref())
                        }
                        NotCreated::Failed(error) => create_error(&client_id, window, &error),
                    })?;
            (created, false)
        };
        if adopted {
            tracing::info!(
                client_id,
                object_id = service_principal.id,
                "adopted the existing service principal"
            );
        } else {
            ReplicationGrace::remember_creation(ctx);
        }

        let mut state = planned;
        Reported::of(&service_principal).write_to(&mut state);
        state.set_attr(Ownership::adopted, adopted);
        Ok(state)
    }

    async fn read(&self, ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let Some(object_id) = state.attr_string(Reported::object_id) else {
            return Ok(None);
        };
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        let found = ReplicationGrace::read(ctx, || async {
            graph.get_service_principal(&call, &object_id).await
        })
        .await
        .or_diagnostics("Cannot read the service principal")?;
        let Some(service_principal) = found else {
            return Ok(None);
        };
        ReplicationGrace::forget(ctx);
        let mut ownership = Ownership::from_value_with_defaults(&self.schema(), &state)?;
        let mut state = state;
        Reported::of(&service_principal).write_to(&mut state);
        ownership.adopted.get_or_insert(false);
        ownership.write_to(&mut state);
        Ok(Some(state))
    }

    async fn update(&self, _ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        // Only `use_existing` can change in place, and it matters only at create time.
        Ok(request.planned)
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        let Some(object_id) = state.attr_str(Reported::object_id) else {
            return Ok(());
        };
        if state.attr_bool(Ownership::adopted) == Some(true) {
            tracing::info!(
                object_id,
                "keeping the adopted service principal; removing it from the state only"
            );
            return Ok(());
        }
        let call = call_context(ctx);
        let graph = graph(ctx)?;
        // Moments after its creation a 404 may only mean "not replicated yet".
        let recent = ReplicationGrace::is_recent(ctx);
        graph
            .delete_object(&call, DirectoryObject::ServicePrincipal, object_id, recent)
            .await
            .or_diagnostics("Cannot delete the service principal")
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if !checks::is_uuid(id) {
            return Err(Diagnostic::error(
                "Invalid import id for vnetpeer_service_principal",
                format!(
                    "{id:?} is not an object id. Import with the service principal's object id \
                     (a UUID), e.g. `terraform import vnetpeer_service_principal.aiven \
                     00000000-0000-0000-0000-000000000000`. Find it with `az ad sp show --id \
                     <client id> --query id`."
                ),
            )
            .into());
        }
        Ok(imported(id))
    }
}

/// The state an import by object id gives (also the one a `moved` block gives): managed like
/// one this resource created; `read` fills in the rest.
fn imported(object_id: &str) -> Value {
    let mut state = Ownership {
        use_existing: Some(true),
        adopted: Some(false),
    }
    .to_value();
    state.set_attr(Reported::object_id, object_id.to_ascii_lowercase());
    state
}

/// The diagnostic for a service principal that exists while `use_existing = false`.
fn already_exists(client_id: &str, existing: Option<&ServicePrincipal>) -> Diagnostic {
    let (which, import_id) = match existing {
        Some(found) => (format!(" (object id {})", found.id), found.id.clone()),
        None => (String::new(), "<object id>".to_owned()),
    };
    Diagnostic::error(
        format!("A service principal for application {client_id} already exists"),
        format!(
            "This tenant already has a service principal for the application{which}, and \
             `use_existing = false` forbids adopting it. Either set `use_existing = true` to adopt \
             it (it is then kept on destroy), or bring it under management with `terraform import \
             {TYPE_NAME}.<name> {import_id}` (destroy then deletes it)."
        ),
    )
    .at(Reported::client_id)
}

/// A failed create of the service principal, explained in the user's terms.
fn create_error(client_id: &str, window: Duration, error: &CloudError) -> Diagnostic {
    if app_lifecycle::is_unknown_application(error) {
        let aiven_hint = if client_id.eq_ignore_ascii_case(AIVEN_APP_ID) {
            String::new()
        } else {
            format!(" Aiven's peering application is `{AIVEN_APP_ID}`.")
        };
        return Diagnostic::error(
            format!("No application with client id {client_id}"),
            format!(
                "Microsoft Graph knows no application with this client id (waited {} for \
                 replication). Check `client_id`: it must be an application's client id, not an \
                 object id.{aiven_hint} If the application was created moments ago in another \
                 tool, raise `timeouts {{ create = ... }}` (replication is given half of it).\n\n\
                 Service error: {error}",
                crate::framework::format_go_duration(window)
            ),
        )
        .at(Reported::client_id);
    }
    if error.status() == Some(403) {
        return Diagnostic::error(
            format!("Not allowed to create the service principal of application {client_id}"),
            format!(
                "The provider's identity may not create this service principal. Creating the \
                 service principal of another tenant's application (such as Aiven's) needs the \
                 Microsoft Graph application permission `Application.ReadWrite.All` (with admin \
                 consent); `Application.ReadWrite.OwnedBy` is not enough. Alternatively, let an \
                 administrator create it once (`az ad sp create --id {client_id}`) and keep \
                 `use_existing = true` to adopt it.\n\nService error: {error}"
            ),
        )
        .at(Reported::client_id);
    }
    cloud_diagnostic("Cannot create the service principal", error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_client_ids_are_explained_at_the_argument() {
        let error = CloudError::Service(Box::new(crate::cloud::ServiceError {
            operation: "PATCH /v1.0/servicePrincipals(appId='x')".into(),
            detail_codes: vec![crate::azure::graph::codes::NO_BACKING_APPLICATION_OBJECT.into()],
            message: "The appId 'x' of the service principal does not reference a valid \
                      application object."
                .into(),
            ..crate::test_support::refusal(crate::cloud::Service::Graph, 400, "Request_BadRequest")
        }));
        let diagnostic = create_error(
            "00000000-0000-4000-8000-000000000000",
            Duration::from_secs(30),
            &error,
        );
        assert_eq!(
            diagnostic.summary,
            "No application with client id 00000000-0000-4000-8000-000000000000"
        );
        assert!(diagnostic.detail.contains(AIVEN_APP_ID));
        assert!(diagnostic.detail.contains("waited 30s"));
        assert_eq!(diagnostic.path, Some("client_id".into()));
    }

    #[test]
    fn an_existing_principal_names_the_import_command() {
        let existing = ServicePrincipal {
            id: "11111111-1111-4111-8111-111111111111".into(),
            app_id: AIVEN_APP_ID.into(),
            app_owner_organization_id: None,
            display_name: None,
            app_display_name: None,
        };
        let diagnostic = already_exists(AIVEN_APP_ID, Some(&existing));
        assert!(diagnostic.detail.contains(
            "terraform import vnetpeer_service_principal.<name> \
             11111111-1111-4111-8111-111111111111"
        ));
        assert!(diagnostic.detail.contains("use_existing = true"));
    }
}
