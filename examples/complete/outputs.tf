output "application_client_id" {
  value = module.aiven_peering.application_client_id
}

output "aiven_peering_id" {
  value = module.aiven_peering.aiven_peering_id
}

output "aiven_peering_state" {
  value = module.aiven_peering.aiven_peering_state
}

output "aiven_vnet_id" {
  value = module.aiven_peering.aiven_vnet_id
}

output "azure_peering_id" {
  value = module.aiven_peering.azure_peering_id
}

output "azure_peering_state" {
  value = module.aiven_peering.azure_peering_state
}

output "custom_role_id" {
  value = module.aiven_peering.custom_role_id
}

output "project_vpc_id" {
  value = module.aiven_peering.project_vpc_id
}
