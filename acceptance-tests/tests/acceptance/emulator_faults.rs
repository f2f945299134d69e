//! Fault injection, the request log, violations and the admin API, over raw HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use vnetpeer_emulator::faults::FaultStatus;
use vnetpeer_emulator::world::identity::Audience;
use vnetpeer_emulator::{
    Emulator, FaultAction, FaultRule, Knobs, RequestRecord, RetryAfter, Schedule, Service,
    Violation, ViolationKind,
};

const TOKEN_ROUTE: &str = "/{tenant}/oauth2/v2.0/token";

async fn request_token(emulator: &Emulator) -> reqwest::Result<reqwest::Response> {
    request_token_for(emulator, "https://management.azure.com/.default").await
}

async fn request_token_for(emulator: &Emulator, scope: &str) -> reqwest::Result<reqwest::Response> {
    let seed = emulator.seed();
    reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            emulator.endpoints().authority_host,
            seed.customer_tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seed.operator_client_id.as_str()),
            ("client_secret", seed.operator_client_secret.expose()),
            ("scope", scope),
        ])
        .send()
        .await
}

async fn get_graph_app(emulator: &Emulator) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .get(format!(
            "{}/v1.0/applications/{}",
            emulator.endpoints().graph,
            emulator.seed().operator_app_object_id
        ))
        .bearer_auth(emulator.operator_token(Audience::Graph))
        .send()
        .await
}

fn throttle_once(retry_after: RetryAfter) -> FaultRule {
    FaultRule::new(Service::Login, FaultAction::Throttle { retry_after })
        .route(TOKEN_ROUTE)
        .schedule(Schedule::NextN { n: 1 })
}

fn early_retries(emulator: &Emulator) -> usize {
    emulator
        .violations()
        .iter()
        .filter(|violation| violation.kind == ViolationKind::EarlyRetry)
        .count()
}

#[tokio::test]
async fn throttling_with_retry_after_in_seconds_and_the_early_retry_violation() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator
        .faults()
        .inject(throttle_once(RetryAfter::Seconds { seconds: 1 }));

    let throttled = request_token(&emulator).await.expect("request");
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "1");
    let body: Value = throttled.json().await.expect("JSON");
    assert!(body["error_codes"].is_array(), "Entra envelope: {body}");

    // Retrying at once is what a careless client does: served, but recorded.
    let retried = request_token(&emulator).await.expect("request");
    assert_eq!(retried.status(), 200);
    assert_eq!(early_retries(&emulator), 1);
}

/// Token requests share one path: a request for another scope right after a 429 is another
/// call, not an early retry; the same call again is.
#[tokio::test]
async fn a_token_request_for_another_scope_is_not_an_early_retry() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator
        .faults()
        .inject(throttle_once(RetryAfter::Seconds { seconds: 1 }));
    let throttled = request_token(&emulator).await.expect("request");
    assert_eq!(throttled.status(), 429);

    let other = request_token_for(&emulator, "https://graph.microsoft.com/.default")
        .await
        .expect("request");
    assert_eq!(other.status(), 200);
    assert_eq!(early_retries(&emulator), 0);

    let retried = request_token(&emulator).await.expect("request");
    assert_eq!(retried.status(), 200);
    assert_eq!(early_retries(&emulator), 1);
}

#[tokio::test]
async fn a_retry_after_the_fractional_delay_is_not_a_violation() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator
        .faults()
        .inject(throttle_once(RetryAfter::FractionalSeconds {
            seconds: 0.2,
        }));

    let throttled = request_token(&emulator).await.expect("request");
    assert_eq!(throttled.status(), 429);
    let retry_after: f64 = throttled.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("fractional seconds");
    assert_eq!(retry_after, 0.2);
    tokio::time::sleep(Duration::from_secs_f64(retry_after)).await;
    let retried = request_token(&emulator).await.expect("request");
    assert_eq!(retried.status(), 200);
    assert_eq!(early_retries(&emulator), 0);
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator
        .faults()
        .inject(throttle_once(RetryAfter::HttpDate { seconds: 1 }));

    let throttled = request_token(&emulator).await.expect("request");
    assert_eq!(throttled.status(), 429);
    let header = throttled.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = time::PrimitiveDateTime::parse(&header, format)
        .expect("IMF-fixdate")
        .assume_utc();
    let wait = date - time::OffsetDateTime::now_utc();
    assert!(wait > time::Duration::ZERO, "{header} is not in the future");
    assert!(wait <= time::Duration::seconds(2), "{header} is too far");

    tokio::time::sleep(wait.try_into().expect("positive")).await;
    let retried = request_token(&emulator).await.expect("request");
    assert_eq!(retried.status(), 200);
    assert_eq!(early_retries(&emulator), 0);
}

#[tokio::test]
async fn throttling_without_retry_after_sends_no_header() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator.faults().inject(throttle_once(RetryAfter::Omitted));
    let throttled = request_token(&emulator).await.expect("request");
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn a_burst_of_server_errors_then_recovery() {
    let emulator = Emulator::start(Knobs::test()).await;
    let rule = emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Status { status: 503 })
            .schedule(Schedule::NextN { n: 3 }),
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = get_graph_app(&emulator).await.expect("request");
        statuses.push(response.status().as_u16());
        if response.status() == 503 {
            let body: Value = response.json().await.expect("JSON");
            assert!(body["error"]["code"].is_string(), "Graph envelope: {body}");
        }
    }
    assert_eq!(statuses, [503, 503, 503, 200]);
    let faulted: Vec<Option<u64>> = emulator
        .requests()
        .iter()
        .map(|record| record.fault)
        .collect();
    assert_eq!(faulted, [Some(rule), Some(rule), Some(rule), None]);
}

