//! The `provider "vnetpeer" {}` block (docs/development/design-decisions.md, 'Provider
//! configuration'): its schema, the environment fallbacks (configuration wins over the
//! environment), the checks of argument combinations, and the resulting [`ProviderConfig`], and the
//! cloud settings it holds ([`ProviderConfig::azure`],
//! [`ProviderConfig::aiven_settings`]). Configuring touches no network: credentials are resolved
//! when a resource first needs a token.
//!
//! The provider type itself, which ties this block to the resources, is
//! [`crate::resources::VnetpeerProvider`].

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::aiven::AivenSettings;
use crate::azure::ManagedIdentityEnvironment;
use crate::azure::ids;
use crate::azure::{AzureEnvironment, AzureSettings};
use crate::cloud::SecretString;
use crate::framework::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Validator,
    validators,
};
use crate::value::Value;

/// The provider settings after environment fallbacks, checked for consistency. Secrets are
/// [`SecretString`]s, so `Debug` output is safe to log.
#[derive(Clone, Debug, Default)]
pub struct ProviderConfig {
    /// How the Azure clients sign in and where they send requests.
    pub azure: AzureSettings,
    pub aiven_api_token: Option<SecretString>,
    pub aiven_api_url: String,
    /// Arguments whose value was unknown at configure time (during plan, when the provider
    /// block depends on resources not created yet, docs/development/plugin-obligations.md, G4).
    /// Plan-time API checks should skip when this is not empty.
    pub unknown: BTreeSet<String>,
}

impl ProviderConfig {
    /// The settings of the Aiven client; `None` without an API token (resources that call
    /// Aiven then say how to set it).
    pub fn aiven_settings(&self) -> Option<AivenSettings> {
        self.aiven_api_token.as_ref().map(|token| AivenSettings {
            api_token: token.clone(),
            api_url: self.aiven_api_url.clone(),
        })
    }

    /// Whether every argument was known when the provider was configured.
    pub fn is_fully_known(&self) -> bool {
        self.unknown.is_empty()
    }

