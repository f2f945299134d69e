terraform {
  # Provider functions need 1.8; a validation that reads another variable needs 1.9.
  required_version = ">= 1.9"

  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}
