//! ARM's rules for writing VNet peerings, kept by the client so every caller follows them.
//!
//! - **One peering operation at a time per VNet.** The Network resource provider runs one
//!   peering operation at a time on the VNet that owns the peering and answers a concurrent one
//!   with 429 `RetryableErrorDueToAnotherOperation`. Writes are therefore serialised per owning
//!   VNet within the process, whichever identity writes (the rule is ARM's, per VNet, not per
//!   principal), so concurrent peerings of one VNet queue instead of collecting 429s. The remote
//!   VNet is not locked: it may be another tenant's, written concurrently by others anyway, and
//!   locking it would serialise every peering to one shared remote VNet.
//! - **A busy VNet is waited out.** 429 `RetryableErrorDueToAnotherOperation` (the HTTP layer has
//!   already honoured its `Retry-After`), 409 `AnotherOperationInProgress`, and
//!   `ReferencedResourceNotProvisioned` while the remote VNet is `Updating` (a subnet change or
//!   another peering operation on it; a 400, or a 429 `RetryableError` carrying it in its
//!   details), are retried within the caller's deadline, backing off; the last refusal is returned when the
//!   next attempt would not fit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

use crate::azure::ids::VirtualNetworkId;
use crate::cloud::{CallContext, CloudError};

/// The Network resource provider's "another operation holds this VNet" code (429).
pub const ANOTHER_OPERATION: &str = "RetryableErrorDueToAnotherOperation";
/// 400 while a VNet the peering references (the remote one) is `Updating`. Transient. Also sent
/// as a detail of a 429 `RetryableError`.
pub const REFERENCED_RESOURCE_NOT_PROVISIONED: &str = "ReferencedResourceNotProvisioned";
/// 409 while another operation (a subnet or address-space change, another peering) runs on the
/// VNet. Transient.
pub const ANOTHER_OPERATION_IN_PROGRESS: &str = "AnotherOperationInProgress";

/// Busy-VNet retries: not faster than this...
const MIN_BUSY_RETRY: Duration = Duration::from_millis(250);
/// ...and not slower than this (a quarter of the time waited so far in between).
const MAX_BUSY_RETRY: Duration = Duration::from_secs(15);

/// What a write waits for while another write of the same VNet runs; also how a failure of
/// that wait (deadline or cancellation) is recognised as "nothing was sent".
const WAITING_FOR_THE_VNET: &str =
    "waiting for another peering operation on the same virtual network";

/// Whether ARM refused a peering write because a VNet is busy: another peering operation holds
/// the owning VNet, or the remote VNet is `Updating`.
pub fn is_busy(error: &CloudError) -> bool {
    error.has_code(ANOTHER_OPERATION)
        || error.has_code(ANOTHER_OPERATION_IN_PROGRESS)
        // 400 `ReferencedResourceNotProvisioned`, or a 429 `RetryableError` carrying it in its
        // details (the HTTP layer has already honoured that answer's `Retry-After`).
        || (matches!(error.status(), Some(400 | 429))
            && error.has_code(REFERENCED_RESOURCE_NOT_PROVISIONED))
}

/// Whether a failed peering write (PUT or DELETE) may have changed the peering: its
/// long-running operation failed or was not seen to the end. A refused request (4xx), invalid
/// input, a missing credential, or a wait for the VNet that never ended changed nothing.
pub fn may_have_written(error: &CloudError) -> bool {
    match error {
        CloudError::Service(e) | CloudError::NotFound(e) | CloudError::AlreadyExists(e) => {
            e.status < 400
        }
        CloudError::Invalid(_) | CloudError::Credential { .. } => false,
        CloudError::DeadlineExceeded { what, .. } | CloudError::Cancelled { what } => {
            what != WAITING_FOR_THE_VNET
        }
        _ => true,
    }
}

