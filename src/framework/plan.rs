//! Plan logic shared by every resource, satisfying docs/development/plugin-obligations.md, I1–I9 by
//! construction, plus the value hygiene applied to every state-bearing response (write-only
//! nulling, conformance).
//!
//! The rules, per attribute (config C, prior R, planned P):
//! - write-only → P is null (I4, J1);
//! - C unknown → P unknown (I3);
//! - not computed → P = C (null and empty collections exactly as written);
//! - computed, C set → P = C;
//! - computed, C null → the default if any, else unknown on create (I2) and R on update (I5);
//! - after the resource's `modify_plan`, `use_state_for_unknown` attributes get R back;
//! - force-new attributes whose P differs from R (or is unknown) go in `requires_replace` (I6).
//!
//! Nested blocks follow the same rules element by element: list elements correlate with prior
//! elements by index, single blocks directly, set elements by equality with a prior element
//! (Terraform's proposed value already carries their computed values). Blocks are never unknown.
//! Nothing here reads a clock or a random source, so plans are deterministic (I9).

use std::collections::BTreeMap;

use crate::value::{Type, Value};

use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::resource::PlannedChange;
use super::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use super::timeouts::TIMEOUTS_BLOCK;

fn unknown() -> Value {
    Value::Unknown(Box::default())
}

