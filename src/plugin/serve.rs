//! The provider process from start to exit: the checks and key generation before the handshake,
//! the handshake itself, serving gRPC (over TLS when Terraform asked for it), signals, and the
//! ways the process ends.
//!
//! Start-up does nothing before the handshake but read the environment, generate the TLS key
//! and bind the socket (docs/development/plugin-obligations.md, E1: Terraform starts several
//! provider processes per command). The provider service is built after the handshake.
//!
//! The process ends on GRPCController.Shutdown, SIGTERM, Ctrl-C in debug mode, a failed listener,
//! or when Terraform itself goes away (our parent process changes). It deliberately does *not*
//! end when Terraform's connection closes: grpc-go (1.59+, Terraform 1.11) drops idle connections
//! after 30 minutes and reconnects on the next call, so a closed connection is not a goodbye.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;
use tonic::transport::server::Connected;

use super::coalesced_writes::CoalescedWrites;
use super::controller::Controller;
use super::handshake::{self, HandshakeLine, NegotiatedVersion};
use super::listener::{IoStream, ListenerSettings, PluginListener};
use super::proto::go_plugin::grpc_broker_server::GrpcBrokerServer;
use super::proto::go_plugin::grpc_controller_server::GrpcControllerServer;
use super::proto::go_plugin::grpc_stdio_server::GrpcStdioServer;
use super::proto::tfplugin6::provider_server::{Provider, ProviderServer};
use super::shutdown::Shutdown;
use super::stdio::Stdio;
use super::tls::{self, KeyAlgorithm, TlsIdentity};
use super::{broker::Broker, logging};

/// gRPC message size limit in both directions (B8); tonic's default of 4 MiB is too small for
/// large states.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// Provider source address used in the reattach line of debug mode.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/vnetpeer/vnetpeer";

/// How long a connection may take to complete its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read from the socket at once under TLS.
const TLS_READ_BUFFER_BYTES: usize = 64 * 1024;

/// How often we check whether Terraform (our parent) is still there.
const PARENT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long tasks still running after the server stopped may take before the runtime drops them.
const RUNTIME_SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

/// Consecutive accept failures after which the listener is considered gone.
const MAX_CONSECUTIVE_ACCEPT_ERRORS: u32 = 100;

/// How the binary was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Started by Terraform: magic cookie, AutoMTLS, handshake line.
    Managed,
    /// `--debug`: plaintext, no cookie, a `TF_REATTACH_PROVIDERS` line, runs until Ctrl-C (F1–F3).
    Debug,
}

impl Mode {
    /// Parses the command line (without the program name). Go's flag syntax allows one or two
    /// dashes, so both are accepted.
    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Result<Self, OsString> {
        let mut mode = Mode::Managed;
        for argument in args {
            if argument == "--debug" || argument == "-debug" {
                mode = Mode::Debug;
            } else {
                return Err(argument);
            }
        }
        Ok(mode)
    }
}

/// Runs the provider process; see [`crate::plugin::run`].
pub fn run<S, F>(make_provider: F) -> ExitCode
where
    F: FnOnce() -> S,
    S: Provider,
{
    let mode = match Mode::from_args(std::env::args_os().skip(1)) {
        Ok(mode) => mode,
        Err(argument) => {
            write_stderr(&format!(
                "terraform-provider-vnetpeer: unexpected argument {argument:?} (the only option is --debug)\n"
            ));
            return ExitCode::from(2);
        }
    };
    logging::init(logging::level_from_env());
    let prepared = match mode {
        Mode::Managed => match prepare_managed() {
            Ok(prepared) => prepared,
            Err(code) => return code,
        },
        Mode::Debug => PreparedServer {
            version: handshake::APP_PROTOCOL_VERSION,
            tls: None,
        },
    };
    // One worker thread: Terraform's concurrent calls (ten at a time by default) interleave on
    // it at every network wait, and the CPU between waits is small (well under 1 ms per call);
    // a worker per core spent more CPU handing wake-ups between threads than the calls gained.
    // Not `new_current_thread`: there the pacing of ARM writes overshot its schedule (benchmark
    // f1: 1.11–1.12 of the optimal span instead of 1.03) (docs/development/benchmark-method.md,
    // 'Provider CPU of a refresh').
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            write_stderr(&format!(
                "terraform-provider-vnetpeer: cannot start the async runtime: {error}\n"
            ));
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(serve(mode, prepared, make_provider));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_GRACE);
    code
}

/// What the managed-mode checks produced.
struct PreparedServer {
    version: u32,
    tls: Option<PreparedTls>,
}

struct PreparedTls {
    server_certificate_der: Vec<u8>,
    config: Arc<rustls::ServerConfig>,
}

