//! Secrets (issue 7): `examples/complete` (the `aiven-vnet-peering` module: an application with
//! no client secret of its own (issue 12), a short-lived secret minted for the cross-tenant step, tokens for
//! two tenants and two audiences, the Aiven token) applied, re-planned, shown and destroyed with
//! `TF_LOG=trace`. No client secret, access token or Aiven token may appear in any log line,
//! anything terraform prints (plan, apply, show, output, errors), or the state outside
//! attributes the provider schema marks sensitive; tokens and the operator's credentials must
//! not be in the state at all. Failing applies (wrong operator secret, wrong Aiven token, a step
//! failing while a minted secret is in flight) must not print secrets either.
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures --bins
//! cargo test -p vnetpeer-acceptance-tests --test acceptance reliability_secrets:: -- --nocapture
//! ```

use crate::safety_day2::password_credentials_of_new_apps;
use crate::terraform_common::blocking;
use std::collections::BTreeSet;

use crate::reliability_common::install_complete_example;
use serde_json::Value as Json;
use vnetpeer_emulator::{Emulator, FaultAction, FaultRule, Knobs, Schedule, Service};
use vnetpeer_harness::terraform::{PROVIDER_SOURCE, TerraformWorkspace};

/// Everything secret the emulator knows of: client secrets it issued (the managed one, the
/// minted ones, removed ones too), access tokens it issued, the operator's secret and the Aiven
/// token, plus `extra`. Shorter than 8 characters would match by chance and cannot occur.
fn known_secrets(emulator: &Emulator, extra: &[&str]) -> Vec<String> {
    let seed = emulator.seed();
    let mut secrets: Vec<String> = emulator.issued_secrets();
    secrets.push(seed.operator_client_secret.expose().to_owned());
    secrets.push(seed.aiven_token.expose().to_owned());
    secrets.extend(extra.iter().map(|secret| (*secret).to_owned()));
    assert!(secrets.iter().all(|secret| secret.len() >= 8));
    secrets
}

/// Access tokens the emulator issued (JWTs): never in the state, sensitive or not.
fn issued_tokens(emulator: &Emulator) -> BTreeSet<String> {
    emulator
        .issued_secrets()
        .into_iter()
        .filter(|secret| looks_like_jwt(secret))
        .collect()
}

fn looks_like_jwt(text: &str) -> bool {
    text.starts_with("eyJ") && text.matches('.').count() == 2
}

/// Where in `text` a secret appears, as a short description (never the secret itself).
fn leaks_in(what: &str, text: &str, secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for secret in secrets {
        if let Some(at) = text.find(secret.as_str()) {
            let line = text[..at].matches('\n').count() + 1;
            found.push(format!(
                "{what}, line {line}: a secret starting {:?}",
                &secret[..3]
            ));
        }
    }
    // Any JWT at all (an assertion or token the emulator did not issue would not be listed).
    for (index, line) in text.lines().enumerate() {
        if line
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .any(|word| looks_like_jwt(word) && word.len() > 40)
        {
            found.push(format!("{what}, line {}: a JWT", index + 1));
        }
    }
    found
}

/// Every string inside `value`, with the path that leads to it.
fn strings<'a>(value: &'a Json, path: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Json::String(text) => out.push((path, text)),
        Json::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                strings(item, format!("{path}[{index}]"), out);
            }
        }
        Json::Object(map) => {
            for (key, item) in map {
                strings(item, format!("{path}.{key}"), out);
            }
        }
        _ => {}
    }
}

