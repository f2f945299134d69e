# The application's object id (not its client id). The client secret cannot be imported:
# Entra ID never returns a secret's value after it was created.
terraform import vnetpeer_aad_app.peering 44444444-4444-4444-4444-444444444444
