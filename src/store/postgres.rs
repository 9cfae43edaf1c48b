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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection, Row};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::crypt::Kek;
use super::record::{self, Sealed};
use super::{CALL_TIMEOUT, Ring, StoreError};
use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::keyring::{KeyRecord, KeyTimes};

mod admin;
mod errors;
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

    fn record(&self, row: &PgRow) -> Result<KeyRecord, StoreError> {
        let kid: String = row.try_get("kid").map_err(|e| self.failed(e))?;
        let bad = |why: &str| record::malformed(&kid, why);
        if row.try_get::<bool, _>("was_removed").unwrap_or(false) {
            return Err(bad(
                "was removed before; a removed key never comes back (the row was restored or replayed)",
            ));
        }
        let algorithm = record::algorithm(&kid, &row.try_get::<String, _>("algorithm").unwrap_or_default())?;
        let times = times(row).ok_or_else(|| bad("a stored time is missing, not finite or out of range"))?;
        let created_at: OffsetDateTime = row
            .try_get::<Option<OffsetDateTime>, _>("created_at")
            .ok()
            .flatten()
            .ok_or_else(|| bad("its creation time is missing, not finite or out of range"))?;
        let sealed_bytes: Vec<u8> = row.try_get("private_key").map_err(|_| bad("no private key"))?;
        let sealed_by: Option<String> = row.try_get("sealed_by").ok().flatten();
        let sealed = Sealed {
            kid: &kid,
            algorithm,
            created_at,
            legacy: sealed_by.is_none(),
            sealed_by: sealed_by.as_deref(),
        };
        let private_key = sealed.open(&sealed_bytes, self.kek.as_deref())?;
        let record = KeyRecord {
            public_jwk: row.try_get("public_jwk").map_err(|_| bad("no public key"))?,
            algorithm,
            created_at,
            private_key,
            times,
            kid: kid.clone(),
        };
        record.validate().map_err(|e| StoreError::config("KEY_STORE", e))?;
        Ok(record)
    }

    /// Deletes (remembering the kid), inserts and updates what differs between `before` and
    /// `after`.
    async fn write(
        &self,
        tx: &mut PgConnection,
        before: &HashMap<String, KeyTimes>,
        after: &[KeyRecord],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let kek = self.kek.as_deref().ok_or_else(|| {
            StoreError::config("KEY_ENCRYPTION_KEY", "required to write a PostgreSQL KEY_STORE".into())
        })?;
        let kept: HashSet<&str> = after.iter().map(|r| r.kid.as_str()).collect();
        for kid in before.keys().filter(|kid| !kept.contains(kid.as_str())) {
            sqlx::query(&format!("DELETE FROM {} WHERE kid = $1", schema::KEYS))
                .bind(kid)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.failed(e))?;
            sqlx::query(&format!(
                "INSERT INTO {} (kid, removed_at) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING",
                schema::REMOVED
            ))
            .bind(kid)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.failed(e))?;
        }
        for r in after {
            let t = &r.times;
            let sql = match before.get(&r.kid) {
                None => format!(
                    "INSERT INTO {} (kid, algorithm, public_jwk, private_key, sealed_by, created_at,
                         published_at, activates_at, retires_at, removed_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    schema::KEYS
                ),
                Some(old) if old != t => format!(
                    "UPDATE {} SET algorithm = $2, public_jwk = $3, private_key = $4, sealed_by = $5,
                         created_at = $6, published_at = $7, activates_at = $8, retires_at = $9,
                         removed_at = $10 WHERE kid = $1",
                    schema::KEYS
                ),
                Some(_) => continue,
            };
            sqlx::query(&sql)
                .bind(&r.kid)
                .bind(r.algorithm.name())
                .bind(&r.public_jwk)
                .bind(kek.seal(record::binding(r), &r.private_key))
                .bind(kek.sealing_fingerprint())
                .bind(r.created_at)
                .bind(t.published_at)
                .bind(t.activates_at)
                .bind(t.retires_at)
                .bind(t.removed_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.failed(e))?;
        }
        Ok(())
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

/// The four lifecycle times of a row; `None` if any is NULL (out of range in the query).
fn times(row: &PgRow) -> Option<KeyTimes> {
    let time = |column: &str| row.try_get::<Option<OffsetDateTime>, _>(column).ok().flatten();
    Some(KeyTimes {
        published_at: time("published_at")?,
        activates_at: time("activates_at")?,
        retires_at: time("retires_at")?,
        removed_at: time("removed_at")?,
    })
}
