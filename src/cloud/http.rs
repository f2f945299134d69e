//! The HTTP layer every cloud client shares.
//!
//! - One [`HttpClient`] per process ([`HttpClient::shared`]): one connection pool, HTTP/2 where the
//!   server offers it, keep-alive, so concurrent resources share connections instead of each
//!   paying its own TLS handshakes.
//! - Retries of 408, 429, 5xx (not 501), connection failures and timeouts, with jittered exponential
//!   backoff, honouring `Retry-After` in seconds, fractional seconds and HTTP-date form (and the
//!   `retry-after-ms` / `x-ms-retry-after-ms` headers), never sending earlier than the server
//!   allows.
//! - Every retry and every wait is bounded by a [`CallContext`]: the caller's deadline (the
//!   operation's timeout) and a cancellation token.
//! - [`poll_until`]: the polling helper, on the schedule of [`poll_interval`].
//! - Pacing on the services' throttling quotas ([`super::rate_limit`]): a client whose service
//!   reports its remaining quota hands its [`QuotaRules`] over ([`HttpClient::with_quota_rules`]);
//!   every service gets one shared `Retry-After` gate per quota after a 429, so concurrent
//!   requests wait for a token instead of each collecting its own 429.
//! - Request logging (method, URL without query, status, duration) at debug level; headers and
//!   bodies are never logged, because they carry tokens and secrets.
//!
//! Error answers are returned as they are ([`ApiResponse`]): each client reads its own service's
//! error envelope into a [`CloudError`].

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use tokio::time::Instant;
/// Re-exported so callers build a [`CallContext`] without naming tokio-util.
pub use tokio_util::sync::CancellationToken;

use super::error::{CloudError, Service};
use super::rate_limit::{Pacer, QuotaRules};
use super::roots::{self, RootSource};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("terraform-provider-vnetpeer/", env!("CARGO_PKG_VERSION"));

/// The caller's bounds for one operation: a deadline and a cancellation token.
///
/// Every client method takes one. Build it from the resource's timeout and the provider's stop
/// token: `CallContext::new(timeout, stop_token.child_token())`.
#[derive(Clone, Debug)]
pub struct CallContext {
    deadline: Instant,
    cancel: CancellationToken,
}

impl CallContext {
    /// An operation that must finish within `timeout` from now.
    pub fn new(timeout: Duration, cancel: CancellationToken) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            cancel,
        }
    }

    /// An operation that must finish by `deadline`.
    pub fn with_deadline(deadline: Instant, cancel: CancellationToken) -> Self {
        Self { deadline, cancel }
    }

    /// The same cancellation, with a deadline no later than `max` from now (for a sub-step that
    /// must give up earlier than the whole operation, e.g. a replication window).
    pub fn narrowed(&self, max: Duration) -> Self {
        Self {
            deadline: self.deadline.min(Instant::now() + max),
            cancel: self.cancel.clone(),
        }
    }

    /// When the operation must be done.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The cancellation token.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// An error if the operation was cancelled or its deadline has passed.
    pub fn check(&self, what: &str) -> Result<(), CloudError> {
        if self.cancel.is_cancelled() {
            return Err(CloudError::Cancelled {
                what: what.to_owned(),
            });
        }
        if Instant::now() >= self.deadline {
            return Err(CloudError::DeadlineExceeded {
                what: what.to_owned(),
                last_observed: None,
            });
        }
        Ok(())
    }

    /// Waits `duration`, unless cancelled (then [`CloudError::Cancelled`] at once).
    ///
    /// A wait that would end after the deadline fails at once with
    /// [`CloudError::DeadlineExceeded`]: sleeping until the deadline could not lead to success.
    pub async fn sleep(&self, duration: Duration, what: &str) -> Result<(), CloudError> {
        self.check(what)?;
        if Instant::now() + duration > self.deadline {
            return Err(CloudError::DeadlineExceeded {
                what: what.to_owned(),
                last_observed: None,
            });
        }
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(CloudError::Cancelled { what: what.to_owned() }),
            () = tokio::time::sleep(duration) => Ok(()),
        }
    }

    /// Runs `future` until it completes, the deadline passes, or the operation is cancelled.
    pub async fn run<F: Future>(&self, what: &str, future: F) -> Result<F::Output, CloudError> {
        self.check(what)?;
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(CloudError::Cancelled { what: what.to_owned() }),
            () = tokio::time::sleep_until(self.deadline) => Err(CloudError::DeadlineExceeded {
                what: what.to_owned(),
                last_observed: None,
            }),
            output = future => Ok(output),
        }
    }
}

