//! The binary's first and last moments and its bad days: no cacheable JWKS before the first
//! key, SIGTERM winning over key generation, a second signal exiting at once, and running
//! out of file descriptors without dying or spinning.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::binary::{exited, signal, sigterm, spawn_binary, start_binary};

/// Polls the JWKS from the moment the port accepts: every answer is either a `503` that no
/// cache may keep, or a key set holding the key that signs the first token.
#[tokio::test]
async fn no_cacheable_jwks_lacks_the_signing_key_from_the_first_moment() {
    let (_child, port) = spawn_binary(&[("ALGO", "RS256"), ("ISSUE_DELAY", "0")], None);
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
    let token = text(&client, &format!("http://127.0.0.1:{port}/anonymous/")).await;
    let kid = crate::helpers::verify::split(&token).header["kid"]
        .as_str()
        .unwrap()
        .to_owned();
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
async fn sigterm_wins_over_a_key_generation_in_progress() {
    // RSA-4096 generation takes seconds (more in a debug build): stop in the middle of it.
    let (child, base) = start_binary(&[("ALGO", "RS256"), ("RSA_KEY_BITS", "4096")], None).await;
    assert_eq!(
        reqwest::get(format!("{base}/readyz")).await.unwrap().status(),
        503,
        "generation already over"
    );
    signal(child.id().unwrap(), "TERM");
    let (out, took) = exited(child).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
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
    signal(pid, "INT");
    let (out, took) = exited(child).await;
    assert_eq!(out.status.code(), Some(130));
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("second signal"), "{log}");
}

/// CPU time (user + system, clock ticks) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test]
async fn accept_errors_neither_kill_nor_spin_the_server() {
    // 40 descriptors: a few dozen connections exhaust them and accept() fails with EMFILE.
    let (child, base) = start_binary(&[("ISSUE_DELAY", "0"), ("RUST_LOG", "warn")], Some("ulimit -n 40")).await;
    let pid = child.id().unwrap();
    let addr = base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..80 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(pid) - before;
    assert!(
        used < 40,
        "the server used {used} ticks in 2 s while out of descriptors: spinning"
    );

    drop(held);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the server did not recover once descriptors were free");
    let metrics = text(&client, &format!("{base}/metrics")).await;
    let errors = crate::helpers::metric(&metrics, "cusdeb_anonymous_accept_errors_total");
    assert!(errors >= 1.0, "no accept error was counted");
    sigterm(pid);
    let (out, _) = exited(child).await;
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    let warnings = log.matches("accept failed").count();
    assert!(
        (1..=5).contains(&warnings),
        "one warning per streak of failures, not one per failure: {log}"
    );
}

/// The body of `GET url`.
async fn text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}
