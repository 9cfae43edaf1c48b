//! In-process costs: minting a token per algorithm next to one bare ring signature of the same
//! input (the floor minting cannot beat), encoding the claims, building a JWKS snapshot, and
//! metrics per request.
//!
//! `cargo bench --bench mint`; read the mint/ring ratio per algorithm from one run.
//! `SIGN_TABLE=1 cargo bench --bench mint` only prints nanoseconds per bare ring signature,
//! one line per algorithm (`benches/load.sh` uses it for ideal(alg), on the server's core).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group};
use cusdeb_anonymous::algorithm::Algorithm;
use cusdeb_anonymous::config::Secret;
use cusdeb_anonymous::keyring::{KeyTimes, Snapshot};
use cusdeb_anonymous::keys::SigningKey;
use cusdeb_anonymous::token::Minter;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use time::OffsetDateTime;

const ALGS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES384,
];

/// Signs a message, returns the signature's length (so the work cannot be optimised away).
type BareSigner = Box<dyn Fn(&[u8]) -> usize>;

/// A bare ring signer for `alg`, built once: what one signature costs.
fn bare_ring(alg: Algorithm) -> BareSigner {
    let rng = SystemRandom::new();
    match alg {
        Algorithm::HS256 => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[7u8; 32]);
            Box::new(move |m| ring::hmac::sign(&key, m).as_ref().len())
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let a = if alg == Algorithm::ES256 {
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap();
            Box::new(move |m| pair.sign(&rng, m).unwrap().as_ref().len())
        }
        Algorithm::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            Box::new(move |m| pair.sign(m).as_ref().len())
        }
        Algorithm::RS256 | Algorithm::PS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let der = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
                .unwrap()
                .to_pkcs1_der()
                .unwrap();
            let pair = RsaKeyPair::from_der(der.as_bytes()).unwrap();
            let enc: &'static dyn signature::RsaEncoding = if alg == Algorithm::PS256 {
                &signature::RSA_PSS_SHA256
            } else {
                &signature::RSA_PKCS1_SHA256
            };
            Box::new(move |m| {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(enc, &rng, m, &mut out).unwrap();
                out.len()
            })
        }
        other => unreachable!("{other} is not in ALGS"),
    }
}

fn mint(c: &mut Criterion) {
    cusdeb_anonymous::crypto::install();
    let minter = Minter::new(20, None, None);
    let now = OffsetDateTime::now_utc();
    let secret = Secret::new(vec![7u8; 32]);
    for alg in ALGS {
        let key = if alg.is_hmac() {
            SigningKey::hmac(alg, secret.expose()).unwrap()
        } else {
            SigningKey::generate(alg, 2048).unwrap()
        };
        // The same length of signing input a real token has.
        let input = minter
            .mint(&key, now)
            .unwrap()
            .token
            .rsplit_once('.')
            .unwrap()
            .0
            .to_owned();
        let bare = bare_ring(alg);
        let mut group = c.benchmark_group(alg.name());
        group
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500));
        group.bench_function("ring signature", |b| b.iter(|| bare(black_box(input.as_bytes()))));
        group.bench_function("mint", |b| b.iter(|| minter.mint(black_box(&key), now).unwrap()));
        if alg == Algorithm::HS256 {
            group.bench_function("claims encoding (signing input)", |b| {
                b.iter(|| minter.signing_input(black_box(key.header_b64()), now))
            });
        }
        group.finish();
    }
}

/// A token's signing input, as long as a real one (`header.payload` of an ES256 token).
fn token_input() -> String {
    let minter = Minter::new(20, None, None);
    let key = SigningKey::generate(Algorithm::ES256, 2048).unwrap();
    minter.signing_input(key.header_b64(), OffsetDateTime::now_utc()).0
}

/// Nanoseconds per bare ring signature of `alg`: the median of 7 batches of ~50 ms each.
fn ns_per_signature(alg: Algorithm, input: &[u8]) -> f64 {
    let bare = bare_ring(alg);
    let t = Instant::now();
    let mut n = 0u32;
    while t.elapsed() < Duration::from_millis(50) {
        black_box(bare(black_box(input)));
        n += 1;
    }
    let mut batches: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(bare(black_box(input)));
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[3]
}

fn snapshot(c: &mut Criterion) {
    cusdeb_anonymous::crypto::install();
    let now = OffsetDateTime::now_utc();
    let key = || {
        (
            std::sync::Arc::new(SigningKey::generate(Algorithm::ES256, 2048).unwrap()),
            KeyTimes::forever(now),
        )
    };
    let first = key();
    // Key generation is setup, not timed: this is the JWKS (and ETag) the ring rebuilds.
    c.bench_function("jwks snapshot build (ES256, 2 keys)", |b| {
        b.iter_batched(
            key,
            |k| Snapshot::at(vec![first.clone(), k], now),
            BatchSize::SmallInput,
        )
    });
}

/// What metrics collection adds to one token request: the token counter, one request
/// counter and one latency observation (compare with the HS256 request time from load.sh).
fn metrics(c: &mut Criterion) {
    let m = cusdeb_anonymous::metrics::Metrics::new("HS256", &cusdeb_anonymous::routes::paths::Route::LABELS);
    c.bench_function("metrics per token request", |b| {
        b.iter(|| {
            m.token_issued();
            m.request(black_box(0), black_box(200), black_box(0.000_012));
        })
    });
}

criterion_group!(benches, mint, snapshot, metrics);

fn main() {
    if std::env::var_os("SIGN_TABLE").is_some() {
        cusdeb_anonymous::crypto::install();
        let input = token_input();
        for alg in ALGS {
            println!("{} {:.1}", alg.name(), ns_per_signature(alg, input.as_bytes()));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
