# The Azure peering connections of the Aiven organization's VPCs (runbook step 6).
list "vnetpeer_aiven_org_vpc_peering" "organization" {
  provider = vnetpeer

  config {
    organization_id = "org1a2b3c4d5e6"
  }
}
