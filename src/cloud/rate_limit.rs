//! Client-side pacing on the services' throttling quotas.
//!
//! Services that meter requests with token buckets and report what is left on every answer
//! (ARM: per subscription or tenant, principal, and reads / writes / deletes) describe that with
//! [`QuotaRules`], which their client hands to its [`super::http::HttpClient`]. A client that
//! only reacts to 429 keeps hitting the empty bucket: with ten writes in flight, most of them
//! earn their own 429 every time the bucket runs dry. The [`Pacer`] instead keeps a model of each
//! bucket, shared by every request of the process:
//!
//! - **level**: the tokens left as last reported, minus every request that report may not reflect
//!   (sent after it, or already in flight when it was sent: answers overtake each other), refilled
//!   at the estimated rate;
//! - **refill rate**: measured between two reports that reflect every request sent (the rise of
//!   the remaining count plus the requests served in between, over the time between them, as a
//!   lower bound given the whole-token reports, and counted at 90%); until measured, one token per
//!   `Retry-After` of the last 429, and before any 429 no rate at all: when the bucket looks
//!   empty, a single request at a time goes to find out (at most one 429, whose `Retry-After`
//!   then paces);
//! - **gate**: after a 429 with `Retry-After`, nobody sends to that bucket before the announced
//!   instant (one shared wait instead of ten independent retries).
//!
//! A request whose bucket the model says is empty waits, in arrival order, until a token should
//! be there; every answer corrects the model and wakes the waiters. Far from the limit a request
//! costs one short mutex section and no wait. Services without quota rules (they report no
//! remaining count) get the shared `Retry-After` gate only, one per host and principal.
//!
//! Waits are bounded by the caller's [`CallContext`]: a server-announced gate that ends after the
//! deadline fails at once; a wait the model alone asks for is cut short at the deadline and the
//! request is sent (the server's answer is better than a guess).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::error::CloudError;
use super::http::CallContext;

/// Shortest span between two reports before their difference is trusted as a refill rate: the
/// reports are whole tokens, so a short span magnifies the rounding.
const MIN_RATE_WINDOW: Duration = Duration::from_secs(2);
/// The share of the measured refill the model counts on: the reports' times are the client's
/// receive times, and a late first answer shortens the measured span. A slow model costs little
/// (the next report shows the extra tokens); a fast one costs a 429 and its `Retry-After`.
const RATE_SAFETY: f64 = 0.9;
/// Longest single wait the model asks for (a measured rate near zero must not park requests for
/// hours; the deadline bounds it anyway).
const MAX_MODEL_WAIT: Duration = Duration::from_secs(60);
/// Buckets idle this long are forgotten once the table grows (tokens are refreshed hourly, and
/// each token is its own principal key).
const IDLE_FORGET: Duration = Duration::from_secs(600);
const FORGET_ABOVE: usize = 64;

/// Which of a service's quotas a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum QuotaKind {
    Reads,
    Writes,
    Deletes,
    /// A service without per-kind quotas: one gate.
    Any,
}

/// How a service meters requests, supplied by its client (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuotaRules {
    /// The quota scope (e.g. a subscription) and kind a request with this method and URL path
    /// draws on; `None` for requests the service does not meter per scope and kind.
    pub bucket: fn(&Method, &str) -> Option<(String, QuotaKind)>,
    /// What an answer reports left of a kind's quota, if it says.
    pub remaining: fn(&HeaderMap, QuotaKind) -> Option<f64>,
}

/// The bucket a request draws on: host (with port), principal, the service's scope and kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct QuotaKey {
    host: String,
    /// A keyed hash of the `Authorization` header ([`Pacer::principal_of`]): the quota is per
    /// principal, and the token is the one thing every request carries. Never reversible to
    /// the token, never logged.
    principal: u64,
    /// The scope [`QuotaRules::bucket`] named; empty for services without rules.
    scope: String,
    kind: QuotaKind,
}

/// What a request should do now.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decision {
    Go,
    /// Not before `at`; `announced` when the server set that instant (a 429's `Retry-After`).
    WaitUntil {
        at: Instant,
        announced: bool,
    },
    /// Until the bucket's state changes (an answer arrives, a waiter ahead leaves).
    WaitForNews,
}

