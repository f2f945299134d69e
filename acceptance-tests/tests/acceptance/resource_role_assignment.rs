//! `vnetpeer_role_assignment` through the real `terraform` against the emulator: the lifecycle
//! of runbook step 2 (Network Contributor by name) with its request counts, a principal still
//! inside Entra ID's replication window, step 4 (the custom role for Aiven's service principal,
//! destroyed in order), adoption of an identical assignment, role changes against spellings of
//! the same role, plan-time validation, and a principal ARM cannot find.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance resource_role_assignment::
//! ```

use crate::terraform_common::assert_arm_calls;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vnetpeer::azure::ids::{role_assignment_name, role_definition_guid};
use vnetpeer_emulator::world::arm::{NETWORK_CONTRIBUTOR_ROLE_ID, READER_ROLE_ID, RoleAssignment};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Seed, Service, count_calls};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_role_assignment.app";

/// `vnetpeer_role_assignment.app` on the customer VNet; `role` is the role line(s).
fn config(seed: &Seed, principal_id: &str, role: &str, extra: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_role_assignment" "app" {{
  scope        = "{vnet}"
  principal_id = "{principal_id}"
  {role}
  {extra}
}}
"#,
        vnet = seed.customer_vnet_id,
    )
}

const BY_NAME: &str = r#"role_definition_name = "Network Contributor""#;

fn subscription_role_id(seed: &Seed, guid: &str) -> String {
    format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        seed.customer_subscription_id
    )
}

fn assignment_id(seed: &Seed, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
        seed.customer_vnet_id
    )
}

fn expected_name(seed: &Seed, role: &str, principal_id: &str) -> String {
    role_assignment_name(
        &seed.customer_vnet_id,
        uuid::Uuid::parse_str(role).expect("a GUID"),
        principal_id,
    )
    .to_string()
}

/// A service principal in the customer tenant (the step-1 app, as `vnetpeer_aad_app` makes it).
fn add_service_principal(emulator: &Emulator, name: &str) -> String {
    let seed = emulator.seed().clone();
    let now = emulator.now();
    emulator.with_world(|world| {
        world
            .identity
            .add_app_with_secret(&seed.customer_tenant_id, name, &[], now)
            .1
    })
}

/// Aiven's service principal in the customer tenant (runbook step 3).
fn aiven_service_principal(emulator: &Emulator) -> String {
    let seed = emulator.seed().clone();
    let now = emulator.now();
    emulator.with_world(|world| {
        world
            .identity
            .ensure_service_principal(&seed.customer_tenant_id, &seed.aiven_app_id, now)
    })
}

/// The assignments in the world held by `principal_id`.
fn assignments_of(emulator: &Emulator, principal_id: &str) -> Vec<RoleAssignment> {
    emulator.with_world(|world| {
        world
            .arm
            .role_assignments
            .iter()
            .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_id))
            .cloned()
            .collect()
    })
}

