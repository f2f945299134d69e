//! `vnetpeer_aad_app` (runbook step 1) through the real `terraform` against the emulator:
//! the whole lifecycle with request counts, import, drift, update in place, rotation without an
//! outage, rollback of a failed create, a purge retried after it failed, the replication window,
//! and plan-time validation.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance resource_aad_app::
//! ```

use crate::terraform_common::flat;
use crate::terraform_common::state_values;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value as Json;
use vnetpeer_emulator::{
    Emulator, FaultAction, FaultRule, Knobs, RequestRecord, Schedule, Service,
};
use vnetpeer_harness::terraform::{PROVIDER_HEADER, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_aad_app.peering";

const TOKEN_ROUTE: &str = "/{tenant}/oauth2/v2.0/token";

/// A configuration with one application; `extra` goes inside the resource block.
fn app_config(extra: &str) -> String {
    format!(
        r#"{PROVIDER_HEADER}
resource "vnetpeer_aad_app" "peering" {{
  display_name = "aiven-peering"
{extra}
}}
"#
    )
}

fn matching<'a>(
    requests: &'a [RequestRecord],
    service: Service,
    method: &str,
    route: &str,
) -> Vec<&'a RequestRecord> {
    requests
        .iter()
        .filter(|r| r.service == service && r.method == method && r.route == route)
        .collect()
}

fn statuses(requests: &[&RequestRecord]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

/// Token requests made for `client_id`.
fn token_requests_of<'a>(requests: &'a [RequestRecord], client_id: &str) -> Vec<&'a RequestRecord> {
    matching(requests, Service::Login, "POST", TOKEN_ROUTE)
        .into_iter()
        .filter(|r| {
            r.credential
                .as_ref()
                .and_then(|c| c.app_id.as_deref())
                .is_some_and(|app| app.eq_ignore_ascii_case(client_id))
        })
        .collect()
}

fn text<'a>(values: &'a Json, name: &str) -> &'a str {
    values[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {values}"))
}

/// Whether `secret` obtains an ARM token for `client_id` in the customer tenant right now.
async fn secret_works(emulator: &Emulator, client_id: &str, secret: &str) -> bool {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        emulator.endpoints().authority_host,
        emulator.seed().customer_tenant_id
    );
    let response = reqwest::Client::new()
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .expect("the token endpoint answers");
    response.status().is_success()
}

/// The identity collections of the world (what this resource touches).
fn identity_objects(emulator: &Emulator) -> Json {
    let snapshot = emulator.snapshot();
    serde_json::json!({
        "applications": snapshot["identity"]["applications"],
        "deleted_applications": snapshot["identity"]["deleted_applications"],
        "service_principals": snapshot["identity"]["service_principals"],
    })
}

