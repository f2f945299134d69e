//! In-process tests of the tfplugin6 service: the trait methods are called directly with
//! msgpack-encoded DynamicValues, as Terraform would send them.

use tonic::Request;

use super::*;
use crate::resources::VnetpeerProvider;
use crate::value::{Type, Value};

fn service() -> ProviderService<VnetpeerProvider> {
    ProviderService::new(VnetpeerProvider)
}

fn dynamic(ty: &Type, value: &Value) -> Option<tfplugin6::DynamicValue> {
    Some(tfplugin6::DynamicValue {
        msgpack: encode_msgpack(ty, value).expect("test value encodes"),
        json: Vec::new(),
    })
}

/// An object of type `ty` with every attribute null except `fields`.
fn object_of(ty: &Type, fields: &[(&str, Value)]) -> Value {
    let Type::Object(attributes, _) = ty else {
        panic!("not an object type")
    };
    let mut object: std::collections::BTreeMap<String, Value> = attributes
        .iter()
        .map(|(name, ty)| {
            let empty = match ty {
                Type::List(_) if name == "rule" => Value::List(vec![]),
                _ => Value::Null,
            };
            (name.clone(), empty)
        })
        .collect();
    for (name, value) in fields {
        object.insert((*name).to_owned(), value.clone());
    }
    Value::Object(object)
}

fn errors(diagnostics: &[tfplugin6::Diagnostic]) -> Vec<&tfplugin6::Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == tfplugin6::diagnostic::Severity::Error as i32)
        .collect()
}

fn path_names(diagnostic: &tfplugin6::Diagnostic) -> Vec<String> {
    use tfplugin6::attribute_path::step::Selector;
    diagnostic
        .attribute
        .iter()
        .flat_map(|path| &path.steps)
        .map(|step| match &step.selector {
            Some(Selector::AttributeName(name)) => name.clone(),
            Some(Selector::ElementKeyString(key)) => format!("[{key:?}]"),
            Some(Selector::ElementKeyInt(index)) => format!("[{index}]"),
            None => "?".to_owned(),
        })
        .collect()
}

fn assert_block_valid(block: &tfplugin6::schema::Block, at: &str) {
    for attribute in &block.attributes {
        let ty = Type::from_json(&attribute.r#type)
            .unwrap_or_else(|e| panic!("{at}.{}: bad type JSON: {e}", attribute.name));
        let _ = ty;
        assert!(attribute.nested_type.is_none(), "{at}.{}", attribute.name);
        assert!(
            attribute.required || attribute.optional || attribute.computed,
            "{at}.{}",
            attribute.name
        );
        assert_eq!(
            attribute.description_kind,
            tfplugin6::StringKind::Markdown as i32
        );
    }
    for nested in &block.block_types {
        let inner = nested
            .block
            .as_ref()
            .unwrap_or_else(|| panic!("{at}.{}: nil block", nested.type_name));
        assert_ne!(
            nested.nesting, 0,
            "{at}.{}: INVALID nesting",
            nested.type_name
        );
        assert_block_valid(inner, &format!("{at}.{}", nested.type_name));
    }
}

#[tokio::test]
async fn provider_schema_is_valid_and_advertises_capabilities() {
    let service = service();
    let response = service
        .get_provider_schema(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        response.diagnostics.is_empty(),
        "{:?}",
        response.diagnostics
    );
    let provider = response
        .provider
        .as_ref()
        .and_then(|s| s.block.as_ref())
        .expect("provider block");
    assert_block_valid(provider, "provider");
    let secret = provider
        .attributes
        .iter()
        .find(|a| a.name == "client_secret")
        .unwrap();
    assert!(secret.sensitive && secret.optional);
    assert!(
        provider
            .block_types
            .iter()
            .any(|b| b.type_name == "endpoints")
    );
    for (name, schema) in response
        .resource_schemas
        .iter()
        .chain(&response.data_source_schemas)
    {
        assert_block_valid(schema.block.as_ref().expect("block"), name);
    }
    let capabilities = response.server_capabilities.unwrap();
    assert!(capabilities.plan_destroy && capabilities.get_provider_schema_optional);
    // `moved` blocks from the peer providers' types (move_tests.rs).
    assert!(capabilities.move_resource_state);

    let metadata = service
        .get_metadata(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(metadata.resources.len(), response.resource_schemas.len());
    assert!(metadata.server_capabilities.unwrap().plan_destroy);
}

#[tokio::test]
async fn validate_provider_config_reports_attribute_paths() {
    let service = service();
    let ty = service.server().provider_type().clone();
    let Type::Object(fields, _) = &ty else {
        panic!()
    };
    let endpoints_ty = fields["endpoints"].clone();
    let config = object_of(
        &ty,
        &[
            ("environment", Value::string("mars")),
            ("client_id", Value::string("not-a-uuid")),
            ("client_secret", Value::unknown()),
            (
                "endpoints",
                object_of(
                    &endpoints_ty,
                    &[("authority_host", Value::string("http://login.example.com"))],
                ),
            ),
        ],
    );
    let response = service
        .validate_provider_config(Request::new(tfplugin6::validate_provider_config::Request {
            config: dynamic(&ty, &config),
        }))
        .await
        .unwrap()
        .into_inner();
    let errors = errors(&response.diagnostics);
    let mut paths: Vec<Vec<String>> = errors.iter().map(|d| path_names(d)).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            vec!["client_id".to_owned()],
            vec!["endpoints".into(), "authority_host".into()],
            vec!["environment".into()]
        ]
    );
    let environment = errors
        .iter()
        .find(|d| path_names(d) == ["environment"])
        .unwrap();
    assert!(
        environment.summary.contains("environment") && environment.summary.contains("`public`")
    );
    assert!(
        response.diagnostics.iter().all(|d| d.severity != 0),
        "severity is never INVALID"
    );
}

