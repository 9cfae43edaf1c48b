//! `SECRET_KEY` and `SECRET_KEY_FILE`: the HMAC secret under HS*, a static PEM key under an
//! asymmetric ALGO, or nothing (keys are generated). The [`Secret`] type never shows its bytes.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{ConfigError, parse};
use crate::algorithm::Algorithm;
use crate::keys::{SigningKey, pem};

/// The HMAC secret. Its `Debug` never shows the bytes, so it cannot leak through a log line,
/// and its memory is zeroed when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn new(bytes: impl Into<Zeroizing<Vec<u8>>>) -> Self {
        Secret(bytes.into())
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

/// What signs the tokens.
#[derive(Debug, Clone)]
pub enum Signing {
    /// HS*: the HMAC secret (`SECRET_KEY`).
    Hmac(Secret),
    /// Asymmetric ALGO with a PEM private key in `from` (`SECRET_KEY` or `SECRET_KEY_FILE`):
    /// it signs every token and never rotates.
    Static { key: Arc<SigningKey>, from: &'static str },
    /// Asymmetric ALGO: keys generated in-process and rotated on a timer.
    Generated,
}

/// `SECRET_KEY` or `SECRET_KEY_FILE` (not both) and what it means under `alg`: the HMAC
/// secret, a static PEM key, or nothing (then keys are generated; the second value names a
/// secret that was set but is unused).
pub fn read(
    alg: Algorithm,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(Signing, Option<&'static str>), ConfigError> {
    let secret_error = |param, expected: &str| ConfigError {
        param,
        value: None,
        expected: expected.into(),
    };
    let (from, bytes) = parse::value_or_file(lookup, "SECRET_KEY", "SECRET_KEY_FILE")?;
    let given_pem = bytes.as_deref().is_some_and(|b| pem::is_pem(b));
    if alg.is_hmac() {
        let bytes = bytes.unwrap_or_else(|| Zeroizing::new(b"secret".to_vec()));
        if bytes.is_empty() {
            return Err(secret_error(from, "expected a non-empty HMAC secret"));
        }
        if given_pem {
            return Err(secret_error(
                from,
                &format!(
                    "holds a PEM key, but {alg} needs an HMAC secret (for a static key, set ALGO to the key's algorithm)"
                ),
            ));
        }
        return Ok((Signing::Hmac(Secret::new(bytes)), None));
    }
    match bytes {
        Some(bytes) if given_pem => {
            let key = pem::load(alg, &bytes).map_err(|e| secret_error(from, &e.to_string()))?;
            Ok((
                Signing::Static {
                    key: Arc::new(key),
                    from,
                },
                None,
            ))
        }
        Some(bytes) if !bytes.is_empty() => Ok((Signing::Generated, Some(from))),
        _ => Ok((Signing::Generated, None)),
    }
}
