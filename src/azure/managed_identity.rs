//! Managed identity on every Azure host: each host has its own token endpoint and protocol
//! (docs/development/credentials.md, 'Managed identity').
//!
//! | Host | Detected by | Request |
//! |---|---|---|
//! | App Service, Functions, Container Apps | `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` | `GET`, `api-version=2019-08-01`, header `X-IDENTITY-HEADER` |
//! | Azure Arc | `IDENTITY_ENDPOINT` + `IMDS_ENDPOINT` | `GET` with `Metadata: true` → 401 naming a key file → again with `Authorization: Basic <key>` |
//! | Cloud Shell | `MSI_ENDPOINT` (no `MSI_SECRET`) | `POST` form `resource=…`, `Metadata: true` |
//! | VM / VMSS (IMDS), or `msi_endpoint` | otherwise | `GET`, `api-version=2018-02-01`, `Metadata: true` |
//!
//! `msi_endpoint` (azurerm's override) wins over detection, except that pointing it at an App
//! Service `IDENTITY_ENDPOINT` (azurerm's documented workaround) speaks the App Service protocol.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, Url};
use tokio::time::Instant;

use super::credentials::{AccessToken, parse_token_response};
use super::error::AzureErrorResponse;
use crate::cloud::error::{CloudError, CredentialAttempt, Service};
use crate::cloud::http::{
    CallContext, HttpClient, Replay, operation_name, sensitive_header, validate_endpoint,
};
use crate::cloud::secret::SecretString;

/// The Azure VM instance-metadata token endpoint.
pub const IMDS_TOKEN_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// Where Azure Arc's agent keeps the keys its challenge names.
#[cfg(unix)]
const ARC_KEY_DIRECTORY: &str = "/var/opt/azcmagent/tokens";
#[cfg(not(unix))]
const ARC_KEY_DIRECTORY: &str = "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens";

/// How long IMDS may answer 410 while it is being updated ("available in a maximum of 70
/// seconds", docs/development/credentials.md, 'Managed identity').
const IMDS_UPDATE_WINDOW: Duration = Duration::from_secs(70);
/// The pause before asking again once the shared retries ended on a 410 inside that window.
const IMDS_UPDATE_PAUSE: Duration = Duration::from_secs(2);

/// The largest key file the Arc agent writes; anything bigger is not its key.
const ARC_KEY_MAX_BYTES: u64 = 4096;

/// The managed-identity variables the hosting platform sets (read once at configure).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagedIdentityEnvironment {
    /// `IDENTITY_ENDPOINT` (App Service, Container Apps, Arc).
    pub identity_endpoint: Option<String>,
    /// `IDENTITY_HEADER` (App Service, Container Apps; rotated by the platform).
    pub identity_header: Option<SecretString>,
    /// `IDENTITY_SERVER_THUMBPRINT` (Service Fabric).
    pub identity_server_thumbprint: Option<String>,
    /// `IMDS_ENDPOINT` (Arc).
    pub imds_endpoint: Option<String>,
    /// `MSI_ENDPOINT` (Cloud Shell; legacy App Service with `MSI_SECRET`).
    pub msi_endpoint: Option<String>,
    /// Whether `MSI_SECRET` is set.
    pub msi_secret_set: bool,
    /// `AZUREPS_HOST_ENVIRONMENT` starts with `cloud-shell/`.
    pub cloud_shell: bool,
}

impl ManagedIdentityEnvironment {
    /// Reads the variables through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Self {
            identity_endpoint: get("IDENTITY_ENDPOINT"),
            identity_header: get("IDENTITY_HEADER").map(SecretString::from),
            identity_server_thumbprint: get("IDENTITY_SERVER_THUMBPRINT"),
            imds_endpoint: get("IMDS_ENDPOINT"),
            msi_endpoint: get("MSI_ENDPOINT"),
            msi_secret_set: get("MSI_SECRET").is_some(),
            cloud_shell: get("AZUREPS_HOST_ENVIRONMENT")
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("cloud-shell/")),
        }
    }
}

