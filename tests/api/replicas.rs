//! Replicas sharing one PostgreSQL ring under accelerated rotation (seconds): every token from
//! any replica verifies against another replica's JWKS as a verifier caches it (for
//! `max-age`), one key is added per rotation, the replicas' JWKS converge, operators' `keys`
//! commands reach every replica, and the database can go away and come back.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use crate::helpers::binary::run;
use crate::helpers::postgres::fresh_database;
use crate::helpers::proxy::Proxy;
use crate::helpers::verify::{split, verify_jwk};
use crate::helpers::{TestApp, spawn_app};

pub const KEK: &str = "q2ovCyDO3HKLdnCEC-dOa0MKuMgbzFUAfPcc0BEBWgQ";
/// `JWKS_MAX_AGE` of these tests, seconds: how long the simulated verifiers cache a JWKS.
const MAX_AGE: f64 = 1.0;

/// The environment of a replica on `url` rotating every `interval` seconds.
pub fn replica_env<'a>(alg: &'a str, url: &'a str, interval: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ALGO", alg),
        ("KEY_STORE", url),
        ("KEY_ENCRYPTION_KEY", KEK),
        ("KEY_ROTATION_INTERVAL", interval),
        ("JWKS_MAX_AGE", "1"),
        ("KEY_STORE_SYNC_INTERVAL", "0.5"),
        ("TOKEN_TTL", "1"),
        ("CLOCK_LEEWAY", "1"),
    ]
}

pub async fn replicas(env: &[(&str, &str)], n: usize) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(spawn_app(env).await);
    }
    for app in &apps {
        app.wait_ready().await;
    }
    apps
}

pub async fn jwks(app: &TestApp) -> Value {
    app.get("/.well-known/jwks.json").await.json().await.unwrap()
}

