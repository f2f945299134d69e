//! `vnetpeer_service_principal` (runbook step 3) through the real `terraform` against the
//! emulator, with Aiven's application `55f300d4-fc50-4c5e-9222-e90a6e2187fb`: created and deleted
//! when it did not exist, adopted and kept when it did, the conflict error with
//! `use_existing = false`, the replication window of a brand-new application, and a wrong
//! client id explained before the timeout.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance resource_service_principal::
//! ```

use crate::terraform_common::flat;
use crate::terraform_common::state_values;
use std::time::Duration;

use serde_json::Value as Json;
use vnetpeer_emulator::world::identity::Audience;
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Service, ViolationKind};
use vnetpeer_harness::terraform::{PROVIDER_HEADER, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_service_principal.aiven";
const AIVEN_APP_ID: &str = "55f300d4-fc50-4c5e-9222-e90a6e2187fb";

fn sp_config(client_id: &str, extra: &str) -> String {
    format!(
        r#"{PROVIDER_HEADER}
resource "vnetpeer_service_principal" "aiven" {{
  client_id = "{client_id}"
{extra}
}}
"#
    )
}

/// Aiven's service principal, made in the customer tenant before the test (as if by hand).
fn add_aivens_service_principal(emulator: &Emulator) -> String {
    let tenant = emulator.seed().customer_tenant_id.clone();
    let now = emulator.now();
    emulator.with_world(|w| {
        w.identity
            .ensure_service_principal(&tenant, AIVEN_APP_ID, now)
    })
}

/// `METHOD route status` of every Graph request.
fn graph_calls(requests: &[RequestRecord]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.service == Service::Graph)
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect()
}

/// The object id of `app_id`'s service principal in the customer tenant, if any.
fn customer_sp_of(emulator: &Emulator, app_id: &str) -> Option<String> {
    let tenant = emulator.seed().customer_tenant_id.clone();
    emulator.with_world(|w| {
        w.identity
            .service_principal_by_app(&tenant, app_id)
            .map(|sp| sp.id.clone())
    })
}

fn assert_no_violations(emulator: &Emulator) {
    let violations = emulator.violations();
    assert!(violations.is_empty(), "violations: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aivens_service_principal_is_created_imported_recreated_and_deleted() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    assert!(customer_sp_of(&emulator, AIVEN_APP_ID).is_none());
    let seeded = emulator.snapshot()["identity"]["service_principals"].clone();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let config = sp_config(AIVEN_APP_ID, "");
    workspace.write_config(&config);

    let before = emulator.requests().len();
    workspace.apply();
    let create = emulator.requests_since(before);
    assert_eq!(
        graph_calls(&create),
        vec!["PATCH /v1.0/{keyed} 201"],
        "one upsert creates it"
    );
    let values = state_values(&workspace, ADDRESS).expect("in state");
    let object_id = values["object_id"].as_str().expect("object id").to_owned();
    assert_eq!(
        customer_sp_of(&emulator, AIVEN_APP_ID).as_deref(),
        Some(object_id.as_str())
    );
    assert_eq!(values["application_tenant_id"], seed.aiven_tenant_id);
    assert_eq!(values["display_name"], "Aiven");
    assert_eq!(values["adopted"], false);
    assert_eq!(values["use_existing"], true);

    // A saved refresh: one GET (once the new object has replicated; right after the create a
    // 404 is waited out, see the replication test below).
    emulator.clock().advance(emulator.knobs().graph_replication);
    let before = emulator.requests().len();
    workspace.run_ok(&["refresh", "-input=false", "-no-color"]);
    assert_eq!(
        graph_calls(&emulator.requests_since(before)),
        vec!["GET /v1.0/servicePrincipals/{id} 200"]
    );
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    let imported_workspace = TerraformWorkspace::for_emulator(&emulator);
    imported_workspace.write_config(&config);
    imported_workspace.import(ADDRESS, &object_id);
    let imported = state_values(&imported_workspace, ADDRESS).expect("imported");
    for (name, value) in values.as_object().expect("object") {
        if name != "timeouts" {
            assert_eq!(&imported[name], value, "{name} differs after import");
        }
    }
    let (code, output) = imported_workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "an import needs no change:\n{output}");

    // Deleted out of band: planned again, and created again.
    emulator.with_world(|w| {
        w.identity.service_principals.remove(&object_id);
    });
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains(&format!("{ADDRESS} will be created")),
        "{output}"
    );
    workspace.apply();
    let recreated = state_values(&workspace, ADDRESS).expect("re-created");
    assert_ne!(recreated["object_id"], object_id.as_str());
    assert_eq!(recreated["adopted"], false);

    let before = emulator.requests().len();
    workspace.destroy();
    assert_eq!(
        graph_calls(&emulator.requests_since(before))
            .into_iter()
            .filter(|call| !call.starts_with("GET"))
            .collect::<Vec<_>>(),
        vec!["DELETE /v1.0/servicePrincipals/{id} 204"]
    );
    assert!(customer_sp_of(&emulator, AIVEN_APP_ID).is_none());
    assert_eq!(
        emulator.snapshot()["identity"]["service_principals"],
        seeded,
        "nothing left behind"
    );
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[]);
    imported_workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_service_principal_is_adopted_and_survives_destroy() {
    let emulator = Emulator::start(Knobs::test()).await;
    let existing = add_aivens_service_principal(&emulator);
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&sp_config(AIVEN_APP_ID, ""));

    let before = emulator.requests().len();
    workspace.apply();
    let calls = graph_calls(&emulator.requests_since(before));
    assert_eq!(
        calls,
        vec!["PATCH /v1.0/{keyed} 204", "GET /v1.0/servicePrincipals 200"],
        "an upsert that finds it, and its lookup"
    );
    let values = state_values(&workspace, ADDRESS).expect("in state");
    assert_eq!(values["object_id"], existing.as_str());
    assert_eq!(values["adopted"], true);
    assert_eq!(workspace.plan_detailed_exitcode().0, 0);

    let before = emulator.requests().len();
    let destroy = workspace.destroy();
    assert!(
        graph_calls(&emulator.requests_since(before))
            .iter()
            .all(|call| call.starts_with("GET")),
        "destroy sends no delete"
    );
    assert!(destroy.success());
    assert_eq!(
        customer_sp_of(&emulator, AIVEN_APP_ID).as_deref(),
        Some(existing.as_str()),
        "the adopted service principal is still there"
    );
    assert!(state_values(&workspace, ADDRESS).is_none());
    assert_no_violations(&emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_use_existing_an_existing_one_is_an_error_with_the_import_command() {
    let emulator = Emulator::start(Knobs::test()).await;
    let existing = add_aivens_service_principal(&emulator);
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&sp_config(AIVEN_APP_ID, "  use_existing = false"));
    let output = workspace.try_apply();
    assert!(!output.success(), "{output}");
    // Terraform wraps long lines.
    let text = flat(&output.combined());
    assert!(
        text.contains(&format!(
            "terraform import vnetpeer_service_principal.<name> {existing}"
        )),
        "{text}"
    );
    assert!(text.contains("use_existing = true"), "{text}");
    assert!(state_values(&workspace, ADDRESS).is_none());
    // The POST was refused by the service: the only "violation" is that attempted duplicate.
    assert!(
        emulator
            .violations()
            .iter()
            .all(|v| v.kind == ViolationKind::DuplicateCreate),
        "{:#?}",
        emulator.violations()
    );
    assert_eq!(
        customer_sp_of(&emulator, AIVEN_APP_ID).as_deref(),
        Some(existing.as_str())
    );
}

