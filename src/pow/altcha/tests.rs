//! The wire format against payloads built as the widget builds them, and the canonical JSON
//! against the Python library's.

use super::*;

/// A payload as the widget builds it (`btoa(JSON.stringify(...))`), solved here.
pub(crate) fn solved(key: &hmac::Key, expires_at: u64) -> String {
    solved_with_nonce(key, expires_at, [7; 16])
}

/// [`solved`], for the challenge with `nonce`.
pub(crate) fn solved_with_nonce(key: &hmac::Key, expires_at: u64, nonce: [u8; 16]) -> String {
    let salt = [9u8; 16];
    let (nonce_hex, salt_hex) = (hex(&nonce), hex(&salt));
    let parameters = Parameters {
        algorithm: ALGORITHM,
        cost: 10,
        expires_at,
        key_length: 32,
        key_prefix: KEY_PREFIX,
        nonce: &nonce_hex,
        salt: &salt_hex,
    };
    let counter = (0..100_000)
        .find(|&c| has_prefix(&derive(10, &nonce, &salt, c)))
        .unwrap();
    let json = serde_json::json!({
        "challenge": {"parameters": {
            "algorithm": ALGORITHM, "nonce": nonce_hex, "salt": salt_hex, "cost": 10,
            "keyLength": 32, "keyPrefix": KEY_PREFIX, "expiresAt": expires_at,
        }, "signature": parameters.sign(key)},
        "solution": {"counter": counter, "derivedKey": hex(&derive(10, &nonce, &salt, counter)), "time": 12.5},
    });
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

#[test]
fn a_solved_payload_passes_and_every_change_is_caught() {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &[1; 32]);
    let text = solved(&key, 2_000_000_000);
    let mut buf = [0u8; MAX_PAYLOAD];
    let payload = Payload::parse(&text, &mut buf).unwrap();
    assert_eq!(payload.signed(&key), Ok([7u8; 16]));
    assert!(payload.solves());
    // Another key did not sign it.
    let other = hmac::Key::new(hmac::HMAC_SHA256, &[2; 32]);
    assert_eq!(payload.signed(&other), Err(Flaw::Tampered));
    // Parameters changed after signing.
    let json = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&text).unwrap()).unwrap();
    let cheaper = json.replace("\"cost\":10", "\"cost\":1");
    let enc = base64::engine::general_purpose::STANDARD.encode(&cheaper);
    let mut buf = [0u8; MAX_PAYLOAD];
    assert_eq!(
        Payload::parse(&enc, &mut buf).unwrap().signed(&key),
        Err(Flaw::Tampered)
    );
    // A wrong counter.
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let counter = value["solution"]["counter"].as_u64().unwrap();
    let wrong = json.replace(
        &format!("\"counter\":{counter}"),
        &format!("\"counter\":{}", counter + 1),
    );
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&wrong);
    let mut buf = [0u8; MAX_PAYLOAD];
    let payload = Payload::parse(&enc, &mut buf).unwrap();
    assert!(payload.signed(&key).is_ok(), "the challenge itself is intact");
    assert!(!payload.solves());
    // A claimed key without the prefix is no candidate: refused without a derivation.
    let no_prefix = json.replace("\"derivedKey\":\"000", "\"derivedKey\":\"fff");
    assert_ne!(no_prefix, json);
    let enc = base64::engine::general_purpose::STANDARD.encode(&no_prefix);
    let mut buf = [0u8; MAX_PAYLOAD];
    assert!(Payload::parse(&enc, &mut buf).unwrap().candidate().is_none());
    // Garbage and oversized input.
    let mut buf = [0u8; MAX_PAYLOAD];
    assert!(matches!(Payload::parse("%%%", &mut buf), Err(Flaw::Malformed(_))));
    assert!(matches!(Payload::parse("aGVsbG8=", &mut buf), Err(Flaw::Malformed(_))));
    assert!(matches!(
        Payload::parse(&"A".repeat(MAX_PAYLOAD + 4), &mut buf),
        Err(Flaw::Malformed(_))
    ));
}

#[test]
fn canonical_json_matches_the_python_library() {
    // altcha 2.3.0: _canonical_json(ChallengeParameters(...).to_dict()) for these values.
    let p = Parameters {
        algorithm: ALGORITHM,
        cost: 2000,
        expires_at: 1_700_000_000,
        key_length: 32,
        key_prefix: "000",
        nonce: "00112233445566778899aabbccddeeff",
        salt: "ffeeddccbbaa99887766554433221100",
    };
    let mut buf = [0u8; 512];
    assert_eq!(
        std::str::from_utf8(p.canonical(&mut buf).unwrap()).unwrap(),
        r#"{"algorithm":"PBKDF2/SHA-256","cost":2000,"expiresAt":1700000000,"keyLength":32,"keyPrefix":"000","nonce":"00112233445566778899aabbccddeeff","salt":"ffeeddccbbaa99887766554433221100"}"#
    );
    assert!(has_prefix(&[0, 0x0f, 0xff]) && !has_prefix(&[0, 0x10]) && !has_prefix(&[1, 0]));
}
