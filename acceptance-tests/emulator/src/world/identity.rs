//! Entra ID: tenants, applications, service principals, credentials and issued tokens.
//!
//! The token endpoint ([`crate::token`]) and Graph ([`crate::graph`]) change this state; ARM and
//! Aiven read it through [`Identity::authenticate`], [`Identity::service_principal`] and friends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;

use crate::knobs::Knobs;
use crate::log::CredentialRef;
use crate::world::{IdGenerator, Secret, Seed};

/// A directory object id (GUID, lower case).
pub type ObjectId = String;

/// The Graph application permission that may manage every application and service principal.
pub const APPLICATION_READ_WRITE_ALL: &str = "Application.ReadWrite.All";
/// The Graph application permission that may manage only the applications the caller owns.
pub const APPLICATION_READ_WRITE_OWNED_BY: &str = "Application.ReadWrite.OwnedBy";

/// The audiences (resources) the emulator issues tokens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Audience {
    /// Azure Resource Manager (`https://management.azure.com/` or the legacy
    /// `https://management.core.windows.net/`).
    Arm,
    /// Microsoft Graph (`https://graph.microsoft.com`).
    Graph,
}

impl Audience {
    /// The `aud` claim of tokens for this audience, given the scope or resource that asked for
    /// it (the legacy ARM audience is echoed as requested).
    pub fn from_resource(resource: &str) -> Option<(Audience, &'static str)> {
        let resource = resource.trim_end_matches('/').to_ascii_lowercase();
        match resource.as_str() {
            "https://management.azure.com" => {
                Some((Audience::Arm, "https://management.azure.com/"))
            }
            "https://management.core.windows.net" => {
                Some((Audience::Arm, "https://management.core.windows.net/"))
            }
            "https://graph.microsoft.com" => Some((Audience::Graph, "https://graph.microsoft.com")),
            _ => None,
        }
    }

    /// The `aud` claim of tokens issued for this audience by default.
    pub fn claim(self) -> &'static str {
        match self {
            Audience::Arm => "https://management.azure.com/",
            Audience::Graph => "https://graph.microsoft.com",
        }
    }

    /// The audience strings a service accepts, for error messages.
    pub fn accepted(self) -> &'static str {
        match self {
            Audience::Arm => "https://management.core.windows.net/,https://management.azure.com/",
            Audience::Graph => "https://graph.microsoft.com,00000003-0000-0000-c000-000000000000",
        }
    }
}

/// What kind of identity a principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PrincipalKind {
    /// The service principal of an application (secret, certificate or federated credential).
    ServicePrincipal,
    /// A managed identity (a service principal without an application object).
    ManagedIdentity,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The tenant the token was issued in (`tid`).
    pub tenant_id: String,
    /// The service principal's object id in that tenant (`oid`).
    pub object_id: ObjectId,
    /// The client id (`appid`).
    pub app_id: String,
    pub kind: PrincipalKind,
}

/// Why a bearer token was refused. ARM renders it in its envelope (status 401 and
/// [`AuthError::arm_code`]), Graph in its own ([`AuthError::graph_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header, or not a bearer token.
    Missing,
    /// Not a token this emulator issued (forged, altered, truncated).
    Invalid,
    /// Issued by the emulator but expired.
    Expired {
        expired_at: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// Issued for another resource.
    WrongAudience { audience: String },
}

