//! The subset of Go's `text/template` that tfplugindocs templates use, so that a
//! `templates/**/*.md.tmpl` written for tfplugindocs renders the same here:
//!
//! - `{{ .Field }}` from the page data, pipelines `{{ .Description | plainmarkdown | trimspace }}`
//!   (a piped value becomes the last argument), `{{- ` / ` -}}` whitespace trimming,
//!   `{{/* comments */}}`, `{{ if .HasImport }}…{{ else }}…{{ end }}`;
//! - functions `tffile "path"`, `codefile "format" "path"` (paths relative to the repository root,
//!   rendered as fenced code blocks), `trimspace`, `plainmarkdown`, `prefixlines "  "`, `lower`,
//!   `upper`.
//!
//! Anything else is an error that names the template, never silently dropped text.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Result;
use crate::docs::plain::plain_markdown;

/// A value a template can reference.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateValue {
    Text(String),
    Flag(bool),
}

impl From<&str> for TemplateValue {
    fn from(text: &str) -> Self {
        TemplateValue::Text(text.to_string())
    }
}

impl From<String> for TemplateValue {
    fn from(text: String) -> Self {
        TemplateValue::Text(text)
    }
}

impl From<bool> for TemplateValue {
    fn from(flag: bool) -> Self {
        TemplateValue::Flag(flag)
    }
}

/// The fields a template sees (`.Name`, `.SchemaMarkdown`, ...).
pub type TemplateData = BTreeMap<&'static str, TemplateValue>;

/// Renders `source` (named `name` in errors) with `data`; files named by `tffile`/`codefile` are read
/// relative to `root`.
pub fn render(name: &str, source: &str, data: &TemplateData, root: &Path) -> Result<String> {
    let segments = split_segments(source).map_err(|error| format!("template {name}: {error}"))?;
    let nodes = parse_nodes(&mut segments.into_iter().peekable(), false)
        .map_err(|error| format!("template {name}: {error}"))?
        .0;
    let context = Context { data, root };
    let mut out = String::new();
    context
        .render_nodes(&nodes, &mut out)
        .map_err(|error| format!("template {name}: {error}"))?;
    Ok(out)
}

/// Fenced code block of a file's trimmed content, as tfplugindocs's `tffile`/`codefile` write it.
pub fn code_file(format: &str, path: &Path) -> Result<String> {
    let content = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let content = content.trim();
    if content.is_empty() {
        return Err(format!("{} is empty", path.display()).into());
    }
    Ok(format!("```{format}\n{content}\n```"))
}

/// Adds `prefix` before every line of `text`.
pub fn prefix_lines(prefix: &str, text: &str) -> String {
    text.split('\n')
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// === Parsing ===

#[derive(Debug)]
enum Segment {
    Text(String),
    Action(String),
}

/// Splits the source into text and actions, applying the `{{-` / `-}}` trim markers.
fn split_segments(source: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = source;
    let mut trim_next_text = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next_text {
            text = text.trim_start();
        }
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or_else(|| {
            format!(
                "unclosed action at byte {}",
                source.len() - rest.len() + open
            )
        })?;
        let mut body = &after_open[..close];
        if let Some(trimmed) = body.strip_prefix("- ") {
            text = text.trim_end();
            body = trimmed;
        } else if body.starts_with('-') && body.len() == 1 {
            return Err("`{{-}}` is not an action".to_string());
        }
        trim_next_text = false;
        if let Some(trimmed) = body.strip_suffix(" -") {
            trim_next_text = true;
            body = trimmed;
        }
        segments.push(Segment::Text(text.to_string()));
        segments.push(Segment::Action(body.trim().to_string()));
        rest = &after_open[close + 2..];
    }
    let text = if trim_next_text {
        rest.trim_start()
    } else {
        rest
    };
    segments.push(Segment::Text(text.to_string()));
    Ok(segments)
}

