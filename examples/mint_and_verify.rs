//! Mint a token in-process and verify it the way a resource server would, with no server.
//!
//! `cargo run --example mint_and_verify [ALGO]` (default ES256).

use cusdeb_anonymous::algorithm::Algorithm;
use cusdeb_anonymous::config::Secret;
use cusdeb_anonymous::keys::SigningKey;
use cusdeb_anonymous::token::{Claims, Minter};
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    cusdeb_anonymous::crypto::install();
    let name = std::env::args().nth(1).unwrap_or_else(|| "ES256".into());
    let alg: Algorithm = name.parse().map_err(|_| format!("unknown algorithm {name}"))?;
    let secret = Secret::new(b"an example secret, at least 64 bytes long so HS512 is happy too.".to_vec());

    let key = if alg.is_hmac() {
        SigningKey::hmac(alg, secret.expose())?
    } else {
        SigningKey::generate(alg, 2048)?
    };
    let minter = Minter::new(20, Some("https://anonymous.example"), None);
    let minted = minter.mint(&key, time::OffsetDateTime::now_utc())?;
    println!("token:  {}", minted.token);

    // The verifier's side: pick the key by kid, allow exactly one algorithm, check exp and iss.
    let header = decode_header(&minted.token)?;
    let decoding = match key.jwk() {
        Some(jwk) => {
            assert_eq!(header.kid.as_deref(), key.kid(), "the token names its key");
            DecodingKey::from_jwk(jwk)?
        }
        None => DecodingKey::from_secret(secret.expose())?,
    };
    let mut validation = Validation::new(alg.jwt());
    validation.set_issuer(&["https://anonymous.example"]);
    let data = decode::<Claims>(&minted.token, &decoding, &validation)?;
    println!("header: {header:?}");
    println!("claims: {:?}", data.claims);
    Ok(())
}
