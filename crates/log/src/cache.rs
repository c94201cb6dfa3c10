//! What lookups decode from segments, kept for the next lookup. Segments never change, so an entry
//! keyed by segment id is never stale; entries of deleted segments simply age out.
//!
//! Paging is the case this is for: page N+1 of a lookup reads the same row groups as page N, and
//! without a cache would decode their filter columns and decompress their records again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use cairn_model::EventRecord;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::Seq;
use crate::readahead::ReadAheadPool;
use crate::segment::read::RowHit;

/// A byte-bounded map with two generations: entries go into the young one; when it is full it
/// becomes the old one (and the old one is dropped). A hit in the old generation moves the entry
/// back to the young one. That is LRU closely enough, with O(1) work per operation.
pub(crate) struct GenCache<K, V> {
    gens: Mutex<Gens<K, V>>,
    /// Bytes the young generation may hold; the cache holds at most about twice this.
    half: usize,
}

/// Keys are looked up hundreds of times a page: a fast hash matters more here than resistance to
/// crafted keys (which callers cannot choose).
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

struct Gens<K, V> {
    young: Map<K, (V, usize)>,
    old: Map<K, (V, usize)>,
    young_bytes: usize,
    /// The generation just evicted, dropped after the lock is released (it may hold thousands of
    /// records, and freeing them should not hold up other lookups).
    retired: Option<Map<K, (V, usize)>>,
}

impl<K: Hash + Eq, V: Clone> GenCache<K, V> {
    pub fn new(bytes: usize) -> Self {
        GenCache {
            gens: Mutex::new(Gens {
                young: Map::default(),
                old: Map::default(),
                young_bytes: 0,
                retired: None,
            }),
            half: bytes / 2,
        }
    }

    /// Runs `f` under the lock, then drops what it evicted.
    fn locked<R>(&self, f: impl FnOnce(&mut Gens<K, V>) -> R) -> R {
        let (out, retired) = {
            let mut g = self.gens.lock();
            let out = f(&mut g);
            (out, g.retired.take())
        };
        drop(retired);
        out
    }

    pub fn get(&self, k: &K) -> Option<V> {
        self.locked(|g| g.get(k, self.half))
    }

    /// [`Self::get`] for many keys under one lock.
    pub fn get_many<'k>(&self, keys: impl IntoIterator<Item = &'k K>) -> Vec<Option<V>>
    where
        K: 'k,
    {
        self.locked(|g| keys.into_iter().map(|k| g.get(k, self.half)).collect())
    }

    /// Which of `keys` are cached, without counting as a use (for deciding what to read ahead).
    pub fn contains_many<'k>(&self, keys: impl IntoIterator<Item = &'k K>) -> Vec<bool>
    where
        K: 'k,
    {
        let g = self.gens.lock();
        keys.into_iter()
            .map(|k| g.young.contains_key(k) || g.old.contains_key(k))
            .collect()
    }

    pub fn insert(&self, k: K, v: V, bytes: usize) {
        self.insert_many([(k, v, bytes)]);
    }

    /// [`Self::insert`] for many entries under one lock.
    pub fn insert_many(&self, entries: impl IntoIterator<Item = (K, V, usize)>) {
        self.locked(|g| {
            for (k, v, bytes) in entries {
                // Too big for the cache at all: not kept, nothing evicted.
                if bytes <= self.half {
                    g.insert(k, v, bytes, self.half);
                }
            }
        })
    }
}

impl<K: Hash + Eq, V: Clone> Gens<K, V> {
    fn get(&mut self, k: &K, half: usize) -> Option<V> {
        if let Some((v, _)) = self.young.get(k) {
            return Some(v.clone());
        }
        let (k, (v, bytes)) = self.old.remove_entry(k)?;
        let out = v.clone();
        self.insert(k, v, bytes, half);
        Some(out)
    }

    fn insert(&mut self, k: K, v: V, bytes: usize, half: usize) {
        if self.young_bytes + bytes > half {
            let old = std::mem::replace(&mut self.old, std::mem::take(&mut self.young));
            // Two evictions under one lock: the first is dropped here.
            self.retired = Some(old);
            self.young_bytes = 0;
        }
        self.young_bytes += bytes;
        if let Some((_, before)) = self.young.insert(k, (v, bytes)) {
            self.young_bytes -= before;
        }
    }
}

