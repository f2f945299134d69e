//! `vnetpeer_aiven_vpc_peering` through the real `terraform` against the emulator: the lifecycle
//! (create to PENDING_PEER with Aiven's ids, empty re-plan, import, drift, destroy) with its
//! request counts; a rejected connection explained and removed; an existing connection refused
//! with the import command (at plan and at apply); an address overlap caught at plan; and a role
//! assignment still propagating when Aiven checks it, which the create retries through. The
//! organization VPC twin `vnetpeer_aiven_org_vpc_peering` on its own routes: PENDING_PEER with
//! Aiven's ids, drift, a delete by connection id, a rejection rolled back, an existing
//! connection refused with its import command.
//!
//! The Azure-side prerequisites (the customer's multi-tenant app, Aiven's service principal with
//! a peer-only custom role on the VNet) are put into the emulator's world directly.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance resource_aiven_vpc_peering::
//! ```

use crate::terraform_common::{describe, flat};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use vnetpeer_emulator::world::aiven::{CreatePeeringRequest, OwnerKind};
use vnetpeer_emulator::world::arm::{Permission, RoleAssignment, RoleDefinition};
use vnetpeer_emulator::{Emulator, Knobs, RequestRecord, Seed, Service};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const ADDRESS: &str = "vnetpeer_aiven_vpc_peering.this";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";
const VPC_ROUTE: &str = "/v1/project/{project}/vpcs/{project_vpc_id}";
const CONNECTIONS_ROUTE: &str = "/v1/project/{project}/vpcs/{project_vpc_id}/peering-connections";
const ORG_ADDRESS: &str = "vnetpeer_aiven_org_vpc_peering.this";
const ORG_VPC_ROUTE: &str = "/v1/organization/{organization_id}/vpc/{vpc_id}";
const ORG_CONNECTIONS_ROUTE: &str =
    "/v1/organization/{organization_id}/vpc/{vpc_id}/peering-connections";
const ORG_DELETE_ROUTE: &str =
    "/v1/organization/{organization_id}/vpc/{vpc_id}/peering-connection/{peering_connection_id}";

/// An emulator with the customer's multi-tenant peering app.
struct Setup {
    emulator: Emulator,
    seed: Seed,
    /// Client id of the customer's multi-tenant app.
    app_id: String,
}

/// How old Aiven's role assignment is when Aiven checks it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Assignment {
    /// Long propagated.
    Propagated,
    /// Not yet effective: made effective by [`Setup::propagate_when_aiven_is_asked`].
    Pending,
    /// No role for Aiven's service principal at all.
    Missing,
}

impl Setup {
    async fn start() -> Setup {
        Setup::start_with(Knobs::test()).await
    }

    /// With Aiven building its side faster than the first poll interval (100 ms), so every
    /// wait ends at its first poll and request counts are exact.
    async fn start_quick() -> Setup {
        Setup::start_with(Knobs {
            aiven_peering_setup: Duration::from_millis(20),
            ..Knobs::test()
        })
        .await
    }

    async fn start_with(knobs: Knobs) -> Setup {
        let emulator = Emulator::start(knobs).await;
        let seed = emulator.seed().clone();
        let now = emulator.now();
        let tenant = seed.customer_tenant_id.clone();
        let app_id = emulator.with_world(|world| {
            let (app_id, _, _) =
                world
                    .identity
                    .add_app_with_secret(&tenant, "aiven-peering-app", &[], now);
            for app in world.identity.applications.values_mut() {
                if app.app_id == app_id {
                    app.sign_in_audience = "AzureADMultipleOrgs".to_owned();
                }
            }
            app_id
        });
        Setup {
            emulator,
            seed,
            app_id,
        }
    }

