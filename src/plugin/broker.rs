//! `plugin.GRPCBroker` (docs/development/plugin-obligations.md, D4). Terraform opens the stream on
//! connect but never brokers extra connections for providers. We keep the stream open and idle
//! (reading and dropping whatever arrives, so the client never sees a reset) until the client
//! closes its side or the server shuts down.

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::proto::go_plugin::ConnInfo;
use super::proto::go_plugin::grpc_broker_server::GrpcBroker;
use super::stdio::idle_until_cancelled;

/// The broker service.
#[derive(Debug)]
pub struct Broker {
    shutdown: CancellationToken,
}

impl Broker {
    /// Streams end when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Broker { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = Pin<Box<dyn Stream<Item = Result<ConnInfo, Status>> + Send>>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let stream_done = self.shutdown.child_token();
        let mut inbound = request.into_inner();
        let drain_done = stream_done.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = drain_done.cancelled() => break,
                    message = inbound.next() => match message {
                        Some(Ok(info)) => {
                            tracing::trace!(service_id = info.service_id, "ignoring a broker message");
                        }
                        Some(Err(_)) | None => break,
                    },
                }
            }
            drain_done.cancel();
        });
        Ok(Response::new(idle_until_cancelled(stream_done)))
    }
}
