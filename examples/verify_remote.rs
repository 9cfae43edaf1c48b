//! A resource server's verification against a running issuer: fetch a token from
//! `/anonymous/`, fetch `/.well-known/jwks.json`, pick the key by `kid`, allow only the
//! expected algorithm, check `exp`, and — when given — require `iss` and `aud` to be present
//! and equal to them (jsonwebtoken checks a claim it is given only if the token carries it,
//! unless the claim is listed as required: a verifier copied from here must list them).
//!
//! `cargo run --example verify_remote -- [BASE_URL] [ALGO] [ISSUER] [AUDIENCE]` (an empty
//! ISSUER means "do not check"),
//! e.g. `ALGO=ES256 ISSUE_DELAY=0 cargo run --release &` then
//! `cargo run --example verify_remote -- http://127.0.0.1:8007 ES256`.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    cusdeb_anonymous::crypto::install();
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "http://127.0.0.1:8007".into());
    let allowed: Algorithm = args.next().unwrap_or_else(|| "ES256".into()).parse()?;
    let issuer = args.next().filter(|s| !s.is_empty());
    let audience = args.next().filter(|s| !s.is_empty());

    let token = reqwest::get(format!("{base}/anonymous/"))
        .await?
        .error_for_status()?
        .text()
        .await?;
    let jwks: JwkSet = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await?
        .json()
        .await?;

    let header = decode_header(&token)?;
    if header.alg != allowed {
        return Err(format!("token algorithm {:?} is not the allowed {allowed:?}", header.alg).into());
    }
    let kid = header.kid.ok_or("token has no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} is not in the JWKS (refetch and retry once)"))?;

    let mut validation = Validation::new(allowed);
    validation.leeway = 60;
    let mut required = vec!["exp"];
    required.extend(issuer.as_ref().map(|_| "iss"));
    required.extend(audience.as_ref().map(|_| "aud"));
    validation.set_required_spec_claims(&required);
    match &issuer {
        Some(iss) => validation.set_issuer(&[iss]),
        None => validation.iss = None,
    }
    match &audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    let data = decode::<Value>(&token, &DecodingKey::from_jwk(jwk)?, &validation)?;
    println!("verified with kid {kid}: {}", data.claims);
    Ok(())
}
