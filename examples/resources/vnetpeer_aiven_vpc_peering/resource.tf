# Runbook steps 5 and 6: ask Aiven to peer the project VPC with the customer VNet, and wait until
# Aiven has done its half (PENDING_PEER). Aiven's tenant and VNet ids come back as attributes.
variable "aiven_project" {
  type    = string
  default = "acme-prod"
}

variable "vnet_id" {
  type    = string
  default = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
}

variable "peering_app_client_id" {
  type    = string
  default = "22222222-2222-2222-2222-222222222222"
}

variable "tenant_id" {
  type    = string
  default = "11111111-1111-1111-1111-111111111111"
}

data "vnetpeer_aiven_project_vpc" "this" {
  project    = var.aiven_project
  cloud_name = "azure-westeurope"
}

resource "vnetpeer_aiven_vpc_peering" "this" {
  project              = var.aiven_project
  project_vpc_id       = data.vnetpeer_aiven_project_vpc.this.project_vpc_id
  vnet_id              = var.vnet_id
  peer_azure_app_id    = var.peering_app_client_id
  peer_azure_tenant_id = var.tenant_id

  # When the role assignment for Aiven's service principal is in the same configuration, add
  # depends_on = [vnetpeer_role_assignment.aiven_peer] so that Aiven's check finds it.

  timeouts {
    create = "30m"
  }
}

output "aiven_vnet_id" {
  value = vnetpeer_aiven_vpc_peering.this.aiven_vnet_id
}
