//! `KEY_STORE`, `KEY_ENCRYPTION_KEY` / `KEY_ENCRYPTION_KEY_FILE` and
//! `KEY_STORE_SYNC_INTERVAL`: where keys live and how they are kept at rest (contract §6).

use std::sync::Arc;

use super::ConfigError;
use super::parse::{self, Raw};
use crate::store::crypt::Kek;
use crate::store::{StoreConfig, StoreLocation};

/// Reads the three parameters. `static_key` names where a static key came from, if any: a
/// static key never rotates, so storing it is a contradiction.
pub fn read(
    location: &Raw,
    sync: &Raw,
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
            let text = String::from_utf8(bytes).map_err(|_| secret_error(from, "expected base64url text".into()))?;
            let kek = Kek::parse(text.trim()).map_err(|e| {
                secret_error(
                    from,
                    format!("{e} (base64url 32-byte keys, comma-separated; the first encrypts)"),
                )
            })?;
            Some(Arc::new(kek))
        }
    };
    if parsed.is_shared() && encryption.is_none() {
        return Err(secret_error(
            "KEY_ENCRYPTION_KEY",
            "required with a PostgreSQL KEY_STORE: base64url 32-byte keys, comma-separated (make one with `cusdeb-anonymous keys new-encryption-key`)".into(),
        ));
    }
    Ok(StoreConfig {
        location: parsed,
        encryption,
        sync_interval: sync.seconds_f64(0.1)?,
    })
}

fn secret_error(param: &'static str, expected: String) -> ConfigError {
    ConfigError {
        param,
        value: None,
        expected,
    }
}
