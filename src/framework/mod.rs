//! The provider framework: a resource author writes only cloud logic.
//!
//! - [`Schema`], [`Block`], [`Attribute`], [`NestedBlock`]: what the configuration and state
//!   look like and how each attribute plans (required/optional/computed, `force_new`,
//!   `requires_replace_if` with the rules of [`replace_if`], `case_insensitive`, `default`,
//!   `write_only`, `use_state_for_unknown`, [`validators`]).
//! - [`Model`] and [`model!`]: a struct bound to the attributes of the same names, read from a
//!   plan, state or configuration in one call (fields that must be known are checked) and written
//!   back into a state in one call.
//! - [`Resource`] / [`DataSource`]: the traits to implement; [`Provider`] ties them together.
//! - [`ListResource`]: finds a resource type's objects for `terraform query`; the framework
//!   resolves each through the resource's own import and read.
//! - [`Context`]: what every operation gets: the provider data ([`Context::data`]), the deadline
//!   from the `timeouts` block ([`Context::deadline`]), the Ctrl-C cancellation token
//!   ([`Context::cancellation`]), and private data.
//! - [`Diagnostics`]: errors and warnings for the user, with attribute paths. Never secrets.
//! - [`Server`]: the protocol-independent core behind the gRPC service; it applies the plan rules
//!   of docs/development/plugin-obligations.md, I1–I10 to every resource ([`plan`] explains them),
//!   nulls write-only attributes, fills missing attributes with null, carries `timeouts` over, and
//!   checks every value against the schema before it reaches Terraform.
//!
//! # The contract, in short
//!
//! - `create` receives the plan (configured values, defaults, unknowns for computed attributes)
//!   and returns it with every unknown filled in. If something was created before a failure,
//!   return it in [`Failure::partial_state`] so Terraform taints it instead of losing it.
//! - `read` returns `None` when the object is gone; start from the given state and overwrite
//!   what the API reports, normalised the way users write it.
//! - `update` is called only for in-place changes (force-new attributes replace instead).
//!   Computed attributes keep their prior values in the plan unless `modify_plan` marks them
//!   unknown ([`PlannedChange::set_unknown`]).
//! - `delete` must wait until the object is gone, and treat "already gone" as success.
//! - Every wait honours [`Context::deadline`] and [`Context::cancellation`]
//!   ([`Context::sleep`] and [`Context::run`] do both).
//! - Attributes you leave out of a returned object become null; `timeouts` is handled for you.
//!
//! # Example
//!
//! ```
//! use async_trait::async_trait;
//! use vnetpeer::framework::{
//!     validators, Attribute, Block, Context, CreateRequest, Diagnostic, Diagnostics, Failure,
//!     ObjectExt, Resource, Schema, Timeouts, UpdateRequest,
//! };
//! use vnetpeer::value::Value;
//!
//! /// What the provider hands every operation (normally settings and API clients).
//! pub struct Clients;
//!
//! pub struct Widget;
//!
//! #[async_trait]
//! impl Resource<Clients> for Widget {
//!     fn type_name(&self) -> &'static str {
//!         "vnetpeer_widget"
//!     }
//!
//!     fn schema(&self) -> Schema {
//!         Schema::new(
//!             Block::new("A widget.")
//!                 .attribute(Attribute::string("name").required().force_new()
//!                     .description("Name of the widget.").validate(validators::string_length(1, 64)))
//!                 .attribute(Attribute::number("size").optional().computed().default(1)
//!                     .description("Size. Default `1`."))
//!                 .attribute(Attribute::string("id").computed().use_state_for_unknown()
//!                     .description("Identifier assigned by the service.")),
//!         )
//!         .with_timeouts(Timeouts::minutes(10, 5, 10, 10))
//!     }
//!
//!     async fn create(&self, ctx: &Context<Clients>, request: CreateRequest) -> Result<Value, Failure> {
//!         let name = request.planned.attr_str("name").unwrap_or_default().to_owned();
//!         ctx.sleep(std::time::Duration::from_millis(1)).await?; // stands for the API call
//!         let mut state = request.planned;
//!         state.set_attr("id", format!("widget-{name}"));
//!         Ok(state)
//!     }
//!
//!     async fn read(&self, _ctx: &Context<Clients>, state: Value) -> Result<Option<Value>, Diagnostics> {
//!         Ok(Some(state)) // ask the API; `None` when it says 404
//!     }
//!
//!     async fn update(&self, _ctx: &Context<Clients>, request: UpdateRequest) -> Result<Value, Failure> {
//!         Ok(request.planned) // send the changed attributes to the API
//!     }
//!
//!     async fn delete(&self, _ctx: &Context<Clients>, _state: Value) -> Result<(), Diagnostics> {
//!         Ok(())
//!     }
//!
//!     async fn import(&self, _ctx: &Context<Clients>, id: &str) -> Result<Value, Diagnostics> {
//!         if id.is_empty() {
//!             return Err(Diagnostic::error("Invalid import id", "Pass the widget id.").into());
//!         }
//!         Ok(Value::object([("id", Value::string(id))])) // `read` fills in the rest
//!     }
//! }
//! ```
//!
//! Register it with one line in `src/resources/mod.rs`.

mod context;
mod diagnostics;
mod ephemeral;
mod function;
mod identity;
mod list;
pub mod model;
mod object;
pub mod plan;
pub mod replace_if;
mod resource;
mod schema;
mod server;
pub mod timeouts;
pub mod validators;

pub use context::{Context, InterruptReason, Interrupted};
pub use diagnostics::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
pub use ephemeral::{EphemeralResource, Opened, Renewed};
pub use function::{Function, FunctionError, Parameter, Signature};
pub use identity::{Identity, IdentityAttribute};
pub use list::{Found, ListEvent, ListResource, ListResult, Listing};
pub use model::{AttributeValue, Model, StringSet, model};
pub use object::ObjectExt;
pub use resource::{
    ConfigureRequest, CreateRequest, DataSource, Failure, MoveSource, PlannedChange, Provider,
    Resource, UpdateRequest,
};
pub use schema::{Attribute, Block, NestedBlock, Nesting, ReplaceRule, Schema};
pub use server::{
    ApplyOutcome, Catalog, ConfigKind, DataSourceEntry, EphemeralEntry, FunctionEntry,
    ImportOutcome, ListEntry, PlanOutcome, ReadOutcome, ResourceEntry, Server,
};
pub use timeouts::{Operation, Timeouts, format_go_duration, parse_go_duration, timeouts_block};
pub use validators::Validator;
