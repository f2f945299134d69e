//! The examples a registry reader copies (`examples/`, rendered into `docs/`) are valid
//! configurations for the provider under test: `terraform validate` accepts every example
//! directory, through `dev_overrides` and without `terraform init`
//! (docs/development/plugin-obligations.md, N2), every documented type has its examples, import
//! examples agree with each other, the files are `terraform fmt`-clean, and the runbook
//! walk-through of the provider page applies against the emulator and destroys cleanly.
//!
//! An example directory that uses a resource type the provider does not register yet is reported
//! and skipped, so examples written from the design can land before their resource. Terraform
//! before 1.12 rejects `identity` in an import block, so there the `import-by-identity.tf` files
//! are left out of the validated copy (and said so); on 1.12 and later they are validated too.
//!
//! Terraform validates a `provider` block only when something in the configuration uses the
//! provider, so a directory without resources (the provider examples) is validated as a copy with
//! one probe data source or resource added.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use vnetpeer_emulator::{Emulator, Knobs};
use vnetpeer_harness::binaries::{provider_binary, terraform_version, workspace_root};
use vnetpeer_harness::terraform::{REQUIRED_PROVIDERS, TerraformWorkspace};

const PROVIDER_ADDRESS: &str = "registry.terraform.io/vnetpeer/vnetpeer";
/// The import example by resource identity, which Terraform reads from 1.12 on.
const IMPORT_BY_IDENTITY: &str = "import-by-identity.tf";
/// The import example by import id.
const IMPORT_BY_ID: &str = "import-by-string-id.tf";
/// Types registered only by test builds; they have no examples.
const TEST_ONLY_TYPE_PREFIX: &str = "vnetpeer_test_";

/// A CLI config whose `dev_overrides` run the provider under test.
struct DevOverrides {
    scratch: tempfile::TempDir,
    cli_config: PathBuf,
}

impl DevOverrides {
    fn new() -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let plugin_dir = scratch.path().join("plugins");
        std::fs::create_dir(&plugin_dir).unwrap();
        std::os::unix::fs::symlink(
            provider_binary(),
            plugin_dir.join("terraform-provider-vnetpeer"),
        )
        .unwrap();
        let cli_config = scratch.path().join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n\
                 disable_checkpoint = true\n",
                plugin_dir.display()
            ),
        )
        .unwrap();
        DevOverrides {
            scratch,
            cli_config,
        }
    }

    /// Runs terraform in `dir`, keeping its working data (`.terraform`) out of the repository.
    fn terraform(&self, dir: &Path, data_dir_name: &str, args: &[&str]) -> Output {
        vnetpeer_harness::binaries::terraform_command()
            .args(args)
            .arg("-no-color")
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env(
                "TF_DATA_DIR",
                self.scratch.path().join("data").join(data_dir_name),
            )
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .output()
            .expect("terraform is on PATH")
    }

    /// The resource and data source types the provider registers, test-only types included.
    fn registered_types(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let [resources, data_sources] =
            self.registered(["resource_schemas", "data_source_schemas"]);
        (resources, data_sources)
    }

    /// The ephemeral resource types and function names the provider registers.
    fn registered_ephemeral_types_and_functions(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let [ephemeral, functions] = self.registered(["ephemeral_resource_schemas", "functions"]);
        (ephemeral, functions)
    }

    /// The names under each of `keys` in the provider's `terraform providers schema -json`.
    fn registered<const N: usize>(&self, keys: [&str; N]) -> [BTreeSet<String>; N] {
        let work_dir = self.scratch.path().join("schema");
        std::fs::create_dir_all(&work_dir).unwrap();
        std::fs::write(work_dir.join("main.tf"), REQUIRED_PROVIDERS).unwrap();
        let output = self.terraform(&work_dir, "schema", &["providers", "schema", "-json"]);
        assert!(output.status.success(), "{}", text(&output));
        let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let provider = &schema["provider_schemas"][PROVIDER_ADDRESS];
        keys.map(|key| {
            provider[key]
                .as_object()
                .map(|types| types.keys().cloned().collect())
                .unwrap_or_default()
        })
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

/// Every directory under `examples/` that holds `.tf` files: each is a root module.
fn example_directories() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let mut has_tf = false;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && !name.starts_with('.') {
                walk(&path, found);
            } else if name.ends_with(".tf") {
                has_tf = true;
            }
        }
        if has_tf {
            found.push(dir.to_path_buf());
        }
    }
    let mut found = Vec::new();
    walk(&examples_dir(), &mut found);
    found
}

