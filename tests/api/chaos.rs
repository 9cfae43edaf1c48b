//! Replicas on one PostgreSQL ring that disagree or die: replicas with different `ALGO`
//! (a rolling update) move the ring once and do not fight; three replica processes killed
//! with SIGKILL at random moments — inside a write transaction or not — and restarted keep
//! every token verifiable against every other replica's JWKS.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::binary::{run, signal, spawn_logged};
use crate::helpers::postgres::fresh_database;
use crate::helpers::spawn_app;
use crate::helpers::verify::{split, verify_jwk};
use crate::replicas::{jwks, kids, replica_env, traffic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_with_different_algo_move_the_ring_once_and_do_not_fight() {
    let Some(db) = fresh_database("algo_change").await else {
        return;
    };
    let (old, new) = (replica_env("ES256", &db.url, "2"), replica_env("EdDSA", &db.url, "2"));
    let mut apps = vec![spawn_app(&old).await, spawn_app(&old).await];
    apps[0].wait_pending().await;
    // The rolling update: a replica with the new ALGO joins the old ones.
    apps.push(spawn_app(&new).await);
    apps[2].wait_ready().await;
    let mut seen: Vec<String> = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        for app in &apps {
            for kid in kids(&jwks(app).await) {
                if !seen.contains(&kid) {
                    seen.push(kid);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One key per 2 s rotation, and the keys of the switch itself; fighting replicas replace
    // each other's pending key at every 0.5 s sync.
    assert!(seen.len() <= 9, "{} keys in 8 s: the replicas fight", seen.len());
    let (tokens, failures) = traffic(&apps, 3.0).await;
    assert!(failures.is_empty() && tokens >= 5, "{failures:?}");
    for app in &apps {
        let token = app.token().await;
        assert_eq!(
            split(&token).header["alg"],
            "EdDSA",
            "every replica signs with the ring's algorithm"
        );
    }
    let out = run(&old, &["keys", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ring algorithm: EdDSA"));
}

/// A replica process and its base URL; `None` while it is dead.
type Replica = Option<(tokio::process::Child, String)>;

async fn start(env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let (child, base, _) = spawn_logged(env, &[]);
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(resp) = client.get(format!("{base}/readyz")).send().await
            && resp.status() == 200
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica not ready within 15 s");
}

/// A pseudo-random number below `n`, from the clock.
fn pick(n: usize) -> usize {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize
        / 7)
        % n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_processes_killed_at_random_and_restarted_keep_every_token_verifiable() {
    let Some(db) = fresh_database("kill_9").await else {
        return;
    };
    let mut env = replica_env("ES256", &db.url, "2");
    env.push(("ISSUE_DELAY", "0"));
    let mut replicas: Vec<Replica> = Vec::new();
    for _ in 0..3 {
        replicas.push(Some(start(&env).await));
    }
    let client = reqwest::Client::new();
    let (mut tokens, mut failures, mut kills) = (0, Vec::new(), 0);
    for round in 0..8 {
        // Traffic for a while: tokens from every live replica, each verified against the JWKS
        // of the next live one, fetched fresh (a verifier whose cache just expired).
        let until = Instant::now() + Duration::from_millis(300 + 150 * pick(8) as u64);
        while Instant::now() < until {
            let live: Vec<&String> = replicas.iter().flatten().map(|(_, base)| base).collect();
            for (i, base) in live.iter().enumerate() {
                let resp = client.get(format!("{base}/anonymous/")).send().await.unwrap();
                if resp.status() != 200 {
                    failures.push(format!("round {round}: {base} answered {}", resp.status()));
                    continue;
                }
                let token = resp.text().await.unwrap();
                tokens += 1;
                let other = live[(i + 1) % live.len()];
                let set: Value = client
                    .get(format!("{other}/.well-known/jwks.json"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let kid = split(&token).header["kid"].clone();
                let jwk = set["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid);
                if jwk.is_none_or(|jwk| verify_jwk(&token, jwk).is_err()) {
                    failures.push(format!(
                        "round {round}: {base}'s token ({kid}) does not verify at {other}"
                    ));
                }
            }
        }
        // SIGKILL a random replica at a random moment (the traffic above ran a random time),
        // and bring it back.
        let victim = pick(3);
        if let Some((child, _)) = replicas[victim].take() {
            signal(child.id().unwrap(), "KILL");
            let _ = child.wait_with_output().await;
            kills += 1;
        }
        for slot in replicas.iter_mut().filter(|r| r.is_none()) {
            *slot = Some(start(&env).await);
        }
    }
    assert!(kills == 8 && tokens >= 50, "{kills} kills, {tokens} tokens");
    assert!(
        failures.is_empty(),
        "{} of {tokens} failed: {failures:?}",
        failures.len()
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "FIGURES kill -9: {kills} replica processes killed and restarted, {tokens} tokens, 0 failed verification"
    );
}