#[derive(Debug)]
enum Node {
    Text(String),
    Output(Pipeline),
    If {
        condition: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// How a list of nodes ended.
#[derive(Debug, PartialEq)]
enum Terminator {
    EndOfInput,
    Else,
    End,
}

fn parse_nodes(
    segments: &mut std::iter::Peekable<std::vec::IntoIter<Segment>>,
    nested: bool,
) -> Result<(Vec<Node>, Terminator), String> {
    let mut nodes = Vec::new();
    while let Some(segment) = segments.next() {
        let action = match segment {
            Segment::Text(text) => {
                if !text.is_empty() {
                    nodes.push(Node::Text(text));
                }
                continue;
            }
            Segment::Action(action) => action,
        };
        if action.starts_with("/*") {
            if !action.ends_with("*/") {
                return Err(format!("unterminated comment {action:?}"));
            }
            continue;
        }
        if action == "end" || action == "else" {
            if !nested {
                return Err(format!("unexpected {{{{ {action} }}}}"));
            }
            let terminator = if action == "end" {
                Terminator::End
            } else {
                Terminator::Else
            };
            return Ok((nodes, terminator));
        }
        if let Some(condition) = action.strip_prefix("if ") {
            let condition = parse_pipeline(condition)?;
            let (then, terminator) = parse_nodes(segments, true)?;
            let otherwise = match terminator {
                Terminator::Else => {
                    let (otherwise, terminator) = parse_nodes(segments, true)?;
                    if terminator != Terminator::End {
                        return Err("{{ if }} without {{ end }}".to_string());
                    }
                    otherwise
                }
                Terminator::End => Vec::new(),
                Terminator::EndOfInput => return Err("{{ if }} without {{ end }}".to_string()),
            };
            nodes.push(Node::If {
                condition,
                then,
                otherwise,
            });
            continue;
        }
        nodes.push(Node::Output(parse_pipeline(&action)?));
    }
    if nested {
        return Err("{{ if }} without {{ end }}".to_string());
    }
    Ok((nodes, Terminator::EndOfInput))
}

/// Commands joined by `|`.
type Pipeline = Vec<Vec<Operand>>;

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Field(String),
    Literal(String),
    Function(String),
}

fn parse_pipeline(action: &str) -> Result<Pipeline, String> {
    let mut pipeline = vec![Vec::new()];
    let chars: Vec<char> = action.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let current = chars[index];
        if current.is_whitespace() {
            index += 1;
        } else if current == '|' {
            pipeline.push(Vec::new());
            index += 1;
        } else if current == '"' {
            let (literal, end) = parse_string(&chars, index)?;
            push_operand(&mut pipeline, Operand::Literal(literal));
            index = end;
        } else if current == '`' {
            let end = chars[index + 1..]
                .iter()
                .position(|c| *c == '`')
                .ok_or("unterminated raw string")?
                + index
                + 1;
            push_operand(
                &mut pipeline,
                Operand::Literal(chars[index + 1..end].iter().collect()),
            );
            index = end + 1;
        } else {
            let end = chars[index..]
                .iter()
                .position(|c| c.is_whitespace() || *c == '|')
                .map_or(chars.len(), |offset| index + offset);
            let word: String = chars[index..end].iter().collect();
            let operand = match word.strip_prefix('.') {
                Some(field) if !field.is_empty() => Operand::Field(field.to_string()),
                Some(_) => return Err("`.` alone is not supported; name a field".to_string()),
                None => Operand::Function(word),
            };
            push_operand(&mut pipeline, operand);
            index = end;
        }
    }
    if pipeline.iter().any(Vec::is_empty) {
        return Err(format!("empty command in {action:?}"));
    }
    Ok(pipeline)
}

fn push_operand(pipeline: &mut Pipeline, operand: Operand) {
    if let Some(command) = pipeline.last_mut() {
        command.push(operand);
    }
}

fn parse_string(chars: &[char], open: usize) -> Result<(String, usize), String> {
    let mut literal = String::new();
    let mut index = open + 1;
    while index < chars.len() {
        match chars[index] {
            '"' => return Ok((literal, index + 1)),
            '\\' => {
                let escaped = chars.get(index + 1).ok_or("unterminated string")?;
                literal.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => *other,
                });
                index += 2;
            }
            other => {
                literal.push(other);
                index += 1;
            }
        }
    }
    Err("unterminated string".to_string())
}

// === Evaluation ===

struct Context<'a> {
    data: &'a TemplateData,
    root: &'a Path,
}