/// `vnetpeer_*` types a directory declares as `resource` or `data` blocks, including those of
/// the local modules it calls (`source = "./…"` or `"../…"`).
fn declared_types(dir: &Path) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for line in tf_lines(dir) {
        let rest = line
            .strip_prefix("resource \"")
            .or_else(|| line.strip_prefix("data \""));
        if let Some(name) = rest.and_then(|rest| rest.split('"').next())
            && name.starts_with("vnetpeer_")
        {
            types.insert(name.to_string());
        }
        if let Some(source) = local_module_source(&line) {
            types.extend(declared_types(&dir.join(source)));
        }
    }
    types
}

/// Whether a directory calls modules: such a directory is validated in place, where its relative
/// module sources resolve.
fn calls_modules(dir: &Path) -> bool {
    tf_lines(dir)
        .iter()
        .any(|line| line.starts_with("module \""))
}

/// The `source` of a local module call on this line, if it is one.
fn local_module_source(line: &str) -> Option<&str> {
    let (key, value) = line.split_once('=')?;
    let value = value.trim().trim_matches('"');
    (key.trim() == "source" && (value.starts_with("./") || value.starts_with("../")))
        .then_some(value)
}

/// The trimmed lines of every `.tf` file in `dir`.
fn tf_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "tf") {
            let text = std::fs::read_to_string(&path).unwrap();
            lines.extend(text.lines().map(|line| line.trim().to_string()));
        }
    }
    lines
}

/// A copy of the `.tf` files of `dir` in `destination`, plus one block that uses the provider, so
/// that `terraform validate` checks the `provider` block too.
fn copy_with_probe(dir: &Path, destination: &Path, registered: &BTreeSet<&String>) -> PathBuf {
    std::fs::create_dir_all(destination).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "tf") {
            std::fs::copy(&path, destination.join(path.file_name().unwrap())).unwrap();
        }
    }
    let probe = if registered
        .iter()
        .any(|name| *name == "vnetpeer_client_config")
    {
        "data \"vnetpeer_client_config\" \"validation_probe\" {}\n"
    } else {
        // Only test builds register the fixture; `cargo xtask test` runs such a build.
        assert!(
            registered
                .iter()
                .any(|name| *name == "vnetpeer_test_fixture"),
            "the provider under test registers neither vnetpeer_client_config nor \
             vnetpeer_test_fixture: build it with `--features test-fixtures` (cargo xtask test does)"
        );
        "resource \"vnetpeer_test_fixture\" \"validation_probe\" {\n  name = \"probe\"\n}\n"
    };
    std::fs::write(destination.join("validation_probe.tf"), probe).unwrap();
    destination.to_path_buf()
}