    /// Merges the provider block with the environment (`env` looks a variable up; empty values
    /// count as unset) and checks the combination. Every error names the argument (with its
    /// path when it came from the configuration) and says how to fix it.
    pub fn resolve(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ProviderConfig, Diagnostics> {
        let mut resolver = Resolver {
            config,
            env: &env,
            diagnostics: Diagnostics::new(),
            unknown: BTreeSet::new(),
        };
        let subscription_id = resolver.string(&["subscription_id"], &["ARM_SUBSCRIPTION_ID"]);
        let mut tenant_id = resolver.string(&["tenant_id"], &["ARM_TENANT_ID"]);
        let mut client_id = resolver.string(&["client_id"], &["ARM_CLIENT_ID"]);
        let client_id_file_path =
            resolver.string(&["client_id_file_path"], &["ARM_CLIENT_ID_FILE_PATH"]);
        let client_secret = resolver.string(&["client_secret"], &["ARM_CLIENT_SECRET"]);
        let certificate_data =
            resolver.string(&["client_certificate"], &["ARM_CLIENT_CERTIFICATE"]);
        let certificate_path = resolver.string(
            &["client_certificate_path"],
            &["ARM_CLIENT_CERTIFICATE_PATH"],
        );
        let certificate_password = resolver.string(
            &["client_certificate_password"],
            &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
        );
        let oidc_token = resolver.string(&["oidc_token"], &["ARM_OIDC_TOKEN"]);
        let oidc_token_file_path = resolver.string(
            &["oidc_token_file_path"],
            &["ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"],
        );
        // azurerm's fallbacks: GitHub Actions' variables, then Azure DevOps'.
        let oidc_request_url = resolver.string(
            &["oidc_request_url"],
            &[
                "ARM_OIDC_REQUEST_URL",
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "SYSTEM_OIDCREQUESTURI",
            ],
        );
        let oidc_request_token = resolver.string(
            &["oidc_request_token"],
            &[
                "ARM_OIDC_REQUEST_TOKEN",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                "SYSTEM_ACCESSTOKEN",
            ],
        );
        let ado_service_connection = resolver.string(
            &["ado_pipeline_service_connection_id"],
            &[
                "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
                "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
            ],
        );
        let msi_object_id = resolver.string(&["msi_object_id"], &["ARM_MSI_OBJECT_ID"]);
        let msi_resource_id = resolver.string(&["msi_resource_id"], &["ARM_MSI_RESOURCE_ID"]);
        let msi_endpoint = resolver.string(&["msi_endpoint"], &["ARM_MSI_ENDPOINT"]);
        let environment = resolver.string(&["environment"], &["ARM_ENVIRONMENT"]);
        let aiven_api_token = resolver.string(&["aiven_api_token"], &["AIVEN_TOKEN"]);
        let aiven_api_url = resolver.string(&["aiven_api_url"], &["AIVEN_WEB_URL"]);
        let authority_host = resolver.string(
            &["endpoints", "authority_host"],
            &["VNETPEER_AUTHORITY_HOST"],
        );
        let resource_manager = resolver.string(
            &["endpoints", "resource_manager"],
            &["VNETPEER_RESOURCE_MANAGER_ENDPOINT"],
        );
        let microsoft_graph = resolver.string(
            &["endpoints", "microsoft_graph"],
            &["VNETPEER_MICROSOFT_GRAPH_ENDPOINT"],
        );
        let mut azure = AzureSettings {
            use_oidc: resolver.boolean("use_oidc", "ARM_USE_OIDC", false),
            use_aks_workload_identity: resolver.boolean(
                "use_aks_workload_identity",
                "ARM_USE_AKS_WORKLOAD_IDENTITY",
                false,
            ),
            use_msi: resolver.boolean("use_msi", "ARM_USE_MSI", false),
            host: ManagedIdentityEnvironment::from_lookup(&env),
            use_cli: resolver.boolean("use_cli", "ARM_USE_CLI", true),
            ..AzureSettings::default()
        };
        let mut aiven_api_url_value = crate::aiven::DEFAULT_API_URL.to_owned();

        // `client_id_file_path` (HCP Terraform's dynamic credentials with aliases) and AKS
        // workload identity's AZURE_CLIENT_ID / AZURE_TENANT_ID fill in, or must agree with, the
        // client and tenant.
        if let Some(path) = &client_id_file_path {
            match std::fs::read_to_string(&path.value) {
                Ok(text) => resolver.merge(&mut client_id, path, text.trim(), "client_id"),
                Err(error) => resolver.error(
                    path,
                    "cannot be read",
                    format!("Reading {:?} failed: {error}.", path.value),
                ),
            }
        }
        if azure.use_aks_workload_identity {
            for (var, slot, name) in [
                ("AZURE_CLIENT_ID", &mut client_id, "client_id"),
                ("AZURE_TENANT_ID", &mut tenant_id, "tenant_id"),
            ] {
                if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
                    let origin = Setting {
                        value: value.clone(),
                        origin: Origin::Env(var),
                        sensitive: false,
                    };
                    resolver.merge(slot, &origin, value.trim(), name);
                }
            }
        }

        // Values from the environment were not seen by the validators: check every value.
        for (setting, validator) in [
            (&subscription_id, uuid()),
            (&tenant_id, tenant_id_validator()),
            (&client_id, uuid()),
        ] {
            if let Some(setting) = setting {
                resolver.check(setting, &validator);
            }
        }
        if let Some(name) = &environment {
            match AzureEnvironment::from_name(&name.value) {
                Some(environment) => azure.environment = environment,
                None => resolver.error(
                    name,
                    "must be one of `public`, `usgovernment`, `china`",
                    format!("{:?} is not an Azure cloud.", name.value),
                ),
            }
        }
        for (setting, slot) in [
            (&authority_host, &mut azure.endpoints.authority_host),
            (&resource_manager, &mut azure.endpoints.resource_manager),
            (&microsoft_graph, &mut azure.endpoints.microsoft_graph),
        ] {
            if let Some(setting) = setting {
                resolver.check(setting, &endpoint_url());
                *slot = Some(setting.value.clone());
            }
        }
        if let Some(url) = &aiven_api_url {
            resolver.check(url, &endpoint_url());
            aiven_api_url_value = url.value.clone();
        }
        if let Some(endpoint) = &msi_endpoint {
            resolver.check(endpoint, &endpoint_url());
        }
        if let Some(url) = &oidc_request_url {
            resolver.check(url, &endpoint_url());
        }

        // Combinations.
        let tenant_known = tenant_id.is_some() || resolver.is_unknown(&["tenant_id"]);
        let client_known = client_id.is_some() || resolver.is_unknown(&["client_id"]);
        if let Some(secret) = &client_secret {
            if !client_known {
                resolver.error(
                    secret,
                    "needs `client_id`",
                    "A client secret belongs to an application: set `client_id` (or ARM_CLIENT_ID) \
                     to that application's client id.",
                );
            }
            if !tenant_known {
                resolver.error(
                    secret,
                    "needs `tenant_id`",
                    "Set `tenant_id` (or ARM_TENANT_ID) to the tenant the application signs in to.",
                );
            }
        }
        if let Some(password) = &certificate_password
            && certificate_path.is_none()
            && certificate_data.is_none()
            && !resolver.is_unknown(&["client_certificate_path"])
            && !resolver.is_unknown(&["client_certificate"])
        {
            resolver.error(
                password,
                "needs `client_certificate_path`",
                "A certificate password is only used with a certificate: set \
                 `client_certificate_path` (or ARM_CLIENT_CERTIFICATE_PATH) or \
                 `client_certificate` (ARM_CLIENT_CERTIFICATE), or remove the password.",
            );
        }
        if let Some(path) = &certificate_path
            && !client_known
        {
            resolver.error(
                path,
                "needs `client_id`",
                "Set `client_id` (or ARM_CLIENT_ID) to the application the certificate belongs to.",
            );
        }
        if azure.use_oidc || azure.use_aks_workload_identity {
            let use_oidc = if azure.use_oidc {
                resolver.origin(&["use_oidc"], "ARM_USE_OIDC")
            } else {
                resolver.origin(
                    &["use_aks_workload_identity"],
                    "ARM_USE_AKS_WORKLOAD_IDENTITY",
                )
            };
            if !client_known {
                resolver.error(
                    &use_oidc,
                    "needs `client_id`",
                    "Workload identity federation signs in as an application: set `client_id` \
                     (or ARM_CLIENT_ID; AZURE_CLIENT_ID with use_aks_workload_identity).",
                );
            }
            if !tenant_known {
                resolver.error(
                    &use_oidc,
                    "needs `tenant_id`",
                    "Set `tenant_id` (or ARM_TENANT_ID) to the tenant of the federated application.",
                );
            }
            let static_token = oidc_token.is_some()
                || oidc_token_file_path.is_some()
                || resolver.is_unknown(&["oidc_token"])
                || resolver.is_unknown(&["oidc_token_file_path"]);
            let request_token_known =
                oidc_request_token.is_some() || resolver.is_unknown(&["oidc_request_token"]);
            let request_url_known =
                oidc_request_url.is_some() || resolver.is_unknown(&["oidc_request_url"]);
            if !static_token {
                match &oidc_request_url {
                    Some(url) if !request_token_known => resolver.error(
                        url,
                        "needs `oidc_request_token`",
                        "The ID token endpoint needs its bearer token: set `oidc_request_token` \
                         (ARM_OIDC_REQUEST_TOKEN). In GitHub Actions give the job `permissions: \
                         id-token: write`, which sets ACTIONS_ID_TOKEN_REQUEST_TOKEN; in Azure \
                         DevOps map `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` into the step's env.",
                    ),
                    _ if request_url_known => {}
                    _ => resolver.error(
                        &use_oidc,
                        "needs a token",
                        "Set `oidc_token` (ARM_OIDC_TOKEN), `oidc_token_file_path` \
                         (ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE), or \
                         `oidc_request_url` + `oidc_request_token` (ARM_OIDC_REQUEST_URL + \
                         ARM_OIDC_REQUEST_TOKEN; GitHub Actions sets ACTIONS_ID_TOKEN_REQUEST_URL \
                         and ACTIONS_ID_TOKEN_REQUEST_TOKEN when the job has `permissions: \
                         id-token: write`).",
                    ),
                }
            }
        }
        // A certificate Entra ID would refuse (an EC key) or that does not open (wrong
        // password) is reported now, not at the first token request (once the combination is
        // otherwise right: one thing to fix at a time).
        let certificate_setting = certificate_data.as_ref().or(certificate_path.as_ref());
        if let Some(setting) = certificate_setting
            && !resolver.is_unknown(&["client_certificate_password"])
            && !resolver.diagnostics.has_errors()
        {
            let password = certificate_password
                .as_ref()
                .map(|p| SecretString::new(p.value.clone()));
            let data = certificate_data
                .as_ref()
                .map(|d| SecretString::new(d.value.clone()));
            let path = certificate_path.as_ref().map(|p| PathBuf::from(&p.value));
            if let Err(reason) = crate::azure::credentials::check_client_certificate(
                data.as_ref(),
                path.as_deref(),
                password.as_ref(),
            ) {
                resolver.error(setting, "is not a usable client certificate", reason);
            }
        }

        azure.subscription_id = subscription_id.map(|s| s.value);
        azure.tenant_id = tenant_id.map(|s| s.value);
        azure.client_id = client_id.map(|s| s.value);
        azure.client_secret = client_secret.map(|s| SecretString::new(s.value));
        azure.client_certificate = certificate_data.map(|s| SecretString::new(s.value));
        azure.client_certificate_path = certificate_path.map(|s| PathBuf::from(s.value));
        azure.client_certificate_password =
            certificate_password.map(|s| SecretString::new(s.value));
        azure.oidc_token = oidc_token.map(|s| SecretString::new(s.value));
        azure.oidc_token_file_path = oidc_token_file_path.map(|s| PathBuf::from(s.value));
        azure.oidc_request_url = oidc_request_url.map(|s| s.value);
        azure.oidc_request_token = oidc_request_token.map(|s| SecretString::new(s.value));
        azure.ado_pipeline_service_connection_id = ado_service_connection.map(|s| s.value);
        azure.msi_endpoint = msi_endpoint.map(|s| s.value);
        azure.msi_object_id = msi_object_id.map(|s| s.value);
        azure.msi_resource_id = msi_resource_id.map(|s| s.value);
        let settings = ProviderConfig {
            azure,
            aiven_api_token: aiven_api_token.map(|s| SecretString::new(s.value)),
            aiven_api_url: aiven_api_url_value,
            unknown: resolver.unknown,
        };
        if resolver.diagnostics.has_errors() {
            Err(resolver.diagnostics)
        } else {
            Ok(settings)
        }
    }
}

