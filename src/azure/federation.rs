//! Federated tokens (workload identity federation): where the provider gets the external ID token
//! it presents to Entra ID as `client_assertion`.
//!
//! Sources, in azurerm's order of precedence (docs/development/credentials.md, 'Federated
//! tokens'):
//! - a token given inline (`oidc_token`, `ARM_OIDC_TOKEN`; HCP Terraform's dynamic credentials);
//! - a token file (`oidc_token_file_path`, `AZURE_FEDERATED_TOKEN_FILE` of AKS workload identity),
//!   read again for every Entra ID token request because the kubelet or the runner rotates it;
//! - Azure DevOps' OIDC endpoint (`POST`, answer `{"oidcToken": …}`);
//! - GitHub Actions' ID token endpoint (`GET`, answer `{"value": …}`).
//!
//! CI tokens live minutes, an apply can last an hour: the two endpoints are asked again for every
//! Entra ID token request, and no token is ever presented after its `exp`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, Url};
use serde_json::Value;

use crate::cloud::error::{CloudError, CredentialAttempt};
use crate::cloud::http::{CallContext, HttpClient, Replay, sensitive_header, url_for_logs};
use crate::cloud::secret::SecretString;

/// The audience Entra ID expects in federated tokens (public cloud; GitHub is asked for it
/// unless the request URL already names an audience).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The Azure DevOps OIDC API version (what azurerm and azidentity send).
const AZURE_DEVOPS_API_VERSION: &str = "7.1";

/// Where the federated token comes from.
pub(crate) enum FederatedTokenSource {
    /// A token given as a value; `setting` names where (for messages).
    Inline {
        token: SecretString,
        setting: &'static str,
    },
    /// A file holding the token, read for every token request.
    File {
        path: PathBuf,
        setting: &'static str,
    },
    /// GitHub Actions: `GET {url}&audience=…` with the request token as bearer.
    GitHub {
        url: Url,
        request_token: SecretString,
    },
    /// Azure DevOps: `POST {url}?api-version=7.1&serviceConnectionId=…`.
    AzureDevOps {
        url: Url,
        request_token: SecretString,
        service_connection_id: String,
    },
}

impl FederatedTokenSource {
    /// A short label for logs and cache keys (never the token).
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Inline { setting, .. } => format!("inline:{setting}"),
            Self::File { path, .. } => format!("file:{}", path.display()),
            Self::GitHub { url, .. } => format!("github:{}", url_for_logs(url)),
            Self::AzureDevOps {
                url,
                service_connection_id,
                ..
            } => format!("azure-devops:{}:{service_connection_id}", url_for_logs(url)),
        }
    }

    /// The settings to check when Entra ID rejects the token (for its diagnostic).
    pub(crate) fn settings_hint(&self) -> &'static str {
        match self {
            Self::Inline { .. } => "the token in `oidc_token` (ARM_OIDC_TOKEN)",
            Self::File { .. } => {
                "the token file `oidc_token_file_path` (ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE)"
            }
            Self::GitHub { .. } => {
                "the GitHub Actions ID token (`oidc_request_url`: ARM_OIDC_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_URL)"
            }
            Self::AzureDevOps { .. } => {
                "the Azure DevOps service connection token (`ado_pipeline_service_connection_id`: \
                 ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID)"
            }
        }
    }

    /// A federated token valid now: fetched or read afresh, never one past its `exp`.
    pub(crate) async fn assertion(
        &self,
        http: &HttpClient,
        ctx: &CallContext,
    ) -> Result<SecretString, CloudError> {
        let (token, origin) = match self {
            Self::Inline { token, setting } => (token.clone(), *setting),
            Self::File { path, setting } => (read_token_file(path, setting).await?, *setting),
            Self::GitHub { url, request_token } => (
                request_github_token(http, ctx, url, request_token).await?,
                "the GitHub Actions ID token endpoint",
            ),
            Self::AzureDevOps {
                url,
                request_token,
                service_connection_id,
            } => (
                request_azure_devops_token(http, ctx, url, request_token, service_connection_id)
                    .await?,
                "the Azure DevOps OIDC endpoint",
            ),
        };
        check_not_expired(&token, origin, SystemTime::now())?;
        Ok(token)
    }
}

fn federation_error(outcome: String) -> CloudError {
    CloudError::Credential {
        attempts: vec![CredentialAttempt {
            credential: "OIDC (workload identity federation)",
            outcome,
        }],
    }
}

async fn read_token_file(path: &Path, setting: &str) -> Result<SecretString, CloudError> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        CloudError::Invalid(format!(
            "{setting} {}: cannot read the federated token file: {e}",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CloudError::Invalid(format!(
            "{setting} {}: the federated token file is empty",
            path.display()
        )));
    }
    Ok(SecretString::new(token))
}

/// Refuses a token whose `exp` has passed: Entra ID would answer AADSTS700024, and the user
/// learns more from where the token came from. Tokens that are not JWTs are passed on (Entra ID
/// judges them).
fn check_not_expired(
    token: &SecretString,
    origin: &str,
    now: SystemTime,
) -> Result<(), CloudError> {
    let Some(expires) = jwt_expiry(token.expose_secret()) else {
        return Ok(());
    };
    let now_seconds = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if expires <= now_seconds {
        return Err(federation_error(format!(
            "the federated token from {origin} expired {} s ago (its `exp` is {expires}); supply a \
             fresh one: point `oidc_token_file_path` (ARM_OIDC_TOKEN_FILE_PATH) at a file the \
             platform keeps current, or use `oidc_request_url` + `oidc_request_token` so the \
             provider asks for a new token whenever it needs one",
            now_seconds - expires
        )));
    }
    Ok(())
}

