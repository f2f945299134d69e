//! `vnetpeer_custom_role` through the real `terraform` against the emulator: the lifecycle
//! (create, refresh, import, rename in place, drift, destroy) with its request counts, the
//! tenant-wide name clash, plan-time validation, and a destroy that waits out the role's
//! assignments or says which ones are left.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance resource_custom_role::
//! ```

use crate::terraform_common::assert_arm_calls;
use std::time::Duration;

use serde_json::Value as Json;
use vnetpeer::azure::ids::role_definition_guid;
use vnetpeer_emulator::world::arm::{Permission, RoleAssignment, RoleDefinition};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Seed, Service, count_calls};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_custom_role.peer_only";
const ROLE_NAME: &str = "Aiven VNet peering";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

fn scope(seed: &Seed) -> String {
    format!("/subscriptions/{}", seed.customer_subscription_id)
}

fn config(seed: &Seed, name: &str, extra: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_custom_role" "peer_only" {{
  name  = "{name}"
  scope = "{scope}"
  {extra}
}}
"#,
        scope = scope(seed),
    )
}

fn role_guid(seed: &Seed, name: &str) -> String {
    role_definition_guid(&scope(seed), name).to_string()
}

fn role_id(seed: &Seed, guid: &str) -> String {
    format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        scope(seed)
    )
}

/// ARM requests with `method` whose path contains `path_contains` (case-insensitive).
fn arm_calls(requests: &[RequestRecord], method: &str, path_contains: &str) -> usize {
    count_calls(requests, Service::Arm, method, path_contains)
}

/// The custom role definitions of the customer tenant in the world.
fn custom_roles(emulator: &Emulator) -> Vec<RoleDefinition> {
    let tenant = emulator.seed().customer_tenant_id.clone();
    emulator.with_world(|world| {
        world
            .arm
            .role_definitions
            .iter()
            .filter(|d| {
                d.tenant_id
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(&tenant))
            })
            .cloned()
            .collect()
    })
}

