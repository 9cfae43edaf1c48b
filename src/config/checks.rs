//! The cross-checks between parameters of a rotating schedule (contract §5, invariant 3; §7):
//! a configuration under which a token could name a kid a verifier cannot find is refused.

use super::parse::Raw;
use super::{Config, ConfigError};
use crate::keyring::MAX_PUBLISHED_KEYS;

/// With a shared store a replica applies a change of the schedule (`keys rotate`, another
/// writer's extension) up to one sync late, and its tokens signed meanwhile may outlive the
/// key's new retirement by that much: the retired key stays published `TOKEN_TTL +
/// CLOCK_LEEWAY` after it, so the leeway must cover one sync interval.
pub fn leeway(config: &Config, leeway: &Raw, sync: &Raw) -> Result<(), ConfigError> {
    let sync_interval = config.store.sync_interval;
    if config.store.location.is_shared() && config.clock_leeway < sync_interval {
        return Err(leeway.error(&format!(
            "CLOCK_LEEWAY ({}s{}) must be at least KEY_STORE_SYNC_INTERVAL ({}s{}) with a shared store: a replica learns a changed schedule up to one sync late, and retired keys stay published only CLOCK_LEEWAY past TOKEN_TTL",
            config.clock_leeway.as_secs(),
            leeway.default_note(),
            sync_interval.as_secs_f64(),
            sync.default_note()
        )));
    }
    Ok(())
}

/// The cross-checks of a rotating schedule (contract §5, invariant 3).
pub fn schedule(config: &Config, rotation: &Raw, max_age: &Raw, sync: &Raw) -> Result<(), ConfigError> {
    let (interval, lead) = (config.key_rotation_interval, config.lead());
    if interval <= lead {
        let shared = config.store.location.is_shared();
        // Blame what the operator set; name every side either way.
        let blamed = if rotation.set || !max_age.set {
            rotation
        } else {
            max_age
        };
        let other = match shared {
            true => format!(
                "JWKS_MAX_AGE ({}s{}) + KEY_STORE_SYNC_INTERVAL ({}s{}), so every key has reached every replica and outlived every cached JWKS before it signs",
                config.jwks_max_age.as_secs(),
                max_age.default_note(),
                config.store.sync_interval.as_secs_f64(),
                sync.default_note()
            ),
            false => format!(
                "JWKS_MAX_AGE ({}s{}), so every key is published at least JWKS_MAX_AGE before it signs",
                config.jwks_max_age.as_secs(),
                max_age.default_note()
            ),
        };
        return Err(blamed.error(&format!(
            "KEY_ROTATION_INTERVAL ({}s{}) must be above {other}",
            interval.as_secs(),
            rotation.default_note(),
        )));
    }
    let schedule = config.schedule();
    if schedule.max_published_keys() > MAX_PUBLISHED_KEYS {
        return Err(rotation.error(&format!(
            "KEY_ROTATION_INTERVAL ({}s{}) is too short for TOKEN_TTL + CLOCK_LEEWAY + 1 ({}s): retired keys would pile up beyond {MAX_PUBLISHED_KEYS} published keys; use at least {}",
            interval.as_secs(),
            rotation.default_note(),
            schedule.retention.as_secs(),
            schedule.min_interval().as_secs()
        )));
    }
    Ok(())
}
