# Runs against vnetpeer-sandbox (or real clouds): apply creates everything, the assertions run,
# and terraform test destroys it all again at the end.
run "peering_is_connected" {
  command = apply

  assert {
    condition     = vnetpeer_cross_tenant_vnet_peering.to_aiven.peering_state == "Connected"
    error_message = "The Azure side of the peering is not connected."
  }
}

# The Aiven peering's state was recorded when Aiven reached PENDING_PEER; a refresh shows what
# Aiven reports now that both sides exist.
run "aiven_reports_active_on_refresh" {
  command = plan

  assert {
    condition     = vnetpeer_aiven_vpc_peering.this.state == "ACTIVE"
    error_message = "Aiven does not report the peering as active."
  }
}
