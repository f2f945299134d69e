//! Schema builder: what a resource's configuration and state look like, and how each attribute
//! behaves in a plan (required/optional/computed, force-new, defaults, write-only, ...).
//!
//! ```
//! use vnetpeer::framework::{Attribute, Block, NestedBlock, Schema, Timeouts, validators};
//!
//! let schema = Schema::new(
//!     Block::new("A thing.")
//!         .attribute(Attribute::string("name").required().force_new().description("Name."))
//!         .attribute(Attribute::string("id").computed().use_state_for_unknown())
//!         .block(NestedBlock::list("rule", Block::new("A rule.")
//!             .attribute(Attribute::number("port").required())).max_items(5)),
//! )
//! .with_timeouts(Timeouts::minutes(30, 5, 30, 30));
//! assert!(schema.check().is_ok());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::value::{Type, Value};

use super::timeouts::{TIMEOUTS_BLOCK, Timeouts, timeouts_block};
use super::validators::Validator;

/// Whether a change of an attribute from `prior` to `planned` (an update's values; `planned`
/// may be unknown) needs a new object. See [`Attribute::requires_replace_if`]. An unchanged
/// value never does: the plan of an unchanged resource does not ask the rule.
pub type ReplaceRule = fn(prior: &Value, planned: &Value) -> bool;

/// A resource, data source or provider schema.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Bumped when the state layout changes; older states go through
    /// [`Resource::upgrade_state`](super::Resource::upgrade_state).
    pub version: i64,
    pub block: Block,
    /// Default operation timeouts, when the schema has a `timeouts` block.
    pub timeouts: Option<Timeouts>,
}

impl Schema {
    pub fn new(block: Block) -> Self {
        Schema {
            version: 0,
            block,
            timeouts: None,
        }
    }

    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    /// Adds the conventional `timeouts` block with these defaults (see [`timeouts_block`]).
    pub fn with_timeouts(mut self, defaults: Timeouts) -> Self {
        self.block
            .blocks
            .retain(|block| block.name != TIMEOUTS_BLOCK);
        self.block.blocks.push(timeouts_block(&defaults));
        self.timeouts = Some(defaults);
        self
    }

    /// The type of configuration, plan and state values.
    pub fn implied_type(&self) -> Type {
        self.block.implied_type()
    }

    /// Checks the rules Terraform enforces on schemas (docs/development/plugin-obligations.md,
    /// H1–H3, J1) and the framework's own (defaults only on optional+computed, ...). Every
    /// registered schema is checked by a unit test and again when the provider first serves its
    /// schema.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.version < 0 {
            problems.push(format!("schema version {} is negative", self.version));
        }
        self.block.check("", false, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// A block of attributes and nested blocks (a resource's top level, or a nested block).
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
}

impl Block {
    pub fn new(description: impl Into<String>) -> Self {
        Block {
            description: description.into(),
            ..Block::default()
        }
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Sets every top-level attribute that has a default and is null or missing in the object
    /// `value` to its default: what a plan holds for it. The one place defaults are applied
    /// outside planning (see [`Model::from_value_with_defaults`](super::Model::from_value_with_defaults)).
    pub fn apply_defaults(&self, value: &mut Value) {
        let Value::Object(fields) = value else {
            return;
        };
        for attribute in &self.attributes {
            if let Some(default) = &attribute.default {
                let slot = fields.entry(attribute.name.clone()).or_insert(Value::Null);
                if slot.is_null() {
                    *slot = default.clone();
                }
            }
        }
    }

    pub fn attribute_named(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    pub fn block_named(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|block| block.name == name)
    }

    /// Object type with one attribute per attribute and per nested block
    /// (docs/development/plugin-obligations.md, H5).
    pub fn implied_type(&self) -> Type {
        let mut fields = BTreeMap::new();
        for attribute in &self.attributes {
            fields.insert(attribute.name.clone(), attribute.ty.clone());
        }
        for block in &self.blocks {
            fields.insert(block.name.clone(), block.implied_type());
        }
        Type::Object(fields, BTreeSet::new())
    }

    fn check(&self, prefix: &str, inside_set: bool, problems: &mut Vec<String>) {
        let mut names = BTreeSet::new();
        for attribute in &self.attributes {
            let path = format!("{prefix}{}", attribute.name);
            if !names.insert(attribute.name.as_str()) {
                problems.push(format!("{path}: declared twice"));
            }
            attribute.check(&path, inside_set, problems);
        }
        for block in &self.blocks {
            let path = format!("{prefix}{}", block.name);
            if !names.insert(block.name.as_str()) {
                problems.push(format!(
                    "{path}: name used twice (blocks and attributes share names)"
                ));
            }
            block.check(&path, inside_set, problems);
        }
    }
}

/// How a nested block repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; absent is null.
    Single,
    /// Ordered; absent is an empty list.
    List,
    /// Unordered, no duplicates; absent is an empty set.
    Set,
}

