//! Where segments are kept: an `object_store` (a local directory by default, S3 when configured),
//! plus what `object_store`'s local backend does not do: fsync before a segment is registered.

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
        let location = Path::from(path);
        self.store.put(&location, PutPayload::from(Bytes::from(bytes))).await?;
        if let Some(root) = &self.local_root {
            // object_store writes a temporary file and renames it into place, without fsync.
            let file = root.join(path);
            tokio::task::spawn_blocking(move || sync_file_and_parent(&file))
                .await
                .map_err(|e| Error::Unavailable(format!("fsync task failed: {e}")))??;
        }
        Ok(())
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

fn sync_file_and_parent(file: &FsPath) -> Result<()> {
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("syncing segment file", file, e))?;
    if let Some(dir) = file.parent() {
        crate::wal::sync_dir(dir)?;
    }
    Ok(())
}
