//! Static keys: a PEM private key that the operator put in `SECRET_KEY` (as the Python
//! original's users did), checked against `ALGO` and turned into a [`SigningKey`].
//!
//! Accepted, as PyJWT accepts them: PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` and SEC1
//! `EC PRIVATE KEY`, unencrypted. The PEM sections come from rustls-pki-types; PKCS#1 and SEC1
//! are wrapped into PKCS#8 with RustCrypto's DER types, so ring loads every key one way.
//! Errors say what was found and what `ALGO` needs, never the key.

use std::fmt;

use pkcs8::der::Encode;
use pkcs8::der::asn1::{AnyRef, BitStringRef, OctetStringRef};
use pkcs8::spki::AlgorithmIdentifier;
use pkcs8::{ObjectIdentifier, PrivateKeyInfo, PrivateKeyInfoRef};
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use zeroize::Zeroizing;

use super::SigningKey;
use crate::algorithm::{Algorithm, Family, Hash};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Whether `text` looks like PEM at all (a `-----BEGIN ` line): only then is it taken for a key.
pub fn is_pem(text: &[u8]) -> bool {
    text.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Why a PEM block cannot be the static key. `Display` says what was expected; it never
/// contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemError {
    Encrypted,
    PublicKey,
    Certificate,
    /// No private key section, or one that does not decode.
    Unparsable,
    /// A private key of another type than `ALGO` needs: (found, needed).
    WrongType(&'static str, &'static str),
    /// The right type, but ring refuses it (e.g. RSA below 2048 bits).
    Unusable(&'static str),
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FORMS: &str =
            "an unencrypted PEM private key (PKCS#8 PRIVATE KEY, PKCS#1 RSA PRIVATE KEY or SEC1 EC PRIVATE KEY)";
        match self {
            PemError::Encrypted => write!(
                f,
                "the PEM key is encrypted; expected {FORMS} (decrypt it with `openssl pkey`)"
            ),
            PemError::PublicKey => write!(f, "the PEM block is a public key; expected {FORMS}"),
            PemError::Certificate => write!(f, "the PEM block is a certificate; expected {FORMS}"),
            PemError::Unparsable => write!(f, "no readable private key in the PEM text; expected {FORMS}"),
            PemError::WrongType(found, needed) => write!(f, "the PEM key is {found}; expected {needed}"),
            PemError::Unusable(needed) => write!(f, "the PEM key is not usable; expected {needed}"),
        }
    }
}

/// The key type `alg` needs, as [`key_type`] names it, and what to say when it is missing.
fn needed(alg: Algorithm) -> (&'static str, &'static str) {
    match (alg.family(), alg.hash()) {
        (Family::Ecdsa, Hash::Sha256) => ("a P-256 EC key", "a P-256 EC key for ES256"),
        (Family::Ecdsa, _) => ("a P-384 EC key", "a P-384 EC key for ES384"),
        (Family::EdDsa, _) => ("an Ed25519 key", "an Ed25519 key for EdDSA"),
        (Family::RsaPkcs1 | Family::RsaPss, _) => ("an RSA key", "an RSA key of at least 2048 bits for RS*/PS*"),
        (Family::Hmac, _) => ("an HMAC secret", "an HMAC secret, not a PEM key"),
    }
}

/// The static key in `pem` for `alg`.
pub fn load(alg: Algorithm, pem: &[u8]) -> Result<SigningKey, PemError> {
    let pkcs8 = private_key_pkcs8(pem, alg)?;
    let info = PrivateKeyInfoRef::try_from(pkcs8.as_slice()).map_err(|_| PemError::Unparsable)?;
    let found = key_type(&info);
    let (wanted, needed) = needed(alg);
    if found != wanted {
        return Err(PemError::WrongType(found, needed));
    }
    SigningKey::from_pkcs8(alg, &pkcs8).map_err(|_| PemError::Unusable(needed))
}

/// The first private key section of `pem` as PKCS#8 DER. `alg` names the curve of a SEC1
/// key that does not name its own.
fn private_key_pkcs8(pem: &[u8], alg: Algorithm) -> Result<Zeroizing<Vec<u8>>, PemError> {
    let text = String::from_utf8_lossy(pem);
    if text.lines().any(|l| {
        let l = l.trim();
        (l.starts_with("-----BEGIN ") && l.contains("ENCRYPTED")) || l.starts_with("Proc-Type: 4,ENCRYPTED")
    }) {
        return Err(PemError::Encrypted);
    }
    let mut other = PemError::Unparsable;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
        let (kind, der) = match section {
            Ok(section) => section,
            Err(pem::Error::NoItemsFound) => break,
            Err(_) => return Err(PemError::Unparsable),
        };
        let der = Zeroizing::new(der);
        match kind {
            SectionKind::PrivateKey => return Ok(der),
            SectionKind::RsaPrivateKey => return wrap(RSA_ENCRYPTION, Some(AnyRef::NULL), &der),
            SectionKind::EcPrivateKey => {
                let sec1 = sec1::EcPrivateKey::try_from(der.as_slice()).map_err(|_| PemError::Unparsable)?;
                let curve = match sec1.parameters.and_then(|p| p.named_curve()) {
                    Some(curve) => curve,
                    None if alg.hash() == Hash::Sha384 => SECP384R1,
                    None => SECP256R1,
                };
                return wrap(EC_PUBLIC_KEY, Some(AnyRef::from(&curve)), &der);
            }
            SectionKind::PublicKey => other = PemError::PublicKey,
            SectionKind::Certificate => other = PemError::Certificate,
            _ => {}
        }
    }
    Err(other)
}

/// `der` (PKCS#1 or SEC1) as the private key of a PKCS#8 `PrivateKeyInfo`.
fn wrap(oid: ObjectIdentifier, parameters: Option<AnyRef<'_>>, der: &[u8]) -> Result<Zeroizing<Vec<u8>>, PemError> {
    let key = OctetStringRef::new(der).map_err(|_| PemError::Unparsable)?;
    let info: PrivateKeyInfo<AnyRef<'_>, &OctetStringRef, BitStringRef<'_>> =
        PrivateKeyInfo::new(AlgorithmIdentifier { oid, parameters }, key);
    info.to_der().map(Zeroizing::new).map_err(|_| PemError::Unparsable)
}

/// The key type a PKCS#8 structure declares, for people.
fn key_type(info: &PrivateKeyInfoRef<'_>) -> &'static str {
    let curve = info.algorithm.parameters_oid().ok();
    match info.algorithm.oid {
        RSA_ENCRYPTION => "an RSA key",
        RSASSA_PSS => "an RSASSA-PSS-restricted RSA key (use a plain rsaEncryption key)",
        ED25519 => "an Ed25519 key",
        EC_PUBLIC_KEY if curve == Some(SECP256R1) => "a P-256 EC key",
        EC_PUBLIC_KEY if curve == Some(SECP384R1) => "a P-384 EC key",
        EC_PUBLIC_KEY => "an EC key on an unsupported curve",
        _ => "a key of an unsupported type",
    }
}
