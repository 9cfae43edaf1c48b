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

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "postgres://***".into();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    // A password may also come as a query parameter.
    let tail = match tail.find("password=") {
        Some(i) => {
            let end = tail[i..].find('&').map_or(tail.len(), |e| i + e);
            format!("{}password=***{}", &tail[..i], &tail[end..])
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
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
    }
}
