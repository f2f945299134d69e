# Runbook step 4: a role that allows peering with a VNet and nothing else, for Aiven's
# service principal. Its id is derived from scope and name, so a retried create is idempotent.
variable "subscription_id" {
  type    = string
  default = "00000000-0000-0000-0000-000000000000"
}

resource "vnetpeer_custom_role" "peer_only" {
  name        = "Aiven VNet peering"
  scope       = "/subscriptions/${var.subscription_id}"
  description = "Lets Aiven's service principal peer its VNet with ours, nothing more."
  actions     = ["Microsoft.Network/virtualNetworks/peer/action"]
}

output "peer_only_role_id" {
  value = vnetpeer_custom_role.peer_only.role_definition_resource_id
}
