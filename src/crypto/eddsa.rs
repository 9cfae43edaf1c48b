//! EdDSA (Ed25519) over ring.

use jsonwebtoken::AlgorithmFamily;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::signature::{self as sig, Ed25519KeyPair};
use signature::{Signer, Verifier};

/// Signs with a parsed Ed25519 key pair (PKCS#8 v1 or v2).
pub struct EdDsaSigner(Ed25519KeyPair);

impl EdDsaSigner {
    pub fn new(key: &EncodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Ed {
            return Err(super::wrong_family());
        }
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes())
            .map(EdDsaSigner)
            .map_err(|_| ErrorKind::InvalidEddsaKey.into())
    }
}

impl Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).as_ref().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        jsonwebtoken::Algorithm::EdDSA
    }
}

/// Verifies against a raw 32-byte public key.
pub struct EdDsaVerifier(DecodingKey);

impl EdDsaVerifier {
    pub fn new(key: &DecodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Ed {
            return Err(super::wrong_family());
        }
        Ok(EdDsaVerifier(key.clone()))
    }
}

impl Verifier<Vec<u8>> for EdDsaVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let public = self.0.try_get_as_bytes().map_err(signature::Error::from_source)?;
        sig::UnparsedPublicKey::new(&sig::ED25519, public)
            .verify(msg, signature)
            .map_err(super::sig_error)
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        jsonwebtoken::Algorithm::EdDSA
    }
}
