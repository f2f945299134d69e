//! Plan-logic cases. Each case gives a prior state and a configuration; the helper builds
//! Terraform's proposed value the way core does (objchange.ProposedNew, simplified), runs the
//! framework's plan, and compares with the expected plan and replace paths.

use super::*;
use crate::framework::{
    Attribute, AttributePath, Block, NestedBlock, Schema, Timeouts, validators,
};
use crate::value::{Refinements, Type, Value};

fn s(text: &str) -> Value {
    Value::string(text)
}

fn n(number: i64) -> Value {
    Value::from(number)
}

fn unk() -> Value {
    Value::unknown()
}

fn obj<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::object(fields)
}

fn schema() -> Schema {
    Schema::new(
        Block::new("test")
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("zone").optional().force_new())
            .attribute(Attribute::number("size").optional().computed().default(1))
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::number("revision").computed())
            .attribute(Attribute::string("region").optional().computed())
            .attribute(Attribute::map("tags", Type::String).optional())
            .attribute(Attribute::set("labels", Type::String).optional())
            .attribute(
                Attribute::string("token")
                    .optional()
                    .sensitive()
                    .write_only(),
            )
            .block(
                NestedBlock::list(
                    "rule",
                    Block::new("rule")
                        .attribute(Attribute::number("port").required().validate(
                            validators::Validator::new(
                                "a port below 65536",
                                |v| match v.as_i64() {
                                    Some(port) if (1..65536).contains(&port) => Ok(()),
                                    _ => Err("out of range".to_owned()),
                                },
                            ),
                        ))
                        .attribute(
                            Attribute::string("protocol")
                                .optional()
                                .computed()
                                .default("tcp"),
                        )
                        .attribute(Attribute::string("rule_id").computed()),
                )
                .max_items(3),
            )
            .block(NestedBlock::single(
                "endpoint",
                Block::new("endpoint")
                    .attribute(Attribute::string("host").required().force_new())
                    .attribute(Attribute::string("address").computed()),
            ))
            .block(NestedBlock::set(
                "member",
                Block::new("member")
                    .attribute(Attribute::string("user").required())
                    .attribute(Attribute::string("member_id").computed()),
            )),
    )
    .with_timeouts(Timeouts::minutes(1, 1, 1, 1))
}

/// A configuration: `fields` over an all-null object with empty block lists.
fn config<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut value = normalize(&schema().block, Value::object(fields));
    if let Value::Object(map) = &mut value {
        for name in ["id", "revision"] {
            map.insert(name.to_owned(), Value::Null);
        }
    }
    value
}

/// What Terraform core proposes (objchange.ProposedNew, simplified for these schemas).
fn proposed(block: &Block, prior: &Value, config: &Value) -> Value {
    let Value::Object(_) = config else {
        return config.clone();
    };
    let mut out = std::collections::BTreeMap::new();
    for attribute in &block.attributes {
        let c = field(config, &attribute.name);
        let value = if attribute.computed && c.is_null() {
            field(prior, &attribute.name).clone()
        } else {
            c.clone()
        };
        out.insert(attribute.name.clone(), value);
    }
    for nested in &block.blocks {
        let (c, r) = (field(config, &nested.name), field(prior, &nested.name));
        let value = match (nested.nesting, c) {
            (Nesting::Single, _) => proposed(&nested.block, r, c),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let prior_item = r
                            .as_list()
                            .and_then(|l| l.get(i))
                            .cloned()
                            .unwrap_or(Value::Null);
                        proposed(&nested.block, &prior_item, item)
                    })
                    .collect(),
            ),
            (Nesting::Set, Value::Set(items)) => Value::Set(
                items
                    .iter()
                    .map(|item| {
                        // Match a prior element on the non-computed attributes.
                        let matching = r.as_list().unwrap_or(&[]).iter().find(|prior_item| {
                            nested
                                .block
                                .attributes
                                .iter()
                                .filter(|a| !a.computed)
                                .all(|a| {
                                    values_equal(field(prior_item, &a.name), field(item, &a.name))
                                })
                        });
                        proposed(&nested.block, matching.unwrap_or(&Value::Null), item)
                    })
                    .collect(),
            ),
            _ => c.clone(),
        };
        out.insert(nested.name.clone(), value);
    }
    Value::Object(out)
}

