//! The runbook done by hand: the seven objects a team makes with `az` and `avn` before it
//! adopts them into Terraform, made here by raw REST calls on a fresh emulator, without the
//! provider. Each step sends what the CLI sends: `az ad app create`, `az ad sp create`,
//! `az ad app credential reset --append`, `az role assignment create` (a random assignment
//! name), `az role definition create` (a random role name), `avn vpc peering-connection
//! create`, and `az network vnet peering create` signed in as the application in both tenants
//! (the auxiliary token). It waits like a person at a terminal would: until Aiven reports the
//! connection ACTIVE.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;
use vnetpeer_emulator::Emulator;

use crate::emulator_runbook::Client;

const NETWORK: &str = "2024-05-01";
const AUTHORIZATION: &str = "2022-04-01";
const ARM_SCOPE: &str = "https://management.azure.com/.default";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";
const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

/// The display name every hand-made application of [`make_by_hand`] starts with.
pub(crate) const APP_NAME_PREFIX: &str = "aiven-peering-";

/// What the hand-made runbook left in the clouds, with the ids a person would copy from the
/// portal.
#[derive(Clone, Debug)]
pub(crate) struct HandMade {
    pub(crate) app_display_name: String,
    pub(crate) app_object_id: String,
    pub(crate) app_id: String,
    pub(crate) app_service_principal_id: String,
    /// The client secret `az ad app credential reset` printed, and its key.
    pub(crate) app_secret: String,
    pub(crate) app_secret_key_id: String,
    /// `…/roleAssignments/<guid>` of Network Contributor for the application on the VNet.
    pub(crate) contributor_assignment_id: String,
    pub(crate) aiven_service_principal_id: String,
    pub(crate) custom_role_name: String,
    /// `/subscriptions/…/providers/Microsoft.Authorization/roleDefinitions/<guid>`.
    pub(crate) custom_role_id: String,
    /// `…/roleAssignments/<guid>` of the custom role for Aiven's service principal.
    pub(crate) aiven_assignment_id: String,
    pub(crate) project_vpc_id: String,
    /// `…/virtualNetworkPeerings/<name>` on the customer VNet.
    pub(crate) vnet_peering_id: String,
}

