//! `plugin.GRPCStdio` (docs/development/plugin-obligations.md, D3). go-plugin's own servers capture
//! their stdout and stderr and mirror them through this stream; we never write to stdout after the
//! handshake, and our stderr already reaches Terraform directly (E5), so the stream carries
//! nothing. It stays open until shutdown, then ends, so that it never holds up the server's
//! graceful drain (E2).

use std::pin::Pin;

use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::proto::go_plugin::StdioData;
use super::proto::go_plugin::grpc_stdio_server::GrpcStdio;

/// The stdio service: one idle stream per caller, ended on shutdown.
#[derive(Debug)]
pub struct Stdio {
    shutdown: CancellationToken,
}

impl Stdio {
    /// Streams end when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Stdio { shutdown }
    }
}

/// A stream that yields nothing and ends when `token` is cancelled.
pub fn idle_until_cancelled<T: Send + 'static>(
    token: CancellationToken,
) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>> {
    use futures::StreamExt as _;
    Box::pin(
        futures::stream::once(async move { token.cancelled_owned().await })
            .filter_map(|()| async { None }),
    )
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(idle_until_cancelled(self.shutdown.clone())))
    }
}
