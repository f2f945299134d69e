# AKS workload identity (Atlantis, self-hosted runners on AKS): the webhook injects
# AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE into pods labelled
# azure.workload.identity/use: "true". The token file is read again for every Entra ID token
# request, so the kubelet's rotation never breaks a long apply.
provider "vnetpeer" {
  subscription_id           = "00000000-0000-0000-0000-000000000000"
  use_aks_workload_identity = true
  use_cli                   = false
}
