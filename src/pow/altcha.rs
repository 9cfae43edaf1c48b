//! The ALTCHA v2 proof of work on the wire, as the official widget (npm `altcha` 3) and library
//! (PyPI `altcha` 2, unprefixed API) speak it: a challenge is `{"parameters", "signature"}`,
//! the signature an HMAC-SHA256 (hex) of the parameters' canonical JSON (keys sorted,
//! `JSON.stringify`); a solution is a `counter` whose PBKDF2 key from `nonce ‖ counter`
//! (big-endian u32) and `salt` starts with `keyPrefix`; the widget sends both back as base64
//! JSON. This service issues random-prefix challenges (no `keySignature`): handing one out
//! costs an HMAC, checking a solution one HMAC and one key derivation.
//!
//! Checking is split in the order the gate needs it: [`Payload::parse`] (shape, no heap),
//! [`Payload::signed`] (constant-time HMAC), the expiry, then — after the replay store took the
//! nonce — [`Candidate::solves`] (one derivation, compared in constant time, off the runtime).

use std::io::Write;
use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::{hmac, pbkdf2};
use serde::Deserialize;

/// The one key derivation this service asks for.
pub const ALGORITHM: &str = "PBKDF2/SHA-256";
/// Bytes of the derived key (the widget derives an AES key: 16 or 32).
pub const KEY_LENGTH: usize = 32;
/// Leading zero bits a derived key must have: three hex digits, about 4096 attempts.
pub const DIFFICULTY_BITS: u32 = 12;
/// `keyPrefix` for [`DIFFICULTY_BITS`].
pub const KEY_PREFIX: &str = "000";
/// The longest payload read (a real one is about 600 characters): beyond it, refused unread.
pub const MAX_PAYLOAD: usize = 2048;

/// Why a payload is refused before its solution is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Not base64, not JSON, not the shape of a payload, or too long.
    Malformed(&'static str),
    /// The signature does not match the parameters: not a challenge this service signed, or
    /// one whose parameters were changed.
    Tampered,
}

/// A challenge's parameters, as sent and as signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Parameters<'a> {
    pub algorithm: &'a str,
    pub cost: u64,
    pub expires_at: u64,
    pub key_length: u64,
    pub key_prefix: &'a str,
    pub nonce: &'a str,
    pub salt: &'a str,
}

impl Parameters<'_> {
    /// The canonical JSON the signature covers (`JSON.stringify` with sorted keys), written
    /// into `buf`; `None` if it does not fit. Strings are written as they are: borrowed from
    /// JSON, they hold no escapes, and `JSON.stringify` escapes nothing else they can hold.
    fn canonical<'b>(&self, buf: &'b mut [u8; 512]) -> Option<&'b [u8]> {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        write!(
            cursor,
            r#"{{"algorithm":"{}","cost":{},"expiresAt":{},"keyLength":{},"keyPrefix":"{}","nonce":"{}","salt":"{}"}}"#,
            self.algorithm, self.cost, self.expires_at, self.key_length, self.key_prefix, self.nonce, self.salt
        )
        .ok()?;
        let len = cursor.position() as usize;
        Some(&buf[..len])
    }

    /// The hex signature of these parameters under `key`.
    pub fn sign(&self, key: &hmac::Key) -> String {
        let mut buf = [0u8; 512];
        let canonical = self.canonical(&mut buf).expect("parameters this service makes fit");
        hex(hmac::sign(key, canonical).as_ref())
    }
}

#[derive(Debug, Deserialize)]
struct Challenge<'a> {
    #[serde(borrow)]
    parameters: Parameters<'a>,
    signature: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Solution<'a> {
    counter: u32,
    derived_key: &'a str,
}

#[derive(Debug, Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    challenge: Challenge<'a>,
    #[serde(borrow)]
    solution: Solution<'a>,
}

/// A payload that has the right shape. It borrows the caller's decoding buffer.
#[derive(Debug)]
pub struct Payload<'a> {
    pub parameters: Parameters<'a>,
    signature: &'a str,
    counter: u32,
    derived_key: &'a str,
}

/// Standard or URL-safe base64, padded or not.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

