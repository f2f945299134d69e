output "application_client_id" {
  description = "Client id of the peering application (step 1)."
  value       = vnetpeer_aad_app.peering.client_id
}

output "application_object_id" {
  description = "Object id of the peering application."
  value       = vnetpeer_aad_app.peering.object_id
}

output "application_service_principal_object_id" {
  description = "Object id of the peering application's service principal in the customer tenant."
  value       = vnetpeer_aad_app.peering.service_principal_object_id
}

output "aiven_service_principal_object_id" {
  description = "Object id of Aiven's service principal in the customer tenant."
  value       = local.aiven_service_principal_object_id
}

output "custom_role_id" {
  description = "Resource id of the peer-only custom role."
  value       = vnetpeer_custom_role.peer_only.role_definition_resource_id
}

output "project_vpc_id" {
  description = "Id of the Aiven VPC peered: the project VPC, or the organization VPC (also in `aiven_vpc_id`)."
  value       = local.aiven_vpc_id
}

output "aiven_vpc_id" {
  description = "Id of the Aiven VPC peered (project VPC or organization VPC)."
  value       = local.aiven_vpc_id
}

output "aiven_peering_id" {
  description = "Id of the Aiven peering connection (`project/project_vpc_id/vnet_id`, or `organization/organization_id/organization_vpc_id/vnet_id`)."
  value       = local.aiven_peering.id
}

output "aiven_peering_state" {
  description = "Aiven's state of the peering connection: `ACTIVE` once the services are reachable over the peering."
  value       = vnetpeer_cross_tenant_vnet_peering.to_aiven.aiven_peering_state
}

output "aiven_tenant_id" {
  description = "Aiven's Entra tenant."
  value       = local.aiven_peering.aiven_tenant_id
}

output "aiven_vnet_id" {
  description = "Resource id of Aiven's virtual network."
  value       = local.aiven_peering.aiven_vnet_id
}

output "azure_peering_id" {
  description = "Resource id of the peering on the customer VNet."
  value       = vnetpeer_cross_tenant_vnet_peering.to_aiven.id
}

output "azure_peering_state" {
  description = "`peeringState` of the peering on the customer VNet: `Connected` when both sides exist."
  value       = vnetpeer_cross_tenant_vnet_peering.to_aiven.peering_state
}
