# Runbook step 3: Aiven's multi-tenant application needs a service principal in your tenant
# before it may be granted anything there. An existing one is adopted (and never deleted).
variable "aiven_application_id" {
  description = "Client (application) id of Aiven's peering application."
  type        = string
  default     = "55f300d4-fc50-4c5e-9222-e90a6e2187fb"
}

resource "vnetpeer_service_principal" "aiven" {
  client_id    = var.aiven_application_id
  use_existing = true
}

output "aiven_service_principal_object_id" {
  value = vnetpeer_service_principal.aiven.object_id
}
