//! A snapshot service on `127.0.0.1:0`: serves a directory of APT
//! snapshots (`{base}/{timestamp}/…`) at `{url}/ubuntu/`, where a
//! timestamp URL serves the newest snapshot at or before that time and
//! `latest` the newest of all, as the snapshot services do.

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

/// The HTTP server of an archive; stops when dropped.
pub struct Server {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `base` (the directory of snapshot timestamps) at
    /// `{url}/ubuntu/`.
    pub fn start(base: PathBuf) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .fallback(serve)
            .with_state(std::sync::Arc::new(base));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("archive server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                addr_tx
                    .send(listener.local_addr().expect("a local address"))
                    .expect("the starter waits");
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = shutdown_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().expect("archive server started");
        Server {
            url: format!("http://{addr}"),
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `http://127.0.0.1:PORT/ubuntu`.
    pub fn base_url(&self) -> String {
        format!("{}/ubuntu", self.url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from("not found"))
        .expect("a response")
}

/// `/ubuntu/{ts|latest}/{path}`: the file of the newest snapshot at or
/// before `ts` (or of the newest).
async fn serve(State(base): State<std::sync::Arc<PathBuf>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/ubuntu/") else {
        return not_found();
    };
    let (when, file) = rest.split_once('/').unwrap_or((rest, ""));
    let mut snapshots: Vec<String> = std::fs::read_dir(&*base)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    snapshots.sort();
    let chosen = if when == "latest" {
        snapshots.last()
    } else {
        snapshots.iter().rev().find(|s| s.as_str() <= when)
    };
    let Some(chosen) = chosen else {
        return not_found();
    };
    if file.split('/').any(|s| s == ".." || s.is_empty()) {
        return not_found();
    }
    match std::fs::read(base.join(chosen).join(file)) {
        Ok(bytes) if !bytes.is_empty() || !file.ends_with('/') => Response::builder()
            .status(StatusCode::OK)
            .body(Body::from(bytes))
            .expect("a response"),
        _ => not_found(),
    }
}
