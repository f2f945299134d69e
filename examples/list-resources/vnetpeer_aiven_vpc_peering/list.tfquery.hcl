# The Azure peering connections of the Aiven project's VPCs (runbook step 6).
list "vnetpeer_aiven_vpc_peering" "project" {
  provider = vnetpeer

  config {
    project = "acme-prod"
  }
}