/// Which identity on the host (user-assigned ones need a selector).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentitySelector {
    /// `client_id` (ARM_CLIENT_ID): a user-assigned identity's client id.
    pub client_id: Option<String>,
    /// `msi_object_id`: a user-assigned identity's object (principal) id.
    pub object_id: Option<String>,
    /// `msi_resource_id`: a user-assigned identity's ARM resource id.
    pub resource_id: Option<String>,
}

impl IdentitySelector {
    fn is_user_assigned(&self) -> bool {
        self.client_id.is_some() || self.object_id.is_some() || self.resource_id.is_some()
    }
}

/// A host's token endpoint and protocol.
#[derive(Clone, Debug)]
pub(crate) enum ManagedIdentityHost {
    Imds(Url),
    AppService { endpoint: Url, header: SecretString },
    AzureArc(Url),
    CloudShell(Url),
}

impl ManagedIdentityHost {
    /// The host's protocol, from `msi_endpoint` and the platform's variables.
    pub(crate) fn detect(
        msi_endpoint: Option<&str>,
        env: &ManagedIdentityEnvironment,
        selector: &IdentitySelector,
    ) -> Result<Self, CloudError> {
        let endpoint = |name: &str, value: &str| -> Result<Url, CloudError> {
            // IMDS is link-local http by design; anything else follows the endpoint rule.
            if value == IMDS_TOKEN_ENDPOINT {
                Url::parse(value).map_err(|e| CloudError::Invalid(format!("{name}: {e}")))
            } else {
                validate_endpoint(name, value)
            }
        };
        let app_service = |url: Url| -> Option<Self> {
            env.identity_header.as_ref().map(|header| Self::AppService {
                endpoint: url,
                header: header.clone(),
            })
        };
        if let Some(configured) = msi_endpoint {
            let url = endpoint("msi_endpoint", configured)?;
            if env.identity_endpoint.as_deref() == Some(configured)
                && let Some(host) = app_service(url.clone())
            {
                return Ok(host);
            }
            return Ok(Self::Imds(url));
        }
        if let Some(identity_endpoint) = env.identity_endpoint.as_deref() {
            if env.identity_server_thumbprint.is_some() {
                return Err(CloudError::Invalid(
                    "managed identity: this is a Service Fabric host (IDENTITY_SERVER_THUMBPRINT is \
                     set), whose identity endpoint the provider does not support; sign in with \
                     workload identity federation or a client certificate instead"
                        .into(),
                ));
            }
            let url = endpoint("IDENTITY_ENDPOINT", identity_endpoint)?;
            if let Some(host) = app_service(url.clone()) {
                return Ok(host);
            }
            if env.imds_endpoint.is_some() {
                if selector.is_user_assigned() {
                    return Err(CloudError::Invalid(
                        "managed identity on Azure Arc: an Arc machine has only its system-assigned \
                         identity; unset client_id (ARM_CLIENT_ID), msi_object_id and msi_resource_id"
                            .into(),
                    ));
                }
                return Ok(Self::AzureArc(url));
            }
            return Err(CloudError::Invalid(
                "managed identity: IDENTITY_ENDPOINT is set without IDENTITY_HEADER (App Service, \
                 Container Apps) or IMDS_ENDPOINT (Azure Arc); set `msi_endpoint` to use it as an \
                 instance-metadata endpoint"
                    .into(),
            ));
        }
        if let Some(msi) = env.msi_endpoint.as_deref() {
            if env.msi_secret_set {
                return Err(CloudError::Invalid(
                    "managed identity: MSI_ENDPOINT with MSI_SECRET is the retired 2017 App Service \
                     protocol; enable the platform's current identity endpoint (IDENTITY_ENDPOINT, \
                     IDENTITY_HEADER) or set `msi_endpoint`"
                        .into(),
                ));
            }
            if selector.is_user_assigned() {
                return Err(CloudError::Invalid(
                    "managed identity in Cloud Shell: Cloud Shell signs in as its user only; unset \
                     client_id (ARM_CLIENT_ID), msi_object_id and msi_resource_id, or use the Azure CLI"
                        .into(),
                ));
            }
            return Ok(Self::CloudShell(endpoint("MSI_ENDPOINT", msi)?));
        }
        Ok(Self::Imds(endpoint("msi_endpoint", IMDS_TOKEN_ENDPOINT)?))
    }

