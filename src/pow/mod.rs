//! The proof-of-work gate (`POW=altcha`, contract §9): work before a token. A farm of many
//! addresses gets past per-client limits; it does not get past a few million PBKDF2
//! iterations per token.
//!
//! - [`altcha`]: the ALTCHA v2 challenge and payload on the wire, and their checks.
//! - [`replay`]: one solution, one token — used challenges in memory or in Redis.
//!
//! A token request's payload is checked in this order, each step cheaper than the next: shape
//! (no heap), signature (one HMAC, constant time), expiry, first use (the replay store takes
//! the nonce), solution (one key derivation, constant time). A challenge whose solution is
//! wrong is used up all the same, so nothing sent twice costs a second derivation, and at
//! most half the cores derive at once, so a flood of wrong solutions to fresh challenges
//! queues behind itself while the other half signs and serves.

pub mod altcha;
pub mod replay;

use std::sync::Arc;
use std::time::Duration;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

use crate::config::limits::OnFailure;
use crate::config::pow::PowConfig;
use crate::metrics::PowMetrics;
use crate::redis_link::RedisLink;
pub use altcha::{DIFFICULTY_BITS, Parameters};
use replay::{Replay, Use};

/// The protocol, as the README and the start-up log name it.
pub const PROTOCOL: &str = "v2 (widget altcha 3, library altcha 2)";

/// Why a token request is refused at the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `altcha` parameter and no `Altcha` header.
    Missing,
    /// Not base64, not JSON, not a payload's shape, or too long.
    Malformed(&'static str),
    /// Not signed by this service, or parameters changed since.
    Tampered,
    /// The challenge's time is up.
    Expired,
    /// The solution does not solve the challenge (a wrong counter or key, or another
    /// challenge's solution).
    Wrong,
    /// The challenge bought a token already.
    Replayed,
    /// Whether it was used cannot be told now (Redis out of reach under `deny`, or the
    /// replay store is full).
    Unavailable,
}

impl Refusal {
    /// The `outcome` label this refusal counts under (one of [`crate::metrics::OUTCOMES`]).
    fn outcome(self) -> usize {
        match self {
            Refusal::Missing => 1,
            Refusal::Malformed(_) | Refusal::Tampered | Refusal::Wrong => 2,
            Refusal::Expired => 3,
            Refusal::Replayed => 4,
            Refusal::Unavailable => usize::MAX,
        }
    }
}

/// A challenge handed out: its parameters' values and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub cost: u32,
    pub expires_at: u64,
    pub nonce: String,
    pub salt: String,
    pub signature: String,
}

/// The gate.
pub struct Gate {
    key: hmac::Key,
    cost: u32,
    ttl: Duration,
    replay: Replay,
    /// One permit per key derivation that may run at once.
    derivations: Arc<Semaphore>,
    rng: SystemRandom,
    metrics: PowMetrics,
}

/// How many key derivations may run at once: half the cores, at least one.
pub fn derivation_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / 2).max(1)
}

impl Gate {
    /// The gate `config` describes; used challenges go to Redis over `link` when given.
    /// Without `POW_HMAC_KEY` the key is random, for this process only.
    pub fn new(config: &PowConfig, link: Option<RedisLink>, on_failure: OnFailure, metrics: PowMetrics) -> Gate {
        let rng = SystemRandom::new();
        let key = match &config.key {
            Some(secret) => hmac::Key::new(hmac::HMAC_SHA256, secret.expose()),
            None => hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("the system's random source works"),
        };
        Gate {
            key,
            cost: config.cost,
            ttl: config.ttl,
            replay: Replay::new(link, on_failure),
            derivations: Arc::new(Semaphore::new(derivation_slots())),
            rng,
            metrics,
        }
    }

    /// A fresh challenge at Unix time `now`: random nonce and salt, expiring `POW_TTL` later.
    pub fn challenge(&self, now: u64) -> Issued {
        let mut random = [0u8; 32];
        self.rng.fill(&mut random).expect("the system's random source works");
        let (nonce, salt) = (altcha::hex(&random[..16]), altcha::hex(&random[16..]));
        let expires_at = now + self.ttl.as_secs();
        let parameters = Parameters {
            algorithm: altcha::ALGORITHM,
            cost: u64::from(self.cost),
            expires_at,
            key_length: altcha::KEY_LENGTH as u64,
            key_prefix: altcha::KEY_PREFIX,
            nonce: &nonce,
            salt: &salt,
        };
        let signature = parameters.sign(&self.key);
        self.metrics.challenges.inc();
        Issued {
            cost: self.cost,
            expires_at,
            nonce,
            salt,
            signature,
        }
    }