fn assert_no_violations(emulator: &Emulator) {
    let violations = emulator.violations();
    assert!(violations.is_empty(), "violations: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_create_refresh_import_drift_and_destroy() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let seeded = identity_objects(&emulator);
    let owner = emulator.with_world(|w| {
        w.identity
            .add_user(&seed.customer_tenant_id, "alice@contoso.onmicrosoft.com")
    });
    let seeded_with_owner = identity_objects(&emulator);
    assert_eq!(
        seeded, seeded_with_owner,
        "users are not in these collections"
    );
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let config = app_config(&format!(
        r#"  owners              = ["{owner}"]
  secret_display_name = "terraform"
  permanently_delete  = true"#
    ));
    workspace.write_config(&config);

    // Create: POST app, POST SP (400 while the app replicates), addPassword, token checks.
    let before = emulator.requests().len();
    workspace.apply();
    let create = emulator.requests_since(before);
    let values = state_values(&workspace, ADDRESS).expect("the app is in state");
    let client_id = text(&values, "client_id").to_owned();
    let object_id = text(&values, "object_id").to_owned();
    let sp_id = text(&values, "service_principal_object_id").to_owned();
    let secret = text(&values, "client_secret").to_owned();
    assert_eq!(text(&values, "tenant_id"), seed.customer_tenant_id);
    assert_eq!(text(&values, "sign_in_audience"), "AzureADMultipleOrgs");
    assert_eq!(values["permanently_delete"], true);

    assert_eq!(
        statuses(&matching(
            &create,
            Service::Graph,
            "POST",
            "/v1.0/applications"
        )),
        vec![201],
        "exactly one application POST"
    );
    let sp_posts = matching(&create, Service::Graph, "POST", "/v1.0/servicePrincipals");
    assert_eq!(
        sp_posts.iter().filter(|r| r.status == 201).count(),
        1,
        "one service principal created: {:?}",
        statuses(&sp_posts)
    );
    assert!(
        sp_posts.iter().all(|r| r.status == 201 || r.status == 400),
        "only 'not replicated yet' answers before success: {:?}",
        statuses(&sp_posts)
    );
    assert_eq!(
        statuses(&matching(
            &create,
            Service::Graph,
            "POST",
            "/v1.0/applications/{id}/addPassword"
        )),
        vec![200],
        "exactly one secret added"
    );
    assert!(
        create
            .iter()
            .filter(|r| r.service == Service::Graph)
            .all(|r| r.method == "POST"),
        "no read-back and no probe writes after create: {:?}",
        create
            .iter()
            .map(|r| format!("{} {}", r.method, r.route))
            .collect::<Vec<_>>()
    );
    let checks = token_requests_of(&create, &client_id);
    assert_eq!(
        checks.iter().filter(|r| r.status == 200).count(),
        1,
        "create returns once the new secret obtained one token: {:?}",
        statuses(&checks)
    );
    assert_eq!(
        checks.last().map(|r| r.status),
        Some(200),
        "the last check succeeded"
    );
    assert_eq!(
        token_requests_of(&create, &seed.operator_client_id).len(),
        1,
        "one Graph token for the provider itself"
    );

    // What the world holds matches the state, and the secret works.
    emulator.with_world(|w| {
        let app = &w.identity.applications[&object_id];
        assert_eq!(app.app_id, client_id);
        assert_eq!(app.display_name, "aiven-peering");
        assert_eq!(app.sign_in_audience, "AzureADMultipleOrgs");
        assert_eq!(app.owners, vec![owner.clone()]);
        assert_eq!(app.password_credentials.len(), 1);
        let credential = &app.password_credentials[0];
        assert_eq!(credential.key_id, text(&values, "client_secret_key_id"));
        assert_eq!(credential.display_name.as_deref(), Some("terraform"));
        let sp = &w.identity.service_principals[&sp_id];
        assert_eq!(sp.app_id, client_id);
        assert_eq!(sp.tenant_id, seed.customer_tenant_id);
    });
    assert!(secret_works(&emulator, &client_id, &secret).await);

    // Refresh: one GET for the app and one for its service principal. (A refresh that is
    // saved also records that the new objects have replicated: until then a 404 is waited out.)
    let before = emulator.requests().len();
    workspace.run_ok(&["refresh", "-input=false", "-no-color"]);
    let refresh = emulator.requests_since(before);
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "no changes after create:\n{output}");
    let mut graph_calls: Vec<String> = refresh
        .iter()
        .filter(|r| r.service == Service::Graph)
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    graph_calls.sort();
    assert_eq!(
        graph_calls,
        vec![
            "GET /v1.0/applications/{id}",
            "GET /v1.0/servicePrincipals/{id}"
        ]
    );

    // Import into a fresh state: the same attributes, except the documented ones.
    let imported_workspace = TerraformWorkspace::for_emulator(&emulator);
    imported_workspace.write_config(&config);
    imported_workspace.import(ADDRESS, &object_id);
    let imported = state_values(&imported_workspace, ADDRESS).expect("imported");
    let not_importable = [
        "client_secret",
        "client_secret_key_id",
        "client_secret_end_date",
        "owners",
        "secret_display_name",
        "secret_end_date",
        "secret_lifetime",
        "rotate_when_changed",
        "permanently_delete",
        "timeouts",
    ];
    for (name, value) in values.as_object().expect("object") {
        if not_importable.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(&imported[name], value, "{name} differs after import");
    }
    assert!(imported["client_secret"].is_null());
    assert_eq!(imported["permanently_delete"], false);

    // Deleted out of band: the next plan creates it again, and the apply does.
    emulator.with_world(|w| {
        w.identity.applications.remove(&object_id);
        w.identity.service_principals.remove(&sp_id);
    });
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("vnetpeer_aad_app.peering will be created"),
        "{output}"
    );
    workspace.apply();
    let recreated = state_values(&workspace, ADDRESS).expect("re-created");
    assert_ne!(text(&recreated, "object_id"), object_id);

    // Destroy is one DELETE of the application (Entra ID deletes its home-tenant service
    // principal and its secrets with it), then the purge.
    let before = emulator.requests().len();
    workspace.destroy();
    let destroy = emulator.requests_since(before);
    let writes: Vec<String> = destroy
        .iter()
        .filter(|r| r.service == Service::Graph && r.method != "GET")
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect();
    assert_eq!(
        writes,
        vec![
            "DELETE /v1.0/applications/{id} 204",
            "DELETE /v1.0/directory/deletedItems/{id} 204",
        ]
    );
    assert_eq!(identity_objects(&emulator), seeded, "nothing left behind");
    assert!(
        !secret_works(
            &emulator,
            text(&recreated, "client_id"),
            text(&recreated, "client_secret")
        )
        .await,
        "the destroyed application's secret no longer signs in"
    );
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[&secret]);
    imported_workspace.assert_no_secret_leaks(&emulator, &[&secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_name_and_audience_update_in_place_with_one_patch() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&app_config("  permanently_delete = true"));
    workspace.apply();
    let before_values = state_values(&workspace, ADDRESS).expect("created");

    workspace.write_config(
        &app_config(
            r#"  permanently_delete = true
  sign_in_audience   = "AzureADandPersonalMicrosoftAccount""#,
        )
        .replace("\"aiven-peering\"", "\"aiven-peering-renamed\""),
    );
    let plan = workspace.plan();
    assert!(plan.contains("will be updated in-place"), "{plan}");
    assert!(!plan.contains("forces replacement"), "{plan}");
    let before = emulator.requests().len();
    workspace.apply();
    let update = emulator.requests_since(before);
    let writes: Vec<String> = update
        .iter()
        .filter(|r| r.service == Service::Graph && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    assert_eq!(writes, vec!["PATCH /v1.0/applications/{id}"]);

    let values = state_values(&workspace, ADDRESS).expect("updated");
    for unchanged in [
        "client_id",
        "object_id",
        "service_principal_object_id",
        "client_secret_key_id",
    ] {
        assert_eq!(values[unchanged], before_values[unchanged], "{unchanged}");
    }
    let object_id = text(&values, "object_id").to_owned();
    emulator.with_world(|w| {
        let app = &w.identity.applications[&object_id];
        assert_eq!(app.display_name, "aiven-peering-renamed");
        assert_eq!(app.sign_in_audience, "AzureADandPersonalMicrosoftAccount");
        assert_eq!(
            app.other_properties["api"]["requestedAccessTokenVersion"], 2,
            "personal-account audiences need v2 tokens"
        );
    });
    assert_eq!(workspace.plan_detailed_exitcode().0, 0);
    workspace.destroy();
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

/// One observation of the secrets while the rotation runs.
#[derive(Debug, Clone, Copy)]
struct Sample {
    old_works: bool,
    new_works: Option<bool>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_adds_the_new_secret_before_removing_the_old_one() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&app_config(
        r#"  permanently_delete  = true
  rotate_when_changed = { rotation = "1" }"#,
    ));
    workspace.apply();
    let first = state_values(&workspace, ADDRESS).expect("created");
    let client_id = text(&first, "client_id").to_owned();
    let object_id = text(&first, "object_id").to_owned();
    let old_secret = text(&first, "client_secret").to_owned();
    let old_key_id = text(&first, "client_secret_key_id").to_owned();

    // While terraform rotates, keep signing in with the old secret and, as soon as it exists,
    // with the new one (read from the emulator's world, as the provider has not returned it).
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (emulator, stop) = (emulator.clone(), stop.clone());
        let (client_id, object_id, old_secret, old_key_id) = (
            client_id.clone(),
            object_id.clone(),
            old_secret.clone(),
            old_key_id.clone(),
        );
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let old_works = secret_works(&emulator, &client_id, &old_secret).await;
                let new_secret = emulator.with_world(|w| {
                    w.identity.applications[&object_id]
                        .password_credentials
                        .iter()
                        .find(|c| c.key_id != old_key_id)
                        .map(|c| c.secret_text.expose().to_owned())
                });
                let new_works = match new_secret {
                    Some(secret) => Some(secret_works(&emulator, &client_id, &secret).await),
                    None => None,
                };
                samples.push(Sample {
                    old_works,
                    new_works,
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    };
    workspace.write_config(&app_config(
        r#"  permanently_delete  = true
  rotate_when_changed = { rotation = "2" }"#,
    ));
    let plan = workspace.plan();
    assert!(plan.contains("will be updated in-place"), "{plan}");
    let before = emulator.requests().len();
    workspace.apply();
    let rotate = emulator.requests_since(before);
    stop.store(true, Ordering::SeqCst);
    let samples = watcher.await.expect("watcher");

    let second = state_values(&workspace, ADDRESS).expect("rotated");
    let new_secret = text(&second, "client_secret").to_owned();
    assert_ne!(new_secret, old_secret);
    assert_ne!(text(&second, "client_secret_key_id"), old_key_id);
    assert_eq!(second["client_id"], first["client_id"]);
    let writes: Vec<String> = rotate
        .iter()
        .filter(|r| r.service == Service::Graph && r.method != "GET")
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect();
    assert_eq!(
        writes,
        vec![
            "POST /v1.0/applications/{id}/addPassword 200",
            "POST /v1.0/applications/{id}/removePassword 204",
        ]
    );

    let outage: Vec<_> = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.old_works && s.new_works != Some(true))
        .collect();
    assert!(outage.is_empty(), "no working secret at {outage:?}");
    assert!(
        samples.first().is_some_and(|s| s.old_works),
        "the watcher started before the rotation: {samples:?}"
    );
    assert!(
        samples.iter().any(|s| s.new_works == Some(true)),
        "the watcher saw the new secret work: {samples:?}"
    );
    assert!(!secret_works(&emulator, &client_id, &old_secret).await);
    assert!(secret_works(&emulator, &client_id, &new_secret).await);
    emulator.with_world(|w| {
        assert_eq!(
            w.identity.applications[&object_id]
                .password_credentials
                .len(),
            1,
            "the old secret is gone"
        );
    });

    assert_eq!(workspace.plan_detailed_exitcode().0, 0);
    workspace.destroy();
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[&old_secret, &new_secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_and_service_principal_removed_out_of_band_are_repaired_in_place() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&app_config("  permanently_delete = true"));
    workspace.apply();
    // A saved refresh records that the new objects replicated (a 404 is no longer waited out).
    workspace.run_ok(&["refresh", "-input=false", "-no-color"]);
    let first = state_values(&workspace, ADDRESS).expect("created");
    let object_id = text(&first, "object_id").to_owned();
    let sp_id = text(&first, "service_principal_object_id").to_owned();
    emulator.with_world(|w| {
        w.identity
            .applications
            .get_mut(&object_id)
            .expect("app")
            .password_credentials
            .clear();
        w.identity.service_principals.remove(&sp_id);
    });
    let plan = workspace.plan();
    assert!(plan.contains("will be updated in-place"), "{plan}");
    assert!(plan.contains("client_secret"), "{plan}");
    assert!(plan.contains("service_principal_object_id"), "{plan}");
    let before = emulator.requests().len();
    workspace.apply();
    let repair = emulator.requests_since(before);
    let writes: Vec<String> = repair
        .iter()
        .filter(|r| r.service == Service::Graph && r.method != "GET")
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect();
    assert_eq!(
        writes,
        vec![
            "PATCH /v1.0/{keyed} 201",
            "POST /v1.0/applications/{id}/addPassword 200"
        ],
        "the service principal upserted, a secret added, nothing else"
    );
    let second = state_values(&workspace, ADDRESS).expect("repaired");
    assert_eq!(second["object_id"], first["object_id"]);
    assert_ne!(
        second["client_secret_key_id"],
        first["client_secret_key_id"]
    );
    assert_ne!(second["service_principal_object_id"], sp_id.as_str());
    assert!(
        secret_works(
            &emulator,
            text(&second, "client_id"),
            text(&second, "client_secret")
        )
        .await
    );
    assert_eq!(workspace.plan_detailed_exitcode().0, 0);
    workspace.destroy();
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_the_app_exists_is_rolled_back() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = identity_objects(&emulator);
    emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Status { status: 400 })
            .method("POST")
            .route("/v1.0/applications/{id}/addPassword")
            .schedule(Schedule::Always),
    );
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&app_config("  permanently_delete = true"));
    let output = workspace.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(text.contains("Cannot add the client secret"), "{text}");
    assert!(text.contains("deleted again"), "{text}");
    assert!(
        workspace.state_resource(ADDRESS).is_none(),
        "nothing in state"
    );
    assert_eq!(identity_objects(&emulator), seeded, "nothing left behind");
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