#[tokio::test]
async fn every_nth_request_fails() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Status { status: 500 })
            .schedule(Schedule::EveryNth { n: 2 }),
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            get_graph_app(&emulator)
                .await
                .expect("request")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 500, 200, 500]);
}

#[tokio::test]
async fn a_permanent_failure_of_one_chosen_call() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Status { status: 500 })
            .method("POST")
            .route("/v1.0/servicePrincipals"),
    );
    let http = reqwest::Client::new();
    let base = format!("{}/v1.0/servicePrincipals", emulator.endpoints().graph);
    let token = emulator.operator_token(Audience::Graph);
    for _ in 0..3 {
        let create = http
            .post(&base)
            .bearer_auth(&token)
            .json(&json!({"appId": emulator.seed().aiven_app_id}))
            .send()
            .await
            .expect("request");
        assert_eq!(create.status(), 500);
    }
    let list = http
        .get(&base)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(list.status(), 200);
}

#[tokio::test]
async fn added_latency_delays_the_answer() {
    let emulator = Emulator::start(Knobs::test()).await;
    let rule = emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Latency { ms: 200 })
            .schedule(Schedule::NextN { n: 1 }),
    );
    assert_eq!(
        get_graph_app(&emulator).await.expect("request").status(),
        200
    );
    assert_eq!(
        get_graph_app(&emulator).await.expect("request").status(),
        200
    );
    let requests = emulator.requests();
    // A lower bound only: sleeping never takes less than asked.
    assert!(requests[0].duration_ms >= 200.0, "{:?}", requests[0]);
    assert_eq!(requests[0].fault, Some(rule));
    assert_eq!(requests[1].fault, None);
}

#[tokio::test]
async fn a_dropped_connection_gives_no_response_at_all() {
    let emulator = Emulator::start(Knobs::test()).await;
    emulator.faults().inject(
        FaultRule::new(Service::Graph, FaultAction::Drop).schedule(Schedule::NextN { n: 1 }),
    );
    let error = get_graph_app(&emulator)
        .await
        .expect_err("the connection is dropped");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(
        get_graph_app(&emulator).await.expect("request").status(),
        200
    );
}

#[tokio::test]
async fn the_request_log_names_route_templates_and_credentials() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    assert_eq!(
        request_token(&emulator).await.expect("request").status(),
        200
    );
    assert_eq!(
        get_graph_app(&emulator).await.expect("request").status(),
        200
    );

    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    let token = &requests[0];
    assert_eq!(token.service, Service::Login);
    assert_eq!(token.method, "POST");
    assert_eq!(token.route, TOKEN_ROUTE);
    assert_eq!(token.status, 200);
    let credential = token.credential.as_ref().expect("credential");
    assert_eq!(
        credential.app_id.as_deref(),
        Some(seed.operator_client_id.as_str())
    );

    let graph = &requests[1];
    assert_eq!(graph.service, Service::Graph);
    assert_eq!(graph.route, "/v1.0/applications/{id}");
    assert_eq!(
        graph.path,
        format!("/v1.0/applications/{}", seed.operator_app_object_id)
    );
    let credential = graph.credential.as_ref().expect("credential");
    assert_eq!(credential.kind, "entra");
    assert_eq!(
        credential.object_id.as_deref(),
        Some(seed.operator_sp_object_id.as_str())
    );
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
}

#[tokio::test]
async fn a_secret_in_the_url_is_a_violation() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let response = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token?client_secret={}",
            emulator.endpoints().authority_host,
            seed.customer_tenant_id,
            seed.operator_client_secret.expose()
        ))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let violations = emulator.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].kind, ViolationKind::SecretInUrl);
    let reported = serde_json::to_string(&violations).expect("JSON");
    assert!(!reported.contains(seed.operator_client_secret.expose()));
}

#[tokio::test]
async fn the_admin_api_serves_the_world_the_log_and_fault_rules() {
    let emulator = Emulator::start(Knobs::test()).await;
    let admin = &emulator.endpoints().admin;
    let http = reqwest::Client::new();

    let rule = json!({"service": "graph", "action": {"type": "status", "status": 502},
                      "schedule": {"type": "next_n", "n": 1}});
    let added = http
        .post(format!("{admin}/faults"))
        .json(&rule)
        .send()
        .await
        .expect("POST /faults");
    assert_eq!(added.status(), 201);
    let listed: Vec<FaultStatus> = http
        .get(format!("{admin}/faults"))
        .send()
        .await
        .expect("GET /faults")
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        get_graph_app(&emulator).await.expect("request").status(),
        502
    );

    let requests: Vec<RequestRecord> = http
        .get(format!("{admin}/requests"))
        .send()
        .await
        .expect("GET /requests")
        .json()
        .await
        .expect("JSON");
    assert_eq!(requests.len(), 1, "admin calls are not logged");
    assert_eq!(requests[0].status, 502);

    let cleared = http
        .delete(format!("{admin}/faults"))
        .send()
        .await
        .expect("DELETE /faults");
    assert_eq!(cleared.status(), 204);
    assert!(emulator.faults().list().is_empty());

    let violations: Vec<Violation> = http
        .get(format!("{admin}/violations"))
        .send()
        .await
        .expect("GET /violations")
        .json()
        .await
        .expect("JSON");
    assert!(violations.is_empty());

    let world: Value = http
        .get(format!("{admin}/world"))
        .send()
        .await
        .expect("GET /world")
        .json()
        .await
        .expect("JSON");
    let operator = &world["identity"]["applications"][&emulator.seed().operator_app_object_id];
    assert_eq!(operator["app_id"], emulator.seed().operator_client_id);
    assert!(
        !world
            .to_string()
            .contains(emulator.seed().operator_client_secret.expose()),
        "the snapshot must not carry secrets"
    );
}
