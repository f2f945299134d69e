# The managed identity of the VM, scale set or container running Terraform
# (ARM_USE_MSI=true; ARM_CLIENT_ID picks a user-assigned identity).
provider "vnetpeer" {
  tenant_id       = "11111111-1111-1111-1111-111111111111"
  subscription_id = "00000000-0000-0000-0000-000000000000"
  use_msi         = true
}
