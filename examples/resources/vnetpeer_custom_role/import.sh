# The role definition's resource id.
terraform import vnetpeer_custom_role.peer_only /subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/66666666-6666-6666-6666-666666666666
