import {
  to = vnetpeer_role_assignment.app_network_contributor
  identity = {
    scope = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
    name  = "88888888-8888-8888-8888-888888888888"
  }
}
