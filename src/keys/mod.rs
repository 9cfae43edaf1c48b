//! One signing key: its parsed signer, its public JWK and RFC 7638 kid, and the encoded JWT
//! header that every token it signs starts with. Everything a token needs from its key is
//! computed here once, when the key is made, so minting does no per-token key work.
//!
//! Keys are made in-process — ring generates EC and Ed25519 keys, the `rsa` crate RSA keys
//! (ring cannot) — or come from the operator as PEM ([`pem`]). Either way they reach ring as
//! PKCS#8 DER through [`SigningKey::from_pkcs8`], and ring makes every signature.

pub mod pem;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Family};
use crate::crypto;

/// Why a key could not be made. Carries no key material.
#[derive(Debug)]
pub struct KeyError(String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key generation failed: {}", self.0)
    }
}

impl std::error::Error for KeyError {}

impl KeyError {
    pub fn new(what: impl Into<String>) -> KeyError {
        KeyError(what.into())
    }

    /// A failure that tests inject into key generation.
    pub fn injected() -> KeyError {
        KeyError("injected failure".into())
    }
}

/// A key that signs tokens, ready to use.
pub struct SigningKey {
    alg: Algorithm,
    /// RFC 7638 SHA-256 thumbprint of the public JWK; `None` for the HMAC secret, which is
    /// never published.
    kid: Option<String>,
    /// `base64url({"alg":…,"typ":"JWT"[,"kid":…]})`: the first segment of every token.
    header_b64: String,
    /// The public JWK (`None` for HMAC).
    jwk: Option<Jwk>,
    signer: crypto::Signer,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg.name())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The HMAC key for `alg` (HS256/384/512).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<SigningKey, KeyError> {
        let encoding = EncodingKey::from_secret(secret).map_err(|_| KeyError("empty HMAC secret".into()))?;
        SigningKey::from_parts(alg, &encoding, None)
    }

    /// Generates a fresh asymmetric key for `alg`. Blocking: RSA takes up to seconds, so call
    /// it off the async runtime.
    pub fn generate(alg: Algorithm, rsa_bits: usize) -> Result<SigningKey, KeyError> {
        generate(alg, rsa_bits).map(|new| new.key)
    }

    /// Loads an asymmetric private key for `alg` from PKCS#8 DER: the signer, the public JWK
    /// and its kid. Fails when the key is not of `alg`'s type (curve, family) or too weak.
    pub fn from_pkcs8(alg: Algorithm, pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let fail = |what: String| KeyError(format!("{alg}: {what}"));
        let (encoding, params) = match alg.family() {
            Family::Ecdsa => {
                let curve = crypto::ecdsa::curve(alg).ok_or_else(|| fail("no curve".into()))?;
                let pair = EcdsaKeyPair::from_pkcs8(curve.signing, pkcs8, &rng)
                    .map_err(|e| fail(format!("not a usable EC key for this curve ({e})")))?;
                let (x, y) = crypto::ecdsa::coordinates(pair.public_key().as_ref(), &curve)
                    .ok_or_else(|| fail("ring EC public key".into()))?;
                let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: curve.jwk,
                    x: URL_SAFE_NO_PAD.encode(x),
                    y: URL_SAFE_NO_PAD.encode(y),
                });
                (EncodingKey::from_ec_der(pkcs8), params)
            }
            Family::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                    .map_err(|e| fail(format!("not a usable Ed25519 key ({e})")))?;
                let params = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (EncodingKey::from_ed_der(pkcs8), params)
            }
            Family::RsaPkcs1 | Family::RsaPss => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| fail(format!("not a usable RSA key ({e})")))?;
                let (n, e) = crypto::rsa::public_components(pair.public_key().as_ref())
                    .ok_or_else(|| fail("ring RSA public key".into()))?;
                let params = AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: URL_SAFE_NO_PAD.encode(n),
                    e: URL_SAFE_NO_PAD.encode(e),
                });
                (EncodingKey::from_rsa_der(pkcs8), params)
            }
            Family::Hmac => return Err(fail("HMAC keys are configured, not loaded from PKCS#8".into())),
        };
        SigningKey::from_parts(alg, &encoding, Some(params))
    }

    /// Builds the signer through our jsonwebtoken provider and, for a public key, its JWK and
    /// kid. `encoding` (the private key bytes) is dropped, zeroised, by the caller.
    fn from_parts(
        alg: Algorithm,
        encoding: &EncodingKey,
        public: Option<AlgorithmParameters>,
    ) -> Result<SigningKey, KeyError> {
        // The thumbprint below goes through jsonwebtoken's process-wide provider.
        crypto::install();
        let signer = crypto::build_signer(alg, encoding).map_err(|e| KeyError(e.to_string()))?;
        let (kid, jwk) = match public {
            None => (None, None),
            Some(params) => {
                let mut jwk = Jwk {
                    common: CommonParameters::default(),
                    algorithm: params,
                };
                let kid = jwk
                    .thumbprint(ThumbprintHash::SHA256)
                    .map_err(|e| KeyError(e.to_string()))?;
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                jwk.common.key_algorithm = Some(alg.jwt().into());
                jwk.common.key_id = Some(kid.clone());
                (Some(kid), Some(jwk))
            }
        };
        let header = match &kid {
            Some(kid) => format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#),
            None => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
        };
        Ok(SigningKey {
            alg,
            kid,
            header_b64: URL_SAFE_NO_PAD.encode(header),
            jwk,
            signer,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn jwk(&self) -> Option<&Jwk> {
        self.jwk.as_ref()
    }

    /// The encoded header segment (`base64url` of the JOSE header).
    pub fn header_b64(&self) -> &str {
        &self.header_b64
    }

    /// Signs `message` (the `header.payload` signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.signer.try_sign(message)
    }
}

/// A freshly generated key: its signer and its private key as PKCS#8 DER, to be stored.
pub struct NewKey {
    pub key: SigningKey,
    pub pkcs8: Zeroizing<Vec<u8>>,
}

/// Generates a fresh asymmetric key for `alg`: ring for EC and Ed25519, the `rsa` crate for
/// RSA (`rsa_bits`). Blocking: RSA takes up to seconds, so call it off the async runtime.
pub fn generate(alg: Algorithm, rsa_bits: usize) -> Result<NewKey, KeyError> {
    let rng = SystemRandom::new();
    let fail = |what: &str| KeyError(format!("{alg}: {what}"));
    // Zeroizing: the private key bytes are overwritten when dropped.
    let pkcs8: Zeroizing<Vec<u8>> = match alg.family() {
        Family::Ecdsa => {
            let curve = crypto::ecdsa::curve(alg).ok_or_else(|| fail("no curve"))?;
            let doc = EcdsaKeyPair::generate_pkcs8(curve.signing, &rng).map_err(|_| fail("ring EC generation"))?;
            Zeroizing::new(doc.as_ref().to_vec())
        }
        Family::EdDsa => {
            let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| fail("ring Ed25519 generation"))?;
            Zeroizing::new(doc.as_ref().to_vec())
        }
        Family::RsaPkcs1 | Family::RsaPss => {
            use rsa::pkcs8::EncodePrivateKey;
            let private = rsa::PrivateKey::new(&mut getrandom::SysRng, rsa_bits).map_err(|e| fail(&e.to_string()))?;
            let doc = private.to_pkcs8_der().map_err(|e| fail(&e.to_string()))?;
            Zeroizing::new(doc.as_bytes().to_vec())
        }
        Family::Hmac => return Err(fail("HMAC keys are configured, not generated")),
    };
    let key = SigningKey::from_pkcs8(alg, &pkcs8)?;
    Ok(NewKey { key, pkcs8 })
}
