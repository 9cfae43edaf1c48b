//! The binary's first and last moments: no cacheable JWKS before the first key, a static key
//! announced at start, SIGTERM winning over key generation, a second signal exiting at once.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::binary::{BIN, signal, start_binary};

/// Polls the JWKS from the moment the port accepts: every answer is either a `503` that no
/// cache may keep, or a key set holding the key that signs the first token.
#[tokio::test]
async fn no_cacheable_jwks_lacks_the_signing_key_from_the_first_moment() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _child = tokio::process::Command::new(BIN)
        .env_clear()
        .envs([
            ("HOST", "127.0.0.1"),
            ("PORT", &port.to_string()),
            ("ALGO", "RS256"),
            ("ISSUE_DELAY", "0"),
        ])
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let (mut unavailable, mut sets) = (0, Vec::new());
    for _ in 0..6000 {
        let Ok(resp) = client.get(&url).send().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        match resp.status().as_u16() {
            503 => {
                assert_eq!(resp.headers()["cache-control"], "no-store");
                assert!(resp.headers().contains_key("retry-after"));
                unavailable += 1;
            }
            200 => {
                let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
                assert!(cache.starts_with("public, max-age="), "{cache}");
                sets.push(resp.json::<Value>().await.unwrap());
                break;
            }
            other => panic!("JWKS answered {other}"),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let first = sets.pop().expect("the JWKS never answered 200");
    let token = client
        .get(format!("http://127.0.0.1:{port}/anonymous/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let kid = crate::verify::split(&token).header["kid"].as_str().unwrap().to_owned();
    let kids: Vec<&str> = first["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&kid.as_str()),
        "first cacheable JWKS {kids:?} lacks the signing kid {kid}"
    );
    eprintln!("JWKS answered 503 {unavailable} times before its first key set");
}

#[tokio::test]
async fn a_static_key_is_announced_by_kid_and_never_echoed() {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/fixtures/keys/p256-sec1.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (child, base) = start_binary(&[("ALGO", "ES256"), ("SECRET_KEY", &pem)], None).await;
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), 200);
    signal(child.id().unwrap(), "TERM");
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("static key 6FoaG0Zw5qjTP629AsbLkkoKIKFj69aCNDReP39PKEM from SECRET_KEY"),
        "{log}"
    );
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!log.contains(&body[..40]), "key material in the log");
}

#[tokio::test]
async fn sigterm_wins_over_a_key_generation_in_progress() {
    // RSA-4096 generation takes seconds (more in a debug build): stop in the middle of it.
    let (child, base) = start_binary(&[("ALGO", "RS256"), ("RSA_KEY_BITS", "4096")], None).await;
    assert_eq!(
        reqwest::get(format!("{base}/readyz")).await.unwrap().status(),
        503,
        "generation already over"
    );
    let stopped = Instant::now();
    signal(child.id().unwrap(), "TERM");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "exit took {:?}",
        stopped.elapsed()
    );
}

#[tokio::test]
async fn a_second_signal_exits_at_once_without_waiting_for_the_drain() {
    let (child, base) = start_binary(&[("ISSUE_DELAY", "30"), ("SECRET_KEY", "lifecycle-test-secret")], None).await;
    let held = tokio::spawn(async move { reqwest::get(format!("{base}/anonymous/")).await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().unwrap();
    signal(pid, "INT");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !held.is_finished(),
        "the first signal must drain, not drop, the waiting request"
    );
    let second = Instant::now();
    signal(pid, "INT");
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "exit took {:?}",
        second.elapsed()
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("second signal"), "{log}");
}
