//! One way to stop the server, whatever asks for it (GRPCController.Shutdown, SIGTERM, Ctrl-C in
//! debug mode, Terraform going away): cancel the shared token so the gRPC server drains and every
//! long-lived stream ends (docs/development/plugin-obligations.md, E2), and arm a backstop that
//! exits the process anyway, so that Terraform never waits out its 2 s kill timer (D2).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::listener::SocketCleanup;

/// How long a graceful shutdown may take before the process exits regardless. Well under
/// Terraform's 2 s so that the exit is never reported as "failed to exit gracefully".
pub const BACKSTOP_DELAY: Duration = Duration::from_millis(1000);

/// Cloneable handle shared by everything that can stop the server.
#[derive(Clone, Debug)]
pub struct Shutdown {
    token: CancellationToken,
    backstop_armed: Arc<AtomicBool>,
    cleanup: SocketCleanup,
    exit_backstop: bool,
}

impl Shutdown {
    /// A handle whose backstop removes `cleanup`'s files and then exits the process.
    pub fn new(cleanup: SocketCleanup) -> Self {
        Shutdown {
            token: CancellationToken::new(),
            backstop_armed: Arc::new(AtomicBool::new(false)),
            cleanup,
            exit_backstop: true,
        }
    }

    /// A handle without the process-exit backstop, for in-process tests.
    pub fn without_backstop() -> Self {
        Shutdown {
            exit_backstop: false,
            ..Shutdown::new(SocketCleanup::default())
        }
    }

    /// Starts the shutdown; later calls are no-ops.
    pub fn request(&self, reason: &'static str) {
        if self.backstop_armed.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::debug!(reason, "shutting down the plugin server");
        self.token.cancel();
        if !self.exit_backstop {
            return;
        }
        let cleanup = self.cleanup.clone();
        let spawned = std::thread::Builder::new()
            .name("shutdown-backstop".to_owned())
            .spawn(move || {
                std::thread::sleep(BACKSTOP_DELAY);
                tracing::warn!("graceful shutdown did not finish in time; exiting now");
                cleanup.run();
                std::process::exit(0);
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start the shutdown backstop thread");
        }
    }

    /// Whether a shutdown has been requested.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The token cancelled when shutdown starts.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}
