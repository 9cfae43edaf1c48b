//! One solution, one token: the nonces of challenges already used, kept until their challenge
//! would have expired anyway (after that the expiry refuses them), so memory is bounded by
//! the challenge rate × `POW_TTL`. In this process's memory, or — with a Redis `LIMIT_STORE` —
//! in Redis (`SET … NX PX`), so a payload used at one replica is refused at every other.
//! Redis out of reach: `LIMIT_STORE_FAILURE=allow` remembers in this replica's memory
//! meanwhile, `deny` refuses.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::limits::OnFailure;
use crate::redis_link::{CALL_TIMEOUT, RedisLink};

/// Nonces one process remembers at most (about 40 bytes each in the table).
pub const MAX_REMEMBERED: usize = 1_000_000;

const PREFIX: &str = "cusdeb-anonymous:pow:";

/// What the store says of a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Not seen before: now taken.
    First,
    /// Used already.
    Replayed,
    /// Cannot tell: Redis out of reach under `deny`, or this process's table is full.
    Unknown,
}

/// Used nonces in this process, each with the Unix second its challenge expires.
#[derive(Debug, Default)]
pub struct Seen {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    expiry: HashMap<[u8; 16], u64, foldhash::fast::RandomState>,
    /// Sweep the expired when the table reaches this size.
    sweep_at: usize,
}

impl Seen {
    /// Takes `nonce` (valid until `expires_at`) if it is new.
    pub fn take(&self, nonce: [u8; 16], expires_at: u64, now: u64) -> Use {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.expiry.len() >= table.sweep_at {
            table.expiry.retain(|_, &mut until| until >= now);
            // Amortised: the next sweep once the live entries have doubled.
            table.sweep_at = (table.expiry.len() * 2).max(1024);
        }
        if table.expiry.len() >= MAX_REMEMBERED {
            return Use::Unknown;
        }
        match table.expiry.insert(nonce, expires_at) {
            None => Use::First,
            Some(_) => Use::Replayed,
        }
    }

    /// Nonces remembered now (the expired ones included until the next sweep).
    pub fn count(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).expiry.len()
    }

    /// Bytes the table holds now (its allocation), for people and benches.
    pub fn bytes(&self) -> usize {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        // hashbrown: one slot (key + value) and one control byte per bucket.
        table.expiry.capacity() * (std::mem::size_of::<([u8; 16], u64)>() + 1)
    }
}

/// The replay store.
#[derive(Debug)]
pub struct Replay {
    memory: Seen,
    redis: Option<Shared>,
}

#[derive(Debug)]
struct Shared {
    link: RedisLink,
    on_failure: OnFailure,
    /// Redis is out of reach (an episode is logged once).
    degraded: AtomicBool,
}

impl Replay {
    /// In memory, or in Redis over `link`.
    pub fn new(link: Option<RedisLink>, on_failure: OnFailure) -> Replay {
        Replay {
            memory: Seen::default(),
            redis: link.map(|link| Shared {
                link,
                on_failure,
                degraded: AtomicBool::new(false),
            }),
        }
    }

    /// Takes `nonce` if nobody used it; `Err` carries a Redis error for the caller to count.
    pub async fn take(&self, nonce: [u8; 16], expires_at: u64, now: u64) -> (Use, Option<String>) {
        let Some(shared) = &self.redis else {
            return (self.memory.take(nonce, expires_at, now), None);
        };
        match shared.take(nonce, expires_at, now).await {
            Ok(used) => {
                if shared.degraded.swap(false, Ordering::AcqRel) {
                    tracing::info!(redis = %shared.link.endpoint, "Redis answers again: used challenges are shared again");
                }
                (used, None)
            }
            Err(error) => {
                if !shared.degraded.swap(true, Ordering::AcqRel) {
                    let meanwhile = match shared.on_failure {
                        OnFailure::Allow => "each replica remembers used challenges in its own memory",
                        OnFailure::Deny => "tokens are refused",
                    };
                    tracing::warn!(redis = %shared.link.endpoint, %error, "Redis is out of reach: {meanwhile} (LIMIT_STORE_FAILURE) until it answers");
                }
                let used = match shared.on_failure {
                    OnFailure::Allow => self.memory.take(nonce, expires_at, now),
                    OnFailure::Deny => Use::Unknown,
                };
                (used, Some(error))
            }
        }
    }

    /// Nonces remembered in this process's memory.
    pub fn remembered(&self) -> usize {
        self.memory.count()
    }
}

impl Shared {
    /// `SET key 1 NX PX ttl`: `OK` the first time, nil after.
    async fn take(&self, nonce: [u8; 16], expires_at: u64, now: u64) -> Result<Use, String> {
        let mut connection = self.link.connection()?;
        // Kept a second past the expiry, so no clock step between replicas reopens it.
        let ttl_ms = expires_at.saturating_sub(now).saturating_add(1).saturating_mul(1000);
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{PREFIX}{}", super::altcha::hex(&nonce)))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        let answer: Option<String> = tokio::time::timeout(CALL_TIMEOUT, cmd.query_async(&mut connection))
            .await
            .map_err(|_| format!("no answer within {CALL_TIMEOUT:?}"))?
            .map_err(|e| e.to_string())?;
        Ok(match answer {
            Some(_) => Use::First,
            None => Use::Replayed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_taken_once_and_forgotten_after_its_expiry() {
        let seen = Seen::default();
        assert_eq!(seen.take([1; 16], 100, 50), Use::First);
        assert_eq!(seen.take([1; 16], 100, 60), Use::Replayed);
        assert_eq!(seen.take([2; 16], 100, 60), Use::First);
        // Up to the second sweep (at 2048; the first, at 1024, found nothing expired): then
        // the expired ones go and the live one stays.
        for i in 0..2046u32 {
            let mut n = [0u8; 16];
            n[..4].copy_from_slice(&i.to_be_bytes());
            n[15] = 9;
            seen.take(n, 100, 60);
        }
        assert_eq!(seen.count(), 2048);
        assert_eq!(seen.take([3; 16], 300, 200), Use::First);
        assert_eq!(seen.count(), 1, "expired nonces swept");
        assert_eq!(seen.take([3; 16], 300, 201), Use::Replayed);
        assert!(seen.bytes() > 0);
    }
}