/// A copy of the `.tf` files of `dir` in `destination`, without `left_out`.
fn copy_tf_files_except(dir: &Path, destination: &Path, left_out: &str) -> PathBuf {
    std::fs::create_dir_all(destination).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if path.extension().is_some_and(|extension| extension == "tf") && name != left_out {
            std::fs::copy(&path, destination.join(name)).unwrap();
        }
    }
    destination.to_path_buf()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_example_directory_passes_terraform_validate() {
    let harness = DevOverrides::new();
    let (resources, data_sources) = harness.registered_types();
    let registered: BTreeSet<&String> = resources.iter().chain(&data_sources).collect();

    let mut validated = Vec::new();
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for (index, dir) in example_directories().into_iter().enumerate() {
        let missing: Vec<String> = declared_types(&dir)
            .into_iter()
            .filter(|name| !registered.contains(name))
            .collect();
        if !missing.is_empty() {
            skipped.push(format!(
                "{} (not registered yet: {})",
                relative(&dir),
                missing.join(", ")
            ));
            continue;
        }
        let data_dir_name = format!("example-{index}");
        let uses_provider = !declared_types(&dir).is_empty() || calls_modules(&dir);
        let probed_copy = (!uses_provider).then(|| {
            copy_with_probe(
                &dir,
                &harness.scratch.path().join(&data_dir_name),
                &registered,
            )
        });
        // A resource directory holds one import example by id and one by identity; they import
        // the same address, so each is validated without the other.
        let work_dirs: Vec<(String, PathBuf)> = if dir.join(IMPORT_BY_IDENTITY).is_file() {
            let scratch = harness.scratch.path();
            let mut variants = vec![(
                format!("{} without {IMPORT_BY_IDENTITY}", relative(&dir)),
                copy_tf_files_except(&dir, &scratch.join(&data_dir_name), IMPORT_BY_IDENTITY),
            )];
            if terraform_version() >= (1, 12) {
                variants.push((
                    format!("{} without {IMPORT_BY_ID}", relative(&dir)),
                    copy_tf_files_except(
                        &dir,
                        &scratch.join(format!("{data_dir_name}-identity")),
                        IMPORT_BY_ID,
                    ),
                ));
            } else {
                skipped.push(format!(
                    "{}/{IMPORT_BY_IDENTITY} (Terraform {:?} predates import by identity)",
                    relative(&dir),
                    terraform_version()
                ));
            }
            variants
        } else {
            vec![(relative(&dir), probed_copy.unwrap_or_else(|| dir.clone()))]
        };
        for (name, work_dir) in work_dirs {
            // Local modules must be installed first; `terraform get` installs modules, never
            // providers.
            let get = harness.terraform(&work_dir, &data_dir_name, &["get"]);
            if !get.status.success() {
                failures.push(format!("{name}: terraform get failed:\n{}", text(&get)));
                continue;
            }
            let validate = harness.terraform(&work_dir, &data_dir_name, &["validate"]);
            if validate.status.success() {
                validated.push(name);
            } else {
                failures.push(format!(
                    "{name}: terraform validate failed:\n{}",
                    text(&validate)
                ));
            }
        }
    }
    eprintln!("validated: {validated:#?}");
    if !skipped.is_empty() {
        eprintln!("skipped (type not registered yet, or Terraform too old): {skipped:#?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The provider's own examples never depend on a resource type.
    assert!(
        validated.iter().any(|dir| dir == "examples/provider"),
        "examples/provider was not validated: {validated:?} {skipped:?}"
    );
}

#[test]
fn every_registered_type_has_its_registry_examples() {
    let harness = DevOverrides::new();
    let (resources, data_sources) = harness.registered_types();
    let mut missing = Vec::new();
    let documented = |name: &&String| !name.starts_with(TEST_ONLY_TYPE_PREFIX);
    for resource in resources.iter().filter(documented) {
        for file in ["resource.tf", "import.sh"] {
            let path = examples_dir().join("resources").join(resource).join(file);
            if !path.is_file() {
                missing.push(relative(&path));
            }
        }
    }
    for data_source in data_sources.iter().filter(documented) {
        let path = examples_dir()
            .join("data-sources")
            .join(data_source)
            .join("data-source.tf");
        if !path.is_file() {
            missing.push(relative(&path));
        }
    }
    let (ephemeral_resources, functions) = harness.registered_ephemeral_types_and_functions();
    assert!(!ephemeral_resources.is_empty() && !functions.is_empty());
    for ephemeral in ephemeral_resources.iter().filter(documented) {
        let path = examples_dir()
            .join("ephemeral-resources")
            .join(ephemeral)
            .join("ephemeral-resource.tf");
        if !path.is_file() {
            missing.push(relative(&path));
        }
    }
    for function in &functions {
        let path = examples_dir()
            .join("functions")
            .join(function)
            .join("function.tf");
        if !path.is_file() {
            missing.push(relative(&path));
        }
    }
    assert!(
        missing.is_empty(),
        "examples missing for registered types: {missing:#?}"
    );
}

#[test]
fn import_examples_name_the_same_address_and_id() {
    let resources_dir = examples_dir().join("resources");
    let mut checked = 0;
    for entry in std::fs::read_dir(&resources_dir).unwrap() {
        let dir = entry.unwrap().path();
        let command_file = dir.join("import.sh");
        let block_file = dir.join(IMPORT_BY_ID);
        if !command_file.is_file() || !block_file.is_file() {
            continue;
        }
        let command = std::fs::read_to_string(&command_file).unwrap();
        let command_line = command
            .lines()
            .find(|line| line.starts_with("terraform import "))
            .unwrap_or_else(|| {
                panic!("{} has no `terraform import` line", relative(&command_file))
            });
        let words: Vec<&str> = command_line.split_whitespace().collect();
        assert_eq!(
            words.len(),
            4,
            "{}: `terraform import <address> <id>`",
            relative(&command_file)
        );

        let block = std::fs::read_to_string(&block_file).unwrap();
        let quoted_value = |key: &str| -> String {
            block
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once('=')?;
                    (name.trim() == key).then(|| value.trim().trim_matches('"').to_string())
                })
                .unwrap_or_else(|| panic!("{} has no `{key} =`", relative(&block_file)))
        };
        assert_eq!(
            quoted_value("to"),
            words[2],
            "{}: import addresses differ",
            relative(&dir)
        );
        assert_eq!(
            quoted_value("id"),
            words[3],
            "{}: import ids differ",
            relative(&dir)
        );
        let identity_file = dir.join(IMPORT_BY_IDENTITY);
        if identity_file.is_file() {
            let (to, identity) = identity_import_block(&identity_file);
            assert_eq!(to, words[2], "{}: import addresses differ", relative(&dir));
            assert!(
                !identity.is_empty(),
                "{}: empty identity",
                relative(&identity_file)
            );
            // Both examples name the same object: each identity part is a part of the id.
            for (attribute, value) in &identity {
                assert!(
                    words[3].contains(value.as_str()),
                    "{}: identity `{attribute} = \"{value}\"` is not part of the id {}",
                    relative(&identity_file),
                    words[3]
                );
            }
        }
        let type_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            words[2].starts_with(&format!("{type_name}.")),
            "{}: imports into {} instead of a {type_name}",
            relative(&command_file),
            words[2]
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no import examples found under {}",
        relative(&resources_dir)
    );
}

