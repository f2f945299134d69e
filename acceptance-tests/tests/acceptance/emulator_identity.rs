//! The emulated token endpoint (docs/development/entra-and-graph.md, 'Client-credentials token
//! request (v2 endpoint)' and 'Workload identity federation') and managed-identity endpoint
//! ('Managed identity (Azure VM IMDS)' there), over raw HTTP.

use std::time::Duration;

use base64::Engine as _;
use rcgen::SigningKey as _;
use serde_json::{Value, json};
use vnetpeer_emulator::world::identity::Audience;
use vnetpeer_emulator::{Emulator, Knobs};

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn token_url(emulator: &Emulator, tenant: &str) -> String {
    format!(
        "{}/{tenant}/oauth2/v2.0/token",
        emulator.endpoints().authority_host
    )
}

async fn request_token(emulator: &Emulator, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(token_url(emulator, tenant))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn secret_token(
    emulator: &Emulator,
    tenant: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> (u16, Value) {
    request_token(
        emulator,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
        ],
    )
    .await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Asserts the AADSTS envelope of docs/development/entra-and-graph.md, 'Client-credentials token
/// request (v2 endpoint)'.
fn assert_aadsts(status: u16, body: &Value, expected_status: u16, error: &str, code: u64) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().expect("description");
    assert!(
        description.starts_with(&format!("AADSTS{code}:")),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
}

#[tokio::test]
async fn a_secret_buys_a_jwt_shaped_token_with_entra_claims() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (status, body) = secret_token(
        &emulator,
        &seed.customer_tenant_id,
        &seed.operator_client_id,
        seed.operator_client_secret.expose(),
        ARM_SCOPE,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], json!(3600));
    let token = body["access_token"].as_str().expect("token");
    assert_eq!(token.split('.').count(), 3);
    let claims = claims(token);
    assert_eq!(claims["tid"], seed.customer_tenant_id);
    assert_eq!(claims["oid"], seed.operator_sp_object_id);
    assert_eq!(claims["appid"], seed.operator_client_id);
    assert_eq!(claims["aud"], "https://management.azure.com/");
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", seed.customer_tenant_id)
    );
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(exp - claims["iat"].as_i64().expect("iat"), 3600);
    assert!(claims["nbf"].is_i64());
}

#[tokio::test]
async fn legacy_arm_scope_basic_auth_and_tenant_domain_are_accepted() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let response = reqwest::Client::new()
        .post(token_url(&emulator, &seed.customer_tenant_domain))
        .basic_auth(
            &seed.operator_client_id,
            Some(seed.operator_client_secret.expose()),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://management.core.windows.net//.default"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    let claims = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], "https://management.core.windows.net/");
    assert_eq!(claims["tid"], seed.customer_tenant_id);
}

#[tokio::test]
async fn each_token_error_has_its_aadsts_code_status_and_envelope() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let tenant = seed.customer_tenant_id.as_str();
    let client = seed.operator_client_id.as_str();
    let secret = seed.operator_client_secret.expose();

    let (status, body) = secret_token(
        &emulator,
        tenant,
        "0b5c6f4e-0000-4000-8000-00000000dead",
        secret,
        ARM_SCOPE,
    )
    .await;
    assert_aadsts(status, &body, 400, "unauthorized_client", 700016);

    let (status, body) = secret_token(&emulator, tenant, client, "wrong", ARM_SCOPE).await;
    assert_aadsts(status, &body, 401, "invalid_client", 7000215);

    let (status, body) = secret_token(
        &emulator,
        "0e000000-0000-4000-8000-000000000000",
        client,
        secret,
        ARM_SCOPE,
    )
    .await;
    assert_aadsts(status, &body, 400, "invalid_tenant", 90002);

    for bad_scope in [
        "https://management.azure.com/user_impersonation",
        "https://example.com/.default",
        "https://management.azure.com/.default https://graph.microsoft.com/.default",
    ] {
        let (status, body) = secret_token(&emulator, tenant, client, secret, bad_scope).await;
        assert_aadsts(status, &body, 400, "invalid_scope", 70011);
    }

    let (status, body) = request_token(
        &emulator,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("scope", ARM_SCOPE),
        ],
    )
    .await;
    assert_aadsts(status, &body, 401, "invalid_client", 7000218);

    // An expired secret.
    let expired = emulator.with_world(|world| {
        let app = world
            .identity
            .applications
            .get_mut(&seed.operator_app_object_id)
            .expect("operator app");
        let mut credential = app.password_credentials[0].clone();
        credential.key_id = "c1000000-0000-4000-8000-0000000000a2".to_owned();
        credential.secret_text =
            vnetpeer_emulator::Secret::new("old8Q~ExpiredSecret000000000000000000000");
        credential.end_date_time = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        app.password_credentials.push(credential);
        "old8Q~ExpiredSecret000000000000000000000".to_owned()
    });
    let (status, body) = secret_token(&emulator, tenant, client, &expired, ARM_SCOPE).await;
    assert_aadsts(status, &body, 401, "invalid_client", 7000222);
}

