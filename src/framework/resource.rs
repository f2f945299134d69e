//! The traits a provider, its resources and its data sources implement.
//!
//! Implementations deal in [`Value`]s shaped by their own [`Schema`]: objects with one entry per
//! attribute and per nested block. The framework fills in what the protocol needs around them
//! (missing attributes become null, `timeouts` is carried over, write-only attributes are
//! nulled, results are checked against the schema before they reach Terraform).

use std::sync::Arc;

use async_trait::async_trait;

use crate::value::Value;

use super::context::Context;
use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::schema::Schema;

/// A provider: its configuration schema, how to turn a configuration into the data every
/// operation receives (`Data`), and its resources and data sources.
pub trait Provider: Send + Sync + 'static {
    /// What operations receive through [`Context::data`]: settings and clients.
    type Data: Send + Sync + 'static;

    /// The `provider "..." {}` block.
    fn schema(&self) -> Schema;

    /// Cross-attribute checks of the provider block, after per-attribute validators. The
    /// configuration may contain unknown values.
    fn validate(&self, _config: &Value, _diagnostics: &mut Diagnostics) {}

    /// Builds the provider data from the configuration (ConfigureProvider). Must not touch the
    /// network. During plan the configuration may contain unknown values
    /// (docs/development/plugin-obligations.md, G4).
    fn configure(&self, request: ConfigureRequest) -> Result<Self::Data, Diagnostics>;

    /// Every managed resource type.
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;

    /// Every data source type.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Data>>> {
        Vec::new()
    }

    /// The provider-defined functions (none by default). They never see [`Self::Data`]:
    /// Terraform may call them before configuring the provider.
    fn functions(&self) -> Vec<Arc<dyn super::function::Function>> {
        Vec::new()
    }

    /// The ephemeral resource types (none by default).
    fn ephemeral_resources(&self) -> Vec<Arc<dyn super::ephemeral::EphemeralResource<Self::Data>>> {
        Vec::new()
    }
}

/// Input of [`Provider::configure`].
#[derive(Clone, Debug)]
pub struct ConfigureRequest {
    /// The provider block (unknown values possible during plan).
    pub config: Value,
    /// e.g. "1.11.4".
    pub terraform_version: String,
}

