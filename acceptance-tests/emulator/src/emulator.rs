//! Starting and stopping the emulator: one loopback listener per service, the shared state every
//! handler sees, and the middleware that logs requests, injects faults and spots violations.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::faults::{BusyForm, FaultAction, FaultDecision, Faults, RequestKey, RetryAfter};
use crate::knobs::Knobs;
use crate::log::{
    CredentialRef, RequestLog, RequestRecord, Service, Violation, ViolationKind, lock,
};
use crate::world::identity::Audience;
use crate::world::{Seed, World};

/// The state every handler receives (`State<EmulatorState>`).
pub type EmulatorState = Arc<Shared>;

/// A JSON rendering of everything that exists (admin `GET /world`).
pub type WorldSnapshot = serde_json::Value;

/// Everything the services share. Handlers lock `world` briefly and never across an `.await`.
#[derive(Debug)]
pub struct Shared {
    pub world: Mutex<World>,
    pub knobs: Knobs,
    pub log: RequestLog,
    pub faults: Faults,
    pub clock: Clock,
    pub seed: Seed,
    pub endpoints: Endpoints,
}

impl Shared {
    /// Locks the world (recovering from a poisoned lock: a panicking handler must not take the
    /// whole emulator down with it), with every delayed effect that is already due applied, so
    /// each service observes the same moment (e.g. the token endpoint sees the service principal
    /// Aiven created in its tenant as soon as it exists).
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut world = lock(&self.world);
        let now = self.clock.now();
        crate::world::aiven::settle(&mut world, &self.knobs, now, self.clock.utc_at(now));
        world
    }

    /// Records a violation at the current time.
    pub fn violation(
        &self,
        kind: ViolationKind,
        service: Service,
        method: &str,
        path: &str,
        detail: impl Into<String>,
    ) {
        self.log
            .violation(kind, service, method, path, detail, self.clock.elapsed());
    }
}

/// The emulator's notion of time. Tests may move it forward ([`Clock::advance`]) to skip a delay
/// without sleeping; every delayed effect is computed from it.
#[derive(Debug)]
pub struct Clock {
    started: Instant,
    started_utc: OffsetDateTime,
    offset: Mutex<Duration>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            started: Instant::now(),
            started_utc: OffsetDateTime::now_utc(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// The current instant (real time plus any [`Clock::advance`]).
    pub fn now(&self) -> Instant {
        Instant::now() + *lock(&self.offset)
    }

    /// Time since the emulator started.
    pub fn elapsed(&self) -> Duration {
        self.now().duration_since(self.started)
    }

    /// The current UTC time, consistent with [`Clock::now`].
    pub fn utc_now(&self) -> OffsetDateTime {
        self.utc_at(self.now())
    }

    /// The UTC time of an instant of this clock.
    pub fn utc_at(&self, instant: Instant) -> OffsetDateTime {
        self.started_utc + instant.saturating_duration_since(self.started)
    }

    /// Moves the emulator's time forward.
    pub fn advance(&self, by: Duration) {
        *lock(&self.offset) += by;
    }
}

/// Base URLs of the services (no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// Token endpoint host: `{authority_host}/{tenant}/oauth2/v2.0/token`.
    pub authority_host: String,
    /// Graph: `{graph}/v1.0/...`.
    pub graph: String,
    /// ARM: `{arm}/subscriptions/...`.
    pub arm: String,
    /// Aiven: `{aiven}/v1/...` (the `AIVEN_WEB_URL` form).
    pub aiven: String,
    /// Admin API.
    pub admin: String,
    /// The full managed-identity token URL (the `ARM_MSI_ENDPOINT` form).
    pub msi: String,
}

/// Where to listen.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Listen on consecutive ports from here (login, graph, arm, aiven, admin) instead of
    /// ephemeral ones.
    pub port_base: Option<u16>,
}

/// A running emulator. Cheap to clone; dropping the last clone stops the servers.
#[derive(Debug, Clone)]
pub struct Emulator {
    shared: EmulatorState,
    servers: Arc<Servers>,
}

