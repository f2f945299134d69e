# Azure DevOps with a workload identity federation service connection. Map the pipeline's
# variables into the step's environment:
#   ARM_USE_OIDC: true
#   ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID: <the service connection's id>
#   SYSTEM_OIDCREQUESTURI: $(System.OidcRequestUri)
#   SYSTEM_ACCESSTOKEN: $(System.AccessToken)
# The provider asks Azure DevOps for a fresh ID token before every Entra ID token request.
provider "vnetpeer" {
  tenant_id                          = "11111111-1111-1111-1111-111111111111"
  subscription_id                    = "00000000-0000-0000-0000-000000000000"
  client_id                          = "22222222-2222-2222-2222-222222222222"
  use_oidc                           = true
  ado_pipeline_service_connection_id = "33333333-3333-3333-3333-333333333333"
  use_cli                            = false
}
