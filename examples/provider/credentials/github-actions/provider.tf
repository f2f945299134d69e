# GitHub Actions with workload identity federation: the job needs `permissions: id-token: write`,
# which makes the runner set ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
# The provider asks GitHub for a fresh ID token (audience api://AzureADTokenExchange) before every
# Entra ID token request, so runs longer than an ID token's few minutes keep working.
# Usually all of this comes from ARM_USE_OIDC, ARM_CLIENT_ID, ARM_TENANT_ID and
# ARM_SUBSCRIPTION_ID; the block below shows the same settings as arguments.
provider "vnetpeer" {
  tenant_id       = "11111111-1111-1111-1111-111111111111"
  subscription_id = "00000000-0000-0000-0000-000000000000"
  client_id       = "22222222-2222-2222-2222-222222222222"
  use_oidc        = true
  use_cli         = false
}
