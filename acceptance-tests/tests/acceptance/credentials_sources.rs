//! Every credential source a pipeline or an Azure host offers (issue 11), through the real
//! `terraform` with environment variables only, as the platform sets them: `examples/complete`
//! applied, re-planned empty and destroyed back to the seeded world, with no federated token,
//! request token, identity header, key, assertion or access token in the `TF_LOG=trace` log,
//! anything terraform printed, or the state.
//!
//! Each test also checks what it costs: requests to the source per Entra ID token (a fresh
//! federated token for every exchange; two requests per Arc token) and prints the token requests
//! of the apply.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance credentials_sources:: -- --nocapture
//! ```

use crate::terraform_common::{applied, blocking};
use std::time::Duration;

use serde_json::Value as Json;
use vnetpeer_emulator::identity_hosts::{self, GITHUB_ISSUER, HCP_TERRAFORM_ISSUER};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformOutput, TerraformWorkspace};

use crate::reliability_common::install_complete_example;

/// Every variable a credential source reads: cleared first, so that only what a test sets (and
/// nothing from the machine running the tests) selects the credential.
const CREDENTIAL_VARIABLES: &[&str] = &[
    "ARM_CLIENT_ID",
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_CLIENT_CERTIFICATE_PASSWORD",
    "ARM_USE_OIDC",
    "ARM_OIDC_TOKEN",
    "ARM_OIDC_TOKEN_FILE_PATH",
    "ARM_OIDC_REQUEST_URL",
    "ARM_OIDC_REQUEST_TOKEN",
    "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
    "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
    "ARM_USE_AKS_WORKLOAD_IDENTITY",
    "ARM_USE_MSI",
    "ARM_MSI_ENDPOINT",
    "ARM_MSI_OBJECT_ID",
    "ARM_MSI_RESOURCE_ID",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_OIDCREQUESTURI",
    "SYSTEM_ACCESSTOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZUREPS_HOST_ENVIRONMENT",
];

/// A workspace on `emulator` with `examples/complete`, no credential but `env`.
pub fn workspace_with(emulator: &Emulator, env: &[(&str, String)]) -> TerraformWorkspace {
    let mut workspace = TerraformWorkspace::for_emulator(emulator);
    for name in CREDENTIAL_VARIABLES {
        workspace.set_env(*name, "");
    }
    for (name, value) in env {
        workspace.set_env(*name, value.clone());
    }
    workspace
}

/// What one source cost during the apply.
#[derive(Debug)]
struct Figures {
    /// Entra ID / managed-identity token requests of the provider's own identity.
    token_requests: usize,
    /// Requests to the federated token issuer or the identity endpoint.
    source_requests: usize,
    /// How long `terraform apply` took.
    apply_duration: Duration,
}

fn is_own_token_request(record: &RequestRecord, emulator: &Emulator) -> bool {
    let own_app = &emulator.seed().operator_client_id;
    let managed_identity = &emulator.seed().managed_identity_client_id;
    record.service == Service::Login
        && record.status == 200
        && record.credential.as_ref().is_some_and(|credential| {
            credential.app_id.as_deref() == Some(own_app.as_str())
                || credential.app_id.as_deref() == Some(managed_identity.as_str())
        })
}

/// `examples/complete` applied, re-planned empty, destroyed; returns the apply's figures.
async fn runbook(
    emulator: &Emulator,
    workspace: TerraformWorkspace,
    source_path: &'static str,
) -> Figures {
    let seeded = emulator.snapshot();
    install_complete_example(&workspace);
    let before = emulator.requests().len();
    let started = std::time::Instant::now();
    let workspace = applied(workspace).await;
    let apply_duration = started.elapsed();
    let applied = emulator.requests_since(before);
    let figures = Figures {
        token_requests: applied
            .iter()
            .filter(|record| is_own_token_request(record, emulator))
            .count(),
        source_requests: applied
            .iter()
            .filter(|record| record.path == source_path)
            .count(),
        apply_duration,
    };
    let outputs = workspace.output_json();
    assert_eq!(outputs["aiven_peering_state"]["value"], "ACTIVE");
    assert_eq!(outputs["azure_peering_state"]["value"], "Connected");
    let workspace = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(
            code, 0,
            "a plan right after the apply wants changes:\n{plan}"
        );
        workspace.destroy();
        workspace
    })
    .await;
    assert_seeded_world(emulator, &seeded);
    assert_eq!(
        emulator.violations(),
        vec![],
        "requests the real services would refuse"
    );
    let secrets = identity_hosts::credential_secrets(emulator);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    workspace.assert_no_secret_leaks(emulator, &secrets);
    let state = workspace.state_file_text();
    for secret in &secrets {
        assert!(
            secret.len() < 8 || !state.contains(secret),
            "a credential ({}…) is in the state",
            &secret[..3]
        );
    }
    figures
}

