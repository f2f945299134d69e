//! The protocol-independent core of the provider service: one method per Terraform RPC, taking
//! and returning decoded [`Value`]s. `crate::plugin::provider_service` does the protobuf and
//! msgpack translation around it; everything the protocol requires of values happens here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::value::{StoredJsonError, Type, Value, ValueError};

use super::context::Context;
use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::ephemeral::{EphemeralResource, Opened, Renewed};
use super::function::{Function, FunctionError, Signature};
use super::identity::Identity;
use super::list::{Found, ListEvent, ListResource, ListResult, Listing, Resolve};
use super::plan;
use super::resource::{
    ConfigureRequest, CreateRequest, DataSource, Failure, MoveSource, Provider, Resource,
    UpdateRequest,
};
use super::schema::Schema;
use super::timeouts::{Operation, Timeouts};

/// A registered resource type with its schema, built once.
pub struct ResourceEntry<D> {
    pub resource: Arc<dyn Resource<D>>,
    pub schema: Schema,
    pub ty: Type,
    /// The resource identity, when the type has one, and its object type.
    pub identity: Option<(Identity, Type)>,
}

/// A registered data source type with its schema, built once.
pub struct DataSourceEntry<D> {
    pub data_source: Arc<dyn DataSource<D>>,
    pub schema: Schema,
    pub ty: Type,
}

/// A registered ephemeral resource type with its schema, built once.
pub struct EphemeralEntry<D> {
    pub ephemeral: Arc<dyn EphemeralResource<D>>,
    pub schema: Schema,
    pub ty: Type,
}

/// A registered list resource with the schema of its `config` block, built once.
pub struct ListEntry<D> {
    pub list: Arc<dyn ListResource<D>>,
    pub schema: Schema,
    pub ty: Type,
}

/// A registered function with its signature, built once.
pub struct FunctionEntry {
    pub function: Arc<dyn Function>,
    pub signature: Signature,
}

/// Every schema of the provider, built on first use.
pub struct Catalog<D> {
    pub provider: Schema,
    pub provider_type: Type,
    pub resources: BTreeMap<&'static str, ResourceEntry<D>>,
    pub data_sources: BTreeMap<&'static str, DataSourceEntry<D>>,
    pub functions: BTreeMap<&'static str, FunctionEntry>,
    pub ephemeral_resources: BTreeMap<&'static str, EphemeralEntry<D>>,
    pub list_resources: BTreeMap<&'static str, ListEntry<D>>,
    /// Schema mistakes (programming errors), reported by GetProviderSchema.
    pub problems: Vec<String>,
}

