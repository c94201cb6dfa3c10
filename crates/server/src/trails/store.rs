//! Trail configurations, kept as documents in the catalog and cached in memory.
//!
//! Reads (DescribeTrails, GetTrailStatus, and every event a delivery consumer selects) hit the
//! cache; writes go to the catalog first, so an acknowledged change survives a crash. One writer
//! at a time keeps read-modify-write updates from losing each other's changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_log::catalog::Catalog;
use cairn_model::trail::TrailConfig;
use parking_lot::RwLock;
use tokio::sync::{Mutex, watch};

/// Catalog document kind of trail configurations; keys are trail ARNs.
const KIND: &str = "trail";

pub struct TrailStore {
    catalog: Arc<dyn Catalog>,
    trails: RwLock<BTreeMap<String, Arc<TrailConfig>>>,
    writer: Mutex<()>,
    /// Bumped on every change, so consumers can follow the configuration.
    version: watch::Sender<u64>,
}

/// Why a trail change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError<E> {
    #[error("a trail with this ARN already exists")]
    AlreadyExists,
    #[error(transparent)]
    Rejected(E),
    #[error("catalog: {0}")]
    Catalog(#[from] cairn_log::Error),
}

impl TrailStore {
    pub async fn load(catalog: Arc<dyn Catalog>) -> cairn_log::Result<TrailStore> {
        let mut trails = BTreeMap::new();
        for (key, json) in catalog.documents(KIND).await? {
            match serde_json::from_str::<TrailConfig>(&json) {
                Ok(t) => {
                    trails.insert(key, Arc::new(t));
                }
                // A document this version cannot read is kept, not deleted; the trail is inactive.
                Err(e) => tracing::error!(trail = %key, error = %e, "unreadable trail configuration ignored"),
            }
        }
        Ok(TrailStore {
            catalog,
            trails: RwLock::new(trails),
            writer: Mutex::new(()),
            version: watch::channel(0).0,
        })
    }

    pub fn get(&self, arn: &str) -> Option<Arc<TrailConfig>> {
        self.trails.read().get(arn).cloned()
    }

    /// Every trail, ordered by ARN.
    pub fn all(&self) -> Vec<Arc<TrailConfig>> {
        self.trails.read().values().cloned().collect()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Adds `trail` unless its ARN exists; `check` runs under the writer lock against the current
    /// trails (for rules such as unique names across regions).
    pub async fn create<E>(
        &self,
        trail: TrailConfig,
        check: impl FnOnce(&[Arc<TrailConfig>]) -> Result<(), E>,
    ) -> Result<Arc<TrailConfig>, StoreError<E>> {
        let _w = self.writer.lock().await;
        check(&self.all()).map_err(StoreError::Rejected)?;
        let arn = trail.arn();
        let json = serde_json::to_string(&trail).expect("trail configurations serialise");
        if !self.catalog.insert_document(KIND, &arn, &json).await? {
            return Err(StoreError::AlreadyExists);
        }
        let trail = Arc::new(trail);
        self.trails.write().insert(arn, trail.clone());
        self.version.send_modify(|v| *v += 1);
        Ok(trail)
    }

    /// Applies `change` to the trail `arn` and stores the result. `Ok(None)`: no such trail.
    pub async fn update<E>(
        &self,
        arn: &str,
        change: impl FnOnce(&mut TrailConfig) -> Result<(), E>,
    ) -> Result<Option<Arc<TrailConfig>>, StoreError<E>> {
        let _w = self.writer.lock().await;
        let Some(current) = self.get(arn) else {
            return Ok(None);
        };
        let mut next = (*current).clone();
        change(&mut next).map_err(StoreError::Rejected)?;
        debug_assert_eq!(next.arn(), arn, "an update cannot rename a trail");
        if next == *current {
            return Ok(Some(current));
        }
        let json = serde_json::to_string(&next).expect("trail configurations serialise");
        self.catalog.put_document(KIND, arn, &json).await?;
        let next = Arc::new(next);
        self.trails.write().insert(arn.to_string(), next.clone());
        self.version.send_modify(|v| *v += 1);
        Ok(Some(next))
    }

    /// Removes the trail `arn`; false when there was none.
    pub async fn delete(&self, arn: &str) -> cairn_log::Result<bool> {
        let _w = self.writer.lock().await;
        let existed = self.catalog.delete_document(KIND, arn).await?;
        if self.trails.write().remove(arn).is_some() || existed {
            self.version.send_modify(|v| *v += 1);
            return Ok(true);
        }
        Ok(false)
    }
}