/// ARM requests with `method` whose path contains `path_contains` (case-insensitive).
fn arm_calls(requests: &[RequestRecord], method: &str, path_contains: &str) -> usize {
    count_calls(requests, Service::Arm, method, path_contains)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_contributor_by_name_lifecycle() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let principal = add_service_principal(&emulator, "aiven-peering");
    let name = expected_name(&seed, NETWORK_CONTRIBUTOR_ROLE_ID, &principal);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, &principal, BY_NAME, ""));

    // A built-in name resolves at plan time, without a request.
    let plan = ws.plan();
    assert!(plan.contains(NETWORK_CONTRIBUTOR_ROLE_ID), "{plan}");

    // Create: one PUT, no role lookup, no read-back.
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    assert_arm_calls(
        &created,
        &[
            ("PUT", "/roleAssignments/", 1),
            ("GET", "/roleDefinitions", 0),
            ("GET", "/roleAssignments", 0),
        ],
    );
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["name"], name.as_str());
    assert_eq!(values["id"], assignment_id(&seed, &name).as_str());
    assert_eq!(
        values["role_definition_id"],
        subscription_role_id(&seed, NETWORK_CONTRIBUTOR_ROLE_ID).as_str()
    );
    assert_eq!(values["principal_type"], "ServicePrincipal");
    let held = assignments_of(&emulator, &principal);
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0].name, name);
    assert_eq!(held[0].role_definition_guid, NETWORK_CONTRIBUTOR_ROLE_ID);
    assert_eq!(held[0].principal_type, "ServicePrincipal");

    // Refresh: one GET, no changes.
    let before = emulator.requests().len();
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    let refreshed = emulator.requests_since(before);
    assert_eq!(arm_calls(&refreshed, "GET", "/roleAssignments/"), 1);
    assert_eq!(arm_calls(&refreshed, "PUT", ""), 0);

    // Import into a fresh state: the same attributes, nothing to change.
    let imported = TerraformWorkspace::for_emulator(&emulator);
    imported.write_config(&config(&seed, &principal, BY_NAME, ""));
    imported.import(ADDRESS, &assignment_id(&seed, &name));
    let imported_values = imported.state_show_json(ADDRESS).expect("imported");
    for (attribute, value) in values.as_object().expect("object") {
        if attribute != "timeouts" {
            assert_eq!(&imported_values[attribute], value, "imported {attribute}");
        }
    }
    let (code, output) = imported.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    // Deleted out of band: refresh plans a create; apply makes it again.
    emulator.with_world(|world| world.arm.remove_role_assignment(&name));
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("will be created"), "{output}");
    ws.apply();
    assert_eq!(assignments_of(&emulator, &principal).len(), 1);

    // Destroy: one DELETE, then one GET that confirms it is gone.
    let before = emulator.requests().len();
    ws.destroy();
    let destroyed = emulator.requests_since(before);
    assert_eq!(arm_calls(&destroyed, "DELETE", "/roleAssignments/"), 1);
    let confirmations: Vec<u16> = destroyed
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/roleAssignments/"))
        .map(|r| r.status)
        .collect();
    // The refresh before the destroy, then the 404 after the DELETE.
    assert_eq!(confirmations, vec![200, 404], "{destroyed:#?}");
    assert!(assignments_of(&emulator, &principal).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
    ws.assert_no_secret_leaks(&emulator, &[]);
    imported.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_inside_the_replication_window_is_assigned_in_one_put() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let principal = add_service_principal(&emulator, "just-created");
    // Not yet replicated to ARM's directory view for the whole apply: without principalType
    // ARM would answer PrincipalNotFound.
    let later = emulator.now() + Duration::from_secs(600);
    emulator.with_world(|world| {
        world
            .identity
            .service_principals
            .get_mut(&principal)
            .expect("the new service principal")
            .visible_to_dependents_at = later;
    });
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, &principal, BY_NAME, ""));
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    let puts: Vec<u16> = created
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/roleAssignments/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, vec![201], "{created:#?}");
    assert_eq!(assignments_of(&emulator, &principal).len(), 1);
    ws.destroy();
    assert!(assignments_of(&emulator, &principal).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
}

/// Runbook step 4: the peer-only custom role, assigned to Aiven's service principal by id and
/// (a second assignment, at the resource group) by name.
fn custom_role_config(seed: &Seed, aiven_principal: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_custom_role" "peer_only" {{
  name  = "Aiven VNet peering"
  scope = "/subscriptions/{subscription}"
}}

resource "vnetpeer_role_assignment" "aiven" {{
  scope              = "{vnet}"
  role_definition_id = vnetpeer_custom_role.peer_only.role_definition_resource_id
  principal_id       = "{aiven_principal}"
}}

