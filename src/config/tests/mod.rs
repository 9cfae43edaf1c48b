//! Table tests of the parser: every parameter good, bad and at its edges, in milliseconds.
//! `secret`: `SECRET_KEY` as HMAC secret, static key, or unused.

mod pow;
mod secret;

use std::collections::HashMap;
use std::time::Duration;

use super::*;

pub(super) fn parse(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    Config::from_lookup(|k| vars.get(k).cloned())
}

pub(super) fn ok(env: &[(&str, &str)]) -> Config {
    parse(env).unwrap_or_else(|e| panic!("{env:?} refused: {e}"))
}

/// The parameter a refused environment is blamed on.
pub(super) fn blamed(env: &[(&str, &str)]) -> &'static str {
    match parse(env) {
        Ok(_) => panic!("{env:?} accepted"),
        Err(e) => e.param,
    }
}

pub(super) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn defaults_are_the_contract_table() {
    let c = ok(&[]);
    assert_eq!(c.algorithm, Algorithm::HS256);
    assert_eq!(c.secret().unwrap().expose(), b"secret");
    assert_eq!(c.issue_delay, Duration::from_secs(5));
    assert_eq!((c.host.to_string().as_str(), c.port), ("0.0.0.0", 8007));
    assert_eq!(c.time_zone.name(), "Europe/Moscow");
    assert_eq!(c.token_ttl, Duration::from_secs(20));
    assert_eq!(c.key_rotation_interval, Duration::from_secs(21600));
    assert_eq!(c.jwks_max_age, Duration::from_secs(300));
    assert_eq!(c.clock_leeway, Duration::from_secs(60));
    assert_eq!(c.rsa_key_bits, 2048);
    assert!(c.issuer.is_none() && c.audience.is_none() && c.cors_allowed_origins.is_none());
    assert_eq!(c.max_pending, 10_000);
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.warnings().len(), 1, "the default secret is warned about");
}

#[test]
fn each_parameter_good_bad_and_edge() {
    // (name, accepted values, refused values)
    let table: &[(&str, &[&str], &[&str])] = &[
        (
            "ALGO",
            &["HS256", "HS512", "RS256", "PS512", "ES384", "EdDSA", " ES256 "],
            &["none", "hs256", "ES512", ""],
        ),
        (
            "ISSUE_DELAY",
            &["0", "0.25", "86400", " 5 "],
            &["-1", "86400.5", "NaN", "inf", "soon", ""],
        ),
        ("PORT", &["1", "8007", "65535"], &["0", "65536", "http", "-1", ""]),
        (
            "HOST",
            &["0.0.0.0", "::", "127.0.0.1", " ::1 "],
            &["localhost", "not a host", ""],
        ),
        (
            "TIME_ZONE",
            &["UTC", "Europe/Moscow", "America/New_York"],
            &["Mars/Olympus_Mons", "", "+03:00"],
        ),
        (
            "TOKEN_TTL",
            &["1", "20", "315360000"],
            &["0", "1.5", "315360001", "-20", ""],
        ),
        (
            "CLOCK_LEEWAY",
            &["0", "60", "315360000"],
            &["-1", "a minute", "315360001"],
        ),
        ("RSA_KEY_BITS", &["2048", "3072", "4096"], &["1024", "2047", "8192", ""]),
        (
            "ISSUER",
            &["https://anonymous.cusdeb.com", "http://localhost:8007/x", ""],
            &["anonymous.cusdeb.com", "https://", "https://a/?q", "ftp://a"],
        ),
        ("AUDIENCE", &["cusdeb", ""], &[]),
        ("MAX_PENDING", &["1", "10000", "16777216"], &["0", "16777217", "many"]),
        (
            "CORS_ALLOWED_ORIGINS",
            &["*", "https://cusdeb.com", "https://a.com, http://b.org/", ""],
            &["cusdeb.com", "https://a.com,", "https://"],
        ),
        ("LOG_FORMAT", &["text", "json", " json "], &["yaml", ""]),
    ];
    for (name, good, bad) in table {
        for value in *good {
            ok(&[(name, value)]);
        }
        for value in *bad {
            assert_eq!(blamed(&[(name, value)]), *name, "{name}={value:?}");
        }
    }
}

