//! The per-operation [`Context`]: the configured provider data, the deadline from `timeouts`, the
//! cancellation signal of StopProvider (docs/development/plugin-obligations.md, E4), and the
//! resource's private data.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::diagnostics::Diagnostic;
use super::timeouts::format_go_duration;

/// Everything an operation may need besides its values. Cheap to create; one per operation.
pub struct Context<D> {
    data: Arc<D>,
    operation: &'static str,
    timeout: Duration,
    deadline: Instant,
    cancellation: CancellationToken,
    private: Mutex<Vec<u8>>,
}

impl<D> Context<D> {
    /// A context for `operation` ("create", "read", "plan", ...) that must finish within
    /// `timeout`. The framework builds these; resource unit tests may too.
    pub fn new(data: Arc<D>, operation: &'static str, timeout: Duration) -> Self {
        Context {
            data,
            operation,
            timeout,
            deadline: Instant::now() + timeout,
            cancellation: CancellationToken::new(),
            private: Mutex::new(Vec::new()),
        }
    }

    /// Uses `token` as the cancellation signal.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = token;
        self
    }

    /// Starts with this private data (what Terraform stored beside the state).
    pub fn with_private(self, private: Vec<u8>) -> Self {
        if let Ok(mut slot) = self.private.lock() {
            *slot = private;
        }
        self
    }

    /// The provider's configured data.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The provider's configured data, for handing to spawned tasks.
    pub fn data_arc(&self) -> Arc<D> {
        Arc::clone(&self.data)
    }

    /// "create", "read", "update", "delete", "plan", "import" or "read data source".
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The time this operation was given (from the `timeouts` block, or its default).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// When this operation must have finished. Pass it to every wait and retry loop.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Cancelled when Terraform asks the provider to stop (Ctrl-C). Pass it to every wait.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// `Err` once the operation was cancelled or its deadline has passed.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.cancellation.is_cancelled() {
            Err(self.interrupted(InterruptReason::Cancelled))
        } else if Instant::now() >= self.deadline {
            Err(self.interrupted(InterruptReason::DeadlineExceeded))
        } else {
            Ok(())
        }
    }

    /// Runs `work` until it finishes, the operation is cancelled, or the deadline passes.
    /// Dropping `work` early is fine for reads and idempotent requests; for a create, prefer
    /// client calls that take the deadline and token themselves so that partial state survives.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, Interrupted> {
        tokio::select! {
            biased;
            () = self.cancellation.cancelled() => Err(self.interrupted(InterruptReason::Cancelled)),
            () = tokio::time::sleep_until(self.deadline) => {
                Err(self.interrupted(InterruptReason::DeadlineExceeded))
            }
            output = work => Ok(output),
        }
    }

    /// Sleeps, waking early with `Err` on cancellation or at the deadline.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Interrupted> {
        self.run(tokio::time::sleep(duration)).await
    }

    /// The private data Terraform stores beside the state (echoed unless changed).
    pub fn private(&self) -> Vec<u8> {
        self.private.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Replaces the private data stored beside the state.
    pub fn set_private(&self, private: Vec<u8>) {
        if let Ok(mut slot) = self.private.lock() {
            *slot = private;
        }
    }

    fn interrupted(&self, reason: InterruptReason) -> Interrupted {
        Interrupted {
            reason,
            operation: self.operation,
            timeout: self.timeout,
        }
    }
}

/// Private data used as a marker: a fixed value that means one thing about the object.
impl<D> Context<D> {
    /// Whether the private data is `marker`.
    pub fn private_is(&self, marker: &[u8]) -> bool {
        self.private.lock().is_ok_and(|private| *private == marker)
    }

    /// Clears the private data if it is `marker` (any other private data stays).
    pub fn forget_private(&self, marker: &[u8]) {
        if let Ok(mut private) = self.private.lock()
            && *private == marker
        {
            private.clear();
        }
    }
}

/// Why an operation stopped before finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptReason {
    /// Terraform asked the provider to stop.
    Cancelled,
    /// The operation's timeout elapsed.
    DeadlineExceeded,
}

/// An operation stopped by cancellation or by its deadline. Converts into a diagnostic that
/// tells the user what happened and what to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted {
    pub reason: InterruptReason,
    pub operation: &'static str,
    pub timeout: Duration,
}