/// The attribute `name` of an object value; null when absent or when `object` is not an object.
pub(crate) fn field<'a>(object: &'a Value, name: &str) -> &'a Value {
    match object {
        Value::Object(fields) => fields.get(name).unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

/// Equality as Terraform's plan checks see it: exact (null ≠ empty, list order matters), numbers
/// by value, sets without order, and any two unknowns equal whatever their refinements.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Unknown(_), Value::Unknown(_)) => true,
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| values_equal(x, y))
        }
        (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len()
                && x.iter().all(|e| y.iter().any(|f| values_equal(e, f)))
                && y.iter().all(|f| x.iter().any(|e| values_equal(e, f)))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            // A missing attribute reads as null.
            x.keys().chain(y.keys()).all(|k| {
                values_equal(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Dynamic(x), Value::Dynamic(y)) => x.0 == y.0 && values_equal(&x.1, &y.1),
        _ => a == b,
    }
}

/// The plan for a create (`prior` null) or an update, before `modify_plan`. Takes `prior` and
/// `config` by value: the change keeps them, and Terraform asks for a plan of every resource on
/// every plan, so a copy of each would be paid N times. `proposed` is `None` when Terraform
/// proposed the prior state itself (every unchanged resource of a plan), for the same reason.
pub(crate) fn plan_change(
    schema: &Schema,
    prior: Value,
    config: Value,
    proposed: Option<&Value>,
) -> PlannedChange {
    let existing = (!prior.is_null()).then_some(&prior);
    let proposed = proposed.unwrap_or(&prior);
    let planned = plan_object(&schema.block, existing, &config, proposed);
    PlannedChange {
        prior,
        config,
        planned,
        requires_replace: Vec::new(),
        warnings: Diagnostics::new(),
    }
}

/// Applies the rules that must hold whatever `modify_plan` did, and checks the result the way
/// Terraform will (a provider bug becomes an error diagnostic here instead of a Terraform error).
/// `proposed_is_prior`: Terraform proposed the prior state itself.
pub(crate) fn finish_plan(
    schema: &Schema,
    change: &mut PlannedChange,
    proposed_is_prior: bool,
) -> Diagnostics {
    if proposed_is_prior && !change.is_create() && change.planned == change.prior {
        // Every unchanged resource of a plan. A state holds no unknowns, an unchanged value
        // forces no replacement, and Terraform built its proposal by the rules `check_plan`
        // checks, so only the write-only rule is left to apply (comparing costs less than
        // checking, on every plan of every resource).
        null_write_only(&schema.block, &mut change.planned);
        return Diagnostics::new();
    }
    if change.is_create() {
        // Terraform ignores requires_replace on create; an empty list keeps plans identical.
        change.requires_replace.clear();
    } else {
        keep_state_for_unknown(
            &schema.block,
            &change.prior,
            &change.config,
            &mut change.planned,
        );
        let mut paths = Vec::new();
        force_new_paths(
            &schema.block,
            &change.prior,
            &change.planned,
            &AttributePath::default(),
            &mut paths,
        );
        for path in paths {
            change.require_replace(path);
        }
    }
    null_write_only(&schema.block, &mut change.planned);
    let mut problems = Vec::new();
    check_plan(
        &schema.block,
        &change.config,
        &change.prior,
        &change.planned,
        &AttributePath::default(),
        &mut problems,
    );
    problems
        .into_iter()
        .map(|(path, problem)| {
            Diagnostic::error(
                format!("Provider bug: invalid plan for {path}"),
                format!("{problem}. Please report this issue to the provider developers."),
            )
            .at(path)
        })
        .collect()
}

fn plan_object(block: &Block, prior: Option<&Value>, config: &Value, proposed: &Value) -> Value {
    let Value::Object(proposed_fields) = proposed else {
        // Null (absent block) or unknown (dynamic block with unknown for_each): as proposed.
        return proposed.clone();
    };
    let mut planned = BTreeMap::new();
    for attribute in &block.attributes {
        let value = plan_attribute(
            attribute,
            field(config, &attribute.name),
            prior.map(|prior| field(prior, &attribute.name)),
        );
        planned.insert(attribute.name.clone(), value);
    }
    for nested in &block.blocks {
        let value = plan_nested(
            nested,
            prior.map(|prior| field(prior, &nested.name)),
            field(config, &nested.name),
            proposed_fields.get(&nested.name).unwrap_or(&Value::Null),
        );
        planned.insert(nested.name.clone(), value);
    }
    Value::Object(planned)
}

/// `prior` is `None` when the enclosing object is new (create, or a new block element).
fn plan_attribute(attribute: &Attribute, config: &Value, prior: Option<&Value>) -> Value {
    if attribute.write_only {
        return Value::Null;
    }
    if config.is_unknown() {
        // Refinements are dropped on purpose: a plain unknown promises nothing (I10).
        return unknown();
    }
    if !attribute.computed || !config.is_null() {
        return config.clone();
    }
    if let Some(default) = &attribute.default {
        return default.clone();
    }
    match prior {
        Some(prior) => prior.clone(),
        None => unknown(),
    }
}

fn plan_nested(
    nested: &NestedBlock,
    prior: Option<&Value>,
    config: &Value,
    proposed: &Value,
) -> Value {
    match (nested.nesting, proposed) {
        (Nesting::Single, Value::Object(_)) => {
            let prior = prior.filter(|prior| matches!(prior, Value::Object(_)));
            plan_object(&nested.block, prior, config, proposed)
        }
        (Nesting::List, Value::List(items)) => {
            let prior_items = match prior {
                Some(Value::List(prior_items)) => prior_items.as_slice(),
                _ => &[],
            };
            let config_items = match config {
                Value::List(config_items) => config_items.as_slice(),
                _ => &[],
            };
            Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| {
                        plan_object(
                            &nested.block,
                            prior_items.get(index),
                            config_items.get(index).unwrap_or(item),
                            item,
                        )
                    })
                    .collect(),
            )
        }
        (Nesting::Set, Value::Set(items)) => {
            let prior_items = match prior {
                Some(Value::Set(prior_items)) => prior_items.as_slice(),
                _ => &[],
            };
            Value::Set(
                items
                    .iter()
                    .map(|item| {
                        if prior_items.iter().any(|prior| values_equal(prior, item)) {
                            // Matched a prior element: Terraform already merged its computed values.
                            item.clone()
                        } else {
                            // A new element: its proposed value is its configuration.
                            plan_object(&nested.block, None, item, item)
                        }
                    })
                    .collect(),
            )
        }
        _ => proposed.clone(),
    }
}

fn keep_state_for_unknown(block: &Block, prior: &Value, config: &Value, planned: &mut Value) {
    let Value::Object(fields) = planned else {
        return;
    };
    if !matches!(prior, Value::Object(_)) {
        return;
    }
    for attribute in block.attributes.iter().filter(|a| a.use_state_for_unknown) {
        let prior_value = field(prior, &attribute.name);
        if field(config, &attribute.name).is_null()
            && !prior_value.is_null()
            && fields.get(&attribute.name).is_some_and(Value::is_unknown)
        {
            fields.insert(attribute.name.clone(), prior_value.clone());
        }
    }
    for nested in &block.blocks {
        let Some(value) = fields.get_mut(&nested.name) else {
            continue;
        };
        match (nested.nesting, value) {
            (Nesting::Single, value) => keep_state_for_unknown(
                &nested.block,
                field(prior, &nested.name),
                field(config, &nested.name),
                value,
            ),
            (Nesting::List, Value::List(items)) => {
                for (index, item) in items.iter_mut().enumerate() {
                    keep_state_for_unknown(
                        &nested.block,
                        list_element(field(prior, &nested.name), index),
                        list_element(field(config, &nested.name), index),
                        item,
                    );
                }
            }
            _ => {}
        }
    }
}

