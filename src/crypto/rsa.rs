//! RS256/384/512 (PKCS#1 v1.5) and PS256/384/512 (PSS) over ring. The private key is parsed
//! once from PKCS#1 or PKCS#8 DER; ring makes every signature (the `rsa` crate only generates keys).

use jsonwebtoken::AlgorithmFamily;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, RsaEncoding, RsaKeyPair};
use signature::{Signer, Verifier};

use crate::algorithm::{Algorithm, Family, Hash};

/// ring's padding and verification parameters for `alg`, which must be RS* or PS*.
fn ring_algs(alg: Algorithm) -> Result<(&'static dyn RsaEncoding, &'static sig::RsaParameters)> {
    Ok(match (alg.family(), alg.hash()) {
        (Family::RsaPkcs1, Hash::Sha256) => (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256),
        (Family::RsaPkcs1, Hash::Sha384) => (&sig::RSA_PKCS1_SHA384, &sig::RSA_PKCS1_2048_8192_SHA384),
        (Family::RsaPkcs1, Hash::Sha512) => (&sig::RSA_PKCS1_SHA512, &sig::RSA_PKCS1_2048_8192_SHA512),
        (Family::RsaPss, Hash::Sha256) => (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256),
        (Family::RsaPss, Hash::Sha384) => (&sig::RSA_PSS_SHA384, &sig::RSA_PSS_2048_8192_SHA384),
        (Family::RsaPss, Hash::Sha512) => (&sig::RSA_PSS_SHA512, &sig::RSA_PSS_2048_8192_SHA512),
        (Family::Hmac | Family::Ecdsa | Family::EdDsa, _) => return Err(super::wrong_family()),
    })
}

/// Signs with a parsed RSA key pair.
pub struct RsaSigner {
    alg: Algorithm,
    encoding: &'static dyn RsaEncoding,
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl RsaSigner {
    /// `key` holds a PKCS#1 `RSAPrivateKey` or a PKCS#8 `PrivateKeyInfo` in DER (what
    /// jsonwebtoken's `from_rsa_der` and `from_rsa_pem` hand over).
    pub fn new(alg: Algorithm, key: &EncodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Rsa {
            return Err(super::wrong_family());
        }
        let (encoding, _) = ring_algs(alg)?;
        let der = key.as_bytes();
        let pair = RsaKeyPair::from_der(der)
            .or_else(|_| RsaKeyPair::from_pkcs8(der))
            .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
        Ok(RsaSigner {
            alg,
            encoding,
            pair,
            rng: SystemRandom::new(),
        })
    }
}

impl Signer<Vec<u8>> for RsaSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut out = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(self.encoding, &self.rng, msg, &mut out)
            .map_err(super::sig_error)?;
        Ok(out)
    }
}

impl JwtSigner for RsaSigner {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.jwt()
    }
}

/// Verifies against a DER `RSAPublicKey` or JWK `n`/`e` components.
pub struct RsaVerifier {
    alg: Algorithm,
    params: &'static sig::RsaParameters,
    key: DecodingKey,
}

impl RsaVerifier {
    pub fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self> {
        if key.family() != AlgorithmFamily::Rsa {
            return Err(super::wrong_family());
        }
        let (_, params) = ring_algs(alg)?;
        Ok(RsaVerifier {
            alg,
            params,
            key: key.clone(),
        })
    }
}

impl Verifier<Vec<u8>> for RsaVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let params = self.params;
        match self.key.kind() {
            DecodingKeyKind::SecretOrDer(der) => sig::UnparsedPublicKey::new(params, der).verify(msg, signature),
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                sig::RsaPublicKeyComponents { n, e }.verify(params, msg, signature)
            }
        }
        .map_err(super::sig_error)
    }
}

impl JwtVerifier for RsaVerifier {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.jwt()
    }
}

/// `(n, e)` of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`), leading zeros
/// stripped; `None` when the bytes are not one.
pub fn public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (tag, body, rest) = der_item(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag_n, n, rest) = der_item(body)?;
    let (tag_e, e, rest) = der_item(rest)?;
    if tag_n != 0x02 || tag_e != 0x02 || !rest.is_empty() {
        return None;
    }
    let strip = |v: &[u8]| v.iter().position(|b| *b != 0).map_or(vec![0], |i| v[i..].to_vec());
    Some((strip(n), strip(e)))
}

/// One DER TLV: `(tag, contents, remainder)`.
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}
