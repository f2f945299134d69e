//! Who may connect (issue 7): only the Terraform process that started the provider can talk to
//! it. The socket lives in a directory private to the provider's user (mode 0700, one per
//! process, removed on exit), and the server accepts only the client certificate Terraform put
//! in `PLUGIN_CLIENT_CERT` (mutual TLS, AutoMTLS).
//!
//! `plugin_process.rs` and `src/plugin/tests.rs` cover the handshake and an impostor
//! certificate; this file adds the checks against a provider as Terraform itself started it
//! (directory, other local users, plaintext clients, Terraform still served afterwards) and the
//! remaining client kinds against the real binary (no certificate, another key type).
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance reliability_connect:: -- --nocapture
//! ```

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::plugin_process::{channel_over, terraform_like_command};
use crate::reliability_common::{
    REQUIRED_PROVIDERS, provider_operation_started, spawn_terraform, trace_log, trace_log_len,
    traced_fixture_workspace, wait_for_log,
};
use tokio::io::AsyncBufReadExt as _;
use tonic::transport::Channel;
use vnetpeer::plugin::client::dial;
use vnetpeer::plugin::handshake::HandshakeLine;
use vnetpeer::plugin::proto::tfplugin6;
use vnetpeer::plugin::proto::tfplugin6::provider_client::ProviderClient;
use vnetpeer::plugin::tls::{KeyAlgorithm, TlsIdentity};

/// Set in the environment of this test binary when it is re-run as another user to try the
/// socket named by the variable (see [`connect_as_this_process`]).
const OTHER_USER_SOCKET_ENV: &str = "VNETPEER_RELIABILITY_CONNECT_SOCKET";

/// The uid/gid of `nobody` on Linux.
const NOBODY: &str = "65534";

/// The socket path from the provider's start-up log line (`address=...`), for every provider
/// process started after `offset` in the trace log.
fn provider_sockets(log: &str) -> Vec<PathBuf> {
    log.lines()
        .filter(|line| line.contains("terraform-provider-vnetpeer started"))
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|field| field.strip_prefix("address="))
                .map(PathBuf::from)
        })
        .collect()
}

/// Calls GetProviderSchema over an already established byte stream.
async fn call_over<S>(stream: S) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let channel = channel_over(stream)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    get_provider_schema(channel).await
}

async fn get_provider_schema(channel: Channel) -> Result<(), String> {
    tokio::time::timeout(
        Duration::from_secs(30),
        ProviderClient::new(channel)
            .get_provider_schema(tfplugin6::get_provider_schema::Request {}),
    )
    .await
    .map_err(|_| "no answer within 30 s".to_owned())?
    .map(|_| ())
    .map_err(|status| format!("GetProviderSchema: {status}"))
}

/// gRPC without TLS (h2c) straight to the socket, as a local process that found it would try.
async fn plaintext_call(socket: &Path) -> Result<(), String> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    call_over(stream).await
}

/// gRPC over mutual TLS presenting `client` (or no certificate), trusting the server
/// certificate of `handshake`.
async fn tls_call(handshake: &HandshakeLine, client: Option<&TlsIdentity>) -> Result<(), String> {
    let connection = dial(handshake, client)
        .await
        .map_err(|error| format!("TLS: {error}"))?;
    call_over(connection.stream).await
}

