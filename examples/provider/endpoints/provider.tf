# Endpoint overrides, for private clouds and for the offline sandbox: `vnetpeer-sandbox
# --port-base 18001` listens on these ports and prints the matching settings (also as the
# VNETPEER_* environment variables). `http://` is accepted for loopback addresses only.
provider "vnetpeer" {
  tenant_id       = "11111111-1111-1111-1111-111111111111"
  subscription_id = "00000000-0000-0000-0000-000000000000"
  client_id       = "22222222-2222-2222-2222-222222222222"
  client_secret   = "sandbox-secret"
  use_cli         = false

  endpoints {
    authority_host   = "http://127.0.0.1:18001"
    microsoft_graph  = "http://127.0.0.1:18002"
    resource_manager = "http://127.0.0.1:18003"
  }

  aiven_api_token = "sandbox-token"
  aiven_api_url   = "http://127.0.0.1:18004"
}