/// A 503 to the service principal's POST says nothing about whether it was made: the create is
/// finished by the upsert in one request, not by waiting out list replication for a service
/// principal that was never made (which took the whole replication window per attempt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_service_principal_post_is_finished_by_one_upsert() {
    // No replication lag, so the upsert is not first refused while the application replicates.
    let knobs = Knobs {
        graph_replication: Duration::ZERO,
        ..Knobs::test()
    };
    let emulator = Emulator::start(knobs).await;
    emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Status { status: 503 })
            .method("POST")
            .route("/v1.0/servicePrincipals")
            .schedule(Schedule::NextN { n: 1 }),
    );
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&app_config("  permanently_delete = true"));
    let before = emulator.requests().len();
    workspace.apply();
    let create = emulator.requests_since(before);
    let service_principal_calls: Vec<String> = create
        .iter()
        .filter(|r| r.service == Service::Graph && r.path.contains("servicePrincipals"))
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect();
    assert_eq!(
        service_principal_calls,
        vec![
            "POST /v1.0/servicePrincipals 503",
            "PATCH /v1.0/{keyed} 201"
        ]
    );
    let values = state_values(&workspace, ADDRESS).expect("created");
    let client_id = text(&values, "client_id").to_owned();
    let made = emulator.with_world(|world| {
        world
            .identity
            .service_principals
            .values()
            .filter(|sp| sp.app_id == client_id)
            .count()
    });
    assert_eq!(made, 1, "exactly one service principal");
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    workspace.destroy();
    assert_no_violations(&emulator);
}

