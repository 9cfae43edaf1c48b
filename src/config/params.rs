//! The parameter table: every environment variable of the contract (§2) with its default and
//! meaning — the single source of `--help` and of the defaults the parser falls back to.

/// One row of the parameter table: the single source of `--help` and of the parse defaults.
pub struct Param {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub meaning: &'static str,
}

/// Every parameter, in the order `--help` lists them.
pub const PARAMS: &[Param] = &[
    p(
        "ALGO",
        Some("HS256"),
        "signing algorithm: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA",
    ),
    p(
        "SECRET_KEY",
        Some("secret"),
        "HS*: the HMAC secret, change it; asymmetric ALGO: a PEM private key here signs every token (static key)",
    ),
    p(
        "SECRET_KEY_FILE",
        None,
        "read SECRET_KEY from this file instead (trailing newline stripped)",
    ),
    p(
        "ISSUE_DELAY",
        Some("5"),
        "seconds to wait before answering /anonymous/, 0-86400, fractions allowed",
    ),
    p("PORT", Some("8007"), "TCP port, 1-65535"),
    p("HOST", Some("0.0.0.0"), "bind address (IPv4 or IPv6 literal)"),
    p(
        "TIME_ZONE",
        Some("Europe/Moscow"),
        "IANA zone for human-readable times (logs, expires_at); never for exp",
    ),
    p(
        "TOKEN_TTL",
        Some("20"),
        "token lifetime in seconds, 1-315360000 (10 years)",
    ),
    p(
        "KEY_ROTATION_INTERVAL",
        Some("21600"),
        "seconds a key is pending, then as long active (asymmetric ALGO), 1-315360000",
    ),
    p(
        "JWKS_MAX_AGE",
        Some("300"),
        "Cache-Control max-age of the JWKS, seconds, 0-315360000; below KEY_ROTATION_INTERVAL",
    ),
    p(
        "CLOCK_LEEWAY",
        Some("60"),
        "seconds verifiers may accept past exp, 0-315360000; retired keys stay published this much longer",
    ),
    p("RSA_KEY_BITS", Some("2048"), "RSA modulus size: 2048, 3072 or 4096"),
    p(
        "ISSUER",
        None,
        "absolute URL; when set, tokens carry iss and discovery is served",
    ),
    p("AUDIENCE", None, "when set, tokens carry aud"),
    p(
        "MAX_PENDING",
        Some("10000"),
        "requests that may wait on ISSUE_DELAY at once; beyond it 503",
    ),
    p(
        "CORS_ALLOWED_ORIGINS",
        None,
        "comma-separated origins (or *) allowed to call /anonymous/ from a browser",
    ),
    p(
        "KEY_STORE",
        Some("memory"),
        "where keys live: memory, file:PATH (one process), or a postgres:// URL (replicas share one ring)",
    ),
    p(
        "KEY_ENCRYPTION_KEY",
        None,
        "base64url 32-byte keys, comma-separated; the first encrypts stored private keys (AES-256-GCM), all decrypt; required with PostgreSQL",
    ),
    p(
        "KEY_ENCRYPTION_KEY_FILE",
        None,
        "read KEY_ENCRYPTION_KEY from this file instead",
    ),
    p(
        "KEY_STORE_SYNC_INTERVAL",
        Some("10"),
        "seconds between reads of a shared store by each replica, 0.1-86400, fractions allowed",
    ),
    p(
        "KEY_STORE_MAX_STALENESS",
        Some("60"),
        "seconds a replica may go without reading a shared store before it stops signing, 1-86400; at least 2x the sync interval",
    ),
    p(
        "ISSUE_RATE",
        None,
        "per-client limit on /anonymous/: N/s, N/min or N/h (GCRA); unset = off",
    ),
    p(
        "ISSUE_BURST",
        Some("N of ISSUE_RATE"),
        "tokens a client may take at once before ISSUE_RATE paces it, 1-1000000",
    ),
    p(
        "ISSUE_RATE_GLOBAL",
        None,
        "ceiling for all clients together, same syntax; unset = off",
    ),
    p(
        "TRUSTED_PROXIES",
        None,
        "comma-separated CIDRs whose Forwarded / X-Forwarded-For is believed (the rightmost untrusted hop is the client)",
    ),
    p(
        "CLIENT_IPV6_PREFIX",
        Some("64"),
        "IPv6 clients are grouped by this prefix length, 32-128",
    ),
    p(
        "LIMIT_STORE",
        Some("memory"),
        "memory, or a redis:// or rediss:// URL shared by replicas",
    ),
    p(
        "LIMIT_STORE_FAILURE",
        Some("allow"),
        "while Redis is out of reach: allow (each replica's own memory) or deny (503)",
    ),
    p(
        "POW",
        Some("off"),
        "off, or altcha: GET /anonymous/ needs a solved ALTCHA challenge from GET /anonymous/challenge",
    ),
    p(
        "POW_COST",
        Some("1200"),
        "PBKDF2-SHA256 iterations per attempt, 1-1000000; a solve takes about 4096 attempts, a check one",
    ),
    p(
        "POW_TTL",
        Some("120"),
        "seconds a challenge may be solved and used, 1-3600",
    ),
    p(
        "POW_HMAC_KEY",
        Some("random per process (warning)"),
        "the key that signs challenges, at least 32 bytes; required with a Redis LIMIT_STORE",
    ),
    p(
        "POW_HMAC_KEY_FILE",
        None,
        "read POW_HMAC_KEY from this file instead (trailing newline stripped)",
    ),
    p(
        "LOG_FORMAT",
        Some("text"),
        "log lines as text or json (filter with RUST_LOG)",
    ),
];

