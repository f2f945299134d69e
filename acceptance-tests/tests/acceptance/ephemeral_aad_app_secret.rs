//! Ephemeral resource `vnetpeer_aad_app_secret` through the real `terraform`: the example under
//! `examples/ephemeral-resources/` feeds the cross-tenant peering's write-only `client_secret`
//! (which only works if the secret does), every secret it opened is removed when the run ends,
//! and no secret appears in the plan, the state, terraform's output or the trace log.
//!
//! ```text
//! cargo test -p vnetpeer-acceptance-tests --test acceptance ephemeral_aad_app_secret::
//! ```

use crate::peering_setup::{prepared_for_step_7, secret_key_ids};
use vnetpeer_emulator::{Emulator, Service};
use vnetpeer_harness::binaries::workspace_root;
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_cross_tenant_vnet_peering.to_aiven";
const EXAMPLE: &str = "examples/ephemeral-resources/vnetpeer_aad_app_secret";

/// Graph calls to `…/applications/{id}/<action>`.
fn graph_actions(emulator: &Emulator, since: usize, action: &str) -> usize {
    emulator
        .requests_since(since)
        .iter()
        .filter(|r| r.service == Service::Graph && r.method == "POST" && r.path.ends_with(action))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_for_one_run_feeds_a_write_only_argument_and_is_removed() {
    let (emulator, app) = prepared_for_step_7().await;
    let seed = emulator.seed().clone();
    let before_keys = secret_key_ids(&emulator, &app);
    let mut ws = TerraformWorkspace::for_emulator(&emulator);
    for file in ["versions.tf", "ephemeral-resource.tf"] {
        let path = workspace_root().join(EXAMPLE).join(file);
        ws.write_file(file, &std::fs::read_to_string(&path).unwrap());
    }
    for (name, value) in [
        ("application_object_id", app.object_id.as_str()),
        ("client_id", app.client_id.as_str()),
        ("vnet_id", seed.customer_vnet_id.as_str()),
        ("aiven_vnet_id", seed.aiven_vnet_id.as_str()),
        ("aiven_tenant_id", seed.aiven_tenant_id.as_str()),
    ] {
        ws.set_env(format!("TF_VAR_{name}"), value);
    }

    // The plan opens a secret of its own (the configuration is known) and closes it again.
    let start = emulator.requests().len();
    let output = ws.run_ok(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    assert!(
        output
            .stdout
            .contains("1 to add, 0 to change, 0 to destroy"),
        "{output}"
    );
    assert_eq!(graph_actions(&emulator, start, "/addPassword"), 1);
    assert_eq!(graph_actions(&emulator, start, "/removePassword"), 1);
    assert_eq!(
        secret_key_ids(&emulator, &app),
        before_keys,
        "closed after the plan"
    );

    // The apply opens another, the peering is written with it as the application, and it is
    // removed at the end of the run.
    let start = emulator.requests().len();
    ws.run_ok(&["apply", "-input=false", "-no-color", "tfplan"]);
    assert_eq!(graph_actions(&emulator, start, "/addPassword"), 1);
    assert_eq!(graph_actions(&emulator, start, "/removePassword"), 1);
    let values = ws
        .state_show_json(ADDRESS)
        .expect("the peering is in state");
    assert_eq!(values["peering_state"], "Connected");
    assert!(values["client_secret"].is_null(), "write-only: {values}");
    assert_eq!(
        secret_key_ids(&emulator, &app),
        before_keys,
        "the world has no secret left from the run"
    );

    // Neither the saved plan nor the state holds any secret the emulator ever issued.
    let plan_json = ws.run_ok(&["show", "-json", "-no-color", "tfplan"]).stdout;
    let state = ws.state_file_text();
    let state_json: serde_json::Value = serde_json::from_str(&state).expect("state is JSON");
    let types: Vec<&str> = state_json["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|resource| resource["type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["vnetpeer_cross_tenant_vnet_peering"],
        "ephemeral: not in state"
    );
    for secret in emulator.issued_secrets().iter().filter(|s| s.len() >= 8) {
        assert!(
            !plan_json.contains(secret.as_str()),
            "a secret is in the plan"
        );
        assert!(!state.contains(secret.as_str()), "a secret is in the state");
    }

    ws.destroy();
    assert_eq!(secret_key_ids(&emulator, &app), before_keys);
    assert_eq!(emulator.violations(), vec![]);
    ws.assert_no_secret_leaks(&emulator, &[&app.secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_instead_of_the_object_id_is_explained_and_nothing_is_left() {
    let (emulator, app) = prepared_for_step_7().await;
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}
ephemeral "vnetpeer_aad_app_secret" "wrong" {{
  application_object_id = "{client_id}"
}}
"#,
        client_id = app.client_id
    ));
    let before_keys = secret_key_ids(&emulator, &app);
    let output = ws.run(&["plan", "-input=false", "-no-color"]);
    assert_eq!(output.status, 1, "{output}");
    let text = output.combined();
    assert!(text.contains("Application not found"), "{output}");
    assert!(text.contains("object id"), "{output}");
    assert_eq!(secret_key_ids(&emulator, &app), before_keys);
}