/// Where a request stood when it was sent, to tell what its report cannot reflect: requests sent
/// after it, and requests already in flight then (the server may have taken theirs after its).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SendMark {
    /// Sends on the bucket so far, this one included.
    seq: u64,
    in_flight_before: u32,
}

/// Two reports apart in time give the refill rate; this is the earlier one.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    at: Instant,
    remaining: f64,
    served: u64,
}

/// The model of one server-side bucket.
#[derive(Debug)]
struct Bucket {
    /// Estimated tokens at `level_at`, requests in flight already deducted; `None` until the
    /// service reported a count or throttled (then nothing is paced).
    level: Option<f64>,
    level_at: Instant,
    /// Measured refill, tokens per second (a lower bound).
    measured_rate: Option<f64>,
    /// One token per last announced `Retry-After`, until a rate is measured.
    retry_rate: Option<f64>,
    /// The largest remaining count reported: the bucket holds at least one more.
    max_reported: Option<f64>,
    anchor: Option<Anchor>,
    /// Answers that carried a remaining count (requests the server counted).
    served: u64,
    /// Whether this service reports remaining counts at all.
    reports_remaining: bool,
    in_flight: u32,
    /// Requests sent so far, and the mark of the last one.
    sent: u64,
    last_send: SendMark,
    blocked_until: Option<Instant>,
    queue: VecDeque<u64>,
    next_ticket: u64,
    last_used: Instant,
    notify: Arc<Notify>,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Self {
            level: None,
            level_at: now,
            measured_rate: None,
            retry_rate: None,
            max_reported: None,
            anchor: None,
            served: 0,
            reports_remaining: false,
            in_flight: 0,
            sent: 0,
            last_send: SendMark::default(),
            blocked_until: None,
            queue: VecDeque::new(),
            next_ticket: 0,
            last_used: now,
            notify: Arc::new(Notify::new()),
        }
    }

    fn capacity(&self) -> Option<f64> {
        self.max_reported.map(|max| max + 1.0)
    }

    /// Tokens per second the model refills with, if known.
    fn rate(&self) -> Option<f64> {
        self.measured_rate.or(self.retry_rate)
    }

    fn refill(&mut self, now: Instant) {
        if let (Some(level), Some(rate)) = (self.level, self.rate()) {
            let elapsed = now.saturating_duration_since(self.level_at).as_secs_f64();
            let mut refilled = level + rate * elapsed;
            if let Some(capacity) = self.capacity() {
                refilled = refilled.min(capacity);
            }
            self.level = Some(refilled);
        }
        self.level_at = now;
    }

    /// Whether a request may go now, given nothing about its place in the queue.
    fn admit(&self, now: Instant) -> Decision {
        if let Some(until) = self.blocked_until
            && until > now
        {
            return Decision::WaitUntil {
                at: until,
                announced: true,
            };
        }
        let Some(level) = self.level else {
            return Decision::Go;
        };
        if level >= 1.0 {
            return Decision::Go;
        }
        match self.rate() {
            Some(rate) if rate > 0.0 => {
                let wait =
                    Duration::from_secs_f64(((1.0 - level) / rate).min(1e6)).min(MAX_MODEL_WAIT);
                Decision::WaitUntil {
                    at: now + wait,
                    announced: false,
                }
            }
            // Nothing known about the refill: one request at a time finds out.
            _ if self.in_flight == 0 => Decision::Go,
            _ => Decision::WaitForNews,
        }
    }

    /// The decision for the holder of `ticket` (`None`: not queued yet). Queues the caller when
    /// it has to wait, takes a token when it may go.
    fn try_take(&mut self, now: Instant, ticket: &mut Option<u64>) -> Decision {
        self.refill(now);
        self.last_used = now;
        let at_head = match *ticket {
            None => self.queue.is_empty(),
            Some(mine) => self.queue.front() == Some(&mine),
        };
        let decision = if at_head {
            self.admit(now)
        } else {
            Decision::WaitForNews
        };
        match decision {
            Decision::Go => self.take(ticket),
            _ if ticket.is_none() => {
                let mine = self.next_ticket;
                self.next_ticket += 1;
                self.queue.push_back(mine);
                *ticket = Some(mine);
            }
            _ => {}
        }
        decision
    }

    /// Sends now whatever the model says (the model's wait would pass the caller's deadline).
    fn take(&mut self, ticket: &mut Option<u64>) {
        if let Some(mine) = ticket.take() {
            self.queue.retain(|queued| *queued != mine);
        }
        self.sent += 1;
        self.last_send = SendMark {
            seq: self.sent,
            in_flight_before: self.in_flight,
        };
        self.in_flight += 1;
        if let Some(level) = self.level.as_mut() {
            *level -= 1.0;
        }
    }

    fn leave(&mut self, ticket: u64) {
        self.queue.retain(|queued| *queued != ticket);
    }

    /// A request ended without an answer (transport failure, cancellation).
    fn abandon(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// The answer to one request sent under this bucket.
    fn observe(
        &mut self,
        now: Instant,
        status: u16,
        remaining: Option<f64>,
        retry_after: Option<Duration>,
        mark: SendMark,
    ) {
        self.refill(now);
        self.in_flight = self.in_flight.saturating_sub(1);
        let others = f64::from(self.in_flight);
        if status == 429 {
            // The refused request took no token (its deduction is undone), but the server had
            // less than one; the requests still in flight will take whatever it gains meanwhile.
            self.level = Some(self.level.map_or(0.0, |level| level + 1.0).min(-others));
            if let Some(wait) = retry_after {
                let until = now + wait;
                self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
                if !wait.is_zero() {
                    // By then the server expects a token to be there.
                    self.retry_rate = Some(1.0 / wait.as_secs_f64());
                }
            }
            return;
        }
        let Some(remaining) = remaining else {
            if !self.reports_remaining && (200..300).contains(&status) {
                // A service without counters served us again: stop pacing until the next 429.
                self.level = None;
            }
            return;
        };
        self.reports_remaining = true;
        self.served += 1;
        let was_full = self.max_reported.is_none_or(|max| remaining >= max);
        self.max_reported = Some(
            self.max_reported
                .map_or(remaining, |max| max.max(remaining)),
        );
        // Answers overtake each other: this report may be older than others already seen. It
        // cannot reflect the requests sent after this one, nor (perhaps) those in flight when it
        // was sent; counting them all as taken keeps the model at or below the server.
        let unreflected = self.sent.saturating_sub(mark.seq) + u64::from(mark.in_flight_before);
        self.level = Some(remaining - unreflected as f64);
        if unreflected > 0 {
            // Only a report that reflects every request sent so far is ordered against the
            // previous one, as a rate measurement needs.
            return;
        }
        let this = Anchor {
            at: now,
            remaining,
            served: self.served,
        };
        match self.anchor {
            // A full bucket stops refilling: the rate is measured from the last time it was full.
            Some(_) if was_full => self.anchor = Some(this),
            None => self.anchor = Some(this),
            Some(anchor) => {
                let span = now.saturating_duration_since(anchor.at);
                if span >= MIN_RATE_WINDOW {
                    // Each report rounds the level down to whole tokens: subtract one token so
                    // the estimate never exceeds the true rate.
                    let gained =
                        remaining - anchor.remaining + (self.served - anchor.served) as f64 - 1.0;
                    let rate = RATE_SAFETY * gained / span.as_secs_f64();
                    if rate > 0.0 {
                        self.measured_rate = Some(rate);
                    }
                }
            }
        }
    }

    fn idle(&self) -> bool {
        self.in_flight == 0 && self.queue.is_empty()
    }
}

