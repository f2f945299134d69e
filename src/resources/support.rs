//! What every resource file needs between the framework and the cloud clients: the call bounds
//! of an operation, and cloud errors turned into diagnostics that keep the service's code.

use crate::azure::arm::ArmClient;
use crate::azure::graph::GraphClient;
use crate::cloud::{CallContext, CloudError};
use crate::framework::{Context, Diagnostic, Diagnostics, Failure, ObjectExt};
use crate::value::Value;

use super::ProviderData;

/// The deadline (from `timeouts`) and the stop token (StopProvider) of this operation, as the
/// cloud clients take them.
pub fn call_context(ctx: &Context<ProviderData>) -> CallContext {
    CallContext::with_deadline(ctx.deadline(), ctx.cancellation().clone())
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

/// [`cloud_diagnostic`] as a [`Failure`] without partial state.
pub fn cloud_failure(summary: impl Into<String>, error: &CloudError) -> Failure {
    Failure::from(cloud_diagnostic(summary, error))
}

/// The ARM client acting as the provider's own identity (credential problems surface here).
pub fn arm(ctx: &Context<ProviderData>) -> Result<ArmClient, Diagnostics> {
    ctx.data()
        .azure
        .arm()
        .map_err(|error| cloud_diagnostics("Azure Resource Manager is not configured", &error))
}

/// The Graph client acting as the provider's own identity.
pub fn graph(ctx: &Context<ProviderData>) -> Result<GraphClient, Diagnostics> {
    ctx.data()
        .azure
        .graph()
        .map_err(|error| cloud_diagnostics("No Azure credential for Microsoft Graph", &error))
}

/// A string attribute the plan or state must hold (its absence is a provider bug).
pub fn required_str(state: &Value, name: &str) -> Result<String, Diagnostics> {
    state.attr_str(name).map(str::to_owned).ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            format!("`{name}` is not known"),
            "This is a bug in the provider: the plan should have provided it.",
        ))
    })
}
