//! `provider::vnetpeer::cidrs_overlap(a, b)`: whether any range of one list shares an address
//! with any range of the other. Meant for variable validation: Aiven rejects a peering whose
//! VNet address space overlaps the project VPC's range, and that is better caught at plan time.

use crate::cidr::Cidr;
use crate::framework::{Function, FunctionError, Parameter, Signature};
use crate::value::{Type, Value};

/// See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct CidrsOverlap;

impl Function for CidrsOverlap {
    fn name(&self) -> &'static str {
        "cidrs_overlap"
    }

    fn signature(&self) -> Signature {
        let list = || Type::List(Box::new(Type::String));
        Signature {
            parameters: vec![
                Parameter::new(
                    "a",
                    list(),
                    "CIDR blocks, e.g. a VNet's address space `[\"10.0.0.0/16\"]`.",
                ),
                Parameter::new(
                    "b",
                    list(),
                    "CIDR blocks, e.g. the Aiven project VPC's `[\"10.10.0.0/24\"]`.",
                ),
            ],
            return_type: Type::Bool,
            summary: "Tells whether two lists of CIDR blocks overlap".to_owned(),
            description: "Returns `true` when a block of `a` shares at least one address with a \
                block of `b`. IPv4 and IPv6 blocks never overlap each other; an empty list \
                overlaps nothing. Every element must be a network address with its prefix \
                length (host bits zero), such as `10.0.0.0/16`."
                .to_owned(),
        }
    }

    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError> {
        let a = blocks(arguments, 0, "a")?;
        let b = blocks(arguments, 1, "b")?;
        let overlap = a.iter().any(|x| b.iter().any(|y| x.overlaps(y)));
        Ok(Value::Bool(overlap))
    }
}

/// The parsed blocks of the list argument at `position`.
fn blocks(arguments: &[Value], position: usize, name: &str) -> Result<Vec<Cidr>, FunctionError> {
    let Some(Value::List(elements)) = arguments.get(position) else {
        return Err(FunctionError::argument(
            position,
            format!("{name} must be a list of CIDR blocks."),
        ));
    };
    elements
        .iter()
        .enumerate()
        .map(|(index, element)| match element {
            Value::String(text) => Cidr::parse_network(text).map_err(|problem| {
                FunctionError::argument(
                    position,
                    format!(
                        "{name}[{index}]: {problem}. Write a network address and prefix length, \
                         such as \"10.0.0.0/16\"."
                    ),
                )
            }),
            _ => Err(FunctionError::argument(
                position,
                format!("{name}[{index}] must be a CIDR block such as \"10.0.0.0/16\", not null."),
            )),
        })
        .collect()
}
