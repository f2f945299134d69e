terraform {
  # Provider functions need Terraform 1.8 or later.
  required_version = ">= 1.8"

  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}
