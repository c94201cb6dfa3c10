//! `cairn test-put-object` (hidden): places (or removes) buckets' objects in the local bucket store
//! of a data directory, as a trail would, so end-to-end tests of the S3 facade have something to
//! read, and tests of validate-logs can tamper with what a trail wrote (the S3 API cannot).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use cairn_server::buckets::{BucketError, LocalBuckets, ObjectMeta};

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bucket: String,
    /// Create the bucket first (owned by --account, in --region) if it does not exist.
    #[arg(long)]
    create_bucket: bool,
    #[arg(long, default_value = "123456789012")]
    account: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, requires = "file")]
    key: Option<String>,
    #[arg(long, requires = "key")]
    file: Option<PathBuf>,
    /// Remove --key instead of writing it.
    #[arg(long, requires = "key", conflicts_with = "file")]
    delete: bool,
    #[arg(long)]
    content_type: Option<String>,
    #[arg(long)]
    content_encoding: Option<String>,
    /// User metadata, served as x-amz-meta-NAME (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    meta: Vec<String>,
}

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    let root = settings.data_dir.join("buckets");
    // `open` tidies the store, which must not happen under a running server.
    let buckets = if args.create_bucket {
        LocalBuckets::open(&root)?
    } else {
        LocalBuckets::open_existing(&root)?
    };
    if args.create_bucket {
        match buckets.create_bucket(&args.bucket, &args.account, &args.region) {
            Ok(_) | Err(BucketError::BucketAlreadyOwnedByYou) => {}
            Err(e) => return Err(e).context("creating the bucket"),
        }
    }
    if let (true, Some(key)) = (args.delete, &args.key) {
        buckets
            .delete_object(&args.bucket, key)
            .context("deleting the object")?;
    }
    if let (Some(key), Some(file)) = (&args.key, &args.file) {
        let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let mut user = BTreeMap::new();
        for m in &args.meta {
            let Some((k, v)) = m.split_once('=') else {
                bail!("--meta {m:?} must be NAME=VALUE");
            };
            user.insert(k.to_ascii_lowercase(), v.to_string());
        }
        buckets.put_object(
            &args.bucket,
            key,
            &body,
            ObjectMeta {
                content_type: args.content_type.clone(),
                content_encoding: args.content_encoding.clone(),
                user,
            },
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
