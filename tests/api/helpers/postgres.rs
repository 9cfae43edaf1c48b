//! A fresh PostgreSQL database per test, on the server `TEST_DATABASE_URL` names (default: the
//! local one, `postgres://postgres@127.0.0.1:5432/postgres`). Without a server the PostgreSQL
//! tests say that they are skipped and why — unless `REQUIRE_POSTGRES=1` (CI), which makes
//! a missing server a failure. Each database is dropped when its [`TestDb`] is (the test
//! passed or panicked); databases left by a test process that was killed are dropped by the
//! next run.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test: dropped with this value.
pub struct TestDb {
    pub url: String,
    name: String,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (server, name) = (server_url(), self.name.clone());
        // A runtime of its own: this may run inside or outside a test's runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&server).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Drops the databases of earlier test processes that are gone (killed before their drops).
async fn sweep(conn: &mut sqlx::PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'cusdeb_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A new, empty database, or `None` when no server answers (and it is allowed).
pub async fn fresh_database(test: &str) -> Option<TestDb> {
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
    if NEXT.load(Ordering::SeqCst) == 0 {
        sweep(&mut conn).await;
    }
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
    Some(TestDb {
        url: format!("{base}/{name}"),
        name,
    })
}