/// The process's model of every quota it has seen (see the module docs). Shared by all clones
/// of an `HttpClient`.
pub(crate) struct Pacer {
    buckets: Mutex<HashMap<QuotaKey, Bucket>>,
    principal_hasher: RandomState,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("buckets", &self.lock().len())
            .finish()
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pacer {
    pub(crate) fn new() -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            principal_hasher: RandomState::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<QuotaKey, Bucket>> {
        // The model is advisory: a panic elsewhere must not stop every request.
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The principal of an `Authorization` header: a keyed hash of its length and its last 64
    /// bytes. A token ends in its signature (a JWT) or is random throughout (an API token), so
    /// its end tells tokens apart; hashing all of an Entra token (1–2 KB) cost more than the
    /// rest of the key.
    fn principal_of(&self, authorization: &[u8]) -> u64 {
        const TAIL: usize = 64;
        let tail = &authorization[authorization.len().saturating_sub(TAIL)..];
        self.principal_hasher.hash_one((authorization.len(), tail))
    }

    /// The bucket `request` draws on, by the rules of the service that is asked.
    pub(crate) fn key_for(
        &self,
        request: &reqwest::Request,
        rules: Option<&QuotaRules>,
    ) -> QuotaKey {
        let url = request.url();
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let principal = request
            .headers()
            .get(AUTHORIZATION)
            .map_or(0, |value| self.principal_of(value.as_bytes()));
        let (scope, kind) = rules
            .and_then(|rules| (rules.bucket)(request.method(), url.path()))
            .unwrap_or((String::new(), QuotaKind::Any));
        QuotaKey {
            host,
            principal,
            scope,
            kind,
        }
    }

    /// Waits until the model lets a request on `key` go, then counts it as sent.
    ///
    /// Fails with [`CloudError::Cancelled`] on cancellation, and with
    /// [`CloudError::DeadlineExceeded`] when a server-announced gate (or the queue ahead) would
    /// hold the request past the deadline.
    pub(crate) async fn acquire(
        &self,
        key: QuotaKey,
        ctx: &CallContext,
        what: &str,
    ) -> Result<Permit<'_>, CloudError> {
        let notify = {
            let mut buckets = self.lock();
            if buckets.len() > FORGET_ABOVE {
                let now = Instant::now();
                buckets.retain(|_, bucket| {
                    !bucket.idle() || now.saturating_duration_since(bucket.last_used) < IDLE_FORGET
                });
            }
            buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::new(Instant::now()))
                .notify
                .clone()
        };
        let mut ticket = Ticket {
            pacer: self,
            key: &key,
            id: None,
        };
        let mark = loop {
            // Registered before deciding, so no change between the decision and the wait is
            // missed.
            let news = notify.notified();
            tokio::pin!(news);
            news.as_mut().enable();
            let (decision, mark) = self.with_bucket(&key, |bucket| {
                let decision = bucket.try_take(Instant::now(), &mut ticket.id);
                if decision == Decision::Go {
                    // The next in line re-evaluates.
                    bucket.notify.notify_waiters();
                }
                (decision, bucket.last_send)
            });
            let until = match decision {
                Decision::Go => break mark,
                Decision::WaitForNews => ctx.deadline(),
                Decision::WaitUntil { at, announced } if at > ctx.deadline() => {
                    if announced {
                        return Err(CloudError::DeadlineExceeded {
                            what: what.to_owned(),
                            last_observed: Some(
                                "the service throttled requests (429) past the deadline".into(),
                            ),
                        });
                    }
                    break self.with_bucket(&key, |bucket| {
                        bucket.take(&mut ticket.id);
                        bucket.notify.notify_waiters();
                        bucket.last_send
                    });
                }
                Decision::WaitUntil { at, .. } => at,
            };
            if let Decision::WaitUntil { announced, .. } = decision {
                tracing::trace!(
                    what,
                    announced,
                    wait_ms = until.saturating_duration_since(Instant::now()).as_millis() as u64,
                    "pacing on the service's throttling quota"
                );
            }
            tokio::select! {
                biased;
                () = ctx.cancel_token().cancelled() => {
                    return Err(CloudError::Cancelled { what: what.to_owned() });
                }
                () = &mut news => {}
                () = tokio::time::sleep_until(until) => {
                    if matches!(decision, Decision::WaitForNews) {
                        return Err(CloudError::DeadlineExceeded {
                            what: what.to_owned(),
                            last_observed: Some(
                                "waiting behind other requests for the service's throttling quota"
                                    .into(),
                            ),
                        });
                    }
                }
            }
        };
        drop(ticket);
        Ok(Permit {
            pacer: self,
            key,
            mark,
            answered: false,
        })
    }

