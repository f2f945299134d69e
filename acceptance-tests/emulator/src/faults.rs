//! Fault injection: throttling with `Retry-After`, server errors, added latency, dropped
//! connections, per service and per route, always / for the next N matches / every Nth match.
//!
//! Rules are checked by the shared middleware before the handler runs, in the order they were
//! added. Latency rules add up; the first other rule that fires answers the request instead of
//! the handler, except a lost answer, which lets the handler apply the request first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::log::{Service, lock};

/// One fault rule, as posted to the admin API (`POST /faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Only this service (all services when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// Only this HTTP method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only this route template, exactly as the request log shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Only concrete paths containing this text (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
    pub action: FaultAction,
    #[serde(default)]
    pub schedule: Schedule,
}

/// What a firing rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// 429 in the service's error envelope, with `Retry-After` in the given form.
    Throttle { retry_after: RetryAfter },
    /// Answer with this status (5xx burst, or a permanent failure of one call) in the service's
    /// error envelope.
    Status { status: u16 },
    /// Answer with this status and this error code in the service's error envelope (Graph's and
    /// ARM's `code`, the identity platform's `error`; Aiven's envelope has none): what a
    /// service says to a request that lost a race with another client, e.g. Graph's 409
    /// `Request_MultipleObjectsWithSameKeyValue` to a create of an object another client has
    /// just created (the test creates that object itself).
    Coded { status: u16, code: String },
    /// Delay the request, then serve it normally.
    Latency { ms: u64 },
    /// Close the connection without any response.
    Drop,
    /// Serve the request (the write takes effect), then lose the answer as a gateway would:
    /// answer `status` (502, 504) in the service's error envelope instead, or close the
    /// connection without any response when `status` is absent.
    LostAnswer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// ARM's refusal of a write while a virtual network is busy, in one of its forms.
    ArmBusy { form: BusyForm },
}

/// The forms in which ARM refuses a peering write on a busy virtual network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusyForm {
    /// 409 `AnotherOperationInProgress`.
    AnotherOperationInProgress,
    /// 400 `ReferencedResourceNotProvisioned` (the remote VNet is `Updating`).
    ReferencedResourceNotProvisioned,
    /// 429 `RetryableError` whose details carry `ReferencedResourceNotProvisioned`, with a
    /// one-second `Retry-After`.
    RetryableError,
}

/// The form of a `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum RetryAfter {
    /// Integer seconds (`Retry-After: 2`).
    Seconds { seconds: u64 },
    /// Fractional seconds (`Retry-After: 0.25`), sent by some services and proxies.
    FractionalSeconds { seconds: f64 },
    /// An HTTP-date this many seconds in the future (`Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`).
    HttpDate { seconds: u64 },
    /// No header at all.
    Omitted,
}

/// When a matching rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// Every matching request.
    #[default]
    Always,
    /// The next `n` matching requests, then never again.
    NextN { n: u64 },
    /// Matching requests number n, 2n, 3n, ...
    EveryNth { n: u64 },
}

impl FaultRule {
    /// A rule for every request of `service` that performs `action`.
    pub fn new(service: Service, action: FaultAction) -> FaultRule {
        FaultRule {
            service: Some(service),
            method: None,
            route: None,
            path_contains: None,
            action,
            schedule: Schedule::Always,
        }
    }

    /// Restricts the rule to one method.
    pub fn method(mut self, method: &str) -> FaultRule {
        self.method = Some(method.to_owned());
        self
    }

    /// Restricts the rule to one route template.
    pub fn route(mut self, route: &str) -> FaultRule {
        self.route = Some(route.to_owned());
        self
    }

    /// Restricts the rule to paths containing `text`.
    pub fn path_contains(mut self, text: &str) -> FaultRule {
        self.path_contains = Some(text.to_owned());
        self
    }

    /// Sets when the rule fires.
    pub fn schedule(mut self, schedule: Schedule) -> FaultRule {
        self.schedule = schedule;
        self
    }

    fn matches(&self, request: &RequestKey<'_>) -> bool {
        self.service
            .is_none_or(|service| service == request.service)
            && self
                .method
                .as_deref()
                .is_none_or(|method| method.eq_ignore_ascii_case(request.method))
            && self
                .route
                .as_deref()
                .is_none_or(|route| route == request.route)
            && self.path_contains.as_deref().is_none_or(|text| {
                request
                    .path
                    .to_ascii_lowercase()
                    .contains(&text.to_ascii_lowercase())
            })
    }
}