/// How many times and how fast failed requests are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry (before jitter); doubles per retry.
    pub base_delay: Duration,
    /// Longest backoff between two attempts (before jitter). `Retry-After` may ask for longer.
    pub max_delay: Duration,
    /// Longest time one attempt may take (connect + response + body).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// The backoff before retry number `retry` (0 for the first retry): `min(max, base·2^retry)`,
/// scaled by `jitter` ∈ [0, 1] into the upper half of that range ("equal jitter"), so the delay
/// never collapses to zero and concurrent clients spread out.
pub fn backoff_delay(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let exponential = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(retry.min(20)));
    let ceiling = exponential.min(policy.max_delay);
    ceiling.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The earliest next request the server allows, from `retry-after-ms`, `x-ms-retry-after-ms`
/// (milliseconds) or `Retry-After` (integer or fractional seconds, or an HTTP date).
///
/// Fractions are rounded up to the next millisecond so a retry is never early.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header_str(headers, name).and_then(|v| v.trim().parse::<f64>().ok())
            && ms.is_finite()
            && ms >= 0.0
        {
            return Some(Duration::from_micros((ms * 1000.0).ceil() as u64));
        }
    }
    let value = header_str(headers, "retry-after")?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            // Round up to whole milliseconds: never earlier than asked.
            return Some(Duration::from_millis((seconds * 1000.0).ceil() as u64));
        }
        return None;
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// The poll interval after `elapsed` of waiting without a server hint:
/// clamp(elapsed / 10, 100 ms, 2 s): quick checks while an operation is young (most finish within
/// seconds), no more than one every 2 s for the long ones.
pub fn poll_interval(elapsed: Duration) -> Duration {
    (elapsed / 10).clamp(Duration::from_millis(100), Duration::from_secs(2))
}

/// One observation of a [`poll_until`] check.
#[derive(Debug)]
pub enum PollStep<T> {
    /// The awaited condition holds; polling ends with this value.
    Done(T),
    /// Not yet.
    Pending {
        /// The server's earliest next poll (`Retry-After`), if it gave one.
        retry_after: Option<Duration>,
        /// What was seen (a state, or a transient error), reported if the deadline passes.
        observed: Option<String>,
    },
}

impl<T> PollStep<T> {
    /// Not yet, with what was seen and no server hint.
    pub fn pending(observed: impl Into<String>) -> Self {
        PollStep::Pending {
            retry_after: None,
            observed: Some(observed.into()),
        }
    }
}

/// Calls `check` until it returns [`PollStep::Done`] or an error, waiting between calls for the
/// server's `Retry-After` when given, else on the [`poll_interval`] schedule.
///
/// Ends with [`CloudError::DeadlineExceeded`] (naming `what` and the last observation) when the
/// next poll would fall after the context's deadline, or [`CloudError::Cancelled`] promptly on
/// cancellation.
pub async fn poll_until<T, F, Fut>(
    ctx: &CallContext,
    what: &str,
    mut check: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<PollStep<T>, CloudError>>,
{
    let started = Instant::now();
    loop {
        ctx.check(what)?;
        let (retry_after, observed) = match check().await? {
            PollStep::Done(value) => return Ok(value),
            PollStep::Pending {
                retry_after,
                observed,
            } => (retry_after, observed),
        };
        let wait = retry_after.unwrap_or_else(|| poll_interval(started.elapsed()));
        tracing::trace!(what, wait_ms = wait.as_millis() as u64, "polling again");
        match ctx.sleep(wait, what).await {
            Ok(()) => {}
            Err(CloudError::DeadlineExceeded { what, .. }) => {
                return Err(CloudError::DeadlineExceeded {
                    what,
                    last_observed: observed,
                });
            }
            Err(other) => return Err(other),
        }
    }
}

/// Whether a request may be sent again when it is unknown if the server applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// GET, PUT, DELETE, token requests: repeating them is harmless.
    Safe,
    /// A create that would make a second object or be refused as a duplicate (Graph app, service
    /// principal, addPassword, Aiven peering):
    /// sent again only when the request surely did not take effect: it never left (connect
    /// failure) or the server throttled it (429). After a 408 or 5xx answer, or a connection
    /// lost after sending, the outcome is unknown (a gateway may have lost the answer to a
    /// write the service applied): the answer or error is returned, and the caller establishes
    /// what happened before it writes again (see [`CloudError::outcome_unknown`]).
    Unsafe,
}

