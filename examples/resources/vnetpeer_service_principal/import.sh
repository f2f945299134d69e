# The service principal's object id.
terraform import vnetpeer_service_principal.aiven 55555555-5555-5555-5555-555555555555
