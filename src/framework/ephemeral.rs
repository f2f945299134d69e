//! Ephemeral resources (Terraform 1.10+): opened during a run, their result is never written to
//! the plan or the state, and they are closed before the run ends. Terraform opens one in every
//! phase whose configuration is wholly known (plan and apply each open their own), hands the
//! private bytes back to Renew and Close, and never persists them.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::value::Value;

use super::context::Context;
use super::diagnostics::Diagnostics;
use super::schema::Schema;

/// One ephemeral resource type.
#[async_trait]
pub trait EphemeralResource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// The full type name, e.g. `vnetpeer_aad_app_secret`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks beyond the schema's own (which the framework applies first).
    fn validate(&self, _config: &Value, _diagnostics: &mut Diagnostics) {}

    /// Creates the short-lived thing and returns it. `config` is wholly known.
    async fn open(&self, ctx: &Context<D>, config: Value) -> Result<Opened, Diagnostics>;

    /// Extends it; the default says no renewal is possible (only called when `renew_at` was set).
    async fn renew(&self, _ctx: &Context<D>, private: Vec<u8>) -> Result<Renewed, Diagnostics> {
        Ok(Renewed {
            private,
            renew_at: None,
        })
    }

    /// Removes it. `private` is what [`EphemeralResource::open`] returned.
    async fn close(&self, ctx: &Context<D>, private: Vec<u8>) -> Result<(), Diagnostics>;
}

/// What Open hands back.
#[derive(Debug)]
pub struct Opened {
    /// The object Terraform exposes as `ephemeral.<type>.<name>`, shaped by the schema.
    pub result: Value,
    /// Round-trips to Renew and Close, never stored anywhere by Terraform.
    pub private: Vec<u8>,
    /// When Terraform should call Renew, if ever.
    pub renew_at: Option<SystemTime>,
}

/// What Renew hands back.
#[derive(Debug)]
pub struct Renewed {
    pub private: Vec<u8>,
    pub renew_at: Option<SystemTime>,
}
