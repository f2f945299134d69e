//! Entra ID `AADSTS` error numbers the clients and resources act on, by name. The token endpoint
//! reports them in `error_codes` (and in the text of `error_description`); they are read into
//! [`crate::cloud::CloudError::aadsts_codes`].

/// Invalid client secret: a wrong value (or the secret's id instead of its value), and also what
/// a secret added moments ago answers until it has replicated (seconds, rarely minutes).
pub const INVALID_CLIENT_SECRET: u32 = 7_000_215;
/// The client secret has expired.
pub const EXPIRED_CLIENT_SECRET: u32 = 7_000_222;
/// The application has no service principal in this tenant (not created, or not replicated
/// yet).
pub const MISSING_SERVICE_PRINCIPAL: u32 = 7_000_229;
/// The application is not found in this tenant's directory (not replicated yet, a
/// single-tenant application asked in another tenant, or the wrong tenant).
pub const APPLICATION_NOT_FOUND: u32 = 700_016;
/// The tenant does not exist (a wrong tenant id).
pub const TENANT_NOT_FOUND: u32 = 90_002;

/// The answers that mean "the new application, service principal or secret has not reached the
/// token service yet" (docs/development/entra-and-graph.md, 'Eventual consistency'): waited out
/// after a create or rotation, never reported while time remains.
pub const NOT_REPLICATED_YET: &[u32] = &[
    INVALID_CLIENT_SECRET,
    MISSING_SERVICE_PRINCIPAL,
    APPLICATION_NOT_FOUND,
];