/// The `exp` claim of a JWT (not verified: only to avoid presenting a dead token).
pub(crate) fn jwt_expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    exp.as_u64().or_else(|| exp.as_f64().map(|f| f as u64))
}

/// `GET {url}` with `audience=api://AzureADTokenExchange` added unless the URL names one.
async fn request_github_token(
    http: &HttpClient,
    ctx: &CallContext,
    url: &Url,
    request_token: &SecretString,
) -> Result<SecretString, CloudError> {
    let mut url = url.clone();
    if !url.query_pairs().any(|(key, _)| key == "audience") {
        url.query_pairs_mut()
            .append_pair("audience", TOKEN_EXCHANGE_AUDIENCE);
    }
    let shown = url_for_logs(&url);
    let request = http
        .request(Method::GET, url)?
        .header("Accept", "application/json")
        .header(
            "Authorization",
            sensitive_header(&format!("Bearer {}", request_token.expose_secret()))?,
        );
    let response = http.send(ctx, request, Replay::Safe, &[]).await?;
    if !response.status.is_success() {
        return Err(federation_error(format!(
            "the GitHub Actions ID token endpoint {shown} answered HTTP {}; check \
             `oidc_request_token` (ARM_OIDC_REQUEST_TOKEN or ACTIONS_ID_TOKEN_REQUEST_TOKEN): the \
             job needs `permissions: id-token: write`, and the token is only valid inside its job",
            response.status.as_u16()
        )));
    }
    token_field(&response.body, "value", &shown)
}

/// `POST {url}?api-version=7.1&serviceConnectionId=…` (each added only when absent).
async fn request_azure_devops_token(
    http: &HttpClient,
    ctx: &CallContext,
    url: &Url,
    request_token: &SecretString,
    service_connection_id: &str,
) -> Result<SecretString, CloudError> {
    let mut url = url.clone();
    let has = |url: &Url, name: &str| url.query_pairs().any(|(key, _)| key == name);
    if !has(&url, "api-version") {
        url.query_pairs_mut()
            .append_pair("api-version", AZURE_DEVOPS_API_VERSION);
    }
    if !has(&url, "serviceConnectionId") {
        url.query_pairs_mut()
            .append_pair("serviceConnectionId", service_connection_id);
    }
    let shown = url_for_logs(&url);
    let request = http
        .request(Method::POST, url)?
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        // Without it a bad access token is answered with a redirect to a sign-in page.
        .header("X-TFS-FedAuthRedirect", "Suppress")
        .header(
            "Authorization",
            sensitive_header(&format!("Bearer {}", request_token.expose_secret()))?,
        )
        .body("");
    let response = http.send(ctx, request, Replay::Safe, &[]).await?;
    if !response.status.is_success() {
        return Err(federation_error(format!(
            "the Azure DevOps OIDC endpoint {shown} answered HTTP {} for service connection \
             {service_connection_id}; check `oidc_request_token` (SYSTEM_ACCESSTOKEN: map it with \
             `SYSTEM_ACCESSTOKEN: $(System.AccessToken)`) and `ado_pipeline_service_connection_id` \
             (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID: a service connection a task of this job uses)",
            response.status.as_u16()
        )));
    }
    token_field(&response.body, "oidcToken", &shown)
}

fn token_field(body: &[u8], field: &str, shown: &str) -> Result<SecretString, CloudError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| federation_error(format!("{shown} answered with a body that is not JSON")))?;
    json.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(SecretString::new)
        .ok_or_else(|| federation_error(format!("{shown} answered without a `{field}` token")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn jwt(exp: u64) -> String {
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"iss":"i"}}"#));
        format!("eyJhbGciOiJSUzI1NiJ9.{claims}.sig")
    }

    #[test]
    fn expired_tokens_are_refused_with_their_origin_and_never_shown() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let live = SecretString::new(jwt(1_000_060));
        assert!(check_not_expired(&live, "ARM_OIDC_TOKEN", now).is_ok());
        let dead_text = jwt(999_990);
        let dead = SecretString::new(dead_text.clone());
        let error = check_not_expired(&dead, "ARM_OIDC_TOKEN", now)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ARM_OIDC_TOKEN") && error.contains("expired 10 s ago"),
            "{error}"
        );
        assert!(!error.contains(&dead_text));
        // Opaque tokens are Entra ID's to judge.
        assert!(check_not_expired(&SecretString::new("opaque"), "x", now).is_ok());
    }

    #[test]
    fn token_fields_are_read_from_each_issuer_shape() {
        let github = token_field(br#"{"count":1,"value":"a.b.c"}"#, "value", "u").unwrap();
        assert_eq!(github.expose_secret(), "a.b.c");
        let devops = token_field(br#"{"oidcToken":"d.e.f"}"#, "oidcToken", "u").unwrap();
        assert_eq!(devops.expose_secret(), "d.e.f");
        let missing = token_field(br#"{"value":""}"#, "value", "u").unwrap_err();
        assert!(missing.to_string().contains("without a `value` token"));
    }

    #[tokio::test]
    async fn token_files_are_trimmed_and_empty_files_refused() {
        let dir = std::env::temp_dir().join(format!("vnetpeer-federation-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "  tok\n").unwrap();
        assert_eq!(
            read_token_file(&path, "oidc_token_file_path")
                .await
                .unwrap()
                .expose_secret(),
            "tok"
        );
        std::fs::write(&path, "\n").unwrap();
        let error = read_token_file(&path, "oidc_token_file_path")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
