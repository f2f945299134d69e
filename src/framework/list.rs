//! List resources (Terraform 1.14+, `terraform query`): the objects of a resource type that exist
//! in the cloud, found with the filters of a `list` block's `config`, streamed to Terraform one by
//! one with their identity and, when asked, their full resource object.
//!
//! A list resource only finds objects and says how to name them: for each one it hands the
//! [`Listing`] the resource's import id and a display name. The framework turns that into what
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

/// The list resource of a managed resource type, registered by
/// [`Resource::list`](super::Resource::list) under the resource's type name.
#[async_trait]
pub trait ListResource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// The `config` block of `list "<type>" "<name>" { config { … } }`: the filters.
    fn schema(&self) -> Schema;

    /// Cross-attribute rules of the `config` block, after the per-attribute validators. The
    /// configuration may contain unknown values: judge only what is known.
    fn validate(&self, _config: &Value, _diagnostics: &mut Diagnostics) {}

    /// Finds the objects [`Listing::config`] selects and hands each to [`Listing::found`] as
    /// soon as it is found. Stop when that returns `false`: Terraform has what it asked for. An
    /// error ends the stream.
    async fn list(&self, ctx: &Context<D>, listing: &mut Listing<'_>) -> Result<(), Diagnostics>;
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
    Result(Box<ListResult>),
    /// Ends the stream.
    Failed(Diagnostics),
}

/// One object as Terraform receives it.
#[derive(Debug)]
pub struct ListResult {
    /// In the resource's identity schema, wholly known.
    pub identity: Value,
    pub display_name: String,
    /// The resource object in the resource's state schema, when Terraform asked for it.
    pub resource_object: Option<Value>,
    /// Warnings of the import and read of this object.
    pub warnings: Diagnostics,
}

/// Where a list resource puts what it finds. Each result is resolved by the server (import,
/// read, identity) and sent to Terraform before the list goes on.
pub struct Listing<'a> {
    /// The `list` block's `config` (null when it has none).
    pub config: &'a Value,
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

impl Listing<'_> {
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