#[tokio::test]
async fn a_multi_tenant_app_gets_tokens_only_where_it_has_a_service_principal() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let (client_id, _, secret) = emulator.with_world(|world| {
        let created =
            world
                .identity
                .add_app_with_secret(&seed.customer_tenant_id, "peering-app", &[], now);
        let app = world
            .identity
            .applications
            .values_mut()
            .find(|app| app.app_id == created.0)
            .expect("app");
        app.sign_in_audience = "AzureADMultipleOrgs".to_owned();
        created
    });

    let (status, body) = secret_token(
        &emulator,
        &seed.aiven_tenant_id,
        &client_id,
        secret.expose(),
        ARM_SCOPE,
    )
    .await;
    assert_aadsts(status, &body, 401, "invalid_client", 7000229);

    // Aiven provisions the app's service principal in its tenant.
    let aiven_sp = emulator.with_world(|world| {
        world
            .identity
            .ensure_service_principal(&seed.aiven_tenant_id, &client_id, now)
    });
    let (status, body) = secret_token(
        &emulator,
        &seed.aiven_tenant_id,
        &client_id,
        secret.expose(),
        ARM_SCOPE,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["tid"], seed.aiven_tenant_id);
    assert_eq!(claims["oid"], aiven_sp);
    assert_eq!(claims["appid"], client_id);
}

#[tokio::test]
async fn a_single_tenant_app_is_unknown_in_another_tenant() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let (status, body) = secret_token(
        &emulator,
        &seed.aiven_tenant_id,
        &seed.operator_client_id,
        seed.operator_client_secret.expose(),
        ARM_SCOPE,
    )
    .await;
    assert_aadsts(status, &body, 400, "unauthorized_client", 700016);
}

#[tokio::test]
async fn a_new_secret_fails_until_the_activation_delay_has_passed() {
    // A long activation delay makes the early attempt deterministic; the clock is moved
    // instead of sleeping.
    let knobs = Knobs {
        secret_activation: Duration::from_secs(60),
        ..Knobs::test()
    };
    let emulator = Emulator::start(knobs.clone()).await;
    let seed = emulator.seed().clone();
    let graph = format!("{}/v1.0", emulator.endpoints().graph);
    let http = reqwest::Client::new();
    let operator = emulator.operator_token(Audience::Graph);

    let created: Value = http
        .post(format!("{graph}/applications"))
        .bearer_auth(&operator)
        .json(&json!({"displayName": "peering", "signInAudience": "AzureADMultipleOrgs"}))
        .send()
        .await
        .expect("create app")
        .json()
        .await
        .expect("JSON");
    let (object_id, app_id) = (
        created["id"].as_str().expect("id").to_owned(),
        created["appId"].as_str().expect("appId").to_owned(),
    );
    emulator.clock().advance(knobs.graph_replication);
    let service_principal = http
        .post(format!("{graph}/servicePrincipals"))
        .bearer_auth(&operator)
        .json(&json!({"appId": app_id}))
        .send()
        .await
        .expect("create SP");
    assert_eq!(service_principal.status(), 201);
    emulator.clock().advance(knobs.graph_replication);
    let password: Value = http
        .post(format!("{graph}/applications/{object_id}/addPassword"))
        .bearer_auth(&operator)
        .json(&json!({"passwordCredential": {"displayName": "tf"}}))
        .send()
        .await
        .expect("addPassword")
        .json()
        .await
        .expect("JSON");
    let secret = password["secretText"].as_str().expect("secretText");

    let (status, body) = secret_token(
        &emulator,
        &seed.customer_tenant_id,
        &app_id,
        secret,
        ARM_SCOPE,
    )
    .await;
    assert_aadsts(status, &body, 401, "invalid_client", 7000215);

    emulator.clock().advance(knobs.secret_activation);
    let (status, body) = secret_token(
        &emulator,
        &seed.customer_tenant_id,
        &app_id,
        secret,
        ARM_SCOPE,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn managed_identity_endpoint_requires_the_metadata_header_and_answers_strings() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let http = reqwest::Client::new();
    let query = [
        ("api-version", "2018-02-01"),
        ("resource", "https://management.azure.com/"),
    ];

    let without = http
        .get(&emulator.endpoints().msi)
        .query(&query)
        .send()
        .await
        .expect("IMDS");
    assert_eq!(without.status(), 400);
    let body: Value = without.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_request");

    let with = http
        .get(&emulator.endpoints().msi)
        .query(&query)
        .header("Metadata", "true")
        .send()
        .await
        .expect("IMDS");
    assert_eq!(with.status(), 200);
    let body: Value = with.json().await.expect("JSON");
    for field in [
        "expires_in",
        "expires_on",
        "not_before",
        "resource",
        "token_type",
    ] {
        assert!(body[field].is_string(), "{field} is not a string: {body}");
    }
    let claims = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["oid"], seed.managed_identity_object_id);
    assert_eq!(claims["tid"], seed.customer_tenant_id);
    assert_eq!(claims["aud"], "https://management.azure.com/");
}

