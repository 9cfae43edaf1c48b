//! Invariant 1 in real time: rotation every 2 s with short TTL and max-age, tokens issued and
//! the JWKS polled concurrently; every JWKS served in [t − JWKS_MAX_AGE, exp + CLOCK_LEEWAY]
//! must hold the kid of every token issued at t.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::spawn_fast_rotation;
use crate::helpers::verify::{split, verify_jwk};

struct Issued {
    t: f64,
    exp: f64,
    kid: String,
    token: String,
}

struct Seen {
    /// When the request was sent and when the answer came: the JWKS was served in between.
    sent: f64,
    received: f64,
    kids: HashSet<String>,
    body: Value,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_ever_names_a_kid_missing_from_a_jwks_served_in_its_window() {
    const MAX_AGE: f64 = 1.0;
    const LEEWAY: f64 = 1.0;
    let app = spawn_fast_rotation("ES256").await;
    app.wait_ready().await;
    let run_for = Duration::from_secs(9);

    let issuer = {
        let (client, url) = (app.client.clone(), app.url("/anonymous/"));
        tokio::spawn(async move {
            let mut issued = Vec::new();
            let start = Instant::now();
            while start.elapsed() < run_for && issued.len() < 5_000 {
                let t = now();
                let token = client.get(&url).send().await.unwrap().text().await.unwrap();
                let parts = split(&token);
                let kid = parts.header["kid"].as_str().unwrap().to_owned();
                issued.push(Issued {
                    t,
                    exp: parts.claims["exp"].as_f64().unwrap(),
                    kid,
                    token,
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            issued
        })
    };
    let poller = {
        let (client, url) = (app.client.clone(), app.url("/.well-known/jwks.json"));
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let start = Instant::now();
            while start.elapsed() < run_for + Duration::from_secs(3) && seen.len() < 10_000 {
                let sent = now();
                let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
                let received = now();
                let kids = body["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["kid"].as_str().unwrap().to_owned())
                    .collect();
                seen.push(Seen {
                    sent,
                    received,
                    kids,
                    body,
                });
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            seen
        })
    };
    let issued = issuer.await.unwrap();
    let seen = poller.await.unwrap();

    let kids: HashSet<&str> = issued.iter().map(|i| i.kid.as_str()).collect();
    assert!(
        kids.len() >= 4,
        "expected several rotations in {run_for:?}, saw {} kids",
        kids.len()
    );
    assert!(
        issued.len() > 100 && seen.len() > 200,
        "{} tokens, {} JWKS",
        issued.len(),
        seen.len()
    );

    let mut checked = 0;
    for token in &issued {
        for jwks in &seen {
            // Served inside the window for sure: sent after its start, answered before its end.
            if jwks.sent >= token.t - MAX_AGE && jwks.received <= token.exp + LEEWAY {
                assert!(
                    jwks.kids.contains(&token.kid),
                    "kid {} of a token issued at {:.3} missing from a JWKS served at [{:.3}, {:.3}]: {:?}",
                    token.kid,
                    token.t,
                    jwks.sent,
                    jwks.received,
                    jwks.kids
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000, "only {checked} (token, JWKS) pairs in window");

    // Every token verifies with the key published under its kid.
    for token in issued.iter().step_by(10) {
        let jwks = seen
            .iter()
            .find(|s| s.kids.contains(&token.kid))
            .expect("kid never published");
        let jwk = jwks.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == token.kid.as_str())
            .unwrap();
        verify_jwk(&token.token, jwk).unwrap();
    }

    // Bounded set, and a removed kid never returns.
    let mut gone: HashSet<String> = HashSet::new();
    let mut previous: HashSet<String> = HashSet::new();
    for jwks in &seen {
        assert!(jwks.kids.len() <= 5, "JWKS grew to {}", jwks.kids.len());
        for kid in &jwks.kids {
            assert!(!gone.contains(kid), "removed kid {kid} came back");
        }
        gone.extend(previous.difference(&jwks.kids).cloned());
        previous = jwks.kids.clone();
    }
    assert!(!gone.is_empty(), "no key was ever removed");
}
