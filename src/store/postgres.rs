//! `KEY_STORE=postgres://…`: one ring shared by any number of replicas. The schema is created
//! and migrated at first use by versioned migrations (under an advisory lock, so replicas
//! starting together migrate once). Every change is one transaction that first locks the
//! ring's version row, re-reads the keys and re-decides — so two replicas rotating at the same
//! moment add one key, not two — then writes the difference and bumps the version. Private
//! keys are always sealed (`KEY_ENCRYPTION_KEY` is required). The pool connects lazily: a
//! database that is down at start is retried by the rotation task, never an exit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use time::OffsetDateTime;

use super::StoreError;
use super::crypt::Kek;
use super::record::open_private;
use crate::keyring::{KeyRecord, KeyTimes};

/// The migrations, in order, each a list of statements; each runs once per database.
const MIGRATIONS: [(i32, &[&str]); 1] = [(
    1,
    &[
        "CREATE TABLE cusdeb_anonymous_keys (
            kid          text PRIMARY KEY,
            algorithm    text NOT NULL,
            public_jwk   text NOT NULL,
            private_key  bytea NOT NULL,
            published_at timestamptz NOT NULL,
            activates_at timestamptz NOT NULL,
            retires_at   timestamptz NOT NULL,
            removed_at   timestamptz NOT NULL
        )",
        "CREATE TABLE cusdeb_anonymous_ring (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)",
        "INSERT INTO cusdeb_anonymous_ring (id, version) VALUES (1, 0)",
    ],
)];

/// The shared store.
#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
    kek: Arc<Kek>,
    migrated: AtomicBool,
}

impl PgStore {
    /// A lazily connecting pool for `url`. Only a URL that cannot be parsed fails here.
    pub fn open(url: &str, kek: Arc<Kek>) -> Result<PgStore, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|_| StoreError::config("KEY_STORE", "the PostgreSQL URL cannot be parsed".into()))?;
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(PgStore {
            pool,
            kek,
            migrated: AtomicBool::new(false),
        })
    }

    /// Creates or migrates the schema, once per process (a second run would find every
    /// migration applied).
    async fn migrate(&self) -> Result<(), StoreError> {
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(failed)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cusdeb_anonymous_migrations'))")
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS cusdeb_anonymous_migrations
             (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        for (version, statements) in MIGRATIONS {
            let done: Option<i32> =
                sqlx::query_scalar("SELECT version FROM cusdeb_anonymous_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(failed)?;
            if done.is_none() {
                for statement in statements {
                    sqlx::query(statement).execute(&mut *tx).await.map_err(failed)?;
                }
                sqlx::query("INSERT INTO cusdeb_anonymous_migrations (version) VALUES ($1)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                tracing::info!(version, "key store schema migrated");
            }
        }
        tx.commit().await.map_err(failed)?;
        self.migrated.store(true, Ordering::Release);
        Ok(())
    }

    /// Every record.
    pub async fn load(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.migrate().await?;
        let mut conn = self.pool.acquire().await.map_err(failed)?;
        self.read(&mut conn).await
    }

    /// Applies `change` to the records as they are in the database, in one transaction that
    /// holds the ring's lock; writes the difference if it changed anything.
    pub async fn update<F>(&self, change: F) -> Result<Vec<KeyRecord>, StoreError>
    where
        F: FnOnce(&mut Vec<KeyRecord>) -> bool,
    {
        self.migrate().await?;
        let mut tx = self.pool.begin().await.map_err(failed)?;
        sqlx::query("SELECT version FROM cusdeb_anonymous_ring WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        let mut records = self.read(&mut tx).await?;
        let before: HashMap<String, KeyTimes> = records.iter().map(|r| (r.kid.clone(), r.times)).collect();
        if !change(&mut records) {
            tx.rollback().await.map_err(failed)?;
            return Ok(records);
        }
        self.write(&mut tx, &before, &records).await?;
        sqlx::query("UPDATE cusdeb_anonymous_ring SET version = version + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(records)
    }

    async fn read(&self, conn: &mut sqlx::PgConnection) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, public_jwk, private_key, published_at, activates_at, retires_at, removed_at
             FROM cusdeb_anonymous_keys ORDER BY activates_at, kid",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(failed)?;
        rows.into_iter()
            .map(|row| {
                let kid: String = row.try_get("kid").map_err(failed)?;
                let algorithm: String = row.try_get("algorithm").map_err(failed)?;
                let sealed: Vec<u8> = row.try_get("private_key").map_err(failed)?;
                let time = |column: &str| row.try_get::<OffsetDateTime, _>(column).map_err(failed);
                Ok(KeyRecord {
                    algorithm: algorithm
                        .parse()
                        .map_err(|_| StoreError::io(format!("key {kid}: unknown algorithm {algorithm}")))?,
                    public_jwk: row.try_get("public_jwk").map_err(failed)?,
                    private_key: open_private(&kid, &sealed, true, Some(&self.kek))?,
                    times: KeyTimes {
                        published_at: time("published_at")?,
                        activates_at: time("activates_at")?,
                        retires_at: time("retires_at")?,
                        removed_at: time("removed_at")?,
                    },
                    kid,
                })
            })
            .collect()
    }

    /// Deletes, inserts and updates what differs between `before` and `after`.
    async fn write(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        before: &HashMap<String, KeyTimes>,
        after: &[KeyRecord],
    ) -> Result<(), StoreError> {
        let gone: Vec<String> = before
            .keys()
            .filter(|kid| !after.iter().any(|r| &r.kid == *kid))
            .cloned()
            .collect();
        for kid in gone {
            sqlx::query("DELETE FROM cusdeb_anonymous_keys WHERE kid = $1")
                .bind(&kid)
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
        }
        for r in after {
            let t = &r.times;
            let sql = match before.get(&r.kid) {
                None => {
                    "INSERT INTO cusdeb_anonymous_keys
                         (kid, algorithm, public_jwk, private_key, published_at, activates_at, retires_at, removed_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                }
                Some(old) if old != t => {
                    "UPDATE cusdeb_anonymous_keys SET algorithm = $2, public_jwk = $3, private_key = $4,
                         published_at = $5, activates_at = $6, retires_at = $7, removed_at = $8 WHERE kid = $1"
                }
                Some(_) => continue,
            };
            sqlx::query(sql)
                .bind(&r.kid)
                .bind(r.algorithm.name())
                .bind(&r.public_jwk)
                .bind(self.kek.seal(&r.kid, &r.private_key))
                .bind(t.published_at)
                .bind(t.activates_at)
                .bind(t.retires_at)
                .bind(t.removed_at)
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
        }
        Ok(())
    }
}

/// A database error, for the log: sqlx's message (it names no password).
fn failed(e: sqlx::Error) -> StoreError {
    StoreError::io(format!("PostgreSQL: {e}"))
}
