//! Exactly-once creates and busy networks (issue 12), through the real `terraform` on the whole
//! runbook (`examples/provider/runbook`):
//!
//! - a gateway loses the answer to a create the service applied (502, 504, or the connection
//!   closed without an answer) on every create route in turn, on the first create of every
//!   route at once, and on every second create of every route at once: the apply converges
//!   with exactly one application, two service principals, one role definition, two role
//!   assignments, two VNet peerings and one Aiven connection; the application holds only its
//!   managed secret (no orphan); the re-plan is empty, and destroy leaves the world as seeded;
//! - ARM refuses the peering writes because a VNet is busy, in each of its three forms, during
//!   create and during destroy: converged, and no request came before a `Retry-After`.
//!
//! ```text
//! cargo xtask test -- safety_lost_answers::
//! ```

use crate::terraform_common::blocking;
use crate::terraform_common::runbook_workspace;
use vnetpeer_emulator::{
    BusyForm, Emulator, FaultAction, FaultRule, Knobs, RequestRecord, Schedule, Service, World,
};

/// Purge the application on destroy, so the directory's deleted items end as seeded too.
const OVERRIDE: &str = r#"
resource "vnetpeer_aad_app" "peering" {
  permanently_delete = true
}
"#;

/// How many objects of each kind the world holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Objects {
    applications: usize,
    customer_service_principals: usize,
    role_definitions: usize,
    role_assignments: usize,
    vnet_peerings: usize,
    aiven_connections: usize,
}

fn objects(world: &World, customer_tenant: &str) -> Objects {
    Objects {
        applications: world.identity.applications.len(),
        customer_service_principals: world
            .identity
            .service_principals
            .values()
            .filter(|sp| sp.tenant_id == customer_tenant)
            .count(),
        role_definitions: world.arm.role_definitions.len(),
        // Aiven grants the customer's application a role on its own VNet: not the runbook's.
        role_assignments: world
            .arm
            .role_assignments
            .iter()
            .filter(|assignment| assignment.tenant_id == customer_tenant)
            .count(),
        vnet_peerings: world
            .arm
            .subscriptions
            .iter()
            .flat_map(|s| &s.resource_groups)
            .flat_map(|g| &g.virtual_networks)
            .map(|v| v.peerings.len())
            .sum(),
        aiven_connections: world
            .aiven
            .projects
            .iter()
            .flat_map(|p| &p.vpcs)
            .map(|v| v.peering_connections.len())
            .sum(),
    }
}

/// What one apply of the runbook adds.
const ONE_RUNBOOK: Objects = Objects {
    applications: 1,
    customer_service_principals: 2,
    role_definitions: 1,
    role_assignments: 2,
    vnet_peerings: 2,
    aiven_connections: 1,
};

fn added(after: Objects, before: Objects) -> Objects {
    Objects {
        applications: after.applications - before.applications,
        customer_service_principals: after.customer_service_principals
            - before.customer_service_principals,
        role_definitions: after.role_definitions - before.role_definitions,
        role_assignments: after.role_assignments - before.role_assignments,
        vnet_peerings: after.vnet_peerings - before.vnet_peerings,
        aiven_connections: after.aiven_connections - before.aiven_connections,
    }
}

/// A create the runbook sends: service, method and route template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    service: Service,
    method: String,
    route: String,
}

fn is_create(record: &RequestRecord) -> bool {
    matches!(record.method.as_str(), "POST" | "PUT" | "PATCH")
        && record.service != Service::Login
        && record.status < 300
        // removePassword is a delete (of the minted secret), safe to repeat.
        && !record.route.ends_with("/removePassword")
}

