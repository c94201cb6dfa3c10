//! Where segments are kept: an `object_store` (a local directory by default, S3 when configured),
//! plus what `object_store`'s local backend does not do: fsync before a segment is registered.

use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::SegmentLocation;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct SegmentStore {
    store: Arc<dyn ObjectStore>,
    /// Root directory when the store is local, for fsync and for error messages.
    local_root: Option<PathBuf>,
    description: String,
}

impl SegmentStore {
    pub fn open(data_dir: &FsPath, location: &SegmentLocation) -> Result<Self> {
        match location {
            SegmentLocation::Local => {
                let root = data_dir.join("store");
                std::fs::create_dir_all(&root).map_err(|e| Error::io("creating segment store directory", &root, e))?;
                let store = LocalFileSystem::new_with_prefix(&root)?;
                Ok(SegmentStore {
                    store: Arc::new(store),
                    description: root.display().to_string(),
                    local_root: Some(root),
                })
            }
            SegmentLocation::S3(s3) => {
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_allow_http(s3.allow_http);
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
                }
                if let (Some(k), Some(s)) = (&s3.access_key_id, &s3.secret_access_key) {
                    b = b.with_access_key_id(k).with_secret_access_key(s);
                }
                let s3_store = b.build()?;
                let description = format!("s3://{}/{}", s3.bucket, s3.prefix);
                let store: Arc<dyn ObjectStore> = if s3.prefix.is_empty() {
                    Arc::new(s3_store)
                } else {
                    Arc::new(PrefixStore::new(s3_store, s3.prefix.as_str()))
                };
                Ok(SegmentStore {
                    store,
                    local_root: None,
                    description,
                })
            }
        }
    }

    /// A store over any `ObjectStore` (tests use `InMemory`).
    pub fn from_object_store(store: Arc<dyn ObjectStore>, description: impl Into<String>) -> Self {
        SegmentStore {
            store,
            local_root: None,
            description: description.into(),
        }
    }

    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// A human-readable location of an object, for error messages.
    pub fn describe(&self, path: &str) -> String {
        match &self.local_root {
            Some(root) => root.join(path).display().to_string(),
            None => format!("{}/{}", self.description.trim_end_matches('/'), path),
        }
    }

    /// Stores an object durably: when this returns, a power cut does not lose it.
    pub async fn put_durable(&self, path: &str, bytes: Vec<u8>) -> Result<()> {
        match &self.local_root {
            // object_store's local backend neither fsyncs nor paces its writes; a large segment
            // written in one go makes the WAL's fsyncs wait behind its writeback.
            Some(root) => {
                let file = root.join(path);
                tokio::task::spawn_blocking(move || write_paced(&file, &bytes))
                    .await
                    .map_err(|e| Error::Unavailable(format!("segment write task failed: {e}")))?
            }
            None => {
                self.store
                    .put(&Path::from(path), PutPayload::from(Bytes::from(bytes)))
                    .await?;
                Ok(())
            }
        }
    }

    pub async fn get(&self, path: &str) -> Result<Bytes> {
        let location = Path::from(path);
        match self.store.get(&location).await {
            Ok(r) => Ok(r.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => {
                Err(Error::corrupt(self.describe(path), "segment file is missing"))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        if let Some(root) = &self.local_root {
            // Freed gradually: releasing a large file at once stalls concurrent WAL fsyncs.
            let file = root.join(path);
            return tokio::task::spawn_blocking(move || match crate::wal::delete_gently(&file) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io("deleting segment file", &file, e)),
            })
            .await
            .map_err(|e| Error::Unavailable(format!("segment delete task failed: {e}")))?;
        }
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Paths of every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = Path::from(prefix);
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}

/// Bytes written between two fsyncs of a segment file, so its writeback comes in small pieces
/// that WAL commits can pass between.
const PACE_BYTES: usize = 2 << 20;

/// Writes `bytes` to a temporary file beside `path` in paced, synced chunks, then renames it into
/// place and syncs the directory: the file appears whole or not at all.
fn write_paced(path: &FsPath, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::InvalidInput(format!("{} has no parent", path.display())))?;
    create_dir_all_durable(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("segment");
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        for chunk in bytes.chunks(PACE_BYTES) {
            f.write_all(chunk)?;
            f.sync_data()?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("writing segment file", path, e));
    }
    crate::wal::sync_dir(dir)
}

/// `create_dir_all`, with every newly created directory made durable in its parent.
fn create_dir_all_durable(dir: &FsPath) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(Error::io("creating directory", dir, e)),
    }
    match dir.parent() {
        Some(parent) => crate::wal::sync_dir(parent),
        None => Ok(()),
    }
}
