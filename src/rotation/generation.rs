//! The task's side of key generation: a finished key waits for its write; a failure is
//! retried with backoff and the active key's extension is owed.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{Generated, Known, Rotation};
use crate::keyring::{KeyRecord, later};
use crate::keys::NewKey;

impl Rotation {
    /// Takes a finished generation: the key waits in `unstored` for its write; a failure is
    /// retried with backoff and the active key's extension is owed.
    pub(super) fn generated(&self, known: &mut Known, generated: Generated, started: Option<std::time::Instant>) {
        let now = self.clock.now();
        match generated {
            Ok(Ok(NewKey { key, pkcs8 })) => {
                known.generation_backoff.reset();
                let alg = key.algorithm();
                let kid = key.kid().unwrap_or_default().to_owned();
                let took_ms = started.map_or(0, |s| s.elapsed().as_millis() as u64);
                tracing::info!(kid, algorithm = alg.name(), took_ms, "key generated");
                known.unstored = Some(KeyRecord {
                    kid: kid.clone(),
                    algorithm: alg,
                    created_at: now,
                    public_jwk: key
                        .jwk()
                        .and_then(|j| serde_json::to_string(j).ok())
                        .unwrap_or_default(),
                    private_key: pkcs8,
                    times: crate::keyring::KeyTimes::forever(now),
                });
                known.signers.insert(kid, Arc::new(key));
            }
            Ok(Err(e)) => self.generation_failed(known, e.to_string(), now),
            Err(e) => self.generation_failed(known, e.to_string(), now),
        }
    }

    fn generation_failed(&self, known: &mut Known, error: String, now: OffsetDateTime) {
        let retry_in = known.generation_backoff.failed();
        tracing::error!(
            algorithm = self.target(known).name(),
            error,
            ?retry_in,
            "key generation failed; the active key keeps signing"
        );
        self.metrics.generation_failures.inc();
        known.generate_after = later(now, retry_in);
        known.extend = true;
    }
}
