//! `spawn_app`: an `Application` on 127.0.0.1:0 with the given environment; [`binary`]: the
//! real binary.

pub mod altcha;
pub mod binary;
pub mod postgres;
pub mod proxy;
pub mod verify;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cusdeb_anonymous::config::Config;
use cusdeb_anonymous::rotation::Generator;
use cusdeb_anonymous::startup::Application;
use cusdeb_anonymous::state::AppState;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Parses `env` over test defaults (no delay, loopback) into a configuration.
pub fn config(env: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [("ISSUE_DELAY", "0"), ("HOST", "127.0.0.1"), ("SECRET_KEY", TEST_SECRET)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for (k, v) in env {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration is valid")
}

pub const TEST_SECRET: &str = "a-test-secret-of-more-than-64-bytes-so-no-warning-is-logged-for-HS512";

/// An asymmetric `alg` rotating every 2 s with 1 s JWKS max-age, TTL and leeway: a whole key
/// lifecycle in seconds (retired keys stay published 3 s).
pub async fn spawn_fast_rotation(alg: &str) -> TestApp {
    spawn_app(&[
        ("ALGO", alg),
        ("KEY_ROTATION_INTERVAL", "2"),
        ("JWKS_MAX_AGE", "1"),
        ("TOKEN_TTL", "1"),
        ("CLOCK_LEEWAY", "1"),
    ])
    .await
}

pub async fn spawn_app(env: &[(&str, &str)]) -> TestApp {
    spawn_app_with(env, |app| app).await
}

/// `spawn_app`, with `adjust` applied to the `Application` before it runs.
pub async fn spawn_app_with(env: &[(&str, &str)], adjust: impl FnOnce(Application) -> Application) -> TestApp {
    cusdeb_anonymous::crypto::install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = adjust(Application::with_listener(config(env), listener).unwrap());
    let addr = app.local_addr().unwrap();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    TestApp {
        addr,
        client,
        state,
        stop: Some(stop),
        server,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request failed")
    }

    /// `GET path` with one request header.
    pub async fn get_with(&self, path: &str, name: &str, value: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(name, value)
            .send()
            .await
            .expect("request failed")
    }

    /// The value of the unlabelled series `name` in `/metrics` now.
    pub async fn metric(&self, name: &str) -> f64 {
        metric(&self.get("/metrics").await.text().await.unwrap(), name)
    }

    /// A token from `/anonymous/`, asserting the 200.
    pub async fn token(&self) -> String {
        let resp = self.get("/anonymous/").await;
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }

    /// Waits (at most 60 s, polling) until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        for _ in 0..600 {
            if self.get("/readyz").await.status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("not ready within 60 s");
    }

    /// Starts `n` requests to `/anonymous/` and waits (bounded) until they all hold one of
    /// the `MAX_PENDING` places, i.e. are waiting on `ISSUE_DELAY`. Returns their statuses' handles.
    pub async fn hold(&self, n: usize) -> Vec<JoinHandle<reqwest::StatusCode>> {
        let max = self.state.config.max_pending;
        let free = max - self.state.waiting();
        let handles = (0..n)
            .map(|_| {
                let (client, url) = (self.client.clone(), self.url("/anonymous/"));
                tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
            })
            .collect();
        for _ in 0..200 {
            if max - self.state.waiting() <= free.saturating_sub(n) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(max - self.state.waiting(), free.saturating_sub(n), "requests not held");
        handles
    }

    /// Waits (at most 60 s) until a pending key is published next to the active one, so the
    /// JWKS no longer changes right after start-up. Returns the `/readyz` body.
    pub async fn wait_pending(&self) -> serde_json::Value {
        for _ in 0..600 {
            let ready: serde_json::Value = self.get("/readyz").await.json().await.unwrap();
            if ready["next_kid"].is_string() {
                return ready;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no pending key within 60 s");
    }

    /// Triggers graceful shutdown; `join` then waits for the server to return.
    pub fn trigger_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn join(self) -> std::io::Result<()> {
        self.server.await.unwrap()
    }
}

/// A key generator that fails until the returned switch is turned on.
pub fn gated_generator() -> (Arc<std::sync::atomic::AtomicBool>, Generator) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let allow = Arc::new(AtomicBool::new(false));
    let gate = allow.clone();
    let generator: Generator = Arc::new(move |alg| {
        if gate.load(Ordering::SeqCst) {
            cusdeb_anonymous::keys::generate(alg, 2048)
        } else {
            Err(cusdeb_anonymous::keys::KeyError::injected())
        }
    });
    (allow, generator)
}

/// The value of the unlabelled series `name` in a Prometheus text exposition.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {name}"))
        .parse()
        .unwrap()
}

/// Unix time now, seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