impl<'a> Payload<'a> {
    /// Decodes `text` (the widget's base64) into `buf` and reads the payload from it. Nothing
    /// is allocated: the JSON's strings are borrowed from `buf`.
    pub fn parse(text: &str, buf: &'a mut [u8; MAX_PAYLOAD]) -> Result<Payload<'a>, Flaw> {
        let text = text.trim();
        if text.len() > MAX_PAYLOAD {
            return Err(Flaw::Malformed("longer than any payload"));
        }
        // A `+` sent unescaped in a query arrives as a space.
        let mut plus = [0u8; MAX_PAYLOAD];
        let plus = &mut plus[..text.len()];
        for (to, from) in plus.iter_mut().zip(text.bytes()) {
            *to = if from == b' ' { b'+' } else { from };
        }
        let len = STANDARD
            .decode_slice(&*plus, &mut buf[..])
            .or_else(|_| URL_SAFE.decode_slice(&*plus, &mut buf[..]))
            .map_err(|_| Flaw::Malformed("not base64"))?;
        let wire: Wire<'a> =
            serde_json::from_slice(&buf[..len]).map_err(|_| Flaw::Malformed("not the JSON of an ALTCHA payload"))?;
        Ok(Payload {
            parameters: wire.challenge.parameters,
            signature: wire.challenge.signature,
            counter: wire.solution.counter,
            derived_key: wire.solution.derived_key,
        })
    }

    /// Whether `key` signed these parameters (compared in constant time), and they are ones
    /// this service makes: the nonce, if so.
    pub fn signed(&self, key: &hmac::Key) -> Result<[u8; 16], Flaw> {
        let mut sig = [0u8; 32];
        let mut buf = [0u8; 512];
        let canonical = self.parameters.canonical(&mut buf).ok_or(Flaw::Tampered)?;
        if unhex(self.signature, &mut sig).is_none() || hmac::verify(key, canonical, &sig).is_err() {
            return Err(Flaw::Tampered);
        }
        // Signed by this key, so made here; checked all the same, since the key may be shared
        // with an issuer configured otherwise.
        let p = &self.parameters;
        let mut nonce = [0u8; 16];
        let ours = p.algorithm == ALGORITHM
            && p.key_length == KEY_LENGTH as u64
            && p.key_prefix == KEY_PREFIX
            && u32::try_from(p.cost).is_ok_and(|c| c > 0)
            && unhex(p.nonce, &mut nonce).is_some()
            && unhex(p.salt, &mut [0u8; 16]).is_some();
        ours.then_some(nonce).ok_or(Flaw::Tampered)
    }

    /// What checking the solution needs, owned (so the derivation can leave the runtime);
    /// `None` when it cannot be a solution (not hex, a zero cost, a key without the prefix),
    /// so no derivation is spent on it.
    pub fn candidate(&self) -> Option<Candidate> {
        let p = &self.parameters;
        let mut c = Candidate {
            nonce: [0; 16],
            salt: [0; 16],
            found: [0; KEY_LENGTH],
            counter: self.counter,
            iterations: u32::try_from(p.cost).ok().and_then(NonZeroU32::new)?,
        };
        unhex(p.nonce, &mut c.nonce)?;
        unhex(p.salt, &mut c.salt)?;
        unhex(self.derived_key, &mut c.found)?;
        has_prefix(&c.found).then_some(c)
    }

    /// Whether the solution solves these (signed) parameters (see [`Candidate::solves`]).
    pub fn solves(&self) -> bool {
        self.candidate().is_some_and(|c| c.solves())
    }
}

/// A solver's claim: this counter gives this key.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    nonce: [u8; 16],
    salt: [u8; 16],
    found: [u8; KEY_LENGTH],
    counter: u32,
    iterations: NonZeroU32,
}

impl Candidate {
    /// Whether the claimed key (which has the prefix) is the one the counter gives: one
    /// PBKDF2 derivation, compared with the claimed key in constant time.
    pub fn solves(&self) -> bool {
        let mut password = [0u8; 20];
        password[..16].copy_from_slice(&self.nonce);
        password[16..].copy_from_slice(&self.counter.to_be_bytes());
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &self.salt,
            &password,
            &self.found,
        )
        .is_ok()
    }
}

/// Whether a derived key starts with [`DIFFICULTY_BITS`] zero bits.
pub fn has_prefix(key: &[u8]) -> bool {
    key.len() >= 2 && key[0] == 0 && key[1] >> 4 == 0
}

/// Derives the key for `counter`: what a solver does for each attempt (tests and benches).
pub fn derive(cost: u32, nonce: &[u8; 16], salt: &[u8; 16], counter: u32) -> [u8; KEY_LENGTH] {
    let mut password = [0u8; 20];
    password[..16].copy_from_slice(nonce);
    password[16..].copy_from_slice(&counter.to_be_bytes());
    let mut out = [0u8; KEY_LENGTH];
    let iterations = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, &password, &mut out);
    out
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Decodes hex of exactly `out.len()` bytes (either case).
pub fn unhex(text: &str, out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(())
}

#[cfg(test)]
pub(crate) mod tests;
