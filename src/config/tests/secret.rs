//! `SECRET_KEY` and `SECRET_KEY_FILE`: the HMAC secret, static PEM keys of every form, and
//! a secret nothing uses.

use std::collections::HashMap;

use super::{blamed, fixture, ok, parse};
use crate::config::{Config, Signing};

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
    let secret_warnings = |c: &Config| c.warnings().iter().filter(|w| w.contains("SECRET_KEY")).count();
    let c = ok(&[("ALGO", "ES256"), ("SECRET_KEY", "")]);
    assert!(c.rotates() && secret_warnings(&c) == 0);
    let c = ok(&[("ALGO", "ES256")]);
    assert!(
        c.rotates() && secret_warnings(&c) == 0,
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
