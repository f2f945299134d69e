import {
  to = vnetpeer_service_principal.aiven
  identity = {
    object_id = "55555555-5555-5555-5555-555555555555"
  }
}