/// The world equals the seeded one, except the deleted applications Entra ID keeps for 30 days.
#[track_caller]
fn assert_seeded_world(emulator: &Emulator, seeded: &Json) {
    let mut now = emulator.snapshot();
    let mut seeded = seeded.clone();
    for world in [&mut now, &mut seeded] {
        if let Some(identity) = world.get_mut("identity").and_then(Json::as_object_mut) {
            identity.remove("deleted_applications");
        }
    }
    assert!(now == seeded, "the world differs from before the apply");
}

/// With hour-long access tokens an apply needs one token per audience and provider process:
/// ARM and Graph in the process that applies, and ARM in the process that plans (the Aiven
/// peering's plan-time overlap check reads the VNet's address space as soon as the VNet is
/// known, before the application of the same apply exists).
const TOKENS_PER_APPLY: usize = 3;

fn print(source: &str, figures: &Figures) {
    eprintln!(
        "credential figures: {source}: {} token requests in the apply ({} ms), {} requests to the source",
        figures.token_requests,
        figures.apply_duration.as_millis(),
        figures.source_requests
    );
}

fn seed_env(emulator: &Emulator) -> Vec<(&'static str, String)> {
    let seed = emulator.seed();
    vec![
        ("ARM_TENANT_ID", seed.customer_tenant_id.clone()),
        ("ARM_CLIENT_ID", seed.operator_client_id.clone()),
    ]
}

/// Federated tokens that live [`FEDERATED_TOKEN_LIFETIME`] (at most) and access tokens that
/// live 1 s, while the apply waits [`APPLY_OUTLASTS_THE_TOKENS`] for Aiven alone.
fn knobs_with_tokens_shorter_than_the_apply() -> Knobs {
    Knobs {
        token_lifetime: Duration::from_secs(1),
        aiven_peering_activation: APPLY_OUTLASTS_THE_TOKENS,
        ..Knobs::test()
    }
}

/// A JWT's `exp` is in whole seconds, so a token asked to live 2 s has between 1 and 2 s left
/// when it is minted (one asked to live 1 s could be minted with milliseconds left).
const FEDERATED_TOKEN_LIFETIME: Duration = Duration::from_secs(2);

/// Longer than any federated token lives: the apply outlasts every one of them.
const APPLY_OUTLASTS_THE_TOKENS: Duration = Duration::from_millis(2500);

/// GitHub's ID tokens die before the apply ends, and access tokens are renewed within it: every
/// Entra ID exchange needs a new ID token, and none past its `exp` is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_request_url_with_tokens_shorter_than_the_apply() {
    let emulator = Emulator::start(knobs_with_tokens_shorter_than_the_apply()).await;
    let subject = "repo:contoso/network:ref:refs/heads/main";
    identity_hosts::federate_operator(&emulator, GITHUB_ISSUER, subject);
    let (url, request_token) =
        identity_hosts::github_job(&emulator, subject, FEDERATED_TOKEN_LIFETIME);
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", url),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
    ]);
    let workspace = workspace_with(&emulator, &env);
    let figures = runbook(&emulator, workspace, identity_hosts::GITHUB_TOKEN_PATH).await;
    print("GitHub Actions", &figures);
    // Access tokens renewed within the apply (the apply outlived them), each time with a new
    // ID token: one cached ID token would have been dead by the renewal.
    assert!(figures.token_requests > TOKENS_PER_APPLY, "{figures:?}");
    assert_eq!(
        figures.source_requests, figures.token_requests,
        "one fresh ID token per Entra ID token request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_devops_service_connection() {
    let emulator = Emulator::start(Knobs::test()).await;
    let connection = "5f1c2a5e-0000-4000-8000-00000000ad01";
    let (url, access_token, issuer, subject) =
        identity_hosts::azure_devops_job(&emulator, connection, Duration::from_secs(300));
    identity_hosts::federate_operator(&emulator, &issuer, &subject);
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("SYSTEM_OIDCREQUESTURI", url),
        ("SYSTEM_ACCESSTOKEN", access_token),
        (
            "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
            connection.to_owned(),
        ),
    ]);
    let figures = runbook(
        &emulator,
        workspace_with(&emulator, &env),
        identity_hosts::AZURE_DEVOPS_TOKEN_PATH,
    )
    .await;
    print("Azure DevOps", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
    assert_eq!(figures.source_requests, figures.token_requests);
}

