import {
  to = vnetpeer_cross_tenant_vnet_peering.to_aiven
  identity = {
    subscription_id      = "00000000-0000-0000-0000-000000000000"
    resource_group_name  = "network-rg"
    virtual_network_name = "app-vnet"
    name                 = "to-aiven"
  }
}
