terraform {
  # Ephemeral resources need Terraform 1.10 or later (write-only arguments 1.11).
  required_version = ">= 1.11"

  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}