/// Result of ReadResource: `new_state` is null when the object is gone.
#[derive(Debug)]
pub struct ReadOutcome {
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Result of PlanResourceChange.
#[derive(Debug)]
pub struct PlanOutcome {
    pub planned_state: Value,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Result of ApplyResourceChange.
#[derive(Debug)]
pub struct ApplyOutcome {
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Result of ImportResourceState.
#[derive(Debug)]
pub struct ImportOutcome {
    pub state: Option<Value>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// A type's own `validate`, after the schema's per-attribute rules.
type CrossAttributeRules<'a> = &'a dyn Fn(&Value, &mut Diagnostics);

/// The kinds of configuration block Terraform asks the provider to validate by type name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    Resource,
    DataSource,
    EphemeralResource,
    /// The `config` block of a `list` block.
    ListResource,
}

impl ConfigKind {
    fn noun(self) -> &'static str {
        match self {
            ConfigKind::Resource => "resource",
            ConfigKind::DataSource => "data source",
            ConfigKind::EphemeralResource => "ephemeral resource",
            ConfigKind::ListResource => "list resource",
        }
    }
}

/// The provider's runtime: schemas, configured data, and the stop signal.
pub struct Server<P: Provider> {
    provider: P,
    catalog: OnceLock<Catalog<P::Data>>,
    data: RwLock<Option<Arc<P::Data>>>,
    stop: Mutex<CancellationToken>,
}

impl<P: Provider> Server<P> {
    pub fn new(provider: P) -> Self {
        Server {
            provider,
            catalog: OnceLock::new(),
            data: RwLock::new(None),
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    /// Every schema, built and checked on first use.
    pub fn catalog(&self) -> &Catalog<P::Data> {
        self.catalog.get_or_init(|| build_catalog(&self.provider))
    }

    pub fn resource_type(&self, type_name: &str) -> Option<&Type> {
        self.catalog()
            .resources
            .get(type_name)
            .map(|entry| &entry.ty)
    }

    pub fn provider_type(&self) -> &Type {
        &self.catalog().provider_type
    }

    /// OpenEphemeralResource: the result is normalised and checked like a data source's.
    pub async fn open_ephemeral(
        &self,
        type_name: &str,
        config: Value,
    ) -> Result<(Opened, Diagnostics), Diagnostics> {
        let Some(entry) = self.catalog().ephemeral_resources.get(type_name) else {
            return Err(unknown_type("ephemeral resource", type_name));
        };
        let timeout = timeouts_of(&entry.schema).for_operation(&config, Operation::Read);
        let ctx = self.context("open ephemeral resource", timeout, Vec::new())?;
        tracing::debug!(type_name, "open ephemeral resource");
        let mut opened = entry
            .ephemeral
            .open(&ctx, config.clone())
            .await
            .map_err(|diagnostics| ensure_error(diagnostics, type_name, "open"))?;
        let mut result = plan::normalize(&entry.schema.block, opened.result);
        plan::carry_timeouts(&entry.schema, &config, &mut result);
        let mut diagnostics = Diagnostics::new();
        let mut unknown = Vec::new();
        plan::unknown_paths(&result, &AttributePath::default(), &mut unknown);
        if !unknown.is_empty() {
            diagnostics.push(bug(type_name, "open", &left_unknown(&unknown)));
            plan::unknowns_to_null(&mut result);
        }
        if let Err(problem) = plan::check_conforms(&entry.ty, &result) {
            diagnostics.push(bug(type_name, "open", &problem));
        }
        opened.result = result;
        Ok((opened, diagnostics))
    }

    /// RenewEphemeralResource.
    pub async fn renew_ephemeral(
        &self,
        type_name: &str,
        private: Vec<u8>,
    ) -> Result<Renewed, Diagnostics> {
        let Some(entry) = self.catalog().ephemeral_resources.get(type_name) else {
            return Err(unknown_type("ephemeral resource", type_name));
        };
        let timeout = timeouts_of(&entry.schema).for_operation(&Value::Null, Operation::Read);
        let ctx = self.context("renew ephemeral resource", timeout, Vec::new())?;
        entry
            .ephemeral
            .renew(&ctx, private)
            .await
            .map_err(|diagnostics| ensure_error(diagnostics, type_name, "renew"))
    }

    /// CloseEphemeralResource.
    pub async fn close_ephemeral(&self, type_name: &str, private: Vec<u8>) -> Diagnostics {
        let Some(entry) = self.catalog().ephemeral_resources.get(type_name) else {
            return unknown_type("ephemeral resource", type_name);
        };
        let timeout = timeouts_of(&entry.schema).for_operation(&Value::Null, Operation::Delete);
        let ctx = match self.context("close ephemeral resource", timeout, Vec::new()) {
            Ok(ctx) => ctx,
            Err(diagnostics) => return diagnostics,
        };
        tracing::debug!(type_name, "close ephemeral resource");
        match entry.ephemeral.close(&ctx, private).await {
            Ok(()) => Diagnostics::new(),
            Err(diagnostics) => ensure_error(diagnostics, type_name, "close"),
        }
    }

    /// The signature of a function, when the provider has one by that name.
    pub fn function_signature(&self, name: &str) -> Option<&Signature> {
        self.catalog()
            .functions
            .get(name)
            .map(|entry| &entry.signature)
    }

    /// CallFunction: `arguments` are decoded with the parameter types. The result is checked
    /// against the declared return type, so a function bug becomes an error, not a crash.
    pub fn call_function(&self, name: &str, arguments: &[Value]) -> Result<Value, FunctionError> {
        let Some(entry) = self.catalog().functions.get(name) else {
            return Err(FunctionError::general(format!(
                "This provider has no function named {name:?}."
            )));
        };
        let expected = entry.signature.parameters.len();
        if arguments.len() != expected {
            return Err(FunctionError::general(format!(
                "{name} takes {expected} argument(s), {} given.",
                arguments.len()
            )));
        }
        let result = entry.function.call(arguments)?;
        plan::check_conforms(&entry.signature.return_type, &result).map_err(|problem| {
            FunctionError::general(format!(
                "Provider bug: {name} returned a value that does not match its return type \
                 ({problem}). Please report this issue to the provider developers."
            ))
        })?;
        Ok(result)
    }

    /// StopProvider (docs/development/plugin-obligations.md, E4): cancels every in-flight
    /// operation. Operations that start afterwards get a fresh signal, and the server keeps
    /// serving.
    pub fn stop(&self) {
        let mut current = match self.stop.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        current.cancel();
        *current = CancellationToken::new();
        tracing::info!("stop requested: in-flight operations cancelled");
    }

    fn cancellation(&self) -> CancellationToken {
        match self.stop.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn context(
        &self,
        operation: &'static str,
        timeout: std::time::Duration,
        private: Vec<u8>,
    ) -> Result<Context<P::Data>, Diagnostics> {
        let data = self
            .data
            .read()
            .ok()
            .and_then(|data| data.clone())
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Provider not configured",
                    format!(
                        "Terraform asked for a {operation} before configuring the provider. This \
                         is a bug in the calling program."
                    ),
                ))
            })?;
        Ok(Context::new(data, operation, timeout)
            .with_cancellation(self.cancellation())
            .with_private(private))
    }

    pub fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        plan::validate_config(
            &self.catalog().provider.block,
            config,
            &AttributePath::default(),
            &mut diagnostics,
        );
        self.provider.validate(config, &mut diagnostics);
        diagnostics
    }

    pub fn configure(&self, config: Value, terraform_version: String) -> Diagnostics {
        let request = ConfigureRequest {
            config,
            terraform_version,
        };
        match self.provider.configure(request) {
            Ok(data) => {
                if let Ok(mut slot) = self.data.write() {
                    *slot = Some(Arc::new(data));
                }
                Diagnostics::new()
            }
            Err(diagnostics) => diagnostics,
        }
    }

    /// The value type of a configuration block of `kind` (what Terraform encodes it with).
    pub fn config_type(&self, kind: ConfigKind, type_name: &str) -> Option<&Type> {
        let catalog = self.catalog();
        match kind {
            ConfigKind::Resource => catalog.resources.get(type_name).map(|entry| &entry.ty),
            ConfigKind::DataSource => catalog.data_sources.get(type_name).map(|entry| &entry.ty),
            ConfigKind::EphemeralResource => catalog
                .ephemeral_resources
                .get(type_name)
                .map(|entry| &entry.ty),
            ConfigKind::ListResource => {
                catalog.list_resources.get(type_name).map(|entry| &entry.ty)
            }
        }
    }

    /// ValidateResourceConfig, ValidateDataResourceConfig, ValidateEphemeralResourceConfig and
    /// ValidateListResourceConfig: the schema's per-attribute rules, then the type's own
    /// cross-attribute rules.
    pub fn validate_config(
        &self,
        kind: ConfigKind,
        type_name: &str,
        config: &Value,
    ) -> Diagnostics {
        let catalog = self.catalog();
        let (schema, rules): (&Schema, CrossAttributeRules<'_>) = match kind {
            ConfigKind::Resource => match catalog.resources.get(type_name) {
                Some(entry) => (&entry.schema, &|config, found| {
                    entry.resource.validate(config, found)
                }),
                None => return unknown_type(kind.noun(), type_name),
            },
            ConfigKind::DataSource => match catalog.data_sources.get(type_name) {
                Some(entry) => (&entry.schema, &|config, found| {
                    entry.data_source.validate(config, found)
                }),
                None => return unknown_type(kind.noun(), type_name),
            },
            ConfigKind::EphemeralResource => match catalog.ephemeral_resources.get(type_name) {
                Some(entry) => (&entry.schema, &|config, found| {
                    entry.ephemeral.validate(config, found)
                }),
                None => return unknown_type(kind.noun(), type_name),
            },
            ConfigKind::ListResource => match catalog.list_resources.get(type_name) {
                Some(entry) => (&entry.schema, &|config, found| {
                    entry.list.validate(config, found)
                }),
                None => return unknown_type(kind.noun(), type_name),
            },
        };
        let mut diagnostics = Diagnostics::new();
        // A list block without a `config` block sends null: nothing to check but the rule that
        // required filters need the block, which Terraform enforces itself.
        if config.is_null() {
            return diagnostics;
        }
        plan::validate_config(
            &schema.block,
            config,
            &AttributePath::default(),
            &mut diagnostics,
        );
        rules(config, &mut diagnostics);
        diagnostics
    }

