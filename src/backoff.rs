//! Exponential backoff with jitter: each failure doubles the wait (from 250 ms, capped at
//! 30 s), the wait actually used is drawn from its upper half so that replicas that failed
//! together do not retry together, and a success starts again from the bottom.

use std::time::Duration;

pub const MIN: Duration = Duration::from_millis(250);
pub const MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: MIN }
    }
}

impl Backoff {
    /// A failure: how long to wait before the next attempt.
    pub fn failed(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(MAX);
        jitter(base)
    }

    /// A success: the next failure waits [`MIN`] again.
    pub fn reset(&mut self) {
        self.next = MIN;
    }
}

/// A duration drawn uniformly from `[base / 2, base]`.
fn jitter(base: Duration) -> Duration {
    let r = getrandom::u32().unwrap_or(u32::MAX / 2);
    base.mul_f64(0.5 + 0.5 * f64::from(r) / f64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<Duration> = (0..12).map(|_| b.failed()).collect();
        let mut base = MIN;
        for wait in &waits {
            assert!(
                *wait >= base / 2 && *wait <= base,
                "{wait:?} outside [{:?}, {base:?}]",
                base / 2
            );
            base = (base * 2).min(MAX);
        }
        assert!(waits[11] >= MAX / 2, "capped at 30 s, not below");
        let total: Duration = waits.iter().sum();
        assert!(
            total > Duration::from_secs(60),
            "12 failures take minutes, not a burst: {total:?}"
        );
        b.reset();
        assert!(b.failed() <= MIN);
    }
}
