//! The life of an Azure peering connection as Aiven runs it: the check before a create (a live
//! connection for the VNet blocks it, a dead one is cleared away), the create that waits for
//! Aiven's verdict and tries again while a rejection may be Azure RBAC propagation, and the
//! delete that waits until Aiven no longer lists the connection (docs/development/aiven.md,
//! 'Peering connection object, states and state_info').
//!
//! Aiven has no single-connection GET: every lookup reads the VPC and matches the peer VNet
//! (subscription, resource group, name) in lower case.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    AivenClient, AzurePeeringRequest, PeerVnet, PeeringConnection, PeeringState, VpcAddress,
};
use crate::aiven::RejectionCause;
use crate::cloud::{CallContext, CloudError, PollStep, poll_until};

/// How long after the first attempt a permission failure is still taken for RBAC propagation
/// (and retried) rather than a missing role assignment. Azure documents minutes; the create
/// timeout bounds it too.
pub const PROPAGATION_RETRY_WINDOW: Duration = Duration::from_secs(10 * 60);

/// First wait before re-creating a connection Aiven rejected for a missing permission; doubles
/// up to [`MAX_RETRY_BACKOFF`].
const FIRST_RETRY_BACKOFF: Duration = Duration::from_millis(500);
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60);

/// Time a failed connection's cleanup may take beyond the create deadline: leaving a
/// connection behind that the caller does not know about is worse than overrunning a little.
const CLEANUP_GRACE: Duration = Duration::from_secs(120);

impl PeeringState {
    /// Aiven has not decided yet: it is still building its side.
    pub fn is_being_set_up(&self) -> bool {
        matches!(self, Self::Approved | Self::ApprovedPeerRequested)
    }
}

/// Why the way to a new connection could not be cleared.
#[derive(Debug)]
pub enum ClearingError {
    /// The VPC could not be read.
    Lookup(CloudError),
    /// The VNet's dead connection (in `state`) could not be deleted.
    RemovingDead {
        state: PeeringState,
        error: CloudError,
    },
}

/// How a create ended once Aiven gave its verdict (or stopped listing the connection).
#[derive(Debug)]
pub enum CreateOutcome {
    /// `PENDING_PEER` or `ACTIVE`: Aiven built its side.
    Built(PeeringConnection),
    /// Aiven stopped listing the new connection while setting it up (deleted meanwhile).
    Disappeared,
    /// A state this client does not know: neither waited for nor deleted.
    UnknownState(PeeringConnection),
    /// Rejected, and no further attempt fits or may help. The rejected connection was deleted
    /// when `cleanup` is `Ok`.
    Rejected {
        rejection: Rejection,
        cleanup: Result<(), CloudError>,
    },
}

/// A connection Aiven rejected, and what the create tried.
#[derive(Debug)]
pub struct Rejection {
    /// The last attempt's connection, as Aiven reported its rejection.
    pub connection: PeeringConnection,
    pub cause: RejectionCause,
    pub attempts: u32,
    /// Since the first attempt.
    pub elapsed: Duration,
}

/// Why a create ended without Aiven's verdict.
#[derive(Debug)]
pub enum CreateError {
    /// The POST failed (a 409 is [`CloudError::AlreadyExists`]).
    Post(CloudError),
    /// Out of time or stopped while Aiven was still building its side: the connection exists.
    Waiting(CloudError),
    /// Out of time or stopped while backing off before the next attempt (nothing left behind).
    BackingOff(CloudError),
}

