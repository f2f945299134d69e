# The account you are logged in with (`az login`): the default when nothing else is configured.
provider "vnetpeer" {
  subscription_id = "00000000-0000-0000-0000-000000000000"
  use_cli         = true
}