/// Element `index` of a list value; null when absent or when `list` is not a list.
fn list_element(list: &Value, index: usize) -> &Value {
    match list {
        Value::List(elements) => elements.get(index).unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

fn has_force_new(block: &Block) -> bool {
    block
        .attributes
        .iter()
        .any(|a| a.force_new || a.replace_if.is_some())
        || block.blocks.iter().any(|b| has_force_new(&b.block))
}

fn force_new_paths(
    block: &Block,
    prior: &Value,
    planned: &Value,
    path: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    for attribute in block.attributes.iter().filter(|a| a.force_new) {
        let planned_value = field(planned, &attribute.name);
        if planned_value.is_unknown() || !values_equal(planned_value, field(prior, &attribute.name))
        {
            out.push(path.clone().attr(&attribute.name));
        }
    }
    for attribute in &block.attributes {
        if let Some(replaces) = attribute.replace_if
            && replaces(
                field(prior, &attribute.name),
                field(planned, &attribute.name),
            )
        {
            out.push(path.clone().attr(&attribute.name));
        }
    }
    for nested in block.blocks.iter().filter(|b| has_force_new(&b.block)) {
        let block_path = path.clone().attr(&nested.name);
        let (prior_value, planned_value) =
            (field(prior, &nested.name), field(planned, &nested.name));
        match nested.nesting {
            Nesting::Single => {
                force_new_paths(&nested.block, prior_value, planned_value, &block_path, out);
            }
            Nesting::List => {
                let len = |v: &Value| v.as_list().map_or(0, <[Value]>::len);
                for index in 0..len(prior_value).max(len(planned_value)) {
                    force_new_paths(
                        &nested.block,
                        list_element(prior_value, index),
                        list_element(planned_value, index),
                        &block_path.clone().index(index),
                        out,
                    );
                }
            }
            // Set elements cannot be addressed: any change of the set replaces.
            Nesting::Set => {
                if !values_equal(prior_value, planned_value) {
                    out.push(block_path);
                }
            }
        }
    }
}

/// A light version of Terraform's AssertPlanValid (I3) for top-level and nested attributes.
fn check_plan(
    block: &Block,
    config: &Value,
    prior: &Value,
    planned: &Value,
    path: &AttributePath,
    problems: &mut Vec<(AttributePath, String)>,
) {
    for attribute in &block.attributes {
        let (c, r, p) = (
            field(config, &attribute.name),
            field(prior, &attribute.name),
            field(planned, &attribute.name),
        );
        let problem = if attribute.write_only {
            (!p.is_null()).then_some("a write-only attribute was planned with a value")
        } else if c.is_unknown() {
            (!p.is_unknown()).then_some("its configuration is unknown but the plan has a value")
        } else if values_equal(p, c)
            || (!r.is_null() && !c.is_null() && values_equal(p, r))
            || (attribute.computed && (c.is_null() || !attribute.optional))
        {
            None
        } else if c.is_null() {
            Some(
                "the plan sets a value for a non-computed attribute left null in the configuration",
            )
        } else {
            Some("the plan differs from the configured value")
        };
        if let Some(problem) = problem {
            problems.push((path.clone().attr(&attribute.name), problem.to_owned()));
        }
    }
    for nested in &block.blocks {
        let block_path = path.clone().attr(&nested.name);
        let (c, r, p) = (
            field(config, &nested.name),
            field(prior, &nested.name),
            field(planned, &nested.name),
        );
        if p.is_unknown() && !c.is_unknown() {
            problems.push((block_path, "a block was planned as unknown".to_owned()));
            continue;
        }
        match (nested.nesting, c, p) {
            (Nesting::Single, Value::Object(_), Value::Object(_)) => {
                check_plan(&nested.block, c, r, p, &block_path, problems);
            }
            (Nesting::Single, c, p) if c.is_null() != p.is_null() && !c.is_unknown() => {
                problems.push((
                    block_path,
                    "the block's presence differs from the configuration".to_owned(),
                ));
            }
            (Nesting::List, Value::List(config_items), Value::List(planned_items)) => {
                if config_items.len() != planned_items.len() {
                    problems.push((
                        block_path,
                        "the number of blocks differs from the configuration".to_owned(),
                    ));
                    continue;
                }
                let prior_items = match r {
                    Value::List(items) => items.as_slice(),
                    _ => &[],
                };
                for (index, (c, p)) in config_items.iter().zip(planned_items).enumerate() {
                    let r = prior_items.get(index).unwrap_or(&Value::Null);
                    check_plan(
                        &nested.block,
                        c,
                        r,
                        p,
                        &block_path.clone().index(index),
                        problems,
                    );
                }
            }
            _ => {}
        }
    }
}

/// For every top-level `case_insensitive` attribute of `state` that differs from its value in
/// `reference` (the prior state on refresh, the plan on apply) only in letter case, restores
/// the reference's spelling.
pub(crate) fn keep_reference_spelling(block: &Block, reference: &Value, state: &mut Value) {
    let Value::Object(fields) = state else {
        return;
    };
    for attribute in block.attributes.iter().filter(|a| a.case_insensitive) {
        let held = field(reference, &attribute.name);
        if let Some(value) = fields.get_mut(&attribute.name)
            && equal_ignoring_case(held, value)
        {
            *value = held.clone();
        }
    }
}

/// Strings equal without ASCII case, or lists/sets of them equal element by element.
pub(crate) fn equal_ignoring_case(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal_ignoring_case(a, b))
        }
        _ => false,
    }
}