/// A fully read response.
#[derive(Debug)]
pub(crate) struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiResponse {
    /// Parses the JSON body.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        service: Service,
        operation: &str,
    ) -> Result<T, CloudError> {
        serde_json::from_slice(&self.body).map_err(|e| CloudError::Decode {
            service,
            operation: operation.to_owned(),
            // serde_json's message names the field and position, never the content.
            detail: e.to_string(),
        })
    }

    /// The server's earliest next request, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(&self.headers, SystemTime::now())
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }
}

/// The process-wide HTTP client with its retry policy. Cheap to clone (shares the pool).
///
/// The reqwest client (and with it the TLS configuration and the system's root certificates,
/// see [`super::roots`]) is built on the first request, not when the provider is configured: most
/// provider processes Terraform starts (validation, schema, plans of nothing but fixtures) never
/// call a cloud.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pool: Pool,
    policy: RetryPolicy,
    /// The quota model; shared by every clone, and by the whole process for [`Self::shared`].
    pacer: Arc<Pacer>,
    /// How the service this client talks to meters requests, if it reports its quotas.
    quota_rules: Option<QuotaRules>,
}

/// Where an [`HttpClient`] finds its reqwest client, built on first use.
#[derive(Clone, Debug)]
enum Pool {
    /// The process-wide [`SHARED`] client.
    Shared,
    /// A pool of its own ([`HttpClient::new`]).
    Own(Arc<OnceLock<reqwest::Client>>),
}

static SHARED: OnceLock<reqwest::Client> = OnceLock::new();
static SHARED_PACER: OnceLock<Arc<Pacer>> = OnceLock::new();

impl HttpClient {
    /// The client shared by the whole process. No I/O and no TLS set-up here: the connection
    /// pool is built by the first request.
    pub fn shared() -> Result<Self, CloudError> {
        let pacer = SHARED_PACER.get_or_init(|| Arc::new(Pacer::new())).clone();
        Ok(Self::with_pool(Pool::Shared, pacer))
    }

    /// A new client with its own pool and its own quota model (tests that count connections,
    /// or special needs).
    pub fn new() -> Result<Self, CloudError> {
        let client = build_reqwest_client()?;
        Ok(Self::with_pool(
            Pool::Own(Arc::new(OnceLock::from(client))),
            Arc::new(Pacer::new()),
        ))
    }

    fn with_pool(pool: Pool, pacer: Arc<Pacer>) -> Self {
        Self {
            pool,
            policy: RetryPolicy::default(),
            pacer,
            quota_rules: None,
        }
    }

    /// The reqwest client, built now if this is the first request.
    fn client(&self) -> Result<&reqwest::Client, CloudError> {
        let cell = match &self.pool {
            Pool::Shared => &SHARED,
            Pool::Own(cell) => cell.as_ref(),
        };
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        let built = build_reqwest_client()?;
        // A concurrent first call may have won the race; either client is fine, keep one.
        Ok(cell.get_or_init(|| built))
    }

