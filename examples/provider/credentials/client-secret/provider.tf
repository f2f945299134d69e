# A service principal with a client secret (ARM_CLIENT_ID / ARM_CLIENT_SECRET).
variable "client_secret" {
  type      = string
  sensitive = true
  default   = "replace-me"
}

variable "aiven_token" {
  type      = string
  sensitive = true
  default   = "replace-me"
}

provider "vnetpeer" {
  tenant_id       = "11111111-1111-1111-1111-111111111111"
  subscription_id = "00000000-0000-0000-0000-000000000000"
  client_id       = "22222222-2222-2222-2222-222222222222"
  client_secret   = var.client_secret
  aiven_api_token = var.aiven_token
}
