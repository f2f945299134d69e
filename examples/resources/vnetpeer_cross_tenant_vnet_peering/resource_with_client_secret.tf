# The same peering with a secret you already hold. client_secret is write-only (Terraform 1.11+):
# it is sent to the provider but never stored in the plan or the state.
variable "peering_app_client_secret" {
  type      = string
  sensitive = true
  ephemeral = true
  default   = "replace-me"
}

resource "vnetpeer_cross_tenant_vnet_peering" "with_secret" {
  name             = "to-aiven-with-secret"
  vnet_id          = var.vnet_id
  remote_vnet_id   = var.aiven_vnet_id
  remote_tenant_id = var.aiven_tenant_id
  client_id        = var.peering_app_client_id
  client_secret    = var.peering_app_client_secret
}
