//! `KEY_STORE`, `KEY_ENCRYPTION_KEY` / `KEY_ENCRYPTION_KEY_FILE`, `KEY_STORE_SYNC_INTERVAL`
//! and `KEY_STORE_MAX_STALENESS`: where keys live, how they are kept at rest, and how long a
//! replica may trust its copy of a shared ring (contract §6, §6a). That PostgreSQL needs
//! `KEY_ENCRYPTION_KEY` is checked when the store is opened to serve: `keys list` reads the
//! public facts without it.

use std::sync::Arc;

use super::ConfigError;
use super::parse::{self, Raw};
use crate::store::crypt::Kek;
use crate::store::{StoreConfig, StoreLocation};

/// Reads the store's parameters. `static_key` names where a static key came from, if any: a
/// static key never rotates, so storing it is a contradiction.
pub fn read(
    location: &Raw,
    sync: &Raw,
    staleness: &Raw,
    lookup: &impl Fn(&str) -> Option<String>,
    static_key: Option<&'static str>,
) -> Result<StoreConfig, ConfigError> {
    let location_value = StoreLocation::parse(location.text());
    let Some(parsed) = location_value else {
        // The value may be a URL with a password: never echo it.
        return Err(ConfigError {
            param: location.name,
            value: None,
            expected: "expected memory, file:PATH, or a postgres:// or postgresql:// URL".into(),
        });
    };
    if let (Some(from), false) = (static_key, parsed == StoreLocation::Memory) {
        return Err(location.error(&format!(
            "a static key ({from} holds a PEM key) never rotates and is not stored; use KEY_STORE=memory or generated keys"
        )));
    }
    let (from, bytes) = parse::value_or_file(lookup, "KEY_ENCRYPTION_KEY", "KEY_ENCRYPTION_KEY_FILE")?;
    let encryption = match bytes.filter(|b| !b.is_empty()) {
        None => None,
        Some(bytes) => {
            let text = std::str::from_utf8(&bytes).map_err(|_| secret_error(from, "expected base64url text".into()))?;
            let kek = Kek::parse(text.trim()).map_err(|e| {
                secret_error(
                    from,
                    format!("{e} (base64url 32-byte keys, comma-separated; the first encrypts)"),
                )
            })?;
            Some(Arc::new(kek))
        }
    };
    let sync_interval = sync.seconds_f64(0.1)?;
    let max_staleness = staleness.seconds_f64(1.0)?;
    if parsed.is_shared() && max_staleness < sync_interval * 2 {
        return Err(staleness.error(&format!(
            "KEY_STORE_MAX_STALENESS ({}s{}) must be at least twice KEY_STORE_SYNC_INTERVAL ({}s{}), or one late read would stop signing",
            max_staleness.as_secs_f64(),
            staleness.default_note(),
            sync_interval.as_secs_f64(),
            sync.default_note()
        )));
    }
    Ok(StoreConfig {
        location: parsed,
        encryption,
        sync_interval,
        max_staleness,
    })
}

fn secret_error(param: &'static str, expected: String) -> ConfigError {
    ConfigError {
        param,
        value: None,
        expected,
    }
}
