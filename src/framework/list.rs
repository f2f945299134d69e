//! List resources (Terraform 1.14+, `terraform query`): the objects of a resource type that exist
//! in the cloud, found with the filters of a `list` block's `config`, streamed to Terraform one by
//! one with their identity and, when asked, their full resource object.
//!
//! A list resource only finds objects and says how to name them: for each one it hands the
//! [`ListSink`] the resource's import id and a display name. The framework turns that into what
//! Terraform receives through the resource's own code: its [`import`](super::Resource::import)
//! and, when the identity needs it or Terraform asked for the resource object, its
//! [`read`](super::Resource::read), exactly as `terraform import` would. So the object a list
//! returns is the state an import of it gives, and the configuration Terraform generates from it
//! (`terraform query -generate-config-out`) matches that state.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::value::Value;

use super::context::Context;
use super::diagnostics::Diagnostics;
use super::schema::Schema;

/// The list resource of a managed resource type (same type name).
#[async_trait]
pub trait ListResource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// The managed resource type it lists, e.g. `vnetpeer_aad_app`. That type must have an
    /// identity: Terraform names every result by it.
    fn type_name(&self) -> &'static str;

    /// The `config` block of `list "<type>" "<name>" { config { … } }`: the filters.
    fn schema(&self) -> Schema;

    /// Cross-attribute rules of the `config` block, after the per-attribute validators. The
    /// configuration may contain unknown values: judge only what is known.
    fn validate(&self, _config: &Value, _diagnostics: &mut Diagnostics) {}

    /// Finds the objects `config` selects (null when the `list` block has no `config` block) and
    /// hands each to `sink` as soon as it is found. Stop when [`ListSink::found`] returns
    /// `false`: Terraform has what it asked for. An error ends the stream.
    async fn list(
        &self,
        ctx: &Context<D>,
        config: &Value,
        sink: &mut ListSink<'_>,
    ) -> Result<(), Diagnostics>;
}

/// One object found, before the framework resolves it: its import id and display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// What `terraform import` takes for this resource type.
    pub import_id: String,
    /// What a user recognises the object by (an application's display name, a peering's name).
    pub display_name: String,
}

/// What the server streams to Terraform, in order: results, then at most one failure.
#[derive(Debug)]
pub enum ListEvent {
    Result {
        /// In the resource's identity schema, wholly known.
        identity: Value,
        display_name: String,
        /// The resource object in the resource's state schema, when Terraform asked for it.
        resource_object: Option<Value>,
        /// Warnings of the import and read of this object.
        warnings: Diagnostics,
    },
    /// Ends the stream.
    Failed(Diagnostics),
}

/// Where a list resource puts what it finds. Each result is resolved by the server (import,
/// read, identity) and sent to Terraform before the list goes on.
pub struct ListSink<'a> {
    pub(super) resolve: &'a (dyn Resolve + Send + Sync),
    pub(super) events: mpsc::Sender<ListEvent>,
    /// How many more results Terraform wants.
    pub(super) remaining: u64,
}

/// Turns a [`Found`] into an event (implemented by the server).
#[async_trait]
pub(super) trait Resolve {
    /// `Ok(None)`: the object is gone since it was listed; it is skipped.
    async fn resolve(&self, found: Found) -> Result<Option<ListEvent>, Diagnostics>;
}

impl ListSink<'_> {
    /// Hands one object to Terraform. `Ok(false)`: stop listing (the `limit` is reached, or
    /// Terraform stopped reading). An error resolving it (its read failed) ends the list.
    pub async fn found(
        &mut self,
        import_id: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Result<bool, Diagnostics> {
        if self.remaining == 0 || self.events.is_closed() {
            return Ok(false);
        }
        let found = Found {
            import_id: import_id.into(),
            display_name: display_name.into(),
        };
        let Some(event) = self.resolve.resolve(found).await? else {
            return Ok(true);
        };
        if self.events.send(event).await.is_err() {
            return Ok(false);
        }
        self.remaining -= 1;
        Ok(self.remaining > 0)
    }
}
