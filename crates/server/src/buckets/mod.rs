//! LocalBuckets: Cairn's embedded, directory-backed S3-style object store (trail log files,
//! digests). Everything a reader can see was written atomically and durably.
//!
//! Layout under the root: one directory per bucket, holding `bucket.json` and the key space laid
//! out by [`layout`]. Each object is a single file, `<enc>.o`: a small header with its metadata
//! followed by the body. Data and metadata share one file so a single rename publishes both; a
//! crash can leave only a stray `.tmp-*` file, which readers never look at.

mod layout;
mod list;

pub use layout::{MAX_KEY_BYTES, valid_bucket_name};
pub use list::{ListRequest, ListResult};

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// Marks an object file and its format version.
const OBJECT_MAGIC: &[u8; 8] = b"CAIRNOB1";
/// Upper bound on an object header, so a damaged length can't trigger a huge allocation.
const MAX_HEADER: usize = 1 << 20;
const BUCKET_FILE: &str = "bucket.json";

/// A bucket's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketInfo {
    pub name: String,
    pub owner_account_id: String,
    pub region: String,
    #[serde(with = "ts_string")]
    pub created: Timestamp,
}

/// Metadata supplied when writing an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// `x-amz-meta-*` values, keyed by the lower-cased name without the prefix.
    pub user: BTreeMap<String, String>,
}

/// A stored object's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Lower-case hex MD5 of the body, unquoted.
    pub etag: String,
    /// Whole seconds, as S3 reports it.
    #[serde(with = "ts_string")]
    pub last_modified: Timestamp,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub user: BTreeMap<String, String>,
}

/// A `Range: bytes=...` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last`, inclusive.
    FromTo(u64, u64),
    /// `bytes=first-`.
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The inclusive byte span this range selects from an object of `size` bytes, or None when it
    /// is unsatisfiable (S3's `InvalidRange`).
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        if size == 0 {
            return None;
        }
        match self {
            ByteRange::FromTo(a, b) if a <= b && a < size => Some((a, b.min(size - 1))),
            ByteRange::From(a) if a < size => Some((a, size - 1)),
            ByteRange::Suffix(n) if n > 0 => Some((size - n.min(size), size - 1)),
            _ => None,
        }
    }
}

/// An object read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectData {
    pub info: ObjectInfo,
    /// The requested span (the whole body without a range).
    pub body: Vec<u8>,
    /// The inclusive span returned when a range was asked for.
    pub range: Option<(u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error(
        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
    )]
    BucketAlreadyExists,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The specified bucket is not valid.")]
    InvalidBucketName,
    #[error("Your key is too long")]
    KeyTooLong,
    /// S3 has no empty keys; this is `InvalidArgument`.
    #[error("The object key must not be empty.")]
    EmptyKey,
    #[error("The requested range is not satisfiable")]
    InvalidRange,
    #[error("We encountered an internal error. Please try again.")]
    Io(#[from] io::Error),
}

impl BucketError {
    /// The S3 error code.
    pub fn code(&self) -> &'static str {
        match self {
            BucketError::NoSuchBucket => "NoSuchBucket",
            BucketError::NoSuchKey => "NoSuchKey",
            BucketError::BucketNotEmpty => "BucketNotEmpty",
            BucketError::BucketAlreadyExists => "BucketAlreadyExists",
            BucketError::BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketError::InvalidBucketName => "InvalidBucketName",
            BucketError::KeyTooLong => "KeyTooLongError",
            BucketError::EmptyKey => "InvalidArgument",
            BucketError::InvalidRange => "InvalidRange",
            BucketError::Io(_) => "InternalError",
        }
    }
}

/// The embedded bucket store. Cheap to clone; all clones share one lock.
#[derive(Clone)]
pub struct LocalBuckets {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Object writes share it; bucket creation/deletion and object deletion take it alone, so a
    /// bucket is never deleted while a write into it is half done.
    lock: RwLock<()>,
}

impl std::fmt::Debug for LocalBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBuckets").field("root", &self.inner.root).finish()
    }
}