    /// Aiven's service principal in the customer tenant with a peer-only custom role on the
    /// VNet (runbook steps 3–4), the assignment as old as `assignment` says.
    fn grant_aiven(&self, assignment: Assignment) {
        let now = self.emulator.now();
        let seed = &self.seed;
        let tenant = seed.customer_tenant_id.clone();
        let aiven_app = seed.aiven_app_id.clone();
        let role_guid = "f0000000-0000-4000-8000-00000000a1e7".to_owned();
        let subscription = format!("/subscriptions/{}", seed.customer_subscription_id);
        let vnet = seed.customer_vnet_id.clone();
        self.emulator.with_world(|world| {
            let principal = world
                .identity
                .ensure_service_principal(&tenant, &aiven_app, now);
            world.arm.role_definitions.push(RoleDefinition {
                name: role_guid.clone(),
                role_name: "Aiven VNet peering".to_owned(),
                description: String::new(),
                role_type: "CustomRole".to_owned(),
                tenant_id: Some(tenant.clone()),
                permissions: vec![Permission {
                    actions: vec![PEER_ACTION.to_owned()],
                    ..Permission::default()
                }],
                assignable_scopes: vec![subscription],
                created_on: String::new(),
                updated_on: String::new(),
                created_by: None,
                updated_by: None,
            });
            if assignment == Assignment::Missing {
                return;
            }
            world
                .arm
                .insert_role_assignment(RoleAssignment::of_service_principal(
                    ASSIGNMENT_NAME,
                    vnet,
                    tenant,
                    role_guid,
                    principal,
                    // Far in the future: not effective until the test says when it was made.
                    match assignment {
                        Assignment::Pending => Some(now + Duration::from_secs(3600)),
                        _ => None,
                    },
                ));
        });
    }

