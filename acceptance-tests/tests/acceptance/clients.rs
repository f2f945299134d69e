//! The provider's cloud clients (`vnetpeer::azure`, `vnetpeer::aiven`) against the emulator:
//! every credential type, the token cache under concurrency, long-running operations,
//! `Retry-After`, dropped connections, Graph replication, and the Aiven peering calls.
//!
//! Request counts come from the emulator's request log and are exact; times are only ever
//! asserted as lower bounds ("not earlier than the server allowed").

use std::time::Duration;

use crate::clients_common::*;
use vnetpeer::aiven::{
    AivenClient, AivenSettings, AzurePeeringRequest, PeerVnet, PeeringState, VpcAddress,
};
use vnetpeer::azure::aadsts;
use vnetpeer::azure::arm::{PeeringProperties, PeeringState as AzurePeeringState};
use vnetpeer::azure::graph::{DirectoryObject, NewApplication, sign_in_audience};
use vnetpeer::azure::ids::{VirtualNetworkId, VnetPeeringId};
use vnetpeer::azure::{AzureSettings, CredentialKind};
use vnetpeer::cloud::{CallContext, CancellationToken, CloudError, HttpClient, SecretString};
use vnetpeer_emulator::world::arm::NETWORK_CONTRIBUTOR_ROLE_ID;
use vnetpeer_emulator::world::identity::FEDERATION_AUDIENCE;
use vnetpeer_emulator::{
    Emulator, FaultAction, FaultRule, Knobs, RetryAfter, Schedule, Service, ViolationKind,
};

#[tokio::test]
async fn one_token_per_tenant_and_scope_across_many_concurrent_calls() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    assert_eq!(token_requests(&emulator), 0, "no token before first use");

    let arm = azure.arm().expect("ARM client");
    let graph = azure.graph().expect("Graph client");
    let subscription_id = emulator.seed().customer_subscription_id.clone();
    let operator = emulator.seed().operator_client_id.clone();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (arm, graph) = (arm.clone(), graph.clone());
        let (subscription_id, operator) = (subscription_id.clone(), operator.clone());
        tasks.push(tokio::spawn(async move {
            let ctx = ctx();
            let subscription = arm.get_subscription(&ctx, &subscription_id).await?;
            let principal = graph
                .find_service_principal_by_app_id(&ctx, &operator)
                .await?;
            Ok::<_, CloudError>((subscription.tenant_id, principal))
        }));
    }
    for task in tasks {
        let (tenant_id, principal) = task.await.expect("task").expect("calls succeed");
        assert_eq!(tenant_id, emulator.seed().customer_tenant_id);
        assert_eq!(
            principal.expect("operator SP").id,
            emulator.seed().operator_sp_object_id
        );
    }
    assert_eq!(
        token_requests(&emulator),
        2,
        "one token for ARM and one for Graph"
    );
    assert_eq!(requests(&emulator, Service::Arm, "GET").len(), 20);
    assert_eq!(requests(&emulator, Service::Graph, "GET").len(), 20);

    // Another client of the same provider shares the cache.
    azure
        .arm()
        .unwrap()
        .get_subscription(&ctx(), &subscription_id)
        .await
        .unwrap();
    assert_eq!(token_requests(&emulator), 2);
}

