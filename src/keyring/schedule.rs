//! The rotation schedule and its arithmetic: how long a key is pending and active, how long a
//! retired key stays published, and how many keys the JWKS can hold under it.

use std::time::Duration;

/// How many keys (pending + active + retired) the JWKS may hold at most; start-up refuses a
/// schedule that would exceed it.
pub const MAX_PUBLISHED_KEYS: u64 = 5;

/// The rotation schedule, derived from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `KEY_ROTATION_INTERVAL`: how long a key is pending, and then how long it is active.
    pub interval: Duration,
    /// How long a retired key stays published: `TOKEN_TTL + CLOCK_LEEWAY` (+1 s rounding).
    pub retention: Duration,
    /// How long a key must be published before it may sign: `JWKS_MAX_AGE` (every cached JWKS
    /// has expired) plus, with a shared store, `KEY_STORE_SYNC_INTERVAL` (every replica has
    /// read it).
    pub lead: Duration,
}

impl Schedule {
    /// The schedule for `KEY_ROTATION_INTERVAL`, `TOKEN_TTL`, `CLOCK_LEEWAY` and `lead`. A
    /// retired key stays published `TOKEN_TTL + CLOCK_LEEWAY` after its last signature, plus
    /// one second because `exp` is rounded to whole seconds.
    pub fn new(interval: Duration, token_ttl: Duration, clock_leeway: Duration, lead: Duration) -> Schedule {
        Schedule {
            interval,
            retention: token_ttl + clock_leeway + Duration::from_secs(1),
            lead,
        }
    }

    /// Upper bound of the JWKS size: one pending, one active, and the retired keys still
    /// within their retention.
    pub fn max_published_keys(&self) -> u64 {
        let interval = self.interval.as_secs().max(1);
        2 + self.retention.as_secs().div_ceil(interval)
    }

    /// The shortest interval that keeps the JWKS within [`MAX_PUBLISHED_KEYS`].
    pub fn min_interval(&self) -> Duration {
        Duration::from_secs(self.retention.as_secs().div_ceil(MAX_PUBLISHED_KEYS - 2))
    }

    /// The key lifecycle under this schedule, for people (`check-config`).
    pub fn timeline(&self, jwks_max_age: Duration) -> Vec<String> {
        let (i, m, r) = (
            self.interval.as_secs(),
            jwks_max_age.as_secs(),
            self.retention.as_secs(),
        );
        vec![
            "t=0: the first key is generated and signs at once; the next key is published as pending".into(),
            format!(
                "every {i}s: the pending key starts signing, the active key retires, a new pending key is published"
            ),
            format!(
                "a key is published {i}s before it signs, at least {}s (JWKS_MAX_AGE is {m}s: cached JWKS always know it)",
                self.lead.as_secs_f64()
            ),
            format!("a retired key stays published {r}s (TOKEN_TTL + CLOCK_LEEWAY + 1s), then is removed"),
            format!("the JWKS holds at most {} keys", self.max_published_keys()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_the_smallest_accepted_interval() {
        let secs = Duration::from_secs;
        let s = Schedule::new(secs(21600), secs(64740), secs(60), secs(300));
        assert_eq!(s.retention, secs(64801));
        assert_eq!(s.max_published_keys(), 6);
        assert_eq!(s.min_interval(), secs(21601));
        let at_min = Schedule::new(s.min_interval(), secs(64740), secs(60), secs(300));
        assert_eq!(at_min.max_published_keys(), MAX_PUBLISHED_KEYS);
        assert_eq!(
            Schedule::new(secs(21600), secs(20), secs(60), secs(300)).max_published_keys(),
            3
        );
    }
}