/// Cookie check (B2), version negotiation (B3) and TLS set-up (C1–C5). On failure, the message
/// is already on stderr.
fn prepare_managed() -> Result<PreparedServer, ExitCode> {
    if !handshake::cookie_is_valid(std::env::var_os(handshake::MAGIC_COOKIE_KEY).as_deref()) {
        write_stderr(handshake::NOT_A_COMMAND_MESSAGE);
        return Err(ExitCode::FAILURE);
    }
    let offered = std::env::var(handshake::PROTOCOL_VERSIONS_KEY).ok();
    let NegotiatedVersion {
        version,
        offered_by_client,
    } = handshake::negotiate_version(offered.as_deref());
    if !offered_by_client {
        tracing::warn!(
            offered = offered.as_deref().unwrap_or(""),
            "Terraform did not offer plugin protocol 6; this provider needs Terraform 1.0 or later"
        );
    }
    let tls = match std::env::var(tls::CLIENT_CERT_KEY) {
        Ok(pem) if !pem.trim().is_empty() => match prepare_tls(&pem) {
            Ok(tls) => Some(tls),
            Err(error) => {
                tracing::error!(%error, "cannot set up TLS");
                write_stderr(&format!("terraform-provider-vnetpeer: {error}\n"));
                return Err(ExitCode::FAILURE);
            }
        },
        _ => None,
    };
    Ok(PreparedServer { version, tls })
}

fn prepare_tls(client_certificate_pem: &str) -> Result<PreparedTls, tls::TlsError> {
    let client_certificate = tls::parse_client_certificate_pem(client_certificate_pem)?;
    let identity = TlsIdentity::generate(KeyAlgorithm::EcdsaP256Sha256)?;
    let config = tls::server_config(&identity, client_certificate)?;
    Ok(PreparedTls {
        server_certificate_der: identity.certificate_der().to_vec(),
        config,
    })
}

async fn serve<S, F>(mode: Mode, prepared: PreparedServer, make_provider: F) -> ExitCode
where
    F: FnOnce() -> S,
    S: Provider,
{
    // Before the handshake, so that a Ctrl-C during start-up cannot kill the provider (E3).
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => return fail(&format!("cannot install signal handlers: {error}")),
    };
    let listener =
        match ListenerSettings::from_env().and_then(|settings| PluginListener::bind(&settings)) {
            Ok(listener) => listener,
            Err(error) => return fail(&error.to_string()),
        };
    let (tls_config, certificate) = match prepared.tls {
        Some(tls) => (Some(tls.config), Some(tls.server_certificate_der)),
        None => (None, None),
    };
    let announced = match mode {
        Mode::Managed => write_stdout_line(
            &HandshakeLine::new(
                prepared.version,
                listener.network(),
                listener.address().to_owned(),
                certificate,
            )
            .to_string(),
        ),
        Mode::Debug => announce_debug(&listener),
    };
    if let Err(error) = announced {
        return fail(&format!("cannot write the handshake to stdout: {error}"));
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        network = listener.network().as_str(),
        address = listener.address(),
        tls = tls_config.is_some(),
        debug_mode = mode == Mode::Debug,
        "terraform-provider-vnetpeer started"
    );
    let shutdown = Shutdown::new(listener.cleanup_handle());
    tokio::spawn(handle_signals(signals, mode, shutdown.clone()));
    if mode == Mode::Managed {
        tokio::spawn(exit_when_parent_exits(shutdown.clone()));
    }
    let provider = make_provider();
    let cleanup = listener.cleanup_handle();
    let served = serve_connections(listener, tls_config, provider, shutdown).await;
    cleanup.run();
    match served {
        Ok(()) => {
            tracing::debug!("plugin server stopped");
            ExitCode::SUCCESS
        }
        Err(error) => fail(&format!("the gRPC server failed: {error}")),
    }
}

/// Serves every plugin service on `listener` (over TLS when `tls_config` is set) until
/// `shutdown` is requested, then drains. Used by the binary and by in-process tests.
pub async fn serve_connections<S: Provider>(
    listener: PluginListener,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    provider: S,
    shutdown: Shutdown,
) -> Result<(), tonic::transport::Error> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let (connection_sender, connection_receiver) = mpsc::channel(16);
    tokio::spawn(accept_connections(
        listener,
        tls_config.map(TlsAcceptor::from),
        connection_sender,
        shutdown.clone(),
    ));
    let incoming = ReceiverStream::new(connection_receiver).map(Ok::<_, io::Error>);
    let token = shutdown.token().clone();
    Server::builder()
        .add_service(
            ProviderServer::new(provider)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(GrpcControllerServer::new(Controller::new(shutdown.clone())))
        .add_service(GrpcStdioServer::new(Stdio::new(token.clone())))
        .add_service(GrpcBrokerServer::new(Broker::new(token.clone())))
        .add_service(health_service)
        .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
        .await
}

