//! Limits shared by replicas through the real Redis on this machine (`redis://127.0.0.1:6379`;
//! each test its own database, flushed first): three replica processes give a client exactly
//! its burst, not three times it; the global ceiling holds across them; Redis going away falls
//! back to each replica's memory (`allow`) or refuses (`deny`), and comes back.

use std::time::{Duration, Instant};

use crate::helpers::binary::spawn_logged;
use crate::helpers::proxy::Proxy;
use crate::helpers::spawn_app;
use crate::limits::{as_client, sf_list};

const REDIS: &str = "127.0.0.1:6379";

/// Database `db` of the local Redis, emptied; `None` (the test says it is skipped) when no
/// Redis answers, unless `REQUIRE_REDIS=1` (CI).
pub async fn redis_db(test: &str, db: u8) -> Option<String> {
    let url = format!("redis://{REDIS}/{db}");
    let flushed = async {
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.ok()
    };
    match tokio::time::timeout(Duration::from_secs(3), flushed).await {
        Ok(Some(())) => Some(url),
        _ if std::env::var("REQUIRE_REDIS").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_REDIS=1 but Redis at {REDIS} does not answer")
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no Redis at {REDIS}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replica_processes_on_one_redis_give_a_client_exactly_its_burst() {
    let Some(url) = redis_db("three_replicas_one_redis", 3).await else {
        return;
    };
    let env = [
        ("ISSUE_DELAY", "0"),
        ("ISSUE_RATE", "5/h"),
        ("ISSUE_RATE_GLOBAL", "8/h"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LIMIT_STORE", url.as_str()),
        ("SECRET_KEY", crate::helpers::TEST_SECRET),
    ];
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(spawn_logged(&env, &[]));
    }
    // Each replica is connected to Redis when it says so.
    let started = Instant::now();
    while replicas
        .iter()
        .any(|(_, _, log)| !log.lock().unwrap().iter().any(|l| l.contains("connected to Redis")))
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "a replica never reached Redis"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = reqwest::Client::new();
    let ask = async |i: usize, who: &str| {
        let base = &replicas[i % 3].1;
        let resp = client
            .get(format!("{base}/anonymous/"))
            .header("x-forwarded-for", who)
            .send()
            .await
            .unwrap();
        let policy = resp
            .headers()
            .get("ratelimit")
            .map(|v| sf_list(v.to_str().unwrap())[0].0.clone());
        (resp.status().as_u16(), policy)
    };
    let mut first = Vec::new();
    for i in 0..12 {
        first.push(ask(i, "198.51.100.7").await);
    }
    let allowed = first.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(allowed, 5, "one client across three replicas: {first:?}");
    assert!(
        first[5..]
            .iter()
            .all(|(s, p)| *s == 429 && p.as_deref() == Some("client")),
        "{first:?}"
    );
    // A second client meets the global ceiling: 8 for everybody, 5 taken already.
    let mut second = Vec::new();
    for i in 0..6 {
        second.push(ask(i, "203.0.113.9").await);
    }
    assert_eq!(second.iter().filter(|(s, _)| *s == 200).count(), 3, "{second:?}");
    assert!(
        second[3..]
            .iter()
            .all(|(s, p)| *s == 429 && p.as_deref() == Some("global")),
        "{second:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_falls_back_to_memory_and_comes_back() {
    let Some(_) = redis_db("redis_outage", 4).await else {
        return;
    };
    let proxy = Proxy::start(REDIS.parse().unwrap()).await;
    let through = format!("redis://127.0.0.1:{}/4", proxy.port);
    let app = spawn_app(&[
        ("ISSUE_RATE", "3/min"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LIMIT_STORE", through.as_str()),
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await; // connected
    let statuses = async |who: &str, n: usize| {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(as_client(&app, who).await.status().as_u16());
        }
        out
    };
    assert_eq!(statuses("198.51.100.1", 4).await, [200, 200, 200, 429]);
    assert_eq!(
        app.metric("cusdeb_anonymous_limit_store_errors_total").await,
        0.0,
        "not in Redis"
    );

    // Redis away: this replica's memory decides, the same policy; one episode.
    proxy.cut();
    let started = Instant::now();
    assert_eq!(statuses("198.51.100.2", 4).await, [200, 200, 200, 429]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "each fallback waits at most a short timeout"
    );
    assert_eq!(app.metric("cusdeb_anonymous_limit_store_fallbacks_total").await, 1.0);
    assert!(app.metric("cusdeb_anonymous_limit_store_errors_total").await >= 4.0);

    // Back: the first client's count is Redis's again (this memory never saw it).
    proxy.restore();
    let mut shared_again = false;
    for _ in 0..100 {
        if as_client(&app, "198.51.100.1").await.status() == 429 {
            shared_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shared_again, "limits did not come back to Redis");
}

#[tokio::test]
async fn with_deny_a_redis_out_of_reach_refuses_tokens_at_once() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{closed}/0");
    let app = spawn_app(&[
        ("ISSUE_RATE", "3/min"),
        ("LIMIT_STORE", url.as_str()),
        ("LIMIT_STORE_FAILURE", "deny"),
    ])
    .await;
    let started = Instant::now();
    let resp = app.get("/anonymous/").await;
    assert_eq!(resp.status(), 503);
    // At once: well under the 2 s a connection attempt may take (debug build, busy CI).
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(resp.text().await.unwrap().contains("LIMIT_STORE_FAILURE=deny"));
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.metric("cusdeb_anonymous_limit_store_fallbacks_total").await, 1.0);
}
