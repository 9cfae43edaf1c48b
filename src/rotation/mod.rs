//! The rotation task: the one writer of the [`KeyRing`] under an asymmetric `ALGO` without a
//! static key.
//!
//! It reads the ring from the store (again every `KEY_STORE_SYNC_INTERVAL` when the store is
//! shared), asks [`plan`] what the ring needs at `now`, generates a key off the runtime when
//! one is needed and writes it through the store's transaction (which re-checks the need, so
//! racing replicas add one key), prunes removed keys, and publishes the snapshot at `now`.
//!
//! Failures (contract §6a): reads and writes back off separately ([`crate::backoff`]: exponential,
//! jittered, really slept), so a blocked writer never stops the reads that keep a replica
//! fresh. A generated key the store did not take is kept and written again, never generated
//! again. A failed generation is retried with backoff while the active key is extended in the
//! store. With a shared store, a replica that has not read it for `KEY_STORE_MAX_STALENESS`
//! stops signing (the snapshot carries the bound), so a key revoked meanwhile cannot sign
//! from it. No key ever signs past its retire time (`Snapshot::signer`).

mod generation;
mod log;
mod publish;

pub use crate::clock::{self, Clock};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::algorithm::Algorithm;
use crate::backoff::Backoff;
use crate::keyring::{KeyRecord, KeyRing, RingWriter, Schedule, plan};
use crate::keys::{KeyError, NewKey, SigningKey};
use crate::metrics::RotationMetrics;
use crate::store::{KeyStore, StoreError};
use crate::zone::Zone;

/// How keys are made; a function so tests can inject failures.
pub type Generator = Arc<dyn Fn(Algorithm) -> Result<NewKey, KeyError> + Send + Sync>;

/// The real generator: `rsa_bits` for RSA algorithms, ring for the rest.
pub fn generator(rsa_bits: usize) -> Generator {
    Arc::new(move |alg| crate::keys::generate(alg, rsa_bits))
}

/// Everything the task needs.
pub struct Rotation {
    pub writer: RingWriter,
    pub store: Arc<KeyStore>,
    /// `ALGO`: what this process claims for the ring when it starts.
    pub algorithm: Algorithm,
    pub schedule: Schedule,
    /// `KEY_STORE_SYNC_INTERVAL` for a shared store; `None` when this process is the only writer.
    pub sync_every: Option<Duration>,
    /// `KEY_STORE_MAX_STALENESS` for a shared store.
    pub max_staleness: Option<Duration>,
    pub generate: Generator,
    pub clock: Clock,
    pub metrics: RotationMetrics,
    /// For the lifecycle times in log lines.
    pub zone: Zone,
}

/// What the task knows before its first round: see [`Rotation::prime`].
pub struct Primed(Known);

/// The task's memory between rounds.
struct Known {
    /// The records as last read or written; `None` until the store answered once.
    records: Option<Vec<KeyRecord>>,
    /// The ring's algorithm as last read.
    ring_algorithm: Option<Algorithm>,
    /// Signers already built, by kid: a sync does not parse every key again.
    signers: HashMap<String, Arc<SigningKey>>,
    /// When the store answered a read (or a write) last.
    last_read: Option<OffsetDateTime>,
    /// No read before this time: the next sync, or the next retry after a failure.
    next_read: OffsetDateTime,
    read_backoff: Backoff,
    /// No write before this time (backoff after a failed write).
    write_after: OffsetDateTime,
    write_backoff: Backoff,
    /// A generated key the store has not taken yet: written again, never generated again.
    unstored: Option<KeyRecord>,
    /// This process started with an `ALGO` the ring does not have yet: claim it once.
    claim: bool,
    /// A generation failed: the active key's extension is still to be written.
    extend: bool,
    generation_backoff: Backoff,
    /// No generation before this time (backoff after a failure).
    generate_after: OffsetDateTime,
    /// A key being generated off the runtime, and when it started. Rounds (and syncs) go on
    /// meanwhile: a replica generating an RSA key for seconds still learns its peers' keys.
    generating: Option<(tokio::task::JoinHandle<Result<NewKey, KeyError>>, std::time::Instant)>,
}

impl Known {
    fn new(now: OffsetDateTime) -> Known {
        Known {
            records: None,
            ring_algorithm: None,
            signers: HashMap::new(),
            last_read: None,
            next_read: now,
            read_backoff: Backoff::default(),
            write_after: now,
            write_backoff: Backoff::default(),
            unstored: None,
            claim: true,
            extend: false,
            generation_backoff: Backoff::default(),
            generate_after: now,
            generating: None,
        }
    }
}

