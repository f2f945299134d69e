//! Unit tests of the functions' values and errors (the acceptance tests call them through
//! `terraform`).

use super::cidrs_overlap::CidrsOverlap;
use super::parse_vnet_id::ParseVnetId;
use crate::framework::Function;
use crate::value::Value;

fn strings(items: &[&str]) -> Value {
    Value::List(
        items
            .iter()
            .map(|s| Value::String((*s).to_owned()))
            .collect(),
    )
}

fn overlap(a: &[&str], b: &[&str]) -> Result<Value, crate::framework::FunctionError> {
    CidrsOverlap.call(&[strings(a), strings(b)])
}

#[test]
fn parse_vnet_id_returns_the_parts() {
    let id = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-net/\
              providers/Microsoft.Network/virtualNetworks/vnet-hub";
    let value = ParseVnetId.call(&[Value::String(id.to_owned())]).unwrap();
    assert_eq!(
        value.get("subscription_id"),
        Some(&Value::String(
            "11111111-2222-3333-4444-555555555555".into()
        ))
    );
    assert_eq!(
        value.get("resource_group_name"),
        Some(&Value::String("rg-net".into()))
    );
    assert_eq!(
        value.get("virtual_network_name"),
        Some(&Value::String("vnet-hub".into()))
    );
    assert!(
        value
            .conforms_to(&ParseVnetId.signature().return_type)
            .is_ok()
    );
}

#[test]
fn parse_vnet_id_rejects_other_ids_with_the_expected_form() {
    for bad in [
        "",
        "vnet-hub",
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/\
         Microsoft.Network/networkSecurityGroups/nsg",
        "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Network/\
         virtualNetworks/v",
    ] {
        let error = ParseVnetId
            .call(&[Value::String(bad.to_owned())])
            .unwrap_err();
        assert_eq!(error.argument, Some(0), "{bad}");
        assert!(error.text.contains("expected"), "{bad}: {}", error.text);
    }
}

#[test]
fn cidrs_overlap_values() {
    let cases: &[(&[&str], &[&str], bool)] = &[
        (&["10.0.0.0/16"], &["10.0.5.0/24"], true),
        (&["10.0.5.0/24"], &["10.0.0.0/16"], true),
        (&["10.0.0.0/16"], &["10.1.0.0/16"], false),
        (
            &["10.0.0.0/16", "192.168.0.0/24"],
            &["192.168.0.128/25"],
            true,
        ),
        (&["0.0.0.0/0"], &["172.16.0.0/12"], true),
        (&["10.0.0.0/8"], &["fd00::/8"], false),
        (&["fd00::/8"], &["fd12:3456::/32"], true),
        (&[], &["10.0.0.0/8"], false),
    ];
    for (a, b, expected) in cases {
        assert_eq!(
            overlap(a, b).unwrap(),
            Value::Bool(*expected),
            "{a:?} {b:?}"
        );
    }
}

#[test]
fn cidrs_overlap_names_the_bad_element_and_argument() {
    let error = overlap(&["10.0.0.0/16"], &["10.0.0.0/8", "10.0.0.1/24"]).unwrap_err();
    assert_eq!(error.argument, Some(1));
    assert!(error.text.starts_with("b[1]:"), "{}", error.text);
    assert!(error.text.contains("host bits"), "{}", error.text);
    let error = overlap(&["not a cidr"], &[]).unwrap_err();
    assert_eq!(error.argument, Some(0));
    assert!(error.text.contains("a[0]"), "{}", error.text);
}