#[tokio::test]
async fn bad_input_becomes_diagnostics() {
    let service = service();
    let garbage = Some(tfplugin6::DynamicValue {
        msgpack: vec![0xc1, 0xff],
        json: Vec::new(),
    });
    let response = service
        .validate_provider_config(Request::new(tfplugin6::validate_provider_config::Request {
            config: garbage.clone(),
        }))
        .await
        .expect("no gRPC error")
        .into_inner();
    assert_eq!(errors(&response.diagnostics).len(), 1);
    let response = service
        .plan_resource_change(Request::new(tfplugin6::plan_resource_change::Request {
            type_name: "vnetpeer_nope".into(),
            ..Default::default()
        }))
        .await
        .expect("no gRPC error")
        .into_inner();
    assert!(
        errors(&response.diagnostics)[0]
            .summary
            .contains("vnetpeer_nope")
    );
    let response = service
        .open_ephemeral_resource(Request::new(tfplugin6::open_ephemeral_resource::Request {
            type_name: "vnetpeer_x".into(),
            ..Default::default()
        }))
        .await
        .expect("no gRPC error")
        .into_inner();
    assert_eq!(errors(&response.diagnostics).len(), 1);
    let response = service
        .move_resource_state(Request::new(Default::default()))
        .await
        .expect("no gRPC error")
        .into_inner();
    assert_eq!(errors(&response.diagnostics).len(), 1);
    let functions = service
        .get_functions(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<&str> = functions.functions.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["cidrs_overlap", "parse_vnet_id"]);
    assert!(functions.diagnostics.is_empty());
}

#[cfg(feature = "test-fixtures")]
mod fixture {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    const FIXTURE: &str = "vnetpeer_test_fixture";

