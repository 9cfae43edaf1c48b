//! The rotation task: the one writer of the [`KeyRing`] under an asymmetric `ALGO`.
//!
//! It generates the first key (active at once) and then keeps one pending key at all times:
//! the moment a pending key activates, the next one is generated and published, a whole
//! `KEY_ROTATION_INTERVAL` before it signs. A failed generation is logged and retried with
//! backoff; meanwhile the active key keeps signing, past its interval if it must.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::alg_name;
use crate::keyring::{KeyRing, KeyState, Snapshot};
use crate::keys::{KeyError, SigningKey};

/// How keys are made; a function so tests can inject failures.
pub type Generator = Arc<dyn Fn(Algorithm) -> Result<SigningKey, KeyError> + Send + Sync>;

/// The real generator: `rsa_bits` for RSA algorithms, ring for the rest.
pub fn generator(rsa_bits: usize) -> Generator {
    Arc::new(move |alg| SigningKey::generate(alg, rsa_bits))
}

const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Runs until `shutdown` turns true.
pub async fn run(ring: Arc<KeyRing>, alg: Algorithm, generate: Generator, mut shutdown: watch::Receiver<bool>) {
    let mut retry = RETRY_MIN;
    loop {
        if let Some(snapshot) = ring.advance(OffsetDateTime::now_utc()) {
            log_transitions(&snapshot);
        }
        let mut wait = ring.load().next_event().map(until);
        if ring.load().wants_key() {
            let generate = generate.clone();
            match tokio::task::spawn_blocking(move || generate(alg)).await {
                Ok(Ok(key)) => {
                    retry = RETRY_MIN;
                    let snapshot = ring.insert(key, OffsetDateTime::now_utc());
                    log_transitions(&snapshot);
                    continue;
                }
                Ok(Err(e)) => {
                    tracing::error!(algorithm = alg_name(alg), error = %e, retry_in = ?retry, "key generation failed; the active key keeps signing")
                }
                Err(e) => {
                    tracing::error!(algorithm = alg_name(alg), error = %e, retry_in = ?retry, "key generation task failed")
                }
            }
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
fn until(t: OffsetDateTime) -> Duration {
    let delta = t - OffsetDateTime::now_utc();
    Duration::try_from(delta).unwrap_or(Duration::ZERO) + Duration::from_millis(1)
}

fn log_transitions(snapshot: &Snapshot) {
    for k in snapshot.keys() {
        let kid = k.key.kid().unwrap_or("-");
        let alg = alg_name(k.key.algorithm());
        match k.state {
            KeyState::Active => tracing::info!(kid, algorithm = alg, "key active"),
            KeyState::Pending => {
                tracing::info!(kid, algorithm = alg, activates_at = %k.activates_at, "key published (pending)")
            }
            KeyState::Retired => tracing::info!(kid, algorithm = alg, remove_at = ?k.remove_at, "key retired"),
        }
    }
}
