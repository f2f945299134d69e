//! The `tfplugin6.Provider` gRPC service: decodes requests (msgpack or JSON DynamicValues, with
//! the schema's implied type), calls the protocol-independent [`Server`], and encodes the
//! answers. Every failure, bad input included, becomes a diagnostic: no RPC returns a gRPC error
//! or panics (docs/development/plugin-obligations.md, E6).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::framework::{
    AttributePath, Block, Catalog, ConfigKind, Diagnostic, Diagnostics, FunctionError, Identity,
    ImportOutcome, ListEvent, ListResult, MoveSource, NestedBlock, Nesting, PathStep, Provider,
    Schema, Server, Severity, Signature,
};
use crate::value::{Type, Value, decode_json, decode_msgpack, encode_msgpack};

use super::proto::tfplugin6;
use super::proto::tfplugin6::provider_server::Provider as GrpcProvider;

/// The gRPC service of a framework [`Provider`].
pub struct ProviderService<P: Provider> {
    server: Arc<Server<P>>,
    /// GetProviderSchema's answer, encoded once per process.
    schema_response: OnceLock<tfplugin6::get_provider_schema::Response>,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> Self {
        ProviderService {
            server: Arc::new(Server::new(provider)),
            schema_response: OnceLock::new(),
        }
    }

    /// The framework server behind this service.
    pub fn server(&self) -> &Server<P> {
        &self.server
    }

    fn build_schema_response(&self) -> tfplugin6::get_provider_schema::Response {
        let catalog = self.server.catalog();
        let mut diagnostics = Diagnostics::new();
        if !catalog.problems.is_empty() {
            diagnostics.push(Diagnostic::error(
                "Provider bug: invalid schema",
                format!(
                    "{}. Please report this issue to the provider developers.",
                    catalog.problems.join("; ")
                ),
            ));
        }
        tfplugin6::get_provider_schema::Response {
            provider: Some(schema_to_proto(&catalog.provider)),
            resource_schemas: catalog
                .resources
                .iter()
                .map(|(name, entry)| ((*name).to_owned(), schema_to_proto(&entry.schema)))
                .collect(),
            data_source_schemas: catalog
                .data_sources
                .iter()
                .map(|(name, entry)| ((*name).to_owned(), schema_to_proto(&entry.schema)))
                .collect(),
            functions: functions_to_proto(catalog),
            ephemeral_resource_schemas: catalog
                .ephemeral_resources
                .iter()
                .map(|(name, entry)| ((*name).to_owned(), schema_to_proto(&entry.schema)))
                .collect(),
            diagnostics: diagnostics_to_proto(diagnostics),
            provider_meta: None,
            server_capabilities: Some(server_capabilities()),
            list_resource_schemas: catalog
                .list_resources
                .iter()
                .map(|(name, entry)| ((*name).to_owned(), schema_to_proto(&entry.schema)))
                .collect(),
            state_store_schemas: Default::default(),
            action_schemas: Default::default(),
        }
    }
}

impl<P: Provider> ProviderService<P> {
    /// The identity of `state` as Terraform receives it, when the type has one and the state
    /// determines it.
    fn identity_of(
        &self,
        type_name: &str,
        state: &Value,
    ) -> Option<tfplugin6::ResourceIdentityData> {
        let ty = self.server.identity_type(type_name)?;
        let identity = self.server.identity_of(type_name, state)?;
        let data = encode(ty, &identity, "identity").ok()?;
        Some(tfplugin6::ResourceIdentityData {
            identity_data: Some(data),
        })
    }

    /// The four Validate*Config RPCs: decode with the block's type, validate.
    fn validate_config(
        &self,
        kind: ConfigKind,
        type_name: &str,
        config: Option<&tfplugin6::DynamicValue>,
    ) -> Vec<tfplugin6::Diagnostic> {
        let diagnostics = match self.server.config_type(kind, type_name) {
            // Validating nothing reports the unknown type.
            None => self.server.validate_config(kind, type_name, &Value::Null),
            Some(ty) => match decode(ty, config, "configuration") {
                Ok(config) => self.server.validate_config(kind, type_name, &config),
                Err(diagnostics) => diagnostics,
            },
        };
        diagnostics_to_proto(diagnostics)
    }

