//! Helpers shared by the tests that drive `terraform` against the emulator: running terraform
//! off the runtime's threads, the runbook module and `examples/complete` in a workspace, reading
//! outputs and module state, comparing the world with the seeded one, and the request log.

use std::path::Path;

use serde_json::Value as Json;
use vnetpeer_emulator::{Emulator, RequestRecord, Service, WorldSnapshot, count_calls};
use vnetpeer_harness::binaries::workspace_root;
use vnetpeer_harness::terraform::TerraformWorkspace;

/// Runs terraform off the runtime's worker threads (the emulator serves on them meanwhile).
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("the terraform steps panicked")
}

/// `terraform apply`, which must succeed, off the runtime's worker threads; gives the workspace
/// back.
pub async fn applied(workspace: TerraformWorkspace) -> TerraformWorkspace {
    blocking(move || {
        workspace.apply();
        workspace
    })
    .await
}

/// Copies the `.tf` files of `from` into `to` (made if missing), each passed through `edit`.
fn copy_tf_files(from: &Path, to: &Path, edit: impl Fn(String) -> String) {
    std::fs::create_dir_all(to).expect("directory");
    for entry in std::fs::read_dir(from).expect("example directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|extension| extension == "tf") {
            let text = std::fs::read_to_string(&path).expect("example file");
            let name = path.file_name().expect("file name");
            std::fs::write(to.join(name), edit(text)).expect("copied example file");
        }
    }
}

/// Only the module source, under `./modules/aiven-vnet-peering` of `workspace` (for
/// configurations the tests write themselves; `terraform get` links it).
pub fn install_module(workspace: &TerraformWorkspace) {
    copy_tf_files(
        &workspace_root().join("examples/modules/aiven-vnet-peering"),
        &workspace.path().join("modules/aiven-vnet-peering"),
        |text| text,
    );
}

/// Copies `examples/{example}` and the module into `workspace` (keeping their relative layout:
/// the configuration in the root, the module under `../modules` becomes `./modules`) and links
/// the module with `terraform get` (local, no registry).
pub fn install_example(workspace: &TerraformWorkspace, example: &str) {
    install_module(workspace);
    copy_tf_files(
        &workspace_root().join("examples").join(example),
        workspace.path(),
        |text| text.replace("\"../modules/", "\"./modules/"),
    );
    workspace.run_ok(&["get", "-no-color"]);
}

/// [`install_example`] of `examples/complete`.
pub fn install_complete_example(workspace: &TerraformWorkspace) {
    install_example(workspace, "complete");
}

/// A workspace on `emulator` holding `examples/complete` and its module.
pub fn complete_workspace(emulator: &Emulator) -> TerraformWorkspace {
    let workspace = TerraformWorkspace::for_emulator(emulator);
    install_complete_example(&workspace);
    workspace
}

/// A workspace on `emulator` holding `examples/provider/runbook` (the runbook's resources
/// without the module) with `override_tf` written as `override_name`, its variables set to
/// the seeded customer VNet and Aiven project.
pub fn runbook_workspace(
    emulator: &Emulator,
    override_name: &str,
    override_tf: &str,
) -> TerraformWorkspace {
    let mut workspace = TerraformWorkspace::for_emulator(emulator);
    copy_tf_files(
        &workspace_root().join("examples/provider/runbook"),
        workspace.path(),
        |text| text,
    );
    workspace.write_file(override_name, override_tf);
    let seed = emulator.seed();
    workspace.set_env("TF_VAR_customer_vnet_id", &seed.customer_vnet_id);
    workspace.set_env("TF_VAR_aiven_project", &seed.aiven_project);
    workspace.set_env("TF_VAR_aiven_cloud_name", &seed.aiven_cloud_name);
    workspace
}

/// The attributes of the managed resource at `address`, read from the state file (not with
/// `terraform show`, whose output would put a secret into the transcript the leak check reads).
pub fn state_values(workspace: &TerraformWorkspace, address: &str) -> Option<Json> {
    let state: Json = serde_json::from_str(&workspace.state_file_text()).ok()?;
    let (resource_type, name) = address.split_once('.')?;
    state["resources"]
        .as_array()?
        .iter()
        .find(|r| r["mode"] == "managed" && r["type"] == resource_type && r["name"] == name)
        .map(|r| r["instances"][0]["attributes"].clone())
}

/// The value of the root output `name`.
pub fn output(workspace: &TerraformWorkspace, name: &str) -> Json {
    workspace.output_json()[name]["value"].clone()
}

