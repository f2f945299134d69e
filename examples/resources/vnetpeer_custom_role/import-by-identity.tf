import {
  to = vnetpeer_custom_role.peer_only
  identity = {
    scope              = "/subscriptions/00000000-0000-0000-0000-000000000000"
    role_definition_id = "66666666-6666-6666-6666-666666666666"
  }
}