    /// Decodes the arguments with the parameter types, calls, and encodes the result.
    fn call(
        &self,
        name: &str,
        arguments: &[tfplugin6::DynamicValue],
    ) -> Result<tfplugin6::DynamicValue, FunctionError> {
        let signature = self.server.function_signature(name).ok_or_else(|| {
            FunctionError::general(format!("This provider has no function named {name:?}."))
        })?;
        if arguments.len() != signature.parameters.len() {
            return Err(FunctionError::general(format!(
                "{name} takes {} argument(s), {} given.",
                signature.parameters.len(),
                arguments.len()
            )));
        }
        let values = signature
            .parameters
            .iter()
            .zip(arguments)
            .enumerate()
            .map(|(position, (parameter, argument))| {
                decode(&parameter.ty, Some(argument), "argument").map_err(|_| {
                    FunctionError::argument(
                        position,
                        format!(
                            "Terraform sent a value for {} that is not of type {}.",
                            parameter.name,
                            parameter.ty.to_json()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let result = self.server.call_function(name, &values)?;
        encode(&signature.return_type, &result, "function result").map_err(|_| {
            FunctionError::general(format!(
                "Provider bug: cannot encode the result of {name}. Please report this issue to \
                 the provider developers."
            ))
        })
    }
}

fn functions_to_proto<D>(catalog: &Catalog<D>) -> HashMap<String, tfplugin6::Function> {
    catalog
        .functions
        .iter()
        .map(|(name, entry)| ((*name).to_owned(), function_to_proto(&entry.signature)))
        .collect()
}

fn function_to_proto(signature: &Signature) -> tfplugin6::Function {
    tfplugin6::Function {
        parameters: signature
            .parameters
            .iter()
            .map(|parameter| tfplugin6::function::Parameter {
                name: parameter.name.to_owned(),
                r#type: parameter.ty.to_json().into_bytes(),
                allow_null_value: parameter.allow_null,
                // Functions compute from known values only; Terraform returns unknown for them.
                allow_unknown_values: false,
                description: parameter.description.clone(),
                description_kind: tfplugin6::StringKind::Markdown as i32,
            })
            .collect(),
        variadic_parameter: None,
        r#return: Some(tfplugin6::function::Return {
            r#type: signature.return_type.to_json().into_bytes(),
        }),
        summary: signature.summary.clone(),
        description: signature.description.clone(),
        description_kind: tfplugin6::StringKind::Markdown as i32,
        deprecation_message: String::new(),
    }
}

fn server_capabilities() -> tfplugin6::ServerCapabilities {
    tfplugin6::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        // `moved` blocks from the peer providers' resource types (Resource::move_from).
        move_resource_state: true,
        // `-generate-config-out` (Terraform 1.14+) asks the provider for the configuration of an
        // imported or listed object (Resource::generated_config), so that it plans no change.
        generate_resource_config: true,
    }
}

#[tonic::async_trait]
impl<P: Provider> GrpcProvider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _request: Request<tfplugin6::get_metadata::Request>,
    ) -> Result<Response<tfplugin6::get_metadata::Response>, Status> {
        let catalog = self.server.catalog();
        Ok(Response::new(tfplugin6::get_metadata::Response {
            server_capabilities: Some(server_capabilities()),
            diagnostics: Vec::new(),
            data_sources: catalog
                .data_sources
                .keys()
                .map(|name| tfplugin6::get_metadata::DataSourceMetadata {
                    type_name: (*name).to_owned(),
                })
                .collect(),
            resources: catalog
                .resources
                .keys()
                .map(|name| tfplugin6::get_metadata::ResourceMetadata {
                    type_name: (*name).to_owned(),
                })
                .collect(),
            functions: catalog
                .functions
                .keys()
                .map(|name| tfplugin6::get_metadata::FunctionMetadata {
                    name: (*name).to_owned(),
                })
                .collect(),
            ephemeral_resources: catalog
                .ephemeral_resources
                .keys()
                .map(|name| tfplugin6::get_metadata::EphemeralMetadata {
                    type_name: (*name).to_owned(),
                })
                .collect(),
            list_resources: catalog
                .list_resources
                .keys()
                .map(|name| tfplugin6::get_metadata::ListResourceMetadata {
                    type_name: (*name).to_owned(),
                })
                .collect(),
            state_stores: Vec::new(),
            actions: Vec::new(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<tfplugin6::get_provider_schema::Request>,
    ) -> Result<Response<tfplugin6::get_provider_schema::Response>, Status> {
        let response = self
            .schema_response
            .get_or_init(|| self.build_schema_response())
            .clone();
        Ok(Response::new(response))
    }

    async fn validate_provider_config(
        &self,
        request: Request<tfplugin6::validate_provider_config::Request>,
    ) -> Result<Response<tfplugin6::validate_provider_config::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = match decode(
            self.server.provider_type(),
            request.config.as_ref(),
            "provider configuration",
        ) {
            Ok(config) => self.server.validate_provider_config(&config),
            Err(diagnostics) => diagnostics,
        };
        Ok(Response::new(
            tfplugin6::validate_provider_config::Response {
                diagnostics: diagnostics_to_proto(diagnostics),
            },
        ))
    }

    async fn validate_resource_config(
        &self,
        request: Request<tfplugin6::validate_resource_config::Request>,
    ) -> Result<Response<tfplugin6::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = self.validate_config(
            ConfigKind::Resource,
            &request.type_name,
            request.config.as_ref(),
        );
        Ok(Response::new(
            tfplugin6::validate_resource_config::Response { diagnostics },
        ))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<tfplugin6::validate_data_resource_config::Request>,
    ) -> Result<Response<tfplugin6::validate_data_resource_config::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = self.validate_config(
            ConfigKind::DataSource,
            &request.type_name,
            request.config.as_ref(),
        );
        Ok(Response::new(
            tfplugin6::validate_data_resource_config::Response { diagnostics },
        ))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<tfplugin6::upgrade_resource_state::Request>,
    ) -> Result<Response<tfplugin6::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        let result = (|| {
            let ty = self
                .server
                .resource_type(&request.type_name)
                .ok_or_else(|| unknown_type("resource", &request.type_name))?;
            let raw = request.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                let detail = if raw.flatmap.is_empty() {
                    "Terraform sent no state to upgrade."
                } else {
                    "The state was written by Terraform 0.11 or older (flatmap format), which this \
                     provider cannot read. Remove the object from state and import it again."
                };
                return Err(Diagnostics::from(Diagnostic::error(
                    format!("Cannot upgrade the state of {}", request.type_name),
                    detail,
                )));
            }
            let value = self.server.upgrade_resource_state(
                &request.type_name,
                request.version,
                &raw.json,
            )?;
            encode(ty, &value, "upgraded state")
        })();
        let (upgraded_state, diagnostics) = match result {
            Ok(state) => (Some(state), Diagnostics::new()),
            Err(diagnostics) => (None, diagnostics),
        };
        Ok(Response::new(tfplugin6::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<tfplugin6::configure_provider::Request>,
    ) -> Result<Response<tfplugin6::configure_provider::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = match decode(
            self.server.provider_type(),
            request.config.as_ref(),
            "provider configuration",
        ) {
            Ok(config) => self.server.configure(config, request.terraform_version),
            Err(diagnostics) => diagnostics,
        };
        Ok(Response::new(tfplugin6::configure_provider::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<tfplugin6::read_resource::Request>,
    ) -> Result<Response<tfplugin6::read_resource::Response>, Status> {
        let request = request.into_inner();
        let Some(ty) = self.server.resource_type(&request.type_name) else {
            return Ok(Response::new(tfplugin6::read_resource::Response {
                new_state: request.current_state,
                private: request.private,
                diagnostics: diagnostics_to_proto(unknown_type("resource", &request.type_name)),
                deferred: None,
                new_identity: request.current_identity,
            }));
        };
        let state = match decode(ty, request.current_state.as_ref(), "current state") {
            Ok(state) => state,
            Err(diagnostics) => {
                return Ok(Response::new(tfplugin6::read_resource::Response {
                    new_state: request.current_state,
                    private: request.private,
                    diagnostics: diagnostics_to_proto(diagnostics),
                    deferred: None,
                    new_identity: request.current_identity,
                }));
            }
        };
        let outcome = self
            .server
            .read_resource(&request.type_name, state, request.private)
            .await;
        let mut diagnostics = outcome.diagnostics;
        let new_identity = self.identity_of(&request.type_name, &outcome.new_state);
        let new_state = encode_or_report(ty, &outcome.new_state, "new state", &mut diagnostics)
            .or(request.current_state);
        Ok(Response::new(tfplugin6::read_resource::Response {
            new_state,
            private: outcome.private,
            diagnostics: diagnostics_to_proto(diagnostics),
            deferred: None,
            new_identity,
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<tfplugin6::plan_resource_change::Request>,
    ) -> Result<Response<tfplugin6::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        let failed = |diagnostics: Diagnostics, private: Vec<u8>| {
            Ok(Response::new(tfplugin6::plan_resource_change::Response {
                planned_state: None,
                requires_replace: Vec::new(),
                planned_private: private,
                diagnostics: diagnostics_to_proto(diagnostics),
                legacy_type_system: false,
                deferred: None,
                planned_identity: None,
            }))
        };
        let Some(ty) = self.server.resource_type(&request.type_name) else {
            return failed(
                unknown_type("resource", &request.type_name),
                request.prior_private,
            );
        };
        let decoded = decode(ty, request.prior_state.as_ref(), "prior state").and_then(|prior| {
            // On a plan without changes Terraform proposes the prior state itself: the decoded
            // prior serves as both, neither decoded again nor copied.
            let proposed = if request.proposed_new_state == request.prior_state {
                None
            } else {
                Some(decode(
                    ty,
                    request.proposed_new_state.as_ref(),
                    "proposed state",
                )?)
            };
            let config = decode(ty, request.config.as_ref(), "configuration")?;
            Ok((prior, proposed, config))
        });
        let (prior, proposed, config) = match decoded {
            Ok(values) => values,
            Err(diagnostics) => return failed(diagnostics, request.prior_private),
        };
        let write_only_allowed = request
            .client_capabilities
            .is_some_and(|capabilities| capabilities.write_only_attributes_allowed);
        let outcome = self
            .server
            .plan_resource_change(
                &request.type_name,
                prior,
                proposed,
                config,
                request.prior_private,
                write_only_allowed,
            )
            .await;
        let mut diagnostics = outcome.diagnostics;
        let planned_identity = self.identity_of(&request.type_name, &outcome.planned_state);
        let planned_state = encode_or_report(
            ty,
            &outcome.planned_state,
            "planned state",
            &mut diagnostics,
        );
        Ok(Response::new(tfplugin6::plan_resource_change::Response {
            planned_state,
            requires_replace: outcome.requires_replace.iter().map(path_to_proto).collect(),
            planned_private: outcome.planned_private,
            diagnostics: diagnostics_to_proto(diagnostics),
            legacy_type_system: false,
            deferred: None,
            planned_identity,
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<tfplugin6::apply_resource_change::Request>,
    ) -> Result<Response<tfplugin6::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        let failed = |diagnostics: Diagnostics, new_state, private: Vec<u8>| {
            Ok(Response::new(tfplugin6::apply_resource_change::Response {
                new_state,
                private,
                diagnostics: diagnostics_to_proto(diagnostics),
                legacy_type_system: false,
                new_identity: None,
            }))
        };
        let Some(ty) = self.server.resource_type(&request.type_name) else {
            return failed(
                unknown_type("resource", &request.type_name),
                request.prior_state,
                request.planned_private,
            );
        };
        let decoded = decode(ty, request.prior_state.as_ref(), "prior state").and_then(|prior| {
            let planned = decode(ty, request.planned_state.as_ref(), "planned state")?;
            let config = decode(ty, request.config.as_ref(), "configuration")?;
            Ok((prior, planned, config))
        });
        let (prior, planned, config) = match decoded {
            Ok(values) => values,
            Err(diagnostics) => {
                return failed(diagnostics, request.prior_state, request.planned_private);
            }
        };
        let outcome = self
            .server
            .apply_resource_change(
                &request.type_name,
                prior,
                planned,
                config,
                request.planned_private,
            )
            .await;
        let mut diagnostics = outcome.diagnostics;
        let new_identity = self.identity_of(&request.type_name, &outcome.new_state);
        let new_state = encode_or_report(ty, &outcome.new_state, "new state", &mut diagnostics)
            .or(request.prior_state);
        Ok(Response::new(tfplugin6::apply_resource_change::Response {
            new_state,
            private: outcome.private,
            diagnostics: diagnostics_to_proto(diagnostics),
            legacy_type_system: false,
            new_identity,
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<tfplugin6::import_resource_state::Request>,
    ) -> Result<Response<tfplugin6::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        let Some(ty) = self.server.resource_type(&request.type_name) else {
            return Ok(Response::new(tfplugin6::import_resource_state::Response {
                imported_resources: Vec::new(),
                diagnostics: diagnostics_to_proto(unknown_type("resource", &request.type_name)),
                deferred: None,
            }));
        };
        // An import block with `identity = { … }` sends the identity and an empty id.
        let by_identity = request
            .identity
            .as_ref()
            .and_then(|identity| identity.identity_data.as_ref())
            .filter(|_| request.id.is_empty());
        let outcome = match (by_identity, self.server.identity_type(&request.type_name)) {
            (Some(data), Some(identity_type)) => {
                match decode(identity_type, Some(data), "identity") {
                    Ok(identity) => {
                        self.server
                            .import_by_identity(&request.type_name, &identity)
                            .await
                    }
                    Err(diagnostics) => ImportOutcome {
                        state: None,
                        private: Vec::new(),
                        diagnostics,
                    },
                }
            }
            _ => {
                self.server
                    .import_resource_state(&request.type_name, &request.id)
                    .await
            }
        };
        let mut diagnostics = outcome.diagnostics;
        let imported_resources = outcome
            .state
            .and_then(|state| {
                let identity = self.identity_of(&request.type_name, &state);
                encode_or_report(ty, &state, "imported state", &mut diagnostics)
                    .map(|state| (state, identity))
            })
            .map(
                |(state, identity)| tfplugin6::import_resource_state::ImportedResource {
                    type_name: request.type_name.clone(),
                    state: Some(state),
                    private: outcome.private,
                    identity,
                },
            )
            .into_iter()
            .collect();
        Ok(Response::new(tfplugin6::import_resource_state::Response {
            imported_resources,
            diagnostics: diagnostics_to_proto(diagnostics),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        request: Request<tfplugin6::move_resource_state::Request>,
    ) -> Result<Response<tfplugin6::move_resource_state::Response>, Status> {
        let request = request.into_inner();
        let failed = |diagnostics: Diagnostics| {
            Ok(Response::new(tfplugin6::move_resource_state::Response {
                target_state: None,
                diagnostics: diagnostics_to_proto(diagnostics),
                target_private: Vec::new(),
                target_identity: None,
            }))
        };
        let Some(ty) = self.server.resource_type(&request.target_type_name) else {
            return failed(unknown_type("resource", &request.target_type_name));
        };
        let json = request
            .source_state
            .as_ref()
            .map(|raw| raw.json.as_slice())
            .unwrap_or_default();
        let state: serde_json::Value = match serde_json::from_slice(json) {
            Ok(state) => state,
            Err(error) => {
                return failed(
                    Diagnostic::error(
                        format!("Cannot read the state of {}", request.source_type_name),
                        format!("Terraform sent a source state that is not JSON: {error}."),
                    )
                    .into(),
                );
            }
        };
        let source = MoveSource {
            provider_address: &request.source_provider_address,
            type_name: &request.source_type_name,
            schema_version: request.source_schema_version,
            state: &state,
        };
        let outcome = self
            .server
            .move_resource_state(&request.target_type_name, &source);
        let mut diagnostics = outcome.diagnostics;
        let (target_state, target_identity) = match outcome.state {
            Some(state) => (
                encode_or_report(ty, &state, "moved state", &mut diagnostics),
                self.identity_of(&request.target_type_name, &state),
            ),
            None => (None, None),
        };
        Ok(Response::new(tfplugin6::move_resource_state::Response {
            target_state,
            diagnostics: diagnostics_to_proto(diagnostics),
            target_private: Vec::new(),
            target_identity,
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<tfplugin6::read_data_source::Request>,
    ) -> Result<Response<tfplugin6::read_data_source::Response>, Status> {
        let request = request.into_inner();
        let Some(ty) = self
            .server
            .config_type(ConfigKind::DataSource, &request.type_name)
        else {
            return Ok(Response::new(tfplugin6::read_data_source::Response {
                state: None,
                diagnostics: diagnostics_to_proto(unknown_type("data source", &request.type_name)),
                deferred: None,
            }));
        };
        let (state, mut diagnostics) = match decode(ty, request.config.as_ref(), "configuration") {
            Ok(config) => {
                self.server
                    .read_data_source(&request.type_name, config)
                    .await
            }
            Err(diagnostics) => (Value::Null, diagnostics),
        };
        let state = if state.is_null() {
            None
        } else {
            encode_or_report(ty, &state, "data source state", &mut diagnostics)
        };
        Ok(Response::new(tfplugin6::read_data_source::Response {
            state,
            diagnostics: diagnostics_to_proto(diagnostics),
            deferred: None,
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<tfplugin6::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<tfplugin6::validate_ephemeral_resource_config::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = self.validate_config(
            ConfigKind::EphemeralResource,
            &request.type_name,
            request.config.as_ref(),
        );
        Ok(Response::new(
            tfplugin6::validate_ephemeral_resource_config::Response { diagnostics },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<tfplugin6::open_ephemeral_resource::Request>,
    ) -> Result<Response<tfplugin6::open_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let failed = |diagnostics: Diagnostics| {
            Ok(Response::new(
                tfplugin6::open_ephemeral_resource::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                    renew_at: None,
                    result: None,
                    private: None,
                    deferred: None,
                },
            ))
        };
        let Some(ty) = self
            .server
            .config_type(ConfigKind::EphemeralResource, &request.type_name)
        else {
            return failed(unknown_type("ephemeral resource", &request.type_name));
        };
        let config = match decode(ty, request.config.as_ref(), "configuration") {
            Ok(config) => config,
            Err(diagnostics) => return failed(diagnostics),
        };
        let (opened, mut diagnostics) =
            match self.server.open_ephemeral(&request.type_name, config).await {
                Ok(outcome) => outcome,
                Err(diagnostics) => return failed(diagnostics),
            };
        let result = encode_or_report(ty, &opened.result, "ephemeral result", &mut diagnostics);
        Ok(Response::new(
            tfplugin6::open_ephemeral_resource::Response {
                diagnostics: diagnostics_to_proto(diagnostics),
                renew_at: opened.renew_at.map(prost_types::Timestamp::from),
                result,
                private: Some(opened.private),
                deferred: None,
            },
        ))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<tfplugin6::renew_ephemeral_resource::Request>,
    ) -> Result<Response<tfplugin6::renew_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let private = request.private.unwrap_or_default();
        let response = match self
            .server
            .renew_ephemeral(&request.type_name, private)
            .await
        {
            Ok(renewed) => tfplugin6::renew_ephemeral_resource::Response {
                diagnostics: Vec::new(),
                renew_at: renewed.renew_at.map(prost_types::Timestamp::from),
                private: Some(renewed.private),
            },
            Err(diagnostics) => tfplugin6::renew_ephemeral_resource::Response {
                diagnostics: diagnostics_to_proto(diagnostics),
                renew_at: None,
                private: None,
            },
        };
        Ok(Response::new(response))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<tfplugin6::close_ephemeral_resource::Request>,
    ) -> Result<Response<tfplugin6::close_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = self
            .server
            .close_ephemeral(&request.type_name, request.private.unwrap_or_default())
            .await;
        Ok(Response::new(
            tfplugin6::close_ephemeral_resource::Response {
                diagnostics: diagnostics_to_proto(diagnostics),
            },
        ))
    }

    async fn get_functions(
        &self,
        _request: Request<tfplugin6::get_functions::Request>,
    ) -> Result<Response<tfplugin6::get_functions::Response>, Status> {
        Ok(Response::new(tfplugin6::get_functions::Response {
            functions: functions_to_proto(self.server.catalog()),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        request: Request<tfplugin6::call_function::Request>,
    ) -> Result<Response<tfplugin6::call_function::Response>, Status> {
        let request = request.into_inner();
        let outcome = self.call(&request.name, &request.arguments);
        Ok(Response::new(match outcome {
            Ok(result) => tfplugin6::call_function::Response {
                result: Some(result),
                error: None,
            },
            Err(error) => tfplugin6::call_function::Response {
                result: None,
                error: Some(tfplugin6::FunctionError {
                    text: error.text,
                    function_argument: error
                        .argument
                        .and_then(|position| i64::try_from(position).ok()),
                }),
            },
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<tfplugin6::get_resource_identity_schemas::Request>,
    ) -> Result<Response<tfplugin6::get_resource_identity_schemas::Response>, Status> {
        // Terraform 1.12+ calls this with every GetProviderSchema; a type without identity is
        // left out of the map.
        let identity_schemas = self
            .server
            .catalog()
            .resources
            .iter()
            .filter_map(|(name, entry)| {
                let (identity, _) = entry.identity.as_ref()?;
                Some(((*name).to_owned(), identity_schema_to_proto(identity)))
            })
            .collect();
        Ok(Response::new(
            tfplugin6::get_resource_identity_schemas::Response {
                identity_schemas,
                diagnostics: Vec::new(),
            },
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<tfplugin6::upgrade_resource_identity::Request>,
    ) -> Result<Response<tfplugin6::upgrade_resource_identity::Response>, Status> {
        let request = request.into_inner();
        let json = request.raw_identity.map(|raw| raw.json).unwrap_or_default();
        let result = self
            .server
            .upgrade_resource_identity(&request.type_name, request.version, &json)
            .and_then(|identity| {
                let ty = self
                    .server
                    .identity_type(&request.type_name)
                    .ok_or_else(|| no_identity(&request.type_name))?;
                encode(ty, &identity, "upgraded identity")
            });
        let (upgraded_identity, diagnostics) = match result {
            Ok(data) => (
                Some(tfplugin6::ResourceIdentityData {
                    identity_data: Some(data),
                }),
                Diagnostics::new(),
            ),
            Err(diagnostics) => (None, diagnostics),
        };
        Ok(Response::new(
            tfplugin6::upgrade_resource_identity::Response {
                upgraded_identity,
                diagnostics: diagnostics_to_proto(diagnostics),
            },
        ))
    }

    async fn generate_resource_config(
        &self,
        request: Request<tfplugin6::generate_resource_config::Request>,
    ) -> Result<Response<tfplugin6::generate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let Some(ty) = self.server.resource_type(&request.type_name) else {
            return Ok(Response::new(
                tfplugin6::generate_resource_config::Response {
                    config: None,
                    diagnostics: diagnostics_to_proto(unknown_type("resource", &request.type_name)),
                },
            ));
        };
        let (config, mut diagnostics) = match decode(ty, request.state.as_ref(), "state") {
            Ok(state) => self
                .server
                .generate_resource_config(&request.type_name, &state),
            Err(diagnostics) => (Value::Null, diagnostics),
        };
        let config = encode_or_report(ty, &config, "configuration", &mut diagnostics);
        Ok(Response::new(
            tfplugin6::generate_resource_config::Response {
                config,
                diagnostics: diagnostics_to_proto(diagnostics),
            },
        ))
    }

    type ListResourceStream = ReceiverStream<Result<tfplugin6::list_resource::Event, Status>>;

    /// Streams each result as the list resource finds it: a task runs the list and the
    /// translation while Terraform reads the stream. Dropping the stream (Terraform has its
    /// `limit`, or went away) stops the list at its next result.
    async fn list_resource(
        &self,
        request: Request<tfplugin6::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        let request = request.into_inner();
        let (sender, receiver) = mpsc::channel(LIST_BUFFER);
        let Some(config_type) = self
            .server
            .config_type(ConfigKind::ListResource, &request.type_name)
        else {
            let event = error_event(unknown_type("list resource", &request.type_name));
            // The channel is empty and its receiver alive: the one event fits.
            let _ = sender.try_send(Ok(event));
            return Ok(Response::new(ReceiverStream::new(receiver)));
        };
        let config = match decode(config_type, request.config.as_ref(), "list configuration") {
            Ok(config) => config,
            Err(diagnostics) => {
                let _ = sender.try_send(Ok(error_event(diagnostics)));
                return Ok(Response::new(ReceiverStream::new(receiver)));
            }
        };
        let server = Arc::clone(&self.server);
        let (events, mut found) = mpsc::channel(LIST_BUFFER);
        let type_name = request.type_name;
        let list = {
            let type_name = type_name.clone();
            async move {
                server
                    .list_resource(
                        &type_name,
                        config,
                        request.include_resource_object,
                        request.limit,
                        events,
                    )
                    .await;
            }
        };
        let server = Arc::clone(&self.server);
        let translate = async move {
            while let Some(event) = found.recv().await {
                let event = list_event_to_proto(&server, &type_name, event);
                if sender.send(Ok(event)).await.is_err() {
                    break;
                }
            }
        };
        tokio::spawn(async move {
            // The translation ends when the list drops its sender; the list stops when the
            // translation stops reading (Terraform closed the stream).
            tokio::join!(list, translate);
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<tfplugin6::validate_list_resource_config::Request>,
    ) -> Result<Response<tfplugin6::validate_list_resource_config::Response>, Status> {
        // Terraform sends the `config` block only (include_resource_object and limit are its
        // own to check).
        let request = request.into_inner();
        let diagnostics = self.validate_config(
            ConfigKind::ListResource,
            &request.type_name,
            request.config.as_ref(),
        );
        Ok(Response::new(
            tfplugin6::validate_list_resource_config::Response { diagnostics },
        ))
    }

    async fn validate_state_store_config(
        &self,
        request: Request<tfplugin6::validate_state_store::Request>,
    ) -> Result<Response<tfplugin6::validate_state_store::Response>, Status> {
        let diagnostics = unknown_type("state store", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::validate_state_store::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn configure_state_store(
        &self,
        request: Request<tfplugin6::configure_state_store::Request>,
    ) -> Result<Response<tfplugin6::configure_state_store::Response>, Status> {
        let diagnostics = unknown_type("state store", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::configure_state_store::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
            capabilities: None,
        }))
    }

    type ReadStateBytesStream = futures::stream::Iter<
        std::vec::IntoIter<Result<tfplugin6::read_state_bytes::Response, Status>>,
    >;

    async fn read_state_bytes(
        &self,
        request: Request<tfplugin6::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        let chunk = tfplugin6::read_state_bytes::Response {
            bytes: Vec::new(),
            total_length: 0,
            range: None,
            diagnostics: diagnostics_to_proto(unknown_type(
                "state store",
                &request.into_inner().type_name,
            )),
        };
        Ok(Response::new(futures::stream::iter(vec![Ok(chunk)])))
    }

    async fn write_state_bytes(
        &self,
        request: Request<tonic::Streaming<tfplugin6::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<tfplugin6::write_state_bytes::Response>, Status> {
        // The type name travels in the first chunk; the rest is not read.
        let type_name = match request.into_inner().message().await {
            Ok(Some(chunk)) => chunk.meta.map(|meta| meta.type_name).unwrap_or_default(),
            _ => String::new(),
        };
        Ok(Response::new(tfplugin6::write_state_bytes::Response {
            diagnostics: diagnostics_to_proto(unknown_type("state store", &type_name)),
        }))
    }

    async fn lock_state(
        &self,
        request: Request<tfplugin6::lock_state::Request>,
    ) -> Result<Response<tfplugin6::lock_state::Response>, Status> {
        let diagnostics = unknown_type("state store", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::lock_state::Response {
            lock_id: String::new(),
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn unlock_state(
        &self,
        request: Request<tfplugin6::unlock_state::Request>,
    ) -> Result<Response<tfplugin6::unlock_state::Response>, Status> {
        let diagnostics = unknown_type("state store", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::unlock_state::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn get_states(
        &self,
        request: Request<tfplugin6::get_states::Request>,
    ) -> Result<Response<tfplugin6::get_states::Response>, Status> {
        let diagnostics = unknown_type("state store", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::get_states::Response {
            state_id: Vec::new(),
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn delete_state(
        &self,
        request: Request<tfplugin6::delete_state::Request>,
    ) -> Result<Response<tfplugin6::delete_state::Response>, Status> {
        let diagnostics = unknown_type("state store", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::delete_state::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn plan_action(
        &self,
        request: Request<tfplugin6::plan_action::Request>,
    ) -> Result<Response<tfplugin6::plan_action::Response>, Status> {
        let diagnostics = unknown_type("action", &request.into_inner().action_type);
        Ok(Response::new(tfplugin6::plan_action::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
            deferred: None,
        }))
    }

    type InvokeActionStream =
        futures::stream::Iter<std::vec::IntoIter<Result<tfplugin6::invoke_action::Event, Status>>>;

    async fn invoke_action(
        &self,
        request: Request<tfplugin6::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        use tfplugin6::invoke_action::event::{Completed, Type};
        let completed = tfplugin6::invoke_action::Event {
            r#type: Some(Type::Completed(Completed {
                diagnostics: diagnostics_to_proto(unknown_type(
                    "action",
                    &request.into_inner().action_type,
                )),
            })),
        };
        Ok(Response::new(futures::stream::iter(vec![Ok(completed)])))
    }

    async fn validate_action_config(
        &self,
        request: Request<tfplugin6::validate_action_config::Request>,
    ) -> Result<Response<tfplugin6::validate_action_config::Response>, Status> {
        let diagnostics = unknown_type("action", &request.into_inner().type_name);
        Ok(Response::new(tfplugin6::validate_action_config::Response {
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn stop_provider(
        &self,
        _request: Request<tfplugin6::stop_provider::Request>,
    ) -> Result<Response<tfplugin6::stop_provider::Response>, Status> {
        self.server.stop();
        Ok(Response::new(tfplugin6::stop_provider::Response {
            error: String::new(),
        }))
    }
}

/// Decodes a request value (msgpack preferred, then JSON; absent means null,
/// docs/development/plugin-obligations.md, G1).
fn decode(
    ty: &Type,
    value: Option<&tfplugin6::DynamicValue>,
    what: &str,
) -> Result<Value, Diagnostics> {
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    let decoded = if !value.msgpack.is_empty() {
        decode_msgpack(ty, &value.msgpack)
    } else if !value.json.is_empty() {
        decode_json(ty, &value.json)
    } else {
        return Ok(Value::Null);
    };
    decoded.map_err(|error| {
        Diagnostics::from(Diagnostic::error(
            format!("Cannot decode the {what} sent by Terraform"),
            format!(
                "{error}. Terraform and the provider disagree about the schema; run the command \
                 again, and report it if it persists."
            ),
        ))
    })
}

/// Encodes a response value as msgpack.
fn encode(ty: &Type, value: &Value, what: &str) -> Result<tfplugin6::DynamicValue, Diagnostics> {
    encode_msgpack(ty, value)
        .map(|msgpack| tfplugin6::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|error| {
            Diagnostics::from(Diagnostic::error(
                format!("Provider bug: cannot encode the {what}"),
                format!("{error}. Please report this issue to the provider developers."),
            ))
        })
}

fn encode_or_report(
    ty: &Type,
    value: &Value,
    what: &str,
    diagnostics: &mut Diagnostics,
) -> Option<tfplugin6::DynamicValue> {
    match encode(ty, value, what) {
        Ok(encoded) => Some(encoded),
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

/// Results the list task may run ahead of Terraform's reading of the stream.
const LIST_BUFFER: usize = 16;

/// A stream event carrying only diagnostics: one with an error ends the query.
fn error_event(diagnostics: Diagnostics) -> tfplugin6::list_resource::Event {
    tfplugin6::list_resource::Event {
        identity: None,
        display_name: String::new(),
        resource_object: None,
        diagnostic: diagnostics_to_proto(diagnostics),
    }
}

/// A framework list event as Terraform receives it: the identity in the resource's identity
/// type, the object in its state type.
fn list_event_to_proto<P: Provider>(
    server: &Server<P>,
    type_name: &str,
    event: ListEvent,
) -> tfplugin6::list_resource::Event {
    let result = match event {
        ListEvent::Failed(diagnostics) => return error_event(diagnostics),
        ListEvent::Result(result) => *result,
    };
    let ListResult {
        identity,
        display_name,
        resource_object,
        warnings: mut diagnostics,
    } = result;
    let (Some(identity_type), Some(state_type)) = (
        server.identity_type(type_name),
        server.resource_type(type_name),
    ) else {
        return error_event(unknown_type("resource", type_name));
    };
    let identity = encode_or_report(identity_type, &identity, "identity", &mut diagnostics);
    let resource_object = resource_object.and_then(|object| {
        encode_or_report(state_type, &object, "resource object", &mut diagnostics)
    });
    if diagnostics.has_errors() {
        return error_event(diagnostics);
    }
    tfplugin6::list_resource::Event {
        identity: identity.map(|data| tfplugin6::ResourceIdentityData {
            identity_data: Some(data),
        }),
        display_name,
        resource_object,
        diagnostic: diagnostics_to_proto(diagnostics),
    }
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type {type_name:?}"),
        "This provider version does not have it. Check the spelling, or upgrade the provider.",
    )
    .into()
}

fn unsupported(summary: String, detail: &str) -> Diagnostics {
    Diagnostic::error(summary, detail).into()
}

fn identity_schema_to_proto(identity: &Identity) -> tfplugin6::ResourceIdentitySchema {
    tfplugin6::ResourceIdentitySchema {
        version: identity.version,
        identity_attributes: identity
            .attributes
            .iter()
            .map(
                |attribute| tfplugin6::resource_identity_schema::IdentityAttribute {
                    name: attribute.name.to_owned(),
                    r#type: Type::String.to_json().into_bytes(),
                    required_for_import: attribute.required_for_import,
                    optional_for_import: !attribute.required_for_import,
                    description: attribute.description.to_owned(),
                },
            )
            .collect(),
    }
}

fn no_identity(type_name: &str) -> Diagnostics {
    unsupported(
        format!("{type_name} has no resource identity"),
        "This provider version declares no identity for this resource type, so there is no \
         identity to upgrade. Import the object by its ID instead.",
    )
}

fn diagnostics_to_proto(diagnostics: Diagnostics) -> Vec<tfplugin6::Diagnostic> {
    diagnostics
        .into_iter()
        .map(|diagnostic| tfplugin6::Diagnostic {
            severity: match diagnostic.severity {
                Severity::Error => tfplugin6::diagnostic::Severity::Error,
                Severity::Warning => tfplugin6::diagnostic::Severity::Warning,
            } as i32,
            summary: diagnostic.summary,
            detail: diagnostic.detail,
            attribute: diagnostic
                .path
                .filter(|path| !path.is_empty())
                .map(|path| path_to_proto(&path)),
        })
        .collect()
}

fn path_to_proto(path: &AttributePath) -> tfplugin6::AttributePath {
    use tfplugin6::attribute_path::{Step, step::Selector};
    tfplugin6::AttributePath {
        steps: path
            .steps
            .iter()
            .map(|step| Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::Index(index) => Selector::ElementKeyInt(*index),
                    PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                }),
            })
            .collect(),
    }
}

fn schema_to_proto(schema: &Schema) -> tfplugin6::Schema {
    tfplugin6::Schema {
        version: schema.version,
        block: Some(block_to_proto(&schema.block)),
    }
}

fn block_to_proto(block: &Block) -> tfplugin6::schema::Block {
    tfplugin6::schema::Block {
        version: 0,
        attributes: block
            .attributes
            .iter()
            .map(|attribute| tfplugin6::schema::Attribute {
                name: attribute.name.clone(),
                r#type: attribute.ty.to_json().into_bytes(),
                nested_type: None,
                description: attribute.description.clone(),
                required: attribute.required,
                optional: attribute.optional,
                computed: attribute.computed,
                sensitive: attribute.sensitive,
                description_kind: tfplugin6::StringKind::Markdown as i32,
                deprecated: attribute.deprecated,
                write_only: attribute.write_only,
                deprecation_message: String::new(),
            })
            .collect(),
        block_types: block.blocks.iter().map(nested_block_to_proto).collect(),
        description: block.description.clone(),
        description_kind: tfplugin6::StringKind::Markdown as i32,
        deprecated: block.deprecated,
        deprecation_message: String::new(),
        computed: false,
    }
}

fn nested_block_to_proto(nested: &NestedBlock) -> tfplugin6::schema::NestedBlock {
    use tfplugin6::schema::nested_block::NestingMode;
    tfplugin6::schema::NestedBlock {
        type_name: nested.name.clone(),
        block: Some(block_to_proto(&nested.block)),
        nesting: match nested.nesting {
            Nesting::Single => NestingMode::Single,
            Nesting::List => NestingMode::List,
            Nesting::Set => NestingMode::Set,
        } as i32,
        min_items: i64::from(nested.min_items),
        max_items: i64::from(nested.max_items),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod move_tests;
