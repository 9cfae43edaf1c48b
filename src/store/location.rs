//! `KEY_STORE`'s value: memory, `file:PATH` or a PostgreSQL URL — never shown with its password.

use std::fmt;
use std::path::PathBuf;

/// Where `KEY_STORE` says the ring lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Memory,
    /// `file:PATH`: the embedded store of one process.
    File(PathBuf),
    /// A `postgres://` or `postgresql://` URL: shared by replicas. It may hold a password:
    /// `Debug` and [`StoreLocation::describe`] never show it.
    Postgres(String),
}

impl StoreLocation {
    /// Parses `KEY_STORE`; `None` when it is none of the three forms.
    pub fn parse(text: &str) -> Option<StoreLocation> {
        if text == "memory" {
            Some(StoreLocation::Memory)
        } else if let Some(path) = text.strip_prefix("file:") {
            (!path.is_empty()).then(|| StoreLocation::File(PathBuf::from(path)))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Some(StoreLocation::Postgres(text.to_owned()))
        } else {
            None
        }
    }

    /// Whether other processes share the ring.
    pub fn is_shared(&self) -> bool {
        matches!(self, StoreLocation::Postgres(_))
    }

    /// For people: the URL with its password replaced by `***`.
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Memory => "memory".into(),
            StoreLocation::File(path) => format!("file:{}", path.display()),
            StoreLocation::Postgres(url) => redact_password(url),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`. The userinfo ends at
/// the last `@` before the query, so a password holding `/`, `@` or `:` is hidden whole.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "postgres://***".into();
    };
    let (before_query, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    let shown = match before_query.rfind('@') {
        Some(at) => {
            let (userinfo, host) = (&before_query[..at], &before_query[at..]);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***{host}"),
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    // A password may also come as a query parameter.
    let query = match query.find("password=") {
        Some(i) => {
            let end = query[i..].find('&').map_or(query.len(), |e| i + e);
            format!("{}password=***{}", &query[..i], &query[end..])
        }
        None => query.to_owned(),
    };
    format!("{scheme}://{shown}{query}")
}

/// The warning for a PostgreSQL URL whose connection can be intercepted: a host that is not
/// loopback (or a socket) without `sslmode=verify-full` or `verify-ca`.
pub fn tls_warning(url: &str) -> Option<String> {
    let options: sqlx::postgres::PgConnectOptions = url.parse().ok()?;
    let host = options.get_host();
    let local = host.starts_with('/')
        || host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let verified = matches!(
        options.get_ssl_mode(),
        sqlx::postgres::PgSslMode::VerifyFull | sqlx::postgres::PgSslMode::VerifyCa
    );
    (!local && !verified).then(|| {
        format!(
            "KEY_STORE connects to {host} without sslmode=verify-full (or verify-ca): whoever sits on the network path can read and change the key ring's traffic (the private keys are sealed, but times and rows are not); add ?sslmode=verify-full"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_never_show_a_password() {
        assert_eq!(StoreLocation::parse("memory"), Some(StoreLocation::Memory));
        assert_eq!(
            StoreLocation::parse("file:/var/lib/k.json"),
            Some(StoreLocation::File("/var/lib/k.json".into()))
        );
        assert!(StoreLocation::parse("file:").is_none() && StoreLocation::parse("redis://x").is_none());
        let pg =
            StoreLocation::parse("postgresql://issuer:s3cret@db:5432/keys?password=s3cret&sslmode=require").unwrap();
        assert!(pg.is_shared());
        let shown = format!("{pg:?} {}", pg.describe());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("issuer:***@db:5432/keys?password=***&sslmode=require"),
            "{shown}"
        );
        for (url, hidden) in [
            ("postgres://u:pa/ss@db/x", "pa/ss"),
            ("postgres://u:p@ss@db:5432/x", "p@ss"),
            ("postgres://u:a:b@db/x?sslmode=require", "a:b"),
        ] {
            let shown = StoreLocation::parse(url).unwrap().describe();
            assert!(
                !shown.contains(hidden) && shown.starts_with("postgres://u:***@db"),
                "{shown}"
            );
        }
    }

    #[test]
    fn unverified_tls_to_a_remote_host_is_warned_about() {
        assert!(tls_warning("postgres://u@db.example/x").is_some());
        assert!(tls_warning("postgres://u@db.example/x?sslmode=require").is_some());
        assert!(tls_warning("postgres://u@db.example/x?sslmode=verify-full").is_none());
        assert!(tls_warning("postgres://u@127.0.0.1/x").is_none());
        assert!(tls_warning("postgres://u@localhost/x").is_none());
    }
}