    /// Whether `payload` (the widget's base64, if any) buys a token at Unix time `now`; each
    /// answer is counted by outcome.
    pub async fn admit(&self, payload: Option<&str>, now: u64) -> Result<(), Refusal> {
        let result = self.check(payload, now).await;
        let outcome = match result {
            Ok(()) => 0,
            Err(refusal) => refusal.outcome(),
        };
        if let Some(counter) = self.metrics.solutions.get(outcome) {
            counter.inc();
        }
        result
    }

    async fn check(&self, payload: Option<&str>, now: u64) -> Result<(), Refusal> {
        let text = payload.filter(|p| !p.trim().is_empty()).ok_or(Refusal::Missing)?;
        // The decoding buffer lives only here, not across the replay store's await.
        let (nonce, expires_at, candidate) = {
            let mut buf = [0u8; altcha::MAX_PAYLOAD];
            let payload = altcha::Payload::parse(text, &mut buf).map_err(refusal)?;
            let nonce = payload.signed(&self.key).map_err(refusal)?;
            (nonce, payload.parameters.expires_at, payload.candidate())
        };
        if expires_at < now {
            return Err(Refusal::Expired);
        }
        let (used, error) = self.replay.take(nonce, expires_at, now).await;
        if error.is_some() {
            self.metrics.store_errors.inc();
        }
        match used {
            Use::First => {}
            Use::Replayed => return Err(Refusal::Replayed),
            Use::Unknown => return Err(Refusal::Unavailable),
        }
        // One key derivation (`POW_COST` iterations; up to a second at the cap): off the
        // runtime's threads, so the requests beside it are not held up, and in one of the
        // `derivation_slots`, held until the derivation ends even if the client has gone, so a
        // flood of them cannot take every core. The semaphore is never closed, so acquiring
        // fails only in theory; then nothing is derived.
        let Some(candidate) = candidate else {
            return Err(Refusal::Wrong);
        };
        let solved = match self.derivations.clone().acquire_owned().await {
            Ok(slot) => tokio::task::spawn_blocking(move || {
                let solves = candidate.solves();
                drop(slot);
                solves
            })
            .await
            .unwrap_or(false),
            Err(_) => false,
        };
        if !solved {
            return Err(Refusal::Wrong);
        }
        Ok(())
    }

    /// Refreshes the gauges read at scrape time.
    pub fn refresh_gauges(&self) {
        self.metrics.remembered.set(self.replay.remembered() as i64);
    }
}

fn refusal(flaw: altcha::Flaw) -> Refusal {
    match flaw {
        altcha::Flaw::Malformed(why) => Refusal::Malformed(why),
        altcha::Flaw::Tampered => Refusal::Tampered,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::secret::Secret;

    #[tokio::test]
    async fn a_solution_waits_for_a_free_derivation_slot() {
        let config = PowConfig {
            cost: 10,
            ttl: Duration::from_secs(60),
            key: Some(Secret::new(vec![1u8; 32])),
        };
        let gate = Gate::new(&config, None, OnFailure::Allow, PowMetrics::default());
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[1; 32]);
        let payload = altcha::tests::solved(&key, 2_000_000_000);
        // Every slot busy (a flood of derivations): the check waits, it does not derive.
        let busy = gate.derivations.acquire_many(derivation_slots() as u32).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(200), gate.admit(Some(&payload), 1_000)).await;
        assert!(waiting.is_err(), "derived with no free slot");
        // That wait used the challenge up (the replay store took it first): a fresh one passes
        // once a slot is free.
        drop(busy);
        let fresh = altcha::tests::solved_with_nonce(&key, 2_000_000_000, [8; 16]);
        assert_eq!(gate.admit(Some(&fresh), 1_000).await, Ok(()));
    }
}
