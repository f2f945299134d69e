//! The `## Schema` section of a page, in the format tfplugindocs writes and the registries render
//! (docs/development/style.md, 'tfplugindocs output format (what the Registry renders)'):
//!
//! - top-level `### Required` / `### Optional` / `### Read-Only` lists of
//!   `` - `name` (Type, Sensitive) description ``, names sorted;
//! - every nested block, nested attribute or object-typed attribute links to an anchored
//!   `### Nested Schema for `path`` section with `Required:` / `Optional:` / `Read-Only:` lists,
//!   written after the lists that mention it, depth first.
//!
//! Matching tfplugindocs byte for byte matters: the registries and readers of other providers' docs
//! expect this exact shape, and a maintainer with Go can cross-check our pages with it.

use std::collections::BTreeMap;

use crate::Result;
use crate::docs::schema::{Attribute, Block, BlockType, CtyType, NestedAttributes, NestingMode};

const WRITE_ONLY_LINK: &str = "[Write-only](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments)";
const WRITE_ONLY_NOTE: &str = "> **NOTE**: [Write-only arguments](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments) are supported in Terraform 1.11 and later.\n\n";
/// What tfplugindocs says about an undescribed top-level `id`.
const DEFAULT_ID_DESCRIPTION: &str = "The ID of this resource.";

/// Renders `## Schema` and everything under it for a root block.
pub fn render(block: &Block) -> Result<String> {
    let mut out = String::from("## Schema\n\n");
    write_block_children(&mut out, &[], block, true)?;
    Ok(out)
}

/// The three lists every block is split into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Required,
    Optional,
    ReadOnly,
}

const GROUPS: [Group; 3] = [Group::Required, Group::Optional, Group::ReadOnly];

impl Group {
    fn top_level_title(self) -> &'static str {
        match self {
            Group::Required => "### Required",
            Group::Optional => "### Optional",
            Group::ReadOnly => "### Read-Only",
        }
    }

    fn nested_title(self) -> &'static str {
        match self {
            Group::Required => "Required:",
            Group::Optional => "Optional:",
            Group::ReadOnly => "Read-Only:",
        }
    }

    fn holds_attribute(self, attribute: &Attribute) -> bool {
        match self {
            Group::Required => attribute.required,
            Group::Optional => attribute.optional,
            Group::ReadOnly => attribute_is_read_only(attribute),
        }
    }

    fn holds_block(self, block_type: &BlockType) -> bool {
        match self {
            Group::Required => block_is_required(block_type),
            Group::Optional => block_is_optional(block_type),
            Group::ReadOnly => block_is_read_only(block_type),
        }
    }
}

fn attribute_is_read_only(attribute: &Attribute) -> bool {
    attribute.computed && !attribute.optional && !attribute.required
}

fn block_is_required(block_type: &BlockType) -> bool {
    block_type.min_items > 0
}

/// Optional: not required, and either empty or with something a user can set inside.
fn block_is_optional(block_type: &BlockType) -> bool {
    if block_type.min_items > 0 {
        return false;
    }
    let inner = &block_type.block;
    if inner.block_types.is_empty() && inner.attributes.is_empty() {
        return true;
    }
    inner
        .block_types
        .values()
        .any(|child| block_is_required(child) || block_is_optional(child))
        || inner
            .attributes
            .values()
            .any(|child| child.required || child.optional)
}

/// Read-only: no item bounds and nothing settable anywhere inside.
fn block_is_read_only(block_type: &BlockType) -> bool {
    block_type.min_items == 0
        && block_type.max_items == 0
        && block_type
            .block
            .block_types
            .values()
            .all(block_is_read_only)
        && block_type
            .block
            .attributes
            .values()
            .all(attribute_is_read_only)
}

fn block_contains_write_only(block_type: &BlockType) -> bool {
    block_type
        .block
        .block_types
        .values()
        .any(block_contains_write_only)
        || block_type
            .block
            .attributes
            .values()
            .any(|child| child.write_only)
}