/// Checks a state file: a string holding a known secret must be in an attribute the provider
/// schema marks sensitive (and the state must list it as sensitive); tokens and the operator's
/// credentials must not be there at all. Returns the problems and how many secret values the
/// state holds (in sensitive attributes).
fn check_state(state_text: &str, schema: &Json, emulator: &Emulator) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    if state_text.is_empty() {
        return (problems, 0);
    }
    let state: Json = serde_json::from_str(state_text).expect("the state is JSON");
    let secrets = known_secrets(emulator, &[]);
    let tokens = issued_tokens(emulator);
    let seed = emulator.seed();
    let never_stored = [
        seed.operator_client_secret.expose().to_owned(),
        seed.aiven_token.expose().to_owned(),
    ];
    let resource_schemas = &schema["provider_schemas"][PROVIDER_SOURCE]["resource_schemas"];
    let data_schemas = &schema["provider_schemas"][PROVIDER_SOURCE]["data_source_schemas"];
    let mut stored = 0;
    for resource in state["resources"].as_array().into_iter().flatten() {
        let type_name = resource["type"].as_str().unwrap_or_default();
        let block = if resource["mode"] == "data" {
            &data_schemas[type_name]["block"]
        } else {
            &resource_schemas[type_name]["block"]
        };
        for instance in resource["instances"].as_array().into_iter().flatten() {
            let sensitive_in_state: Vec<String> = instance["sensitive_attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|path| path[0]["value"].as_str().map(str::to_owned))
                .collect();
            let mut found = Vec::new();
            strings(&instance["attributes"], String::new(), &mut found);
            for (path, text) in found {
                let attribute = path
                    .trim_start_matches('.')
                    .split(['.', '['])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let address = format!(
                    "{type_name}.{}{path}",
                    resource["name"].as_str().unwrap_or("")
                );
                if tokens.iter().any(|token| text.contains(token.as_str())) {
                    problems.push(format!("{address} holds an access token"));
                }
                if never_stored
                    .iter()
                    .any(|secret| text.contains(secret.as_str()))
                {
                    problems.push(format!("{address} holds the provider's own credentials"));
                }
                if secrets.iter().any(|secret| text.contains(secret.as_str())) {
                    stored += 1;
                    if block["attributes"][&attribute]["sensitive"] != true {
                        problems.push(format!(
                            "{address} holds a secret, but `{attribute}` is not sensitive in the schema"
                        ));
                    }
                    if !sensitive_in_state.contains(&attribute) {
                        problems.push(format!(
                            "{address} holds a secret, but the state does not list it as sensitive"
                        ));
                    }
                }
            }
        }
    }
    (problems, stored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_complete_example_keeps_every_secret_out_of_logs_output_and_plain_state() {
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = TerraformWorkspace::for_emulator(&emulator);
    let (workspace, schema, states, printed) = blocking(move || {
        install_complete_example(&workspace);
        let schema = workspace.providers_schema_json();
        let mut printed = Vec::new();
        let mut states = Vec::new();
        let apply = workspace.apply();
        printed.push(("apply".to_owned(), apply.combined()));
        states.push(("state after apply", workspace.state_file_text()));
        let plan = workspace.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        assert_eq!(plan.status, 0, "{plan}");
        printed.push(("plan".to_owned(), plan.combined()));
        // Not `show -json`, `output -json` or `state pull`: they print sensitive values by
        // design (machine-readable); the state files are checked below instead.
        for args in [
            &["show", "-no-color"][..],
            &["output", "-no-color"],
            &["plan", "-json", "-input=false", "-no-color"],
            &["state", "list"],
        ] {
            let output = workspace.run_ok(args);
            printed.push((args.join(" "), output.combined()));
        }
        let destroy = workspace.destroy();
        printed.push(("destroy".to_owned(), destroy.combined()));
        states.push(("state after destroy", workspace.state_file_text()));
        states.push((
            "state backup",
            std::fs::read_to_string(workspace.path().join("terraform.tfstate.backup"))
                .unwrap_or_default(),
        ));
        (workspace, schema, states, printed)
    })
    .await;

    let secrets = known_secrets(&emulator, &[]);
    // The run used what it must: at least one minted secret, and tokens.
    let client_secrets = emulator.issued_secrets().len() - issued_tokens(&emulator).len();
    assert!(client_secrets >= 1, "a secret was minted for the peering");
    assert!(!issued_tokens(&emulator).is_empty());

    let mut problems = Vec::new();
    let log = std::fs::read_to_string(workspace.log_path()).expect("the TF_LOG=trace log");
    assert!(log.lines().count() > 1000, "the trace log is written");
    problems.extend(leaks_in("the TF_LOG=trace log", &log, &secrets));
    for (what, text) in &printed {
        problems.extend(leaks_in(
            &format!("`terraform {what}` output"),
            text,
            &secrets,
        ));
    }
    problems.extend(leaks_in(
        "the whole transcript",
        &workspace.transcript(),
        &secrets,
    ));
    let mut stored = 0;
    for (what, text) in &states {
        let (found, count) = check_state(text, &schema, &emulator);
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("{what}: {problem}")),
        );
        stored = stored.max(count);
    }
    // The module creates the application with `create_password = false`: no secret at rest.
    assert_eq!(
        stored, 0,
        "no state of the module's default use holds a secret"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    workspace.assert_no_secret_leaks(&emulator, &[]);
    println!(
        "secrets: {} secrets and tokens issued; none in {} log lines, {} command outputs or \
         non-sensitive state; {stored} held in sensitive attributes",
        secrets.len(),
        log.lines().count(),
        printed.len()
    );
}

/// A failing apply of the complete example; returns the workspace after a destroy.
async fn failing_apply(
    emulator: &Emulator,
    env: Vec<(&'static str, String)>,
    expected_error: &'static str,
) -> TerraformWorkspace {
    let mut workspace = TerraformWorkspace::for_emulator(emulator);
    for (name, value) in env {
        workspace.set_env(name, value);
    }
    blocking(move || {
        install_complete_example(&workspace);
        let apply = workspace.try_apply();
        assert!(!apply.success(), "the apply should fail:\n{apply}");
        assert!(
            apply.combined().contains(expected_error),
            "expected {expected_error:?}:\n{apply}"
        );
        workspace
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_applies_do_not_print_secrets() {
    const WRONG_SECRET: &str = "wr0ng~OperatorSecretThatMustNeverBePrinted01";
    const WRONG_AIVEN_TOKEN: &str = "aivenv1-wrong-token-that-must-never-be-printed";

    // A wrong operator secret: the very first sign-in fails.
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = failing_apply(
        &emulator,
        vec![("ARM_CLIENT_SECRET", WRONG_SECRET.to_owned())],
        "AADSTS7000215",
    )
    .await;
    workspace.assert_no_secret_leaks(&emulator, &[WRONG_SECRET]);

    // A wrong Aiven token: Azure steps succeed, the Aiven lookup fails.
    let emulator = Emulator::start(Knobs::test()).await;
    let workspace = failing_apply(
        &emulator,
        vec![("AIVEN_TOKEN", WRONG_AIVEN_TOKEN.to_owned())],
        "Error: ",
    )
    .await;
    workspace.assert_no_secret_leaks(&emulator, &[WRONG_AIVEN_TOKEN]);

    // The cross-tenant step fails after minting its short-lived secret (the peering PUT is
    // refused): the error is printed, the minted secret is not, and it was removed.
    let emulator = Emulator::start(Knobs::test()).await;
    emulator.faults().inject(
        FaultRule::new(Service::Arm, FaultAction::Status { status: 400 })
            .method("PUT")
            .path_contains("/virtualNetworkPeerings/")
            .schedule(Schedule::Always),
    );
    let workspace = failing_apply(&emulator, vec![], "Error: ").await;
    workspace.assert_no_secret_leaks(&emulator, &[]);
    let secrets_on_the_application = password_credentials_of_new_apps(&emulator);
    assert_eq!(
        secrets_on_the_application,
        [0],
        "no secret is left: the module makes none, and the minted one was removed after the failure"
    );
    let secrets = known_secrets(&emulator, &[]);
    let (problems, _) = check_state(
        &workspace.state_file_text(),
        &workspace.providers_schema_json(),
        &emulator,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let log = std::fs::read_to_string(workspace.log_path()).unwrap_or_default();
    let leaks = leaks_in("the log", &log, &secrets);
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    emulator.faults().clear();
    blocking(move || {
        workspace.destroy();
    })
    .await;
}
