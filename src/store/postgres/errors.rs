//! PostgreSQL's errors for people: where, the server's own words, and whether waiting can
//! cure them.

/// The server's words for a database error; the IO error for a connection that failed.
pub fn cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_owned(),
        },
        sqlx::Error::Io(io) => format!("cannot connect: {io}"),
        other => other.to_string(),
    }
}

/// Errors that waiting cannot cure: authentication failed (28P01), no such role or no access
/// (28000), no such database (3D000), no privilege (42501), a URL sqlx refuses.
pub fn definitive(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("28P01" | "28000" | "3D000" | "42501")),
        sqlx::Error::Configuration(_) => true,
        _ => false,
    }
}
