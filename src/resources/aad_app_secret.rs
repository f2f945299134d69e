//! Ephemeral resource `vnetpeer_aad_app_secret`: a client secret on an application for one
//! Terraform run, for write-only arguments (this provider's
//! `vnetpeer_cross_tenant_vnet_peering.client_secret`, or another provider's).
//!
//! Open: add a one-hour secret to the application (`addPassword`, as the cross-tenant peering
//! mints its own) and wait until Entra ID issues a token with it, so whatever uses it next does
//! not meet AADSTS7000215. Close: remove it (`removePassword`; the private data carries the key
//! id). Terraform never writes the result to the plan or the state.

use std::time::Duration;

use async_trait::async_trait;

use crate::azure::app_passwords;
use crate::cloud::SecretString;
use crate::framework::{
    Attribute, Block, Diagnostic, Diagnostics, EphemeralResource, Model, Opened, Schema, model,
};
use crate::resources::Ctx;
use crate::value::Value;

use super::ProviderData;
use super::app_secret::{self, MintedKey};
use super::cross_tenant_vnet_peering::customer_tenant;
use super::support::{call_context, checks, cloud_diagnostic};

/// Long enough for any run; a secret whose removal failed expires on its own soon after.
const SECRET_LIFETIME: Duration = Duration::from_secs(60 * 60);

const DEFAULT_DISPLAY_NAME: &str = "vnetpeer: ephemeral secret (removed after the run)";

/// See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct AadAppSecret;

model! {
    /// What the configuration asks for.
    struct Wanted {
        application_object_id: String,
        display_name: Option<String>,
    }
}

model! {
    /// The opened secret, as Terraform exposes it for the run beside the configuration.
    struct OpenedResult {
        client_id: String,
        client_secret: SecretString,
        key_id: String,
        end_date_time: Option<String>,
    }
}

#[async_trait]
impl EphemeralResource<ProviderData> for AadAppSecret {
    fn type_name(&self) -> &'static str {
        "vnetpeer_aad_app_secret"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "A client secret on an Entra ID application for the duration of one Terraform \
                 run (Terraform 1.10 or later). Opening adds a secret valid for one hour and \
                 waits until Entra ID accepts it; closing removes it at the end of the run. The \
                 secret never appears in the plan or the state: pass it to write-only arguments, \
                 such as `client_secret` of `vnetpeer_cross_tenant_vnet_peering`.\n\n\
                 The provider's own credential needs the rights to add and remove passwords on \
                 the application (for example as its owner, or with \
                 `Application.ReadWrite.OwnedBy`).",
            )
            .attribute(
                Attribute::string("application_object_id")
                    .required()
                    .description(
                        "Object id (not the client id) of the application: `object_id` of a \
                         `vnetpeer_aad_app`.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::string("display_name")
                    .optional()
                    .description(format!(
                        "Name of the secret in Entra ID. Defaults to `{DEFAULT_DISPLAY_NAME}`."
                    )),
            )
            .attribute(
                Attribute::string("client_id")
                    .computed()
                    .description("Application (client) id to authenticate with the secret."),
            )
            .attribute(
                Attribute::string("client_secret")
                    .computed()
                    .sensitive()
                    .description("The secret. Usable when opened; removed when the run ends."),
            )
            .attribute(
                Attribute::string("key_id")
                    .computed()
                    .description("Id of the secret in the application's `passwordCredentials`."),
            )
            .attribute(
                Attribute::string("end_date_time")
                    .computed()
                    .description("When the secret expires if its removal ever fails (RFC 3339)."),
            ),
        )
    }

    async fn open(&self, ctx: &Ctx, config: Value) -> Result<Opened, Diagnostics> {
        let wanted = Wanted::from_value(&config)?;
        let app_object_id = wanted.application_object_id.as_str();
        let graph = ctx.data().azure.graph().map_err(|error| {
            cloud_diagnostic(
                "The provider has no Azure credential to read the application with",
                &error,
            )
        })?;
        let application = graph
            .get_application(&call_context(ctx), app_object_id)
            .await
            .map_err(|error| {
                cloud_diagnostic("Could not read the application", &error)
                    .at(Wanted::application_object_id)
            })?
            .ok_or_else(|| {
                Diagnostic::error(
                    "Application not found",
                    format!(
                        "No application has object id {app_object_id}. Use the object id (not \
                         the client id): `object_id` of the `vnetpeer_aad_app`."
                    ),
                )
                .at(Wanted::application_object_id)
            })?;
        let minted = app_secret::mint(
            ctx,
            app_object_id,
            wanted
                .display_name
                .as_deref()
                .unwrap_or(DEFAULT_DISPLAY_NAME),
            SECRET_LIFETIME,
            Wanted::application_object_id,
        )
        .await?;
        // Entra ID issues a token with a new secret seconds, rarely a minute, after it is added.
        let usable = async {
            let tenant = customer_tenant(ctx).await?;
            let (azure, call) = (&ctx.data().azure, call_context(ctx));
            app_passwords::wait_until_temporary_secret_works(
                azure,
                &call,
                &tenant,
                &application.app_id,
                &minted.secret,
            )
            .await
            .map_err(|error| {
                cloud_diagnostic("The new secret did not start working in time", &error)
                    .at(Wanted::application_object_id)
            })
        };
        if let Err(diagnostic) = usable.await {
            // Nothing may be left that Terraform does not know about: Close is never called
            // for a failed Open.
            let mut diagnostics = Diagnostics::from(diagnostic);
            if let Some(leftover) = app_secret::remove(ctx, &minted.key).await {
                diagnostics.push(leftover.at(Wanted::application_object_id));
            }
            return Err(diagnostics);
        }
        let private = serde_json::to_vec(&minted.key).map_err(|error| {
            Diagnostic::error(
                "Provider bug: cannot record the opened secret",
                error.to_string(),
            )
        })?;
        let mut result = config;
        OpenedResult {
            client_secret: minted.secret,
            client_id: application.app_id,
            key_id: minted.key.key_id,
            end_date_time: minted.key.end_date_time,
        }
        .write_to(&mut result);
        Ok(Opened {
            result,
            private,
            renew_at: None,
        })
    }

    async fn close(&self, ctx: &Ctx, private: Vec<u8>) -> Result<(), Diagnostics> {
        let opened: MintedKey = serde_json::from_slice(&private).map_err(|error| {
            Diagnostic::error(
                "Cannot tell which secret to remove",
                format!(
                    "Terraform handed back private data this provider did not write ({error}). \
                     Check the application's secrets named `{DEFAULT_DISPLAY_NAME}` and remove \
                     leftovers."
                ),
            )
        })?;
        match app_secret::remove(ctx, &opened).await {
            None => Ok(()),
            Some(leftover) => Err(leftover.into()),
        }
    }
}
