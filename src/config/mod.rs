//! Configuration: every parameter of the contract (§2), read from the environment once at start
//! and parsed into the typed [`Config`]. A bad value becomes a [`ConfigError`] naming the
//! parameter; the command line prints it on one line and exits 2. Nothing is re-read later.
//!
//! [`params`]: the table and `--help`; `parse`: raw values to typed ones (and the small value
//! types); [`secret`]: `SECRET_KEY` as HMAC secret or static key; [`store`]: the key store's
//! parameters; [`pow`]: the proof-of-work gate's; `report`: the configuration for people (start-up log, `check-config`, warnings).

mod checks;
pub mod limits;
pub mod params;
mod parse;
pub mod pow;
mod report;
pub mod secret;
pub mod store;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::keyring::Schedule;
pub use crate::store::StoreConfig;
use crate::zone::Zone;
pub use params::{PARAMS, Param, help_text};
use parse::Raw;
pub use parse::{CorsOrigins, LogFormat};
pub use secret::{Secret, Signing};

/// The issuer's configuration, parsed and cross-checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub algorithm: Algorithm,
    /// What signs: the HMAC secret, a static PEM key, or generated keys.
    pub signing: Signing,
    /// `SECRET_KEY`/`SECRET_KEY_FILE` set under an asymmetric ALGO without a PEM key: unused.
    ignored_secret: Option<&'static str>,
    pub issue_delay: Duration,
    pub host: IpAddr,
    pub port: u16,
    pub time_zone: Zone,
    pub token_ttl: Duration,
    pub key_rotation_interval: Duration,
    pub jwks_max_age: Duration,
    pub clock_leeway: Duration,
    pub rsa_key_bits: usize,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub max_pending: usize,
    pub cors_allowed_origins: Option<CorsOrigins>,
    /// `KEY_STORE`, `KEY_ENCRYPTION_KEY`, `KEY_STORE_SYNC_INTERVAL`.
    pub store: StoreConfig,
    /// `ISSUE_RATE` and the other limits' parameters.
    pub limits: limits::LimitConfig,
    /// The proof-of-work gate (`POW=altcha`), or `None`.
    pub pow: Option<pow::PowConfig>,
    /// `POW_HMAC_KEY`/`_FILE` set under `POW=off`: unused.
    ignored_pow_key: Option<&'static str>,
    pub log_format: LogFormat,
}

