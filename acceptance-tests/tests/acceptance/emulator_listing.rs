//! The emulated list calls the provider's list resources make (docs/development/entra-and-graph.md,
//! 'Listing: filters and pages'): Graph's `startswith(displayName,'…')` filter on applications
//! and service principals, and its pages (`$top`, `@odata.nextLink` with an opaque
//! `$skiptoken`), over raw HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use vnetpeer_emulator::world::identity::Audience;
use vnetpeer_emulator::{Emulator, Knobs};

struct Graph {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Graph {
    fn new(emulator: &Emulator) -> Graph {
        Graph {
            base: format!("{}/v1.0", emulator.endpoints().graph),
            token: emulator.operator_token(Audience::Graph),
            http: reqwest::Client::new(),
        }
    }

    /// GET of a path under `/v1.0`, or of an absolute URL (a nextLink).
    async fn get(&self, path_or_url: &str) -> (u16, Value) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("Graph request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn create_app(&self, name: &str) -> String {
        let response = self
            .http
            .post(format!("{}/applications", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"displayName": name, "signInAudience": "AzureADMultipleOrgs"}))
            .send()
            .await
            .expect("create application");
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.expect("JSON body");
        body["appId"].as_str().expect("appId").to_owned()
    }

    async fn create_service_principal(&self, app_id: &str) {
        let response = self
            .http
            .post(format!("{}/servicePrincipals", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"appId": app_id}))
            .send()
            .await
            .expect("create service principal");
        assert_eq!(response.status().as_u16(), 201);
    }
}

fn replicate(emulator: &Emulator) {
    emulator
        .clock()
        .advance(emulator.knobs().graph_replication + Duration::from_millis(1));
}

