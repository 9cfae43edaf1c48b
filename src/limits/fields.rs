//! The answers' fields: `RateLimit` as the IETF draft writes it, `Retry-After` in whole seconds.

use std::time::Duration;

use poem::http::HeaderValue;

use super::{Outcome, Policy};

/// A request over `policy`: `Retry-After` and `RateLimit` for it.
pub fn limited(policy: Policy, retry_after: Duration) -> Outcome {
    let secs = whole_secs(retry_after.as_nanos() as u64);
    Outcome::Limited {
        policy,
        retry_after: secs,
        rate_limit: rate_limit(policy, 0, retry_after),
    }
}

/// `RateLimit`: what is left of `policy` and when it is whole again. Written on the stack:
/// the header value is the one allocation.
pub fn rate_limit(policy: Policy, remaining: u64, reset: Duration) -> HeaderValue {
    let mut buf = [0u8; 64];
    let mut len = 0;
    let (mut r, mut t) = (itoa::Buffer::new(), itoa::Buffer::new());
    for part in [
        "\"",
        policy.name(),
        "\";r=",
        r.format(remaining),
        ";t=",
        t.format(whole_secs(reset.as_nanos() as u64)),
    ] {
        buf[len..len + part.len()].copy_from_slice(part.as_bytes());
        len += part.len();
    }
    HeaderValue::from_bytes(&buf[..len]).expect("names and digits are a valid header value")
}

/// Nanoseconds as whole seconds, rounded up, at least 1 (`Retry-After: 0` invites a storm).
pub fn whole_secs(nanos: u64) -> u64 {
    nanos.div_ceil(1_000_000_000).max(1)
}
