//! `POW`, `POW_COST`, `POW_TTL`, `POW_HMAC_KEY` and `POW_HMAC_KEY_FILE`.

use std::time::Duration;

use super::{blamed, ok, parse};

const KEY: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn the_gate_is_off_by_default_and_its_parameters_are_checked() {
    let c = ok(&[]);
    assert!(c.pow.is_none(), "POW=off by default: the original's behaviour");
    let c = ok(&[("POW", "altcha")]);
    let pow = c.pow.as_ref().unwrap();
    assert_eq!((pow.cost, pow.ttl), (1200, Duration::from_secs(120)));
    assert!(pow.key.is_none());
    assert!(
        c.warnings().iter().any(|w| w.starts_with("POW_HMAC_KEY is unset")),
        "a random key is warned about"
    );
    let c = ok(&[
        ("POW", "altcha"),
        ("POW_COST", "1"),
        ("POW_TTL", "3600"),
        ("POW_HMAC_KEY", KEY),
    ]);
    let pow = c.pow.as_ref().unwrap();
    assert_eq!((pow.cost, pow.ttl.as_secs()), (1, 3600));
    assert_eq!(pow.key.as_ref().unwrap().expose(), KEY.as_bytes());
    assert!(
        c.summary().iter().all(|(_, v)| !v.contains(KEY)),
        "the key is never shown"
    );
    assert!(c.describe_pow().contains("within 3600 s"), "{}", c.describe_pow());
    for (name, value) in [
        ("POW", "on"),
        ("POW", "ALTCHA"),
        ("POW_COST", "0"),
        ("POW_COST", "1000001"),
        ("POW_COST", "lots"),
        ("POW_TTL", "0"),
        ("POW_TTL", "3601"),
    ] {
        assert_eq!(blamed(&[("POW", "altcha"), (name, value)]), name, "{name}={value}");
    }
}

#[test]
fn the_key_is_long_enough_shared_when_replicas_share_redis_and_never_echoed() {
    let short = "too-short-a-key";
    let e = parse(&[("POW", "altcha"), ("POW_HMAC_KEY", short)]).unwrap_err();
    assert_eq!(e.param, "POW_HMAC_KEY");
    assert!(!e.to_string().contains(short), "{e}");
    let redis = ("LIMIT_STORE", "redis://127.0.0.1/0");
    assert_eq!(blamed(&[("POW", "altcha"), redis]), "POW_HMAC_KEY");
    ok(&[("POW", "altcha"), redis, ("POW_HMAC_KEY", KEY)]);
    // From a file, newline stripped; not both.
    let dir = std::env::temp_dir().join(format!("pow-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key");
    std::fs::write(&file, format!("{KEY}\n")).unwrap();
    let path = file.to_str().unwrap();
    let c = ok(&[("POW", "altcha"), redis, ("POW_HMAC_KEY_FILE", path)]);
    assert_eq!(c.pow.unwrap().key.unwrap().expose(), KEY.as_bytes());
    assert_eq!(
        blamed(&[("POW", "altcha"), ("POW_HMAC_KEY", KEY), ("POW_HMAC_KEY_FILE", path)]),
        "POW_HMAC_KEY_FILE"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    // Set under POW=off: unused, said so, never an error.
    let c = ok(&[("POW_HMAC_KEY", KEY)]);
    assert!(
        c.warnings()
            .iter()
            .any(|w| w.contains("POW_HMAC_KEY is set but unused"))
    );
}