    /// The same pool with another retry policy.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same pool and quota model, pacing requests by `rules` (the service's quotas).
    pub(crate) fn with_quota_rules(mut self, rules: QuotaRules) -> Self {
        self.quota_rules = Some(rules);
        self
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// A request builder on the shared pool (building the pool if this is the first request).
    pub(crate) fn request(
        &self,
        method: Method,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, CloudError> {
        Ok(self.client()?.request(method, url))
    }

    /// Sends `request`, retrying as described in the module docs, and reads the whole body.
    ///
    /// Returns the final response whatever its status (the caller turns non-success into a
    /// [`CloudError`] with its service's envelope), or a transport, cancellation or deadline
    /// error. `extra_retry_statuses` adds service-specific retryable statuses (IMDS: 404, 410).
    pub(crate) async fn send(
        &self,
        ctx: &CallContext,
        request: reqwest::RequestBuilder,
        replay: Replay,
        extra_retry_statuses: &[u16],
    ) -> Result<ApiResponse, CloudError> {
        // The client that built the request sends it (the same pool as `self`'s).
        let (client, template) = request.build_split();
        let template = template.map_err(|e| {
            CloudError::Invalid(format!("could not build the request: {}", e.without_url()))
        })?;
        let method = template.method().clone();
        let shown_url = url_for_logs(template.url());
        let what = format!("{method} {shown_url}");
        let rules = self.quota_rules.as_ref();
        let quota = self.pacer.key_for(&template, rules);
        let mut retry = 0u32;
        loop {
            ctx.check(&what)?;
            let Some(mut attempt) = template.try_clone() else {
                return Err(CloudError::Invalid(format!(
                    "{what}: request body cannot be replayed"
                )));
            };
            let permit = self.pacer.acquire(quota.clone(), ctx, &what).await?;
            *attempt.timeout_mut() = Some(self.policy.attempt_timeout.min(ctx.remaining()));
            let started = Instant::now();
            // A cancelled or failed attempt drops the permit: no longer in flight, no news.
            let outcome = ctx.run(&what, execute_and_read(&client, attempt)).await?;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let more_attempts = retry + 1 < self.policy.max_attempts;
            match outcome {
                Ok(response) => {
                    permit.answered(
                        response.status.as_u16(),
                        &response.headers,
                        response.retry_after(),
                        rules,
                    );
                    tracing::debug!(
                        method = %method,
                        url = %shown_url,
                        status = response.status.as_u16(),
                        elapsed_ms,
                        attempt = retry + 1,
                        "cloud request"
                    );
                    let status = response.status.as_u16();
                    let retryable =
                        is_retryable_status(status) || extra_retry_statuses.contains(&status);
                    // A throttled answer that says when to come back is retried until the
                    // deadline, however many times: the server sets the pace, so this is no
                    // retry storm, and giving up early fails a resource that would succeed.
                    let paced_by_server = status == 429 && response.retry_after().is_some();
                    let outcome_unknown = replay == Replay::Unsafe && status != 429;
                    if !retryable || outcome_unknown || !(more_attempts || paced_by_server) {
                        return Ok(response);
                    }
                    let wait = response
                        .retry_after()
                        .unwrap_or_else(|| backoff_delay(&self.policy, retry, fastrand::f64()));
                    if Instant::now() + wait > ctx.deadline() {
                        // Waiting is pointless: report the service's own answer (e.g. 429) now.
                        return Ok(response);
                    }
                    tracing::debug!(url = %shown_url, status, wait_ms = wait.as_millis() as u64, "retrying");
                    // For a 429 the pacer's shared gate holds every request of this quota (this
                    // one included) until the same instant; the own wait stays for a request
                    // whose token changed meanwhile (another quota key).
                    ctx.sleep(wait, &what).await?;
                }
                Err(failure) => {
                    drop(permit);
                    tracing::debug!(
                        method = %method,
                        url = %shown_url,
                        elapsed_ms,
                        attempt = retry + 1,
                        error = %failure.detail,
                        "cloud request failed"
                    );
                    let may_replay = match replay {
                        Replay::Safe => true,
                        Replay::Unsafe => failure.before_sending,
                    };
                    if !may_replay || !more_attempts {
                        return Err(CloudError::Transport {
                            what,
                            detail: failure.detail,
                        });
                    }
                    let wait = backoff_delay(&self.policy, retry, fastrand::f64());
                    if Instant::now() + wait > ctx.deadline() {
                        return Err(CloudError::Transport {
                            what,
                            detail: failure.detail,
                        });
                    }
                    ctx.sleep(wait, &what).await?;
                }
            }
            retry += 1;
        }
    }
}

/// Sends one attempt and reads the whole body.
async fn execute_and_read(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<ApiResponse, TransportFailure> {
    let response = client
        .execute(request)
        .await
        .map_err(TransportFailure::from)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| TransportFailure {
        // The status line arrived, so the server did see the request.
        before_sending: false,
        detail: describe_reqwest_error(&e),
    })?;
    Ok(ApiResponse {
        status,
        headers,
        body,
    })
}

/// A transport-level failure of one attempt.
struct TransportFailure {
    /// True when the request certainly never reached the server (connection refused, DNS, TLS).
    before_sending: bool,
    detail: String,
}

impl From<reqwest::Error> for TransportFailure {
    fn from(error: reqwest::Error) -> Self {
        Self {
            before_sending: error.is_connect(),
            detail: describe_reqwest_error(&error),
        }
    }
}

/// reqwest's error text without the URL (it may carry a query) and with its causes.
fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "connection broke while reading the response"
    } else {
        "request failed"
    };
    let mut detail = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

/// 408, 429 and 5xx except 501 (Not Implemented never gets better).
fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (status >= 500 && status != 501)
}

