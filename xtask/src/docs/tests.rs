//! The renderer against a small hand-written schema (in the shape `terraform providers schema
//! -json` prints) and a scratch repository of examples and templates: whole pages are compared
//! with the text the registry would show.

use std::path::{Path, PathBuf};

use super::schema::ProviderSchema;
use super::{PROVIDER_ADDRESS, check_registry_limits, render_all, stale_files, write_pages};

const SCHEMA_JSON: &str = r#"{
  "format_version": "1.0",
  "provider_schemas": {
    "registry.terraform.io/vnetpeer/vnetpeer": {
      "provider": {
        "version": 0,
        "block": {
          "attributes": {
            "tenant_id": {"type": "string", "description": "Customer tenant. Env: `ARM_TENANT_ID`.", "description_kind": "markdown", "optional": true},
            "client_secret": {"type": "string", "description": "Secret of the service principal.", "description_kind": "markdown", "optional": true, "sensitive": true}
          },
          "block_types": {
            "endpoints": {
              "nesting_mode": "list",
              "max_items": 1,
              "block": {
                "attributes": {
                  "resource_manager": {"type": "string", "description": "ARM endpoint.", "description_kind": "markdown", "optional": true}
                },
                "description": "Endpoint overrides.",
                "description_kind": "markdown"
              }
            }
          },
          "description_kind": "plain"
        }
      },
      "resource_schemas": {
        "vnetpeer_widget": {
          "version": 0,
          "block": {
            "attributes": {
              "id": {"type": "string", "description_kind": "plain", "computed": true},
              "name": {"type": "string", "description": "Name of the widget.", "description_kind": "markdown", "required": true},
              "tags": {"type": ["map", "string"], "description": "Tags.", "description_kind": "markdown", "optional": true},
              "scopes": {"type": ["list", "string"], "description_kind": "plain", "optional": true, "computed": true},
              "secret": {"type": "string", "description": "Minted secret.", "description_kind": "markdown", "computed": true, "sensitive": true},
              "password": {"type": "string", "description": "Never stored.", "description_kind": "markdown", "optional": true, "sensitive": true, "write_only": true},
              "state_info": {"type": ["object", {"message": "string", "code": "number"}], "description": "Last state.", "description_kind": "markdown", "computed": true},
              "settings": {
                "nested_type": {
                  "nesting_mode": "single",
                  "attributes": {
                    "enabled": {"type": "bool", "description": "On or off.", "description_kind": "plain", "required": true},
                    "level": {"type": "number", "description_kind": "plain", "computed": true}
                  }
                },
                "description": "Settings.",
                "description_kind": "markdown",
                "optional": true
              }
            },
            "block_types": {
              "rule": {
                "nesting_mode": "set",
                "block": {
                  "attributes": {
                    "cidr": {"type": "string", "description": "Address range.", "description_kind": "plain", "required": true}
                  },
                  "description_kind": "plain"
                }
              },
              "timeouts": {
                "nesting_mode": "single",
                "block": {
                  "attributes": {
                    "create": {"type": "string", "description": "Default `30m`.", "description_kind": "markdown", "optional": true},
                    "delete": {"type": "string", "description_kind": "plain", "optional": true}
                  },
                  "description_kind": "plain"
                }
              }
            },
            "description": "A **widget** peers [things](https://example.com/things).\n\nSecond paragraph.",
            "description_kind": "markdown"
          }
        },
        "vnetpeer_gadget": {
          "version": 0,
          "block": {
            "attributes": {
              "size": {"type": "number", "description": "Size.", "description_kind": "plain", "required": true}
            },
            "description": "A gadget.",
            "description_kind": "plain"
          }
        },
        "vnetpeer_test_fixture": {
          "version": 0,
          "block": {
            "attributes": {"value": {"type": "string", "description_kind": "plain", "optional": true}},
            "description_kind": "plain"
          }
        }
      },
      "data_source_schemas": {
        "vnetpeer_lookup": {
          "version": 0,
          "block": {
            "attributes": {
              "project": {"type": "string", "description": "Project.", "description_kind": "plain", "required": true},
              "state": {"type": "string", "description": "State.", "description_kind": "plain", "computed": true}
            },
            "description": "Looks things up.",
            "description_kind": "plain"
          }
        }
      }
    }
  }
}"#;