/// One read-ahead thread per core, and room for a few pages' worth of fetches each: a paging
/// client queues one a page, a new lookup several at once.
fn read_ahead_pool() -> Option<ReadAheadPool> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    match ReadAheadPool::new(threads, threads * 16) {
        Ok(pool) => Some(pool),
        Err(e) => {
            tracing::warn!(error = %e, "lookup read-ahead threads could not start; lookups will not read ahead");
            None
        }
    }
}

/// Which rows of a row group matched: the segment, the row group, and what was asked (filter and
/// categories, spelled out).
pub(crate) type HitKey = (Arc<str>, usize, String);

/// A record, by its sequence number: unique in a log, and the record it names never changes
/// (compaction copies it unchanged), so whichever segment it was read from does not matter.
pub(crate) type RecordKey = Seq;

/// The lookup caches of one log.
pub(crate) struct ScanCache {
    /// Every row of a row group that matches a filter (before time bounds and positions).
    pub hits: GenCache<HitKey, Arc<Vec<RowHit>>>,
    /// Records fetched from segments, by sequence number.
    pub records: GenCache<RecordKey, EventRecord>,

    /// Records a background read-ahead is fetching, each with a flag that turns true when its
    /// fetch has ended (and its records are in `records`, unless it failed).
    in_flight: Mutex<Map<RecordKey, watch::Receiver<bool>>>,
    /// The read-ahead threads; None when `records` has no room enough for reading ahead to be
    /// worth it (or the threads could not be started).
    read_ahead: Option<ReadAheadPool>,
}

impl ScanCache {
    pub fn new(bytes: usize) -> Self {
        let records = bytes - bytes / 4;
        ScanCache {
            hits: GenCache::new(bytes / 4),
            records: GenCache::new(records),
            in_flight: Mutex::new(Map::default()),
            read_ahead: (records >= 16 << 20).then(read_ahead_pool).flatten(),
        }
    }

    /// The read-ahead threads, if this cache reads ahead.
    pub fn read_ahead(&self) -> Option<&ReadAheadPool> {
        self.read_ahead.as_ref()
    }

    /// Those of `keyed` neither cached nor being fetched: what a read-ahead should fetch.
    pub fn not_fetched<T>(&self, keyed: Vec<(RecordKey, T)>) -> Vec<(RecordKey, T)> {
        let cached = self.records.contains_many(keyed.iter().map(|(k, _)| k));
        let flying = self.in_flight.lock();
        keyed
            .into_iter()
            .zip(cached)
            .filter(|((k, _), cached)| !cached && !flying.contains_key(k))
            .map(|(kt, _)| kt)
            .collect()
    }

    /// The flag of the fetch under way for `key`, if any.
    pub fn in_flight(&self, key: RecordKey) -> Option<watch::Receiver<bool>> {
        self.in_flight.lock().get(&key).cloned()
    }

    /// Marks `keys` as being fetched until the returned guard is dropped: when the fetch has put
    /// its records in the cache, failed, panicked or been cancelled alike.
    pub fn start_fetch(self: &Arc<Self>, keys: Vec<RecordKey>) -> InFlight {
        let (done, rx) = watch::channel(false);
        let mut m = self.in_flight.lock();
        for k in &keys {
            m.insert(*k, rx.clone());
        }
        InFlight {
            cache: self.clone(),
            keys,
            done,
        }
    }
}

/// A background fetch under way ([`ScanCache::start_fetch`]).
pub(crate) struct InFlight {
    pub cache: Arc<ScanCache>,
    keys: Vec<RecordKey>,
    done: watch::Sender<bool>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut m = self.cache.in_flight.lock();
            for k in &self.keys {
                m.remove(k);
            }
        }
        let _ = self.done.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_recent_entries_within_its_budget() {
        // Generations of 100 bytes: ten entries of 10 bytes each.
        let c: GenCache<u32, u32> = GenCache::new(200);
        for i in 0..100 {
            c.insert(i, i * 2, 10);
        }
        assert_eq!(c.get(&99), Some(198));
        assert_eq!(c.get(&50), None);
        // In the old generation: found, and moved back to the young one...
        assert_eq!(c.get(&80), Some(160));
        // ...so it outlives the rest of its generation.
        for i in 100..110 {
            c.insert(i, 0, 10);
        }
        assert_eq!(c.get(&80), Some(160));
        assert_eq!(c.get(&81), None);
        // Too big for the cache at all: not kept, nothing evicted.
        c.insert(1000, 1, 101);
        assert_eq!(c.get(&1000), None);
        assert_eq!(c.get(&109), Some(0));
    }
}