pub fn kids(jwks: &Value) -> Vec<String> {
    let keys = jwks["keys"].as_array().unwrap();
    keys.iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

/// Tokens round-robin from `apps` for `seconds`, each verified against the JWKS of the next
/// replica as a verifier caching it for `MAX_AGE` holds it. Returns (tokens, failures); the
/// kids that signed are added to `kids_seen`.
async fn traffic_seen(apps: &[TestApp], seconds: f64, kids_seen: &mut Vec<String>) -> (usize, Vec<String>) {
    let n = apps.len();
    let mut caches: Vec<(Instant, Value)> = Vec::new();
    for app in apps {
        caches.push((Instant::now(), jwks(app).await));
    }
    let (mut tokens, mut failures) = (0, Vec::new());
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    for i in (0..n).cycle() {
        if Instant::now() >= end || tokens >= 100_000 {
            break;
        }
        let resp = apps[i].get("/anonymous/").await;
        if resp.status() != 200 {
            failures.push(format!("replica {i} answered {}", resp.status()));
            continue;
        }
        let token = resp.text().await.unwrap();
        tokens += 1;
        let j = (i + 1) % n;
        if caches[j].0.elapsed().as_secs_f64() >= MAX_AGE {
            caches[j] = (Instant::now(), jwks(&apps[j]).await);
        }
        let kid = split(&token).header["kid"].as_str().unwrap().to_owned();
        if !kids_seen.contains(&kid) {
            kids_seen.push(kid.clone());
        }
        let jwk = caches[j].1["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid);
        match jwk.map(|jwk| verify_jwk(&token, jwk)) {
            Some(Ok(_)) => {}
            Some(Err(e)) => failures.push(format!("replica {i}'s token, replica {j}'s key {kid}: {e}")),
            None => failures.push(format!(
                "replica {i} signed with {kid}, unknown to replica {j}'s cached JWKS"
            )),
        }
    }
    (tokens, failures)
}

pub async fn traffic(apps: &[TestApp], seconds: f64) -> (usize, Vec<String>) {
    traffic_seen(apps, seconds, &mut Vec::new()).await
}

/// Activation times of the stored keys: one key per rotation means no two share one.
async fn activations(url: &str) -> Vec<time::OffsetDateTime> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT activates_at FROM cusdeb_anonymous_keys ORDER BY activates_at")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

async fn share_one_ring(alg: &str, interval: &str, seconds: f64) {
    let Some(db) = fresh_database(&format!("replicas share one ring ({alg})")).await else {
        return;
    };
    let url = db.url.clone();
    let apps = replicas(&replica_env(alg, &url, interval), 3).await;
    let mut seen = Vec::new();
    let (tokens, failures) = traffic_seen(&apps, seconds, &mut seen).await;
    assert!(
        failures.is_empty(),
        "{alg}: {} of {tokens} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // However slow the machine, the traffic must have spanned rotations.
    assert!(
        seen.len() >= 3,
        "{alg}: {tokens} tokens signed by only {} keys",
        seen.len()
    );
    let times = activations(&url).await;
    let mut distinct = times.clone();
    distinct.dedup();
    assert_eq!(distinct, times, "{alg}: two keys for one rotation");
    // Converged within one sync: every replica publishes the same set.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sets = [
        kids(&jwks(&apps[0]).await),
        kids(&jwks(&apps[1]).await),
        kids(&jwks(&apps[2]).await),
    ];
    assert!(sets[0] == sets[1] && sets[1] == sets[2], "{alg}: JWKS differ: {sets:?}");
    eprintln!(
        "{alg}: {tokens} tokens by {} keys over {seconds} s from 3 replicas, every one verified by another replica's cached JWKS; {} keys stored",
        seen.len(),
        times.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_ring_in_every_family() {
    tokio::join!(
        share_one_ring("ES256", "3", 10.0),
        share_one_ring("EdDSA", "3", 10.0),
        share_one_ring("RS256", "5", 16.0),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_commands_reach_every_running_replica() {
    let Some(db) = fresh_database("keys_commands_reach_every_running_replica").await else {
        return;
    };
    let url = db.url.clone();
    let env = replica_env("ES256", &url, "60");
    let apps = replicas(&env, 3).await;
    let ready: Value = apps[0].wait_pending().await;
    let (active, pending) = (
        ready["active_kid"].as_str().unwrap().to_owned(),
        ready["next_kid"].as_str().unwrap().to_owned(),
    );

    let out = run(&env, &["keys", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&format!("{active}  ES256  active")) && listed.contains(&pending),
        "{listed}"
    );

    // Revoke the active key: gone everywhere within a sync, the pending key signs.
    let out = run(&env, &["keys", "revoke", &active]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("stop verifying") && said.contains("WARNING: revoking breaks"),
        "{said}"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for app in &apps {
        assert!(!kids(&jwks(app).await).contains(&active), "revoked key still published");
        assert_eq!(split(&app.token().await).header["kid"], pending.as_str());
    }

    // Rotate: the next pending key (made when the old one took over) signs once published
    // long enough — here at once, on every replica.
    let next = apps[0].wait_pending().await["next_kid"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1600)).await; // published JWKS_MAX_AGE + sync
    let out = run(&env, &["keys", "rotate"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Not before every replica has read the change: one sync (0.5 s) and a second from now
    // (the time is printed to the second).
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.split_whitespace().nth(4).unwrap();
    let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap();
    let lead = at - time::OffsetDateTime::now_utc();
    assert!(
        lead > time::Duration::milliseconds(400) && lead < time::Duration::milliseconds(1600),
        "{text}"
    );
    assert_ne!(split(&apps[0].token().await).header["kid"], next.as_str(), "too early");
    tokio::time::sleep(Duration::from_millis(2700)).await;
    for app in &apps {
        assert_eq!(split(&app.token().await).header["kid"], next.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_ridden_out_then_fails_closed_then_recovers() {
    let Some(db) = fresh_database("a_database_outage").await else {
        return;
    };
    let url = db.url.clone();
    let (proxy, through) = Proxy::before(&url).await;
    let env = replica_env("ES256", &through, "3");
    let apps = replicas(&env, 2).await;

    // Shorter than an interval: no client notices.
    proxy.cut();
    let (tokens, failures) = traffic(&apps, 1.5).await;
    assert!(
        failures.is_empty() && tokens >= 5,
        "{tokens} tokens, failures {failures:?}"
    );
    proxy.restore();
    let (_, failures) = traffic(&apps, 2.0).await;
    assert!(failures.is_empty(), "after a short outage: {failures:?}");

    // Longer than every key this replica knows: it stops signing (503), /readyz says why,
    // /healthz stays up.
    proxy.cut();
    let mut closed = false;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if apps[0].get("/anonymous/").await.status() == 503 {
            closed = true;
            break;
        }
    }
    assert!(closed, "still signing 15 s into the outage");
    let ready = apps[0].get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert!(
        ready.json::<Value>().await.unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("key store")
    );
    assert_eq!(apps[0].get("/healthz").await.status(), 200);

    // Back: ready again within a few syncs, tokens verify across replicas.
    proxy.restore();
    for app in &apps {
        app.wait_ready().await;
    }
    let (tokens, failures) = traffic(&apps, 2.0).await;
    assert!(failures.is_empty() && tokens >= 5, "after recovery: {failures:?}");
    let errors = apps[0].metric("cusdeb_anonymous_key_store_errors_total").await;
    assert!(errors >= 1.0, "store errors not counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_stopped_mid_traffic_and_all_restarted_keep_the_ring() {
    let Some(db) = fresh_database("replicas_restarted").await else {
        return;
    };
    let url = db.url.clone();
    let env = replica_env("EdDSA", &url, "3");
    let mut apps = replicas(&env, 3).await;
    // One replica goes away while the others serve through a rotation.
    let mut gone = apps.pop().unwrap();
    gone.trigger_stop();
    gone.join().await.unwrap();
    let (tokens, failures) = traffic(&apps, 4.0).await;
    assert!(failures.is_empty() && tokens >= 5, "{failures:?}");
    let last = split(&apps[0].token().await).header["kid"].as_str().unwrap().to_owned();
    let before: Value = apps[0].get("/readyz").await.json().await.unwrap();

    // All stop; all start again: ready at once, and the last kid before signs first after
    // (or, if its time ran out meanwhile, the key that was next).
    for mut app in apps.drain(..) {
        app.trigger_stop();
        app.join().await.unwrap();
    }
    let apps = [spawn_app(&env).await, spawn_app(&env).await, spawn_app(&env).await];
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let next_rotation = time::OffsetDateTime::parse(before["next_rotation"].as_str().unwrap(), rfc3339).unwrap();
    let next = before["next_kid"].as_str().unwrap().to_owned();
    let until_rotation = next_rotation - time::OffsetDateTime::now_utc();
    let expected: Vec<&str> = match until_rotation {
        d if d > time::Duration::seconds(1) => vec![&last],
        d if d < time::Duration::ZERO => vec![&next],
        _ => vec![&last, &next], // too close to tell which one the restart met
    };
    for app in &apps {
        let ready: Value = app.get("/readyz").await.json().await.unwrap();
        assert!(
            expected.contains(&ready["active_kid"].as_str().unwrap()),
            "{ready}, expected {expected:?}"
        );
    }
    let (_, failures) = traffic(&apps, 2.0).await;
    assert!(failures.is_empty(), "{failures:?}");
}
