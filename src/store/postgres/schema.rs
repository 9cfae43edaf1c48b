//! The PostgreSQL schema: schema-qualified tables, versioned migrations run once under an
//! advisory lock, and the query that reads keys without letting a hostile time reach a decoder.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use crate::store::StoreError;

pub const KEYS: &str = "public.cusdeb_anonymous_keys";
pub const RING: &str = "public.cusdeb_anonymous_ring";
pub const REMOVED: &str = "public.cusdeb_anonymous_removed";
const MIGRATIONS_TABLE: &str = "public.cusdeb_anonymous_migrations";

/// The migrations, in order, each a list of statements; each runs once per database.
const MIGRATIONS: [(i32, &[&str]); 2] = [
    (
        1,
        &[
            "CREATE TABLE public.cusdeb_anonymous_keys (
                kid          text PRIMARY KEY,
                algorithm    text NOT NULL,
                public_jwk   text NOT NULL,
                private_key  bytea NOT NULL,
                published_at timestamptz NOT NULL,
                activates_at timestamptz NOT NULL,
                retires_at   timestamptz NOT NULL,
                removed_at   timestamptz NOT NULL
            )",
            "CREATE TABLE public.cusdeb_anonymous_ring (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)",
            "INSERT INTO public.cusdeb_anonymous_ring (id, version) VALUES (1, 0)",
        ],
    ),
    (
        2,
        &[
            // Sealed keys bound to kid, algorithm and creation time, naming the sealing key;
            // rows of version 1 keep sealed_by NULL (the first format) until rewritten.
            "ALTER TABLE public.cusdeb_anonymous_keys ADD COLUMN created_at timestamptz, ADD COLUMN sealed_by text",
            "UPDATE public.cusdeb_anonymous_keys SET created_at = published_at",
            "ALTER TABLE public.cusdeb_anonymous_keys ALTER COLUMN created_at SET NOT NULL",
            // The algorithm the ring works towards (a rolling update that changes ALGO).
            "ALTER TABLE public.cusdeb_anonymous_ring ADD COLUMN algorithm text",
            // Removed kids: never brought back.
            "CREATE TABLE public.cusdeb_anonymous_removed (kid text PRIMARY KEY, removed_at timestamptz NOT NULL)",
        ],
    ),
];

/// The newest schema version this binary knows.
const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The keys, each time turned into NULL unless it is finite and between 2000 and 4000 (see
/// `keyring::EARLIEST`/`LATEST`), and whether the kid was removed before.
pub fn select_keys() -> String {
    let bounded = |column: &str| {
        format!(
            "CASE WHEN {column} BETWEEN '2000-01-01T00:00:00Z' AND '4000-01-01T00:00:00Z' THEN {column} END AS {column}"
        )
    };
    format!(
        "SELECT k.kid, k.algorithm, k.public_jwk, k.private_key, k.sealed_by, {}, {}, {}, {}, {},
                EXISTS (SELECT 1 FROM {REMOVED} r WHERE r.kid = k.kid) AS was_removed
         FROM {KEYS} k ORDER BY k.kid",
        bounded("created_at"),
        bounded("published_at"),
        bounded("activates_at"),
        bounded("retires_at"),
        bounded("removed_at"),
    )
}

/// Whether the schema exists at all.
pub async fn exists(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(&format!("SELECT to_regclass('{MIGRATIONS_TABLE}')::text"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// Refuses a schema newer than this binary (the outer error is the database's).
pub async fn check_version(conn: &mut PgConnection) -> Result<Result<(), StoreError>, sqlx::Error> {
    let newest: Option<i32> = sqlx::query_scalar(&format!("SELECT max(version) FROM {MIGRATIONS_TABLE}"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(match newest {
        Some(v) if v > LATEST => Err(StoreError::config(
            "KEY_STORE",
            format!(
                "the key store's schema is version {v}, newer than this binary knows ({LATEST}); run the newer binary"
            ),
        )),
        _ => Ok(()),
    })
}

/// Creates or migrates the schema in one transaction under an advisory lock, so replicas
/// starting together migrate once.
pub async fn migrate(conn: &mut PgConnection) -> Result<Result<(), StoreError>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cusdeb_anonymous_migrations'))")
        .execute(&mut *tx)
        .await?;
    if !exists(&mut tx).await? {
        sqlx::query(&format!(
            "CREATE TABLE {MIGRATIONS_TABLE} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .execute(&mut *tx)
        .await?;
    }
    if let Err(newer) = check_version(&mut tx).await? {
        return Ok(Err(newer));
    }
    let done: Vec<i32> = sqlx::query(&format!("SELECT version FROM {MIGRATIONS_TABLE}"))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for (version, statements) in MIGRATIONS {
        if done.contains(&version) {
            continue;
        }
        for statement in statements {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query(&format!("INSERT INTO {MIGRATIONS_TABLE} (version) VALUES ($1)"))
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tracing::info!(version, "key store schema migrated");
    }
    tx.commit().await?;
    Ok(Ok(()))
}