/// Makes the whole runbook by hand on `emulator` (its seeded world); returns what it made.
/// Panics with the service's answer when a step fails.
pub(crate) async fn make_by_hand(emulator: &Emulator) -> HandMade {
    let seed = emulator.seed().clone();
    let client = Client {
        emulator: emulator.clone(),
        http: reqwest::Client::new(),
        seed: seed.clone(),
    };
    let tenant = seed.customer_tenant_id.clone();
    let operator_secret = seed.operator_client_secret.expose().to_owned();
    // `az login --service-principal` as the operator.
    let graph = client
        .token(
            &tenant,
            &seed.operator_client_id,
            &operator_secret,
            GRAPH_SCOPE,
        )
        .await;
    let arm = client
        .token(
            &tenant,
            &seed.operator_client_id,
            &operator_secret,
            ARM_SCOPE,
        )
        .await;
    let vnet_id = seed.customer_vnet_id.clone();
    let subscription_scope = format!("/subscriptions/{}", seed.customer_subscription_id);

    // az ad app create --display-name … --sign-in-audience AzureADMultipleOrgs
    let app_display_name = format!(
        "{APP_NAME_PREFIX}{}-{}",
        seed.aiven_project, seed.customer_vnet_name
    );
    let app = client
        .graph(
            Method::POST,
            "/applications",
            &graph,
            Some(
                &json!({"displayName": app_display_name, "signInAudience": "AzureADMultipleOrgs"}),
            ),
        )
        .await;
    assert_eq!(app.status, 201, "az ad app create: {}", app.body);
    let app_object_id = app.body["id"].as_str().expect("id").to_owned();
    let app_id = app.body["appId"].as_str().expect("appId").to_owned();

    // az ad sp create --id <appId> (retried while Graph has not replicated the application).
    let sp = client
        .graph_until(
            Method::POST,
            "/servicePrincipals",
            &graph,
            Some(&json!({"appId": app_id})),
            &[400, 404],
        )
        .await;
    assert_eq!(sp.status, 201, "az ad sp create: {}", sp.body);
    let app_service_principal_id = sp.body["id"].as_str().expect("SP id").to_owned();

    // az ad app credential reset --id <appId> --append
    let password = client
        .graph_until(
            Method::POST,
            &format!("/applications/{app_object_id}/addPassword"),
            &graph,
            Some(&json!({"passwordCredential": {"displayName": "rbac"}})),
            &[404],
        )
        .await;
    assert_eq!(
        password.status, 200,
        "az ad app credential reset: {}",
        password.body
    );
    let app_secret = password.body["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();
    let app_secret_key_id = password.body["keyId"].as_str().expect("keyId").to_owned();

    // az role assignment create --assignee-object-id <SP> --assignee-principal-type
    //   ServicePrincipal --role "Network Contributor" --scope <VNet>
    let contributor_assignment_id = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        Uuid::new_v4()
    );
    let reply = client
        .arm(
            Method::PUT,
            &format!("{contributor_assignment_id}?api-version={AUTHORIZATION}"),
            &arm,
            Some(&json!({"properties": {
                "roleDefinitionId": format!("{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR}"),
                "principalId": app_service_principal_id,
                "principalType": "ServicePrincipal",
            }})),
            &[],
            &[],
        )
        .await;
    assert_eq!(
        reply.status, 201,
        "az role assignment create: {}",
        reply.body
    );

    // az ad sp create --id 55f300d4-… (Aiven's application).
    let aiven_sp = client
        .graph(
            Method::POST,
            "/servicePrincipals",
            &graph,
            Some(&json!({"appId": seed.aiven_app_id})),
        )
        .await;
    assert_eq!(aiven_sp.status, 201, "az ad sp create: {}", aiven_sp.body);
    let aiven_service_principal_id = aiven_sp.body["id"].as_str().expect("SP id").to_owned();

    // az role definition create --role-definition '{"Name": …, "Actions": [peer/action],
    //   "AssignableScopes": [<subscription>]}'
    let custom_role_name = format!("Aiven VNet peering {}", seed.customer_vnet_name);
    let custom_role_id = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{}",
        Uuid::new_v4()
    );
    let reply = client
        .arm(
            Method::PUT,
            &format!("{custom_role_id}?api-version={AUTHORIZATION}"),
            &arm,
            Some(&json!({"properties": {
                "roleName": custom_role_name,
                "description": "Lets Aiven peer its VPC with this VNet",
                "type": "CustomRole",
                "permissions": [{"actions": [PEER_ACTION], "notActions": [], "dataActions": [], "notDataActions": []}],
                "assignableScopes": [subscription_scope],
            }})),
            &[],
            &[],
        )
        .await;
    assert_eq!(
        reply.status, 201,
        "az role definition create: {}",
        reply.body
    );

    // az role assignment create --assignee-object-id <Aiven SP> --role <custom role> --scope <VNet>
    let aiven_assignment_id = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        Uuid::new_v4()
    );
    let reply = client
        .arm(
            Method::PUT,
            &format!("{aiven_assignment_id}?api-version={AUTHORIZATION}"),
            &arm,
            Some(&json!({"properties": {
                "roleDefinitionId": custom_role_id,
                "principalId": aiven_service_principal_id,
                "principalType": "ServicePrincipal",
            }})),
            &[],
            // The role definition may not have reached every ARM region yet.
            &["RoleDefinitionDoesNotExist"],
        )
        .await;
    assert_eq!(
        reply.status, 201,
        "az role assignment create: {}",
        reply.body
    );

    // avn vpc peering-connection create --project-vpc-id … --peer-cloud-account <subscription>
    //   --peer-resource-group <group> --peer-vpc <VNet> --peer-azure-app-id <appId>
    //   --peer-azure-tenant-id <tenant>  (Aiven takes the Azure names in lower case)
    let project_vpc_id = seed.aiven_project_vpc_id.clone();
    let vpc_path = format!("/project/{}/vpcs/{project_vpc_id}", seed.aiven_project);
    let account = seed.customer_subscription_id.to_lowercase();
    let group = seed.customer_resource_group.to_lowercase();
    let vnet_name = seed.customer_vnet_name.to_lowercase();
    let create = json!({
        "peer_cloud_account": account,
        "peer_resource_group": group,
        "peer_vpc": vnet_name,
        "peer_azure_app_id": app_id,
        "peer_azure_tenant_id": tenant,
    });
    let delete_path = format!(
        "{vpc_path}/peering-connections/peer-accounts/{account}/peer-resource-groups/{group}/peer-vpcs/{vnet_name}"
    );
    let mut attempts = 0;
    // Right after the role assignments Aiven may not see its principal or its permission yet:
    // the person deletes the failed connection, waits, and creates it again.
    let pending = loop {
        attempts += 1;
        let reply = client
            .aiven(
                Method::POST,
                &format!("{vpc_path}/peering-connections"),
                Some(&create),
            )
            .await;
        assert_eq!(
            reply.status, 200,
            "avn vpc peering-connection create: {}",
            reply.body
        );
        let connection = client
            .aiven_until_not(&vpc_path, &vnet_name, &["APPROVED"])
            .await
            .expect("the connection");
        if connection["state"] == "PENDING_PEER" {
            break connection;
        }
        assert!(
            connection["state"] == "INVALID_SPECIFICATION" && attempts < 10,
            "{connection}"
        );
        let reply = client.aiven(Method::DELETE, &delete_path, None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            client
                .aiven_until_not(&vpc_path, &vnet_name, &["DELETING"])
                .await
                .is_none()
        );
        tokio::time::sleep(emulator.knobs().rbac_propagation).await;
    };
    let aiven_tenant = pending["state_info"]["to-tenant-id"]
        .as_str()
        .expect("to-tenant-id")
        .to_owned();
    let aiven_vnet = pending["state_info"]["to-network-id"]
        .as_str()
        .expect("to-network-id")
        .to_owned();

    // az login as the application in both tenants, then
    // az network vnet peering create --name … --vnet-name … --remote-vnet <Aiven VNet>
    //   --allow-vnet-access (the Aiven tenant's token in x-ms-authorization-auxiliary).
    let primary = client.token(&tenant, &app_id, &app_secret, ARM_SCOPE).await;
    let auxiliary = client
        .token(&aiven_tenant, &app_id, &app_secret, ARM_SCOPE)
        .await;
    let vnet_peering_id = format!(
        "{vnet_id}/virtualNetworkPeerings/to-aiven-{}",
        seed.aiven_project
    );
    let created = client
        .arm(
            Method::PUT,
            &format!("{vnet_peering_id}?api-version={NETWORK}"),
            &primary,
            Some(&json!({"properties": {
                "remoteVirtualNetwork": {"id": aiven_vnet},
                "allowVirtualNetworkAccess": true,
                "allowForwardedTraffic": false,
                "allowGatewayTransit": false,
                "useRemoteGateways": false,
            }})),
            &[(
                "x-ms-authorization-auxiliary",
                format!("Bearer {auxiliary}"),
            )],
            &["AuthorizationFailed", "LinkedAuthorizationFailed"],
        )
        .await;
    assert_eq!(
        created.status, 201,
        "az network vnet peering create: {}",
        created.body
    );
    let operation = created
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    let status = client
        .wait_for_operation(&created, operation, &primary)
        .await;
    assert_eq!(status.body["status"], "Succeeded", "{}", status.body);

    // Aiven notices the Azure side and the connection goes ACTIVE.
    let active = client
        .aiven_until_not(&vpc_path, &vnet_name, &["PENDING_PEER"])
        .await
        .expect("the connection");
    assert_eq!(active["state"], "ACTIVE", "{active}");

    HandMade {
        app_display_name,
        app_object_id,
        app_id,
        app_service_principal_id,
        app_secret,
        app_secret_key_id,
        contributor_assignment_id,
        aiven_service_principal_id,
        custom_role_name,
        custom_role_id,
        aiven_assignment_id,
        project_vpc_id,
        vnet_peering_id,
    }
}

