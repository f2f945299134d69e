//! `plugin.GRPCController`: Terraform calls Shutdown when it closes a provider
//! (docs/development/plugin-obligations.md, D2).

use tonic::{Request, Response, Status};

use super::proto::go_plugin::Empty;
use super::proto::go_plugin::grpc_controller_server::GrpcController;
use super::shutdown::Shutdown;

/// Answers Shutdown, then lets the server drain and the process exit.
#[derive(Debug)]
pub struct Controller {
    shutdown: Shutdown,
}

impl Controller {
    /// A controller that triggers `shutdown`.
    pub fn new(shutdown: Shutdown) -> Self {
        Controller { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        // The reply still goes out: the server's graceful shutdown lets in-flight calls finish.
        self.shutdown.request("GRPCController.Shutdown");
        Ok(Response::new(Empty {}))
    }
}
