//! Misconfigured credentials (issue 11): each mistake a pipeline author makes gives one error
//! diagnostic that names the variable or argument and says what to change, through the real
//! `terraform` with environment variables only, and no token, request token or assertion in the
//! `TF_LOG=trace` log or terraform's output.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance credentials_diagnostics::
//! ```

use crate::terraform_common::{applied, assert_world_is, flat, install_complete_example};
use std::time::Duration;

use vnetpeer_emulator::identity_hosts::{self, GITHUB_ISSUER};
use vnetpeer_emulator::world::arm::{
    NETWORK_CONTRIBUTOR_ROLE_ID, RoleAssignment, USER_ACCESS_ADMINISTRATOR_ROLE_ID,
};
use vnetpeer_emulator::{Emulator, Knobs};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

use crate::credentials_sources::workspace_with;
use crate::terraform_common::blocking;

/// A configuration whose plan needs the provider's own token (and nothing else).
fn client_config_hcl() -> String {
    format!(
        r#"
{REQUIRED_PROVIDERS}
provider "vnetpeer" {{}}

data "vnetpeer_client_config" "current" {{}}

output "object_id" {{
  value = data.vnetpeer_client_config.current.object_id
}}
"#
    )
}

/// Plans with `env` and returns the one error diagnostic terraform printed.
async fn single_error(emulator: &Emulator, env: &[(&str, String)]) -> String {
    let workspace = workspace_with(emulator, env);
    workspace.write_config(&client_config_hcl());
    let (workspace, output) = blocking(move || {
        let output = workspace.run(&["plan", "-no-color", "-input=false"]);
        (workspace, output)
    })
    .await;
    assert!(
        !output.success(),
        "the plan should fail:\n{}",
        output.combined()
    );
    let text = output.combined();
    assert_eq!(
        text.matches("Error: ").count(),
        1,
        "exactly one error diagnostic:\n{text}"
    );
    let secrets = identity_hosts::credential_secrets(emulator);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    workspace.assert_no_secret_leaks(emulator, &secrets);
    // Unwrap terraform's line breaks so phrases can be searched.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn seed_env(emulator: &Emulator) -> Vec<(&'static str, String)> {
    let seed = emulator.seed();
    vec![
        ("ARM_TENANT_ID", seed.customer_tenant_id.clone()),
        ("ARM_CLIENT_ID", seed.operator_client_id.clone()),
    ]
}

#[track_caller]
fn assert_mentions(text: &str, phrases: &[&str]) {
    for phrase in phrases {
        assert!(text.contains(phrase), "{phrase:?} is missing from:\n{text}");
    }
}

const SUBJECT: &str = "repo:contoso/network:ref:refs/heads/main";

/// A GitHub job with `subject` whose federated credential on the operator names `registered`.
fn github_env(
    emulator: &Emulator,
    issuer: &str,
    registered_subject: &str,
    job_subject: &str,
    url_suffix: &str,
) -> Vec<(&'static str, String)> {
    identity_hosts::federate_operator(emulator, issuer, registered_subject);
    let (url, request_token) =
        identity_hosts::github_job(emulator, job_subject, Duration::from_secs(300));
    let mut env = seed_env(emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("ARM_OIDC_REQUEST_URL", format!("{url}{url_suffix}")),
        ("ARM_OIDC_REQUEST_TOKEN", request_token),
    ]);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_audience() {
    let emulator = Emulator::start(Knobs::test()).await;
    let env = github_env(
        &emulator,
        GITHUB_ISSUER,
        SUBJECT,
        SUBJECT,
        "&audience=api://AzureADTokenExchangeUSGov",
    );
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "AADSTS700212",
            "ARM_OIDC_REQUEST_URL",
            "api://AzureADTokenExchange",
            "Federated credentials",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_subject() {
    let emulator = Emulator::start(Knobs::test()).await;
    let env = github_env(
        &emulator,
        GITHUB_ISSUER,
        SUBJECT,
        "repo:contoso/network:pull_request",
        "",
    );
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "AADSTS70021",
            "repo:contoso/network:pull_request",
            "subject",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "Federated credentials",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_issuer() {
    let emulator = Emulator::start(Knobs::test()).await;
    let env = github_env(
        &emulator,
        "https://gitlab.example.com",
        SUBJECT,
        SUBJECT,
        "",
    );
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "AADSTS700211",
            GITHUB_ISSUER,
            "issuer",
            "Federated credentials",
        ],
    );
}

