//! The bad input catalogue (issue 7): a table of invalid configurations, each run through the
//! real `terraform` in its own workspace, each with the diagnostic a user must see — its summary,
//! the resource (or provider) it names, and the argument Terraform highlights. Most are caught by
//! `terraform validate`; what needs the environment or a service is caught by `plan`, and the few
//! that only the service can judge fail the `apply` with nothing left behind.
//!
//! Every resource type also has a valid control configuration that must pass, so each case
//! differs from an accepted configuration by exactly the mistake it names.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance reliability_bad_input:: -- --nocapture
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value as Json;
use vnetpeer_emulator::{Emulator, Knobs};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

/// Parallel terraform invocations (each mostly waits on its provider processes).
const WORKERS: usize = 4;

const PROVIDER_ADDRESS: &str = "provider[\"registry.terraform.io/vnetpeer/vnetpeer\"]";
const CUSTOMER_TENANT: &str = "c1000000-0000-4000-8000-000000000001";
const CUSTOMER_SUBSCRIPTION: &str = "c1000000-0000-4000-8000-000000000002";
const CUSTOMER_VNET: &str = "/subscriptions/c1000000-0000-4000-8000-000000000002/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App";
const AIVEN_VNET: &str = "/subscriptions/a1000000-0000-4000-8000-000000000002/resourceGroups/aiven-rg-acme-prod/providers/Microsoft.Network/virtualNetworks/aiven-vnet-acme-prod";
const AIVEN_TENANT: &str = "a1000000-0000-4000-8000-000000000001";
const AIVEN_APP: &str = "55f300d4-fc50-4c5e-9222-e90a6e2187fb";
const PROJECT_VPC: &str = "a1000000-0000-4000-8000-0000000000f1";
const SOME_OBJECT_ID: &str = "0e5a3a1e-7d3c-4b7e-9a43-2f0c5d1b9e11";

/// Secrets written into bad configurations: none may appear in anything terraform prints.
const CASE_SECRETS: [&str; 3] = [
    "caseS3cret~NeverPrintedAnywhere0001",
    "caseS3cret~NeverPrintedAnywhere0002",
    "caseS3cret~NeverPrintedAnywhere0003",
];

/// Credential and endpoint variables of the provider, blanked in every workspace (an empty
/// value counts as unset) so the developer's shell cannot change what a case sees.
const PROVIDER_VARIABLES: [&str; 19] = [
    "ARM_SUBSCRIPTION_ID",
    "ARM_TENANT_ID",
    "ARM_CLIENT_ID",
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_CLIENT_CERTIFICATE_PASSWORD",
    "ARM_USE_OIDC",
    "ARM_OIDC_TOKEN",
    "ARM_OIDC_TOKEN_FILE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "ARM_USE_MSI",
    "ARM_MSI_ENDPOINT",
    "ARM_USE_CLI",
    "ARM_ENVIRONMENT",
    "AIVEN_TOKEN",
    "AIVEN_WEB_URL",
    "VNETPEER_AUTHORITY_HOST",
    "VNETPEER_RESOURCE_MANAGER_ENDPOINT",
    "VNETPEER_MICROSOFT_GRAPH_ENDPOINT",
];

/// Where a case is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// `terraform validate -json`, no credentials, no network.
    Validate,
    /// `terraform plan -json` against an emulator (shared: plans do not write).
    Plan,
    /// `terraform apply -json` against an emulator of its own, which must end as seeded.
    Apply,
}

/// Which source line Terraform must highlight.
#[derive(Clone, Debug)]
enum Anchor {
    /// The line of this argument (`name = ...`) or nested block (`name {`).
    Argument(&'static str),
    /// The header of the block that has the problem (a missing or cross-argument problem).
    Block,
}

/// One invalid configuration and what the user must be told.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    stage: Stage,
    hcl: String,
    /// Extra environment variables (the blanked provider variables are set first).
    env: Vec<(&'static str, String)>,
    /// Whether the provider is pointed at an emulator (as the seeded operator) before `env`.
    /// Provider-block cases start from a blank environment instead.
    emulator: bool,
    /// A substring of the error's summary.
    summary: String,
    /// The diagnostic's `address`: the resource, data source or provider block.
    address: String,
    anchor: Anchor,
}

/// The configuration of one resource or data source: its kind, type, and argument lines.
#[derive(Clone, Debug)]
struct Block {
    kind: &'static str,
    type_name: &'static str,
    lines: Vec<String>,
}

impl Block {
    fn resource(type_name: &'static str, arguments: &[(&str, String)]) -> Block {
        Block {
            kind: "resource",
            type_name,
            lines: arguments
                .iter()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect(),
        }
    }

    fn data(type_name: &'static str, arguments: &[(&str, String)]) -> Block {
        Block {
            kind: "data",
            ..Block::resource(type_name, arguments)
        }
    }

    /// The same block with `name` set to the HCL expression `value` (replaced or added).
    fn set(&self, name: &str, value: impl Into<String>) -> Block {
        let mut block = self.without(name);
        block.lines.push(format!("{name} = {}", value.into()));
        block
    }

    /// The same block without the argument `name`.
    fn without(&self, name: &str) -> Block {
        let mut block = self.clone();
        block.lines.retain(|line| !is_argument(line, name));
        block
    }