/// The URL as logged and reported: scheme, host, port and path, never the query or fragment.
pub(crate) fn url_for_logs(url: &Url) -> String {
    url[..url::Position::AfterPath].to_owned()
}

/// The operation text of errors: method and path.
pub(crate) fn operation_name(method: &Method, url: &Url) -> String {
    format!("{method} {}", url.path())
}

/// A header value that reqwest and hyper treat as sensitive (not shown by their `Debug`).
pub(crate) fn sensitive_header(value: &str) -> Result<HeaderValue, CloudError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        CloudError::Invalid("a credential contains characters not allowed in an HTTP header".into())
    })?;
    header.set_sensitive(true);
    Ok(header)
}

fn build_reqwest_client() -> Result<reqwest::Client, CloudError> {
    build_reqwest_client_trusting(&roots::root_source())
}

/// The client, trusting the roots `source` names (see [`roots`]).
pub(super) fn build_reqwest_client_trusting(
    source: &RootSource,
) -> Result<reqwest::Client, CloudError> {
    let mut builder = reqwest::Client::builder();
    if let RootSource::Files {
        file,
        directories,
        links,
    } = source
        && let Some(anchors) = roots::load_roots(file.as_deref(), directories, *links)
    {
        let config = roots::client_config(anchors).map_err(|e| {
            CloudError::Invalid(format!("could not build the TLS configuration: {e}"))
        })?;
        builder = builder.tls_backend_preconfigured(config);
    }
    builder
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(30))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .http2_keep_alive_while_idle(true)
        // The APIs never redirect; following one could hand a token to another host.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            CloudError::Invalid(format!(
                "could not build the HTTP client: {}",
                describe_reqwest_error(&e)
            ))
        })
}

