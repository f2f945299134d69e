//! The provider-defined functions, one file each, and their registry. They are pure: no
//! configuration, no network (Terraform may call them while validating variables, before the
//! provider is configured), and they reuse the parsers the resources use, so a value a function
//! accepts is one the resources accept too.

use std::sync::Arc;

use crate::framework::Function;

pub mod cidrs_overlap;
pub mod parse_vnet_id;

/// Every function the provider serves.
pub fn functions() -> Vec<Arc<dyn Function>> {
    vec![
        Arc::new(parse_vnet_id::ParseVnetId),
        Arc::new(cidrs_overlap::CidrsOverlap),
    ]
}

#[cfg(test)]
mod tests;
