//! Why a store could not be read or written, and whether waiting can cure it. Carries no key
//! material and no password.

use std::fmt;

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The configuration or the stored content is wrong and waiting cannot cure it
    /// (authentication failed, no database, no key decrypts, a malformed record, a schema newer
    /// than this binary, a directory that cannot be written). At start: exit 2 naming the
    /// parameter; later: logged and retried with backoff, the last known ring serving.
    Config(&'static str),
    /// A file store held by another process: stop that process (exit 2 at start).
    InUse,
    /// The store is out of reach or busy (refused, timed out, a lock held elsewhere): retried
    /// with backoff.
    Passing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub fault: Fault,
    pub message: String,
}

impl StoreError {
    pub fn config(param: &'static str, message: String) -> StoreError {
        StoreError {
            fault: Fault::Config(param),
            message,
        }
    }

    pub fn passing(message: String) -> StoreError {
        StoreError {
            fault: Fault::Passing,
            message,
        }
    }

    pub fn in_use(message: String) -> StoreError {
        StoreError {
            fault: Fault::InUse,
            message,
        }
    }

    /// Whether waiting cannot cure it: at start, such an error exits 2.
    pub fn is_definitive(&self) -> bool {
        self.fault != Fault::Passing
    }

    /// The exit status of a command that met this error: 2 for configuration, content and
    /// "in use" errors, 1 for a store out of reach — the same on every store.
    pub fn exit_status(&self) -> u8 {
        if self.is_definitive() { 2 } else { 1 }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fault {
            Fault::Config(param) => write!(f, "invalid {param}: {}", self.message),
            Fault::InUse | Fault::Passing => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {}