#[derive(Debug)]
struct Servers {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Emulator {
    /// Starts an emulator on ephemeral loopback ports with a freshly seeded world.
    ///
    /// # Panics
    /// When loopback ports cannot be bound (the test cannot run at all then).
    #[allow(
        clippy::panic,
        reason = "the tests' entry point: a test without loopback ports cannot run; the sandbox uses try_start"
    )]
    pub async fn start(knobs: Knobs) -> Emulator {
        match Emulator::try_start(knobs, StartOptions::default()).await {
            Ok(emulator) => emulator,
            Err(error) => panic!("cannot start the emulator on 127.0.0.1: {error}"),
        }
    }

    /// Starts an emulator; fails when a port cannot be bound.
    pub async fn try_start(knobs: Knobs, options: StartOptions) -> io::Result<Emulator> {
        let port = |index: u16| options.port_base.map_or(0, |base| base + index);
        let login = bind(port(0)).await?;
        let graph = bind(port(1)).await?;
        let arm = bind(port(2)).await?;
        let aiven = bind(port(3)).await?;
        let admin = bind(port(4)).await?;
        let url = |listener: &TcpListener| -> io::Result<String> {
            Ok(format!("http://{}", listener.local_addr()?))
        };
        let authority_host = url(&login)?;
        let endpoints = Endpoints {
            msi: format!("{authority_host}/metadata/identity/oauth2/token"),
            authority_host,
            graph: url(&graph)?,
            arm: url(&arm)?,
            aiven: url(&aiven)?,
            admin: url(&admin)?,
        };

        let clock = Clock::new();
        let seed = Seed::standard();
        let world = World::seeded(&seed, &knobs, clock.now());
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            knobs,
            log: RequestLog::default(),
            faults: Faults::default(),
            clock,
            seed,
            endpoints,
        });

        let (stop, stopped) = watch::channel(false);
        let routers = [
            (
                login,
                observed(
                    &shared,
                    Service::Login,
                    crate::token::router(shared.clone()),
                ),
            ),
            (
                graph,
                observed(
                    &shared,
                    Service::Graph,
                    crate::graph::router(shared.clone()),
                ),
            ),
            (
                arm,
                observed(&shared, Service::Arm, crate::arm::router(shared.clone())),
            ),
            (
                aiven,
                observed(
                    &shared,
                    Service::Aiven,
                    crate::aiven::router(shared.clone()),
                ),
            ),
            (admin, crate::admin::router(shared.clone())),
        ];
        let tasks = routers
            .into_iter()
            .map(|(listener, router)| tokio::spawn(serve(listener, router, stopped.clone())))
            .collect();
        Ok(Emulator {
            shared,
            servers: Arc::new(Servers {
                stop,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    /// Base URLs of the services.
    pub fn endpoints(&self) -> &Endpoints {
        &self.shared.endpoints
    }

    /// Seeded ids and credentials.
    pub fn seed(&self) -> &Seed {
        &self.shared.seed
    }

    /// The delays in force.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// The emulator's clock (to read `now` for [`Emulator::with_world`], or to skip a delay).
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The emulator's current instant.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// The shared state, as handlers see it.
    pub fn state(&self) -> EmulatorState {
        self.shared.clone()
    }

    /// Everything that exists, as JSON.
    pub fn snapshot(&self) -> WorldSnapshot {
        snapshot(&self.shared)
    }

    /// Every secret the emulator ever handed out: client secrets from addPassword (removed ones
    /// included) and access tokens. Tests assert none of them leaks.
    pub fn issued_secrets(&self) -> Vec<String> {
        let world = self.shared.world();
        let identity = &world.identity;
        identity
            .issued_secrets
            .iter()
            .map(|secret| secret.expose().to_owned())
            .chain(identity.tokens.keys().cloned())
            .collect()
    }

    /// Every request served so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.requests()
    }

    /// The requests served after the first `from` (take `from` as `requests().len()` before an
    /// operation to see what that operation sent).
    pub fn requests_since(&self, from: usize) -> Vec<RequestRecord> {
        self.shared.log.requests().into_iter().skip(from).collect()
    }

    /// Every violation so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.log.violations()
    }

    /// How many violations of `kind` there were so far.
    pub fn violation_count(&self, kind: ViolationKind) -> usize {
        self.violations()
            .iter()
            .filter(|violation| violation.kind == kind)
            .count()
    }

    /// Fault injection.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Reads or changes the world (add a second VNet, remove a peering out of band, ...).
    pub fn with_world<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        change(&mut self.shared.world())
    }

    /// Changes the address space of a VNet (the customer's or Aiven's), as an administrator
    /// would; its peerings then report the sync levels Azure reports. `false` when there is no
    /// such VNet.
    pub fn set_vnet_address_space(&self, vnet_id: &str, address_prefixes: &[&str]) -> bool {
        set_vnet_address_space(&self.shared, vnet_id, address_prefixes)
    }

    /// Issues a token directly, without HTTP or credential checks, for the service principal of
    /// application `app_id` in `tenant_id` (tests that are not about authentication). `None`
    /// when that service principal does not exist.
    pub fn token_for(&self, tenant_id: &str, app_id: &str, audience: Audience) -> Option<String> {
        let now = self.shared.clock.now();
        let utc_now = self.shared.clock.utc_at(now);
        let mut world = self.shared.world();
        let sp_id = world
            .identity
            .service_principal_by_app(tenant_id, app_id)?
            .id
            .clone();
        world.identity.issue_token(
            &sp_id,
            audience.claim(),
            "1",
            self.shared.knobs.token_lifetime,
            now,
            utc_now,
        )
    }

    /// A token of the seeded operator identity (customer tenant) for `audience`.
    pub fn operator_token(&self, audience: Audience) -> String {
        let seed = &self.shared.seed;
        self.token_for(&seed.customer_tenant_id, &seed.operator_client_id, audience)
            .unwrap_or_default()
    }

    /// Stops the servers and waits for them (at most a second).
    pub async fn shutdown(self) {
        let _ = self.servers.stop.send(true);
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&self.servers.tasks));
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
    }
}