/// A section to write below the lists that link to it.
struct NestedSection<'a> {
    anchor: String,
    path: Vec<String>,
    content: NestedContent<'a>,
    /// The group of the attribute that links here (titles object members).
    group: Group,
}

enum NestedContent<'a> {
    Block(&'a Block),
    Object(&'a BTreeMap<String, CtyType>),
    Attributes(&'a NestedAttributes),
}

enum Child<'a> {
    Attribute(&'a Attribute),
    Block(&'a BlockType),
}

fn write_block_children(
    out: &mut String,
    parents: &[String],
    block: &Block,
    root: bool,
) -> Result<()> {
    let mut grouped: [Vec<(&str, Child<'_>)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut names: Vec<(&str, Child<'_>)> = block
        .attributes
        .iter()
        .map(|(name, attribute)| (name.as_str(), Child::Attribute(attribute)))
        .chain(
            block
                .block_types
                .iter()
                .map(|(name, block_type)| (name.as_str(), Child::Block(block_type))),
        )
        .collect();
    names.sort_by(|left, right| left.0.cmp(right.0));

    for (name, child) in names {
        let group = match &child {
            Child::Block(block_type) => GROUPS
                .into_iter()
                .find(|group| group.holds_block(block_type)),
            Child::Attribute(attribute) if is_undescribed_root_id(parents, name, attribute) => {
                Some(Group::ReadOnly)
            }
            Child::Attribute(attribute) => GROUPS
                .into_iter()
                .find(|group| group.holds_attribute(attribute)),
        };
        let Some(group) = group else {
            return Err(format!(
                "`{}` is neither required, optional nor read-only; an optional block whose children are \
                 all computed must itself be computed",
                path_title(parents, name)
            )
            .into());
        };
        let index = GROUPS
            .iter()
            .position(|candidate| *candidate == group)
            .unwrap_or(0);
        grouped[index].push((name, child));
    }

    let mut sections = Vec::new();
    for (group, children) in GROUPS.into_iter().zip(&grouped) {
        if children.is_empty() {
            continue;
        }
        out.push_str(if root {
            group.top_level_title()
        } else {
            group.nested_title()
        });
        out.push_str("\n\n");
        let has_write_only = children.iter().any(|(_, child)| match child {
            Child::Attribute(attribute) => attribute.write_only,
            Child::Block(block_type) => block_contains_write_only(block_type),
        });
        if has_write_only {
            out.push_str(WRITE_ONLY_NOTE);
        }
        for (name, child) in children {
            let path = child_path(parents, name);
            match child {
                Child::Block(block_type) => sections.push(write_block_type(out, path, block_type)?),
                Child::Attribute(attribute) => {
                    let description = if is_undescribed_root_id(parents, name, attribute) {
                        DEFAULT_ID_DESCRIPTION
                    } else {
                        attribute.description.as_str()
                    };
                    sections.extend(write_attribute(out, path, attribute, description, group)?);
                }
            }
        }
        out.push('\n');
    }
    write_nested_sections(out, sections)
}

fn is_undescribed_root_id(parents: &[String], name: &str, attribute: &Attribute) -> bool {
    parents.is_empty() && name.eq_ignore_ascii_case("id") && attribute.description.is_empty()
}

fn child_path(parents: &[String], name: &str) -> Vec<String> {
    let mut path = parents.to_vec();
    path.push(name.to_string());
    path
}

fn path_title(parents: &[String], name: &str) -> String {
    child_path(parents, name).join(".")
}

fn write_attribute<'a>(
    out: &mut String,
    path: Vec<String>,
    attribute: &'a Attribute,
    description: &str,
    group: Group,
) -> Result<Option<NestedSection<'a>>> {
    let name = path.last().map(String::as_str).unwrap_or_default();
    out.push_str(&format!("- `{name}` "));
    let anchor = format!("nestedatt--{}", path.join("--"));
    let content = match (&attribute.nested, &attribute.ty) {
        (Some(nested), _) => {
            write_nested_attributes_summary(out, attribute, nested, description);
            Some(NestedContent::Attributes(nested))
        }
        (None, Some(ty)) => {
            write_attribute_summary(out, attribute, ty, description)?;
            object_members(ty).map(NestedContent::Object)
        }
        (None, None) => return Err(format!("`{}` has no type", path.join(".")).into()),
    };
    let section = content.map(|content| {
        out.push_str(&format!(" (see [below for nested schema](#{anchor}))"));
        NestedSection {
            anchor,
            path,
            content,
            group,
        }
    });
    out.push('\n');
    Ok(section)
}

/// The members of an object type, or of the objects in a collection, which get their own section.
fn object_members(ty: &CtyType) -> Option<&BTreeMap<String, CtyType>> {
    match ty {
        CtyType::Object(members) => Some(members),
        CtyType::List(element) | CtyType::Set(element) | CtyType::Map(element) => {
            match element.as_ref() {
                CtyType::Object(members) => Some(members),
                _ => None,
            }
        }
        _ => None,
    }
}

fn write_attribute_summary(
    out: &mut String,
    attribute: &Attribute,
    ty: &CtyType,
    description: &str,
) -> Result<()> {
    if matches!(ty, CtyType::Tuple(_)) {
        return Err("tuple-typed attributes cannot be documented".into());
    }
    out.push('(');
    out.push_str(&type_name(ty));
    write_flags(out, attribute);
    out.push(')');
    write_description(out, description);
    Ok(())
}

fn write_nested_attributes_summary(
    out: &mut String,
    attribute: &Attribute,
    nested: &NestedAttributes,
    description: &str,
) {
    out.push_str("(Attributes");
    out.push_str(nesting_word(nested.nesting));
    if !matches!(nested.nesting, NestingMode::Single | NestingMode::Group) && nested.min_items > 0 {
        out.push_str(&format!(", Min: {}", nested.min_items));
    }
    if nested.max_items > 0 {
        out.push_str(&format!(", Max: {}", nested.max_items));
    }
    write_flags(out, attribute);
    out.push(')');
    write_description(out, description);
}

fn write_flags(out: &mut String, attribute: &Attribute) {
    if attribute.sensitive {
        out.push_str(", Sensitive");
    }
    if attribute.deprecated {
        out.push_str(", Deprecated");
    }
    if attribute.write_only {
        out.push_str(", ");
        out.push_str(WRITE_ONLY_LINK);
    }
}

fn write_description(out: &mut String, description: &str) {
    let description = description.trim();
    if !description.is_empty() {
        out.push(' ');
        out.push_str(description);
    }
}

fn nesting_word(nesting: NestingMode) -> &'static str {
    match nesting {
        NestingMode::Single | NestingMode::Group => "",
        NestingMode::List => " List",
        NestingMode::Set => " Set",
        NestingMode::Map => " Map",
    }
}

fn write_block_type<'a>(
    out: &mut String,
    path: Vec<String>,
    block_type: &'a BlockType,
) -> Result<NestedSection<'a>> {
    let name = path.last().map(String::as_str).unwrap_or_default();
    out.push_str(&format!("- `{name}` (Block"));
    out.push_str(nesting_word(block_type.nesting));
    if matches!(block_type.nesting, NestingMode::Single | NestingMode::Group) {
        if block_is_required(block_type) {
            out.push_str(", Required");
        } else if block_is_optional(block_type) {
            out.push_str(", Optional");
        } else if block_is_read_only(block_type) {
            out.push_str(", Read-only");
        } else {
            return Err(format!(
                "block `{}` is neither required, optional nor read-only",
                path.join(".")
            )
            .into());
        }
    } else if block_type.min_items > 0 {
        out.push_str(&format!(", Min: {}", block_type.min_items));
    }
    if block_type.max_items > 0 {
        out.push_str(&format!(", Max: {}", block_type.max_items));
    }
    if block_type.block.deprecated {
        out.push_str(", Deprecated");
    }
    out.push(')');
    write_description(out, &block_type.block.description);
    let anchor = format!("nestedblock--{}", path.join("--"));
    out.push_str(&format!(" (see [below for nested schema](#{anchor}))\n"));
    Ok(NestedSection {
        anchor,
        path,
        content: NestedContent::Block(&block_type.block),
        // A block's own children carry their flags, so no inherited group titles them.
        group: Group::Optional,
    })
}

