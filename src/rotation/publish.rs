//! The task's dealings with the store and the ring: writes through the store, what it
//! remembers of the store's answers, and the snapshot it publishes from them.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::{Known, RETRY_MAX, RETRY_MIN, Rotation, log};
use crate::keyring::{KeyRecord, Snapshot};
use crate::keys::{KeyError, SigningKey};

impl Rotation {
    /// Applies `change` through the store; keeps what it returns.
    pub(super) async fn write<F>(&self, known: &mut Known, change: F)
    where
        F: FnOnce(&mut Vec<KeyRecord>) -> bool + Send + 'static,
    {
        match self.store.update(change).await {
            Ok(records) => {
                let now = self.clock.now();
                self.stored(known, records, now);
            }
            Err(e) => self.store_failed(known, &e, "write"),
        }
    }

    pub(super) fn stored(&self, known: &mut Known, records: Vec<KeyRecord>, now: OffsetDateTime) {
        known.records = Some(records);
        known.store_retry = RETRY_MIN;
        if let Some(every) = self.sync_every {
            known.next_sync = now + every;
        }
        self.metrics.store_synced(now);
    }

    pub(super) fn store_failed(&self, known: &mut Known, error: &crate::store::StoreError, what: &str) {
        let retry_in = known.store_retry;
        tracing::error!(%error, ?retry_in, "key store {what} failed; serving the ring last known");
        self.metrics.store_errors.inc();
        // Back off, but never past one sync interval: a store that is back is read soon.
        let cap = self
            .sync_every
            .map_or(RETRY_MAX, |every| every.clamp(RETRY_MIN, RETRY_MAX));
        known.store_retry = (retry_in * 2).min(cap);
    }

    /// Builds the snapshot at `now` from the known records and publishes it if it differs.
    pub(super) fn publish(&self, known: &mut Known) {
        let Some(records) = known.records.as_ref() else {
            return;
        };
        let now = self.clock.now();
        let mut keys = Vec::with_capacity(records.len());
        for record in records {
            match signer(&mut known.signers, record) {
                Ok(key) => keys.push((key, record.times)),
                Err(e) => {
                    tracing::error!(kid = record.kid, error = %e, "a stored key cannot be loaded; it is left out")
                }
            }
        }
        known.signers.retain(|kid, _| records.iter().any(|r| &r.kid == kid));
        let after = Snapshot::at(keys, now);
        let before = self.ring().load_full();
        if log::changed(&before, &after) {
            log::record_changes(&before, &after, &self.metrics, &self.zone);
        }
        self.writer.publish(Arc::new(after));
    }
}

/// The signer of `record`, built once per kid. A record whose key does not produce its kid is
/// refused (a corrupt or tampered store).
fn signer(cache: &mut HashMap<String, Arc<SigningKey>>, record: &KeyRecord) -> Result<Arc<SigningKey>, KeyError> {
    if let Some(key) = cache.get(&record.kid) {
        return Ok(key.clone());
    }
    let key = SigningKey::from_pkcs8(record.algorithm, &record.private_key)?;
    if key.kid() != Some(record.kid.as_str()) {
        return Err(KeyError::new(format!(
            "stored key {} does not match its kid",
            record.kid
        )));
    }
    let key = Arc::new(key);
    cache.insert(record.kid.clone(), key.clone());
    Ok(key)
}