#[tokio::test]
async fn federated_assertions_are_exchanged_only_for_a_registered_issuer_and_subject() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let issuer = "https://token.actions.githubusercontent.com";
    let subject = "repo:acme/infra:ref:refs/heads/main";
    let (client_id, sp_id, _) = emulator.with_world(|world| {
        let created = world
            .identity
            .add_app_with_secret(&seed.customer_tenant_id, "ci", &[], now);
        assert!(
            world
                .identity
                .add_federated_credential(&created.0, issuer, subject)
        );
        created
    });
    let mint = |issuer: &str, subject: &str| {
        emulator.with_world(|world| {
            world.identity.issue_external_assertion(
                issuer,
                subject,
                "api://AzureADTokenExchange",
                Duration::from_secs(600),
                now,
            )
        })
    };
    let exchange = |assertion: String| {
        let emulator = emulator.clone();
        let client_id = client_id.clone();
        let tenant = seed.customer_tenant_id.clone();
        async move {
            request_token(
                &emulator,
                &tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client_id),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &assertion),
                    ("scope", ARM_SCOPE),
                ],
            )
            .await
        }
    };

    let (status, body) = exchange(mint(issuer, subject)).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["oid"], sp_id);
    assert_eq!(claims["appidacr"], "2");

    let (status, body) = exchange(mint(issuer, "repo:acme/infra:pull_request")).await;
    assert_aadsts(status, &body, 401, "invalid_client", 70021);

    let (status, body) = exchange(mint("https://evil.example", subject)).await;
    assert_aadsts(status, &body, 401, "invalid_client", 700211);

    // A token with the right claims that the identity provider never issued.
    let genuine = mint(issuer, subject);
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".to_owned();
    let (status, body) = exchange(parts.join(".")).await;
    assert_aadsts(status, &body, 401, "invalid_client", 50013);
}

struct TestCertificate {
    der: Vec<u8>,
    key: rcgen::KeyPair,
}

fn rsa_certificate() -> TestCertificate {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let certificate = rcgen::CertificateParams::new(vec!["terraform".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    TestCertificate {
        der: certificate.der().to_vec(),
        key,
    }
}

fn signed_assertion(certificate: &TestCertificate, claims: &Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let thumbprint = vnetpeer_emulator::jwt::thumbprint_sha1(&certificate.der);
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": thumbprint});
    let signing_input = format!(
        "{}.{}",
        engine.encode(header.to_string()),
        engine.encode(claims.to_string())
    );
    let signature = certificate
        .key
        .sign(signing_input.as_bytes())
        .expect("sign");
    format!("{signing_input}.{}", engine.encode(signature))
}

#[tokio::test]
async fn certificate_assertions_are_verified_against_the_registered_certificate() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let certificate = rsa_certificate();
    let other = rsa_certificate();
    let (client_id, sp_id, _) = emulator.with_world(|world| {
        let created =
            world
                .identity
                .add_app_with_secret(&seed.customer_tenant_id, "cert-app", &[], now);
        assert!(world.identity.add_certificate(&created.0, &certificate.der));
        created
    });
    let audience = token_url(&emulator, &seed.customer_tenant_id);
    let unix_now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims_for = |aud: &str, exp: i64| {
        json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": "1",
               "nbf": unix_now, "exp": exp})
    };
    let send = |assertion: String| {
        let emulator = emulator.clone();
        let client_id = client_id.clone();
        let tenant = seed.customer_tenant_id.clone();
        async move {
            request_token(
                &emulator,
                &tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client_id),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &assertion),
                    ("scope", GRAPH_SCOPE),
                ],
            )
            .await
        }
    };

    let (status, body) = send(signed_assertion(
        &certificate,
        &claims_for(&audience, unix_now + 600),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().expect("token"))["oid"],
        sp_id
    );

    // Flip one character in the middle of the signature (the last one only carries padding
    // bits).
    let genuine = signed_assertion(&certificate, &claims_for(&audience, unix_now + 600));
    let signature_start = genuine.rfind('.').expect("three parts") + 1;
    let middle = signature_start + (genuine.len() - signature_start) / 2;
    let flipped = if &genuine[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &genuine[..middle], &genuine[middle + 1..]);
    let (status, body) = send(tampered).await;
    assert_aadsts(status, &body, 401, "invalid_client", 700027);

    let (status, body) = send(signed_assertion(
        &other,
        &claims_for(&audience, unix_now + 600),
    ))
    .await;
    assert_aadsts(status, &body, 401, "invalid_client", 700027);

    let (status, body) = send(signed_assertion(
        &certificate,
        &claims_for(
            "https://login.microsoftonline.com/other/oauth2/v2.0/token",
            unix_now + 600,
        ),
    ))
    .await;
    assert_aadsts(status, &body, 401, "invalid_client", 700016);

    let (status, body) = send(signed_assertion(
        &certificate,
        &claims_for(&audience, unix_now - 60),
    ))
    .await;
    assert_aadsts(status, &body, 401, "invalid_client", 700024);
}
