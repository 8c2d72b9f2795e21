//! A fake OSV API for tests: `POST /v1/query` on `127.0.0.1:0`, answering
//! with the vulnerabilities registered for the queried package, in OSV's
//! documented shape (`{"vulns": [...], "next_page_token": ...}`), two per
//! page so paging is exercised. [`FakeOsv::reply_raw`] makes it answer
//! something else (bad JSON, an error status).
//!
//! Include it from a test file with
//! `#[path = "support/fake_osv.rs"] mod fake_osv;`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Default)]
struct Data {
    vulns: HashMap<(String, String), Vec<Value>>,
    raw: Option<(u16, String)>,
    queries: Vec<Value>,
    /// The `Authorization` header of each request (`None` when absent).
    authorizations: Vec<Option<String>>,
}

type Shared = Arc<Mutex<Data>>;

const PAGE: usize = 2;

/// The running server; stops with the test process.
pub struct FakeOsv {
    url: String,
    state: Shared,
}

impl FakeOsv {
    pub fn start() -> FakeOsv {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/v1/query", post(query))
            .with_state(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake osv runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send");
                let _ = axum::serve(listener, app).await;
            });
        });
        let addr = rx.recv().expect("fake osv started");
        FakeOsv {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// The `VENDOR_OSV_URL` value.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Records a vulnerability for a package.
    pub fn vuln(&self, ecosystem: &str, name: &str, vuln: Value) -> &Self {
        self.state
            .lock()
            .expect("state")
            .vulns
            .entry((ecosystem.to_owned(), name.to_owned()))
            .or_default()
            .push(vuln);
        self
    }

    /// Answers every query with `status` and `body`.
    pub fn reply_raw(&self, status: u16, body: &str) -> &Self {
        self.state.lock().expect("state").raw = Some((status, body.to_owned()));
        self
    }

    /// The `Authorization` header of every request received.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.state.lock().expect("state").authorizations.clone()
    }

    /// The query bodies received.
    pub fn queries(&self) -> Vec<Value> {
        self.state.lock().expect("state").queries.clone()
    }
}

async fn query(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = state.lock().expect("state");
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    data.authorizations.push(auth);
    if let Some((status, raw)) = &data.raw {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, raw.clone()).into_response();
    }
    let Ok(q) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "{\"code\":3,\"message\":\"bad json\"}",
        )
            .into_response();
    };
    data.queries.push(q.clone());
    let key = (
        q["package"]["ecosystem"].as_str().unwrap_or("").to_owned(),
        q["package"]["name"].as_str().unwrap_or("").to_owned(),
    );
    let all = data.vulns.get(&key).cloned().unwrap_or_default();
    let start: usize = q["page_token"]
        .as_str()
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(PAGE).cloned().collect();
    let mut answer = json!({ "vulns": page });
    if start + PAGE < all.len() {
        answer["next_page_token"] = json!(format!("page-{}", start + PAGE));
    }
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        answer.to_string(),
    )
        .into_response()
}
