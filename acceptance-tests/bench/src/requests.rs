//! Metric (d): HTTP requests per resource and operation against the minimum of
//! docs/development/benchmark-method.md, 'Minimum round trips per resource', token requests per
//! command, and connections per host.
//!
//! The runbook is applied once against delays of 1 ms (so one poll sees the end of every wait).
//! Then every resource is cut out of the runbook into a workspace of its own, with the same
//! arguments as literal values and its state entry, so each operation's requests belong to that
//! resource alone: `plan -refresh-only` (read), `destroy -refresh=false` (delete),
//! `plan -refresh=false -out` + `apply` (create), in reverse dependency order so that every
//! resource's prerequisites still exist. Terraform plans a create once more inside `apply`,
//! right before ApplyResourceChange (the apply-time re-plan): when the apply starts with the
//! very requests the plan made, those are counted as plan-time again, not as the create's. Token requests of the provider's own identity are
//! counted per command, not per resource; token requests with a credential a resource made
//! (the new secret of `vnetpeer_aad_app`, the minted secret of the peering) are the resource's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value as Json, json};
use vnetpeer_emulator::{Emulator, RequestRecord};

use super::connections::{ConnectionSampler, service_ports};
use super::runbook::{
    Observed, emulator_workspace, instant_knobs, is_operator_token_request, observe,
    runbook_workspace,
};
use super::terraform::Workspace;
use super::{Row, progress};

/// The provider's address in state and plan files.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/vnetpeer/vnetpeer";

/// Deletion order: dependents first (the runbook's dependency order, reversed).
const TYPE_ORDER: [&str; 6] = [
    "vnetpeer_cross_tenant_vnet_peering",
    "vnetpeer_aiven_vpc_peering",
    "vnetpeer_role_assignment",
    "vnetpeer_custom_role",
    "vnetpeer_service_principal",
    "vnetpeer_aad_app",
];

/// What one resource's create, read and delete may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    /// docs/development/benchmark-method.md, 'Minimum round trips per resource' with every wait
    /// seen by one poll.
    minimum: [usize; 3],
    /// Extra requests the targets allow (metric (d) of docs/development/benchmark-method.md: one
    /// per consistency window of 1 ms the operation must wait out; its design rule 5: one GET
    /// confirming a deletion).
    allowed: [usize; 3],
}

/// The budget (create, read, delete) of one resource as configured.
fn budget(resource_type: &str, expressions: &serde_json::Map<String, Json>) -> Option<Budget> {
    let configured = |name: &str| expressions.contains_key(name);
    let (minimum, allowed) = match resource_type {
        // Application POST, service principal POST, addPassword, one token with the new secret;
        // read: application and service principal; delete: the application only (Entra ID
        // deletes its home-tenant service principal and secrets with it, so the two rows of
        // 'Minimum round trips per resource' are one request here). The service principal waits
        // for the application to replicate and the token for the secret to activate.
        "vnetpeer_aad_app" => ([4, 2, 1], [2, 0, 0]),
        "vnetpeer_service_principal" | "vnetpeer_custom_role" => ([1, 1, 1], [0, 0, 0]),
        // Deletion is confirmed (a custom role deleted next must not race with it).
        "vnetpeer_role_assignment" => ([1, 1, 1], [0, 0, 1]),
        // POST + one poll; DELETE + one poll.
        "vnetpeer_aiven_vpc_peering" => ([2, 1, 2], [0, 0, 0]),
        // PUT + one poll + GET, a token in each tenant with the application's secret (each
        // waits for the secret to activate); a minted secret adds addPassword and
        // removePassword; with `aiven_peering_id`, one poll for ACTIVE and the connection's
        // state read on refresh.
        "vnetpeer_cross_tenant_vnet_peering" => {
            let minted = if configured("application_object_id") {
                2
            } else {
                0
            };
            let aiven = usize::from(configured("aiven_peering_id"));
            ([5 + minted + aiven, 1 + aiven, 2], [2, 0, 0])
        }
        _ => return None,
    };
    Some(Budget { minimum, allowed })
}

/// A resource's own requests in a slice of the log (without the provider's token requests).
fn own_requests<'a>(requests: &'a [RequestRecord], operator: &str) -> Vec<&'a RequestRecord> {
    requests
        .iter()
        .filter(|request| !is_operator_token_request(request, operator))
        .collect()
}