    /// UpgradeResourceState (docs/development/plugin-obligations.md, G5): `raw_json` is the stored
    /// object as written by schema `version`. Same version: keys the schema no longer has are
    /// dropped. Older: the resource's upgrader converts it first.
    pub fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
    ) -> Result<Value, Diagnostics> {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return Err(unknown_type("resource", type_name));
        };
        let current = entry.schema.version;
        let not_json = |error: serde_json::Error| {
            Diagnostic::error(
                format!("Stored state of {type_name} is not valid JSON"),
                format!("The state file may be damaged: {error}."),
            )
        };
        let mismatch = |error: ValueError| {
            Diagnostic::error(
                format!("Stored state of {type_name} does not match its schema"),
                format!(
                    "{error}. The state may have been edited by hand, or written by another provider version."
                ),
            )
        };
        let mut value = if version == current {
            // The usual case, for every object of every command: read once, straight into a
            // value, dropping the attributes the schema no longer has.
            crate::value::decode_stored_json(&entry.ty, raw_json).map_err(|error| match error {
                StoredJsonError::Syntax(error) => not_json(error),
                StoredJsonError::Mismatch(error) => mismatch(error),
            })?
        } else {
            let json: serde_json::Value = serde_json::from_slice(raw_json).map_err(not_json)?;
            if version > current {
                return Err(Diagnostic::error(
                    format!("State of {type_name} was written by a newer provider"),
                    format!(
                        "The state has schema version {version}, this provider knows up to {current}. \
                         Use a provider version at least as new as the one that wrote it."
                    ),
                )
                .into());
            }
            let json = entry.resource.upgrade_state(version, json)?;
            Value::from_json_value(&entry.ty, &json).map_err(mismatch)?
        };
        plan::null_write_only(&entry.schema.block, &mut value);
        Ok(value)
    }

    /// ReadResource (docs/development/plugin-obligations.md, G6). Private data is echoed unless the
    /// resource replaced it.
    pub async fn read_resource(
        &self,
        type_name: &str,
        state: Value,
        private: Vec<u8>,
    ) -> ReadOutcome {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return ReadOutcome {
                new_state: state,
                private,
                diagnostics: unknown_type("resource", type_name),
            };
        };
        if state.is_null() {
            return ReadOutcome {
                new_state: Value::Null,
                private,
                diagnostics: Diagnostics::new(),
            };
        }
        let timeout = timeouts_of(&entry.schema).for_operation(&state, Operation::Read);
        let ctx = match self.context("read", timeout, private.clone()) {
            Ok(ctx) => ctx,
            Err(diagnostics) => {
                return ReadOutcome {
                    new_state: state,
                    private,
                    diagnostics,
                };
            }
        };
        tracing::debug!(type_name, "read");
        match entry.resource.read(&ctx, state.clone()).await {
            Ok(None) => {
                tracing::debug!(type_name, "read: object is gone");
                ReadOutcome {
                    new_state: Value::Null,
                    private: ctx.private(),
                    diagnostics: Diagnostics::new(),
                }
            }
            Ok(Some(new_state)) => {
                match finish_state(type_name, entry, new_state, &state, "read") {
                    Ok((new_state, diagnostics)) => ReadOutcome {
                        new_state,
                        private: ctx.private(),
                        diagnostics,
                    },
                    Err(diagnostics) => ReadOutcome {
                        new_state: state,
                        private,
                        diagnostics,
                    },
                }
            }
            Err(diagnostics) => ReadOutcome {
                new_state: state,
                private,
                diagnostics: ensure_error(diagnostics, type_name, "read"),
            },
        }
    }

    /// PlanResourceChange (docs/development/plugin-obligations.md, G7, I1–I9). A null `config`
    /// plans a destroy. `proposed` is `None` when Terraform proposed the prior state itself.
    pub async fn plan_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        proposed: Option<Value>,
        config: Value,
        prior_private: Vec<u8>,
        write_only_allowed: bool,
    ) -> PlanOutcome {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return PlanOutcome {
                planned_state: Value::Null,
                requires_replace: Vec::new(),
                planned_private: prior_private,
                diagnostics: unknown_type("resource", type_name),
            };
        };
        if config.is_null() || proposed.as_ref().unwrap_or(&prior).is_null() {
            // Destroy (plan_destroy): the plan must be null (I7).
            return PlanOutcome {
                planned_state: Value::Null,
                requires_replace: Vec::new(),
                planned_private: prior_private,
                diagnostics: Diagnostics::new(),
            };
        }
        let mut diagnostics = Diagnostics::new();
        if !write_only_allowed {
            plan::reject_write_only(
                &entry.schema.block,
                &config,
                &AttributePath::default(),
                &mut diagnostics,
            );
            if diagnostics.has_errors() {
                return PlanOutcome {
                    planned_state: Value::Null,
                    requires_replace: Vec::new(),
                    planned_private: prior_private,
                    diagnostics,
                };
            }
        }
        let proposed_is_prior = proposed.is_none();
        let mut change = plan::plan_change(&entry.schema, prior, config, proposed.as_ref());
        let timeout = timeouts_of(&entry.schema).for_operation(&change.config, Operation::Read);
        let ctx = match self.context("plan", timeout, prior_private.clone()) {
            Ok(ctx) => ctx,
            Err(errors) => {
                diagnostics.extend(errors);
                return PlanOutcome {
                    planned_state: Value::Null,
                    requires_replace: Vec::new(),
                    planned_private: prior_private,
                    diagnostics,
                };
            }
        };
        let framework_plan = change.planned.clone();
        if let Err(errors) = entry.resource.modify_plan(&ctx, &mut change).await {
            diagnostics.extend(ensure_error(errors, type_name, "plan"));
            change.planned = framework_plan;
        }
        diagnostics.extend(std::mem::take(&mut change.warnings));
        change.planned = plan::normalize(&entry.schema.block, change.planned);
        diagnostics.extend(plan::finish_plan(
            &entry.schema,
            &mut change,
            proposed_is_prior,
        ));
        if let Err(problem) = plan::check_conforms(&entry.ty, &change.planned) {
            diagnostics.push(bug(type_name, "plan", &problem));
            change.planned = Value::Null;
        }
        PlanOutcome {
            planned_state: change.planned,
            requires_replace: change.requires_replace,
            planned_private: ctx.private(),
            diagnostics,
        }
    }

    /// ApplyResourceChange (docs/development/plugin-obligations.md, G8): create, update or delete,
    /// depending on which of `prior` and `planned` are null.
    pub async fn apply_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        planned: Value,
        config: Value,
        planned_private: Vec<u8>,
    ) -> ApplyOutcome {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return ApplyOutcome {
                new_state: prior,
                private: planned_private,
                diagnostics: unknown_type("resource", type_name),
            };
        };
        let timeouts = timeouts_of(&entry.schema);
        match (prior.is_null(), planned.is_null()) {
            (true, true) => ApplyOutcome {
                new_state: Value::Null,
                private: planned_private,
                diagnostics: Diagnostics::new(),
            },
            (false, true) => {
                let timeout = timeouts.for_operation(&prior, Operation::Delete);
                let ctx = match self.context("delete", timeout, planned_private.clone()) {
                    Ok(ctx) => ctx,
                    Err(diagnostics) => return failed(prior, planned_private, diagnostics),
                };
                tracing::debug!(type_name, "delete");
                match entry.resource.delete(&ctx, prior.clone()).await {
                    Ok(()) => ApplyOutcome {
                        new_state: Value::Null,
                        private: Vec::new(),
                        diagnostics: Diagnostics::new(),
                    },
                    // The object may still exist: keep it in state so the next apply retries.
                    Err(diagnostics) => failed(
                        prior,
                        planned_private,
                        ensure_error(diagnostics, type_name, "delete"),
                    ),
                }
            }
            (true, false) => {
                let timeout = timeouts.for_operation(&planned, Operation::Create);
                let ctx = match self.context("create", timeout, planned_private.clone()) {
                    Ok(ctx) => ctx,
                    Err(diagnostics) => return failed(Value::Null, planned_private, diagnostics),
                };
                tracing::debug!(type_name, "create");
                let request = CreateRequest {
                    config,
                    planned: planned.clone(),
                };
                let result = entry.resource.create(&ctx, request).await;
                self.finish_apply(
                    type_name,
                    entry,
                    &ctx,
                    result,
                    &planned,
                    Value::Null,
                    "create",
                )
            }
            (false, false) => {
                let timeout = timeouts.for_operation(&planned, Operation::Update);
                let ctx = match self.context("update", timeout, planned_private.clone()) {
                    Ok(ctx) => ctx,
                    Err(diagnostics) => return failed(prior, planned_private, diagnostics),
                };
                tracing::debug!(type_name, "update");
                let request = UpdateRequest {
                    config,
                    prior: prior.clone(),
                    planned: planned.clone(),
                };
                let result = entry.resource.update(&ctx, request).await;
                self.finish_apply(type_name, entry, &ctx, result, &planned, prior, "update")
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_apply(
        &self,
        type_name: &str,
        entry: &ResourceEntry<P::Data>,
        ctx: &Context<P::Data>,
        result: Result<Value, Failure>,
        planned: &Value,
        fallback: Value,
        operation: &str,
    ) -> ApplyOutcome {
        match result {
            Ok(new_state) if new_state.is_null() => failed(
                fallback,
                ctx.private(),
                bug(type_name, operation, "the resource returned no state").into(),
            ),
            Ok(new_state) => match finish_state(type_name, entry, new_state, planned, operation) {
                Ok((new_state, diagnostics)) => ApplyOutcome {
                    new_state,
                    private: ctx.private(),
                    diagnostics,
                },
                Err(diagnostics) => failed(fallback, ctx.private(), diagnostics),
            },
            Err(failure) => {
                let mut diagnostics = ensure_error(failure.diagnostics, type_name, operation);
                let new_state = match failure.partial_state {
                    Some(partial) if !partial.is_null() => {
                        match finish_state(type_name, entry, partial, planned, operation) {
                            Ok((partial, more)) => {
                                diagnostics.extend(more);
                                partial
                            }
                            Err(more) => {
                                diagnostics.extend(more);
                                fallback
                            }
                        }
                    }
                    _ => fallback,
                };
                ApplyOutcome {
                    new_state,
                    private: ctx.private(),
                    diagnostics,
                }
            }
        }
    }

    /// ImportResourceState (docs/development/plugin-obligations.md, G9).
    pub async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportOutcome {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return ImportOutcome {
                state: None,
                private: Vec::new(),
                diagnostics: unknown_type("resource", type_name),
            };
        };
        let timeout = timeouts_of(&entry.schema).read;
        let ctx = match self.context("import", timeout, Vec::new()) {
            Ok(ctx) => ctx,
            Err(diagnostics) => {
                return ImportOutcome {
                    state: None,
                    private: Vec::new(),
                    diagnostics,
                };
            }
        };
        tracing::debug!(type_name, "import");
        match entry.resource.import(&ctx, id).await {
            Ok(state) if state.is_null() => ImportOutcome {
                state: None,
                private: Vec::new(),
                diagnostics: bug(type_name, "import", "the resource returned no state").into(),
            },
            Ok(state) => match finish_state(type_name, entry, state, &Value::Null, "import") {
                Ok((state, diagnostics)) => ImportOutcome {
                    state: Some(state),
                    private: ctx.private(),
                    diagnostics,
                },
                Err(diagnostics) => ImportOutcome {
                    state: None,
                    private: Vec::new(),
                    diagnostics,
                },
            },
            Err(diagnostics) => ImportOutcome {
                state: None,
                private: Vec::new(),
                diagnostics: ensure_error(diagnostics, type_name, "import"),
            },
        }
    }

    /// GenerateResourceConfig: the configuration of the object `state` describes. A null state
    /// (Terraform had no object) gives a null configuration.
    pub fn generate_resource_config(&self, type_name: &str, state: &Value) -> (Value, Diagnostics) {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return (Value::Null, unknown_type("resource", type_name));
        };
        if state.is_null() {
            return (Value::Null, Diagnostics::new());
        }
        let mut config = plan::normalize(&entry.schema.block, state.clone());
        plan::null_read_only(&entry.schema.block, &mut config);
        plan::null_write_only(&entry.schema.block, &mut config);
        // The operation timeouts are the user's choice, not the object's.
        plan::carry_timeouts(&entry.schema, &Value::Null, &mut config);
        entry.resource.generated_config(&mut config);
        if let Err(problem) = plan::check_conforms(&entry.ty, &config) {
            return (
                Value::Null,
                bug(type_name, "generate configuration", &problem).into(),
            );
        }
        (config, Diagnostics::new())
    }

    /// The identity object type of a resource type that has an identity.
    pub fn identity_type(&self, type_name: &str) -> Option<&Type> {
        self.catalog()
            .resources
            .get(type_name)
            .and_then(|entry| entry.identity.as_ref().map(|(_, ty)| ty))
    }

    /// The identity of the object `state` describes (ReadResource, PlanResourceChange,
    /// ApplyResourceChange, ImportResourceState answer with it), wholly known; `None` when the
    /// type has no identity or the state does not determine it yet (the plan of a create).
    pub fn identity_of(&self, type_name: &str, state: &Value) -> Option<Value> {
        let (identity, ty) = self.catalog().resources.get(type_name)?.identity.as_ref()?;
        let value = identity.value_of_state(state)?;
        // A mapping that does not fit the declared attributes is a provider bug: Terraform would
        // reject the identity, so none is sent and the state alone still works.
        match plan::check_conforms(ty, &value) {
            Ok(()) if value.is_wholly_known() => Some(value),
            Ok(()) => None,
            Err(problem) => {
                tracing::error!(
                    type_name,
                    problem = problem.as_str(),
                    "identity does not conform"
                );
                None
            }
        }
    }

    /// ImportResourceState with an identity instead of an id (`import { identity = { … } }`):
    /// the identity becomes the import id the resource already understands, and the object is
    /// read once so that an identity naming nothing fails here, naming the identity, instead
    /// of with Terraform's generic "no object exists with the given id".
    pub async fn import_by_identity(&self, type_name: &str, identity: &Value) -> ImportOutcome {
        let failed = |diagnostics: Diagnostics| ImportOutcome {
            state: None,
            private: Vec::new(),
            diagnostics,
        };
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return failed(unknown_type("resource", type_name));
        };
        let Some((declared, _)) = entry.identity.as_ref() else {
            return failed(
                Diagnostic::error(
                    format!("{type_name} cannot be imported by identity"),
                    "This resource type has no identity. Import it with `id = \"…\"` instead.",
                )
                .into(),
            );
        };
        let id = match declared
            .parts(type_name, identity)
            .and_then(|parts| (declared.import_id)(&parts))
        {
            Ok(id) => id,
            Err(diagnostic) => return failed(diagnostic.into()),
        };
        let imported = self.import_resource_state(type_name, &id).await;
        let Some(state) = imported.state.clone() else {
            return imported;
        };
        let read = self.read_resource(type_name, state, imported.private).await;
        if read.diagnostics.has_errors() {
            return failed(read.diagnostics);
        }
        if read.new_state.is_null() {
            return failed(
                Diagnostic::error(
                    format!("No {type_name} matches the identity"),
                    format!(
                        "The identity names {id}, which does not exist (or the provider's \
                         credentials cannot see it). Check each identity attribute, or create \
                         the object with Terraform instead of importing it."
                    ),
                )
                .into(),
            );
        }
        let mut diagnostics = imported.diagnostics;
        diagnostics.extend(read.diagnostics);
        ImportOutcome {
            state: Some(read.new_state),
            private: read.private,
            diagnostics,
        }
    }

    /// MoveResourceState: `source` (another provider's resource, or another type) as the state
    /// of `target_type`. Terraform asks before configuring the provider, so the conversion is
    /// pure; the refresh that follows reads the object.
    pub fn move_resource_state(&self, target_type: &str, source: &MoveSource<'_>) -> ImportOutcome {
        let failed = |diagnostics: Diagnostics| ImportOutcome {
            state: None,
            private: Vec::new(),
            diagnostics,
        };
        let Some(entry) = self.catalog().resources.get(target_type) else {
            return failed(unknown_type("resource", target_type));
        };
        match entry.resource.move_from(source) {
            None => failed(
                Diagnostic::error(
                    format!(
                        "Cannot move {} ({}) to {target_type}",
                        source.type_name, source.provider_address
                    ),
                    format!(
                        "{target_type} accepts `moved` blocks only from the resource type that \
                         manages the same object in its peer provider. Remove the `moved` block \
                         and import the object instead."
                    ),
                )
                .into(),
            ),
            Some(Err(diagnostics)) => failed(ensure_error(diagnostics, target_type, "move")),
            Some(Ok(state)) => {
                match finish_state(target_type, entry, state, &Value::Null, "move") {
                    Ok((state, diagnostics)) => ImportOutcome {
                        state: Some(state),
                        private: Vec::new(),
                        diagnostics,
                    },
                    Err(diagnostics) => failed(diagnostics),
                }
            }
        }
    }

    /// UpgradeResourceIdentity: the stored identity JSON of `from_version`, in the current
    /// identity schema.
    pub fn upgrade_resource_identity(
        &self,
        type_name: &str,
        from_version: i64,
        json: &[u8],
    ) -> Result<Value, Diagnostics> {
        let Some(entry) = self.catalog().resources.get(type_name) else {
            return Err(unknown_type("resource", type_name));
        };
        let Some((identity, _)) = entry.identity.as_ref() else {
            return Err(Diagnostic::error(
                format!("{type_name} has no resource identity"),
                "This provider version declares no identity for this resource type, so there \
                 is no identity to upgrade. Import the object by its ID instead.",
            )
            .into());
        };
        let json: serde_json::Value = serde_json::from_slice(json).map_err(|error| {
            Diagnostics::from(Diagnostic::error(
                format!("Stored identity of {type_name} is not valid JSON"),
                format!("{error}. Remove the object from state and import it again."),
            ))
        })?;
        identity
            .upgrade(type_name, from_version, &json)
            .map_err(Diagnostics::from)
    }

    /// ReadDataSource (docs/development/plugin-obligations.md, G10): the result is non-null, wholly
    /// known and conforming.
    pub async fn read_data_source(&self, type_name: &str, config: Value) -> (Value, Diagnostics) {
        let Some(entry) = self.catalog().data_sources.get(type_name) else {
            return (Value::Null, unknown_type("data source", type_name));
        };
        let timeout = timeouts_of(&entry.schema).for_operation(&config, Operation::Read);
        let ctx = match self.context("read data source", timeout, Vec::new()) {
            Ok(ctx) => ctx,
            Err(diagnostics) => return (Value::Null, diagnostics),
        };
        tracing::debug!(type_name, "read data source");
        let state = match entry.data_source.read(&ctx, config.clone()).await {
            Ok(state) => state,
            Err(diagnostics) => {
                return (Value::Null, ensure_error(diagnostics, type_name, "read"));
            }
        };
        if state.is_null() {
            return (
                Value::Null,
                bug(type_name, "read", "the data source returned no value").into(),
            );
        }
        let mut state = plan::normalize(&entry.schema.block, state);
        plan::carry_timeouts(&entry.schema, &config, &mut state);
        let mut diagnostics = Diagnostics::new();
        let mut unknown = Vec::new();
        plan::unknown_paths(&state, &AttributePath::default(), &mut unknown);
        if !unknown.is_empty() {
            diagnostics.push(bug(type_name, "read", &left_unknown(&unknown)));
            plan::unknowns_to_null(&mut state);
        }
        if let Err(problem) = plan::check_conforms(&entry.ty, &state) {
            diagnostics.push(bug(type_name, "read", &problem));
            return (Value::Null, diagnostics);
        }
        (state, diagnostics)
    }

    /// ListResource: runs the list resource of `type_name` and sends what it finds to `events`
    /// as it finds it (at most `limit` results), then nothing more; a failure is one last
    /// [`ListEvent::Failed`]. Each result goes through the resource's import (and its read when
    /// `include_resource_object` is set or the imported state does not determine the identity),
    /// so the identity and object are those an import of it gives.
    pub async fn list_resource(
        &self,
        type_name: &str,
        config: Value,
        include_resource_object: bool,
        limit: i64,
        events: mpsc::Sender<ListEvent>,
    ) {
        if let Err(diagnostics) = self
            .run_list(type_name, config, include_resource_object, limit, &events)
            .await
        {
            // Terraform may have stopped reading: then nobody is left to tell.
            let _ = events.send(ListEvent::Failed(diagnostics)).await;
        }
    }

    async fn run_list(
        &self,
        type_name: &str,
        config: Value,
        include_resource_object: bool,
        limit: i64,
        events: &mpsc::Sender<ListEvent>,
    ) -> Result<(), Diagnostics> {
        let catalog = self.catalog();
        let Some(list) = catalog.list_resources.get(type_name) else {
            return Err(unknown_type("list resource", type_name));
        };
        let Some(entry) = catalog.resources.get(type_name) else {
            return Err(bug(type_name, "list", "the list resource has no resource type").into());
        };
        let diagnostics = self.validate_config(ConfigKind::ListResource, type_name, &config);
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        let remaining = u64::try_from(limit).unwrap_or(0);
        if remaining == 0 {
            return Ok(());
        }
        let timeout = timeouts_of(&entry.schema).read;
        let ctx = self.context("list", timeout, Vec::new())?;
        tracing::debug!(type_name, limit, include_resource_object, "list");
        let resolver = Resolver {
            server: self,
            type_name,
            entry,
            include_resource_object,
            timeout,
        };
        let mut listing = Listing {
            config: &config,
            resolve: &resolver,
            events: events.clone(),
            remaining,
        };
        list.list
            .list(&ctx, &mut listing)
            .await
            .map_err(|diagnostics| ensure_error(diagnostics, type_name, "list"))
    }
}