    async fn configured() -> Arc<ProviderService<VnetpeerProvider>> {
        let service = Arc::new(service());
        let ty = service.server().provider_type().clone();
        let response = service
            .configure_provider(Request::new(tfplugin6::configure_provider::Request {
                terraform_version: "1.11.4".into(),
                config: dynamic(&ty, &object_of(&ty, &[])),
                client_capabilities: Some(tfplugin6::ClientCapabilities {
                    deferral_allowed: false,
                    write_only_attributes_allowed: true,
                    ..Default::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(
            response.diagnostics.is_empty(),
            "{:?}",
            response.diagnostics
        );
        service
    }

    fn fixture_type(service: &ProviderService<VnetpeerProvider>) -> Type {
        service.server().resource_type(FIXTURE).unwrap().clone()
    }

    fn decode_value(ty: &Type, value: &Option<tfplugin6::DynamicValue>) -> Value {
        decode_msgpack(ty, &value.as_ref().expect("a value").msgpack).unwrap()
    }

    /// What Terraform 1.11 and later say they can take: write-only attributes.
    fn write_only_client() -> Option<tfplugin6::ClientCapabilities> {
        Some(tfplugin6::ClientCapabilities {
            deferral_allowed: false,
            write_only_attributes_allowed: true,
            ..Default::default()
        })
    }

    /// PlanResourceChange of the fixture, as Terraform sends it.
    async fn plan_change(
        service: &ProviderService<VnetpeerProvider>,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        client_capabilities: Option<tfplugin6::ClientCapabilities>,
    ) -> tfplugin6::plan_resource_change::Response {
        let ty = fixture_type(service);
        service
            .plan_resource_change(Request::new(tfplugin6::plan_resource_change::Request {
                type_name: FIXTURE.into(),
                prior_state: dynamic(&ty, prior),
                proposed_new_state: dynamic(&ty, proposed),
                config: dynamic(&ty, config),
                client_capabilities,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// ApplyResourceChange of the fixture, as Terraform sends it.
    async fn apply_change(
        service: &ProviderService<VnetpeerProvider>,
        prior: &Value,
        planned: &Value,
        config: &Value,
        planned_private: Vec<u8>,
    ) -> tfplugin6::apply_resource_change::Response {
        let ty = fixture_type(service);
        service
            .apply_resource_change(Request::new(tfplugin6::apply_resource_change::Request {
                type_name: FIXTURE.into(),
                prior_state: dynamic(&ty, prior),
                planned_state: dynamic(&ty, planned),
                config: dynamic(&ty, config),
                planned_private,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// ReadResource of the fixture's `state` (an encoded one, as Terraform holds it).
    async fn read_state(
        service: &ProviderService<VnetpeerProvider>,
        current_state: Option<tfplugin6::DynamicValue>,
        private: Vec<u8>,
    ) -> tfplugin6::read_resource::Response {
        service
            .read_resource(Request::new(tfplugin6::read_resource::Request {
                type_name: FIXTURE.into(),
                current_state,
                private,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// Plans and applies a create of `fields`, returning the new state.
    async fn create(
        service: &ProviderService<VnetpeerProvider>,
        fields: &[(&str, Value)],
    ) -> (Value, Vec<tfplugin6::Diagnostic>) {
        let ty = fixture_type(service);
        let config = object_of(&ty, fields);
        let plan = plan_change(service, &Value::Null, &config, &config, write_only_client()).await;
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        let planned = decode_value(&ty, &plan.planned_state);
        assert!(planned.get("id").unwrap().is_unknown());
        assert!(planned.get("token").unwrap().is_null());
        let applied = apply_change(
            service,
            &Value::Null,
            &planned,
            &config,
            plan.planned_private,
        )
        .await;
        let state = applied
            .new_state
            .as_ref()
            .map(|v| decode_msgpack(&ty, &v.msgpack).unwrap())
            .unwrap_or(Value::Null);
        (state, applied.diagnostics)
    }

    #[tokio::test]
    async fn lifecycle_create_read_noop_plan_destroy() {
        let service = configured().await;
        let ty = fixture_type(&service);
        let (state, diagnostics) = create(
            &service,
            &[
                ("name", Value::string("a")),
                ("token", Value::string("s3cret")),
            ],
        )
        .await;
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(state.is_wholly_known());
        assert!(
            state.get("token").unwrap().is_null(),
            "write-only never in state"
        );
        assert_eq!(state.get("size").and_then(Value::as_i64), Some(1));

        let read = read_state(&service, dynamic(&ty, &state), b"keep me".to_vec()).await;
        assert!(read.diagnostics.is_empty());
        assert_eq!(read.private, b"keep me", "private data is echoed");
        assert!(decode_value(&ty, &read.new_state).raw_equals(&state));

        // Re-plan with the same configuration: the planned state equals the prior (no-op).
        let mut config = object_of(
            &ty,
            &[
                ("name", Value::string("a")),
                ("token", Value::string("s3cret")),
            ],
        );
        let mut proposed = state.clone();
        if let (Value::Object(p), Value::Object(_)) = (&mut proposed, &config) {
            p.insert("token".into(), Value::string("s3cret"));
        }
        let plan = plan_change(&service, &state, &proposed, &config, write_only_client()).await;
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        assert!(decode_value(&ty, &plan.planned_state).raw_equals(&state));
        assert!(plan.requires_replace.is_empty());

        // Old clients cannot take write-only values.
        let plan = plan_change(&service, &state, &proposed, &config, None).await;
        assert_eq!(path_names(errors(&plan.diagnostics)[0]), ["token"]);

        // Destroy plan is null; apply deletes; a read afterwards says "gone".
        config = Value::Null;
        let plan = plan_change(&service, &state, &Value::Null, &config, None).await;
        assert!(decode_value(&ty, &plan.planned_state).is_null());
        let applied = apply_change(&service, &state, &Value::Null, &Value::Null, Vec::new()).await;
        assert!(applied.diagnostics.is_empty());
        assert!(decode_value(&ty, &applied.new_state).is_null());
        let read = read_state(&service, dynamic(&ty, &state), Vec::new()).await;
        assert!(
            decode_value(&ty, &read.new_state).is_null(),
            "gone means null"
        );
    }

    #[tokio::test]
    async fn failed_create_returns_the_partial_state() {
        let service = configured().await;
        let (state, diagnostics) = create(
            &service,
            &[
                ("name", Value::string("f")),
                ("fail_create", Value::Bool(true)),
            ],
        )
        .await;
        assert_eq!(errors(&diagnostics)[0].summary, "fail_create is set");
        assert!(
            state.get("id").and_then(Value::as_str).is_some(),
            "partial state kept: {state:?}"
        );
    }

    #[tokio::test]
    async fn upgrade_same_version_turns_json_into_msgpack() {
        let service = configured().await;
        let ty = fixture_type(&service);
        let raw = br#"{"id":"abc","name":"a","size":12345678901234567890123,"token":"leak","removed_attribute":true,"rule":[{"port":80,"protocol":"udp","old":1}]}"#;
        let response = service
            .upgrade_resource_state(Request::new(tfplugin6::upgrade_resource_state::Request {
                type_name: FIXTURE.into(),
                version: 0,
                raw_state: Some(tfplugin6::RawState {
                    json: raw.to_vec(),
                    flatmap: Default::default(),
                }),
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(
            response.diagnostics.is_empty(),
            "{:?}",
            response.diagnostics
        );
        let upgraded = response.upgraded_state.unwrap();
        assert!(!upgraded.msgpack.is_empty() && upgraded.json.is_empty());
        let value = decode_msgpack(&ty, &upgraded.msgpack).unwrap();
        assert_eq!(value.get("id").and_then(Value::as_str), Some("abc"));
        assert!(
            value.get("zone").unwrap().is_null(),
            "missing attributes are null"
        );
        assert!(value.get("token").unwrap().is_null(), "write-only nulled");
        assert_eq!(
            value
                .get("size")
                .and_then(Value::as_number)
                .unwrap()
                .to_string(),
            "12345678901234567890123"
        );

        for (version, raw_state) in [
            (
                7,
                tfplugin6::RawState {
                    json: raw.to_vec(),
                    flatmap: Default::default(),
                },
            ),
            (
                0,
                tfplugin6::RawState {
                    json: Vec::new(),
                    flatmap: [("id".to_owned(), "x".to_owned())].into(),
                },
            ),
            (
                0,
                tfplugin6::RawState {
                    json: b"{not json".to_vec(),
                    flatmap: Default::default(),
                },
            ),
        ] {
            let response = service
                .upgrade_resource_state(Request::new(tfplugin6::upgrade_resource_state::Request {
                    type_name: FIXTURE.into(),
                    version,
                    raw_state: Some(raw_state),
                }))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                errors(&response.diagnostics).len(),
                1,
                "{:?}",
                response.diagnostics
            );
            assert!(response.upgraded_state.is_none());
        }
    }

    #[tokio::test]
    async fn import_returns_one_resource_then_read_fills_it() {
        let service = configured().await;
        let ty = fixture_type(&service);
        let (state, _) = create(
            &service,
            &[("name", Value::string("imp")), ("zone", Value::string("z"))],
        )
        .await;
        let id = state.get("id").and_then(Value::as_str).unwrap().to_owned();
        let response = service
            .import_resource_state(Request::new(tfplugin6::import_resource_state::Request {
                type_name: FIXTURE.into(),
                id: id.clone(),
                client_capabilities: None,
                identity: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(
            response.diagnostics.is_empty(),
            "{:?}",
            response.diagnostics
        );
        assert_eq!(response.imported_resources.len(), 1);
        let imported = &response.imported_resources[0];
        assert_eq!(imported.type_name, FIXTURE);
        let imported_state = decode_value(&ty, &imported.state);
        assert_eq!(
            imported_state.get("id").and_then(Value::as_str),
            Some(id.as_str())
        );
        let read = read_state(&service, imported.state.clone(), Vec::new()).await;
        assert!(
            decode_value(&ty, &read.new_state).raw_equals(&state),
            "imported equals created"
        );

        let missing = service
            .import_resource_state(Request::new(tfplugin6::import_resource_state::Request {
                type_name: FIXTURE.into(),
                id: "does-not-exist".into(),
                client_capabilities: None,
                identity: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(missing.imported_resources.is_empty());
        assert_eq!(errors(&missing.diagnostics).len(), 1);
    }

    #[tokio::test]
    async fn stop_provider_cancels_a_blocked_operation_and_keeps_serving() {
        let service = configured().await;
        let blocked = {
            let service = Arc::clone(&service);
            tokio::spawn(async move {
                create(
                    &service,
                    &[
                        ("name", Value::string("slow")),
                        ("sleep", Value::string("1h")),
                    ],
                )
                .await
            })
        };
        // Let the create reach its sleep; the stop must work whenever it arrives.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let stop = service
            .stop_provider(Request::new(Default::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stop.error, "");
        let (state, diagnostics) = tokio::time::timeout(Duration::from_secs(10), blocked)
            .await
            .expect("the blocked create ends after StopProvider")
            .unwrap();
        assert!(state.is_null(), "nothing was created");
        assert!(
            errors(&diagnostics)[0].summary.contains("cancelled"),
            "{diagnostics:?}"
        );

        // New operations get a fresh cancellation signal.
        let (state, diagnostics) = create(&service, &[("name", Value::string("after"))]).await;
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(state.get("id").unwrap().as_str().is_some());
    }
}

/// The RPCs added after protocol 6.8 that this provider does not use answer like a provider
/// without those features; the type-scoped ones name the unknown type, as ListResource does for
/// a type it does not list.
#[tokio::test]
async fn newer_rpcs_answer_like_a_provider_without_those_features() {
    use futures::StreamExt;
    let service = service();

    let schema = service
        .get_provider_schema(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    // List resources and the configuration of imported objects are features of this provider.
    let capabilities = schema.server_capabilities.unwrap();
    assert!(capabilities.generate_resource_config);
    assert!(
        schema
            .list_resource_schemas
            .contains_key("vnetpeer_aad_app")
    );
    assert!(schema.action_schemas.is_empty());
    assert!(schema.state_store_schemas.is_empty());

    let mut events = service
        .list_resource(Request::new(tfplugin6::list_resource::Request {
            type_name: "vnetpeer_nope".into(),
            limit: 10,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let event = events.next().await.unwrap().unwrap();
    assert!(events.next().await.is_none());
    assert_eq!(errors(&event.diagnostic).len(), 1);
    assert!(event.diagnostic[0].summary.contains("vnetpeer_nope"));

    let lock = service
        .lock_state(Request::new(tfplugin6::lock_state::Request {
            type_name: "vnetpeer_s3".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(lock.diagnostics[0].summary.contains("state store"));
}

/// Every resource but the test fixture declares an identity of string attributes, all
/// required for import; the fixture, without one, is left out of the map.
#[tokio::test]
async fn identity_schemas_name_every_resource_with_an_identity() {
    let service = service();
    let identity = service
        .get_resource_identity_schemas(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(identity.diagnostics.is_empty());
    let attributes = |type_name: &str| -> Vec<String> {
        identity.identity_schemas[type_name]
            .identity_attributes
            .iter()
            .map(|attribute| {
                assert!(
                    attribute.required_for_import,
                    "{type_name}.{}",
                    attribute.name
                );
                assert_eq!(Type::from_json(&attribute.r#type).unwrap(), Type::String);
                assert!(!attribute.description.is_empty());
                attribute.name.clone()
            })
            .collect()
    };
    assert_eq!(attributes("vnetpeer_aad_app"), ["object_id"]);
    assert_eq!(attributes("vnetpeer_service_principal"), ["object_id"]);
    assert_eq!(
        attributes("vnetpeer_custom_role"),
        ["scope", "role_definition_id"]
    );
    assert_eq!(attributes("vnetpeer_role_assignment"), ["scope", "name"]);
    assert_eq!(
        attributes("vnetpeer_cross_tenant_vnet_peering"),
        [
            "subscription_id",
            "resource_group_name",
            "virtual_network_name",
            "name"
        ]
    );
    assert_eq!(
        attributes("vnetpeer_aiven_vpc_peering"),
        ["project", "project_vpc_id", "vnet_id"]
    );
    assert!(
        !identity
            .identity_schemas
            .contains_key("vnetpeer_test_fixture")
    );
}

/// UpgradeResourceIdentity returns an identity of the current version as it is, and refuses
/// other versions and types without identity with an error.
#[tokio::test]
async fn identities_of_the_current_version_upgrade_unchanged() {
    let service = service();
    let upgrade = |type_name: &str, version: i64| {
        service.upgrade_resource_identity(Request::new(
            tfplugin6::upgrade_resource_identity::Request {
                type_name: type_name.into(),
                version,
                raw_identity: Some(tfplugin6::RawState {
                    json: br#"{"scope":"/subscriptions/s","name":"n"}"#.to_vec(),
                    flatmap: Default::default(),
                }),
            },
        ))
    };
    let current = upgrade("vnetpeer_role_assignment", 0)
        .await
        .unwrap()
        .into_inner();
    assert!(current.diagnostics.is_empty(), "{:?}", current.diagnostics);
    let ty = Type::object([("scope", Type::String), ("name", Type::String)]);
    let data = current.upgraded_identity.unwrap().identity_data.unwrap();
    assert_eq!(
        crate::value::decode_msgpack(&ty, &data.msgpack).unwrap(),
        Value::object([
            ("scope", Value::string("/subscriptions/s")),
            ("name", Value::string("n")),
        ])
    );
    for (type_name, version) in [
        ("vnetpeer_role_assignment", 1),
        ("vnetpeer_test_fixture", 0),
    ] {
        let refused = upgrade(type_name, version).await.unwrap().into_inner();
        assert!(refused.upgraded_identity.is_none(), "{type_name}");
        assert_eq!(errors(&refused.diagnostics).len(), 1, "{type_name}");
    }
}

/// Functions are in both GetProviderSchema (Terraform 1.8+) and GetFunctions, and CallFunction
/// decodes msgpack arguments with the parameter types.
#[tokio::test]
async fn functions_are_declared_and_called() {
    let service = service();
    let schema = service
        .get_provider_schema(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    let functions = service
        .get_functions(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner()
        .functions;
    for name in ["parse_vnet_id", "cidrs_overlap"] {
        assert!(schema.functions.contains_key(name), "{name}");
        assert_eq!(schema.functions.get(name), functions.get(name), "{name}");
    }
    let parse = &functions["parse_vnet_id"];
    assert_eq!(parse.parameters.len(), 1);
    assert!(Type::from_json(&parse.r#return.as_ref().unwrap().r#type).is_ok());

    let list = Type::List(Box::new(Type::String));
    let strings =
        |items: &[&str]| Value::List(items.iter().map(|s| Value::String((*s).into())).collect());
    let call = |a: &[&str], b: &[&str]| tfplugin6::call_function::Request {
        name: "cidrs_overlap".into(),
        arguments: vec![
            dynamic(&list, &strings(a)).unwrap(),
            dynamic(&list, &strings(b)).unwrap(),
        ],
    };
    let response = service
        .call_function(Request::new(call(&["10.0.0.0/16"], &["10.0.1.0/24"])))
        .await
        .unwrap()
        .into_inner();
    assert!(response.error.is_none());
    let result = decode_msgpack(&Type::Bool, &response.result.unwrap().msgpack).unwrap();
    assert_eq!(result, Value::Bool(true));

    let response = service
        .call_function(Request::new(call(&["10.0.0.0/16"], &["10.0.1.0"])))
        .await
        .unwrap()
        .into_inner();
    let error = response.error.unwrap();
    assert_eq!(error.function_argument, Some(1));
    assert!(error.text.contains("b[0]"), "{}", error.text);
    assert!(response.result.is_none());

    let response = service
        .call_function(Request::new(tfplugin6::call_function::Request {
            name: "no_such_function".into(),
            arguments: Vec::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(response.error.unwrap().text.contains("no_such_function"));
}

/// Every resource type has a list resource, advertised in both places; its `config` block is
/// validated with diagnostics at the attribute; a list before ConfigureProvider streams one error
/// event; the configuration generated for an object leaves out what a configuration cannot or
/// must not set.
#[tokio::test]
async fn list_resources_are_advertised_validated_and_streamed() {
    use futures::StreamExt;
    let service = service();
    let metadata = service
        .get_metadata(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<String> = metadata
        .list_resources
        .iter()
        .map(|list| list.type_name.clone())
        .collect();
    let schema = service
        .get_provider_schema(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    let mut with_schema: Vec<String> = schema.list_resource_schemas.keys().cloned().collect();
    with_schema.sort();
    assert_eq!(listed, with_schema);
    let mut resources: Vec<String> = schema
        .resource_schemas
        .keys()
        .filter(|name| *name != "vnetpeer_test_fixture")
        .cloned()
        .collect();
    resources.sort();
    assert_eq!(listed, resources, "a list resource for every resource type");

    let ty = service
        .server()
        .config_type(ConfigKind::ListResource, "vnetpeer_role_assignment")
        .unwrap()
        .clone();
    let validate = |config: Option<tfplugin6::DynamicValue>| {
        service.validate_list_resource_config(Request::new(
            tfplugin6::validate_list_resource_config::Request {
                type_name: "vnetpeer_role_assignment".into(),
                config,
                ..Default::default()
            },
        ))
    };
    let bad = validate(dynamic(
        &ty,
        &object_of(&ty, &[("scope", Value::string("vnet-app"))]),
    ))
    .await
    .unwrap()
    .into_inner();
    let refused = errors(&bad.diagnostics);
    assert_eq!(refused.len(), 1, "{:?}", bad.diagnostics);
    assert_eq!(path_names(refused[0]), ["scope"]);
    assert!(
        refused[0].summary.contains("/subscriptions/{id}")
            && refused[0].detail.contains("vnet-app"),
        "the expected form and what was given: {:?}",
        refused[0]
    );
    let scope = "/subscriptions/a1000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet";
    let good = validate(dynamic(
        &ty,
        &object_of(&ty, &[("scope", Value::string(scope))]),
    ))
    .await
    .unwrap()
    .into_inner();
    assert!(good.diagnostics.is_empty(), "{:?}", good.diagnostics);

    let mut events = service
        .list_resource(Request::new(tfplugin6::list_resource::Request {
            type_name: "vnetpeer_role_assignment".into(),
            config: dynamic(&ty, &object_of(&ty, &[("scope", Value::string(scope))])),
            include_resource_object: true,
            limit: 100,
        }))
        .await
        .unwrap()
        .into_inner();
    let event = events.next().await.unwrap().unwrap();
    assert!(events.next().await.is_none(), "one event ends the stream");
    assert!(event.identity.is_none());
    assert_eq!(errors(&event.diagnostic).len(), 1);
    assert!(
        event.diagnostic[0].summary.contains("not configured"),
        "{:?}",
        event.diagnostic
    );

    let state_type = service
        .server()
        .resource_type("vnetpeer_role_assignment")
        .unwrap()
        .clone();
    let state = object_of(
        &state_type,
        &[
            ("scope", Value::string(scope)),
            (
                "principal_id",
                Value::string("b1000000-0000-4000-8000-000000000001"),
            ),
            (
                "role_definition_id",
                Value::string(
                    "/subscriptions/a1000000-0000-4000-8000-000000000001/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7",
                ),
            ),
            ("role_definition_name", Value::string("Network Contributor")),
            ("principal_type", Value::string("ServicePrincipal")),
            (
                "name",
                Value::string("c1000000-0000-4000-8000-000000000001"),
            ),
            (
                "id",
                Value::string(format!(
                    "{scope}/providers/Microsoft.Authorization/roleAssignments/c1000000-0000-4000-8000-000000000001"
                )),
            ),
        ],
    );
    let generated = service
        .generate_resource_config(Request::new(tfplugin6::generate_resource_config::Request {
            type_name: "vnetpeer_role_assignment".into(),
            state: dynamic(&state_type, &state),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        generated.diagnostics.is_empty(),
        "{:?}",
        generated.diagnostics
    );
    let config = decode_msgpack(&state_type, &generated.config.unwrap().msgpack).unwrap();
    assert_eq!(
        config,
        object_of(
            &state_type,
            &[
                ("scope", Value::string(scope)),
                (
                    "principal_id",
                    Value::string("b1000000-0000-4000-8000-000000000001")
                ),
                ("role_definition_name", Value::string("Network Contributor")),
                ("principal_type", Value::string("ServicePrincipal")),
            ],
        ),
        "read-only `name` and `id` and the second spelling of the role are left out"
    );
}
