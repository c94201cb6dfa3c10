//! Channel configurations, kept as catalog documents (kind `channel`, key = channel ARN) and cached
//! in memory. Writes go to the catalog first; one writer at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_log::catalog::Catalog;
use cairn_model::trail::Tag;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// Catalog document kind of channels; keys are channel ARNs.
const KIND: &str = "channel";

/// Where CloudTrail would send a channel's events (`EVENT_DATA_STORE` or `AWS_SERVICE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Destination {
    #[serde(rename = "Type")]
    pub kind: String,
    pub location: String,
}

/// The outcome of the latest `PutAuditEvents` calls on a channel (times in milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_success_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_success_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_attempt_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_attempt_event_id: Option<String>,
}

/// One channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelConfig {
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub name: String,
    pub source: String,
    pub destinations: Vec<Destination>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created_ms: i64,
    #[serde(default)]
    pub ingestion: IngestionStatus,
}

/// Why a channel change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError<E> {
    #[error("a channel with this ARN already exists")]
    AlreadyExists,
    #[error(transparent)]
    Rejected(E),
    #[error("catalog: {0}")]
    Catalog(#[from] cairn_log::Error),
}

pub struct ChannelStore {
    catalog: Arc<dyn Catalog>,
    channels: RwLock<BTreeMap<String, Arc<ChannelConfig>>>,
    writer: Mutex<()>,
}

impl ChannelStore {
    pub async fn load(catalog: Arc<dyn Catalog>) -> cairn_log::Result<ChannelStore> {
        let mut channels = BTreeMap::new();
        for (key, json) in catalog.documents(KIND).await? {
            match serde_json::from_str::<ChannelConfig>(&json) {
                Ok(c) => {
                    channels.insert(key, Arc::new(c));
                }
                // Kept in the catalog, not deleted: a later version may read it.
                Err(e) => tracing::error!(channel = %key, error = %e, "unreadable channel configuration ignored"),
            }
        }
        Ok(ChannelStore {
            catalog,
            channels: RwLock::new(channels),
            writer: Mutex::new(()),
        })
    }

    pub fn get(&self, arn: &str) -> Option<Arc<ChannelConfig>> {
        self.channels.read().get(arn).cloned()
    }

    /// The channels of `account` in `region`, ordered by ARN.
    pub fn of(&self, account: &str, region: &str) -> Vec<Arc<ChannelConfig>> {
        self.channels
            .read()
            .values()
            .filter(|c| c.account_id == account && c.region == region)
            .cloned()
            .collect()
    }

    /// Adds `channel` unless its ARN exists; `check` runs under the writer lock against the
    /// current channels of its account and region.
    pub async fn create<E>(
        &self,
        channel: ChannelConfig,
        check: impl FnOnce(&[Arc<ChannelConfig>]) -> Result<(), E>,
    ) -> Result<Arc<ChannelConfig>, StoreError<E>> {
        let _w = self.writer.lock().await;
        check(&self.of(&channel.account_id, &channel.region)).map_err(StoreError::Rejected)?;
        let json = serde_json::to_string(&channel).expect("channel configurations serialise");
        if !self.catalog.insert_document(KIND, &channel.arn, &json).await? {
            return Err(StoreError::AlreadyExists);
        }
        let channel = Arc::new(channel);
        self.channels.write().insert(channel.arn.clone(), channel.clone());
        Ok(channel)
    }

    /// Applies `change` to the channel `arn` (with the other channels of its account and region,
    /// for uniqueness checks) and stores the result. `Ok(None)`: no such channel.
    pub async fn update<E>(
        &self,
        arn: &str,
        change: impl FnOnce(&mut ChannelConfig, &[Arc<ChannelConfig>]) -> Result<(), E>,
    ) -> Result<Option<Arc<ChannelConfig>>, StoreError<E>> {
        let _w = self.writer.lock().await;
        let Some(current) = self.get(arn) else {
            return Ok(None);
        };
        let others: Vec<_> = self
            .of(&current.account_id, &current.region)
            .into_iter()
            .filter(|c| c.arn != arn)
            .collect();
        let mut next = (*current).clone();
        change(&mut next, &others).map_err(StoreError::Rejected)?;
        debug_assert_eq!(next.arn, arn, "an update cannot change a channel's ARN");
        if next == *current {
            return Ok(Some(current));
        }
        let json = serde_json::to_string(&next).expect("channel configurations serialise");
        self.catalog.put_document(KIND, arn, &json).await?;
        let next = Arc::new(next);
        self.channels.write().insert(arn.to_string(), next.clone());
        Ok(Some(next))
    }

    /// Removes the channel `arn`; false when there was none.
    pub async fn delete(&self, arn: &str) -> cairn_log::Result<bool> {
        let _w = self.writer.lock().await;
        let existed = self.catalog.delete_document(KIND, arn).await?;
        Ok(self.channels.write().remove(arn).is_some() || existed)
    }
}