resource "vnetpeer_role_assignment" "aiven_by_name" {{
  scope                = "/subscriptions/{subscription}/resourceGroups/{group}"
  role_definition_name = vnetpeer_custom_role.peer_only.name
  principal_id         = "{aiven_principal}"
}}
"#,
        subscription = seed.customer_subscription_id,
        vnet = seed.customer_vnet_id,
        group = seed.customer_resource_group,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_role_for_aiven_then_destroy_in_order() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let aiven = aiven_service_principal(&emulator);
    let role = role_definition_guid(
        &format!("/subscriptions/{}", seed.customer_subscription_id),
        "Aiven VNet peering",
    )
    .to_string();
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&custom_role_config(&seed, &aiven));

    // Create: one PUT each; the custom role name is looked up once, the id not at all.
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    assert_arm_calls(
        &created,
        &[
            ("PUT", "/roleDefinitions/", 1),
            ("PUT", "/roleAssignments/", 2),
            ("GET", "/roleDefinitions", 1),
            ("GET", "/roleAssignments", 0),
        ],
    );
    let held = assignments_of(&emulator, &aiven);
    assert_eq!(held.len(), 2, "{held:#?}");
    assert!(
        held.iter().all(|a| a.role_definition_guid == role),
        "{held:#?}"
    );
    let by_name = ws
        .state_show_json("vnetpeer_role_assignment.aiven_by_name")
        .expect("in state");
    assert_eq!(
        by_name["role_definition_id"],
        subscription_role_id(&seed, &role).as_str()
    );
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    // Destroy: the assignments are gone (confirmed) before the role is deleted, which then
    // succeeds at the first attempt.
    let before = emulator.requests().len();
    ws.destroy();
    let destroyed = emulator.requests_since(before);
    let role_deletes: Vec<&RequestRecord> = destroyed
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("/roleDefinitions/"))
        .collect();
    assert_eq!(role_deletes.len(), 1, "{destroyed:#?}");
    assert_eq!(role_deletes[0].status, 200);
    let last_assignment_check = destroyed
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/roleAssignments/") && r.status == 404)
        .map(|r| r.seq)
        .max()
        .expect("assignment deletes are confirmed");
    assert!(last_assignment_check < role_deletes[0].seq);
    assert!(assignments_of(&emulator, &aiven).is_empty());
    let custom_left = emulator.with_world(|world| {
        world
            .arm
            .role_definitions
            .iter()
            .filter(|d| d.tenant_id.is_some())
            .count()
    });
    assert_eq!(custom_left, 0);
    assert_eq!(emulator.violations(), vec![], "violations");
    ws.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_assignment_under_another_name_is_adopted() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let principal = add_service_principal(&emulator, "assigned-by-hand");
    let existing = "5a1c3e9d-2b7f-4d6e-8a0b-9c1d2e3f4a5b";
    emulator.with_world(|world| {
        world.arm.insert_role_assignment(RoleAssignment {
            description: Some("made in the portal".to_owned()),
            ..RoleAssignment::of_service_principal(
                existing,
                &seed.customer_vnet_id,
                &seed.customer_tenant_id,
                NETWORK_CONTRIBUTOR_ROLE_ID,
                &principal,
                None,
            )
        });
    });
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, &principal, BY_NAME, ""));
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    // The PUT answers RoleAssignmentExists; one list finds the existing assignment.
    assert_arm_calls(
        &created,
        &[
            ("PUT", "/roleAssignments/", 1),
            ("GET", "/roleAssignments", 1),
        ],
    );
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["name"], existing);
    assert_eq!(values["id"], assignment_id(&seed, existing).as_str());
    assert_eq!(
        assignments_of(&emulator, &principal).len(),
        1,
        "no duplicate"
    );
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    ws.destroy();
    assert!(assignments_of(&emulator, &principal).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_spelling_updates_in_place_and_another_role_replaces() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let principal = add_service_principal(&emulator, "respelled");
    let ws = TerraformWorkspace::for_emulator(&emulator);
    let by_id = |id: &str| format!(r#"role_definition_id = "{id}""#);
    ws.write_config(&config(
        &seed,
        &principal,
        &by_id(&subscription_role_id(&seed, NETWORK_CONTRIBUTOR_ROLE_ID)),
        "",
    ));
    ws.apply();
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["role_definition_name"], "Network Contributor");

    // The tenant-level form, upper case, and the role's name all mean the same role.
    for role in [
        by_id(&format!(
            "/providers/Microsoft.Authorization/roleDefinitions/{}",
            NETWORK_CONTRIBUTOR_ROLE_ID.to_uppercase()
        )),
        r#"role_definition_name = "network contributor""#.to_owned(),
    ] {
        ws.write_config(&config(&seed, &principal, &role, ""));
        let plan = ws.plan();
        assert!(
            plan.contains("0 to add, 1 to change, 0 to destroy"),
            "{plan}"
        );
        let before = emulator.requests().len();
        ws.apply();
        let applied = emulator.requests_since(before);
        assert_eq!(arm_calls(&applied, "PUT", ""), 0, "{applied:#?}");
        assert_eq!(arm_calls(&applied, "DELETE", ""), 0, "{applied:#?}");
        let (code, output) = ws.plan_detailed_exitcode();
        assert_eq!(code, 0, "{output}");
    }

    // Another role replaces the assignment.
    ws.write_config(&config(
        &seed,
        &principal,
        r#"role_definition_name = "Reader""#,
        "",
    ));
    let plan = ws.plan();
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(
        plan.contains("1 to add, 0 to change, 1 to destroy"),
        "{plan}"
    );
    ws.apply();
    let held = assignments_of(&emulator, &principal);
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0].role_definition_guid, READER_ROLE_ID);
    ws.destroy();
    assert!(assignments_of(&emulator, &principal).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_arguments_fail_validation_at_their_attribute() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_role_assignment" "both" {{
  scope                = "{vnet}"
  principal_id         = "00000000-0000-0000-0000-000000000001"
  role_definition_id   = "{role}"
  role_definition_name = "Network Contributor"
}}

