//! An application's client secrets (Graph's password credentials) over their life: when a new
//! one expires, the proof that it works (Entra ID's token service learns of a new secret, and
//! of a new application or service principal, seconds or rarely minutes after Graph answered),
//! rotation without a moment lacking a working secret, and short-lived secrets that are removed
//! after use.
//!
//! The single requests (`addPassword` exactly once, `removePassword` counting a secret already
//! gone as removed) are [`GraphClient::add_password`] and [`GraphClient::remove_password`].

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::aadsts;
use super::clients::AzureClients;
use super::graph::{GraphClient, PasswordCredential};
use crate::cloud::CancellationToken;
use crate::cloud::error::CloudError;
use crate::cloud::http::CallContext;
use crate::cloud::secret::SecretString;

/// How long a short-lived secret that Entra ID refuses (AADSTS7000215) is retried: new secrets
/// take seconds, rarely a minute, to work; after that the secret is wrong.
pub const SECRET_ACTIVATION_WINDOW: Duration = Duration::from_secs(120);

/// Removing a short-lived secret gets its own time, so it also happens after a timeout or Ctrl-C.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long removing a rotation's new secret that never worked may take (it runs after the
/// operation's own deadline may already have passed).
const ROTATION_CLEANUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a new secret's end date cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordEndError {
    /// The fixed end date is not an RFC 3339 timestamp.
    NotRfc3339,
    /// The fixed end date is not after now: the secret could never be used.
    InPast,
    /// Now plus the lifetime is beyond the dates that can be represented (and Entra accepts).
    BeyondRange,
}

/// When a new secret should expire: at `fixed_end` (RFC 3339) if given, else `lifetime` after
/// `now`. Whole seconds (Graph keeps no fractions, and the exactly-once retry of `addPassword`
/// recognises a lost attempt's secret by its end date), and never in the past.
pub fn password_end(
    fixed_end: Option<&str>,
    lifetime: Duration,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, PasswordEndError> {
    let end = match fixed_end {
        Some(text) => {
            let end =
                OffsetDateTime::parse(text, &Rfc3339).map_err(|_| PasswordEndError::NotRfc3339)?;
            if end <= now {
                return Err(PasswordEndError::InPast);
            }
            end
        }
        None => time::Duration::try_from(lifetime)
            .ok()
            .and_then(|lifetime| now.checked_add(lifetime))
            .ok_or(PasswordEndError::BeyondRange)?,
    };
    Ok(end.replace_nanosecond(0).unwrap_or(end))
}

/// A new secret that did not obtain a token before the deadline.
#[derive(Debug)]
pub struct SecretNotAccepted {
    /// The token endpoint's last answer (or the deadline or cancellation).
    pub error: CloudError,
    /// Whether that answer means "not replicated to the token service yet" rather than a
    /// refusal: more time would probably have helped.
    pub still_replicating: bool,
}

/// Requests tokens (for ARM's scope) with a secret added moments ago until Entra ID accepts it,
/// waiting out every answer of [`aadsts::NOT_REPLICATED_YET`] within `call`'s deadline. For a new
/// application the service principal and the application itself may still be replicating too.
pub async fn wait_until_secret_works(
    azure: &AzureClients,
    call: &CallContext,
    tenant_id: &str,
    client_id: &str,
    secret: &SecretString,
) -> Result<(), SecretNotAccepted> {
    azure
        .acquire_token_with_secret_retrying(
            call,
            tenant_id,
            client_id,
            secret,
            &azure.endpoints().resource_manager_scope,
            aadsts::NOT_REPLICATED_YET,
        )
        .await
        .map(|_token| ())
        .map_err(|error| SecretNotAccepted {
            still_replicating: error
                .aadsts_codes()
                .iter()
                .any(|code| aadsts::NOT_REPLICATED_YET.contains(code)),
            error,
        })
}

/// Requests a token (for ARM's scope) with a short-lived secret added moments ago until Entra
/// ID accepts it, for at most [`SECRET_ACTIVATION_WINDOW`] within `call`'s deadline. Only the
/// new secret's AADSTS7000215 is waited out: the application and its service principal are
/// not new.
pub async fn wait_until_temporary_secret_works(
    azure: &AzureClients,
    call: &CallContext,
    tenant_id: &str,
    client_id: &str,
    secret: &SecretString,
) -> Result<(), CloudError> {
    azure
        .acquire_token_with_secret_retrying(
            &call.narrowed(SECRET_ACTIVATION_WINDOW),
            tenant_id,
            client_id,
            secret,
            &azure.endpoints().resource_manager_scope,
            &[aadsts::INVALID_CLIENT_SECRET],
        )
        .await
        .map(|_token| ())
}

/// How a rotation failed, and what it left on the application.
#[derive(Debug)]
pub enum RotationFailure {
    /// `addPassword` failed: nothing changed.
    NotAdded(CloudError),
    /// The new secret never worked. It was removed again (`removal` is `Ok`), or it is left on
    /// the application; the old secret is unchanged either way.
    NotAccepted {
        refused: SecretNotAccepted,
        new_key_id: String,
        removal: Result<(), CloudError>,
    },
    /// The new secret works, but the old one could not be removed: both are on the application.
    OldNotRemoved {
        new: PasswordCredential,
        error: CloudError,
    },
}

/// What a rotation adds.
pub struct NewPassword<'a> {
    pub display_name: Option<&'a str>,
    pub end: OffsetDateTime,
}