#[test]
fn schedule_parameters_under_a_rotating_algorithm() {
    let es = |env: &[(&'static str, &'static str)]| [&[("ALGO", "ES256")], env].concat();
    ok(&es(&[("KEY_ROTATION_INTERVAL", "301")]));
    ok(&es(&[("JWKS_MAX_AGE", "0")]));
    ok(&es(&[("JWKS_MAX_AGE", "21599")]));
    assert_eq!(blamed(&es(&[("KEY_ROTATION_INTERVAL", "0")])), "KEY_ROTATION_INTERVAL");
    assert_eq!(blamed(&es(&[("JWKS_MAX_AGE", "-5")])), "JWKS_MAX_AGE");
    // The relation blames what the operator set, and names both sides.
    let e = parse(&es(&[("KEY_ROTATION_INTERVAL", "10")])).unwrap_err();
    assert_eq!(e.param, "KEY_ROTATION_INTERVAL");
    assert!(e.to_string().contains("JWKS_MAX_AGE (300s, the default)"), "{e}");
    let e = parse(&es(&[("JWKS_MAX_AGE", "21600")])).unwrap_err();
    assert_eq!(e.param, "JWKS_MAX_AGE");
    assert!(
        e.to_string().contains("KEY_ROTATION_INTERVAL (21600s, the default)"),
        "{e}"
    );
    // Too many published keys: the suggested minimum is accepted, one less is not.
    let e = parse(&es(&[("TOKEN_TTL", "64740")])).unwrap_err();
    assert_eq!(e.param, "KEY_ROTATION_INTERVAL");
    assert!(e.to_string().ends_with("use at least 21601"), "{e}");
    ok(&es(&[("TOKEN_TTL", "64740"), ("KEY_ROTATION_INTERVAL", "21601")]));
    assert_eq!(
        blamed(&es(&[("TOKEN_TTL", "64740"), ("KEY_ROTATION_INTERVAL", "21600")])),
        "KEY_ROTATION_INTERVAL"
    );
}

#[test]
fn schedule_checks_do_not_apply_where_nothing_rotates() {
    // HS*: one key, never rotated.
    ok(&[("TOKEN_TTL", "64740")]);
    ok(&[("KEY_ROTATION_INTERVAL", "10")]);
    ok(&[("JWKS_MAX_AGE", "21600")]);
    // A static key never rotates either.
    ok(&[
        ("ALGO", "ES256"),
        ("SECRET_KEY", &fixture("p256-pkcs8.pem")),
        ("TOKEN_TTL", "64740"),
    ]);
}

#[test]
fn empty_means_unset_where_empty_means_nothing() {
    let c = ok(&[
        ("ISSUER", ""),
        ("AUDIENCE", ""),
        ("CORS_ALLOWED_ORIGINS", ""),
        ("SECRET_KEY_FILE", ""),
    ]);
    assert!(c.issuer.is_none() && c.audience.is_none() && c.cors_allowed_origins.is_none());
    assert_eq!(c.secret().unwrap().expose(), b"secret");
}

#[test]
fn help_states_the_caps() {
    // The defaults are checked against the contract's table by the CLI tests.
    let help = help_text();
    assert!(help.contains("0-86400") && help.contains("315360000"), "{help}");
}

