//! jsonwebtoken's [`CryptoProvider`] over ring: every signature this service makes, and every
//! verification jsonwebtoken does in this process, goes through these function tables.
//!
//! One module per family, as in jsonwebtoken's own providers: [`hmac`], [`rsa`] (PKCS#1 v1.5
//! and PSS), [`ecdsa`] (P-256, P-384) and [`eddsa`] (Ed25519). Unlike the aws-lc provider,
//! each signer parses its key once when built, so a signer kept in the key ring signs with no
//! per-token setup. [`install`] must run once, early in `main` (or a test), before any JWT work.

pub mod ecdsa;
pub mod eddsa;
pub mod hmac;
pub mod rsa;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::algorithm::{Algorithm, Family};
use ring::digest;
use ring::signature::{self as sig, KeyPair};

/// The ring-backed provider.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_components_from_private_key,
        compute_digest,
    },
};

/// Makes [`PROVIDER`] jsonwebtoken's process-wide provider. Idempotent: a second call (tests
/// build many apps in one process) finds it installed and does nothing.
pub fn install() {
    let _ = PROVIDER.install_default();
}

/// A signer that holds its parsed key, shareable across threads.
pub type Signer = Box<dyn JwtSigner + Send + Sync>;

/// Builds a signer that holds the parsed key: build once, sign many times. The provider's
/// `signer_factory` and the key ring both come here.
pub fn build_signer(alg: Algorithm, key: &EncodingKey) -> Result<Signer> {
    Ok(match alg.family() {
        Family::Hmac => Box::new(hmac::HmacSigner::new(alg, key)?),
        Family::RsaPkcs1 | Family::RsaPss => Box::new(rsa::RsaSigner::new(alg, key)?),
        Family::Ecdsa => Box::new(ecdsa::EcdsaSigner::new(alg, key)?),
        Family::EdDsa => Box::new(eddsa::EdDsaSigner::new(key)?),
    })
}

/// jsonwebtoken's algorithm as ours (an algorithm jsonwebtoken adds later is refused).
fn ours(alg: jsonwebtoken::Algorithm) -> Result<Algorithm> {
    Algorithm::try_from(alg).map_err(|_| ErrorKind::InvalidAlgorithm.into())
}

fn new_signer(alg: &jsonwebtoken::Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(build_signer(ours(*alg)?, key)?)
}

fn new_verifier(alg: &jsonwebtoken::Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let alg = ours(*alg)?;
    Ok(match alg.family() {
        Family::Hmac => Box::new(hmac::HmacVerifier::new(alg, key)?),
        Family::RsaPkcs1 | Family::RsaPss => Box::new(rsa::RsaVerifier::new(alg, key)?),
        Family::Ecdsa => Box::new(ecdsa::EcdsaVerifier::new(alg, key)?),
        Family::EdDsa => Box::new(eddsa::EdDsaVerifier::new(key)?),
    })
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair = sig::RsaKeyPair::from_der(der).map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
    rsa_components_from_public_key(pair.public_key().as_ref())
}

fn rsa_components_from_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    rsa::public_components(der).ok_or_else(|| ErrorKind::InvalidRsaKey("not a DER RSAPublicKey".into()).into())
}

fn ec_components_from_private_key(
    der: &[u8],
    alg: jsonwebtoken::Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    let curve = ecdsa::curve(ours(alg)?).ok_or_else(|| Error::from(ErrorKind::InvalidEcdsaKey))?;
    let pair = sig::EcdsaKeyPair::from_pkcs8(curve.signing, der, &ring::rand::SystemRandom::new())
        .map_err(|_| Error::from(ErrorKind::InvalidEcdsaKey))?;
    let (x, y) = ecdsa::coordinates(pair.public_key().as_ref(), &curve).ok_or(ErrorKind::InvalidEcdsaKey)?;
    Ok((curve.jwk, x.to_vec(), y.to_vec()))
}

fn ed_components_from_private_key(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair =
        sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| Error::from(ErrorKind::InvalidEddsaKey))?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let alg = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(alg, data).as_ref().to_vec())
}

/// A `signature::Error` for a ring failure (ring's errors carry no detail worth keeping).
fn sig_error(_: ring::error::Unspecified) -> signature::Error {
    signature::Error::new()
}

fn wrong_family() -> Error {
    ErrorKind::InvalidKeyFormat.into()
}

#[cfg(test)]
mod vectors;
