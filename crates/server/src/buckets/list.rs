//! Listing: a depth-first walk over the key space in byte order, descending only into directories
//! whose keys can match the prefix and come after the marker, and rolling whole directories up
//! into one common prefix without walking them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::ObjectInfo;
use super::layout::{EntryKind, parse_entry, prefix_dir};

/// What to list (S3's ListObjects / ListObjectsV2 parameters, already decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub prefix: String,
    /// None or empty: no grouping.
    pub delimiter: Option<String>,
    /// Only keys (and common prefixes) strictly after this: v1 `marker`, v2 `start-after` or the
    /// key a continuation token stands for.
    pub start_after: Option<String>,
    pub max_keys: usize,
}

/// One page of a listing, objects and common prefixes each in byte order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListResult {
    pub objects: Vec<ObjectInfo>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// When truncated: the last key or common prefix returned, to pass as the next marker.
    pub next_marker: Option<String>,
}

/// Whether any object exists at or below `dir`.
pub(crate) fn has_object(dir: &Path) -> io::Result<bool> {
    for (kind, _, path) in read_entries(dir)? {
        match kind {
            EntryKind::Object => return Ok(true),
            EntryKind::Dir | EntryKind::Continuation => {
                if has_object(&path)? {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// A directory's key-space entries, sorted by decoded name (with `/` appended for directories).
/// A missing directory is empty.
fn read_entries(dir: &Path) -> io::Result<Vec<(EntryKind, Vec<u8>, PathBuf)>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_dir = entry.file_type()?.is_dir();
        if let Some((kind, mut decoded)) = parse_entry(name, is_dir) {
            if kind == EntryKind::Dir {
                decoded.push(b'/');
            }
            out.push((kind, decoded, entry.path()));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

enum Item {
    Object(ObjectInfo),
    Prefix(String),
}

struct Walk<'a> {
    prefix: &'a [u8],
    delimiter: Option<&'a [u8]>,
    marker: Option<&'a [u8]>,
    max: usize,
    items: Vec<Item>,
    last_prefix: Option<Vec<u8>>,
    truncated: bool,
}

pub(crate) fn list(bucket_dir: &Path, req: &ListRequest) -> io::Result<ListResult> {
    let mut walk = Walk {
        prefix: req.prefix.as_bytes(),
        delimiter: req.delimiter.as_deref().filter(|d| !d.is_empty()).map(str::as_bytes),
        marker: req.start_after.as_deref().map(str::as_bytes),
        max: req.max_keys,
        items: Vec::new(),
        last_prefix: None,
        truncated: false,
    };
    if req.max_keys > 0 {
        let (dir, logical) = prefix_dir(bucket_dir, walk.prefix);
        walk.dir(&dir, &logical)?;
    }
    let mut result = ListResult {
        is_truncated: walk.truncated,
        ..ListResult::default()
    };
    let mut last = None;
    for item in walk.items {
        match item {
            Item::Object(o) => {
                last = Some(o.key.clone());
                result.objects.push(o);
            }
            Item::Prefix(p) => {
                last = Some(p.clone());
                result.common_prefixes.push(p);
            }
        }
    }
    if result.is_truncated {
        result.next_marker = last;
    }
    Ok(result)
}

impl Walk<'_> {
    fn done(&self) -> bool {
        self.truncated
    }

    /// Adds an item; the first item beyond `max` only marks the page truncated.
    fn emit(&mut self, item: Item) {
        if self.items.len() == self.max {
            self.truncated = true;
        } else {
            self.items.push(item);
        }
    }

    fn after_marker(&self, s: &[u8]) -> bool {
        self.marker.is_none_or(|m| s > m)
    }

    /// The common prefix `s` rolls up into, if `s` already contains the delimiter past the prefix.
    fn common_prefix<'s>(&self, s: &'s [u8]) -> Option<&'s [u8]> {
        let d = self.delimiter?;
        let rest = s.get(self.prefix.len()..)?;
        let pos = rest.windows(d.len()).position(|w| w == d)?;
        Some(&s[..self.prefix.len() + pos + d.len()])
    }

    /// Emits common prefix `cp` unless it was just emitted or is not after the marker.
    fn offer_prefix(&mut self, cp: &[u8]) {
        if self.last_prefix.as_deref() == Some(cp) || !self.after_marker(cp) {
            return;
        }
        self.last_prefix = Some(cp.to_vec());
        match String::from_utf8(cp.to_vec()) {
            Ok(s) => self.emit(Item::Prefix(s)),
            // Only a cut through a long segment could do this; such a prefix can't be returned.
            Err(_) => tracing::warn!("skipping a common prefix that is not UTF-8"),
        }
    }

    fn dir(&mut self, dir: &Path, logical: &[u8]) -> io::Result<()> {
        for (kind, name, path) in read_entries(dir)? {
            if self.done() {
                break;
            }
            let mut full = logical.to_vec();
            full.extend_from_slice(&name);
            match kind {
                EntryKind::Object => self.object(full, &path)?,
                EntryKind::Dir | EntryKind::Continuation => self.range(full, &path)?,
            }
        }
        Ok(())
    }

    /// A directory holding exactly the keys that start with `x`.
    fn range(&mut self, x: Vec<u8>, path: &Path) -> io::Result<()> {
        if !(x.starts_with(self.prefix) || self.prefix.starts_with(&x)) {
            return Ok(());
        }
        if let Some(m) = self.marker
            && x.as_slice() <= m
            && !m.starts_with(&x)
        {
            // Every key here sorts before the marker.
            return Ok(());
        }
        if let Some(cp) = self.common_prefix(&x) {
            let cp = cp.to_vec();
            if self.last_prefix.as_deref() != Some(&cp[..]) && self.after_marker(&cp) && has_object(path)? {
                self.offer_prefix(&cp);
            }
            return Ok(());
        }
        self.dir(path, &x)
    }

    fn object(&mut self, key: Vec<u8>, path: &Path) -> io::Result<()> {
        if !key.starts_with(self.prefix) || !self.after_marker(&key) {
            return Ok(());
        }
        if let Some(cp) = self.common_prefix(&key) {
            let cp = cp.to_vec();
            self.offer_prefix(&cp);
            return Ok(());
        }
        let Ok(key) = String::from_utf8(key) else { return Ok(()) };
        if self.items.len() == self.max {
            // No need to read a header only to find the page is full.
            self.truncated = true;
            return Ok(());
        }
        let file = match fs::File::open(path) {
            Ok(f) => f,
            // Deleted since the directory was read.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        match super::read_header(file) {
            Ok((_, mut info, _)) => {
                info.key = key;
                self.emit(Item::Object(info));
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                tracing::warn!(key, error = %e, "skipping a damaged object file while listing");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}
