//! ISSUE_DELAY is an asynchronous wait; MAX_PENDING sheds load past it.

use std::time::{Duration, Instant};

use crate::helpers::spawn_app;

#[tokio::test]
async fn delay_is_applied_and_requests_wait_concurrently() {
    let app = spawn_app(&[("ISSUE_DELAY", "1")]).await;
    let started = Instant::now();
    let requests = (0..200).map(|_| {
        let (client, url) = (app.client.clone(), app.url("/anonymous/"));
        tokio::spawn(async move {
            let t = Instant::now();
            let status = client.get(url).send().await.unwrap().status();
            (status, t.elapsed())
        })
    });
    let results = futures_join(requests).await;
    let total = started.elapsed();
    for (status, took) in &results {
        assert_eq!(*status, 200);
        assert!(
            *took >= Duration::from_millis(990),
            "answered after {took:?}, before the delay"
        );
    }
    // 200 requests of 1 s each, served concurrently: about one delay, nowhere near 200.
    assert!(total < Duration::from_secs(4), "200 delayed requests took {total:?}");
}

#[tokio::test]
async fn fractional_delay() {
    let app = spawn_app(&[("ISSUE_DELAY", "0.3")]).await;
    let t = Instant::now();
    app.token().await;
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn max_pending_sheds_with_503_and_retry_after() {
    let app = spawn_app(&[("ISSUE_DELAY", "1.5"), ("MAX_PENDING", "3")]).await;
    let waiting = app.hold(3).await;
    assert_eq!(app.state.waiting(), app.state.config.max_pending);

    let shed = app.get("/anonymous/").await;
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "2");
    assert_eq!(shed.headers()["cache-control"], "no-store");
    assert_eq!(shed.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    assert!(problem["detail"].as_str().unwrap().contains("waiting"));

    for w in waiting {
        assert_eq!(w.await.unwrap(), 200, "a waiting request was dropped");
    }
    // Capacity is back.
    assert_eq!(app.get("/anonymous/").await.status(), 200);
}

/// Awaits every handle (bounded by each request's own timeout).
pub async fn futures_join<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn only_token_requests_wait() {
    let app = spawn_app(&[("ISSUE_DELAY", "2")]).await;
    let t = Instant::now();
    let post = app.client.post(app.url("/anonymous/")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert_eq!(app.get("/.well-known/jwks.json").await.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "non-token requests waited: {took:?}"
    );
    // HEAD is GET without a body, so it waits like GET.
    let t = Instant::now();
    let head = app.client.head(app.url("/anonymous/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(1990), "{:?}", t.elapsed());
}