impl AivenClient {
    /// The VNet's connection on `vpc`, read from the VPC (the read remembered for this peering
    /// when at most `recent_read_max_age` old, see `recent`, else a fresh one), before a create:
    /// `Some` when a live connection exists; a dead one (deleted, or its Azure side deleted) is
    /// deleted first, since Aiven would refuse a new connection for the same VNet while it is
    /// listed. Aiven's own clients check before the POST too (terraform-provider-aiven's Azure
    /// peering create reads the VPC first; no source says Aiven refuses a duplicate itself).
    pub async fn live_azure_peering_before_create(
        &self,
        call: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
        recent_read_max_age: Duration,
    ) -> Result<Option<PeeringConnection>, ClearingError> {
        let existing = match self.take_recent_vpc_read(vpc, peer, recent_read_max_age) {
            Some(read) => {
                tracing::debug!("existing-connection check: a recent VPC read");
                read.find_azure_peering(peer).cloned()
            }
            None => self
                .find_azure_peering(call, vpc, peer)
                .await
                .map_err(ClearingError::Lookup)?,
        };
        match existing {
            Some(dead) if dead.state.is_gone() => {
                tracing::info!(
                    state = dead.state.as_str(),
                    "removing this VNet's dead Aiven peering connection before creating a new one"
                );
                self.delete_azure_peering_and_wait(
                    call,
                    vpc,
                    peer,
                    dead.peering_connection_id.as_deref(),
                )
                .await
                .map_err(|error| ClearingError::RemovingDead {
                    state: dead.state,
                    error,
                })?;
                Ok(None)
            }
            live => Ok(live),
        }
    }

