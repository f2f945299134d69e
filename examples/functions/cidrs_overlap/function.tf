# Refuse an Aiven project VPC range that overlaps the VNet at plan time, before Aiven would
# reject the peering.
variable "vnet_address_space" {
  type    = list(string)
  default = ["10.0.0.0/16"]
}

variable "aiven_vpc_cidr" {
  type    = string
  default = "10.10.0.0/24"

  validation {
    condition     = !provider::vnetpeer::cidrs_overlap(var.vnet_address_space, [var.aiven_vpc_cidr])
    error_message = "aiven_vpc_cidr must not overlap the VNet's address space."
  }
}

output "overlaps_the_vnet" {
  value = provider::vnetpeer::cidrs_overlap(var.vnet_address_space, [var.aiven_vpc_cidr])
}
