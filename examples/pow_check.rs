//! A measuring helper for `benches/instructions.py` and the README's proof-of-work figures:
//! checks one solved ALTCHA payload N times the way the gate does (shape, signature, solution;
//! the replay store aside), or a tampered one (shape and signature only), so callgrind can
//! count one check; `solve` times the derivations a solver makes (wall clock, for the cost a
//! farm pays per token); `memory` fills the replay store with N used challenges.
//!
//! `cargo run --release --example pow_check -- verify|tampered|solve|memory N`

use std::time::Instant;

use base64::Engine;
use cusdeb_anonymous::pow::altcha::{self, ALGORITHM, KEY_PREFIX, MAX_PAYLOAD, Parameters, Payload, derive, hex};
use ring::hmac;

/// POW_COST's default, and a counter found for it once (nonce 0x11…, salt 0x22…): the
/// payload is fixed, so every run counts the same instructions.
const COST: u32 = 1200;
const COUNTER: u32 = 12663;

fn payload(key: &hmac::Key, counter: u32, tamper: bool) -> String {
    let (nonce, salt) = ([0x11u8; 16], [0x22u8; 16]);
    let (n, s) = (hex(&nonce), hex(&salt));
    let parameters = Parameters {
        algorithm: ALGORITHM,
        cost: u64::from(COST),
        expires_at: 4_000_000_000,
        key_length: 32,
        key_prefix: KEY_PREFIX,
        nonce: &n,
        salt: &s,
    };
    let mut signature = parameters.sign(key);
    if tamper {
        signature.replace_range(0..1, if signature.starts_with('0') { "1" } else { "0" });
    }
    let json = format!(
        r#"{{"challenge":{{"parameters":{{"algorithm":"{ALGORITHM}","nonce":"{n}","salt":"{s}","cost":{COST},"keyLength":32,"keyPrefix":"{KEY_PREFIX}","expiresAt":4000000000}},"signature":"{signature}"}},"solution":{{"counter":{counter},"derivedKey":"{}","time":812.5}}}}"#,
        hex(&derive(COST, &nonce, &salt, counter))
    );
    base64::engine::general_purpose::STANDARD.encode(json)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "verify".into());
    let n: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"instruction-count-pow-key-0123456789");
    assert_eq!(
        cusdeb_anonymous::config::params::default_of("POW_COST"),
        Some(COST.to_string().as_str()),
        "POW_COST's default changed: set COST, and COUNTER to what `solve` finds"
    );
    let mut passed = 0u32;
    match what.as_str() {
        "verify" | "tampered" => {
            let counter = std::env::var("COUNTER")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(COUNTER);
            let text = payload(&key, counter, what == "tampered");
            for _ in 0..n {
                let mut buf = [0u8; MAX_PAYLOAD];
                let Ok(p) = Payload::parse(&text, &mut buf) else {
                    continue;
                };
                if p.signed(&key).is_ok() && p.solves() {
                    passed += 1;
                }
            }
            let expected = if what == "verify" { n } else { 0 };
            assert_eq!(
                passed, expected,
                "the fixed payload no longer checks as expected (COUNTER?)"
            );
        }
        "solve" => {
            // N derivations at COST, timed; and the first counter that solves the fixed challenge.
            let start = Instant::now();
            let found = (0..n).find(|&c| altcha::has_prefix(&derive(COST, &[0x11; 16], &[0x22; 16], c)));
            let each = start.elapsed() / found.map_or(n, |c| c + 1);
            println!(
                "PBKDF2-HMAC-SHA256 x {COST}: {each:?} per attempt; x 4096 attempts = {:?} per token on this core; counter {found:?}",
                each * 4096
            );
        }
        "memory" => {
            // The replay store holding N used challenges: its table's bytes per entry.
            let seen = cusdeb_anonymous::pow::replay::Seen::default();
            for i in 0..n {
                let mut nonce = [0u8; 16];
                nonce[..4].copy_from_slice(&i.to_be_bytes());
                seen.take(nonce, 4_000_000_000, 0);
            }
            println!(
                "replay store: {} used challenges in {} bytes = {:.1} bytes each",
                seen.count(),
                seen.bytes(),
                seen.bytes() as f64 / f64::from(n)
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