    /// The host's name, for messages and cache keys.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Imds(_) => "instance metadata service",
            Self::AppService { .. } => "App Service identity endpoint",
            Self::AzureArc(_) => "Azure Arc identity endpoint",
            Self::CloudShell(_) => "Cloud Shell identity endpoint",
        }
    }

    /// A token for `scope` (`{resource}/.default`).
    pub(crate) async fn token(
        &self,
        http: &HttpClient,
        ctx: &CallContext,
        selector: &IdentitySelector,
        scope: &str,
    ) -> Result<AccessToken, CloudError> {
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        match self {
            Self::Imds(endpoint) => {
                let url = with_query(
                    endpoint,
                    "2018-02-01",
                    resource,
                    &[
                        ("client_id", &selector.client_id),
                        ("object_id", &selector.object_id),
                        ("msi_res_id", &selector.resource_id),
                    ],
                );
                // IMDS answers 404 and 410 while it is updating: retry those too, and keep
                // asking after a 410 until its update window has passed, which can outlast
                // the shared retries.
                let started = Instant::now();
                loop {
                    let request = http
                        .request(Method::GET, url.clone())?
                        .header("Metadata", "true");
                    let response = http.send(ctx, request, Replay::Safe, &[404, 410]).await?;
                    let still_updating = response.status.as_u16() == 410
                        && started.elapsed() < IMDS_UPDATE_WINDOW
                        && Instant::now() + IMDS_UPDATE_PAUSE <= ctx.deadline();
                    if still_updating {
                        ctx.sleep(IMDS_UPDATE_PAUSE, "waiting for IMDS to finish its update")
                            .await?;
                        continue;
                    }
                    return finish(response, &url, &Method::GET);
                }
            }
            Self::AppService { endpoint, header } => {
                let url = with_query(
                    endpoint,
                    "2019-08-01",
                    resource,
                    &[
                        ("client_id", &selector.client_id),
                        ("principal_id", &selector.object_id),
                        ("mi_res_id", &selector.resource_id),
                    ],
                );
                let request = http.request(Method::GET, url.clone())?.header(
                    "X-IDENTITY-HEADER",
                    sensitive_header(header.expose_secret())?,
                );
                let response = http.send(ctx, request, Replay::Safe, &[]).await?;
                finish(response, &url, &Method::GET)
            }
            Self::AzureArc(endpoint) => arc_token(http, ctx, endpoint, resource).await,
            Self::CloudShell(endpoint) => {
                let request = http
                    .request(Method::POST, endpoint.clone())?
                    .header("Metadata", "true")
                    .form(&[("resource", resource)]);
                let response = http.send(ctx, request, Replay::Safe, &[]).await?;
                finish(response, endpoint, &Method::POST)
            }
        }
    }
}

