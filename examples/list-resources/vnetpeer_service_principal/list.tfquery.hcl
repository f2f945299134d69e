# Aiven's service principal in this tenant (runbook step 3).
list "vnetpeer_service_principal" "aiven" {
  provider = vnetpeer

  config {
    client_id = "55f300d4-fc50-4c5e-9222-e90a6e2187fb"
  }
}
