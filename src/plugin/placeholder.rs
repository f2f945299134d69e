//! A minimal `tfplugin6.Provider`: an empty provider schema, no diagnostics from
//! ValidateProviderConfig, a successful StopProvider, and Unimplemented for everything else.
//! It lets the plugin server be exercised (and the binary be built) without the framework; the
//! real service is [`crate::plugin::serve`] with the framework provider.

use tonic::{Request, Response, Status};

use super::proto::tfplugin6;
use super::proto::tfplugin6::provider_server::Provider;

/// See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlaceholderProvider;

/// Implements `Provider` for a type: the given methods as written, the listed ones as
/// "Unimplemented". (The whole impl is generated so that `async_trait` sees every method.)
macro_rules! provider_with_unimplemented_rpcs {
    (
        impl Provider for $provider:ty { $($implemented:tt)* }
        unimplemented { $($method:ident: $message:ident),* $(,)? }
    ) => {
        #[tonic::async_trait]
        impl Provider for $provider {
            $($implemented)*
            $(
                async fn $method(
                    &self,
                    _request: Request<tfplugin6::$message::Request>,
                ) -> Result<Response<tfplugin6::$message::Response>, Status> {
                    Err(Status::unimplemented(concat!(
                        stringify!($message),
                        " is not implemented by the placeholder provider"
                    )))
                }
            )*
        }
    };
}

provider_with_unimplemented_rpcs! {
impl Provider for PlaceholderProvider {
    async fn get_provider_schema(
        &self,
        _request: Request<tfplugin6::get_provider_schema::Request>,
    ) -> Result<Response<tfplugin6::get_provider_schema::Response>, Status> {
        Ok(Response::new(tfplugin6::get_provider_schema::Response {
            provider: Some(tfplugin6::Schema {
                version: 0,
                block: Some(tfplugin6::schema::Block::default()),
            }),
            server_capabilities: Some(tfplugin6::ServerCapabilities::default()),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        _request: Request<tfplugin6::validate_provider_config::Request>,
    ) -> Result<Response<tfplugin6::validate_provider_config::Response>, Status> {
        Ok(Response::new(
            tfplugin6::validate_provider_config::Response::default(),
        ))
    }

    async fn stop_provider(
        &self,
        _request: Request<tfplugin6::stop_provider::Request>,
    ) -> Result<Response<tfplugin6::stop_provider::Response>, Status> {
        Ok(Response::new(tfplugin6::stop_provider::Response::default()))
    }

    type ListResourceStream = futures::stream::Empty<Result<tfplugin6::list_resource::Event, Status>>;

    async fn list_resource(
        &self,
        _request: Request<tfplugin6::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        Err(Status::unimplemented("ListResource is not implemented by the placeholder provider"))
    }

    type ReadStateBytesStream =
        futures::stream::Empty<Result<tfplugin6::read_state_bytes::Response, Status>>;

    async fn read_state_bytes(
        &self,
        _request: Request<tfplugin6::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        Err(Status::unimplemented("ReadStateBytes is not implemented by the placeholder provider"))
    }

    async fn write_state_bytes(
        &self,
        _request: Request<tonic::Streaming<tfplugin6::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<tfplugin6::write_state_bytes::Response>, Status> {
        Err(Status::unimplemented("WriteStateBytes is not implemented by the placeholder provider"))
    }

    type InvokeActionStream = futures::stream::Empty<Result<tfplugin6::invoke_action::Event, Status>>;

    async fn invoke_action(
        &self,
        _request: Request<tfplugin6::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        Err(Status::unimplemented("InvokeAction is not implemented by the placeholder provider"))
    }
}
unimplemented {
        get_metadata: get_metadata,
        validate_resource_config: validate_resource_config,
        validate_data_resource_config: validate_data_resource_config,
        upgrade_resource_state: upgrade_resource_state,
        configure_provider: configure_provider,
        read_resource: read_resource,
        plan_resource_change: plan_resource_change,
        apply_resource_change: apply_resource_change,
        import_resource_state: import_resource_state,
        move_resource_state: move_resource_state,
        read_data_source: read_data_source,
        validate_ephemeral_resource_config: validate_ephemeral_resource_config,
        open_ephemeral_resource: open_ephemeral_resource,
        renew_ephemeral_resource: renew_ephemeral_resource,
        close_ephemeral_resource: close_ephemeral_resource,
        get_functions: get_functions,
        call_function: call_function,
        get_resource_identity_schemas: get_resource_identity_schemas,
        upgrade_resource_identity: upgrade_resource_identity,
        generate_resource_config: generate_resource_config,
        validate_list_resource_config: validate_list_resource_config,
        validate_state_store_config: validate_state_store,
        configure_state_store: configure_state_store,
        lock_state: lock_state,
        unlock_state: unlock_state,
        get_states: get_states,
        delete_state: delete_state,
        plan_action: plan_action,
        validate_action_config: validate_action_config,
}
}
