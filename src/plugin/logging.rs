//! Logs as Terraform wants them (docs/development/plugin-obligations.md, E5): every `tracing` event
//! becomes one hclog JSON object on one line of **stderr** (stdout belongs to the handshake), with
//! `@level`, `@message`, `@module`, `@timestamp` and the event's and its spans' fields as further
//! keys. Terraform reads these lines and re-logs them under its own `TF_LOG_PROVIDER` filter; we
//! read the same variables to avoid formatting what it would drop anyway.
//!
//! Secrets must never be logged; callers wrap them in redacting types. As a second line of
//! defence, fields whose names say they hold a secret (`*secret*`, `*password*`,
//! `*authorization*`, `*token`) are written as `"[redacted]"`.

use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// hclog module name for this provider: `provider.<executable name>`.
pub const MODULE: &str = "provider.terraform-provider-vnetpeer";

/// Crate names whose events are ours (library and binary).
const OWN_TARGETS: [&str; 2] = ["vnetpeer", "terraform_provider_vnetpeer"];

/// Environment variables that set the level, most specific first.
pub const LEVEL_VARIABLES: [&str; 3] = ["TF_LOG_PROVIDER_VNETPEER", "TF_LOG_PROVIDER", "TF_LOG"];

/// Value written instead of a field that looks like a secret.
const REDACTED: &str = "[redacted]";

/// The level chosen by the environment, or `None` for off (the default).
pub fn level_from_env() -> Option<Level> {
    let values = LEVEL_VARIABLES.map(|key| std::env::var(key).ok());
    level_from_values(&values.each_ref().map(Option::as_deref))
}

/// The first non-empty value wins: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` (any case), `JSON`
/// (trace, as in Terraform) or `OFF`. Like Terraform, an unrecognised value means trace.
pub fn level_from_values(values: &[Option<&str>]) -> Option<Level> {
    let value = values
        .iter()
        .flatten()
        .map(|value| value.trim())
        .find(|value| !value.is_empty())?;
    match value.to_ascii_uppercase().as_str() {
        "OFF" => None,
        "ERROR" => Some(Level::ERROR),
        "WARN" => Some(Level::WARN),
        "INFO" => Some(Level::INFO),
        "DEBUG" => Some(Level::DEBUG),
        _ => Some(Level::TRACE),
    }
}

/// Installs the stderr logger at `level` (nothing at all when `None`, so disabled logging costs
/// nothing). Events from other crates (h2, hyper, tonic…) are capped at WARN: their debug output
/// is per frame and of no use to a Terraform user.
pub fn init(level: Option<Level>) {
    let Some(level) = level else {
        return;
    };
    let subscriber = tracing_subscriber::registry()
        .with(HclogLayer::stderr().with_filter(own_targets_filter(level)));
    // Fails only if a subscriber is already installed (e.g. by a test); keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// `level` for our crates, at most WARN for the others.
pub fn own_targets_filter(level: Level) -> Targets {
    let own = LevelFilter::from_level(level);
    let others = own.min(LevelFilter::WARN);
    OWN_TARGETS
        .iter()
        .fold(Targets::new().with_default(others), |targets, target| {
            targets.with_target(*target, own)
        })
}

/// Where finished lines go (each call gets one whole line, newline included).
pub type LineSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// A `tracing_subscriber` layer that writes hclog JSON lines.
#[derive(Clone)]
pub struct HclogLayer {
    sink: LineSink,
}

impl fmt::Debug for HclogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HclogLayer").finish_non_exhaustive()
    }
}

impl HclogLayer {
    /// Writes to the process's stderr, one `write_all` per line so lines never interleave.
    pub fn stderr() -> Self {
        HclogLayer::with_sink(Arc::new(|line: &[u8]| {
            // A closed stderr (Terraform gone) must not crash the provider.
            let _ = std::io::stderr().lock().write_all(line);
        }))
    }

    /// Writes to `sink`, e.g. a buffer in tests.
    pub fn with_sink(sink: LineSink) -> Self {
        HclogLayer { sink }
    }
}

/// Fields recorded on a span, kept in its extensions.
#[derive(Default)]
struct SpanFields(Map<String, Value>);

impl<S> Layer<S> for HclogLayer
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = SpanFields::default();
        attrs.record(&mut JsonVisitor(&mut fields.0));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let mut object = Map::new();
        object.insert("@level".to_owned(), level_name(metadata.level()).into());
        object.insert("@message".to_owned(), Value::String(String::new()));
        object.insert("@module".to_owned(), module_name(metadata.target()).into());
        object.insert("@timestamp".to_owned(), hclog_timestamp_now().into());
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (key, value) in &fields.0 {
                        object.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        for (key, value) in fields {
            let key = if key == "message" {
                "@message".to_owned()
            } else {
                key
            };
            object.insert(key, value);
        }
        let Ok(mut line) = serde_json::to_vec(&Value::Object(object)) else {
            return;
        };
        line.push(b'\n');
        (self.sink)(&line);
    }
}

/// hclog's level names (lower case; `warn`, never `warning`).
pub fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `provider.terraform-provider-vnetpeer`, plus the last module of our own targets
/// (`vnetpeer::cloud::http` → `….http`) or the crate name of others (`h2::codec` → `….h2`).
fn module_name(target: &str) -> String {
    let mut segments = target.split("::");
    let crate_name = segments.next().unwrap_or_default();
    let suffix = if OWN_TARGETS.contains(&crate_name) {
        target
            .rsplit("::")
            .next()
            .filter(|last| *last != crate_name)
    } else {
        Some(crate_name).filter(|name| !name.is_empty())
    };
    match suffix {
        Some(suffix) => format!("{MODULE}.{suffix}"),
        None => MODULE.to_owned(),
    }
}

/// Now, in Go's `2006-01-02T15:04:05.000000Z07:00` layout: UTC, exactly six fractional digits,
/// `Z`. Terraform treats a line with any other timestamp format as unparsed text.
pub fn hclog_timestamp_now() -> String {
    format_hclog_timestamp(time::OffsetDateTime::now_utc())
}

/// Formats `instant` (converted to UTC) in hclog's layout.
pub fn format_hclog_timestamp(instant: time::OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.microsecond()
    )
}

/// Whether a field name says it holds a secret.
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("secret")
        || name.contains("password")
        || name.contains("authorization")
        || name.ends_with("token")
}

/// Records fields into a JSON object, with native JSON types where possible.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn insert(&mut self, field: &Field, value: Value) {
        let value = if looks_secret(field.name()) {
            Value::String(REDACTED.to_owned())
        } else {
            value
        };
        self.0.insert(field.name().to_owned(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string()));
        self.insert(field, json);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, format!("{value:?}").into());
    }
}
