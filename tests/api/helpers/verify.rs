//! A verifier independent of ring and of our code: RustCrypto's HMAC, P-256, P-384, Ed25519
//! and RSA implementations, and a hand-written JWS split. If our signing were wrong, these
//! would not be fooled by it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

pub struct Parts {
    pub header: Value,
    pub claims: Value,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

pub fn split(token: &str) -> Parts {
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "compact JWS has three segments: {token}");
    let json = |s: &str| serde_json::from_slice::<Value>(&B64.decode(s).expect("base64url")).expect("JSON");
    Parts {
        header: json(segments[0]),
        claims: json(segments[1]),
        signing_input: format!("{}.{}", segments[0], segments[1]),
        signature: B64.decode(segments[2]).expect("signature base64url"),
    }
}

/// Verifies an HS256/384/512 token with `secret`; returns its claims.
pub fn verify_hmac(token: &str, secret: &[u8]) -> Result<Value, String> {
    use hmac::{Hmac, KeyInit, Mac};
    let p = split(token);
    let input = p.signing_input.as_bytes();
    let ok = match p.header["alg"].as_str() {
        Some("HS256") => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            m.update(input);
            m.verify_slice(&p.signature).is_ok()
        }
        Some("HS384") => {
            let mut m = Hmac::<sha2::Sha384>::new_from_slice(secret).unwrap();
            m.update(input);
            m.verify_slice(&p.signature).is_ok()
        }
        Some("HS512") => {
            let mut m = Hmac::<sha2::Sha512>::new_from_slice(secret).unwrap();
            m.update(input);
            m.verify_slice(&p.signature).is_ok()
        }
        other => return Err(format!("not an HMAC alg: {other:?}")),
    };
    if ok {
        Ok(p.claims)
    } else {
        Err("bad HMAC signature".into())
    }
}

/// Verifies a token against a public JWK (as served in the JWKS); returns its claims.
pub fn verify_jwk(token: &str, jwk: &Value) -> Result<Value, String> {
    let p = split(token);
    let alg = p.header["alg"].as_str().unwrap_or_default();
    if jwk["alg"].as_str() != Some(alg) {
        return Err(format!("JWK is for {:?}, token says {alg}", jwk["alg"]));
    }
    let member = |name: &str| {
        B64.decode(jwk[name].as_str().ok_or(format!("no {name}"))?)
            .map_err(|e| e.to_string())
    };
    let msg = p.signing_input.as_bytes();
    let sig = &p.signature[..];
    let ok = match alg {
        "ES256" => {
            use p256::ecdsa::signature::Verifier;
            let point = [vec![4u8], member("x")?, member("y")?].concat();
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|e| e.to_string())?;
            let s = p256::ecdsa::Signature::from_slice(sig).map_err(|e| e.to_string())?;
            vk.verify(msg, &s).is_ok()
        }
        "ES384" => {
            use p384::ecdsa::signature::Verifier;
            let point = [vec![4u8], member("x")?, member("y")?].concat();
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|e| e.to_string())?;
            let s = p384::ecdsa::Signature::from_slice(sig).map_err(|e| e.to_string())?;
            vk.verify(msg, &s).is_ok()
        }
        "EdDSA" => {
            use ed25519_dalek::Verifier;
            let x: [u8; 32] = member("x")?.try_into().map_err(|_| "x is not 32 bytes")?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|e| e.to_string())?;
            let s = ed25519_dalek::Signature::from_slice(sig).map_err(|e| e.to_string())?;
            vk.verify(msg, &s).is_ok()
        }
        rsa_alg => verify_rsa(rsa_alg, &member("n")?, &member("e")?, msg, sig)?,
    };
    if ok {
        Ok(p.claims)
    } else {
        Err(format!("bad {alg} signature"))
    }
}

fn verify_rsa(alg: &str, n: &[u8], e: &[u8], msg: &[u8], sig: &[u8]) -> Result<bool, String> {
    use rsa::BoxedUint;
    use rsa::sha2::{Sha256, Sha384, Sha512};
    use rsa::signature::Verifier;
    let n = BoxedUint::from_be_slice_vartime(n);
    let e = BoxedUint::from_be_slice_vartime(e);
    let key = rsa::PublicKey::new(n, e).map_err(|e| e.to_string())?;
    macro_rules! check {
        ($module:ident, $digest:ty) => {{
            let vk = rsa::$module::VerifyingKey::<$digest>::new(key);
            let s = rsa::$module::Signature::try_from(sig).map_err(|e| e.to_string())?;
            vk.verify(msg, &s).is_ok()
        }};
    }
    Ok(match alg {
        "RS256" => check!(pkcs1v15, Sha256),
        "RS384" => check!(pkcs1v15, Sha384),
        "RS512" => check!(pkcs1v15, Sha512),
        "PS256" => check!(pss, Sha256),
        "PS384" => check!(pss, Sha384),
        "PS512" => check!(pss, Sha512),
        other => return Err(format!("unknown alg {other}")),
    })
}

/// RFC 7638 thumbprint, computed here from the required members in lexicographic order.
pub fn thumbprint(jwk: &Value) -> String {
    use sha2::Digest;
    let s = |k: &str| jwk[k].as_str().unwrap().to_owned();
    let canonical = match jwk["kty"].as_str().unwrap() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        ),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x")),
        other => panic!("unexpected kty {other}"),
    };
    B64.encode(sha2::Sha256::digest(canonical.as_bytes()))
}
