# Workload identity federation with a token you supply (ARM_USE_OIDC=true plus ARM_OIDC_TOKEN or
# ARM_OIDC_TOKEN_FILE_PATH). The token file is read again for every new access token, so a
# rotating token keeps working. CI systems: see the GitHub Actions, Azure DevOps, HCP Terraform
# and AKS examples, and the guides.
provider "vnetpeer" {
  tenant_id            = "11111111-1111-1111-1111-111111111111"
  subscription_id      = "00000000-0000-0000-0000-000000000000"
  client_id            = "22222222-2222-2222-2222-222222222222"
  use_oidc             = true
  oidc_token_file_path = "/var/run/secrets/tokens/ci-token"
}