/// Plans `config` against `prior` like the server does (without `modify_plan`): a proposal
/// equal to the prior state arrives as the prior state itself.
fn plan(prior: &Value, config: &Value) -> (PlannedChange, Diagnostics) {
    let schema = schema();
    let proposed = proposed(&schema.block, prior, config);
    let proposed_is_prior = !prior.is_null() && proposed == *prior;
    let mut change = plan_change(
        &schema,
        prior.clone(),
        config.clone(),
        (!proposed_is_prior).then_some(&proposed),
    );
    let diagnostics = finish_plan(&schema, &mut change, proposed_is_prior);
    (change, diagnostics)
}

/// The full rules for the same plan, even when Terraform proposed the prior state.
fn plan_by_the_full_rules(prior: &Value, config: &Value) -> (PlannedChange, Diagnostics) {
    let schema = schema();
    let proposed = proposed(&schema.block, prior, config);
    let mut change = plan_change(&schema, prior.clone(), config.clone(), Some(&proposed));
    let diagnostics = finish_plan(&schema, &mut change, false);
    (change, diagnostics)
}

/// The check helper: plan, then compare selected planned attributes and the replace paths.
#[track_caller]
fn check(prior: &Value, config: &Value, expected: &[(&str, Value)], replace: &[&str]) -> Value {
    let (change, diagnostics) = plan(prior, config);
    assert!(
        diagnostics.is_empty(),
        "unexpected diagnostics: {diagnostics}"
    );
    for (name, value) in expected {
        let planned = field(&change.planned, name);
        assert!(
            planned.raw_equals(value) || (planned.is_unknown() && value.is_unknown()),
            "{name}: planned {planned:?}, expected {value:?}"
        );
    }
    let paths: Vec<String> = change
        .requires_replace
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(paths, replace, "requires_replace");
    if let Err(problem) = check_conforms(&schema().implied_type(), &change.planned) {
        panic!("plan does not conform: {problem}");
    }
    change.planned
}

/// A state as a create would have left it for `config`.
fn state_after_create(config: &Value) -> Value {
    let (change, _) = plan(&Value::Null, config);
    let mut state = change.planned;
    fill_unknowns(&schema().implied_type(), &mut state, &mut 0);
    state
}

/// Replaces unknowns with distinct known values of the right type, as an apply would.
fn fill_unknowns(ty: &Type, value: &mut Value, counter: &mut i64) {
    match (ty, value) {
        (ty, value @ Value::Unknown(_)) => {
            *counter += 1;
            *value = match ty {
                Type::Number => Value::from(*counter),
                Type::Bool => Value::Bool(true),
                Type::String => Value::string(format!("filled-{counter}")),
                _ => Value::Null,
            };
        }
        (Type::Object(fields, _), Value::Object(values)) => {
            for (name, value) in values.iter_mut() {
                fill_unknowns(&fields[name], value, counter);
            }
        }
        (Type::List(element) | Type::Set(element), Value::List(items) | Value::Set(items)) => {
            items
                .iter_mut()
                .for_each(|item| fill_unknowns(element, item, counter));
        }
        _ => {}
    }
}

fn base_config() -> Value {
    config([("name", s("a")), ("zone", s("z1"))])
}

#[test]
fn create_plans_unknown_for_computed_and_defaults_for_null_optional_computed() {
    check(
        &Value::Null,
        &base_config(),
        &[
            ("name", s("a")),
            ("zone", s("z1")),
            ("id", unk()),
            ("revision", unk()),
            ("region", unk()),
            ("size", n(1)),
            ("tags", Value::Null),
        ],
        &[],
    );
}

#[test]
fn noop_update_keeps_every_prior_value() {
    let prior = state_after_create(&base_config());
    let planned = check(&prior, &base_config(), &[], &[]);
    assert!(
        planned.raw_equals(&prior),
        "planned {planned:?}\nprior {prior:?}"
    );
}

#[test]
fn an_unchanged_resource_is_planned_as_the_full_rules_plan_it() {
    let with_blocks = config([
        ("name", s("a")),
        ("zone", s("z1")),
        ("size", n(3)),
        ("tags", Value::map([("team", s("net"))])),
        (
            "rule",
            Value::list(vec![obj([("port", n(443)), ("protocol", Value::Null)])]),
        ),
        ("endpoint", obj([("host", s("h1"))])),
    ]);
    for config in [base_config(), with_blocks] {
        let prior = state_after_create(&config);
        let schema = schema();
        assert_eq!(proposed(&schema.block, &prior, &config), prior);
        let (fast, fast_diagnostics) = plan(&prior, &config);
        let (full, full_diagnostics) = plan_by_the_full_rules(&prior, &config);
        assert!(fast_diagnostics.is_empty() && full_diagnostics.is_empty());
        assert_eq!(fast.planned, full.planned);
        assert_eq!(fast.planned, prior);
        assert_eq!(fast.requires_replace, full.requires_replace);
    }
    // A prior value the rules change (the default of `size` where the state has another value):
    // the plan is not the prior state, and the full rules decide it.
    let mut prior = state_after_create(&base_config());
    if let Value::Object(fields) = &mut prior {
        fields.insert("size".to_owned(), n(7));
    }
    let (planned, diagnostics) = plan(&prior, &base_config());
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(field(&planned.planned, "size"), &n(1));
}

