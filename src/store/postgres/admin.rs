//! What operators' commands do on PostgreSQL: list the public facts, seal every key again
//! under the first key-encryption key, and check the store for `check-config`.

use std::collections::HashMap;

use sqlx::{Connection, Row};
use time::OffsetDateTime;

use super::rows::times;
use super::{PgStore, schema};
use crate::algorithm::Algorithm;
use crate::keyring::KeyTimes;
use crate::store::StoreError;
use crate::store::record::{self, Listed};

impl PgStore {
    /// The public facts of every key, without opening any (no `KEY_ENCRYPTION_KEY` needed).
    pub async fn list(&self) -> Result<(Option<Algorithm>, Vec<Listed>), StoreError> {
        self.call(async |conn| {
            if !schema::exists(conn).await.map_err(|e| self.failed(e))? {
                return Ok((None, Vec::new()));
            }
            self.check_version(conn).await?;
            let algorithm = self.ring_algorithm(conn, false).await?;
            let rows = self.rows(conn).await?;
            let listed = rows
                .iter()
                .map(|row| {
                    let sealed_by: Option<String> = row.try_get("sealed_by").ok().flatten();
                    let kid: String = row.try_get("kid").unwrap_or_default();
                    let times = times(row).unwrap_or(KeyTimes {
                        published_at: OffsetDateTime::UNIX_EPOCH,
                        activates_at: OffsetDateTime::UNIX_EPOCH,
                        retires_at: OffsetDateTime::UNIX_EPOCH,
                        removed_at: OffsetDateTime::UNIX_EPOCH,
                    });
                    Listed {
                        kid,
                        algorithm: row.try_get("algorithm").unwrap_or_default(),
                        sealed_by: Listed::sealing(true, sealed_by.as_deref()),
                        times,
                    }
                })
                .collect();
            Ok((algorithm, listed))
        })
        .await
    }

    /// Seals every key again under the first key-encryption key; how many changed.
    pub async fn rewrap(&self) -> Result<usize, StoreError> {
        let Some(kek) = self.kek.clone() else {
            return Err(StoreError::config(
                "KEY_ENCRYPTION_KEY",
                "`keys rewrap` seals the stored keys under the first KEY_ENCRYPTION_KEY: set it".into(),
            ));
        };
        self.call(async |conn| {
            self.migrate(conn).await?;
            let mut tx = conn.begin().await.map_err(|e| self.failed(e))?;
            self.ring_algorithm(&mut tx, true).await?;
            let records = self.read(&mut tx).await?;
            let first = kek.sealing_fingerprint();
            let sealed_by: HashMap<String, Option<String>> = self
                .rows(&mut tx)
                .await?
                .iter()
                .map(|r| (r.get::<String, _>("kid"), r.try_get("sealed_by").ok().flatten()))
                .collect();
            let mut changed = 0;
            for r in &records {
                if sealed_by.get(&r.kid).cloned().flatten().as_deref() != Some(first) {
                    changed += 1;
                }
                sqlx::query(&format!(
                    "UPDATE {} SET private_key = $2, sealed_by = $3 WHERE kid = $1",
                    schema::KEYS
                ))
                .bind(&r.kid)
                .bind(kek.seal(record::binding(r), &r.private_key))
                .bind(first)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.failed(e))?;
            }
            tx.commit().await.map_err(|e| self.failed(e))?;
            Ok(changed)
        })
        .await
    }

    /// For `check-config`: the server answers, the schema is not newer than this binary, and
    /// every record opens. Creates and migrates nothing.
    pub async fn check(&self) -> Result<String, StoreError> {
        self.call(async |conn| {
            if !schema::exists(conn).await.map_err(|e| self.failed(e))? {
                return Ok(format!(
                    "PostgreSQL at {} answers; the schema will be created at the first start",
                    self.endpoint
                ));
            }
            self.check_version(conn).await?;
            let records = self.read(conn).await?;
            Ok(format!(
                "PostgreSQL at {} answers; {} keys, all open under KEY_ENCRYPTION_KEY",
                self.endpoint,
                records.len()
            ))
        })
        .await
    }
}