/// A block type inside a block, e.g. `rule { ... }`.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: u32,
    /// 0 means unbounded.
    pub max_items: u32,
}

impl NestedBlock {
    pub fn single(name: impl Into<String>, block: Block) -> Self {
        NestedBlock::new(name, Nesting::Single, block)
    }

    pub fn list(name: impl Into<String>, block: Block) -> Self {
        NestedBlock::new(name, Nesting::List, block)
    }

    pub fn set(name: impl Into<String>, block: Block) -> Self {
        NestedBlock::new(name, Nesting::Set, block)
    }

    fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        NestedBlock {
            name: name.into(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
        }
    }

    pub fn min_items(mut self, min: u32) -> Self {
        self.min_items = min;
        self
    }

    pub fn max_items(mut self, max: u32) -> Self {
        self.max_items = max;
        self
    }

    pub fn implied_type(&self) -> Type {
        let element = self.block.implied_type();
        match self.nesting {
            Nesting::Single => element,
            Nesting::List => Type::List(Box::new(element)),
            Nesting::Set => Type::Set(Box::new(element)),
        }
    }

    fn check(&self, path: &str, inside_set: bool, problems: &mut Vec<String>) {
        if !is_valid_name(&self.name) {
            problems.push(format!("{path}: block names must match ^[a-z0-9_]+$"));
        }
        match self.nesting {
            Nesting::Single if self.min_items > 1 || self.max_items > 1 => {
                problems.push(format!(
                    "{path}: a single block has min/max items of 0 or 1"
                ));
            }
            Nesting::Single if self.min_items != self.max_items && self.min_items != 0 => {
                problems.push(format!(
                    "{path}: a single block needs min_items == max_items"
                ));
            }
            _ if self.max_items != 0 && self.min_items > self.max_items => {
                problems.push(format!("{path}: min_items is greater than max_items"));
            }
            _ => {}
        }
        if self.nesting != Nesting::Single && contains_dynamic(&self.block) {
            // Such blocks change their implied type to `dynamic`
            // (docs/development/plugin-obligations.md, H5); not supported.
            problems.push(format!(
                "{path}: list and set blocks may not contain dynamic attributes"
            ));
        }
        self.block.check(
            &format!("{path}."),
            inside_set || self.nesting == Nesting::Set,
            problems,
        );
    }
}

