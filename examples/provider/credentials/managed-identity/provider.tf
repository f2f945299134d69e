# The managed identity of the host running Terraform (ARM_USE_MSI=true). The host's endpoint is
# found from its variables: App Service, Functions and Container Apps (IDENTITY_ENDPOINT and
# IDENTITY_HEADER), Azure Arc (IDENTITY_ENDPOINT and IMDS_ENDPOINT), Cloud Shell (MSI_ENDPOINT),
# else the instance metadata service of VMs and scale sets. ARM_CLIENT_ID, msi_object_id or
# msi_resource_id pick a user-assigned identity; msi_endpoint overrides the endpoint.
provider "vnetpeer" {
  tenant_id       = "11111111-1111-1111-1111-111111111111"
  subscription_id = "00000000-0000-0000-0000-000000000000"
  use_msi         = true
}
