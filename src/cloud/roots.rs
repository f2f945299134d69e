//! Which root certificates the HTTP client trusts (docs/development/design-decisions.md,
//! 'Root certificates of the HTTP client').
//!
//! reqwest's own rustls set-up trusts the platform's roots. On Linux that means
//! `rustls-native-certs`, which reads the distribution's bundle file *and* every file of the
//! certificate directories, and decodes their base64 with a constant-time decoder. On the usual
//! distributions (Debian, Ubuntu, Alpine, RHEL, Fedora, SUSE) the bundle is generated from the
//! certificates the directory links to, by `update-ca-certificates` or `update-ca-trust`, so
//! every certificate was decoded twice, and each provider process that sent a request paid for
//! about 150 file reads.
//!
//! The rule, on Linux (elsewhere the platform's verifier, as before):
//! - `SSL_CERT_FILE` or a non-empty `SSL_CERT_DIR` set: what the platform's loader reads for
//!   them, exactly: the file, then every file of each directory (links followed), each file once.
//! - Otherwise, when one of [`LINUX_BUNDLES`] exists (the first, in the order the platform's
//!   loader probes them): that bundle, plus the regular files (not symbolic links) of
//!   [`LINUX_DIRECTORIES`]. The links are what the bundle was generated from; a regular file is
//!   a certificate put there by hand (or by a package, such as Debian's `ssl-cert`), which the
//!   bundle may lack.
//! - Otherwise, or when nothing usable was found: the platform's verifier.
//!
//! Either way the certificates are decoded with an ordinary base64 decoder (they are public)
//! and verified with webpki, as the platform's verifier does on Linux.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The distributions' bundle files, in the order the platform's loader (openssl-probe) tries them.
pub(crate) const LINUX_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Gentoo, Alpine
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL, CentOS, Fedora
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE, SLES
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/ssl/cert.pem",                  // Alpine
    "/opt/etc/ssl/certs/ca-certificates.crt", // Entware
    "/etc/ssl/certs/cacert.pem",          // OpenHarmony
];

/// The certificate directories the platform's loader reads on Linux.
pub(crate) const LINUX_DIRECTORIES: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/security/certificates",
];

/// Where the roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RootSource {
    /// reqwest's default: the platform's verifier.
    Platform,
    /// PEM files: `file`, then the files of `directories`.
    Files {
        file: Option<PathBuf>,
        directories: Vec<PathBuf>,
        links: Links,
    },
}

/// Whether the symbolic links of a directory are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Links {
    /// Followed, as the platform's loader does for `SSL_CERT_DIR`.
    Follow,
    /// Skipped: the bundle holds what they point to.
    Skip,
}

/// The rule of the module docs, for this process's environment and file system.
pub(crate) fn root_source() -> RootSource {
    root_source_for(
        std::env::var_os("SSL_CERT_FILE"),
        std::env::var_os("SSL_CERT_DIR"),
        cfg!(target_os = "linux"),
        LINUX_BUNDLES.iter().map(Path::new),
        LINUX_DIRECTORIES.iter().map(Path::new),
    )
}