/// The state values of the resource at `address` in a child module.
#[track_caller]
pub fn module_resource(workspace: &TerraformWorkspace, address: &str) -> Json {
    let state = workspace.show_json();
    state["values"]["root_module"]["child_modules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|module| module["resources"].as_array().into_iter().flatten())
        .find(|resource| resource["address"] == address)
        .map(|resource| resource["values"].clone())
        .unwrap_or_else(|| panic!("{address} is not in the state"))
}

/// The connections of every Aiven VPC, project's and organization's: (owner, VPC id, state,
/// user_peer_network_cidrs), in owner and VPC order.
pub fn aiven_connections(emulator: &Emulator) -> Vec<(String, String, String, Json)> {
    let world = emulator.snapshot();
    let mut found = Vec::new();
    for owner in world["aiven"]["projects"].as_array().into_iter().flatten() {
        for vpc in owner["vpcs"].as_array().into_iter().flatten() {
            for connection in vpc["peering_connections"].as_array().into_iter().flatten() {
                found.push((
                    owner["name"].as_str().unwrap_or_default().to_owned(),
                    vpc["project_vpc_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    connection["state"].as_str().unwrap_or_default().to_owned(),
                    connection["user_peer_network_cidrs"].clone(),
                ));
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

/// Asserts that the world is as `seeded`, listing every difference as `path: before -> after`.
///
/// Only `/identity/deleted_applications` may differ: Entra ID keeps a deleted application in
/// its deleted items for 30 days (docs/development/entra-and-graph.md, 'Soft delete (deleted
/// items)') and `vnetpeer_aad_app` purges it only with `permanently_delete`. Everything else
/// (live applications and their secrets, service principals in both tenants, role definitions
/// and assignments, peerings on every VNet, Aiven connections, the service principals Aiven
/// manages, ARM request accounting) must be exactly as seeded.
#[track_caller]
pub fn assert_world_is(emulator: &Emulator, seeded: &WorldSnapshot) {
    let now = emulator.snapshot();
    let mut changed = Vec::new();
    diff("", seeded, &now, &mut changed);
    assert!(
        changed.is_empty(),
        "the world differs from the seeded one:\n{}",
        changed.join("\n")
    );
}

fn diff(path: &str, a: &Json, b: &Json, out: &mut Vec<String>) {
    if path.starts_with("/identity/deleted_applications") {
        return;
    }
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let null = Json::Null;
                diff(
                    &format!("{path}/{key}"),
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (index, (a, b)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}/{index}"), a, b, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} -> {b}")),
    }
}

/// The end of a runbook test: the destroy leaves the seeded world, the services saw nothing
/// they would refuse, and no secret leaked.
pub async fn assert_clean_destroy(
    emulator: &Emulator,
    workspace: TerraformWorkspace,
    seeded: &WorldSnapshot,
) {
    let workspace = blocking(move || {
        workspace.destroy();
        workspace
    })
    .await;
    assert_world_is(emulator, seeded);
    assert_eq!(
        emulator.violations(),
        vec![],
        "requests the real services would refuse"
    );
    workspace.assert_no_secret_leaks(emulator, &[]);
}

/// [`assert_clean_destroy`] after checking that a plan right after the apply is empty.
pub async fn assert_empty_plan_and_clean_destroy(
    emulator: &Emulator,
    workspace: TerraformWorkspace,
    seeded: &WorldSnapshot,
) {
    let workspace = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(
            code, 0,
            "a plan right after the apply wants changes:\n{plan}"
        );
        workspace
    })
    .await;
    assert_clean_destroy(emulator, workspace, seeded).await;
}

/// The position the next request will have in the emulator's log.
pub fn next_seq(emulator: &Emulator) -> u64 {
    emulator.requests().len() as u64
}

/// The requests to `service` from position `seq` on.
pub fn requests_since(emulator: &Emulator, seq: u64, service: Service) -> Vec<RequestRecord> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.seq >= seq && r.service == service)
        .collect()
}

/// How many of `records` are `method` on `route`.
pub fn count(records: &[RequestRecord], method: &str, route: &str) -> usize {
    records
        .iter()
        .filter(|r| r.method == method && r.route == route)
        .count()
}

/// Asserts, for each `(method, path part, count)`, how many ARM requests of `records` had that
/// method and a path containing that part (case-insensitively); lists the requests when one is
/// off.
#[track_caller]
pub fn assert_arm_calls(records: &[RequestRecord], expected: &[(&str, &str, usize)]) {
    for (method, path_contains, count) in expected {
        assert_eq!(
            count_calls(records, Service::Arm, method, path_contains),
            *count,
            "{method} …{path_contains}…: {records:#?}"
        );
    }
}

/// `METHOD route status` of each record, a line each (for assertion messages).
pub fn describe(records: &[RequestRecord]) -> String {
    records
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.route, r.status))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with every run of whitespace as one space (Terraform wraps diagnostics at 78 columns).
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
