//! Configuration: every parameter of the contract (§2), read from the environment once at start
//! and parsed into domain types. A bad value becomes a [`ConfigError`] naming the parameter;
//! `main` prints it on one line and exits 2. Nothing here is re-read later.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use std::sync::Arc;

use jsonwebtoken::Algorithm;

use crate::keys::{SigningKey, pem};
use crate::zone::Zone;

/// One row of the parameter table: the single source of `--help` and of the parse defaults.
pub struct Param {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub meaning: &'static str,
}

/// Every parameter, in the order `--help` lists them.
pub const PARAMS: &[Param] = &[
    p(
        "ALGO",
        Some("HS256"),
        "signing algorithm: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA",
    ),
    p(
        "SECRET_KEY",
        Some("secret"),
        "HS*: the HMAC secret, change it; asymmetric ALGO: a PEM private key here signs every token (static key)",
    ),
    p(
        "SECRET_KEY_FILE",
        None,
        "read SECRET_KEY from this file instead (trailing newline stripped)",
    ),
    p(
        "ISSUE_DELAY",
        Some("5"),
        "seconds to wait before answering /anonymous/, 0-86400, fractions allowed",
    ),
    p("PORT", Some("8007"), "TCP port, 1-65535"),
    p("HOST", Some("0.0.0.0"), "bind address (IPv4 or IPv6 literal)"),
    p(
        "TIME_ZONE",
        Some("Europe/Moscow"),
        "IANA zone for human-readable times (logs, expires_at); never for exp",
    ),
    p(
        "TOKEN_TTL",
        Some("20"),
        "token lifetime in seconds, 1-315360000 (10 years)",
    ),
    p(
        "KEY_ROTATION_INTERVAL",
        Some("21600"),
        "seconds a signing key stays active (asymmetric ALGO), 1-315360000",
    ),
    p(
        "JWKS_MAX_AGE",
        Some("300"),
        "Cache-Control max-age of the JWKS, seconds, 0-315360000; below KEY_ROTATION_INTERVAL",
    ),
    p(
        "CLOCK_LEEWAY",
        Some("60"),
        "seconds verifiers may accept past exp, 0-315360000; retired keys stay published this much longer",
    ),
    p("RSA_KEY_BITS", Some("2048"), "RSA modulus size: 2048, 3072 or 4096"),
    p(
        "ISSUER",
        None,
        "absolute URL; when set, tokens carry iss and discovery is served",
    ),
    p("AUDIENCE", None, "when set, tokens carry aud"),
    p(
        "MAX_PENDING",
        Some("10000"),
        "requests that may wait on ISSUE_DELAY at once; beyond it 503",
    ),
    p(
        "CORS_ALLOWED_ORIGINS",
        None,
        "comma-separated origins (or *) allowed to call /anonymous/ from a browser",
    ),
    p(
        "LOG_FORMAT",
        Some("text"),
        "log lines as text or json (filter with RUST_LOG)",
    ),
];

const fn p(name: &'static str, default: Option<&'static str>, meaning: &'static str) -> Param {
    Param { name, default, meaning }
}

/// The HMAC secret. Its `Debug` never shows the bytes, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

/// Origins allowed to call `/anonymous/` from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    const ALL: [LogFormat; 2] = [LogFormat::Text, LogFormat::Json];

    /// The `LOG_FORMAT` value naming this format.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// What signs the tokens.