/// One attribute. Start from [`Attribute::string`] (or `bool`, `number`, `list`, `set`, `map`)
/// and chain the behaviour.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    /// Markdown; feeds the registry docs.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    /// Hidden in plan output. Values still travel in state; keep them out of logs yourself.
    pub sensitive: bool,
    /// Sent in the configuration only; never stored in plan or state
    /// (docs/development/plugin-obligations.md, J1).
    pub write_only: bool,
    /// A change of value replaces the resource instead of updating it.
    pub force_new: bool,
    /// Replaces the resource when this rule says the change needs it (see [`ReplaceRule`]);
    /// for attributes where not every change of value is a new object.
    pub replace_if: Option<ReplaceRule>,
    /// The service compares the value without letter case (ARM names, GUIDs): a value read
    /// back or returned by an apply that differs from the prior one only in case keeps the
    /// prior spelling, so refresh never shows a spelling as drift (semantic equality).
    pub case_insensitive: bool,
    /// Planned when the configuration leaves the attribute null (optional+computed only).
    pub default: Option<Value>,
    /// On update, keep the prior value even when the resource's `modify_plan` marked it unknown.
    pub use_state_for_unknown: bool,
    pub deprecated: bool,
    /// Run at validate time on known, non-null configuration values.
    pub validators: Vec<Validator>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Attribute {
            name: name.into(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            force_new: false,
            replace_if: None,
            case_insensitive: false,
            default: None,
            use_state_for_unknown: false,
            deprecated: false,
            validators: Vec::new(),
        }
    }

    pub fn string(name: impl Into<String>) -> Self {
        Attribute::new(name, Type::String)
    }

    pub fn bool(name: impl Into<String>) -> Self {
        Attribute::new(name, Type::Bool)
    }

    pub fn number(name: impl Into<String>) -> Self {
        Attribute::new(name, Type::Number)
    }

    /// A list of `element` values.
    pub fn list(name: impl Into<String>, element: Type) -> Self {
        Attribute::new(name, Type::List(Box::new(element)))
    }

    /// A set of `element` values.
    pub fn set(name: impl Into<String>, element: Type) -> Self {
        Attribute::new(name, Type::Set(Box::new(element)))
    }

    /// A map from strings to `element` values.
    pub fn map(name: impl Into<String>, element: Type) -> Self {
        Attribute::new(name, Type::Map(Box::new(element)))
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Write-only: the value reaches create/update through the configuration and is never stored.
    /// Changes are invisible to the diff, so pair it with a "version" attribute that users bump.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    /// Replaces the resource when `rule(prior, planned)` is true (on update only; the
    /// [`replace_if`](super::replace_if) module has the common rules).
    pub fn requires_replace_if(mut self, rule: ReplaceRule) -> Self {
        self.replace_if = Some(rule);
        self
    }

    /// The value is compared without letter case by the service: results that differ from the
    /// prior value only in case keep the prior (the user's) spelling. Strings and lists of
    /// strings only (checked by [`Schema::check`]).
    pub fn case_insensitive(mut self) -> Self {
        self.case_insensitive = true;
        self
    }

    /// The value planned when the configuration leaves the attribute null. The attribute must
    /// be `.optional().computed()` (checked by [`Schema::check`]).
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// For computed attributes that never change once set (ids): keeps the prior value on
    /// update even if `modify_plan` marked it unknown.
    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }

    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    pub fn validate(mut self, validator: Validator) -> Self {
        self.validators.push(validator);
        self
    }

    /// Computed and not settable by the user.
    pub fn is_read_only(&self) -> bool {
        self.computed && !self.optional && !self.required
    }

    fn check(&self, path: &str, inside_set: bool, problems: &mut Vec<String>) {
        if !is_valid_name(&self.name) {
            problems.push(format!("{path}: attribute names must match ^[a-z0-9_]+$"));
        }
        if !(self.required || self.optional || self.computed) {
            problems.push(format!("{path}: needs one of required, optional, computed"));
        }
        if self.required && (self.optional || self.computed) {
            problems.push(format!("{path}: required excludes optional and computed"));
        }
        if self.write_only && self.computed {
            problems.push(format!("{path}: write-only attributes cannot be computed"));
        }
        if self.write_only && inside_set {
            problems.push(format!(
                "{path}: write-only attributes are not allowed inside set blocks"
            ));
        }
        if self.write_only && contains_set(&self.ty) {
            problems.push(format!("{path}: write-only attributes cannot be sets"));
        }
        if let Some(default) = &self.default {
            if !(self.optional && self.computed) {
                problems.push(format!("{path}: a default needs .optional().computed()"));
            }
            if let Err(error) = default.conforms_to(&self.ty) {
                problems.push(format!("{path}: default does not match the type: {error}"));
            }
        }
        if self.use_state_for_unknown && !self.computed {
            problems.push(format!("{path}: use_state_for_unknown needs .computed()"));
        }
        if self.force_new && self.is_read_only() {
            problems.push(format!(
                "{path}: force_new has no effect on a read-only attribute"
            ));
        }
        if self.replace_if.is_some() && (self.force_new || self.is_read_only()) {
            problems.push(format!(
                "{path}: requires_replace_if needs a settable attribute without force_new"
            ));
        }
        let string_like = match &self.ty {
            Type::String => true,
            Type::List(element) | Type::Set(element) => **element == Type::String,
            _ => false,
        };
        if self.case_insensitive && !string_like {
            problems.push(format!(
                "{path}: case_insensitive applies to strings and lists of strings"
            ));
        }
        if self.write_only && self.force_new {
            problems.push(format!(
                "{path}: force_new on a write-only attribute would replace on every apply"
            ));
        }
        if self.is_read_only() && !self.validators.is_empty() {
            problems.push(format!(
                "{path}: validators never run on a read-only attribute"
            ));
        }
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn contains_dynamic(block: &Block) -> bool {
    fn type_has_dynamic(ty: &Type) -> bool {
        match ty {
            Type::Dynamic => true,
            Type::List(inner) | Type::Set(inner) | Type::Map(inner) => type_has_dynamic(inner),
            Type::Tuple(elements) => elements.iter().any(type_has_dynamic),
            Type::Object(fields, _) => fields.values().any(type_has_dynamic),
            Type::String | Type::Number | Type::Bool => false,
        }
    }
    block.attributes.iter().any(|a| type_has_dynamic(&a.ty))
        || block.blocks.iter().any(|b| contains_dynamic(&b.block))
}

fn contains_set(ty: &Type) -> bool {
    match ty {
        Type::Set(_) => true,
        Type::List(inner) | Type::Map(inner) => contains_set(inner),
        Type::Tuple(elements) => elements.iter().any(contains_set),
        Type::Object(fields, _) => fields.values().any(contains_set),
        Type::String | Type::Number | Type::Bool | Type::Dynamic => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_includes_blocks() {
        let block = Block::new("")
            .attribute(Attribute::string("name").required())
            .block(NestedBlock::list(
                "rule",
                Block::new("").attribute(Attribute::number("port").required()),
            ))
            .block(NestedBlock::single(
                "endpoint",
                Block::new("").attribute(Attribute::bool("tls").optional()),
            ));
        let Type::Object(fields, _) = block.implied_type() else {
            panic!("not an object")
        };
        assert_eq!(fields["name"], Type::String);
        assert!(
            matches!(&fields["rule"], Type::List(inner) if matches!(**inner, Type::Object(..)))
        );
        assert!(matches!(&fields["endpoint"], Type::Object(..)));
    }

    #[test]
    fn schema_check_finds_misuse() {
        let schema = Schema::new(
            Block::new("")
                .attribute(Attribute::string("a").required().computed())
                .attribute(Attribute::string("b"))
                .attribute(Attribute::string("c").optional().default("x"))
                .attribute(Attribute::string("d").computed().write_only())
                .attribute(Attribute::string("Bad"))
                .attribute(Attribute::string("e").optional().use_state_for_unknown())
                .block(NestedBlock::set(
                    "s",
                    Block::new("").attribute(Attribute::string("w").optional().write_only()),
                ))
                .block(NestedBlock::single("one", Block::new("")).max_items(2)),
        );
        let problems = schema.check().unwrap_err().join("\n");
        for expected in [
            "a: required excludes",
            "b: needs one of",
            "c: a default needs",
            "d: write-only attributes cannot be computed",
            "Bad: attribute names must match",
            "e: use_state_for_unknown needs",
            "s.w: write-only attributes are not allowed inside set blocks",
            "one: a single block",
        ] {
            assert!(
                problems.contains(expected),
                "missing {expected:?} in\n{problems}"
            );
        }
    }

    #[test]
    fn defaults_fill_null_and_missing_attributes_only() {
        let block = Block::new("")
            .attribute(Attribute::bool("on").optional().computed().default(true))
            .attribute(Attribute::bool("off").optional().computed().default(false))
            .attribute(Attribute::string("kind").optional().computed().default("a"))
            .attribute(Attribute::string("name").optional());
        let mut value = Value::object([
            ("on", Value::Null),
            ("kind", Value::string("b")),
            ("name", Value::Null),
        ]);
        block.apply_defaults(&mut value);
        assert_eq!(value.get("on"), Some(&Value::Bool(true)));
        assert_eq!(value.get("off"), Some(&Value::Bool(false)));
        assert_eq!(value.get("kind"), Some(&Value::string("b")));
        assert_eq!(value.get("name"), Some(&Value::Null));
    }

    #[test]
    fn timeouts_block_is_added_once() {
        let schema = Schema::new(Block::new(""))
            .with_timeouts(Timeouts::minutes(1, 1, 1, 1))
            .with_timeouts(Timeouts::minutes(2, 2, 2, 2));
        assert_eq!(schema.block.blocks.len(), 1);
        assert_eq!(schema.timeouts, Some(Timeouts::minutes(2, 2, 2, 2)));
        assert!(schema.check().is_ok());
    }
}
