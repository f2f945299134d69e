//! In-process tests of the plugin server: the handshake line, the server certificate, mutual
//! TLS with a P-521 client certificate like Terraform's, the go-plugin services, message limits,
//! shutdown, and the hclog line format.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tracing_subscriber::layer::SubscriberExt as _;
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

use super::client::dial;
use super::handshake::{self, HandshakeLine, HandshakeParseError, Network};
use super::listener::{ListenerSettings, PluginListener};
use super::logging::{self, HclogLayer};
use super::placeholder::PlaceholderProvider;
use super::proto::go_plugin::grpc_broker_client::GrpcBrokerClient;
use super::proto::go_plugin::grpc_controller_client::GrpcControllerClient;
use super::proto::go_plugin::grpc_stdio_client::GrpcStdioClient;
use super::proto::go_plugin::{ConnInfo, Empty};
use super::proto::tfplugin6;
use super::proto::tfplugin6::provider_client::ProviderClient;
use super::shutdown::Shutdown;
use super::tls::{self, KeyAlgorithm, TlsIdentity};
use super::{Mode, serve_connections};

/// Terraform's deadline between Shutdown and SIGKILL (docs/development/plugin-obligations.md, D2).
const TERRAFORM_KILL_DEADLINE: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Handshake line

#[test]
fn handshake_line_has_six_fields_and_unpadded_base64_der() {
    // 1 byte of DER encodes to "AQ" unpadded ("AQ==" padded).
    let line = HandshakeLine::new(
        6,
        Network::Unix,
        "/tmp/x/plugin.sock".to_owned(),
        Some(vec![1]),
    );
    assert_eq!(line.to_string(), "1|6|unix|/tmp/x/plugin.sock|grpc|AQ");
    assert_eq!(HandshakeLine::parse(&line.to_string()), Ok(line));
}

#[test]
fn handshake_line_without_tls_ends_with_an_empty_certificate_field() {
    let line = HandshakeLine::new(6, Network::Tcp, "127.0.0.1:10000".to_owned(), None);
    assert_eq!(line.to_string(), "1|6|tcp|127.0.0.1:10000|grpc|");
    assert_eq!(
        HandshakeLine::parse("1|6|tcp|127.0.0.1:10000|grpc|\n")
            .expect("parses")
            .server_certificate_der,
        None
    );
}

#[test]
fn handshake_parser_rejects_padding_and_wrong_field_counts() {
    assert_eq!(
        HandshakeLine::parse("1|6|unix|/s|grpc|AQ=="),
        Err(HandshakeParseError::BadField("certificate"))
    );
    assert_eq!(
        HandshakeLine::parse("1|6|unix|/s|grpc|AQ|true"),
        Err(HandshakeParseError::FieldCount(7))
    );
    assert_eq!(
        HandshakeLine::parse("1|6|unix|/s"),
        Err(HandshakeParseError::FieldCount(4))
    );
}

#[test]
fn magic_cookie_must_match_exactly() {
    assert!(handshake::cookie_is_valid(Some(
        handshake::MAGIC_COOKIE_VALUE.as_ref()
    )));
    assert!(!handshake::cookie_is_valid(None));
    assert!(!handshake::cookie_is_valid(Some("".as_ref())));
    assert!(!handshake::cookie_is_valid(Some(
        format!("{} ", handshake::MAGIC_COOKIE_VALUE).as_ref()
    )));
}

#[test]
fn version_six_is_chosen_whatever_the_order_and_reported_when_missing() {
    for offered in ["5,6", "6,5", " 6 ", "6"] {
        let negotiated = handshake::negotiate_version(Some(offered));
        assert_eq!(negotiated.version, 6);
        assert!(negotiated.offered_by_client, "{offered}");
    }
    for offered in [Some("5"), Some("16"), Some(""), None] {
        let negotiated = handshake::negotiate_version(offered);
        assert_eq!(negotiated.version, 6);
        assert!(!negotiated.offered_by_client, "{offered:?}");
    }
}