#[tokio::test]
async fn client_certificate_credential_obtains_a_working_token() {
    let emulator = Emulator::start(Knobs::test()).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let certificate = rcgen::CertificateParams::new(vec!["operator.test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let operator = emulator.seed().operator_client_id.clone();
    let der = certificate.der().to_vec();
    assert!(emulator.with_world(|w| w.identity.add_certificate(&operator, &der)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("operator.pem");
    std::fs::write(
        &path,
        format!("{}{}", certificate.pem(), key.serialize_pem()),
    )
    .unwrap();

    let settings = AzureSettings {
        client_id: Some(operator),
        client_certificate_path: Some(path),
        ..base_settings(&emulator)
    };
    let azure = clients(&settings);
    assert_eq!(
        azure.token_source().unwrap().kind(),
        CredentialKind::ClientCertificate
    );
    let subscription = azure
        .arm()
        .unwrap()
        .get_subscription(&ctx(), &emulator.seed().customer_subscription_id)
        .await
        .expect("the certificate's token is accepted by ARM");
    assert_eq!(subscription.tenant_id, emulator.seed().customer_tenant_id);
    assert_eq!(token_requests(&emulator), 1);
}

#[tokio::test]
async fn oidc_token_file_is_read_again_for_every_token_request() {
    let emulator = Emulator::start(Knobs::test()).await;
    let operator = emulator.seed().operator_client_id.clone();
    let issuer = "https://token.actions.example";
    let subject = "repo:acme/infra:ref:refs/heads/main";
    assert!(emulator.with_world(|w| {
        w.identity
            .add_federated_credential(&operator, issuer, subject)
    }));
    let mint = |lifetime: Duration| {
        let now = emulator.now();
        emulator.with_world(|w| {
            w.identity
                .issue_external_assertion(issuer, subject, FEDERATION_AUDIENCE, lifetime, now)
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("federated-token");
    std::fs::write(&path, mint(Duration::from_secs(60))).unwrap();

    let settings = AzureSettings {
        client_id: Some(operator),
        use_oidc: true,
        oidc_token_file_path: Some(path.clone()),
        ..base_settings(&emulator)
    };
    let azure = clients(&settings);
    let tokens = azure.token_source().unwrap();
    assert_eq!(tokens.kind(), CredentialKind::Oidc);
    let arm_token = tokens
        .resource_manager_token(&ctx())
        .await
        .expect("ARM token");
    assert_eq!(
        arm_token.claims().and_then(|c| c.object_id),
        Some(emulator.seed().operator_sp_object_id.clone())
    );

    // The runner rotates the file and the first assertion expires: the next token request must
    // present the new one.
    emulator.clock().advance(Duration::from_secs(120));
    std::fs::write(&path, mint(Duration::from_secs(600))).unwrap();
    tokens
        .graph_token(&ctx())
        .await
        .expect("Graph token with the rotated assertion");
    assert_eq!(token_requests(&emulator), 2);
}

/// Requests to `path` so far.
fn requests_to(emulator: &Emulator, path: &str) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|record| record.path == path)
        .count()
}

/// The IMDS token path.
const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

/// A managed identity through the emulator's IMDS endpoint.
fn imds_settings(emulator: &Emulator) -> AzureSettings {
    AzureSettings {
        use_msi: true,
        msi_endpoint: Some(emulator.endpoints().msi.clone()),
        ..base_settings(emulator)
    }
}

/// The next `n` requests to `path` are answered `status`.
fn fail_next(emulator: &Emulator, path: &str, status: u16, n: u64) {
    emulator.faults().inject(
        FaultRule::new(Service::Login, FaultAction::Status { status })
            .path_contains(path)
            .schedule(Schedule::NextN { n }),
    );
}

/// IMDS answers 404 and 410 while it updates and 429 when throttled, besides 5xx: each is
/// retried, with one request per answer (docs/development/credentials.md, 'Managed identity').
#[tokio::test]
async fn instance_metadata_service_is_retried_on_404_410_429_and_5xx() {
    let emulator = Emulator::start(Knobs::test()).await;
    let tokens = clients(&imds_settings(&emulator)).token_source().unwrap();
    let path = IMDS_TOKEN_PATH;
    for status in [410, 404, 429, 503] {
        fail_next(&emulator, path, status, 1);
    }
    let token = tokens
        .resource_manager_token(&ctx())
        .await
        .expect("a token once IMDS answers");
    assert_eq!(
        token.claims().and_then(|c| c.object_id),
        Some(emulator.seed().managed_identity_object_id.clone())
    );
    assert_eq!(
        requests_to(&emulator, path),
        5,
        "four refusals, then the token"
    );
}

/// An IMDS update that outlasts the HTTP layer's eight attempts (410 nine times) is waited out:
/// IMDS gives 70 s as the longest update.
#[tokio::test]
async fn instance_metadata_service_update_is_waited_out_past_the_shared_retries() {
    let emulator = Emulator::start(Knobs::test()).await;
    let tokens = clients(&imds_settings(&emulator)).token_source().unwrap();
    let path = IMDS_TOKEN_PATH;
    fail_next(&emulator, path, 410, 9);
    let patient = CallContext::new(Duration::from_secs(90), CancellationToken::new());
    tokens
        .resource_manager_token(&patient)
        .await
        .expect("a token once the update is over");
    assert_eq!(
        requests_to(&emulator, path),
        10,
        "nine 410s, then the token"
    );
}

/// The App Service endpoint is retried on 429 and 5xx; a 404 there is an answer, not an update
/// in progress (only IMDS is retried on it).
#[tokio::test]
async fn app_service_endpoint_is_retried_on_429_and_5xx_only() {
    let emulator = Emulator::start(Knobs::test()).await;
    let (endpoint, header) = vnetpeer_emulator::identity_hosts::app_service_host(&emulator);
    let settings = AzureSettings {
        use_msi: true,
        host: vnetpeer::azure::ManagedIdentityEnvironment {
            identity_endpoint: Some(endpoint),
            identity_header: Some(SecretString::new(header)),
            ..Default::default()
        },
        ..base_settings(&emulator)
    };
    let path = vnetpeer_emulator::identity_hosts::APP_SERVICE_PATH;
    let tokens = clients(&settings).token_source().unwrap();
    fail_next(&emulator, path, 429, 1);
    fail_next(&emulator, path, 500, 1);
    tokens
        .resource_manager_token(&ctx())
        .await
        .expect("a token once the endpoint answers");
    assert_eq!(
        requests_to(&emulator, path),
        3,
        "two refusals, then the token"
    );

    fail_next(&emulator, path, 404, 1);
    let error = tokens
        .graph_token(&ctx())
        .await
        .expect_err("a 404 is not retried");
    assert!(error.to_string().contains("404"), "{error}");
    assert_eq!(requests_to(&emulator, path), 4, "one request for the 404");
}

#[tokio::test]
async fn managed_identity_endpoint_obtains_a_token() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&imds_settings(&emulator));
    let tokens = azure.token_source().unwrap();
    assert_eq!(tokens.kind(), CredentialKind::ManagedIdentity);
    let token = tokens
        .resource_manager_token(&ctx())
        .await
        .expect("MSI token");
    assert_eq!(
        token.claims().and_then(|c| c.object_id),
        Some(emulator.seed().managed_identity_object_id.clone())
    );
    // Cached: a second call makes no request.
    tokens.resource_manager_token(&ctx()).await.unwrap();
    assert_eq!(token_requests(&emulator), 1);
}

#[tokio::test]
async fn no_credential_is_reported_when_first_needed_with_what_was_tried() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&base_settings(&emulator));
    let error = azure.arm().expect_err("no credential configured");
    let text = error.to_string();
    for expected in [
        "client_secret",
        "client_certificate_path",
        "use_oidc",
        "use_msi",
        "use_cli",
    ] {
        assert!(text.contains(expected), "{text}");
    }
    assert_eq!(emulator.requests().len(), 0, "nothing was sent");
}

#[tokio::test]
async fn cross_tenant_peering_follows_the_long_running_operations_with_an_auxiliary_token() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (app_id, secret) = cross_tenant_app(&emulator);
    let azure = clients(&operator_settings(&emulator));

    // The step-1 app in both tenants: primary in the customer tenant, auxiliary in Aiven's.
    let primary =
        azure.client_secret_token_source(&seed.customer_tenant_id, &app_id, secret.clone());
    let auxiliary = azure.client_secret_token_source(&seed.aiven_tenant_id, &app_id, secret);
    let ctx = ctx();
    let auxiliary_token = auxiliary
        .resource_manager_token(&ctx)
        .await
        .expect("aux token");
    let arm = azure.arm().unwrap().with_token_source(primary);

    let id = VirtualNetworkId::parse(&seed.customer_vnet_id)
        .unwrap()
        .peering("to-aiven")
        .unwrap();
    let properties = PeeringProperties {
        remote_virtual_network_id: seed.aiven_vnet_id.clone(),
        allow_virtual_network_access: true,
        allow_forwarded_traffic: false,
        allow_gateway_transit: false,
        use_remote_gateways: false,
    };
    let peering = arm
        .put_vnet_peering(&ctx, &id, &properties, &[auxiliary_token])
        .await
        .expect("peering created");
    assert_eq!(peering.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(peering.peering_state, Some(AzurePeeringState::Initiated));
    assert!(
        peering
            .remote_virtual_network_id
            .as_deref()
            .is_some_and(|remote| remote.eq_ignore_ascii_case(&seed.aiven_vnet_id))
    );

    // PUT once, the status URL until Succeeded, then one GET of the peering.
    let arm_requests: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.service == Service::Arm)
        .collect();
    assert_eq!(arm_requests[0].method, "PUT");
    let (polls, reads): (Vec<_>, Vec<_>) = arm_requests[1..]
        .iter()
        .partition(|r| r.path.contains("/operations/"));
    assert!(
        !polls.is_empty(),
        "the operation was polled: {arm_requests:?}"
    );
    assert_eq!(
        reads.len(),
        1,
        "one read after the operation: {arm_requests:?}"
    );
    assert_eq!(violations(&emulator, ViolationKind::EarlyPoll), 0);

    let read = arm
        .get_vnet_peering(&ctx, &id)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(read.name, "to-aiven");

    let before_delete = emulator.requests().len();
    arm.delete_vnet_peering(&ctx, &id).await.expect("deleted");
    let delete_requests = &emulator.requests()[before_delete..];
    assert_eq!(delete_requests[0].method, "DELETE");
    assert!(delete_requests.len() >= 2, "the Location was polled");
    assert!(arm.get_vnet_peering(&ctx, &id).await.unwrap().is_none());
    // Deleting again is a no-op.
    arm.delete_vnet_peering(&ctx, &id).await.unwrap();
    assert_eq!(violations(&emulator, ViolationKind::EarlyPoll), 0);
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
}