#[test]
fn update_keeps_computed_values_and_changes_only_configured_ones() {
    let prior = state_after_create(&base_config());
    let changed = config([("name", s("b")), ("zone", s("z1"))]);
    check(
        &prior,
        &changed,
        &[
            ("name", s("b")),
            ("id", field(&prior, "id").clone()),
            ("revision", field(&prior, "revision").clone()),
        ],
        &[],
    );
}

#[test]
fn force_new_only_when_changed() {
    let prior = state_after_create(&base_config());
    check(&prior, &base_config(), &[], &[]);
    check(
        &prior,
        &config([("name", s("a")), ("zone", s("z2"))]),
        &[("zone", s("z2"))],
        &["zone"],
    );
    // Removing a force-new value is a change too.
    check(
        &prior,
        &config([("name", s("a"))]),
        &[("zone", Value::Null)],
        &["zone"],
    );
    // An unknown force-new value may change: replace.
    check(
        &prior,
        &config([("name", s("a")), ("zone", unk())]),
        &[("zone", unk())],
        &["zone"],
    );
}

#[test]
fn default_applies_only_when_the_configuration_is_null() {
    check(
        &Value::Null,
        &config([("name", s("a")), ("size", n(5))]),
        &[("size", n(5))],
        &[],
    );
    let prior = state_after_create(&config([("name", s("a")), ("size", n(5))]));
    // Removing the argument goes back to the default.
    check(&prior, &config([("name", s("a"))]), &[("size", n(1))], &[]);
}

#[test]
fn optional_computed_without_default_keeps_prior_when_unset() {
    let prior = state_after_create(&config([("name", s("a")), ("region", s("west"))]));
    check(
        &prior,
        &config([("name", s("a"))]),
        &[("region", s("west"))],
        &[],
    );
    check(
        &prior,
        &config([("name", s("a")), ("region", s("east"))]),
        &[("region", s("east"))],
        &[],
    );
}

#[test]
fn write_only_is_null_in_every_plan() {
    let with_token = config([("name", s("a")), ("zone", s("z1")), ("token", s("s3cret"))]);
    check(&Value::Null, &with_token, &[("token", Value::Null)], &[]);
    let prior = state_after_create(&base_config());
    let planned = check(&prior, &with_token, &[("token", Value::Null)], &[]);
    assert!(!format!("{planned:?}").contains("s3cret"));
}

#[test]
fn unknown_configuration_plans_unknown_without_refinements() {
    let refined = Value::Unknown(Box::new(Refinements {
        nullable: Some(false),
        string_prefix: Some("pre".into()),
        ..Refinements::default()
    }));
    let planned = check(
        &Value::Null,
        &config([("name", refined), ("size", unk()), ("tags", unk())]),
        &[("name", unk()), ("size", unk()), ("tags", unk())],
        &[],
    );
    assert_eq!(field(&planned, "name"), &Value::Unknown(Box::default()));
}

#[test]
fn null_and_empty_collections_are_preserved() {
    let empty = config([
        ("name", s("a")),
        ("zone", s("z1")),
        ("tags", Value::Map(Default::default())),
        ("labels", Value::Set(vec![])),
    ]);
    check(
        &Value::Null,
        &empty,
        &[
            ("tags", Value::Map(Default::default())),
            ("labels", Value::Set(vec![])),
        ],
        &[],
    );
    let prior = state_after_create(&empty);
    check(
        &prior,
        &base_config(),
        &[("tags", Value::Null), ("labels", Value::Null)],
        &[],
    );
}

