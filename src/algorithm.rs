//! The twelve JWS algorithms `ALGO` accepts, and what each one is: its JOSE name, its family
//! (which kind of key signs) and its hash. This is the one table of algorithms in the crate;
//! everything else asks it rather than matching on names.

use std::fmt;
use std::str::FromStr;

/// A JWS algorithm this issuer signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

/// Which kind of key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A shared secret (HS*).
    Hmac,
    /// RSA, PKCS#1 v1.5 padding (RS*).
    RsaPkcs1,
    /// RSA, PSS padding (PS*).
    RsaPss,
    /// ECDSA on the curve that matches the hash: P-256 with SHA-256, P-384 with SHA-384 (ES*).
    Ecdsa,
    /// Ed25519 (EdDSA).
    EdDsa,
}

/// The hash an algorithm uses (Ed25519's own SHA-512 for EdDSA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

impl Algorithm {
    /// Every algorithm, in the order `--help` lists them.
    pub const ALL: [Algorithm; 12] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The table: name, family, hash — and the jsonwebtoken value.
    const fn spec(self) -> (&'static str, Family, Hash, jsonwebtoken::Algorithm) {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::HS256 => ("HS256", Family::Hmac, Hash::Sha256, J::HS256),
            Algorithm::HS384 => ("HS384", Family::Hmac, Hash::Sha384, J::HS384),
            Algorithm::HS512 => ("HS512", Family::Hmac, Hash::Sha512, J::HS512),
            Algorithm::RS256 => ("RS256", Family::RsaPkcs1, Hash::Sha256, J::RS256),
            Algorithm::RS384 => ("RS384", Family::RsaPkcs1, Hash::Sha384, J::RS384),
            Algorithm::RS512 => ("RS512", Family::RsaPkcs1, Hash::Sha512, J::RS512),
            Algorithm::PS256 => ("PS256", Family::RsaPss, Hash::Sha256, J::PS256),
            Algorithm::PS384 => ("PS384", Family::RsaPss, Hash::Sha384, J::PS384),
            Algorithm::PS512 => ("PS512", Family::RsaPss, Hash::Sha512, J::PS512),
            Algorithm::ES256 => ("ES256", Family::Ecdsa, Hash::Sha256, J::ES256),
            Algorithm::ES384 => ("ES384", Family::Ecdsa, Hash::Sha384, J::ES384),
            Algorithm::EdDSA => ("EdDSA", Family::EdDsa, Hash::Sha512, J::EdDSA),
        }
    }

    /// The JOSE name, as in a token header (`"ES256"`).
    pub const fn name(self) -> &'static str {
        self.spec().0
    }

    pub const fn family(self) -> Family {
        self.spec().1
    }

    pub const fn hash(self) -> Hash {
        self.spec().2
    }

    /// The same algorithm as jsonwebtoken names it.
    pub const fn jwt(self) -> jsonwebtoken::Algorithm {
        self.spec().3
    }

    /// HS*: signed with a shared secret, never published.
    pub fn is_hmac(self) -> bool {
        self.family() == Family::Hmac
    }

    /// RS* and PS*: RSA keys.
    pub fn is_rsa(self) -> bool {
        matches!(self.family(), Family::RsaPkcs1 | Family::RsaPss)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not one of the twelve (names are case-sensitive, as in JOSE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm;

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or(UnknownAlgorithm)
    }
}

impl TryFrom<jsonwebtoken::Algorithm> for Algorithm {
    type Error = UnknownAlgorithm;

    fn try_from(jwt: jsonwebtoken::Algorithm) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.jwt() == jwt)
            .ok_or(UnknownAlgorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_agree_with_jsonwebtoken() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.name().parse::<Algorithm>(), Ok(alg));
            assert_eq!(Algorithm::try_from(alg.jwt()), Ok(alg));
            assert_eq!(alg.name().parse::<jsonwebtoken::Algorithm>().unwrap(), alg.jwt());
        }
        assert!("hs256".parse::<Algorithm>().is_err() && "none".parse::<Algorithm>().is_err());
    }

    #[test]
    fn families_and_hashes() {
        let hmac: Vec<_> = Algorithm::ALL.into_iter().filter(|a| a.is_hmac()).collect();
        assert_eq!(hmac, [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]);
        assert_eq!(Algorithm::ALL.into_iter().filter(|a| a.is_rsa()).count(), 6);
        assert_eq!(Algorithm::HS384.hash().output_len(), 48);
        assert_eq!(Algorithm::ES384.hash(), Hash::Sha384);
        assert_eq!(Algorithm::EdDSA.family(), Family::EdDsa);
    }
}