/// Re-runs this test binary as `nobody` to connect to `socket`; returns what connect() said
/// (`ok` or the error kind), or `None` when the switch is impossible here (not root, or no
/// `setpriv`).
fn connect_as_nobody(socket: &Path) -> Option<String> {
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0);
    if !is_root {
        return None;
    }
    let test_binary = std::env::current_exe().ok()?;
    let output = std::process::Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
        ])
        .arg(test_binary)
        .args([
            "--exact",
            "reliability_connect::connect_as_this_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OTHER_USER_SOCKET_ENV, socket)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        // The test harness may print the line right after its own "test ... " prefix.
        .find_map(|line| line.split("CONNECT_RESULT=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| {
            panic!(
                "the helper run as nobody printed no result:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    Some(result.to_owned())
}

/// Helper run by [`connect_as_nobody`] under another user: tries to connect to the socket and
/// prints the outcome. Does nothing when run normally.
#[test]
#[ignore = "helper: run by while_terraform_runs_the_provider_only_terraform_can_talk_to_it"]
fn connect_as_this_process() {
    let Some(socket) = std::env::var_os(OTHER_USER_SOCKET_ENV) else {
        return;
    };
    let result = match std::os::unix::net::UnixStream::connect(&socket) {
        Ok(_) => "ok".to_owned(),
        Err(error) => format!("{:?}", error.kind()),
    };
    println!("CONNECT_RESULT={result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_terraform_runs_the_provider_only_terraform_can_talk_to_it() {
    let (workspace, _store, env) = traced_fixture_workspace();
    workspace.write_config(&format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_test_fixture" "x" {{
  name  = "waits"
  sleep = "10m"
}}
"#
    ));

    // Terraform starts the provider and the create waits: the provider is live and serving.
    let offset = trace_log_len(&workspace);
    let terraform = spawn_terraform(
        &workspace,
        &env,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    wait_for_log(&workspace, offset, &provider_operation_started("create"), 1);
    let log = trace_log(&workspace);
    let sockets = provider_sockets(&log);
    let socket = sockets
        .last()
        .cloned()
        .expect("the provider logged its socket");

    // One private directory per provider process.
    let mut directories: Vec<&Path> = sockets.iter().filter_map(|s| s.parent()).collect();
    directories.sort();
    directories.dedup();
    assert_eq!(
        directories.len(),
        sockets.len(),
        "every provider process has its own directory: {sockets:?}"
    );
    let directory = socket.parent().expect("the socket has a directory");
    let metadata = std::fs::metadata(directory).expect("the socket directory exists");
    assert_eq!(
        metadata.permissions().mode() & 0o777,
        0o700,
        "{} is private to its owner",
        directory.display()
    );
    let own_uid = std::fs::metadata(workspace.path())
        .expect("workspace")
        .uid();
    assert_eq!(
        metadata.uid(),
        own_uid,
        "owned by the user running terraform"
    );
    let entries: Vec<String> = std::fs::read_dir(directory)
        .expect("list the directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(entries, ["plugin.sock"], "nothing else in the directory");
    assert!(
        std::fs::metadata(&socket)
            .expect("socket")
            .file_type()
            .is_socket()
    );

    // Another local user cannot even reach the socket.
    match connect_as_nobody(&socket) {
        Some(result) => assert_eq!(result, "PermissionDenied", "connect as nobody"),
        None => println!("(not root or no setpriv: the other-user connect was not tried)"),
    }

    // A process of the same user that finds the socket gets nowhere without TLS.
    let plaintext = plaintext_call(&socket).await;
    assert!(plaintext.is_err(), "a plaintext client was served");

    // Terraform itself is still served: Ctrl-C makes it call StopProvider, which cancels the
    // create, and Terraform closes the provider, which removes its directory.
    terraform.interrupt();
    let (exit_code, output) = terraform.finish();
    assert_eq!(exit_code, 1, "{output}");
    assert!(output.contains("The create was cancelled"), "{output}");
    assert!(
        !directory.exists(),
        "{} removed when the provider exited",
        directory.display()
    );
}

/// The provider binary started as Terraform starts it (AutoMTLS, trusting `client`), and its
/// handshake line.
async fn start_like_terraform(
    socket_dir: &Path,
    client: &TlsIdentity,
) -> (tokio::process::Child, HandshakeLine) {
    let mut child = terraform_like_command(socket_dir, client)
        .stderr(Stdio::null())
        .spawn()
        .expect("start the provider");
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .await
        .expect("read the handshake line");
    let handshake = HandshakeLine::parse(&line).expect("a handshake line");
    (child, handshake)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_certificate_terraform_passed_is_served() {
    let socket_dir = tempfile::tempdir().expect("tempdir");
    let terraform = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client");
    let (mut provider, handshake) = start_like_terraform(socket_dir.path(), &terraform).await;

    // Even a client that knows the server certificate (it is in the handshake line Terraform
    // read) is refused without Terraform's client certificate.
    let no_certificate = tls_call(&handshake, None).await;
    assert!(
        no_certificate.is_err(),
        "a client without a certificate was served"
    );
    for algorithm in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP521Sha512] {
        let stranger = TlsIdentity::generate(algorithm).expect("stranger");
        let result = tls_call(&handshake, Some(&stranger)).await;
        assert!(
            result.is_err(),
            "a stranger's {algorithm:?} certificate was served"
        );
    }
    let plaintext = plaintext_call(Path::new(&handshake.address)).await;
    assert!(plaintext.is_err(), "a plaintext client was served");

    // The refusals did not disturb the server: Terraform's certificate is still served.
    tls_call(&handshake, Some(&terraform))
        .await
        .expect("Terraform's certificate is served");

    let _ = provider.start_kill();
    let _ = provider.wait().await;
}
