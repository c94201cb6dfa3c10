//! Where trails deliver: the embedded local buckets (served by the S3 facade) or an external
//! S3-compatible endpoint.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;

use crate::buckets::LocalBuckets;

/// An external S3-compatible endpoint.
#[derive(Clone)]
pub struct S3Endpoint {
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Endpoint")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl S3Endpoint {
    /// An object store for `bucket` on this endpoint (path-style requests, so any S3-compatible
    /// server works).
    pub fn store(&self, bucket: &str) -> object_store::Result<Arc<dyn ObjectStore>> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&self.region)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(self.allow_http);
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e);
        }
        if let (Some(k), Some(s)) = (&self.access_key_id, &self.secret_access_key) {
            b = b.with_access_key_id(k).with_secret_access_key(s);
        }
        Ok(Arc::new(b.build()?))
    }
}

#[derive(Clone)]
pub enum Destinations {
    Local(LocalBuckets),
    S3(S3Endpoint),
}

/// What a destination knows of a bucket a trail names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketCheck {
    Missing,
    /// A local bucket, with its owner.
    Owned {
        account_id: String,
    },
    /// A bucket on an external endpoint (owners are the endpoint's business).
    Exists,
    /// The destination could not be asked.
    Unreachable(String),
}

impl Destinations {
    pub fn local(&self) -> Option<&LocalBuckets> {
        match self {
            Destinations::Local(b) => Some(b),
            Destinations::S3(_) => None,
        }
    }

    pub async fn check_bucket(&self, name: &str) -> BucketCheck {
        match self {
            Destinations::Local(buckets) => {
                // A file read behind the store's lock: not on an async worker.
                let (buckets, name) = (buckets.clone(), name.to_string());
                match tokio::task::spawn_blocking(move || buckets.bucket(&name)).await {
                    Ok(Some(info)) => BucketCheck::Owned {
                        account_id: info.owner_account_id,
                    },
                    Ok(None) => BucketCheck::Missing,
                    Err(e) => BucketCheck::Unreachable(e.to_string()),
                }
            }
            Destinations::S3(endpoint) => {
                let store = match endpoint.store(name) {
                    Ok(s) => s,
                    Err(e) => return BucketCheck::Unreachable(e.to_string()),
                };
                match store.list_with_delimiter(None).await {
                    Ok(_) => BucketCheck::Exists,
                    Err(e) => {
                        let text = e.to_string();
                        if matches!(e, object_store::Error::NotFound { .. }) || text.contains("NoSuchBucket") {
                            BucketCheck::Missing
                        } else {
                            BucketCheck::Unreachable(text)
                        }
                    }
                }
            }
        }
    }
}