resource "vnetpeer_role_assignment" "neither" {{
  scope        = "{vnet}"
  principal_id = "00000000-0000-0000-0000-000000000001"
}}

resource "vnetpeer_role_assignment" "bad_values" {{
  scope                = "/subscriptions/{subscription}/resourceGroups"
  principal_id         = "my-app"
  role_definition_id   = "Network Contributor"
  principal_type       = "Application"
}}
"#,
        vnet = seed.customer_vnet_id,
        role = subscription_role_id(&seed, NETWORK_CONTRIBUTOR_ROLE_ID),
        subscription = seed.customer_subscription_id,
    ));
    let (output, report) = ws.validate();
    assert!(!output.success(), "{output}");
    let diagnostics: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let code = d["snippet"]["code"].as_str().unwrap_or_default();
            let attribute = code.split_whitespace().next().unwrap_or_default();
            (
                attribute.to_owned(),
                format!("{}: {}", d["summary"], d["detail"]),
            )
        })
        .collect();
    let text = format!("{diagnostics:#?}");
    assert!(
        text.contains("Only one of role_definition_id and role_definition_name"),
        "{text}"
    );
    assert!(
        text.contains("One of role_definition_id and role_definition_name is required"),
        "{text}"
    );
    for attribute in [
        "scope",
        "principal_id",
        "role_definition_id",
        "principal_type",
    ] {
        assert!(
            diagnostics.iter().any(|(a, _)| a == attribute),
            "{attribute}: {text}"
        );
    }
    assert!(
        emulator.requests().is_empty(),
        "validation needs no request"
    );
}

/// A stand-in for Azure Resource Manager that answers every role-assignment PUT the way ARM
/// answers for a principal it cannot find in the tenant (the emulator, like ARM, accepts unknown
/// principals when `principalType` is `ServicePrincipal`; ARM refuses them for users and
/// groups). Returns its URL and the number of PUTs it received.
async fn arm_that_cannot_find_the_principal() -> (String, Arc<AtomicUsize>) {
    let puts = Arc::new(AtomicUsize::new(0));
    let counter = puts.clone();
    let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri| {
        let counter = counter.clone();
        async move {
            if method == axum::http::Method::PUT && uri.path().contains("/roleAssignments/") {
                counter.fetch_add(1, Ordering::SeqCst);
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    [("content-type", "application/json")],
                    r#"{"error":{"code":"PrincipalNotFound","message":"Principal 0badc0de000040008000000000000001 does not exist in the directory c1000000-0000-4000-8000-000000000001. Check that you have the correct principal ID."}}"#,
                )
            } else {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    [("content-type", "application/json")],
                    r#"{"error":{"code":"NotFound","message":"not served"}}"#,
                )
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), puts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_that_does_not_exist_is_explained_before_the_timeout() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (arm, puts) = arm_that_cannot_find_the_principal().await;
    let mut ws = TerraformWorkspace::for_emulator(&emulator);
    ws.set_env("VNETPEER_RESOURCE_MANAGER_ENDPOINT", arm);
    let wrong = "0badc0de-0000-4000-8000-000000000001";
    ws.write_config(&config(
        &seed,
        wrong,
        BY_NAME,
        r#"principal_type = "User"
  timeouts { create = "4s" }"#,
    ));
    let output = ws.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains(&format!(
            "principal_id {wrong} does not exist in the tenant"
        )),
        "{text}"
    );
    assert!(text.contains("not a client (application) id"), "{text}");
    assert!(text.contains("PrincipalNotFound for 2s"), "{text}");
    assert!(
        !text.contains("timed out"),
        "the explanation comes first: {text}"
    );
    assert!(text.contains("principal_id"), "{text}");
    // Retried on the polling schedule within the window, not hammered, not given up at once.
    let attempts = puts.load(Ordering::SeqCst);
    assert!((2..=25).contains(&attempts), "{attempts} PUT attempts");
    assert!(ws.state_resource(ADDRESS).is_none(), "nothing was created");
    ws.assert_no_secret_leaks(&emulator, &[]);
}