/// A managed resource type. Only cloud logic goes here; see the module docs for the contract.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// Full type name, e.g. `vnetpeer_aad_app`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Cross-attribute rules ("exactly one of a / b"), run after the per-attribute validators at
    /// validate time and again at plan time. The configuration may contain unknown values:
    /// judge only what is known.
    fn validate(&self, _config: &Value, _diagnostics: &mut Diagnostics) {}

    /// Adjusts the plan the framework computed (e.g. marks a computed attribute unknown when an
    /// input changes, or runs a plan-time preflight check against the API). Not called for
    /// destroy. The framework re-checks the result.
    async fn modify_plan(
        &self,
        _ctx: &Context<D>,
        _plan: &mut PlannedChange,
    ) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Creates the object and returns its state: `request.planned` with every unknown value
    /// filled in. On failure after something was created, return the partial state in
    /// [`Failure::partial_state`] so Terraform tracks (and taints) it.
    async fn create(&self, ctx: &Context<D>, request: CreateRequest) -> Result<Value, Failure>;

    /// Reads the object described by `state`. `Ok(None)` means it no longer exists: Terraform
    /// drops it from state and plans a create. Normalise values the way users write them.
    async fn read(&self, ctx: &Context<D>, state: Value) -> Result<Option<Value>, Diagnostics>;

    /// Updates in place (only attributes that are not force-new changed) and returns the new state.
    async fn update(&self, ctx: &Context<D>, request: UpdateRequest) -> Result<Value, Failure>;

    /// Deletes the object and waits until it is gone. Deleting something already gone is success.
    async fn delete(&self, ctx: &Context<D>, state: Value) -> Result<(), Diagnostics>;

    /// `terraform import` / `import` blocks: returns a state holding at least what `read` needs
    /// (other attributes may be left out: they become null); Terraform calls `read` next.
    async fn import(&self, _ctx: &Context<D>, _id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} does not support import", self.type_name()),
            "Create the object with Terraform instead, or remove the import block.",
        )
        .into())
    }

    /// The configuration Terraform writes for an existing object (`terraform query
    /// -generate-config-out`, `terraform plan -generate-config-out`; Terraform 1.14+), given
    /// its state with read-only and write-only attributes and `timeouts` already null. Null
    /// what a configuration must not set together (e.g. one of two alternative arguments), so
    /// that the generated block validates and plans no change after the import.
    fn generated_config(&self, _config: &mut Value) {}

    /// The resource identity (Terraform 1.12+): what names the object, how the state maps to it
    /// and to the import id. `None`: the type has no identity and is imported by id only.
    fn identity(&self) -> Option<super::identity::Identity> {
        None
    }

    /// The list resource of this type for `terraform query` (Terraform 1.14+), which names its
    /// results by this type's [`identity`](Resource::identity). `None`: the type is not listed.
    fn list(&self) -> Option<Arc<dyn super::list::ListResource<D>>> {
        None
    }

    /// A `moved` block from another provider's resource type into this one (Terraform 1.8+):
    /// the state this resource would import for the same object, built from `source` alone
    /// (the provider is not configured when Terraform asks, so no cloud call is possible; the
    /// refresh that follows reads the rest). `None`: not a type this resource moves from.
    fn move_from(&self, _source: &MoveSource<'_>) -> Option<Result<Value, Diagnostics>> {
        None
    }

    /// Converts a state written by schema version `from_version` (as its JSON object) into the
    /// current schema's JSON. Called only when the stored version is older than the schema's.
    fn upgrade_state(
        &self,
        from_version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::error(
            format!(
                "Cannot upgrade {} state from schema version {from_version}",
                self.type_name()
            ),
            "This provider version has no upgrade path for that state. Use the provider version \
             that wrote it, or remove the object from state and import it again.",
        )
        .into())
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// Full type name, e.g. `vnetpeer_aiven_project_vpc`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Cross-attribute rules; see [`Resource::validate`].
    fn validate(&self, _config: &Value, _diagnostics: &mut Diagnostics) {}

    /// Returns `config` with every computed attribute filled in (wholly known).
    async fn read(&self, ctx: &Context<D>, config: Value) -> Result<Value, Diagnostics>;
}

/// Input of [`Resource::create`].
#[derive(Clone, Debug)]
pub struct CreateRequest {
    /// The configuration, including write-only attributes (the only place they appear).
    pub config: Value,
    /// The plan: configured values, defaults, and unknowns for computed attributes.
    pub planned: Value,
}

/// A resource of another provider offered to [`Resource::move_from`].
#[derive(Clone, Copy, Debug)]
pub struct MoveSource<'a> {
    /// e.g. `registry.terraform.io/hashicorp/azurerm`.
    pub provider_address: &'a str,
    /// e.g. `azurerm_virtual_network_peering`.
    pub type_name: &'a str,
    pub schema_version: i64,
    /// The source's attributes, as its provider stored them (the state file's JSON).
    pub state: &'a serde_json::Value,
}

impl MoveSource<'_> {
    /// Whether the source is `type_name` of the provider named `provider_type` (the last part
    /// of its address, e.g. `azurerm`), from any registry or namespace.
    pub fn is(&self, provider_type: &str, type_name: &str) -> bool {
        self.type_name == type_name
            && self.provider_address.rsplit('/').next() == Some(provider_type)
    }

    /// A non-empty string attribute of the source state.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.state
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// A string attribute the move cannot do without, or an error naming it.
    pub fn required(&self, name: &str) -> Result<&str, Diagnostics> {
        self.text(name).ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                format!("Cannot move {}: `{name}` is missing", self.type_name),
                format!(
                    "The state of the {} resource has no `{name}`, which names the object. \
                     Refresh it with its own provider first (`terraform apply -refresh-only`), \
                     or remove the `moved` block and import the object instead.",
                    self.type_name
                ),
            ))
        })
    }
}

/// Input of [`Resource::update`].
#[derive(Clone, Debug)]
pub struct UpdateRequest {
    pub config: Value,
    /// The current state.
    pub prior: Value,
    pub planned: Value,
}

