//! ES256 (P-256) and ES384 (P-384) over ring, fixed-length (JOSE) signatures.

use jsonwebtoken::AlgorithmFamily;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair};
use signature::{Signer, Verifier};

/// ring's signing algorithm for `alg` (ES256 or ES384).
pub fn signing_alg(alg: Algorithm) -> &'static sig::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

fn verification_alg(alg: Algorithm) -> &'static sig::EcdsaVerificationAlgorithm {
    match alg {
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        _ => &sig::ECDSA_P256_SHA256_FIXED,
    }
}

/// Signs with a parsed EC key pair (PKCS#8).
pub struct EcdsaSigner {
    alg: Algorithm,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl EcdsaSigner {
    pub fn new(alg: Algorithm, key: &EncodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Ec {
            return Err(super::wrong_family());
        }
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(signing_alg(alg), key.as_bytes(), &rng)
            .map_err(|_| jsonwebtoken::errors::Error::from(ErrorKind::InvalidEcdsaKey))?;
        Ok(EcdsaSigner { alg, pair, rng })
    }
}

impl Signer<Vec<u8>> for EcdsaSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self
            .pair
            .sign(&self.rng, msg)
            .map_err(super::sig_error)?
            .as_ref()
            .to_vec())
    }
}

impl JwtSigner for EcdsaSigner {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// Verifies against an uncompressed public point (what `DecodingKey::from_ec_components` holds).
pub struct EcdsaVerifier {
    alg: Algorithm,
    key: DecodingKey,
}

impl EcdsaVerifier {
    pub fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Ec {
            return Err(super::wrong_family());
        }
        Ok(EcdsaVerifier { alg, key: key.clone() })
    }
}

impl Verifier<Vec<u8>> for EcdsaVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let point = self.key.try_get_as_bytes().map_err(signature::Error::from_source)?;
        sig::UnparsedPublicKey::new(verification_alg(self.alg), point)
            .verify(msg, signature)
            .map_err(super::sig_error)
    }
}

impl JwtVerifier for EcdsaVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}
