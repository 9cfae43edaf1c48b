//! The proof-of-work gate over HTTP (`POW=altcha`): challenges solved here by a PBKDF2 written
//! on RustCrypto's HMAC (not the service's ring code), sent as the widget sends them. (The
//! official Python library and the real widget are the clients in `tests/interop`.)

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::helpers::altcha::{challenge, gated, payload, solve, solved, take};
use crate::helpers::spawn_app;

fn outcome(metrics: &str, outcome: &str) -> f64 {
    crate::helpers::metric(
        metrics,
        &format!("cusdeb_anonymous_pow_solutions_total{{outcome=\"{outcome}\"}}"),
    )
}

#[tokio::test]
async fn a_solved_challenge_buys_exactly_one_token() {
    let app = gated(&[]).await;
    let c = challenge(&app).await;
    let p = &c["parameters"];
    assert_eq!(p["algorithm"], "PBKDF2/SHA-256");
    assert_eq!(p["keyPrefix"], "000");
    assert_eq!(p["cost"], 3);
    assert_eq!(p["keyLength"], 32);
    let now = crate::helpers::unix_now();
    let ttl = p["expiresAt"].as_i64().unwrap() - now;
    assert!((119..=121).contains(&ttl), "POW_TTL 120 by default, got {ttl}");
    assert_eq!(c["signature"].as_str().unwrap().len(), 64);

    // By header: a token, with the seed's claims; again: replayed.
    let body = payload(&c, &solve(&c));
    let resp = app.get_with("/anonymous/", "Altcha", &body).await;
    assert_eq!(resp.status(), 200);
    let token = resp.text().await.unwrap();
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let claims = crate::helpers::verify::verify_jwk(&token, &jwks["keys"][0]).unwrap();
    assert_eq!(claims["user_id"], -1);
    assert_eq!(take(&app, &body).await, (403, "replayed".into()));
    // By query parameter (percent-encoded, and with `+` left raw as some clients do).
    let body = solved(&app).await;
    let query = format!(
        "/anonymous/?altcha={}",
        body.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    );
    assert_eq!(app.get(&query).await.status(), 200);
    assert_eq!(app.get(&query).await.status(), 403);
    let body = solved(&app).await;
    assert_eq!(app.get(&format!("/anonymous/?altcha={body}")).await.status(), 200);

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(outcome(&metrics, "ok"), 3.0);
    assert_eq!(outcome(&metrics, "replayed"), 2.0);
    assert_eq!(
        crate::helpers::metric(&metrics, "cusdeb_anonymous_pow_challenges_issued_total"),
        3.0
    );
    assert_eq!(
        crate::helpers::metric(&metrics, "cusdeb_anonymous_pow_replay_entries"),
        3.0
    );
}

#[tokio::test]
async fn every_bad_payload_is_a_403_naming_why_with_the_challenge_url() {
    let app = gated(&[("ISSUER", "https://anonymous.cusdeb.test")]).await;
    // Missing.
    let resp = app.get("/anonymous/").await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["type"], "tag:cusdeb.com,2026:anonymous/pow/missing");
    assert_eq!(problem["status"], 403);
    assert_eq!(
        problem["challenge"],
        "https://anonymous.cusdeb.test/anonymous/challenge"
    );
    assert_eq!(take(&app, "").await.1, "missing");

    // Garbage, not base64, not a payload, oversized (a header of 16 KiB).
    assert_eq!(take(&app, "%%%not base64%%%").await, (403, "malformed".into()));
    assert_eq!(
        take(&app, &STANDARD.encode("{\"a\":1}")).await,
        (403, "malformed".into())
    );
    assert_eq!(take(&app, &"QUFB".repeat(4096)).await, (403, "malformed".into()));
    let big = format!("/anonymous/?altcha={}", "QUFB".repeat(2000));
    assert_eq!(app.get(&big).await.status(), 403);

    // Tampered: the signature, then a parameter (a cheaper cost), then an unknown field.
    let c = challenge(&app).await;
    let s = solve(&c);
    let mut forged = c.clone();
    forged["signature"] = json!("00".repeat(32));
    assert_eq!(take(&app, &payload(&forged, &s)).await, (403, "tampered".into()));
    let mut cheaper = c.clone();
    cheaper["parameters"]["cost"] = json!(1);
    assert_eq!(take(&app, &payload(&cheaper, &s)).await, (403, "tampered".into()));
    let mut later = c.clone();
    later["parameters"]["expiresAt"] = json!(4_000_000_000u64);
    assert_eq!(take(&app, &payload(&later, &s)).await, (403, "tampered".into()));

    // Solved for another challenge: wrong (and that challenge is used up).
    let other = challenge(&app).await;
    let other_solution = solve(&other);
    assert_eq!(take(&app, &payload(&c, &other_solution)).await, (403, "wrong".into()));
    assert_eq!(take(&app, &payload(&c, &s)).await, (403, "replayed".into()));
    // A wrong derived key with the right counter.
    let mut lying = other_solution.clone();
    lying["derivedKey"] = json!(format!("000{}", "f".repeat(61)));
    assert_eq!(take(&app, &payload(&other, &lying)).await, (403, "wrong".into()));

    // Nothing above was a 500, and the counts add up.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(outcome(&metrics, "missing"), 2.0);
    assert_eq!(outcome(&metrics, "bad"), 9.0);
    assert_eq!(outcome(&metrics, "replayed"), 1.0);
    assert_eq!(outcome(&metrics, "ok"), 0.0);
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let app = gated(&[("POW_TTL", "1")]).await;
    let body = solved(&app).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(take(&app, &body).await, (403, "expired".into()));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(outcome(&metrics, "expired"), 1.0);
}

#[tokio::test]
async fn the_gate_answers_before_the_delay_and_before_a_limit_slot_is_spent() {
    let app = gated(&[("ISSUE_DELAY", "3"), ("ISSUE_RATE", "1/h")]).await;
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(app.get("/anonymous/").await.status(), 403);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "403s are answered at once, not after ISSUE_DELAY: {:?}",
        started.elapsed()
    );
    // The client's one token an hour is still there: five refusals spent nothing.
    let started = Instant::now();
    assert_eq!(take(&app, &solved(&app).await).await.0, 200);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "a token still waits ISSUE_DELAY"
    );
    // The next solution meets the limit.
    assert_eq!(take(&app, &solved(&app).await).await.0, 429);
}

#[tokio::test]
async fn cors_lets_a_web_app_fetch_a_challenge_and_send_the_altcha_header() {
    let app = gated(&[("CORS_ALLOWED_ORIGINS", "https://app.cusdeb.test")]).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/anonymous/"))
        .header("Origin", "https://app.cusdeb.test")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "altcha")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap();
    assert!(
        allowed.split(',').any(|h| h.trim().eq_ignore_ascii_case("altcha")),
        "{allowed}"
    );
    let resp = app
        .client
        .get(app.url("/anonymous/challenge"))
        .header("Origin", "https://app.cusdeb.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://app.cusdeb.test");
}

#[tokio::test]
async fn with_pow_off_nothing_changes_and_there_is_no_challenge() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.get("/anonymous/challenge").await.status(), 404);
    assert_eq!(app.get("/anonymous/").await.status(), 200);
    // A payload sent anyway is ignored.
    assert_eq!(app.get_with("/anonymous/", "Altcha", "garbage").await.status(), 200);
    assert_eq!(app.get("/anonymous/?altcha=garbage").await.status(), 200);
    let demo = app.get("/demo").await;
    assert_eq!(demo.status(), 200);
    assert!(demo.text().await.unwrap().contains("data-pow=\"off\""));
}
