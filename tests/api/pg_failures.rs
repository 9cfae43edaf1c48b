//! PostgreSQL's failure paths: what waiting cannot cure exits 2 at start (no database, no
//! role, a key nothing opens, a schema from the future, hostile rows); a server out of reach
//! is retried with backoff, one connection attempt per step; a replica cut off stops signing
//! after `KEY_STORE_MAX_STALENESS` while still serving the keys it knows (`no-store`), and a
//! revoke issued meanwhile reaches it when it is back; a session holding the ring's row and
//! killed -9 stalls nobody.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use crate::helpers::binary::{run, spawn_logged, start_refused};
use crate::helpers::postgres::{TestDb, fresh_database};
use crate::helpers::proxy::Proxy;
use crate::helpers::spawn_app;
use crate::helpers::verify::{split, verify_jwk};
use crate::replicas::{KEK, jwks, kids, replica_env};

const OTHER_KEK: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn figure(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "FIGURES {line}");
}

/// A database holding a ring of ES256 keys (active and pending), and their kids.
async fn stored_ring(test: &str) -> Option<(TestDb, String, String)> {
    let db = fresh_database(test).await?;
    let env = [
        ("ALGO", "ES256"),
        ("KEY_STORE", db.url.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let mut app = spawn_app(&env).await;
    let ready = app.wait_pending().await;
    app.trigger_stop();
    app.join().await.unwrap();
    let (active, pending) = (
        ready["active_kid"].as_str().unwrap(),
        ready["next_kid"].as_str().unwrap(),
    );
    Some((db, active.to_owned(), pending.to_owned()))
}

async fn execute(url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

/// Starts the server on `url` (with `kek`) and expects exit 2 with one line naming `param` and
/// containing every one of `words`; how long it took.
async fn exits_2(url: &str, kek: &str, param: &str, words: &[&str]) -> Duration {
    let env = [("ALGO", "ES256"), ("KEY_STORE", url), ("KEY_ENCRYPTION_KEY", kek)];
    let (code, stderr, took) = start_refused(&env).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.lines().count() == 1 && stderr.contains(param), "{stderr}");
    for word in words {
        assert!(stderr.contains(word), "{word:?} not in {stderr}");
    }
    assert!(!stderr.contains(kek) && !stderr.contains("panicked"), "{stderr}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_waiting_cannot_cure_exits_2_at_start_naming_the_parameter() {
    let Some((db, active, pending)) = stored_ring("exit_2").await else {
        return;
    };
    let base = db.url.rsplit_once('/').unwrap().0.to_owned();
    let host = base.rsplit_once('@').unwrap().1.to_owned();
    let no_db = exits_2(
        &format!("{base}/cusdeb_no_such_db"),
        KEK,
        "KEY_STORE",
        &[&host, "does not exist"],
    )
    .await;
    let no_role_url = format!("postgres://cusdeb_no_such_role@{host}/postgres");
    let no_role = exits_2(&no_role_url, KEK, "KEY_STORE", &["cusdeb_no_such_role"]).await;
    let wrong_key = exits_2(&db.url, OTHER_KEK, "KEY_ENCRYPTION_KEY", &["does not hold"]).await;

    // Hostile rows, one at a time, each refused by kid.
    let kt = "public.cusdeb_anonymous_keys";
    let cases = [
        (
            format!("UPDATE {kt} SET retires_at = '9999-12-31', removed_at = '9999-12-31' WHERE kid = '{active}'"),
            "out of range",
        ),
        (
            format!("UPDATE {kt} SET removed_at = 'infinity' WHERE kid = '{active}'"),
            "not finite",
        ),
        (
            format!("UPDATE {kt} SET algorithm = 'ES384' WHERE kid = '{active}'"),
            "altered",
        ),
        (
            format!("UPDATE {kt} SET private_key = '\\x3082'::bytea WHERE kid = '{active}'"),
            "altered",
        ),
    ];
    let mut hostile = Vec::new();
    for (sql, why) in &cases {
        execute(&db.url, &format!("CREATE TABLE saved AS SELECT * FROM {kt}; {sql}")).await;
        hostile.push(exits_2(&db.url, KEK, "KEY_STORE", &[&active, why]).await);
        execute(
            &db.url,
            &format!("DELETE FROM {kt}; INSERT INTO {kt} SELECT * FROM saved; DROP TABLE saved"),
        )
        .await;
    }

    // A replayed row: revoked, then its saved row put back with new times.
    execute(
        &db.url,
        &format!("CREATE TABLE saved AS SELECT * FROM {kt} WHERE kid = '{pending}'"),
    )
    .await;
    let env = [
        ("ALGO", "ES256"),
        ("KEY_STORE", db.url.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    assert_eq!(run(&env, &["keys", "revoke", &pending]).status.code(), Some(0));
    execute(
        &db.url,
        &format!("UPDATE saved SET activates_at = now() + interval '1 hour', retires_at = now() + interval '2 hours', removed_at = now() + interval '3 hours'; INSERT INTO {kt} SELECT * FROM saved; DROP TABLE saved"),
    )
    .await;
    let replayed = exits_2(&db.url, KEK, "KEY_STORE", &[&pending, "never comes back"]).await;
    execute(&db.url, &format!("DELETE FROM {kt} WHERE kid = '{pending}'")).await;

    // A schema from a newer binary.
    execute(
        &db.url,
        "INSERT INTO public.cusdeb_anonymous_migrations (version) VALUES (99)",
    )
    .await;
    let newer = exits_2(&db.url, KEK, "KEY_STORE", &["newer"]).await;
    figure(&format!(
        "exit 2 at start (PostgreSQL): no database {no_db:?}, no role {no_role:?}, wrong KEY_ENCRYPTION_KEY {wrong_key:?}, hostile rows {hostile:?}, replayed row {replayed:?}, newer schema {newer:?}"
    ));
}

/// A TCP listener that counts connections and closes each at once: a "database" that never
/// answers. Its port and the count.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_out_of_reach_is_retried_with_backoff_one_connection_per_step() {
    let (port, attempts) = counting_listener().await;
    let url = format!("postgres://issuer@127.0.0.1:{port}/keys");
    let env = [
        ("ALGO", "ES256"),
        ("KEY_STORE", url.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let started = Instant::now();
    let (_child, base, lines) = spawn_logged(&env, &[]);
    let client = reqwest::Client::new();
    let mut listening = None;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            listening = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listening = listening.expect("not listening while the store is out of reach");
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    let n = attempts.load(Ordering::SeqCst);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let reason: Value = ready.json().await.unwrap();
    assert!(reason["reason"].as_str().unwrap().contains("key store"), "{reason}");
    assert!(
        (3..=9).contains(&n),
        "{n} connection attempts in 10 s (backoff 0.25 s doubling, jittered)"
    );
    let log = lines.lock().unwrap().join("\n");
    assert!(log.contains(&format!("PostgreSQL at 127.0.0.1:{port}")), "{log}");

    // A port nobody listens on: the cause is named.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://issuer@127.0.0.1:{closed}/keys");
    let env = [
        ("ALGO", "ES256"),
        ("KEY_STORE", url.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let (_refused, _, lines) = spawn_logged(&env, &[]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains(&format!("127.0.0.1:{closed}")) && log.to_lowercase().contains("refused"),
        "{log}"
    );
    figure(&format!(
        "store out of reach: listening after {listening:?}; {n} connection attempts in the first 10 s"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_stops_signing_after_the_staleness_bound_and_keeps_serving_its_keys() {
    let Some(db) = fresh_database("staleness").await else {
        return;
    };
    let (proxy, through) = Proxy::before(&db.url).await;
    let mut env_a = replica_env("ES256", &through, "4");
    env_a.push(("KEY_STORE_MAX_STALENESS", "2"));
    let mut env_b = replica_env("ES256", &db.url, "4");
    env_b.push(("KEY_STORE_MAX_STALENESS", "2"));
    let (a, b) = (spawn_app(&env_a).await, spawn_app(&env_b).await);
    a.wait_pending().await;
    b.wait_ready().await;
    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(a.token().await);
    }

    proxy.cut();
    let cut = Instant::now();
    // A blip shorter than the bound: nobody notices.
    while cut.elapsed() < Duration::from_millis(1200) {
        assert_eq!(a.get("/anonymous/").await.status(), 200, "a short cut was noticed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // An operator revokes the active key meanwhile; the replica that can read follows.
    let revoked = split(before.last().unwrap()).header["kid"].as_str().unwrap().to_owned();
    let out = run(&env_b, &["keys", "revoke", &revoked]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // Past the bound the cut-off replica signs nothing: 503, not ready, and says why.
    let mut closed_after = None;
    while cut.elapsed() < Duration::from_secs(6) {
        let resp = a.get("/anonymous/").await;
        if resp.status() == 503 {
            closed_after = Some(cut.elapsed());
            break;
        }
        assert_ne!(
            split(&resp.text().await.unwrap()).header["kid"].as_str(),
            Some(revoked.as_str()).filter(|_| cut.elapsed() > Duration::from_millis(2600)),
            "signed with a revoked key past the staleness bound"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed_after = closed_after.expect("still signing 6 s into the cut");
    assert!(
        closed_after >= Duration::from_millis(1400),
        "stopped at {closed_after:?}, before the bound"
    );
    let ready = a.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["reason"].as_str().unwrap().contains("KEY_STORE_MAX_STALENESS"),
        "{body}"
    );
    assert_eq!(a.get("/healthz").await.status(), 200);
    // Its keys are still served, uncacheable: tokens it signed before still verify.
    let resp = a.get("/.well-known/jwks.json").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let served: Value = resp.json().await.unwrap();
    let mut failures = 0;
    for token in &before {
        let kid = split(token).header["kid"].clone();
        let jwk = served["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid);
        if jwk.is_none_or(|jwk| verify_jwk(token, jwk).is_err()) {
            failures += 1;
        }
    }
    assert_eq!(
        failures, 0,
        "tokens signed before the cut failed against the JWKS served during it"
    );
    assert!(
        !kids(&jwks(&b).await).contains(&revoked),
        "the replica that reads still publishes it"
    );

    // Back: ready again, and the revoke has reached it.
    proxy.restore();
    a.wait_ready().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !kids(&jwks(&a).await).contains(&revoked),
        "the revoke did not reach the replica"
    );
    figure(&format!(
        "staleness bound 2 s: the cut-off replica stopped signing {closed_after:?} into the cut; 0 of {} earlier tokens failed against its JWKS",
        before.len()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_holding_the_ring_row_then_killed_stalls_nobody() {
    let Some(db) = fresh_database("row_lock").await else {
        return;
    };
    let env = replica_env("ES256", &db.url, "5");
    let app = spawn_app(&env).await;
    app.wait_pending().await;
    // A psql session takes the ring's row and sits on it, idle in its transaction.
    let mut holder = tokio::process::Command::new("psql")
        .args([&db.url, "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = holder.stdin.take().unwrap();
    stdin
        .write_all(b"BEGIN;\nSELECT 1 FROM public.cusdeb_anonymous_ring WHERE id = 1 FOR UPDATE;\n")
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    for _ in 0..100 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE '%FOR UPDATE%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = Instant::now();
    let mut answered = 0;
    while held.elapsed() < Duration::from_secs(7) {
        let status = app.get("/anonymous/").await.status();
        assert_eq!(status, 200, "signing stopped while a writer was blocked");
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let blocked = app.metric("cusdeb_anonymous_key_store_errors_total").await;
    assert!(blocked >= 1.0, "no write gave up on the held row");
    // kill -9 the holder: its lock goes with its connection; writes resume.
    holder.start_kill().unwrap();
    let _ = holder.wait().await;
    drop(stdin);
    let killed = Instant::now();
    let before = app.get("/readyz").await.json::<Value>().await.unwrap()["next_kid"].clone();
    let mut resumed = None;
    while killed.elapsed() < Duration::from_secs(20) {
        let ready: Value = app.get("/readyz").await.json().await.unwrap();
        if ready["next_kid"].is_string() && ready["next_kid"] != before {
            resumed = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = resumed.expect("rotation did not resume after the holder was killed");
    figure(&format!(
        "row held 7 s: {answered} tokens all 200, {blocked} writes gave up; rotation wrote again {resumed:?} after kill -9 of the holder"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_edges_list_without_the_key_check_config_opens_the_store_a_lost_ring_row_comes_back() {
    let Some((db, active, _)) = stored_ring("operators_edges").await else {
        return;
    };
    // `keys list` without KEY_ENCRYPTION_KEY: public facts, the sealing key's fingerprint.
    let out = run(
        &[("ALGO", "ES256"), ("KEY_STORE", &db.url)],
        &["keys", "list", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["ring_algorithm"], "ES256");
    let keys = listed["keys"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["kid"] == active.as_str() && k["state"] == "active")
    );
    assert!(
        keys.iter().all(|k| k["sealed_by"].as_str().unwrap().len() == 11),
        "{listed}"
    );

    // check-config opens the store as the server would.
    let env = [
        ("ALGO", "ES256"),
        ("KEY_STORE", db.url.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let out = run(&env, &["check-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 keys, all open"));
    let wrong = [
        ("ALGO", "ES256"),
        ("KEY_STORE", db.url.as_str()),
        ("KEY_ENCRYPTION_KEY", OTHER_KEK),
    ];
    assert_eq!(run(&wrong, &["check-config"]).status.code(), Some(2));
    let (port, _) = counting_listener().await;
    let away = format!("postgres://issuer@127.0.0.1:{port}/keys");
    let out = tokio::task::spawn_blocking(move || {
        run(
            &[
                ("ALGO", "ES256"),
                ("KEY_STORE", away.as_str()),
                ("KEY_ENCRYPTION_KEY", KEK),
            ],
            &["check-config"],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

    // The ring's row deleted by hand: the next change creates it again (it is what writers lock).
    execute(&db.url, "DELETE FROM public.cusdeb_anonymous_ring").await;
    let out = run(&env, &["keys", "rotate"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM public.cusdeb_anonymous_ring")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, 1);

    // A second start says nothing about the schema (no notices, no migration line).
    let (_child, base, lines) = spawn_logged(&env, &[]);
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = lines.lock().unwrap().join("\n");
    assert!(
        !log.contains("already exists") && !log.contains("schema migrated") && log.contains("starting"),
        "{log}"
    );
}
