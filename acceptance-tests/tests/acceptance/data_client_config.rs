//! Data source `vnetpeer_client_config` through the real `terraform` against the emulator, with
//! every credential type the provider supports reaching the emulator's token endpoints through
//! the provider's environment: client secret, client certificate (PEM), OIDC token file and
//! managed identity; and no credential at all, which must say what was tried.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance data_client_config::
//! ```

use std::time::Duration;

use serde_json::Value as Json;
use vnetpeer_emulator::world::identity::FEDERATION_AUDIENCE;
use vnetpeer_emulator::{Emulator, Knobs, Service};
use vnetpeer_harness::terraform::{PROVIDER_HEADER, TerraformWorkspace};

/// The data source and an output of it, after [`PROVIDER_HEADER`].
const CONFIG: &str = r#"
data "vnetpeer_client_config" "current" {}

output "identity" {
  value = data.vnetpeer_client_config.current
}
"#;

/// Applies [`CONFIG`] and returns the data source's attributes, after checking that the only
/// request was one successful token request (the claims of the token are the answer).
fn identity(emulator: &Emulator, workspace: &TerraformWorkspace) -> Json {
    workspace.write_config(&format!("{PROVIDER_HEADER}{CONFIG}"));
    let before = emulator.requests().len();
    workspace.apply();
    let requests: Vec<_> = emulator.requests().into_iter().skip(before).collect();
    assert_eq!(
        requests.len(),
        1,
        "one token request (its claims are the answer): {requests:?}"
    );
    for request in &requests {
        assert_eq!(
            (request.service, request.status),
            (Service::Login, 200),
            "only token requests: {request:?}"
        );
    }
    let violations = emulator.violations();
    assert!(violations.is_empty(), "{violations:#?}");
    workspace.output_json()["identity"]["value"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let identity = identity(&emulator, &workspace);
    assert_eq!(identity["tenant_id"], seed.customer_tenant_id);
    assert_eq!(identity["subscription_id"], seed.customer_subscription_id);
    assert_eq!(identity["client_id"], seed.operator_client_id);
    assert_eq!(identity["object_id"], seed.operator_sp_object_id);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let certificate = rcgen::CertificateParams::new(vec!["operator.test".into()])
        .expect("parameters")
        .self_signed(&key)
        .expect("certificate");
    let der = certificate.der().to_vec();
    assert!(emulator.with_world(|w| w.identity.add_certificate(&seed.operator_client_id, &der)));
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    let path = workspace.path().join("operator.pem");
    std::fs::write(
        &path,
        format!("{}{}", certificate.pem(), key.serialize_pem()),
    )
    .expect("PEM written");
    workspace.set_env("ARM_CLIENT_SECRET", "");
    workspace.set_env("ARM_CLIENT_CERTIFICATE_PATH", &path);
    let identity = identity(&emulator, &workspace);
    assert_eq!(identity["tenant_id"], seed.customer_tenant_id);
    assert_eq!(identity["client_id"], seed.operator_client_id);
    assert_eq!(identity["object_id"], seed.operator_sp_object_id);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_token_file() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let issuer = "https://token.actions.example";
    let subject = "repo:acme/infra:ref:refs/heads/main";
    assert!(emulator.with_world(|w| {
        w.identity
            .add_federated_credential(&seed.operator_client_id, issuer, subject)
    }));
    let now = emulator.now();
    let assertion = emulator.with_world(|w| {
        w.identity.issue_external_assertion(
            issuer,
            subject,
            FEDERATION_AUDIENCE,
            Duration::from_secs(600),
            now,
        )
    });
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    let path = workspace.path().join("federated-token");
    std::fs::write(&path, &assertion).expect("token file written");
    workspace.set_env("ARM_CLIENT_SECRET", "");
    workspace.set_env("ARM_USE_OIDC", "true");
    workspace.set_env("ARM_OIDC_TOKEN_FILE_PATH", &path);
    let identity = identity(&emulator, &workspace);
    assert_eq!(identity["tenant_id"], seed.customer_tenant_id);
    assert_eq!(identity["client_id"], seed.operator_client_id);
    assert_eq!(identity["object_id"], seed.operator_sp_object_id);
    workspace.assert_no_secret_leaks(&emulator, &[&assertion]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.set_env("ARM_CLIENT_SECRET", "");
    workspace.set_env("ARM_CLIENT_ID", &seed.managed_identity_client_id);
    workspace.set_env("ARM_USE_MSI", "true");
    workspace.set_env("ARM_MSI_ENDPOINT", &emulator.endpoints().msi);
    let identity = identity(&emulator, &workspace);
    assert_eq!(identity["tenant_id"], seed.customer_tenant_id);
    assert_eq!(identity["subscription_id"], seed.customer_subscription_id);
    assert_eq!(identity["client_id"], seed.managed_identity_client_id);
    assert_eq!(identity["object_id"], seed.managed_identity_object_id);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_lists_what_was_tried() {
    let emulator = Emulator::start(Knobs::test()).await;
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.set_env("ARM_CLIENT_SECRET", "");
    workspace.set_env("ARM_USE_CLI", "false");
    workspace.write_config(&format!("{PROVIDER_HEADER}{CONFIG}"));
    let output = workspace.run(&["plan", "-input=false", "-no-color"]);
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(text.contains("No Azure credential"), "{text}");
    for tried in [
        "client_secret",
        "client_certificate_path",
        "use_oidc",
        "use_msi",
        "use_cli",
    ] {
        assert!(text.contains(tried), "{tried} is not mentioned:\n{text}");
    }
    assert!(emulator.requests().is_empty(), "nothing was sent");
}
