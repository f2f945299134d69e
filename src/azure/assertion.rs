//! Client-certificate credentials: loading the certificate and key, and signing the client
//! assertion JWT that replaces a client secret at the token endpoint (docs/development/credentials.md,
//! 'Client certificate').
//!
//! Entra ID accepts RSA keys only for certificate credentials, and documents the assertion as PS256
//! (RSASSA-PSS with SHA-256) with the certificate's SHA-256 thumbprint in `x5t#S256`; `x5t` (SHA-1)
//! is sent too for older validators (aws-lc-rs, the crypto provider already used by rustls). An EC
//! key is refused when the certificate is loaded, at configure time, with how to make an RSA one.
//! Both PKCS#12 (.pfx/.p12 from a path, or base64 in `client_certificate` as azurerm takes it, with
//! `client_certificate_password`) and PEM files (certificate + unencrypted PKCS#8 or PKCS#1 key)
//! are read.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, RSA_PSS_SHA256,
    RsaKeyPair,
};
use aws_lc_rs::{digest, signature::KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::cloud::error::CloudError;
use crate::cloud::secret::SecretString;

/// How long a signed assertion is valid; it is used at once, so keep it short.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(10 * 60);

enum SigningKey {
    Rsa(RsaKeyPair),
}

/// Why an EC key cannot be used, and how to make a key that can.
const EC_KEY_REFUSED: &str = "the private key is an EC (ECDSA) key, but Entra ID accepts only RSA \
    keys for certificate credentials. Make an RSA certificate, e.g. `openssl req -x509 -newkey \
    rsa:2048 -sha256 -days 365 -nodes -subj \"/CN=vnetpeer\" -keyout key.pem -out cert.pem` and \
    `openssl pkcs12 -export -inkey key.pem -in cert.pem -out client.pfx`, upload cert.pem to the \
    application (Certificates & secrets > Certificates) and use client.pfx";

/// A loaded client certificate and its private key.
pub(crate) struct ClientCertificate {
    key: SigningKey,
    thumbprint_sha256: String,
    thumbprint_sha1: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint_sha256)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ClientCertificate {
    /// Reads `path`: a PKCS#12 archive (decrypted with `password`, empty when unset) or a PEM
    /// file with the certificate and its unencrypted private key.
    pub(crate) fn load(path: &Path, password: Option<&SecretString>) -> Result<Self, CloudError> {
        let bytes = std::fs::read(path).map_err(|e| {
            CloudError::Invalid(format!(
                "client_certificate_path {}: cannot read the file: {e}",
                path.display()
            ))
        })?;
        let looks_like_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
        let parsed = if looks_like_pem {
            if password.is_some_and(|p| !p.is_empty()) {
                return Err(CloudError::Invalid(format!(
                    "client_certificate_path {}: encrypted PEM keys are not supported; use a PKCS#12 (.pfx) file \
                     with client_certificate_password, or an unencrypted PEM key without a password",
                    path.display()
                )));
            }
            Self::from_pem(&bytes)
        } else {
            Self::from_pkcs12(
                &bytes,
                password
                    .map(SecretString::expose_secret)
                    .unwrap_or_default(),
            )
        };
        parsed.map_err(|reason| {
            CloudError::Invalid(format!(
                "client_certificate_path {}: {reason}",
                path.display()
            ))
        })
    }

    /// Decodes `client_certificate`: a base64 PKCS#12 bundle (line breaks and spaces ignored, as
    /// `base64 client.pfx` prints it).
    pub(crate) fn from_base64_pkcs12(
        data: &SecretString,
        password: Option<&SecretString>,
    ) -> Result<Self, CloudError> {
        let compact: String = data
            .expose_secret()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD.decode(compact).map_err(|_| {
            CloudError::Invalid(
                "client_certificate (ARM_CLIENT_CERTIFICATE): not base64; set it to the output of \
                 `base64 client.pfx`, or use client_certificate_path"
                    .into(),
            )
        })?;
        let password = password
            .map(SecretString::expose_secret)
            .unwrap_or_default();
        Self::from_pkcs12(&der, password).map_err(|reason| {
            CloudError::Invalid(format!(
                "client_certificate (ARM_CLIENT_CERTIFICATE): {reason}"
            ))
        })
    }

    /// Parses a PKCS#12 archive: its private key and the certificate that matches it.
    pub(crate) fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, String> {
        let store = p12_keystore::KeyStore::from_pkcs12(der, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
            .map_err(|e| {
                format!(
                    "the PKCS#12 archive does not open with client_certificate_password \
                     (ARM_CLIENT_CERTIFICATE_PASSWORD): the password is wrong or missing, or this is \
                     not a PKCS#12 (.pfx) or PEM file ({e})"
                )
            })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or("the PKCS#12 archive holds no private key")?;
        let key = PrivateKeyDer::Pkcs8(chain.key().as_der().to_vec().into());
        let certificates: Vec<CertificateDer<'static>> = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        if certificates.is_empty() {
            return Err("the PKCS#12 archive holds no certificate for its private key".into());
        }
        Self::from_parts(&certificates, &key)
    }

    /// Parses a PEM bundle holding the certificate (and possibly its chain) and one private key.
    pub(crate) fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("a CERTIFICATE block does not parse: {e}"))?;
        if certificates.is_empty() {
            return Err("no CERTIFICATE block found".into());
        }
        if pem.windows(25).any(|w| w == b"ENCRYPTED PRIVATE KEY----") {
            return Err("the private key is encrypted; use an unencrypted key".into());
        }
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("no usable PRIVATE KEY block found: {e}"))?;
        Self::from_parts(&certificates, &key)
    }

    /// The signing key and, among `certificates`, the one holding its public key.
    fn from_parts(
        certificates: &[CertificateDer<'_>],
        key: &PrivateKeyDer<'_>,
    ) -> Result<Self, String> {
        let is_ec_pkcs8 = |der: &[u8]| {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).is_ok()
                || EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der).is_ok()
        };
        let key = match key {
            PrivateKeyDer::Pkcs8(der) => match RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()) {
                Ok(key) => SigningKey::Rsa(key),
                Err(_) if is_ec_pkcs8(der.secret_pkcs8_der()) => {
                    return Err(EC_KEY_REFUSED.into());
                }
                Err(e) => return Err(format!("the private key is not an RSA key: {e}")),
            },
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der())
                .map(SigningKey::Rsa)
                .map_err(|e| format!("the RSA private key does not parse: {e}"))?,
            PrivateKeyDer::Sec1(_) => return Err(EC_KEY_REFUSED.into()),
            _ => return Err("unsupported private key format".into()),
        };
        // The certificate must hold the key's public half, or Entra ID rejects every assertion.
        let SigningKey::Rsa(rsa) = &key;
        let public_key = rsa.public_key().as_ref().to_vec();
        let certificate = certificates
            .iter()
            .find(|c| contains(c.as_ref(), &public_key))
            .ok_or("the private key does not match the certificate")?;
        Ok(Self {
            key,
            thumbprint_sha256: URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA256, certificate.as_ref())),
            thumbprint_sha1: URL_SAFE_NO_PAD.encode(digest::digest(
                &digest::SHA1_FOR_LEGACY_USE_ONLY,
                certificate.as_ref(),
            )),
        })
    }

    /// A signed client assertion for `client_id` at the token endpoint `audience`.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> Result<String, CloudError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let header = serde_json::json!({
            "alg": "PS256",
            "typ": "JWT",
            "x5t#S256": self.thumbprint_sha256,
            "x5t": self.thumbprint_sha1,
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let signature = match &self.key {
            SigningKey::Rsa(key) => {
                let mut signature = vec![0u8; key.public_modulus_len()];
                key.sign(
                    &RSA_PSS_SHA256,
                    &rng,
                    signing_input.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| {
                    CloudError::Invalid(
                        "could not sign the client assertion with the RSA key".into(),
                    )
                })?;
                signature
            }
        };
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};

    fn self_signed(alg: &'static rcgen::SignatureAlgorithm) -> (String, Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["client.test".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem = format!("{}{}", cert.pem(), key.serialize_pem());
        (pem, cert.der().to_vec(), key.public_key_raw().to_vec())
    }

    fn verify(
        jwt: &str,
        alg: &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
        public_key: &[u8],
    ) -> serde_json::Value {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(alg, public_key)
            .verify(signing_input.as_bytes(), &signature)
            .expect("signature verifies with the certificate's key");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        serde_json::json!({"header": header, "claims": claims})
    }

    #[test]
    fn ec_keys_are_refused_with_how_to_make_an_rsa_one() {
        let (pem, _, _) = self_signed(&rcgen::PKCS_ECDSA_P256_SHA256);
        let err = ClientCertificate::from_pem(pem.as_bytes()).unwrap_err();
        assert!(err.contains("accepts only RSA keys"), "{err}");
        assert!(err.contains("openssl req -x509 -newkey rsa:2048"), "{err}");
        let (pem, _, _) = self_signed(&rcgen::PKCS_ECDSA_P384_SHA384);
        let err = ClientCertificate::from_pem(pem.as_bytes()).unwrap_err();
        assert!(err.contains("accepts only RSA keys"), "{err}");
    }

    #[test]
    fn rsa_assertions_carry_the_sha256_thumbprint_and_the_claims_entra_documents() {
        let (pem, der, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let cert = ClientCertificate::from_pem(pem.as_bytes()).unwrap();
        let SigningKey::Rsa(key) = &cert.key;
        let public_key = key.public_key().as_ref().to_vec();
        let jwt = cert
            .assertion("client-1", "https://login.test/t/oauth2/v2.0/token")
            .unwrap();
        let parsed = verify(&jwt, &RSA_PSS_2048_8192_SHA256, &public_key);
        assert_eq!(
            parsed["header"]["x5t#S256"],
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der))
        );
        assert_eq!(parsed["header"]["typ"], "JWT");
        assert_eq!(parsed["claims"]["iss"], "client-1");
        assert_eq!(parsed["claims"]["sub"], "client-1");
        assert_eq!(
            parsed["claims"]["aud"],
            "https://login.test/t/oauth2/v2.0/token"
        );
        assert!(parsed["claims"]["jti"].is_string());
        assert!(
            parsed["claims"]["exp"].as_u64().unwrap() > parsed["claims"]["nbf"].as_u64().unwrap()
        );
    }

    #[test]
    fn rsa_pem_signs_a_verifiable_ps256_assertion() {
        let (pem, _der, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let cert = ClientCertificate::from_pem(pem.as_bytes()).unwrap();
        let SigningKey::Rsa(key) = &cert.key;
        let public_key = key.public_key().as_ref().to_vec();
        let jwt = cert.assertion("client-2", "aud").unwrap();
        let parsed = verify(&jwt, &RSA_PSS_2048_8192_SHA256, &public_key);
        assert_eq!(parsed["header"]["alg"], "PS256");
        assert!(parsed["header"]["x5t"].is_string());
    }

    #[test]
    fn mismatched_key_and_missing_parts_are_explained() {
        let (pem_a, _, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let (pem_b, _, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let cert_a = pem_a.split("-----BEGIN PRIVATE KEY").next().unwrap();
        let key_b = &pem_b[pem_b.find("-----BEGIN PRIVATE KEY").unwrap()..];
        let err = ClientCertificate::from_pem(format!("{cert_a}{key_b}").as_bytes()).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let err = ClientCertificate::from_pem(key_b.as_bytes()).unwrap_err();
        assert!(err.contains("CERTIFICATE"), "{err}");
    }

    fn pkcs12(pem: &str, der: &[u8], password: &str) -> Vec<u8> {
        let key_der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let key = p12_keystore::PrivateKey::from_der(key_der.secret_der()).unwrap();
        let certificate = p12_keystore::Certificate::from_der(der).unwrap();
        let chain = p12_keystore::PrivateKeyChain::new(vec![1u8, 2, 3], key, [certificate]);
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "client",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        store.writer(password).write().unwrap()
    }

    #[test]
    fn pkcs12_archives_load_with_their_password() {
        let (pem, der, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let pfx = dir.path().join("client.pfx");
        std::fs::write(&pfx, pkcs12(&pem, &der, "pfx-password")).unwrap();
        let loaded =
            ClientCertificate::load(&pfx, Some(&SecretString::new("pfx-password"))).unwrap();
        assert_eq!(
            loaded.thumbprint_sha256,
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der))
        );
        assert!(loaded.assertion("client", "aud").is_ok());
        let wrong = ClientCertificate::load(&pfx, Some(&SecretString::new("nope")))
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("client_certificate_password"), "{wrong}");
        assert!(!wrong.contains("nope"), "{wrong}");
        let garbage = dir.path().join("garbage.pfx");
        std::fs::write(&garbage, [0x30, 0x82, 0x01, 0x00]).unwrap();
        assert!(ClientCertificate::load(&garbage, None).is_err());
        let debug = format!("{loaded:?}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn base64_pkcs12_bundles_load_with_line_breaks() {
        let (pem, der, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let encoded = STANDARD.encode(pkcs12(&pem, &der, "pw-123"));
        // `base64` wraps at 76 columns.
        let wrapped: String = encoded
            .as_bytes()
            .chunks(76)
            .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
            .collect();
        let loaded = ClientCertificate::from_base64_pkcs12(
            &SecretString::new(wrapped.clone()),
            Some(&SecretString::new("pw-123")),
        )
        .unwrap();
        assert!(loaded.assertion("client", "aud").is_ok());
        let wrong = ClientCertificate::from_base64_pkcs12(
            &SecretString::new(wrapped),
            Some(&SecretString::new("wrong-pw")),
        )
        .unwrap_err()
        .to_string();
        assert!(wrong.contains("ARM_CLIENT_CERTIFICATE_PASSWORD"), "{wrong}");
        let not_base64 =
            ClientCertificate::from_base64_pkcs12(&SecretString::new("%%%"), None).unwrap_err();
        assert!(not_base64.to_string().contains("not base64"));
    }

    #[test]
    fn pem_with_a_password_is_explained() {
        let (pem, _, _) = self_signed(&rcgen::PKCS_RSA_SHA256);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.pem");
        std::fs::write(&path, pem).unwrap();
        let err = ClientCertificate::load(&path, Some(&SecretString::new("pw")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("encrypted PEM keys are not supported"),
            "{err}"
        );
        assert!(ClientCertificate::load(&path, None).is_ok());
    }
}
