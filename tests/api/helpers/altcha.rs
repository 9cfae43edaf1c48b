//! A solver of ALTCHA challenges for the tests, on RustCrypto's HMAC (not the service's ring
//! code): what a client does with a served challenge.

use serde_json::{Value, json};

/// PBKDF2-HMAC-SHA256, one 32-byte block, by RustCrypto.
pub fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let prf = || Hmac::<sha2::Sha256>::new_from_slice(password).unwrap();
    let mut mac = prf();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = prf();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Solves `challenge` (the served JSON) as a solver would: counters from 0 until the derived
/// key starts with `keyPrefix`. Bounded: a 12-bit prefix is found in 4096 tries on average.
pub fn solve(challenge: &Value) -> Value {
    let p = &challenge["parameters"];
    let (nonce, salt) = (unhex(p["nonce"].as_str().unwrap()), unhex(p["salt"].as_str().unwrap()));
    let cost = p["cost"].as_u64().unwrap() as u32;
    let prefix = p["keyPrefix"].as_str().unwrap();
    for counter in 0u32..1_000_000 {
        let mut password = nonce.clone();
        password.extend_from_slice(&counter.to_be_bytes());
        let key = hex(&pbkdf2(&password, &salt, cost));
        if key.starts_with(prefix) {
            return json!({"counter": counter, "derivedKey": key, "time": 1.5});
        }
    }
    panic!("no solution in a million counters");
}
