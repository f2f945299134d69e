//! The provider binary as Terraform runs it: started with the magic cookie and a client
//! certificate, it prints one handshake line, accepts a P-521 client like Terraform's, survives
//! Ctrl-C, and exits promptly on GRPCController.Shutdown. Also: what a person running it by hand
//! sees, and `--debug`.
//!
//! Needs the built binary (`cargo xtask test` builds it; locally run
//! `cargo build -p terraform-provider-vnetpeer` first).

use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tonic::transport::{Channel, Endpoint, Uri};
use vnetpeer::plugin::client::dial;
use vnetpeer::plugin::handshake::{HandshakeLine, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, Network};
use vnetpeer::plugin::proto::go_plugin::Empty;
use vnetpeer::plugin::proto::go_plugin::grpc_controller_client::GrpcControllerClient;
use vnetpeer::plugin::proto::tfplugin6;
use vnetpeer::plugin::proto::tfplugin6::provider_client::ProviderClient;
use vnetpeer::plugin::tls::{KeyAlgorithm, TlsIdentity};
use vnetpeer_harness::binaries::provider_binary;

/// Terraform's deadline between Shutdown and SIGKILL (docs/development/plugin-obligations.md, D2).
const TERRAFORM_KILL_DEADLINE: Duration = Duration::from_secs(2);

/// Generous bound for start-up on a loaded 2-core machine (Terraform itself waits 1 minute).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables that would change the provider's behaviour if inherited from the test's environment.
const INHERITED_VARIABLES_TO_CLEAR: [&str; 12] = [
    MAGIC_COOKIE_KEY,
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_UNIX_SOCKET_DIR",
    "PLUGIN_UNIX_SOCKET_GROUP",
    "PLUGIN_MULTIPLEX_GRPC",
    "TF_LOG",
    "TF_LOG_PROVIDER",
    "TF_LOG_PROVIDER_VNETPEER",
    "TF_REATTACH_PROVIDERS",
];

/// The provider command with a clean plugin environment and its socket under `socket_dir`.
fn provider_command(socket_dir: &Path) -> Command {
    let mut command = Command::new(provider_binary());
    for variable in INHERITED_VARIABLES_TO_CLEAR {
        command.env_remove(variable);
    }
    command
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The command as Terraform 1.11 runs it (B1), trusting `client`.
pub fn terraform_like_command(socket_dir: &Path, client: &TlsIdentity) -> Command {
    let mut command = provider_command(socket_dir);
    command
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", client.certificate_pem());
    command
}

/// A running provider process.
struct RunningProvider {
    child: Child,
    stdout: BufReader<ChildStdout>,
    first_line: String,
}

impl RunningProvider {
    async fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("start the provider binary");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first_line = String::new();
        tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut first_line))
            .await
            .expect("the provider prints its first line")
            .expect("read stdout");
        RunningProvider {
            child,
            stdout,
            first_line,
        }
    }

    fn handshake(&self) -> HandshakeLine {
        HandshakeLine::parse(&self.first_line)
            .unwrap_or_else(|error| panic!("bad handshake line {:?}: {error}", self.first_line))
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    async fn wait_with_deadline(&mut self, deadline: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(deadline, self.child.wait())
            .await
            .ok()
            .map(|status| status.expect("wait"))
    }

    /// Everything the process wrote to stdout after the first line (read after it exited).
    async fn rest_of_stdout(&mut self) -> String {
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .await
            .expect("read stdout");
        rest
    }
}

/// A gRPC channel dialled the way Terraform dials (fresh connection on every connect).
async fn connect(handshake: &HandshakeLine, client: Option<Arc<TlsIdentity>>) -> Channel {
    let handshake = handshake.clone();
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(10))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let handshake = handshake.clone();
            let client = client.clone();
            async move {
                let connection = dial(&handshake, client.as_deref()).await?;
                Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(connection.stream))
            }
        }))
        .await
        .expect("connect to the provider")
}

/// A gRPC channel over an already established byte stream (used for the one connection).
pub async fn channel_over<S>(stream: S) -> Result<Channel, tonic::transport::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let slot = Arc::new(std::sync::Mutex::new(Some(stream)));
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(10))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let stream = slot.lock().ok().and_then(|mut slot| slot.take());
            async move {
                stream
                    .map(hyper_util::rt::TokioIo::new)
                    .ok_or_else(|| io::Error::other("connection already used"))
            }
        }))
        .await
}

