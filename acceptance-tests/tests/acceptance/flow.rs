//! The whole runbook (issue 5) through the real `terraform`: `examples/complete`, which calls
//! the `aiven-vnet-peering` module, takes the emulator's customer VNet to an ACTIVE private
//! peering with its Aiven project VPC in one apply, and one destroy returns the world to its
//! seeded state. Plus the failure paths, drift repair, import, and the module used twice.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance flow::
//! ```
//!
//! `against_the_real_services` runs the same flow against Azure and Aiven when asked to
//! (`TF_ACC=1`, credentials, `--ignored`); see its documentation.

use crate::peering_setup::{add_project_vpc, add_second_customer_vnet};
use crate::terraform_common::{
    aiven_connections, applied, assert_clean_destroy, assert_empty_plan_and_clean_destroy,
    assert_world_is, blocking, complete_workspace, install_complete_example, install_module,
    module_resource, output,
};
use vnetpeer_emulator::{Emulator, Knobs};
use vnetpeer_harness::binaries::workspace_root;
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const MODULE: &str = "module.aiven_peering";

/// The Aiven connections: (VPC id, state).
fn connection_states(emulator: &Emulator) -> Vec<(String, String)> {
    aiven_connections(emulator)
        .into_iter()
        .map(|(_, vpc, state, _)| (vpc, state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_apply_makes_it_active_and_one_destroy_leaves_the_seeded_world() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let workspace = complete_workspace(&emulator);
    let workspace = applied(workspace).await;
    assert_eq!(output(&workspace, "aiven_peering_state"), "ACTIVE");
    assert_eq!(output(&workspace, "azure_peering_state"), "Connected");
    let seed = emulator.seed().clone();
    assert_eq!(
        connection_states(&emulator),
        vec![(seed.aiven_project_vpc_id.clone(), "ACTIVE".to_owned())]
    );
    assert_empty_plan_and_clean_destroy(&emulator, workspace, &seeded).await;
}

/// Steps 1–6 of the runbook without the custom role for Aiven (step 4), and nothing of step 7.
/// (After [`REQUIRED_PROVIDERS`].)
const WITHOUT_AIVEN_ROLE: &str = r#"
variable "customer_vnet_id" {
  type = string
}

resource "vnetpeer_aad_app" "peering" {
  display_name = "no-role-for-aiven"
}

resource "vnetpeer_role_assignment" "app_network_contributor" {
  scope                = var.customer_vnet_id
  role_definition_name = "Network Contributor"
  principal_id         = vnetpeer_aad_app.peering.service_principal_object_id
}

resource "vnetpeer_service_principal" "aiven" {
  client_id = "55f300d4-fc50-4c5e-9222-e90a6e2187fb"
}

data "vnetpeer_aiven_project_vpc" "this" {
  project    = "acme-prod"
  cloud_name = "azure-switzerland-north"
}

resource "vnetpeer_aiven_vpc_peering" "this" {
  project              = "acme-prod"
  project_vpc_id       = data.vnetpeer_aiven_project_vpc.this.project_vpc_id
  vnet_id              = var.customer_vnet_id
  peer_azure_app_id    = vnetpeer_aad_app.peering.client_id
  peer_azure_tenant_id = vnetpeer_aad_app.peering.tenant_id

  timeouts {
    create = "5s"
  }

  depends_on = [
    vnetpeer_role_assignment.app_network_contributor,
    vnetpeer_service_principal.aiven,
  ]
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aivens_service_principal_without_the_custom_role_is_explained_and_leaves_nothing() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.set_env("TF_VAR_customer_vnet_id", &emulator.seed().customer_vnet_id);
    workspace.write_config(&format!("{REQUIRED_PROVIDERS}{WITHOUT_AIVEN_ROLE}"));
    let (workspace, failed) = blocking(move || {
        let failed = workspace.try_apply();
        (workspace, failed)
    })
    .await;
    assert!(!failed.success(), "{failed}");
    let text = failed.combined();
    assert!(text.contains("INVALID_SPECIFICATION"), "{text}");
    assert!(
        text.contains("peer/action"),
        "the diagnostic names the missing permission: {text}"
    );
    assert!(
        connection_states(&emulator).is_empty(),
        "the rejected connection is deleted: {:?}",
        connection_states(&emulator)
    );
    assert!(
        workspace
            .state_show_json("vnetpeer_aiven_vpc_peering.this")
            .is_none(),
        "no half-made connection in the state"
    );
    assert_clean_destroy(&emulator, workspace, &seeded).await;
}

/// The runbook with a peering application that Aiven never heard of: the Aiven connection names
/// application `peering`, the cross-tenant peering acts as application `other`.
fn wrong_application_config() -> String {
    let complete = std::fs::read_to_string(
        workspace_root().join("examples/modules/aiven-vnet-peering/main.tf"),
    )
    .expect("module main.tf");
    let step7 = complete
        .find("resource \"vnetpeer_cross_tenant_vnet_peering\"")
        .expect("step 7 in the module");
    format!(
        r#"{before}
resource "vnetpeer_aad_app" "other" {{
  display_name = "not-known-to-aiven"
}}

resource "vnetpeer_role_assignment" "other_network_contributor" {{
  scope                = var.vnet_id
  role_definition_name = "Network Contributor"
  principal_id         = vnetpeer_aad_app.other.service_principal_object_id
}}

resource "vnetpeer_cross_tenant_vnet_peering" "to_aiven" {{
  name                  = "to-aiven"
  vnet_id               = var.vnet_id
  remote_vnet_id        = local.aiven_peering.aiven_vnet_id
  remote_tenant_id      = local.aiven_peering.aiven_tenant_id
  client_id             = vnetpeer_aad_app.other.client_id
  application_object_id = vnetpeer_aad_app.other.object_id
  aiven_peering_id      = local.aiven_peering.id

  timeouts {{
    create = "4s"
  }}

  depends_on = [vnetpeer_role_assignment.other_network_contributor]
}}
"#,
        before = &complete[..step7]
    )
}

/// Module variables as root variables, with the emulator's values.
fn module_variables(emulator: &Emulator) -> String {
    let seed = emulator.seed();
    format!(
        r#"
{REQUIRED_PROVIDERS}
variable "aiven_project" {{
  default = "{project}"
}}

variable "aiven_cloud_name" {{
  default = "{cloud}"
}}

variable "vnet_id" {{
  default = "{vnet}"
}}

variable "name_prefix" {{
  default = "flow"
}}

variable "aiven_app_id" {{
  default = "{aiven_app}"
}}

variable "aiven_service_principal_object_id" {{
  default = null
}}

variable "aiven_organization_id" {{
  default = null
}}

variable "user_peer_network_cidrs" {{
  default = null
}}
"#,
        project = seed.aiven_project,
        cloud = seed.aiven_cloud_name,
        vnet = seed.customer_vnet_id,
        aiven_app = seed.aiven_app_id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_without_a_service_principal_in_aivens_tenant_is_explained() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_file("variables.tf", &module_variables(&emulator));
    workspace.write_config(&wrong_application_config());
    let (workspace, failed) = blocking(move || {
        let failed = workspace.try_apply();
        (workspace, failed)
    })
    .await;
    assert!(!failed.success(), "{failed}");
    let text = failed.combined();
    assert!(
        text.contains("The peering application cannot sign in to Aiven's tenant"),
        "{text}"
    );
    assert!(text.contains("AADSTS7000229"), "{text}");
    assert!(text.contains("peer_azure_app_id"), "{text}");
    let other_app_secrets = emulator.with_world(|world| {
        world
            .identity
            .applications
            .values()
            .filter(|app| app.display_name == "not-known-to-aiven")
            .map(|app| app.password_credentials.len())
            .collect::<Vec<_>>()
    });
    assert_eq!(
        other_app_secrets,
        vec![1],
        "only vnetpeer_aad_app's own secret: the minted one was removed"
    );
    assert_clean_destroy(&emulator, workspace, &seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_explained() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let wrong = "wrong~client-secret-value-42";
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    workspace.write_file("variables.tf", &module_variables(&emulator));
    let module = std::fs::read_to_string(
        workspace_root().join("examples/modules/aiven-vnet-peering/main.tf"),
    )
    .expect("module main.tf");
    // Step 7 with a secret from a (wrong) ephemeral variable instead of a minted one.
    let config = module
        .replace(
            "application_object_id = vnetpeer_aad_app.peering.object_id",
            "client_secret         = var.peering_secret",
        )
        .replace(
            "aiven_peering_id      = local.aiven_peering.id\n",
            "aiven_peering_id      = local.aiven_peering.id\n\n  timeouts {\n    create = \"4s\"\n  }\n",
        );
    assert!(config.contains("var.peering_secret") && config.contains("\"4s\""));
    workspace.write_config(&format!(
        "{config}\nvariable \"peering_secret\" {{\n  type      = string\n  sensitive = true\n  ephemeral = true\n}}\n"
    ));
    workspace.set_env("TF_VAR_peering_secret", wrong);
    let (workspace, failed) = blocking(move || {
        let failed = workspace.try_apply();
        (workspace, failed)
    })
    .await;
    assert!(!failed.success(), "{failed}");
    let text = failed.combined();
    assert!(
        text.contains("The peering application's secret does not work"),
        "{text}"
    );
    assert!(text.contains("AADSTS7000215"), "{text}");
    let workspace = blocking(move || {
        workspace.destroy();
        workspace
    })
    .await;
    assert_world_is(&emulator, &seeded);
    assert_eq!(emulator.violations(), vec![]);
    workspace.assert_no_secret_leaks(&emulator, &[wrong]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_deleted_on_the_aiven_side_is_recreated_by_the_next_apply() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let workspace = complete_workspace(&emulator);
    let workspace = applied(workspace).await;

    // Someone deletes the connection in Aiven's console: Aiven removes its side, and the
    // customer's peering goes Disconnected.
    let connection = emulator.with_world(|world| {
        world.aiven.projects[0].vpcs[0].peering_connections[0]
            .peering_connection_id
            .clone()
    });
    let now = emulator.now();
    assert!(emulator.with_world(|world| world.remove_aiven_connection(&connection, now)));

    let workspace = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 2, "{plan}");
        assert!(
            plan.contains(&format!(
                "{MODULE}.vnetpeer_aiven_vpc_peering.this[0] will be created"
            )),
            "{plan}"
        );
        assert!(
            plan.contains(&format!(
                "{MODULE}.vnetpeer_cross_tenant_vnet_peering.to_aiven will be created"
            )),
            "the Disconnected Azure side is re-created too: {plan}"
        );
        assert!(
            plan.contains("2 to add, 0 to change, 0 to destroy"),
            "{plan}"
        );
        workspace.apply();
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 0, "{plan}");
        workspace
    })
    .await;
    assert_eq!(output(&workspace, "aiven_peering_state"), "ACTIVE");
    assert_eq!(output(&workspace, "azure_peering_state"), "Connected");

    assert_clean_destroy(&emulator, workspace, &seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_azure_side_is_repaired_by_the_next_apply() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let workspace = complete_workspace(&emulator);
    let workspace = applied(workspace).await;

    // Aiven's own peering back to the customer VNet is deleted in Azure (outside Aiven): the
    // customer's peering goes Disconnected and Aiven reports DELETED_BY_PEER.
    let connection = emulator.with_world(|world| {
        world.aiven.projects[0].vpcs[0].peering_connections[0]
            .peering_connection_id
            .clone()
    });
    let now = emulator.now();
    assert!(emulator.with_world(|world| world.remove_aiven_side_peering(&connection, now)));

    let workspace = blocking(move || {
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 2, "{plan}");
        assert!(
            plan.contains(&format!(
                "{MODULE}.vnetpeer_cross_tenant_vnet_peering.to_aiven will be created"
            )),
            "{plan}"
        );
        workspace.apply();
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 0, "{plan}");
        workspace
    })
    .await;
    assert_eq!(output(&workspace, "aiven_peering_state"), "ACTIVE");
    assert_eq!(output(&workspace, "azure_peering_state"), "Connected");
    let seed = emulator.seed().clone();
    assert_eq!(
        connection_states(&emulator),
        vec![(seed.aiven_project_vpc_id.clone(), "ACTIVE".to_owned())]
    );

    assert_clean_destroy(&emulator, workspace, &seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_peerings_import_into_the_module_without_replacement() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let workspace = complete_workspace(&emulator);
    let workspace = blocking(move || {
        workspace.apply();
        let azure = format!("{MODULE}.vnetpeer_cross_tenant_vnet_peering.to_aiven");
        let aiven = format!("{MODULE}.vnetpeer_aiven_vpc_peering.this[0]");
        let azure_id = module_resource(&workspace, &azure)["id"].clone();
        let aiven_id = module_resource(&workspace, &aiven)["id"].clone();
        // Forget both, then import them by their documented ids.
        workspace.run_ok(&["state", "rm", &azure, &aiven]);
        workspace.import(&aiven, aiven_id.as_str().expect("string id"));
        workspace.import(&azure, azure_id.as_str().expect("string id"));
        let plan = workspace.plan();
        assert!(
            plan.contains("0 to add") && plan.contains("0 to destroy"),
            "imported peerings are never replaced: {plan}"
        );
        workspace.apply();
        let (code, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(code, 0, "{plan}");
        workspace
    })
    .await;
    assert_clean_destroy(&emulator, workspace, &seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_twice_peers_two_vnets_in_one_apply() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let second_vnet = add_second_customer_vnet(&emulator);
    let (second_vpc, _) = add_project_vpc(
        &emulator,
        "azure-germany-west-central",
        "10.21.0.0/24",
        "aiven-vnet-acme-prod-2",
    );
    let seeded = emulator.snapshot();

    let workspace = TerraformWorkspace::for_emulator(&emulator);
    install_module(&workspace);
    workspace.write_config(&format!(
        r#"
{REQUIRED_PROVIDERS}
module "app" {{
  source           = "./modules/aiven-vnet-peering"
  aiven_project    = "{project}"
  aiven_cloud_name = "{cloud}"
  vnet_id          = "{vnet}"
}}

module "data" {{
  source           = "./modules/aiven-vnet-peering"
  aiven_project    = "{project}"
  aiven_cloud_name = "azure-germany-west-central"
  vnet_id          = "{second_vnet}"
}}

output "states" {{
  value = [
    module.app.aiven_peering_state,
    module.app.azure_peering_state,
    module.data.aiven_peering_state,
    module.data.azure_peering_state,
  ]
}}
"#,
        project = seed.aiven_project,
        cloud = seed.aiven_cloud_name,
        vnet = seed.customer_vnet_id,
    ));
    let workspace = blocking(move || {
        workspace.run_ok(&["get", "-no-color"]);
        workspace.apply();
        workspace
    })
    .await;
    assert_eq!(
        output(&workspace, "states"),
        serde_json::json!(["ACTIVE", "Connected", "ACTIVE", "Connected"])
    );
    let mut connections = connection_states(&emulator);
    connections.sort();
    let mut expected = vec![
        (seed.aiven_project_vpc_id.clone(), "ACTIVE".to_owned()),
        (second_vpc.clone(), "ACTIVE".to_owned()),
    ];
    expected.sort();
    assert_eq!(connections, expected);
    assert_empty_plan_and_clean_destroy(&emulator, workspace, &seeded).await;
}

/// The same flow against the real Azure and Aiven, for a maintainer with an account:
///
/// ```text
/// TF_ACC=1 ARM_TENANT_ID=… ARM_SUBSCRIPTION_ID=… ARM_CLIENT_ID=… ARM_CLIENT_SECRET=… \
/// AIVEN_TOKEN=… VNETPEER_ACC_VNET_ID=/subscriptions/…/virtualNetworks/… \
/// VNETPEER_ACC_AIVEN_PROJECT=… VNETPEER_ACC_AIVEN_CLOUD=azure-… \
/// cargo test -p vnetpeer-acceptance-tests --test acceptance flow::against_the_real_services -- --ignored
/// ```
///
/// The provider reads the `ARM_*` and `AIVEN_*` variables itself (any credential type of the
/// provider works, e.g. `ARM_USE_CLI`). Every name gets a unique prefix, so runs never collide,
/// and the destroy at the end removes what the run made even when a step fails.
#[test]
#[ignore = "needs TF_ACC=1 and real Azure/Aiven credentials"]
fn against_the_real_services() {
    let settings = [
        "VNETPEER_ACC_VNET_ID",
        "VNETPEER_ACC_AIVEN_PROJECT",
        "VNETPEER_ACC_AIVEN_CLOUD",
    ];
    let missing: Vec<&str> = std::iter::once("AIVEN_TOKEN")
        .chain(settings)
        .filter(|name| std::env::var(name).map_or(true, |value| value.is_empty()))
        .collect();
    if std::env::var("TF_ACC").as_deref() != Ok("1") || !missing.is_empty() {
        eprintln!(
            "skipped: set TF_ACC=1, the provider's ARM_* credentials and {} to run against the real services",
            missing.join(", ")
        );
        return;
    }
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let prefix = format!("acc{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut workspace = TerraformWorkspace::new();
    install_complete_example(&workspace);
    workspace.set_env("TF_VAR_customer_vnet_id", env("VNETPEER_ACC_VNET_ID"));
    workspace.set_env("TF_VAR_aiven_project", env("VNETPEER_ACC_AIVEN_PROJECT"));
    workspace.set_env("TF_VAR_aiven_cloud_name", env("VNETPEER_ACC_AIVEN_CLOUD"));
    workspace.set_env("TF_VAR_name_prefix", &prefix);
    workspace.set_env("TF_LOG", "trace");
    workspace.set_env("TF_LOG_PATH", workspace.path().join("terraform-trace.log"));

    let applied = workspace.try_apply();
    let checks = || -> Result<(), String> {
        if !applied.success() {
            return Err(format!("apply failed:\n{applied}"));
        }
        let outputs = workspace.output_json();
        for (name, expected) in [
            ("aiven_peering_state", "ACTIVE"),
            ("azure_peering_state", "Connected"),
        ] {
            if outputs[name]["value"] != expected {
                return Err(format!(
                    "{name} is {}, not {expected}",
                    outputs[name]["value"]
                ));
            }
        }
        let (code, plan) = workspace.plan_detailed_exitcode();
        if code != 0 {
            return Err(format!("the plan after apply wants changes:\n{plan}"));
        }
        Ok(())
    };
    let outcome = checks();
    // Always clean up what the run made.
    let destroyed = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    if let Err(problem) = outcome {
        panic!("{problem}");
    }
    assert!(
        destroyed.success(),
        "destroy failed (prefix {prefix}):\n{destroyed}"
    );
    let log =
        std::fs::read_to_string(workspace.path().join("terraform-trace.log")).unwrap_or_default();
    for name in ["ARM_CLIENT_SECRET", "AIVEN_TOKEN"] {
        let secret = env(name);
        if secret.len() >= 8 {
            assert!(!log.contains(&secret), "{name} appears in the trace log");
            assert!(
                !workspace.transcript().contains(&secret),
                "{name} appears in terraform's output"
            );
        }
    }
}