#[test]
fn nested_list_elements_correlate_by_index() {
    let one_rule = config([
        ("name", s("a")),
        ("rule", Value::list([obj([("port", n(80))])])),
    ]);
    let planned = check(&Value::Null, &one_rule, &[], &[]);
    let rule = &planned.get("rule").and_then(Value::as_list).unwrap()[0];
    assert_eq!(field(rule, "protocol"), &s("tcp"));
    assert!(field(rule, "rule_id").is_unknown());

    let prior = state_after_create(&one_rule);
    let two_rules = config([
        ("name", s("a")),
        (
            "rule",
            Value::list([obj([("port", n(80))]), obj([("port", n(443))])]),
        ),
    ]);
    let planned = check(&prior, &two_rules, &[], &[]);
    let rules = planned.get("rule").and_then(Value::as_list).unwrap();
    let prior_rule = &prior.get("rule").and_then(Value::as_list).unwrap()[0];
    assert_eq!(
        field(&rules[0], "rule_id"),
        field(prior_rule, "rule_id"),
        "existing element keeps prior"
    );
    assert!(
        field(&rules[1], "rule_id").is_unknown(),
        "new element is unknown"
    );
    assert_eq!(field(&rules[1], "protocol"), &s("tcp"));
}

#[test]
fn nested_set_elements_keep_matched_prior_values() {
    let members = |users: &[&str]| {
        config([
            ("name", s("a")),
            (
                "member",
                Value::set(users.iter().map(|u| obj([("user", s(u))]))),
            ),
        ])
    };
    let prior = state_after_create(&members(&["ann"]));
    let planned = check(&prior, &members(&["ann", "bob"]), &[], &[]);
    let elements = planned.get("member").and_then(Value::as_list).unwrap();
    let ann = elements
        .iter()
        .find(|e| field(e, "user") == &s("ann"))
        .unwrap();
    let bob = elements
        .iter()
        .find(|e| field(e, "user") == &s("bob"))
        .unwrap();
    assert!(field(ann, "member_id").is_known());
    assert!(field(bob, "member_id").is_unknown());
}

#[test]
fn force_new_inside_a_single_block_has_a_nested_path() {
    let with_endpoint = |host: &str| {
        config([
            ("name", s("a")),
            ("zone", s("z1")),
            ("endpoint", obj([("host", s(host))])),
        ])
    };
    let prior = state_after_create(&with_endpoint("h1"));
    check(&prior, &with_endpoint("h1"), &[], &[]);
    check(&prior, &with_endpoint("h2"), &[], &["endpoint.host"]);
    check(
        &prior,
        &base_config(),
        &[("endpoint", Value::Null)],
        &["endpoint.host"],
    );
}

#[test]
fn use_state_for_unknown_restores_prior_after_modify_plan() {
    let schema = schema();
    let prior = state_after_create(&base_config());
    let changed = config([("name", s("b")), ("zone", s("z1"))]);
    let proposed = proposed(&schema.block, &prior, &changed);
    let mut change = plan_change(&schema, prior.clone(), changed, Some(&proposed));
    // What a resource's modify_plan might do: recompute everything computed.
    change.set_unknown("id");
    change.set_unknown("revision");
    let diagnostics = finish_plan(&schema, &mut change, false);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(change.get("id"), field(&prior, "id"));
    assert!(change.get("revision").is_unknown());
}

#[test]
fn invalid_plans_from_modify_plan_become_path_diagnostics() {
    let schema = schema();
    let prior = state_after_create(&base_config());
    let cfg = base_config();
    let proposed = proposed(&schema.block, &prior, &cfg);
    let mut change = plan_change(&schema, prior.clone(), cfg, Some(&proposed));
    change.set("name", s("other"));
    change.set_unknown("zone");
    let diagnostics = finish_plan(&schema, &mut change, false);
    let paths: Vec<String> = diagnostics
        .iter()
        .filter_map(|d| d.path.as_ref())
        .map(ToString::to_string)
        .collect();
    assert_eq!(paths, ["name", "zone"]);
    assert!(
        diagnostics
            .iter()
            .all(|d| d.summary.starts_with("Provider bug"))
    );
}

#[test]
fn conformance_errors_name_the_attribute() {
    let ty = schema().implied_type();
    let good = normalize(&schema().block, obj([("name", s("a"))]));
    assert!(check_conforms(&ty, &good).is_ok());
    let mut wrong_type = good.clone();
    if let Value::Object(map) = &mut wrong_type {
        map.insert("size".into(), s("big"));
    }
    assert!(
        check_conforms(&ty, &wrong_type)
            .unwrap_err()
            .contains("size")
    );
    let mut extra = good.clone();
    if let Value::Object(map) = &mut extra {
        map.insert("bogus".into(), s("x"));
    }
    assert!(check_conforms(&ty, &extra).unwrap_err().contains("bogus"));
}