/// An assignment of role `guid` to Aiven's service principal on the customer VNet, made outside
/// Terraform. Returns its name.
fn assign_out_of_band(emulator: &Emulator, guid: &str) -> String {
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let name = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, guid.as_bytes()).to_string();
    emulator.with_world(|world| {
        let principal = world.identity.ensure_service_principal(
            &seed.customer_tenant_id,
            &seed.aiven_app_id,
            now,
        );
        world
            .arm
            .insert_role_assignment(RoleAssignment::of_service_principal(
                &name,
                &seed.customer_vnet_id,
                &seed.customer_tenant_id,
                guid,
                principal,
                None,
            ));
    });
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_import_rename_drift_and_destroy() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let guid = role_guid(&seed, ROLE_NAME);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    let described = r#"description = "Lets Aiven peer with our VNet, nothing more.""#;
    ws.write_config(&config(&seed, ROLE_NAME, described));

    // The role id is derived from scope and name, so the plan already shows it.
    let plan = ws.plan();
    assert!(plan.contains(&guid), "{plan}");

    // Create: one PUT, no read-back.
    let before = emulator.requests().len();
    ws.apply();
    let created = emulator.requests_since(before);
    assert_arm_calls(
        &created,
        &[
            ("PUT", "/roleDefinitions/", 1),
            ("GET", "/roleDefinitions", 0),
        ],
    );
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["role_definition_id"], guid.as_str());
    assert_eq!(
        values["role_definition_resource_id"],
        role_id(&seed, &guid).as_str()
    );
    assert_eq!(values["actions"], serde_json::json!([PEER_ACTION]));
    assert_eq!(values["not_actions"], serde_json::json!([]));
    assert_eq!(
        values["assignable_scopes"],
        serde_json::json!([scope(&seed)])
    );
    let roles = custom_roles(&emulator);
    assert_eq!(roles.len(), 1, "{roles:#?}");
    assert_eq!(roles[0].name, guid);
    assert_eq!(roles[0].role_name, ROLE_NAME);
    assert_eq!(roles[0].permissions[0].actions, vec![PEER_ACTION]);
    assert_eq!(roles[0].assignable_scopes, vec![scope(&seed)]);

    // Refresh: one GET, no changes.
    let before = emulator.requests().len();
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    let refreshed = emulator.requests_since(before);
    assert_eq!(arm_calls(&refreshed, "GET", "/roleDefinitions/"), 1);
    assert_eq!(arm_calls(&refreshed, "PUT", ""), 0);

    // Import into a fresh state: the same attributes, and nothing to change.
    let imported = TerraformWorkspace::for_emulator(&emulator);
    imported.write_config(&config(&seed, ROLE_NAME, described));
    imported.import(ADDRESS, &role_id(&seed, &guid));
    let imported_values = imported.state_show_json(ADDRESS).expect("imported");
    for (name, value) in values.as_object().expect("object") {
        if name != "timeouts" {
            assert_eq!(&imported_values[name], value, "imported {name}");
        }
    }
    let (code, output) = imported.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    // Rename and reword in place: one PUT of the same GUID; the id stays.
    let renamed = "Aiven VNet peering (prod)";
    ws.write_config(&config(&seed, renamed, r#"description = "Peering only.""#));
    let plan = ws.plan();
    assert!(plan.contains("1 to change, 0 to destroy"), "{plan}");
    let before = emulator.requests().len();
    ws.apply();
    let updated = emulator.requests_since(before);
    assert_eq!(arm_calls(&updated, "PUT", &guid), 1, "{updated:#?}");
    let values = ws.state_show_json(ADDRESS).expect("in state");
    assert_eq!(values["role_definition_id"], guid.as_str());
    assert_eq!(values["name"], renamed);
    let roles = custom_roles(&emulator);
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].role_name, renamed);
    assert_eq!(roles[0].description, "Peering only.");

    // Deleted out of band: refresh plans a create; apply makes it again.
    emulator.with_world(|world| {
        world
            .arm
            .remove_role_definition(&seed.customer_tenant_id, &guid)
            .expect("the role exists")
    });
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("will be created"), "{output}");
    ws.apply();
    assert_eq!(custom_roles(&emulator).len(), 1);

    // Destroy: one DELETE, and the tenant has no custom role left.
    let before = emulator.requests().len();
    ws.destroy();
    let destroyed = emulator.requests_since(before);
    assert_eq!(arm_calls(&destroyed, "DELETE", "/roleDefinitions/"), 1);
    assert!(
        custom_roles(&emulator).is_empty(),
        "{:#?}",
        custom_roles(&emulator)
    );
    assert_eq!(emulator.violations(), vec![], "violations");
    ws.assert_no_secret_leaks(&emulator, &[]);
    imported.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_used_elsewhere_in_the_tenant_is_explained() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    // Someone already made a role with this name (another GUID), assignable in the subscription.
    let existing = "0b5f0d52-7c3e-4c41-9f0e-2c1d7a6b9e01";
    emulator.with_world(|world| {
        world.arm.role_definitions.push(RoleDefinition {
            name: existing.to_owned(),
            role_name: ROLE_NAME.to_owned(),
            description: String::new(),
            role_type: "CustomRole".to_owned(),
            tenant_id: Some(seed.customer_tenant_id.clone()),
            permissions: vec![Permission {
                actions: vec![PEER_ACTION.to_owned()],
                not_actions: Vec::new(),
                data_actions: Vec::new(),
                not_data_actions: Vec::new(),
            }],
            assignable_scopes: vec![scope(&seed)],
            created_on: "2024-01-01T00:00:00Z".to_owned(),
            updated_on: "2024-01-01T00:00:00Z".to_owned(),
            created_by: None,
            updated_by: None,
        });
    });
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, ROLE_NAME, ""));
    let output = ws.try_apply();
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains(&format!(
            "A role named \"{ROLE_NAME}\" already exists in this tenant"
        )),
        "{text}"
    );
    assert!(
        text.contains(&role_id(&seed, existing)),
        "names the role: {text}"
    );
    assert!(text.contains("terraform import"), "{text}");
    assert!(text.contains("choose another `name`"), "{text}");
    assert_eq!(custom_roles(&emulator).len(), 1, "nothing new was made");

    // A built-in role's name: the fix is to use it, not to define it.
    ws.write_config(&config(&seed, "Network Contributor", ""));
    let text = ws.try_apply().combined();
    assert!(text.contains("It is a built-in role"), "{text}");
    assert!(text.contains("role_definition_name"), "{text}");

    // Importing the existing role is the way out: then it is managed here.
    ws.write_config(&config(&seed, ROLE_NAME, ""));
    ws.import(ADDRESS, &role_id(&seed, existing));
    let (code, output) = ws.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    ws.destroy();
    assert!(custom_roles(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
    ws.assert_no_secret_leaks(&emulator, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_arguments_fail_validation_at_their_attribute() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_custom_role" "peer_only" {{
  name              = "x"
  scope             = "{vnet}"
  actions           = []
  assignable_scopes = ["/"]
}}
"#,
        vnet = seed.customer_vnet_id
    ));
    let (output, report) = ws.validate();
    assert!(!output.success(), "{output}");
    let attributes: Vec<String> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["detail"].as_str().unwrap_or_default().to_owned() + " @ " + &attribute_of(d))
        .collect();
    for expected in ["scope", "actions", "assignable_scopes"] {
        assert!(
            attributes
                .iter()
                .any(|a| a.ends_with(&format!("@ {expected}"))),
            "{expected}: {attributes:#?}"
        );
    }
    assert!(
        attributes
            .iter()
            .any(|a| a.contains("/subscriptions/{subscriptionId}")),
        "the scope error shows the expected form: {attributes:#?}"
    );
    assert!(
        emulator.requests().is_empty(),
        "validation needs no request"
    );
}

