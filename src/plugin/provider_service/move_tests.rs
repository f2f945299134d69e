//! MoveResourceState from the peer providers' resource types, with source states in the form
//! those providers write them (attribute sets of azurerm 4.x, azuread 3.x and Aiven 4.x).
//!
//! Terraform needs the source provider installed to plan a `moved` block across providers (it
//! checks that every provider of the state is available before it plans), and no registry can
//! be reached here, so these protocol tests stand in for an end-to-end run: each checks the
//! target state and identity Terraform would store, and the errors for what cannot move.

use serde_json::json;
use tonic::Request;

use super::*;
use crate::resources::VnetpeerProvider;
use crate::value::decode_msgpack;

const SUBSCRIPTION: &str = "c1000000-0000-4000-8000-000000000002";
const VNET: &str = "/subscriptions/c1000000-0000-4000-8000-000000000002/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App";
const APP_OBJECT_ID: &str = "a1b2c3d4-0000-4000-8000-00000000000a";
const SP_OBJECT_ID: &str = "a1b2c3d4-0000-4000-8000-00000000000b";
const ROLE_GUID: &str = "5f1c7a0e-0000-4000-8000-00000000000c";
const ASSIGNMENT_GUID: &str = "5f1c7a0e-0000-4000-8000-00000000000d";
const PROJECT_VPC_ID: &str = "99999999-9999-4999-8999-999999999999";

struct Moved {
    state: Value,
    identity: Value,
}

async fn move_state(
    source_provider: &str,
    source_type: &str,
    state: serde_json::Value,
    target_type: &str,
) -> Result<Moved, Vec<tfplugin6::Diagnostic>> {
    let service = ProviderService::new(VnetpeerProvider);
    let response = service
        .move_resource_state(Request::new(tfplugin6::move_resource_state::Request {
            source_provider_address: source_provider.into(),
            source_type_name: source_type.into(),
            source_schema_version: 0,
            source_state: Some(tfplugin6::RawState {
                json: serde_json::to_vec(&state).unwrap(),
                flatmap: Default::default(),
            }),
            target_type_name: target_type.into(),
            source_private: Vec::new(),
            source_identity: None,
            source_identity_schema_version: 0,
        }))
        .await
        .expect("no gRPC error")
        .into_inner();
    if !response.diagnostics.is_empty() {
        assert!(response.target_state.is_none());
        return Err(response.diagnostics);
    }
    let server = service.server();
    let state = decode_msgpack(
        server.resource_type(target_type).unwrap(),
        &response.target_state.expect("a target state").msgpack,
    )
    .unwrap();
    let identity = decode_msgpack(
        server.identity_type(target_type).unwrap(),
        &response
            .target_identity
            .and_then(|identity| identity.identity_data)
            .expect("a target identity")
            .msgpack,
    )
    .unwrap();
    Ok(Moved { state, identity })
}

fn strings<const N: usize>(pairs: [(&str, &str); N]) -> Value {
    Value::object(pairs.map(|(name, value)| (name, Value::string(value))))
}

#[tokio::test]
async fn an_azurerm_virtual_network_peering_moves_to_the_cross_tenant_peering() {
    let peering_id = format!("{VNET}/virtualNetworkPeerings/to-aiven");
    let moved = move_state(
        "registry.terraform.io/hashicorp/azurerm",
        "azurerm_virtual_network_peering",
        json!({
            "allow_forwarded_traffic": false,
            "allow_gateway_transit": false,
            "allow_virtual_network_access": true,
            "id": peering_id,
            "local_subnet_names": null,
            "name": "to-aiven",
            "only_ipv6_peering_enabled": false,
            "peer_complete_virtual_networks_enabled": true,
            "remote_subnet_names": null,
            "remote_virtual_network_id": "/subscriptions/a0000000-0000-4000-8000-000000000001/resourceGroups/aiven/providers/Microsoft.Network/virtualNetworks/aiven-vnet",
            "resource_group_name": "rg-Workload",
            "timeouts": null,
            "triggers": null,
            "use_remote_gateways": false,
            "virtual_network_name": "vnet-App"
        }),
        "vnetpeer_cross_tenant_vnet_peering",
    )
    .await
    .unwrap();
    assert_eq!(moved.state.get("id"), Some(&Value::string(&peering_id)));
    assert_eq!(moved.state.get("vnet_id"), Some(&Value::string(VNET)));
    assert_eq!(moved.state.get("name"), Some(&Value::string("to-aiven")));
    assert_eq!(
        moved.identity,
        strings([
            ("subscription_id", SUBSCRIPTION),
            ("resource_group_name", "rg-Workload"),
            ("virtual_network_name", "vnet-App"),
            ("name", "to-aiven"),
        ])
    );
}

