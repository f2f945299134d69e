//! terraform-provider-vnetpeer: private peering between an Azure VNet and an Aiven project VPC,
//! as Terraform resources. See ARCHITECTURE.md for the codemap.

pub mod aiven;
pub mod azure;
pub mod cidr;
pub mod cloud;
pub mod framework;
pub mod functions;
pub mod plugin;
pub mod provider;
pub mod resources;
#[cfg(test)]
mod test_support;
pub mod value;
