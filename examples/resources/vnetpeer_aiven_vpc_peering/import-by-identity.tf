import {
  to = vnetpeer_aiven_vpc_peering.this
  identity = {
    project        = "acme-prod"
    project_vpc_id = "99999999-9999-9999-9999-999999999999"
    vnet_id        = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
  }
}
