//! No secret or token reaches the clients' trace logs, error messages or `Debug` output.
//!
//! A test binary of its own: tracing caches which callsites are enabled process-wide, and other
//! tests running on other threads (with no subscriber) would race with the capturing subscriber
//! this test installs.

// A test binary: its helpers may fail loudly (clippy exempts only `#[test]` functions).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod clients_common;

use clients_common::*;
use std::time::Duration;
use vnetpeer::aiven::{AivenClient, AivenSettings};
use vnetpeer::azure::arm::PeeringProperties;
use vnetpeer::azure::graph::{NewApplication, sign_in_audience};
use vnetpeer::azure::ids::VirtualNetworkId;
use vnetpeer::cloud::{CallContext, CancellationToken, HttpClient, SecretString};
use vnetpeer_emulator::{Emulator, Knobs};

/// Collects every tracing event and span field as text, at every level.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<String>>);

impl CapturedLogs {
    fn text(&self) -> String {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

struct AppendFields<'a>(&'a mut String);

impl tracing::field::Visit for AppendFields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for CapturedLogs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        if let Ok(mut text) = self.0.lock() {
            span.record(&mut AppendFields(&mut text));
            text.push('\n');
        }
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        if let Ok(mut text) = self.0.lock() {
            values.record(&mut AppendFields(&mut text));
            text.push('\n');
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if let Ok(mut text) = self.0.lock() {
            text.push_str(event.metadata().target());
            event.record(&mut AppendFields(&mut text));
            text.push('\n');
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn no_secret_or_token_reaches_trace_logs_or_errors() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (app_id, app_secret) = cross_tenant_app(&emulator);
    let azure = clients(&operator_settings(&emulator));
    let ctx = ctx();
    let mut secrets = vec![
        seed.operator_client_secret.expose().to_owned(),
        seed.aiven_token.expose().to_owned(),
        app_secret.expose_secret().to_owned(),
    ];
    let mut errors = Vec::new();

    // Token requests, ARM with an auxiliary token, Graph with a new secret, Aiven.
    let primary =
        azure.client_secret_token_source(&seed.customer_tenant_id, &app_id, app_secret.clone());
    let auxiliary = azure.client_secret_token_source(&seed.aiven_tenant_id, &app_id, app_secret);
    let aux_token = auxiliary.resource_manager_token(&ctx).await.unwrap();
    secrets.push(aux_token.expose_secret().to_owned());
    secrets.push(
        primary
            .resource_manager_token(&ctx)
            .await
            .unwrap()
            .expose_secret()
            .to_owned(),
    );
    let id = VirtualNetworkId::parse(&seed.customer_vnet_id)
        .unwrap()
        .peering("logged")
        .unwrap();
    azure
        .arm()
        .unwrap()
        .with_token_source(primary)
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
        .unwrap();
    let graph = azure.graph().unwrap();
    let app = graph
        .create_application(
            &ctx,
            &NewApplication {
                display_name: "logged".into(),
                sign_in_audience: sign_in_audience::AZURE_AD_MULTIPLE_ORGS.into(),
                owners: vec![],
                requested_access_token_version: None,
            },
        )
        .await
        .unwrap();
    let password = graph
        .add_password(
            &ctx,
            &app.id,
            None,
            time::OffsetDateTime::now_utc() + time::Duration::days(30),
            &[],
        )
        .await
        .unwrap();
    secrets.push(password.secret_text.expose_secret().to_owned());
    errors.push(format!("{password:?}"));
    // Failures carry the service's answer, never the credential.
    errors.push(
        azure
            .acquire_token_with_secret(
                &CallContext::new(Duration::from_millis(300), CancellationToken::new()),
                &seed.customer_tenant_id,
                &seed.operator_client_id,
                &SecretString::new("wrong-secret-value-123"),
                &azure.endpoints().resource_manager_scope,
            )
            .await
            .unwrap_err()
            .to_string(),
    );
    secrets.push("wrong-secret-value-123".to_owned());
    let aiven = AivenClient::new(
        HttpClient::new().unwrap(),
        &AivenSettings {
            api_token: SecretString::new(seed.aiven_token.expose()),
            api_url: emulator.endpoints().aiven.clone(),
        },
    )
    .unwrap();
    errors.push(format!("{aiven:?}"));
    aiven
        .list_project_vpcs(&ctx, &seed.aiven_project)
        .await
        .unwrap();
    errors.push(format!(
        "{:?} {:?}",
        azure.token_source(),
        settings_debug(&emulator)
    ));

    let logged = logs.text();
    assert!(
        logged.contains("cloud request"),
        "the requests were logged: {logged}"
    );
    for secret in &secrets {
        assert!(secret.len() >= 8);
        assert!(
            !logged.contains(secret.as_str()),
            "a secret reached the logs"
        );
        for error in &errors {
            assert!(!error.contains(secret.as_str()), "a secret reached {error}");
        }
    }
}

fn settings_debug(emulator: &Emulator) -> String {
    format!("{:?}", operator_settings(emulator))
}
