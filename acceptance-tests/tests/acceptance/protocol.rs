//! The plugin protocol end to end, through the installed `terraform` (1.11.4) and the provider
//! binary built with `--features test-fixtures` (its `vnetpeer_test_fixture` resource needs no
//! cloud). Run locally:
//!
//! ```text
//! cargo build -p terraform-provider-vnetpeer --features test-fixtures
//! cargo test -p vnetpeer-acceptance-tests --test acceptance protocol::
//! ```

use std::path::PathBuf;

use serde_json::Value as Json;
use vnetpeer_harness::terraform::{
    PROVIDER_HEADER, PROVIDER_SOURCE, REQUIRED_PROVIDERS, TerraformWorkspace,
};

const FIXTURE: &str = "vnetpeer_test_fixture.x";
const TOKEN: &str = "wo-t0ken-7f3a9";

/// The fixture resource with the given `name` and force-new `zone`, using every kind of
/// attribute (map, set, list, sensitive, write-only, nested blocks, timeouts).
fn fixture_config(name: &str, zone: &str) -> String {
    format!(
        r#"{PROVIDER_HEADER}
resource "vnetpeer_test_fixture" "x" {{
  name          = "{name}"
  zone          = "{zone}"
  tags          = {{ env = "test" }}
  labels        = ["b", "a"]
  ports         = [443, 80]
  password      = "p4ssw0rd"
  token         = "{TOKEN}"
  token_version = 1

  rule {{
    port = 80
  }}
  rule {{
    port     = 53
    protocol = "udp"
  }}

  endpoint {{
    host = "h1"
  }}

  timeouts {{
    create = "2m"
  }}
}}
"#
    )
}

/// A workspace whose provider processes share `store` as the fixture store.
fn workspace_with_store(store: &PathBuf) -> TerraformWorkspace {
    let mut workspace = TerraformWorkspace::new();
    workspace.set_env("VNETPEER_FIXTURE_STORE", store);
    workspace
}

fn read_store(store: &PathBuf) -> serde_json::Map<String, Json> {
    let text = std::fs::read_to_string(store).unwrap_or_else(|_| "{}".to_owned());
    serde_json::from_str(&text).expect("the fixture store is JSON")
}

fn attribute<'a>(values: &'a Json, name: &str) -> &'a Json {
    &values[name]
}

#[test]
fn providers_schema_shows_the_provider_and_every_resource() {
    let workspace = TerraformWorkspace::new();
    workspace.write_config(PROVIDER_HEADER);
    let schema = workspace.providers_schema_json();
    let provider = &schema["provider_schemas"][PROVIDER_SOURCE];
    assert!(
        provider.is_object(),
        "no schema for {PROVIDER_SOURCE}: {schema}"
    );

    let arguments = &provider["provider"]["block"]["attributes"];
    for name in [
        "subscription_id",
        "tenant_id",
        "client_id",
        "use_cli",
        "aiven_api_url",
    ] {
        assert_eq!(arguments[name]["optional"], true, "{name}");
        assert_eq!(arguments[name]["description_kind"], "markdown", "{name}");
    }
    for secret in [
        "client_secret",
        "client_certificate_password",
        "oidc_token",
        "aiven_api_token",
    ] {
        assert_eq!(
            arguments[secret]["sensitive"], true,
            "{secret} must be sensitive"
        );
    }
    let endpoints = &provider["provider"]["block"]["block_types"]["endpoints"];
    assert_eq!(endpoints["nesting_mode"], "single");
    assert!(endpoints["block"]["attributes"]["authority_host"].is_object());

    let resources = provider["resource_schemas"]
        .as_object()
        .expect("resource schemas");
    for resource in vnetpeer::resources::resources() {
        assert!(
            resources.contains_key(resource.type_name()),
            "{} missing",
            resource.type_name()
        );
    }
    let data_sources = provider["data_source_schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for data_source in vnetpeer::resources::data_sources() {
        assert!(
            data_sources.contains_key(data_source.type_name()),
            "{} missing",
            data_source.type_name()
        );
    }

    let fixture = &resources["vnetpeer_test_fixture"]["block"];
    assert_eq!(fixture["attributes"]["token"]["write_only"], true);
    assert_eq!(fixture["attributes"]["id"]["computed"], true);
    assert_eq!(
        fixture["attributes"]["tags"]["type"],
        serde_json::json!(["map", "string"])
    );
    assert_eq!(fixture["block_types"]["rule"]["nesting_mode"], "list");
    assert_eq!(fixture["block_types"]["rule"]["max_items"], 4);
    assert_eq!(fixture["block_types"]["timeouts"]["nesting_mode"], "single");
}

