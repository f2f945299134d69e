terraform {
  required_providers {
    vnetpeer = {
      source  = "vnetpeer/vnetpeer"
      version = "~> 0.1"
    }
  }
}

# Credentials and targets usually come from the environment, exactly as for azurerm
# (ARM_TENANT_ID, ARM_SUBSCRIPTION_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ... and AIVEN_TOKEN),
# so the block can stay almost empty. Everything set here wins over the environment.
provider "vnetpeer" {
  subscription_id = "00000000-0000-0000-0000-000000000000"
  tenant_id       = "11111111-1111-1111-1111-111111111111"
}
