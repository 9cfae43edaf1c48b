//! The rotation task: the one writer of the [`KeyRing`] under an asymmetric `ALGO` without a
//! static key.
//!
//! It reads the ring from the store (again every `KEY_STORE_SYNC_INTERVAL` when the store is
//! shared), asks [`plan`] what the ring needs at `now`, generates a key off the runtime when
//! one is needed and writes it through the store's transaction (which re-checks the need, so
//! racing replicas add one key), prunes removed keys, and publishes the snapshot at `now`.
//! A failed generation is logged and retried with backoff while the active key is extended in
//! the store; a store that cannot be reached is retried while the last known ring keeps
//! serving — and no key signs past its retire time (`Snapshot::signer`).

pub mod clock;
mod log;
mod publish;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

pub use clock::Clock;

use crate::algorithm::Algorithm;
use crate::keyring::{KeyRecord, KeyRing, RingWriter, Schedule, Snapshot, plan};
use crate::keys::{KeyError, NewKey, SigningKey};
use crate::metrics::RotationMetrics;
use crate::store::KeyStore;
use crate::zone::Zone;

/// How keys are made; a function so tests can inject failures.
pub type Generator = Arc<dyn Fn(Algorithm) -> Result<NewKey, KeyError> + Send + Sync>;

/// The real generator: `rsa_bits` for RSA algorithms, ring for the rest.
pub fn generator(rsa_bits: usize) -> Generator {
    Arc::new(move |alg| crate::keys::generate(alg, rsa_bits))
}

const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Everything the task needs.
pub struct Rotation {
    pub writer: RingWriter,
    pub store: Arc<KeyStore>,
    pub algorithm: Algorithm,
    pub schedule: Schedule,
    /// `KEY_STORE_SYNC_INTERVAL` for a shared store; `None` when this process is the only writer.
    pub sync_every: Option<Duration>,
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
    /// Signers already built, by kid: a sync does not parse every key again.
    signers: HashMap<String, Arc<SigningKey>>,
    next_sync: OffsetDateTime,
    store_retry: Duration,
    generation_retry: Duration,
    /// No generation before this time (backoff after a failure).
    generate_after: OffsetDateTime,
    /// A key being generated off the runtime, and when it started. Rounds (and syncs) go on
    /// meanwhile: a replica generating an RSA key for seconds still learns its peers' keys.
    generating: Option<(tokio::task::JoinHandle<Result<NewKey, KeyError>>, std::time::Instant)>,
}

impl Rotation {
    /// The ring this task writes.
    pub fn ring(&self) -> &Arc<KeyRing> {
        self.writer.ring()
    }

    /// Reads the store once (waiting at most `limit`) and publishes what it holds, so that a
    /// usable stored key signs from the very first request. A store that does not answer in
    /// time leaves the ring empty (not ready); the task retries.
    pub async fn prime(&self, limit: Duration) -> Primed {
        let now = self.clock.now();
        let mut known = Known {
            records: None,
            signers: HashMap::new(),
            next_sync: now,
            store_retry: RETRY_MIN,
            generation_retry: RETRY_MIN,
            generate_after: now,
            generating: None,
        };
        match tokio::time::timeout(limit, self.store.load()).await {
            Ok(Ok(records)) => {
                self.stored(&mut known, records, now);
                self.publish(&mut known);
            }
            Ok(Err(e)) => self.store_failed(&mut known, &e, "read"),
            Err(_) => tracing::warn!(?limit, "the key store did not answer at start; not ready until it does"),
        }
        Primed(known)
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

    /// One round: read, decide, write (a key `generated` since the last round too), publish.
    /// Returns how long to sleep at most.
    async fn round(&self, known: &mut Known, generated: Option<Generated>) -> Duration {
        if let Some(done) = generated {
            let started = known.generating.take().map(|(_, started)| started);
            self.generated(known, done, started).await;
        }
        let now = self.clock.now();
        let mut store_up = true;
        if known.records.is_none() || (self.sync_every.is_some() && now >= known.next_sync) {
            match self.store.load().await {
                Ok(records) => self.stored(known, records, now),
                Err(e) => {
                    self.store_failed(known, &e, "read");
                    store_up = false;
                }
            }
        }
        if store_up && let Some(records) = known.records.as_ref() {
            if records.iter().any(|r| r.times.removed_at <= now) {
                self.write(known, move |records| plan::prune(records, now)).await;
            }
            let need = known.records.as_ref().map(|r| plan::need(r, self.algorithm, now));
            if need.is_some_and(|n| n != plan::Need::Nothing)
                && now >= known.generate_after
                && known.generating.is_none()
            {
                let (generate, alg) = (self.generate.clone(), self.algorithm);
                let task = tokio::task::spawn_blocking(move || generate(alg));
                known.generating = Some((task, std::time::Instant::now()));
            }
        }
        // Even with the store down, the ring known so far moves on with time.
        self.publish(known);
        let now = self.clock.now();
        let mut wait = known
            .records
            .as_ref()
            .and_then(|r| plan::next_change(r, now))
            .map_or(Duration::from_secs(3600), |t| until(t, now));
        if let Some(every) = self.sync_every {
            wait = wait.min(until(known.next_sync, now)).min(every);
        }
        let needs_key = known
            .records
            .as_ref()
            .is_some_and(|r| plan::need(r, self.algorithm, now) != plan::Need::Nothing);
        // While a key is being generated, its completion wakes the task.
        if needs_key && known.generating.is_none() {
            wait = wait.min(until(known.generate_after, now));
        }
        if !store_up || known.records.is_none() {
            wait = wait.min(known.store_retry);
        }
        wait
    }

    /// Writes a generated key; on failure extends the active key and backs off.
    async fn generated(&self, known: &mut Known, generated: Generated, started: Option<std::time::Instant>) {
        let (schedule, now, alg) = (self.schedule, self.clock.now(), self.algorithm);
        match generated {
            Ok(Ok(NewKey { key, pkcs8 })) => {
                known.generation_retry = RETRY_MIN;
                let kid = key.kid().unwrap_or_default().to_owned();
                let took_ms = started.map_or(0, |s| s.elapsed().as_millis() as u64);
                tracing::info!(kid, algorithm = alg.name(), took_ms, "key generated");
                let record = KeyRecord {
                    kid: kid.clone(),
                    algorithm: alg,
                    public_jwk: key
                        .jwk()
                        .and_then(|j| serde_json::to_string(j).ok())
                        .unwrap_or_default(),
                    private_key: pkcs8,
                    times: crate::keyring::KeyTimes::forever(now),
                };
                known.signers.insert(kid, Arc::new(key));
                self.write(known, move |records| plan::add(records, record, now, &schedule))
                    .await;
            }
            failed => {
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                    Ok(Ok(_)) => unreachable!("handled above"),
                };
                let retry_in = known.generation_retry;
                tracing::error!(
                    algorithm = alg.name(),
                    error,
                    ?retry_in,
                    "key generation failed; the active key keeps signing"
                );
                self.metrics.generation_failures.inc();
                known.generate_after = now + retry_in;
                known.generation_retry = (retry_in * 2).min(RETRY_MAX);
                self.write(known, move |records| plan::extend(records, alg, now, &schedule))
                    .await;
            }
        }
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