/// The world as JSON (the admin API's `GET /world`).
/// See [`Emulator::set_vnet_address_space`].
pub fn set_vnet_address_space(shared: &Shared, vnet_id: &str, address_prefixes: &[&str]) -> bool {
    let mut world = shared.world();
    match world.arm.vnet_by_id_mut(vnet_id) {
        Some(vnet) => {
            vnet.address_prefixes = address_prefixes.iter().map(|p| (*p).to_owned()).collect();
            true
        }
        None => false,
    }
}

pub fn snapshot(shared: &Shared) -> WorldSnapshot {
    let world = shared.world();
    serde_json::to_value(&*world).unwrap_or_else(
        |error| serde_json::json!({"error": format!("the world cannot be serialized: {error}")}),
    )
}

async fn bind(port: u16) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
}

async fn serve(listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    let shutdown = async move {
        // Either a stop signal or the sender being dropped ends the server.
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(%error, "emulator listener failed");
    }
}

#[derive(Clone)]
struct Observed {
    shared: EmulatorState,
    service: Service,
}

/// Wraps a service's router in the shared middleware.
fn observed(shared: &EmulatorState, service: Service, router: Router) -> Router {
    router.layer(middleware::from_fn_with_state(
        Observed {
            shared: shared.clone(),
            service,
        },
        observe,
    ))
}

/// Handlers may attach this to a response to name the caller in the request log when the
/// `Authorization` header does not (the token endpoint: the client id of the form).
#[derive(Debug, Clone)]
pub struct LoggedCredential(pub CredentialRef);