fn build_catalog<P: Provider>(provider: &P) -> Catalog<P::Data> {
    let mut problems = Vec::new();
    let provider_schema = provider.schema();
    if let Err(found) = provider_schema.check() {
        problems.extend(found.into_iter().map(|p| format!("provider: {p}")));
    }
    let mut resources = BTreeMap::new();
    for resource in provider.resources() {
        let schema = resource.schema();
        let type_name = resource.type_name();
        if let Err(found) = schema.check() {
            problems.extend(found.into_iter().map(|p| format!("{type_name}: {p}")));
        }
        let ty = schema.implied_type();
        let identity = resource.identity().map(|identity| {
            let ty = identity.implied_type();
            (identity, ty)
        });
        let entry = ResourceEntry {
            resource,
            schema,
            ty,
            identity,
        };
        if resources.insert(type_name, entry).is_some() {
            problems.push(format!("{type_name}: registered twice"));
        }
    }
    let mut data_sources = BTreeMap::new();
    for data_source in provider.data_sources() {
        let schema = data_source.schema();
        let type_name = data_source.type_name();
        if let Err(found) = schema.check() {
            problems.extend(found.into_iter().map(|p| format!("data {type_name}: {p}")));
        }
        let ty = schema.implied_type();
        let entry = DataSourceEntry {
            data_source,
            schema,
            ty,
        };
        if data_sources.insert(type_name, entry).is_some() {
            problems.push(format!("data {type_name}: registered twice"));
        }
    }
    let mut functions = BTreeMap::new();
    for function in provider.functions() {
        let name = function.name();
        let signature = function.signature();
        let entry = FunctionEntry {
            function,
            signature,
        };
        if functions.insert(name, entry).is_some() {
            problems.push(format!("function {name}: registered twice"));
        }
    }
    let mut ephemeral_resources = BTreeMap::new();
    for ephemeral in provider.ephemeral_resources() {
        let schema = ephemeral.schema();
        let type_name = ephemeral.type_name();
        if let Err(found) = schema.check() {
            problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("ephemeral {type_name}: {p}")),
            );
        }
        let ty = schema.implied_type();
        let entry = EphemeralEntry {
            ephemeral,
            schema,
            ty,
        };
        if ephemeral_resources.insert(type_name, entry).is_some() {
            problems.push(format!("ephemeral {type_name}: registered twice"));
        }
    }
    let mut list_resources = BTreeMap::new();
    for (type_name, entry) in &resources {
        let Some(list) = entry.resource.list() else {
            continue;
        };
        let schema = list.schema();
        if let Err(found) = schema.check() {
            problems.extend(found.into_iter().map(|p| format!("list {type_name}: {p}")));
        }
        // Terraform names every result by the identity of the resource type.
        if entry.identity.is_none() {
            problems.push(format!(
                "list {type_name}: the resource type has no identity"
            ));
        }
        let ty = schema.implied_type();
        list_resources.insert(*type_name, ListEntry { list, schema, ty });
    }
    for problem in &problems {
        tracing::error!(problem = problem.as_str(), "invalid schema");
    }
    Catalog {
        provider_type: provider_schema.implied_type(),
        provider: provider_schema,
        resources,
        data_sources,
        functions,
        ephemeral_resources,
        list_resources,
        problems,
    }
}

