//! Fixtures shared by the unit tests of several modules: a customer VNet, a service's refusal
//! as the clients report it, and an Aiven peering connection as the Aiven client parses it.

use crate::aiven::PeeringConnection;
use crate::cloud::{CloudError, Service, ServiceError};

/// A customer VNet's resource id, in the mixed case users write it in.
pub const VNET: &str = "/subscriptions/c1000000-0000-4000-8000-000000000002/resourceGroups/rg-Workload/providers/Microsoft.Network/virtualNetworks/vnet-App";

/// `service` refused a request with HTTP `status` and error `code` (override other fields with
/// struct update syntax).
pub fn refusal(service: Service, status: u16, code: &str) -> ServiceError {
    ServiceError {
        service,
        operation: "PUT /x".into(),
        status,
        code: Some(code.into()),
        detail_codes: Vec::new(),
        message: "refused".into(),
        aadsts_codes: Vec::new(),
        request_id: None,
    }
}

/// Azure Resource Manager refused a request with HTTP `status` and error `code`.
pub fn arm_error(status: u16, code: &str) -> CloudError {
    CloudError::Service(Box::new(refusal(Service::ResourceManager, status, code)))
}

/// Aiven's connection to the VNet `vnet-app` of [`VNET`] in `state`, with Aiven's `state_info`.
pub fn aiven_connection(state: &str, info: serde_json::Value) -> PeeringConnection {
    serde_json::from_value(serde_json::json!({
        "peer_cloud_account": "c1000000-0000-4000-8000-000000000002",
        "peer_resource_group": "rg-workload",
        "peer_vpc": "vnet-app",
        "peering_connection_id": "pc-1",
        "state": state,
        "state_info": info,
    }))
    .expect("a valid peering connection")
}
