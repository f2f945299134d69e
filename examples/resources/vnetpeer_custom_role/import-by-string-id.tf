import {
  to = vnetpeer_custom_role.peer_only
  id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/66666666-6666-6666-6666-666666666666"
}
