//! The task's dealings with the store and the ring: the writes it owes and makes through the
//! store, what it remembers of the store's answers, and the snapshot it publishes from them.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::{Known, Rotation, log};
use crate::keyring::{Freshness, KeyRecord, Snapshot, later, plan};
use crate::keys::{KeyError, SigningKey};
use crate::store::{Ring, StoreError};

impl Rotation {
    /// Whether a write is owed: the ring's algorithm to claim, removed keys to prune, a key
    /// to store, an extension to record.
    pub(super) fn owes_writes(&self, known: &Known, now: OffsetDateTime) -> bool {
        let prune = known
            .records
            .as_ref()
            .is_some_and(|r| r.iter().any(|r| r.times.removed_at <= now));
        known.records.is_some() && (known.claim || prune || known.unstored.is_some() || known.extend)
    }

    /// Writes what is owed, in order; stops at the first failure (the write backoff holds
    /// the rest until the next attempt).
    pub(super) async fn writes(&self, known: &mut Known, now: OffsetDateTime) {
        if known.claim {
            let alg = self.algorithm;
            let claimed = self
                .write(known, move |ring, _| {
                    if ring.algorithm == Some(alg) {
                        return false;
                    }
                    if let Some(previous) = ring.algorithm {
                        tracing::warn!(
                            from = previous.name(),
                            to = alg.name(),
                            "ALGO differs from the key ring's: this process, started last, moves the ring to its ALGO; keys of the old algorithm retire as the new one's take over"
                        );
                    }
                    ring.algorithm = Some(alg);
                    true
                })
                .await;
            if !claimed {
                return;
            }
            known.claim = false;
        }
        let prune = known
            .records
            .as_ref()
            .is_some_and(|r| r.iter().any(|r| r.times.removed_at <= now));
        if prune && !self.write(known, |ring, now| plan::prune(&mut ring.records, now)).await {
            return;
        }
        if let Some(record) = known.unstored.clone() {
            let schedule = self.schedule;
            if !self
                .write(known, move |ring, now| {
                    plan::add(&mut ring.records, record, now, &schedule)
                })
                .await
            {
                return;
            }
            known.unstored = None;
        }
        if known.extend {
            let (alg, schedule) = (self.target(known), self.schedule);
            if self
                .write(known, move |ring, now| {
                    plan::extend(&mut ring.records, alg, now, &schedule)
                })
                .await
            {
                known.extend = false;
            }
        }
    }

    /// Applies `change` through the store (at the store's `now`); keeps what it returns.
    /// Whether the store took it.
    pub(super) async fn write<F>(&self, known: &mut Known, change: F) -> bool
    where
        F: FnOnce(&mut Ring, OffsetDateTime) -> bool + Send + 'static,
    {
        match self.store.update(self.clock, change).await {
            Ok(ring) => {
                let now = self.clock.now();
                self.read_ok(known, ring, now);
                known.write_backoff.reset();
                true
            }
            Err(e) => {
                let now = self.clock.now();
                let retry_in = known.write_backoff.failed();
                known.write_after = later(now, retry_in);
                self.metrics.store_errors.inc();
                let kept = known.unstored.as_ref().map(|r| r.kid.as_str());
                tracing::error!(%e, ?retry_in, kept_key = kept, "key store write failed; the ring last known serves, the write is retried");
                false
            }
        }
    }

    /// The store answered at `now` with `ring`.
    pub(super) fn read_ok(&self, known: &mut Known, ring: Ring, now: OffsetDateTime) {
        if ring.algorithm == Some(self.algorithm) {
            known.claim = false;
        }
        known.records = Some(ring.records);
        known.ring_algorithm = ring.algorithm;
        known.last_read = Some(now);
        known.read_backoff.reset();
        known.next_read = match self.sync_every {
            Some(every) => later(now, every),
            None => now,
        };
        self.metrics.store_synced(now);
    }

    /// A read failed at `now`: the next one waits out the backoff.
    pub(super) fn read_failed(&self, known: &mut Known, error: &StoreError, now: OffsetDateTime) {
        let retry_in = known.read_backoff.failed();
        known.next_read = later(now, retry_in);
        self.metrics.store_errors.inc();
        match known.records {
            Some(_) => tracing::error!(%error, ?retry_in, "key store read failed; serving the ring last known"),
            None => tracing::error!(%error, ?retry_in, "key store read failed; not ready until it answers"),
        }
    }

    /// Builds the snapshot at `now` from the known records and publishes it. Returns the
    /// records whose key could not be loaded (left out), with why.
    pub(super) fn publish(&self, known: &mut Known) -> Vec<(String, KeyError)> {
        let Some(records) = known.records.as_ref() else {
            return Vec::new();
        };
        let now = self.clock.now();
        let mut keys = Vec::with_capacity(records.len());
        let mut refused = Vec::new();
        for record in records {
            match signer(&mut known.signers, record) {
                Ok(key) => keys.push((key, record.times)),
                Err(e) => {
                    tracing::error!(kid = record.kid, error = %e, "a stored key cannot be loaded; it is left out");
                    refused.push((record.kid.clone(), e));
                }
            }
        }
        let unstored = known.unstored.as_ref().map(|r| r.kid.as_str());
        known
            .signers
            .retain(|kid, _| records.iter().any(|r| &r.kid == kid) || Some(kid.as_str()) == unstored);
        let freshness = match (self.max_staleness, known.last_read) {
            (Some(bound), Some(read)) => Some(Freshness {
                last_read: read,
                until: later(read, bound),
            }),
            _ => None,
        };
        let after = Snapshot::at(keys, now).with_freshness(freshness);
        let before = self.ring().load_full();
        if log::changed(&before, &after) {
            log::record_changes(&before, &after, &self.metrics, &self.zone);
        }
        self.writer.publish(Arc::new(after));
        refused
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