/// Accepts connections and completes their TLS handshakes (each in its own task, so a slow or
/// hostile client cannot block the next one) until shutdown. Dropping the listener at the end
/// removes the socket.
async fn accept_connections(
    listener: PluginListener,
    tls: Option<TlsAcceptor>,
    connections: mpsc::Sender<PluginConnection>,
    shutdown: Shutdown,
) {
    let mut consecutive_errors = 0;
    loop {
        let accepted = tokio::select! {
            () = shutdown.token().cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(stream) => {
                consecutive_errors = 0;
                let connections = connections.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    if let Some(connection) = secure(stream, tls).await {
                        // Fails only when the server is already shutting down.
                        let _ = connections.send(connection).await;
                    }
                });
            }
            Err(error) => {
                consecutive_errors += 1;
                tracing::warn!(%error, "cannot accept a connection");
                if consecutive_errors >= MAX_CONSECUTIVE_ACCEPT_ERRORS {
                    shutdown.request("the listener keeps failing");
                    break;
                }
                // Typically out of file descriptors: give in-flight work a moment to free some.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Completes the TLS handshake; a refused client is logged and dropped.
async fn secure(stream: Box<dyn IoStream>, tls: Option<TlsAcceptor>) -> Option<PluginConnection> {
    let Some(acceptor) = tls else {
        return Some(CoalescedWrites::new(stream));
    };
    // rustls reads 4 KiB at a time; a larger buffer below it takes a burst of Terraform's
    // requests (often several records) in one read.
    let stream = BufReader::with_capacity(TLS_READ_BUFFER_BYTES, stream);
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls_stream)) => Some(CoalescedWrites::new(Box::new(tls_stream))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "TLS handshake failed; connection refused");
            None
        }
        Err(_) => {
            tracing::warn!("TLS handshake timed out; connection dropped");
            None
        }
    }
}

/// A served connection (plain or TLS), its writes coalesced.
type PluginConnection = CoalescedWrites<Box<dyn IoStream>>;

/// What tonic's server asks of a connection beyond reading and writing.
impl Connected for PluginConnection {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

/// The signals we react to.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> io::Result<Self> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }
}

/// SIGINT: ignored when Terraform runs us, because a Ctrl-C in the terminal reaches the provider
/// too, and Terraform handles it by calling StopProvider and closing us itself (E3); in debug
/// mode it stops the server. SIGTERM stops the server in both modes.
async fn handle_signals(mut signals: Signals, mode: Mode, shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = shutdown.token().cancelled() => return,
            received = signals.interrupt.recv() => {
                if received.is_none() {
                    return;
                }
                match mode {
                    Mode::Debug => shutdown.request("SIGINT in debug mode"),
                    Mode::Managed => tracing::debug!(
                        "SIGINT ignored: Terraform cancels work with StopProvider and closes the provider itself"
                    ),
                }
            }
            received = signals.terminate.recv() => {
                if received.is_none() {
                    return;
                }
                shutdown.request("SIGTERM");
            }
        }
    }
}

/// Stops the server when Terraform is gone (we get re-parented), for instance after it crashed
/// or was killed without calling Shutdown.
async fn exit_when_parent_exits(shutdown: Shutdown) {
    let parent = std::os::unix::process::parent_id();
    let mut interval = tokio::time::interval(PARENT_CHECK_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.token().cancelled() => return,
            _ = interval.tick() => {
                if std::os::unix::process::parent_id() != parent {
                    shutdown.request("Terraform (the parent process) exited");
                    return;
                }
            }
        }
    }
}

/// Debug mode (F1–F3): tells the developer how to attach Terraform. The variable's line goes to
/// stdout so that it can be captured; the explanation goes to stderr.
fn announce_debug(listener: &PluginListener) -> io::Result<()> {
    let reattach = serde_json::json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": handshake::APP_PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": {
                "Network": listener.network().as_str(),
                "String": listener.address(),
            },
        }
    });
    write_stderr(
        "terraform-provider-vnetpeer is running in debug mode. Export the following line in the \
         shell where you run terraform; stop the provider with Ctrl-C.\n",
    );
    write_stdout_line(&format!("TF_REATTACH_PROVIDERS='{reattach}'"))
}

/// Writes one line to stdout and flushes it (the handshake channel: B4, B6).
fn write_stdout_line(line: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(format!("{line}\n").as_bytes())?;
    stdout.flush()
}

/// Writes to stderr, ignoring failures (there is nowhere else to report them).
fn write_stderr(message: &str) {
    let _ = io::stderr().lock().write_all(message.as_bytes());
}

/// Reports a fatal start-up or serving error on stderr (as a log line and as plain text, since
/// logging may be off) and returns the failure exit code.
fn fail(message: &str) -> ExitCode {
    tracing::error!(error = message, "terraform-provider-vnetpeer cannot run");
    write_stderr(&format!("terraform-provider-vnetpeer: {message}\n"));
    ExitCode::FAILURE
}
