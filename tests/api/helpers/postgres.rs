//! A fresh PostgreSQL database per test, on the server `TEST_DATABASE_URL` names (default: the
//! local one, `postgres://postgres@127.0.0.1:5432/postgres`). Without a server the PostgreSQL
//! tests say that they are skipped and why — unless `REQUIRE_POSTGRES=1` (CI), which makes
//! a missing server a failure.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of a new, empty database, or `None` when no server answers (and it is allowed).
pub async fn fresh_database(test: &str) -> Option<String> {
    let server = server_url();
    let mut conn = match sqlx::PgConnection::connect(&server).await {
        Ok(conn) => conn,
        Err(e) if std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_POSTGRES=1 but PostgreSQL at {server} does not answer: {e}")
        }
        Err(e) => {
            // Written to the process's stderr directly: the test harness captures eprintln!,
            // and a skip must be seen in a plain `cargo test`.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL at {server} ({e}); set TEST_DATABASE_URL to run it"
            );
            return None;
        }
    };
    let name = format!(
        "cusdeb_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}
