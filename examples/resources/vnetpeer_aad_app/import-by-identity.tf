import {
  to = vnetpeer_aad_app.peering
  identity = {
    object_id = "44444444-4444-4444-4444-444444444444"
  }
}