#[test]
fn normalize_fills_nulls_and_empty_block_lists() {
    let value = normalize(&schema().block, obj([("name", s("a"))]));
    assert!(field(&value, "zone").is_null());
    assert_eq!(field(&value, "rule"), &Value::List(vec![]));
    assert_eq!(field(&value, "member"), &Value::Set(vec![]));
    assert!(field(&value, "endpoint").is_null());
}

#[test]
fn write_only_is_nulled_in_states_at_any_depth() {
    let block = Block::new("")
        .attribute(Attribute::string("secret").optional().write_only())
        .block(NestedBlock::list(
            "inner",
            Block::new("").attribute(Attribute::string("secret").optional().write_only()),
        ));
    let mut value = Value::object([
        ("secret", s("x")),
        ("inner", Value::list([Value::object([("secret", s("y"))])])),
    ]);
    null_write_only(&block, &mut value);
    assert!(!format!("{value:?}").contains('x') || !format!("{value:?}").contains("\"x\""));
    assert!(field(&value, "secret").is_null());
    assert!(
        field(
            &value.get("inner").and_then(Value::as_list).unwrap()[0],
            "secret"
        )
        .is_null()
    );
}

#[test]
fn validators_report_at_attribute_paths_and_skip_unknowns() {
    let block = schema().block;
    let cfg = config([
        ("name", s("a")),
        (
            "rule",
            Value::list([
                obj([("port", n(80))]),
                obj([("port", n(70000))]),
                obj([("port", unk())]),
            ]),
        ),
    ]);
    let mut diagnostics = Diagnostics::new();
    validate_config(&block, &cfg, &AttributePath::default(), &mut diagnostics);
    assert_eq!(diagnostics.len(), 1, "{diagnostics}");
    let diagnostic = diagnostics.iter().next().unwrap();
    assert_eq!(
        diagnostic.path.as_ref().unwrap().to_string(),
        "rule[1].port"
    );
    assert_eq!(
        diagnostic.summary,
        "Invalid rule[1].port: must be a port below 65536"
    );
    assert_eq!(diagnostic.detail, "out of range.");
}

#[test]
fn sensitive_values_are_not_echoed_by_validators() {
    let block =
        Block::new("").attribute(Attribute::string("secret").optional().sensitive().validate(
            validators::parsed("a number", |text: &str| {
                text.parse::<u32>()
                    .map_err(|_| format!("{text:?} is not a number"))
            }),
        ));
    let mut diagnostics = Diagnostics::new();
    validate_config(
        &block,
        &obj([("secret", s("hunter2"))]),
        &AttributePath::default(),
        &mut diagnostics,
    );
    assert_eq!(diagnostics.len(), 1);
    assert!(!diagnostics.to_string().contains("hunter2"));
}

#[test]
fn write_only_values_are_rejected_for_old_clients() {
    let mut diagnostics = Diagnostics::new();
    reject_write_only(
        &schema().block,
        &config([("name", s("a")), ("token", s("t"))]),
        &AttributePath::default(),
        &mut diagnostics,
    );
    assert_eq!(
        diagnostics.iter().next().and_then(|d| d.path.clone()),
        Some(AttributePath::root("token"))
    );
    let mut none = Diagnostics::new();
    reject_write_only(
        &schema().block,
        &base_config(),
        &AttributePath::default(),
        &mut none,
    );
    assert!(none.is_empty());
}

#[test]
fn plans_are_deterministic() {
    let prior = state_after_create(&base_config());
    let cfg = config([
        ("name", s("b")),
        ("rule", Value::list([obj([("port", n(1))])])),
    ]);
    let (first, _) = plan(&prior, &cfg);
    let (second, _) = plan(&prior, &cfg);
    assert!(first.planned.raw_equals(&second.planned));
    assert_eq!(first.requires_replace, second.requires_replace);
}

#[test]
fn values_equal_ignores_refinements_and_set_order() {
    assert!(values_equal(
        &unk(),
        &Value::Unknown(Box::new(Refinements::not_null()))
    ));
    assert!(values_equal(
        &Value::set([s("a"), s("b")]),
        &Value::set([s("b"), s("a")])
    ));
    assert!(!values_equal(
        &Value::list([s("a"), s("b")]),
        &Value::list([s("b"), s("a")])
    ));
    assert!(!values_equal(&Value::Null, &Value::List(vec![])));
    assert!(values_equal(
        &obj([("a", Value::Null)]),
        &Value::object::<&str>([])
    ));
}

