# Runbook step 5 for an organization VPC: the VPC an Aiven organization shares with its
# projects, in one cloud region. The Aiven token needs `organization:networking:read`.
data "vnetpeer_aiven_organization_vpc" "westeurope" {
  organization_id = "org1a2b3c4d5e6"
  cloud_name      = "azure-westeurope"
}

output "aiven_network_cidr" {
  value = data.vnetpeer_aiven_organization_vpc.westeurope.network_cidr
}