/// Runs `terraform validate -json` on `config` and returns, for each expected summary fragment,
/// the line Terraform anchored the diagnostic to.
fn validate_error_lines(config: &str, fragments: &[&str]) -> Vec<u64> {
    let workspace = TerraformWorkspace::new();
    workspace.write_config(config);
    let (output, report) = workspace.validate();
    assert!(!output.success(), "validate should fail:\n{output}");
    assert_eq!(report["valid"], false);
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    fragments
        .iter()
        .map(|fragment| {
            let diagnostic = diagnostics
                .iter()
                .find(|d| d["summary"].as_str().is_some_and(|s| s.contains(fragment)))
                .unwrap_or_else(|| panic!("no diagnostic about {fragment}:\n{output}"));
            assert_eq!(diagnostic["severity"], "error");
            diagnostic["range"]["start"]["line"]
                .as_u64()
                .expect("a source range")
        })
        .collect()
}

fn line_of(config: &str, needle: &str) -> u64 {
    config
        .lines()
        .position(|line| line.contains(needle))
        .map(|index| index as u64 + 1)
        .unwrap_or_else(|| panic!("{needle} not in the configuration"))
}

#[test]
fn validate_reports_bad_arguments_at_their_attribute() {
    // Terraform anchors a diagnostic that has an attribute path to that argument's expression,
    // so the reported line proves the path was right.
    let provider = format!(
        r#"{}
provider "vnetpeer" {{
  environment = "mars"
  endpoints {{
    authority_host = "http://login.example.com"
  }}
}}

# terraform validate skips a provider block that no resource uses.
resource "vnetpeer_test_fixture" "x" {{
  name = "a"
}}
"#,
        PROVIDER_HEADER.replace("provider \"vnetpeer\" {}", "")
    );
    let lines = validate_error_lines(
        &provider,
        &[
            "Invalid environment: must be one of `public`, `usgovernment`, `china`",
            "Invalid endpoints.authority_host: must be an `https://` URL",
        ],
    );
    assert_eq!(
        lines,
        [
            line_of(&provider, "environment = \"mars\""),
            line_of(&provider, "authority_host =")
        ]
    );

    let resource = format!(
        r#"{PROVIDER_HEADER}
resource "vnetpeer_test_fixture" "x" {{
  name = "a"
  rule {{
    port     = 1
    protocol = "icmp"
  }}
  timeouts {{
    create = "ten minutes"
  }}
}}
"#
    );
    let lines = validate_error_lines(
        &resource,
        &[
            "Invalid rule[0].protocol: must be one of `tcp`, `udp`",
            "Invalid timeouts.create",
        ],
    );
    assert_eq!(
        lines,
        [
            line_of(&resource, "protocol = \"icmp\""),
            line_of(&resource, "create = \"ten minutes\"")
        ]
    );
}

