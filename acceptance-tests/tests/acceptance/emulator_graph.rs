//! The emulated Microsoft Graph v1.0 (docs/development/entra-and-graph.md, 'Microsoft Graph v1.0'),
//! over raw HTTP.

use crate::emulator_http::send;
use std::time::Duration;

use serde_json::{Value, json};
use vnetpeer_emulator::world::identity::Audience;
use vnetpeer_emulator::{Emulator, Knobs, ViolationKind};

/// A Graph client with a bearer token.
struct Graph {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Graph {
    fn new(emulator: &Emulator, token: String) -> Graph {
        Graph {
            base: format!("{}/v1.0", emulator.endpoints().graph),
            token,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send(request).await;
        (reply.status, reply.body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// Asserts the Graph error envelope of docs/development/entra-and-graph.md, 'Error envelope'.
fn assert_graph_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
    assert!(body["error"]["innerError"]["date"].is_string(), "{body}");
}

fn detail_codes(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .filter_map(|detail| detail["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn operator(emulator: &Emulator) -> Graph {
    Graph::new(emulator, emulator.operator_token(Audience::Graph))
}

/// Creates a multi-tenant application; returns (object id, app id).
async fn create_app(graph: &Graph, name: &str) -> (String, String) {
    let (status, body) = graph
        .post(
            "/applications",
            json!({"displayName": name, "signInAudience": "AzureADMultipleOrgs"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().expect("id").to_owned(),
        body["appId"].as_str().expect("appId").to_owned(),
    )
}

fn replicate(emulator: &Emulator) {
    emulator
        .clock()
        .advance(emulator.knobs().graph_replication + Duration::from_millis(1));
}

#[tokio::test]
async fn application_lifecycle_with_replication_soft_delete_and_purge() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = operator(&emulator).await;

    let (status, body) = graph
        .post(
            "/applications",
            json!({"signInAudience": "AzureADMultipleOrgs"}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");

    let (object_id, app_id) = create_app(&graph, "peering").await;
    let path = format!("/applications/{object_id}");

    // Inside the replication window the new object is not found yet.
    let (status, body) = graph.get(&path).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    replicate(&emulator);
    let (status, body) = graph.get(&path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["appId"], app_id);
    assert_eq!(body["signInAudience"], "AzureADMultipleOrgs");
    assert_eq!(
        body["publisherDomain"],
        emulator.seed().customer_tenant_domain
    );

    let (status, body) = graph
        .get(&format!("{path}?$select=appId,displayName"))
        .await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .filter(|key| !key.starts_with('@'))
        .collect();
    assert_eq!(keys, ["appId", "displayName"]);

    let (status, _) = graph.get(&format!("/applications(appId='{app_id}')")).await;
    assert_eq!(status, 200);

    let (status, body) = graph
        .patch(
            &path,
            json!({"displayName": "peering-renamed", "notes": "n"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, body) = graph.get(&path).await;
    assert_eq!(body["displayName"], "peering-renamed");
    assert_eq!(body["notes"], "n");

    let (status, _) = graph.delete(&path).await;
    assert_eq!(status, 204);
    let (status, body) = graph.get(&path).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    let deleted = format!("/directory/deletedItems/{object_id}");
    let (status, body) = graph.get(&deleted).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["deletedDateTime"].is_string(), "{body}");
    let (_, listed) = graph
        .get("/directory/deletedItems/microsoft.graph.application")
        .await;
    assert_eq!(listed["value"].as_array().map(Vec::len), Some(1));

    let (status, _) = graph.delete(&deleted).await;
    assert_eq!(status, 204);
    let (status, body) = graph.get(&deleted).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let snapshot = emulator.snapshot();
    assert!(
        !snapshot.to_string().contains(&object_id),
        "purged application still in the world"
    );
}

#[tokio::test]
async fn sign_in_audience_defaults_and_personal_accounts_need_token_version_2() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = operator(&emulator).await;

    let (status, body) = graph
        .post("/applications", json!({"displayName": "default"}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["signInAudience"], "AzureADMyOrg");

    let (status, body) = graph
        .post(
            "/applications",
            json!({"displayName": "msa", "signInAudience": "AzureADandPersonalMicrosoftAccount"}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");

    let (status, body) = graph
        .post(
            "/applications",
            json!({"displayName": "msa", "signInAudience": "AzureADandPersonalMicrosoftAccount",
                   "api": {"requestedAccessTokenVersion": 2}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["api"]["requestedAccessTokenVersion"], 2);
}

#[tokio::test]
async fn passwords_are_added_once_with_their_text_and_removed_by_key_id() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = operator(&emulator).await;
    let (object_id, _) = create_app(&graph, "secrets").await;
    let add = format!("/applications/{object_id}/addPassword");

    let (status, body) = graph
        .post(&add, json!({"passwordCredential": {"displayName": "tf"}}))
        .await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    replicate(&emulator);
    let (status, password) = graph
        .post(&add, json!({"passwordCredential": {"displayName": "tf"}}))
        .await;
    assert_eq!(status, 200, "{password}");
    let secret = password["secretText"].as_str().expect("secretText");
    assert!(secret.len() >= 16);
    assert_eq!(password["hint"].as_str(), Some(&secret[..3]));
    assert_eq!(password["displayName"], "tf");
    let start = time::OffsetDateTime::parse(
        password["startDateTime"].as_str().expect("start"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let end = time::OffsetDateTime::parse(
        password["endDateTime"].as_str().expect("end"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert_eq!((end - start).whole_days(), 730);

    let (_, app) = graph.get(&format!("/applications/{object_id}")).await;
    assert_eq!(app["passwordCredentials"][0]["keyId"], password["keyId"]);
    assert_eq!(app["passwordCredentials"][0]["secretText"], Value::Null);
    assert!(!app.to_string().contains(secret));

    let remove = format!("/applications/{object_id}/removePassword");
    let (status, _) = graph
        .post(&remove, json!({"keyId": password["keyId"]}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = graph
        .post(&remove, json!({"keyId": password["keyId"]}))
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (_, app) = graph.get(&format!("/applications/{object_id}")).await;
    assert_eq!(app["passwordCredentials"], json!([]));
}

#[tokio::test]
async fn service_principal_creation_follows_replication_uniqueness_and_lookup_rules() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = operator(&emulator).await;
    let (_, app_id) = create_app(&graph, "peering").await;

    let (status, body) = graph
        .post("/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert_eq!(detail_codes(&body), ["NoBackingApplicationObject"]);

    replicate(&emulator);
    let (status, created) = graph
        .post("/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["appId"], app_id);
    assert_eq!(
        created["appOwnerOrganizationId"],
        emulator.seed().customer_tenant_id
    );
    let sp_id = created["id"].as_str().expect("id").to_owned();

    let (status, body) = graph
        .post("/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_graph_error(
        status,
        &body,
        409,
        "Request_MultipleObjectsWithSameKeyValue",
    );
    assert!(
        emulator
            .violations()
            .iter()
            .any(|violation| violation.kind == ViolationKind::DuplicateCreate)
    );

    let (status, body) = graph.get(&format!("/servicePrincipals/{sp_id}")).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let filter = format!("/servicePrincipals?$filter=appId eq '{app_id}'");
    let (_, listed) = graph.get(&filter).await;
    assert_eq!(listed["value"], json!([]));

    replicate(&emulator);
    let (status, body) = graph.get(&format!("/servicePrincipals/{sp_id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, listed) = graph.get(&filter).await;
    assert_eq!(status, 200);
    assert_eq!(listed["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["value"][0]["id"], sp_id);

    let (status, _) = graph.delete(&format!("/servicePrincipals/{sp_id}")).await;
    assert_eq!(status, 204);
    let (_, listed) = graph.get(&filter).await;
    assert_eq!(listed["value"], json!([]));
}

#[tokio::test]
async fn a_foreign_app_service_principal_needs_application_read_write_all() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let (weak_client, _, _) = emulator.with_world(|world| {
        world.identity.add_app_with_secret(
            &seed.customer_tenant_id,
            "owned-by-only",
            &["Application.ReadWrite.OwnedBy"],
            now,
        )
    });
    let weak_token = emulator
        .token_for(&seed.customer_tenant_id, &weak_client, Audience::Graph)
        .expect("token");
    let weak = Graph::new(&emulator, weak_token);
    let (status, body) = weak
        .post("/servicePrincipals", json!({"appId": seed.aiven_app_id}))
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let graph = operator(&emulator).await;
    let (status, created) = graph
        .post("/servicePrincipals", json!({"appId": seed.aiven_app_id}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["appOwnerOrganizationId"], seed.aiven_tenant_id);
    assert_eq!(created["displayName"], "Aiven");
}

#[tokio::test]
async fn a_caller_without_graph_permissions_is_denied() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let now = emulator.now();
    let (client, _, _) = emulator.with_world(|world| {
        world
            .identity
            .add_app_with_secret(&seed.customer_tenant_id, "nobody", &[], now)
    });
    let nobody = Graph::new(
        &emulator,
        emulator
            .token_for(&seed.customer_tenant_id, &client, Audience::Graph)
            .expect("token"),
    );
    let (status, body) = nobody
        .post("/applications", json!({"displayName": "x"}))
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = nobody
        .get(&format!("/applications/{}", seed.operator_app_object_id))
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
}

#[tokio::test]
async fn create_if_missing_upserts_the_service_principal() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let graph = operator(&emulator).await;
    let path = format!("/servicePrincipals(appId='{}')", seed.aiven_app_id);

    let (status, body) = graph.get(&path).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = graph.patch(&path, json!({})).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    let upsert = |graph: &Graph| {
        graph
            .http
            .patch(format!("{}{path}", graph.base))
            .bearer_auth(&graph.token)
            .header("Prefer", "create-if-missing")
            .json(&json!({}))
            .send()
    };
    let created = upsert(&graph).await.expect("upsert");
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.expect("JSON");
    assert_eq!(body["appId"], seed.aiven_app_id);
    let again = upsert(&graph).await.expect("upsert");
    assert_eq!(again.status(), 204);
    let count = emulator.with_world(|world| {
        world
            .identity
            .service_principals
            .values()
            .filter(|sp| sp.app_id == seed.aiven_app_id)
            .count()
    });
    assert_eq!(count, 2, "one in Aiven's tenant, one in the customer's");
}

#[tokio::test]
async fn tokens_for_another_audience_missing_or_forged_are_rejected() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let path = format!("/applications/{}", seed.operator_app_object_id);

    let arm = Graph::new(&emulator, emulator.operator_token(Audience::Arm));
    let (status, body) = arm.get(&path).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    assert!(
        emulator
            .violations()
            .iter()
            .any(|violation| violation.kind == ViolationKind::WrongAudience)
    );

    let mut forged = emulator.operator_token(Audience::Graph);
    forged.insert(forged.len() / 2, 'x');
    let (status, body) = Graph::new(&emulator, forged).get(&path).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");

    let response = reqwest::Client::new()
        .get(format!("{}/v1.0{path}", emulator.endpoints().graph))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);

    let (status, _) = operator(&emulator).await.get(&path).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn owners_must_be_existing_directory_objects() {
    let emulator = Emulator::start(Knobs::test()).await;
    let seed = emulator.seed().clone();
    let user = emulator.with_world(|world| {
        world
            .identity
            .add_user(&seed.customer_tenant_id, "ops@contoso.onmicrosoft.com")
    });
    let graph = operator(&emulator).await;
    let bind = |id: &str| format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}");

    let (status, body) = graph
        .post(
            "/applications",
            json!({"displayName": "owned", "owners@odata.bind": [bind(&user)]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let object_id = body["id"].as_str().expect("id").to_owned();
    let owners =
        emulator.with_world(|world| world.identity.applications[&object_id].owners.clone());
    assert_eq!(owners, [user]);

    let (status, body) = graph
        .post(
            "/applications",
            json!({"displayName": "orphan",
                   "owners@odata.bind": [bind("0d000000-0000-4000-8000-000000000000")]}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = operator(&emulator).await;
    let path = format!("/applications/{}", emulator.seed().operator_app_object_id);
    assert_eq!(graph.get(&path).await.0, 200);

    emulator.clock().advance(emulator.knobs().token_lifetime);
    let (status, body) = graph.get(&path).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
}