impl AuthError {
    /// The ARM error code (docs/development/arm.md, 'ARM error envelope').
    pub fn arm_code(&self) -> &'static str {
        match self {
            AuthError::Missing => "AuthenticationFailed",
            AuthError::Invalid => "InvalidAuthenticationToken",
            AuthError::Expired { .. } => "ExpiredAuthenticationToken",
            AuthError::WrongAudience { .. } => "InvalidAuthenticationTokenAudience",
        }
    }

    /// The ARM error message.
    pub fn arm_message(&self) -> String {
        match self {
            AuthError::Missing => {
                "Authentication failed. The 'Authorization' header is missing.".to_owned()
            }
            AuthError::Invalid => "The access token is invalid.".to_owned(),
            AuthError::Expired { expired_at, now } => format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                format_arm_time(*expired_at),
                format_arm_time(*now)
            ),
            AuthError::WrongAudience { audience } => format!(
                "The access token has been obtained for wrong audience or resource '{audience}'. It should exactly match with one of the allowed audiences '{}'.",
                Audience::Arm.accepted()
            ),
        }
    }

    /// Graph answers every token problem with 401 `InvalidAuthenticationToken`; only the message
    /// differs.
    pub fn graph_message(&self) -> &'static str {
        match self {
            AuthError::Missing => "Access token is empty.",
            AuthError::Invalid => "Access token validation failure.",
            AuthError::Expired { .. } => "Lifetime validation failed, the token is expired.",
            AuthError::WrongAudience { .. } => "Access token validation failure. Invalid audience.",
        }
    }
}

fn format_arm_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    at.format(format).unwrap_or_default()
}

/// An Entra tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    /// `*.onmicrosoft.com` name, accepted in place of the id at the token endpoint.
    pub default_domain: String,
}

/// A client secret on an application.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// First three characters of the secret.
    pub hint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    #[serde(skip)]
    pub secret_text: Secret,
    /// The token endpoint accepts the secret only from this instant (secret activation lag).
    #[serde(skip)]
    pub usable_at: Instant,
}

/// A certificate registered on an application (client-assertion flow).
#[derive(Debug, Clone, Serialize)]
pub struct CertificateCredential {
    pub key_id: String,
    /// SHA-1 of the DER certificate, base64url (the `x5t` JWT header).
    pub thumbprint_sha1: String,
    /// SHA-256 of the DER certificate, base64url (the `x5t#S256` JWT header).
    pub thumbprint_sha256: String,
    /// The DER certificate, to verify assertion signatures with its public key.
    #[serde(skip)]
    pub certificate_der: Vec<u8>,
}

/// A federated identity credential: tokens of `issuer` for `subject` may be exchanged.
#[derive(Debug, Clone, Serialize)]
pub struct FederatedCredential {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

/// An application object (lives in its home tenant).
#[derive(Debug, Clone, Serialize)]
pub struct Application {
    /// Object id.
    pub id: ObjectId,
    /// Client id.
    pub app_id: String,
    /// Home tenant.
    pub tenant_id: String,
    pub display_name: String,
    pub sign_in_audience: String,
    /// Owners (directory object ids).
    pub owners: Vec<ObjectId>,
    pub password_credentials: Vec<PasswordCredential>,
    pub key_credentials: Vec<CertificateCredential>,
    pub federated_identity_credentials: Vec<FederatedCredential>,
    /// Every other property the client set (Graph stores what it is given; `api`, `web`, `tags`,
    /// `description`, `uniqueName`, ...).
    pub other_properties: serde_json::Map<String, serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_date_time: Option<OffsetDateTime>,
    /// Visible to GET and dependent calls only from this instant (replication window).
    #[serde(skip)]
    pub visible_at: Instant,
}

impl Application {
    /// Whether the application accepts sign-ins from other tenants.
    pub fn is_multi_tenant(&self) -> bool {
        self.sign_in_audience != "AzureADMyOrg"
    }
}

/// A service principal (the instance of an application, or a managed identity, in one tenant).
#[derive(Debug, Clone, Serialize)]
pub struct ServicePrincipal {
    /// Object id (RBAC `principalId`).
    pub id: ObjectId,
    pub app_id: String,
    /// The tenant this service principal lives in.
    pub tenant_id: String,
    pub display_name: String,
    /// The application's home tenant.
    pub app_owner_organization_id: String,
    pub kind: PrincipalKind,
    pub account_enabled: bool,
    /// Graph application permissions granted to it (e.g. `Application.ReadWrite.All`).
    pub graph_permissions: BTreeSet<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// Visible to GET and dependent calls (ARM `PrincipalNotFound`) only from this instant.
    #[serde(skip)]
    pub visible_to_dependents_at: Instant,
}

/// A user (only as an owner of applications: users never get tokens here).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: ObjectId,
    pub tenant_id: String,
    pub user_principal_name: String,
}