/// Example files in byte order, as tfplugindocs globs and sorts them (`-` sorts before `.`).
const WIDGET_PAGE: &str = r#"---
page_title: "vnetpeer_widget Resource - vnetpeer"
subcategory: ""
description: |-
  A widget peers things https://example.com/things.
  Second paragraph.
---

# vnetpeer_widget (Resource)

A **widget** peers [things](https://example.com/things).

Second paragraph.

## Example Usage

```terraform
resource "vnetpeer_widget" "with_rules" {
  name = "w2"
}
```

```terraform
resource "vnetpeer_widget" "this" {
  name = "w"
}
```

<!-- schema generated by tfplugindocs -->
## Schema

### Required

- `name` (String) Name of the widget.

### Optional

> **NOTE**: [Write-only arguments](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments) are supported in Terraform 1.11 and later.

- `password` (String, Sensitive, [Write-only](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments)) Never stored.
- `rule` (Block Set) (see [below for nested schema](#nestedblock--rule))
- `scopes` (List of String)
- `settings` (Attributes) Settings. (see [below for nested schema](#nestedatt--settings))
- `tags` (Map of String) Tags.
- `timeouts` (Block, Optional) (see [below for nested schema](#nestedblock--timeouts))

### Read-Only

- `id` (String) The ID of this resource.
- `secret` (String, Sensitive) Minted secret.
- `state_info` (Object) Last state. (see [below for nested schema](#nestedatt--state_info))

<a id="nestedblock--rule"></a>
### Nested Schema for `rule`

Required:

- `cidr` (String) Address range.


<a id="nestedatt--settings"></a>
### Nested Schema for `settings`

Required:

- `enabled` (Boolean) On or off.

Read-Only:

- `level` (Number)


<a id="nestedblock--timeouts"></a>
### Nested Schema for `timeouts`

Optional:

- `create` (String) Default `30m`.
- `delete` (String)


<a id="nestedatt--state_info"></a>
### Nested Schema for `state_info`

Read-Only:

- `code` (Number)
- `message` (String)

## Import

Import is supported using the following syntax:

In Terraform v1.12.0 and later, the [`import` block](https://developer.hashicorp.com/terraform/language/import) can be used with the `identity` attribute, for example:

```terraform
import {
  to = vnetpeer_widget.this
  identity = {
    name = "w-1"
  }
}
```

In Terraform v1.5.0 and later, the [`import` block](https://developer.hashicorp.com/terraform/language/import) can be used with the `id` attribute, for example:

```terraform
import {
  to = vnetpeer_widget.this
  id = "w-1"
}
```

The [`terraform import` command](https://developer.hashicorp.com/terraform/cli/commands/import) can be used, for example:

```shell
terraform import vnetpeer_widget.this w-1
```
"#;

/// No examples and no import: tfplugindocs leaves the blank lines of its empty sections.
const LOOKUP_PAGE: &str = r#"---
page_title: "vnetpeer_lookup Data Source - vnetpeer"
subcategory: ""
description: |-
  Looks things up.
---

# vnetpeer_lookup (Data Source)

Looks things up.



<!-- schema generated by tfplugindocs -->
## Schema

### Required

- `project` (String) Project.

### Read-Only

- `state` (String) State.
"#;

const INDEX_TEMPLATE: &str = r#"---
page_title: "{{ .ProviderShortName }} Provider"
description: |-
  Peering.
---

# {{ .ProviderShortName }} Provider

{{ if .HasExamples -}}
## Example Usage

{{ tffile .ExampleFile }}
{{- end }}

{{ .SchemaMarkdown | trimspace }}
"#;

const INDEX_PAGE: &str = r#"---
page_title: "vnetpeer Provider"
description: |-
  Peering.
---

# vnetpeer Provider

## Example Usage

```terraform
provider "vnetpeer" {}
```

<!-- schema generated by tfplugindocs -->
## Schema

### Optional

- `client_secret` (String, Sensitive) Secret of the service principal.
- `endpoints` (Block List, Max: 1) Endpoint overrides. (see [below for nested schema](#nestedblock--endpoints))
- `tenant_id` (String) Customer tenant. Env: `ARM_TENANT_ID`.

<a id="nestedblock--endpoints"></a>
### Nested Schema for `endpoints`

Optional:

- `resource_manager` (String) ARM endpoint.
"#;

/// A scratch repository with examples and templates.
fn scratch_repository() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let files = [
        (
            "examples/provider/provider.tf",
            "provider \"vnetpeer\" {}\n",
        ),
        (
            "examples/resources/vnetpeer_widget/resource.tf",
            "resource \"vnetpeer_widget\" \"this\" {\n  name = \"w\"\n}\n",
        ),
        (
            "examples/resources/vnetpeer_widget/resource-with-rules.tf",
            "\n\nresource \"vnetpeer_widget\" \"with_rules\" {\n  name = \"w2\"\n}\n\n",
        ),
        (
            "examples/resources/vnetpeer_widget/import.sh",
            "terraform import vnetpeer_widget.this w-1\n",
        ),
        (
            "examples/resources/vnetpeer_widget/import-by-identity.tf",
            "import {\n  to = vnetpeer_widget.this\n  identity = {\n    name = \"w-1\"\n  }\n}\n",
        ),
        (
            "examples/resources/vnetpeer_widget/import-by-string-id.tf",
            "import {\n  to = vnetpeer_widget.this\n  id = \"w-1\"\n}\n",
        ),
        (
            "examples/resources/vnetpeer_widget/ignored.tf",
            "# not an example\n",
        ),
        ("templates/index.md.tmpl", INDEX_TEMPLATE),
        (
            "templates/resources/gadget.md.tmpl",
            "# {{ .Name }} ({{ .Type }})\n\n{{ .Description }}{{ if .HasImport }} Importable.{{ end }}\n",
        ),
        (
            "templates/guides/testing.md.tmpl",
            "---\npage_title: \"Testing\"\n---\n\n{{ tffile \"examples/provider/provider.tf\" }}\n",
        ),
        ("templates/guides/static.md", "Copied as is.\n"),
    ];
    for (path, content) in files {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    root
}

fn schema() -> ProviderSchema {
    let document: serde_json::Value = serde_json::from_str(SCHEMA_JSON).unwrap();
    ProviderSchema::from_terraform_json(&document, PROVIDER_ADDRESS).unwrap()
}

fn page(pages: &std::collections::BTreeMap<PathBuf, String>, path: &str) -> String {
    match pages.get(Path::new(path)) {
        Some(page) => page.clone(),
        None => panic!(
            "no page {path}; pages: {:?}",
            pages.keys().collect::<Vec<_>>()
        ),
    }
}

#[test]
fn every_documented_type_gets_a_page_and_test_fixtures_none() {
    let root = scratch_repository();
    let pages = render_all(&schema(), root.path()).unwrap();
    let paths: Vec<String> = pages
        .keys()
        .map(|path| path.display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "data-sources/lookup.md",
            "guides/static.md",
            "guides/testing.md",
            "index.md",
            "resources/gadget.md",
            "resources/widget.md",
        ]
    );
}

#[test]
fn resource_page_has_the_tfplugindocs_layout() {
    let root = scratch_repository();
    let pages = render_all(&schema(), root.path()).unwrap();
    assert_eq!(page(&pages, "resources/widget.md"), WIDGET_PAGE);
}

#[test]
fn page_without_examples_keeps_the_tfplugindocs_spacing() {
    let root = scratch_repository();
    let pages = render_all(&schema(), root.path()).unwrap();
    assert_eq!(page(&pages, "data-sources/lookup.md"), LOOKUP_PAGE);
}

#[test]
fn templates_render_index_overrides_and_guides() {
    let root = scratch_repository();
    let pages = render_all(&schema(), root.path()).unwrap();
    assert_eq!(page(&pages, "index.md"), INDEX_PAGE);
    assert_eq!(
        page(&pages, "resources/gadget.md"),
        "# vnetpeer_gadget (Resource)\n\nA gadget.\n"
    );
    assert_eq!(
        page(&pages, "guides/testing.md"),
        "---\npage_title: \"Testing\"\n---\n\n```terraform\nprovider \"vnetpeer\" {}\n```\n"
    );
    assert_eq!(page(&pages, "guides/static.md"), "Copied as is.\n");
}

#[test]
fn rendering_is_deterministic() {
    let root = scratch_repository();
    let first = render_all(&schema(), root.path()).unwrap();
    let second = render_all(&schema(), root.path()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn a_template_for_a_type_the_schema_lacks_is_an_error() {
    let root = scratch_repository();
    std::fs::write(root.path().join("templates/resources/gone.md.tmpl"), "x").unwrap();
    let error = render_all(&schema(), root.path()).unwrap_err().to_string();
    assert!(error.contains("vnetpeer_gone"), "{error}");
}

#[test]
fn check_names_differing_missing_and_extra_files_and_write_fixes_them() {
    let root = scratch_repository();
    let pages = render_all(&schema(), root.path()).unwrap();
    let docs = root.path().join("docs");
    std::fs::create_dir_all(docs.join("resources")).unwrap();
    std::fs::write(docs.join("index.md"), "old").unwrap();
    std::fs::write(docs.join("resources/removed.md"), "old").unwrap();

    let stale = stale_files(&docs, &pages).unwrap();
    assert!(
        stale.contains(&"docs/index.md (differs)".to_string()),
        "{stale:?}"
    );
    assert!(
        stale.contains(&"docs/resources/widget.md (missing)".to_string()),
        "{stale:?}"
    );
    assert!(
        stale.contains(&"docs/resources/removed.md (not generated; remove it)".to_string()),
        "{stale:?}"
    );

    write_pages(&docs, &pages).unwrap();
    assert_eq!(stale_files(&docs, &pages).unwrap(), Vec::<String>::new());
    assert!(!docs.join("resources/removed.md").exists());
}

#[test]
fn the_hand_written_development_notes_are_neither_stale_nor_removed() {
    let root = scratch_repository();
    let pages = render_all(&schema(), root.path()).unwrap();
    let docs = root.path().join("docs");
    write_pages(&docs, &pages).unwrap();
    std::fs::create_dir_all(docs.join("development")).unwrap();
    std::fs::write(docs.join("development/arm.md"), "# ARM\n").unwrap();
    std::fs::write(docs.join("developmental.md"), "not the notes folder").unwrap();

    let stale = stale_files(&docs, &pages).unwrap();
    assert_eq!(
        stale,
        vec!["docs/developmental.md (not generated; remove it)".to_string()]
    );

    write_pages(&docs, &pages).unwrap();
    assert!(docs.join("development/arm.md").exists());
    assert!(!docs.join("developmental.md").exists());
}

#[test]
fn pages_beyond_the_registry_limits_are_refused() {
    let root = scratch_repository();
    let mut pages = render_all(&schema(), root.path()).unwrap();
    assert!(check_registry_limits(&pages).is_ok());

    pages.insert(PathBuf::from("guides/huge.md"), "x".repeat(500_001));
    let error = check_registry_limits(&pages).unwrap_err().to_string();
    assert!(error.contains("docs/guides/huge.md"), "{error}");

    pages.remove(Path::new("guides/huge.md"));
    pages.insert(PathBuf::from("guides/notes.txt"), "text".to_string());
    let error = check_registry_limits(&pages).unwrap_err().to_string();
    assert!(error.contains("only .md"), "{error}");
}
