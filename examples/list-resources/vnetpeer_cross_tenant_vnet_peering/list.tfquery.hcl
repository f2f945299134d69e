# The peerings of the customer virtual network (runbook step 7).
list "vnetpeer_cross_tenant_vnet_peering" "on_vnet" {
  provider = vnetpeer

  config {
    vnet_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-workload/providers/Microsoft.Network/virtualNetworks/vnet-app"
  }
}