#[test]
fn fixture_lifecycle_plan_apply_update_replace_import_refresh_destroy() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().join("fixtures.json");
    let workspace = workspace_with_store(&store);
    workspace.write_config(&fixture_config("one", "z1"));

    // Plan a create: computed attributes are "known after apply".
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "a create is planned:\n{plan}");
    assert!(plan.contains("will be created"), "{plan}");
    assert!(plan.contains("(known after apply)"), "{plan}");
    assert!(!plan.contains(TOKEN), "write-only values are not shown");

    workspace.apply();
    let created = workspace
        .state_show_json(FIXTURE)
        .expect("created in state");
    let id = attribute(&created, "id")
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(attribute(&created, "revision"), 1);
    assert_eq!(attribute(&created, "size"), 1, "default applied");
    assert_eq!(
        attribute(&created, "token"),
        &Json::Null,
        "write-only is null in state"
    );
    assert_eq!(
        attribute(&created, "ports"),
        &serde_json::json!([443, 80]),
        "list order kept"
    );
    assert_eq!(
        attribute(&created, "rule")[0]["protocol"],
        "tcp",
        "nested default"
    );
    assert_eq!(attribute(&created, "timeouts")["create"], "2m");
    assert!(
        !workspace.state_file_text().contains(TOKEN),
        "the token never lands in state"
    );
    assert_eq!(
        read_store(&store)[&id]["token_received"],
        true,
        "the provider saw the token"
    );

    // Nothing changed: an empty plan (computed values kept, I5).
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "re-plan after create must be empty:\n{plan}");

    // Update in place.
    workspace.write_config(&fixture_config("two", "z1"));
    let plan = workspace.plan();
    assert!(plan.contains("will be updated in-place"), "{plan}");
    workspace.apply();
    let updated = workspace.state_show_json(FIXTURE).unwrap();
    assert_eq!(attribute(&updated, "id"), id.as_str(), "same object");
    assert_eq!(attribute(&updated, "name"), "two");
    assert_eq!(attribute(&updated, "revision"), 2);
    assert_eq!(
        attribute(&updated, "created_at"),
        attribute(&created, "created_at")
    );
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "re-plan after update must be empty:\n{plan}");

    // A force-new change replaces.
    workspace.write_config(&fixture_config("two", "z2"));
    let plan = workspace.plan();
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(plan.contains("forces replacement"), "{plan}");
    workspace.apply();
    let replaced = workspace.state_show_json(FIXTURE).unwrap();
    let new_id = attribute(&replaced, "id").as_str().unwrap().to_owned();
    assert_ne!(new_id, id, "a new object");
    let objects = read_store(&store);
    assert!(
        !objects.contains_key(&id) && objects.contains_key(&new_id),
        "old object deleted"
    );

    // Import into a fresh state: equal to the created one (timeouts come from configuration only).
    let imported_workspace = workspace_with_store(&store);
    imported_workspace.write_config(&fixture_config("two", "z2"));
    imported_workspace.import(FIXTURE, &new_id);
    let imported = imported_workspace
        .state_show_json(FIXTURE)
        .expect("imported");
    let without_timeouts = |values: &Json| {
        let mut values = values.as_object().unwrap().clone();
        values.remove("timeouts");
        values
    };
    assert_eq!(without_timeouts(&imported), without_timeouts(&replaced));

    // Out-of-band deletion: refresh finds it gone and plans a create.
    let mut objects = read_store(&store);
    objects.remove(&new_id);
    std::fs::write(&store, serde_json::to_vec(&objects).unwrap()).unwrap();
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("will be created"), "{plan}");
    workspace.apply();
    assert_eq!(read_store(&store).len(), 1);

    // Destroy leaves nothing behind.
    workspace.destroy();
    assert!(read_store(&store).is_empty(), "destroy deletes the object");
    assert!(workspace.state_show_json(FIXTURE).is_none());
}

#[test]
fn failed_create_is_kept_as_tainted_and_replaced_next_time() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().join("fixtures.json");
    let workspace = workspace_with_store(&store);
    let config = |fail: bool| {
        format!(
            "{PROVIDER_HEADER}\nresource \"vnetpeer_test_fixture\" \"x\" {{\n  name = \"t\"\n  fail_create = {fail}\n}}\n"
        )
    };
    workspace.write_config(&config(true));
    let output = workspace.try_apply();
    assert!(!output.success());
    assert!(output.combined().contains("fail_create is set"), "{output}");
    let entry = workspace
        .state_resource(FIXTURE)
        .expect("the partial state is kept");
    assert_eq!(entry["tainted"], true, "{entry}");
    assert_eq!(read_store(&store).len(), 1);

    workspace.write_config(&config(false));
    let plan = workspace.plan();
    assert!(
        plan.contains("tainted") && plan.contains("must be replaced"),
        "{plan}"
    );
    workspace.apply();
    assert_eq!(
        read_store(&store).len(),
        1,
        "the tainted object was replaced"
    );
    workspace.destroy();
    assert!(read_store(&store).is_empty());
}

#[test]
fn unknown_provider_configuration_during_plan_is_accepted() {
    // The provider block depends on a value only known after apply
    // (docs/development/plugin-obligations.md, G4).
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().join("fixtures.json");
    let workspace = workspace_with_store(&store);
    workspace.write_config(&format!(
        r#"{REQUIRED_PROVIDERS}
resource "terraform_data" "url" {{
  input = "https://api.aiven.io"
}}

provider "vnetpeer" {{
  aiven_api_url = terraform_data.url.output
}}

resource "vnetpeer_test_fixture" "x" {{
  name = "depends-on-provider-config"
}}
"#,
    ));
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 2, "{plan}");
    workspace.apply();
    let (code, plan) = workspace.plan_detailed_exitcode();
    assert_eq!(code, 0, "{plan}");
    workspace.destroy();
    assert!(read_store(&store).is_empty());
}