impl Context<'_> {
    fn render_nodes(&self, nodes: &[Node], out: &mut String) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Output(pipeline) => match self.evaluate(pipeline)? {
                    TemplateValue::Text(text) => out.push_str(&text),
                    TemplateValue::Flag(flag) => out.push_str(if flag { "true" } else { "false" }),
                },
                Node::If {
                    condition,
                    then,
                    otherwise,
                } => {
                    let truthy = match self.evaluate(condition)? {
                        TemplateValue::Flag(flag) => flag,
                        TemplateValue::Text(text) => !text.is_empty(),
                    };
                    self.render_nodes(if truthy { then } else { otherwise }, out)?;
                }
            }
        }
        Ok(())
    }

    fn evaluate(&self, pipeline: &Pipeline) -> Result<TemplateValue, String> {
        let mut piped: Option<TemplateValue> = None;
        for command in pipeline {
            let (head, arguments) = command.split_first().ok_or("empty command")?;
            let mut values = arguments
                .iter()
                .map(|operand| self.operand_value(operand))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(value) = piped.take() {
                values.push(value);
            }
            piped = Some(match head {
                Operand::Function(function) => self.call(function, values)?,
                value if values.is_empty() => self.operand_value(value)?,
                _ => return Err("only a function can take arguments".to_string()),
            });
        }
        piped.ok_or_else(|| "empty pipeline".to_string())
    }

    fn operand_value(&self, operand: &Operand) -> Result<TemplateValue, String> {
        match operand {
            Operand::Field(field) => self
                .data
                .get(field.as_str())
                .cloned()
                .ok_or_else(|| format!("unknown field .{field}")),
            Operand::Literal(literal) => Ok(TemplateValue::Text(literal.clone())),
            Operand::Function(function) => self.call(function, Vec::new()),
        }
    }

    fn call(&self, function: &str, arguments: Vec<TemplateValue>) -> Result<TemplateValue, String> {
        let texts: Vec<String> = arguments
            .into_iter()
            .map(|argument| match argument {
                TemplateValue::Text(text) => text,
                TemplateValue::Flag(flag) => flag.to_string(),
            })
            .collect();
        let text = match (function, texts.as_slice()) {
            ("tffile", [path]) => self.code_file("terraform", path)?,
            ("codefile", [format, path]) => self.code_file(format, path)?,
            ("trimspace", [text]) => text.trim().to_string(),
            ("plainmarkdown", [text]) => plain_markdown(text),
            ("prefixlines", [prefix, text]) => prefix_lines(prefix, text),
            ("lower", [text]) => text.to_lowercase(),
            ("upper", [text]) => text.to_uppercase(),
            (
                "tffile" | "codefile" | "trimspace" | "plainmarkdown" | "prefixlines" | "lower"
                | "upper",
                _,
            ) => {
                return Err(format!(
                    "{function}: wrong number of arguments ({})",
                    texts.len()
                ));
            }
            _ => return Err(format!("unknown function {function:?}")),
        };
        Ok(TemplateValue::Text(text))
    }

    fn code_file(&self, format: &str, path: &str) -> Result<String, String> {
        let path = Path::new(path);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        };
        code_file(format, &path).map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> TemplateData {
        TemplateData::from([
            ("Name", "vnetpeer_x".into()),
            ("Description", "Peers **two** networks.\n".into()),
            ("HasImport", true.into()),
            ("HasExamples", false.into()),
        ])
    }

    #[track_caller]
    fn check(source: &str, expected: &str) {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("x.tf"),
            "\nresource \"vnetpeer_x\" \"this\" {}\n\n",
        )
        .unwrap();
        assert_eq!(render("t", source, &data(), root.path()).unwrap(), expected);
    }

    #[track_caller]
    fn check_error(source: &str, expected_fragment: &str) {
        let error = render("t.md.tmpl", source, &data(), Path::new("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected_fragment), "{error}");
        assert!(error.contains("t.md.tmpl"), "{error}");
    }

    #[test]
    fn fields_pipelines_and_functions() {
        check(
            "# {{.Name}} ({{ .Name | upper }})",
            "# vnetpeer_x (VNETPEER_X)",
        );
        check(
            "description: |-\n{{ .Description | plainmarkdown | trimspace | prefixlines \"  \" }}\n",
            "description: |-\n  Peers two networks.\n",
        );
        check(
            "{{ tffile \"x.tf\" }}",
            "```terraform\nresource \"vnetpeer_x\" \"this\" {}\n```",
        );
        check(
            "{{ codefile \"shell\" `x.tf` }}",
            "```shell\nresource \"vnetpeer_x\" \"this\" {}\n```",
        );
    }

    #[test]
    fn trim_markers_comments_and_conditions() {
        check("a  \n{{- /* note */ -}}\n  b", "ab");
        check("{{ if .HasImport }}yes{{ else }}no{{ end }}", "yes");
        check(
            "{{ if .HasExamples -}}\n  examples\n{{- else -}}\n  none\n{{- end }}!",
            "none!",
        );
    }

    #[test]
    fn mistakes_are_errors_naming_the_template() {
        check_error("{{ .Missing }}", "unknown field .Missing");
        check_error("{{ template \"x\" }}", "unknown function \"template\"");
        check_error("{{ if .HasImport }}open", "without {{ end }}");
        check_error("{{ tffile \"nope.tf\" }}", "cannot read");
        check_error("{{ .Name", "unclosed action");
    }
}
