# The whole Azure <-> Aiven private peering runbook in one configuration: one `terraform apply`
# builds every piece in dependency order, one `terraform destroy` removes them in reverse.
# The provider takes its credentials from the environment (ARM_* and AIVEN_TOKEN); the variables
# have the names `vnetpeer-sandbox` exports as TF_VAR_*, so the runbook also runs offline.
variable "aiven_project" {
  type    = string
  default = "acme-prod"
}

variable "aiven_cloud_name" {
  type    = string
  default = "azure-westeurope"
}

variable "customer_vnet_id" {
  description = "The customer VNet to peer with the Aiven project VPC."
  type        = string
  default     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
}

data "vnetpeer_client_config" "current" {}

# 1. A multi-tenant application (+ service principal + secret) that will create the Azure side
#    of the peering in both tenants.
resource "vnetpeer_aad_app" "peering" {
  display_name = "aiven-peering-${var.aiven_project}"
  owners       = [data.vnetpeer_client_config.current.object_id]
}

# 2. That application may manage peerings of the customer VNet.
resource "vnetpeer_role_assignment" "app_network_contributor" {
  scope                = var.customer_vnet_id
  role_definition_name = "Network Contributor"
  principal_id         = vnetpeer_aad_app.peering.service_principal_object_id
}

# 3. Aiven's application gets a service principal in the customer tenant.
resource "vnetpeer_service_principal" "aiven" {
  client_id = "55f300d4-fc50-4c5e-9222-e90a6e2187fb"
}

# 4. Aiven may peer with the VNet, and do nothing else.
resource "vnetpeer_custom_role" "peer_only" {
  name  = "aiven-vnet-peering-${var.aiven_project}"
  scope = "/subscriptions/${data.vnetpeer_client_config.current.subscription_id}"
}

resource "vnetpeer_role_assignment" "aiven_peer_only" {
  scope              = var.customer_vnet_id
  role_definition_id = vnetpeer_custom_role.peer_only.role_definition_resource_id
  principal_id       = vnetpeer_service_principal.aiven.object_id
}

# 5. The Aiven project VPC in the chosen region.
data "vnetpeer_aiven_project_vpc" "this" {
  project    = var.aiven_project
  cloud_name = var.aiven_cloud_name
}

# 6. Aiven creates its half of the peering once it may (the role assignments above).
resource "vnetpeer_aiven_vpc_peering" "this" {
  project              = var.aiven_project
  project_vpc_id       = data.vnetpeer_aiven_project_vpc.this.project_vpc_id
  vnet_id              = var.customer_vnet_id
  peer_azure_app_id    = vnetpeer_aad_app.peering.client_id
  peer_azure_tenant_id = vnetpeer_aad_app.peering.tenant_id

  depends_on = [
    vnetpeer_role_assignment.app_network_contributor,
    vnetpeer_role_assignment.aiven_peer_only,
  ]
}

# 7. The Azure half, created as the step-1 application in both tenants; done when Aiven reports
#    the peering ACTIVE.
resource "vnetpeer_cross_tenant_vnet_peering" "to_aiven" {
  name                  = "aiven-${var.aiven_project}"
  vnet_id               = var.customer_vnet_id
  remote_vnet_id        = vnetpeer_aiven_vpc_peering.this.aiven_vnet_id
  remote_tenant_id      = vnetpeer_aiven_vpc_peering.this.aiven_tenant_id
  client_id             = vnetpeer_aad_app.peering.client_id
  application_object_id = vnetpeer_aad_app.peering.object_id
  aiven_peering_id      = vnetpeer_aiven_vpc_peering.this.id
}

output "peering_state" {
  value = vnetpeer_cross_tenant_vnet_peering.to_aiven.peering_state
}