#[tokio::test]
async fn an_azurerm_role_definition_moves_to_the_custom_role() {
    let scope = format!("/subscriptions/{SUBSCRIPTION}");
    let resource_id =
        format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_GUID}");
    let moved = move_state(
        "registry.terraform.io/hashicorp/azurerm",
        "azurerm_role_definition",
        json!({
            "assignable_scopes": [scope],
            "description": "Lets Aiven peer with our VNet, nothing more.",
            "id": format!("{resource_id}|{scope}"),
            "name": "Aiven VNet peering",
            "permissions": [{
                "actions": ["Microsoft.Network/virtualNetworks/peer/action"],
                "data_actions": [],
                "not_actions": [],
                "not_data_actions": []
            }],
            "role_definition_id": ROLE_GUID,
            "role_definition_resource_id": resource_id,
            "scope": scope,
            "timeouts": null
        }),
        "vnetpeer_custom_role",
    )
    .await
    .unwrap();
    assert_eq!(
        moved.state.get("role_definition_resource_id"),
        Some(&Value::string(&resource_id))
    );
    assert_eq!(
        moved.identity,
        strings([("scope", &scope), ("role_definition_id", ROLE_GUID)])
    );
}

#[tokio::test]
async fn an_azurerm_role_assignment_moves_to_the_role_assignment() {
    let id = format!("{VNET}/providers/Microsoft.Authorization/roleAssignments/{ASSIGNMENT_GUID}");
    let moved = move_state(
        "registry.terraform.io/hashicorp/azurerm",
        "azurerm_role_assignment",
        json!({
            "condition": "",
            "condition_version": "",
            "delegated_managed_identity_resource_id": "",
            "description": "",
            "id": id,
            "name": ASSIGNMENT_GUID,
            "principal_id": SP_OBJECT_ID,
            "principal_type": "ServicePrincipal",
            "role_definition_id": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"),
            "role_definition_name": "Network Contributor",
            "scope": VNET,
            "skip_service_principal_aad_check": null,
            "timeouts": null
        }),
        "vnetpeer_role_assignment",
    )
    .await
    .unwrap();
    assert_eq!(moved.state.get("id"), Some(&Value::string(&id)));
    assert_eq!(
        moved.identity,
        strings([("scope", VNET), ("name", ASSIGNMENT_GUID)])
    );
}

#[tokio::test]
async fn azuread_objects_move_by_their_object_ids() {
    // azuread 3.x writes `id` as "/applications/{object id}"; `object_id` is the bare id.
    let app = move_state(
        "registry.terraform.io/hashicorp/azuread",
        "azuread_application",
        json!({
            "client_id": "0e000000-0000-4000-8000-000000000001",
            "display_name": "aiven-peering",
            "id": format!("/applications/{APP_OBJECT_ID}"),
            "object_id": APP_OBJECT_ID,
            "sign_in_audience": "AzureADMultipleOrgs",
            "tags": []
        }),
        "vnetpeer_aad_app",
    )
    .await
    .unwrap();
    assert_eq!(app.identity, strings([("object_id", APP_OBJECT_ID)]));
    assert_eq!(
        app.state.get("permanently_delete"),
        Some(&Value::Bool(false))
    );

    let principal = move_state(
        "registry.terraform.io/hashicorp/azuread",
        "azuread_service_principal",
        json!({
            "account_enabled": true,
            "client_id": "0e000000-0000-4000-8000-000000000002",
            "display_name": "Aiven",
            "id": format!("/servicePrincipals/{SP_OBJECT_ID}"),
            "object_id": SP_OBJECT_ID,
            "use_existing": true
        }),
        "vnetpeer_service_principal",
    )
    .await
    .unwrap();
    assert_eq!(principal.identity, strings([("object_id", SP_OBJECT_ID)]));
}