#[test]
fn debug_flag_selects_debug_mode_and_other_arguments_are_refused() {
    assert_eq!(Mode::from_args(Vec::new()), Ok(Mode::Managed));
    assert_eq!(Mode::from_args(["--debug".into()]), Ok(Mode::Debug));
    assert_eq!(Mode::from_args(["-debug".into()]), Ok(Mode::Debug));
    assert_eq!(
        Mode::from_args(["--verbose".into()]),
        Err("--verbose".into())
    );
}

// ---------------------------------------------------------------------------------------------
// Certificates

#[test]
fn server_certificate_follows_go_plugins_template() {
    let identity = TlsIdentity::generate(KeyAlgorithm::EcdsaP256Sha256).expect("generate");
    let (rest, certificate) =
        X509Certificate::from_der(identity.certificate_der().as_ref()).expect("valid X.509");
    assert!(rest.is_empty());

    let san = certificate
        .subject_alternative_name()
        .expect("well-formed extension")
        .expect("SAN present");
    assert_eq!(
        san.value.general_names,
        vec![GeneralName::DNSName("localhost")]
    );
    let subject = certificate.subject().to_string();
    assert!(subject.contains("CN=localhost"), "{subject}");
    assert!(subject.contains("O=HashiCorp"), "{subject}");
    assert_eq!(certificate.subject(), certificate.issuer(), "self-signed");
    assert!(certificate.is_ca());
    let eku = certificate
        .extended_key_usage()
        .expect("well-formed")
        .expect("EKU present")
        .value;
    assert!(eku.server_auth && eku.client_auth);

    // Backdated by 30 s for clock skew, valid for about 30 years (262980 h).
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let not_before = certificate.validity().not_before.timestamp();
    let not_after = certificate.validity().not_after.timestamp();
    assert!(
        (now - 40..=now - 20).contains(&not_before),
        "{not_before} vs {now}"
    );
    let lifetime_hours = (not_after - not_before) / 3600;
    assert!(
        (262_979..=262_981).contains(&lifetime_hours),
        "{lifetime_hours}"
    );

    // ECDSA P-256 public key.
    let key_oid = certificate.public_key().algorithm.algorithm.to_id_string();
    assert_eq!(key_oid, "1.2.840.10045.2.1");
}

#[test]
fn p521_client_certificate_round_trips_through_pem() {
    let client = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("P-521 key");
    let pem = client.certificate_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    let parsed = tls::parse_client_certificate_pem(&pem).expect("parses");
    assert_eq!(parsed.as_ref(), client.certificate_der().as_ref());
    let (_, certificate) = X509Certificate::from_der(parsed.as_ref()).expect("X.509");
    // ecdsa-with-SHA512, like Terraform's certificate.
    assert_eq!(
        certificate.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.3.4"
    );
}

#[test]
fn client_certificate_variable_must_hold_exactly_one_certificate() {
    let one = TlsIdentity::generate(KeyAlgorithm::EcdsaP256Sha256).expect("generate");
    let two = format!("{}{}", one.certificate_pem(), one.certificate_pem());
    assert!(matches!(
        tls::parse_client_certificate_pem(&two),
        Err(tls::TlsError::ClientCertificateCount(2))
    ));
    assert!(matches!(
        tls::parse_client_certificate_pem("not a certificate"),
        Err(tls::TlsError::ClientCertificateCount(0))
    ));
}

#[test]
fn client_verifier_accepts_only_the_pinned_certificate_inside_its_validity() {
    use rustls::pki_types::UnixTime;
    use rustls::server::danger::ClientCertVerifier as _;
    let pinned = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("pinned");
    let other = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("other");
    let verifier = tls::PinnedClientCertVerifier::new(
        pinned.certificate_der().clone(),
        &tls::crypto_provider(),
    )
    .expect("verifier");
    assert!(verifier.client_auth_mandatory());
    assert_eq!(verifier.root_hint_subjects().len(), 1);
    assert!(
        verifier
            .supported_verify_schemes()
            .contains(&rustls::SignatureScheme::ECDSA_NISTP521_SHA512),
        "Terraform's P-521/SHA-512 signatures must be verifiable"
    );

    let now = UnixTime::now();
    assert!(
        verifier
            .verify_client_cert(pinned.certificate_der(), &[], now)
            .is_ok()
    );
    assert_eq!(
        verifier
            .verify_client_cert(other.certificate_der(), &[], now)
            .err(),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::ApplicationVerificationFailure
        ))
    );
    let before =
        UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs().saturating_sub(3600)));
    assert_eq!(
        verifier
            .verify_client_cert(pinned.certificate_der(), &[], before)
            .err(),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidYet
        ))
    );
    let after =
        UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs() + 31 * 365 * 24 * 3600));
    assert_eq!(
        verifier
            .verify_client_cert(pinned.certificate_der(), &[], after)
            .err(),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired
        ))
    );
}