    /// The same block with a raw line (a nested block) added.
    fn with_line(&self, line: &str) -> Block {
        let mut block = self.clone();
        block.lines.push(line.to_owned());
        block
    }

    fn address(&self) -> String {
        match self.kind {
            "data" => format!("data.{}.x", self.type_name),
            _ => format!("{}.x", self.type_name),
        }
    }

    fn hcl(&self) -> String {
        let body: String = self
            .lines
            .iter()
            .flat_map(|line| line.lines())
            .map(|line| format!("  {line}\n"))
            .collect();
        format!(
            "{}{} \"{}\" \"x\" {{\n{body}}}\n",
            header(""),
            self.kind,
            self.type_name
        )
    }
}

fn is_argument(line: &str, name: &str) -> bool {
    line.strip_prefix(name).is_some_and(|rest| {
        rest.trim_start().starts_with('=') || rest.trim_start().starts_with('{')
    })
}

/// The `terraform` block, a provider block with `provider_body`, a variable whose value is
/// unknown during validate (and set from `TF_VAR_unknown` at plan), and a sensitive variable for
/// secrets (`TF_VAR_secret`). Secrets come from variables as in real configurations: a literal
/// in the file would be echoed by Terraform's own source snippet of any diagnostic on its line.
fn header(provider_body: &str) -> String {
    format!(
        r#"
{REQUIRED_PROVIDERS}
provider "vnetpeer" {{
{provider_body}}}

variable "unknown" {{
  type    = string
  default = null
}}

variable "secret" {{
  type      = string
  sensitive = true
  default   = null
}}

"#
    )
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// A provider block with `body` and a resource that uses it (terraform validate skips a
/// provider block that no resource uses). The resource plans without any request, so only the
/// provider block can fail.
fn provider_config(body: &str) -> String {
    let body: String = body
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("  {}\n", line.trim()))
        .collect();
    format!(
        "{}resource \"vnetpeer_custom_role\" \"x\" {{\n  name  = \"uses-the-provider\"\n  scope = \"/subscriptions/{CUSTOMER_SUBSCRIPTION}\"\n}}\n",
        header(&body)
    )
}

/// The valid configurations every case starts from.
struct Bases {
    aad_app: Block,
    service_principal: Block,
    custom_role: Block,
    role_assignment: Block,
    aiven_peering: Block,
    project_vpc: Block,
    client_config: Block,
    cross_tenant: Block,
}

impl Bases {
    fn new() -> Bases {
        Bases {
            aad_app: Block::resource(
                "vnetpeer_aad_app",
                &[("display_name", quoted("acme-peering"))],
            ),
            service_principal: Block::resource(
                "vnetpeer_service_principal",
                &[("client_id", quoted(AIVEN_APP))],
            ),
            custom_role: Block::resource(
                "vnetpeer_custom_role",
                &[
                    ("name", quoted("acme-aiven-peer")),
                    (
                        "scope",
                        quoted(&format!("/subscriptions/{CUSTOMER_SUBSCRIPTION}")),
                    ),
                ],
            ),
            role_assignment: Block::resource(
                "vnetpeer_role_assignment",
                &[
                    ("scope", quoted(CUSTOMER_VNET)),
                    ("principal_id", quoted(SOME_OBJECT_ID)),
                    ("role_definition_name", quoted("Network Contributor")),
                ],
            ),
            aiven_peering: Block::resource(
                "vnetpeer_aiven_vpc_peering",
                &[
                    ("project", quoted("acme-prod")),
                    ("project_vpc_id", quoted(PROJECT_VPC)),
                    ("vnet_id", quoted(CUSTOMER_VNET)),
                    ("peer_azure_app_id", quoted(SOME_OBJECT_ID)),
                    ("peer_azure_tenant_id", quoted(CUSTOMER_TENANT)),
                ],
            ),
            project_vpc: Block::data(
                "vnetpeer_aiven_project_vpc",
                &[
                    ("project", quoted("acme-prod")),
                    ("cloud_name", quoted("azure-switzerland-north")),
                ],
            ),
            client_config: Block::data("vnetpeer_client_config", &[]),
            cross_tenant: Block::resource(
                "vnetpeer_cross_tenant_vnet_peering",
                &[
                    ("name", quoted("to-aiven")),
                    ("vnet_id", quoted(CUSTOMER_VNET)),
                    ("remote_vnet_id", quoted(AIVEN_VNET)),
                    ("remote_tenant_id", quoted(AIVEN_TENANT)),
                    ("client_id", quoted(SOME_OBJECT_ID)),
                    ("application_object_id", quoted(SOME_OBJECT_ID)),
                    (
                        "aiven_peering_id",
                        quoted(&format!("acme-prod/{PROJECT_VPC}{CUSTOMER_VNET}")),
                    ),
                ],
            ),
        }
    }

    /// Every base, for the controls.
    fn all(&self) -> Vec<&Block> {
        vec![
            &self.aad_app,
            &self.service_principal,
            &self.custom_role,
            &self.role_assignment,
            &self.aiven_peering,
            &self.project_vpc,
            &self.client_config,
            &self.cross_tenant,
        ]
    }
}

/// Builds the table.
struct Catalogue {
    cases: Vec<Case>,
}

impl Catalogue {
    /// A problem in `block`, caught at `stage`, reported with `summary` at `anchor`.
    fn block(&mut self, name: &str, stage: Stage, block: Block, summary: &str, anchor: Anchor) {
        self.block_env(name, stage, block, &[], summary, anchor);
    }

