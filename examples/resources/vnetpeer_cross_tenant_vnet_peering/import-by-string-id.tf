import {
  to = vnetpeer_cross_tenant_vnet_peering.to_aiven
  id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet/virtualNetworkPeerings/to-aiven"
}
