//! GCRA, the generic cell rate algorithm: one number per client — its theoretical arrival time
//! (TAT) — says how much of the burst it has used. A request at `now` is allowed when the TAT
//! it would push forward stays within `burst` intervals of `now`. The same arithmetic runs in
//! this process ([`super::memory`]) and, as a Lua script, in Redis ([`super::redis`]).

use std::time::Duration;

use crate::config::limits::Rate;

/// One policy's parameters, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Time one token takes to come back.
    pub interval: u64,
    /// How far ahead of `now` the TAT may run: `burst` intervals.
    pub tolerance: u64,
}

/// What a policy says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed: the TAT to keep, the tokens left, and when the burst is whole again.
    Allowed { tat: u64, remaining: u64, reset: Duration },
    /// Over the limit: when the next token comes.
    Limited { retry_after: Duration },
}

impl Gcra {
    pub fn new(rate: &Rate) -> Gcra {
        let interval = rate.interval().as_nanos().max(1) as u64;
        Gcra {
            interval,
            tolerance: interval.saturating_mul(rate.burst),
        }
    }

    /// The decision at `now` for a client whose TAT is `tat` (0 for a client never seen).
    pub fn decide(&self, tat: u64, now: u64) -> Decision {
        let next = tat.max(now).saturating_add(self.interval);
        let ahead = next - now;
        if ahead > self.tolerance {
            return Decision::Limited {
                retry_after: Duration::from_nanos(ahead - self.tolerance),
            };
        }
        Decision::Allowed {
            tat: next,
            remaining: (self.tolerance - ahead) / self.interval,
            reset: Duration::from_nanos(ahead),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn a_burst_then_one_token_per_interval() {
        let rate = Rate {
            count: 2,
            per: Duration::from_secs(1),
            burst: 3,
        };
        let g = Gcra::new(&rate);
        let (mut tat, now) = (0, 100 * SEC);
        let mut remaining = Vec::new();
        for _ in 0..3 {
            match g.decide(tat, now) {
                Decision::Allowed {
                    tat: t, remaining: r, ..
                } => {
                    tat = t;
                    remaining.push(r);
                }
                limited => panic!("{limited:?}"),
            }
        }
        assert_eq!(remaining, [2, 1, 0]);
        assert_eq!(
            g.decide(tat, now),
            Decision::Limited {
                retry_after: Duration::from_millis(500)
            }
        );
        // Half a second later one token is back, not two.
        assert!(matches!(
            g.decide(tat, now + SEC / 2),
            Decision::Allowed { remaining: 0, .. }
        ));
        // Long idle: a whole burst again, as for a client never seen.
        assert_eq!(g.decide(tat, now + 60 * SEC), g.decide(0, now + 60 * SEC));
    }
}
