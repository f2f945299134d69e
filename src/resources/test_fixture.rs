//! `vnetpeer_test_fixture`: a network-free resource that exists only in builds with the
//! `test-fixtures` feature, so the protocol and the framework can be tested end to end through
//! the real `terraform` without any cloud.
//!
//! Objects live in a JSON file named by `VNETPEER_FIXTURE_STORE` (so the separate provider
//! processes of one Terraform command, and the test itself, share them), or in memory when the
//! variable is unset. The schema covers every kind of attribute the framework supports.
//!
//! Test hooks: `sleep` delays create, update and delete (honouring cancellation and the
//! deadline); `fail_create` makes create fail after storing the object (a partial state).
//! The store records whether a write-only `token` was received, never its value.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use serde_json::json;

use crate::framework::{
    Attribute, Block, Context, CreateRequest, Diagnostic, Diagnostics, Failure, NestedBlock,
    ObjectExt, PlannedChange, Resource, Schema, Timeouts, UpdateRequest, parse_go_duration,
    validators,
};
use crate::value::{Type, Value};

use super::ProviderData;

/// Environment variable naming the JSON store file.
pub const STORE_ENV: &str = "VNETPEER_FIXTURE_STORE";

/// See the module documentation.
pub struct TestFixture;

#[async_trait]
impl Resource<ProviderData> for TestFixture {
    fn type_name(&self) -> &'static str {
        "vnetpeer_test_fixture"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A network-free object for protocol tests (test builds only).")
                .attribute(
                    Attribute::string("name")
                        .required()
                        .description("Name; updated in place."),
                )
                .attribute(
                    Attribute::string("zone")
                        .optional()
                        .force_new()
                        .description("Changing it replaces the object."),
                )
                .attribute(
                    Attribute::number("size")
                        .optional()
                        .computed()
                        .default(1)
                        .description("Default `1`."),
                )
                .attribute(Attribute::map("tags", Type::String).optional())
                .attribute(Attribute::set("labels", Type::String).optional())
                .attribute(Attribute::list("ports", Type::Number).optional())
                .attribute(Attribute::string("password").optional().sensitive())
                .attribute(
                    Attribute::string("token")
                        .optional()
                        .sensitive()
                        .write_only()
                        .description("Write-only; bump `token_version` to send a new one."),
                )
                .attribute(Attribute::number("token_version").optional())
                .attribute(
                    Attribute::string("sleep")
                        .optional()
                        .description("Go duration each create, update and delete waits.")
                        .validate(validators::go_duration()),
                )
                .attribute(Attribute::bool("fail_create").optional())
                .attribute(
                    Attribute::string("id")
                        .computed()
                        .use_state_for_unknown()
                        .description("Random id assigned at create."),
                )
                .attribute(
                    Attribute::string("created_at")
                        .computed()
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::number("revision")
                        .computed()
                        .description("1 after create, incremented by every update."),
                )
                .block(
                    NestedBlock::list(
                        "rule",
                        Block::new("A rule.")
                            .attribute(Attribute::number("port").required())
                            .attribute(
                                Attribute::string("protocol")
                                    .optional()
                                    .computed()
                                    .default("tcp")
                                    .validate(validators::one_of(&["tcp", "udp"])),
                            ),
                    )
                    .max_items(4),
                )
                .block(NestedBlock::single(
                    "endpoint",
                    Block::new("An endpoint.")
                        .attribute(Attribute::string("host").required().force_new()),
                )),
        )
        .with_timeouts(Timeouts::minutes(5, 5, 5, 5))
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        if config.attr("password").is_known()
            && !config.attr("password").is_null()
            && config.attr_str("name") == Some("no-password")
        {
            diagnostics.push(
                Diagnostic::error(
                    "password is not allowed when name is \"no-password\"",
                    "Remove password.",
                )
                .at("password"),
            );
        }
    }

    async fn modify_plan(
        &self,
        _ctx: &Context<ProviderData>,
        plan: &mut PlannedChange,
    ) -> Result<(), Diagnostics> {
        // Every real update bumps the revision.
        if !plan.is_create() && plan.changed_except(&["revision"]) {
            plan.set_unknown("revision");
        }
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        request: CreateRequest,
    ) -> Result<Value, Failure> {
        pause(ctx, &request.planned).await?;
        let mut state = request.planned;
        let id = uuid::Uuid::new_v4().to_string();
        state.set_attr("id", id.clone());
        state.set_attr("created_at", now_rfc3339());
        state.set_attr("revision", 1);
        let token_received = !request.config.attr("token").is_null();
        store_put(&id, &state, token_received).map_err(store_error)?;
        if state.attr_bool("fail_create") == Some(true) {
            return Err(Failure::with_partial_state(
                Diagnostic::error(
                    "fail_create is set",
                    "The object was created, then the create reported a failure.",
                ),
                state,
            ));
        }
        Ok(state)
    }

    async fn read(
        &self,
        _ctx: &Context<ProviderData>,
        state: Value,
    ) -> Result<Option<Value>, Diagnostics> {
        let id = state.attr_str("id").unwrap_or_default().to_owned();
        store_get(&id).map_err(store_error)
    }

    async fn update(
        &self,
        ctx: &Context<ProviderData>,
        request: UpdateRequest,
    ) -> Result<Value, Failure> {
        pause(ctx, &request.planned).await?;
        let mut state = request.planned;
        if state.attr("revision").is_unknown() {
            let revision = request.prior.attr_i64("revision").unwrap_or(0) + 1;
            state.set_attr("revision", revision);
        }
        let id = state.attr_str("id").unwrap_or_default().to_owned();
        let token_received = !request.config.attr("token").is_null() || store_token_received(&id);
        store_put(&id, &state, token_received).map_err(store_error)?;
        Ok(state)
    }

    async fn delete(&self, ctx: &Context<ProviderData>, state: Value) -> Result<(), Diagnostics> {
        pause(ctx, &state).await?;
        store_remove(state.attr_str("id").unwrap_or_default()).map_err(store_error)
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        match store_get(id).map_err(store_error)? {
            Some(_) => Ok(Value::object([("id", Value::string(id))])),
            None => Err(Diagnostic::error(
                format!("No test fixture with id {id:?}"),
                "Import an id that exists in the fixture store.",
            )
            .into()),
        }
    }
}

