terraform {
  required_providers {
    vnetpeer = {
      source = "vnetpeer/vnetpeer"
    }
  }
}
