//! What every resource file needs between the framework and the cloud clients: the call bounds
//! of an operation, cloud errors turned into diagnostics that keep the service's code, and the
//! Graph replication grace shared by the resources that create Entra objects.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aiven::PeerVnet;
use crate::azure::arm::ArmClient;
use crate::azure::graph::{DEFAULT_REPLICATION_WINDOW, GraphClient};
use crate::azure::ids::VirtualNetworkId;
use crate::cloud::http::{PollStep, poll_until};
use crate::cloud::{CallContext, CloudError, SecretString};
use crate::framework::model::{AttributeValue, not_known};
use crate::framework::{Diagnostic, Diagnostics, ObjectExt};
use crate::resources::Ctx;
use crate::value::Value;

/// The deadline (from `timeouts`) and the stop token (StopProvider) of this operation, as the
/// cloud clients take them.
pub fn call_context(ctx: &Ctx) -> CallContext {
    CallContext::with_deadline(ctx.deadline(), ctx.cancellation().clone())
}

/// A sensitive attribute read into or written from a model as a [`SecretString`], so that a
/// model holding a secret never prints it (its `Debug` is redacted).
impl AttributeValue for SecretString {
    fn from_attribute(value: &Value) -> Option<Self> {
        value.as_str().map(SecretString::from)
    }
    fn to_attribute(&self) -> Value {
        Value::string(self.expose_secret())
    }
}

/// A cloud error as a diagnostic: `summary` says what failed in the user's words; the detail
/// keeps the service's error code and message (never a secret: `CloudError` holds none).
pub fn cloud_diagnostic(summary: impl Into<String>, error: &CloudError) -> Diagnostic {
    let mut detail = error.to_string();
    if error.is_deadline_exceeded() {
        detail.push_str(
            "\n\nThe operation did not finish within its timeout. If the service is just slow, \
             raise the matching value in the resource's `timeouts` block.",
        );
    } else if error.is_cancelled() {
        detail.push_str("\n\nTerraform asked the provider to stop (Ctrl-C).");
    } else if let Some(hint) = crate::azure::permissions::missing_permission_hint(error) {
        detail.push_str("\n\n");
        detail.push_str(&hint);
    }
    Diagnostic::error(summary, detail)
}

/// [`cloud_diagnostic`] as [`Diagnostics`].
pub fn cloud_diagnostics(summary: impl Into<String>, error: &CloudError) -> Diagnostics {
    Diagnostics::from(cloud_diagnostic(summary, error))
}

/// A cloud call's result with its error worded by [`cloud_diagnostics`]:
/// `client.get(…).await.or_diagnostics("Could not read …")?`.
pub trait OrDiagnostics<T> {
    fn or_diagnostics(self, summary: impl Into<String>) -> Result<T, Diagnostics>;
}

impl<T> OrDiagnostics<T> for Result<T, CloudError> {
    fn or_diagnostics(self, summary: impl Into<String>) -> Result<T, Diagnostics> {
        self.map_err(|error| cloud_diagnostics(summary, &error))
    }
}

/// The VNet as Aiven names a connection's peer (subscription, resource group, VNet name).
pub fn aiven_peer(vnet: &VirtualNetworkId) -> PeerVnet<'_> {
    PeerVnet {
        subscription_id: &vnet.subscription_id,
        resource_group: &vnet.resource_group,
        name: &vnet.name,
    }
}

/// The ARM client acting as the provider's own identity (credential problems surface here).
pub fn arm(ctx: &Ctx) -> Result<ArmClient, Diagnostics> {
    ctx.data()
        .azure
        .arm()
        .map_err(|error| cloud_diagnostics("Azure Resource Manager is not configured", &error))
}

/// The Graph client acting as the provider's own identity.
pub fn graph(ctx: &Ctx) -> Result<GraphClient, Diagnostics> {
    ctx.data()
        .azure
        .graph()
        .map_err(|error| cloud_diagnostics("No Azure credential for Microsoft Graph", &error))
}

/// A string attribute the plan or state must hold (its absence is a provider bug).
pub fn required_str(state: &Value, name: &str) -> Result<String, Diagnostics> {
    state
        .attr_str(name)
        .map(str::to_owned)
        .ok_or_else(|| Diagnostics::from(not_known(name)))
}