#[test]
fn identity_debug_output_hides_the_private_key() {
    let identity = TlsIdentity::generate(KeyAlgorithm::EcdsaP256Sha256).expect("generate");
    let debug = format!("{identity:?}");
    assert!(debug.contains("<redacted>"));
    let key = identity.private_key();
    let key_prefix = format!("{:?}", &key.secret_der()[..8]);
    assert!(!debug.contains(&key_prefix));
}

// ---------------------------------------------------------------------------------------------
// The server, in process

/// A server on a Unix socket in a temp dir, as Terraform would see it.
struct TestServer {
    handshake: HandshakeLine,
    shutdown: Shutdown,
    served: JoinHandle<Result<(), tonic::transport::Error>>,
    _socket_parent: tempfile::TempDir,
}

/// Starts the placeholder provider behind TLS that trusts `client_identity` only (or plaintext).
async fn start_server(client_identity: Option<&TlsIdentity>) -> TestServer {
    let socket_parent = tempfile::tempdir().expect("tempdir");
    let listener = PluginListener::bind(&ListenerSettings {
        unix_socket_dir: Some(socket_parent.path().to_owned()),
        ..ListenerSettings::default()
    })
    .expect("bind");
    let (tls_config, certificate) = match client_identity {
        Some(client) => {
            let server = TlsIdentity::generate(KeyAlgorithm::EcdsaP256Sha256).expect("server");
            let config =
                tls::server_config(&server, client.certificate_der().clone()).expect("config");
            (Some(config), Some(server.certificate_der().to_vec()))
        }
        None => (None, None),
    };
    let handshake = HandshakeLine::new(
        6,
        listener.network(),
        listener.address().to_owned(),
        certificate,
    );
    let shutdown = Shutdown::without_backstop();
    let served = tokio::spawn(serve_connections(
        listener,
        tls_config,
        PlaceholderProvider,
        shutdown.clone(),
    ));
    TestServer {
        handshake,
        shutdown,
        served,
        _socket_parent: socket_parent,
    }
}

/// A gRPC channel that dials like Terraform (fresh TLS connection per connect).
async fn connect(
    handshake: &HandshakeLine,
    client_identity: Option<Arc<TlsIdentity>>,
) -> Result<Channel, String> {
    let handshake = handshake.clone();
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let handshake = handshake.clone();
            let identity = client_identity.clone();
            async move {
                let connection = dial(&handshake, identity.as_deref()).await?;
                Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(connection.stream))
            }
        }))
        .await
        .map_err(|error| format!("{error:?}"))
}

/// Health of service "plugin", or why it could not be asked.
async fn plugin_health(
    handshake: &HandshakeLine,
    client_identity: Option<Arc<TlsIdentity>>,
) -> Result<ServingStatus, String> {
    let channel = connect(handshake, client_identity).await?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await
        .map_err(|status| format!("{status:?}"))?;
    Ok(response.into_inner().status())
}

