# One `vnet_id` input, and the parts other resources ask for.
variable "vnet_id" {
  type    = string
  default = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub"
}

locals {
  vnet = provider::vnetpeer::parse_vnet_id(var.vnet_id)
}

output "subscription_id" {
  value = local.vnet.subscription_id
}

output "resource_group_name" {
  value = local.vnet.resource_group_name
}

output "virtual_network_name" {
  value = local.vnet.virtual_network_name
}