/// Resolves a list result through the resource's import and read (see [`Server::list_resource`]).
struct Resolver<'a, P: Provider> {
    server: &'a Server<P>,
    type_name: &'a str,
    entry: &'a ResourceEntry<P::Data>,
    include_resource_object: bool,
    timeout: std::time::Duration,
}

#[async_trait]
impl<P: Provider> Resolve for Resolver<'_, P> {
    async fn resolve(&self, found: Found) -> Result<Option<ListEvent>, Diagnostics> {
        let type_name = self.type_name;
        // A fresh context per object, as Terraform's import of it would have: private data one
        // read leaves must not reach the next object's.
        let ctx = self.server.context("list", self.timeout, Vec::new())?;
        let imported = self
            .entry
            .resource
            .import(&ctx, &found.import_id)
            .await
            .map_err(|diagnostics| ensure_error(diagnostics, type_name, "list"))?;
        let (mut state, mut warnings) =
            finish_state(type_name, self.entry, imported, &Value::Null, "list")?;
        let mut identity = self.server.identity_of(type_name, &state);
        if self.include_resource_object || identity.is_none() {
            let Some(read) = self
                .entry
                .resource
                .read(&ctx, state.clone())
                .await
                .map_err(|diagnostics| ensure_error(diagnostics, type_name, "list"))?
            else {
                tracing::debug!(type_name, "list: object gone before it was read");
                return Ok(None);
            };
            let (read, more) = finish_state(type_name, self.entry, read, &state, "list")?;
            warnings.extend(more);
            identity = self.server.identity_of(type_name, &read);
            state = read;
        }
        let Some(identity) = identity else {
            return Err(bug(
                type_name,
                "list",
                &format!("the identity of {:?} is not determined", found.import_id),
            )
            .into());
        };
        Ok(Some(ListEvent::Result(Box::new(ListResult {
            identity,
            display_name: found.display_name,
            resource_object: self.include_resource_object.then_some(state),
            warnings,
        }))))
    }
}