impl From<Interrupted> for Diagnostic {
    fn from(interrupted: Interrupted) -> Self {
        let operation = interrupted.operation;
        match interrupted.reason {
            InterruptReason::Cancelled => Diagnostic::error(
                format!("The {operation} was cancelled"),
                "Terraform asked the provider to stop (for example after Ctrl-C), so the operation \
                 was abandoned. Run the command again to finish it.",
            ),
            InterruptReason::DeadlineExceeded => {
                let timeout = format_go_duration(interrupted.timeout);
                let hint = match operation {
                    "create" | "read" | "update" | "delete" => format!(
                        " If the service is only slow, allow more time with \
                         `timeouts {{ {operation} = \"{}\" }}` in the resource.",
                        format_go_duration(interrupted.timeout * 2)
                    ),
                    _ => String::new(),
                };
                Diagnostic::error(
                    format!("The {operation} timed out after {timeout}"),
                    format!("The operation did not finish within {timeout}.{hint}"),
                )
            }
        }
    }
}

impl From<Interrupted> for super::Diagnostics {
    fn from(interrupted: Interrupted) -> Self {
        Diagnostic::from(interrupted).into()
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Diagnostic::from(*self).summary)
    }
}

impl std::error::Error for Interrupted {}

// ----- a wait that stopped on its own ------------------------------------------------------------

impl<D> Context<D> {
    /// The [`Interrupted`] of this operation for a wait that stopped on its own, e.g. a client
    /// call given this context's deadline and token: cancelled when `cancelled`, else out of
    /// time (a client may give up before the deadline when its next wait would not fit).
    pub fn interruption(&self, cancelled: bool) -> Interrupted {
        self.interrupted(if cancelled {
            InterruptReason::Cancelled
        } else {
            InterruptReason::DeadlineExceeded
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleep_ends_at_the_deadline_with_a_helpful_message() {
        let ctx = Context::new(Arc::new(()), "create", Duration::from_millis(20));
        let interrupted = ctx.sleep(Duration::from_secs(3600)).await.unwrap_err();
        assert_eq!(interrupted.reason, InterruptReason::DeadlineExceeded);
        let diagnostic = Diagnostic::from(interrupted);
        assert_eq!(diagnostic.summary, "The create timed out after 20ms");
        assert!(diagnostic.detail.contains("timeouts { create = \"40ms\" }"));
    }

    #[test]
    fn a_private_marker_is_recognised_and_forgotten_alone() {
        let ctx = Context::new(Arc::new(()), "read", Duration::from_secs(60))
            .with_private(b"marker".to_vec());
        assert!(ctx.private_is(b"marker"));
        ctx.forget_private(b"other");
        assert_eq!(ctx.private(), b"marker");
        ctx.forget_private(b"marker");
        assert!(ctx.private().is_empty());
        assert!(!ctx.private_is(b"marker"));
    }

    #[tokio::test]
    async fn cancellation_wakes_waits() {
        let token = CancellationToken::new();
        let ctx = Context::new(Arc::new(()), "delete", Duration::from_secs(60))
            .with_cancellation(token.clone());
        token.cancel();
        let interrupted = ctx.sleep(Duration::from_secs(3600)).await.unwrap_err();
        assert_eq!(interrupted.reason, InterruptReason::Cancelled);
        assert!(ctx.check().is_err());
    }

    #[test]
    fn a_wait_that_stopped_on_its_own_is_reported_as_the_operation_interrupted() {
        let ctx = Context::new(Arc::new(()), "create", Duration::from_millis(20));
        let cancelled = Diagnostic::from(ctx.interruption(true));
        assert_eq!(cancelled.summary, "The create was cancelled");
        let out_of_time = ctx.interruption(false);
        assert_eq!(out_of_time.reason, InterruptReason::DeadlineExceeded);
        assert_eq!(
            Diagnostic::from(out_of_time).summary,
            "The create timed out after 20ms"
        );
    }

    #[test]
    fn private_data_round_trips() {
        let ctx =
            Context::new(Arc::new(()), "read", Duration::from_secs(1)).with_private(b"a".to_vec());
        assert_eq!(ctx.private(), b"a");
        ctx.set_private(b"b".to_vec());
        assert_eq!(ctx.private(), b"b");
    }
}