/// The file holds a token that lives at most 2 s (the apply takes longer) and is replaced every
/// 300 ms, and access tokens live 1 s, so they are renewed during the apply from whatever the
/// file holds then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_token_file() {
    let emulator = Emulator::start(knobs_with_tokens_shorter_than_the_apply()).await;
    let issuer = "https://oidc.ci.contoso.example";
    let subject = "pipeline:network:main";
    identity_hosts::federate_operator(&emulator, issuer, subject);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("federated-token");
    let _rotation = identity_hosts::spawn_token_file_rotation(
        &emulator,
        &path,
        issuer,
        subject,
        FEDERATED_TOKEN_LIFETIME,
        Duration::from_millis(300),
    )
    .expect("token file");
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("ARM_OIDC_TOKEN_FILE_PATH", path.display().to_string()),
    ]);
    let figures = runbook(&emulator, workspace_with(&emulator, &env), "-").await;
    print("token file (rotating)", &figures);
    // Access tokens renewed within the apply, each time with the file read again.
    assert!(figures.token_requests > TOKENS_PER_APPLY, "{figures:?}");
}

/// AKS: the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE (and
/// AZURE_AUTHORITY_HOST); the pipeline sets ARM_USE_AKS_WORKLOAD_IDENTITY only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aks_workload_identity() {
    let emulator = Emulator::start(Knobs::test()).await;
    let issuer =
        "https://westeurope.oic.prod-aks.azure.com/c1000000-0000-4000-8000-000000000001/0d2b/";
    let subject = "system:serviceaccount:atlantis:atlantis";
    identity_hosts::federate_operator(&emulator, issuer, subject);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("azure-identity-token");
    let _rotation = identity_hosts::spawn_token_file_rotation(
        &emulator,
        &path,
        issuer,
        subject,
        Duration::from_secs(3600),
        Duration::from_secs(60),
    )
    .expect("token file");
    let seed = emulator.seed().clone();
    let env = [
        ("ARM_TENANT_ID", String::new()),
        ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true".to_owned()),
        ("AZURE_CLIENT_ID", seed.operator_client_id.clone()),
        ("AZURE_TENANT_ID", seed.customer_tenant_id.clone()),
        ("AZURE_FEDERATED_TOKEN_FILE", path.display().to_string()),
        (
            "AZURE_AUTHORITY_HOST",
            "https://login.microsoftonline.com/".to_owned(),
        ),
    ];
    let figures = runbook(&emulator, workspace_with(&emulator, &env), "-").await;
    print("AKS workload identity", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
}

/// HCP Terraform's dynamic credentials for the default configuration: ARM_USE_OIDC,
/// ARM_CLIENT_ID and ARM_OIDC_TOKEN (valid for the whole run phase), plus the workspace's
/// TFC_AZURE_* variables the provider does not need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hcp_terraform_dynamic_credentials() {
    let emulator = Emulator::start(Knobs::test()).await;
    let subject = "organization:contoso:project:network:workspace:peering:run_phase:apply";
    let token = identity_hosts::federated_operator_token(
        &emulator,
        HCP_TERRAFORM_ISSUER,
        subject,
        Duration::from_secs(3600),
    );
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("ARM_OIDC_TOKEN", token),
        ("TFC_AZURE_PROVIDER_AUTH", "true".to_owned()),
        (
            "TFC_AZURE_RUN_CLIENT_ID",
            emulator.seed().operator_client_id.clone(),
        ),
    ]);
    let figures = runbook(&emulator, workspace_with(&emulator, &env), "-").await;
    print("HCP Terraform", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
}