async fn pause(ctx: &Context<ProviderData>, object: &Value) -> Result<(), Diagnostics> {
    if let Some(duration) = object
        .attr_str("sleep")
        .and_then(|text| parse_go_duration(text).ok())
    {
        ctx.sleep(duration).await?;
    }
    Ok(())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn store_error(error: String) -> Diagnostics {
    Diagnostic::error("Test fixture store failed", error).into()
}

/// One stored object: its state as JSON and whether a token was ever received.
type Records = BTreeMap<String, serde_json::Value>;

/// Serialises store access within a process; separate processes run one after another.
static STORE_LOCK: Mutex<Option<Records>> = Mutex::new(None);

fn store_path() -> Option<PathBuf> {
    std::env::var_os(STORE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn with_store<T>(change: impl FnOnce(&mut Records) -> T, write: bool) -> Result<T, String> {
    let mut memory = STORE_LOCK
        .lock()
        .map_err(|_| "store lock poisoned".to_owned())?;
    let Some(path) = store_path() else {
        return Ok(change(memory.get_or_insert_with(Records::new)));
    };
    let mut records: Records = match std::fs::read(&path) {
        Ok(bytes) if !bytes.is_empty() => serde_json::from_slice(&bytes)
            .map_err(|error| format!("{} is not a fixture store: {error}", path.display()))?,
        Ok(_) => Records::new(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Records::new(),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let result = change(&mut records);
    if write {
        let bytes = serde_json::to_vec_pretty(&records).map_err(|error| error.to_string())?;
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    Ok(result)
}

/// The state type, built once (the fixture also serves as the benchmarks' no-op floor).
fn state_type() -> &'static Type {
    static STATE_TYPE: OnceLock<Type> = OnceLock::new();
    STATE_TYPE.get_or_init(|| TestFixture.schema().implied_type())
}

fn store_put(id: &str, state: &Value, token_received: bool) -> Result<(), String> {
    let json = state
        .to_json_value(state_type())
        .map_err(|error| error.to_string())?;
    with_store(
        |records| {
            records.insert(
                id.to_owned(),
                json!({ "state": json, "token_received": token_received }),
            );
        },
        true,
    )
}

fn store_get(id: &str) -> Result<Option<Value>, String> {
    let record = with_store(|records| records.get(id).cloned(), false)?;
    match record {
        None => Ok(None),
        Some(record) => Value::from_json_value(state_type(), &record["state"])
            .map(Some)
            .map_err(|error| format!("stored object {id:?} does not match the schema: {error}")),
    }
}

fn store_token_received(id: &str) -> bool {
    with_store(
        |records| records.get(id).and_then(|r| r["token_received"].as_bool()),
        false,
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}

fn store_remove(id: &str) -> Result<(), String> {
    with_store(
        |records| {
            records.remove(id);
        },
        true,
    )
}
