//! `provider::vnetpeer::parse_vnet_id(id)`: the parts of a virtual network's ARM id, named as
//! azurerm names them (`subscription_id`, `resource_group_name`, `virtual_network_name`), so a
//! module can take one `vnet_id` variable and still feed resources that want the parts.

use std::collections::{BTreeMap, BTreeSet};

use crate::azure::ids::VirtualNetworkId;
use crate::framework::{Function, FunctionError, Parameter, Signature};
use crate::value::{Type, Value};

/// See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParseVnetId;

/// The attributes of the returned object.
const PARTS: [&str; 3] = [
    "subscription_id",
    "resource_group_name",
    "virtual_network_name",
];

fn result_type() -> Type {
    Type::Object(
        PARTS
            .iter()
            .map(|name| ((*name).to_owned(), Type::String))
            .collect(),
        BTreeSet::new(),
    )
}

impl Function for ParseVnetId {
    fn name(&self) -> &'static str {
        "parse_vnet_id"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new(
                "id",
                Type::String,
                "The virtual network's resource id, \
                 `/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>` \
                 (segment names are case-insensitive, as ARM treats them).",
            )],
            return_type: result_type(),
            summary: "Parses a virtual network id into its parts".to_owned(),
            description: "Returns an object with `subscription_id` (lower-case GUID), \
                `resource_group_name` and `virtual_network_name` (as written in the id). Fails \
                with the expected form when the id is not a virtual network id."
                .to_owned(),
        }
    }

    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError> {
        let Some(Value::String(id)) = arguments.first() else {
            return Err(FunctionError::argument(0, "id must be a string."));
        };
        let parsed = VirtualNetworkId::parse(id)
            .map_err(|error| FunctionError::argument(0, format!("{error}.")))?;
        let values = [parsed.subscription_id, parsed.resource_group, parsed.name];
        Ok(Value::Object(
            PARTS
                .iter()
                .zip(values)
                .map(|(name, value)| ((*name).to_owned(), Value::String(value)))
                .collect::<BTreeMap<_, _>>(),
        ))
    }
}
