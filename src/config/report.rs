//! The configuration for people: every effective value (secrets redacted) for the start-up
//! log and `check-config`, the key lifecycle it produces, and the warnings to give at start.

use std::time::Duration;

use super::limits::{LimitStore, OnFailure, Rate, redis_endpoint};
use super::{Config, CorsOrigins, Signing};

impl Config {
    /// Every parameter's effective value, secrets redacted: for the start-up log and
    /// `check-config`.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let secs = |d: Duration| d.as_secs().to_string();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".into());
        vec![
            ("ALGO", self.algorithm.name().into()),
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
            ("KEY_STORE", self.store.location.describe()),
            (
                "KEY_ENCRYPTION_KEY",
                match &self.store.encryption {
                    Some(_) => "[redacted]".into(),
                    None => "unset".into(),
                },
            ),
            (
                "KEY_STORE_SYNC_INTERVAL",
                self.store.sync_interval.as_secs_f64().to_string(),
            ),
            (
                "KEY_STORE_MAX_STALENESS",
                self.store.max_staleness.as_secs_f64().to_string(),
            ),
            ("ISSUE_RATE", rate(self.limits.client)),
            (
                "ISSUE_BURST",
                self.limits.client.map_or("unset".into(), |r| r.burst.to_string()),
            ),
            ("ISSUE_RATE_GLOBAL", rate(self.limits.global)),
            (
                "TRUSTED_PROXIES",
                match self.limits.trusted_proxies.as_slice() {
                    [] => "unset".into(),
                    nets => nets.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                },
            ),
            ("CLIENT_IPV6_PREFIX", self.limits.ipv6_prefix.to_string()),
            (
                "LIMIT_STORE",
                match &self.limits.store {
                    LimitStore::Memory => "memory".into(),
                    LimitStore::Redis(url) => format!("redis at {}", redis_endpoint(url)),
                },
            ),
            (
                "LIMIT_STORE_FAILURE",
                match self.limits.on_failure {
                    OnFailure::Allow => "allow".into(),
                    OnFailure::Deny => "deny".into(),
                },
            ),
            ("LIMITS", self.limits.describe()),
            ("POW", if self.pow.is_some() { "altcha" } else { "off" }.into()),
            (
                "POW_COST",
                self.pow
                    .as_ref()
                    .map_or("unused (POW=off)".into(), |p| p.cost.to_string()),
            ),
            (
                "POW_TTL",
                self.pow.as_ref().map_or("unused (POW=off)".into(), |p| secs(p.ttl)),
            ),
            ("POW_HMAC_KEY", self.pow_key_summary()),
            ("GATE", self.describe_pow()),
            ("LOG_FORMAT", self.log_format.name().into()),
        ]
    }

    /// The key lifecycle this configuration produces, for people (`check-config`).
    pub fn timeline(&self) -> Vec<String> {
        match &self.signing {
            Signing::Hmac(_) => {
                return vec![format!(
                    "{}: one HMAC key, never rotated, never published (the JWKS is empty)",
                    self.algorithm
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
        let mut lines = self.schedule().timeline(self.jwks_max_age);
        lines.push(match &self.store.location {
            crate::store::StoreLocation::Memory => "keys live in this process's memory: a restart makes new keys".into(),
            crate::store::StoreLocation::File(path) => format!(
                "keys live in {} (this process only; a restart keeps them, the kid that signed last signs first)",
                path.display()
            ),
            crate::store::StoreLocation::Postgres(_) => format!(
                "keys live in PostgreSQL, shared by every replica; each reads the ring every {}s, so a key is published JWKS_MAX_AGE + KEY_STORE_SYNC_INTERVAL before it signs; a replica that cannot read it for {}s stops signing",
                self.store.sync_interval.as_secs_f64(),
                self.store.max_staleness.as_secs_f64()
            ),
        });
        lines
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

    /// What `POW_HMAC_KEY` is here, for people; never the key.
    fn pow_key_summary(&self) -> String {
        match (&self.pow, self.ignored_pow_key) {
            (Some(pow), _) => match &pow.key {
                Some(key) => format!("[redacted, {} bytes]", key.expose().len()),
                None => "random per process".into(),
            },
            (None, Some(from)) => format!("{from} set but unused (POW=off)"),
            (None, None) => "unused (POW=off)".into(),
        }
    }

    /// The gate in words, for the start-up log and `check-config`.
    pub fn describe_pow(&self) -> String {
        let Some(pow) = &self.pow else {
            return "off: GET /anonymous/ needs no proof of work".into();
        };
        let replay = match &self.limits.store {
            LimitStore::Memory => "each solution is used once in this process (replay store in memory)".to_owned(),
            LimitStore::Redis(url) => format!(
                "each solution is used once across replicas (replay store in Redis at {}; {} while it is out of reach)",
                redis_endpoint(url),
                match self.limits.on_failure {
                    OnFailure::Allow => "each replica's own memory remembers",
                    OnFailure::Deny => "tokens are refused",
                }
            ),
        };
        format!(
            "ALTCHA {}: GET /anonymous/ needs a challenge from GET /anonymous/challenge solved with PBKDF2/SHA-256, {} iterations per attempt, {} leading zero bits (about {} attempts), within {} s; {replay}",
            crate::pow::PROTOCOL,
            pow.cost,
            crate::pow::DIFFICULTY_BITS,
            1u64 << crate::pow::DIFFICULTY_BITS,
            pow.ttl.as_secs()
        )
    }

    /// The warnings to log at start (and print in `check-config`): a weak HMAC secret (RFC
    /// 7518 §3.2), or a secret set under an asymmetric ALGO that nothing uses.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.rotates() && self.store.location == crate::store::StoreLocation::Memory {
            out.push(
                "KEY_STORE=memory: keys die with the process; after a restart new keys sign and verifiers holding the old JWKS meet an unknown kid for up to JWKS_MAX_AGE (use file:PATH or PostgreSQL)".into(),
            );
        }
        if !self.rotates() && self.store.location != crate::store::StoreLocation::Memory {
            out.push(format!(
                "KEY_STORE is set but unused: under {} {} and nothing is stored",
                self.algorithm,
                match self.signing {
                    crate::config::Signing::Hmac(_) => "tokens are signed with the HMAC secret",
                    _ => "the static key signs",
                }
            ));
        }
        if let crate::store::StoreLocation::Postgres(url) = &self.store.location
            && let Some(warning) = crate::store::tls_warning(url)
        {
            out.push(warning);
        }
        if let Some(from) = self.ignored_secret {
            out.push(format!(
                "{from} is set but unused: under {} it is used only when it holds a PEM private key; keys are generated instead",
                self.algorithm
            ));
        }
        if let Some(from) = self.ignored_pow_key {
            out.push(format!("{from} is set but unused: POW=off"));
        }
        if self.pow.as_ref().is_some_and(|p| p.key.is_none()) {
            out.push(
                "POW_HMAC_KEY is unset: challenges are signed with a random key of this process, so a restart voids the challenges it handed out (set POW_HMAC_KEY to keep them)".into(),
            );
        }
        let Some(secret) = self.secret() else {
            return out;
        };
        let wanted = self.algorithm.hash().output_len();
        if secret.expose() == b"secret" {
            out.push(
                "SECRET_KEY is the default \"secret\": anyone can forge tokens; set SECRET_KEY or SECRET_KEY_FILE"
                    .into(),
            );
        } else if secret.expose().len() < wanted {
            out.push(format!(
                "SECRET_KEY is {} bytes, shorter than the {wanted}-byte output of {} (RFC 7518 §3.2)",
                secret.expose().len(),
                self.algorithm
            ));
        }
        out
    }
}

/// A rate as it was given: `N/s`, `N/min` or `N/h`.
fn rate(rate: Option<Rate>) -> String {
    rate.map_or("unset".into(), |r| {
        let unit = match r.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        format!("{}/{unit}", r.count)
    })
}
