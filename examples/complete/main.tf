# A complete configuration: the aiven-vnet-peering module peers one customer VNet with the
# project VPC of one Aiven project, in one `terraform apply`. To peer an organization VPC (one
# that every project of an Aiven organization shares) instead, set `aiven_organization_id`
# (e.g. `TF_VAR_aiven_organization_id=org1a2b3c4d5e6`): the module then peers the organization's
# VPC in `aiven_cloud_name`, and the Aiven token needs `organization:networking:write`.
#
# The provider reads its credentials from the environment: ARM_TENANT_ID, ARM_SUBSCRIPTION_ID,
# ARM_CLIENT_ID and ARM_CLIENT_SECRET (or another credential type) for the customer side, and
# AIVEN_TOKEN. The variable defaults match the world of `vnetpeer-sandbox`, which also exports
# them as TF_VAR_*: `bash examples/demo.sh` runs this configuration offline.
provider "vnetpeer" {}

variable "aiven_project" {
  description = "The Aiven project."
  type        = string
  default     = "acme-prod"
}

variable "aiven_organization_id" {
  description = "The Aiven organization whose organization VPC to peer instead of the project VPC (null: the project VPC)."
  type        = string
  default     = null
}

variable "aiven_cloud_name" {
  description = "The Aiven cloud of the project VPC."
  type        = string
  default     = "azure-switzerland-north"
}

variable "customer_vnet_id" {
  description = "The customer VNet to peer with the project VPC."
  type        = string
  default     = "/subscriptions/c1000000-0000-4000-8000-000000000002/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App"
}

variable "name_prefix" {
  description = "Prefix of the names the module gives (application, custom role, peering)."
  type        = string
  default     = "demo"
}

module "aiven_peering" {
  source = "../modules/aiven-vnet-peering"

  # Exactly one of the two: the organization VPC when an organization is given.
  aiven_project         = var.aiven_organization_id == null ? var.aiven_project : null
  aiven_organization_id = var.aiven_organization_id
  aiven_cloud_name      = var.aiven_cloud_name
  vnet_id               = var.customer_vnet_id
  name_prefix           = var.name_prefix
}