/// An expired token is not even sent: the diagnostic says where it came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_assertion() {
    let emulator = Emulator::start(Knobs::test()).await;
    let token = identity_hosts::federated_operator_token(
        &emulator,
        GITHUB_ISSUER,
        SUBJECT,
        Duration::from_secs(1),
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("ARM_OIDC_TOKEN", token),
    ]);
    let before = emulator.requests().len();
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &["ARM_OIDC_TOKEN", "expired", "oidc_token_file_path"],
    );
    assert!(
        emulator
            .requests_since(before)
            .iter()
            .all(|record| !record.path.ends_with("/oauth2/v2.0/token")),
        "an expired token is not sent to Entra ID"
    );
}

/// `id-token: write` forgotten: GitHub sets the URL but not the request token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_request_token() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (url, _) = identity_hosts::github_job(&emulator, SUBJECT, Duration::from_secs(300));
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_USE_OIDC", "true".to_owned()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", url),
    ]);
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "needs `oidc_request_token`",
            "id-token: write",
        ],
    );
}

/// A PEM file with an EC key: refused before any request, with how to make an RSA one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec_certificate() {
    let emulator = Emulator::start(Knobs::test()).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("EC key");
    let certificate = rcgen::CertificateParams::new(vec!["vnetpeer".into()])
        .expect("parameters")
        .self_signed(&key)
        .expect("certificate");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("client.pem");
    std::fs::write(
        &path,
        format!("{}{}", certificate.pem(), key.serialize_pem()),
    )
    .expect("pem");
    let mut env = seed_env(&emulator);
    env.push(("ARM_CLIENT_CERTIFICATE_PATH", path.display().to_string()));
    let before = emulator.requests().len();
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "ARM_CLIENT_CERTIFICATE_PATH",
            "accepts only RSA keys",
            "openssl req -x509 -newkey rsa:2048",
        ],
    );
    assert_eq!(
        emulator.requests_since(before).len(),
        0,
        "refused before any request"
    );
}

/// An RSA certificate in a PKCS#12 bundle protected by `password`: (bundle, certificate DER).
pub fn rsa_pkcs12(password: &str) -> (Vec<u8>, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let certificate = rcgen::CertificateParams::new(vec!["vnetpeer".into()])
        .expect("parameters")
        .self_signed(&key)
        .expect("certificate");
    let der = certificate.der().to_vec();
    let store_key = p12_keystore::PrivateKey::from_der(&key.serialize_der()).expect("key");
    let store_certificate = p12_keystore::Certificate::from_der(&der).expect("certificate");
    let chain = p12_keystore::PrivateKeyChain::new(vec![1u8, 2, 3], store_key, [store_certificate]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "client",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    (store.writer(password).write().expect("PKCS#12"), der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pkcs12_password() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (pfx, _) = rsa_pkcs12("right-password");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("client.pfx");
    std::fs::write(&path, pfx).expect("pfx");
    let mut env = seed_env(&emulator);
    env.extend([
        ("ARM_CLIENT_CERTIFICATE_PATH", path.display().to_string()),
        (
            "ARM_CLIENT_CERTIFICATE_PASSWORD",
            "wrong-password".to_owned(),
        ),
    ]);
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "ARM_CLIENT_CERTIFICATE_PATH",
            "ARM_CLIENT_CERTIFICATE_PASSWORD",
            "password is wrong",
        ],
    );
    assert!(!text.contains("wrong-password"));
}

