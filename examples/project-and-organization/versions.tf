terraform {
  required_version = ">= 1.11"

  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}