#[test]
fn a_shared_store_bounds_staleness_and_leeway_by_the_sync_interval() {
    const PG: &str = "postgres://issuer@db.example:5432/keys?sslmode=verify-full";
    let pg = |env: &[(&'static str, &'static str)]| [&[("ALGO", "ES256"), ("KEY_STORE", PG)], env].concat();
    let c = ok(&pg(&[]));
    assert_eq!(c.store.max_staleness, Duration::from_secs(60));
    assert!(
        c.store.encryption.is_none(),
        "the key-encryption key is required to serve, not to parse"
    );
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    // Staleness: at least twice the sync interval, or one late read would stop signing.
    ok(&pg(&[("KEY_STORE_SYNC_INTERVAL", "30")]));
    assert_eq!(
        blamed(&pg(&[("KEY_STORE_SYNC_INTERVAL", "31")])),
        "KEY_STORE_MAX_STALENESS"
    );
    let e = parse(&pg(&[("KEY_STORE_MAX_STALENESS", "19")])).unwrap_err();
    assert!(
        e.to_string().contains("KEY_STORE_SYNC_INTERVAL (10s, the default)"),
        "{e}"
    );
    assert_eq!(
        blamed(&pg(&[("KEY_STORE_MAX_STALENESS", "0.5")])),
        "KEY_STORE_MAX_STALENESS"
    );
    // Leeway: at least one sync interval with a shared store.
    let e = parse(&pg(&[("CLOCK_LEEWAY", "9")])).unwrap_err();
    assert_eq!(e.param, "CLOCK_LEEWAY");
    assert!(e.to_string().contains("KEY_STORE_SYNC_INTERVAL (10s"), "{e}");
    ok(&pg(&[("CLOCK_LEEWAY", "10")]));
    // Neither applies to a store of one process.
    ok(&[
        ("ALGO", "ES256"),
        ("KEY_STORE", "file:/tmp/k.json"),
        ("CLOCK_LEEWAY", "0"),
    ]);
    // Unverified TLS to a remote database is warned about.
    let c = ok(&[("ALGO", "ES256"), ("KEY_STORE", "postgres://issuer@db.example/keys")]);
    assert!(
        c.warnings().iter().any(|w| w.contains("sslmode=verify-full")),
        "{:?}",
        c.warnings()
    );
}

#[test]
fn a_store_under_hs_or_a_static_key_is_warned_about() {
    let c = ok(&[
        ("SECRET_KEY", "a-secret-of-32-bytes-or-more-for-hs256!"),
        ("KEY_STORE", "file:/tmp/k.json"),
    ]);
    assert!(
        c.warnings().iter().any(|w| w.contains("KEY_STORE is set but unused")),
        "{:?}",
        c.warnings()
    );
}

#[test]
fn limits_parameters_good_bad_and_off_by_default() {
    let c = ok(&[]);
    assert!(!c.limits.any(), "limits are off unless asked for");
    let c = ok(&[
        ("ISSUE_RATE", "30/h"),
        ("ISSUE_BURST", "5"),
        ("ISSUE_RATE_GLOBAL", "600/s"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7, fd00::/8"),
        ("CLIENT_IPV6_PREFIX", "56"),
        ("LIMIT_STORE", "rediss://:pw@cache:6380/1"),
        ("LIMIT_STORE_FAILURE", "deny"),
    ]);
    let l = &c.limits;
    let client = l.client.unwrap();
    assert_eq!(
        (client.count, client.per, client.burst),
        (30, Duration::from_secs(3600), 5)
    );
    assert_eq!(l.global.unwrap().burst, 600, "the global burst is its N");
    assert_eq!(l.trusted_proxies.len(), 3);
    assert_eq!(l.ipv6_prefix, 56);
    assert!(
        !c.summary().iter().any(|(_, v)| v.contains("pw")),
        "the Redis password is never shown"
    );
    assert_eq!(
        ok(&[("ISSUE_RATE", "4/min")]).limits.client.unwrap().burst,
        4,
        "burst defaults to N"
    );
    ok(&[("ISSUE_RATE", ""), ("ISSUE_BURST", "")]);
    for (name, value) in [
        ("ISSUE_RATE", "30"),
        ("ISSUE_RATE", "0/s"),
        ("ISSUE_RATE", "30/day"),
        ("ISSUE_RATE_GLOBAL", "many/s"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "proxy.example"),
        ("CLIENT_IPV6_PREFIX", "31"),
        ("CLIENT_IPV6_PREFIX", "129"),
        ("LIMIT_STORE", "memcached://x"),
        ("LIMIT_STORE_FAILURE", "maybe"),
    ] {
        assert_eq!(blamed(&[(name, value)]), name, "{name}={value}");
    }
    assert_eq!(blamed(&[("ISSUE_BURST", "3")]), "ISSUE_BURST", "a burst without a rate");
    assert_eq!(blamed(&[("ISSUE_RATE", "3/s"), ("ISSUE_BURST", "0")]), "ISSUE_BURST");
    let e = parse(&[("LIMIT_STORE", "redis-ish://user:s3cret@x")]).unwrap_err();
    assert!(!e.to_string().contains("s3cret"), "{e}");
}
