use std::collections::BTreeSet;

use super::*;

fn store() -> (tempfile::TempDir, LocalBuckets) {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBuckets::open(&dir.path().join("buckets")).unwrap();
    b.create_bucket("trail-bucket", "111122223333", "us-east-1").unwrap();
    (dir, b)
}

fn put(b: &LocalBuckets, key: &str, body: &[u8]) {
    b.put_object("trail-bucket", key, body, ObjectMeta::default()).unwrap();
}

/// Small deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

#[test]
fn weird_keys_round_trip() {
    let (_d, b) = store();
    let long = "é".repeat(200);
    let keys = [
        "a",
        "a/b",
        "a/",
        "/a",
        "a//b",
        ".",
        "..",
        "../x",
        "a/./b",
        "sp ace/ü/日本",
        "~",
        "%41",
        "a+b",
        "x.o",
        "bucket.json",
        ".tmp-1",
        &long,
        &format!("{long}/tail"),
    ];
    for (i, k) in keys.iter().enumerate() {
        put(&b, k, format!("body {i}").as_bytes());
    }
    for (i, k) in keys.iter().enumerate() {
        let got = b.get_object("trail-bucket", k, None).unwrap();
        assert_eq!(got.body, format!("body {i}").as_bytes(), "{k}");
        assert_eq!(got.info.key, *k);
    }
    let all = b
        .list_objects(
            "trail-bucket",
            &ListRequest {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    let listed: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
    let mut want: Vec<&str> = keys.to_vec();
    want.sort();
    assert_eq!(listed, want);
    // Nothing escaped the bucket directory.
    let root: Vec<_> = fs::read_dir(b.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(root, vec![std::ffi::OsString::from("trail-bucket")]);
}

#[test]
fn metadata_etag_and_overwrite() {
    let (_d, b) = store();
    let mut user = BTreeMap::new();
    user.insert("origin".to_string(), "cairn".to_string());
    let meta = ObjectMeta {
        content_type: Some("application/json".into()),
        content_encoding: Some("gzip".into()),
        user,
    };
    let info = b.put_object("trail-bucket", "k", b"hello", meta.clone()).unwrap();
    assert_eq!(info.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(info.size, 5);
    let head = b.head_object("trail-bucket", "k").unwrap();
    assert_eq!(head, info);
    assert_eq!(head.content_type.as_deref(), Some("application/json"));
    b.put_object("trail-bucket", "k", b"bye", ObjectMeta::default())
        .unwrap();
    let got = b.get_object("trail-bucket", "k", None).unwrap();
    assert_eq!(got.body, b"bye");
    assert_eq!(got.info.content_type, None);
    assert!(matches!(
        b.head_object("trail-bucket", "nope"),
        Err(BucketError::NoSuchKey)
    ));
    assert!(matches!(
        b.head_object("trail-bucket", "k/deeper"),
        Err(BucketError::NoSuchKey)
    ));
    assert!(matches!(
        b.head_object("no-bucket", "k"),
        Err(BucketError::NoSuchBucket)
    ));
    let long = "k".repeat(1025);
    assert!(matches!(
        b.put_object("trail-bucket", &long, b"", ObjectMeta::default()),
        Err(BucketError::KeyTooLong)
    ));
    assert_eq!(BucketError::KeyTooLong.code(), "KeyTooLongError");
    let empty = b
        .put_object("trail-bucket", "empty", b"", ObjectMeta::default())
        .unwrap();
    assert_eq!(empty.etag, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(b.get_object("trail-bucket", "empty", None).unwrap().body, b"");
}

#[test]
fn file_and_directory_with_same_name_coexist() {
    let (_d, b) = store();
    put(&b, "a/b", b"inner");
    put(&b, "a", b"outer");
    put(&b, "a/b/c", b"deepest");
    assert_eq!(b.get_object("trail-bucket", "a", None).unwrap().body, b"outer");
    assert_eq!(b.get_object("trail-bucket", "a/b", None).unwrap().body, b"inner");
    assert_eq!(b.get_object("trail-bucket", "a/b/c", None).unwrap().body, b"deepest");
    b.delete_object("trail-bucket", "a/b/c").unwrap();
    assert_eq!(b.get_object("trail-bucket", "a/b", None).unwrap().body, b"inner");
    assert!(matches!(
        b.delete_object("trail-bucket", "a/b/c"),
        Err(BucketError::NoSuchKey)
    ));
}

#[test]
fn ranges() {
    let (_d, b) = store();
    put(&b, "r", b"0123456789");
    let get = |r| b.get_object("trail-bucket", "r", Some(r));
    let g = get(ByteRange::FromTo(2, 4)).unwrap();
    assert_eq!((g.body.as_slice(), g.range), (&b"234"[..], Some((2, 4))));
    assert_eq!(get(ByteRange::FromTo(8, 100)).unwrap().body, b"89");
    assert_eq!(get(ByteRange::From(7)).unwrap().body, b"789");
    assert_eq!(get(ByteRange::Suffix(3)).unwrap().body, b"789");
    assert_eq!(get(ByteRange::Suffix(30)).unwrap().body, b"0123456789");
    assert!(matches!(get(ByteRange::From(10)), Err(BucketError::InvalidRange)));
    assert!(matches!(get(ByteRange::Suffix(0)), Err(BucketError::InvalidRange)));
    assert!(matches!(get(ByteRange::FromTo(5, 4)), Err(BucketError::InvalidRange)));
    put(&b, "z", b"");
    assert!(matches!(
        b.get_object("trail-bucket", "z", Some(ByteRange::From(0))),
        Err(BucketError::InvalidRange)
    ));
}

#[test]
fn bucket_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBuckets::open(dir.path()).unwrap();
    assert!(matches!(
        b.create_bucket("Bad_Name", "1", "us-east-1"),
        Err(BucketError::InvalidBucketName)
    ));
    assert!(matches!(
        b.create_bucket("10.0.0.1", "1", "us-east-1"),
        Err(BucketError::InvalidBucketName)
    ));
    let info = b.create_bucket("zeta", "111", "eu-west-1").unwrap();
    b.create_bucket("alpha", "222", "us-east-1").unwrap();
    assert!(matches!(
        b.create_bucket("zeta", "111", "us-east-1"),
        Err(BucketError::BucketAlreadyOwnedByYou)
    ));
    assert!(matches!(
        b.create_bucket("zeta", "222", "us-east-1"),
        Err(BucketError::BucketAlreadyExists)
    ));
    assert_eq!(b.bucket("zeta"), Some(info.clone()));
    let names: Vec<_> = b.list_buckets().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    b.put_object("zeta", "x/y", b"1", ObjectMeta::default()).unwrap();
    assert!(matches!(b.delete_bucket("zeta"), Err(BucketError::BucketNotEmpty)));
    b.delete_object("zeta", "x/y").unwrap();
    b.delete_bucket("zeta").unwrap();
    assert!(matches!(b.delete_bucket("zeta"), Err(BucketError::NoSuchBucket)));
    assert_eq!(b.bucket("zeta"), None);
    assert!(matches!(
        b.put_object("zeta", "k", b"", ObjectMeta::default()),
        Err(BucketError::NoSuchBucket)
    ));
}

#[test]
fn survives_reopen_and_ignores_stray_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let info = {
        let b = LocalBuckets::open(dir.path()).unwrap();
        b.create_bucket("keep", "1", "us-west-2").unwrap();
        b.put_object("keep", "AWSLogs/1/f.json.gz", b"data", ObjectMeta::default())
            .unwrap()
    };
    // What a crash mid-write leaves behind.
    fs::write(dir.path().join("keep/AWSLogs/.tmp-99"), b"partial").unwrap();
    fs::create_dir(dir.path().join(".tmp-5")).unwrap();
    let b = LocalBuckets::open(dir.path()).unwrap();
    assert!(!dir.path().join(".tmp-5").exists());
    assert_eq!(b.bucket("keep").unwrap().region, "us-west-2");
    assert_eq!(b.head_object("keep", "AWSLogs/1/f.json.gz").unwrap(), info);
    let l = b
        .list_objects(
            "keep",
            &ListRequest {
                max_keys: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(l.objects, vec![info]);
}

#[test]
fn damaged_object_is_an_error_not_data() {
    let (d, b) = store();
    put(&b, "k", b"0123456789");
    let path = d.path().join("buckets/trail-bucket/k.o");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    assert!(matches!(
        b.get_object("trail-bucket", "k", None),
        Err(BucketError::Io(_))
    ));
}

/// S3's listing semantics over a plain sorted key set.
fn model(keys: &BTreeSet<String>, req: &ListRequest) -> ListResult {
    let delim = req.delimiter.as_deref().filter(|d| !d.is_empty());
    let after = |s: &str| req.start_after.as_deref().is_none_or(|m| s > m);
    let mut items: Vec<(bool, String)> = Vec::new();
    for k in keys {
        if !k.starts_with(&req.prefix) || !after(k) {
            continue;
        }
        let rest = &k[req.prefix.len()..];
        match delim.and_then(|d| rest.find(d).map(|p| format!("{}{}", req.prefix, &rest[..p + d.len()]))) {
            Some(cp) => {
                if after(&cp) && items.last().map(|(_, s)| s) != Some(&cp) {
                    items.push((true, cp));
                }
            }
            None => items.push((false, k.clone())),
        }
    }
    let truncated = req.max_keys > 0 && items.len() > req.max_keys;
    items.truncate(req.max_keys);
    ListResult {
        objects: vec![],
        common_prefixes: items.iter().filter(|i| i.0).map(|i| i.1.clone()).collect(),
        is_truncated: truncated,
        next_marker: if truncated {
            items.last().map(|i| i.1.clone())
        } else {
            None
        },
    }
    .with_keys(items.iter().filter(|i| !i.0).map(|i| i.1.clone()).collect())
}

impl ListResult {
    fn with_keys(mut self, keys: Vec<String>) -> ListResult {
        self.objects = keys
            .into_iter()
            .map(|key| ObjectInfo {
                key,
                size: 0,
                etag: String::new(),
                last_modified: Timestamp::UNIX_EPOCH,
                content_type: None,
                content_encoding: None,
                user: BTreeMap::new(),
            })
            .collect();
        self
    }
    fn shape(&self) -> (Vec<&str>, &[String], bool, Option<&str>) {
        (
            self.objects.iter().map(|o| o.key.as_str()).collect(),
            &self.common_prefixes,
            self.is_truncated,
            self.next_marker.as_deref(),
        )
    }
}

#[test]
fn listing_matches_model() {
    let (_d, b) = store();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let parts = ["a", "b", "ab", "a.b", "", "é", "..", "x y", "-", "a-", "2026", "11"];
    let mut keys = BTreeSet::new();
    let l = "L".repeat(239);
    for extra in ["", "L", "LL", "LLLL/x", "Lx", "L/y", "LLL-", "/"] {
        keys.insert(format!("{l}{extra}"));
    }
    while keys.len() < 300 {
        let n = 1 + rng.below(4);
        let key: Vec<&str> = (0..n).map(|_| rng.pick(&parts)).collect();
        let key = key.join("/");
        if !key.is_empty() {
            keys.insert(key);
        }
    }
    for k in &keys {
        put(&b, k, k.as_bytes());
    }
    let prefixes = ["", "a", "a/", "ab", "a/b", "é", "x", "a.", "..", "2026/", &l[..100]];
    let delims = [None, Some("/"), Some("b"), Some("a/"), Some("-"), Some("")];
    let mut markers: Vec<Option<String>> = vec![None, Some("a/".into()), Some("b".into()), Some("a".into())];
    for _ in 0..8 {
        let k = keys.iter().nth(rng.below(keys.len())).unwrap().clone();
        let n = rng.below(k.chars().count() + 1);
        markers.push(Some(k.chars().take(n).collect()));
    }
    let mut checked = 0;
    for prefix in prefixes {
        for delim in delims {
            for marker in &markers {
                for max in [0usize, 1, 3, 1000] {
                    let req = ListRequest {
                        prefix: prefix.into(),
                        delimiter: delim.map(String::from),
                        start_after: marker.clone(),
                        max_keys: max,
                    };
                    let got = b.list_objects("trail-bucket", &req).unwrap();
                    let want = model(&keys, &req);
                    assert_eq!(got.shape(), want.shape(), "{req:?}");
                    checked += 1;
                }
            }
            // Paging by next_marker visits everything exactly once.
            let full = model(
                &keys,
                &ListRequest {
                    prefix: prefix.into(),
                    delimiter: delim.map(String::from),
                    start_after: None,
                    max_keys: usize::MAX,
                },
            );
            let (mut objs, mut cps) = (Vec::new(), Vec::new());
            let mut marker = None;
            loop {
                let req = ListRequest {
                    prefix: prefix.into(),
                    delimiter: delim.map(String::from),
                    start_after: marker.clone(),
                    max_keys: 7,
                };
                let page = b.list_objects("trail-bucket", &req).unwrap();
                objs.extend(page.objects.iter().map(|o| o.key.clone()));
                cps.extend(page.common_prefixes.clone());
                if !page.is_truncated {
                    break;
                }
                marker = page.next_marker;
            }
            let want: Vec<String> = full.objects.iter().map(|o| o.key.clone()).collect();
            assert_eq!((objs, cps), (want, full.common_prefixes), "paging {prefix:?} {delim:?}");
        }
    }
    assert!(checked > 1000);
}

#[test]
fn listing_skips_whole_directories() {
    // A deep CloudTrail-like tree: listing one day with a prefix walks only that day's directory.
    let (d, b) = store();
    for day in 1..=3 {
        for n in 0..20 {
            put(
                &b,
                &format!("AWSLogs/1/CloudTrail/us-east-1/2026/11/{day:02}/f{n:03}.json.gz"),
                b"{}",
            );
        }
    }
    // Day 1 replaced by something that is not part of the key space: it vanishes from listings.
    let day1 = d
        .path()
        .join("buckets/trail-bucket/AWSLogs/1/CloudTrail/us-east-1/2026/11/01");
    fs::rename(&day1, day1.with_file_name(".moved")).unwrap();
    fs::write(&day1, b"not a directory").unwrap();
    let req = ListRequest {
        prefix: "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/".into(),
        max_keys: 5,
        ..Default::default()
    };
    let page = b.list_objects("trail-bucket", &req).unwrap();
    assert_eq!(page.objects.len(), 5);
    assert!(page.is_truncated);
    let req = ListRequest {
        prefix: "AWSLogs/1/CloudTrail/us-east-1/2026/11/".into(),
        delimiter: Some("/".into()),
        max_keys: 1000,
        ..Default::default()
    };
    let page = b.list_objects("trail-bucket", &req).unwrap();
    assert_eq!(
        page.common_prefixes,
        [
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/",
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/03/"
        ]
    );
}
