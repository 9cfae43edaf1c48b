//! The limits' counts in this process: one TAT per client in a map, bounded. A client whose
//! TAT has passed holds nothing a new client would not (its burst is whole again), so idle
//! clients are swept out as the map grows; past a hard cap, new clients are not tracked (the
//! global ceiling still holds them) and that is counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::client::ClientKey;
use super::gcra::{Decision, Gcra};

/// The tracked clients of one policy.
#[derive(Debug)]
pub struct Memory {
    clients: Mutex<Table>,
    /// At most this many clients are tracked.
    cap: usize,
    /// New clients that found the table full (allowed by this policy, untracked).
    pub untracked: AtomicU64,
}

#[derive(Debug, Default)]
struct Table {
    /// TAT by client. The key as two halves, so an entry is 24 bytes (a `u128` key is aligned
    /// to 16 and makes it 32). Hashed by foldhash seeded at random per process: clients choose
    /// their addresses, so the hash must not be predictable, and SipHash costs more per request.
    tats: HashMap<(u64, u64), u64, foldhash::quality::RandomState>,
    /// Sweep idle clients when the table reaches this size.
    sweep_at: usize,
    /// When full: no sweep before this time (a sweep is one pass over the table).
    full_until: u64,
}

/// Below this many clients nothing is swept.
const FIRST_SWEEP: usize = 4096;

impl Memory {
    pub fn new(cap: usize) -> Memory {
        Memory {
            clients: Mutex::new(Table {
                tats: HashMap::default(),
                sweep_at: FIRST_SWEEP,
                full_until: 0,
            }),
            cap,
            untracked: AtomicU64::new(0),
        }
    }

    /// Decides for `key` at `now` (nanoseconds on this process's clock) and records it.
    pub fn decide(&self, gcra: &Gcra, key: ClientKey, now: u64) -> Decision {
        let mut table = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let key = ((key.0 >> 64) as u64, key.0 as u64);
        let full = table.tats.len() >= table.sweep_at.min(self.cap);
        if !full {
            // The common case: one hash, one probe.
            let tat = table.tats.entry(key).or_insert(0);
            let decision = gcra.decide(*tat, now);
            // (A client never seen is always allowed: `burst` is at least 1.)
            if let Decision::Allowed { tat: next, .. } = decision {
                *tat = next;
            }
            return decision;
        }
        let tat = table.tats.get(&key).copied().unwrap_or(0);
        let decision = gcra.decide(tat, now);
        if let Decision::Allowed { tat: next, .. } = decision {
            if tat == 0 {
                if table.tats.len() < self.cap || now >= table.full_until {
                    table.tats.retain(|_, t| *t > now);
                    table.sweep_at = (table.tats.len() * 2).max(FIRST_SWEEP);
                    // Full of active clients: look again after a tenth of a second at most.
                    table.full_until = now + gcra.interval.min(100_000_000);
                }
                if table.tats.len() >= self.cap {
                    self.untracked.fetch_add(1, Ordering::Relaxed);
                    return decision;
                }
            }
            table.tats.insert(key, next);
        }
        decision
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).tats.len()
    }
}

/// The global ceiling's one TAT, without a lock.
#[derive(Debug, Default)]
pub struct Global(AtomicU64);

impl Global {
    /// Decides at `now` and records an allowed request.
    pub fn decide(&self, gcra: &Gcra, now: u64) -> Decision {
        let mut tat = self.0.load(Ordering::Acquire);
        loop {
            let decision = gcra.decide(tat, now);
            let Decision::Allowed { tat: next, .. } = decision else {
                return decision;
            };
            match self
                .0
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return decision,
                Err(current) => tat = current,
            }
        }
    }

    /// Gives back one token taken by an allowed request that a later policy refused.
    pub fn refund(&self, gcra: &Gcra) {
        let _ = self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
            Some(t.saturating_sub(gcra.interval))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::Rate;

    #[test]
    fn idle_clients_are_swept_and_the_cap_holds() {
        let gcra = Gcra::new(&Rate {
            count: 1,
            per: std::time::Duration::from_secs(1),
            burst: 1,
        });
        let memory = Memory::new(10_000);
        let sec = 1_000_000_000u64;
        for i in 0..10_000u128 {
            assert!(matches!(
                memory.decide(&gcra, ClientKey(i), sec),
                Decision::Allowed { .. }
            ));
        }
        assert_eq!(memory.tracked(), 10_000);
        // Full of active clients: a new one is allowed but not tracked, and counted.
        assert!(matches!(
            memory.decide(&gcra, ClientKey(99_999), sec),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            (memory.tracked(), memory.untracked.load(Ordering::Relaxed)),
            (10_000, 1)
        );
        // The tracked ones are still limited.
        assert!(matches!(
            memory.decide(&gcra, ClientKey(5), sec),
            Decision::Limited { .. }
        ));
        // Ten seconds on, all are idle: the next new client sweeps them.
        assert!(matches!(
            memory.decide(&gcra, ClientKey(123_456), 11 * sec),
            Decision::Allowed { .. }
        ));
        assert_eq!(memory.tracked(), 1);
    }
}