fn managed_identity_env(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("ARM_USE_MSI", "true".to_owned()),
        // A system-assigned identity: no client id.
        ("ARM_CLIENT_ID", String::new()),
    ];
    env.extend(extra.iter().cloned());
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_service_identity_endpoint() {
    let emulator = Emulator::start(Knobs::test()).await;
    identity_hosts::grant_runbook_rights_to_managed_identity(&emulator);
    let (endpoint, header) = identity_hosts::app_service_host(&emulator);
    let env = managed_identity_env(&[("IDENTITY_ENDPOINT", endpoint), ("IDENTITY_HEADER", header)]);
    let figures = runbook(
        &emulator,
        workspace_with(&emulator, &env),
        identity_hosts::APP_SERVICE_PATH,
    )
    .await;
    print("App Service", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
    assert_eq!(figures.source_requests, figures.token_requests);
}

/// Arc answers the first request with a 401 naming a key file; the second carries the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_arc_challenge() {
    let emulator = Emulator::start(Knobs::test()).await;
    identity_hosts::grant_runbook_rights_to_managed_identity(&emulator);
    let keys = tempfile::tempdir().expect("temporary directory");
    let (identity_endpoint, imds_endpoint) = identity_hosts::arc_host(&emulator, keys.path());
    let env = managed_identity_env(&[
        ("IDENTITY_ENDPOINT", identity_endpoint),
        ("IMDS_ENDPOINT", imds_endpoint),
        (
            "VNETPEER_TEST_ARC_KEY_DIRECTORY",
            keys.path().display().to_string(),
        ),
    ]);
    let figures = runbook(
        &emulator,
        workspace_with(&emulator, &env),
        identity_hosts::ARC_PATH,
    )
    .await;
    print("Azure Arc", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
    assert_eq!(
        figures.source_requests,
        2 * figures.token_requests,
        "a challenge and an answer per token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_instance_metadata_service() {
    let emulator = Emulator::start(Knobs::test()).await;
    identity_hosts::grant_runbook_rights_to_managed_identity(&emulator);
    let env = managed_identity_env(&[("ARM_MSI_ENDPOINT", emulator.endpoints().msi.clone())]);
    let figures = runbook(
        &emulator,
        workspace_with(&emulator, &env),
        "/metadata/identity/oauth2/token",
    )
    .await;
    print("VM IMDS", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
    assert_eq!(figures.source_requests, figures.token_requests);
}

/// Applies `vnetpeer_client_config` with its `object_id` as an output: who terraform signs in
/// as with the workspace's environment.
async fn apply_client_config(
    workspace: TerraformWorkspace,
) -> (TerraformWorkspace, TerraformOutput) {
    workspace.write_config(&format!(
        r#"{REQUIRED_PROVIDERS}
data "vnetpeer_client_config" "current" {{}}

output "object_id" {{
  value = data.vnetpeer_client_config.current.object_id
}}
"#
    ));
    blocking(move || {
        let applied = workspace.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        (workspace, applied)
    })
    .await
}

/// The object id of the identity terraform signs in as with `env` (a data source's plan).
async fn signed_in_object_id(emulator: &Emulator, env: &[(&'static str, String)]) -> String {
    let (workspace, applied) = apply_client_config(workspace_with(emulator, env)).await;
    assert!(applied.success(), "{env:?}:\n{}", applied.combined());
    let secrets = identity_hosts::credential_secrets(emulator);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    workspace.assert_no_secret_leaks(emulator, &secrets);
    workspace.output_json()["object_id"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A host with its own identity and a user-assigned one: no selector signs in as the host's
/// own, and each selector the host supports as the user-assigned one (IMDS: `client_id`,
/// `object_id`, `msi_res_id`; App Service: `client_id`, `principal_id`, `mi_res_id`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_assigned_identity_by_client_object_or_resource_id() {
    let emulator = Emulator::start(Knobs::test()).await;
    let system_assigned = emulator.seed().managed_identity_object_id.clone();
    let (client_id, object_id, resource_id) =
        identity_hosts::user_assigned_identity(&emulator, "id-network-pipeline");
    let (endpoint, header) = identity_hosts::app_service_host(&emulator);
    let hosts = [
        (
            "IMDS",
            vec![("ARM_MSI_ENDPOINT", emulator.endpoints().msi.clone())],
        ),
        (
            "App Service",
            vec![("IDENTITY_ENDPOINT", endpoint), ("IDENTITY_HEADER", header)],
        ),
    ];
    for (host, host_env) in hosts {
        for (selector, value, expected) in [
            ("ARM_CLIENT_ID", String::new(), &system_assigned),
            ("ARM_CLIENT_ID", client_id.clone(), &object_id),
            ("ARM_MSI_OBJECT_ID", object_id.clone(), &object_id),
            ("ARM_MSI_RESOURCE_ID", resource_id.clone(), &object_id),
        ] {
            let mut env = managed_identity_env(&host_env);
            env.push((selector, value.clone()));
            let signed_in = signed_in_object_id(&emulator, &env).await;
            assert_eq!(&signed_in, expected, "{host}, {selector}={value:?}");
        }
    }
}

/// A PKCS#12 bundle with a password, given base64 in ARM_CLIENT_CERTIFICATE as azurerm takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_certificate() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (pfx, certificate_der) = crate::credentials_diagnostics::rsa_pkcs12("pfx-Passw0rd!");
    let app_id = emulator.seed().operator_client_id.clone();
    emulator.with_world(|world| {
        assert!(world.identity.add_certificate(&app_id, &certificate_der));
    });
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(pfx);
    // The bundle and its password are credentials too: the leak checks look for them.
    emulator.with_world(|world| {
        let issued = &mut world.identity.hosts.issued;
        issued.push(encoded.clone());
        issued.push("pfx-Passw0rd!".to_owned());
    });
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_CLIENT_CERTIFICATE", encoded.clone()),
        (
            "ARM_CLIENT_CERTIFICATE_PASSWORD",
            "pfx-Passw0rd!".to_owned(),
        ),
    ]);
    let figures = runbook(&emulator, workspace_with(&emulator, &env), "-").await;
    print("PKCS#12 certificate", &figures);
    assert_eq!(
        figures.token_requests, TOKENS_PER_APPLY,
        "one token per audience"
    );
}

/// `vnetpeer-sandbox --credential TYPE` prints what the platform would set; a module author's
/// terraform signs in with exactly those variables, as the identity that platform stands for.
/// Every type but the default client secret, each with the variable only its platform sets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_rehearses_a_pipeline_or_host_sign_in() {
    use std::io::BufRead;
    let seed = vnetpeer_emulator::Seed::standard();
    let operator = seed.operator_sp_object_id.clone();
    let managed_identity = seed.managed_identity_object_id.clone();
    let kinds = [
        (
            "github-actions",
            &operator,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ),
        ("azure-devops", &operator, "SYSTEM_ACCESSTOKEN"),
        ("token-file", &operator, "ARM_OIDC_TOKEN_FILE_PATH"),
        (
            "aks-workload-identity",
            &operator,
            "AZURE_FEDERATED_TOKEN_FILE",
        ),
        ("hcp-terraform", &operator, "ARM_OIDC_TOKEN"),
        ("app-service", &managed_identity, "IDENTITY_HEADER"),
        ("azure-arc", &managed_identity, "IMDS_ENDPOINT"),
        ("vm-imds", &managed_identity, "ARM_MSI_ENDPOINT"),
        ("cloud-shell", &managed_identity, "MSI_ENDPOINT"),
    ];
    let mut offered: Vec<&str> = identity_hosts::CREDENTIAL_KINDS
        .iter()
        .copied()
        .filter(|kind| *kind != "client-secret")
        .collect();
    let mut rehearsed: Vec<&str> = kinds.iter().map(|(kind, _, _)| *kind).collect();
    offered.sort_unstable();
    rehearsed.sort_unstable();
    assert_eq!(rehearsed, offered, "every type the sandbox offers");
    for (kind, expected_object_id, marker) in kinds {
        let mut sandbox = std::process::Command::new(vnetpeer_harness::binaries::sandbox_binary())
            .args(["--json", "--credential", kind])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("vnetpeer-sandbox starts");
        let mut line = String::new();
        std::io::BufReader::new(sandbox.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the settings line");
        let printed: Json = serde_json::from_str(&line).expect("one JSON line");
        let env = printed["env"].as_object().expect("env").clone();
        assert!(env.contains_key(marker), "{kind}: {env:?}");
        assert_eq!(env["ARM_CLIENT_SECRET"], "", "{kind}: no client secret");
        let mut workspace = TerraformWorkspace::new();
        for name in CREDENTIAL_VARIABLES {
            workspace.set_env(*name, "");
        }
        for (name, value) in &env {
            workspace.set_env(name, value.as_str().unwrap_or_default());
        }
        let (workspace, applied) = apply_client_config(workspace).await;
        let _ = sandbox.kill();
        let _ = sandbox.wait();
        assert!(applied.success(), "{kind}:\n{}", applied.combined());
        assert_eq!(
            workspace.output_json()["object_id"]["value"],
            expected_object_id.as_str(),
            "{kind}"
        );
    }
}
