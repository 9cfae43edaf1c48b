//! What operators' commands do on the file store: list the public facts (no lock, no
//! key-encryption key), and seal every key again under the first key-encryption key.

use super::FileStore;
use crate::algorithm::Algorithm;
use crate::store::StoreError;
use crate::store::record::Listed;

impl FileStore {
    /// The public facts of every key, without opening any.
    pub fn list(&self) -> Result<(Option<Algorithm>, Vec<Listed>), StoreError> {
        let Some(document) = self.document()? else {
            return Ok((None, Vec::new()));
        };
        let algorithm = document.algorithm.as_deref().and_then(|a| a.parse().ok());
        let listed = document
            .keys
            .into_iter()
            .map(|k| Listed {
                sealed_by: Listed::sealing(k.encrypted, k.sealed_by.as_deref()),
                algorithm: k.algorithm,
                kid: k.kid,
                times: crate::keyring::KeyTimes {
                    published_at: k.published_at,
                    activates_at: k.activates_at,
                    retires_at: k.retires_at,
                    removed_at: k.removed_at,
                },
            })
            .collect();
        Ok((algorithm, listed))
    }

    /// Seals every record again under the first key-encryption key; how many changed.
    pub fn rewrap(&self) -> Result<usize, StoreError> {
        let Some(kek) = self.kek.as_deref() else {
            return Err(StoreError::config(
                "KEY_ENCRYPTION_KEY",
                "`keys rewrap` seals the stored keys under the first KEY_ENCRYPTION_KEY: set it".into(),
            ));
        };
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(document) = self.document()? else {
            return Ok(0);
        };
        let first = kek.sealing_fingerprint();
        let changed = document
            .keys
            .iter()
            .filter(|k| !k.encrypted || k.sealed_by.as_deref() != Some(first))
            .count();
        let (ring, removed) = self.read_ring(true)?;
        self.write(&ring, removed)?;
        Ok(changed)
    }
}