const fn p(name: &'static str, default: Option<&'static str>, meaning: &'static str) -> Param {
    Param { name, default, meaning }
}

/// Parameters for which the empty string means unset.
pub const EMPTY_IS_UNSET: [&str; 10] = [
    "ISSUER",
    "AUDIENCE",
    "CORS_ALLOWED_ORIGINS",
    "SECRET_KEY_FILE",
    "KEY_ENCRYPTION_KEY_FILE",
    "ISSUE_RATE",
    "ISSUE_BURST",
    "ISSUE_RATE_GLOBAL",
    "TRUSTED_PROXIES",
    "POW_HMAC_KEY_FILE",
];

/// The default of parameter `name`, if it has one.
pub fn default_of(name: &str) -> Option<&'static str> {
    PARAMS.iter().find(|p| p.name == name).and_then(|p| p.default)
}

/// The `--help` text: every parameter with its default.
pub fn help_text() -> String {
    let mut out = format!(
        "cusdeb-anonymous {}\nIssues short-lived anonymous JWTs and publishes the keys that verify them.\n\n\
         USAGE:\n  cusdeb-anonymous              serve (configured by the environment)\n  \
         cusdeb-anonymous openapi      print the OpenAPI spec (JSON; --yaml for YAML)\n  \
         cusdeb-anonymous check-config validate the environment, print the effective configuration\n  \
         cusdeb-anonymous keys list [--json] | keys rotate | keys revoke KID | keys rewrap\n                                the keys in KEY_STORE (running replicas follow within a sync)\n  \
         cusdeb-anonymous keys new-encryption-key\n                                a fresh key for KEY_ENCRYPTION_KEY\n  \
         cusdeb-anonymous --help | --version\n\nENVIRONMENT:\n",
        env!("CARGO_PKG_VERSION")
    );
    // One column for the names, as wide as the longest; meanings wrapped to 100 columns.
    let width = PARAMS.iter().map(|p| p.name.len()).max().unwrap_or(0) + 1;
    for p in PARAMS {
        let default = p.default.map_or("unset".to_owned(), |d| format!("default {d}"));
        let bracket = format!("[{default}]");
        let mut line = format!("  {:<width$}", p.name);
        let indent = line.len();
        for word in p.meaning.split(' ').chain([bracket.as_str()]) {
            if line.len() + word.len() >= 100 && line.len() > indent {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(indent);
            }
            line.push_str(word);
            line.push(' ');
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\nLogging is filtered with RUST_LOG (default info).\n");
    out
}