impl LocalBuckets {
    /// Opens (creating if needed) the store at `root`, removing leftovers of interrupted bucket
    /// creations and deletions.
    pub fn open(root: &Path) -> io::Result<LocalBuckets> {
        fs::create_dir_all(root)?;
        for entry in fs::read_dir(root)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    fs::remove_dir_all(&path)?;
                } else {
                    fs::remove_file(&path)?;
                }
            }
        }
        Ok(LocalBuckets {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                lock: RwLock::new(()),
            }),
        })
    }

    /// Opens an existing store for reading alongside its owner (a running server): nothing is
    /// created or cleaned up.
    pub fn open_existing(root: &Path) -> io::Result<LocalBuckets> {
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not a bucket store", root.display()),
            ));
        }
        Ok(LocalBuckets {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                lock: RwLock::new(()),
            }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    fn bucket_dir(&self, name: &str) -> PathBuf {
        self.inner.root.join(name)
    }

    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.inner.lock.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.inner.lock.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn create_bucket(&self, name: &str, owner_account_id: &str, region: &str) -> Result<BucketInfo, BucketError> {
        if !valid_bucket_name(name) {
            return Err(BucketError::InvalidBucketName);
        }
        let _g = self.write_lock();
        if let Some(existing) = self.bucket(name) {
            return Err(if existing.owner_account_id == owner_account_id {
                BucketError::BucketAlreadyOwnedByYou
            } else {
                BucketError::BucketAlreadyExists
            });
        }
        let info = BucketInfo {
            name: name.to_string(),
            owner_account_id: owner_account_id.to_string(),
            region: region.to_string(),
            created: whole_seconds(Timestamp::now()),
        };
        // Build the bucket in a hidden directory and rename it into place, so a bucket directory
        // always has its bucket.json.
        let tmp = self.inner.root.join(format!(".tmp-{}", rand::random::<u64>()));
        fs::create_dir(&tmp)?;
        let json = serde_json::to_vec_pretty(&info).map_err(io::Error::other)?;
        write_file_synced(&tmp.join(BUCKET_FILE), &[&json])?;
        sync_dir(&tmp)?;
        let dest = self.bucket_dir(name);
        if let Err(e) = fs::rename(&tmp, &dest) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e.into());
        }
        sync_dir(&self.inner.root)?;
        Ok(info)
    }

    pub fn delete_bucket(&self, name: &str) -> Result<(), BucketError> {
        let _g = self.write_lock();
        if self.bucket(name).is_none() {
            return Err(BucketError::NoSuchBucket);
        }
        let dir = self.bucket_dir(name);
        if list::has_object(&dir)? {
            return Err(BucketError::BucketNotEmpty);
        }
        // Rename first so the bucket disappears at once; leftovers are removed at the next open.
        let trash = self.inner.root.join(format!(".del-{}", rand::random::<u64>()));
        fs::rename(&dir, &trash)?;
        sync_dir(&self.inner.root)?;
        fs::remove_dir_all(&trash)?;
        Ok(())
    }

    pub fn bucket(&self, name: &str) -> Option<BucketInfo> {
        if !valid_bucket_name(name) {
            return None;
        }
        let bytes = fs::read(self.bucket_dir(name).join(BUCKET_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Every bucket, sorted by name.
    pub fn list_buckets(&self) -> io::Result<Vec<BucketInfo>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.inner.root)? {
            let entry = entry?;
            if let Some(info) = entry.file_name().to_str().and_then(|n| self.bucket(n)) {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn existing_bucket_dir(&self, bucket: &str) -> Result<PathBuf, BucketError> {
        if self.bucket(bucket).is_none() {
            return Err(BucketError::NoSuchBucket);
        }
        Ok(self.bucket_dir(bucket))
    }

    /// Writes an object atomically and durably: when this returns, the object survives a crash;
    /// before it returns, readers see the old object (or none), never a mix.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        meta: ObjectMeta,
    ) -> Result<ObjectInfo, BucketError> {
        check_key(key)?;
        let _g = self.read_lock();
        let dir = self.existing_bucket_dir(bucket)?;
        let (path, dirs) = layout::object_path(&dir, key);
        make_dirs(&dir, &dirs)?;
        let info = ObjectInfo {
            key: key.to_string(),
            size: body.len() as u64,
            etag: hex(&Md5::digest(body)),
            last_modified: whole_seconds(Timestamp::now()),
            content_type: meta.content_type,
            content_encoding: meta.content_encoding,
            user: meta.user,
        };
        let header = serde_json::to_vec(&info).map_err(io::Error::other)?;
        let len = (header.len() as u32).to_le_bytes();
        let parent = path.parent().expect("object paths have a parent");
        let tmp = parent.join(format!(".tmp-{}", rand::random::<u64>()));
        write_file_synced(&tmp, &[OBJECT_MAGIC, &len, &header, body])?;
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        sync_dir(parent)?;
        Ok(info)
    }

    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, BucketError> {
        let (_, info, _) = self.open_object(bucket, key)?;
        Ok(info)
    }

    /// Reads an object, or only the bytes `range` selects.
    pub fn get_object(&self, bucket: &str, key: &str, range: Option<ByteRange>) -> Result<ObjectData, BucketError> {
        let (mut file, info, body_at) = self.open_object(bucket, key)?;
        let span = match range {
            None => None,
            Some(r) => Some(r.resolve(info.size).ok_or(BucketError::InvalidRange)?),
        };
        let (start, end) = span.unwrap_or((0, info.size.saturating_sub(1)));
        let len = if info.size == 0 { 0 } else { end - start + 1 };
        file.seek(SeekFrom::Start(body_at + start))?;
        let mut body = vec![0; len as usize];
        file.read_exact(&mut body)?;
        Ok(ObjectData {
            info,
            body,
            range: span,
        })
    }

    /// Removes an object. Not reachable through the S3 API (Cairn's buckets are append-only to
    /// clients); used internally and by tests that simulate tampering.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), BucketError> {
        check_key(key)?;
        let _g = self.write_lock();
        let dir = self.existing_bucket_dir(bucket)?;
        let (path, dirs) = layout::object_path(&dir, key);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BucketError::NoSuchKey),
            Err(e) => return Err(e.into()),
        }
        sync_dir(path.parent().expect("object paths have a parent"))?;
        // Prune directories left empty; holding the lock alone means no write is creating them.
        for d in dirs.iter().rev() {
            if fs::remove_dir(d).is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Lists keys in byte order with S3's prefix / delimiter / marker / max-keys semantics.
    pub fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ListResult, BucketError> {
        let dir = self.existing_bucket_dir(bucket)?;
        Ok(list::list(&dir, req)?)
    }

    /// Opens an object file and reads its header: the file, its metadata and where the body starts.
    fn open_object(&self, bucket: &str, key: &str) -> Result<(File, ObjectInfo, u64), BucketError> {
        check_key(key)?;
        let dir = self.existing_bucket_dir(bucket)?;
        let (path, _) = layout::object_path(&dir, key);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                return Err(BucketError::NoSuchKey);
            }
            Err(e) => return Err(e.into()),
        };
        let (file, mut info, body_at) = read_header(file)?;
        info.key = key.to_string();
        Ok((file, info, body_at))
    }
}