fn timeouts_of(schema: &Schema) -> Timeouts {
    schema.timeouts.unwrap_or_default()
}

/// Normalises a resource's result and checks it: every attribute present, `timeouts` carried
/// over from `timeouts_source`, write-only attributes null, wholly known, conforming.
/// Unknown leftovers become null with an error (so a created object is still tracked).
fn finish_state<D>(
    type_name: &str,
    entry: &ResourceEntry<D>,
    state: Value,
    // The prior state (refresh) or the plan (apply): where `timeouts` and spellings come from.
    timeouts_source: &Value,
    operation: &str,
) -> Result<(Value, Diagnostics), Diagnostics> {
    let mut state = plan::normalize(&entry.schema.block, state);
    plan::carry_timeouts(&entry.schema, timeouts_source, &mut state);
    plan::keep_reference_spelling(&entry.schema.block, timeouts_source, &mut state);
    plan::null_write_only(&entry.schema.block, &mut state);
    let mut diagnostics = Diagnostics::new();
    let mut unknown = Vec::new();
    plan::unknown_paths(&state, &AttributePath::default(), &mut unknown);
    if !unknown.is_empty() {
        diagnostics.push(bug(type_name, operation, &left_unknown(&unknown)));
        plan::unknowns_to_null(&mut state);
    }
    if let Err(problem) = plan::check_conforms(&entry.ty, &state) {
        diagnostics.push(bug(type_name, operation, &problem));
        return Err(diagnostics);
    }
    Ok((state, diagnostics))
}

