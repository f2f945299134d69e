import {
  to = vnetpeer_service_principal.aiven
  id = "55555555-5555-5555-5555-555555555555"
}
