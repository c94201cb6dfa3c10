//! Writing objects to a trail's bucket, wherever the destination keeps it.

use std::collections::HashMap;
use std::sync::Arc;

use object_store::{Attribute, Attributes, ObjectStore, PutOptions, path::Path};
use parking_lot::Mutex;

use crate::buckets::{BucketError, ObjectMeta};
use crate::destinations::Destinations;

/// A failed write, worded as GetTrailStatus reports it (`LatestDeliveryError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PutError(pub String);

pub struct Sink {
    destinations: Destinations,
    /// One client per external bucket: building one sets up a connection pool.
    s3: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl Sink {
    pub fn new(destinations: Destinations) -> Sink {
        Sink {
            destinations,
            s3: Mutex::new(HashMap::new()),
        }
    }

    /// Writes one object; when this returns Ok the object is durable at the destination.
    pub async fn put(&self, bucket: &str, key: &str, body: bytes::Bytes, meta: ObjectMeta) -> Result<(), PutError> {
        match &self.destinations {
            Destinations::Local(buckets) => {
                let (buckets, bucket, key) = (buckets.clone(), bucket.to_string(), key.to_string());
                tokio::task::spawn_blocking(move || buckets.put_object(&bucket, &key, &body, meta))
                    .await
                    .map_err(|e| PutError(format!("InternalError: {e}")))?
                    .map(|_| ())
                    .map_err(|e| match e {
                        BucketError::NoSuchBucket => PutError("NoSuchBucket".into()),
                        other => PutError(format!("{}: {other}", other.code())),
                    })
            }
            Destinations::S3(endpoint) => {
                let store = {
                    let mut stores = self.s3.lock();
                    match stores.get(bucket) {
                        Some(s) => s.clone(),
                        None => {
                            let s = endpoint.store(bucket).map_err(|e| PutError(e.to_string()))?;
                            stores.insert(bucket.to_string(), s.clone());
                            s
                        }
                    }
                };
                let mut attributes = Attributes::new();
                if let Some(t) = meta.content_type {
                    attributes.insert(Attribute::ContentType, t.into());
                }
                if let Some(e) = meta.content_encoding {
                    attributes.insert(Attribute::ContentEncoding, e.into());
                }
                for (k, v) in meta.user {
                    attributes.insert(Attribute::Metadata(k.into()), v.into());
                }
                let opts = PutOptions {
                    attributes,
                    ..PutOptions::default()
                };
                store
                    .put_opts(&Path::from(key), body.into(), opts)
                    .await
                    .map(|_| ())
                    .map_err(|e| PutError(s3_error(&e)))
            }
        }
    }
}

/// S3's error code when the message carries one (object_store words errors for people).
fn s3_error(e: &object_store::Error) -> String {
    let text = e.to_string();
    for code in [
        "NoSuchBucket",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
    ] {
        if text.contains(code) {
            return code.to_string();
        }
    }
    if matches!(e, object_store::Error::NotFound { .. }) {
        return "NoSuchBucket".to_string();
    }
    text
}