fn write_nested_sections(out: &mut String, sections: Vec<NestedSection<'_>>) -> Result<()> {
    for section in sections {
        out.push_str(&format!("<a id=\"{}\"></a>\n", section.anchor));
        out.push_str(&format!(
            "### Nested Schema for `{}`\n\n",
            section.path.join(".")
        ));
        match section.content {
            NestedContent::Block(block) => write_block_children(out, &section.path, block, false)?,
            NestedContent::Object(members) => {
                write_object_members(out, &section.path, members, section.group)?
            }
            NestedContent::Attributes(nested) => {
                write_nested_attribute_children(out, &section.path, nested, section.group)?
            }
        }
        out.push('\n');
    }
    Ok(())
}

/// Object members have no flags of their own: they are listed under the title of the group of the
/// attribute that holds the object.
fn write_object_members(
    out: &mut String,
    parents: &[String],
    members: &BTreeMap<String, CtyType>,
    group: Group,
) -> Result<()> {
    out.push_str(group.nested_title());
    out.push_str("\n\n");
    let mut sections = Vec::new();
    for (name, ty) in members {
        if matches!(ty, CtyType::Tuple(_)) {
            return Err(format!(
                "`{}` is a tuple, which cannot be documented",
                path_title(parents, name)
            )
            .into());
        }
        out.push_str(&format!("- `{name}` ({})", type_name(ty)));
        if let Some(inner) = object_members(ty) {
            let path = child_path(parents, name);
            let anchor = format!("nestedobjatt--{}", path.join("--"));
            out.push_str(&format!(" (see [below for nested schema](#{anchor}))"));
            sections.push(NestedSection {
                anchor,
                path,
                content: NestedContent::Object(inner),
                group,
            });
        }
        out.push('\n');
    }
    out.push('\n');
    write_nested_sections(out, sections)
}