/// Asks for the provider schema: the one call every Terraform command makes.
async fn get_provider_schema(channel: Channel) -> tfplugin6::get_provider_schema::Response {
    ProviderClient::new(channel)
        .get_provider_schema(tfplugin6::get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema")
        .into_inner()
}

async fn read_all(stderr: Option<ChildStderr>) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = stderr {
        stderr.read_to_string(&mut text).await.expect("read stderr");
    }
    text
}

#[tokio::test]
async fn run_by_hand_it_explains_itself_on_stderr_and_exits_1() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let output = provider_command(socket_dir.path())
        .output()
        .await
        .expect("run the provider binary");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "stdout: {:?}", output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Terraform"), "{stderr}");
    assert!(stderr.contains("not meant to be run directly"), "{stderr}");
    assert_eq!(std::fs::read_dir(socket_dir.path()).expect("ls").count(), 0);
}

#[tokio::test]
async fn a_wrong_cookie_is_treated_like_no_cookie() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let output = provider_command(socket_dir.path())
        .env(MAGIC_COOKIE_KEY, "not-the-cookie")
        .output()
        .await
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn an_unusable_client_certificate_is_reported_without_a_handshake() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let output = provider_command(socket_dir.path())
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env(
            "PLUGIN_CLIENT_CERT",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .output()
        .await
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
}

#[tokio::test]
async fn started_like_terraform_it_prints_a_handshake_and_serves_a_p521_client() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let mut provider =
        RunningProvider::start(terraform_like_command(socket_dir.path(), &client)).await;

    assert!(provider.first_line.ends_with('\n'));
    let handshake = provider.handshake();
    assert_eq!(handshake.core_version, 1);
    assert_eq!(handshake.app_version, 6);
    assert_eq!(handshake.network, Network::Unix);
    assert_eq!(handshake.protocol, "grpc");
    assert!(Path::new(&handshake.address).starts_with(socket_dir.path()));
    assert!(handshake.server_certificate_der.is_some());

    let connection = dial(&handshake, Some(&client)).await.expect("mutual TLS");
    assert_eq!(connection.alpn_protocol.as_deref(), Some(&b"h2"[..]));
    drop(connection);
    let schema = get_provider_schema(connect(&handshake, Some(client.clone())).await).await;
    assert!(
        schema
            .provider
            .and_then(|provider| provider.block)
            .is_some()
    );

    // A client with another certificate is refused, and the server carries on.
    let impostor = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("impostor");
    let refused = async {
        let connection = dial(&handshake, Some(&impostor)).await?;
        let channel = channel_over(connection.stream)
            .await
            .map_err(io::Error::other)?;
        ProviderClient::new(channel)
            .get_provider_schema(tfplugin6::get_provider_schema::Request {})
            .await
            .map_err(io::Error::other)
    }
    .await;
    assert!(refused.is_err(), "impostor was served");
    get_provider_schema(connect(&handshake, Some(client)).await).await;

    provider.signal("-TERM");
    let status = provider
        .wait_with_deadline(TERRAFORM_KILL_DEADLINE)
        .await
        .expect("SIGTERM ends the process");
    assert!(status.success());
}

#[tokio::test]
async fn shutdown_ends_the_process_before_terraform_would_kill_it() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let mut provider =
        RunningProvider::start(terraform_like_command(socket_dir.path(), &client)).await;
    let handshake = provider.handshake();
    let channel = connect(&handshake, Some(client)).await;
    get_provider_schema(channel.clone()).await;

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown is answered");
    let status = provider
        .wait_with_deadline(TERRAFORM_KILL_DEADLINE)
        .await
        .expect("the process exits within Terraform's 2 s");
    assert!(status.success(), "{status:?}");
    assert!(!Path::new(&handshake.address).exists(), "socket removed");
    assert_eq!(std::fs::read_dir(socket_dir.path()).expect("ls").count(), 0);
    assert_eq!(
        provider.rest_of_stdout().await,
        "",
        "nothing after the handshake"
    );
}

