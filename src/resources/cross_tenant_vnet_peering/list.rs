//! `list "vnetpeer_cross_tenant_vnet_peering"`: the peerings of one customer VNet
//! (`GET {vnet}/virtualNetworkPeerings`). Each is named by its resource id, the import id of
//! `vnetpeer_cross_tenant_vnet_peering`, and shown by its name and remote VNet.

use async_trait::async_trait;

use crate::azure::ids::VirtualNetworkId;
use crate::framework::{
    Attribute, Block, Diagnostic, Diagnostics, ListResource, Listing, ObjectExt, Schema,
};
use crate::resources::Ctx;

use super::super::ProviderData;
use super::super::support::{OrDiagnostics, call_context, checks};
use super::own_arm;

/// See the module documentation.
pub struct CrossTenantVnetPeeringList;

const VNET_ID: &str = "vnet_id";

#[async_trait]
impl ListResource<ProviderData> for CrossTenantVnetPeeringList {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The peerings of a customer virtual network, for `terraform query`: each result \
                 is named by the peering's resource id (its identity) and shown by its name and \
                 the remote virtual network.",
            )
            .attribute(
                Attribute::string(VNET_ID)
                    .required()
                    .description("Resource id of the customer virtual network (the local side).")
                    .validate(checks::virtual_network_id()),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx, listing: &mut Listing<'_>) -> Result<(), Diagnostics> {
        let Some(vnet_id) = listing.config.attr_str(VNET_ID) else {
            return Ok(());
        };
        let vnet = VirtualNetworkId::parse(vnet_id)
            .map_err(|error| Diagnostic::invalid(VNET_ID, error))?;
        let peerings = own_arm(ctx)?
            .list_vnet_peerings(&call_context(ctx), &vnet)
            .await
            .or_diagnostics("Cannot list the VNet's peerings")?;
        for peering in peerings {
            let Ok(id) = vnet.peering(&peering.name) else {
                continue;
            };
            let remote = peering
                .remote_virtual_network_id
                .as_deref()
                .and_then(|remote| remote.rsplit('/').next())
                .unwrap_or("?");
            let display_name = format!("{} → {remote}", peering.name);
            if !listing.found(id.to_string(), display_name).await? {
                return Ok(());
            }
        }
        Ok(())
    }
}