/// The request as fault rules see it.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    pub service: Service,
    pub method: &'a str,
    pub route: &'a str,
    pub path: &'a str,
}

/// What the middleware must do with one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultDecision {
    /// Sum of the delays of all firing latency rules.
    pub latency: Duration,
    /// The first firing non-latency rule: its id and action.
    pub answer: Option<(u64, FaultAction)>,
    /// Id of the first latency rule that fired, for the log, when no other rule answered.
    pub latency_rule: Option<u64>,
}

/// The active rules plus the bookkeeping needed to catch early retries after a 429.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    next_id: u64,
    rules: Vec<ActiveRule>,
    /// (service, method, path) → the earliest instant a retry of a throttled request is allowed.
    retry_not_before: HashMap<(Service, String, String), Instant>,
}

#[derive(Debug, Clone, Serialize)]
struct ActiveRule {
    id: u64,
    #[serde(flatten)]
    rule: FaultRule,
    matched: u64,
    fired: u64,
}

/// A rule as listed by [`Faults::list`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultStatus {
    pub id: u64,
    pub rule: FaultRule,
    /// Requests that matched the filters so far.
    pub matched: u64,
    /// Requests the rule acted on so far.
    pub fired: u64,
}

impl Faults {
    /// Adds a rule; returns its id.
    pub fn inject(&self, rule: FaultRule) -> u64 {
        let mut state = lock(&self.inner);
        state.next_id += 1;
        let id = state.next_id;
        state.rules.push(ActiveRule {
            id,
            rule,
            matched: 0,
            fired: 0,
        });
        id
    }

    /// Removes one rule. Returns whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut state = lock(&self.inner);
        let before = state.rules.len();
        state.rules.retain(|rule| rule.id != id);
        state.rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.inner).rules.clear();
    }

    /// The rules with their counters.
    pub fn list(&self) -> Vec<FaultStatus> {
        lock(&self.inner)
            .rules
            .iter()
            .map(|active| FaultStatus {
                id: active.id,
                rule: active.rule.clone(),
                matched: active.matched,
                fired: active.fired,
            })
            .collect()
    }

    /// Decides what happens to one request and advances the counters of the matching rules.
    pub fn decide(&self, request: &RequestKey<'_>) -> FaultDecision {
        let mut state = lock(&self.inner);
        let mut decision = FaultDecision::default();
        for active in state.rules.iter_mut() {
            if !active.rule.matches(request) {
                continue;
            }
            if matches!(active.rule.action, FaultAction::Latency { .. }) {
                // Latency rules combine; they never hide the answer of a later rule.
            } else if decision.answer.is_some() {
                continue;
            }
            active.matched += 1;
            let fires = match active.rule.schedule {
                Schedule::Always => true,
                Schedule::NextN { n } => active.fired < n,
                Schedule::EveryNth { n } => n > 0 && active.matched % n == 0,
            };
            if !fires {
                continue;
            }
            active.fired += 1;
            match &active.rule.action {
                FaultAction::Latency { ms } => {
                    decision.latency += Duration::from_millis(*ms);
                    decision.latency_rule.get_or_insert(active.id);
                }
                action => decision.answer = Some((active.id, action.clone())),
            }
        }
        decision
    }

    /// Remembers that a 429 told the client not to retry `request` before `not_before`.
    pub fn note_throttled(&self, request: &RequestKey<'_>, not_before: Instant) {
        lock(&self.inner).retry_not_before.insert(
            (
                request.service,
                request.method.to_ascii_uppercase(),
                request.path.to_owned(),
            ),
            not_before,
        );
    }

    /// Checks a request against an earlier 429 for the same method and path. Returns how much too
    /// early it came, if it did. The bookkeeping for the request is cleared either way.
    pub fn early_retry(&self, request: &RequestKey<'_>, now: Instant) -> Option<Duration> {
        let key = (
            request.service,
            request.method.to_ascii_uppercase(),
            request.path.to_owned(),
        );
        let not_before = lock(&self.inner).retry_not_before.remove(&key)?;
        not_before.checked_duration_since(now)
    }
}

impl RetryAfter {
    /// The delay the header asks for.
    pub fn delay(self) -> Duration {
        match self {
            RetryAfter::Seconds { seconds } | RetryAfter::HttpDate { seconds } => {
                Duration::from_secs(seconds)
            }
            RetryAfter::FractionalSeconds { seconds } => {
                Duration::try_from_secs_f64(seconds).unwrap_or_default()
            }
            RetryAfter::Omitted => Duration::ZERO,
        }
    }
}