/// The application a secret is added to: its object id (for Graph), and its client id and home
/// tenant (for the token that proves the new secret).
#[derive(Clone, Copy, Debug)]
pub struct PasswordOwner<'a> {
    pub object_id: &'a str,
    pub client_id: &'a str,
    pub tenant_id: &'a str,
}

/// Why a secret was not added, or does not work.
#[derive(Debug)]
pub enum ProvenPasswordFailure {
    /// `addPassword` failed: nothing was added.
    NotAdded(CloudError),
    /// The secret was added but never obtained a token: it is still on the application.
    NotAccepted {
        added: PasswordCredential,
        refused: SecretNotAccepted,
    },
}

/// Adds a secret (exactly once: a lost attempt's secret is told from those in `known_key_ids`)
/// and waits until it obtains a token ([`wait_until_secret_works`]).
pub async fn add_proven_password(
    azure: &AzureClients,
    graph: &GraphClient,
    call: &CallContext,
    owner: PasswordOwner<'_>,
    new: NewPassword<'_>,
    known_key_ids: &[&str],
) -> Result<PasswordCredential, ProvenPasswordFailure> {
    let added = graph
        .add_password(
            call,
            owner.object_id,
            new.display_name,
            new.end,
            known_key_ids,
        )
        .await
        .map_err(ProvenPasswordFailure::NotAdded)?;
    let proof = wait_until_secret_works(
        azure,
        call,
        owner.tenant_id,
        owner.client_id,
        &added.secret_text,
    )
    .await;
    match proof {
        Ok(()) => Ok(added),
        Err(refused) => Err(ProvenPasswordFailure::NotAccepted { added, refused }),
    }
}

/// Rotates an application's secret with no moment lacking a working one: adds the new secret
/// and waits until it works ([`add_proven_password`], the old secret being known), and only
/// then removes the old one. A new secret that never works is removed again, with its own time
/// (the operation's may be spent).
pub async fn rotate_password(
    azure: &AzureClients,
    graph: &GraphClient,
    call: &CallContext,
    owner: PasswordOwner<'_>,
    new: NewPassword<'_>,
    old_key_id: Option<&str>,
) -> Result<PasswordCredential, RotationFailure> {
    let proven = add_proven_password(azure, graph, call, owner, new, old_key_id.as_slice()).await;
    let secret = match proven {
        Ok(secret) => secret,
        Err(ProvenPasswordFailure::NotAdded(error)) => {
            return Err(RotationFailure::NotAdded(error));
        }
        Err(ProvenPasswordFailure::NotAccepted { added, refused }) => {
            let cleanup = CallContext::new(ROTATION_CLEANUP_TIMEOUT, call.cancel_token().clone());
            let removal = graph
                .remove_password(&cleanup, owner.object_id, &added.key_id)
                .await;
            return Err(RotationFailure::NotAccepted {
                refused,
                new_key_id: added.key_id,
                removal,
            });
        }
    };
    if let Some(old_key_id) = old_key_id
        && let Err(error) = graph
            .remove_password(call, owner.object_id, old_key_id)
            .await
    {
        return Err(RotationFailure::OldNotRemoved { new: secret, error });
    }
    Ok(secret)
}

/// Adds a short-lived secret named `display_name` to the application with object id
/// `app_object_id`, valid for `lifetime` from now.
pub async fn mint_temporary(
    graph: &GraphClient,
    call: &CallContext,
    app_object_id: &str,
    display_name: &str,
    lifetime: Duration,
) -> Result<PasswordCredential, CloudError> {
    let end = OffsetDateTime::now_utc() + lifetime;
    let credential = graph
        .add_password(call, app_object_id, Some(display_name), end, &[])
        .await?;
    tracing::debug!(key_id = %credential.key_id, "added a temporary secret to an application");
    Ok(credential)
}

/// Removes a short-lived secret with its own time budget (not the operation's, and not
/// cancellable by it), so that a timeout or Ctrl-C of the operation still cleans up. A secret
/// already gone counts as removed.
pub async fn remove_temporary(
    azure: &AzureClients,
    app_object_id: &str,
    key_id: &str,
) -> Result<(), CloudError> {
    let cleanup = CallContext::new(CLEANUP_TIMEOUT, CancellationToken::new());
    azure
        .graph()?
        .remove_password(&cleanup, app_object_id, key_id)
        .await?;
    tracing::debug!(key_id = %key_id, "removed a temporary secret of an application");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-01-01T00:00:00.5Z", &Rfc3339).unwrap()
    }

    fn formatted(end: OffsetDateTime) -> String {
        end.format(&Rfc3339).unwrap()
    }

    #[test]
    fn password_ends_are_whole_seconds_after_now_or_the_fixed_date() {
        let year = Duration::from_secs(365 * 24 * 3600);
        assert_eq!(
            formatted(password_end(None, year, now()).unwrap()),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            formatted(password_end(None, Duration::from_secs(5400), now()).unwrap()),
            "2026-01-01T01:30:00Z"
        );
        assert_eq!(
            formatted(password_end(Some("2030-06-01T12:00:00Z"), year, now()).unwrap()),
            "2030-06-01T12:00:00Z"
        );
    }

    #[test]
    fn unusable_password_ends_say_why() {
        let year = Duration::from_secs(365 * 24 * 3600);
        assert_eq!(
            password_end(Some("2020-01-01T00:00:00Z"), year, now()),
            Err(PasswordEndError::InPast)
        );
        assert_eq!(
            password_end(Some("next year"), year, now()),
            Err(PasswordEndError::NotRfc3339)
        );
        assert_eq!(
            password_end(None, Duration::from_secs(u64::MAX / 2), now()),
            Err(PasswordEndError::BeyondRange)
        );
    }
}
