# Runbook step 4: Aiven's service principal gets the peer-only custom role on the VNet
# (role by id). principalType is always sent, so a service principal created moments ago in
# the same apply is accepted before Entra ID has replicated it.
variable "aiven_service_principal_object_id" {
  type    = string
  default = "55555555-5555-5555-5555-555555555555"
}

resource "vnetpeer_role_assignment" "aiven_peer_only" {
  scope              = var.vnet_id
  role_definition_id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/66666666-6666-6666-6666-666666666666"
  principal_id       = var.aiven_service_principal_object_id
}