#[tokio::test]
async fn an_aiven_azure_vpc_peering_connection_moves_to_the_aiven_peering() {
    let moved = move_state(
        "registry.terraform.io/aiven/aiven",
        "aiven_azure_vpc_peering_connection",
        json!({
            "azure_subscription_id": SUBSCRIPTION,
            "id": format!("acme-prod/{PROJECT_VPC_ID}/{SUBSCRIPTION}/vnet-App"),
            "peer_azure_app_id": "0e000000-0000-4000-8000-000000000001",
            "peer_azure_tenant_id": "d0000000-0000-4000-8000-000000000001",
            "peer_resource_group": "rg-Workload",
            "peering_connection_id": "8e0c0000-0000-4000-8000-000000000001",
            "state": "ACTIVE",
            "state_info": {},
            "timeouts": null,
            "vnet_name": "vnet-App",
            "vpc_id": format!("acme-prod/{PROJECT_VPC_ID}")
        }),
        "vnetpeer_aiven_vpc_peering",
    )
    .await
    .unwrap();
    assert_eq!(
        moved.identity,
        strings([
            ("project", "acme-prod"),
            ("project_vpc_id", PROJECT_VPC_ID),
            ("vnet_id", VNET),
        ])
    );
}

#[tokio::test]
async fn what_cannot_move_is_refused_with_the_reason() {
    // Another type than the peer's counterpart.
    let diagnostics = move_state(
        "registry.terraform.io/hashicorp/azurerm",
        "azurerm_virtual_network",
        json!({"id": VNET}),
        "vnetpeer_cross_tenant_vnet_peering",
    )
    .await
    .err()
    .unwrap();
    assert_eq!(diagnostics.len(), 1);
    assert!(
        diagnostics[0].summary.contains("azurerm_virtual_network")
            && diagnostics[0]
                .summary
                .contains("vnetpeer_cross_tenant_vnet_peering"),
        "{diagnostics:?}"
    );
    // The right type from another provider.
    let diagnostics = move_state(
        "registry.terraform.io/hashicorp/azuread",
        "azurerm_role_assignment",
        json!({"id": "x"}),
        "vnetpeer_role_assignment",
    )
    .await
    .err()
    .unwrap();
    assert!(
        diagnostics[0].summary.contains("Cannot move"),
        "{diagnostics:?}"
    );
    // A state without the attribute that names the object.
    let diagnostics = move_state(
        "registry.terraform.io/aiven/aiven",
        "aiven_azure_vpc_peering_connection",
        json!({"vpc_id": format!("acme-prod/{PROJECT_VPC_ID}"), "azure_subscription_id": SUBSCRIPTION, "vnet_name": "vnet-App"}),
        "vnetpeer_aiven_vpc_peering",
    )
    .await
    .err()
    .unwrap();
    assert!(
        diagnostics[0]
            .summary
            .contains("`peer_resource_group` is missing"),
        "{diagnostics:?}"
    );
    // A custom role defined below a subscription is not one vnetpeer_custom_role manages.
    let scope = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-Workload");
    let diagnostics = move_state(
        "registry.terraform.io/hashicorp/azurerm",
        "azurerm_role_definition",
        json!({"scope": scope, "role_definition_id": ROLE_GUID}),
        "vnetpeer_custom_role",
    )
    .await
    .err()
    .unwrap();
    assert!(
        diagnostics[0].detail.contains("subscription"),
        "{diagnostics:?}"
    );
}
