# HCP Terraform dynamic credentials. With TFC_AZURE_PROVIDER_AUTH=true and
# TFC_AZURE_RUN_CLIENT_ID set on the workspace, HCP Terraform sets ARM_USE_OIDC, ARM_CLIENT_ID
# and ARM_OIDC_TOKEN for each run phase: an empty provider block (plus ARM_TENANT_ID and
# ARM_SUBSCRIPTION_ID) is enough. With tagged configurations (agents 1.12+), pass the files
# HCP Terraform writes for each one:
variable "tfc_azure_dynamic_credentials" {
  description = "Set by HCP Terraform when the workspace has tagged Azure configurations."
  type = object({
    default = object({ client_id_file_path = string, oidc_token_file_path = string })
    aliases = map(object({ client_id_file_path = string, oidc_token_file_path = string }))
  })
  default = {
    default = { client_id_file_path = "/tmp/client-id", oidc_token_file_path = "/tmp/token" }
    aliases = {
      customer = { client_id_file_path = "/tmp/customer-client-id", oidc_token_file_path = "/tmp/customer-token" }
    }
  }
}

provider "vnetpeer" {
  tenant_id            = "11111111-1111-1111-1111-111111111111"
  subscription_id      = "00000000-0000-0000-0000-000000000000"
  use_oidc             = true
  client_id_file_path  = var.tfc_azure_dynamic_credentials.aliases["customer"].client_id_file_path
  oidc_token_file_path = var.tfc_azure_dynamic_credentials.aliases["customer"].oidc_token_file_path
}