/// Where a setting came from, for messages.
#[derive(Clone, Debug)]
enum Origin {
    Config(AttributePath),
    Env(&'static str),
}

/// A resolved string setting.
#[derive(Clone)]
struct Setting {
    value: String,
    origin: Origin,
    sensitive: bool,
}

struct Resolver<'a> {
    config: &'a Value,
    env: &'a dyn Fn(&str) -> Option<String>,
    diagnostics: Diagnostics,
    unknown: BTreeSet<String>,
}

impl Resolver<'_> {
    /// The configured string at `path`, else the first non-empty environment variable.
    fn string(&mut self, path: &[&'static str], vars: &[&'static str]) -> Option<Setting> {
        let sensitive = is_sensitive(path);
        let value = lookup(self.config, path);
        if value.is_unknown() {
            self.unknown.insert(path_of(path).to_string());
            return None;
        }
        if let Some(text) = value.as_str() {
            return Some(Setting {
                value: text.to_owned(),
                origin: Origin::Config(path_of(path)),
                sensitive,
            });
        }
        vars.iter().find_map(|var| {
            (self.env)(var)
                .filter(|text| !text.is_empty())
                .map(|text| Setting {
                    value: text,
                    origin: Origin::Env(var),
                    sensitive,
                })
        })
    }

    /// The configured bool, else the environment variable (`true`/`false`/`1`/`0`), else `default`.
    fn boolean(&mut self, name: &'static str, var: &'static str, default: bool) -> bool {
        let value = lookup(self.config, &[name]);
        if value.is_unknown() {
            self.unknown.insert(name.to_owned());
            return default;
        }
        if let Some(flag) = value.as_bool() {
            return flag;
        }
        match (self.env)(var).filter(|text| !text.is_empty()) {
            None => default,
            Some(text) => match text.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    self.diagnostics.push(Diagnostic::error(
                        format!("Invalid environment variable {var}: must be `true` or `false`"),
                        format!(
                            "It sets the provider argument `{name}`. Fix or unset the variable, or \
                             set `{name}` in the provider block (the configuration wins)."
                        ),
                    ));
                    default
                }
            },
        }
    }

    /// Fills `slot` with `value` from `source`, or reports a conflict when `slot` already holds
    /// another value (azurerm's rule for `client_id_file_path` and AKS's variables).
    fn merge(&mut self, slot: &mut Option<Setting>, source: &Setting, value: &str, argument: &str) {
        match slot {
            Some(existing) if existing.value != value => {
                let existing_origin = match &existing.origin {
                    Origin::Config(path) => path.to_string(),
                    Origin::Env(var) => (*var).to_owned(),
                };
                self.error(
                    source,
                    &format!("disagrees with `{argument}`"),
                    format!(
                        "It names {value:?}, while {existing_origin} names {:?}. Set one of them, \
                         or make them equal.",
                        existing.value
                    ),
                );
            }
            Some(_) => {}
            None => {
                *slot = Some(Setting {
                    value: value.to_owned(),
                    origin: source.origin.clone(),
                    sensitive: false,
                });
            }
        }
    }

    fn is_unknown(&self, path: &[&'static str]) -> bool {
        self.unknown.contains(&path_of(path).to_string())
    }

    /// The origin of a bool argument that is set.
    fn origin(&self, path: &[&'static str], var: &'static str) -> Setting {
        let from_config = lookup(self.config, path).as_bool().is_some();
        Setting {
            value: String::new(),
            origin: if from_config {
                Origin::Config(path_of(path))
            } else {
                Origin::Env(var)
            },
            sensitive: false,
        }
    }

    fn check(&mut self, setting: &Setting, validator: &Validator) {
        if let Err(reason) = validator.check(&Value::string(setting.value.clone())) {
            let detail = if setting.sensitive {
                "The value is not shown because the argument is sensitive.".to_owned()
            } else {
                format!("{reason}.")
            };
            self.error(
                setting,
                &format!("must be {}", validator.description()),
                detail,
            );
        }
    }

    fn error(&mut self, setting: &Setting, problem: &str, detail: impl Into<String>) {
        let detail = detail.into();
        let diagnostic = match &setting.origin {
            Origin::Config(path) => Diagnostic::error(
                format!("Invalid provider argument {path}: {problem}"),
                detail,
            )
            .at(path.clone()),
            Origin::Env(var) => Diagnostic::error(
                format!("Invalid environment variable {var}: {problem}"),
                format!(
                    "{detail} The variable is read because the provider block does not set the \
                     argument; fix or unset it."
                ),
            ),
        };
        self.diagnostics.push(diagnostic);
    }
}

fn lookup<'v>(config: &'v Value, path: &[&str]) -> &'v Value {
    let mut current = config;
    for step in path {
        if current.is_unknown() {
            // An unknown block makes everything inside it unknown.
            return current;
        }
        match current.get(step) {
            Some(next) => current = next,
            None => return &Value::Null,
        }
    }
    current
}

