//! HS256/384/512 over `ring::hmac`. The key is expanded once into a `hmac::Key`.

use jsonwebtoken::AlgorithmFamily;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::errors::Result;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::hmac;
use signature::{Signer, Verifier};

use crate::algorithm::{Algorithm, Family, Hash};

/// ring's HMAC for `alg`, which must be HS*.
fn ring_alg(alg: Algorithm) -> Result<hmac::Algorithm> {
    if alg.family() != Family::Hmac {
        return Err(super::wrong_family());
    }
    Ok(match alg.hash() {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha384 => hmac::HMAC_SHA384,
        Hash::Sha512 => hmac::HMAC_SHA512,
    })
}

/// Signs with a pre-expanded HMAC key.
pub struct HmacSigner {
    alg: Algorithm,
    key: hmac::Key,
}

impl HmacSigner {
    pub fn new(alg: Algorithm, key: &EncodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Hmac {
            return Err(super::wrong_family());
        }
        Ok(HmacSigner {
            alg,
            key: hmac::Key::new(ring_alg(alg)?, key.as_bytes()),
        })
    }
}

impl Signer<Vec<u8>> for HmacSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.key, msg).as_ref().to_vec())
    }
}

impl JwtSigner for HmacSigner {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.jwt()
    }
}

/// Verifies in constant time (`ring::hmac::verify`).
pub struct HmacVerifier {
    alg: Algorithm,
    key: hmac::Key,
}

impl HmacVerifier {
    pub fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Hmac {
            return Err(super::wrong_family());
        }
        Ok(HmacVerifier {
            alg,
            key: hmac::Key::new(ring_alg(alg)?, key.try_get_as_bytes()?),
        })
    }
}

impl Verifier<Vec<u8>> for HmacVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        hmac::verify(&self.key, msg, signature).map_err(super::sig_error)
    }
}

impl JwtVerifier for HmacVerifier {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.jwt()
    }
}
