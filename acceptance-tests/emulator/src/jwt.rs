//! JWT shapes: the access tokens the emulator issues (JWT-shaped so clients may read their
//! claims; the emulator itself looks them up by text, never by signature), parsing of client
//! assertions, and verification of certificate-signed assertions (RS256 / PS256 with the public
//! key of the certificate registered on the application).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Encodes `header` and `claims` as a JWT with a random 256-byte "signature" (the length of an
/// RS256 signature). Nobody can verify it; the emulator recognises its tokens by their full text.
pub fn encode_unverifiable(header: &Value, claims: &Value) -> String {
    let mut signature = [0u8; 256];
    // A failure of the system RNG leaves zeros: the token stays unique through its claims.
    let _ = aws_lc_rs::rand::fill(&mut signature);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A JWT with an RS256-looking header, for tokens of the stand-in external identity provider.
pub fn unsigned_looking_jwt(claims: &Value) -> String {
    encode_unverifiable(
        &serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": "emulator-external-idp"}),
        claims,
    )
}

/// A parsed (not verified) JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedJwt {
    pub header: Value,
    pub claims: Value,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl ParsedJwt {
    /// A string claim, if present.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric-date claim (seconds since the epoch), if present.
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let value = self.claims.get(name)?;
        value
            .as_i64()
            .or_else(|| value.as_f64().map(|seconds| seconds as i64))
    }

    /// Whether the `aud` claim (a string or an array) contains `audience`.
    pub fn has_audience(&self, audience: impl Fn(&str) -> bool) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(value)) => audience(value),
            Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).any(audience),
            _ => false,
        }
    }
}

/// Splits and decodes a compact JWT. `None` when it is not three base64url parts with JSON
/// objects in the first two.
pub fn parse(token: &str) -> Option<ParsedJwt> {
    let mut parts = token.trim().split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode_json = |part: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    };
    Some(ParsedJwt {
        header: decode_json(header)?,
        claims: decode_json(payload)?,
        signing_input: format!("{header}.{payload}"),
        signature: URL_SAFE_NO_PAD
            .decode(signature.trim_end_matches('='))
            .ok()?,
    })
}

/// The `x5t` thumbprint of a DER certificate: base64url(SHA-1(der)).
pub fn thumbprint_sha1(certificate_der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        certificate_der,
    );
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The `x5t#S256` thumbprint of a DER certificate: base64url(SHA-256(der)).
pub fn thumbprint_sha256(certificate_der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate_der);
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Why a signature check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// `alg` other than RS256 / PS256 (Entra accepts only RSA for client assertions).
    UnsupportedAlgorithm(String),
    /// The certificate's public key could not be read, or is not RSA.
    BadCertificate,
    /// The signature does not verify.
    Mismatch,
}

/// Verifies the signature of `jwt` with the public key of `certificate_der`.
pub fn verify_with_certificate(
    jwt: &ParsedJwt,
    certificate_der: &[u8],
) -> Result<(), SignatureError> {
    use aws_lc_rs::signature;

    let alg = jwt
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let algorithm: &dyn signature::VerificationAlgorithm = match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        other => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    };
    let rsa_public_key =
        rsa_public_key_of_certificate(certificate_der).ok_or(SignatureError::BadCertificate)?;
    signature::UnparsedPublicKey::new(algorithm, rsa_public_key)
        .verify(jwt.signing_input.as_bytes(), &jwt.signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The DER `RSAPublicKey` (PKCS#1) inside an X.509 certificate, found by walking the DER:
/// Certificate → tbsCertificate → subjectPublicKeyInfo → subjectPublicKey.
fn rsa_public_key_of_certificate(certificate_der: &[u8]) -> Option<&[u8]> {
    const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

    let (certificate, _) = der_element(certificate_der, 0x30)?;
    let (mut tbs, _) = der_element(certificate, 0x30)?;
    // Optional explicit version [0].
    if tbs.first() == Some(&0xa0) {
        tbs = der_element(tbs, 0xa0)?.1;
    }
    // serialNumber, signature, issuer, validity, subject.
    for tag in [0x02, 0x30, 0x30, 0x30, 0x30] {
        tbs = der_element(tbs, tag)?.1;
    }
    let (spki, _) = der_element(tbs, 0x30)?;
    let (algorithm, rest) = der_element(spki, 0x30)?;
    let (oid, _) = der_element(algorithm, 0x06)?;
    if oid != RSA_ENCRYPTION_OID {
        return None;
    }
    let (bit_string, _) = der_element(rest, 0x03)?;
    // First byte of a BIT STRING: the number of unused bits (0 for keys).
    match bit_string.split_first() {
        Some((0, key)) => Some(key),
        _ => None,
    }
}

/// Reads one DER element with tag `tag` at the start of `input`: (contents, rest).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&length_byte, rest) = rest.split_first()?;
    let (length, rest) = if length_byte < 0x80 {
        (usize::from(length_byte), rest)
    } else {
        let count = usize::from(length_byte & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (length_bytes, rest) = rest.split_at(count);
        let length = length_bytes
            .iter()
            .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    Some(rest.split_at(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back_with_their_claims() {
        let claims = serde_json::json!({"tid": "t", "exp": 5});
        let token = encode_unverifiable(&serde_json::json!({"alg": "RS256"}), &claims);
        let parsed = parse(&token).expect("parses");
        assert_eq!(parsed.claims, claims);
        assert_eq!(parsed.claim_time("exp"), Some(5));
        assert_eq!(parsed.signature.len(), 256);
    }

    #[test]
    fn garbage_is_not_a_jwt() {
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("a.b.c.d"), None);
        assert_eq!(parse("e30.bm90IGpzb24.sig"), None);
    }
}
