//! AutoMTLS (docs/development/plugin-obligations.md, C1–C5): our self-signed server identity, the
//! verifier that pins Terraform's client certificate, and the rustls configurations.
//!
//! # Choice of client authentication (C4)
//!
//! Client certificates are **required**, and the only certificate accepted is the one Terraform
//! passed in `PLUGIN_CLIENT_CERT`, compared byte for byte (certificate pinning), inside its
//! validity window, with the TLS handshake signature verified by the aws-lc-rs provider.
//!
//! - aws-lc-rs is the only rustls crypto provider compiled in, and it is passed explicitly to every
//!   config builder, so there is no process-wide default to get wrong. Unlike *ring*, it verifies
//!   ECDSA P-521 with SHA-512, the signature Terraform's client key makes; with *ring* a required
//!   client certificate fails the handshake and an optional one is silently never sent.
//! - rustls' webpki verifier cannot be used: Terraform's certificate is self-signed with `CA:TRUE`
//!   and webpki refuses a CA certificate as an end entity (`CaUsedAsEndEntity`). Pinning is also
//!   stricter than chain building: go-plugin's own server trusts a pool holding only that
//!   certificate, which for a self-signed leaf amounts to the same check.
//! - Unlike the early tf-provider verifier, the handshake signature is checked, so a peer that
//!   merely replays the public certificate cannot authenticate.
//!
//! ALPN advertises `h2` (C5): grpc-go 1.69+ (Terraform 1.12+) rejects servers that select none.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig,
    SignatureScheme,
};

/// Environment variable carrying Terraform's client certificate (PEM).
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// The ALPN protocol gRPC runs on.
const ALPN_H2: &[u8] = b"h2";

/// go-plugin's certificate lifetime: 262980 hours, about 30 years.
const CERTIFICATE_LIFETIME: time::Duration = time::Duration::hours(262_980);

/// Backdating of `not_before`, so that small clock differences do not reject a fresh certificate.
const CLOCK_SKEW_ALLOWANCE: time::Duration = time::Duration::seconds(30);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Key or certificate generation failed.
    #[error("cannot generate the TLS certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// `PLUGIN_CLIENT_CERT` is not one PEM certificate.
    #[error("PLUGIN_CLIENT_CERT must hold exactly one PEM CERTIFICATE block (found {0})")]
    ClientCertificateCount(usize),
    /// `PLUGIN_CLIENT_CERT` is not valid PEM.
    #[error("PLUGIN_CLIENT_CERT is not valid PEM: {0}")]
    ClientCertificatePem(String),
    /// The certificate is not parseable X.509.
    #[error("the pinned certificate is not valid X.509: {0}")]
    CertificateSyntax(String),
    /// rustls rejected the configuration.
    #[error("invalid TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The one crypto provider this crate uses: aws-lc-rs (see the module documentation).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Key types for [`TlsIdentity::generate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256: our server identity (cheap to generate, accepted by Go).
    EcdsaP256Sha256,
    /// ECDSA P-521 with SHA-512: what Terraform's client certificate uses (C1).
    EcdsaP521Sha512,
}

impl KeyAlgorithm {
    fn rcgen_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP521Sha512 => &rcgen::PKCS_ECDSA_P521_SHA512,
        }
    }
}

/// A self-signed certificate made from go-plugin's AutoMTLS template, and its private key.
pub struct TlsIdentity {
    certificate: CertificateDer<'static>,
    private_key_pkcs8: PrivatePkcs8KeyDer<'static>,
}

