# Runbook step 7: peer the customer VNet with Aiven's VNet, acting as the peering application in
# both tenants. With application_object_id the provider mints a short-lived secret for the
# create, uses it and removes it: no secret is stored anywhere.
variable "vnet_id" {
  type    = string
  default = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
}

variable "aiven_vnet_id" {
  description = "Aiven's VNet, from vnetpeer_aiven_vpc_peering.aiven_vnet_id."
  type        = string
  default     = "/subscriptions/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa/resourceGroups/aiven-rg/providers/Microsoft.Network/virtualNetworks/aiven-vnet"
}

variable "aiven_tenant_id" {
  description = "Aiven's tenant, from vnetpeer_aiven_vpc_peering.aiven_tenant_id."
  type        = string
  default     = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
}

variable "peering_app_client_id" {
  type    = string
  default = "22222222-2222-2222-2222-222222222222"
}

variable "peering_app_object_id" {
  type    = string
  default = "44444444-4444-4444-4444-444444444444"
}

variable "aiven_peering_id" {
  description = "vnetpeer_aiven_vpc_peering.id: when set, create also waits until Aiven reports ACTIVE."
  type        = string
  default     = "acme-prod/99999999-9999-9999-9999-999999999999/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
}

resource "vnetpeer_cross_tenant_vnet_peering" "to_aiven" {
  name                  = "to-aiven"
  vnet_id               = var.vnet_id
  remote_vnet_id        = var.aiven_vnet_id
  remote_tenant_id      = var.aiven_tenant_id
  client_id             = var.peering_app_client_id
  application_object_id = var.peering_app_object_id
  aiven_peering_id      = var.aiven_peering_id

  allow_virtual_network_access = true
  allow_forwarded_traffic      = false

  timeouts {
    create = "30m"
  }
}
