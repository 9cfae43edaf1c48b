//! A PEM private key in `SECRET_KEY` (the Python original's asymmetric mode): it signs every
//! token, is published under its RFC 7638 kid, and is ready at once. Kids are checked against
//! jwcrypto's thumbprints (`tests/fixtures/keys/kids.txt`), signatures with RustCrypto.

use std::collections::HashMap;

use serde_json::Value;

use crate::helpers::spawn_app;
use crate::helpers::verify::{split, verify_jwk};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn every_key_form_signs_under_its_kid_and_verifies_independently() {
    let kids: HashMap<String, String> = fixture("kids.txt")
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    let cases = [
        ("rsa2048-pkcs1", "RS256"),
        ("rsa2048-pkcs8", "PS512"),
        ("p256-sec1", "ES256"),
        ("p256-pkcs8", "ES256"),
        ("p384-sec1", "ES384"),
        ("p384-pkcs8", "ES384"),
        ("ed25519-pkcs8", "EdDSA"),
    ];
    for (name, alg) in cases {
        let pem = fixture(&format!("{name}.pem"));
        let app = spawn_app(&[("ALGO", alg), ("SECRET_KEY", &pem)]).await;
        // Ready from the first request: nothing to generate.
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200, "{name}");
        let ready: Value = ready.json().await.unwrap();
        let kid = kids[name].as_str();
        assert_eq!(ready["active_kid"], kid, "{name}");
        assert!(ready["next_kid"].is_null(), "{name}: a static key never rotates");

        let token = app.token().await;
        let parts = split(&token);
        assert_eq!(
            (parts.header["alg"].as_str(), parts.header["kid"].as_str()),
            (Some(alg), Some(kid))
        );
        let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{name}: {jwks}");
        assert_eq!(keys[0]["kid"], kid);
        assert_eq!(keys[0]["alg"], alg);
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                keys[0].get(private).is_none(),
                "{name}: private member {private} published"
            );
        }
        let claims = verify_jwk(&token, &keys[0]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(claims["user_id"], -1);
        assert!(!jwks.to_string().contains(&pem[40..80]), "PEM bytes in the JWKS");
    }
}