/// The `to` address and the `identity = { … }` attributes of an import-by-identity example.
fn identity_import_block(path: &Path) -> (String, Vec<(String, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut to = String::new();
    let mut identity = Vec::new();
    let mut in_identity = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("identity") && line.ends_with('{') {
            in_identity = true;
        } else if in_identity && line == "}" {
            in_identity = false;
        } else if let Some((name, value)) = line.split_once('=') {
            let value = value.trim().trim_matches('"').to_string();
            if in_identity {
                identity.push((name.trim().to_string(), value));
            } else if name.trim() == "to" {
                to = value;
            }
        }
    }
    (to, identity)
}

#[test]
fn examples_are_terraform_fmt_clean() {
    let output = vnetpeer_harness::binaries::terraform_command()
        .args(["fmt", "-check", "-recursive", "-diff", "-no-color"])
        .arg(examples_dir())
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform is on PATH");
    assert!(
        output.status.success(),
        "run `terraform fmt -recursive examples`:\n{}",
        text(&output)
    );
}

/// Whether `configuration` declares a type the provider does not register yet (said on
/// stderr): a test of it is skipped until then.
fn skipped_until_registered(configuration: &Path) -> bool {
    let (resources, data_sources) = DevOverrides::new().registered_types();
    let missing: Vec<String> = declared_types(configuration)
        .into_iter()
        .filter(|name| !resources.contains(name) && !data_sources.contains(name))
        .collect();
    if !missing.is_empty() {
        eprintln!("skipped until these types are registered: {missing:?}");
    }
    !missing.is_empty()
}