fn names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|item| item["displayName"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn startswith_finds_applications_and_service_principals_by_display_name_prefix() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = Graph::new(&emulator);
    let mut app_ids = Vec::new();
    for name in ["peering-alpha", "Peering-Beta", "other-peering"] {
        app_ids.push(graph.create_app(name).await);
    }
    replicate(&emulator);
    for app_id in &app_ids {
        graph.create_service_principal(app_id).await;
    }
    replicate(&emulator);

    // Case-insensitive, on the start of the name only.
    for collection in ["applications", "servicePrincipals"] {
        let (status, body) = graph
            .get(&format!(
                "/{collection}?$filter=startswith(displayName,'PEERING-')"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            names(&body),
            ["Peering-Beta", "peering-alpha"],
            "{collection}"
        );
        assert!(body.get("@odata.nextLink").is_none(), "{body}");
    }
    // A quote inside the prefix is doubled, OData style.
    let (status, body) = graph
        .get("/applications?$filter=startswith(displayName,'it''s')")
        .await;
    assert_eq!(
        (status, names(&body)),
        (200, Vec::<String>::new()),
        "{body}"
    );

    // startswith works on displayName only; eq still works as before.
    let (status, body) = graph
        .get("/applications?$filter=startswith(appId,'0')")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery", "{body}");
    let (status, body) = graph
        .get("/applications?$filter=displayName eq 'other-peering'")
        .await;
    assert_eq!(
        (status, names(&body)),
        (200, vec!["other-peering".to_owned()])
    );
}

#[tokio::test]
async fn lists_page_by_100_or_top_and_link_the_next_page() {
    let emulator = Emulator::start(Knobs::test()).await;
    let graph = Graph::new(&emulator);
    for index in 0..101 {
        graph.create_app(&format!("bulk-{index:03}")).await;
    }
    replicate(&emulator);
    let filter = "$filter=startswith(displayName,'bulk-')";

    // Without $top: 100, then the one left, found through the nextLink.
    let (status, first) = graph.get(&format!("/applications?{filter}")).await;
    assert_eq!(status, 200);
    assert_eq!(first["value"].as_array().map(Vec::len), Some(100));
    let next = first["@odata.nextLink"]
        .as_str()
        .expect("a next page")
        .to_owned();
    assert!(
        next.starts_with(&format!(
            "{}/v1.0/applications?",
            emulator.endpoints().graph
        )),
        "an absolute URL on the same service: {next}"
    );
    assert!(next.contains("%24skiptoken="), "{next}");
    let (status, second) = graph.get(&next).await;
    assert_eq!(status, 200, "{second}");
    let mut all = names(&first);
    all.extend(names(&second));
    all.sort();
    all.dedup();
    let expected: Vec<String> = (0..101).map(|index| format!("bulk-{index:03}")).collect();
    assert_eq!(
        all, expected,
        "the filter is kept in the link; no item twice"
    );
    assert!(second.get("@odata.nextLink").is_none(), "{second}");

    // $top chooses the page size; the pages together hold every item once.
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut url = format!("/applications?{filter}&$top=40&$select=displayName");
    loop {
        let (status, page) = graph.get(&url).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(names(&page));
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!((pages, seen.len()), (3, 101));

    // $top out of 1..=999 and a made-up skiptoken are refused.
    for bad in ["$top=0", "$top=1000", "$top=ten", "$skiptoken=not-a-token"] {
        let (status, body) = graph.get(&format!("/applications?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "Request_BadRequest", "{bad}: {body}");
    }
}

/// Every item of an ARM list, following `nextLink`; returns the ids and how many pages it took.
async fn arm_list_all(emulator: &Emulator, first: &str) -> (Vec<String>, usize) {
    let http = reqwest::Client::new();
    let token = emulator.operator_token(Audience::Arm);
    let mut url = format!("{}{first}", emulator.endpoints().arm);
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let response = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("ARM request");
        assert_eq!(response.status().as_u16(), 200, "{url}");
        let body: Value = response.json().await.expect("JSON body");
        pages += 1;
        ids.extend(
            body["value"]
                .as_array()
                .expect("value")
                .iter()
                .map(|item| item["id"].as_str().expect("id").to_owned()),
        );
        match body["nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&emulator.endpoints().arm), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    (ids, pages)
}

#[tokio::test]
async fn a_page_size_limit_makes_arm_and_graph_lists_page_through_next_links() {
    let whole = Emulator::start(Knobs::test()).await;
    let paged = Emulator::start(Knobs {
        max_list_page_size: Some(1),
        ..Knobs::test()
    })
    .await;
    let subscription = &whole.seed().customer_subscription_id;
    let definitions = format!(
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=type eq 'BuiltInRole'"
    );
    let (all, pages) = arm_list_all(&whole, &definitions).await;
    assert_eq!(pages, 1, "one page without a limit");
    assert!(all.len() >= 2, "{all:?}");
    let (paged_ids, pages) = arm_list_all(&paged, &definitions).await;
    assert_eq!((paged_ids.clone(), pages), (all.clone(), all.len()));

    // A made-up skip token is refused.
    let response = reqwest::Client::new()
        .get(format!(
            "{}{definitions}&$skipToken=nope",
            paged.endpoints().arm
        ))
        .bearer_auth(paged.operator_token(Audience::Arm))
        .send()
        .await
        .expect("ARM request");
    assert_eq!(response.status().as_u16(), 400);

    // Graph caps even a `$top` at the limit.
    let graph = Graph::new(&paged);
    for name in ["capped-1", "capped-2"] {
        graph.create_app(name).await;
    }
    replicate(&paged);
    let (status, first) = graph
        .get("/applications?$filter=startswith(displayName,'capped-')&$top=999")
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["value"].as_array().map(Vec::len), Some(1));
    let next = first["@odata.nextLink"].as_str().expect("a second page");
    assert!(next.contains("%24top=999"), "{next}");
    let (_, second) = graph.get(next).await;
    let mut both = names(&first);
    both.extend(names(&second));
    both.sort();
    assert_eq!(both, ["capped-1", "capped-2"]);
    assert!(second.get("@odata.nextLink").is_none(), "{second}");
}