#[tokio::test]
async fn peering_without_the_auxiliary_token_is_linked_authorization_failed() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (app_id, secret) = cross_tenant_app(&emulator);
    let azure = clients(&operator_settings(&emulator));
    let arm = azure
        .arm()
        .unwrap()
        .with_token_source(azure.client_secret_token_source(
            &seed.customer_tenant_id,
            &app_id,
            secret,
        ));
    let id = VnetPeeringId::parse(&format!(
        "{}/virtualNetworkPeerings/no-aux",
        seed.customer_vnet_id
    ))
    .unwrap();
    let properties = PeeringProperties {
        remote_virtual_network_id: seed.aiven_vnet_id.clone(),
        allow_virtual_network_access: true,
        allow_forwarded_traffic: false,
        allow_gateway_transit: false,
        use_remote_gateways: false,
    };
    let error = arm
        .put_vnet_peering(&ctx(), &id, &properties, &[])
        .await
        .expect_err("needs the auxiliary token");
    assert_eq!(error.status(), Some(403));
    assert!(
        error.has_code(vnetpeer::azure::arm::codes::LINKED_AUTHORIZATION_FAILED),
        "{error}"
    );
}

#[tokio::test]
async fn throttled_requests_wait_at_least_the_fractional_retry_after() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let arm = azure.arm().unwrap();
    let subscription_id = emulator.seed().customer_subscription_id.clone();
    // Warm the token so the only requests are the throttled GET and its retry.
    arm.get_subscription(&ctx(), &subscription_id)
        .await
        .unwrap();
    let before = emulator.requests().len();
    emulator.faults().inject(
        FaultRule::new(
            Service::Arm,
            FaultAction::Throttle {
                retry_after: RetryAfter::FractionalSeconds { seconds: 0.35 },
            },
        )
        .method("GET")
        .schedule(Schedule::NextN { n: 1 }),
    );
    arm.get_subscription(&ctx(), &subscription_id)
        .await
        .expect("retried after the 429");
    let records = &emulator.requests()[before..];
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].status, 429);
    assert_eq!(records[1].status, 200);
    assert!(
        records[1].at_ms - records[0].at_ms >= 350.0,
        "retried {} ms after the 429",
        records[1].at_ms - records[0].at_ms
    );
    assert_eq!(violations(&emulator, ViolationKind::EarlyRetry), 0);
}

/// Sustained throttling: a 429 that says when to come back is retried until the deadline, not
/// given up after the attempt limit that bounds retries of 5xx and dropped connections.
#[tokio::test]
async fn sustained_throttling_with_retry_after_is_retried_past_the_attempt_limit() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let arm = azure.arm().unwrap();
    let subscription_id = emulator.seed().customer_subscription_id.clone();
    arm.get_subscription(&ctx(), &subscription_id)
        .await
        .unwrap();
    let before = emulator.requests().len();
    let throttled = 12;
    emulator.faults().inject(
        FaultRule::new(
            Service::Arm,
            FaultAction::Throttle {
                retry_after: RetryAfter::FractionalSeconds { seconds: 0.02 },
            },
        )
        .method("GET")
        .schedule(Schedule::NextN { n: throttled }),
    );
    arm.get_subscription(&ctx(), &subscription_id)
        .await
        .expect("retried until the throttling ended");
    let records = &emulator.requests()[before..];
    assert_eq!(records.len() as u64, throttled + 1, "{records:?}");
    assert!(
        records[..throttled as usize]
            .iter()
            .all(|r| r.status == 429)
    );
    assert_eq!(records[throttled as usize].status, 200);
    assert_eq!(violations(&emulator, ViolationKind::EarlyRetry), 0);
}

