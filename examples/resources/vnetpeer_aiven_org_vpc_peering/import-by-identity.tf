import {
  to = vnetpeer_aiven_org_vpc_peering.this
  identity = {
    organization_id     = "org1a2b3c4d5e6"
    organization_vpc_id = "99999999-9999-9999-9999-999999999999"
    vnet_id             = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
  }
}