    /// The VNet's connection on `vpc`, unless it is gone for good: deleted or being deleted,
    /// its Azure side deleted (`DELETED_BY_PEER`), or the VPC or its owner gone, and the
    /// connection with it.
    pub async fn find_live_azure_peering(
        &self,
        call: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
    ) -> Result<Option<PeeringConnection>, CloudError> {
        let found = self.find_azure_peering(call, vpc, peer).await;
        match found {
            Ok(connection) => Ok(connection.filter(|connection| !connection.state.is_gone())),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Creates the connection and waits for Aiven's verdict. A rejection that RBAC propagation
    /// may explain (a role assignment or service principal made moments earlier, which Aiven
    /// checks when it builds its side) is retried within [`PROPAGATION_RETRY_WINDOW`] and the
    /// deadline: the rejected connection is deleted, waited out, and after a backoff created
    /// again. Any other rejection ends with the rejected connection deleted. `timeout` is the
    /// whole operation's (a part of it is kept for the last cleanup); `observe` sees every
    /// connection Aiven reports, in order (the POST answers and the verdicts).
    pub async fn create_azure_peering_and_wait(
        &self,
        call: &CallContext,
        vpc: &VpcAddress,
        request: &AzurePeeringRequest,
        timeout: Duration,
        mut observe: impl FnMut(&PeeringConnection) + Send,
    ) -> Result<CreateOutcome, CreateError> {
        let peer = request.peer();
        let mut retries = PropagationRetries::new();
        loop {
            let attempt_started = retries.start_attempt();
            let created = self
                .create_azure_peering_once_found(call, vpc, request)
                .await
                .map_err(CreateError::Post)?;
            observe(&created);
            let verdict = self
                .wait_for_verdict(call, vpc, peer, created)
                .await
                .map_err(CreateError::Waiting)?;
            let Some(connection) = verdict else {
                return Ok(CreateOutcome::Disappeared);
            };
            observe(&connection);
            match &connection.state {
                PeeringState::PendingPeer | PeeringState::Active => {
                    return Ok(CreateOutcome::Built(connection));
                }
                PeeringState::Other(_) => return Ok(CreateOutcome::UnknownState(connection)),
                _ => {}
            }

            // Rejected: remove the half-made connection first, whatever happens next.
            let cause = RejectionCause::of(&connection);
            let cleanup = self
                .delete_azure_peering_and_wait(&cleanup_context(call), vpc, peer, None)
                .await;
            let rejected = |retries: &PropagationRetries, connection, cleanup| {
                Ok(CreateOutcome::Rejected {
                    rejection: Rejection {
                        connection,
                        cause,
                        attempts: retries.attempts,
                        elapsed: retries.first_attempt.elapsed(),
                    },
                    cleanup,
                })
            };
            if cleanup.is_err() {
                return rejected(&retries, connection, cleanup);
            }
            let Some(backoff) =
                retries.next_backoff(call, timeout, cause, attempt_started.elapsed())
            else {
                return rejected(&retries, connection, cleanup);
            };
            tracing::info!(
                attempt = retries.attempts,
                backoff_ms = backoff.as_millis() as u64,
                state = connection.state.as_str(),
                "Aiven rejected the peering for a missing permission; the role assignment may \
                 still be propagating: deleted the connection, retrying"
            );
            call.sleep(
                backoff,
                "waiting before creating the peering connection again",
            )
            .await
            .map_err(CreateError::BackingOff)?;
        }
    }

    /// POSTs the connection. When the outcome stays unknown (the connection broke after the
    /// request was sent, or the answer did not decode), looks again: a connection for this VNet
    /// can only be the one this POST made, since the caller found none before.
    async fn create_azure_peering_once_found(
        &self,
        call: &CallContext,
        vpc: &VpcAddress,
        request: &AzurePeeringRequest,
    ) -> Result<PeeringConnection, CloudError> {
        match self.create_azure_peering(call, vpc, request).await {
            Err(error @ (CloudError::Transport { .. } | CloudError::Decode { .. })) => {
                let found = self.find_azure_peering(call, vpc, request.peer()).await;
                match found {
                    Ok(Some(connection)) => Ok(connection),
                    _ => Err(error),
                }
            }
            other => other,
        }
    }

    /// Polls the VPC on the polling schedule (`poll_until`) until the connection leaves
    /// `APPROVED` (`None` when it disappeared). The POST answer counts as the first observation.
    async fn wait_for_verdict(
        &self,
        call: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
        created: PeeringConnection,
    ) -> Result<Option<PeeringConnection>, CloudError> {
        if !created.state.is_being_set_up() {
            return Ok(Some(created));
        }
        const WHAT: &str = "waiting for Aiven to set up its side of the peering (PENDING_PEER)";
        // The POST answer is the first observation, so the polling schedule counts from it: the
        // first GET goes out one minimum interval (100 ms) after it, and a setup shorter than
        // that is seen by that one GET.
        let mut answered = Some(created.state);
        poll_until(call, WHAT, move || {
            let answer = answered.take();
            async move {
                if let Some(state) = answer {
                    return Ok(PollStep::pending(format!("state {state}")));
                }
                let found = self.find_azure_peering(call, vpc, peer).await?;
                Ok(match found {
                    Some(connection) if connection.state.is_being_set_up() => {
                        PollStep::pending(format!("state {}", connection.state))
                    }
                    found => PollStep::Done(found),
                })
            }
        })
        .await
    }

    /// DELETEs the connection peering with `peer` (by `peering_connection_id` when known), then
    /// polls until Aiven no longer lists it (a `DELETED` entry counts as gone). Already gone,
    /// or the VPC gone, is success.
    pub async fn delete_azure_peering_and_wait(
        &self,
        call: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
        peering_connection_id: Option<&str>,
    ) -> Result<(), CloudError> {
        let deleting = self
            .delete_azure_peering(call, vpc, peer, peering_connection_id)
            .await?;
        let mut answered = match deleting {
            None => return Ok(()),
            Some(connection) if connection.state == PeeringState::Deleted => return Ok(()),
            Some(connection) => Some(connection.state),
        };
        const WHAT: &str = "waiting for Aiven to delete the peering connection";
        // The DELETE answer (DELETING) is the first observation; the schedule counts from it.
        poll_until(call, WHAT, move || {
            let answer = answered.take();
            async move {
                if let Some(state) = answer {
                    return Ok(PollStep::pending(format!("state {state}")));
                }
                match self.find_azure_peering(call, vpc, peer).await {
                    Ok(Some(connection)) if connection.state != PeeringState::Deleted => {
                        Ok(PollStep::pending(format!("state {}", connection.state)))
                    }
                    Ok(_) => Ok(PollStep::Done(())),
                    Err(error) if error.is_not_found() => Ok(PollStep::Done(())),
                    Err(error) => Err(error),
                }
            }
        })
        .await
    }
}

/// The create's attempts, and whether a rejection that RBAC propagation may explain gets
/// another one.
struct PropagationRetries {
    first_attempt: Instant,
    attempts: u32,
    backoff: Duration,
}

impl PropagationRetries {
    fn new() -> Self {
        Self {
            first_attempt: Instant::now(),
            attempts: 0,
            backoff: FIRST_RETRY_BACKOFF,
        }
    }

    /// Counts an attempt; returns when it started.
    fn start_attempt(&mut self) -> Instant {
        self.attempts += 1;
        Instant::now()
    }

    /// The wait before the next attempt, when `cause` may be propagation and another attempt
    /// (as long as the last one, plus the wait, plus time to clean up after it) still fits in
    /// [`PROPAGATION_RETRY_WINDOW`] and the deadline of `call` (of an operation of `timeout`).
    fn next_backoff(
        &mut self,
        call: &CallContext,
        timeout: Duration,
        cause: RejectionCause,
        last_attempt: Duration,
    ) -> Option<Duration> {
        let another = last_attempt + self.backoff;
        let fits = self.first_attempt.elapsed() + another <= PROPAGATION_RETRY_WINDOW
            && call.remaining() > another + cleanup_reserve(timeout);
        if !(cause.may_be_propagation() && fits) {
            return None;
        }
        let backoff = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_RETRY_BACKOFF);
        Some(backoff)
    }
}

/// Bounds for removing a rejected connection: the deadline, or a short grace beyond it.
fn cleanup_context(call: &CallContext) -> CallContext {
    CallContext::with_deadline(
        call.deadline().max(Instant::now() + CLEANUP_GRACE),
        call.cancel_token().clone(),
    )
}

/// Time kept free at the end of an operation of `timeout` for deleting a rejected connection,
/// when deciding whether another attempt fits.
fn cleanup_reserve(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(120))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_reserve_scales_with_the_timeout() {
        assert_eq!(
            cleanup_reserve(Duration::from_secs(4)),
            Duration::from_secs(1)
        );
        assert_eq!(
            cleanup_reserve(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            cleanup_reserve(Duration::from_secs(3600)),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn only_an_undecided_connection_is_being_set_up() {
        assert!(PeeringState::Approved.is_being_set_up());
        assert!(PeeringState::ApprovedPeerRequested.is_being_set_up());
        for decided in [
            PeeringState::PendingPeer,
            PeeringState::Active,
            PeeringState::InvalidSpecification,
            PeeringState::Deleted,
        ] {
            assert!(!decided.is_being_set_up(), "{decided}");
        }
    }

    #[tokio::test]
    async fn a_rejection_propagation_may_explain_gets_a_doubling_backoff_within_the_window() {
        let call = CallContext::new(Duration::from_secs(3600), Default::default());
        let timeout = Duration::from_secs(3600);
        let mut retries = PropagationRetries::new();
        let step = Duration::from_secs(1);
        let missing = RejectionCause::MissingPermission;
        assert_eq!(
            retries.next_backoff(&call, timeout, missing, step),
            Some(FIRST_RETRY_BACKOFF)
        );
        assert_eq!(
            retries.next_backoff(&call, timeout, missing, step),
            Some(FIRST_RETRY_BACKOFF * 2)
        );
        // A cause propagation does not explain is never retried.
        let mut other = PropagationRetries::new();
        let overlap = RejectionCause::AddressOverlap;
        assert_eq!(other.next_backoff(&call, timeout, overlap, step), None);
        // Nor is an attempt that would not fit in the window.
        assert_eq!(
            other.next_backoff(&call, timeout, missing, PROPAGATION_RETRY_WINDOW),
            None
        );
        // Nor one that would leave no time for the cleanup before the deadline.
        let short = CallContext::new(Duration::from_secs(5), Default::default());
        assert_eq!(
            other.next_backoff(
                &short,
                Duration::from_secs(5),
                missing,
                Duration::from_secs(4)
            ),
            None
        );
    }
}
