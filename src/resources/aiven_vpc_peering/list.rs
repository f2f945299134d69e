//! `list "vnetpeer_aiven_vpc_peering"` and `list "vnetpeer_aiven_org_vpc_peering"`: the Azure
//! peering connections of an Aiven project's VPCs, or of an organization's VPCs (each VPC read
//! once, with its connections), optionally of one VPC only. Each is named by the resource's
//! import id (`<project>/<project_vpc_id><vnet_id>` or
//! `organization/<organization_id>/<organization_vpc_id><vnet_id>`) and shown by the VPC's cloud
//! and the peer VNet.

use async_trait::async_trait;

use crate::azure::ids::VirtualNetworkId;
use crate::framework::{
    Attribute, Block, Diagnostics, ListResource, Listing, ObjectExt, Schema, validators,
};
use crate::resources::Ctx;

use super::super::ProviderData;
use super::super::support::{OrDiagnostics, call_context, checks, cloud_diagnostics};
use super::Addressing;

/// See the module documentation; one per [`Addressing`].
pub struct AivenVpcPeeringList(pub Addressing);

#[async_trait]
impl ListResource<ProviderData> for AivenVpcPeeringList {
    fn schema(&self) -> Schema {
        let owner_description = match self.0 {
            Addressing::Project => "The Aiven project whose VPCs' peering connections are listed.",
            Addressing::Organization => {
                "The Aiven organization whose VPCs' peering connections are listed, e.g. \
                 `org1a2b3c4d5e6`."
            }
        };
        let owner = Attribute::string(self.0.owner_attribute())
            .required()
            .description(owner_description)
            .validate(validators::not_blank());
        let vpc = Attribute::string(self.0.vpc_attribute())
            .optional()
            .description(format!(
                "Only the connections of this {} (its id, a UUID).",
                self.0.vpc_kind()
            ))
            .validate(checks::uuid());
        Schema::new(
            Block::new(format!(
                "The Azure peering connections of Aiven {}s, for `terraform query`: each result \
                 is named by the VPC and the peer virtual network (its identity) and shown by \
                 the VPC's cloud, the peer VNet and the connection's state.",
                self.0.vpc_kind()
            ))
            .attribute(owner)
            .attribute(vpc),
        )
    }

    async fn list(&self, ctx: &Ctx, listing: &mut Listing<'_>) -> Result<(), Diagnostics> {
        let addressing = self.0;
        let Some(owner) = listing.config.attr_str(addressing.owner_attribute()) else {
            return Ok(());
        };
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);
        let vpc_ids = match listing.config.attr_str(addressing.vpc_attribute()) {
            Some(vpc_id) => vec![vpc_id.to_owned()],
            None => aiven
                .list_vpcs(&call, addressing.kind(), owner)
                .await
                .or_diagnostics("Cannot list the Aiven VPCs")?
                .into_iter()
                .map(|vpc| vpc.vpc_id)
                .collect(),
        };
        for vpc_id in vpc_ids {
            let address = addressing.kind().address(owner.to_owned(), vpc_id.clone());
            let vpc = match aiven.get_vpc(&call, &address).await {
                Ok(vpc) => vpc,
                // Deleted since it was listed.
                Err(error) if error.is_not_found() => continue,
                Err(error) => {
                    return Err(cloud_diagnostics("Cannot read the Aiven VPC", &error));
                }
            };
            for connection in &vpc.peering_connections {
                // Azure connections name a resource group; AWS and Google ones do not.
                let Some(resource_group) = connection.peer_resource_group.clone() else {
                    continue;
                };
                let vnet = VirtualNetworkId {
                    subscription_id: connection.peer_cloud_account.to_lowercase(),
                    resource_group,
                    name: connection.peer_vpc.clone(),
                };
                let import_id = address.peering_id(&vnet.to_string());
                let display_name = format!(
                    "{} → {} ({})",
                    vpc.cloud_name,
                    vnet.name,
                    connection.state.as_str()
                );
                if !listing.found(import_id, display_name).await? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