/// Runbook steps 1 to 4 in one configuration: the peering app (with its service principal)
/// gets Network Contributor on the VNet; Aiven's service principal (new in the customer tenant)
/// gets the peer-only custom role.
fn runbook_config(seed: &Seed) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_aad_app" "peering" {{
  display_name = "aiven-peering"
}}

resource "vnetpeer_role_assignment" "app" {{
  scope                = "{vnet}"
  role_definition_name = "Network Contributor"
  principal_id         = vnetpeer_aad_app.peering.service_principal_object_id
}}

resource "vnetpeer_service_principal" "aiven" {{
  client_id = "{aiven_app}"
}}

resource "vnetpeer_custom_role" "peer_only" {{
  name  = "Aiven VNet peering"
  scope = "/subscriptions/{subscription}"
}}

resource "vnetpeer_role_assignment" "aiven" {{
  scope              = "{vnet}"
  role_definition_id = vnetpeer_custom_role.peer_only.role_definition_resource_id
  principal_id       = vnetpeer_service_principal.aiven.object_id
}}

output "app_principal" {{
  value = vnetpeer_aad_app.peering.service_principal_object_id
}}

output "aiven_principal" {{
  value = vnetpeer_service_principal.aiven.object_id
}}
"#,
        vnet = seed.customer_vnet_id,
        aiven_app = seed.aiven_app_id,
        subscription = seed.customer_subscription_id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runbook_steps_one_to_four_apply_at_once_with_fresh_principals() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let seeded_assignments = emulator.with_world(|world| world.arm.role_assignments.len());
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&runbook_config(&seed));

    // One apply, although both principals are brand new: one PUT per assignment and role.
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    let assignment_puts: Vec<u16> = created
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/roleAssignments/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(assignment_puts, vec![201, 201], "{created:#?}");
    assert_eq!(arm_calls(&created, "PUT", "/roleDefinitions/"), 1);
    assert_eq!(arm_calls(&created, "GET", "/roleDefinitions"), 0);
    // Read through outputs: showing the app's state would print its client secret.
    let outputs = ws.output_json();
    let app_principal = outputs["app_principal"]["value"]
        .as_str()
        .expect("known")
        .to_owned();
    let aiven_principal = outputs["aiven_principal"]["value"]
        .as_str()
        .expect("known")
        .to_owned();
    let app_roles = assignments_of(&emulator, &app_principal);
    assert_eq!(app_roles.len(), 1, "{app_roles:#?}");
    assert_eq!(
        app_roles[0].role_definition_guid,
        NETWORK_CONTRIBUTOR_ROLE_ID
    );
    assert_eq!(assignments_of(&emulator, &aiven_principal).len(), 1);
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    // Destroy in dependency order leaves no assignment and no custom role behind.
    ws.destroy();
    let (assignments, custom_roles) = emulator.with_world(|world| {
        (
            world.arm.role_assignments.len(),
            world
                .arm
                .role_definitions
                .iter()
                .filter(|d| d.tenant_id.is_some())
                .count(),
        )
    });
    assert_eq!(assignments, seeded_assignments);
    assert_eq!(custom_roles, 0);
    assert_eq!(emulator.violations(), vec![], "violations");
    ws.assert_no_secret_leaks(&emulator, &[]);
}
