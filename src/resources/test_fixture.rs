//! `vnetpeer_test_fixture`: a network-free resource that exists only in builds with the
//! `test-fixtures` feature, so the protocol and the framework can be tested end to end through
//! the real `terraform` without any cloud.
//!
//! Objects live where `VNETPEER_FIXTURE_STORE` points (so the separate provider processes of one
//! Terraform command, and the test itself, share them), or in memory when the variable is unset:
//! - an existing **directory** holds one small JSON file per object, replaced atomically by a
//!   rename, so every operation costs the same at any N (the benchmarks use the fixture as the
//!   plugin floor at N = 400, where a shared file made each operation O(N));
//! - any other path is **one JSON file** mapping id → record, re-read and rewritten whole by
//!   every operation: simple to inspect and edit out of band, which the protocol tests do, and
//!   cheap enough for their handful of objects.
//!
//! The schema covers every kind of attribute the framework supports.
//!
//! Test hooks: `sleep` delays create, update and delete (honouring cancellation and the
//! deadline); `fail_create` makes create fail after storing the object (a partial state).
//! The store records whether a write-only `token` was received, never its value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use serde_json::json;

use crate::framework::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, NestedBlock, ObjectExt,
    PlannedChange, Resource, Schema, Timeouts, UpdateRequest, model, parse_go_duration, validators,
};
use crate::resources::Ctx;
use crate::value::{Type, Value};

use super::ProviderData;

/// Environment variable naming the JSON store file.
pub const STORE_ENV: &str = "VNETPEER_FIXTURE_STORE";

/// See the module documentation.
pub struct TestFixture;

model! {
    /// Every top-level attribute of the fixture, as a plan or state holds it.
    struct Fixture {
        name: Value,
        zone: Value,
        size: Value,
        tags: Value,
        labels: Value,
        ports: Value,
        password: Value,
        token: Value,
        token_version: Value,
        sleep: Value,
        fail_create: Value,
        id: Value,
        created_at: Value,
        revision: Value,
    }
}

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
        if config.attr(Fixture::password).is_known()
            && !config.attr(Fixture::password).is_null()
            && config.attr_str(Fixture::name) == Some("no-password")
        {
            diagnostics.push(
                Diagnostic::error(
                    "password is not allowed when name is \"no-password\"",
                    "Remove password.",
                )
                .at(Fixture::password),
            );
        }
    }

    async fn modify_plan(&self, _ctx: &Ctx, plan: &mut PlannedChange) -> Result<(), Diagnostics> {
        // Every real update bumps the revision.
        if !plan.is_create() && plan.changed_except(&[Fixture::revision]) {
            plan.set_unknown(Fixture::revision);
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, request: CreateRequest) -> Result<Value, Failure> {
        pause(ctx, &request.planned).await?;
        let mut state = request.planned;
        let id = uuid::Uuid::new_v4().to_string();
        state.set_attr(Fixture::id, id.clone());
        state.set_attr(Fixture::created_at, now_rfc3339());
        state.set_attr(Fixture::revision, 1);
        let token_received = !request.config.attr(Fixture::token).is_null();
        store_put(&id, &state, token_received).map_err(store_error)?;
        if state.attr_bool(Fixture::fail_create) == Some(true) {
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

    async fn read(&self, _ctx: &Ctx, state: Value) -> Result<Option<Value>, Diagnostics> {
        let id = state.attr_str(Fixture::id).unwrap_or_default().to_owned();
        store_get(&id).map_err(store_error)
    }

    async fn update(&self, ctx: &Ctx, request: UpdateRequest) -> Result<Value, Failure> {
        pause(ctx, &request.planned).await?;
        let mut state = request.planned;
        if state.attr(Fixture::revision).is_unknown() {
            let revision = request.prior.attr_i64(Fixture::revision).unwrap_or(0) + 1;
            state.set_attr(Fixture::revision, revision);
        }
        let id = state.attr_str(Fixture::id).unwrap_or_default().to_owned();
        let token_received =
            !request.config.attr(Fixture::token).is_null() || store_token_received(&id);
        store_put(&id, &state, token_received).map_err(store_error)?;
        Ok(state)
    }

    async fn delete(&self, ctx: &Ctx, state: Value) -> Result<(), Diagnostics> {
        pause(ctx, &state).await?;
        store_remove(state.attr_str(Fixture::id).unwrap_or_default()).map_err(store_error)
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        match store_get(id).map_err(store_error)? {
            Some(_) => Ok(Value::object([(Fixture::id, Value::string(id))])),
            None => Err(Diagnostic::error(
                format!("No test fixture with id {id:?}"),
                "Import an id that exists in the fixture store.",
            )
            .into()),
        }
    }
}

async fn pause(ctx: &Ctx, object: &Value) -> Result<(), Diagnostics> {
    if let Some(duration) = object
        .attr_str(Fixture::sleep)
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

/// One stored object: `{"state": <state as JSON>, "token_received": bool}`.
type Records = BTreeMap<String, serde_json::Value>;

/// Where the objects live (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Store {
    Memory,
    File(PathBuf),
    Directory(PathBuf),
}

/// Serialises access to the in-memory store and to the single-file store within a process
/// (separate processes run one after another); the directory store needs no lock.
static STORE_LOCK: Mutex<Option<Records>> = Mutex::new(None);

impl Store {
    /// The store `VNETPEER_FIXTURE_STORE` names.
    fn from_env() -> Store {
        match std::env::var_os(STORE_ENV).filter(|value| !value.is_empty()) {
            None => Store::Memory,
            Some(path) => {
                let path = PathBuf::from(path);
                if path.is_dir() {
                    Store::Directory(path)
                } else {
                    Store::File(path)
                }
            }
        }
    }

    fn get(&self, id: &str) -> Result<Option<serde_json::Value>, String> {
        match self {
            Store::Directory(dir) => {
                let Some(path) = object_path(dir, id) else {
                    return Ok(None);
                };
                match std::fs::read(&path) {
                    Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
                        format!("{} is not a fixture record: {error}", path.display())
                    }),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(error) => Err(format!("cannot read {}: {error}", path.display())),
                }
            }
            _ => self.with_records(|records| records.get(id).cloned(), false),
        }
    }

    fn put(&self, id: &str, record: serde_json::Value) -> Result<(), String> {
        match self {
            Store::Directory(dir) => {
                let path = object_path(dir, id)
                    .ok_or_else(|| format!("{id:?} cannot name a fixture record"))?;
                let bytes = serde_json::to_vec(&record).map_err(|error| error.to_string())?;
                // A reader in another process sees the old record or the new one, never half.
                let temporary = dir.join(format!(".{id}.{}.tmp", std::process::id()));
                std::fs::write(&temporary, bytes)
                    .and_then(|()| std::fs::rename(&temporary, &path))
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))
            }
            _ => self.with_records(
                |records| {
                    records.insert(id.to_owned(), record);
                },
                true,
            ),
        }
    }

    fn remove(&self, id: &str) -> Result<(), String> {
        match self {
            Store::Directory(dir) => {
                let Some(path) = object_path(dir, id) else {
                    return Ok(());
                };
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(error) => Err(format!("cannot remove {}: {error}", path.display())),
                }
            }
            _ => self.with_records(
                |records| {
                    records.remove(id);
                },
                true,
            ),
        }
    }

    /// Runs `change` on all records of the in-memory or single-file store, rewriting the file
    /// afterwards when `write`.
    fn with_records<T>(
        &self,
        change: impl FnOnce(&mut Records) -> T,
        write: bool,
    ) -> Result<T, String> {
        let mut memory = STORE_LOCK
            .lock()
            .map_err(|_| "store lock poisoned".to_owned())?;
        let Store::File(path) = self else {
            return Ok(change(memory.get_or_insert_with(Records::new)));
        };
        let mut records: Records = match std::fs::read(path) {
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
                .and_then(|()| std::fs::rename(&temporary, path))
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        }
        Ok(result)
    }
}