/// A resource whose ids are case-insensitive and replace only on a real change of a recorded
/// value (the shape of the VNet peering).
fn peering_schema() -> Schema {
    Schema::new(
        Block::new("peering")
            .attribute(
                Attribute::string("vnet_id")
                    .required()
                    .case_insensitive()
                    .requires_replace_if(
                        crate::framework::replace_if::recorded_value_changed_ignoring_case,
                    ),
            )
            .attribute(
                Attribute::list("actions", Type::String)
                    .optional()
                    .case_insensitive(),
            )
            .attribute(Attribute::bool("enabled").optional()),
    )
}

fn replace_paths(prior: &Value, config: &Value) -> Vec<String> {
    let schema = peering_schema();
    let proposed = proposed(&schema.block, prior, config);
    let mut change = plan_change(&schema, prior.clone(), config.clone(), Some(&proposed));
    let diagnostics = finish_plan(&schema, &mut change, false);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    change
        .requires_replace
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn requires_replace_if_follows_its_rule() {
    let state = |vnet: Value| {
        obj([
            ("vnet_id", vnet),
            ("actions", Value::Null),
            ("enabled", Value::Null),
        ])
    };
    let config = |vnet: Value| {
        obj([
            ("vnet_id", vnet),
            ("actions", Value::Null),
            ("enabled", Value::Null),
        ])
    };
    // Another spelling of the same id: updated in place.
    assert!(replace_paths(&state(s("/Subs/VNET")), &config(s("/subs/vnet"))).is_empty());
    // Another id, or one not known until apply: replaced.
    assert_eq!(
        replace_paths(&state(s("/subs/a")), &config(s("/subs/b"))),
        ["vnet_id"]
    );
    assert_eq!(
        replace_paths(&state(s("/subs/a")), &config(unk())),
        ["vnet_id"]
    );
    // After an import the prior is null: the plan only records the value.
    assert!(replace_paths(&state(Value::Null), &config(s("/subs/a"))).is_empty());
    // Never on create.
    assert!(replace_paths(&Value::Null, &config(s("/subs/a"))).is_empty());
}

#[test]
fn case_insensitive_results_keep_the_reference_spelling() {
    let block = peering_schema().block;
    let reference = obj([
        ("vnet_id", s("/subscriptions/A/VNet")),
        (
            "actions",
            Value::list([s("Microsoft.Network/virtualNetworks/peer/action")]),
        ),
        ("enabled", Value::Null),
    ]);
    let mut same = obj([
        ("vnet_id", s("/subscriptions/a/vnet")),
        (
            "actions",
            Value::list([s("microsoft.network/virtualnetworks/peer/action")]),
        ),
        ("enabled", Value::Bool(true)),
    ]);
    keep_reference_spelling(&block, &reference, &mut same);
    assert!(field(&same, "vnet_id").raw_equals(field(&reference, "vnet_id")));
    assert!(field(&same, "actions").raw_equals(field(&reference, "actions")));
    assert!(field(&same, "enabled").raw_equals(&Value::Bool(true)));

    let mut other = obj([
        ("vnet_id", s("/subscriptions/a/other")),
        ("actions", Value::list([s("a"), s("b")])),
        ("enabled", Value::Null),
    ]);
    let before = other.clone();
    keep_reference_spelling(&block, &reference, &mut other);
    assert!(
        other.raw_equals(&before),
        "a real change is reported as it is"
    );
}

#[test]
fn schema_check_rejects_misplaced_attribute_behaviour() {
    let rule: crate::framework::ReplaceRule = |_, _| true;
    let schema = Schema::new(
        Block::new("")
            .attribute(Attribute::bool("flag").optional().case_insensitive())
            .attribute(
                Attribute::string("a")
                    .required()
                    .force_new()
                    .requires_replace_if(rule),
            )
            .attribute(Attribute::string("b").computed().requires_replace_if(rule)),
    );
    let problems = schema.check().unwrap_err().join("\n");
    assert!(
        problems.contains("flag: case_insensitive applies to strings"),
        "{problems}"
    );
    assert!(
        problems.contains("a: requires_replace_if needs"),
        "{problems}"
    );
    assert!(
        problems.contains("b: requires_replace_if needs"),
        "{problems}"
    );
}