    fn block_env(
        &mut self,
        name: &str,
        stage: Stage,
        block: Block,
        env: &[(&'static str, &str)],
        summary: &str,
        anchor: Anchor,
    ) {
        self.cases.push(Case {
            name: name.to_owned(),
            stage,
            hcl: block.hcl(),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            emulator: stage != Stage::Validate,
            summary: summary.to_owned(),
            address: block.address(),
            anchor,
        });
    }

    /// A problem in the provider block (`body`) or the environment (`env`).
    fn provider(
        &mut self,
        name: &str,
        stage: Stage,
        body: &str,
        env: &[(&'static str, &str)],
        summary: &str,
        anchor: Anchor,
    ) {
        self.cases.push(Case {
            name: name.to_owned(),
            stage,
            hcl: provider_config(body),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            emulator: false,
            summary: summary.to_owned(),
            address: PROVIDER_ADDRESS.to_owned(),
            anchor,
        });
    }
}

fn catalogue() -> Vec<Case> {
    use Anchor::{Argument, Block as AtBlock};
    use Stage::{Apply, Plan, Validate};
    let bases = Bases::new();
    let mut table = Catalogue { cases: Vec::new() };
    let long = |n: usize| quoted(&"x".repeat(n));
    let [secret_1, secret_2, secret_3] = CASE_SECRETS;

    // --- The provider block: malformed values (validate).
    let provider_argument = [
        (
            "subscription_id",
            "\"not-a-subscription\"",
            "Invalid subscription_id: must be a UUID",
        ),
        (
            "subscription_id",
            "\"{c1000000-0000-4000-8000-000000000002}\"",
            "Invalid subscription_id: must be a UUID",
        ),
        ("tenant_id", "\"contoso\"", "Invalid tenant_id"),
        (
            "client_id",
            "\"c1000000-0000-4000-8000-00000000001\"",
            "Invalid client_id: must be a UUID",
        ),
        (
            "environment",
            "\"mars\"",
            "Invalid environment: must be one of",
        ),
        (
            "environment",
            "\"AzurePublicCloud\"",
            "Invalid environment: must be one of",
        ),
        (
            "aiven_api_url",
            "\"http://api.aiven.io\"",
            "Invalid aiven_api_url: must be an `https://` URL",
        ),
        ("msi_endpoint", "\"not a url\"", "Invalid msi_endpoint"),
    ];
    for (argument, value, summary) in provider_argument {
        table.provider(
            &format!("provider {argument} = {value}"),
            Validate,
            &format!("{argument} = {value}"),
            &[],
            summary,
            Argument(argument),
        );
    }
    let endpoints = [
        ("authority_host", "http://login.example.com"),
        ("resource_manager", "http://10.0.0.1:8443"),
        ("microsoft_graph", "ftp://graph.example.com"),
        ("authority_host", "http://localhost.example.com"),
    ];
    for (argument, url) in endpoints {
        table.provider(
            &format!("provider endpoints.{argument} = {url}"),
            Validate,
            &format!("endpoints {{\n{argument} = \"{url}\"\n}}"),
            &[],
            &format!("Invalid endpoints.{argument}: must be an `https://` URL"),
            Argument(argument),
        );
    }

    // --- The provider block: combinations and the environment (checked at configure: plan).
    let operator_ids = format!(
        "tenant_id = \"{CUSTOMER_TENANT}\"\nclient_id = \"c1000000-0000-4000-8000-000000000011\""
    );
    table.provider(
        "client_secret without client_id",
        Plan,
        &format!("tenant_id = \"{CUSTOMER_TENANT}\"\nclient_secret = var.secret"),
        &[("TF_VAR_secret", secret_1)],
        "Invalid provider argument client_secret: needs `client_id`",
        Argument("client_secret"),
    );
    table.provider(
        "client_secret without tenant_id",
        Plan,
        &format!("client_id = \"{AIVEN_APP}\"\nclient_secret = var.secret"),
        &[("TF_VAR_secret", secret_1)],
        "Invalid provider argument client_secret: needs `tenant_id`",
        Argument("client_secret"),
    );
    table.provider(
        "client_certificate_password without a certificate",
        Plan,
        &format!("{operator_ids}\nclient_certificate_password = var.secret"),
        &[("TF_VAR_secret", secret_2)],
        "Invalid provider argument client_certificate_password: needs `client_certificate_path`",
        Argument("client_certificate_password"),
    );
    table.provider(
        "client_certificate_path without client_id",
        Plan,
        &format!("tenant_id = \"{CUSTOMER_TENANT}\"\nclient_certificate_path = \"/tmp/cert.pem\""),
        &[],
        "Invalid provider argument client_certificate_path: needs `client_id`",
        Argument("client_certificate_path"),
    );
    table.provider(
        "use_oidc without a token",
        Plan,
        &format!("{operator_ids}\nuse_oidc = true"),
        &[],
        "Invalid provider argument use_oidc: needs a token",
        Argument("use_oidc"),
    );
    table.provider(
        "use_oidc without client_id",
        Plan,
        &format!("tenant_id = \"{CUSTOMER_TENANT}\"\nuse_oidc = true\noidc_token = var.secret"),
        &[("TF_VAR_secret", secret_3)],
        "Invalid provider argument use_oidc: needs `client_id`",
        Argument("use_oidc"),
    );
    let environment = [
        ("ARM_TENANT_ID", "garbage"),
        ("ARM_SUBSCRIPTION_ID", "123"),
        ("ARM_CLIENT_ID", "aiven"),
        ("ARM_USE_MSI", "maybe"),
        ("ARM_ENVIRONMENT", "mars"),
        ("AIVEN_WEB_URL", "http://api.aiven.io"),
        (
            "VNETPEER_RESOURCE_MANAGER_ENDPOINT",
            "http://management.azure.com",
        ),
    ];
    for (variable, value) in environment {
        table.provider(
            &format!("{variable}={value}"),
            Plan,
            "",
            &[(variable, value)],
            &format!("Invalid environment variable {variable}"),
            AtBlock,
        );
    }
    table.provider(
        "ARM_CLIENT_SECRET without ARM_CLIENT_ID",
        Plan,
        "",
        &[
            ("ARM_TENANT_ID", CUSTOMER_TENANT),
            ("ARM_CLIENT_SECRET", secret_1),
        ],
        "Invalid environment variable ARM_CLIENT_SECRET: needs `client_id`",
        AtBlock,
    );

    // --- Missing or wrong credentials (the first call that needs a token, at plan).
    let no_credentials = [
        ("ARM_USE_CLI", "false"),
        ("ARM_CLIENT_ID", ""),
        ("ARM_CLIENT_SECRET", ""),
        ("ARM_TENANT_ID", CUSTOMER_TENANT),
        ("ARM_SUBSCRIPTION_ID", CUSTOMER_SUBSCRIPTION),
    ];
    table.block_env(
        "no Azure credential at all",
        Plan,
        bases.client_config.clone(),
        &no_credentials,
        "No Azure credential",
        AtBlock,
    );
    table.block_env(
        "wrong client secret",
        Plan,
        bases.client_config.clone(),
        &[("ARM_CLIENT_SECRET", secret_2)],
        "Cannot sign in to Azure",
        AtBlock,
    );
    table.block_env(
        "no Aiven token",
        Plan,
        bases.project_vpc.clone(),
        &[("AIVEN_TOKEN", "")],
        "Missing Aiven API token",
        AtBlock,
    );
    table.block_env(
        "wrong Aiven token",
        Plan,
        bases.project_vpc.clone(),
        &[("AIVEN_TOKEN", secret_3)],
        "Cannot list the project VPCs of Aiven project \"acme-prod\"",
        Argument("project"),
    );

    // --- vnetpeer_aad_app.
    let app = &bases.aad_app;
    let app_cases = [
        (
            "empty display_name",
            app.set("display_name", "\"\""),
            "Invalid display_name",
            "display_name",
        ),
        (
            "blank display_name",
            app.set("display_name", "\"   \""),
            "Invalid display_name",
            "display_name",
        ),
        (
            "oversized display_name",
            app.set("display_name", long(300)),
            "Invalid display_name",
            "display_name",
        ),
        (
            "single-tenant audience",
            app.set("sign_in_audience", "\"AzureADMyOrg\""),
            "Invalid sign_in_audience",
            "sign_in_audience",
        ),
        (
            "personal-accounts-only audience",
            app.set("sign_in_audience", "\"PersonalMicrosoftAccount\""),
            "Invalid sign_in_audience",
            "sign_in_audience",
        ),
        (
            "misspelt audience",
            app.set("sign_in_audience", "\"AzureADMultipleOrg\""),
            "Invalid sign_in_audience",
            "sign_in_audience",
        ),
        (
            "owner that is not an object id",
            app.set("owners", "[\"alice@contoso.com\"]"),
            "Invalid owners",
            "owners",
        ),
        (
            "secret_end_date without a time",
            app.set("secret_end_date", "\"2030-01-01\""),
            "Invalid secret_end_date",
            "secret_end_date",
        ),
        (
            "secret_lifetime in words",
            app.set("secret_lifetime", "\"1 year\""),
            "Invalid secret_lifetime",
            "secret_lifetime",
        ),
        (
            "zero secret_lifetime",
            app.set("secret_lifetime", "\"0s\""),
            "Invalid secret_lifetime: must be positive",
            "secret_lifetime",
        ),
        (
            "secret_end_date and secret_lifetime",
            app.set("secret_end_date", "\"2030-01-01T00:00:00Z\"")
                .set("secret_lifetime", "\"8760h\""),
            "Conflicting secret_end_date and secret_lifetime",
            "secret_lifetime",
        ),
        (
            "create timeout in words",
            app.with_line("timeouts {\n  create = \"ten minutes\"\n}"),
            "Invalid timeouts.create",
            "create",
        ),
    ];
    for (name, block, summary, argument) in app_cases {
        table.block(
            &format!("aad_app: {name}"),
            Validate,
            block,
            summary,
            Argument(argument),
        );
    }
    table.block_env(
        "aad_app: secret_end_date and secret_lifetime, one unknown during validate",
        Plan,
        app.set("secret_end_date", "var.unknown")
            .set("secret_lifetime", "\"8760h\""),
        &[("TF_VAR_unknown", "2030-01-01T00:00:00Z")],
        "Conflicting secret_end_date and secret_lifetime",
        Argument("secret_lifetime"),
    );
    table.block(
        "aad_app: secret_end_date in the past",
        Apply,
        app.set("secret_end_date", "\"2020-01-01T00:00:00Z\""),
        "secret_end_date is in the past",
        Argument("secret_end_date"),
    );

    // --- vnetpeer_service_principal.
    let sp = &bases.service_principal;
    for (name, value) in [
        ("an application name as client_id", "\"Aiven\""),
        (
            "client_id without dashes",
            "\"55f300d4fc504c5e9222e90a6e2187fb\"",
        ),
    ] {
        table.block(
            &format!("service_principal: {name}"),
            Validate,
            sp.set("client_id", value),
            "Invalid client_id: must be a UUID",
            Argument("client_id"),
        );
    }

    // --- vnetpeer_custom_role.
    let role = &bases.custom_role;
    let role_cases = [
        (
            "resource-group scope",
            role.set(
                "scope",
                quoted(&format!(
                    "/subscriptions/{CUSTOMER_SUBSCRIPTION}/resourceGroups/rg-Workload"
                )),
            ),
            "Invalid scope",
            "scope",
        ),
        (
            "scope without /subscriptions/",
            role.set("scope", quoted(CUSTOMER_SUBSCRIPTION)),
            "Invalid scope",
            "scope",
        ),
        (
            "empty name",
            role.set("name", "\"\""),
            "Invalid name",
            "name",
        ),
        (
            "oversized name",
            role.set("name", long(600)),
            "Invalid name",
            "name",
        ),
        (
            "oversized description",
            role.set("description", long(3000)),
            "Invalid description",
            "description",
        ),
        (
            "no actions",
            role.set("actions", "[]"),
            "Invalid actions",
            "actions",
        ),
        (
            "blank action",
            role.set("actions", "[\"\"]"),
            "Invalid actions",
            "actions",
        ),
        (
            "assignable scope that is not an ARM scope",
            role.set("assignable_scopes", "[\"/resourceGroups/rg-Workload\"]"),
            "Invalid assignable_scopes",
            "assignable_scopes",
        ),
    ];
    for (name, block, summary, argument) in role_cases {
        table.block(
            &format!("custom_role: {name}"),
            Validate,
            block,
            summary,
            Argument(argument),
        );
    }

    // --- vnetpeer_role_assignment.
    let assignment = &bases.role_assignment;
    let assignment_cases = [
        ("scope with a bad subscription id", assignment.set("scope", "\"/subscriptions/not-a-uuid\""), "Invalid scope", "scope"),
        (
            "scope without the leading slash",
            assignment.set("scope", quoted(CUSTOMER_VNET.trim_start_matches('/'))),
            "Invalid scope",
            "scope",
        ),
        (
            "scope ending in a type without a name",
            assignment.set("scope", quoted(&format!("{CUSTOMER_VNET}/subnets"))),
            "Invalid scope",
            "scope",
        ),
        ("principal_id that is a name", assignment.set("principal_id", "\"aiven\""), "Invalid principal_id", "principal_id"),
        (
            "role name given as role_definition_id",
            assignment.without("role_definition_name").set("role_definition_id", "\"Network Contributor\""),
            "Invalid role_definition_id",
            "role_definition_id",
        ),
        (
            "role_definition_id and role_definition_name",
            assignment.set(
                "role_definition_id",
                quoted(&format!("/subscriptions/{CUSTOMER_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7")),
            ),
            "Only one of role_definition_id and role_definition_name may be set",
            "role_definition_name",
        ),
        ("blank role_definition_name", assignment.set("role_definition_name", "\" \""), "Invalid role_definition_name", "role_definition_name"),
        ("unknown principal_type", assignment.set("principal_type", "\"Application\""), "Invalid principal_type", "principal_type"),
    ];
    for (name, block, summary, argument) in assignment_cases {
        table.block(
            &format!("role_assignment: {name}"),
            Validate,
            block,
            summary,
            Argument(argument),
        );
    }
    table.block(
        "role_assignment: neither role_definition_id nor role_definition_name",
        Validate,
        assignment.without("role_definition_name"),
        "One of role_definition_id and role_definition_name is required",
        AtBlock,
    );
    table.block_env(
        "role_assignment: role_definition_id unknown during validate and role_definition_name",
        Plan,
        assignment.set("role_definition_id", "var.unknown"),
        &[(
            "TF_VAR_unknown",
            &format!("/subscriptions/{CUSTOMER_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"),
        )],
        "Only one of role_definition_id and role_definition_name may be set",
        Argument("role_definition_name"),
    );
    table.block(
        "role_assignment: role name that does not exist",
        Apply,
        assignment
            .set("role_definition_name", "\"Netwerk Contributor\"")
            .with_line("timeouts {\n  create = \"4s\"\n}"),
        "No role named \"Netwerk Contributor\" is visible at the scope",
        Argument("role_definition_name"),
    );

    // --- vnetpeer_aiven_vpc_peering.
    let peering = &bases.aiven_peering;
    let peering_cases = [
        ("project with a slash", peering.set("project", "\"acme/prod\""), "Invalid project", "project"),
        ("project_vpc_id that is not a UUID", peering.set("project_vpc_id", "\"vpc-123\""), "Invalid project_vpc_id", "project_vpc_id"),
        (
            "vnet_id of a subnet",
            peering.set("vnet_id", quoted(&format!("{CUSTOMER_VNET}/subnets/default"))),
            "Invalid vnet_id",
            "vnet_id",
        ),
        (
            "vnet_id of a resource group",
            peering.set("vnet_id", quoted(&format!("/subscriptions/{CUSTOMER_SUBSCRIPTION}/resourceGroups/rg-Workload"))),
            "Invalid vnet_id",
            "vnet_id",
        ),
        (
            "vnet_id of a storage account",
            peering.set(
                "vnet_id",
                quoted(&format!("/subscriptions/{CUSTOMER_SUBSCRIPTION}/resourceGroups/rg-Workload/providers/Microsoft.Storage/storageAccounts/acme")),
            ),
            "Invalid vnet_id",
            "vnet_id",
        ),
        ("peer_azure_app_id that is a name", peering.set("peer_azure_app_id", "\"acme-peering\""), "Invalid peer_azure_app_id", "peer_azure_app_id"),
        (
            "peer_azure_tenant_id as a domain",
            peering.set("peer_azure_tenant_id", "\"contoso.onmicrosoft.com\""),
            "Invalid peer_azure_tenant_id",
            "peer_azure_tenant_id",
        ),
        (
            "CIDR with host bits",
            peering.set("user_peer_network_cidrs", "[\"10.10.0.1/16\"]"),
            "Invalid user_peer_network_cidrs",
            "user_peer_network_cidrs",
        ),
        (
            "CIDR prefix too long",
            peering.set("user_peer_network_cidrs", "[\"10.10.0.0/33\"]"),
            "Invalid user_peer_network_cidrs",
            "user_peer_network_cidrs",
        ),
        (
            "CIDR without a prefix",
            peering.set("user_peer_network_cidrs", "[\"10.10.0.0\"]"),
            "Invalid user_peer_network_cidrs",
            "user_peer_network_cidrs",
        ),
    ];
    for (name, block, summary, argument) in peering_cases {
        table.block(
            &format!("aiven_vpc_peering: {name}"),
            Validate,
            block,
            summary,
            Argument(argument),
        );
    }
    table.block(
        "aiven_vpc_peering: user_peer_network_cidrs overlapping the project VPC",
        Plan,
        peering.set("user_peer_network_cidrs", "[\"10.20.0.0/16\"]"),
        "The VNet and the Aiven project VPC address ranges overlap",
        Argument("user_peer_network_cidrs"),
    );

    // --- vnetpeer_cross_tenant_vnet_peering.
    let cross = &bases.cross_tenant;
    let cross_cases = [
        ("name with a space", cross.set("name", "\"to aiven\""), "Invalid name", "name"),
        ("name ending in a dot", cross.set("name", "\"to-aiven.\""), "Invalid name", "name"),
        ("oversized name", cross.set("name", long(81)), "Invalid name", "name"),
        (
            "vnet_id of a subnet",
            cross.set("vnet_id", quoted(&format!("{CUSTOMER_VNET}/subnets/default"))),
            "Invalid vnet_id",
            "vnet_id",
        ),
        (
            "remote_vnet_id of a resource group",
            cross.set(
                "remote_vnet_id",
                quoted("/subscriptions/a1000000-0000-4000-8000-000000000002/resourceGroups/aiven-rg-acme-prod"),
            ),
            "Invalid remote_vnet_id",
            "remote_vnet_id",
        ),
        (
            "remote_tenant_id as a domain",
            cross.set("remote_tenant_id", "\"aivencloud.onmicrosoft.com\""),
            "Invalid remote_tenant_id",
            "remote_tenant_id",
        ),
        ("client_id that is a name", cross.set("client_id", "\"acme-peering\""), "Invalid client_id", "client_id"),
        (
            "application_object_id that is not a UUID",
            cross.set("application_object_id", "\"acme-peering\""),
            "Invalid application_object_id",
            "application_object_id",
        ),
        (
            "client_secret and application_object_id",
            cross.set("client_secret", "var.secret"),
            "Conflicting credentials for the peering application",
            "client_secret",
        ),
        (
            "client_secret unknown during validate and application_object_id",
            cross.set("client_secret", "var.unknown"),
            "Conflicting credentials for the peering application",
            "client_secret",
        ),
        (
            "a VNet peered with itself",
            cross.set("remote_vnet_id", quoted(CUSTOMER_VNET)),
            "A virtual network cannot peer with itself",
            "remote_vnet_id",
        ),
        (
            "aiven_peering_id of another VNet",
            cross.set(
                "aiven_peering_id",
                quoted(&format!("acme-prod/{PROJECT_VPC}{AIVEN_VNET}")),
            ),
            "The Aiven peering is for another virtual network",
            "aiven_peering_id",
        ),
        (
            "aiven_peering_id without the VNet",
            cross.set("aiven_peering_id", quoted(&format!("acme-prod/{PROJECT_VPC}"))),
            "Invalid aiven_peering_id",
            "aiven_peering_id",
        ),
    ];
    for (name, block, summary, argument) in cross_cases {
        table.block(
            &format!("cross_tenant_vnet_peering: {name}"),
            Validate,
            block,
            summary,
            Argument(argument),
        );
    }
    table.block(
        "cross_tenant_vnet_peering: neither client_secret nor application_object_id",
        Validate,
        cross.without("application_object_id"),
        "Missing credential for the peering application",
        AtBlock,
    );

    // --- data vnetpeer_aiven_project_vpc.
    let vpc = &bases.project_vpc;
    table.block(
        "aiven_project_vpc: neither cloud_name nor project_vpc_id",
        Validate,
        vpc.without("cloud_name"),
        "Missing project VPC selector",
        AtBlock,
    );
    table.block(
        "aiven_project_vpc: cloud_name and project_vpc_id",
        Validate,
        vpc.set("project_vpc_id", quoted(PROJECT_VPC)),
        "Conflicting project VPC selectors",
        Argument("project_vpc_id"),
    );
    table.block(
        "aiven_project_vpc: project_vpc_id that is not a UUID",
        Validate,
        vpc.without("cloud_name").set("project_vpc_id", "\"vpc-1\""),
        "Invalid project_vpc_id",
        Argument("project_vpc_id"),
    );
    table.block(
        "aiven_project_vpc: blank project",
        Validate,
        vpc.set("project", "\"\""),
        "Invalid project",
        Argument("project"),
    );
    table.block(
        "aiven_project_vpc: cloud without a project VPC",
        Plan,
        vpc.set("cloud_name", "\"azure-mars-central\""),
        "No project VPC in cloud \"azure-mars-central\"",
        Argument("cloud_name"),
    );

    table.cases
}

/// What terraform reported for one case.
struct Outcome {
    status: i32,
    diagnostics: Vec<Json>,
    transcript: String,
}

fn clean_workspace(emulator: Option<&Emulator>) -> TerraformWorkspace {
    let mut workspace = match emulator {
        Some(emulator) => TerraformWorkspace::for_emulator(emulator),
        None => TerraformWorkspace::new(),
    };
    if emulator.is_none() {
        for variable in PROVIDER_VARIABLES {
            workspace.set_env(variable, "");
        }
    }
    workspace
}

/// Runs one case in its own workspace.
fn run(case: &Case, emulator: Option<&Emulator>) -> (TerraformWorkspace, Outcome) {
    let mut workspace = clean_workspace(emulator);
    if emulator.is_some() {
        // Start from no provider settings but the emulator's, then apply the case's.
        for variable in PROVIDER_VARIABLES {
            if !is_emulator_variable(variable) {
                workspace.set_env(variable, "");
            }
        }
    }
    for (name, value) in &case.env {
        workspace.set_env(*name, value);
    }
    workspace.write_config(&case.hcl);
    let output = match case.stage {
        Stage::Validate => workspace.run(&["validate", "-json", "-no-color"]),
        Stage::Plan => workspace.run(&["plan", "-json", "-input=false", "-no-color"]),
        Stage::Apply => workspace.run(&[
            "apply",
            "-json",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]),
    };
    let diagnostics = match case.stage {
        Stage::Validate => serde_json::from_str::<Json>(&output.stdout)
            .ok()
            .and_then(|report| report["diagnostics"].as_array().cloned())
            .unwrap_or_default(),
        Stage::Plan | Stage::Apply => output
            .stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Json>(line).ok())
            .filter(|message| message["type"] == "diagnostic")
            .map(|message| message["diagnostic"].clone())
            .collect(),
    };
    let outcome = Outcome {
        status: output.status,
        diagnostics,
        transcript: workspace.transcript(),
    };
    (workspace, outcome)
}

fn is_emulator_variable(variable: &str) -> bool {
    matches!(
        variable,
        "ARM_TENANT_ID"
            | "ARM_SUBSCRIPTION_ID"
            | "ARM_CLIENT_ID"
            | "ARM_CLIENT_SECRET"
            | "ARM_USE_CLI"
            | "AIVEN_TOKEN"
            | "AIVEN_WEB_URL"
            | "VNETPEER_AUTHORITY_HOST"
            | "VNETPEER_RESOURCE_MANAGER_ENDPOINT"
            | "VNETPEER_MICROSOFT_GRAPH_ENDPOINT"
    )
}

/// The errors, one line each, for failure messages.
fn describe(diagnostics: &[Json]) -> String {
    diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            format!(
                "  [{}] {} | at: {}",
                d["address"].as_str().unwrap_or("-"),
                d["summary"].as_str().unwrap_or_default(),
                d["snippet"]["code"].as_str().unwrap_or("-").trim()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the highlighted line is the one `anchor` names.
fn anchored(diagnostic: &Json, anchor: &Anchor) -> bool {
    let code = diagnostic["snippet"]["code"].as_str().unwrap_or_default();
    let line = code.lines().next().unwrap_or_default().trim();
    match anchor {
        Anchor::Argument(name) => is_argument(line, name),
        Anchor::Block => ["provider ", "resource ", "data "]
            .iter()
            .any(|keyword| line.starts_with(keyword)),
    }
}

/// Checks one outcome; returns what is wrong.
fn judge(case: &Case, outcome: &Outcome) -> Result<(), String> {
    if outcome.status == 0 {
        return Err(format!("terraform accepted it:\n{}", outcome.transcript));
    }
    let errors: Vec<&Json> = outcome
        .diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    let found = errors.iter().find(|d| {
        d["summary"]
            .as_str()
            .is_some_and(|summary| summary.contains(&case.summary))
            && d["address"].as_str() == Some(case.address.as_str())
            && anchored(d, &case.anchor)
    });
    if found.is_none() {
        return Err(format!(
            "expected an error containing {:?} for {} at {:?}; got:\n{}",
            case.summary,
            case.address,
            case.anchor,
            describe(&outcome.diagnostics)
        ));
    }
    for secret in CASE_SECRETS {
        if outcome.transcript.contains(secret) {
            return Err(format!("the secret {}… was printed", &secret[..8]));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_configuration_is_rejected_with_the_right_diagnostic_at_the_right_argument() {
    let cases = catalogue();
    let bases = Bases::new();
    // Plans read but never write: one emulator serves them all. Applies get their own.
    let shared = Emulator::start(Knobs::test()).await;
    let mut apply_emulators = Vec::new();
    for case in cases.iter().filter(|case| case.stage == Stage::Apply) {
        apply_emulators.push((case.name.clone(), Emulator::start(Knobs::test()).await));
    }
    let controls: Vec<Block> = bases.all().into_iter().cloned().collect();

    let (failures, counts) = tokio::task::spawn_blocking({
        let shared = shared.clone();
        let apply_emulators = apply_emulators.clone();
        move || run_all(&cases, &controls, &shared, &apply_emulators)
    })
    .await
    .expect("the catalogue runs");

    let [validate, plan, apply] = counts;
    println!(
        "bad input catalogue: {} invalid configurations rejected with the expected diagnostic and \
         argument ({validate} by validate, {plan} by plan, {apply} by apply, nothing left behind); \
         {} valid controls accepted",
        validate + plan + apply,
        Bases::new().all().len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        validate + plan + apply >= 40,
        "the catalogue has at least 40 cases"
    );
    assert!(shared.violations().is_empty(), "{:?}", shared.violations());
}

/// Runs the controls and the cases on [`WORKERS`] threads; returns the failures and the number
/// of rejected cases per stage.
fn run_all(
    cases: &[Case],
    controls: &[Block],
    shared: &Emulator,
    apply_emulators: &[(String, Emulator)],
) -> (Vec<String>, [usize; 3]) {
    let failures = Mutex::new(Vec::new());
    let rejected = [
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ];
    let next = AtomicUsize::new(0);
    let jobs = controls.len() + cases.len();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= jobs {
                        break;
                    }
                    let failure = if index < controls.len() {
                        check_control(&controls[index]).err()
                    } else {
                        let case = &cases[index - controls.len()];
                        let emulator = match case.stage {
                            _ if !case.emulator => None,
                            Stage::Validate => None,
                            Stage::Plan => Some(shared),
                            Stage::Apply => apply_emulators
                                .iter()
                                .find(|(name, _)| *name == case.name)
                                .map(|(_, emulator)| emulator),
                        };
                        let result = check_case(case, emulator);
                        if result.is_ok() {
                            let stage = case.stage as usize;
                            rejected[stage].fetch_add(1, Ordering::SeqCst);
                        }
                        result
                            .err()
                            .map(|error| format!("case {:?}: {error}", case.name))
                    };
                    if let Some(failure) = failure {
                        failures.lock().expect("failures").push(failure);
                    }
                }
            });
        }
    });
    let counts = rejected.map(AtomicUsize::into_inner);
    (failures.into_inner().expect("failures"), counts)
}

fn check_case(case: &Case, emulator: Option<&Emulator>) -> Result<(), String> {
    let seeded = match (case.stage, emulator) {
        (Stage::Apply, Some(emulator)) => Some(emulator.snapshot()),
        _ => None,
    };
    let (workspace, outcome) = run(case, emulator);
    judge(case, &outcome)?;
    if let (Some(seeded), Some(emulator)) = (seeded, emulator) {
        if emulator.snapshot() != seeded {
            return Err("the failed apply left something behind in the emulator".to_owned());
        }
        if !emulator.violations().is_empty() {
            return Err(format!("violations: {:?}", emulator.violations()));
        }
    }
    if let Some(emulator) = emulator {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            workspace.assert_no_secret_leaks(emulator, &CASE_SECRETS)
        }))
        .map_err(|_| "a secret leaked into the log or the output".to_owned())?;
    }
    Ok(())
}

/// A valid configuration must pass `terraform validate`.
fn check_control(block: &Block) -> Result<(), String> {
    let workspace = clean_workspace(None);
    workspace.write_config(&block.hcl());
    let (output, report) = workspace.validate();
    if output.success() && report["valid"] == true {
        Ok(())
    } else {
        Err(format!(
            "control {} was rejected:\n{}",
            block.type_name,
            describe(
                report["diagnostics"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
            )
        ))
    }
}