async fn observe(State(observed): State<Observed>, request: Request, next: Next) -> Response {
    let Observed { shared, service } = observed;
    let started = shared.clock.now();
    let at = shared.clock.elapsed();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |matched| matched.as_str().to_owned());

    if let Some(what) = secret_in_url(&shared, request.uri()) {
        shared.violation(
            ViolationKind::SecretInUrl,
            service,
            &method,
            &path,
            format!("{what} in the URL"),
        );
    }

    let mut credential = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            if service == Service::Aiven {
                CredentialRef {
                    kind: "aiven".to_owned(),
                    ..CredentialRef::default()
                }
            } else {
                shared.world().identity.credential_of(value)
            }
        });

    // A retry is the same call again. Token requests all share one path, so the caller (client id
    // and scope of the form) tells a retry from a concurrent request for another token.
    let (request, retry_path) = if service == Service::Login && method == "POST" {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        let caller = token_caller(&bytes);
        (
            Request::from_parts(parts, axum::body::Body::from(bytes)),
            format!("{path}#{caller}"),
        )
    } else {
        (request, path.clone())
    };
    let key = RequestKey {
        service,
        method: &method,
        route: &route,
        path: &path,
    };
    let retry_key = RequestKey {
        path: &retry_path,
        ..key
    };
    if let Some(too_early) = shared.faults.early_retry(&retry_key, started) {
        shared.violation(
            ViolationKind::EarlyRetry,
            service,
            &method,
            &path,
            format!(
                "retried {} ms before the Retry-After of an earlier 429 had passed",
                too_early.as_millis()
            ),
        );
    }
    let FaultDecision {
        latency,
        answer,
        latency_rule,
    } = shared.faults.decide(&key);
    let delay = shared.knobs.base_latency + latency;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let (response, fault) = match answer {
        Some((rule_id, FaultAction::LostAnswer { status })) => {
            // The write takes effect; only its answer is lost on the way back.
            let applied = next.run(request).await;
            drop(applied);
            let response = match status {
                Some(status) => error_envelope(
                    service,
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    None,
                ),
                None => dropped_connection(),
            };
            (response, Some(rule_id))
        }
        Some((rule_id, action)) => {
            let response = fault_response(&shared, service, &retry_key, &action);
            (response, Some(rule_id))
        }
        None => (next.run(request).await, latency_rule),
    };
    if let Some(LoggedCredential(logged)) = response.extensions().get::<LoggedCredential>() {
        credential = Some(logged.clone());
    }
    let duration = shared.clock.now().saturating_duration_since(started);
    shared.log.record(RequestRecord {
        seq: 0,
        service,
        method,
        route,
        path,
        status: response.status().as_u16(),
        at_ms: at.as_secs_f64() * 1000.0,
        duration_ms: duration.as_secs_f64() * 1000.0,
        credential,
        fault,
    });
    response
}

/// `client_id` and `scope` of a token request's form, as sent (never the secret or assertion).
fn token_caller(form: &[u8]) -> String {
    let text = String::from_utf8_lossy(form);
    let field = |name: &str| {
        text.split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    format!("{} {}", field("client_id"), field("scope"))
}

/// Names what secret-looking thing a URL carries, if any. The URL itself is never logged.
fn secret_in_url(shared: &Shared, uri: &axum::http::Uri) -> Option<&'static str> {
    const SECRET_PARAMETERS: [&str; 7] = [
        "client_secret",
        "access_token",
        "client_assertion",
        "password",
        "secret",
        "token",
        "api_key",
    ];
    let query = uri.query().unwrap_or_default();
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or_default();
        if SECRET_PARAMETERS
            .iter()
            .any(|secret| name.eq_ignore_ascii_case(secret))
        {
            return Some("a secret query parameter");
        }
    }
    let text = uri.to_string();
    if text.contains(shared.seed.aiven_token.expose()) {
        return Some("the Aiven token");
    }
    // Entra tokens are JWTs; their header always starts with `eyJ` (`{"`).
    if text
        .split(['/', '=', '&', '?'])
        .any(|part| part.starts_with("eyJ") && part.matches('.').count() == 2 && part.len() > 40)
    {
        return Some("a JWT");
    }
    if shared.world().identity.applications.values().any(|app| {
        app.password_credentials
            .iter()
            .any(|password| text.contains(password.secret_text.expose()))
    }) {
        return Some("a client secret");
    }
    None
}

