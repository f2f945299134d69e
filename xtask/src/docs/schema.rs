//! The provider schema as `terraform providers schema -json` prints it
//! (docs/development/plugin-obligations.md, N4), read into plain types. Maps are `BTreeMap`s, so
//! everything built from them iterates in name order and the rendered docs are deterministic
//! whatever order the JSON had.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::Result;

/// The schemas of one provider.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderSchema {
    pub provider: Block,
    pub resources: BTreeMap<String, Block>,
    pub data_sources: BTreeMap<String, Block>,
    pub ephemeral_resources: BTreeMap<String, Block>,
    /// The `config` blocks of the list resources (Terraform 1.14+).
    pub list_resources: BTreeMap<String, Block>,
    /// Provider-defined functions, by name.
    pub functions: BTreeMap<String, FunctionSignature>,
}

/// A provider-defined function as `terraform providers schema -json` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionSignature {
    pub summary: String,
    pub description: String,
    pub parameters: Vec<FunctionParameter>,
    pub return_type: CtyType,
}

/// One positional parameter of a function.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionParameter {
    pub name: String,
    pub description: String,
    pub ty: CtyType,
}

/// A configuration block: attributes and nested blocks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub attributes: BTreeMap<String, Attribute>,
    pub block_types: BTreeMap<String, BlockType>,
    pub description: String,
    pub deprecated: bool,
}

/// One attribute: either of a cty type or of nested attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribute {
    pub ty: Option<CtyType>,
    pub nested: Option<NestedAttributes>,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
}

/// Nested attributes (`nested_type`) of an attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct NestedAttributes {
    pub nesting: NestingMode,
    pub attributes: BTreeMap<String, Attribute>,
    pub min_items: u64,
    pub max_items: u64,
}

/// A nested block type (`block_types`).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockType {
    pub nesting: NestingMode,
    pub block: Block,
    pub min_items: u64,
    pub max_items: u64,
}

/// How a nested block or nested attribute repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestingMode {
    Single,
    Group,
    List,
    Set,
    Map,
}

/// A cty type as type JSON spells it (`"string"`, `["list","string"]`, `["object",{...}]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtyType {
    String,
    Number,
    Bool,
    Dynamic,
    List(Box<CtyType>),
    Set(Box<CtyType>),
    Map(Box<CtyType>),
    Tuple(Vec<CtyType>),
    Object(BTreeMap<String, CtyType>),
}

impl ProviderSchema {
    /// Reads the entry for `provider_address` (e.g. `registry.terraform.io/vnetpeer/vnetpeer`)
    /// from the whole `terraform providers schema -json` document.
    pub fn from_terraform_json(document: &Json, provider_address: &str) -> Result<Self> {
        let schemas = document
            .get("provider_schemas")
            .and_then(|schemas| schemas.get(provider_address))
            .ok_or_else(|| {
                format!(
                    "`terraform providers schema -json` printed no schema for {provider_address}"
                )
            })?;
        let provider = match schemas.get("provider") {
            Some(schema) => schema_block(schema, "provider")?,
            None => Block::default(),
        };
        Ok(ProviderSchema {
            provider,
            resources: schema_map(schemas.get("resource_schemas"), "resource")?,
            data_sources: schema_map(schemas.get("data_source_schemas"), "data source")?,
            ephemeral_resources: schema_map(
                schemas.get("ephemeral_resource_schemas"),
                "ephemeral resource",
            )?,
            list_resources: schema_map(schemas.get("list_resource_schemas"), "list resource")?,
            functions: function_map(schemas.get("functions"))?,
        })
    }
}