#[derive(Debug, Clone)]
pub enum Signing {
    /// HS*: the HMAC secret (`SECRET_KEY`).
    Hmac(Secret),
    /// Asymmetric ALGO with a PEM private key in `from` (`SECRET_KEY` or `SECRET_KEY_FILE`):
    /// it signs every token and never rotates.
    Static { key: Arc<SigningKey>, from: &'static str },
    /// Asymmetric ALGO: keys generated in-process and rotated on a timer.
    Generated,
}

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

/// How many keys (pending + active + retired) the JWKS may hold at most; see
/// [`Config::max_published_keys`].
pub const MAX_PUBLISHED_KEYS: u64 = 5;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parses the parameters that `lookup` returns; absent ones take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| -> Raw {
            let default = PARAMS.iter().find(|p| p.name == name).and_then(|p| p.default);
            // Every value but the secret is trimmed; where an empty value means nothing
            // (compose files write `ISSUER=`), it counts as unset.
            let given = lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !(v.is_empty() && EMPTY_IS_UNSET.contains(&name)));
            Raw {
                name,
                set: given.is_some(),
                value: given.or_else(|| default.map(str::to_owned)),
            }
        };

        let algo = get("ALGO");
        let algorithm = parse_algorithm(algo.text()).ok_or_else(|| {
            algo.error("expected one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA")
        })?;
        let (signing, ignored_secret) = read_signing(algorithm, &lookup)?;
        let issue_delay = get("ISSUE_DELAY").seconds_f64()?;
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
        let cors_allowed_origins = parse_cors(&get("CORS_ALLOWED_ORIGINS"))?;
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
            log_format,
        };
        if config.rotates() {
            check_schedule(&config, &rotation_raw, &max_age_raw)?;
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
        !is_hmac(self.algorithm)
    }

    /// The HMAC secret, under HS*.
    pub fn secret(&self) -> Option<&Secret> {
        match &self.signing {
            Signing::Hmac(secret) => Some(secret),
            _ => None,
        }
    }

    /// How long a retired key stays published after its last signature: `TOKEN_TTL +
    /// CLOCK_LEEWAY`, plus one second because `exp` is rounded to whole seconds.
    pub fn retention(&self) -> Duration {
        self.token_ttl + self.clock_leeway + Duration::from_secs(1)
    }

    /// Upper bound of the JWKS size under this schedule: one pending, one active, and the
    /// retired keys still within their retention.
    pub fn max_published_keys(&self) -> u64 {
        let interval = self.key_rotation_interval.as_secs().max(1);
        2 + self.retention().as_secs().div_ceil(interval)
    }

    /// Every parameter's effective value, secrets redacted: for the start-up log and
    /// `check-config`.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let secs = |d: Duration| d.as_secs().to_string();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".into());
        vec![
            ("ALGO", alg_name(self.algorithm).into()),
            ("SECRET_KEY", self.secret_summary()),
            ("ISSUE_DELAY", self.issue_delay.as_secs_f64().to_string()),
            ("PORT", self.port.to_string()),
            ("HOST", self.host.to_string()),
            ("TIME_ZONE", self.time_zone.name().into()),
            ("TOKEN_TTL", secs(self.token_ttl)),
            ("KEY_ROTATION_INTERVAL", secs(self.key_rotation_interval)),
            ("JWKS_MAX_AGE", secs(self.jwks_max_age)),
            ("CLOCK_LEEWAY", secs(self.clock_leeway)),
            ("RSA_KEY_BITS", self.rsa_key_bits.to_string()),
            ("ISSUER", opt(&self.issuer)),
            ("AUDIENCE", opt(&self.audience)),
            ("MAX_PENDING", self.max_pending.to_string()),
            (
                "CORS_ALLOWED_ORIGINS",
                match &self.cors_allowed_origins {
                    None => "unset".into(),
                    Some(CorsOrigins::Any) => "*".into(),
                    Some(CorsOrigins::List(l)) => l.join(","),
                },
            ),
            ("LOG_FORMAT", self.log_format.name().into()),
        ]
    }

    /// The key lifecycle this configuration produces, for people (`check-config`).
    pub fn timeline(&self) -> Vec<String> {
        match &self.signing {
            Signing::Hmac(_) => {
                return vec![format!(
                    "{}: one HMAC key, never rotated, never published (the JWKS is empty)",
                    alg_name(self.algorithm)
                )];
            }
            Signing::Static { key, from } => {
                return vec![format!(
                    "static key {} from {from} signs every token and never rotates; the JWKS publishes it",
                    key.kid().unwrap_or("-")
                )];
            }
            Signing::Generated => {}
        }
        let (i, m, r) = (
            self.key_rotation_interval.as_secs(),
            self.jwks_max_age.as_secs(),
            self.retention().as_secs(),
        );
        vec![
            "t=0: the first key is generated and signs at once; the next key is published as pending".into(),
            format!(
                "every {i}s: the pending key starts signing, the active key retires, a new pending key is published"
            ),
            format!("a key is published {i}s before it signs (JWKS_MAX_AGE is {m}s: cached JWKS always know it)"),
            format!("a retired key stays published {r}s (TOKEN_TTL + CLOCK_LEEWAY + 1s), then is removed"),
            format!("the JWKS holds at most {} keys", self.max_published_keys()),
        ]
    }

    /// What `SECRET_KEY` is here, for people; never the secret.
    fn secret_summary(&self) -> String {
        match (&self.signing, self.ignored_secret) {
            (Signing::Hmac(s), _) => format!("[redacted, {} bytes]", s.expose().len()),
            (Signing::Static { key, from }, _) => format!("static key {} from {from}", key.kid().unwrap_or("-")),
            (Signing::Generated, Some(from)) => format!("{from} set but unused (not a PEM key; keys are generated)"),
            (Signing::Generated, None) => "unused (asymmetric ALGO; keys are generated)".into(),
        }
    }

    /// The warnings to log at start (and print in `check-config`): a weak HMAC secret (RFC
    /// 7518 §3.2), or a secret set under an asymmetric ALGO that nothing uses.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(from) = self.ignored_secret {
            out.push(format!(
                "{from} is set but unused: under {} it is used only when it holds a PEM private key; keys are generated instead",
                alg_name(self.algorithm)
            ));
        }
        let Some(secret) = self.secret() else {
            return out;
        };
        let wanted = hash_len(self.algorithm);
        if secret.expose() == b"secret" {
            out.push(
                "SECRET_KEY is the default \"secret\": anyone can forge tokens; set SECRET_KEY or SECRET_KEY_FILE"
                    .into(),
            );
        } else if secret.expose().len() < wanted {
            out.push(format!(
                "SECRET_KEY is {} bytes, shorter than the {wanted}-byte output of {} (RFC 7518 §3.2)",
                secret.expose().len(),
                alg_name(self.algorithm)
            ));
        }
        out
    }
}

