# Runbook step 5: the project VPC of an Aiven project in one cloud region.
data "vnetpeer_aiven_project_vpc" "westeurope" {
  project    = "acme-prod"
  cloud_name = "azure-westeurope"
}

output "aiven_network_cidr" {
  value = data.vnetpeer_aiven_project_vpc.westeurope.network_cidr
}
