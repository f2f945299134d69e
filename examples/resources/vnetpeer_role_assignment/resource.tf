# Runbook step 2: the peering application may manage peerings of the customer VNet
# (built-in role, resolved by name at the scope).
variable "vnet_id" {
  type    = string
  default = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
}

variable "peering_app_service_principal_object_id" {
  type    = string
  default = "77777777-7777-7777-7777-777777777777"
}

resource "vnetpeer_role_assignment" "app_network_contributor" {
  scope                = var.vnet_id
  role_definition_name = "Network Contributor"
  principal_id         = var.peering_app_service_principal_object_id
  principal_type       = "ServicePrincipal"
}