/// Parameters for which the empty string means unset.
const EMPTY_IS_UNSET: [&str; 4] = ["ISSUER", "AUDIENCE", "CORS_ALLOWED_ORIGINS", "SECRET_KEY_FILE"];

/// The longest duration any parameter accepts: ten years.
const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// The cross-checks of a rotating schedule (contract §5, invariant 3).
fn check_schedule(config: &Config, rotation: &Raw, max_age: &Raw) -> Result<(), ConfigError> {
    let (interval, age) = (config.key_rotation_interval.as_secs(), config.jwks_max_age.as_secs());
    if age >= interval {
        // Blame what the operator set; name both sides either way.
        let blamed = if rotation.set || !max_age.set {
            rotation
        } else {
            max_age
        };
        return Err(blamed.error(&format!(
            "KEY_ROTATION_INTERVAL ({interval}s{}) must be above JWKS_MAX_AGE ({age}s{}), so every key is published at least JWKS_MAX_AGE before it signs",
            rotation.default_note(),
            max_age.default_note()
        )));
    }
    if config.max_published_keys() > MAX_PUBLISHED_KEYS {
        let retention = config.retention().as_secs();
        return Err(rotation.error(&format!(
            "KEY_ROTATION_INTERVAL ({interval}s{}) is too short for TOKEN_TTL + CLOCK_LEEWAY + 1 ({retention}s): retired keys would pile up beyond {MAX_PUBLISHED_KEYS} published keys; use at least {}",
            rotation.default_note(),
            retention.div_ceil(MAX_PUBLISHED_KEYS - 2)
        )));
    }
    Ok(())
}

/// The JOSE name of an algorithm (`"ES256"`), as in a token header.
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// Every algorithm `ALGO` accepts.
pub const ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn parse_algorithm(text: &str) -> Option<Algorithm> {
    ALGORITHMS.into_iter().find(|a| alg_name(*a) == text)
}

