# The role assignments made on the customer virtual network (runbook steps 2 and 4).
list "vnetpeer_role_assignment" "on_vnet" {
  provider = vnetpeer

  config {
    scope = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-workload/providers/Microsoft.Network/virtualNetworks/vnet-app"
  }
}