/// Checks an endpoint from settings: `https://`, or `http://` on a loopback address only (the
/// emulator), with a host.
pub fn validate_endpoint(name: &str, value: &str) -> Result<Url, CloudError> {
    let url = Url::parse(value.trim())
        .map_err(|e| CloudError::Invalid(format!("{name} {value:?} is not a URL: {e}")))?;
    let Some(host) = url.host() else {
        return Err(CloudError::Invalid(format!("{name} {value:?} has no host")));
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(CloudError::Invalid(format!(
            "{name} {value:?} uses http://, which is allowed only for loopback addresses; use https://"
        ))),
        other => Err(CloudError::Invalid(format!(
            "{name} {value:?} has scheme {other:?}; expected https://"
        ))),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Joins `path` (which may contain `/`) onto a base URL whose own path is kept.
pub(crate) fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_integer_seconds() {
        let now = SystemTime::now();
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", " 0 ")]), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_fractional_seconds_round_up() {
        let now = SystemTime::now();
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "0.0001")]), now),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]),
                now
            ),
            Some(Duration::from_secs(30))
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]),
                now
            ),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_ms_headers_win_and_garbage_is_ignored() {
        let now = SystemTime::now();
        assert_eq!(
            parse_retry_after(
                &headers(&[("retry-after-ms", "250"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("x-ms-retry-after-ms", "12.5")]), now),
            Some(Duration::from_micros(12_500))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "-3")]), now),
            None
        );
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jitter_stays_in_upper_half() {
        let policy = RetryPolicy::default();
        assert_eq!(backoff_delay(&policy, 0, 1.0), Duration::from_millis(250));
        assert_eq!(backoff_delay(&policy, 0, 0.0), Duration::from_millis(125));
        assert_eq!(backoff_delay(&policy, 3, 1.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(&policy, 30, 1.0), policy.max_delay);
        assert_eq!(backoff_delay(&policy, 30, 0.0), policy.max_delay / 2);
        for retry in 0..12 {
            let low = backoff_delay(&policy, retry, 0.0);
            let high = backoff_delay(&policy, retry, 1.0);
            assert!(low > Duration::ZERO && low <= high && high <= policy.max_delay);
        }
    }

    #[test]
    fn poll_schedule_is_a_tenth_of_elapsed_within_bounds() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(100));
        assert_eq!(
            poll_interval(Duration::from_millis(500)),
            Duration::from_millis(100)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(5)),
            Duration::from_millis(500)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(20)),
            Duration::from_secs(2)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(3600)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn retryable_statuses() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn endpoints_must_be_https_unless_loopback() {
        assert!(validate_endpoint("resource_manager", "https://management.azure.com").is_ok());
        assert!(validate_endpoint("resource_manager", "http://127.0.0.1:8080").is_ok());
        assert!(validate_endpoint("resource_manager", "http://[::1]:8080").is_ok());
        assert!(validate_endpoint("resource_manager", "http://localhost:1").is_ok());
        let err = validate_endpoint("resource_manager", "http://example.com").unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(validate_endpoint("x", "ftp://127.0.0.1").is_err());
        assert!(validate_endpoint("x", "not a url").is_err());
    }

    #[test]
    fn logged_urls_drop_the_query() {
        let url = Url::parse("https://h.example/a/b?api-version=1&secret=s#f").unwrap();
        assert_eq!(url_for_logs(&url), "https://h.example/a/b");
    }

    #[test]
    fn join_path_keeps_the_base_path() {
        let base = Url::parse("http://127.0.0.1:9/graph").unwrap();
        assert_eq!(
            join_path(&base, "/v1.0/applications").as_str(),
            "http://127.0.0.1:9/graph/v1.0/applications"
        );
        let root = Url::parse("https://management.azure.com/").unwrap();
        assert_eq!(
            join_path(&root, "/subscriptions/x").as_str(),
            "https://management.azure.com/subscriptions/x"
        );
    }

    #[tokio::test]
    async fn sleep_past_the_deadline_fails_at_once() {
        let ctx = CallContext::new(Duration::from_millis(50), CancellationToken::new());
        let started = std::time::Instant::now();
        let err = ctx
            .sleep(Duration::from_secs(30), "waiting for x")
            .await
            .unwrap_err();
        assert!(err.is_deadline_exceeded());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn cancellation_ends_a_wait_promptly() {
        let cancel = CancellationToken::new();
        let ctx = CallContext::new(Duration::from_secs(60), cancel.clone());
        let waiter =
            tokio::spawn(async move { ctx.sleep(Duration::from_secs(30), "waiting").await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancel.cancel();
        let result = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("cancel must end the wait")
            .unwrap();
        assert!(result.unwrap_err().is_cancelled());
    }

    #[tokio::test]
    async fn poll_until_returns_when_done_and_reports_last_state_on_deadline() {
        let ctx = CallContext::new(Duration::from_secs(5), CancellationToken::new());
        let mut calls = 0;
        let value = poll_until(&ctx, "waiting for done", || {
            calls += 1;
            let n = calls;
            async move {
                Ok(if n < 3 {
                    PollStep::Pending {
                        retry_after: Some(Duration::from_millis(1)),
                        observed: Some(format!("state {n}")),
                    }
                } else {
                    PollStep::Done(n)
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);

        let short = CallContext::new(Duration::from_millis(150), CancellationToken::new());
        let err = poll_until(&short, "waiting for ACTIVE", || async {
            Ok::<PollStep<()>, CloudError>(PollStep::pending("PENDING_PEER"))
        })
        .await
        .unwrap_err();
        match err {
            CloudError::DeadlineExceeded {
                what,
                last_observed,
            } => {
                assert_eq!(what, "waiting for ACTIVE");
                assert_eq!(last_observed.as_deref(), Some("PENDING_PEER"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
