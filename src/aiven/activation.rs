//! An Azure peering connection's state, and the wait for ACTIVE. Aiven turns a PENDING_PEER
//! connection ACTIVE once it notices the customer's `Connected` VNet peering (usually within
//! minutes); from a failure state, or once the connection is gone, it never gets there.

use std::fmt;

use crate::cloud::error::CloudError;
use crate::cloud::http::{CallContext, PollStep, poll_until};

use super::{AivenClient, PeerVnet, PeeringConnection, PeeringState, VpcAddress};

/// Why a connection will not become ACTIVE. `Display` reads as the end of "…, but {reason}".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotActivated {
    /// Aiven no longer lists the connection.
    Vanished,
    /// Aiven reports a failure state, or the connection being deleted.
    Failed {
        state: PeeringState,
        /// Aiven's explanation (`state_info.message`), when it gave one.
        message: Option<String>,
    },
}

impl fmt::Display for NotActivated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotActivated::Vanished => f.write_str("the connection no longer exists in Aiven"),
            NotActivated::Failed { state, message } => {
                write!(f, "Aiven reports it {state}")?;
                match message {
                    Some(message) => write!(f, ": {message}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl AivenClient {
    /// The state of the VPC's connection with (subscription, resource group, VNet); `None` when
    /// Aiven no longer lists it, or the VPC itself is gone.
    pub async fn azure_peering_state(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
    ) -> Result<Option<PeeringState>, CloudError> {
        match self.find_azure_peering(ctx, vpc, peer).await {
            Ok(connection) => Ok(connection.map(|connection| connection.state)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Polls the VPC until its connection with (subscription, resource group, VNet) is ACTIVE,
    /// within `ctx`'s deadline. `Ok(Err(_))` is Aiven's verdict that it will not become ACTIVE;
    /// `Err` means the wait itself failed (a refused read, the deadline, cancellation).
    pub async fn wait_until_azure_peering_active(
        &self,
        ctx: &CallContext,
        vpc: &VpcAddress,
        peer: PeerVnet<'_>,
    ) -> Result<Result<(), NotActivated>, CloudError> {
        poll_until(
            ctx,
            "waiting for Aiven to report the peering ACTIVE",
            move || async move {
                let connection = self.find_azure_peering(ctx, vpc, peer).await?;
                Ok(activation_step(connection.as_ref()))
            },
        )
        .await
    }
}

/// One look at the connection: ACTIVE, on its way, or never going to be.
fn activation_step(connection: Option<&PeeringConnection>) -> PollStep<Result<(), NotActivated>> {
    match connection {
        None => PollStep::Done(Err(NotActivated::Vanished)),
        Some(c) if c.state == PeeringState::Active => PollStep::Done(Ok(())),
        Some(c) if c.state.is_failure() || c.state.is_gone() => {
            PollStep::Done(Err(NotActivated::Failed {
                state: c.state.clone(),
                message: c.state_message().map(str::to_owned),
            }))
        }
        Some(c) => PollStep::pending(format!("Aiven state {}", c.state)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::aiven_connection;

    fn verdict(state: &str, info: serde_json::Value) -> Option<Result<(), NotActivated>> {
        match activation_step(Some(&aiven_connection(state, info))) {
            PollStep::Done(verdict) => Some(verdict),
            PollStep::Pending { .. } => None,
        }
    }

    #[test]
    fn active_ends_the_wait_and_pending_states_continue_it() {
        assert_eq!(verdict("ACTIVE", serde_json::json!({})), Some(Ok(())));
        assert_eq!(verdict("PENDING_PEER", serde_json::json!({})), None);
        assert_eq!(verdict("APPROVED", serde_json::json!({})), None);
    }

    #[test]
    fn failures_and_a_vanished_connection_end_it_with_aivens_reason() {
        let rejected = verdict(
            "REJECTED_BY_PEER",
            serde_json::json!({"message": "no peer/action"}),
        );
        let Some(Err(reason)) = rejected else {
            panic!("{rejected:?}")
        };
        assert_eq!(
            reason.to_string(),
            "Aiven reports it REJECTED_BY_PEER: no peer/action"
        );
        let Some(Err(deleted)) = verdict("DELETED_BY_PEER", serde_json::json!({})) else {
            panic!("a deleted connection ends the wait")
        };
        assert_eq!(deleted.to_string(), "Aiven reports it DELETED_BY_PEER");
        let PollStep::Done(Err(vanished)) = activation_step(None) else {
            panic!("a vanished connection ends the wait")
        };
        assert_eq!(
            vanished.to_string(),
            "the connection no longer exists in Aiven"
        );
    }
}