const PURGE_ROUTE: &str = "/v1.0/directory/deletedItems/{id}";

/// Creates an application with `permanently_delete`, then destroys it while every purge fails:
/// the destroy fails clearly, the application is deleted but not purged, and the state keeps it.
/// Returns its object id; the fault is cleared again.
fn destroy_with_a_failing_purge(emulator: &Emulator, workspace: &TerraformWorkspace) -> String {
    workspace.write_config(&app_config("  permanently_delete = true"));
    workspace.apply();
    let values = state_values(workspace, ADDRESS).expect("created");
    let object_id = text(&values, "object_id").to_owned();
    emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Status { status: 400 })
            .method("DELETE")
            .route(PURGE_ROUTE)
            .schedule(Schedule::Always),
    );
    let destroy = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(destroy.status, 1, "{destroy}");
    // Terraform wraps the detail: compare with single spaces.
    let text = flat(&destroy.combined());
    assert!(
        text.contains("Error: Cannot purge the application from the deleted items"),
        "{text}"
    );
    assert!(
        text.contains(&object_id),
        "the error names the application: {text}"
    );
    assert!(
        text.contains("the next `terraform destroy` retries the purge"),
        "the error says what happens next: {text}"
    );
    emulator.faults().clear();
    assert!(
        workspace.state_resource(ADDRESS).is_some(),
        "the state keeps the unpurged application"
    );
    emulator.with_world(|w| {
        assert!(!w.identity.applications.contains_key(&object_id));
        assert!(
            w.identity.deleted_applications.contains_key(&object_id),
            "deleted, not purged"
        );
    });
    object_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_purge_is_retried_by_the_next_destroy() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = identity_objects(&emulator);
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    destroy_with_a_failing_purge(&emulator, &workspace);

    // The outage is over: the refresh finds the application in deleted items (one GET more),
    // and the destroy only purges it.
    let before = emulator.requests().len();
    workspace.destroy();
    let destroy = emulator.requests_since(before);
    let graph_calls: Vec<String> = destroy
        .iter()
        .filter(|r| r.service == Service::Graph)
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect();
    let deleted_item_reads = matching(&destroy, Service::Graph, "GET", PURGE_ROUTE);
    assert_eq!(
        statuses(&deleted_item_reads),
        vec![200],
        "one look into deleted items: {graph_calls:?}"
    );
    let writes: Vec<&String> = graph_calls
        .iter()
        .filter(|call| !call.starts_with("GET "))
        .collect();
    assert_eq!(
        writes,
        vec!["DELETE /v1.0/directory/deletedItems/{id} 204"],
        "nothing but the purge: {graph_calls:?}"
    );
    assert!(
        workspace.state_resource(ADDRESS).is_none(),
        "gone from state"
    );
    assert_eq!(identity_objects(&emulator), seeded, "purged, nothing left");
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpurged_application_is_replaced_by_the_next_apply() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = identity_objects(&emulator);
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let old_object_id = destroy_with_a_failing_purge(&emulator, &workspace);

    // Applying instead of destroying: the deleted application is purged and a new one made.
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(
        plan.contains("The application is deleted but not purged"),
        "{plan}"
    );
    workspace.apply();
    let values = state_values(&workspace, ADDRESS).expect("re-created");
    let object_id = text(&values, "object_id").to_owned();
    assert_ne!(object_id, old_object_id);
    emulator.with_world(|w| {
        assert!(w.identity.applications.contains_key(&object_id));
        assert!(
            !w.identity.deleted_applications.contains_key(&old_object_id),
            "the old one is purged"
        );
    });
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "the new application is an ordinary one:\n{plan}");

    workspace.destroy();
    assert_eq!(identity_objects(&emulator), seeded, "nothing left behind");
    assert_no_violations(&emulator);
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replication_window_is_waited_out() {
    let knobs = Knobs {
        graph_replication: Duration::from_secs(2),
        secret_activation: Duration::from_secs(2),
        ..Knobs::test()
    };
    let emulator = Emulator::start(knobs).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    // Also the audience that needs v2 tokens: Graph refuses the create unless the provider asks
    // for them.
    workspace.write_config(&app_config(
        r#"  permanently_delete = true
  sign_in_audience   = "AzureADandPersonalMicrosoftAccount""#,
    ));
    let before = emulator.requests().len();
    workspace.apply();
    let create = emulator.requests_since(before);
    let values = state_values(&workspace, ADDRESS).expect("created");
    let client_id = text(&values, "client_id").to_owned();

    let sp_posts = matching(&create, Service::Graph, "POST", "/v1.0/servicePrincipals");
    assert!(
        sp_posts.len() >= 2 && sp_posts.last().is_some_and(|r| r.status == 201),
        "'not a valid application object' was answered by waiting: {:?}",
        statuses(&sp_posts)
    );
    let checks = token_requests_of(&create, &client_id);
    assert!(
        checks.len() >= 2 && checks.last().is_some_and(|r| r.status == 200),
        "the unreplicated secret was waited for: {:?}",
        statuses(&checks)
    );
    // Right after create, everything the resource made is visible.
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    workspace.destroy();
    assert!(
        emulator.with_world(|w| w.identity.application_by_app_id(&client_id).is_none()),
        "destroyed"
    );
    assert_no_violations(&emulator);
}