fn left_unknown(paths: &[AttributePath]) -> String {
    let names: Vec<String> = paths.iter().map(ToString::to_string).collect();
    format!("these attributes were left unknown: {}", names.join(", "))
}

fn bug(type_name: &str, operation: &str, problem: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Provider bug in {type_name} ({operation})"),
        format!("{problem}. Please report this issue to the provider developers."),
    )
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type {type_name:?}"),
        "This provider version does not have it. Check the spelling, or upgrade the provider.",
    )
    .into()
}

/// A failing operation must say why: an empty error list would look like success.
fn ensure_error(mut diagnostics: Diagnostics, type_name: &str, operation: &str) -> Diagnostics {
    if !diagnostics.has_errors() {
        diagnostics.push(Diagnostic::error(
            format!("{type_name}: {operation} failed"),
            "The operation failed without a reason. Please report this issue to the provider developers.",
        ));
    }
    diagnostics
}

fn failed(new_state: Value, private: Vec<u8>, diagnostics: Diagnostics) -> ApplyOutcome {
    ApplyOutcome {
        new_state,
        private,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::framework::{Attribute, Block, ObjectExt};

    /// A resource whose behaviour each test chooses through the `mode` attribute.
    struct Misbehaving;

    #[async_trait]
    impl Resource<()> for Misbehaving {
        fn type_name(&self) -> &'static str {
            "test_misbehaving"
        }

        fn schema(&self) -> Schema {
            Schema::new(
                Block::new("")
                    .attribute(Attribute::string("mode").required())
                    .attribute(Attribute::string("secret").optional().write_only())
                    .attribute(Attribute::string("id").computed()),
            )
        }

        async fn create(
            &self,
            _ctx: &Context<()>,
            request: CreateRequest,
        ) -> Result<Value, Failure> {
            let mut state = request.planned;
            match state.attr_str("mode") {
                // Forgets to fill `id` and echoes the write-only secret.
                Some("leave-unknown") => {
                    state.set_attr("secret", request.config.attr("secret").clone());
                    Ok(state)
                }
                Some("wrong-type") => {
                    state.set_attr("id", true);
                    Ok(state)
                }
                Some("fail-without-reason") => Err(Diagnostics::new().into()),
                _ => {
                    state.set_attr("id", "x");
                    Ok(state)
                }
            }
        }

        async fn read(
            &self,
            _ctx: &Context<()>,
            state: Value,
        ) -> Result<Option<Value>, Diagnostics> {
            Ok(Some(Value::object([
                ("mode", state.attr("mode").clone()),
                ("id", Value::from(5)),
            ])))
        }

        async fn update(
            &self,
            _ctx: &Context<()>,
            _request: UpdateRequest,
        ) -> Result<Value, Failure> {
            Err(Diagnostic::error("update failed", "").into())
        }

        async fn delete(&self, _ctx: &Context<()>, _state: Value) -> Result<(), Diagnostics> {
            Err(Diagnostic::error("delete failed", "").into())
        }
    }

    struct TestProvider;

    impl Provider for TestProvider {
        type Data = ();

        fn schema(&self) -> Schema {
            Schema::new(Block::new(""))
        }

        fn configure(&self, _request: ConfigureRequest) -> Result<(), Diagnostics> {
            Ok(())
        }

        fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
            vec![Arc::new(Misbehaving)]
        }
    }

    fn configured() -> Server<TestProvider> {
        let server = Server::new(TestProvider);
        assert!(
            server
                .configure(Value::object::<&str>([]), "1.11.4".into())
                .is_empty()
        );
        server
    }

    fn object(mode: &str, id: Value) -> Value {
        Value::object([
            ("mode", Value::string(mode)),
            ("secret", Value::Null),
            ("id", id),
        ])
    }

    async fn create(server: &Server<TestProvider>, mode: &str) -> ApplyOutcome {
        let config = Value::object([
            ("mode", Value::string(mode)),
            ("secret", Value::string("s3cret")),
            ("id", Value::Null),
        ]);
        server
            .apply_resource_change(
                "test_misbehaving",
                Value::Null,
                object(mode, Value::unknown()),
                config,
                vec![],
            )
            .await
    }

    #[tokio::test]
    async fn unknown_leftovers_become_null_with_an_error_and_write_only_is_dropped() {
        let outcome = create(&configured(), "leave-unknown").await;
        assert!(outcome.diagnostics.has_errors());
        assert!(
            outcome.diagnostics.to_string().contains("left unknown: id"),
            "{}",
            outcome.diagnostics
        );
        assert_eq!(
            outcome.new_state,
            object("leave-unknown", Value::Null),
            "tracked, secret dropped"
        );
    }

    #[tokio::test]
    async fn non_conforming_results_are_errors_not_crashes() {
        let server = configured();
        let outcome = create(&server, "wrong-type").await;
        assert!(
            outcome.new_state.is_null(),
            "nothing unencodable reaches Terraform"
        );
        assert!(
            outcome
                .diagnostics
                .to_string()
                .contains("Provider bug in test_misbehaving (create)")
        );

        let prior = object("ok", Value::string("x"));
        let read = server
            .read_resource("test_misbehaving", prior.clone(), b"p".to_vec())
            .await;
        assert_eq!(read.new_state, prior, "a bad read keeps the prior state");
        assert_eq!(read.private, b"p");
        assert!(read.diagnostics.has_errors());
    }

    #[tokio::test]
    async fn failures_keep_what_exists() {
        let server = configured();
        let outcome = create(&server, "fail-without-reason").await;
        assert!(outcome.new_state.is_null());
        assert!(
            outcome.diagnostics.has_errors(),
            "a failure always carries an error"
        );

        let prior = object("ok", Value::string("x"));
        let update = server
            .apply_resource_change(
                "test_misbehaving",
                prior.clone(),
                object("ok2", Value::string("x")),
                object("ok2", Value::Null),
                vec![],
            )
            .await;
        assert_eq!(
            update.new_state, prior,
            "a failed update keeps the prior state"
        );
        let delete = server
            .apply_resource_change(
                "test_misbehaving",
                prior.clone(),
                Value::Null,
                Value::Null,
                vec![],
            )
            .await;
        assert_eq!(
            delete.new_state, prior,
            "a failed delete keeps the object in state"
        );
        assert_eq!(
            delete.diagnostics.iter().next().unwrap().summary,
            "delete failed"
        );
    }

    #[tokio::test]
    async fn operations_before_configure_are_diagnosed() {
        let server = Server::new(TestProvider);
        let outcome = create(&server, "ok").await;
        assert!(
            outcome
                .diagnostics
                .to_string()
                .contains("Provider not configured")
        );
        let unknown = server.read_resource("test_nope", Value::Null, vec![]).await;
        assert!(
            unknown
                .diagnostics
                .to_string()
                .contains("Unknown resource type")
        );
    }
}
