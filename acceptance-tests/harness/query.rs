//! `terraform query` (Terraform 1.14+): list resources find existing objects, and
//! `-generate-config-out` writes a `resource` block and an `import` block for each. Also the
//! machine-readable (`-json`) plan and apply, whose `change_summary` message says how many
//! resources are imported, added, changed and destroyed.
//!
//! ```no_run
//! use vnetpeer_harness::query::supports_query;
//! use vnetpeer_harness::terraform::TerraformWorkspace;
//!
//! if !supports_query() {
//!     println!("skipped: terraform query needs Terraform 1.14 or later");
//!     return;
//! }
//! let workspace = TerraformWorkspace::new();
//! workspace.write_file("query.tfquery.hcl", "list \"vnetpeer_aad_app\" \"all\" { provider = vnetpeer }");
//! workspace.query_generate_config("generated.tf");
//! let summary = workspace.apply_json();
//! assert_eq!(summary.import, 0);
//! ```

use serde_json::Value;

use crate::binaries::terraform_version;
use crate::terraform::{TerraformOutput, TerraformWorkspace};

/// The first Terraform version with `terraform query` and list resources.
pub const QUERY_SINCE: (u32, u32) = (1, 14);

/// Whether the Terraform chosen by `VNETPEER_TERRAFORM` (or the one on `PATH`) has
/// `terraform query`.
pub fn supports_query() -> bool {
    terraform_version() >= QUERY_SINCE
}

/// The reason a query test prints when it skips.
pub fn query_skip_reason() -> String {
    let (major, minor) = terraform_version();
    format!(
        "skipped: terraform query needs Terraform {}.{} or later; this is {major}.{minor}",
        QUERY_SINCE.0, QUERY_SINCE.1
    )
}

/// The `change_summary` message of a `-json` plan or apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChangeSummary {
    pub import: u64,
    pub add: u64,
    pub change: u64,
    pub remove: u64,
}

/// What a `-json` command printed: one JSON message per line.
pub fn json_messages(output: &TerraformOutput) -> Vec<Value> {
    output
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect()
}

/// The last `change_summary` among `messages`, if any.
pub fn change_summary(messages: &[Value]) -> Option<ChangeSummary> {
    messages
        .iter()
        .rev()
        .find(|message| message["type"] == "change_summary")
        .map(|message| {
            let count = |name: &str| message["changes"][name].as_u64().unwrap_or_default();
            ChangeSummary {
                import: count("import"),
                add: count("add"),
                change: count("change"),
                remove: count("remove"),
            }
        })
}

impl TerraformWorkspace {
    /// `terraform query <args>` (with `-no-color`), success or not.
    pub fn query(&self, args: &[&str]) -> TerraformOutput {
        let mut all = vec!["query", "-no-color"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// `terraform query -json`, which must succeed: the `list_resource_found` messages, one per
    /// object found.
    #[track_caller]
    pub fn query_json(&self) -> Vec<Value> {
        let output = self.run_ok(&["query", "-no-color", "-json"]);
        json_messages(&output)
            .into_iter()
            .filter(|message| message["type"] == "list_resource_found")
            .collect()
    }

    /// `terraform query -generate-config-out=<file>`, which must succeed; returns the text of
    /// the file it wrote (resource blocks plus import blocks).
    #[track_caller]
    pub fn query_generate_config(&self, file: &str) -> String {
        let out = format!("-generate-config-out={file}");
        self.run_ok(&["query", "-no-color", &out]);
        let path = self.path().join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("terraform query wrote no {}: {error}", path.display()))
    }

    /// `terraform plan -json`, which must succeed: its change summary.
    #[track_caller]
    pub fn plan_json(&self) -> ChangeSummary {
        let output = self.run_ok(&["plan", "-json", "-input=false", "-no-color"]);
        change_summary(&json_messages(&output))
            .unwrap_or_else(|| panic!("terraform plan -json printed no change summary:\n{output}"))
    }

    /// `terraform apply -json -auto-approve`, which must succeed: its change summary.
    #[track_caller]
    pub fn apply_json(&self) -> ChangeSummary {
        let output = self.run_ok(&[
            "apply",
            "-json",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        change_summary(&json_messages(&output))
            .unwrap_or_else(|| panic!("terraform apply -json printed no change summary:\n{output}"))
    }
}