fn path_of(path: &[&'static str]) -> AttributePath {
    let mut steps = path.iter();
    let mut attribute_path = AttributePath::root(*steps.next().unwrap_or(&""));
    for step in steps {
        attribute_path = attribute_path.attr(*step);
    }
    attribute_path
}

fn is_sensitive(path: &[&str]) -> bool {
    matches!(
        path,
        ["client_secret"]
            | ["client_certificate"]
            | ["client_certificate_password"]
            | ["oidc_token"]
            | ["oidc_request_token"]
            | ["aiven_api_token"]
    )
}

/// A UUID, by the parser the Azure clients use.
fn uuid() -> Validator {
    validators::parsed(
        "a UUID such as `00000000-0000-0000-0000-000000000000`",
        ids::parse_uuid,
    )
}

fn tenant_id_validator() -> Validator {
    Validator::string(
        "a tenant id (a UUID) or a tenant domain such as `contoso.onmicrosoft.com`",
        |text| {
            let is_domain = text.contains('.')
                && text.split('.').all(|label| {
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if uuid().check(&Value::string(text)).is_ok() || is_domain {
                Ok(())
            } else {
                Err(format!("{text:?} is neither a UUID nor a domain"))
            }
        },
    )
}

/// An `https://` URL, or `http://` for a loopback host (the emulator on this machine).
fn endpoint_url() -> Validator {
    Validator::string(
        "an `https://` URL (`http://` only for loopback addresses such as `http://127.0.0.1:8443`)",
        |text| {
            let url = url::Url::parse(text)
                .map_err(|error| format!("{text:?} is not a URL ({error})"))?;
            match url.scheme() {
                "https" => Ok(()),
                "http" if is_loopback(&url) => Ok(()),
                "http" => Err(format!(
                    "{text:?} uses plain http to a non-loopback host; tokens would travel unencrypted"
                )),
                scheme => Err(format!("{text:?} has the unsupported scheme {scheme:?}")),
            }
        },
    )
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The provider block (docs/development/design-decisions.md, 'Provider configuration').
pub fn provider_schema() -> Schema {
    let string =
        |name: &str, description: &str| Attribute::string(name).optional().description(description);
    let flag =
        |name: &str, description: &str| Attribute::bool(name).optional().description(description);
    Schema::new(
        Block::new(
            "Peers an Azure virtual network with an Aiven project VPC. Azure credentials follow the \
             azurerm provider (same arguments, same `ARM_*` environment variables, same order: client \
             secret, client certificate, OIDC, managed identity, Azure CLI; see the credential \
             guides); arguments in the provider \
             block win over environment variables. Nothing is contacted until a resource needs it.",
        )
        .attribute(
            string(
                "subscription_id",
                "The customer subscription holding the virtual network. Environment: `ARM_SUBSCRIPTION_ID`.",
            )
            .validate(uuid()),
        )
        .attribute(
            string(
                "tenant_id",
                "The customer Entra ID tenant (id or domain). Environment: `ARM_TENANT_ID`.",
            )
            .validate(tenant_id_validator()),
        )
        .attribute(
            string(
                "client_id",
                "Application (client) id of the service principal the provider signs in as. \
                 Environment: `ARM_CLIENT_ID`.",
            )
            .validate(uuid()),
        )
        .attribute(string(
            "client_id_file_path",
            "A file holding the client id (HCP Terraform's dynamic credentials write one); must \
             agree with `client_id` when both are set. Environment: `ARM_CLIENT_ID_FILE_PATH`.",
        ))
        .attribute(
            string(
                "client_secret",
                "A client secret of `client_id`. Environment: `ARM_CLIENT_SECRET`.",
            )
            .sensitive(),
        )
        .attribute(
            string(
                "client_certificate",
                "The client certificate of `client_id` with its private key, as a base64-encoded \
                 PKCS#12 (.pfx) bundle (line breaks allowed); wins over `client_certificate_path`. \
                 Entra ID accepts RSA keys only. Environment: `ARM_CLIENT_CERTIFICATE`.",
            )
            .sensitive(),
        )
        .attribute(string(
            "client_certificate_path",
            "Path to a PEM or PKCS#12 file with the client certificate of `client_id` and its \
             private key (RSA: Entra ID accepts no other key type). Environment: \
             `ARM_CLIENT_CERTIFICATE_PATH`.",
        ))
        .attribute(
            string(
                "client_certificate_password",
                "Password of the certificate file. Environment: `ARM_CLIENT_CERTIFICATE_PASSWORD`.",
            )
            .sensitive(),
        )
        .attribute(flag(
            "use_oidc",
            "Sign in with workload identity federation (OIDC), e.g. from a CI system. \
             Environment: `ARM_USE_OIDC`. Default `false`.",
        ))
        .attribute(
            string(
                "oidc_token",
                "The federated ID token. Environment: `ARM_OIDC_TOKEN`.",
            )
            .sensitive(),
        )
        .attribute(string(
            "oidc_token_file_path",
            "A file holding the federated ID token, read again on every sign-in. Environment: \
             `ARM_OIDC_TOKEN_FILE_PATH`, then `AZURE_FEDERATED_TOKEN_FILE`.",
        ))
        .attribute(
            string(
                "oidc_request_url",
                "A CI system's ID token endpoint, asked for a fresh federated token before every \
                 sign-in (GitHub Actions; Azure DevOps with `ado_pipeline_service_connection_id`). \
                 The audience `api://AzureADTokenExchange` is requested unless the URL names one. \
                 Environment: `ARM_OIDC_REQUEST_URL`, then `ACTIONS_ID_TOKEN_REQUEST_URL`, then \
                 `SYSTEM_OIDCREQUESTURI`.",
            )
            .validate(endpoint_url()),
        )
        .attribute(
            string(
                "oidc_request_token",
                "The bearer token for `oidc_request_url`. Environment: `ARM_OIDC_REQUEST_TOKEN`, \
                 then `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, then `SYSTEM_ACCESSTOKEN`.",
            )
            .sensitive(),
        )
        .attribute(string(
            "ado_pipeline_service_connection_id",
            "The Azure DevOps service connection (workload identity federation) whose token \
             `oidc_request_url` returns. Environment: `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`, \
             then `ARM_OIDC_AZURE_SERVICE_CONNECTION_ID`.",
        ))
        .attribute(flag(
            "use_aks_workload_identity",
            "Sign in with AKS workload identity: `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and the token \
             file `AZURE_FEDERATED_TOKEN_FILE` that the webhook injects. Environment: \
             `ARM_USE_AKS_WORKLOAD_IDENTITY`. Default `false`.",
        ))
        .attribute(flag(
            "use_msi",
            "Sign in with a managed identity. Environment: `ARM_USE_MSI`. Default `false`.",
        ))
        .attribute(
            string(
                "msi_endpoint",
                "Managed identity token endpoint, overriding detection (default: the host's own: \
                 App Service, Functions and Container Apps, Azure Arc, Cloud Shell, else the Azure \
                 instance metadata service). Environment: `ARM_MSI_ENDPOINT`.",
            )
            .validate(endpoint_url()),
        )
        .attribute(string(
            "msi_object_id",
            "A user-assigned managed identity chosen by object (principal) id instead of \
             `client_id` (VMs and App Service). Environment: `ARM_MSI_OBJECT_ID`.",
        ))
        .attribute(string(
            "msi_resource_id",
            "A user-assigned managed identity chosen by its ARM resource id (VMs and App Service). \
             Environment: `ARM_MSI_RESOURCE_ID`.",
        ))
        .attribute(flag(
            "use_cli",
            "Fall back to the Azure CLI (`az account get-access-token`). Environment: `ARM_USE_CLI`. \
             Default `true`.",
        ))
        .attribute(
            string(
                "environment",
                "The Azure cloud: `public`, `usgovernment` or `china`. Environment: \
                 `ARM_ENVIRONMENT`. Default `public`.",
            )
            .validate(validators::one_of(AzureEnvironment::NAMES)),
        )
        .attribute(
            string(
                "aiven_api_token",
                "Aiven API token. Environment: `AIVEN_TOKEN`.",
            )
            .sensitive(),
        )
        .attribute(
            string(
                "aiven_api_url",
                "Aiven API base URL. Environment: `AIVEN_WEB_URL`. Default `https://api.aiven.io`.",
            )
            .validate(endpoint_url()),
        )
        .block(NestedBlock::single(
            "endpoints",
            Block::new(
                "Endpoint overrides for private clouds and for the emulator. `http://` is accepted \
                 only for loopback addresses.",
            )
            .attribute(
                string(
                    "authority_host",
                    "Entra ID authority, e.g. `https://login.microsoftonline.com`. Environment: \
                     `VNETPEER_AUTHORITY_HOST`.",
                )
                .validate(endpoint_url()),
            )
            .attribute(
                string(
                    "resource_manager",
                    "Azure Resource Manager, e.g. `https://management.azure.com`. Environment: \
                     `VNETPEER_RESOURCE_MANAGER_ENDPOINT`.",
                )
                .validate(endpoint_url()),
            )
            .attribute(
                string(
                    "microsoft_graph",
                    "Microsoft Graph, e.g. `https://graph.microsoft.com`. Environment: \
                     `VNETPEER_MICROSOFT_GRAPH_ENDPOINT`.",
                )
                .validate(endpoint_url()),
            ),
        )),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const UUID_A: &str = "11111111-1111-1111-1111-111111111111";
    const UUID_B: &str = "22222222-2222-2222-2222-222222222222";

    /// A provider block with `fields` set (`endpoints.x` for the nested block), the rest null.
    fn config(fields: &[(&str, Value)]) -> Value {
        let ty = provider_schema().implied_type();
        let crate::value::Type::Object(attributes, _) = &ty else {
            panic!("provider type is an object")
        };
        let mut object: std::collections::BTreeMap<String, Value> = attributes
            .keys()
            .map(|name| (name.clone(), Value::Null))
            .collect();
        for (name, value) in fields {
            match name.split_once('.') {
                Some((block, attribute)) => {
                    let slot = object.entry(block.to_owned()).or_insert(Value::Null);
                    if slot.is_null() {
                        *slot = Value::object([
                            ("authority_host", Value::Null),
                            ("resource_manager", Value::Null),
                            ("microsoft_graph", Value::Null),
                        ]);
                    }
                    if let Value::Object(inner) = slot {
                        inner.insert(attribute.to_owned(), value.clone());
                    }
                }
                None => {
                    object.insert((*name).to_owned(), value.clone());
                }
            }
        }
        let value = Value::Object(object);
        assert!(value.conforms_to(&ty).is_ok());
        value
    }

    fn resolve(
        fields: &[(&str, Value)],
        env: &[(&str, &str)],
    ) -> Result<ProviderConfig, Diagnostics> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProviderConfig::resolve(&config(fields), |name| env.get(name).cloned())
    }

    fn single_error(result: Result<ProviderConfig, Diagnostics>) -> Diagnostic {
        let diagnostics = result.expect_err("an error");
        assert_eq!(diagnostics.len(), 1, "{diagnostics}");
        diagnostics.into_iter().next().unwrap()
    }

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    #[test]
    fn configuration_wins_over_environment_and_environment_fills_gaps() {
        let settings = resolve(
            &[("client_id", s(UUID_A))],
            &[
                ("ARM_CLIENT_ID", UUID_B),
                ("ARM_TENANT_ID", "contoso.onmicrosoft.com"),
                ("ARM_SUBSCRIPTION_ID", ""),
                ("AIVEN_TOKEN", "aiven-secret"),
            ],
        )
        .unwrap();
        assert_eq!(settings.azure.client_id.as_deref(), Some(UUID_A));
        assert_eq!(
            settings.azure.tenant_id.as_deref(),
            Some("contoso.onmicrosoft.com")
        );
        assert_eq!(
            settings.azure.subscription_id, None,
            "empty variables count as unset"
        );
        assert_eq!(
            settings
                .aiven_api_token
                .as_ref()
                .map(SecretString::expose_secret),
            Some("aiven-secret")
        );
        assert_eq!(settings.aiven_api_url, crate::aiven::DEFAULT_API_URL);
        assert!(settings.azure.use_cli && !settings.azure.use_msi && !settings.azure.use_oidc);
        assert_eq!(settings.azure.environment, AzureEnvironment::Public);
        assert!(settings.is_fully_known());
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let settings = resolve(
            &[
                ("client_id", s(UUID_A)),
                ("tenant_id", s(UUID_B)),
                ("client_secret", s("hunter2")),
            ],
            &[
                ("AIVEN_TOKEN", "aiven-secret"),
                ("ARM_OIDC_TOKEN", "oidc-secret"),
            ],
        )
        .unwrap();
        let debug = format!("{settings:?}");
        for secret in ["hunter2", "aiven-secret", "oidc-secret"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn client_secret_needs_client_id_and_tenant_id() {
        let diagnostics = resolve(&[("client_secret", s("x"))], &[]).unwrap_err();
        let summaries: Vec<&str> = diagnostics.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Invalid provider argument client_secret: needs `client_id`",
                "Invalid provider argument client_secret: needs `tenant_id`"
            ]
        );
        assert!(
            diagnostics
                .iter()
                .all(|d| d.path == Some(AttributePath::root("client_secret")))
        );
        assert!(!diagnostics.to_string().contains("\"x\""));

        // From the environment, the message names the variable.
        let diagnostic = single_error(resolve(
            &[],
            &[("ARM_CLIENT_SECRET", "x"), ("ARM_TENANT_ID", UUID_A)],
        ));
        assert_eq!(
            diagnostic.summary,
            "Invalid environment variable ARM_CLIENT_SECRET: needs `client_id`"
        );
        assert_eq!(diagnostic.path, None);
    }

    #[test]
    fn plain_http_endpoints_only_for_loopback() {
        let diagnostic = single_error(resolve(
            &[("endpoints.authority_host", s("http://login.example.com"))],
            &[],
        ));
        assert_eq!(
            diagnostic.path,
            Some(AttributePath::root("endpoints").attr("authority_host"))
        );
        assert!(
            diagnostic
                .summary
                .starts_with("Invalid provider argument endpoints.authority_host")
        );
        let settings = resolve(
            &[("endpoints.authority_host", s("http://127.0.0.1:8443"))],
            &[
                ("VNETPEER_RESOURCE_MANAGER_ENDPOINT", "http://[::1]:9000"),
                ("VNETPEER_MICROSOFT_GRAPH_ENDPOINT", "http://localhost:9001"),
                ("AIVEN_WEB_URL", "http://127.0.0.1:9002"),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.azure.endpoints.authority_host.as_deref(),
            Some("http://127.0.0.1:8443")
        );
        assert_eq!(
            settings.azure.endpoints.resource_manager.as_deref(),
            Some("http://[::1]:9000")
        );
        assert_eq!(settings.aiven_api_url, "http://127.0.0.1:9002");
        let diagnostic = single_error(resolve(
            &[],
            &[("AIVEN_WEB_URL", "http://aiven.example.com")],
        ));
        assert!(diagnostic.summary.contains("AIVEN_WEB_URL"));
    }

    #[test]
    fn environment_names_are_checked_wherever_they_come_from() {
        let diagnostic = single_error(resolve(&[], &[("ARM_ENVIRONMENT", "mars")]));
        assert!(
            diagnostic.summary.contains("ARM_ENVIRONMENT"),
            "{}",
            diagnostic.summary
        );
        assert!(diagnostic.summary.contains("`usgovernment`"));
        let settings = resolve(
            &[("environment", s("china"))],
            &[("ARM_ENVIRONMENT", "mars")],
        )
        .unwrap();
        assert_eq!(settings.azure.environment, AzureEnvironment::China);
        let diagnostic = single_error(resolve(&[], &[("ARM_CLIENT_ID", "nope")]));
        assert!(
            diagnostic.summary.contains("ARM_CLIENT_ID") && diagnostic.summary.contains("UUID")
        );
    }

    #[test]
    fn boolean_variables() {
        let settings = resolve(&[], &[("ARM_USE_CLI", "false"), ("ARM_USE_MSI", "1")]).unwrap();
        assert!(!settings.azure.use_cli && settings.azure.use_msi);
        let settings = resolve(
            &[("use_cli", Value::Bool(true))],
            &[("ARM_USE_CLI", "false")],
        )
        .unwrap();
        assert!(settings.azure.use_cli);
        let diagnostic = single_error(resolve(&[], &[("ARM_USE_MSI", "yes please")]));
        assert!(diagnostic.summary.contains("ARM_USE_MSI"));
    }

    #[test]
    fn oidc_and_certificate_combinations() {
        let diagnostic = single_error(resolve(
            &[
                ("use_oidc", Value::Bool(true)),
                ("client_id", s(UUID_A)),
                ("tenant_id", s(UUID_B)),
            ],
            &[],
        ));
        assert_eq!(diagnostic.path, Some(AttributePath::root("use_oidc")));
        assert!(diagnostic.detail.contains("AZURE_FEDERATED_TOKEN_FILE"));
        let settings = resolve(
            &[
                ("use_oidc", Value::Bool(true)),
                ("client_id", s(UUID_A)),
                ("tenant_id", s(UUID_B)),
            ],
            &[("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token")],
        )
        .unwrap();
        assert_eq!(
            settings.azure.oidc_token_file_path,
            Some(PathBuf::from("/var/run/token"))
        );

        let diagnostic = single_error(resolve(&[("client_certificate_password", s("pw"))], &[]));
        assert_eq!(
            diagnostic.path,
            Some(AttributePath::root("client_certificate_password"))
        );
        let diagnostic = single_error(resolve(&[("client_certificate_path", s("/c.pem"))], &[]));
        assert!(diagnostic.summary.ends_with("needs `client_id`"));
    }

    #[test]
    fn unknown_values_during_plan_are_recorded_not_rejected() {
        let settings = resolve(
            &[
                ("client_secret", s("x")),
                ("client_id", Value::unknown()),
                ("tenant_id", Value::unknown()),
            ],
            &[("ARM_CLIENT_ID", "not used while unknown")],
        )
        .unwrap();
        assert_eq!(settings.azure.client_id, None);
        assert!(!settings.is_fully_known());
        assert!(settings.unknown.contains("client_id") && settings.unknown.contains("tenant_id"));
        let settings = resolve(&[("endpoints.authority_host", Value::unknown())], &[]).unwrap();
        assert!(settings.unknown.contains("endpoints.authority_host"));
        let settings = resolve(
            &[("endpoints", Value::unknown())],
            &[("VNETPEER_AUTHORITY_HOST", "http://not-used.example.com")],
        )
        .unwrap();
        assert!(settings.unknown.contains("endpoints.authority_host"));
        assert_eq!(settings.azure.endpoints.authority_host, None);
    }

    #[test]
    fn ci_variables_are_read_in_azurerm_order() {
        let github = resolve(
            &[],
            &[
                ("ARM_USE_OIDC", "true"),
                ("ARM_CLIENT_ID", UUID_A),
                ("ARM_TENANT_ID", UUID_B),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    "https://token.actions.example/x?a=1",
                ),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token"),
                ("SYSTEM_OIDCREQUESTURI", "https://dev.azure.example/oidc"),
            ],
        )
        .unwrap();
        assert_eq!(
            github.azure.oidc_request_url.as_deref(),
            Some("https://token.actions.example/x?a=1")
        );
        assert!(!format!("{github:?}").contains("gh-request-token"));
        let devops = resolve(
            &[],
            &[
                ("ARM_USE_OIDC", "true"),
                ("ARM_CLIENT_ID", UUID_A),
                ("ARM_TENANT_ID", UUID_B),
                ("SYSTEM_OIDCREQUESTURI", "https://dev.azure.example/oidc"),
                ("SYSTEM_ACCESSTOKEN", "ado-token"),
                ("ARM_OIDC_AZURE_SERVICE_CONNECTION_ID", "sc-1"),
            ],
        )
        .unwrap();
        assert_eq!(
            devops.azure.ado_pipeline_service_connection_id.as_deref(),
            Some("sc-1")
        );
        assert_eq!(
            devops
                .azure
                .oidc_request_token
                .as_ref()
                .map(SecretString::expose_secret),
            Some("ado-token")
        );
    }

    #[test]
    fn a_request_url_without_its_token_names_the_variables_to_set() {
        let diagnostic = single_error(resolve(
            &[],
            &[
                ("ARM_USE_OIDC", "true"),
                ("ARM_CLIENT_ID", UUID_A),
                ("ARM_TENANT_ID", UUID_B),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    "https://token.actions.example/x",
                ),
            ],
        ));
        assert_eq!(
            diagnostic.summary,
            "Invalid environment variable ACTIONS_ID_TOKEN_REQUEST_URL: needs `oidc_request_token`"
        );
        assert!(
            diagnostic.detail.contains("id-token: write"),
            "{}",
            diagnostic.detail
        );
        assert!(diagnostic.detail.contains("SYSTEM_ACCESSTOKEN"));
    }

    #[test]
    fn aks_workload_identity_fills_client_and_tenant_and_refuses_conflicts() {
        let settings = resolve(
            &[],
            &[
                ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true"),
                ("AZURE_CLIENT_ID", UUID_A),
                ("AZURE_TENANT_ID", UUID_B),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "/var/run/secrets/azure/tokens/azure-identity-token",
                ),
            ],
        )
        .unwrap();
        assert_eq!(settings.azure.client_id.as_deref(), Some(UUID_A));
        assert_eq!(settings.azure.tenant_id.as_deref(), Some(UUID_B));
        assert!(settings.azure.use_aks_workload_identity);
        let diagnostic = single_error(resolve(
            &[("client_id", s(UUID_B))],
            &[
                ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true"),
                ("AZURE_CLIENT_ID", UUID_A),
                ("ARM_TENANT_ID", UUID_B),
                ("AZURE_FEDERATED_TOKEN_FILE", "/token"),
            ],
        ));
        assert!(
            diagnostic
                .summary
                .contains("AZURE_CLIENT_ID: disagrees with `client_id`"),
            "{}",
            diagnostic.summary
        );
    }

    #[test]
    fn managed_identity_hosts_are_read_from_the_environment() {
        let settings = resolve(
            &[],
            &[
                ("ARM_USE_MSI", "true"),
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token"),
                ("IDENTITY_HEADER", "header-value"),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.azure.host.identity_endpoint.as_deref(),
            Some("http://127.0.0.1:41000/msi/token")
        );
        assert!(!format!("{settings:?}").contains("header-value"));
    }
}
