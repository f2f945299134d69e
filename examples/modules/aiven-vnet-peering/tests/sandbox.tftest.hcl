# Runs against vnetpeer-sandbox (export the settings it prints, plus TF_VAR_aiven_project,
# TF_VAR_aiven_cloud_name and TF_VAR_vnet_id), or against the real services with real credentials:
# `terraform test` applies the module, checks that the peering is up, and destroys everything.
variables {
  name_prefix = "tftest"
}

run "peering_becomes_active_in_one_apply" {
  command = apply

  assert {
    condition     = output.azure_peering_state == "Connected"
    error_message = "The Azure side of the peering is not connected."
  }

  assert {
    condition     = output.aiven_peering_state == "ACTIVE"
    error_message = "Aiven does not report the peering ACTIVE."
  }

  assert {
    condition     = can(regex("^/subscriptions/.+/virtualNetworkPeerings/.+$", output.azure_peering_id))
    error_message = "The Azure peering id is not an ARM resource id."
  }
}