    fn with_bucket<T>(&self, key: &QuotaKey, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut buckets = self.lock();
        let bucket = buckets
            .entry(key.clone())
            .or_insert_with(|| Bucket::new(Instant::now()));
        f(bucket)
    }
}

/// A place in a bucket's queue; leaving it (done, failed or dropped) lets the next one go.
struct Ticket<'a> {
    pacer: &'a Pacer,
    key: &'a QuotaKey,
    id: Option<u64>,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.pacer.with_bucket(self.key, |bucket| {
                bucket.leave(id);
                bucket.notify.notify_waiters();
            });
        }
    }
}

/// One request counted as sent; report its answer with [`Permit::answered`]. Dropped without an
/// answer (transport failure, cancellation), it is simply no longer in flight.
pub(crate) struct Permit<'a> {
    pacer: &'a Pacer,
    key: QuotaKey,
    mark: SendMark,
    answered: bool,
}

impl Permit<'_> {
    /// Feeds the answer into the model: the remaining count, or a 429 and its `Retry-After`.
    pub(crate) fn answered(
        mut self,
        status: u16,
        headers: &HeaderMap,
        retry_after: Option<Duration>,
        rules: Option<&QuotaRules>,
    ) {
        self.answered = true;
        let remaining = match (rules, self.key.kind) {
            (Some(rules), kind) if kind != QuotaKind::Any => (rules.remaining)(headers, kind),
            _ => None,
        };
        self.pacer.with_bucket(&self.key, |bucket| {
            bucket.observe(Instant::now(), status, remaining, retry_after, self.mark);
            bucket.notify.notify_waiters();
        });
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.pacer.with_bucket(&self.key, |bucket| {
                bucket.abandon();
                bucket.notify.notify_waiters();
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    /// Takes a token for a caller not yet queued; panics unless it may go.
    fn go(bucket: &mut Bucket, now: Instant) -> SendMark {
        let mut ticket = None;
        assert_eq!(bucket.try_take(now, &mut ticket), Decision::Go);
        assert_eq!(ticket, None);
        bucket.last_send
    }

    #[test]
    fn an_unknown_bucket_never_holds_a_request() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        for _ in 0..50 {
            go(&mut bucket, start);
        }
        assert_eq!(bucket.in_flight, 50);
    }

    #[test]
    fn requests_wait_once_the_reported_quota_minus_those_in_flight_is_gone() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let first = go(&mut bucket, start);
        go(&mut bucket, start);
        // The first answer: 3 left, one request sent after it still out.
        bucket.observe(at(start, 10), 200, Some(3.0), None, first);
        go(&mut bucket, at(start, 10));
        go(&mut bucket, at(start, 10));
        let mut ticket = None;
        // Nothing known about the refill yet: the answers of those in flight are awaited.
        assert_eq!(
            bucket.try_take(at(start, 10), &mut ticket),
            Decision::WaitForNews
        );
        assert!(ticket.is_some(), "the waiter is queued");
        // A second caller queues behind the first, whatever the level.
        let mut second = None;
        assert_eq!(
            bucket.try_take(at(start, 10), &mut second),
            Decision::WaitForNews
        );
        assert_eq!(bucket.queue.len(), 2);
    }

    #[test]
    fn a_429_gates_every_request_until_retry_after_then_releases_at_the_refill_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let refused = go(&mut bucket, start);
        bucket.observe(
            at(start, 5),
            429,
            None,
            Some(Duration::from_millis(1500)),
            refused,
        );
        let mut ticket = None;
        assert_eq!(
            bucket.try_take(at(start, 6), &mut ticket),
            Decision::WaitUntil {
                at: at(start, 1505),
                announced: true
            }
        );
        // Right at the announced instant the model holds one token (one per Retry-After).
        assert_eq!(bucket.try_take(at(start, 1505), &mut ticket), Decision::Go);
        let mut next = None;
        match bucket.try_take(at(start, 1505), &mut next) {
            Decision::WaitUntil {
                at: when,
                announced,
            } => {
                assert!(!announced);
                assert_eq!(when, at(start, 3005));
            }
            other => panic!("expected a paced wait, got {other:?}"),
        }
    }

    #[test]
    fn a_refused_probe_takes_no_token_so_the_gate_releases_one_at_once() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let first = go(&mut bucket, start);
        bucket.observe(at(start, 1), 200, Some(0.0), None, first);
        // Empty, no rate known, nothing in flight: one probe goes and is refused.
        let probe = go(&mut bucket, at(start, 2));
        bucket.observe(at(start, 3), 429, None, Some(Duration::from_secs(1)), probe);
        assert_eq!(bucket.level, Some(0.0));
        let mut ticket = None;
        assert_eq!(
            bucket.try_take(at(start, 4), &mut ticket),
            Decision::WaitUntil {
                at: at(start, 1003),
                announced: true
            }
        );
        assert_eq!(bucket.try_take(at(start, 1003), &mut ticket), Decision::Go);
    }

    #[test]
    fn without_counters_or_a_rate_one_request_at_a_time_probes() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let refused = go(&mut bucket, start);
        go(&mut bucket, start);
        // A 429 without Retry-After: level below a token, nothing known about the refill.
        bucket.observe(at(start, 5), 429, None, None, refused);
        let mut ticket = None;
        assert_eq!(
            bucket.try_take(at(start, 6), &mut ticket),
            Decision::WaitForNews,
            "another request is still out: its answer is news"
        );
        bucket.abandon();
        assert_eq!(bucket.try_take(at(start, 7), &mut ticket), Decision::Go);
        assert!(bucket.queue.is_empty());
        let probe = bucket.last_send;
        // A Graph-like success without counters ends the pacing.
        bucket.observe(at(start, 9), 200, None, None, probe);
        assert_eq!(bucket.level, None);
        go(&mut bucket, at(start, 9));
        go(&mut bucket, at(start, 9));
    }

    #[test]
    fn the_refill_rate_is_measured_between_quiet_reports_as_a_lower_bound() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        // A bucket refilling 3/s, drained; reports with nothing else in flight.
        let first = go(&mut bucket, start);
        bucket.observe(at(start, 0), 200, Some(5.0), None, first);
        // Eight requests served over 2.5 s while 7.5 tokens came in: 5 + 7.5 − 8 = 4.5 → "4".
        for (ms, remaining) in [
            (10, 4.0),
            (20, 3.0),
            (30, 2.0),
            (40, 1.0),
            (50, 0.0),
            (1500, 3.0),
            (2000, 4.0),
            (2500, 4.0),
        ] {
            let mark = go(&mut bucket, at(start, ms));
            bucket.observe(at(start, ms), 200, Some(remaining), None, mark);
        }
        let rate = bucket.measured_rate.expect("measured");
        // Not from the 1.5 s report (too short a span); from the 2.5 s one:
        // 0.9 × (4 − 5 + 8 − 1) / 2.5 = 2.16, below the true 3/s, never above.
        assert!((rate - 2.16).abs() < 1e-9, "{rate}");
        assert!(bucket.rate().unwrap() <= 3.0);
    }

    #[test]
    fn reports_of_overlapping_requests_do_not_measure_a_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let first = go(&mut bucket, start);
        let second = go(&mut bucket, start);
        bucket.observe(at(start, 1), 200, Some(10.0), None, first);
        bucket.observe(at(start, 2000), 200, Some(11.0), None, second);
        assert!(bucket.anchor.is_none());
        assert_eq!(bucket.measured_rate, None);
    }

    #[test]
    fn an_overtaken_answer_cannot_raise_the_level_past_what_it_does_not_reflect() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let first = go(&mut bucket, start);
        bucket.observe(at(start, 1), 200, Some(2.0), None, first);
        // Two go; the server serves a (1 left) then b (0 left), but b's answer arrives first.
        let a = go(&mut bucket, at(start, 2));
        let b = go(&mut bucket, at(start, 2));
        bucket.observe(at(start, 3), 200, Some(0.0), None, b);
        bucket.observe(at(start, 4), 200, Some(1.0), None, a);
        assert!(bucket.level.unwrap() < 1.0, "{:?}", bucket.level);
        // With a refill rate known, the next request waits for a token instead of a 429.
        bucket.retry_rate = Some(1.0);
        let mut ticket = None;
        assert!(matches!(
            bucket.try_take(at(start, 4), &mut ticket),
            Decision::WaitUntil {
                announced: false,
                ..
            }
        ));
    }

    #[test]
    fn refill_never_exceeds_the_largest_bucket_seen() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        let first = go(&mut bucket, start);
        bucket.observe(start, 200, Some(19.0), None, first);
        bucket.retry_rate = Some(3.0);
        bucket.refill(at(start, 3_600_000));
        assert_eq!(bucket.level, Some(20.0));
    }

    /// A metered service for these tests: the first path segment is the scope, the method the
    /// kind, and `x-remaining` what is left.
    const TEST_RULES: QuotaRules = QuotaRules {
        bucket: |method, path| {
            let scope = path.trim_start_matches('/').split('/').next()?;
            let kind = match *method {
                Method::GET => QuotaKind::Reads,
                Method::DELETE => QuotaKind::Deletes,
                _ => QuotaKind::Writes,
            };
            (scope == "metered").then(|| (scope.to_owned(), kind))
        },
        remaining: |headers, _| headers.get("x-remaining")?.to_str().ok()?.parse().ok(),
    };

    #[test]
    fn keys_follow_the_rules_per_principal_and_one_gate_per_host_without_them() {
        let pacer = Pacer::new();
        let client = reqwest::Client::new();
        let key = |method: Method, url: &str, token: &str, rules: Option<&QuotaRules>| {
            let request = client
                .request(method, url)
                .header(AUTHORIZATION, token)
                .build()
                .unwrap();
            pacer.key_for(&request, rules)
        };
        let metered = "http://127.0.0.1:9/metered/x";
        let put = key(Method::PUT, metered, "Bearer a", Some(&TEST_RULES));
        assert_eq!(put.kind, QuotaKind::Writes);
        assert_eq!(put.scope, "metered");
        assert_eq!(put.host, "127.0.0.1:9");
        assert_ne!(
            put,
            key(Method::PUT, metered, "Bearer b", Some(&TEST_RULES))
        );
        assert_eq!(
            put,
            key(Method::PUT, metered, "Bearer a", Some(&TEST_RULES))
        );
        // Tokens of one length that differ only in their signature are different principals.
        let token = |signature: &str| format!("Bearer {}.{signature}", "h".repeat(1500));
        assert_ne!(
            key(Method::GET, metered, &token("s1"), None),
            key(Method::GET, metered, &token("s2"), None)
        );
        let unmetered_path = key(
            Method::PUT,
            "http://127.0.0.1:9/other",
            "Bearer a",
            Some(&TEST_RULES),
        );
        assert_eq!(unmetered_path.kind, QuotaKind::Any);
        let get = key(Method::GET, metered, "Bearer a", None);
        let post = key(Method::POST, metered, "Bearer a", None);
        assert_eq!(get, post, "one gate for a service without rules");
        assert_eq!(get.kind, QuotaKind::Any);
    }

    #[tokio::test]
    async fn far_from_the_limit_nothing_waits_and_answers_are_counted() {
        let pacer = Pacer::new();
        let client = reqwest::Client::new();
        let request = client.put("http://127.0.0.1:1/metered/x").build().unwrap();
        let key = pacer.key_for(&request, Some(&TEST_RULES));
        let ctx = CallContext::new(
            Duration::from_secs(5),
            tokio_util::sync::CancellationToken::new(),
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-remaining", HeaderValue::from_static("150"));
        for _ in 0..20 {
            let permit = pacer.acquire(key.clone(), &ctx, "PUT x").await.unwrap();
            permit.answered(200, &headers, None, Some(&TEST_RULES));
        }
        let dropped = pacer.acquire(key.clone(), &ctx, "PUT x").await.unwrap();
        drop(dropped);
        pacer.with_bucket(&key, |bucket| {
            assert_eq!(bucket.in_flight, 0);
            assert_eq!(bucket.served, 20);
            assert!(bucket.queue.is_empty());
        });
    }

    #[tokio::test]
    async fn a_gate_past_the_deadline_fails_at_once_and_cancellation_ends_a_wait() {
        let pacer = Pacer::new();
        let client = reqwest::Client::new();
        let request = client.put("http://127.0.0.1:1/metered/x").build().unwrap();
        let key = pacer.key_for(&request, Some(&TEST_RULES));
        let long = CallContext::new(
            Duration::from_secs(60),
            tokio_util::sync::CancellationToken::new(),
        );
        let permit = pacer.acquire(key.clone(), &long, "PUT x").await.unwrap();
        permit.answered(429, &HeaderMap::new(), Some(Duration::from_secs(30)), None);

        let short = CallContext::new(
            Duration::from_secs(1),
            tokio_util::sync::CancellationToken::new(),
        );
        let error = pacer
            .acquire(key.clone(), &short, "PUT x")
            .await
            .err()
            .unwrap();
        assert!(error.is_deadline_exceeded(), "{error}");

        let cancel = tokio_util::sync::CancellationToken::new();
        let ctx = CallContext::new(Duration::from_secs(60), cancel.clone());
        let waiter = {
            let key = key.clone();
            async move { pacer.acquire(key, &ctx, "PUT x").await.err() }
        };
        let (error, ()) = tokio::join!(waiter, async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            cancel.cancel();
        });
        assert!(error.unwrap().is_cancelled());
    }
}
