# One customer VNet peered with two Aiven VPCs in one `terraform apply`: the project VPC of an
# Aiven project, and an organization VPC that every project of the organization can use. The
# module is called once per VPC; each call names its objects after its project or organization.
#
# Credentials come from the environment, as for `examples/complete` (ARM_* and AIVEN_TOKEN; the
# token needs `organization:networking:write` in the organization). The defaults match the world
# of `vnetpeer-sandbox`.
provider "vnetpeer" {}

variable "aiven_project" {
  description = "The Aiven project whose project VPC is peered."
  type        = string
  default     = "acme-prod"
}

variable "aiven_organization_id" {
  description = "The Aiven organization whose organization VPC is peered."
  type        = string
  default     = "org1a2b3c4d5e6"
}

variable "aiven_cloud_name" {
  description = "The Aiven cloud of both VPCs (the VNet's region)."
  type        = string
  default     = "azure-switzerland-north"
}

variable "customer_vnet_id" {
  description = "The customer VNet; its address space overlaps neither VPC."
  type        = string
  default     = "/subscriptions/c1000000-0000-4000-8000-000000000002/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App"
}

module "project_vpc" {
  source = "../modules/aiven-vnet-peering"

  aiven_project    = var.aiven_project
  aiven_cloud_name = var.aiven_cloud_name
  vnet_id          = var.customer_vnet_id
}

module "organization_vpc" {
  source = "../modules/aiven-vnet-peering"

  aiven_organization_id = var.aiven_organization_id
  aiven_cloud_name      = var.aiven_cloud_name
  vnet_id               = var.customer_vnet_id
}