/// A token the emulator issued. Tokens are looked up by their full text, so a forged or altered
/// token is unknown.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub tenant_id: String,
    pub app_id: String,
    pub object_id: ObjectId,
    pub kind: PrincipalKind,
    pub audience: Audience,
    /// The exact `aud` claim.
    pub audience_claim: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub expires_on: OffsetDateTime,
}

/// A JWT minted by the emulator's stand-in external identity provider (for the federated
/// exchange), remembered so that only genuine ones are accepted.
#[derive(Debug, Clone)]
pub struct ExternalAssertion {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub expires_at: Instant,
}

/// Entra ID state.
#[derive(Debug, Serialize)]
pub struct Identity {
    pub tenants: BTreeMap<String, Tenant>,
    /// Live applications by object id.
    pub applications: BTreeMap<ObjectId, Application>,
    /// Soft-deleted applications by object id (`/directory/deletedItems`).
    pub deleted_applications: BTreeMap<ObjectId, Application>,
    /// Service principals and managed identities by object id.
    pub service_principals: BTreeMap<ObjectId, ServicePrincipal>,
    /// Users by object id.
    pub users: BTreeMap<ObjectId, User>,
    #[serde(skip)]
    pub tokens: HashMap<String, IssuedToken>,
    #[serde(skip)]
    pub external_assertions: HashMap<String, ExternalAssertion>,
    /// CI token issuers and managed-identity hosts (see [`crate::identity_hosts`]).
    #[serde(skip)]
    pub hosts: crate::identity_hosts::IdentityHosts,
    /// Every client secret addPassword ever returned, removed ones included (leak checks).
    #[serde(skip)]
    pub issued_secrets: Vec<Secret>,
    #[serde(skip)]
    pub ids: IdGenerator,
}

