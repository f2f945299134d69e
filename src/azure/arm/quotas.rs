//! How ARM meters requests, for the shared pacer: token buckets per (subscription, or the tenant
//! for paths outside a subscription; principal; reads / writes / deletes), and what is left
//! reported on every answer in `x-ms-ratelimit-remaining-*` headers.

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::cloud::{QuotaKind, QuotaRules};

/// ARM's quota rules.
pub(crate) const ARM_QUOTAS: QuotaRules = QuotaRules { bucket, remaining };

/// The subscription id (lower case) for paths under `/subscriptions/`, `tenant` for the other
/// ARM paths, and the kind by method.
fn bucket(method: &Method, path: &str) -> Option<(String, QuotaKind)> {
    let scope = if let Some(rest) = path.strip_prefix("/subscriptions/") {
        rest.split('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    } else if path.starts_with("/providers/") || path == "/subscriptions" {
        "tenant".to_owned()
    } else {
        return None;
    };
    let kind = match *method {
        Method::GET | Method::HEAD => QuotaKind::Reads,
        Method::DELETE => QuotaKind::Deletes,
        _ => QuotaKind::Writes,
    };
    Some((scope, kind))
}

/// The smallest of the `x-ms-ratelimit-remaining-{subscription,tenant}-*` counters of the
/// request's kind (the per-principal and the `-global-` ones; the smaller binds).
fn remaining(headers: &HeaderMap, kind: QuotaKind) -> Option<f64> {
    let suffix = match kind {
        QuotaKind::Reads => "-reads",
        QuotaKind::Writes => "-writes",
        QuotaKind::Deletes => "-deletes",
        QuotaKind::Any => return None,
    };
    let scan = |suffix: &str| {
        headers
            .iter()
            .filter(|(name, _)| {
                let name = name.as_str();
                (name.starts_with("x-ms-ratelimit-remaining-subscription-")
                    || name.starts_with("x-ms-ratelimit-remaining-tenant-"))
                    && name.ends_with(suffix)
            })
            .filter_map(|(_, value)| value.to_str().ok()?.trim().parse::<f64>().ok())
            .filter(|value| value.is_finite() && *value >= 0.0)
            .reduce(f64::min)
    };
    scan(suffix).or_else(|| {
        // Before its 2024 bucket model ARM counted deletes as writes.
        if kind == QuotaKind::Deletes {
            scan("-writes")
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_smallest_counter_of_the_requests_kind_binds() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ms-ratelimit-remaining-subscription-writes", "199"),
            ("x-ms-ratelimit-remaining-subscription-global-writes", "12"),
            ("x-ms-ratelimit-remaining-subscription-reads", "3"),
            (
                "x-ms-ratelimit-remaining-subscription-resource-requests",
                "1",
            ),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        assert_eq!(remaining(&headers, QuotaKind::Writes), Some(12.0));
        assert_eq!(remaining(&headers, QuotaKind::Reads), Some(3.0));
        // No deletes counter: older ARM counts deletes as writes.
        assert_eq!(remaining(&headers, QuotaKind::Deletes), Some(12.0));
        assert_eq!(remaining(&headers, QuotaKind::Any), None);
        let mut tenant = HeaderMap::new();
        tenant.insert(
            "x-ms-ratelimit-remaining-tenant-deletes",
            HeaderValue::from_static("7"),
        );
        assert_eq!(remaining(&tenant, QuotaKind::Deletes), Some(7.0));
    }

    #[test]
    fn buckets_split_by_subscription_and_kind_and_tenant_paths_share_one() {
        let path = "/subscriptions/ABC/resourceGroups/r";
        assert_eq!(
            bucket(&Method::PUT, path),
            Some(("abc".to_owned(), QuotaKind::Writes))
        );
        assert_eq!(
            bucket(&Method::DELETE, path),
            Some(("abc".to_owned(), QuotaKind::Deletes))
        );
        assert_eq!(
            bucket(&Method::GET, path),
            Some(("abc".to_owned(), QuotaKind::Reads))
        );
        assert_eq!(
            bucket(&Method::GET, "/providers/Microsoft.Authorization/x"),
            Some(("tenant".to_owned(), QuotaKind::Reads))
        );
        assert_eq!(
            bucket(&Method::GET, "/subscriptions"),
            Some(("tenant".to_owned(), QuotaKind::Reads))
        );
        assert_eq!(bucket(&Method::GET, "/v1.0/applications"), None);
    }
}