fn write_nested_attribute_children(
    out: &mut String,
    parents: &[String],
    nested: &NestedAttributes,
    parent_group: Group,
) -> Result<()> {
    let mut sections = Vec::new();
    for group in GROUPS {
        let members: Vec<(&String, &Attribute)> = nested
            .attributes
            .iter()
            .filter(|(_, attribute)| group.holds_attribute(attribute))
            .collect();
        if members.is_empty() {
            continue;
        }
        out.push_str(group.nested_title());
        out.push_str("\n\n");
        for (name, attribute) in members {
            let path = child_path(parents, name);
            sections.extend(write_attribute(
                out,
                path,
                attribute,
                &attribute.description,
                parent_group,
            )?);
        }
        out.push('\n');
    }
    write_nested_sections(out, sections)
}

/// How the docs name a type: `String`, `Boolean`, `List of String`, `Map of Object`, ...
pub fn type_name(ty: &CtyType) -> String {
    match ty {
        CtyType::String => "String".to_string(),
        CtyType::Number => "Number".to_string(),
        CtyType::Bool => "Boolean".to_string(),
        CtyType::Dynamic => "Dynamic".to_string(),
        CtyType::List(element) => format!("List of {}", type_name(element)),
        CtyType::Set(element) => format!("Set of {}", type_name(element)),
        CtyType::Map(element) => format!("Map of {}", type_name(element)),
        CtyType::Tuple(_) => "Tuple".to_string(),
        CtyType::Object(_) => "Object".to_string(),
    }
}
