//! Rows to records and back: each row validated and opened (a bad one refused by kid), and the
//! difference between two rings written as deletes (kids remembered), inserts and updates.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};
use time::OffsetDateTime;

use super::{PgStore, schema};
use crate::keyring::{KeyRecord, KeyTimes};
use crate::store::StoreError;
use crate::store::record::{self, Sealed};

impl PgStore {
    pub(super) fn record(&self, row: &PgRow) -> Result<KeyRecord, StoreError> {
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
    pub(super) async fn write(
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
}

/// The four lifecycle times of a row; `None` if any is NULL (out of range in the query).
pub(super) fn times(row: &PgRow) -> Option<KeyTimes> {
    let time = |column: &str| row.try_get::<Option<OffsetDateTime>, _>(column).ok().flatten();
    Some(KeyTimes {
        published_at: time("published_at")?,
        activates_at: time("activates_at")?,
        retires_at: time("retires_at")?,
        removed_at: time("removed_at")?,
    })
}