pub fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn hash_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// `SECRET_KEY` or `SECRET_KEY_FILE` (not both) and what it means under `alg`: the HMAC
/// secret, a static PEM key, or nothing (then keys are generated; the second value names a
/// secret that was set but is unused).
fn read_signing(
    alg: Algorithm,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(Signing, Option<&'static str>), ConfigError> {
    let secret_error = |param, expected: &str| ConfigError {
        param,
        value: None,
        expected: expected.into(),
    };
    let key = lookup("SECRET_KEY");
    let file = lookup("SECRET_KEY_FILE").filter(|f| !f.trim().is_empty());
    let (from, bytes) = match (key, file) {
        (Some(key), Some(_)) if !key.is_empty() => {
            return Err(secret_error(
                "SECRET_KEY_FILE",
                "set either SECRET_KEY or SECRET_KEY_FILE, not both",
            ));
        }
        (_, Some(path)) => {
            let mut bytes = std::fs::read(&path).map_err(|e| ConfigError {
                param: "SECRET_KEY_FILE",
                value: Some(path.clone()),
                expected: format!("a readable file ({})", e.kind()),
            })?;
            if bytes.ends_with(b"\n") {
                bytes.pop();
                if bytes.ends_with(b"\r") {
                    bytes.pop();
                }
            }
            ("SECRET_KEY_FILE", Some(bytes))
        }
        (key, None) => ("SECRET_KEY", key.map(String::into_bytes)),
    };
    let given_pem = bytes.as_deref().is_some_and(pem::is_pem);
    if is_hmac(alg) {
        let bytes = bytes.unwrap_or_else(|| b"secret".to_vec());
        if bytes.is_empty() {
            return Err(secret_error(from, "expected a non-empty HMAC secret"));
        }
        if given_pem {
            return Err(secret_error(
                from,
                &format!(
                    "holds a PEM key, but {} needs an HMAC secret (for a static key, set ALGO to the key's algorithm)",
                    alg_name(alg)
                ),
            ));
        }
        return Ok((Signing::Hmac(Secret(bytes)), None));
    }
    match bytes {
        Some(bytes) if given_pem => {
            let key = pem::load(alg, &bytes).map_err(|e| secret_error(from, &e.to_string()))?;
            Ok((
                Signing::Static {
                    key: Arc::new(key),
                    from,
                },
                None,
            ))
        }
        Some(bytes) if !bytes.is_empty() => Ok((Signing::Generated, Some(from))),
        _ => Ok((Signing::Generated, None)),
    }
}

fn parse_cors(raw: &Raw) -> Result<Option<CorsOrigins>, ConfigError> {
    let Some(text) = raw.value.as_deref() else {
        return Ok(None);
    };
    let text = text.trim();
    if text == "*" {
        return Ok(Some(CorsOrigins::Any));
    }
    let origins: Vec<String> = text
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .collect();
    let valid = |o: &String| {
        (o.starts_with("http://") || o.starts_with("https://"))
            && o.len() > "https://".len()
            && !o.contains(char::is_whitespace)
    };
    if origins.is_empty() || !origins.iter().all(valid) {
        return Err(raw.error("expected * or a comma-separated list of origins like https://cusdeb.com"));
    }
    Ok(Some(CorsOrigins::List(origins)))
}

/// A parameter's raw text (or default), with helpers that name it in errors.
struct Raw {
    name: &'static str,
    /// Whether the environment set it (rather than the default).
    set: bool,
    value: Option<String>,
}

impl Raw {
    fn text(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    fn error(&self, expected: &str) -> ConfigError {
        ConfigError {
            param: self.name,
            value: self.value.clone(),
            expected: expected.into(),
        }
    }

    fn integer<T: TryFrom<u64>>(&self, min: u64, max: u64, expected: &str) -> Result<T, ConfigError> {
        let err = || self.error(&format!("expected {expected}"));
        let n: u64 = self.text().parse().map_err(|_| err())?;
        if n < min || n > max {
            return Err(err());
        }
        T::try_from(n).map_err(|_| err())
    }

    /// `", the default"` when the value is the default, for messages that quote it.
    fn default_note(&self) -> &'static str {
        if self.set { "" } else { ", the default" }
    }

    /// A whole number of seconds from `min` to ten years.
    fn seconds(&self, min: u64) -> Result<Duration, ConfigError> {
        let expected = format!("a whole number of seconds from {min} to {MAX_SECONDS} (10 years)");
        self.integer::<u64>(min, MAX_SECONDS, &expected)
            .map(Duration::from_secs)
    }

    fn seconds_f64(&self) -> Result<Duration, ConfigError> {
        let err = || self.error("expected a number of seconds from 0 to 86400, fractions allowed, e.g. 5 or 0.25");
        let n: f64 = self.text().parse().map_err(|_| err())?;
        if !n.is_finite() || !(0.0..=86_400.0).contains(&n) {
            return Err(err());
        }
        Ok(Duration::from_secs_f64(n))
    }

    fn optional_url(&self) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.value.clone() else {
            return Ok(None);
        };
        let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let ok = matches!(host, Some(h) if !h.is_empty())
            && !v.contains(['?', '#'])
            && !v.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(self.error(
                "expected an absolute http(s) URL without query or fragment, e.g. https://anonymous.cusdeb.com",
            ));
        }
        Ok(Some(v))
    }
}

/// The `--help` text: every parameter with its default.
pub fn help_text() -> String {
    let mut out = format!(
        "cusdeb-anonymous {}\nIssues short-lived anonymous JWTs and publishes the keys that verify them.\n\n\
         USAGE:\n  cusdeb-anonymous              serve (configured by the environment)\n  \
         cusdeb-anonymous openapi      print the OpenAPI spec (JSON; --yaml for YAML)\n  \
         cusdeb-anonymous check-config validate the environment, print the effective configuration\n  \
         cusdeb-anonymous --help | --version\n\nENVIRONMENT:\n",
        env!("CARGO_PKG_VERSION")
    );
    for p in PARAMS {
        let default = p.default.map_or("unset".to_owned(), |d| format!("default {d}"));
        out.push_str(&format!("  {:<22} {} [{}]\n", p.name, p.meaning, default));
    }
    out.push_str("\nLogging is filtered with RUST_LOG (default info).\n");
    out
}

#[cfg(test)]
mod tests;
