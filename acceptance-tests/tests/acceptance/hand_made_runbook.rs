//! The runbook done by hand: the seven objects a team makes with `az` and `avn` before it
//! adopts them into Terraform, made here by raw REST calls on a fresh emulator, without the
//! provider. Each step sends what the CLI sends: `az ad app create`, `az ad sp create`,
//! `az ad app credential reset --append`, `az role assignment create` (a random assignment
//! name), `az role definition create` (a random role name), `avn vpc peering-connection
//! create`, and `az network vnet peering create` signed in as the application in both tenants
//! (the auxiliary token). It waits like a person at a terminal would: until Aiven reports the
//! connection ACTIVE.

use uuid::Uuid;
use vnetpeer_emulator::Emulator;

use crate::runbook_client::{ARM_SCOPE, Client, NETWORK_CONTRIBUTOR};

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
    let client = Client::new(emulator);
    let tenant = seed.customer_tenant_id.clone();
    // `az login --service-principal` as the operator.
    let operator = client.operator_tokens().await;
    let (graph, arm) = (&operator.graph, &operator.arm);
    let vnet_id = seed.customer_vnet_id.clone();
    let subscription_scope = format!("/subscriptions/{}", seed.customer_subscription_id);

    // az ad app create --display-name … --sign-in-audience AzureADMultipleOrgs
    let app_display_name = format!(
        "{APP_NAME_PREFIX}{}-{}",
        seed.aiven_project, seed.customer_vnet_name
    );
    let (app_object_id, app_id) = client.create_application(graph, &app_display_name).await;

    // az ad sp create --id <appId> (retried while Graph has not replicated the application).
    let sp = client.create_service_principal(graph, &app_id).await;
    let app_service_principal_id = sp["id"].as_str().expect("SP id").to_owned();

    // az ad app credential reset --id <appId> --append
    let password = client.add_password(graph, &app_object_id, "rbac").await;
    let app_secret = password["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();
    let app_secret_key_id = password["keyId"].as_str().expect("keyId").to_owned();

    // az role assignment create --assignee-object-id <SP> --assignee-principal-type
    //   ServicePrincipal --role "Network Contributor" --scope <VNet>   (a random name)
    let contributor_assignment_id = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        Uuid::new_v4()
    );
    let network_contributor = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR}"
    );
    client
        .assign_role(
            arm,
            &contributor_assignment_id,
            &network_contributor,
            &app_service_principal_id,
            &[],
        )
        .await;

    // az ad sp create --id 55f300d4-… (Aiven's application).
    let aiven_sp = client
        .create_service_principal(graph, &seed.aiven_app_id)
        .await;
    let aiven_service_principal_id = aiven_sp["id"].as_str().expect("SP id").to_owned();

    // az role definition create --role-definition '{"Name": …, "Actions": [peer/action],
    //   "AssignableScopes": [<subscription>]}'   (a random role id)
    let custom_role_name = format!("Aiven VNet peering {}", seed.customer_vnet_name);
    let custom_role_id = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{}",
        Uuid::new_v4()
    );
    client
        .create_custom_role(arm, &custom_role_id, &custom_role_name, &subscription_scope)
        .await;

    // az role assignment create --assignee-object-id <Aiven SP> --role <custom role> --scope <VNet>
    let aiven_assignment_id = format!(
        "{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        Uuid::new_v4()
    );
    client
        .assign_role(
            arm,
            &aiven_assignment_id,
            &custom_role_id,
            &aiven_service_principal_id,
            // The role definition may not have reached every ARM region yet.
            &["RoleDefinitionDoesNotExist"],
        )
        .await;

    // avn vpc peering-connection create --project-vpc-id … --peer-cloud-account <subscription>
    //   --peer-resource-group <group> --peer-vpc <VNet> --peer-azure-app-id <appId>
    //   --peer-azure-tenant-id <tenant>; deleted and made again while Aiven cannot see its
    //   principal or permission yet.
    let project_vpc_id = seed.aiven_project_vpc_id.clone();
    let connection = client.aiven_connection(&project_vpc_id);
    let pending = client.create_aiven_peering(&connection, &app_id).await;

    // az login as the application in both tenants, then
    // az network vnet peering create --name … --vnet-name … --remote-vnet <Aiven VNet>
    //   --allow-vnet-access (the Aiven tenant's token in x-ms-authorization-auxiliary).
    let primary = client.token(&tenant, &app_id, &app_secret, ARM_SCOPE).await;
    let auxiliary = client
        .token(&pending.aiven_tenant, &app_id, &app_secret, ARM_SCOPE)
        .await;
    let vnet_peering_id = format!(
        "{vnet_id}/virtualNetworkPeerings/to-aiven-{}",
        seed.aiven_project
    );
    client
        .create_vnet_peering(&vnet_peering_id, &primary, &auxiliary, &pending.aiven_vnet)
        .await;

    // Aiven notices the Azure side and the connection goes ACTIVE.
    let active = client
        .aiven_until_not(
            &connection.vpc_path,
            &connection.vnet_name,
            &["PENDING_PEER"],
        )
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