/// Creates a multi-tenant application through Graph as the operator, moments before terraform
/// runs, and returns its client id.
async fn new_application(emulator: &Emulator) -> String {
    let token = emulator.operator_token(Audience::Graph);
    let response: Json = reqwest::Client::new()
        .post(format!("{}/v1.0/applications", emulator.endpoints().graph))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "displayName": "partner-app",
            "signInAudience": "AzureADMultipleOrgs",
        }))
        .send()
        .await
        .expect("Graph answers")
        .json()
        .await
        .expect("JSON");
    response["appId"].as_str().expect("appId").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brand_new_application_is_waited_for_and_refresh_waits_out_its_replication() {
    let knobs = Knobs {
        graph_replication: Duration::from_secs(3),
        ..Knobs::test()
    };
    let emulator = Emulator::start(knobs).await;
    let client_id = new_application(&emulator).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&sp_config(&client_id, ""));
    let before = emulator.requests().len();
    workspace.apply();
    let calls = graph_calls(&emulator.requests_since(before));
    assert!(
        calls.len() >= 2
            && calls[..calls.len() - 1]
                .iter()
                .all(|call| call == "PATCH /v1.0/{keyed} 400")
            && calls.last().map(String::as_str) == Some("PATCH /v1.0/{keyed} 201"),
        "'not a valid application object' is answered by waiting: {calls:?}"
    );
    // Moments later the new service principal still answers 404: the plan waits for it
    // instead of planning a second one.
    let before = emulator.requests().len();
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    let reads = graph_calls(&emulator.requests_since(before));
    assert_eq!(
        reads.last().map(String::as_str),
        Some("GET /v1.0/servicePrincipals/{id} 200"),
        "{reads:?}"
    );
    workspace.destroy();
    assert!(customer_sp_of(&emulator, &client_id).is_none());
    assert_no_violations(&emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_id_is_explained_before_the_timeout() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&sp_config(
        "0a000000-0000-4000-8000-00000000dead",
        r#"  timeouts {
    create = "3s"
  }"#,
    ));
    let output = workspace.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains("No application with client id 0a000000-0000-4000-8000-00000000dead"),
        "{text}"
    );
    assert!(
        text.contains(AIVEN_APP_ID),
        "the hint names Aiven's app: {text}"
    );
    assert!(
        !text.contains("timed out"),
        "the explanation comes before the timeout: {text}"
    );
    assert!(state_values(&workspace, ADDRESS).is_none());
    assert_no_violations(&emulator);
}

#[test]
fn a_client_id_that_is_not_a_uuid_is_refused_at_validate_time() {
    let workspace = TerraformWorkspace::new();
    workspace.write_config(&sp_config("aiven", ""));
    let (output, report) = workspace.validate();
    assert!(!output.success(), "{output}");
    let summary = report["diagnostics"][0]["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("Invalid client_id: must be a UUID"),
        "{report}"
    );
}
