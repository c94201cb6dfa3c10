//! TEMPORARY placeholder replaced by the s3-facade branch.
#[derive(Clone)]
pub struct LocalBuckets;
pub struct BucketInfo {
    pub owner: String,
}
impl LocalBuckets {
    pub fn bucket(&self, _name: &str) -> Option<BucketInfo> {
        None
    }
}
impl LocalBuckets {
    pub fn open(_p: &std::path::Path) -> std::io::Result<Self> {
        Ok(LocalBuckets)
    }
}
