//! `KEY_STORE=postgres://…`: one ring shared by any number of replicas.
//!
//! One connection per process, made when needed and dropped after any error: each attempt is
//! one connection attempt, so the caller's backoff is the only pace. Every session sets
//! `lock_timeout`, `statement_timeout`, `idle_in_transaction_session_timeout` and server-side
//! TCP keepalives; every call is bounded by [`CALL_TIMEOUT`]. Errors name `host:port` and say
//! whether waiting can cure them (authentication, missing database or role: no).
//!
//! The schema (schema-qualified tables) is created and migrated at first use by versioned
//! migrations under an advisory lock; a schema newer than this binary is refused. Every change
//! is one transaction that first locks the ring's row (creating it if missing), re-reads the
//! keys and re-decides at a `now` read after the lock is held — so two replicas rotating at
//! the same moment add one key, not two — then writes the difference, remembers removed kids,
//! and bumps the version. Times outside sane bounds (`infinity` included) are turned into
//! NULL by the query itself, so no stored value can reach a decoder that panics.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::crypt::Kek;
use super::record;
use super::{CALL_TIMEOUT, Ring, StoreError};
use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::keyring::{KeyRecord, KeyTimes};

mod admin;
mod errors;
mod rows;
mod schema;

use errors::{cause, definitive};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The shared store.
#[derive(Debug)]
pub struct PgStore {
    options: PgConnectOptions,
    /// `host:port`, for error messages.
    endpoint: String,
    kek: Option<Arc<Kek>>,
    connection: Mutex<Option<PgConnection>>,
    migrated: AtomicBool,
}

impl PgStore {
    /// The store at `url`; nothing is connected yet. Only a URL that cannot be parsed fails.
    pub fn open(url: &str, kek: Option<Arc<Kek>>) -> Result<PgStore, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|_| StoreError::config("KEY_STORE", "the PostgreSQL URL cannot be parsed".into()))?;
        let endpoint = format!("{}:{}", options.get_host(), options.get_port());
        let options = options
            .options([
                ("lock_timeout", "2s"),
                ("statement_timeout", "5s"),
                ("idle_in_transaction_session_timeout", "10s"),
                ("tcp_keepalives_idle", "10"),
                ("tcp_keepalives_interval", "5"),
                ("tcp_keepalives_count", "3"),
                // The schema's notices ("already exists, skipping") are nobody's business.
                ("client_min_messages", "warning"),
            ])
            .log_statements(tracing::log::LevelFilter::Off);
        Ok(PgStore {
            options,
            endpoint,
            kek,
            connection: Mutex::new(None),
            migrated: AtomicBool::new(false),
        })
    }

    /// Runs `work` on the connection (made if there is none), for at most [`CALL_TIMEOUT`];
    /// drops the connection after any failure.
    async fn call<T>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.connection.lock().await;
        let result = tokio::time::timeout(CALL_TIMEOUT, async {
            if slot.is_none() {
                let connect = self.options.connect();
                let conn = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                    .await
                    .map_err(|_| {
                        StoreError::passing(format!(
                            "PostgreSQL at {}: no connection within {CONNECT_TIMEOUT:?}",
                            self.endpoint
                        ))
                    })?
                    .map_err(|e| self.failed(e))?;
                *slot = Some(conn);
            }
            let conn = slot.as_mut().expect("connected above");
            work(conn).await
        })
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::passing(format!(
                "PostgreSQL at {}: no answer within {CALL_TIMEOUT:?}",
                self.endpoint
            )))
        });
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// The ring, every record validated and opened.
    pub async fn load(&self) -> Result<Ring, StoreError> {
        self.call(async |conn| {
            self.migrate(conn).await?;
            let algorithm = self.ring_algorithm(conn, false).await?;
            let records = self.read(conn).await?;
            Ok(Ring { algorithm, records })
        })
        .await
    }

    /// Applies `change` to the ring as it is in the database, in one transaction that holds
    /// the ring's row lock, at a `now` read once the lock is held; writes the difference.
    pub async fn update<F>(&self, clock: Clock, change: F) -> Result<Ring, StoreError>
    where
        F: FnOnce(&mut Ring, OffsetDateTime) -> bool,
    {
        self.call(async |conn| {
            self.migrate(conn).await?;
            let mut tx = conn.begin().await.map_err(|e| self.failed(e))?;
            let algorithm = self.ring_algorithm(&mut tx, true).await?;
            let now = clock.now();
            let records = self.read(&mut tx).await?;
            let before: HashMap<String, KeyTimes> = records.iter().map(|r| (r.kid.clone(), r.times)).collect();
            let mut ring = Ring { algorithm, records };
            if !change(&mut ring, now) {
                tx.rollback().await.map_err(|e| self.failed(e))?;
                return Ok(ring);
            }
            self.write(&mut tx, &before, &ring.records, now).await?;
            sqlx::query(&format!(
                "UPDATE {} SET version = version + 1, algorithm = $1 WHERE id = 1",
                schema::RING
            ))
            .bind(ring.algorithm.map(Algorithm::name))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.failed(e))?;
            tx.commit().await.map_err(|e| self.failed(e))?;
            Ok(ring)
        })
        .await
    }

    /// Creates or migrates the schema, once per process.
    async fn migrate(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        match schema::migrate(conn).await {
            Ok(Ok(())) => {}
            Ok(Err(newer)) => return Err(newer),
            Err(e) => return Err(self.failed(e)),
        }
        self.migrated.store(true, Ordering::Release);
        Ok(())
    }

    async fn check_version(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        schema::check_version(conn).await.map_err(|e| self.failed(e))?
    }

    /// The ring's algorithm; with `lock`, the ring's row is created if missing and locked.
    async fn ring_algorithm(&self, conn: &mut PgConnection, lock: bool) -> Result<Option<Algorithm>, StoreError> {
        if lock {
            sqlx::query(&format!(
                "INSERT INTO {} (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
                schema::RING
            ))
            .execute(&mut *conn)
            .await
            .map_err(|e| self.failed(e))?;
        }
        let sql = format!(
            "SELECT algorithm FROM {} WHERE id = 1{}",
            schema::RING,
            if lock { " FOR UPDATE" } else { "" }
        );
        let name: Option<Option<String>> = sqlx::query_scalar(&sql)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| self.failed(e))?;
        match name.flatten() {
            Some(name) => record::algorithm("(ring)", &name).map(Some),
            None => Ok(None),
        }
    }

    async fn rows(&self, conn: &mut PgConnection) -> Result<Vec<PgRow>, StoreError> {
        sqlx::query(&schema::select_keys())
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.failed(e))
    }

    /// Every record, validated and opened; a bad one is refused by kid.
    async fn read(&self, conn: &mut PgConnection) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = self.rows(conn).await?;
        rows.iter().map(|row| self.record(row)).collect()
    }

    /// A database error, for the log: where, and sqlx's or the server's message (neither names
    /// a password). Definitive when waiting cannot cure it.
    fn failed(&self, e: sqlx::Error) -> StoreError {
        let message = format!("PostgreSQL at {}: {}", self.endpoint, cause(&e));
        if definitive(&e) {
            StoreError::config("KEY_STORE", message)
        } else {
            StoreError::passing(message)
        }
    }
}
