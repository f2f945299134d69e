# The identity the provider authenticates as, e.g. to make it an owner of the peering app.
data "vnetpeer_client_config" "current" {}

output "terraform_identity" {
  value = {
    tenant_id       = data.vnetpeer_client_config.current.tenant_id
    subscription_id = data.vnetpeer_client_config.current.subscription_id
    object_id       = data.vnetpeer_client_config.current.object_id
  }
}