/// The file of object `id` in a directory store; `None` when `id` could not be a file name of
/// ours (ids are UUIDs, but `import` takes any string, which must not reach outside `dir`).
fn object_path(dir: &Path, id: &str) -> Option<PathBuf> {
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| dir.join(format!("{id}.json")))
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
    Store::from_env().put(
        id,
        json!({ "state": json, "token_received": token_received }),
    )
}

fn store_get(id: &str) -> Result<Option<Value>, String> {
    match Store::from_env().get(id)? {
        None => Ok(None),
        Some(record) => Value::from_json_value(state_type(), &record["state"])
            .map(Some)
            .map_err(|error| format!("stored object {id:?} does not match the schema: {error}")),
    }
}

fn store_token_received(id: &str) -> bool {
    Store::from_env()
        .get(id)
        .ok()
        .flatten()
        .and_then(|record| record["token_received"].as_bool())
        .unwrap_or(false)
}

fn store_remove(id: &str) -> Result<(), String> {
    Store::from_env().remove(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> serde_json::Value {
        json!({ "state": { "name": name }, "token_received": false })
    }

    #[test]
    fn a_directory_store_keeps_one_file_per_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Directory(dir.path().to_path_buf());
        store.put("a", record("first")).unwrap();
        store.put("b", record("second")).unwrap();
        store.put("a", record("renamed")).unwrap();

        assert_eq!(store.get("a").unwrap(), Some(record("renamed")));
        assert_eq!(store.get("b").unwrap(), Some(record("second")));
        assert_eq!(store.get("c").unwrap(), None);
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["a.json", "b.json"], "no temporary file is left");

        store.remove("a").unwrap();
        store.remove("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
        assert_eq!(store.get("b").unwrap(), Some(record("second")));
    }

    #[test]
    fn an_operation_on_a_directory_store_touches_only_its_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Directory(dir.path().to_path_buf());
        store.put("good", record("good")).unwrap();
        // Another object's file is unreadable: the whole-file store would fail every operation.
        std::fs::write(dir.path().join("broken.json"), "not json").unwrap();

        store.put("new", record("new")).unwrap();
        assert_eq!(store.get("good").unwrap(), Some(record("good")));
        assert!(store.get("broken").is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("broken.json")).unwrap(),
            "not json"
        );
    }

    #[test]
    fn ids_that_are_not_plain_names_never_leave_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("store");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(root.path().join("outside.json"), record("x").to_string()).unwrap();
        let store = Store::Directory(dir);
        assert_eq!(store.get("../outside").unwrap(), None);
        assert!(store.put("../outside", record("y")).is_err());
        store.remove("../outside").unwrap();
        assert!(root.path().join("outside.json").exists());
    }

    #[test]
    fn a_file_store_is_one_json_map_of_id_to_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.json");
        let store = Store::File(path.clone());
        store.put("a", record("first")).unwrap();
        store.put("b", record("second")).unwrap();
        store.remove("b").unwrap();

        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk, json!({ "a": record("first") }));
        assert_eq!(store.get("a").unwrap(), Some(record("first")));
    }
}