/// The walk-through on the provider page, applied as a user would: against the emulator, with
/// the variables `vnetpeer-sandbox` exports, then planned again (nothing to do) and destroyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runbook_example_applies_against_the_emulator_and_destroys_cleanly() {
    let runbook = examples_dir().join("provider/runbook");
    if skipped_until_registered(&runbook) {
        return;
    }

    let emulator = Emulator::start(Knobs::test()).await;
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    for entry in std::fs::read_dir(&runbook).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "tf") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            workspace.write_file(&name, &std::fs::read_to_string(&path).unwrap());
        }
    }
    let seed = emulator.seed().clone();
    workspace.set_env("TF_VAR_customer_vnet_id", &seed.customer_vnet_id);
    workspace.set_env("TF_VAR_aiven_project", &seed.aiven_project);
    workspace.set_env("TF_VAR_aiven_cloud_name", &seed.aiven_cloud_name);

    // Terraform runs block; the emulator keeps serving on the runtime's other worker.
    let workspace = tokio::task::spawn_blocking(move || {
        workspace.apply();
        assert_eq!(
            workspace.output_json()["peering_state"]["value"],
            serde_json::json!("Connected")
        );
        let (status, plan) = workspace.plan_detailed_exitcode();
        assert_eq!(status, 0, "a second plan wants changes:\n{plan}");
        workspace.destroy();
        workspace
    })
    .await
    .unwrap();

    let state = workspace.show_json();
    assert!(
        state["values"]["root_module"]["resources"].is_null(),
        "resources left in state after destroy: {state}"
    );
    assert_eq!(
        emulator.violations(),
        Vec::new(),
        "requests the real services would reject"
    );
    workspace.assert_no_secret_leaks(&emulator, &[]);
}

/// What the "testing modules offline" guide tells module authors to do: `terraform test` on the
/// walk-through configuration with its `tests/` (one suite against the emulator, one mocked),
/// with the settings `vnetpeer-sandbox` exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_test_passes_for_the_runbook_against_the_emulator() {
    terraform_test_passes(
        "provider/runbook",
        2,
        &["customer_vnet_id", "aiven_project", "aiven_cloud_name"],
    )
    .await;
}

/// The module's own `tests/` suite, as its authors run it in CI against `vnetpeer-sandbox`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_test_passes_for_the_module_against_the_emulator() {
    terraform_test_passes(
        "modules/aiven-vnet-peering",
        1,
        &["vnet_id", "aiven_project", "aiven_cloud_name"],
    )
    .await;
}

/// Copies the configuration in `examples/<relative>` and its `tests/` into a workspace wired to a
/// fresh emulator, sets the seeded values of `variables` (the customer VNet id, the Aiven project
/// and cloud) as `TF_VAR_*`, runs `terraform test`, and checks that every suite passed.
async fn terraform_test_passes(relative: &str, min_suites: usize, variables: &[&str]) {
    let configuration = examples_dir().join(relative);
    if skipped_until_registered(&configuration) {
        return;
    }

    let emulator = Emulator::start(Knobs::test()).await;
    let mut workspace = TerraformWorkspace::for_emulator(&emulator);
    std::fs::create_dir(workspace.path().join("tests")).unwrap();
    let mut test_files = Vec::new();
    for dir in [configuration.clone(), configuration.join("tests")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let relative = path
                .strip_prefix(&configuration)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".tftest.hcl") {
                test_files.push(relative.clone());
            } else if !name.ends_with(".tf") {
                continue;
            }
            workspace.write_file(&relative, &std::fs::read_to_string(&path).unwrap());
        }
    }
    assert!(
        test_files.len() >= min_suites,
        "expected at least {min_suites} test suites: {test_files:?}"
    );
    let seed = emulator.seed().clone();
    for variable in variables {
        let value = match *variable {
            "customer_vnet_id" | "vnet_id" => &seed.customer_vnet_id,
            "aiven_project" => &seed.aiven_project,
            "aiven_cloud_name" => &seed.aiven_cloud_name,
            other => panic!("no seeded value for variable {other}"),
        };
        workspace.set_env(format!("TF_VAR_{variable}"), value);
    }

    let workspace = tokio::task::spawn_blocking(move || {
        let output = workspace.run(&["test", "-no-color"]);
        (workspace, output)
    })
    .await
    .unwrap();
    let (workspace, output) = workspace;
    assert!(output.success(), "terraform test failed:\n{output}");
    for file in &test_files {
        assert!(
            output.stdout.contains(&format!("{file}... pass")),
            "{file} did not pass:\n{output}"
        );
    }
    assert_eq!(
        emulator.violations(),
        Vec::new(),
        "requests the real services would reject"
    );
    workspace.assert_no_secret_leaks(&emulator, &[]);
}