/// A batch of objects at once, e.g. one page of a cloud's list answer.
impl Listing<'_> {
    /// [`Listing::found`] for each `(import id, display name)` of `objects`, in order;
    /// `Ok(false)` as soon as one says stop.
    pub async fn found_each(
        &mut self,
        objects: impl IntoIterator<Item = (String, String)>,
    ) -> Result<bool, Diagnostics> {
        for (import_id, display_name) in objects {
            if !self.found(import_id, display_name).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use tokio::sync::{Notify, mpsc};

    use super::*;
    use crate::framework::{
        Attribute, Block, ConfigureRequest, CreateRequest, Diagnostic, Failure, Identity,
        IdentityAttribute, ObjectExt, Provider, Resource, Server, UpdateRequest, validators,
    };

    /// Objects `w0`, `w1`, … of which `gone` no longer exists when read.
    struct Widget;

    #[async_trait]
    impl Resource<Shared> for Widget {
        fn type_name(&self) -> &'static str {
            "test_widget"
        }

        fn list(&self) -> Option<Arc<dyn ListResource<Shared>>> {
            Some(Arc::new(WidgetList))
        }

        fn schema(&self) -> Schema {
            Schema::new(
                Block::new("")
                    .attribute(Attribute::string("name").required())
                    .attribute(Attribute::string("size").computed()),
            )
        }

        async fn create(&self, _: &Context<Shared>, _: CreateRequest) -> Result<Value, Failure> {
            Err(Diagnostic::error("not in this test", "").into())
        }

        async fn read(
            &self,
            ctx: &Context<Shared>,
            state: Value,
        ) -> Result<Option<Value>, Diagnostics> {
            let name = state.attr_str("name").unwrap_or_default().to_owned();
            ctx.data().reads.lock().unwrap().push(name.clone());
            if name == "gone" {
                return Ok(None);
            }
            Ok(Some(Value::object([
                ("name", Value::string(name.clone())),
                ("size", Value::string(format!("size of {name}"))),
            ])))
        }

        async fn update(&self, _: &Context<Shared>, _: UpdateRequest) -> Result<Value, Failure> {
            Err(Diagnostic::error("not in this test", "").into())
        }

        async fn delete(&self, _: &Context<Shared>, _: Value) -> Result<(), Diagnostics> {
            Ok(())
        }

        async fn import(&self, _: &Context<Shared>, id: &str) -> Result<Value, Diagnostics> {
            Ok(Value::object([("name", Value::string(id))]))
        }

        fn identity(&self) -> Option<Identity> {
            Some(Identity {
                version: 0,
                attributes: vec![IdentityAttribute::required("name", "the name")],
                of_state: |state| {
                    Some(BTreeMap::from([(
                        "name",
                        state.attr_str("name")?.to_owned(),
                    )]))
                },
                import_id: |parts| Ok(parts["name"].clone()),
            })
        }
    }

    /// Lists `count` widgets (`prefix` + index), or fails after `fail_after` of them; before
    /// the second one it waits until the test says go on.
    struct WidgetList;

    #[async_trait]
    impl ListResource<Shared> for WidgetList {
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new("")
                    .attribute(
                        Attribute::string("prefix")
                            .optional()
                            .validate(validators::not_blank()),
                    )
                    .attribute(Attribute::number("count").required())
                    .attribute(Attribute::number("fail_after").optional()),
            )
        }

        fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
            if config.attr_i64("count").is_some_and(|count| count < 0) {
                diagnostics.push(
                    Diagnostic::error("`count` is negative", "Set `count` to 0 or more.")
                        .at("count"),
                );
            }
        }

        async fn list(
            &self,
            ctx: &Context<Shared>,
            listing: &mut Listing<'_>,
        ) -> Result<(), Diagnostics> {
            let config = listing.config;
            let prefix = config.attr_str("prefix").unwrap_or("w");
            let fail_after = config.attr_i64("fail_after");
            for index in 0..config.attr_i64("count").unwrap_or(0) {
                if index == 1 {
                    ctx.data().go_on.notified().await;
                }
                if fail_after == Some(index) {
                    return Err(Diagnostic::error("The cloud failed", "Try again.").into());
                }
                ctx.data().found.lock().unwrap().push(index);
                let name = if index == 2 {
                    "gone".to_owned()
                } else {
                    format!("{prefix}{index}")
                };
                if !listing
                    .found(name.clone(), format!("Widget {name}"))
                    .await?
                {
                    return Ok(());
                }
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Cloud {
        go_on: Notify,
        found: std::sync::Mutex<Vec<i64>>,
        reads: std::sync::Mutex<Vec<String>>,
    }

    type Shared = Arc<Cloud>;

    struct TestProvider(Shared);

    impl Provider for TestProvider {
        type Data = Shared;

        fn schema(&self) -> Schema {
            Schema::new(Block::new(""))
        }

        fn configure(&self, _: ConfigureRequest) -> Result<Shared, Diagnostics> {
            Ok(Arc::clone(&self.0))
        }

        fn resources(&self) -> Vec<Arc<dyn Resource<Shared>>> {
            vec![Arc::new(Widget)]
        }
    }

    fn server() -> (Arc<Server<TestProvider>>, Shared) {
        let cloud = Shared::default();
        let server = Server::new(TestProvider(Arc::clone(&cloud)));
        assert!(
            server
                .configure(Value::object::<&str>([]), "1.15.5".into())
                .is_empty()
        );
        assert!(
            server.catalog().problems.is_empty(),
            "{:?}",
            server.catalog().problems
        );
        (Arc::new(server), cloud)
    }

    fn config(count: i64, fail_after: Option<i64>) -> Value {
        Value::object([
            ("prefix", Value::Null),
            ("count", Value::from(count)),
            ("fail_after", fail_after.map_or(Value::Null, Value::from)),
        ])
    }

    fn start(
        server: &Arc<Server<TestProvider>>,
        config: Value,
        include: bool,
        limit: i64,
    ) -> mpsc::Receiver<ListEvent> {
        let (sender, receiver) = mpsc::channel(1);
        let server = Arc::clone(server);
        tokio::spawn(async move {
            server
                .list_resource("test_widget", config, include, limit, sender)
                .await;
        });
        receiver
    }

    fn name_of(event: &ListEvent) -> String {
        match event {
            ListEvent::Result(result) => result.identity.attr_str("name").unwrap().to_owned(),
            ListEvent::Failed(diagnostics) => panic!("failed: {diagnostics}"),
        }
    }

    #[tokio::test]
    async fn results_are_streamed_as_found_with_identity_and_object_and_gone_ones_skipped() {
        let (server, cloud) = server();
        let mut events = start(&server, config(4, None), true, 100);
        // The first result arrives while the list still waits before its second object.
        let first = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("the first result before the list ends")
            .unwrap();
        let ListEvent::Result(result) = &first else {
            panic!("{first:?}");
        };
        let ListResult {
            identity,
            display_name,
            resource_object,
            warnings,
        } = result.as_ref();
        assert_eq!(identity, &Value::object([("name", Value::string("w0"))]));
        assert_eq!(display_name, "Widget w0");
        assert_eq!(
            resource_object.as_ref().unwrap().attr_str("size"),
            Some("size of w0"),
            "the object is what the resource's read gives"
        );
        assert!(warnings.is_empty());
        cloud.go_on.notify_one();
        let mut rest = Vec::new();
        while let Some(event) = events.recv().await {
            rest.push(name_of(&event));
        }
        assert_eq!(
            rest,
            ["w1", "w3"],
            "the object gone before its read is skipped"
        );
    }

    #[tokio::test]
    async fn without_the_object_only_imports_run_and_the_limit_stops_the_list() {
        let (server, cloud) = server();
        let mut events = start(&server, config(10, None), false, 2);
        let first = events.recv().await.unwrap();
        assert!(matches!(&first, ListEvent::Result(result) if result.resource_object.is_none()));
        cloud.go_on.notify_one();
        let second = events.recv().await.unwrap();
        assert_eq!(name_of(&second), "w1");
        assert!(events.recv().await.is_none(), "nothing after the limit");
        assert_eq!(
            *cloud.found.lock().unwrap(),
            [0, 1],
            "the list stopped at the limit"
        );
        assert!(
            cloud.reads.lock().unwrap().is_empty(),
            "the identity needed no read"
        );
    }

    #[tokio::test]
    async fn a_failure_is_one_last_event_after_what_was_found() {
        let (server, cloud) = server();
        let mut events = start(&server, config(3, Some(1)), false, 100);
        assert_eq!(name_of(&events.recv().await.unwrap()), "w0");
        cloud.go_on.notify_one();
        let Some(ListEvent::Failed(diagnostics)) = events.recv().await else {
            panic!("a failure event");
        };
        assert_eq!(
            diagnostics.iter().next().unwrap().summary,
            "The cloud failed"
        );
        assert!(events.recv().await.is_none());
    }

    #[tokio::test]
    async fn bad_filters_are_diagnosed_at_their_attribute_and_stop_the_list() {
        let (server, _) = server();
        let bad = Value::object([
            ("prefix", Value::string(" ")),
            ("count", Value::from(-1)),
            ("fail_after", Value::Null),
        ]);
        let diagnostics = server.validate_config(
            crate::framework::ConfigKind::ListResource,
            "test_widget",
            &bad,
        );
        let found: Vec<String> = diagnostics
            .iter()
            .map(|diagnostic| {
                format!(
                    "{}: {}",
                    diagnostic
                        .path
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    diagnostic.summary
                )
            })
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("prefix: "), "{found:?}");
        assert_eq!(found[1], "count: `count` is negative");

        let mut events = start(&server, bad, false, 100);
        assert!(matches!(events.recv().await, Some(ListEvent::Failed(_))));
        let unknown = server.validate_config(
            crate::framework::ConfigKind::ListResource,
            "test_nope",
            &config(1, None),
        );
        assert!(
            unknown.to_string().contains("Unknown list resource type"),
            "{unknown}"
        );
    }
}
