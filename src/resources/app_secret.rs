//! Short-lived client secrets on an application, minted with the provider's own Graph access and
//! removed after use: the cross-tenant peering mints one for each write, the ephemeral resource
//! `vnetpeer_aad_app_secret` one per Terraform run. One implementation, so both name, time-limit,
//! wait for and clean up their secrets the same way. The Graph side (end date, cleanup with its
//! own time) is `azure::app_passwords`; this file words its failures.

use std::time::Duration;

use crate::azure::app_passwords;
use crate::framework::Diagnostic;
use crate::resources::Ctx;

use super::support::{call_context, cloud_diagnostic};

pub use crate::azure::app_passwords::SECRET_ACTIVATION_WINDOW;

/// A secret added to an application for a while. `Debug` never shows the secret.
#[derive(Debug)]
pub struct MintedSecret {
    pub key: MintedKey,
    pub secret: crate::cloud::SecretString,
}

/// Which secret of which application: what removing it needs (the private data of
/// `vnetpeer_aad_app_secret`). Not secret itself.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct MintedKey {
    pub app_object_id: String,
    pub key_id: String,
    /// As Graph reports it (RFC 3339), when it did.
    pub end_date_time: Option<String>,
}

/// Adds a secret named `display_name` to the application with object id `app_object_id`,
/// valid for `lifetime`. The diagnostic points at `attribute` (the object id's attribute).
pub async fn mint(
    ctx: &Ctx,
    app_object_id: &str,
    display_name: &str,
    lifetime: Duration,
    attribute: &str,
) -> Result<MintedSecret, Diagnostic> {
    let graph = ctx.data().azure.graph().map_err(|error| {
        cloud_diagnostic(
            "The provider has no Azure credential to add a secret with",
            &error,
        )
    })?;
    let call = call_context(ctx);
    let credential =
        app_passwords::mint_temporary(&graph, &call, app_object_id, display_name, lifetime)
            .await
            .map_err(|error| {
                let mut diagnostic = cloud_diagnostic(
                    "Could not add a temporary secret to the application",
                    &error,
                );
                if error.is_not_found() {
                    diagnostic = diagnostic.with_paragraph(format!(
                        "`{attribute}` must be the object id (not the client id) of the \
                         application: `object_id` of the `vnetpeer_aad_app`."
                    ));
                }
                diagnostic.at(attribute)
            })?;
    Ok(MintedSecret {
        key: MintedKey {
            app_object_id: app_object_id.to_owned(),
            key_id: credential.key_id,
            end_date_time: credential.end_date_time,
        },
        secret: credential.secret_text,
    })
}

/// Removes a minted secret, with its own time budget so that a timeout or Ctrl-C of the
/// operation still cleans up. `Some` explains a secret that could not be removed and how to
/// remove it by hand; a secret already gone counts as removed.
pub async fn remove(ctx: &Ctx, minted: &MintedKey) -> Option<Diagnostic> {
    let (app_object_id, key_id) = (&minted.app_object_id, &minted.key_id);
    let error = app_passwords::remove_temporary(&ctx.data().azure, app_object_id, key_id)
        .await
        .err()?;
    let diagnostic = cloud_diagnostic("Could not remove the temporary secret", &error);
    Some(diagnostic.with_paragraph(format!(
        "The secret {key_id} added to application object {app_object_id} is still \
         there{}. Remove it: `az ad app credential delete --id {app_object_id} --key-id \
         {key_id}`.",
        minted
            .end_date_time
            .as_ref()
            .map(|end| format!(" (it expires at {end})"))
            .unwrap_or_default()
    )))
}