/// Fills in what resources may leave out of an object: missing attributes become null and
/// absent list/set blocks become empty collections (docs/development/plugin-obligations.md, H5).
pub(crate) fn normalize(block: &Block, value: Value) -> Value {
    let Value::Object(mut fields) = value else {
        return value;
    };
    for attribute in &block.attributes {
        // `entry` would copy the name for every attribute, present or not.
        if !fields.contains_key(&attribute.name) {
            fields.insert(attribute.name.clone(), Value::Null);
        }
    }
    for nested in &block.blocks {
        let slot = match fields.get_mut(&nested.name) {
            Some(slot) => slot,
            None => fields.entry(nested.name.clone()).or_insert(Value::Null),
        };
        let value = std::mem::replace(slot, Value::Null);
        *slot = match (nested.nesting, value) {
            (Nesting::Single, value) => normalize(&nested.block, value),
            (Nesting::List, Value::Null) => Value::List(Vec::new()),
            (Nesting::Set, Value::Null) => Value::Set(Vec::new()),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .into_iter()
                    .map(|item| normalize(&nested.block, item))
                    .collect(),
            ),
            (Nesting::Set, Value::Set(items)) => Value::Set(
                items
                    .into_iter()
                    .map(|item| normalize(&nested.block, item))
                    .collect(),
            ),
            (_, other) => other,
        };
    }
    Value::Object(fields)
}

/// Sets every write-only attribute to null, at any depth (J1).
pub(crate) fn null_write_only(block: &Block, value: &mut Value) {
    let Value::Object(fields) = value else {
        return;
    };
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        fields.insert(attribute.name.clone(), Value::Null);
    }
    for nested in &block.blocks {
        match fields.get_mut(&nested.name) {
            Some(Value::List(items)) | Some(Value::Set(items)) => {
                for item in items {
                    null_write_only(&nested.block, item);
                }
            }
            Some(item) => null_write_only(&nested.block, item),
            None => {}
        }
    }
}

/// Sets every read-only (computed, not configurable) attribute to null, at any depth: what a
/// configuration cannot set.
pub(crate) fn null_read_only(block: &Block, value: &mut Value) {
    let Value::Object(fields) = value else {
        return;
    };
    for attribute in block
        .attributes
        .iter()
        .filter(|a| a.computed && !a.optional && !a.required)
    {
        fields.insert(attribute.name.clone(), Value::Null);
    }
    for nested in &block.blocks {
        match fields.get_mut(&nested.name) {
            Some(Value::List(items)) | Some(Value::Set(items)) => {
                for item in items {
                    null_read_only(&nested.block, item);
                }
            }
            Some(item) => null_read_only(&nested.block, item),
            None => {}
        }
    }
}

/// Copies the `timeouts` block from `source` into `target` (the framework owns it: resources
/// need not carry it through their results).
pub(crate) fn carry_timeouts(schema: &Schema, source: &Value, target: &mut Value) {
    if schema.timeouts.is_none() {
        return;
    }
    if let Value::Object(fields) = target {
        fields.insert(
            TIMEOUTS_BLOCK.to_owned(),
            field(source, TIMEOUTS_BLOCK).clone(),
        );
    }
}