#[tokio::test]
async fn p521_client_like_terraforms_connects_with_alpn_h2() {
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let server = start_server(Some(&client)).await;

    let connection = dial(&server.handshake, Some(&client)).await.expect("TLS");
    assert_eq!(connection.alpn_protocol.as_deref(), Some(&b"h2"[..]));
    drop(connection);

    assert_eq!(
        plugin_health(&server.handshake, Some(client.clone())).await,
        Ok(ServingStatus::Serving)
    );
    let channel = connect(&server.handshake, Some(client))
        .await
        .expect("connect");
    let schema = ProviderClient::new(channel)
        .get_provider_schema(tfplugin6::get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema")
        .into_inner();
    assert!(
        schema
            .provider
            .and_then(|provider| provider.block)
            .is_some()
    );
}

#[tokio::test]
async fn client_with_another_certificate_is_refused() {
    let expected = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client");
    let server = start_server(Some(&expected)).await;
    // Same template, same subject, different key: only the pinned certificate may connect.
    let impostor = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("other"));
    let result = plugin_health(&server.handshake, Some(impostor)).await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let expected = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client");
    let server = start_server(Some(&expected)).await;
    let result = plugin_health(&server.handshake, None).await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn refused_clients_do_not_stop_the_server() {
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let server = start_server(Some(&client)).await;
    let impostor = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP256Sha256).expect("other"));
    assert!(
        plugin_health(&server.handshake, Some(impostor))
            .await
            .is_err()
    );
    assert_eq!(
        plugin_health(&server.handshake, Some(client)).await,
        Ok(ServingStatus::Serving)
    );
}

#[tokio::test]
async fn messages_larger_than_tonics_4_mib_default_are_accepted() {
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let server = start_server(Some(&client)).await;
    let channel = connect(&server.handshake, Some(client))
        .await
        .expect("connect");
    // The limits are on the server; the test client must be allowed to send the message too.
    let mut provider =
        ProviderClient::new(channel).max_encoding_message_size(super::MAX_MESSAGE_BYTES);
    let response = provider
        .validate_provider_config(tfplugin6::validate_provider_config::Request {
            config: Some(tfplugin6::DynamicValue {
                msgpack: vec![0xc0; 6 * 1024 * 1024],
                json: Vec::new(),
            }),
        })
        .await;
    assert!(response.is_ok(), "{response:?}");
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_stops_the_server_promptly() {
    let client = Arc::new(TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512).expect("client"));
    let server = start_server(Some(&client)).await;
    let channel = connect(&server.handshake, Some(client))
        .await
        .expect("connect");

    // Terraform opens both streams right after connecting and keeps them open.
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .expect("StreamStdio")
        .into_inner();
    let (_broker_sender, broker_outbound) = tokio::sync::mpsc::channel::<ConnInfo>(1);
    let mut broker = GrpcBrokerClient::new(channel.clone())
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(broker_outbound))
        .await
        .expect("StartStream")
        .into_inner();

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown is answered");
    assert!(server.shutdown.is_requested());

    let stdio_end = tokio::time::timeout(TERRAFORM_KILL_DEADLINE, stdio.message())
        .await
        .expect("stdio stream ends");
    assert!(matches!(stdio_end, Ok(None) | Err(_)), "{stdio_end:?}");
    let broker_end = tokio::time::timeout(TERRAFORM_KILL_DEADLINE, broker.message())
        .await
        .expect("broker stream ends");
    assert!(matches!(broker_end, Ok(None) | Err(_)), "{broker_end:?}");

    let served = tokio::time::timeout(TERRAFORM_KILL_DEADLINE, server.served)
        .await
        .expect("server stops before Terraform would kill it")
        .expect("server task");
    assert!(served.is_ok(), "{served:?}");
    assert!(
        !Path::new(&server.handshake.address).exists(),
        "socket removed"
    );
}

#[tokio::test]
async fn plaintext_server_serves_h2c_when_tls_is_off() {
    let server = start_server(None).await;
    assert_eq!(server.handshake.server_certificate_der, None);
    let connection = dial(&server.handshake, None).await.expect("dial");
    assert_eq!(connection.alpn_protocol, None);
    drop(connection);
    assert_eq!(
        plugin_health(&server.handshake, None).await,
        Ok(ServingStatus::Serving)
    );
}

// ---------------------------------------------------------------------------------------------
// Logs

/// Runs `emit` with the hclog layer at TRACE and returns the parsed lines.
fn capture_logs(emit: impl FnOnce()) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = buffer.clone();
    let layer = HclogLayer::with_sink(Arc::new(move |line: &[u8]| {
        sink.lock().expect("lock").extend_from_slice(line);
    }));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, emit);
    let bytes = buffer.lock().expect("lock").clone();
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(serde_json::Value::Object(object)) => object,
            other => panic!("not a JSON object: {line} ({other:?})"),
        })
        .collect()
}