impl Identity {
    /// The seeded tenants, Aiven's application and service principal, the operator and the
    /// managed identity. Seeded objects are visible at once (they exist "since long ago").
    pub fn seeded(seed: &Seed, _knobs: &Knobs, now: Instant) -> Identity {
        let mut identity = Identity {
            tenants: BTreeMap::new(),
            applications: BTreeMap::new(),
            deleted_applications: BTreeMap::new(),
            service_principals: BTreeMap::new(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            external_assertions: HashMap::new(),
            hosts: Default::default(),
            issued_secrets: Vec::new(),
            ids: IdGenerator::new("identity"),
        };
        let created = OffsetDateTime::now_utc() - time::Duration::days(30);
        for (id, name, domain) in [
            (
                &seed.customer_tenant_id,
                "Contoso",
                &seed.customer_tenant_domain,
            ),
            (&seed.aiven_tenant_id, "Aiven", &seed.aiven_tenant_domain),
        ] {
            identity.tenants.insert(
                id.clone(),
                Tenant {
                    id: id.clone(),
                    display_name: name.to_owned(),
                    default_domain: domain.clone(),
                },
            );
        }

        let mut aiven_app = Application::new(
            &seed.aiven_app_object_id,
            &seed.aiven_app_id,
            &seed.aiven_tenant_id,
            "Aiven",
            "AzureADMultipleOrgs",
            created,
            now,
        );
        aiven_app.password_credentials.clear();
        identity
            .applications
            .insert(aiven_app.id.clone(), aiven_app);
        identity.insert_service_principal(ServicePrincipal {
            id: seed.aiven_sp_object_id.clone(),
            app_id: seed.aiven_app_id.clone(),
            tenant_id: seed.aiven_tenant_id.clone(),
            display_name: "Aiven".to_owned(),
            app_owner_organization_id: seed.aiven_tenant_id.clone(),
            kind: PrincipalKind::ServicePrincipal,
            account_enabled: true,
            graph_permissions: BTreeSet::new(),
            created_date_time: created,
            visible_to_dependents_at: now,
        });

        let mut operator = Application::new(
            &seed.operator_app_object_id,
            &seed.operator_client_id,
            &seed.customer_tenant_id,
            "terraform-operator",
            "AzureADMyOrg",
            created,
            now,
        );
        operator.password_credentials.push(PasswordCredential {
            key_id: "c1000000-0000-4000-8000-0000000000a1".to_owned(),
            display_name: Some("terraform".to_owned()),
            hint: seed
                .operator_client_secret
                .expose()
                .chars()
                .take(3)
                .collect(),
            start_date_time: created,
            end_date_time: created + time::Duration::days(730),
            secret_text: seed.operator_client_secret.clone(),
            usable_at: now,
        });
        identity.applications.insert(operator.id.clone(), operator);
        identity.insert_service_principal(ServicePrincipal {
            id: seed.operator_sp_object_id.clone(),
            app_id: seed.operator_client_id.clone(),
            tenant_id: seed.customer_tenant_id.clone(),
            display_name: "terraform-operator".to_owned(),
            app_owner_organization_id: seed.customer_tenant_id.clone(),
            kind: PrincipalKind::ServicePrincipal,
            account_enabled: true,
            graph_permissions: BTreeSet::from([APPLICATION_READ_WRITE_ALL.to_owned()]),
            created_date_time: created,
            visible_to_dependents_at: now,
        });

        identity.insert_service_principal(ServicePrincipal {
            id: seed.managed_identity_object_id.clone(),
            app_id: seed.managed_identity_client_id.clone(),
            tenant_id: seed.customer_tenant_id.clone(),
            display_name: "id-terraform-runner".to_owned(),
            app_owner_organization_id: seed.customer_tenant_id.clone(),
            kind: PrincipalKind::ManagedIdentity,
            account_enabled: true,
            graph_permissions: BTreeSet::new(),
            created_date_time: created,
            visible_to_dependents_at: now,
        });
        identity
    }

    /// Finds a tenant by id or default domain (case-insensitive).
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        let wanted = id_or_domain.to_ascii_lowercase();
        self.tenants.get(&wanted).or_else(|| {
            self.tenants
                .values()
                .find(|tenant| tenant.default_domain.eq_ignore_ascii_case(&wanted))
        })
    }

    /// Checks an `Authorization` header value (`Bearer <token>`) for `audience`.
    pub fn authenticate(
        &self,
        authorization_header: Option<&str>,
        audience: Audience,
        now: Instant,
    ) -> Result<Principal, AuthError> {
        let token = authorization_header
            .and_then(bearer_token)
            .ok_or(AuthError::Missing)?;
        self.authenticate_token(token, audience, now)
    }

    /// Checks a bare token (e.g. one entry of `x-ms-authorization-auxiliary` without its
    /// `Bearer ` prefix) for `audience`.
    pub fn authenticate_token(
        &self,
        token: &str,
        audience: Audience,
        now: Instant,
    ) -> Result<Principal, AuthError> {
        let issued = self.tokens.get(token.trim()).ok_or(AuthError::Invalid)?;
        if now >= issued.expires_at {
            let since = now.duration_since(issued.expires_at);
            return Err(AuthError::Expired {
                expired_at: issued.expires_on,
                now: issued.expires_on + since,
            });
        }
        if issued.audience != audience {
            return Err(AuthError::WrongAudience {
                audience: issued.audience_claim.clone(),
            });
        }
        Ok(Principal {
            tenant_id: issued.tenant_id.clone(),
            object_id: issued.object_id.clone(),
            app_id: issued.app_id.clone(),
            kind: issued.kind,
        })
    }