fn function_map(functions: Option<&Json>) -> Result<BTreeMap<String, FunctionSignature>> {
    let Some(functions) = functions else {
        return Ok(BTreeMap::new());
    };
    let object = functions
        .as_object()
        .ok_or("functions: expected an object")?;
    let text = |json: &Json, key: &str| {
        json.get(key)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut map = BTreeMap::new();
    for (name, function) in object {
        let return_type = CtyType::from_json(function.get("return_type").unwrap_or(&Json::Null))
            .map_err(|error| format!("function {name}: return type: {error}"))?;
        let mut parameters = Vec::new();
        for parameter in function
            .get("parameters")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let parameter_name = text(parameter, "name");
            let ty = CtyType::from_json(parameter.get("type").unwrap_or(&Json::Null))
                .map_err(|error| format!("function {name}: parameter {parameter_name}: {error}"))?;
            parameters.push(FunctionParameter {
                name: parameter_name,
                description: text(parameter, "description"),
                ty,
            });
        }
        map.insert(
            name.clone(),
            FunctionSignature {
                summary: text(function, "summary"),
                description: text(function, "description"),
                parameters,
                return_type,
            },
        );
    }
    Ok(map)
}

fn schema_map(schemas: Option<&Json>, kind: &str) -> Result<BTreeMap<String, Block>> {
    let Some(schemas) = schemas else {
        return Ok(BTreeMap::new());
    };
    let object = schemas
        .as_object()
        .ok_or_else(|| format!("{kind} schemas: expected an object"))?;
    object
        .iter()
        .map(|(name, schema)| {
            Ok((
                name.clone(),
                schema_block(schema, &format!("{kind} {name}"))?,
            ))
        })
        .collect()
}

fn schema_block(schema: &Json, context: &str) -> Result<Block> {
    match schema.get("block") {
        Some(block) => parse_block(block, context),
        None => Err(format!("{context}: schema has no block").into()),
    }
}

fn parse_block(block: &Json, context: &str) -> Result<Block> {
    let mut parsed = Block {
        description: string_field(block, "description"),
        deprecated: bool_field(block, "deprecated"),
        ..Block::default()
    };
    if let Some(attributes) = block.get("attributes") {
        parsed.attributes = parse_attributes(attributes, context)?;
    }
    if let Some(block_types) = block.get("block_types").and_then(Json::as_object) {
        for (name, block_type) in block_types {
            let context = format!("{context}.{name}");
            let nesting = nesting_mode(block_type, &context)?;
            let inner = match block_type.get("block") {
                Some(inner) => parse_block(inner, &context)?,
                None => Block::default(),
            };
            parsed.block_types.insert(
                name.clone(),
                BlockType {
                    nesting,
                    block: inner,
                    min_items: u64_field(block_type, "min_items"),
                    max_items: u64_field(block_type, "max_items"),
                },
            );
        }
    }
    Ok(parsed)
}

fn parse_attributes(attributes: &Json, context: &str) -> Result<BTreeMap<String, Attribute>> {
    let object = attributes
        .as_object()
        .ok_or_else(|| format!("{context}: attributes must be an object"))?;
    let mut parsed = BTreeMap::new();
    for (name, attribute) in object {
        let context = format!("{context}.{name}");
        let ty = match attribute.get("type") {
            Some(ty) => {
                Some(CtyType::from_json(ty).map_err(|error| format!("{context}: {error}"))?)
            }
            None => None,
        };
        let nested = match attribute.get("nested_type") {
            Some(nested) => Some(NestedAttributes {
                nesting: nesting_mode(nested, &context)?,
                attributes: match nested.get("attributes") {
                    Some(inner) => parse_attributes(inner, &context)?,
                    None => BTreeMap::new(),
                },
                min_items: u64_field(nested, "min_items"),
                max_items: u64_field(nested, "max_items"),
            }),
            None => None,
        };
        if ty.is_none() && nested.is_none() {
            return Err(format!("{context}: attribute has neither type nor nested_type").into());
        }
        parsed.insert(
            name.clone(),
            Attribute {
                ty,
                nested,
                description: string_field(attribute, "description"),
                required: bool_field(attribute, "required"),
                optional: bool_field(attribute, "optional"),
                computed: bool_field(attribute, "computed"),
                sensitive: bool_field(attribute, "sensitive"),
                write_only: bool_field(attribute, "write_only"),
                deprecated: bool_field(attribute, "deprecated"),
            },
        );
    }
    Ok(parsed)
}