fn with_query(
    endpoint: &Url,
    api_version: &str,
    resource: &str,
    selectors: &[(&str, &Option<String>)],
) -> Url {
    let mut url = endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("api-version", api_version);
        query.append_pair("resource", resource);
        for (name, value) in selectors {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    url
}

fn finish(
    response: crate::cloud::http::ApiResponse,
    url: &Url,
    method: &Method,
) -> Result<AccessToken, CloudError> {
    let operation = operation_name(method, url);
    if !response.status.is_success() {
        return Err(response.into_error(Service::ManagedIdentity, &operation));
    }
    parse_token_response(&response.body, Service::ManagedIdentity, &operation)
}

/// Azure Arc: the first request is answered 401 with `WWW-Authenticate: Basic realm=<key file>`;
/// the agent's key file (readable by administrators and the `himds` group only) proves the caller
/// runs on the machine.
async fn arc_token(
    http: &HttpClient,
    ctx: &CallContext,
    endpoint: &Url,
    resource: &str,
) -> Result<AccessToken, CloudError> {
    const API_VERSION: &str = "2020-06-01";
    let url = with_query(endpoint, API_VERSION, resource, &[]);
    let challenge = http
        .request(Method::GET, url.clone())?
        .header("Metadata", "true");
    let response = http.send(ctx, challenge, Replay::Safe, &[]).await?;
    if response.status.is_success() {
        return finish(response, &url, &Method::GET);
    }
    if response.status.as_u16() != 401 {
        return Err(finish(response, &url, &Method::GET)
            .err()
            .unwrap_or_else(|| {
                CloudError::Invalid("the Azure Arc identity endpoint answered unexpectedly".into())
            }));
    }
    let realm = response
        .header("www-authenticate")
        .and_then(|value| value.trim().strip_prefix("Basic realm="))
        .map(|path| path.trim().trim_matches('"').to_owned())
        .ok_or_else(|| {
            arc_error(
                "its 401 answer names no key file (`WWW-Authenticate: Basic realm=<path>`)".into(),
            )
        })?;
    let key = read_arc_key(Path::new(&realm), &arc_key_directory()).await?;
    let request = http
        .request(Method::GET, url.clone())?
        .header("Metadata", "true")
        .header(
            "Authorization",
            sensitive_header(&format!("Basic {}", key.expose_secret()))?,
        );
    let response = http.send(ctx, request, Replay::Safe, &[]).await?;
    finish(response, &url, &Method::GET)
}

fn arc_error(outcome: String) -> CloudError {
    CloudError::Credential {
        attempts: vec![CredentialAttempt {
            credential: "managed identity",
            outcome: format!("Azure Arc identity endpoint: {outcome}"),
        }],
    }
}

/// The directory Arc keys must be in. Test builds may move it (the emulator cannot write to the
/// agent's directory).
fn arc_key_directory() -> PathBuf {
    #[cfg(feature = "test-fixtures")]
    if let Some(dir) = std::env::var_os("VNETPEER_TEST_ARC_KEY_DIRECTORY") {
        return PathBuf::from(dir);
    }
    PathBuf::from(ARC_KEY_DIRECTORY)
}

/// Reads the key the challenge names, only if it is a `.key` file of at most 4 KiB directly in
/// the agent's key directory: the endpoint must not make the provider read (and send) any other
/// file.
async fn read_arc_key(path: &Path, directory: &Path) -> Result<SecretString, CloudError> {
    let in_directory = path.parent().is_some_and(|parent| parent == directory);
    let is_key = path.extension().is_some_and(|extension| extension == "key");
    if !in_directory || !is_key {
        return Err(arc_error(format!(
            "the challenge names {}, which is not a .key file in {}; refusing to read it",
            path.display(),
            directory.display()
        )));
    }
    let unreadable = |e: std::io::Error| {
        arc_error(format!(
            "cannot read the key file {}: {e}; the provider must run as an administrator or a \
             member of the `himds` group",
            path.display()
        ))
    };
    let metadata = tokio::fs::metadata(path).await.map_err(unreadable)?;
    if metadata.len() > ARC_KEY_MAX_BYTES {
        return Err(arc_error(format!(
            "the key file {} is larger than {ARC_KEY_MAX_BYTES} bytes; refusing to send it",
            path.display()
        )));
    }
    let key = tokio::fs::read_to_string(path).await.map_err(unreadable)?;
    Ok(SecretString::new(key.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ManagedIdentityEnvironment {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ManagedIdentityEnvironment::from_lookup(|name| map.get(name).cloned())
    }

    fn kind(host: &ManagedIdentityHost) -> &'static str {
        host.name()
    }

    #[test]
    fn each_host_is_recognised_by_its_variables() {
        let none = IdentitySelector::default();
        let detect = |msi: Option<&str>, pairs: &[(&str, &str)]| {
            ManagedIdentityHost::detect(msi, &env(pairs), &none)
        };
        assert_eq!(
            kind(&detect(None, &[]).unwrap()),
            "instance metadata service"
        );
        let app = detect(
            None,
            &[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token"),
                ("IDENTITY_HEADER", "h"),
            ],
        )
        .unwrap();
        assert_eq!(kind(&app), "App Service identity endpoint");
        let arc = detect(
            None,
            &[
                (
                    "IDENTITY_ENDPOINT",
                    "http://localhost:40342/metadata/identity/oauth2/token",
                ),
                ("IMDS_ENDPOINT", "http://localhost:40342"),
            ],
        )
        .unwrap();
        assert_eq!(kind(&arc), "Azure Arc identity endpoint");
        let shell = detect(
            None,
            &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")],
        )
        .unwrap();
        assert_eq!(kind(&shell), "Cloud Shell identity endpoint");
        // azurerm's App Service workaround keeps working, now with the header.
        let workaround = detect(
            Some("http://127.0.0.1:41000/msi/token"),
            &[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token"),
                ("IDENTITY_HEADER", "h"),
            ],
        )
        .unwrap();
        assert_eq!(kind(&workaround), "App Service identity endpoint");
        // msi_endpoint overrides detection.
        let overridden = detect(
            Some("http://127.0.0.1:9/token"),
            &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")],
        )
        .unwrap();
        assert_eq!(kind(&overridden), "instance metadata service");
        let fabric = detect(
            None,
            &[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:2377/x"),
                ("IDENTITY_HEADER", "h"),
                ("IDENTITY_SERVER_THUMBPRINT", "ab"),
            ],
        )
        .unwrap_err();
        assert!(fabric.to_string().contains("Service Fabric"));
    }

    #[test]
    fn arc_and_cloud_shell_refuse_user_assigned_identities() {
        let user = IdentitySelector {
            client_id: Some("c".into()),
            ..IdentitySelector::default()
        };
        let arc = env(&[
            (
                "IDENTITY_ENDPOINT",
                "http://localhost:40342/metadata/identity/oauth2/token",
            ),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
        ]);
        let error = ManagedIdentityHost::detect(None, &arc, &user).unwrap_err();
        assert!(error.to_string().contains("ARM_CLIENT_ID"), "{error}");
        let shell = env(&[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")]);
        assert!(ManagedIdentityHost::detect(None, &shell, &user).is_err());
    }

    #[tokio::test]
    async fn arc_keys_are_read_only_from_the_agent_directory() {
        let dir = std::env::temp_dir().join(format!("vnetpeer-arc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("abc.key");
        std::fs::write(&key, "secret-key\n").unwrap();
        assert_eq!(
            read_arc_key(&key, &dir).await.unwrap().expose_secret(),
            "secret-key"
        );
        let elsewhere = read_arc_key(Path::new("/etc/passwd"), &dir)
            .await
            .unwrap_err();
        assert!(elsewhere.to_string().contains("refusing"), "{elsewhere}");
        let not_key = dir.join("abc.txt");
        std::fs::write(&not_key, "x").unwrap();
        assert!(read_arc_key(&not_key, &dir).await.is_err());
        let big = dir.join("big.key");
        std::fs::write(&big, vec![b'a'; 5000]).unwrap();
        assert!(
            read_arc_key(&big, &dir)
                .await
                .unwrap_err()
                .to_string()
                .contains("larger")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