/// Applies the runbook under `faults`, checks what exists, re-plans, destroys; returns what
/// went wrong, if anything, or whether the state recorded Aiven's service principal as adopted
/// (it is then kept on destroy, and taken out of the world before comparing it to the seeded
/// one).
async fn run(
    name: &str,
    faults: Vec<FaultRule>,
    only_during_destroy: bool,
) -> Result<bool, String> {
    let emulator = Emulator::start(Knobs::test()).await;
    let seeded = emulator.snapshot();
    let customer_tenant = emulator.seed().customer_tenant_id.clone();
    let before = emulator.with_world(|world| objects(world, &customer_tenant));
    if !only_during_destroy {
        for rule in &faults {
            emulator.faults().inject(rule.clone());
        }
    }
    let workspace = runbook_workspace(&emulator, "safety_override.tf", OVERRIDE);
    let (workspace, apply) = blocking(move || {
        let apply = workspace.try_apply();
        (workspace, apply)
    })
    .await;
    if !apply.success() {
        return Err(format!("{name}: the apply failed:\n{apply}"));
    }
    let after = emulator.with_world(|world| objects(world, &customer_tenant));
    if added(after, before) != ONE_RUNBOOK {
        return Err(format!(
            "{name}: the apply made {:?}, not {ONE_RUNBOOK:?}",
            added(after, before)
        ));
    }
    // No orphaned secret: the new application holds exactly its managed secret.
    let state_key = workspace
        .state_resource("vnetpeer_aad_app.peering")
        .and_then(|app| {
            app["values"]["client_secret_key_id"]
                .as_str()
                .map(str::to_owned)
        })
        .ok_or_else(|| format!("{name}: no managed secret in the state"))?;
    let app_object_id = workspace
        .state_resource("vnetpeer_aad_app.peering")
        .and_then(|app| app["values"]["object_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let secrets: Vec<String> = emulator.with_world(|world| {
        world
            .identity
            .applications
            .values()
            .filter(|app| app.id == app_object_id)
            .flat_map(|app| app.password_credentials.iter().map(|p| p.key_id.clone()))
            .collect()
    });
    if secrets != [state_key.clone()] {
        return Err(format!(
            "{name}: the application holds secrets {secrets:?}; only {state_key} is known"
        ));
    }
    let aiven_principal = workspace
        .state_resource("vnetpeer_service_principal.aiven")
        .ok_or_else(|| format!("{name}: no Aiven service principal in the state"))?;
    let adopted = aiven_principal["values"]["adopted"] == true;
    let aiven_principal_id = aiven_principal["values"]["object_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if only_during_destroy {
        for rule in &faults {
            emulator.faults().inject(rule.clone());
        }
    }
    let (workspace, plan, destroy) = blocking(move || {
        let plan = workspace.plan_detailed_exitcode();
        let destroy = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        (workspace, plan, destroy)
    })
    .await;
    if plan.0 != 0 {
        return Err(format!("{name}: the re-plan is not empty:\n{}", plan.1));
    }
    if !destroy.success() {
        return Err(format!("{name}: the destroy failed:\n{destroy}"));
    }
    let fired: u64 = emulator.faults().list().iter().map(|rule| rule.fired).sum();
    if fired == 0 {
        return Err(format!(
            "{name}: no fault fired: the scenario tested nothing"
        ));
    }
    if adopted {
        emulator.with_world(|world| {
            world
                .identity
                .service_principals
                .retain(|_, sp| sp.id != aiven_principal_id)
        });
    }
    if emulator.snapshot() != seeded {
        return Err(format!("{name}: destroy did not leave the world as seeded"));
    }
    let violations = emulator.violations();
    if !violations.is_empty() {
        return Err(format!("{name}: violations: {violations:?}"));
    }
    workspace.assert_no_secret_leaks(&emulator, &[]);
    println!(
        "{name}: converged, {fired} faults fired, exactly one of everything, 0 orphaned secrets"
    );
    Ok(adopted)
}

/// The create routes of a clean apply of the runbook.
async fn create_routes() -> Vec<Route> {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = runbook_workspace(&emulator, "safety_override.tf", OVERRIDE);
    blocking(move || workspace.apply()).await;
    let mut routes: Vec<Route> = emulator
        .requests()
        .iter()
        .filter(|record| is_create(record))
        .map(|record| Route {
            service: record.service,
            method: record.method.clone(),
            route: record.route.clone(),
        })
        .collect();
    routes.sort();
    routes.dedup();
    routes
}

