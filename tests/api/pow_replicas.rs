//! One solution, one token across replicas: the replay store in Redis, and what happens when
//! Redis is out of reach (`LIMIT_STORE_FAILURE`).

use std::time::{Duration, Instant};

use crate::helpers::altcha::{gated, solved, take};
use crate::shared_limits::redis_db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_used_at_one_replica_is_refused_at_another_through_redis() {
    let Some(url) = redis_db("pow_replay_two_replicas", 5).await else {
        return;
    };
    let env = [("LIMIT_STORE", url.as_str())];
    let (a, b) = (gated(&env).await, gated(&env).await);
    tokio::time::sleep(Duration::from_millis(500)).await; // connected
    // A challenge from one replica is good at the other (one POW_HMAC_KEY) ...
    let body = solved(&a).await;
    assert_eq!(take(&b, &body).await.0, 200);
    // ... once: at either.
    assert_eq!(take(&a, &body).await, (403, "replayed".into()));
    assert_eq!(take(&b, &body).await, (403, "replayed".into()));
    // The nonce is in Redis, expiring with its challenge.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("cusdeb-anonymous:pow:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    let ttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(
        (100_000..=122_000).contains(&ttl),
        "kept until the challenge expires: {ttl} ms"
    );
    assert_eq!(
        a.metric("cusdeb_anonymous_pow_replay_entries").await,
        0.0,
        "not in memory"
    );
}

#[tokio::test]
async fn redis_out_of_reach_follows_limit_store_failure() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{closed}/0");
    // deny: refused at once with a 503, nothing issued.
    let deny = gated(&[("LIMIT_STORE", url.as_str()), ("LIMIT_STORE_FAILURE", "deny")]).await;
    let body = solved(&deny).await;
    let started = Instant::now();
    let resp = deny.get_with("/anonymous/", "Altcha", &body).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    // At once: well under the 2 s a connection attempt may take (debug build, busy CI).
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(deny.metric("cusdeb_anonymous_pow_replay_store_errors_total").await >= 1.0);
    // allow: this replica's memory still refuses a replay.
    let allow = gated(&[("LIMIT_STORE", url.as_str())]).await;
    let body = solved(&allow).await;
    assert_eq!(take(&allow, &body).await.0, 200);
    assert_eq!(take(&allow, &body).await, (403, "replayed".into()));
}