/// Go's `2006-01-02T15:04:05.000000Z07:00` in UTC: exactly six fractional digits, then `Z`.
fn is_hclog_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digit_positions = [
        0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25,
    ];
    bytes.len() == 27
        && digit_positions.iter().all(|&i| bytes[i].is_ascii_digit())
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ]
        .iter()
        .all(|&(i, expected)| bytes[i] == expected)
}

#[test]
fn every_event_is_one_hclog_json_line() {
    let lines = capture_logs(|| {
        let span = tracing::info_span!("rpc", tf_rpc = "PlanResourceChange");
        let _entered = span.enter();
        tracing::info!(attempt = 2, ready = true, "peering created");
    });
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["@level"], "info");
    assert_eq!(line["@message"], "peering created");
    assert_eq!(
        line["@module"],
        "provider.terraform-provider-vnetpeer.tests"
    );
    let timestamp = line["@timestamp"].as_str().expect("string");
    assert!(is_hclog_timestamp(timestamp), "{timestamp}");
    assert_eq!(line["attempt"], 2);
    assert_eq!(line["ready"], true);
    assert_eq!(
        line["tf_rpc"], "PlanResourceChange",
        "span fields are included"
    );
}

#[test]
fn levels_use_hclogs_lower_case_names() {
    let lines = capture_logs(|| {
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    });
    let levels: Vec<_> = lines.iter().map(|line| line["@level"].clone()).collect();
    assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
}

#[test]
fn fields_named_like_secrets_are_redacted() {
    let lines = capture_logs(|| {
        tracing::info!(
            client_secret = "hunter2",
            aiven_token = "tok-123",
            password = "pw",
            authorization = "Bearer abc",
            client_id = "visible",
            "configured"
        );
    });
    let text = serde_json::to_string(&lines).expect("json");
    for secret in ["hunter2", "tok-123", "\"pw\"", "Bearer abc"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(lines[0]["client_id"], "visible");
    assert_eq!(lines[0]["client_secret"], "[redacted]");
}

#[test]
fn timestamps_have_exactly_six_fractional_digits_in_utc() {
    let instant = time::macros::datetime!(2026-03-04 05:06:07.000089 +02:00);
    assert_eq!(
        logging::format_hclog_timestamp(instant),
        "2026-03-04T03:06:07.000089Z"
    );
    assert!(is_hclog_timestamp(&logging::hclog_timestamp_now()));
}

#[test]
fn log_level_comes_from_the_most_specific_variable() {
    use tracing::Level;
    assert_eq!(logging::level_from_values(&[None, None, None]), None);
    assert_eq!(logging::level_from_values(&[None, None, Some("")]), None);
    assert_eq!(
        logging::level_from_values(&[None, None, Some("debug")]),
        Some(Level::DEBUG)
    );
    assert_eq!(
        logging::level_from_values(&[None, Some("WARN"), Some("TRACE")]),
        Some(Level::WARN)
    );
    assert_eq!(
        logging::level_from_values(&[Some("off"), Some("WARN"), Some("TRACE")]),
        None
    );
    assert_eq!(
        logging::level_from_values(&[Some(""), Some("ERROR"), None]),
        Some(Level::ERROR)
    );
    assert_eq!(
        logging::level_from_values(&[None, None, Some("JSON")]),
        Some(Level::TRACE)
    );
    assert_eq!(
        logging::level_from_values(&[None, Some("INFO"), None]),
        Some(Level::INFO)
    );
}

#[test]
fn other_crates_are_capped_at_warn() {
    use tracing_subscriber::Layer as _;
    let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = buffer.clone();
    let layer = HclogLayer::with_sink(Arc::new(move |line: &[u8]| {
        sink.lock().expect("lock").extend_from_slice(line);
    }))
    .with_filter(logging::own_targets_filter(tracing::Level::TRACE));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!(target: "h2::codec", "frame");
        tracing::warn!(target: "hyper::proto", "connection error");
        tracing::trace!("ours");
    });
    let text = String::from_utf8(buffer.lock().expect("lock").clone()).expect("UTF-8");
    assert!(!text.contains("frame"));
    assert!(text.contains("connection error"));
    assert!(text.contains("provider.terraform-provider-vnetpeer.hyper"));
    assert!(text.contains("ours"));
}
