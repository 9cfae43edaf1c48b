//! The provider against published vectors: RFC 7515 appendix A.1 (HS256) and A.2 (RS256)
//! reproduce byte for byte, A.3 (ES256) verifies, RFC 8037 A.4 (Ed25519) reproduces and its
//! A.3 thumbprint matches; tampering and algorithm confusion are rejected.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::crypto::{sign, verify};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const HS_KEY: &str = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const HS_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const HS_SIG: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

const RSA_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const RSA_E: &str = "AQAB";
const RSA_D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
const RSA_P: &str = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
const RSA_Q: &str = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
const RSA_DP: &str = "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0";
const RSA_DQ: &str = "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU";
const RSA_QI: &str = "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U";
const RS_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
const RS_SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const ES_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
const ES_SIG: &str = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

const ED_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const ED_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const ED_SIG: &str = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
const ED_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap()
}

fn input(header: &str) -> String {
    format!("{header}.{PAYLOAD}")
}

/// PKCS#1 `RSAPrivateKey` DER from JWK members, to load the RFC's key into ring.
fn rsa_der() -> Vec<u8> {
    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match body.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }
    fn int(bytes: &[u8]) -> Vec<u8> {
        let mut body = if bytes[0] & 0x80 != 0 { vec![0] } else { vec![] };
        body.extend_from_slice(bytes);
        der(0x02, &body)
    }
    let mut seq = int(&[0]);
    for member in [RSA_N, RSA_E, RSA_D, RSA_P, RSA_Q, RSA_DP, RSA_DQ, RSA_QI] {
        seq.extend(int(&b64(member)));
    }
    der(0x30, &seq)
}

/// PKCS#8 v1 wrapping of an Ed25519 seed.
fn ed_pkcs8() -> Vec<u8> {
    let mut out = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    out.extend(b64(ED_D));
    out
}

fn setup() {
    super::install();
}

#[test]
fn rfc7515_a1_hs256_reproduces() {
    setup();
    let key = EncodingKey::from_secret(&b64(HS_KEY)).unwrap();
    assert_eq!(
        sign(input(HS_HEADER).as_bytes(), &key, Algorithm::HS256).unwrap(),
        HS_SIG
    );
    let dkey = DecodingKey::from_secret(&b64(HS_KEY)).unwrap();
    assert!(verify(HS_SIG, input(HS_HEADER).as_bytes(), &dkey, Algorithm::HS256).unwrap());
}

#[test]
fn rfc7515_a2_rs256_reproduces() {
    setup();
    let key = EncodingKey::from_rsa_der(&rsa_der());
    assert_eq!(
        sign(input(RS_HEADER).as_bytes(), &key, Algorithm::RS256).unwrap(),
        RS_SIG
    );
    let public = DecodingKey::from_rsa_components(RSA_N, RSA_E).unwrap();
    assert!(verify(RS_SIG, input(RS_HEADER).as_bytes(), &public, Algorithm::RS256).unwrap());
    // KeyUtils: jsonwebtoken's JWK helper extracts the same public members from the DER.
    let jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    let AlgorithmParameters::RSA(rsa) = jwk.algorithm else {
        panic!("not an RSA JWK")
    };
    assert_eq!((rsa.n.as_str(), rsa.e.as_str()), (RSA_N, RSA_E));
}

#[test]
fn rfc7515_a3_es256_verifies() {
    setup();
    let public = DecodingKey::from_ec_components(EC_X, EC_Y).unwrap();
    assert!(verify(ES_SIG, input(ES_HEADER).as_bytes(), &public, Algorithm::ES256).unwrap());
    assert!(!verify(ES_SIG, input(HS_HEADER).as_bytes(), &public, Algorithm::ES256).unwrap());
}

#[test]
fn rfc8037_a4_ed25519_reproduces() {
    setup();
    let key = EncodingKey::from_ed_der(&ed_pkcs8());
    assert_eq!(sign(ED_INPUT.as_bytes(), &key, Algorithm::EdDSA).unwrap(), ED_SIG);
    let public = DecodingKey::from_ed_components(ED_X).unwrap();
    assert!(verify(ED_SIG, ED_INPUT.as_bytes(), &public, Algorithm::EdDSA).unwrap());
    // KeyUtils + compute_digest: the RFC 8037 A.3 thumbprint.
    let jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap();
    assert_eq!(jwk.thumbprint(ThumbprintHash::SHA256).unwrap(), ED_THUMBPRINT);
}

#[test]
fn tampered_signatures_are_rejected() {
    setup();
    let tamper = |sig: &str| {
        let mut bytes = b64(sig);
        bytes[3] ^= 1;
        B64.encode(bytes)
    };
    let hs = DecodingKey::from_secret(&b64(HS_KEY)).unwrap();
    assert!(!verify(&tamper(HS_SIG), input(HS_HEADER).as_bytes(), &hs, Algorithm::HS256).unwrap());
    let rs = DecodingKey::from_rsa_components(RSA_N, RSA_E).unwrap();
    assert!(!verify(&tamper(RS_SIG), input(RS_HEADER).as_bytes(), &rs, Algorithm::RS256).unwrap());
    let es = DecodingKey::from_ec_components(EC_X, EC_Y).unwrap();
    assert!(!verify(&tamper(ES_SIG), input(ES_HEADER).as_bytes(), &es, Algorithm::ES256).unwrap());
    let ed = DecodingKey::from_ed_components(ED_X).unwrap();
    assert!(!verify(&tamper(ED_SIG), ED_INPUT.as_bytes(), &ed, Algorithm::EdDSA).unwrap());
}

#[test]
fn wrong_algorithms_are_rejected() {
    setup();
    let hs = DecodingKey::from_secret(&b64(HS_KEY)).unwrap();
    assert!(!verify(HS_SIG, input(HS_HEADER).as_bytes(), &hs, Algorithm::HS384).unwrap());
    let rs = DecodingKey::from_rsa_components(RSA_N, RSA_E).unwrap();
    assert!(!verify(RS_SIG, input(RS_HEADER).as_bytes(), &rs, Algorithm::PS256).unwrap());
    assert!(!verify(RS_SIG, input(RS_HEADER).as_bytes(), &rs, Algorithm::RS512).unwrap());
    let es = DecodingKey::from_ec_components(EC_X, EC_Y).unwrap();
    assert!(!verify(ES_SIG, input(ES_HEADER).as_bytes(), &es, Algorithm::ES384).unwrap());
    // A public key used as an HMAC secret (the classic confusion) is a key-family error.
    assert!(verify(RS_SIG, input(RS_HEADER).as_bytes(), &rs, Algorithm::HS256).is_err());
    assert!(verify(ES_SIG, input(ES_HEADER).as_bytes(), &es, Algorithm::RS256).is_err());
    let hs_key = EncodingKey::from_secret(b"secret").unwrap();
    assert!(sign(b"x", &hs_key, Algorithm::ES256).is_err());
}