fn nesting_mode(value: &Json, context: &str) -> Result<NestingMode> {
    match value.get("nesting_mode").and_then(Json::as_str) {
        Some("single") => Ok(NestingMode::Single),
        Some("group") => Ok(NestingMode::Group),
        Some("list") => Ok(NestingMode::List),
        Some("set") => Ok(NestingMode::Set),
        Some("map") => Ok(NestingMode::Map),
        other => Err(format!("{context}: unknown nesting_mode {other:?}").into()),
    }
}

fn string_field(value: &Json, key: &str) -> String {
    value
        .get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

fn bool_field(value: &Json, key: &str) -> bool {
    value.get(key).and_then(Json::as_bool).unwrap_or(false)
}

fn u64_field(value: &Json, key: &str) -> u64 {
    value.get(key).and_then(Json::as_u64).unwrap_or(0)
}

impl CtyType {
    /// Parses type JSON (docs/development/plugin-obligations.md, L1).
    pub fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::String(name) => match name.as_str() {
                "string" => Ok(CtyType::String),
                "number" => Ok(CtyType::Number),
                "bool" => Ok(CtyType::Bool),
                "dynamic" => Ok(CtyType::Dynamic),
                other => Err(format!("unknown primitive type {other:?}")),
            },
            Json::Array(parts) => {
                let kind = parts.first().and_then(Json::as_str).unwrap_or_default();
                let argument = parts
                    .get(1)
                    .ok_or_else(|| format!("type {json} lacks its argument"))?;
                match kind {
                    "list" => Ok(CtyType::List(Box::new(CtyType::from_json(argument)?))),
                    "set" => Ok(CtyType::Set(Box::new(CtyType::from_json(argument)?))),
                    "map" => Ok(CtyType::Map(Box::new(CtyType::from_json(argument)?))),
                    "tuple" => {
                        let elements = argument
                            .as_array()
                            .ok_or("tuple elements must be an array")?;
                        Ok(CtyType::Tuple(
                            elements
                                .iter()
                                .map(CtyType::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    // The optional-attribute list (third element) only matters for type
                    // constraints, not for how the docs name the type.
                    "object" => {
                        let attributes = argument
                            .as_object()
                            .ok_or("object attributes must be an object")?;
                        Ok(CtyType::Object(
                            attributes
                                .iter()
                                .map(|(name, ty)| Ok((name.clone(), CtyType::from_json(ty)?)))
                                .collect::<Result<_, String>>()?,
                        ))
                    }
                    other => Err(format!("unknown type kind {other:?}")),
                }
            }
            other => Err(format!("invalid type JSON {other}")),
        }
    }

    /// The element type of a list, set or map.
    pub fn element(&self) -> Option<&CtyType> {
        match self {
            CtyType::List(element) | CtyType::Set(element) | CtyType::Map(element) => Some(element),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_json_round_trips_into_the_model() {
        let json = serde_json::json!(["list", ["object", {"b": "bool", "a": ["map", "number"]}]]);
        let expected = CtyType::List(Box::new(CtyType::Object(BTreeMap::from([
            ("a".to_string(), CtyType::Map(Box::new(CtyType::Number))),
            ("b".to_string(), CtyType::Bool),
        ]))));
        assert_eq!(CtyType::from_json(&json), Ok(expected));
    }

    #[test]
    fn unknown_type_names_are_errors() {
        assert!(CtyType::from_json(&serde_json::json!("text")).is_err());
        assert!(CtyType::from_json(&serde_json::json!(["list"])).is_err());
    }

    #[test]
    fn missing_provider_is_an_error_naming_it() {
        let document = serde_json::json!({"format_version": "1.0", "provider_schemas": {}});
        let error = ProviderSchema::from_terraform_json(
            &document,
            "registry.terraform.io/vnetpeer/vnetpeer",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("registry.terraform.io/vnetpeer/vnetpeer"),
            "{error}"
        );
    }
}
