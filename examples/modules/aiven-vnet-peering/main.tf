# The whole Azure <-> Aiven private peering runbook for one VNet and one Aiven VPC (the project
# VPC of `aiven_project`, or an organization VPC of `aiven_organization_id`):
# one `terraform apply` builds every piece in dependency order, one `terraform destroy` removes
# them in reverse. The provider configuration (customer credentials, Aiven token) comes from the
# calling configuration.

locals {
  vnet_segments   = split("/", var.vnet_id)
  subscription_id = local.vnet_segments[2]
  vnet_name       = local.vnet_segments[8]
  # Exactly one of the two is set (the variables' validation says so).
  organization = var.aiven_organization_id != null
  aiven_owner  = local.organization ? var.aiven_organization_id : var.aiven_project
  # Names of the objects this module creates: unique per prefix, project (or organization) and
  # VNet.
  base_name = "${var.name_prefix}-${local.aiven_owner}-${local.vnet_name}"
}

# 1. A multi-tenant application (+ service principal, no secret): it creates the Azure side of
#    the peering, in the customer tenant and, through an auxiliary token, in Aiven's tenant. Step 7
#    mints the secret it needs per operation and removes it after, so no secret stays valid in
#    Entra ID and none is in the state.
resource "vnetpeer_aad_app" "peering" {
  display_name    = local.base_name
  create_password = false
}

# 2. That application may manage peerings of the VNet.
resource "vnetpeer_role_assignment" "app_network_contributor" {
  scope                = var.vnet_id
  role_definition_name = "Network Contributor"
  principal_id         = vnetpeer_aad_app.peering.service_principal_object_id
}

# 3. Aiven's application gets a service principal in the customer tenant (adopted when it
#    exists; never deleted when adopted).
resource "vnetpeer_service_principal" "aiven" {
  count = var.aiven_service_principal_object_id == null ? 1 : 0

  client_id = var.aiven_app_id
}

locals {
  aiven_service_principal_object_id = coalesce(
    var.aiven_service_principal_object_id,
    one(vnetpeer_service_principal.aiven[*].object_id),
  )
}

# 4. A role with nothing but `peer/action`, assigned to Aiven's service principal on the VNet.
resource "vnetpeer_custom_role" "peer_only" {
  name        = "${local.base_name}-peer-only"
  scope       = "/subscriptions/${local.subscription_id}"
  description = "Lets Aiven peer its ${local.organization ? "organization" : "project"} VPC ${local.aiven_owner} with ${local.vnet_name}, nothing else."
}

resource "vnetpeer_role_assignment" "aiven_peer_only" {
  scope              = var.vnet_id
  role_definition_id = vnetpeer_custom_role.peer_only.role_definition_resource_id
  principal_id       = local.aiven_service_principal_object_id
}

# 5. The Aiven VPC in the cloud region: the project's, or the organization's.
data "vnetpeer_aiven_project_vpc" "this" {
  count = local.organization ? 0 : 1

  project    = var.aiven_project
  cloud_name = var.aiven_cloud_name
}

data "vnetpeer_aiven_organization_vpc" "this" {
  count = local.organization ? 1 : 0

  organization_id = var.aiven_organization_id
  cloud_name      = var.aiven_cloud_name
}

# 6. Aiven's half: once it may peer (both role assignments), Aiven builds its side and reports
#    its tenant and VNet. One of the two, by the kind of VPC.
resource "vnetpeer_aiven_vpc_peering" "this" {
  count = local.organization ? 0 : 1

  project                 = var.aiven_project
  project_vpc_id          = data.vnetpeer_aiven_project_vpc.this[0].project_vpc_id
  vnet_id                 = var.vnet_id
  peer_azure_app_id       = vnetpeer_aad_app.peering.client_id
  peer_azure_tenant_id    = vnetpeer_aad_app.peering.tenant_id
  user_peer_network_cidrs = var.user_peer_network_cidrs

  depends_on = [
    vnetpeer_role_assignment.app_network_contributor,
    vnetpeer_role_assignment.aiven_peer_only,
  ]
}

resource "vnetpeer_aiven_org_vpc_peering" "this" {
  count = local.organization ? 1 : 0

  organization_id         = var.aiven_organization_id
  organization_vpc_id     = data.vnetpeer_aiven_organization_vpc.this[0].organization_vpc_id
  vnet_id                 = var.vnet_id
  peer_azure_app_id       = vnetpeer_aad_app.peering.client_id
  peer_azure_tenant_id    = vnetpeer_aad_app.peering.tenant_id
  user_peer_network_cidrs = var.user_peer_network_cidrs

  depends_on = [
    vnetpeer_role_assignment.app_network_contributor,
    vnetpeer_role_assignment.aiven_peer_only,
  ]
}

# Configurations made before the module took an organization keep their project peering.
moved {
  from = vnetpeer_aiven_vpc_peering.this
  to   = vnetpeer_aiven_vpc_peering.this[0]
}

locals {
  # The one Aiven peering, whichever kind it is.
  aiven_peering = {
    id              = one(concat(vnetpeer_aiven_vpc_peering.this[*].id, vnetpeer_aiven_org_vpc_peering.this[*].id))
    aiven_tenant_id = one(concat(vnetpeer_aiven_vpc_peering.this[*].aiven_tenant_id, vnetpeer_aiven_org_vpc_peering.this[*].aiven_tenant_id))
    aiven_vnet_id   = one(concat(vnetpeer_aiven_vpc_peering.this[*].aiven_vnet_id, vnetpeer_aiven_org_vpc_peering.this[*].aiven_vnet_id))
  }
  aiven_vpc_id = one(concat(
    data.vnetpeer_aiven_project_vpc.this[*].project_vpc_id,
    data.vnetpeer_aiven_organization_vpc.this[*].organization_vpc_id,
  ))
}

# 7. The Azure half, as the step-1 application in both tenants with a secret minted for the
#    operation and removed after it; done when Aiven reports the connection ACTIVE.
resource "vnetpeer_cross_tenant_vnet_peering" "to_aiven" {
  name                  = "${var.name_prefix}-${local.aiven_owner}"
  vnet_id               = var.vnet_id
  remote_vnet_id        = local.aiven_peering.aiven_vnet_id
  remote_tenant_id      = local.aiven_peering.aiven_tenant_id
  client_id             = vnetpeer_aad_app.peering.client_id
  application_object_id = vnetpeer_aad_app.peering.object_id
  aiven_peering_id      = local.aiven_peering.id

  # Network Contributor must be in place before the application writes the peering.
  depends_on = [vnetpeer_role_assignment.app_network_contributor]
}