/// A parameter whose value is refused. `Display` is the one line `main` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub param: &'static str,
    /// `None` for secrets: their value is never echoed.
    pub value: Option<String>,
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "invalid {}={:?}: {}", self.param, v, self.expected),
            None => write!(f, "invalid {}: {}", self.param, self.expected),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parses the parameters that `lookup` returns; absent ones take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| -> Raw {
            let default = params::default_of(name);
            // Every value but the secret is trimmed; where an empty value means nothing
            // (compose files write `ISSUER=`), it counts as unset.
            let given = lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !(v.is_empty() && params::EMPTY_IS_UNSET.contains(&name)));
            Raw {
                name,
                set: given.is_some(),
                value: given.or_else(|| default.map(str::to_owned)),
            }
        };

        let algo = get("ALGO");
        let algorithm: Algorithm = algo.text().parse().map_err(|_| {
            algo.error("expected one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA")
        })?;
        let (signing, ignored_secret) = secret::read(algorithm, &lookup)?;
        let issue_delay = get("ISSUE_DELAY").seconds_f64(0.0)?;
        let port = get("PORT").integer::<u16>(1, u16::MAX as u64, "an integer from 1 to 65535")?;
        let host_raw = get("HOST");
        let host = host_raw
            .text()
            .parse::<IpAddr>()
            .map_err(|_| host_raw.error("expected an IPv4 or IPv6 address, e.g. 0.0.0.0 or ::"))?;
        let tz_raw = get("TIME_ZONE");
        let time_zone = Zone::get(tz_raw.text())
            .ok_or_else(|| tz_raw.error("expected an IANA time zone name, e.g. Europe/Moscow or UTC"))?;
        let token_ttl = get("TOKEN_TTL").seconds(1)?;
        let rotation_raw = get("KEY_ROTATION_INTERVAL");
        let key_rotation_interval = rotation_raw.seconds(1)?;
        let max_age_raw = get("JWKS_MAX_AGE");
        let jwks_max_age = max_age_raw.seconds(0)?;
        let clock_leeway = get("CLOCK_LEEWAY").seconds(0)?;
        let bits_raw = get("RSA_KEY_BITS");
        let rsa_key_bits = match bits_raw.text() {
            "2048" => 2048,
            "3072" => 3072,
            "4096" => 4096,
            _ => return Err(bits_raw.error("expected 2048, 3072 or 4096")),
        };
        let issuer = get("ISSUER").optional_url()?;
        let audience = get("AUDIENCE").value;
        let max_pending = get("MAX_PENDING").integer::<usize>(1, 1 << 24, "an integer from 1 to 16777216")?;
        let cors_allowed_origins = parse::cors(&get("CORS_ALLOWED_ORIGINS"))?;
        let static_from = match &signing {
            Signing::Static { from, .. } => Some(*from),
            _ => None,
        };
        let sync_raw = get("KEY_STORE_SYNC_INTERVAL");
        let leeway_raw = get("CLOCK_LEEWAY");
        let store = store::read(
            &get("KEY_STORE"),
            &sync_raw,
            &get("KEY_STORE_MAX_STALENESS"),
            &lookup,
            static_from,
        )?;
        let limits = limits::read(&get)?;
        let (pow, ignored_pow_key) = pow::read(&get, &lookup, &limits.store)?;
        let format_raw = get("LOG_FORMAT");
        let Some(log_format) = LogFormat::ALL.into_iter().find(|f| f.name() == format_raw.text()) else {
            return Err(format_raw.error("expected text or json"));
        };

        let config = Config {
            algorithm,
            signing,
            ignored_secret,
            issue_delay,
            host,
            port,
            time_zone,
            token_ttl,
            key_rotation_interval,
            jwks_max_age,
            clock_leeway,
            rsa_key_bits,
            issuer,
            audience,
            max_pending,
            cors_allowed_origins,
            store,
            limits,
            pow,
            ignored_pow_key,
            log_format,
        };
        if config.rotates() {
            checks::schedule(&config, &rotation_raw, &max_age_raw, &sync_raw)?;
            checks::leeway(&config, &leeway_raw, &sync_raw)?;
        }
        Ok(config)
    }

    /// Whether keys are generated and rotated (asymmetric ALGO without a static key): only
    /// then do the rotation parameters matter.
    pub fn rotates(&self) -> bool {
        matches!(self.signing, Signing::Generated)
    }

    /// Whether tokens are signed with an asymmetric key that the JWKS publishes.
    pub fn is_asymmetric(&self) -> bool {
        !self.algorithm.is_hmac()
    }

    /// The HMAC secret, under HS*.
    pub fn secret(&self) -> Option<&Secret> {
        match &self.signing {
            Signing::Hmac(secret) => Some(secret),
            _ => None,
        }
    }

    /// The rotation schedule these parameters give.
    pub fn schedule(&self) -> Schedule {
        Schedule::new(
            self.key_rotation_interval,
            self.token_ttl,
            self.clock_leeway,
            self.lead(),
        )
    }

    /// How long a key is published before it may sign: `JWKS_MAX_AGE`, plus
    /// `KEY_STORE_SYNC_INTERVAL` with a shared store (every replica must have read it).
    pub fn lead(&self) -> Duration {
        match self.store.location.is_shared() {
            true => self.jwks_max_age + self.store.sync_interval,
            false => self.jwks_max_age,
        }
    }
}

#[cfg(test)]
mod tests;