#[tokio::test]
async fn ctrl_c_is_ignored_while_terraform_runs_the_provider() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let mut provider =
        RunningProvider::start(terraform_like_command(socket_dir.path(), &client)).await;
    let handshake = provider.handshake();

    provider.signal("-INT");
    provider.signal("-INT");
    let channel = connect(&handshake, Some(client)).await;
    get_provider_schema(channel.clone()).await;
    assert!(
        provider.child.try_wait().expect("try_wait").is_none(),
        "still running after SIGINT"
    );

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown");
    assert!(
        provider
            .wait_with_deadline(TERRAFORM_KILL_DEADLINE)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn debug_mode_prints_a_reattach_line_and_serves_plaintext_until_ctrl_c() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let mut command = provider_command(socket_dir.path());
    command.arg("--debug");
    let mut provider = RunningProvider::start(command).await;

    let line = provider.first_line.trim_end();
    let json = line
        .strip_prefix("TF_REATTACH_PROVIDERS='")
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not a reattach line: {line}"));
    let reattach: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let entry = &reattach["registry.terraform.io/vnetpeer/vnetpeer"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    assert_eq!(
        entry["Pid"].as_u64(),
        provider.child.id().map(u64::from),
        "Pid is the provider's"
    );
    assert_eq!(entry["Addr"]["Network"], "unix");
    let address = entry["Addr"]["String"].as_str().expect("address");

    let handshake = HandshakeLine::parse(&format!("1|6|unix|{address}|grpc|")).expect("line");
    get_provider_schema(connect(&handshake, None).await).await;

    provider.signal("-INT");
    let status = provider
        .wait_with_deadline(TERRAFORM_KILL_DEADLINE)
        .await
        .expect("Ctrl-C stops a debug-mode provider");
    assert!(status.success());
    assert!(!Path::new(address).exists(), "socket removed");
    let stderr = read_all(provider.child.stderr.take()).await;
    assert!(stderr.contains("debug mode"), "{stderr}");
}

#[tokio::test]
async fn logs_are_hclog_json_lines_on_stderr_when_tf_log_is_set() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let mut command = terraform_like_command(socket_dir.path(), &client);
    command.env("TF_LOG_PROVIDER", "INFO");
    let mut provider = RunningProvider::start(command).await;
    let channel = connect(&provider.handshake(), Some(client)).await;
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown");
    provider
        .wait_with_deadline(TERRAFORM_KILL_DEADLINE)
        .await
        .expect("exit");
    let stderr = read_all(provider.child.stderr.take()).await;
    let started = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["@message"] == "terraform-provider-vnetpeer started")
        .unwrap_or_else(|| panic!("no start-up line in {stderr}"));
    assert_eq!(started["@level"], "info");
    assert!(
        started["version"]
            .as_str()
            .is_some_and(|version| !version.is_empty())
    );
    assert!(
        started["@module"]
            .as_str()
            .is_some_and(|module| module.starts_with("provider.terraform-provider-vnetpeer"))
    );
    // Debug lines are filtered out at INFO.
    assert!(!stderr.contains("\"@level\":\"debug\""), "{stderr}");
}

/// Exec → handshake line, with AutoMTLS (key generation included), median of 50 runs, next to
/// a bare exec of `true` on the same machine (docs/development/benchmark-method.md, 'Benchmark
/// suite' metric (a)). Point `VNETPEER_PROVIDER_BIN` at a release build for meaningful figures.
#[test]
#[ignore = "benchmark, not a check: run with --ignored; the recorded figure comes from vnetpeer-bench"]
fn exec_to_handshake_median() {
    const RUNS: usize = 50;
    let client = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client");
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let binary = provider_binary();
    let mut handshake_times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        handshake_times.push(time_to_first_line(&binary, socket_dir.path(), &client));
    }
    let mut bare_exec_times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            std::process::Command::new("true").status().expect("true");
            started.elapsed()
        })
        .collect();
    let handshake_median = median(&mut handshake_times);
    let bare_median = median(&mut bare_exec_times);
    println!(
        "exec -> handshake (AutoMTLS), median of {RUNS}: {:.2} ms; bare exec of `true`: {:.2} ms; ratio {:.1}; binary {}",
        handshake_median.as_secs_f64() * 1e3,
        bare_median.as_secs_f64() * 1e3,
        handshake_median.as_secs_f64() / bare_median.as_secs_f64(),
        binary.display()
    );
}

fn time_to_first_line(binary: &Path, socket_dir: &Path, client: &TlsIdentity) -> Duration {
    use std::io::BufRead as _;
    let mut command = std::process::Command::new(binary);
    for variable in INHERITED_VARIABLES_TO_CLEAR {
        command.env_remove(variable);
    }
    let started = Instant::now();
    let mut child = command
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", client.certificate_pem())
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read handshake");
    let elapsed = started.elapsed();
    assert!(line.starts_with("1|6|unix|"), "{line}");
    // SIGTERM lets the provider remove its socket; this is outside the measured time.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    elapsed
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