/// The three ways a gateway loses an answer, taken in turn.
fn lost_answer(index: usize) -> FaultAction {
    match index % 3 {
        0 => FaultAction::LostAnswer { status: Some(502) },
        1 => FaultAction::LostAnswer { status: Some(504) },
        _ => FaultAction::LostAnswer { status: None },
    }
}

fn on_route(route: &Route, action: FaultAction, schedule: Schedule) -> FaultRule {
    FaultRule::new(route.service, action)
        .method(&route.method)
        .route(&route.route)
        .schedule(schedule)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_any_create_converges_with_exactly_one_of_everything() {
    let routes = create_routes().await;
    // The application, its secret, both service principals, the role definition, the
    // assignments, the peering, the Aiven connection, and the minted secret's route.
    for expected in [
        "/v1.0/applications",
        "/v1.0/applications/{id}/addPassword",
        "/v1.0/servicePrincipals",
        "/virtualNetworkPeerings/{peering}",
        "/peering-connections",
    ] {
        assert!(
            routes.iter().any(|route| route.route.ends_with(expected)),
            "a clean apply sends a create on …{expected}: {routes:?}"
        );
    }
    let mut failures = Vec::new();
    for (index, route) in routes.iter().enumerate() {
        let name = format!(
            "lost answer ({:?}) to the first {} {}",
            lost_answer(index),
            route.method,
            route.route
        );
        let rule = on_route(route, lost_answer(index), Schedule::NextN { n: 1 });
        // The upsert of Aiven's service principal (`use_existing`) cannot tell "created by the
        // lost attempt" from "existed before" (Graph keeps no creation time or marker on a
        // service principal): it adopts, so destroy never deletes what may be someone else's.
        let upserts_the_principal = route.method == "PATCH";
        match run(&name, vec![rule], false).await {
            Ok(adopted) if adopted != upserts_the_principal => failures.push(format!(
                "{name}: Aiven's service principal adopted = {adopted}"
            )),
            Ok(_) => {}
            Err(failure) => failures.push(failure),
        }
    }
    // Every route loses the answer to its first create, all in the same apply.
    let every_first: Vec<FaultRule> = routes
        .iter()
        .enumerate()
        .map(|(index, route)| on_route(route, lost_answer(index), Schedule::NextN { n: 1 }))
        .collect();
    match run(
        "lost answer to the first create of every route",
        every_first,
        false,
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => failures.push(
            "the first create of every route: Aiven's SP not adopted after its upsert's answer \
             was lost"
                .to_owned(),
        ),
        Err(failure) => failures.push(failure),
    }
    let every_second: Vec<FaultRule> = routes
        .iter()
        .enumerate()
        .map(|(index, route)| on_route(route, lost_answer(index), Schedule::EveryNth { n: 2 }))
        .collect();
    match run("lost answer to every second create", every_second, false).await {
        Ok(false) => {}
        Ok(true) => failures.push("every second create: Aiven's SP adopted".to_owned()),
        Err(failure) => failures.push(failure),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_networks_are_waited_out_in_every_form_during_create_and_destroy() {
    let mut failures = Vec::new();
    for form in [
        BusyForm::AnotherOperationInProgress,
        BusyForm::ReferencedResourceNotProvisioned,
        BusyForm::RetryableError,
    ] {
        for (method, during_destroy) in [("PUT", false), ("DELETE", true)] {
            let rule = FaultRule::new(Service::Arm, FaultAction::ArmBusy { form })
                .method(method)
                .path_contains("/virtualNetworkPeerings/")
                .schedule(Schedule::NextN { n: 2 });
            let name = format!("busy VNet ({form:?}) on the first two peering {method}s");
            match run(&name, vec![rule], during_destroy).await {
                Ok(false) => {}
                Ok(true) => failures.push(format!("{name}: Aiven's SP adopted")),
                Err(failure) => failures.push(failure),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