/// The answer of a firing fault rule, in the envelope of `service`.
fn fault_response(
    shared: &Shared,
    service: Service,
    key: &RequestKey<'_>,
    action: &FaultAction,
) -> Response {
    match action {
        FaultAction::Throttle { retry_after } => {
            let mut response = error_envelope(service, StatusCode::TOO_MANY_REQUESTS, None);
            let now = shared.clock.now();
            let (header_value, wait) = retry_after_header(shared, *retry_after);
            if let Some(value) = header_value.and_then(|value| HeaderValue::from_str(&value).ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            shared.faults.note_throttled(key, now + wait);
            response
        }
        FaultAction::Status { status } => error_envelope(
            service,
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            None,
        ),
        FaultAction::Coded { status, code } => error_envelope(
            service,
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Some(code),
        ),
        FaultAction::Drop => dropped_connection(),
        FaultAction::ArmBusy { form } => arm_busy(shared, key, *form),
        // Served by the handler first (see `middleware`).
        FaultAction::LostAnswer { .. } => dropped_connection(),
        // Latency rules never answer; `decide` keeps them out of `answer`.
        FaultAction::Latency { .. } => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The `Retry-After` header text and the wait it really imposes. An HTTP-date has whole-second
/// precision, so the date is rounded up and the imposed wait is measured to that date (minus a
/// small tolerance for the client reading its own clock).
fn retry_after_header(shared: &Shared, retry_after: RetryAfter) -> (Option<String>, Duration) {
    match retry_after {
        RetryAfter::Seconds { seconds } => {
            (Some(seconds.to_string()), Duration::from_secs(seconds))
        }
        RetryAfter::FractionalSeconds { .. } => {
            let wait = retry_after.delay();
            (Some(format!("{}", wait.as_secs_f64())), wait)
        }
        RetryAfter::HttpDate { seconds } => {
            let now_utc = shared.clock.utc_now();
            let target = now_utc + Duration::from_secs(seconds);
            let rounded_up = if target.nanosecond() == 0 {
                target
            } else {
                target.replace_nanosecond(0).unwrap_or(target) + time::Duration::SECOND
            };
            let wait = (rounded_up - now_utc).try_into().unwrap_or_default();
            let tolerance = Duration::from_millis(50);
            (
                Some(http_date(rounded_up)),
                Duration::saturating_sub(wait, tolerance),
            )
        }
        RetryAfter::Omitted => (None, Duration::ZERO),
    }
}

/// RFC 9110 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

/// ARM's refusal of a write on a busy virtual network, in `form`.
fn arm_busy(shared: &Shared, key: &RequestKey<'_>, form: BusyForm) -> Response {
    let (status, code, details) = match form {
        BusyForm::AnotherOperationInProgress => (
            StatusCode::CONFLICT,
            "AnotherOperationInProgress",
            serde_json::json!([]),
        ),
        BusyForm::ReferencedResourceNotProvisioned => (
            StatusCode::BAD_REQUEST,
            "ReferencedResourceNotProvisioned",
            serde_json::json!([]),
        ),
        BusyForm::RetryableError => (
            StatusCode::TOO_MANY_REQUESTS,
            "RetryableError",
            serde_json::json!([{
                "code": "ReferencedResourceNotProvisioned",
                "message": "Cannot proceed with operation because resource used by this resource is not in Succeeded state. Resource is in Updating state and the last operation that updated/is updating the resource is PutSubnetOperation.",
            }]),
        ),
    };
    let body = serde_json::json!({
        "error": {
            "code": code,
            "message": format!("The virtual network is busy (emulator fault injection: {code})."),
            "details": details,
        }
    });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = Duration::from_secs(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        shared.faults.note_throttled(key, shared.clock.now() + wait);
    }
    response
}

/// A fault's error body in the service's own envelope.
fn error_envelope(service: Service, status: StatusCode, code: Option<&str>) -> Response {
    let throttled = status == StatusCode::TOO_MANY_REQUESTS;
    let message = if throttled {
        "Rate limit exceeded; retry after the interval in Retry-After."
    } else if code.is_some() {
        "The emulator's fault injection answered with this error code."
    } else {
        "The service is temporarily unavailable (emulator fault injection)."
    };
    let body = match service {
        Service::Login => serde_json::json!({
            "error": code.unwrap_or(if throttled { "temporarily_unavailable" } else { "server_error" }),
            "error_description": format!("AADSTS90033: {message}"),
            "error_codes": [90033],
            "timestamp": OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            "trace_id": uuid::Uuid::new_v4(),
            "correlation_id": uuid::Uuid::new_v4(),
            "error_uri": "https://login.microsoftonline.com/error?code=90033",
        }),
        Service::Graph => serde_json::json!({
            "error": {
                "code": code.unwrap_or(if throttled { "TooManyRequests" } else { "serviceNotAvailable" }),
                "message": message,
                "innerError": {
                    "request-id": uuid::Uuid::new_v4(),
                    "date": OffsetDateTime::now_utc()
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                },
            }
        }),
        Service::Arm => serde_json::json!({
            "error": {
                "code": code.unwrap_or(if throttled { "TooManyRequests" } else { "InternalServerError" }),
                "message": message,
            }
        }),
        Service::Aiven | Service::Admin => serde_json::json!({
            "message": message,
            "errors": [{"message": message, "status": status.as_u16()}],
        }),
    };
    (status, axum::Json(body)).into_response()
}

/// A response whose body fails before a single byte is written: hyper then closes the
/// connection without sending the (still buffered) status line, which the client sees as a
/// connection closed before any response.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Vec<u8>, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "emulator fault: dropped connection",
        ))
    });
    Response::new(Body::from_stream(failing))
}
