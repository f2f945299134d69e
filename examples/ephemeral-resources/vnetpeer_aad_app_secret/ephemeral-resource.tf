# A secret of the step-1 application for this run only, passed to the peering's write-only
# `client_secret`: it is in neither the plan nor the state, and is removed when the run ends.
variable "application_object_id" {
  type = string
}

variable "client_id" {
  type = string
}

variable "vnet_id" {
  type = string
}

variable "aiven_vnet_id" {
  type = string
}

variable "aiven_tenant_id" {
  type = string
}

ephemeral "vnetpeer_aad_app_secret" "peering" {
  application_object_id = var.application_object_id
}

resource "vnetpeer_cross_tenant_vnet_peering" "to_aiven" {
  name             = "to-aiven"
  vnet_id          = var.vnet_id
  remote_vnet_id   = var.aiven_vnet_id
  remote_tenant_id = var.aiven_tenant_id
  client_id        = var.client_id
  client_secret    = ephemeral.vnetpeer_aad_app_secret.peering.client_secret
}
