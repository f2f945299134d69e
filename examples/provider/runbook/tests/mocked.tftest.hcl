# Unit test without any service: the provider is mocked. Mocked strings are 8 random
# characters, so every value that a resource validates as an id gets a GUID-shaped default.
# Fixed inputs, whatever TF_VAR_* the environment holds, so the mocked ids below agree with them.
variables {
  aiven_project    = "acme-prod"
  aiven_cloud_name = "azure-westeurope"
  customer_vnet_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
}

mock_provider "vnetpeer" {
  mock_data "vnetpeer_client_config" {
    defaults = {
      tenant_id       = "11111111-1111-1111-1111-111111111111"
      subscription_id = "00000000-0000-0000-0000-000000000000"
      client_id       = "33333333-3333-3333-3333-333333333333"
      object_id       = "33333333-3333-3333-3333-333333333333"
    }
  }

  mock_data "vnetpeer_aiven_project_vpc" {
    defaults = {
      project_vpc_id = "99999999-9999-9999-9999-999999999999"
      network_cidr   = "10.20.0.0/24"
    }
  }

  mock_resource "vnetpeer_service_principal" {
    defaults = {
      object_id = "55555555-5555-5555-5555-555555555555"
    }
  }

  mock_resource "vnetpeer_custom_role" {
    defaults = {
      role_definition_resource_id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/66666666-6666-6666-6666-666666666666"
    }
  }

  mock_resource "vnetpeer_aiven_vpc_peering" {
    defaults = {
      id              = "acme-prod/99999999-9999-9999-9999-999999999999/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/app-vnet"
      aiven_tenant_id = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
      aiven_vnet_id   = "/subscriptions/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa/resourceGroups/aiven-rg/providers/Microsoft.Network/virtualNetworks/aiven-vnet"
    }
  }

  mock_resource "vnetpeer_aad_app" {
    defaults = {
      client_id                   = "22222222-2222-2222-2222-222222222222"
      object_id                   = "44444444-4444-4444-4444-444444444444"
      service_principal_object_id = "77777777-7777-7777-7777-777777777777"
      tenant_id                   = "11111111-1111-1111-1111-111111111111"
    }
  }
}

run "wires_the_app_into_the_peering" {
  command = apply

  assert {
    condition     = vnetpeer_aiven_vpc_peering.this.peer_azure_app_id == "22222222-2222-2222-2222-222222222222"
    error_message = "The Aiven peering does not use the peering application."
  }
}
