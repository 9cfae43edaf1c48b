//! A solver of ALTCHA challenges for the tests, on RustCrypto's HMAC (not the service's ring
//! code): what a client does with a served challenge, and the calls the gate's tests share.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{TestApp, spawn_app};

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

const KEY: &str = "a-pow-hmac-key-of-at-least-32-bytes-for-the-tests";

/// The widget's payload for `challenge` and `solution`.
pub fn payload(challenge: &Value, solution: &Value) -> String {
    STANDARD.encode(json!({"challenge": challenge, "solution": solution}).to_string())
}

/// A fresh challenge, served `no-store`.
pub async fn challenge(app: &TestApp) -> Value {
    let resp = app.get("/anonymous/challenge").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.unwrap()
}

/// A fresh challenge, solved: the payload.
pub async fn solved(app: &TestApp) -> String {
    let c = challenge(app).await;
    payload(&c, &solve(&c))
}

/// `GET /anonymous/` with the payload in the `Altcha` header: status and problem type (if any).
pub async fn take(app: &TestApp, payload: &str) -> (u16, String) {
    let resp = app.get_with("/anonymous/", "Altcha", payload).await;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    let kind = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, kind.rsplit('/').next().unwrap_or("").to_owned())
}

/// An app with the gate on (cost 3: solved here in milliseconds), ES256, ready.
pub async fn gated(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("POW", "altcha"),
        ("POW_COST", "3"),
        ("POW_HMAC_KEY", KEY),
        ("ALGO", "ES256"),
    ];
    env.extend_from_slice(extra);
    let app = spawn_app(&env).await;
    app.wait_ready().await;
    app
}