#[tokio::test]
async fn throttled_requests_honour_an_http_date_retry_after() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let graph = azure.graph().unwrap();
    let operator = emulator.seed().operator_client_id.clone();
    emulator.faults().inject(
        FaultRule::new(
            Service::Graph,
            FaultAction::Throttle {
                retry_after: RetryAfter::HttpDate { seconds: 1 },
            },
        )
        .schedule(Schedule::NextN { n: 1 }),
    );
    let principal = graph
        .find_service_principal_by_app_id(&ctx(), &operator)
        .await
        .expect("retried after the 429");
    assert!(principal.is_some());
    let graph_requests = requests(&emulator, Service::Graph, "GET");
    assert_eq!(graph_requests.len(), 2);
    assert_eq!(violations(&emulator, ViolationKind::EarlyRetry), 0);
}

#[tokio::test]
async fn a_throttle_longer_than_the_deadline_fails_at_once_with_the_services_answer() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let arm = azure.arm().unwrap();
    let subscription_id = emulator.seed().customer_subscription_id.clone();
    arm.get_subscription(&ctx(), &subscription_id)
        .await
        .unwrap();
    emulator.faults().inject(
        FaultRule::new(
            Service::Arm,
            FaultAction::Throttle {
                retry_after: RetryAfter::Seconds { seconds: 600 },
            },
        )
        .method("GET"),
    );
    let short = CallContext::new(Duration::from_secs(5), CancellationToken::new());
    let started = std::time::Instant::now();
    let error = arm
        .get_subscription(&short, &subscription_id)
        .await
        .expect_err("cannot wait 10 minutes within 5 seconds");
    assert_eq!(error.status(), Some(429), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn cancellation_ends_a_retry_wait_promptly() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let arm = azure.arm().unwrap();
    let subscription_id = emulator.seed().customer_subscription_id.clone();
    arm.get_subscription(&ctx(), &subscription_id)
        .await
        .unwrap();
    emulator.faults().inject(
        FaultRule::new(
            Service::Arm,
            FaultAction::Throttle {
                retry_after: RetryAfter::Seconds { seconds: 20 },
            },
        )
        .method("GET"),
    );
    let cancel = CancellationToken::new();
    let ctx = CallContext::new(Duration::from_secs(60), cancel.clone());
    let call = tokio::spawn(async move { arm.get_subscription(&ctx, &subscription_id).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("returns promptly after cancellation")
        .unwrap();
    assert!(result.expect_err("cancelled").is_cancelled());
}

#[tokio::test]
async fn dropped_connections_are_retried_for_reads_but_not_for_unsafe_creates() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let graph = azure.graph().unwrap();
    let operator = emulator.seed().operator_client_id.clone();
    graph
        .find_service_principal_by_app_id(&ctx(), &operator)
        .await
        .unwrap();

    let drop_once = |method: &str| {
        emulator.faults().inject(
            FaultRule::new(Service::Graph, FaultAction::Drop)
                .method(method)
                .schedule(Schedule::NextN { n: 1 }),
        )
    };
    drop_once("GET");
    graph
        .find_service_principal_by_app_id(&ctx(), &operator)
        .await
        .expect("a read is retried after a dropped connection");

    drop_once("POST");
    let before = requests(&emulator, Service::Graph, "POST").len();
    let error = graph
        .create_application(
            &ctx(),
            &NewApplication {
                display_name: "dropped".into(),
                sign_in_audience: sign_in_audience::AZURE_AD_MULTIPLE_ORGS.into(),
                owners: vec![],
                requested_access_token_version: None,
            },
        )
        .await
        .expect_err("an app create is not replayed when its outcome is unknown");
    assert!(matches!(error, CloudError::Transport { .. }), "{error:?}");
    assert_eq!(
        requests(&emulator, Service::Graph, "POST").len(),
        before + 1
    );
}

#[tokio::test]
async fn graph_calls_wait_out_replication_and_secrets_become_usable() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let azure = clients(&operator_settings(&emulator));
    let graph = azure.graph().unwrap();
    let ctx = ctx();

    let app = graph
        .create_application(
            &ctx,
            &NewApplication {
                display_name: "vnetpeer-test".into(),
                sign_in_audience: sign_in_audience::AZURE_AD_MULTIPLE_ORGS.into(),
                owners: vec![seed.operator_sp_object_id.clone()],
                requested_access_token_version: None,
            },
        )
        .await
        .expect("app created");
    // Both calls land inside the replication window: the 404 / NoBackingApplicationObject
    // answers are waited out.
    let secret = graph
        .add_password(
            &ctx,
            &app.id,
            Some("vnetpeer"),
            time::OffsetDateTime::now_utc() + time::Duration::days(30),
            &[],
        )
        .await
        .expect("secret added");
    assert!(!format!("{secret:?}").contains(secret.secret_text.expose_secret()));
    let principal = graph
        .create_service_principal(&ctx, &app.app_id)
        .await
        .expect("service principal created");
    assert_eq!(principal.app_id, app.app_id);

    let duplicate = graph
        .create_service_principal(&ctx, &app.app_id)
        .await
        .expect_err("a second SP for the same app");
    assert!(duplicate.is_already_exists(), "{duplicate}");
    // Adopting it waits until the directory lists it (reads lag behind writes too).
    let adopted = graph
        .find_service_principal_visible(&ctx, &app.app_id)
        .await
        .expect("adoptable");
    assert_eq!(adopted.id, principal.id);
    let ensured = graph
        .ensure_service_principal(&ctx, &app.app_id)
        .await
        .unwrap();
    assert!(!ensured.created);
    assert_eq!(ensured.value.id, principal.id);

    let token = azure
        .acquire_token_with_secret_retrying(
            &ctx,
            &seed.customer_tenant_id,
            &app.app_id,
            &secret.secret_text,
            &azure.endpoints().resource_manager_scope,
            &[
                aadsts::INVALID_CLIENT_SECRET,
                aadsts::MISSING_SERVICE_PRINCIPAL,
                aadsts::APPLICATION_NOT_FOUND,
            ],
        )
        .await
        .expect("the new secret works");
    assert_eq!(
        token.claims().and_then(|c| c.object_id),
        Some(principal.id.clone())
    );

    let wrong = azure
        .acquire_token_with_secret(
            &CallContext::new(Duration::from_millis(800), CancellationToken::new()),
            &seed.customer_tenant_id,
            &app.app_id,
            &SecretString::new("not-the-secret"),
            &azure.endpoints().resource_manager_scope,
        )
        .await
        .expect_err("a wrong secret never works");
    assert_eq!(wrong.aadsts_codes(), &[aadsts::INVALID_CLIENT_SECRET]);

    // Aiven's app: created once, then found.
    let aiven = graph
        .ensure_service_principal(&ctx, &seed.aiven_app_id)
        .await
        .unwrap();
    assert!(aiven.created);
    assert_eq!(
        aiven.value.app_owner_organization_id.as_deref(),
        Some(seed.aiven_tenant_id.as_str())
    );
    let again = graph
        .ensure_service_principal(&ctx, &seed.aiven_app_id)
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.value.id, aiven.value.id);

    graph
        .remove_password(&ctx, &app.id, &secret.key_id)
        .await
        .unwrap();
    graph
        .remove_password(&ctx, &app.id, &secret.key_id)
        .await
        .expect("removing a removed secret is a no-op");
    graph
        .delete_object(
            &ctx,
            DirectoryObject::ServicePrincipal,
            &principal.id,
            false,
        )
        .await
        .unwrap();
    graph
        .delete_object(&ctx, DirectoryObject::Application, &app.id, false)
        .await
        .unwrap();
    assert!(
        graph
            .get_application(&ctx, &app.id)
            .await
            .unwrap()
            .is_none()
    );
    graph
        .purge_deleted_application(&ctx, &app.id)
        .await
        .unwrap();
}