/// Reads an object file's header and checks it against the file's length.
pub(crate) fn read_header(mut file: File) -> io::Result<(File, ObjectInfo, u64)> {
    let mut fixed = [0u8; 12];
    file.read_exact(&mut fixed)?;
    if &fixed[..8] != OBJECT_MAGIC {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a Cairn object file"));
    }
    let len = u32::from_le_bytes(fixed[8..12].try_into().expect("4 bytes")) as usize;
    if len > MAX_HEADER {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "object header too large"));
    }
    let mut header = vec![0; len];
    file.read_exact(&mut header)?;
    let info: ObjectInfo =
        serde_json::from_slice(&header).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let body_at = 12 + len as u64;
    if file.metadata()?.len() != body_at + info.size {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "object file length does not match its header",
        ));
    }
    Ok((file, info, body_at))
}

fn check_key(key: &str) -> Result<(), BucketError> {
    if key.is_empty() {
        return Err(BucketError::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(BucketError::KeyTooLong);
    }
    Ok(())
}

/// Creates missing directories (outermost first), then syncs each parent that gained an entry.
fn make_dirs(bucket_dir: &Path, dirs: &[PathBuf]) -> io::Result<()> {
    let mut dirty: Vec<&Path> = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        if d.is_dir() {
            continue;
        }
        match fs::create_dir(d) {
            Ok(()) => dirty.push(if i == 0 { bucket_dir } else { &dirs[i - 1] }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for d in dirty {
        sync_dir(d)?;
    }
    Ok(())
}

fn write_file_synced(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    let result = parts
        .iter()
        .try_for_each(|p| f.write_all(p))
        .and_then(|()| f.sync_all());
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Timestamps as RFC 3339 strings, so the files stay readable.
mod ts_string {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
