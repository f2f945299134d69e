# Runbook steps 5 and 6 for an organization VPC: ask Aiven to peer the VPC that the
# organization's projects share with the customer VNet, and wait until Aiven has done its half
# (PENDING_PEER). Aiven's tenant and VNet ids come back as attributes, as for a project VPC.
# The Aiven token needs the organization permission `organization:networking:write`.
variable "aiven_organization_id" {
  type    = string
  default = "org1a2b3c4d5e6"
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

data "vnetpeer_aiven_organization_vpc" "this" {
  organization_id = var.aiven_organization_id
  cloud_name      = "azure-westeurope"
}

resource "vnetpeer_aiven_org_vpc_peering" "this" {
  organization_id      = var.aiven_organization_id
  organization_vpc_id  = data.vnetpeer_aiven_organization_vpc.this.organization_vpc_id
  vnet_id              = var.vnet_id
  peer_azure_app_id    = var.peering_app_client_id
  peer_azure_tenant_id = var.tenant_id

  # Routed through the peering instead of the VNet's address space; changed in place.
  user_peer_network_cidrs = ["10.10.1.0/24"]

  # When the role assignment for Aiven's service principal is in the same configuration, add
  # depends_on = [vnetpeer_role_assignment.aiven_peer] so that Aiven's check finds it.

  timeouts {
    create = "30m"
  }
}

output "aiven_vnet_id" {
  value = vnetpeer_aiven_org_vpc_peering.this.aiven_vnet_id
}