/// A directory holding an `az` that runs `script` (a POSIX shell body) and records its arguments
/// in `args.txt` beside it; returns it with a `PATH` that finds it first.
fn fake_az(script: &str) -> (tempfile::TempDir, String) {
    let bin = tempfile::tempdir().expect("temporary directory");
    let az = bin.path().join("az");
    let record = bin.path().join("args.txt");
    std::fs::write(
        &az,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n{script}", record.display()),
    )
    .expect("az script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (bin, path)
}

/// The arguments of every `az` run so far.
fn az_calls(bin: &tempfile::TempDir) -> String {
    std::fs::read_to_string(bin.path().join("args.txt")).unwrap_or_default()
}

/// What azure-cli prints when it is installed but not signed in.
const AZ_NOT_SIGNED_IN: &str =
    "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n";

/// An `az` that is installed but not signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_not_logged_in() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (bin, path) = fake_az(AZ_NOT_SIGNED_IN);
    let tenant = emulator.seed().customer_tenant_id.clone();
    let env = [
        ("ARM_USE_CLI", "true".to_owned()),
        ("PATH", path),
        ("ARM_TENANT_ID", tenant.clone()),
    ];
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &["Azure CLI", "not signed in", "az login --tenant", "use_cli"],
    );
    // Outside Cloud Shell the token is asked for the configured tenant.
    assert!(
        az_calls(&bin).contains(&format!("--tenant {tenant}")),
        "{}",
        az_calls(&bin)
    );
}

/// In Cloud Shell `az` refuses `--tenant` (it is signed in to one tenant only): the provider
/// leaves it out of the token request and of the `az login` it advises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_in_cloud_shell_is_asked_without_tenant() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (bin, path) = fake_az(AZ_NOT_SIGNED_IN);
    let env = [
        ("ARM_USE_CLI", "true".to_owned()),
        ("PATH", path),
        ("ARM_TENANT_ID", emulator.seed().customer_tenant_id.clone()),
        ("AZUREPS_HOST_ENVIRONMENT", "cloud-shell/1.0".to_owned()),
    ];
    let text = single_error(&emulator, &env).await;
    assert_mentions(&text, &["Azure CLI", "not signed in", "run `az login`"]);
    assert!(!text.contains("--tenant"), "{text}");
    let calls = az_calls(&bin);
    assert!(calls.contains("account get-access-token"), "{calls}");
    assert!(!calls.contains("--tenant"), "{calls}");
}

/// A CLI session that expired: the diagnostic quotes the command the CLI names to renew it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_session_expired() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (_bin, path) = fake_az(
        "echo \"ERROR: AADSTS700082: The refresh token has expired due to inactivity.\" >&2\n\
         echo \"To re-authenticate, please run:\" >&2\n\
         echo \"az login --scope https://management.core.windows.net//.default\" >&2\n\
         exit 1\n",
    );
    let env = [
        ("ARM_USE_CLI", "true".to_owned()),
        ("PATH", path),
        ("ARM_TENANT_ID", emulator.seed().customer_tenant_id.clone()),
    ];
    let text = single_error(&emulator, &env).await;
    assert_mentions(
        &text,
        &[
            "Azure CLI",
            "session expired",
            "`az login --scope https://management.core.windows.net//.default`",
        ],
    );
}

/// The provider's identity lacks one permission of the table: the diagnostic names it and
/// where to grant it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_missing_one_permission() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    emulator.with_world(|world| {
        if let Some(sp) = world
            .identity
            .service_principals
            .get_mut(&seed.operator_sp_object_id)
        {
            sp.graph_permissions.clear();
        }
    });
    let seeded = emulator.snapshot();
    // Step 1 of the runbook alone: the first call that needs the Graph permission (the
    // service principal of Aiven's application would wait out replication first).
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.set_env("ARM_USE_CLI", "false");
    workspace.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}
resource "vnetpeer_aad_app" "peering" {{
  display_name = "missing-permission"
}}
"#
    ));
    let (workspace, output) = blocking(move || {
        let output = workspace.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        (workspace, output)
    })
    .await;
    assert!(!output.success(), "{}", output.combined());
    assert_eq!(output.combined().matches("Error: ").count(), 1);
    let text = flat(&output.combined());
    assert_mentions(&text, &["Application.ReadWrite.All", "API permissions"]);
    assert_world_is(&emulator, &seeded);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

