//! Where imported files come from: local files and directories (recursively), or `s3://bucket/prefix`
//! on the configured S3 endpoint. Gzip is recognised by its magic bytes, whatever the file name.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::destinations::S3Endpoint;

/// One file to import.
#[derive(Clone)]
pub enum Item {
    Local(PathBuf),
    S3 {
        store: Arc<dyn ObjectStore>,
        bucket: String,
        key: String,
    },
}

impl Item {
    /// A name for progress lines and error reports.
    pub fn name(&self) -> String {
        match self {
            Item::Local(p) => p.display().to_string(),
            Item::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    /// The file's bytes as stored (see [`decode`]).
    pub async fn read(&self) -> Result<Vec<u8>, String> {
        Ok(match self {
            Item::Local(p) => tokio::fs::read(p).await.map_err(|e| e.to_string())?,
            Item::S3 { store, key, .. } => store
                .get(&object_store::path::Path::from(key.as_str()))
                .await
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map_err(|e| e.to_string())?
                .to_vec(),
        })
    }
}

/// A file's content: gunzipped when it is gzip. CPU work: run it on a blocking thread.
pub fn decode(raw: Vec<u8>) -> Result<Vec<u8>, String> {
    decode_at_most(raw, u64::MAX).map_err(|e| e.to_string())
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a valid gzip file: {0}")]
    Invalid(std::io::Error),
    #[error("the content is larger than {0} bytes (decompressed)")]
    TooLarge(u64),
}

/// [`decode`], refusing content larger than `max` bytes: gunzipping stops just past the cap, so
/// a small compressed body cannot make Cairn inflate gigabytes.
pub fn decode_at_most(raw: Vec<u8>, max: u64) -> Result<Vec<u8>, DecodeError> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        if raw.len() as u64 > max {
            return Err(DecodeError::TooLarge(max));
        }
        return Ok(raw);
    }
    let guess = (raw.len() as u64).saturating_mul(8).min(max.saturating_add(1));
    let mut out = Vec::with_capacity(usize::try_from(guess).unwrap_or(usize::MAX));
    // MultiGzDecoder: some tools concatenate gzip members.
    flate2::read::MultiGzDecoder::new(&raw[..])
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(DecodeError::Invalid)?;
    if out.len() as u64 > max {
        return Err(DecodeError::TooLarge(max));
    }
    Ok(out)
}

fn importable(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && [".json", ".json.gz", ".ndjson", ".jsonl", ".gz"]
            .iter()
            .any(|s| name.ends_with(s))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(&p, out)?;
        } else if importable(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Expands the command line's sources into files, in a stable order (so a repeated import sees
/// the same files the same way).
pub async fn expand(sources: &[String], s3: Option<&S3Endpoint>) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for s in sources {
        if let Some(rest) = s.strip_prefix("s3://") {
            let Some(endpoint) = s3 else {
                return Err(format!(
                    "{s}: no S3 endpoint is configured (s3_endpoint and credentials)"
                ));
            };
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let store = endpoint.store(bucket).map_err(|e| format!("{s}: {e}"))?;
            let prefix_path = (!prefix.is_empty()).then(|| object_store::path::Path::from(prefix));
            let mut keys: Vec<String> = store
                .list(prefix_path.as_ref())
                .map_ok(|m| m.location.to_string())
                .try_collect()
                .await
                .map_err(|e| format!("{s}: {e}"))?;
            keys.retain(|k| importable(Path::new(k)));
            keys.sort();
            items.extend(keys.into_iter().map(|key| Item::S3 {
                store: store.clone(),
                bucket: bucket.to_string(),
                key,
            }));
        } else {
            let p = PathBuf::from(s);
            let meta = std::fs::metadata(&p).map_err(|e| format!("{s}: {e}"))?;
            if meta.is_dir() {
                let mut files = Vec::new();
                walk(&p, &mut files).map_err(|e| format!("{s}: {e}"))?;
                items.extend(files.into_iter().map(Item::Local));
            } else {
                items.push(Item::Local(p));
            }
        }
    }
    Ok(items)
}