/// Runs `write` (one attempt at a peering write of a peering owned by `vnet`) under the VNet's
/// lock, again while ARM reports a busy VNet, until it succeeds, fails otherwise, or the next
/// attempt would pass the deadline (then the busy refusal is returned).
pub(super) async fn write_when_free<T, F, Fut>(
    ctx: &CallContext,
    vnet: &VirtualNetworkId,
    mut write: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    let started = Instant::now();
    loop {
        let written = {
            let _lock = lock_vnet(ctx, vnet).await?;
            write().await
        };
        match written {
            Err(error) if is_busy(&error) => {
                let wait = (started.elapsed() / 4).clamp(MIN_BUSY_RETRY, MAX_BUSY_RETRY);
                tracing::debug!(code = ?error.code(), wait_ms = wait.as_millis() as u64, "the virtual network is busy; retrying");
                if ctx
                    .sleep(wait, "waiting for the virtual network to be free")
                    .await
                    .is_err()
                {
                    return Err(error);
                }
            }
            other => return other,
        }
    }
}

/// Which peering of a connected pair must be written again to route the other VNet's current
/// address space, read from this peering's `peeringSyncLevel` (docs/development/arm.md, 'Virtual
/// network peerings'): `LocalNotInSync` means the remote VNet's space changed and this peering
/// needs a PUT with `syncRemoteAddressSpace=true` ([`super::ArmClient::resync_vnet_peering`]);
/// `RemoteNotInSync` means this VNet's space changed and the peering on the remote VNet needs
/// it, by its owner; `LocalAndRemoteNotInSync` both. Only meaningful while `Connected` (a peering
/// waiting for its remote side is never `FullyInSync`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeeringsToSync {
    /// This peering (the local VNet's).
    pub local: bool,
    /// The peering on the remote VNet.
    pub remote: bool,
}

impl PeeringsToSync {
    /// Reads a `peeringSyncLevel`, in any letter case.
    pub fn of_level(level: &str) -> Self {
        let (local, remote) = match level.to_ascii_lowercase().as_str() {
            "fullyinsync" => (false, false),
            "localnotinsync" => (true, false),
            "remotenotinsync" => (false, true),
            "localandremotenotinsync" => (true, true),
            // A level this client does not know: syncing this side is harmless and may help.
            _ => (true, false),
        };
        PeeringsToSync { local, remote }
    }
}

type VnetLocks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// The locks of the process: ARM's rule holds across every client and identity of it.
fn vnet_locks() -> &'static VnetLocks {
    static LOCKS: OnceLock<VnetLocks> = OnceLock::new();
    LOCKS.get_or_init(VnetLocks::default)
}

/// The lock key of a VNet: its id in lower case (ARM ids are case-insensitive).
fn vnet_lock_key(vnet: &VirtualNetworkId) -> String {
    vnet.to_string().to_ascii_lowercase()
}