    /// Makes the pending assignment "just made" at the moment the provider first asks Aiven
    /// for a connection, so Aiven's first check sees it unpropagated (the race the create must
    /// retry through).
    fn propagate_when_aiven_is_asked(&self) -> tokio::task::JoinHandle<()> {
        let emulator = self.emulator.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                if emulator
                    .requests()
                    .iter()
                    .any(|r| Vpc::Project.is_create(r))
                {
                    let now = emulator.now();
                    emulator.with_world(|world| {
                        for assignment in &mut world.arm.role_assignments {
                            if assignment.name == ASSIGNMENT_NAME {
                                assignment.created_at = Some(now);
                            }
                        }
                    });
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    }

    fn config(&self, project_vpc_id: &str, extra: &str) -> String {
        let seed = &self.seed;
        format!(
            r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_aiven_vpc_peering" "this" {{
  project              = "{project}"
  project_vpc_id       = {project_vpc_id}
  vnet_id              = "{vnet}"
  peer_azure_app_id    = "{app}"
  peer_azure_tenant_id = "{tenant}"
  {extra}
}}
"#,
            project = seed.aiven_project,
            vnet = seed.customer_vnet_id,
            app = self.app_id,
            tenant = seed.customer_tenant_id,
        )
    }

    /// The configuration of the runbook: the project VPC looked up by cloud (step 5).
    fn runbook_config(&self, extra: &str) -> String {
        format!(
            r#"{peering}
data "vnetpeer_aiven_project_vpc" "this" {{
  project    = "{project}"
  cloud_name = "{cloud}"
}}
"#,
            peering = self.config("data.vnetpeer_aiven_project_vpc.this.project_vpc_id", extra),
            project = self.seed.aiven_project,
            cloud = self.seed.aiven_cloud_name,
        )
    }

    fn import_id(&self) -> String {
        format!(
            "{}/{}{}",
            self.seed.aiven_project, self.seed.aiven_project_vpc_id, self.seed.customer_vnet_id
        )
    }

    /// Another team's connection for the seeded VNet on the seeded VPC of kind `vpc`, made
    /// directly in Aiven's world.
    fn connect_out_of_band_on(&self, vpc: Vpc) {
        let seed = &self.seed;
        let now = self.emulator.now();
        let utc = self.emulator.clock().utc_now();
        let request = CreatePeeringRequest {
            peer_cloud_account: seed.customer_subscription_id.clone(),
            peer_vpc: seed.customer_vnet_name.to_lowercase(),
            peer_resource_group: seed.customer_resource_group.to_lowercase(),
            peer_azure_app_id: self.app_id.clone(),
            peer_azure_tenant_id: seed.customer_tenant_id.clone(),
            user_peer_network_cidrs: Vec::new(),
        };
        let (kind, owner, vpc_id) = self.owner_of(vpc);
        self.emulator
            .with_world(|w| {
                w.aiven
                    .create_peering_in(kind, owner, vpc_id, request, now, utc)
            })
            .expect("the other connection");
    }

    /// The owner kind, owner and VPC id of the seeded VPC of kind `vpc`.
    fn owner_of(&self, vpc: Vpc) -> (OwnerKind, &str, &str) {
        let seed = &self.seed;
        match vpc {
            Vpc::Project => (
                OwnerKind::Project,
                &seed.aiven_project,
                &seed.aiven_project_vpc_id,
            ),
            Vpc::Organization => (
                OwnerKind::Organization,
                &seed.aiven_organization_id,
                &seed.aiven_organization_vpc_id,
            ),
        }
    }

    /// The configuration of the peering of kind `vpc` (the project VPC looked up as in the
    /// runbook).
    fn config_on(&self, vpc: Vpc, extra: &str) -> String {
        match vpc {
            Vpc::Project => self.runbook_config(extra),
            Vpc::Organization => self.organization_config(extra),
        }
    }

    fn import_id_on(&self, vpc: Vpc) -> String {
        match vpc {
            Vpc::Project => self.import_id(),
            Vpc::Organization => self.organization_import_id(),
        }
    }

    fn import_command_on(&self, vpc: Vpc) -> String {
        format!(
            "terraform import {}.<name> '{}'",
            vpc.resource_type(),
            self.import_id_on(vpc)
        )
    }

    /// The `vnetpeer_aiven_org_vpc_peering` twin of [`Setup::config`], on the seeded
    /// organization VPC.
    fn organization_config(&self, extra: &str) -> String {
        let seed = &self.seed;
        format!(
            r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_aiven_org_vpc_peering" "this" {{
  organization_id      = "{organization}"
  organization_vpc_id  = "{vpc}"
  vnet_id              = "{vnet}"
  peer_azure_app_id    = "{app}"
  peer_azure_tenant_id = "{tenant}"
  {extra}
}}
"#,
            organization = seed.aiven_organization_id,
            vpc = seed.aiven_organization_vpc_id,
            vnet = seed.customer_vnet_id,
            app = self.app_id,
            tenant = seed.customer_tenant_id,
        )
    }

    fn organization_import_id(&self) -> String {
        format!(
            "organization/{}/{}{}",
            self.seed.aiven_organization_id,
            self.seed.aiven_organization_vpc_id,
            self.seed.customer_vnet_id
        )
    }

    /// The resource's own requests since `seq`: Aiven's and ARM's (the provider's token
    /// requests are per process, not per resource).
    fn own_requests_since(&self, seq: u64) -> Vec<RequestRecord> {
        self.emulator
            .requests()
            .into_iter()
            .filter(|r| r.seq >= seq && matches!(r.service, Service::Aiven | Service::Arm))
            .collect()
    }

    /// The connections of the seeded VPC of kind `vpc`, as the emulator holds them.
    fn connections_on(&self, vpc: Vpc) -> Vec<Json> {
        let (_, owner, vpc_id) = self.owner_of(vpc);
        self.connections_of(owner, vpc_id)
    }

    /// The connections of VPC `vpc` of the project or organization `owner`.
    fn connections_of(&self, owner: &str, vpc: &str) -> Vec<Json> {
        let snapshot = self.emulator.snapshot();
        snapshot["aiven"]["projects"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == owner)
            .flat_map(|p| p["vpcs"].as_array().cloned().unwrap_or_default())
            .filter(|v| v["project_vpc_id"] == vpc)
            .flat_map(|v| {
                v["peering_connections"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    fn aiven_requests_since(&self, seq: u64) -> Vec<RequestRecord> {
        self.emulator
            .requests()
            .into_iter()
            .filter(|r| r.seq >= seq && r.service == Service::Aiven)
            .collect()
    }

    fn next_seq(&self) -> u64 {
        self.emulator.requests().len() as u64
    }

    #[track_caller]
    fn assert_clean(&self, workspace: &TerraformWorkspace) {
        let violations = self.emulator.violations();
        assert!(violations.is_empty(), "violations: {violations:#?}");
        workspace.assert_no_secret_leaks(&self.emulator, &[]);
    }
}

const ASSIGNMENT_NAME: &str = "f0000000-0000-4000-8000-0000000a551e";

/// The kind of Aiven VPC a test peers: the two resources make the same promises, each on its
/// own routes.
#[derive(Clone, Copy, Debug)]
enum Vpc {
    /// `vnetpeer_aiven_vpc_peering` on the seeded project VPC.
    Project,
    /// `vnetpeer_aiven_org_vpc_peering` on the seeded organization VPC.
    Organization,
}

impl Vpc {
    fn address(self) -> &'static str {
        match self {
            Vpc::Project => ADDRESS,
            Vpc::Organization => ORG_ADDRESS,
        }
    }

    fn resource_type(self) -> &'static str {
        self.address().trim_end_matches(".this")
    }

    fn is_create(self, record: &RequestRecord) -> bool {
        let route = match self {
            Vpc::Project => CONNECTIONS_ROUTE,
            Vpc::Organization => ORG_CONNECTIONS_ROUTE,
        };
        record.service == Service::Aiven && record.method == "POST" && record.route == route
    }

    /// A delete of a connection: by its peer VNet (project VPCs) or by its id (organization
    /// VPCs).
    fn is_delete(self, record: &RequestRecord) -> bool {
        match self {
            Vpc::Project => record.service == Service::Aiven && record.method == "DELETE",
            Vpc::Organization => record.method == "DELETE" && record.route == ORG_DELETE_ROUTE,
        }
    }
}

fn is_vpc_get(record: &RequestRecord) -> bool {
    record.method == "GET" && record.route == VPC_ROUTE
}

fn values(workspace: &TerraformWorkspace) -> Json {
    workspace
        .state_show_json(ADDRESS)
        .unwrap_or_else(|| panic!("{ADDRESS} is not in the state"))
}

/// The connection of `state` deleted in Aiven: the refresh plans a re-create, and the apply
/// re-creates it (a new connection, PENDING_PEER, the only one on the VPC).
fn deleted_in_aiven_is_recreated(
    setup: &Setup,
    workspace: &TerraformWorkspace,
    vpc: Vpc,
    state: &Json,
) {
    let id = state["peering_connection_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let now = setup.emulator.now();
    assert!(
        setup
            .emulator
            .with_world(|w| w.remove_aiven_connection(&id, now))
    );
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains(&format!("{} will be created", vpc.address())),
        "{output}"
    );
    workspace.apply();
    let recreated = workspace
        .state_show_json(vpc.address())
        .unwrap_or_else(|| panic!("{} is not in the state", vpc.address()));
    assert_eq!(recreated["state"], "PENDING_PEER");
    assert_ne!(
        recreated["peering_connection_id"],
        state["peering_connection_id"]
    );
    assert_eq!(setup.connections_on(vpc).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_pending_peer_import_drift_destroy() {
    let setup = Setup::start().await;
    setup.grant_aiven(Assignment::Propagated);
    let before = setup.emulator.snapshot();
    let seed = setup.seed.clone();
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.runbook_config(""));

    // Create: PENDING_PEER, with Aiven's tenant and VNet captured.
    let start = setup.next_seq();
    workspace.apply();
    let state = values(&workspace);
    assert_eq!(state["state"], "PENDING_PEER", "{state:#}");
    assert_eq!(state["aiven_tenant_id"], seed.aiven_tenant_id.as_str());
    assert_eq!(state["aiven_vnet_id"], seed.aiven_vnet_id.as_str());
    assert_eq!(state["id"], setup.import_id().as_str());
    assert_eq!(
        state["state_info"]["to-tenant-id"],
        seed.aiven_tenant_id.as_str()
    );
    assert!(
        state["peering_connection_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let connections = setup.connections_on(Vpc::Project);
    assert_eq!(connections.len(), 1, "{connections:#?}");
    // Sent in lower case although the VNet's resource group and name are mixed case.
    assert_eq!(connections[0]["peer_resource_group"], "rg-workload");
    assert_eq!(connections[0]["peer_vpc"], "vnet-app");

    // Requests: the data source lists once; the plan-time preflight reads the VPC once per
    // plan (plan, and the apply's final plan); the create POSTs and polls (its
    // existing-connection check uses the final plan's read).
    let aiven = setup.aiven_requests_since(start);
    let creates: Vec<usize> = (0..aiven.len())
        .filter(|&i| Vpc::Project.is_create(&aiven[i]))
        .collect();
    assert_eq!(creates.len(), 1, "{}", describe(&aiven));
    let post = creates[0];
    assert!(
        aiven[..post]
            .iter()
            .filter(|r| r.route == "/v1/project/{project}/vpcs")
            .count()
            == 1
            && aiven[..post].iter().filter(|r| is_vpc_get(r)).count() == 2,
        "before the POST: list + 2 preflight reads\n{}",
        describe(&aiven)
    );
    let polls = aiven[post + 1..].iter().filter(|r| is_vpc_get(r)).count();
    assert_eq!(polls, aiven.len() - post - 1, "{}", describe(&aiven));
    assert!(
        (1..=4).contains(&polls),
        "{polls} polls\n{}",
        describe(&aiven)
    );
    let arm: Vec<RequestRecord> = setup
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.seq >= start && r.service == Service::Arm)
        .collect();
    assert_eq!(
        arm.iter().filter(|r| r.method == "GET").count(),
        arm.len(),
        "the preflight only reads ARM\n{}",
        describe(&arm)
    );
    assert_eq!(arm.len(), 2, "one VNet read per plan\n{}", describe(&arm));

    // Refresh: nothing to change, one VPC read for the resource.
    let start = setup.next_seq();
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    let refresh = setup.aiven_requests_since(start);
    assert_eq!(
        refresh.iter().filter(|r| is_vpc_get(r)).count(),
        1,
        "{}",
        describe(&refresh)
    );

    // Import into a fresh state: the same attributes.
    let imported = TerraformWorkspace::for_emulator(&setup.emulator);
    imported.write_config(&setup.runbook_config(""));
    imported.import(ADDRESS, &setup.import_id());
    assert_eq!(values(&imported), state);
    let (code, output) = imported.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    deleted_in_aiven_is_recreated(&setup, &workspace, Vpc::Project, &state);

    // Destroy: nothing left, in Aiven or in what Aiven built in Azure.
    let start = setup.next_seq();
    workspace.destroy();
    assert!(setup.connections_on(Vpc::Project).is_empty());
    assert_eq!(setup.emulator.snapshot(), before);
    // Destroy: the refresh read, one DELETE, and a few polls until Aiven stops listing it.
    let destroy = setup.aiven_requests_since(start);
    let delete = destroy
        .iter()
        .position(|r| r.method == "DELETE")
        .unwrap_or_else(|| panic!("no DELETE\n{}", describe(&destroy)));
    assert_eq!(
        destroy.iter().filter(|r| r.method == "DELETE").count(),
        1,
        "{}",
        describe(&destroy)
    );
    let polls = destroy[delete + 1..]
        .iter()
        .filter(|r| is_vpc_get(r))
        .count();
    assert_eq!(polls, destroy.len() - delete - 1, "{}", describe(&destroy));
    assert!(
        (1..=4).contains(&polls),
        "{polls} polls\n{}",
        describe(&destroy)
    );
    setup.assert_clean(&workspace);
    setup.assert_clean(&imported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_azure_side_was_deleted_is_recreated() {
    let setup = Setup::start().await;
    setup.grant_aiven(Assignment::Propagated);
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.config(&format!("\"{}\"", setup.seed.aiven_project_vpc_id), ""));
    workspace.apply();
    let first = values(&workspace)["peering_connection_id"].clone();

    // Someone deletes Aiven's own peering in Azure: Aiven reports DELETED_BY_PEER, which
    // never recovers. The refresh treats it as gone, and the create clears it away.
    let id = first.as_str().unwrap_or_default().to_owned();
    let now = setup.emulator.now();
    assert!(
        setup
            .emulator
            .with_world(|w| w.remove_aiven_side_peering(&id, now))
    );
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{output}");
    workspace.apply();
    let state = values(&workspace);
    assert_eq!(state["state"], "PENDING_PEER");
    assert_ne!(state["peering_connection_id"], first);
    let connections = setup.connections_on(Vpc::Project);
    assert_eq!(connections.len(), 1, "{connections:#?}");

    workspace.destroy();
    assert!(setup.connections_on(Vpc::Project).is_empty());
    setup.assert_clean(&workspace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_custom_role_aiven_rejects_and_nothing_is_left() {
    rejected_without_the_custom_role(Vpc::Project).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_custom_role_aiven_rejects_the_organization_peering_and_nothing_is_left() {
    rejected_without_the_custom_role(Vpc::Organization).await;
}

/// Aiven's service principal lacks `peer/action`: Aiven rejects the connection, the create
/// retries it (deleting each rejected one) until its timeout, then explains the cause and
/// leaves nothing.
async fn rejected_without_the_custom_role(vpc: Vpc) {
    let setup = Setup::start().await;
    setup.grant_aiven(Assignment::Missing);
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    // A short create timeout bounds the retries a missing permission gets.
    workspace.write_config(&setup.config_on(vpc, "timeouts {\n    create = \"4s\"\n  }"));

    let start = setup.next_seq();
    let output = workspace.try_apply();
    assert!(!output.success(), "{output}");
    let text = flat(&output.combined());
    for expected in [
        "Aiven rejected the peering connection: INVALID_SPECIFICATION",
        "Aiven says:",
        PEER_ACTION,
        "55f300d4-fc50-4c5e-9222-e90a6e2187fb",
        "nothing is",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let aiven = setup.aiven_requests_since(start);
    let posts = aiven.iter().filter(|r| vpc.is_create(r)).count();
    let deletes = aiven.iter().filter(|r| vpc.is_delete(r)).count();
    assert!(posts >= 2, "retried: {posts} POSTs\n{}", describe(&aiven));
    assert_eq!(
        deletes,
        posts,
        "every rejected connection deleted\n{}",
        describe(&aiven)
    );
    let connections = setup.connections_on(vpc);
    assert!(connections.is_empty(), "{connections:#?}");
    assert!(workspace.state_resource(vpc.address()).is_none());
    setup.assert_clean(&workspace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_assignment_still_propagating_is_retried_through() {
    let setup = Setup::start().await;
    setup.grant_aiven(Assignment::Pending);
    let propagation = setup.propagate_when_aiven_is_asked();
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.runbook_config(""));

    let start = setup.next_seq();
    workspace.apply();
    propagation.await.expect("the propagation task");
    let state = values(&workspace);
    assert_eq!(state["state"], "PENDING_PEER", "{state:#}");
    assert_eq!(state["aiven_vnet_id"], setup.seed.aiven_vnet_id.as_str());
    let aiven = setup.aiven_requests_since(start);
    let posts = aiven.iter().filter(|r| Vpc::Project.is_create(r)).count();
    assert!(
        posts >= 2,
        "the first attempt was rejected\n{}",
        describe(&aiven)
    );
    assert_eq!(
        aiven.iter().filter(|r| r.method == "DELETE").count(),
        posts - 1,
        "each rejected connection deleted before the next\n{}",
        describe(&aiven)
    );
    assert_eq!(setup.connections_on(Vpc::Project).len(), 1);

    workspace.destroy();
    assert!(setup.connections_on(Vpc::Project).is_empty());
    setup.assert_clean(&workspace);
}

/// Another team's connection for the seeded VNet on the VPC of kind `vpc`, and this
/// resource configured for the same VNet: the plan warns (it cannot tell this apart from the
/// replacement of the resource's own connection) and the apply refuses before creating anything,
/// both giving the import command. The workspace and the request sequence number before the plan.
fn an_existing_connection_is_refused(setup: &Setup, vpc: Vpc) -> (TerraformWorkspace, u64) {
    setup.grant_aiven(Assignment::Propagated);
    setup.connect_out_of_band_on(vpc);
    let import_command = setup.import_command_on(vpc);
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.config_on(vpc, ""));
    let start = setup.next_seq();
    let output = workspace.run(&["plan", "-input=false", "-no-color"]);
    assert!(output.success(), "{output}");
    let text = flat(&output.combined());
    assert!(text.contains("Warning"), "{text}");
    assert!(text.contains("already exists"), "{text}");
    assert!(text.contains(&import_command), "{text}");
    let output = workspace.try_apply();
    assert!(!output.success(), "{output}");
    let text = flat(&output.combined());
    assert!(text.contains(&import_command), "{text}");
    assert!(workspace.state_resource(vpc.address()).is_none());
    (workspace, start)
}

/// Since `start` Aiven got nothing but reads, and the other team's connection is still the
/// only one on the VPC of kind `vpc`.
fn only_reads_and_the_other_connection_kept(setup: &Setup, vpc: Vpc, start: u64) {
    let aiven = setup.aiven_requests_since(start);
    assert!(
        aiven.iter().all(|r| r.method == "GET"),
        "nothing but reads\n{}",
        describe(&aiven)
    );
    assert_eq!(
        setup.connections_on(vpc).len(),
        1,
        "the other connection is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_connection_is_refused_with_the_import_command() {
    let setup = Setup::start().await;
    let seed = setup.seed.clone();
    let (workspace, start) = an_existing_connection_is_refused(&setup, Vpc::Project);
    let import_command = setup.import_command_on(Vpc::Project);

    // The VNet id known only at apply: the create refuses before sending anything.
    let late = TerraformWorkspace::for_emulator(&setup.emulator);
    let config = setup
        .config(&format!("\"{}\"", seed.aiven_project_vpc_id), "")
        .replace(
            &format!("\"{}\"", seed.customer_vnet_id),
            "terraform_data.vnet.output",
        );
    late.write_config(&format!(
        "{config}\nresource \"terraform_data\" \"vnet\" {{\n  input = \"{}\"\n}}\n",
        seed.customer_vnet_id
    ));
    let output = late.try_apply();
    assert!(!output.success(), "{output}");
    let text = flat(&output.combined());
    assert!(text.contains(&import_command), "{text}");
    assert!(late.state_resource(ADDRESS).is_none());

    only_reads_and_the_other_connection_kept(&setup, Vpc::Project, start);
    setup.assert_clean(&workspace);
    setup.assert_clean(&late);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_overlap_stops_the_plan() {
    let setup = Setup::start().await;
    setup.grant_aiven(Assignment::Propagated);
    let seed = setup.seed.clone();
    // A second project VPC whose range overlaps the customer VNet (10.10.0.0/16).
    let (overlapping_vpc, _) = setup
        .emulator
        .with_world(|w| {
            w.add_project_vpc(
                &seed,
                &seed.aiven_project,
                "azure-germany-westcentral",
                "10.10.5.0/24",
                "aiven-vnet-overlap",
            )
        })
        .expect("the overlapping VPC");
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.config(&format!("\"{overlapping_vpc}\""), ""));

    let start = setup.next_seq();
    let output = workspace.run(&["plan", "-input=false", "-no-color"]);
    assert!(!output.success(), "{output}");
    let text = flat(&output.combined());
    for expected in ["overlap", "10.10.0.0/16", "10.10.5.0/24", "vnet_id"] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        setup
            .aiven_requests_since(start)
            .iter()
            .all(|r| r.method == "GET")
    );
    assert!(setup.connections_on(Vpc::Project).is_empty());
    setup.assert_clean(&workspace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_inputs_are_reported_at_validate_time() {
    let setup = Setup::start().await;
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&format!(
        r#"{REQUIRED_PROVIDERS}
resource "vnetpeer_aiven_vpc_peering" "this" {{
  project                 = "acme/prod"
  project_vpc_id          = "vpc-1"
  vnet_id                 = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
  peer_azure_app_id       = "not-a-uuid"
  peer_azure_tenant_id    = "{tenant}"
  user_peer_network_cidrs = ["10.0.0.1/24"]
}}
"#,
        tenant = setup.seed.customer_tenant_id
    ));
    let (output, report) = workspace.validate();
    assert!(!output.success(), "{output}");
    let summaries: Vec<String> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["summary"].as_str().map(str::to_owned))
        .collect();
    for attribute in [
        "project",
        "project_vpc_id",
        "vnet_id",
        "peer_azure_app_id",
        "user_peer_network_cidrs",
    ] {
        assert!(
            summaries
                .iter()
                .any(|s| s.starts_with(&format!("Invalid {attribute}:"))),
            "{attribute} not flagged: {summaries:#?}"
        );
    }
    assert!(
        !summaries.iter().any(|s| s.contains("peer_azure_tenant_id")),
        "{summaries:#?}"
    );
    assert!(
        setup.emulator.requests().is_empty(),
        "validate calls nothing"
    );
}

/// `plan -out` then `apply` of the saved plan, as CI runs it: the plan reads the VNet and the
/// VPC once (the preflight); the apply's re-plan reads them once more, and the create itself
/// sends the POST and one poll (Aiven is done before the first poll interval), nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_with_the_post_and_one_poll() {
    let setup = Setup::start_quick().await;
    setup.grant_aiven(Assignment::Propagated);
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.config(&format!("\"{}\"", setup.seed.aiven_project_vpc_id), ""));
    let preflight = |requests: &[RequestRecord]| {
        let vnet_reads = requests
            .iter()
            .filter(|r| r.service == Service::Arm && r.method == "GET")
            .count();
        let vpc_reads = requests.iter().filter(|r| is_vpc_get(r)).count();
        (vnet_reads, vpc_reads)
    };

    let start = setup.next_seq();
    workspace.run_ok(&["plan", "-out=tfplan", "-input=false", "-no-color"]);
    let plan = setup.own_requests_since(start);
    assert_eq!(plan.len(), 2, "the preflight only\n{}", describe(&plan));
    assert_eq!(preflight(&plan), (1, 1), "{}", describe(&plan));

    let start = setup.next_seq();
    workspace.run_ok(&["apply", "-input=false", "-no-color", "tfplan"]);
    let apply = setup.own_requests_since(start);
    let post = apply
        .iter()
        .position(|r| Vpc::Project.is_create(r))
        .unwrap_or_else(|| panic!("no POST\n{}", describe(&apply)));
    // Before the POST: the re-plan's preflight and nothing else (no lookup of its own).
    assert_eq!(post, 2, "{}", describe(&apply));
    assert_eq!(preflight(&apply[..post]), (1, 1), "{}", describe(&apply));
    // After it: one poll, which sees PENDING_PEER.
    assert_eq!(apply.len(), post + 2, "{}", describe(&apply));
    assert!(is_vpc_get(&apply[post + 1]), "{}", describe(&apply));
    assert_eq!(values(&workspace)["state"], "PENDING_PEER");
    assert_eq!(setup.connections_on(Vpc::Project).len(), 1);

    workspace.destroy();
    assert!(setup.connections_on(Vpc::Project).is_empty());
    setup.assert_clean(&workspace);
}

/// A connection made out of band after the plan was saved: the apply reports it with the import
/// command, neither adopting it nor sending a second create for the same VNet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_made_between_plan_and_apply_is_refused_with_the_import_command() {
    let setup = Setup::start_quick().await;
    setup.grant_aiven(Assignment::Propagated);
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.config(&format!("\"{}\"", setup.seed.aiven_project_vpc_id), ""));
    let output = workspace.run_ok(&["plan", "-out=tfplan", "-input=false", "-no-color"]);
    assert!(
        !output.combined().contains("already exists"),
        "nothing existed at plan: {output}"
    );

    setup.connect_out_of_band_on(Vpc::Project);
    let start = setup.next_seq();
    let output = workspace.run(&["apply", "-input=false", "-no-color", "tfplan"]);
    assert!(!output.success(), "{output}");
    let text = flat(&output.combined());
    assert!(
        text.contains(&setup.import_command_on(Vpc::Project)),
        "{text}"
    );
    assert!(text.contains("already exists"), "{text}");
    assert!(workspace.state_resource(ADDRESS).is_none(), "not adopted");
    let apply = setup.own_requests_since(start);
    assert!(
        apply.iter().all(|r| r.method == "GET"),
        "no create, no delete\n{}",
        describe(&apply)
    );
    // The re-plan's preflight answered the create's check too.
    assert_eq!(
        apply.iter().filter(|r| is_vpc_get(r)).count(),
        1,
        "{}",
        describe(&apply)
    );
    assert_eq!(
        setup.connections_on(Vpc::Project).len(),
        1,
        "the other connection only"
    );
    setup.assert_clean(&workspace);
}

// The organization VPC peering (`vnetpeer_aiven_org_vpc_peering`) makes the same promises on
// its own routes: a read of the VPC by its singular path, a create, a delete by connection id.

fn organization_values(workspace: &TerraformWorkspace) -> Json {
    workspace
        .state_show_json(ORG_ADDRESS)
        .unwrap_or_else(|| panic!("{ORG_ADDRESS} is not in the state"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organization_peering_pending_peer_drift_and_destroy() {
    let setup = Setup::start().await;
    setup.grant_aiven(Assignment::Propagated);
    let before = setup.emulator.snapshot();
    let seed = setup.seed.clone();
    let workspace = TerraformWorkspace::for_emulator(&setup.emulator);
    workspace.write_config(&setup.organization_config(""));

    // Create: PENDING_PEER, with Aiven's tenant and the organization VPC's VNet captured from
    // `state_info`.
    workspace.apply();
    let state = organization_values(&workspace);
    assert_eq!(state["state"], "PENDING_PEER", "{state:#}");
    assert_eq!(state["id"], setup.organization_import_id().as_str());
    assert_eq!(state["aiven_tenant_id"], seed.aiven_tenant_id.as_str());
    assert_eq!(
        state["aiven_vnet_id"],
        seed.aiven_organization_vnet_id.as_str()
    );
    assert_eq!(
        state["state_info"]["to-tenant-id"],
        seed.aiven_tenant_id.as_str()
    );
    assert_eq!(setup.connections_on(Vpc::Organization).len(), 1);
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");

    deleted_in_aiven_is_recreated(&setup, &workspace, Vpc::Organization, &state);

    // Destroy: one DELETE by the connection's id, then reads until Aiven no longer lists it.
    let start = setup.next_seq();
    workspace.destroy();
    let destroy = setup.aiven_requests_since(start);
    assert_eq!(
        destroy
            .iter()
            .filter(|r| Vpc::Organization.is_delete(r))
            .count(),
        1,
        "{}",
        describe(&destroy)
    );
    assert!(
        destroy
            .iter()
            .all(|r| Vpc::Organization.is_delete(r)
                || (r.method == "GET" && r.route == ORG_VPC_ROUTE)),
        "{}",
        describe(&destroy)
    );
    assert!(setup.connections_on(Vpc::Organization).is_empty());
    assert_eq!(setup.emulator.snapshot(), before);
    setup.assert_clean(&workspace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_organization_connection_is_refused_with_the_import_command() {
    let setup = Setup::start().await;
    let (workspace, start) = an_existing_connection_is_refused(&setup, Vpc::Organization);

    only_reads_and_the_other_connection_kept(&setup, Vpc::Organization, start);

    // The import command the diagnostic gives works.
    workspace.import(ORG_ADDRESS, &setup.organization_import_id());
    assert_eq!(organization_values(&workspace)["state"], "PENDING_PEER");
    let (code, output) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{output}");
    setup.assert_clean(&workspace);
}