/// Paths of unknown values inside `value`.
pub(crate) fn unknown_paths(value: &Value, path: &AttributePath, out: &mut Vec<AttributePath>) {
    match value {
        Value::Unknown(_) => out.push(path.clone()),
        // Wholly known parts are skipped before their path is built: results are checked on
        // every read, and nearly all of them are wholly known.
        Value::Object(fields) => {
            for (name, value) in fields.iter().filter(|(_, value)| !value.is_wholly_known()) {
                unknown_paths(value, &path.clone().attr(name), out);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries.iter().filter(|(_, value)| !value.is_wholly_known()) {
                unknown_paths(value, &path.clone().key(key), out);
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (index, value) in items.iter().enumerate() {
                if !value.is_wholly_known() {
                    unknown_paths(value, &path.clone().index(index), out);
                }
            }
        }
        Value::Set(items) => {
            if items.iter().any(|item| !item.is_wholly_known()) {
                out.push(path.clone());
            }
        }
        Value::Dynamic(inner) => unknown_paths(&inner.1, path, out),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Replaces every unknown inside `value` with null (what Terraform would store anyway).
pub(crate) fn unknowns_to_null(value: &mut Value) {
    match value {
        Value::Unknown(_) => *value = Value::Null,
        Value::Object(fields) | Value::Map(fields) => {
            fields.values_mut().for_each(unknowns_to_null)
        }
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            items.iter_mut().for_each(unknowns_to_null)
        }
        Value::Dynamic(inner) => unknowns_to_null(&mut inner.1),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Runs every attribute's validators on a configuration (skipping unknown and null values),
/// warns about deprecated attributes in use, and reports at the attribute's path.
pub(crate) fn validate_config(
    block: &Block,
    config: &Value,
    path: &AttributePath,
    diagnostics: &mut Diagnostics,
) {
    for attribute in &block.attributes {
        let value = field(config, &attribute.name);
        if value.is_null() || value.is_unknown() {
            continue;
        }
        if !attribute.deprecated && attribute.validators.is_empty() {
            continue;
        }
        let attribute_path = path.clone().attr(&attribute.name);
        if attribute.deprecated {
            diagnostics.push(
                Diagnostic::warning(
                    format!("Argument {attribute_path} is deprecated"),
                    attribute.description.clone(),
                )
                .at(attribute_path.clone()),
            );
        }
        for validator in &attribute.validators {
            if let Err(reason) = validator.check(value) {
                let detail = if attribute.sensitive || attribute.write_only {
                    "The value is not shown because the argument is sensitive.".to_owned()
                } else {
                    format!("{reason}.")
                };
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "Invalid {attribute_path}: must be {}",
                            validator.description()
                        ),
                        detail,
                    )
                    .at(attribute_path.clone()),
                );
            }
        }
    }
    for_each_nested_object(block, config, path, |nested, object, path| {
        validate_config(nested, object, path, diagnostics);
    });
}

/// Calls `visit` with each object of `block`'s nested blocks in `config` and its path; set
/// elements cannot be addressed, so their path is the block's.
fn for_each_nested_object(
    block: &Block,
    config: &Value,
    path: &AttributePath,
    mut visit: impl FnMut(&Block, &Value, &AttributePath),
) {
    for nested in &block.blocks {
        let block_path = path.clone().attr(&nested.name);
        match field(config, &nested.name) {
            object @ Value::Object(_) => visit(&nested.block, object, &block_path),
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    visit(&nested.block, item, &block_path.clone().index(index));
                }
            }
            Value::Set(items) => {
                for item in items {
                    visit(&nested.block, item, &block_path);
                }
            }
            _ => {}
        }
    }
}

/// Errors for write-only attributes set in a configuration, used when the client cannot handle
/// them (Terraform before 1.11).
pub(crate) fn reject_write_only(
    block: &Block,
    config: &Value,
    path: &AttributePath,
    diagnostics: &mut Diagnostics,
) {
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        if !field(config, &attribute.name).is_null() {
            let attribute_path = path.clone().attr(&attribute.name);
            diagnostics.push(
                Diagnostic::error(
                    format!("Write-only argument {attribute_path} needs Terraform 1.11 or later"),
                    "This Terraform version cannot keep write-only values out of the state. \
                     Upgrade Terraform, or remove the argument.",
                )
                .at(attribute_path),
            );
        }
    }
    for_each_nested_object(block, config, path, |nested, object, path| {
        reject_write_only(nested, object, path, diagnostics);
    });
}

/// Checks that `value` has exactly the type `ty` (I1) and says where it does not.
pub(crate) fn check_conforms(ty: &Type, value: &Value) -> Result<(), String> {
    value.conforms_to(ty)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