impl Rotation {
    /// The ring this task writes.
    pub fn ring(&self) -> &Arc<KeyRing> {
        self.writer.ring()
    }

    /// Reads the store once (waiting at most `limit`) and publishes what it holds, so that a
    /// usable stored key signs from the very first request. An answer that waiting cannot
    /// improve (wrong password, no database, a key nothing decrypts, a malformed record) is
    /// returned: the process exits 2. A store out of reach leaves the ring empty (not ready)
    /// and is retried with backoff.
    pub async fn prime(&self, limit: Duration) -> Result<Primed, StoreError> {
        let now = self.clock.now();
        let mut known = Known::new(now);
        match tokio::time::timeout(limit, self.store.load()).await {
            Ok(Ok(ring)) => {
                self.read_ok(&mut known, ring, now);
                let refused = self.publish(&mut known);
                if let Some((kid, error)) = refused.into_iter().next() {
                    return Err(StoreError::config(
                        "KEY_STORE",
                        format!("stored key {kid} cannot be loaded: {error}"),
                    ));
                }
            }
            Ok(Err(e)) if e.is_definitive() => return Err(e),
            Ok(Err(e)) => self.read_failed(&mut known, &e, now),
            Err(_) => {
                let error = StoreError::passing(format!("the key store did not answer within {limit:?} at start"));
                self.read_failed(&mut known, &error, now);
            }
        }
        Ok(Primed(known))
    }

    /// Runs until `shutdown` turns true — at once, even while a key is being generated (that
    /// blocking work is abandoned, not awaited).
    pub async fn run(self, primed: Primed, mut shutdown: watch::Receiver<bool>) {
        let Primed(mut known) = primed;
        let mut generated = None;
        loop {
            let wait = tokio::select! {
                wait = self.round(&mut known, generated.take()) => wait,
                _ = shutdown.changed() => return,
            };
            let generation = async {
                match known.generating.as_mut() {
                    Some((task, _)) => task.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                done = generation => generated = Some(done),
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// The algorithm the ring works towards: the ring's own, once known.
    fn target(&self, known: &Known) -> Algorithm {
        known.ring_algorithm.unwrap_or(self.algorithm)
    }

    /// One round: read when due, write what is owed, generate when needed, publish. Returns
    /// how long to sleep at most.
    async fn round(&self, known: &mut Known, generated: Option<Generated>) -> Duration {
        if let Some(done) = generated {
            let started = known.generating.take().map(|(_, started)| started);
            self.generated(known, done, started);
        }
        let now = self.clock.now();
        let reads_due = known.records.is_none() || self.sync_every.is_some();
        if reads_due && now >= known.next_read {
            match self.store.load().await {
                Ok(ring) => self.read_ok(known, ring, now),
                Err(e) => self.read_failed(known, &e, now),
            }
        }
        if known.records.is_some() && now >= known.write_after {
            self.writes(known, now).await;
        }
        let target = self.target(known);
        if let Some(records) = known.records.as_ref()
            && plan::need(records, target, now) != plan::Need::Nothing
            && known.unstored.is_none()
            && known.generating.is_none()
            && now >= known.generate_after
        {
            let generate = self.generate.clone();
            let task = tokio::task::spawn_blocking(move || generate(target));
            known.generating = Some((task, std::time::Instant::now()));
        }
        // Even with the store down, the ring known so far moves on with time.
        self.publish(known);

        let now = self.clock.now();
        let records = known.records.as_deref().unwrap_or_default();
        let mut wait = plan::next_change(records, now).map_or(Duration::from_secs(3600), |t| until(t, now));
        if reads_due {
            wait = wait.min(until(known.next_read, now));
        }
        if self.owes_writes(known, now) {
            wait = wait.min(until(known.write_after, now));
        }
        let needs_key = known.records.is_some() && plan::need(records, target, now) != plan::Need::Nothing;
        // While a key is being generated, its completion wakes the task.
        if needs_key && known.generating.is_none() && known.unstored.is_none() {
            wait = wait.min(until(known.generate_after, now));
        }
        wait
    }
}

/// What a generation task ends with.
type Generated = Result<Result<NewKey, KeyError>, tokio::task::JoinError>;

/// Time from now until `t` (zero if past), plus a millisecond so we wake after it, not before.
fn until(t: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let delta = t - now;
    Duration::try_from(delta).unwrap_or(Duration::ZERO) + Duration::from_millis(1)
}

#[cfg(test)]
mod tests;
