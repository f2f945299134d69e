//! The configuration-only arguments of an imported peering, read from who holds roles on its
//! VNet. ARM keeps no record of the application that made a peering, nor of the remote tenant,
//! yet the runbook leaves both visible on the customer VNet: Aiven's service principal holds the
//! peer-only custom role there (its application's home tenant is Aiven's tenant, the remote
//! tenant), and the step-1 application's service principal holds Network Contributor there.
//! Each argument is set only when exactly one candidate is found; otherwise it stays null and
//! the configuration must give it.

use std::collections::BTreeSet;

use crate::aiven::AIVEN_APP_ID;
use crate::azure::arm::RoleAssignmentFilter;
use crate::azure::graph::sign_in_audience;
use crate::azure::ids::RoleDefinitionId;
use crate::framework::{Diagnostics, ObjectExt};
use crate::resources::Ctx;
use crate::value::Value;

use super::super::support::{call_context, cloud_diagnostics, graph};
use super::{Credential, Location, Planned, own_arm};

/// Network Contributor, the role the step-1 application holds on the VNet.
const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";

/// Fills `client_id`, `application_object_id` and `remote_tenant_id` of an imported state (one
/// that has no `client_id`) from the role assignments at its VNet.
pub(super) async fn derive_arguments(ctx: &Ctx, state: &mut Value) -> Result<(), Diagnostics> {
    let Some(vnet_id) = state.attr_str(Location::vnet_id).map(str::to_owned) else {
        return Ok(());
    };
    let call = call_context(ctx);
    let assignments = own_arm(ctx)?
        .list_role_assignments(&call, &vnet_id, &RoleAssignmentFilter::AtScope)
        .await
        .map_err(|error| {
            cloud_diagnostics("Cannot list the role assignments on the VNet", &error)
        })?;
    let at_vnet = assignments.iter().filter(|assignment| {
        let properties = &assignment.properties;
        properties
            .scope
            .as_deref()
            .is_some_and(|scope| scope.eq_ignore_ascii_case(vnet_id.trim_end_matches('/')))
            && properties
                .principal_type
                .as_deref()
                .is_none_or(|kind| kind.eq_ignore_ascii_case("ServicePrincipal"))
    });
    let mut network_contributors = BTreeSet::new();
    let mut principals = BTreeSet::new();
    for assignment in at_vnet {
        let properties = &assignment.properties;
        principals.insert(properties.principal_id.to_ascii_lowercase());
        let is_network_contributor = RoleDefinitionId::parse(&properties.role_definition_id)
            .is_ok_and(|role| role.guid.to_string() == NETWORK_CONTRIBUTOR);
        if is_network_contributor {
            network_contributors.insert(properties.principal_id.to_ascii_lowercase());
        }
    }
    let graph = graph(ctx)?;
    let own_client_id = ctx
        .data()
        .config
        .azure
        .client_id
        .as_deref()
        .map(str::to_ascii_lowercase);
    let mut remote_tenants = BTreeSet::new();
    let mut applications = Vec::new();
    for principal_id in &principals {
        let Some(principal) = graph
            .get_service_principal(&call, principal_id)
            .await
            .map_err(|error| cloud_diagnostics("Cannot read a service principal", &error))?
        else {
            continue;
        };
        let app_id = principal.app_id.to_ascii_lowercase();
        if app_id == AIVEN_APP_ID {
            remote_tenants.extend(principal.app_owner_organization_id);
        } else if network_contributors.contains(principal_id)
            && own_client_id.as_deref() != Some(app_id.as_str())
        {
            applications.push(app_id);
        }
    }
    if let [remote_tenant] = Vec::from_iter(remote_tenants).as_slice() {
        state.set_attr(Planned::remote_tenant_id, remote_tenant.clone());
    }
    // The step-1 application is registered in this tenant and open to other tenants.
    let mut registered = Vec::new();
    for app_id in applications {
        let application = graph
            .find_application_by_app_id(&call, &app_id)
            .await
            .map_err(|error| cloud_diagnostics("Cannot read an application", &error))?;
        if let Some(application) = application.filter(|application| {
            application.sign_in_audience.as_deref() != Some(sign_in_audience::AZURE_AD_MY_ORG)
        }) {
            registered.push(application);
        }
    }
    if let [application] = registered.as_slice() {
        state.set_attr(Planned::client_id, application.app_id.clone());
        if state.attr(Credential::client_secret).is_null() {
            state.set_attr(Credential::application_object_id, application.id.clone());
        }
    }
    Ok(())
}
