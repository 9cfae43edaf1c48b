//! Table tests of the parser: every parameter good, bad and at its edges, in milliseconds.

use std::collections::HashMap;
use std::time::Duration;

use super::*;

fn parse(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    Config::from_lookup(|k| vars.get(k).cloned())
}

fn ok(env: &[(&str, &str)]) -> Config {
    parse(env).unwrap_or_else(|e| panic!("{env:?} refused: {e}"))
}

/// The parameter a refused environment is blamed on.
fn blamed(env: &[(&str, &str)]) -> &'static str {
    match parse(env) {
        Ok(_) => panic!("{env:?} accepted"),
        Err(e) => e.param,
    }
}

fn fixture(name: &str) -> String {
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
fn hmac_secret_from_key_or_file() {
    let dir = std::env::temp_dir().join(format!("cusdeb-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, "from-a-file\r\n").unwrap();
    let path = file.to_str().unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "\n").unwrap();

    assert_eq!(
        ok(&[("SECRET_KEY", " spaced ")]).secret().unwrap().expose(),
        b" spaced "
    );
    assert_eq!(
        ok(&[("SECRET_KEY_FILE", path)]).secret().unwrap().expose(),
        b"from-a-file"
    );
    assert_eq!(
        ok(&[("SECRET_KEY", ""), ("SECRET_KEY_FILE", path)])
            .secret()
            .unwrap()
            .expose(),
        b"from-a-file"
    );
    assert_eq!(blamed(&[("SECRET_KEY", "")]), "SECRET_KEY");
    assert_eq!(
        blamed(&[("SECRET_KEY", "x"), ("SECRET_KEY_FILE", path)]),
        "SECRET_KEY_FILE"
    );
    assert_eq!(blamed(&[("SECRET_KEY_FILE", "/nonexistent/secret")]), "SECRET_KEY_FILE");
    assert_eq!(
        blamed(&[("SECRET_KEY_FILE", empty.to_str().unwrap())]),
        "SECRET_KEY_FILE"
    );
    // A PEM key is no HMAC secret.
    assert_eq!(blamed(&[("SECRET_KEY", &fixture("p256-pkcs8.pem"))]), "SECRET_KEY");
    // Short secrets are warned about (RFC 7518 §3.2), long ones are not.
    assert_eq!(
        ok(&[("ALGO", "HS512"), ("SECRET_KEY", &"k".repeat(63))])
            .warnings()
            .len(),
        1
    );
    assert!(
        ok(&[("ALGO", "HS512"), ("SECRET_KEY", &"k".repeat(64))])
            .warnings()
            .is_empty()
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unused_secret_under_asymmetric_algo_warns_and_never_stops_the_service() {
    let c = ok(&[("ALGO", "ES256"), ("SECRET_KEY", "")]);
    assert!(c.rotates() && c.warnings().is_empty());
    let c = ok(&[("ALGO", "ES256")]);
    assert!(
        c.rotates() && c.warnings().is_empty(),
        "the default secret is not 'set'"
    );
    let c = ok(&[("ALGO", "EdDSA"), ("SECRET_KEY", "an-old-hmac-secret")]);
    assert!(c.rotates());
    let warnings = c.warnings().join("\n");
    assert!(warnings.contains("SECRET_KEY is set but unused"), "{warnings}");
    assert!(!warnings.contains("an-old-hmac-secret"));
}

#[test]
fn static_keys_of_every_form_fit_their_algorithm() {
    let kids: HashMap<String, String> = fixture("kids.txt")
        .lines()
        .map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap())
        .collect();
    let cases = [
        ("rsa2048-pkcs1", ["RS256", "PS384", "RS512", "PS256"].as_slice()),
        ("rsa2048-pkcs8", &["RS256", "PS384", "RS512", "PS256"]),
        ("p256-sec1", &["ES256"]),
        ("p256-pkcs8", &["ES256"]),
        ("p384-sec1", &["ES384"]),
        ("p384-pkcs8", &["ES384"]),
        ("ed25519-pkcs8", &["EdDSA"]),
    ];
    for (name, algs) in cases {
        let pem = fixture(&format!("{name}.pem"));
        for alg in ["RS256", "PS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] {
            let result = parse(&[("ALGO", alg), ("SECRET_KEY", &pem)]);
            if !algs.contains(&alg) {
                let e = result.expect_err(&format!("{name} accepted for {alg}"));
                assert_eq!(e.param, "SECRET_KEY");
                assert!(e.to_string().contains("expected"), "{e}");
                continue;
            }
            let c = result.unwrap_or_else(|e| panic!("{name} under {alg}: {e}"));
            let Signing::Static { key, from } = &c.signing else {
                panic!("{name} under {alg} is not a static key");
            };
            assert_eq!(*from, "SECRET_KEY");
            assert_eq!(
                key.kid(),
                Some(kids[name].as_str()),
                "{name}: kid is not jwcrypto's thumbprint"
            );
            assert!(!c.rotates() && c.warnings().is_empty());
            assert!(c.summary().iter().any(|(_, v)| v.contains(&kids[name])));
        }
    }
}

#[test]
fn unusable_pem_is_refused_naming_the_parameter_never_the_key() {
    let cases = [
        ("p256-encrypted.pem", "ES256", "encrypted"),
        ("p256-cert.pem", "ES256", "certificate"),
        ("p256-pkcs8.pub.pem", "ES256", "public key"),
        ("rsa1024-pkcs1.pem", "RS256", "at least 2048 bits"),
        ("ed25519-pkcs8.pem", "ES256", "an Ed25519 key; expected a P-256 EC key"),
        ("rsa2048-pkcs8.pem", "EdDSA", "an RSA key; expected an Ed25519 key"),
    ];
    for (file, alg, says) in cases {
        let pem = fixture(file);
        let e = parse(&[("ALGO", alg), ("SECRET_KEY", &pem)]).unwrap_err();
        let line = e.to_string();
        assert_eq!(e.param, "SECRET_KEY", "{file}");
        assert!(line.contains(says), "{file}: {line}");
        assert!(
            e.value.is_none() && !line.contains("MII") && !line.contains('\n'),
            "{line}"
        );
    }
    let garbage = "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n";
    assert_eq!(blamed(&[("ALGO", "ES256"), ("SECRET_KEY", garbage)]), "SECRET_KEY");
}

#[test]
fn help_states_caps_and_every_default() {
    let help = help_text();
    for p in PARAMS {
        let line = help.lines().find(|l| l.trim_start().starts_with(p.name)).unwrap();
        match p.default {
            Some(d) => assert!(line.ends_with(&format!("[default {d}]")), "{line}"),
            None => assert!(line.ends_with("[unset]"), "{line}"),
        }
    }
    assert!(help.contains("0-86400") && help.contains("315360000"));
}