/// `arm PUT …/roleAssignments/{name} ×1, …` for a note.
fn describe(requests: &[&RequestRecord]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for request in requests {
        let key = format!(
            "{} {} {}",
            request.service.name(),
            request.method,
            request.route
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(key, count)| format!("{key} ×{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs metric (d).
pub async fn measure(
    scratch: &Path,
    repository: &Path,
    timed_provider_dir: &Path,
) -> Result<Vec<Row>, String> {
    progress(
        "(d) requests per resource and operation, tokens and connections (runbook, 1 ms delays)",
    );
    let emulator = Emulator::start(instant_knobs()).await;
    let operator = emulator.seed().operator_client_id.clone();
    let workspace = runbook_workspace(
        scratch,
        "requests-runbook",
        repository,
        timed_provider_dir,
        &emulator,
    )?;
    let mut rows = Vec::new();

    // Whole-runbook commands: tokens, connections and launches per command.
    let commands: [(&str, &[&str]); 6] = [
        ("validate", &["validate", "-no-color"]),
        (
            "plan -out",
            &["plan", "-out=tfplan", "-input=false", "-no-color"],
        ),
        (
            "apply tfplan",
            &["apply", "-input=false", "-no-color", "tfplan"],
        ),
        (
            "plan -refresh=false",
            &["plan", "-refresh=false", "-input=false", "-no-color"],
        ),
        ("plan (refresh)", &["plan", "-input=false", "-no-color"]),
        (
            "destroy",
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
        ),
    ];
    let mut plan_json = Json::Null;
    for (index, (name, args)) in commands.iter().enumerate() {
        let sampler = ConnectionSampler::start(service_ports(&emulator));
        let observed = observe(&workspace, &emulator, args);
        let connections = sampler.finish();
        let observed = observed?;
        if *name == "plan -out" {
            plan_json = show_json(&workspace, "tfplan")?;
        }
        rows.push(command_row(
            &format!("d{}", index + 1),
            name,
            &observed,
            &operator,
            &connections,
        ));
    }

    // Build the runbook again, then take it apart one resource at a time.
    workspace.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"])?;
    let state: Json = serde_json::from_str(
        &std::fs::read_to_string(workspace.path().join("terraform.tfstate"))
            .map_err(|error| format!("the runbook's state: {error}"))?,
    )
    .map_err(|error| format!("the runbook's state is not JSON: {error}"))?;
    let configured = configured_resources(&plan_json);
    let mut managed: Vec<&Json> = state["resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .filter(|resource| resource["mode"] == "managed")
                .collect()
        })
        .unwrap_or_default();
    managed.sort_by_key(|resource| {
        TYPE_ORDER
            .iter()
            .position(|known| resource["type"] == *known)
            .unwrap_or(TYPE_ORDER.len())
    });
    let mut create_total = 0;
    let mut create_minimum = 0;
    let mut create_allowed = 0;
    for (index, resource) in managed.iter().enumerate() {
        let resource_type = resource["type"].as_str().unwrap_or_default();
        let name = resource["name"].as_str().unwrap_or_default();
        let address = format!("{resource_type}.{name}");
        let Some(expressions) = configured.get(&address) else {
            rows.push(Row::not_measured(
                &format!("d{}", commands.len() + 1 + index),
                address,
                "not in the plan's configuration",
            ));
            continue;
        };
        progress(format!("(d) {address}: read, delete, create on its own"));
        let isolated = isolate(
            scratch,
            timed_provider_dir,
            &emulator,
            resource,
            expressions,
        )?;
        let read = observe(
            &isolated,
            &emulator,
            &["plan", "-refresh-only", "-input=false", "-no-color"],
        )?;
        let delete = observe(
            &isolated,
            &emulator,
            &[
                "destroy",
                "-auto-approve",
                "-refresh=false",
                "-input=false",
                "-no-color",
            ],
        )?;
        let plan = observe(
            &isolated,
            &emulator,
            &[
                "plan",
                "-refresh=false",
                "-out=tfplan",
                "-input=false",
                "-no-color",
            ],
        )?;
        let create = observe(
            &isolated,
            &emulator,
            &["apply", "-input=false", "-no-color", "tfplan"],
        )?;
        isolated.run_ok(&[
            "destroy",
            "-auto-approve",
            "-refresh=false",
            "-input=false",
            "-no-color",
        ])?;

        let planned = own_requests(&plan.requests, &operator);
        let (replanned, created) =
            split_replan(&planned, own_requests(&create.requests, &operator));
        let read = own_requests(&read.requests, &operator);
        let deleted = own_requests(&delete.requests, &operator);
        let Some(budget) = budget(resource_type, expressions) else {
            continue;
        };
        create_total += created.len();
        create_minimum += budget.minimum[0];
        create_allowed += budget.allowed[0];
        rows.push(resource_row(
            &format!("d{}", commands.len() + 1 + index),
            &address,
            [&created, &read, &deleted],
            &planned,
            replanned.len(),
            budget,
        ));
    }
    let violations = emulator.violations();
    rows.push(Row::target(
        &format!("d{}", commands.len() + managed.len() + 1),
        "runbook create: all resources' requests ÷ Σ minimum",
        format!(
            "{create_total} ÷ {create_minimum} = {:.2} ({create_allowed} consistency retries allowed)",
            create_total as f64 / create_minimum.max(1) as f64
        ),
        "1.00 + the allowed retries",
        create_total <= create_minimum + create_allowed,
    ));
    rows.push(
        Row::target(
            &format!("d{}", commands.len() + managed.len() + 2),
            "emulator violations during (d)",
            violations.len().to_string(),
            "0",
            violations.is_empty(),
        )
        .with_note(if violations.is_empty() {
            String::new()
        } else {
            violations
                .iter()
                .take(3)
                .map(|violation| {
                    format!(
                        "{:?} {} {}",
                        violation.kind, violation.method, violation.path
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
    );
    Ok(rows)
}

/// Tokens, connections and launches of one whole-runbook command.
fn command_row(
    id: &str,
    name: &str,
    observed: &Observed,
    operator: &str,
    connections: &[(&'static str, usize)],
) -> Row {
    let launches = observed.run.providers.len();
    let tokens = observed
        .requests
        .iter()
        .filter(|request| is_operator_token_request(request, operator))
        .count();
    let mut opened_text = String::new();
    let mut connections_ok = true;
    for (host, opened) in connections {
        connections_ok &= *opened <= 10 * launches.max(1);
        let _ = write!(opened_text, "{host} {opened}, ");
    }
    let connections = opened_text.trim_end_matches(", ");
    // Each process holds one token per (tenant, scope) it uses: ARM and Graph of the operator.
    let tokens_ok = if name == "validate" {
        tokens == 0
    } else {
        tokens <= 2 * launches
    };
    Row::target(
        id,
        format!("runbook `{name}`: provider token requests; new connections per host; provider launches"),
        format!(
            "{tokens} token requests; connections {connections}; {launches} launches; {} requests in all",
            observed.requests.len()
        ),
        if name == "validate" {
            "0 tokens; connections ≤ 10 per process per host (HTTP/1.1)"
        } else {
            "tokens ≤ launches × 2 (tenant, scope) pairs; connections ≤ 10 per process per host (HTTP/1.1)"
        },
        tokens_ok && connections_ok,
    )
    .with_note(
        "the emulator speaks HTTP/1.1 over plain loopback (no TLS, so no handshakes to count); connections are the client ends seen in /proc/net/tcp, sampled every 2 ms",
    )
}

/// `service METHOD route` of a request, the unit the re-plan split compares.
fn request_kind(request: &RequestRecord) -> (&'static str, &str, &str) {
    (request.service.name(), &request.method, &request.route)
}

/// An `apply` of a saved plan's requests, split into those of Terraform's apply-time re-plan
/// and the create's own. The re-plan is PlanResourceChange again, with the same inputs, in the
/// apply's provider process and strictly before ApplyResourceChange, so its requests are the
/// first of the apply and the same kinds as the plan's: when the apply's first requests are
/// exactly the plan's (as a multiset; concurrent reads arrive in either order), they are the
/// re-plan's. Otherwise nothing is taken out.
fn split_replan<'a>(
    planned: &[&RequestRecord],
    applied: Vec<&'a RequestRecord>,
) -> (Vec<&'a RequestRecord>, Vec<&'a RequestRecord>) {
    if planned.is_empty() || applied.len() < planned.len() {
        return (Vec::new(), applied);
    }
    let mut expected: Vec<_> = planned
        .iter()
        .map(|request| request_kind(request))
        .collect();
    let mut leading: Vec<_> = applied[..planned.len()]
        .iter()
        .map(|request| request_kind(request))
        .collect();
    expected.sort_unstable();
    leading.sort_unstable();
    if expected != leading {
        return (Vec::new(), applied);
    }
    let mut created = applied;
    let replanned = created.drain(..planned.len()).collect();
    (replanned, created)
}

/// Requests of one resource's create, read and delete against the minimum; `replanned` counts
/// the plan-time requests repeated by the apply's re-plan (not the create's).
fn resource_row(
    id: &str,
    address: &str,
    operations: [&[&RequestRecord]; 3],
    planned: &[&RequestRecord],
    replanned: usize,
    budget: Budget,
) -> Row {
    let names = ["create", "read", "delete"];
    let mut value = String::new();
    let mut within = true;
    let mut notes = Vec::new();
    for (index, (name, requests)) in names.iter().zip(operations).enumerate() {
        let (minimum, allowed) = (budget.minimum[index], budget.allowed[index]);
        let ratio = requests.len() as f64 / minimum.max(1) as f64;
        within &= requests.len() <= minimum + allowed;
        let allowance = if allowed > 0 {
            format!(" (+{allowed} allowed)")
        } else {
            String::new()
        };
        let _ = write!(
            value,
            "{name} {}/{minimum}{allowance} = {ratio:.2}; ",
            requests.len()
        );
        if requests.len() > minimum {
            notes.push(format!("{name}: {}", describe(requests)));
        }
    }
    let _ = write!(value, "plan-time {}", planned.len());
    if replanned > 0 {
        let _ = write!(value, " (+{replanned} in apply's re-plan)");
    }
    if !planned.is_empty() {
        let again = if replanned > 0 {
            ", made again by the apply-time re-plan"
        } else {
            ""
        };
        notes.push(format!(
            "plan-time (not in the minimum{again}): {}",
            describe(planned)
        ));
    }
    let row = Row::target(
        id,
        format!("{address}: requests ÷ minimum (create, read, delete)"),
        value,
        "1.00 each, plus the allowed consistency retries and deletion check",
        within,
    );
    if notes.is_empty() {
        row
    } else {
        row.with_note(notes.join("; "))
    }
}

/// `terraform show -json <plan>`.
fn show_json(workspace: &Workspace, plan: &str) -> Result<Json, String> {
    let run = workspace.run_ok(&["show", "-json", "-no-color", plan])?;
    serde_json::from_str(&run.stdout).map_err(|error| format!("terraform show -json: {error}"))
}

/// The configured expressions of every managed resource of the root module, by address.
fn configured_resources(plan: &Json) -> BTreeMap<String, serde_json::Map<String, Json>> {
    plan["configuration"]["root_module"]["resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .filter(|resource| resource["mode"] == "managed")
                .filter_map(|resource| {
                    Some((
                        resource["address"].as_str()?.to_owned(),
                        resource["expressions"].as_object()?.clone(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A workspace holding one resource of the runbook: its configured arguments as literals (from
/// the configuration's constants, or the state for arguments that referred to other objects),
/// and its state entry.
fn isolate(
    scratch: &Path,
    provider_dir: &Path,
    emulator: &Emulator,
    resource: &Json,
    expressions: &serde_json::Map<String, Json>,
) -> Result<Workspace, String> {
    let resource_type = resource["type"].as_str().unwrap_or_default();
    let name = resource["name"].as_str().unwrap_or_default();
    let attributes = &resource["instances"][0]["attributes"];
    let mut arguments = serde_json::Map::new();
    for (argument, expression) in expressions {
        // Nested blocks (timeouts) are arrays of expression objects; the runbook sets none.
        if !expression.is_object() {
            continue;
        }
        let value = expression
            .get("constant_value")
            .cloned()
            .unwrap_or_else(|| attributes[argument].clone());
        if !value.is_null() {
            arguments.insert(argument.clone(), escape_templates(value));
        }
    }
    let config = json!({
        "terraform": {"required_providers": {"vnetpeer": {"source": "vnetpeer/vnetpeer"}}},
        "provider": {"vnetpeer": {}},
        "resource": {resource_type: {name: arguments}},
    });
    let mut entry = resource.clone();
    if let Some(instances) = entry["instances"].as_array_mut() {
        for instance in instances {
            if let Some(instance) = instance.as_object_mut() {
                instance.remove("dependencies");
            }
        }
    }
    entry["provider"] = json!(format!("provider[\"{PROVIDER_ADDRESS}\"]"));
    let state = json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": uuid::Uuid::new_v4().to_string(),
        "outputs": {},
        "resources": [entry],
        "check_results": null,
    });
    let workspace = emulator_workspace(
        scratch,
        &format!("isolated-{resource_type}-{name}"),
        provider_dir,
        emulator,
    )?;
    workspace.write("main.tf.json", &config.to_string())?;
    workspace.write("terraform.tfstate", &state.to_string())?;
    Ok(workspace)
}

/// Strings in JSON configuration are templates: keep `${` and `%{` literal.
fn escape_templates(value: Json) -> Json {
    match value {
        Json::String(text) => Json::String(text.replace("${", "$${").replace("%{", "%%{")),
        Json::Array(items) => Json::Array(items.into_iter().map(escape_templates).collect()),
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(key, value)| (key, escape_templates(value)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_sequences_stay_literal() {
        assert_eq!(
            escape_templates(json!({"a": ["${x}", "100%{y}"], "b": 1})),
            json!({"a": ["$${x}", "100%%{y}"], "b": 1})
        );
    }

    fn record(
        seq: u64,
        service: vnetpeer_emulator::Service,
        method: &str,
        route: &str,
    ) -> RequestRecord {
        RequestRecord {
            seq,
            service,
            method: method.to_owned(),
            route: route.to_owned(),
            path: route.to_owned(),
            status: 200,
            at_ms: seq as f64,
            duration_ms: 0.1,
            credential: None,
            fault: None,
        }
    }

    #[test]
    fn the_apply_time_re_plan_is_counted_as_plan_time_only_when_it_repeats_the_plan() {
        use vnetpeer_emulator::Service::{Aiven, Arm};
        let vpc = "/v1/project/{project}/vpcs/{project_vpc_id}";
        let vnet =
            "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Network/virtualNetworks/{v}";
        let post = "/v1/project/{project}/vpcs/{project_vpc_id}/peering-connections";
        let plan = [record(0, Arm, "GET", vnet), record(1, Aiven, "GET", vpc)];
        // The re-plan's two reads in the other order, then the POST and one poll.
        let apply = [
            record(2, Aiven, "GET", vpc),
            record(3, Arm, "GET", vnet),
            record(4, Aiven, "POST", post),
            record(5, Aiven, "GET", vpc),
        ];
        let planned: Vec<&RequestRecord> = plan.iter().collect();
        let (replanned, created) = split_replan(&planned, apply.iter().collect());
        assert_eq!(replanned.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(created.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5]);

        // An apply that does not start with the plan's requests keeps them all as the create's.
        let other = [
            record(2, Aiven, "GET", vpc),
            record(3, Aiven, "POST", post),
            record(4, Aiven, "GET", vpc),
        ];
        let (replanned, created) = split_replan(&planned, other.iter().collect());
        assert!(replanned.is_empty());
        assert_eq!(created.len(), 3);
        // No plan-time requests: nothing to take out.
        let (replanned, created) = split_replan(&[], apply.iter().collect());
        assert!(replanned.is_empty());
        assert_eq!(created.len(), 4);
    }

    #[test]
    fn the_peering_minimum_depends_on_how_it_is_configured() {
        let runbook: serde_json::Map<String, Json> = serde_json::from_value(json!({
            "application_object_id": {"references": ["x"]},
            "aiven_peering_id": {"references": ["y"]},
        }))
        .unwrap_or_default();
        let peering = "vnetpeer_cross_tenant_vnet_peering";
        assert_eq!(
            budget(peering, &runbook).map(|budget| budget.minimum),
            Some([8, 2, 2])
        );
        assert_eq!(
            budget(peering, &serde_json::Map::new()).map(|budget| budget.minimum),
            Some([5, 1, 2])
        );
        assert_eq!(budget("vnetpeer_test_fixture", &runbook), None);
    }
}
