//! Where the rotation task reads the time: the system clock, or tokio's (possibly paused)
//! clock from a fixed wall-clock start, so that tests drive rotation without waiting.

use time::OffsetDateTime;

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

    /// Now, to the millisecond: key times are stored to the millisecond (PostgreSQL keeps
    /// microseconds), so what is written reads back equal.
    pub fn now(&self) -> OffsetDateTime {
        let now = match self {
            Clock::System => OffsetDateTime::now_utc(),
            Clock::Tokio { start, at } => *start + at.elapsed(),
        };
        to_millis(now)
    }
}

/// `t` truncated to the millisecond.
pub fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// Unix time now, whole seconds (the proof-of-work gate's clock: challenges expire in seconds).
pub fn unix_now() -> u64 {
    OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}