#[tokio::test]
async fn aiven_peering_is_created_matched_and_deleted_in_lower_case() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let aiven = AivenClient::new(
        HttpClient::new().unwrap(),
        &AivenSettings {
            api_token: SecretString::new(seed.aiven_token.expose()),
            api_url: emulator.endpoints().aiven.clone(),
        },
    )
    .unwrap();
    let ctx = ctx();

    let vpcs = aiven
        .list_project_vpcs(&ctx, &seed.aiven_project)
        .await
        .unwrap();
    let vpc = vpcs
        .iter()
        .find(|v| v.cloud_name == seed.aiven_cloud_name)
        .expect("the seeded VPC");
    assert_eq!(vpc.vpc_id, seed.aiven_project_vpc_id);
    let address = VpcAddress::Project {
        project: seed.aiven_project.clone(),
        vpc_id: seed.aiven_project_vpc_id.clone(),
    };

    // The seed's resource group and VNet are mixed case on purpose.
    let request = AzurePeeringRequest {
        peer_cloud_account: seed.customer_subscription_id.to_uppercase(),
        peer_resource_group: seed.customer_resource_group.clone(),
        peer_vpc: seed.customer_vnet_name.clone(),
        peer_azure_app_id: seed.operator_client_id.to_uppercase(),
        peer_azure_tenant_id: seed.customer_tenant_id.clone(),
        user_peer_network_cidrs: None,
    };
    let created = aiven
        .create_azure_peering(&ctx, &address, &request)
        .await
        .expect("created");
    assert_eq!(created.state, PeeringState::Approved);
    assert_eq!(
        created.peer_resource_group.as_deref(),
        Some(seed.customer_resource_group.to_lowercase().as_str())
    );
    assert_eq!(created.peer_vpc, seed.customer_vnet_name.to_lowercase());

    let duplicate = aiven
        .create_azure_peering(&ctx, &address, &request)
        .await
        .expect_err("the same VNet twice");
    assert!(duplicate.is_already_exists(), "{duplicate}");

    let found = aiven
        .find_azure_peering(
            &ctx,
            &address,
            PeerVnet::new(
                &seed.customer_subscription_id,
                &seed.customer_resource_group,
                &seed.customer_vnet_name,
            ),
        )
        .await
        .unwrap()
        .expect("found with mixed-case inputs");
    assert_eq!(
        found.peer_cloud_account,
        seed.customer_subscription_id.to_lowercase()
    );

    let deleted = aiven
        .delete_azure_peering(
            &ctx,
            &address,
            PeerVnet::new(
                &seed.customer_subscription_id,
                &seed.customer_resource_group,
                &seed.customer_vnet_name,
            ),
            None,
        )
        .await
        .unwrap();
    assert!(
        deleted
            .is_some_and(|p| p.state == PeeringState::Deleting || p.state == PeeringState::Deleted)
    );
    let gone = vnetpeer::cloud::poll_until(&ctx, "waiting for the Aiven peering to go", || {
        let aiven = aiven.clone();
        let seed = seed.clone();
        let address = address.clone();
        async move {
            let peering = aiven
                .find_azure_peering(
                    &CallContext::new(Duration::from_secs(5), CancellationToken::new()),
                    &address,
                    PeerVnet::new(
                        &seed.customer_subscription_id,
                        &seed.customer_resource_group,
                        &seed.customer_vnet_name,
                    ),
                )
                .await?;
            Ok(match peering {
                Some(p) if !p.state.is_gone() || p.state == PeeringState::Deleting => {
                    vnetpeer::cloud::PollStep::pending(p.state.to_string())
                }
                _ => vnetpeer::cloud::PollStep::Done(()),
            })
        }
    })
    .await;
    assert!(gone.is_ok(), "{gone:?}");

    let missing = aiven
        .get_vpc(
            &ctx,
            &VpcAddress::Project {
                project: seed.aiven_project.clone(),
                vpc_id: "00000000-0000-0000-0000-000000000000".to_owned(),
            },
        )
        .await
        .expect_err("unknown VPC");
    assert!(missing.is_not_found(), "{missing}");
}