/// The rule, given the two variables, whether this is Linux, and the candidate bundles (in
/// order) and directories.
pub(crate) fn root_source_for<'a>(
    cert_file: Option<OsString>,
    cert_dir: Option<OsString>,
    linux: bool,
    bundles: impl IntoIterator<Item = &'a Path>,
    directories: impl IntoIterator<Item = &'a Path>,
) -> RootSource {
    if !linux {
        return RootSource::Platform;
    }
    // As the platform's loader reads the variables: the file as given (even empty), the
    // directories split like `PATH`, empty entries dropped.
    let cert_file = cert_file.map(PathBuf::from);
    let cert_dirs: Vec<PathBuf> = cert_dir
        .as_deref()
        .map(|dirs| {
            std::env::split_paths(dirs)
                .filter(|dir| !dir.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if cert_file.is_some() || !cert_dirs.is_empty() {
        return RootSource::Files {
            file: cert_file,
            directories: cert_dirs,
            links: Links::Follow,
        };
    }
    let Some(bundle) = bundles.into_iter().find(|path| path.is_file()) else {
        return RootSource::Platform;
    };
    RootSource::Files {
        file: Some(bundle.to_owned()),
        directories: directories
            .into_iter()
            .filter(|path| path.is_dir())
            .map(Path::to_owned)
            .collect(),
        links: Links::Skip,
    }
}

/// The trust anchors of `file` and of the files of `directories`: every `CERTIFICATE` block
/// that decodes and that webpki accepts, once; a file that is reached twice (a hash link beside
/// its target) is read once. `None` when nothing is usable (the caller then falls back to the
/// platform's verifier). Like the platform's loader, a file or block that cannot be read is
/// skipped, not fatal.
pub(crate) fn load_roots(
    file: Option<&Path>,
    directories: &[PathBuf],
    links: Links,
) -> Option<RootCertStore> {
    let mut seen = SeenFiles::default();
    let mut certificates = Vec::new();
    if let Some(file) = file {
        if let Ok(metadata) = std::fs::metadata(file) {
            seen.first_visit(&metadata);
        }
        if let Ok(pem) = std::fs::read(file) {
            certificates.extend(pem_certificates(&pem));
        }
    }
    for directory in directories {
        let Ok(entries) = std::fs::read_dir(directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_link = entry.file_type().is_ok_and(|kind| kind.is_symlink());
            if is_link && links == Links::Skip {
                continue;
            }
            let path = entry.path();
            if let Ok(metadata) = std::fs::metadata(&path)
                && metadata.is_file()
                && seen.first_visit(&metadata)
                && let Ok(pem) = std::fs::read(&path)
            {
                certificates.extend(pem_certificates(&pem));
            }
        }
    }
    certificates.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certificates.dedup();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(certificates);
    (!roots.is_empty()).then_some(roots)
}

/// Files already read, by device and inode.
#[derive(Default)]
struct SeenFiles {
    #[cfg(unix)]
    ids: std::collections::HashSet<(u64, u64)>,
}

impl SeenFiles {
    /// True the first time a file is met.
    fn first_visit(&mut self, metadata: &std::fs::Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            self.ids.insert((metadata.dev(), metadata.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            true
        }
    }
}

/// The `CERTIFICATE` blocks of PEM text, decoded; blocks of other labels (e.g. OpenSSL's
/// `TRUSTED CERTIFICATE`) and blocks whose base64 is broken are skipped, as the platform's
/// loader skips them.
///
/// Roots are public, so this uses the ordinary base64 decoder rather than the constant-time
/// one of rustls' PEM reader, which was most of the cost of loading them.
fn pem_certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    use base64::Engine as _;
    use memchr::memmem;
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut certificates = Vec::new();
    let mut base64_text = Vec::with_capacity(4096);
    let mut rest = pem;
    while let Some(start) = memmem::find(rest, BEGIN) {
        rest = &rest[start + BEGIN.len()..];
        let Some(end) = memmem::find(rest, END) else {
            break;
        };
        let mut body = &rest[..end];
        rest = &rest[end + END.len()..];
        // A block without its end: the end found belongs to the last block begun before it.
        if let Some(inner) = memmem::rfind(body, BEGIN) {
            body = &body[inner + BEGIN.len()..];
        }
        if memmem::find(body, b"-----").is_some() {
            continue; // another label's boundary inside: malformed
        }
        base64_text.clear();
        let mut line_start = 0;
        for line_end in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
            base64_text.extend_from_slice(body[line_start..line_end].trim_ascii());
            line_start = (line_end + 1).min(body.len());
        }
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&base64_text) {
            certificates.push(CertificateDer::from(der));
        }
    }
    certificates
}

/// The rustls configuration reqwest would build around its platform verifier (aws-lc-rs, TLS 1.3
/// and 1.2, SNI on, no early data, no client certificate, ALPN offering HTTP/2 then HTTP/1.1),
/// verifying servers against `roots` with webpki, as the platform verifier does on Linux.
pub(crate) fn client_config(roots: RootCertStore) -> Result<ClientConfig, rustls::Error> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestCa {
        cert: rcgen::Certificate,
        issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    }

    fn ca(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            cert,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    fn paths(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(|name| dir.join(name)).collect()
    }

    fn rule(
        cert_file: Option<&str>,
        cert_dir: Option<&str>,
        linux: bool,
        bundles: &[PathBuf],
        directories: &[PathBuf],
    ) -> RootSource {
        root_source_for(
            cert_file.map(OsString::from),
            cert_dir.map(OsString::from),
            linux,
            bundles.iter().map(PathBuf::as_path),
            directories.iter().map(PathBuf::as_path),
        )
    }

    #[test]
    fn on_linux_the_first_existing_bundle_with_the_existing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let bundles = paths(dir.path(), &["debian.crt", "rhel.pem", "suse.pem"]);
        std::fs::write(&bundles[1], "x").unwrap();
        std::fs::write(&bundles[2], "x").unwrap();
        let directories = paths(dir.path(), &["ssl-certs", "pki-certs"]);
        std::fs::create_dir(&directories[1]).unwrap();
        let expected = RootSource::Files {
            file: Some(bundles[1].clone()),
            directories: vec![directories[1].clone()],
            links: Links::Skip,
        };
        assert_eq!(rule(None, None, true, &bundles, &directories), expected);
        // An empty `SSL_CERT_DIR` names no directory: as if unset.
        assert_eq!(rule(None, Some(""), true, &bundles, &directories), expected);
    }

    #[test]
    fn ssl_cert_variables_are_read_as_the_platform_loader_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let bundles = paths(dir.path(), &["debian.crt"]);
        std::fs::write(&bundles[0], "x").unwrap();
        let directories = [dir.path().to_owned()];
        let files = |file: Option<&str>, directories: &[&str]| RootSource::Files {
            file: file.map(PathBuf::from),
            directories: directories.iter().map(PathBuf::from).collect(),
            links: Links::Follow,
        };
        assert_eq!(
            rule(Some("/x/roots.pem"), None, true, &bundles, &directories),
            files(Some("/x/roots.pem"), &[])
        );
        assert_eq!(
            rule(
                None,
                Some("/x/certs::/y/certs"),
                true,
                &bundles,
                &directories
            ),
            files(None, &["/x/certs", "/y/certs"])
        );
        assert_eq!(
            rule(Some(""), Some("/x/certs"), true, &bundles, &directories),
            files(Some(""), &["/x/certs"])
        );
    }

    #[test]
    fn no_bundle_or_another_system_keeps_the_platform_verifier() {
        let dir = tempfile::tempdir().unwrap();
        let bundles = paths(dir.path(), &["debian.crt", "rhel.pem"]);
        // A directory where a bundle is expected is not a bundle.
        std::fs::create_dir(&bundles[0]).unwrap();
        let directories = [dir.path().to_owned()];
        assert_eq!(
            rule(None, None, true, &bundles, &directories),
            RootSource::Platform
        );
        std::fs::write(&bundles[1], "x").unwrap();
        assert_eq!(
            rule(None, None, false, &bundles, &directories),
            RootSource::Platform
        );
        assert_eq!(
            rule(Some("/x/roots.pem"), None, false, &bundles, &directories),
            RootSource::Platform
        );
    }

    /// The Debian layout: the bundle and regular files in the directory, links to the bundle's
    /// sources elsewhere and hash links beside them.
    #[test]
    fn the_bundle_and_regular_files_or_with_the_variables_every_file_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("share");
        let certs = dir.path().join("certs");
        std::fs::create_dir(&sources).unwrap();
        std::fs::create_dir(&certs).unwrap();
        let (linked, copied, only_in_directory, only_linked) = (
            ca("linked"),
            ca("copied"),
            ca("snakeoil"),
            ca("linked, not in the bundle"),
        );
        let bundle = certs.join("ca-certificates.crt");
        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        std::fs::write(
            &bundle,
            format!(
                "{}{broken}# comment\n{}",
                linked.cert.pem(),
                copied.cert.pem()
            ),
        )
        .unwrap();
        std::fs::write(sources.join("linked.crt"), linked.cert.pem()).unwrap();
        std::fs::write(sources.join("only-linked.crt"), only_linked.cert.pem()).unwrap();
        std::os::unix::fs::symlink(sources.join("linked.crt"), certs.join("linked.pem")).unwrap();
        std::os::unix::fs::symlink(sources.join("only-linked.crt"), certs.join("other.pem"))
            .unwrap();
        std::os::unix::fs::symlink(certs.join("linked.pem"), certs.join("1a2b3c4d.0")).unwrap();
        std::fs::write(certs.join("copied.pem"), copied.cert.pem()).unwrap();
        std::fs::write(certs.join("snakeoil.pem"), only_in_directory.cert.pem()).unwrap();
        std::fs::create_dir(certs.join("java")).unwrap();
        let anchor_of = |ca: &TestCa| {
            let mut one = RootCertStore::empty();
            one.add(ca.cert.der().clone()).unwrap();
            one.roots[0].clone()
        };

        let roots = load_roots(Some(&bundle), std::slice::from_ref(&certs), Links::Skip).unwrap();
        assert_eq!(roots.len(), 3, "each certificate once");
        for expected in [&linked, &copied, &only_in_directory] {
            assert!(roots.roots.contains(&anchor_of(expected)));
        }
        assert!(!roots.roots.contains(&anchor_of(&only_linked)));

        let roots = load_roots(Some(&bundle), std::slice::from_ref(&certs), Links::Follow).unwrap();
        assert_eq!(roots.len(), 4, "each certificate once");
        assert!(roots.roots.contains(&anchor_of(&only_linked)));

        let roots = load_roots(None, &[certs], Links::Follow).unwrap();
        assert_eq!(roots.len(), 4, "the bundle is one of the directory's files");
    }

    #[test]
    fn nothing_usable_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(
            &bundle,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(load_roots(Some(&bundle), &[], Links::Skip).is_none());
        let missing = dir.path().join("missing.pem");
        assert!(
            load_roots(
                Some(&missing),
                std::slice::from_ref(&missing),
                Links::Follow
            )
            .is_none()
        );
    }

    #[test]
    fn pem_blocks_decode_as_rustls_reads_them() {
        let first = ca("first root").cert.pem();
        let second = ca("second root").cert.pem().replace('\n', "\r\n");
        let trusted =
            "-----BEGIN TRUSTED CERTIFICATE-----\nMIIB\n-----END TRUSTED CERTIFICATE-----\n";
        let unfinished = "-----BEGIN CERTIFICATE-----\nMIIB\n";
        let text = format!("{unfinished}# Issuer: first\n{first}\n{trusted}  {second}{unfinished}");
        let expected: Vec<_> = [first, second]
            .iter()
            .map(|pem| rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap())
            .collect::<Vec<CertificateDer<'_>>>();
        assert_eq!(pem_certificates(text.as_bytes()), expected);
    }

    #[test]
    fn the_config_offers_h2_then_http1_with_sni_and_no_early_data() {
        let mut roots = RootCertStore::empty();
        roots.add(ca("root").cert.der().clone()).unwrap();
        let config = client_config(roots).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(config.enable_sni);
        assert!(!config.enable_early_data);
    }

    /// A TLS server for `localhost` with a certificate issued by `issuer`; it answers one
    /// HTTP/1.1 request with `ok` and reports the server name and ALPN protocols the client
    /// offered.
    async fn serve_once(
        issuer: &TestCa,
    ) -> (
        u16,
        tokio::task::JoinHandle<Option<(Option<String>, Vec<Vec<u8>>)>>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer.issuer)
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
        let mut server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server = Arc::new(server);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let start =
                tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), socket)
                    .await
                    .unwrap();
            let hello = start.client_hello();
            let offered = (
                hello.server_name().map(str::to_owned),
                hello
                    .alpn()
                    .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
                    .unwrap_or_default(),
            );
            // An untrusted client aborts the handshake here.
            let mut tls = start.into_stream(server).await.ok()?;
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = tls.read(&mut buffer).await.ok()?;
                if read == 0 {
                    return None;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await
                .ok()?;
            tls.shutdown().await.ok()?;
            Some(offered)
        });
        (port, task)
    }

    #[tokio::test]
    async fn https_to_a_server_whose_root_is_in_the_bundle() {
        let root = ca("test root");
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, root.cert.pem()).unwrap();
        let client = super::super::http::build_reqwest_client_trusting(&RootSource::Files {
            file: Some(bundle),
            directories: Vec::new(),
            links: Links::Skip,
        })
        .unwrap();
        let (port, server) = serve_once(&root).await;

        let response = client
            .get(format!("https://localhost:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
        let (server_name, alpn) = server.await.unwrap().unwrap();
        assert_eq!(server_name.as_deref(), Some("localhost"));
        assert_eq!(alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[tokio::test]
    async fn https_to_a_server_whose_root_is_not_in_the_bundle_fails() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, ca("trusted root").cert.pem()).unwrap();
        let client = super::super::http::build_reqwest_client_trusting(&RootSource::Files {
            file: Some(bundle),
            directories: Vec::new(),
            links: Links::Skip,
        })
        .unwrap();
        let (port, server) = serve_once(&ca("another root")).await;

        let error = client
            .get(format!("https://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        let chain = format!("{:?}", error);
        assert!(chain.contains("UnknownIssuer"), "{chain}");
        assert!(server.await.unwrap().is_none());
    }
}
