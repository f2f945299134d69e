//! The provider functions through the real `terraform`: the examples under
//! `examples/functions/` applied as written (their outputs are the values), then with bad input,
//! which must fail with the function's message, the argument it blames and the fix.
//!
//! ```text
//! cargo test -p vnetpeer-acceptance-tests --test acceptance functions::
//! ```

use vnetpeer_harness::binaries::workspace_root;
use vnetpeer_harness::terraform::{TerraformOutput, TerraformWorkspace};

/// A workspace holding the example of `function` (its `.tf` files).
fn example_workspace(function: &str) -> TerraformWorkspace {
    let workspace = TerraformWorkspace::new();
    let dir = workspace_root().join("examples/functions").join(function);
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "tf") {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            workspace.write_file(&name, &std::fs::read_to_string(&path).unwrap());
        }
    }
    workspace
}

fn outputs(workspace: &TerraformWorkspace) -> serde_json::Value {
    let outputs = workspace.output_json();
    let mut values = serde_json::Map::new();
    for (name, output) in outputs.as_object().unwrap() {
        values.insert(name.clone(), output["value"].clone());
    }
    serde_json::Value::Object(values)
}

/// `terraform plan` with `-var` arguments, which must fail.
fn failing_plan(workspace: &TerraformWorkspace, vars: &[&str]) -> TerraformOutput {
    let mut args = vec!["plan", "-input=false", "-no-color"];
    for var in vars {
        args.push("-var");
        args.push(var);
    }
    let output = workspace.run(&args);
    assert_eq!(output.status, 1, "the plan must fail:\n{output}");
    output
}

/// Terraform wraps error text at 76 columns and draws a box: compare on single spaces.
fn flat(output: &TerraformOutput) -> String {
    output
        .combined()
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn parse_vnet_id_gives_the_parts_and_explains_a_wrong_id() {
    let workspace = example_workspace("parse_vnet_id");
    workspace.apply();
    assert_eq!(
        outputs(&workspace),
        serde_json::json!({
            "subscription_id": "11111111-2222-3333-4444-555555555555",
            "resource_group_name": "rg-network",
            "virtual_network_name": "vnet-hub",
        })
    );

    // ARM segment names are case-insensitive; the subscription comes back lower-case.
    let output = workspace.run_ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var",
        "vnet_id=/SUBSCRIPTIONS/AAAAAAAA-2222-3333-4444-555555555555/resourcegroups/RG/providers/microsoft.network/virtualnetworks/Hub",
    ]);
    assert!(output.success());
    let values = outputs(&workspace);
    assert_eq!(
        values["subscription_id"],
        "aaaaaaaa-2222-3333-4444-555555555555"
    );
    assert_eq!(values["resource_group_name"], "RG");
    assert_eq!(values["virtual_network_name"], "Hub");

    let subnet = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub/subnets/default";
    let failed = failing_plan(&workspace, &[&format!("vnet_id={subnet}")]);
    let text = flat(&failed);
    assert!(
        text.contains("Invalid value for \"id\" parameter")
            || text.contains("Error in function call"),
        "{failed}"
    );
    assert!(text.contains("extra segments"), "{failed}");
    assert!(
        text.contains("expected /subscriptions/"),
        "the error shows the expected form:\n{failed}"
    );
}

#[test]
fn cidrs_overlap_validates_a_variable_and_names_the_bad_element() {
    let workspace = example_workspace("cidrs_overlap");
    workspace.apply();
    assert_eq!(outputs(&workspace)["overlaps_the_vnet"], false);

    // The example's validation refuses an overlapping range.
    let failed = failing_plan(&workspace, &["aiven_vpc_cidr=10.0.128.0/24"]);
    assert!(
        flat(&failed).contains("aiven_vpc_cidr must not overlap the VNet's address space."),
        "{failed}"
    );

    // IPv6 and IPv4 never overlap; several ranges on one side are all checked.
    workspace.run_ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var",
        r#"vnet_address_space=["fd00::/8","192.168.0.0/24"]"#,
        "-var",
        "aiven_vpc_cidr=10.0.0.0/24",
    ]);
    assert_eq!(outputs(&workspace)["overlaps_the_vnet"], false);

    // A range with host bits set is an error naming the argument and the element.
    let failed = failing_plan(
        &workspace,
        &[r#"vnet_address_space=["10.0.0.0/16","10.1.0.1/16"]"#],
    );
    let text = flat(&failed);
    assert!(text.contains("a[1]"), "{failed}");
    assert!(text.contains("host bits set"), "{failed}");
    assert!(
        text.contains("\"10.0.0.0/16\""),
        "the fix shows the form:\n{failed}"
    );
}
