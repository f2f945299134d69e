# The custom roles of the subscription, such as the peer-only role of runbook step 4.
list "vnetpeer_custom_role" "in_subscription" {
  provider = vnetpeer

  config {
    scope = "/subscriptions/00000000-0000-0000-0000-000000000000"
  }
}
