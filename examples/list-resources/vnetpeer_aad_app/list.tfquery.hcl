# The applications whose display name starts with "acme-prod", with their configuration
# (`terraform query -generate-config-out=adopted.tf` writes it with an import block each).
list "vnetpeer_aad_app" "peering" {
  provider         = vnetpeer
  include_resource = true

  config {
    display_name_prefix = "acme-prod"
  }
}
