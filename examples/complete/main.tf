# A complete configuration: the aiven-vnet-peering module peers one customer VNet with the
# project VPC of one Aiven project, in one `terraform apply`.
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

  aiven_project    = var.aiven_project
  aiven_cloud_name = var.aiven_cloud_name
  vnet_id          = var.customer_vnet_id
  name_prefix      = var.name_prefix
}
