//! The rotation task: the one writer of the [`KeyRing`] under an asymmetric `ALGO`.
//!
//! It generates the first key (active at once) and then keeps one pending key at all times:
//! the moment a pending key activates, the next one is generated and published, a whole
//! `KEY_ROTATION_INTERVAL` before it signs. A failed generation is logged and retried with
//! backoff; meanwhile the active key keeps signing, past its interval if it must.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::algorithm::Algorithm;
use crate::keyring::{KeyRing, KeyState, RingKey, Snapshot};
use crate::keys::{KeyError, SigningKey};
use crate::metrics::RotationMetrics;
use crate::zone::Zone;

/// How keys are made; a function so tests can inject failures.
pub type Generator = Arc<dyn Fn(Algorithm) -> Result<SigningKey, KeyError> + Send + Sync>;

/// The real generator: `rsa_bits` for RSA algorithms, ring for the rest.
pub fn generator(rsa_bits: usize) -> Generator {
    Arc::new(move |alg| SigningKey::generate(alg, rsa_bits))
}

/// Where the rotation task reads the time. `System` in production; `Tokio` follows tokio's
/// clock from a fixed wall-clock start, so a test with a paused clock drives rotation.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Tokio {
        start: OffsetDateTime,
        at: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `start` now and then moves with tokio's (possibly paused) clock.
    pub fn tokio(start: OffsetDateTime) -> Clock {
        Clock::Tokio {
            start,
            at: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        match self {
            Clock::System => OffsetDateTime::now_utc(),
            Clock::Tokio { start, at } => *start + at.elapsed(),
        }
    }
}

const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Runs until `shutdown` turns true — at once, even while a key is being generated (that
/// blocking work is abandoned, not awaited). Lifecycle times are logged in `zone`.
pub async fn run(
    ring: Arc<KeyRing>,
    alg: Algorithm,
    generate: Generator,
    clock: Clock,
    metrics: RotationMetrics,
    zone: Zone,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut retry = RETRY_MIN;
    loop {
        let before = ring.load_full();
        if let Some(after) = ring.advance(clock.now()) {
            record_changes(&before, &after, &metrics, &zone);
        }
        let mut wait = ring.load().next_event().map(|t| until(t, clock.now()));
        if ring.load().wants_key() {
            let generate = generate.clone();
            let started = std::time::Instant::now();
            let generation = tokio::task::spawn_blocking(move || generate(alg));
            let generated = tokio::select! {
                generated = generation => generated,
                _ = shutdown.changed() => return,
            };
            match generated {
                Ok(Ok(key)) => {
                    retry = RETRY_MIN;
                    let took_ms = started.elapsed().as_millis() as u64;
                    tracing::info!(
                        kid = key.kid().unwrap_or("-"),
                        algorithm = alg.name(),
                        took_ms,
                        "key generated"
                    );
                    let before = ring.load_full();
                    let after = ring.insert(key, clock.now());
                    record_changes(&before, &after, &metrics, &zone);
                    continue;
                }
                Ok(Err(e)) => {
                    tracing::error!(algorithm = alg.name(), error = %e, retry_in = ?retry, "key generation failed; the active key keeps signing")
                }
                Err(e) => {
                    tracing::error!(algorithm = alg.name(), error = %e, retry_in = ?retry, "key generation task failed")
                }
            }
            metrics.generation_failures.inc();
            wait = Some(wait.map_or(retry, |w| w.min(retry)));
            retry = (retry * 2).min(RETRY_MAX);
        }
        let sleep = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            _ = sleep => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Time from now until `t` (zero if past), plus a millisecond so we wake after it, not before.
fn until(t: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let delta = t - now;
    Duration::try_from(delta).unwrap_or(Duration::ZERO) + Duration::from_millis(1)
}

/// Logs each key's lifecycle event between two snapshots (published, activated, retired,
/// removed — with kid and algorithm) and counts rotations.
fn record_changes(before: &Snapshot, after: &Snapshot, metrics: &RotationMetrics, zone: &Zone) {
    let same = |a: &RingKey, b: &RingKey| Arc::ptr_eq(&a.key, &b.key);
    for k in after.keys() {
        let kid = k.key.kid().unwrap_or("-");
        let algorithm = k.key.algorithm().name();
        let previous = before.keys().iter().find(|p| same(p, k)).map(|p| p.state);
        if previous.is_none() {
            tracing::info!(kid, algorithm, activates_at = %zone.rfc3339(k.activates_at), "key published");
        }
        if previous == Some(k.state) {
            continue;
        }
        match k.state {
            KeyState::Active => {
                if previous == Some(KeyState::Pending) {
                    metrics.rotations.inc();
                }
                tracing::info!(kid, algorithm, "key activated");
            }
            KeyState::Retired => {
                let remove_at = k.remove_at.map(|t| zone.rfc3339(t)).unwrap_or_default();
                tracing::info!(kid, algorithm, remove_at, "key retired")
            }
            KeyState::Pending => {}
        }
    }
    for k in before
        .keys()
        .iter()
        .filter(|p| !after.keys().iter().any(|k| same(p, k)))
    {
        let algorithm = k.key.algorithm().name();
        tracing::info!(
            kid = k.key.kid().unwrap_or("-"),
            algorithm,
            "key removed; private key dropped"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::keyring::{Schedule, Snapshot};

    /// The task, on tokio's paused clock: generation failures are retried while nothing
    /// signs yet, then keys rotate on schedule and retired keys are removed.
    #[tokio::test(start_paused = true)]
    async fn rotates_on_schedule_and_retries_failed_generation() {
        crate::crypto::install();
        let schedule = Schedule {
            interval: Duration::from_secs(60),
            retention: Duration::from_secs(20),
        };
        let ring = Arc::new(KeyRing::new(Snapshot::empty(), schedule));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let generate: Generator = Arc::new(move |alg| {
            if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(KeyError::injected());
            }
            SigningKey::generate(alg, 2048)
        });
        let (stop, stop_rx) = watch::channel(false);
        let clock = Clock::tokio(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap());
        let metrics = RotationMetrics::default();
        let task = tokio::spawn(run(
            ring.clone(),
            Algorithm::ES256,
            generate,
            clock,
            metrics.clone(),
            Zone::get("UTC").unwrap(),
            stop_rx,
        ));

        // Two failures (retried after 250 ms, then 500 ms), then the first key and a pending one.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(ring.load().active().is_none());
        tokio::time::sleep(Duration::from_secs(1)).await;
        let first = ring.load_full();
        let a = first.active().expect("active after retries").kid().unwrap().to_owned();
        let b = first.pending().expect("pending").key.kid().unwrap().to_owned();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(metrics.generation_failures.get(), 2);
        assert_eq!(metrics.rotations.get(), 0);

        // One interval later B signs, A is retired, C is pending.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let second = ring.load_full();
        assert_eq!(second.active().unwrap().kid(), Some(b.as_str()));
        assert!(
            second
                .keys()
                .iter()
                .any(|k| k.key.kid() == Some(a.as_str()) && k.state == KeyState::Retired)
        );
        assert!(second.pending().is_some());
        assert_eq!(metrics.rotations.get(), 1);

        // After the retention A is gone.
        tokio::time::sleep(Duration::from_secs(21)).await;
        assert!(ring.load().keys().iter().all(|k| k.key.kid() != Some(a.as_str())));
        assert_eq!(ring.load().keys().len(), 2);

        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
