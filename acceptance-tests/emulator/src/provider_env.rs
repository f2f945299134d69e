//! The provider's settings for an emulator, built in this one place for the Terraform harness,
//! `vnetpeer-sandbox` and the benchmark: what a user would export to point the provider at the
//! emulator, and the seeded world's ids as the runbook's variables.

use crate::emulator::Emulator;

impl Emulator {
    /// The environment that points the provider at this emulator as the seeded operator: the
    /// endpoint overrides, the operator's client credentials, the Aiven token, and
    /// `ARM_USE_CLI=false` so that a developer's own Azure CLI login is never used instead.
    pub fn provider_env(&self) -> Vec<(&'static str, String)> {
        let endpoints = self.endpoints();
        let seed = self.seed();
        vec![
            ("VNETPEER_AUTHORITY_HOST", endpoints.authority_host.clone()),
            ("VNETPEER_RESOURCE_MANAGER_ENDPOINT", endpoints.arm.clone()),
            ("VNETPEER_MICROSOFT_GRAPH_ENDPOINT", endpoints.graph.clone()),
            ("AIVEN_WEB_URL", endpoints.aiven.clone()),
            ("ARM_TENANT_ID", seed.customer_tenant_id.clone()),
            ("ARM_SUBSCRIPTION_ID", seed.customer_subscription_id.clone()),
            ("ARM_CLIENT_ID", seed.operator_client_id.clone()),
            (
                "ARM_CLIENT_SECRET",
                seed.operator_client_secret.expose().to_owned(),
            ),
            ("ARM_USE_CLI", "false".to_owned()),
            ("AIVEN_TOKEN", seed.aiven_token.expose().to_owned()),
        ]
    }

    /// The seeded world's ids as the `TF_VAR_*` variables of the runbook example
    /// (`examples/provider/runbook`) and of the `aiven-vnet-peering` module's tests.
    pub fn runbook_variables(&self) -> Vec<(&'static str, String)> {
        let seed = self.seed();
        vec![
            ("TF_VAR_customer_vnet_id", seed.customer_vnet_id.clone()),
            ("TF_VAR_aiven_project", seed.aiven_project.clone()),
            ("TF_VAR_aiven_cloud_name", seed.aiven_cloud_name.clone()),
            (
                "TF_VAR_aiven_project_vpc_id",
                seed.aiven_project_vpc_id.clone(),
            ),
            ("TF_VAR_aiven_tenant_id", seed.aiven_tenant_id.clone()),
            ("TF_VAR_aiven_vnet_id", seed.aiven_vnet_id.clone()),
        ]
    }
}
