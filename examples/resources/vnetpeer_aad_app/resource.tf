# Runbook step 1: a multi-tenant Entra ID application, its service principal and a client secret.
# Aiven's tenant and yours both need to know this app, so single-tenant audiences are refused.
variable "owner_object_ids" {
  description = "Object ids of the users or service principals that own the application."
  type        = set(string)
  default     = ["33333333-3333-3333-3333-333333333333"]
}

resource "vnetpeer_aad_app" "peering" {
  display_name     = "aiven-peering-prod"
  sign_in_audience = "AzureADMultipleOrgs"
  owners           = var.owner_object_ids

  secret_display_name = "terraform-managed"
  secret_lifetime     = "4380h" # six months

  # Changing any value here adds a new secret, waits until it works, then removes the old one.
  rotate_when_changed = {
    rotation = "2026-11"
  }

  timeouts {
    create = "10m"
  }
}

output "peering_app_client_id" {
  value = vnetpeer_aad_app.peering.client_id
}
