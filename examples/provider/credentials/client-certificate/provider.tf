# A service principal with a certificate (ARM_CLIENT_CERTIFICATE_PATH, or the base64 bundle in
# ARM_CLIENT_CERTIFICATE; ARM_CLIENT_CERTIFICATE_PASSWORD): a PKCS#12 (.pfx) or PEM file holding
# the key and certificate. Entra ID accepts RSA keys only; an EC key is refused at configure time.
variable "certificate_password" {
  type      = string
  sensitive = true
  default   = ""
}

provider "vnetpeer" {
  tenant_id                   = "11111111-1111-1111-1111-111111111111"
  subscription_id             = "00000000-0000-0000-0000-000000000000"
  client_id                   = "22222222-2222-2222-2222-222222222222"
  client_certificate_path     = "/secrets/terraform-peering.pfx"
  client_certificate_password = var.certificate_password
}