#[tokio::test]
async fn role_definitions_and_assignments_round_trip() {
    use vnetpeer::azure::arm::{
        Permission, PrincipalType, RoleAssignmentFilter, RoleDefinitionProperties, codes,
    };
    use vnetpeer::azure::ids::{
        RoleAssignmentId, RoleDefinitionId, role_assignment_name, role_definition_guid,
    };

    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let azure = clients(&operator_settings(&emulator));
    let (arm, graph) = (azure.arm().unwrap(), azure.graph().unwrap());
    let ctx = ctx();

    let vnet = arm
        .get_virtual_network(
            &ctx,
            &VirtualNetworkId::parse(&seed.customer_vnet_id).unwrap(),
        )
        .await
        .expect("the seeded VNet");
    assert_eq!(vnet.address_prefixes, vec![seed.customer_vnet_cidr.clone()]);

    let subscription_scope = format!("/subscriptions/{}", seed.customer_subscription_id);
    let role_name = "vnetpeer aiven peering";
    let guid = role_definition_guid(&subscription_scope, role_name);
    let properties = RoleDefinitionProperties {
        role_name: role_name.into(),
        description: Some("peer/action only".into()),
        role_type: None,
        permissions: vec![Permission {
            actions: vec![PEER_ACTION.into()],
            ..Permission::default()
        }],
        assignable_scopes: vec![subscription_scope.clone()],
    };
    let definition = arm
        .put_role_definition(&ctx, &subscription_scope, guid, &properties)
        .await
        .expect("role created");
    assert_eq!(definition.name, guid.to_string());
    let definition_id = RoleDefinitionId::parse(&definition.id).unwrap();
    // The same PUT again is idempotent.
    arm.put_role_definition(&ctx, &subscription_scope, guid, &properties)
        .await
        .expect("same role, same GUID");
    let listed = arm
        .list_role_definitions_by_name(&ctx, &subscription_scope, role_name)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].properties.permissions[0].actions,
        vec![PEER_ACTION]
    );

    // Aiven's service principal gets the role on the VNet; principalType avoids PrincipalNotFound
    // for the principal created a moment ago.
    let aiven_sp = graph
        .ensure_service_principal(&ctx, &seed.aiven_app_id)
        .await
        .unwrap()
        .value;
    let name = role_assignment_name(&seed.customer_vnet_id, guid, &aiven_sp.id);
    let assignment = arm
        .put_role_assignment(
            &ctx,
            &seed.customer_vnet_id,
            name,
            &definition_id,
            &aiven_sp.id,
            PrincipalType::ServicePrincipal,
        )
        .await
        .expect("assignment created");
    assert_eq!(assignment.properties.principal_id, aiven_sp.id);
    let assignment_id = RoleAssignmentId::parse(&assignment.id).unwrap();
    assert_eq!(assignment_id.name, name);
    assert!(
        arm.get_role_assignment(&ctx, &assignment_id)
            .await
            .unwrap()
            .is_some()
    );
    let by_principal = arm
        .list_role_assignments(
            &ctx,
            &seed.customer_vnet_id,
            &RoleAssignmentFilter::PrincipalId(aiven_sp.id.clone()),
        )
        .await
        .unwrap();
    assert_eq!(by_principal.len(), 1);

    let conflict = arm
        .put_role_assignment(
            &ctx,
            &seed.customer_vnet_id,
            uuid::Uuid::new_v4(),
            &definition_id,
            &aiven_sp.id,
            PrincipalType::ServicePrincipal,
        )
        .await
        .expect_err("the same triple under another name");
    assert!(
        conflict.has_code(codes::ROLE_ASSIGNMENT_EXISTS),
        "{conflict}"
    );

    let in_use = arm
        .delete_role_definition(&ctx, &definition_id)
        .await
        .expect_err("still assigned");
    assert!(
        in_use.has_code(codes::ROLE_DEFINITION_HAS_ASSIGNMENTS),
        "{in_use}"
    );
    arm.delete_role_assignment(&ctx, &assignment_id)
        .await
        .unwrap();
    arm.delete_role_assignment(&ctx, &assignment_id)
        .await
        .expect("deleting twice is a no-op");
    assert!(
        arm.get_role_assignment(&ctx, &assignment_id)
            .await
            .unwrap()
            .is_none()
    );
    arm.delete_role_definition(&ctx, &definition_id)
        .await
        .unwrap();
    assert!(
        arm.get_role_definition(&ctx, &definition_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
}

#[tokio::test]
async fn a_connection_dropped_while_polling_an_operation_is_a_read_failure_not_a_failed_operation()
{
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (app_id, secret) = cross_tenant_app(&emulator);
    let azure = clients(&operator_settings(&emulator));
    let ctx = ctx();
    let auxiliary =
        azure.client_secret_token_source(&seed.aiven_tenant_id, &app_id, secret.clone());
    let aux_token = auxiliary.resource_manager_token(&ctx).await.unwrap();
    let arm = azure
        .arm()
        .unwrap()
        .with_token_source(azure.client_secret_token_source(
            &seed.customer_tenant_id,
            &app_id,
            secret,
        ));
    // The first status poll loses its connection, the second answers 503: both are retried.
    emulator.faults().inject(
        FaultRule::new(Service::Arm, FaultAction::Drop)
            .method("GET")
            .path_contains("/operations/")
            .schedule(Schedule::NextN { n: 1 }),
    );
    emulator.faults().inject(
        FaultRule::new(Service::Arm, FaultAction::Status { status: 503 })
            .method("GET")
            .path_contains("/operations/")
            .schedule(Schedule::NextN { n: 1 }),
    );
    let id = VirtualNetworkId::parse(&seed.customer_vnet_id)
        .unwrap()
        .peering("through-faults")
        .unwrap();
    let peering = arm
        .put_vnet_peering(
            &ctx,
            &id,
            &PeeringProperties {
                remote_virtual_network_id: seed.aiven_vnet_id.clone(),
                allow_virtual_network_access: true,
                allow_forwarded_traffic: false,
                allow_gateway_transit: false,
                use_remote_gateways: false,
            },
            &[aux_token],
        )
        .await
        .expect("the operation is followed through the faults");
    assert_eq!(peering.provisioning_state.as_deref(), Some("Succeeded"));
    let fired: u64 = emulator.faults().list().iter().map(|rule| rule.fired).sum();
    assert_eq!(fired, 2, "both faults were injected");
}

#[tokio::test]
async fn rolling_back_a_just_created_application_waits_for_it_to_replicate() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let graph = azure.graph().unwrap();
    let ctx = ctx();
    let app = graph
        .create_application(
            &ctx,
            &NewApplication {
                display_name: "rolled-back".into(),
                sign_in_audience: sign_in_audience::AZURE_AD_MULTIPLE_ORGS.into(),
                owners: vec![],
                requested_access_token_version: None,
            },
        )
        .await
        .unwrap();
    graph
        .delete_object(&ctx, DirectoryObject::Application, &app.id, true)
        .await
        .expect("deleted");
    let deletes = requests(&emulator, Service::Graph, "DELETE");
    assert_eq!(
        deletes.last().map(|r| r.status),
        Some(204),
        "the app was really deleted, not taken as gone on an early 404: {deletes:?}"
    );
    let left = emulator.with_world(|w| {
        w.identity
            .applications
            .values()
            .any(|a| a.id == app.id && a.deleted_date_time.is_none())
    });
    assert!(!left, "no live app is left behind");
}

