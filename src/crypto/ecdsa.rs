//! ES256 (P-256) and ES384 (P-384) over ring, fixed-length (JOSE) signatures.

use jsonwebtoken::AlgorithmFamily;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::jwk::EllipticCurve;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair};
use signature::{Signer, Verifier};

use crate::algorithm::{Algorithm, Family, Hash};

/// The curve of an ES* algorithm, as ring and JOSE name it.
pub struct Curve {
    pub signing: &'static sig::EcdsaSigningAlgorithm,
    pub verification: &'static sig::EcdsaVerificationAlgorithm,
    /// Bytes per coordinate (x, y) of a public point.
    pub coordinate_len: usize,
    pub jwk: EllipticCurve,
}

/// The curve `alg` signs on: P-256 for ES256, P-384 for ES384; `None` for any other family.
pub fn curve(alg: Algorithm) -> Option<Curve> {
    if alg.family() != Family::Ecdsa {
        return None;
    }
    match alg.hash() {
        Hash::Sha256 => Some(Curve {
            signing: &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            verification: &sig::ECDSA_P256_SHA256_FIXED,
            coordinate_len: 32,
            jwk: EllipticCurve::P256,
        }),
        Hash::Sha384 => Some(Curve {
            signing: &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            verification: &sig::ECDSA_P384_SHA384_FIXED,
            coordinate_len: 48,
            jwk: EllipticCurve::P384,
        }),
        Hash::Sha512 => None,
    }
}

/// `(x, y)` of an uncompressed public point on `curve`; `None` if it is not one.
pub fn coordinates<'a>(point: &'a [u8], curve: &Curve) -> Option<(&'a [u8], &'a [u8])> {
    let len = curve.coordinate_len;
    (point.len() == 1 + 2 * len && point[0] == 4).then(|| point[1..].split_at(len))
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
        let curve = curve(alg).ok_or_else(super::wrong_family)?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(curve.signing, key.as_bytes(), &rng)
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
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.jwt()
    }
}

/// Verifies against an uncompressed public point (what `DecodingKey::from_ec_components` holds).
pub struct EcdsaVerifier {
    alg: Algorithm,
    verification: &'static sig::EcdsaVerificationAlgorithm,
    key: DecodingKey,
}

impl EcdsaVerifier {
    pub fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Ec {
            return Err(super::wrong_family());
        }
        let verification = curve(alg).ok_or_else(super::wrong_family)?.verification;
        Ok(EcdsaVerifier {
            alg,
            verification,
            key: key.clone(),
        })
    }
}

impl Verifier<Vec<u8>> for EcdsaVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let point = self.key.try_get_as_bytes().map_err(signature::Error::from_source)?;
        sig::UnparsedPublicKey::new(self.verification, point)
            .verify(msg, signature)
            .map_err(super::sig_error)
    }
}

impl JwtVerifier for EcdsaVerifier {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.jwt()
    }
}
