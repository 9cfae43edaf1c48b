//! `/metrics`: names and values move as tokens are issued, requests are shed and keys rotate.

use std::time::Duration;

use crate::helpers::{TestApp, gated_generator, spawn_app, spawn_app_with, spawn_fast_rotation, unix_now};

/// The value of the sample named exactly `series` (name plus labels as exposed).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{series} not in:\n{text}"))
        .parse()
        .unwrap()
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn request_token_and_shedding_metrics_move() {
    let app = spawn_app(&[("ALGO", "HS384"), ("ISSUE_DELAY", "1"), ("MAX_PENDING", "2")]).await;
    let m = scrape(&app).await;
    assert_eq!(
        value(&m, "cusdeb_anonymous_build_info{version=\"0.1.0\",algorithm=\"HS384\"}"),
        1.0
    );
    assert_eq!(
        value(&m, "cusdeb_anonymous_tokens_issued_total{algorithm=\"HS384\"}"),
        0.0
    );
    assert_eq!(value(&m, "cusdeb_anonymous_pending_requests"), 0.0);

    let waiting = app.hold(2).await;
    assert_eq!(value(&scrape(&app).await, "cusdeb_anonymous_pending_requests"), 2.0);
    assert_eq!(app.get("/anonymous/").await.status(), 503);
    for w in waiting {
        assert_eq!(w.await.unwrap(), 200);
    }
    app.get("/no/such/path").await;

    let m = scrape(&app).await;
    assert_eq!(
        value(&m, "cusdeb_anonymous_tokens_issued_total{algorithm=\"HS384\"}"),
        2.0
    );
    assert_eq!(value(&m, "cusdeb_anonymous_requests_shed_total"), 1.0);
    assert_eq!(value(&m, "cusdeb_anonymous_pending_requests"), 0.0);
    assert_eq!(
        value(
            &m,
            "cusdeb_anonymous_http_requests_total{route=\"anonymous\",status=\"200\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &m,
            "cusdeb_anonymous_http_requests_total{route=\"anonymous\",status=\"503\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "cusdeb_anonymous_http_requests_total{route=\"other\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "cusdeb_anonymous_http_request_duration_seconds_count{route=\"anonymous\"}"
        ),
        3.0
    );
    // Two requests waited a whole second each.
    assert!(
        value(
            &m,
            "cusdeb_anonymous_http_request_duration_seconds_sum{route=\"anonymous\"}"
        ) >= 2.0
    );
    assert_eq!(value(&m, "cusdeb_anonymous_keys{state=\"active\"}"), 1.0);
    assert_eq!(value(&m, "cusdeb_anonymous_next_rotation_timestamp_seconds"), 0.0);
}

#[tokio::test]
async fn key_metrics_follow_rotation() {
    let app = spawn_fast_rotation("EdDSA").await;
    app.wait_ready().await;
    app.wait_pending().await;
    let m = scrape(&app).await;
    assert_eq!(value(&m, "cusdeb_anonymous_keys{state=\"active\"}"), 1.0);
    assert_eq!(value(&m, "cusdeb_anonymous_keys{state=\"pending\"}"), 1.0);
    assert_eq!(value(&m, "cusdeb_anonymous_key_rotations_total"), 0.0);
    let next = value(&m, "cusdeb_anonymous_next_rotation_timestamp_seconds");
    assert!((next - (unix_now() + 2) as f64).abs() <= 2.0, "next rotation at {next}");
    assert!(value(&m, "cusdeb_anonymous_active_key_age_seconds") < 2.0);

    let mut rotated = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rotated = scrape(&app).await;
        if value(&rotated, "cusdeb_anonymous_key_rotations_total") >= 1.0 {
            break;
        }
    }
    assert!(value(&rotated, "cusdeb_anonymous_key_rotations_total") >= 1.0);
    assert_eq!(value(&rotated, "cusdeb_anonymous_keys{state=\"retired\"}"), 1.0);
    assert_eq!(value(&rotated, "cusdeb_anonymous_keys{state=\"active\"}"), 1.0);
    assert!(value(&rotated, "cusdeb_anonymous_next_rotation_timestamp_seconds") > next);
}

#[tokio::test]
async fn generation_failures_are_counted() {
    let (allow, generator) = gated_generator();
    let app = spawn_app_with(&[("ALGO", "ES384")], |app| app.with_generator(generator)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let m = scrape(&app).await;
    assert!(value(&m, "cusdeb_anonymous_key_generation_failures_total") >= 1.0);
    assert_eq!(value(&m, "cusdeb_anonymous_keys{state=\"active\"}"), 0.0);
    assert_eq!(value(&m, "cusdeb_anonymous_active_key_age_seconds"), 0.0);
    allow.store(true, std::sync::atomic::Ordering::SeqCst);
    app.wait_ready().await;
    assert_eq!(
        value(&scrape(&app).await, "cusdeb_anonymous_keys{state=\"active\"}"),
        1.0
    );
}
