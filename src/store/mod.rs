//! Where the key ring lives (`KEY_STORE`, contract §6): the process's memory, a file for one
//! process (`file`), or PostgreSQL shared by replicas (`postgres`). Every store offers the same
//! two operations: read every record, and apply a change to the records it has just read in
//! one transaction — so a change decided by [`crate::keyring::plan`] is decided on fresh data.
//! The token path never touches a store: it signs from the in-memory snapshot.

pub mod crypt;
mod file;
mod location;
mod postgres;
mod record;

pub use location::StoreLocation;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::keyring::KeyRecord;

/// Why a store could not be read or written. Carries no key material and no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// The parameter to blame when the configuration is what is wrong (exit 2 at start):
    /// `KEY_STORE` or `KEY_ENCRYPTION_KEY`. `None` for a passing failure (retried).
    pub param: Option<&'static str>,
    pub message: String,
}

impl StoreError {
    pub fn config(param: &'static str, message: String) -> StoreError {
        StoreError {
            param: Some(param),
            message,
        }
    }

    pub fn io(message: String) -> StoreError {
        StoreError { param: None, message }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.param {
            Some(param) => write!(f, "invalid {param}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {}

/// The store's part of the configuration.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub location: StoreLocation,
    /// `None`: private keys are stored unencrypted (allowed with a file, 0600).
    pub encryption: Option<Arc<crypt::Kek>>,
    /// How often a replica reads a shared store.
    pub sync_interval: Duration,
}

/// The configured store.
#[derive(Debug)]
pub enum KeyStore {
    /// Keys die with the process.
    Memory(Mutex<Vec<KeyRecord>>),
    File(Arc<file::FileStore>),
    Postgres(postgres::PgStore),
}

impl KeyStore {
    /// Opens the store `config` names. Memory and file stores are ready at once (a file that
    /// is locked, corrupt or undecryptable is refused here); PostgreSQL connects lazily.
    pub fn open(config: &StoreConfig) -> Result<KeyStore, StoreError> {
        match &config.location {
            StoreLocation::Memory => Ok(KeyStore::memory()),
            StoreLocation::File(path) => Ok(KeyStore::File(Arc::new(file::FileStore::open(
                path,
                config.encryption.clone(),
            )?))),
            StoreLocation::Postgres(url) => {
                let kek = config.encryption.clone().ok_or_else(|| {
                    StoreError::config("KEY_ENCRYPTION_KEY", "required with a PostgreSQL KEY_STORE".into())
                })?;
                Ok(KeyStore::Postgres(postgres::PgStore::open(url, kek)?))
            }
        }
    }

    /// An empty in-memory store.
    pub fn memory() -> KeyStore {
        KeyStore::Memory(Mutex::new(Vec::new()))
    }

    /// Whether other processes may change the ring: then every replica reads it again every
    /// `KEY_STORE_SYNC_INTERVAL`.
    pub fn is_shared(&self) -> bool {
        match self {
            KeyStore::Memory(_) | KeyStore::File(_) => false,
            KeyStore::Postgres(_) => true,
        }
    }

    /// Every record in the store.
    pub async fn load(&self) -> Result<Vec<KeyRecord>, StoreError> {
        match self {
            KeyStore::Memory(records) => Ok(lock(records).clone()),
            KeyStore::File(file) => {
                let file = file.clone();
                blocking(move || file.read()).await
            }
            KeyStore::Postgres(pg) => pg.load().await,
        }
    }

    /// Applies `change` to the records as they are now, in one transaction, and writes them if
    /// it says it changed something. Returns the records as they are afterwards.
    pub async fn update<F>(&self, change: F) -> Result<Vec<KeyRecord>, StoreError>
    where
        F: FnOnce(&mut Vec<KeyRecord>) -> bool + Send + 'static,
    {
        match self {
            KeyStore::Memory(records) => {
                let mut records = lock(records);
                change(&mut records);
                Ok(records.clone())
            }
            KeyStore::File(file) => {
                let file = file.clone();
                blocking(move || file.update(change)).await
            }
            KeyStore::Postgres(pg) => pg.update(change).await,
        }
    }
}

/// Runs file IO (fsync) off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(StoreError::io(format!("key store task failed: {e}"))))
}

fn lock(records: &Mutex<Vec<KeyRecord>>) -> std::sync::MutexGuard<'_, Vec<KeyRecord>> {
    records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