/// The same sustained throttling on a DELETE (a role assignment on destroy): before the fix, the
/// eighth 429 in a row ended the delete and `terraform destroy` failed (BENCHMARKS.md f2).
#[tokio::test]
async fn a_delete_under_sustained_throttling_is_retried_until_it_succeeds() {
    use vnetpeer::azure::ids::RoleAssignmentId;

    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let principal = emulator.with_world(|world| {
        world.identity.add_user(
            &seed.customer_tenant_id,
            &format!("throttled-delete@{}", seed.customer_tenant_domain),
        )
    });
    let azure = clients(&operator_settings(&emulator));
    let arm = azure.arm().unwrap();
    let created = arm
        .put_role_assignment(
            &ctx(),
            &seed.customer_vnet_id,
            uuid::Uuid::new_v4(),
            &network_contributor(&seed.customer_subscription_id),
            &principal,
            vnetpeer::azure::arm::PrincipalType::User,
        )
        .await
        .expect("assignment created");
    let id = RoleAssignmentId::parse(&created.id).unwrap();
    let before = emulator.requests().len();
    let throttled = 12;
    emulator.faults().inject(
        FaultRule::new(
            Service::Arm,
            FaultAction::Throttle {
                retry_after: RetryAfter::FractionalSeconds { seconds: 0.02 },
            },
        )
        .method("DELETE")
        .schedule(Schedule::NextN { n: throttled }),
    );
    arm.delete_role_assignment(&ctx(), &id)
        .await
        .expect("retried until the throttling ended");
    let deletes: Vec<_> = emulator
        .requests_since(before)
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len() as u64, throttled + 1, "{deletes:?}");
    assert_eq!(deletes.last().map(|r| r.status), Some(200));
    assert!(
        arm.get_role_assignment(&ctx(), &id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(violations(&emulator, ViolationKind::EarlyRetry), 0);
}

fn network_contributor(subscription_id: &str) -> vnetpeer::azure::ids::RoleDefinitionId {
    vnetpeer::azure::ids::RoleDefinitionId::new(
        &format!("/subscriptions/{subscription_id}"),
        NETWORK_CONTRIBUTOR_ROLE_ID.parse().unwrap(),
    )
}

/// ARM's write and delete buckets scaled down to 5 tokens refilling 10/s, and 19 role
/// assignments created (then deleted) at once through one client after one write (or delete)
/// has shown the client the remaining count. Without pacing, every writer that finds the bucket
/// empty collects a 429 per refill (dozens here). With it, the writers wait for the tokens the
/// `x-ms-ratelimit-remaining-*` counts and the refill promise, in turn. The one 429 allowed per
/// phase: when the bucket first runs dry the client knows no refill rate yet, so a single request
/// goes to find out; its `Retry-After` then gates all of them and paces the rest.
#[tokio::test]
async fn concurrent_writes_pace_on_the_remaining_quota_instead_of_collecting_429s() {
    use vnetpeer::azure::arm::PrincipalType;
    use vnetpeer::azure::ids::RoleAssignmentId;
    use vnetpeer_emulator::world::arm::{BucketLimits, Throttling};

    const ASSIGNMENTS: usize = 20;
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let principals: Vec<String> = emulator.with_world(|world| {
        let limits = BucketLimits {
            capacity: 5.0,
            refill_per_second: 10.0,
        };
        let mut throttling = Throttling::azure(true);
        throttling.writes = limits;
        throttling.deletes = limits;
        world.arm.throttling = throttling;
        (0..ASSIGNMENTS)
            .map(|index| {
                world.identity.add_user(
                    &seed.customer_tenant_id,
                    &format!("paced-{index}@{}", seed.customer_tenant_domain),
                )
            })
            .collect()
    });
    let azure = clients(&operator_settings(&emulator));
    let arm = azure.arm().unwrap();
    let role = network_contributor(&seed.customer_subscription_id);

    let create = |principal: String| {
        let (arm, role, scope) = (arm.clone(), role.clone(), seed.customer_vnet_id.clone());
        async move {
            arm.put_role_assignment(
                &ctx(),
                &scope,
                uuid::Uuid::new_v4(),
                &role,
                &principal,
                PrincipalType::User,
            )
            .await
            .map(|assignment| RoleAssignmentId::parse(&assignment.id).unwrap())
        }
    };
    let mut ids = vec![create(principals[0].clone()).await.expect("first create")];
    let before_creates = emulator.requests().len();
    let tasks: Vec<_> = principals[1..]
        .iter()
        .map(|principal| tokio::spawn(create(principal.clone())))
        .collect();
    for task in tasks {
        ids.push(task.await.unwrap().expect("every create succeeds"));
    }
    let creates = emulator.requests_since(before_creates);

    arm.delete_role_assignment(&ctx(), &ids[0])
        .await
        .expect("first delete");
    let before_deletes = emulator.requests().len();
    let tasks: Vec<_> = ids[1..]
        .iter()
        .map(|id| {
            let (arm, id) = (arm.clone(), id.clone());
            tokio::spawn(async move { arm.delete_role_assignment(&ctx(), &id).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every delete succeeds");
    }
    let deletes = emulator.requests_since(before_deletes);

    for (phase, method, records) in [("create", "PUT", &creates), ("delete", "DELETE", &deletes)] {
        let statuses: Vec<u16> = records
            .iter()
            .filter(|r| r.method == method && r.path.contains("roleAssignments"))
            .map(|r| r.status)
            .collect();
        let served = statuses.iter().filter(|s| (200..300).contains(*s)).count();
        let throttled = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(served, ASSIGNMENTS - 1, "{phase}: {statuses:?}");
        assert!(
            throttled <= 1,
            "{phase}: {throttled} × 429 for {served} writes: {statuses:?}"
        );
    }
    assert_eq!(violations(&emulator, ViolationKind::EarlyRetry), 0);
}

/// Microsoft Graph reports no remaining counts, but a 429's `Retry-After` holds every request of
/// the same identity to that host, not only the one that was refused: the others wait for the
/// announced instant instead of each earning a 429 of their own.
#[tokio::test]
async fn a_graph_429_holds_the_other_requests_until_its_retry_after() {
    let emulator = Emulator::start(Knobs::test()).await;
    let azure = clients(&operator_settings(&emulator));
    let graph = azure.graph().unwrap();
    let operator = emulator.seed().operator_client_id.clone();
    // Warm the token so the throttled request is a Graph one.
    graph
        .find_service_principal_by_app_id(&ctx(), &operator)
        .await
        .unwrap();
    let before = emulator.requests().len();
    emulator.faults().inject(
        FaultRule::new(
            Service::Graph,
            FaultAction::Throttle {
                retry_after: RetryAfter::FractionalSeconds { seconds: 0.4 },
            },
        )
        .schedule(Schedule::NextN { n: 1 }),
    );
    let throttled = {
        let (graph, operator) = (graph.clone(), operator.clone());
        tokio::spawn(async move {
            graph
                .find_service_principal_by_app_id(&ctx(), &operator)
                .await
        })
    };
    // Once the 429 has been answered, five more requests start.
    let refused_at = loop {
        if let Some(refused) = emulator
            .requests_since(before)
            .iter()
            .find(|r| r.status == 429)
        {
            break refused.at_ms + refused.duration_ms;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let others: Vec<_> = (0..5)
        .map(|_| {
            let (graph, operator) = (graph.clone(), operator.clone());
            tokio::spawn(async move {
                graph
                    .find_service_principal_by_app_id(&ctx(), &operator)
                    .await
            })
        })
        .collect();
    throttled.await.unwrap().expect("retried after the 429");
    for other in others {
        assert!(other.await.unwrap().expect("served").is_some());
    }
    let graph_requests: Vec<_> = emulator
        .requests_since(before)
        .into_iter()
        .filter(|r| r.service == Service::Graph)
        .collect();
    assert_eq!(
        graph_requests.len(),
        7,
        "one 429, its retry and five others"
    );
    assert_eq!(graph_requests.iter().filter(|r| r.status == 429).count(), 1);
    for request in graph_requests.iter().filter(|r| r.status != 429) {
        assert!(
            request.at_ms >= refused_at + 399.0,
            "sent {} ms after the 429 that asked for 400 ms",
            request.at_ms - refused_at
        );
    }
    assert_eq!(violations(&emulator, ViolationKind::EarlyRetry), 0);
}

/// Two modules of one configuration upsert Aiven's service principal at the same moment: the
/// upsert whose create loses the race is answered 409 `Request_MultipleObjectsWithSameKeyValue`,
/// and takes the winner's service principal instead of failing the apply.
#[tokio::test]
async fn service_principal_upsert_that_loses_a_race_takes_the_winners() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let azure = clients(&operator_settings(&emulator));
    let graph = azure.graph().unwrap();
    // The other client's service principal, made between this upsert's check and its create.
    let now = emulator.now();
    let winner = emulator.with_world(|w| {
        w.identity
            .ensure_service_principal(&seed.customer_tenant_id, &seed.aiven_app_id, now)
    });
    emulator.faults().inject(
        FaultRule::new(
            Service::Graph,
            FaultAction::Coded {
                status: 409,
                code: "Request_MultipleObjectsWithSameKeyValue".to_owned(),
            },
        )
        .method("PATCH")
        .path_contains("servicePrincipals(appId=")
        .schedule(Schedule::NextN { n: 1 }),
    );

    let ensured = graph
        .ensure_service_principal(&ctx(), &seed.aiven_app_id)
        .await
        .expect("the winner's service principal");
    assert!(!ensured.created, "this upsert created nothing");
    assert_eq!(ensured.value.id, winner.to_string());
    let upserts = requests(&emulator, Service::Graph, "PATCH");
    assert_eq!(upserts.len(), 1, "no second upsert: {upserts:?}");
    assert_eq!(upserts[0].status, 409);
}
