//! The configuration-only arguments of an imported peering, read from who holds roles on its
//! VNet (`azure::cross_tenant_peering::peering_parties`): Aiven's service principal holds the
//! peer-only custom role there (its application's home tenant is Aiven's tenant, the remote
//! tenant), and the step-1 application's service principal holds Network Contributor there.
//! Each argument is set only when exactly one candidate is found; otherwise it stays null and
//! the configuration must give it.

use crate::aiven::AIVEN_APP_ID;
use crate::azure::cross_tenant_peering::{PartiesError, peering_parties};
use crate::framework::{Diagnostics, ObjectExt};
use crate::resources::Ctx;
use crate::value::Value;

use super::super::support::{call_context, cloud_diagnostics, graph};
use super::{Credential, Location, Planned, own_arm};

/// Fills `client_id`, `application_object_id` and `remote_tenant_id` of an imported state (one
/// that has no `client_id`) from the role assignments at its VNet.
pub(super) async fn derive_arguments(ctx: &Ctx, state: &mut Value) -> Result<(), Diagnostics> {
    let Some(vnet_id) = state.attr_str(Location::vnet_id).map(str::to_owned) else {
        return Ok(());
    };
    let (arm, graph) = (own_arm(ctx)?, graph(ctx)?);
    // The provider's own application may hold Network Contributor on the VNet too.
    let own_client_id = ctx.data().config.azure.client_id.as_deref();
    let parties = peering_parties(
        &call_context(ctx),
        &arm,
        &graph,
        &vnet_id,
        AIVEN_APP_ID,
        own_client_id,
    )
    .await
    .map_err(|error| match error {
        PartiesError::Assignments(error) => {
            cloud_diagnostics("Cannot list the role assignments on the VNet", &error)
        }
        PartiesError::ServicePrincipal(error) => {
            cloud_diagnostics("Cannot read a service principal", &error)
        }
        PartiesError::Application(error) => cloud_diagnostics("Cannot read an application", &error),
    })?;
    if let Some(remote_tenant) = parties.remote_tenant {
        state.set_attr(Planned::remote_tenant_id, remote_tenant);
    }
    if let Some(application) = parties.application {
        state.set_attr(Planned::client_id, application.app_id);
        if state.attr(Credential::client_secret).is_null() {
            state.set_attr(Credential::application_object_id, application.id);
        }
    }
    Ok(())
}
