# Workload identity federation, for CI systems (ARM_USE_OIDC=true plus ARM_OIDC_TOKEN,
# ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE). The token file is read again for
# every new access token, so a rotating projected token keeps working.
provider "vnetpeer" {
  tenant_id            = "11111111-1111-1111-1111-111111111111"
  subscription_id      = "00000000-0000-0000-0000-000000000000"
  client_id            = "22222222-2222-2222-2222-222222222222"
  use_oidc             = true
  oidc_token_file_path = "/var/run/secrets/azure/tokens/azure-identity-token"
}
