//! `POW`, `POW_COST`, `POW_TTL`, `POW_HMAC_KEY` and `POW_HMAC_KEY_FILE`: the ALTCHA
//! proof-of-work gate in front of `/anonymous/` (contract §9).

use std::time::Duration;

use super::parse::{Raw, value_or_file};
use super::secret::Secret;
use super::{ConfigError, limits::LimitStore};

/// The shortest `POW_HMAC_KEY` accepted: the output of the HMAC's hash (SHA-256).
pub const MIN_KEY_BYTES: usize = 32;

/// The gate's part of the configuration (present only with `POW=altcha`).
#[derive(Debug, Clone)]
pub struct PowConfig {
    /// PBKDF2-HMAC-SHA256 iterations per attempt (the challenge's `cost`).
    pub cost: u32,
    /// How long a challenge may be solved and used.
    pub ttl: Duration,
    /// The key that signs challenges; `None`: a random one per process.
    pub key: Option<Secret>,
}

/// Reads the gate's parameters: `Ok(None)` with `POW=off`; the second value names a key that
/// was set but is unused (`POW=off`).
pub fn read(
    get: &impl Fn(&'static str) -> Raw,
    lookup: &impl Fn(&str) -> Option<String>,
    store: &LimitStore,
) -> Result<(Option<PowConfig>, Option<&'static str>), ConfigError> {
    let pow_raw = get("POW");
    let on = match pow_raw.text() {
        "off" => false,
        "altcha" => true,
        _ => return Err(pow_raw.error("expected off or altcha")),
    };
    let cost = get("POW_COST").integer(1, 1_000_000, "a whole number of PBKDF2 iterations from 1 to 1000000")?;
    let ttl = get("POW_TTL").integer::<u64>(1, 3600, "a whole number of seconds from 1 to 3600")?;
    let (from, bytes) = value_or_file(lookup, "POW_HMAC_KEY", "POW_HMAC_KEY_FILE")?;
    let key = bytes.filter(|b| !b.is_empty()).map(Secret::new);
    if !on {
        return Ok((None, key.is_some().then_some(from)));
    }
    match &key {
        Some(key) if key.expose().len() < MIN_KEY_BYTES => {
            return Err(ConfigError {
                param: from,
                value: None,
                expected: format!(
                    "expected at least {MIN_KEY_BYTES} bytes (it is {}), e.g. from `openssl rand -base64 32`",
                    key.expose().len()
                ),
            });
        }
        None if matches!(store, LimitStore::Redis(_)) => {
            return Err(ConfigError {
                param: "POW_HMAC_KEY",
                value: None,
                expected: "required with POW=altcha and a Redis LIMIT_STORE: every replica must check the challenges the others sign (set POW_HMAC_KEY or POW_HMAC_KEY_FILE, the same on each)".into(),
            });
        }
        _ => {}
    }
    Ok((
        Some(PowConfig {
            cost,
            ttl: Duration::from_secs(ttl),
            key,
        }),
        None,
    ))
}
