//! A measuring helper for `benches/instructions.py`: signs a token-sized message N times with
//! a bare ring key — no issuer code — so callgrind can count one signature's instructions.
//!
//! `cargo run --release --example sign_bare -- ES256|EdDSA N`

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};

fn main() {
    let mut args = std::env::args().skip(1);
    let alg = args.next().unwrap_or_else(|| "ES256".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let message = [b'a'; 180]; // about a token's signing input
    let rng = SystemRandom::new();
    let mut total = 0usize;
    match alg.as_str() {
        "ES256" => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            for _ in 0..n {
                total += pair.sign(&rng, &message).unwrap().as_ref().len();
            }
        }
        "EdDSA" => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            for _ in 0..n {
                total += pair.sign(&message).as_ref().len();
            }
        }
        other => panic!("unknown algorithm {other}"),
    }
    println!("{n} signatures, {total} bytes");
}