#[tokio::test]
async fn the_hand_made_runbook_leaves_seven_objects_and_an_active_peering() {
    let emulator = Emulator::start(vnetpeer_emulator::Knobs::test()).await;
    let made = make_by_hand(&emulator).await;
    let seed = emulator.seed().clone();
    emulator.with_world(|world| {
        let app = world
            .identity
            .applications
            .get(&made.app_object_id)
            .expect("the application");
        assert_eq!(app.display_name, made.app_display_name);
        assert_eq!(app.app_id, made.app_id);
        let principal_ids: Vec<&str> = world
            .identity
            .service_principals
            .values()
            .filter(|sp| sp.tenant_id == seed.customer_tenant_id)
            .filter(|sp| sp.app_id == made.app_id || sp.app_id == seed.aiven_app_id)
            .map(|sp| sp.id.as_str())
            .collect();
        assert_eq!(principal_ids.len(), 2, "{principal_ids:?}");
        assert!(principal_ids.contains(&made.app_service_principal_id.as_str()));
        assert!(principal_ids.contains(&made.aiven_service_principal_id.as_str()));
        let on_vnet: Vec<String> = world
            .arm
            .role_assignments
            .iter()
            .filter(|assignment| {
                assignment
                    .scope
                    .eq_ignore_ascii_case(&seed.customer_vnet_id)
            })
            .map(|assignment| {
                format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                    assignment.scope, assignment.name
                )
            })
            .collect();
        assert_eq!(on_vnet.len(), 2, "{on_vnet:?}");
        assert!(on_vnet.contains(&made.contributor_assignment_id));
        assert!(on_vnet.contains(&made.aiven_assignment_id));
        let custom: Vec<&str> = world
            .arm
            .role_definitions
            .iter()
            .filter(|definition| definition.role_type == "CustomRole")
            .map(|definition| definition.role_name.as_str())
            .collect();
        assert_eq!(custom, [made.custom_role_name.as_str()]);
    });
    assert_eq!(emulator.violations(), vec![]);
}