#[test]
fn invalid_arguments_are_refused_at_validate_time_with_the_reason() {
    let workspace = TerraformWorkspace::new();
    workspace.write_config(&app_config(
        r#"  sign_in_audience = "AzureADMyOrg"
  owners           = ["not-a-uuid"]
  secret_end_date  = "2030-01-01T00:00:00Z"
  secret_lifetime  = "720h""#,
    ));
    let (output, report) = workspace.validate();
    assert!(!output.success(), "{output}");
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    let find = |fragment: &str| {
        diagnostics
            .iter()
            .find(|d| d["summary"].as_str().is_some_and(|s| s.contains(fragment)))
            .unwrap_or_else(|| panic!("no diagnostic about {fragment}: {report}"))
    };
    let audience = find("Invalid sign_in_audience");
    assert!(
        audience["detail"]
            .as_str()
            .is_some_and(|d| d.contains("single-tenant") && d.contains("AzureADMultipleOrgs")),
        "{audience}"
    );
    find("Invalid owners");
    let conflict = find("Conflicting secret_end_date and secret_lifetime");
    assert!(conflict["range"]["start"]["line"].is_number(), "{conflict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_import_id_says_what_to_use() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_config(&app_config(""));
    let output = workspace.run(&["import", "-input=false", "-no-color", ADDRESS, "my-app"]);
    assert!(!output.success());
    assert!(
        output.combined().contains("object id"),
        "{}",
        output.combined()
    );
    // A well-formed id of nothing: Terraform reports that it does not exist.
    let output = workspace.run(&[
        "import",
        "-input=false",
        "-no-color",
        ADDRESS,
        "0f000000-0000-4000-8000-000000000000",
    ]);
    assert!(!output.success(), "{output}");
    assert!(
        output.combined().contains("non-existent"),
        "{}",
        output.combined()
    );
    assert_no_violations(&emulator);
}
