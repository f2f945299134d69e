output "project_vpc_peering_state" {
  value = module.project_vpc.aiven_peering_state
}

output "organization_vpc_peering_state" {
  value = module.organization_vpc.aiven_peering_state
}

output "aiven_peering_ids" {
  value = [module.project_vpc.aiven_peering_id, module.organization_vpc.aiven_peering_id]
}
