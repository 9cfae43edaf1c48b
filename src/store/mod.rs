//! Where the key ring lives (`KEY_STORE`, contract §6): the process's memory, a file for one
//! process (`file`), or PostgreSQL shared by replicas (`postgres`). Every store offers the same
//! two operations: read every record, and apply a change to the records it has just read in
//! one transaction — so a change decided by [`crate::keyring::plan`] is decided on fresh data.
//! The token path never touches a store: it signs from the in-memory snapshot.

pub mod crypt;
mod location;

pub use location::StoreLocation;

use std::fmt;
use std::sync::Mutex;

use crate::keyring::KeyRecord;

/// Why a store could not be read or written. Carries no key material and no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// The configured store.
#[derive(Debug)]
pub enum KeyStore {
    /// Keys die with the process.
    Memory(Mutex<Vec<KeyRecord>>),
}

impl KeyStore {
    /// An empty in-memory store.
    pub fn memory() -> KeyStore {
        KeyStore::Memory(Mutex::new(Vec::new()))
    }

    /// Whether other processes may change the ring: then every replica reads it again every
    /// `KEY_STORE_SYNC_INTERVAL`.
    pub fn is_shared(&self) -> bool {
        match self {
            KeyStore::Memory(_) => false,
        }
    }

    /// What the store is, for people (logs, `check-config`): never a password.
    pub fn describe(&self) -> String {
        match self {
            KeyStore::Memory(_) => "memory".into(),
        }
    }

    /// Every record in the store.
    pub async fn load(&self) -> Result<Vec<KeyRecord>, StoreError> {
        match self {
            KeyStore::Memory(records) => Ok(lock(records).clone()),
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
        }
    }
}

fn lock(records: &Mutex<Vec<KeyRecord>>) -> std::sync::MutexGuard<'_, Vec<KeyRecord>> {
    records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
