//! Minting: the seed's claims (`token_type`, `exp`, `jti`, `user_id`, plus `iss`/`aud` when
//! configured), signed by a [`SigningKey`]. The constant part of the payload is serialised
//! once; per token only `exp` and `jti` are written, then one signature is made.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::SigningKey;

/// The claims, as verifiers decode them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub jti: String,
    pub user_id: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aud: Option<String>,
}

/// What every token of this process has in common: lifetime and the fixed claims.
#[derive(Debug, Clone)]
pub struct Minter {
    ttl_secs: i64,
    /// `,"user_id":-1[,"iss":…][,"aud":…]}` — serialised once.
    tail: String,
}

/// A freshly minted token.
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    /// `exp`, a Unix timestamp.
    pub exp: i64,
}

impl Minter {
    pub fn new(ttl_secs: u64, issuer: Option<&str>, audience: Option<&str>) -> Minter {
        let mut tail = String::from(r#","user_id":-1"#);
        for (name, value) in [("iss", issuer), ("aud", audience)] {
            if let Some(value) = value {
                tail.push_str(&format!(",\"{name}\":{}", serde_json::Value::from(value)));
            }
        }
        tail.push('}');
        Minter {
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
            tail,
        }
    }

    /// Mints a token signed by `key` at `now`: `exp = now + TOKEN_TTL` in Unix seconds.
    pub fn mint(&self, key: &SigningKey, now: OffsetDateTime) -> Result<Minted, signature::Error> {
        let (mut token, exp) = self.signing_input(key.header_b64(), now);
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(Minted { token, exp })
    }

    /// `header.payload`, the JWS signing input of a token at `now` (with room for the
    /// signature), and its `exp`: everything minting does but sign.
    pub fn signing_input(&self, header_b64: &str, now: OffsetDateTime) -> (String, i64) {
        let exp = now.unix_timestamp() + self.ttl_secs;
        let mut jti = [0u8; 32];
        Uuid::new_v4().simple().encode_lower(&mut jti);

        let mut payload = Vec::with_capacity(96 + self.tail.len());
        payload.extend_from_slice(br#"{"token_type":"access","exp":"#);
        payload.extend_from_slice(itoa::Buffer::new().format(exp).as_bytes());
        payload.extend_from_slice(br#","jti":""#);
        payload.extend_from_slice(&jti);
        payload.push(b'"');
        payload.extend_from_slice(self.tail.as_bytes());

        let mut token = String::with_capacity(header_b64.len() + 2 + payload.len() * 4 / 3 + 4 + 700);
        token.push_str(header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        (token, exp)
    }
}