    /// Who a request's `Authorization` header belongs to, for the request log (no checks).
    pub fn credential_of(&self, authorization_header: &str) -> CredentialRef {
        match bearer_token(authorization_header).and_then(|token| self.tokens.get(token)) {
            Some(issued) => CredentialRef {
                kind: "entra".to_owned(),
                tenant_id: Some(issued.tenant_id.clone()),
                app_id: Some(issued.app_id.clone()),
                object_id: Some(issued.object_id.clone()),
            },
            None => CredentialRef {
                kind: "unknown".to_owned(),
                ..CredentialRef::default()
            },
        }
    }

    /// The service principal `object_id` in `tenant_id`, if it exists and its replication window
    /// has passed at `now`.
    pub fn service_principal(
        &self,
        tenant_id: &str,
        object_id: &str,
        now: Instant,
    ) -> Option<&ServicePrincipal> {
        self.service_principals
            .get(&object_id.to_ascii_lowercase())
            .filter(|sp| sp.tenant_id.eq_ignore_ascii_case(tenant_id))
            .filter(|sp| now >= sp.visible_to_dependents_at)
    }

    /// The service principal of application `app_id` in `tenant_id`, whether or not it has
    /// replicated yet.
    pub fn service_principal_by_app(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Option<&ServicePrincipal> {
        self.service_principals.values().find(|sp| {
            sp.tenant_id.eq_ignore_ascii_case(tenant_id) && sp.app_id.eq_ignore_ascii_case(app_id)
        })
    }

    /// The live application with client id `app_id`, in any tenant.
    pub fn application_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .values()
            .find(|app| app.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Ensures application `app_id` has a service principal in `tenant_id` (what Aiven does in
    /// its own tenant for the customer's app) and returns its object id. A new one is visible at
    /// once: the real service creates it long before anyone depends on it.
    pub fn ensure_service_principal(
        &mut self,
        tenant_id: &str,
        app_id: &str,
        now: Instant,
    ) -> ObjectId {
        if let Some(existing) = self.service_principal_by_app(tenant_id, app_id) {
            return existing.id.clone();
        }
        let (display_name, home_tenant) = match self.application_by_app_id(app_id) {
            Some(app) => (app.display_name.clone(), app.tenant_id.clone()),
            None => (app_id.to_owned(), tenant_id.to_owned()),
        };
        let id = self.ids.next_id();
        self.insert_service_principal(ServicePrincipal {
            id: id.clone(),
            app_id: app_id.to_ascii_lowercase(),
            tenant_id: tenant_id.to_ascii_lowercase(),
            display_name,
            app_owner_organization_id: home_tenant,
            kind: PrincipalKind::ServicePrincipal,
            account_enabled: true,
            graph_permissions: BTreeSet::new(),
            created_date_time: OffsetDateTime::now_utc(),
            visible_to_dependents_at: now,
        });
        id
    }

    /// Removes the service principal of `app_id` in `tenant_id`. Returns whether one existed.
    pub fn remove_service_principal_of_app(&mut self, tenant_id: &str, app_id: &str) -> bool {
        let found = self
            .service_principal_by_app(tenant_id, app_id)
            .map(|sp| sp.id.clone());
        match found {
            Some(id) => self.service_principals.remove(&id).is_some(),
            None => false,
        }
    }

    /// Adds a service principal (tests: e.g. a principal without rights).
    pub fn insert_service_principal(&mut self, service_principal: ServicePrincipal) {
        self.service_principals
            .insert(service_principal.id.clone(), service_principal);
    }

    /// Issues an access token for service principal `service_principal_id` with the `aud` claim
    /// `audience_claim` (see [`Audience::from_resource`]) and remembers it. `appidacr` is how the
    /// client authenticated ("1" secret, "2" certificate or assertion). `None` when there is no
    /// such service principal or the audience is unknown.
    pub fn issue_token(
        &mut self,
        service_principal_id: &str,
        audience_claim: &str,
        appidacr: &str,
        lifetime: Duration,
        now: Instant,
        utc_now: OffsetDateTime,
    ) -> Option<String> {
        let (audience, audience_claim) = Audience::from_resource(audience_claim)?;
        let sp = self.service_principals.get(service_principal_id)?.clone();
        let issuer = format!("https://sts.windows.net/{}/", sp.tenant_id);
        let expires_on = utc_now + lifetime;
        let claims = serde_json::json!({
            "aud": audience_claim,
            "iss": issuer,
            "iat": utc_now.unix_timestamp(),
            "nbf": utc_now.unix_timestamp(),
            "exp": expires_on.unix_timestamp(),
            "appid": sp.app_id,
            "appidacr": appidacr,
            "idp": issuer,
            "idtyp": "app",
            "oid": sp.id,
            "sub": sp.id,
            "tid": sp.tenant_id,
            "uti": self.ids.next_id(),
            "ver": "1.0",
        });
        let token = crate::jwt::encode_unverifiable(
            &serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": "emulator"}),
            &claims,
        );
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                tenant_id: sp.tenant_id.clone(),
                app_id: sp.app_id.clone(),
                object_id: sp.id.clone(),
                kind: sp.kind,
                audience,
                audience_claim: audience_claim.to_owned(),
                issued_at: now,
                expires_at: now + lifetime,
                expires_on,
            },
        );
        Some(token)
    }

    /// Test helper: a new single-tenant application with a service principal and a usable client
    /// secret in `tenant_id`, holding the given Graph permissions (none for "a user without
    /// rights"). Returns (client id, service principal object id, secret).
    pub fn add_app_with_secret(
        &mut self,
        tenant_id: &str,
        display_name: &str,
        graph_permissions: &[&str],
        now: Instant,
    ) -> (String, ObjectId, Secret) {
        let object_id = self.ids.next_id();
        let app_id = self.ids.next_id();
        let created = OffsetDateTime::now_utc();
        let mut app = Application::new(
            &object_id,
            &app_id,
            tenant_id,
            display_name,
            "AzureADMyOrg",
            created,
            now,
        );
        let secret = generate_secret();
        app.password_credentials.push(PasswordCredential {
            key_id: self.ids.next_id(),
            display_name: None,
            hint: secret.expose().chars().take(3).collect(),
            start_date_time: created,
            end_date_time: created + time::Duration::days(730),
            secret_text: secret.clone(),
            usable_at: now,
        });
        self.applications.insert(object_id, app);
        let sp_id = self.ids.next_id();
        self.insert_service_principal(ServicePrincipal {
            id: sp_id.clone(),
            app_id: app_id.clone(),
            tenant_id: tenant_id.to_owned(),
            display_name: display_name.to_owned(),
            app_owner_organization_id: tenant_id.to_owned(),
            kind: PrincipalKind::ServicePrincipal,
            account_enabled: true,
            graph_permissions: graph_permissions
                .iter()
                .map(|permission| (*permission).to_owned())
                .collect(),
            created_date_time: created,
            visible_to_dependents_at: now,
        });
        (app_id, sp_id, secret)
    }

    /// Test helper: adds a user (e.g. an application owner) and returns its object id.
    pub fn add_user(&mut self, tenant_id: &str, user_principal_name: &str) -> ObjectId {
        let id = self.ids.next_id();
        self.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                tenant_id: tenant_id.to_ascii_lowercase(),
                user_principal_name: user_principal_name.to_owned(),
            },
        );
        id
    }

    /// Whether `object_id` is a user or a replicated service principal of `tenant_id` (what
    /// `owners@odata.bind` may name).
    pub fn directory_object_exists(&self, tenant_id: &str, object_id: &str, now: Instant) -> bool {
        let object_id = object_id.to_ascii_lowercase();
        self.users
            .get(&object_id)
            .is_some_and(|user| user.tenant_id.eq_ignore_ascii_case(tenant_id))
            || self.service_principal(tenant_id, &object_id, now).is_some()
    }

    /// The application with client id `app_id` (compared case-insensitively).
    fn application_by_client_id_mut(&mut self, app_id: &str) -> Option<&mut Application> {
        self.applications
            .values_mut()
            .find(|app| app.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Test helper: registers a certificate (DER) on the application with client id `app_id`.
    /// Returns false when there is no such application.
    pub fn add_certificate(&mut self, app_id: &str, certificate_der: &[u8]) -> bool {
        let key_id = self.ids.next_id();
        let Some(app) = self.application_by_client_id_mut(app_id) else {
            return false;
        };
        app.key_credentials.push(CertificateCredential {
            key_id,
            thumbprint_sha1: crate::jwt::thumbprint_sha1(certificate_der),
            thumbprint_sha256: crate::jwt::thumbprint_sha256(certificate_der),
            certificate_der: certificate_der.to_vec(),
        });
        true
    }

    /// Test helper: registers a federated identity credential on the application with client id
    /// `app_id` (audience `api://AzureADTokenExchange`). Returns false when there is no such
    /// application.
    pub fn add_federated_credential(&mut self, app_id: &str, issuer: &str, subject: &str) -> bool {
        let id = self.ids.next_id();
        let Some(app) = self.application_by_client_id_mut(app_id) else {
            return false;
        };
        app.federated_identity_credentials
            .push(FederatedCredential {
                id,
                name: format!("federated-{}", app.federated_identity_credentials.len() + 1),
                issuer: issuer.to_owned(),
                subject: subject.to_owned(),
                audiences: vec![FEDERATION_AUDIENCE.to_owned()],
            });
        true
    }

    /// Test helper: mints a JWT as an external identity provider would (the Kubernetes or GitHub
    /// OIDC issuer), valid for `lifetime`, to be exchanged at the token endpoint.
    pub fn issue_external_assertion(
        &mut self,
        issuer: &str,
        subject: &str,
        audience: &str,
        lifetime: Duration,
        now: Instant,
    ) -> String {
        let issued_at = OffsetDateTime::now_utc();
        let claims = serde_json::json!({
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "iat": issued_at.unix_timestamp(),
            "nbf": issued_at.unix_timestamp(),
            "exp": (issued_at + lifetime).unix_timestamp(),
            "jti": self.ids.next_id(),
        });
        let token = crate::jwt::unsigned_looking_jwt(&claims);
        self.external_assertions.insert(
            token.clone(),
            ExternalAssertion {
                issuer: issuer.to_owned(),
                subject: subject.to_owned(),
                audience: audience.to_owned(),
                expires_at: now + lifetime,
            },
        );
        token
    }
}

/// The audience Entra expects in federated assertions.
pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";

impl Application {
    /// A new application with no credentials, visible from `visible_at`.
    pub fn new(
        object_id: &str,
        app_id: &str,
        tenant_id: &str,
        display_name: &str,
        sign_in_audience: &str,
        created: OffsetDateTime,
        visible_at: Instant,
    ) -> Application {
        Application {
            id: object_id.to_owned(),
            app_id: app_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            display_name: display_name.to_owned(),
            sign_in_audience: sign_in_audience.to_owned(),
            owners: Vec::new(),
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
            federated_identity_credentials: Vec::new(),
            other_properties: serde_json::Map::new(),
            created_date_time: created,
            deleted_date_time: None,
            visible_at,
        }
    }
}

/// The token of a `Bearer <token>` header value (scheme case-insensitive).
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A new client secret in Entra's shape (40 characters, `~` in fourth position).
pub fn generate_secret() -> Secret {
    use base64::Engine as _;
    let random: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|uuid| uuid.as_bytes().to_vec())
        .collect();
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
    let body: String = body
        .chars()
        .map(|c| if c == '-' { 'x' } else { c })
        .collect();
    Secret::new(format!("{}8Q~{}", &body[..3], &body[3..40]))
}