impl TlsIdentity {
    /// Generates a fresh key and a certificate with go-plugin's template: subject
    /// `O=HashiCorp, CN=localhost`, SAN DNS `localhost`, CA, key usages digitalSignature,
    /// keyEncipherment, keyAgreement and keyCertSign, both client and server EKUs, valid from
    /// 30 s ago for about 30 years (C1, C3).
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, TlsError> {
        let key_pair = KeyPair::generate_for(algorithm.rcgen_algorithm())?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - CLOCK_SKEW_ALLOWANCE;
        params.not_after = now + CERTIFICATE_LIFETIME;
        let certificate = params.self_signed(&key_pair)?;
        Ok(TlsIdentity {
            certificate: certificate.der().clone(),
            private_key_pkcs8: PrivatePkcs8KeyDer::from(key_pair.serialize_der()),
        })
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The certificate as one PEM block, as Terraform puts it in `PLUGIN_CLIENT_CERT`.
    pub fn certificate_pem(&self) -> String {
        let encoded = STANDARD.encode(self.certificate.as_ref());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        // Every chunk of base64 output is ASCII, so splitting by bytes keeps valid UTF-8.
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// A copy of the private key for a rustls config.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.private_key_pkcs8.clone_key())
    }
}

/// Redacted: the private key never reaches logs or panics.
impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificate_len", &self.certificate.as_ref().len())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// Parses `PLUGIN_CLIENT_CERT`: exactly one PEM `CERTIFICATE` block.
pub fn parse_client_certificate_pem(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::ClientCertificatePem(error.to_string()))?;
    match <[_; 1]>::try_from(certificates) {
        Ok([certificate]) => Ok(certificate),
        Err(certificates) => Err(TlsError::ClientCertificateCount(certificates.len())),
    }
}

/// What the verifiers remember about a pinned certificate.
#[derive(Debug, Clone)]
struct PinnedCertificate {
    der: CertificateDer<'static>,
    subject: DistinguishedName,
    valid_from_unix: i64,
    valid_until_unix: i64,
}

impl PinnedCertificate {
    fn new(der: CertificateDer<'static>) -> Result<Self, TlsError> {
        use x509_parser::prelude::FromDer as _;
        let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(der.as_ref())
            .map_err(|error| TlsError::CertificateSyntax(error.to_string()))?;
        let subject = DistinguishedName::from(parsed.subject().as_raw().to_vec());
        let valid_from_unix = parsed.validity().not_before.timestamp();
        let valid_until_unix = parsed.validity().not_after.timestamp();
        Ok(PinnedCertificate {
            der,
            subject,
            valid_from_unix,
            valid_until_unix,
        })
    }

    /// Accepts exactly the pinned certificate, inside its validity window.
    fn check(&self, presented: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
        if presented.as_ref() != self.der.as_ref() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < self.valid_from_unix {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet,
            ));
        }
        if now > self.valid_until_unix {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        Ok(())
    }
}

/// Server-side verifier: requires a client certificate and accepts only the pinned one
/// (see the module documentation for why not webpki).
#[derive(Debug)]
pub struct PinnedClientCertVerifier {
    pinned: PinnedCertificate,
    root_hint_subjects: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    /// Pins `certificate`; handshake signatures are checked with `provider`'s algorithms.
    pub fn new(
        certificate: CertificateDer<'static>,
        provider: &CryptoProvider,
    ) -> Result<Self, TlsError> {
        let pinned = PinnedCertificate::new(certificate)?;
        Ok(PinnedClientCertVerifier {
            root_hint_subjects: vec![pinned.subject.clone()],
            pinned,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.root_hint_subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.pinned.check(end_entity, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The server's rustls configuration: TLS 1.2+, client certificate required and pinned, ALPN h2.
pub fn server_config(
    identity: &TlsIdentity,
    client_certificate: CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = crypto_provider();
    let verifier = PinnedClientCertVerifier::new(client_certificate, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![identity.certificate_der().clone()],
            identity.private_key(),
        )?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// Client-side verifier that trusts exactly the certificate from the handshake line, as
/// Terraform's client does (its root pool holds only that certificate). For tests and tools.
#[derive(Debug)]
pub struct PinnedServerCertVerifier {
    pinned: PinnedCertificate,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.pinned.check(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A client configuration like Terraform's: trusts only `server_certificate`, offers ALPN h2,
/// and presents `client_identity` when given. For tests, the benchmark and tools.
pub fn client_config(
    server_certificate: CertificateDer<'static>,
    client_identity: Option<&TlsIdentity>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = crypto_provider();
    let verifier = PinnedServerCertVerifier {
        pinned: PinnedCertificate::new(server_certificate)?,
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match client_identity {
        Some(identity) => builder.with_client_auth_cert(
            vec![identity.certificate_der().clone()],
            identity.private_key(),
        )?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}
