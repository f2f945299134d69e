variable "aiven_project" {
  description = "Name of the Aiven project whose project VPC is peered, e.g. `acme-prod`. Set this or `aiven_organization_id`."
  type        = string
  default     = null
}

variable "aiven_organization_id" {
  description = "Id of the Aiven organization whose organization VPC is peered, e.g. `org1a2b3c4d5e6` (the Aiven token needs `organization:networking:write`). Set this or `aiven_project`."
  type        = string
  default     = null

  validation {
    condition     = (var.aiven_organization_id == null) != (var.aiven_project == null)
    error_message = "Set exactly one of aiven_project (to peer the project's VPC) and aiven_organization_id (to peer an organization VPC shared by the organization's projects)."
  }
}

variable "aiven_cloud_name" {
  description = "Aiven cloud of the VPC, e.g. `azure-switzerland-north`."
  type        = string
}

variable "vnet_id" {
  description = "Resource id of the customer virtual network to peer with the Aiven VPC."
  type        = string

  validation {
    condition     = can(regex("(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+/providers/Microsoft\\.Network/virtualNetworks/[^/]+$", var.vnet_id))
    error_message = "vnet_id must be a virtual network id: /subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>."
  }
}

variable "name_prefix" {
  description = "Prefix of every name the module gives (application, custom role, peering). Names also carry the project and the VNet, so one prefix serves several VNets."
  type        = string
  default     = "aiven"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,30}$", var.name_prefix))
    error_message = "name_prefix must be 1-31 letters, digits or '-', starting with a letter or digit."
  }
}

variable "aiven_app_id" {
  description = "Client id of Aiven's multi-tenant application (the same for every Aiven customer)."
  type        = string
  default     = "55f300d4-fc50-4c5e-9222-e90a6e2187fb"
}

variable "aiven_service_principal_object_id" {
  description = "Object id of Aiven's service principal in the customer tenant, when it is managed elsewhere (e.g. by another instance of this module). Null: this module adopts it, or creates it if it is missing."
  type        = string
  default     = null
}

variable "user_peer_network_cidrs" {
  description = "Private IPv4 ranges Aiven routes through the peering instead of the VNet's address space. Null: the VNet's address space. A change is made in place."
  type        = set(string)
  default     = null
}
