//! Where the key ring lives (`KEY_STORE`, contract §6): the process's memory, a file for one
//! process (`file`), or PostgreSQL shared by replicas (`postgres`). Every store offers the same
//! operations: read the ring, and apply a change to the ring it has just read in one
//! transaction — so a change decided by [`crate::keyring::plan`] is decided on fresh data, at
//! a `now` read after the store's lock is held. The token path never touches a store: it signs
//! from the in-memory snapshot.
//!
//! Failure behaviour (contract §6a): every call is bounded by [`CALL_TIMEOUT`]; every record
//! is validated on load and a bad one is refused by kid; removed kids are remembered and never
//! come back; an error says whether waiting can cure it ([`Fault`]).

pub mod crypt;
mod error;
mod file;
mod location;
mod postgres;
mod record;

pub use error::{Fault, StoreError};
pub use location::{StoreLocation, tls_warning};
pub use record::Listed;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::keyring::KeyRecord;

/// How long any one store call may take before it is abandoned and counted as a failure.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The ring as stored: the algorithm replicas work towards, and the keys.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    /// The ring's algorithm: set by the most recently started process whose `ALGO` differed
    /// (a rolling update that changes `ALGO` migrates the ring once); `None` in a new store.
    pub algorithm: Option<Algorithm>,
    pub records: Vec<KeyRecord>,
}

/// The store's part of the configuration.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub location: StoreLocation,
    /// `None`: private keys are stored unencrypted (allowed with a file, 0600).
    pub encryption: Option<Arc<crypt::Kek>>,
    /// How often a replica reads a shared store.
    pub sync_interval: Duration,
    /// How long a replica may go without reading a shared store before it stops signing.
    pub max_staleness: Duration,
}

/// How a store is opened: by the server (writes, holds the file lock, needs the key-encryption
/// key), by `keys rewrap` (the same, and it may meet the plaintext keys it is about to seal),
/// or by an operator's `keys list` beside a running server (reads public facts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Serve,
    Rewrap,
    ListOnly,
}

/// The configured store.
#[derive(Debug)]
pub enum KeyStore {
    /// Keys die with the process.
    Memory(Mutex<Ring>),
    File(Arc<file::FileStore>),
    Postgres(Box<postgres::PgStore>),
}

impl KeyStore {
    /// Opens the store `config` names. Memory and file stores are checked at once (a file that
    /// is locked, corrupt, undecryptable or in a directory that cannot be written is refused
    /// here); PostgreSQL connects at its first call.
    pub fn open(config: &StoreConfig, access: Access) -> Result<KeyStore, StoreError> {
        let kek = config.encryption.clone();
        match &config.location {
            StoreLocation::Memory => Ok(KeyStore::memory()),
            StoreLocation::File(path) => Ok(KeyStore::File(Arc::new(file::FileStore::open(path, kek, access)?))),
            StoreLocation::Postgres(url) => {
                if kek.is_none() && access != Access::ListOnly {
                    return Err(StoreError::config(
                        "KEY_ENCRYPTION_KEY",
                        "required with a PostgreSQL KEY_STORE: base64url 32-byte keys, comma-separated (make one with `cusdeb-anonymous keys new-encryption-key`)".into(),
                    ));
                }
                Ok(KeyStore::Postgres(Box::new(postgres::PgStore::open(url, kek)?)))
            }
        }
    }

    /// An empty in-memory store.
    pub fn memory() -> KeyStore {
        KeyStore::Memory(Mutex::new(Ring::default()))
    }

    /// Whether other processes may change the ring: then every replica reads it again every
    /// `KEY_STORE_SYNC_INTERVAL`.
    pub fn is_shared(&self) -> bool {
        match self {
            KeyStore::Memory(_) | KeyStore::File(_) => false,
            KeyStore::Postgres(_) => true,
        }
    }

    /// The ring as stored, every record validated and opened.
    pub async fn load(&self) -> Result<Ring, StoreError> {
        match self {
            KeyStore::Memory(ring) => Ok(lock(ring).clone()),
            KeyStore::File(file) => {
                let file = file.clone();
                blocking(move || file.read()).await
            }
            KeyStore::Postgres(pg) => pg.load().await,
        }
    }

    /// Applies `change` to the ring as it is now, in one transaction, at a `now` read from
    /// `clock` once the store's lock is held; writes it if `change` says it changed
    /// something. Returns the ring as it is afterwards.
    pub async fn update<F>(&self, clock: Clock, change: F) -> Result<Ring, StoreError>
    where
        F: FnOnce(&mut Ring, OffsetDateTime) -> bool + Send + 'static,
    {
        match self {
            KeyStore::Memory(ring) => {
                let mut ring = lock(ring);
                change(&mut ring, clock.now());
                Ok(ring.clone())
            }
            KeyStore::File(file) => {
                let file = file.clone();
                blocking(move || file.update(clock, change)).await
            }
            KeyStore::Postgres(pg) => pg.update(clock, change).await,
        }
    }

    /// The public facts of every stored key (no private key is opened: no
    /// `KEY_ENCRYPTION_KEY` is needed), and the ring's algorithm.
    pub async fn list(&self) -> Result<(Option<Algorithm>, Vec<Listed>), StoreError> {
        match self {
            KeyStore::Memory(ring) => {
                let ring = lock(ring);
                Ok((ring.algorithm, ring.records.iter().map(Listed::of).collect()))
            }
            KeyStore::File(file) => {
                let file = file.clone();
                blocking(move || file.list()).await
            }
            KeyStore::Postgres(pg) => pg.list().await,
        }
    }

    /// Seals every stored private key again under the first `KEY_ENCRYPTION_KEY` (plaintext
    /// keys of a file store included). Returns how many records were re-sealed.
    pub async fn rewrap(&self) -> Result<usize, StoreError> {
        match self {
            KeyStore::Memory(_) => Ok(0),
            KeyStore::File(file) => {
                let file = file.clone();
                blocking(move || file.rewrap()).await
            }
            KeyStore::Postgres(pg) => pg.rewrap().await,
        }
    }

    /// What `check-config` reports: the store answers, its records open, and (file) its
    /// directory can be written. PostgreSQL's schema is not created or migrated by a check.
    pub async fn check(&self) -> Result<String, StoreError> {
        match self {
            KeyStore::Memory(_) => Ok("memory: nothing to open".into()),
            KeyStore::File(file) => {
                let file = file.clone();
                let ring = blocking(move || file.read()).await?;
                Ok(format!(
                    "file store readable, writable and decryptable: {} keys",
                    ring.records.len()
                ))
            }
            KeyStore::Postgres(pg) => pg.check().await,
        }
    }
}

/// Runs file IO (fsync) off the async runtime, for at most [`CALL_TIMEOUT`].
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(StoreError::passing(format!("key store task failed: {e}"))),
        Err(_) => Err(StoreError::passing(format!(
            "the key store did not answer within {CALL_TIMEOUT:?}"
        ))),
    }
}

fn lock(ring: &Mutex<Ring>) -> std::sync::MutexGuard<'_, Ring> {
    ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