/// A VM's managed identity holding every grant of the permission table except the Azure role
/// `role_guid`: the variables that select it, and the assignment taken away.
fn managed_identity_without(
    emulator: &Emulator,
    role_guid: &str,
) -> (Vec<(&'static str, String)>, Vec<RoleAssignment>) {
    identity_hosts::grant_runbook_rights_to_managed_identity(emulator);
    let identity = emulator.seed().managed_identity_object_id.clone();
    let revoked = emulator.with_world(|world| {
        let (revoked, kept) = std::mem::take(&mut world.arm.role_assignments)
            .into_iter()
            .partition(|assignment: &RoleAssignment| {
                assignment.principal_id == identity && assignment.role_definition_guid == role_guid
            });
        world.arm.role_assignments = kept;
        revoked
    });
    assert_eq!(revoked.len(), 1, "the table's grant of {role_guid}");
    let env = vec![
        ("ARM_USE_MSI", "true".to_owned()),
        ("ARM_CLIENT_ID", String::new()),
        ("ARM_MSI_ENDPOINT", emulator.endpoints().msi.clone()),
    ];
    (env, revoked)
}

/// Runs `terraform args…` that must fail; returns its one error diagnostic, whitespace-flattened.
async fn failing(
    workspace: TerraformWorkspace,
    args: &'static [&'static str],
) -> (TerraformWorkspace, String) {
    let (workspace, output) = blocking(move || {
        let output = workspace.run(args);
        (workspace, output)
    })
    .await;
    assert!(!output.success(), "{}", output.combined());
    assert_eq!(
        output.combined().matches("Error: ").count(),
        1,
        "exactly one error diagnostic:\n{}",
        output.combined()
    );
    (workspace, flat(&output.combined()))
}

/// Without User Access Administrator on the subscription, the custom role (runbook step 4) is
/// refused: the diagnostic names the role and the scope to assign it on, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_missing_user_access_administrator() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (env, _) = managed_identity_without(&emulator, USER_ACCESS_ADMINISTRATOR_ROLE_ID);
    let seeded = emulator.snapshot();
    let subscription = emulator.seed().customer_subscription_id.clone();
    let workspace = workspace_with(&emulator, &env);
    workspace.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}
resource "vnetpeer_custom_role" "peer_only" {{
  name    = "Aiven VNet peering"
  scope   = "/subscriptions/{subscription}"
  actions = ["Microsoft.Network/virtualNetworks/peer/action"]
}}
"#
    ));
    let (workspace, text) = failing(
        workspace,
        &["apply", "-auto-approve", "-no-color", "-input=false"],
    )
    .await;
    assert_mentions(
        &text,
        &[
            "Microsoft.Authorization/roleDefinitions/write",
            "`User Access Administrator` on the subscription holding the virtual network",
            "az role assignment create",
        ],
    );
    assert_world_is(&emulator, &seeded);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

/// The apply needs no network role of the provider's identity (the peering application makes
/// the peering), but the destroy removes the peering as that identity: without Network
/// Contributor on the VNet it is refused with the role and the scope to assign it on; once
/// granted, the same destroy finishes and leaves the seeded world.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_missing_network_contributor() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (env, revoked) = managed_identity_without(&emulator, NETWORK_CONTRIBUTOR_ROLE_ID);
    let seeded = emulator.snapshot();
    let workspace = workspace_with(&emulator, &env);
    install_complete_example(&workspace);
    let workspace = applied(workspace).await;
    let (workspace, text) = failing(
        workspace,
        &["destroy", "-auto-approve", "-no-color", "-input=false"],
    )
    .await;
    assert_mentions(
        &text,
        &[
            "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete",
            "`Network Contributor` on the virtual network",
            "az role assignment create",
        ],
    );
    emulator.with_world(|world| world.arm.role_assignments.extend(revoked.iter().cloned()));
    let workspace = blocking(move || {
        workspace.destroy();
        workspace
    })
    .await;
    emulator.with_world(|world| {
        world
            .arm
            .role_assignments
            .retain(|assignment| revoked.iter().all(|gone| gone.name != assignment.name))
    });
    assert_world_is(&emulator, &seeded);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}