/// A failed create or update: what went wrong, and what exists now.
#[derive(Debug)]
pub struct Failure {
    pub diagnostics: Diagnostics,
    /// The state of what exists after the failure, if anything was created or changed.
    /// For a create, Terraform saves it as tainted (replaced on the next apply); without it,
    /// a create leaves nothing in state and an update keeps the prior state.
    pub partial_state: Option<Value>,
}

impl Failure {
    /// A failure that left `state` behind.
    pub fn with_partial_state(diagnostics: impl Into<Diagnostics>, state: Value) -> Self {
        Failure {
            diagnostics: diagnostics.into(),
            partial_state: Some(state),
        }
    }
}

impl From<Diagnostics> for Failure {
    fn from(diagnostics: Diagnostics) -> Self {
        Failure {
            diagnostics,
            partial_state: None,
        }
    }
}

impl From<Diagnostic> for Failure {
    fn from(diagnostic: Diagnostic) -> Self {
        Failure::from(Diagnostics::from(diagnostic))
    }
}

impl From<super::context::Interrupted> for Failure {
    fn from(interrupted: super::context::Interrupted) -> Self {
        Failure::from(Diagnostic::from(interrupted))
    }
}

/// A plan being made, handed to [`Resource::modify_plan`] after the framework's own rules ran.
#[derive(Clone, Debug)]
pub struct PlannedChange {
    /// Current state; null on create.
    pub prior: Value,
    /// Configuration (may contain unknowns).
    pub config: Value,
    /// The plan so far; edit it with the helpers below or directly.
    pub planned: Value,
    /// Paths whose change forces replacement (the framework adds force-new attributes that
    /// changed).
    pub requires_replace: Vec<AttributePath>,
    /// Warnings for the user that do not stop the plan (errors are returned from `modify_plan`).
    pub warnings: Diagnostics,
}

impl PlannedChange {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }

    /// Whether top-level attribute `name` is planned differently from its prior value (always
    /// true on create; true when the planned value is unknown).
    pub fn changed(&self, name: &str) -> bool {
        if self.is_create() {
            return true;
        }
        let planned = self.planned.get(name).unwrap_or(&Value::Null);
        let prior = self.prior.get(name).unwrap_or(&Value::Null);
        planned.is_unknown() || !super::plan::values_equal(planned, prior)
    }

    /// Whether anything besides the listed attributes changes (e.g. "is this an update at all?").
    pub fn changed_except(&self, ignored: &[&str]) -> bool {
        match &self.planned {
            Value::Object(fields) => fields
                .keys()
                .filter(|name| !ignored.contains(&name.as_str()))
                .any(|name| self.changed(name)),
            _ => true,
        }
    }

    /// The planned value of top-level attribute `name` (null if absent).
    pub fn get(&self, name: &str) -> &Value {
        self.planned.get(name).unwrap_or(&Value::Null)
    }

    /// Sets top-level attribute `name` in the plan. Only computed attributes that the
    /// configuration leaves null may differ from the configuration
    /// (docs/development/plugin-obligations.md, I3).
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Object(fields) = &mut self.planned {
            fields.insert(name.to_owned(), value);
        }
    }

    /// Marks computed attribute `name` as "known after apply".
    pub fn set_unknown(&mut self, name: &str) {
        self.set(name, Value::Unknown(Default::default()));
    }

    /// Asks for replacement when `path` changes.
    pub fn require_replace(&mut self, path: impl Into<AttributePath>) {
        let path = path.into();
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
    }
}

/// A plan's attributes as a group, e.g. the attributes of a typed model (`Model::ATTRIBUTES`).
impl PlannedChange {
    /// Whether any of the top-level attributes `names` is planned differently from its prior
    /// value ([`PlannedChange::changed`]).
    pub fn any_changed(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.changed(name))
    }

    /// Marks each of the computed attributes `names` as "known after apply".
    pub fn set_unknown_all(&mut self, names: &[&str]) {
        for name in names {
            self.set_unknown(name);
        }
    }
}
