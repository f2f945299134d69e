//! Metric (b): GetProviderSchema latency and size on one channel, and how often Terraform asks
//! for the schema per command.
//!
//! The latency client is Terraform's side of the connection (`vnetpeer::plugin::client::dial`,
//! mutual TLS with a P-521 client certificate, h2). The per-command count comes from Terraform's
//! own trace log: `GRPCProvider.v6: GetProviderSchema` is logged on every call that goes to a
//! provider process, `returning cached schema` when the schema cache answered instead (it can
//! only do that because the provider advertises `GetProviderSchemaOptional`,
//! docs/development/benchmark-method.md, 'Schema caching').

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message as _;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tonic::transport::{Channel, Endpoint, Uri};
use vnetpeer::plugin::client::dial;
use vnetpeer::plugin::handshake::{HandshakeLine, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use vnetpeer::plugin::proto::go_plugin::Empty;
use vnetpeer::plugin::proto::go_plugin::grpc_controller_client::GrpcControllerClient;
use vnetpeer::plugin::proto::tfplugin6;
use vnetpeer::plugin::proto::tfplugin6::provider_client::ProviderClient;
use vnetpeer::plugin::tls::{KeyAlgorithm, TlsIdentity};

use super::stats::percentile;
use super::terraform::{PROVIDER_HEADER, Workspace};
use super::{Row, ms, progress};

/// Measures `calls` GetProviderSchema calls on one channel; also returns the resource types the
/// provider serves.
pub async fn latency(provider: &Path, calls: usize) -> Result<(Vec<Row>, Vec<String>), String> {
    progress(format!("(b) GetProviderSchema × {calls} on one channel"));
    let client = Arc::new(
        TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).map_err(|error| error.to_string())?,
    );
    let socket_dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let mut child = tokio::process::Command::new(provider)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", client.certificate_pem())
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir.path())
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot start the provider: {error}"))?;
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .map_err(|_| "no handshake line within 30 s".to_owned())?
    .map_err(|error| error.to_string())?;
    let handshake = HandshakeLine::parse(&line)
        .map_err(|error| format!("bad handshake line {line:?}: {error}"))?;
    let channel = connect(&handshake, client).await?;
    let mut provider_client = ProviderClient::new(channel.clone());

    let mut size = 0;
    let mut resource_types = Vec::new();
    for _ in 0..20 {
        let response = get_schema(&mut provider_client).await?;
        size = response.encoded_len();
        resource_types = response.resource_schemas.keys().cloned().collect();
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        get_schema(&mut provider_client).await?;
        samples.push(started.elapsed());
    }
    let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;

    let p50 = percentile(&samples, 50.0);
    let p99 = percentile(&samples, 99.0);
    let rows = vec![
        Row::target(
            "b1",
            format!("GetProviderSchema p50 over {calls} calls on one mTLS channel"),
            ms(p50),
            "≤ 1 ms",
            p50 <= Duration::from_millis(1),
        ),
        Row::target(
            "b2",
            "GetProviderSchema p99",
            ms(p99),
            "≤ 5 ms",
            p99 <= Duration::from_millis(5),
        ),
        Row::target(
            "b3",
            "GetProviderSchema response size (protobuf)",
            format!("{:.1} KB ({size} bytes)", size as f64 / 1024.0),
            "≤ 64 KB",
            size <= 64 * 1024,
        ),
    ];
    Ok((rows, resource_types))
}

async fn get_schema(
    client: &mut ProviderClient<Channel>,
) -> Result<tfplugin6::get_provider_schema::Response, String> {
    client
        .get_provider_schema(tfplugin6::get_provider_schema::Request {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| format!("GetProviderSchema failed: {status}"))
}

/// A channel dialled as Terraform dials the provider.
async fn connect(handshake: &HandshakeLine, client: Arc<TlsIdentity>) -> Result<Channel, String> {
    let handshake = handshake.clone();
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(10))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let handshake = handshake.clone();
            let client = client.clone();
            async move {
                let connection = dial(&handshake, Some(&client)).await?;
                Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(connection.stream))
            }
        }))
        .await
        .map_err(|error| format!("cannot connect to the provider: {error}"))
}

/// Counts GetProviderSchema calls and provider launches per Terraform command, for a config of
/// one fixture resource, from Terraform's trace log.
pub fn calls_per_command(scratch: &Path, provider_dir: &Path) -> Result<Vec<Row>, String> {
    progress("(b) GetProviderSchema calls per terraform command (TF_LOG=trace)");
    let mut workspace = Workspace::new(scratch, "schema-per-command", Some(provider_dir))?;
    let store = workspace.path().join("fixture-store.json");
    workspace.set_env("VNETPEER_FIXTURE_STORE", store.display().to_string());
    workspace.write(
        "main.tf",
        &format!(
            "{PROVIDER_HEADER}\nresource \"vnetpeer_test_fixture\" \"one\" {{\n  name = \"one\"\n}}\n"
        ),
    )?;
    let commands: [(&str, &[&str]); 5] = [
        ("validate", &["validate", "-no-color"]),
        (
            "plan -out",
            &["plan", "-out=tfplan", "-input=false", "-no-color"],
        ),
        (
            "apply tfplan",
            &["apply", "-input=false", "-no-color", "tfplan"],
        ),
        ("plan (refresh)", &["plan", "-input=false", "-no-color"]),
        (
            "destroy",
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
        ),
    ];
    let mut counts = Vec::new();
    for (name, args) in commands {
        let log = workspace
            .path()
            .join(format!("trace-{}.log", name.replace(' ', "_")));
        workspace.set_env("TF_LOG", "trace");
        workspace.set_env("TF_LOG_PATH", log.display().to_string());
        workspace.run_ok(args)?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let schema_calls = text.matches("GRPCProvider.v6: GetProviderSchema").count();
        let cached = text
            .matches("GRPCProvider.v6: returning cached schema")
            .count();
        let launches = text
            .lines()
            .filter(|line| {
                line.contains("starting plugin:") && line.contains("terraform-provider-vnetpeer")
            })
            .count();
        counts.push((name, schema_calls, cached, launches));
    }
    let all_one = counts.iter().all(|(_, calls, _, _)| *calls == 1);
    let detail = counts
        .iter()
        .map(|(name, calls, cached, launches)| {
            format!("{name}: {calls} ({cached} cached, {launches} launches)")
        })
        .collect::<Vec<_>>()
        .join("; ");
    Ok(vec![Row::target(
        "b4",
        "GetProviderSchema RPCs per terraform command",
        detail,
        "exactly 1 per command",
        all_one,
    )])
}