/// Private state recording when this provider created an object, so that a refresh moments
/// later waits out Graph's replication lag instead of reporting the new object gone (which would
/// plan a second create).
pub struct ReplicationGrace;

#[derive(serde::Serialize, serde::Deserialize)]
struct CreatedAt {
    created_at_unix_ms: u64,
}

impl ReplicationGrace {
    /// Records "created now" in the private state of the operation.
    pub fn remember_creation(ctx: &Ctx) {
        let marker = CreatedAt {
            created_at_unix_ms: unix_ms(SystemTime::now()),
        };
        if let Ok(bytes) = serde_json::to_vec(&marker) {
            ctx.set_private(bytes);
        }
    }

    /// How much of the replication window is left for the object of this operation's private
    /// state; `None` when it was not created recently by this provider.
    fn remaining(ctx: &Ctx) -> Option<Duration> {
        let marker: CreatedAt = serde_json::from_slice(&ctx.private()).ok()?;
        let age = unix_ms(SystemTime::now()).saturating_sub(marker.created_at_unix_ms);
        DEFAULT_REPLICATION_WINDOW
            .checked_sub(Duration::from_millis(age))
            .filter(|left| !left.is_zero())
    }

    /// Whether the object of this operation was created by this provider within the
    /// replication window.
    pub fn is_recent(ctx: &Ctx) -> bool {
        Self::remaining(ctx).is_some()
    }

    /// Forgets the creation time: call once a refresh has seen everything the create made.
    pub fn forget(ctx: &Ctx) {
        if !ctx.private().is_empty() {
            ctx.set_private(Vec::new());
        }
    }

    /// Runs the lookup `get`; when it reports the object missing while the object is still in
    /// its replication window, polls until it shows up or the window ends.
    pub async fn read<T, F, Fut>(ctx: &Ctx, mut get: F) -> Result<Option<T>, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, CloudError>>,
    {
        let found = match get().await? {
            Some(found) => Some(found),
            None => match Self::remaining(ctx) {
                None => None,
                Some(left) => {
                    let window = call_context(ctx).narrowed(left);
                    let waited =
                        poll_until(&window, "waiting for the new object to replicate", || {
                            let attempt = get();
                            async move {
                                Ok(match attempt.await? {
                                    Some(found) => PollStep::Done(found),
                                    None => PollStep::pending("not found"),
                                })
                            }
                        })
                        .await;
                    match waited {
                        Ok(found) => Some(found),
                        // The window is over: it really is gone.
                        Err(CloudError::DeadlineExceeded { .. }) if !ctx.is_cancelled() => None,
                        Err(other) => return Err(other),
                    }
                }
            },
        };
        Ok(found)
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// The configuration checks whose grammar belongs to a cloud client or to [`crate::cidr`],
/// bound into validators (the framework knows none of these grammars).
pub mod checks {
    use crate::azure::ids;
    use crate::cidr::Cidr;
    use crate::framework::{Validator, validators};

    /// What a UUID looks like, in "must be ..." messages.
    pub const UUID: &str = "a UUID such as `00000000-0000-0000-0000-000000000000`";

    /// A UUID in its 8-4-4-4-12 hexadecimal form (Entra ids, subscription ids, ...).
    pub fn uuid() -> Validator {
        validators::parsed(UUID, ids::parse_uuid)
    }

    /// A virtual network's resource id.
    pub fn virtual_network_id() -> Validator {
        validators::parsed(
            "an ARM resource id of the form `/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>`",
            ids::VirtualNetworkId::parse,
        )
    }

    /// An ARM scope: a subscription, a resource group under it, or any resource id below those.
    pub fn arm_scope() -> Validator {
        validators::parsed(
            "an ARM scope such as `/subscriptions/<subscription id>` or a resource id under it",
            ids::validate_scope,
        )
    }

    /// An IPv4 or IPv6 CIDR block written as its network address.
    pub fn cidr() -> Validator {
        validators::parsed(
            "a CIDR block such as `10.0.0.0/24` (network address, host bits zero)",
            Cidr::parse_network,
        )
    }

    /// Whether `text` is a UUID (for checks outside a validator, e.g. import ids).
    pub fn is_uuid(text: &str) -> bool {
        ids::parse_uuid(text).is_ok()
    }
}