/// The attribute a `terraform validate -json` diagnostic points at (its source snippet's
/// first word).
fn attribute_of(diagnostic: &Json) -> String {
    diagnostic["snippet"]["code"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_waits_until_the_assignments_are_gone() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let guid = role_guid(&seed, ROLE_NAME);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, ROLE_NAME, ""));
    ws.apply();
    let assignment = assign_out_of_band(&emulator, &guid);

    // While destroy runs, the assignment is removed (as another apply would): the delete
    // retries through RoleDefinitionHasAssignments and then succeeds.
    let before = emulator.requests().len();
    let refused = |emulator: &Emulator| {
        emulator
            .requests_since(before)
            .iter()
            .any(|r| r.method == "DELETE" && r.status == 409)
    };
    let outcome = std::thread::scope(|threads| {
        let destroy = threads.spawn(|| ws.run(&["destroy", "-auto-approve", "-no-color"]));
        while !refused(&emulator) && !destroy.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
        }
        emulator.with_world(|world| world.arm.remove_role_assignment(&assignment));
        destroy.join().expect("terraform destroy")
    });
    assert!(outcome.success(), "{outcome}");
    let deletes: Vec<u16> = emulator
        .requests_since(before)
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("/roleDefinitions/"))
        .map(|r| r.status)
        .collect();
    assert!(deletes.len() >= 2, "{deletes:?}");
    assert_eq!(deletes.first(), Some(&409), "{deletes:?}");
    assert_eq!(deletes.last(), Some(&200), "{deletes:?}");
    assert!(custom_roles(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_names_the_assignments_that_remain() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let guid = role_guid(&seed, ROLE_NAME);
    let ws = TerraformWorkspace::for_emulator(&emulator);
    ws.write_config(&config(&seed, ROLE_NAME, r#"timeouts { delete = "3s" }"#));
    ws.apply();
    let assignment = assign_out_of_band(&emulator, &guid);

    let output = ws.run(&["destroy", "-auto-approve", "-no-color"]);
    assert!(!output.success(), "{output}");
    let text = output.combined();
    assert!(
        text.contains(&format!(
            "The custom role {guid} still has role assignments"
        )),
        "{text}"
    );
    assert!(text.contains(&assignment), "names the assignment: {text}");
    assert_eq!(custom_roles(&emulator).len(), 1, "the role is still there");

    // Once the assignment is gone, destroy finishes.
    emulator.with_world(|world| world.arm.remove_role_assignment(&assignment));
    ws.destroy();
    assert!(custom_roles(&emulator).is_empty());
    assert_eq!(emulator.violations(), vec![], "violations");
}