/// Locks the VNet that owns a peering for one peering write within this process (one lock per
/// write, so no lock order to keep). Other VNets are not affected.
async fn lock_vnet(
    ctx: &CallContext,
    vnet: &VirtualNetworkId,
) -> Result<OwnedMutexGuard<()>, CloudError> {
    let lock = {
        let mut locks = vnet_locks().lock().unwrap_or_else(PoisonError::into_inner);
        locks.entry(vnet_lock_key(vnet)).or_default().clone()
    };
    ctx.run(WAITING_FOR_THE_VNET, lock.lock_owned()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::CancellationToken;
    use crate::test_support::{VNET, arm_error};

    #[test]
    fn busy_vnets_and_what_may_have_been_written_are_recognised() {
        assert!(is_busy(&arm_error(429, ANOTHER_OPERATION)));
        assert!(is_busy(&arm_error(
            400,
            REFERENCED_RESOURCE_NOT_PROVISIONED
        )));
        assert!(is_busy(&arm_error(409, ANOTHER_OPERATION_IN_PROGRESS)));
        let mut retryable = arm_error(429, "RetryableError");
        if let CloudError::Service(error) = &mut retryable {
            error.detail_codes = vec![REFERENCED_RESOURCE_NOT_PROVISIONED.into()];
        }
        assert!(is_busy(&retryable));
        assert!(!is_busy(&arm_error(429, "RetryableError")));
        assert!(!is_busy(&arm_error(400, "InvalidResourceReference")));
        assert!(!may_have_written(&arm_error(403, "AuthorizationFailed")));
        assert!(may_have_written(&arm_error(
            200,
            "VnetAddressSpacesOverlap"
        )));
        assert!(may_have_written(&CloudError::DeadlineExceeded {
            what: "w".into(),
            last_observed: None
        }));
    }

    #[test]
    fn sync_levels_name_the_peering_to_write_again() {
        let sync = |local, remote| PeeringsToSync { local, remote };
        assert_eq!(PeeringsToSync::of_level("FullyInSync"), sync(false, false));
        assert_eq!(
            PeeringsToSync::of_level("LocalNotInSync"),
            sync(true, false)
        );
        assert_eq!(
            PeeringsToSync::of_level("remotenotinsync"),
            sync(false, true)
        );
        assert_eq!(
            PeeringsToSync::of_level("LocalAndRemoteNotInSync"),
            sync(true, true)
        );
        assert_eq!(PeeringsToSync::of_level("SomethingNew"), sync(true, false));
    }

    #[test]
    fn lock_keys_ignore_case() {
        let a = VirtualNetworkId::parse(VNET).unwrap();
        let b = VirtualNetworkId::parse(&VNET.replace("vnet-App", "VNET-app")).unwrap();
        assert_eq!(vnet_lock_key(&a), vnet_lock_key(&b));
    }

    #[tokio::test]
    async fn writes_on_one_vnet_wait_for_each_other_and_other_vnets_do_not() {
        let cc = CallContext::new(Duration::from_secs(5), CancellationToken::new());
        let a = VirtualNetworkId::parse(VNET).unwrap();
        let b = VirtualNetworkId::parse(&VNET.replace("vnet-App", "vnet-Other")).unwrap();
        let held = lock_vnet(&cc, &a).await.unwrap();
        let other = lock_vnet(&cc, &b).await;
        assert!(other.is_ok(), "another VNet is not blocked");
        let short = CallContext::new(Duration::from_millis(50), CancellationToken::new());
        let blocked = lock_vnet(&short, &a).await;
        assert!(matches!(blocked, Err(CloudError::DeadlineExceeded { .. })));
        let blocked = blocked.unwrap_err();
        assert!(
            !may_have_written(&blocked),
            "a write that waited sent nothing"
        );
        drop(held);
        let fresh = CallContext::new(Duration::from_millis(50), CancellationToken::new());
        assert!(
            lock_vnet(&fresh, &a).await.is_ok(),
            "released with its guard"
        );
    }

    #[tokio::test]
    async fn a_busy_vnet_is_retried_until_free_and_other_refusals_return_at_once() {
        let cc = CallContext::new(Duration::from_secs(10), CancellationToken::new());
        let vnet = VirtualNetworkId::parse(VNET).unwrap();
        let mut attempts = 0;
        let written = write_when_free(&cc, &vnet, || {
            attempts += 1;
            let n = attempts;
            async move {
                if n < 3 {
                    Err(arm_error(429, ANOTHER_OPERATION))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(written.unwrap(), 3);

        let mut attempts = 0;
        let refused: Result<(), _> = write_when_free(&cc, &vnet, || {
            attempts += 1;
            async { Err(arm_error(403, "AuthorizationFailed")) }
        })
        .await;
        assert_eq!(refused.unwrap_err().status(), Some(403));
        assert_eq!(attempts, 1);

        let short = CallContext::new(Duration::from_millis(100), CancellationToken::new());
        let still_busy: Result<(), _> = write_when_free(&short, &vnet, || async {
            Err(arm_error(400, REFERENCED_RESOURCE_NOT_PROVISIONED))
        })
        .await;
        assert!(
            is_busy(&still_busy.unwrap_err()),
            "the last refusal is reported"
        );
    }
}
