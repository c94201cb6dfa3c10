//! `cairn validate-logs`: `aws cloudtrail validate-logs`, compatible in flags, output and exit
//! codes, faster (log files are checked in parallel), and with `--strict` checks the aws CLI lacks.
//! The engine is `cairn_integrity::validate`; this command finds the trail, the public keys and
//! the objects, either through a running server (`--endpoint-url`) or straight from a data
//! directory.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use cairn_integrity::validate::{self, FetchError, Freshness, KeySource, Object, Request, StdSink, Store};
use cairn_integrity::{KeyRing, PublicKeyInfo};
use cairn_log::catalog::{Catalog, SqliteCatalog};
use cairn_model::trail::TrailConfig;
use cairn_server::buckets::{BucketError, ListRequest, LocalBuckets};
use cairn_server::client::CloudTrailClient;
use cairn_server::destinations::S3Endpoint;
use futures::StreamExt;
use object_store::{Attribute, GetOptions, ObjectStore};
use serde_json::{Value, json};

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {
    /// ARN of the trail (arn:aws:cloudtrail:<home region>:<account>:trail/<name>).
    #[arg(long, value_name = "ARN")]
    trail_arn: String,
    /// Validate digests from this time on: 2026-01-20T10:00:00Z, 2026-01-20 10:00, 2026-01-20
    /// (UTC; like the aws CLI, an offset is ignored, not applied), or an age such as 6h or 7d.
    #[arg(long, value_name = "TIME")]
    start_time: String,
    /// ...up to this time [default: now].
    #[arg(long, value_name = "TIME")]
    end_time: Option<String>,
    /// Read the files from this bucket instead of the trail's (the trail is then not looked up).
    #[arg(long, value_name = "BUCKET")]
    s3_bucket: Option<String>,
    /// Key prefix of the files in --s3-bucket.
    #[arg(long, value_name = "PREFIX")]
    s3_prefix: Option<String>,
    /// Account whose files to validate [default: the trail's]; required for organization trails.
    #[arg(long, value_name = "ID")]
    account_id: Option<String>,
    /// Also print every valid digest and log file.
    #[arg(long)]
    verbose: bool,
    /// Region whose digests and log files to validate (and whose public keys to use)
    /// [default: the trail's home region].
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// A running Cairn server: the trail, public keys and trail status come from its CloudTrail
    /// API, the files from its S3 facade (or AWS_ENDPOINT_URL_S3, or the s3_endpoint setting).
    /// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else the data directory's root
    /// credentials. Without it, the data directory is read directly (no server needed; a
    /// running one does not mind).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The organization (o-...) of an organization trail [default: the organization setting].
    #[arg(long, value_name = "ID")]
    organization_id: Option<String>,
    /// Also report what the aws CLI lets pass: each missing digest (not only the first of a
    /// run), digests whose link to the previous one (hash, signature, times) is wrong, deleted
    /// newest digests (checked against the trail's latest digest delivery), log files that no
    /// digest lists, and data after a digest's gzip stream.
    #[arg(long)]
    strict: bool,
    /// Files fetched and checked at once [default: 2 per core from a data directory, 32 through
    /// a server].
    #[arg(long, value_name = "N")]
    parallelism: Option<usize>,
}

fn usage<T>(msg: impl Into<String>) -> Result<T, anyhow::Error> {
    Err(anyhow::Error::new(UsageError(msg.into())))
}

/// A usage problem: the aws CLI's exit code 255.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Seconds of a time argument. As `aws cloudtrail validate-logs` (dateutil, then UTC put in
/// place of any zone), an offset is dropped, not applied; an age (`6h`) counts back from now.
fn time_arg(s: &str, now: i64) -> Result<i64, UsageError> {
    let t = s.trim();
    if let Ok(age) = humantime::parse_duration(t) {
        return Ok(now - age.as_secs() as i64);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    // Drop a zone: Z, or +HH:MM / -HHMM after the time of day.
    let mut civil = t.trim_end_matches(['Z', 'z']).to_string();
    if let Some(time_at) = civil.find(['T', 't', ' ']) {
        let tail = &civil[time_at..];
        if let Some(i) = tail.rfind(['+', '-']) {
            civil.truncate(time_at + i);
        }
    }
    let civil = civil.trim().replace(' ', "T");
    let dt = civil
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            civil
                .parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| UsageError(format!("Unable to parse date value: {s}")))?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .map_err(|_| UsageError(format!("Unable to parse date value: {s}")))
}

/// The parts of a trail ARN validate-logs uses: home region, account, name.
fn parse_arn(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() || parts[2] != "cloudtrail" || parts[3].is_empty() {
        return None;
    }
    let account = parts[4];
    let name = parts[5].strip_prefix("trail/")?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    let name = arn.rsplit('/').next()?;
    Some((parts[3].to_string(), account.to_string(), name.to_string()))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    match validate_logs(&settings, &args) {
        Ok(code) => Ok(ExitCode::from(code)),
        Err(e) => {
            eprintln!("{e:#}");
            Ok(ExitCode::from(if e.is::<UsageError>() { 255 } else { 254 }))
        }
    }
}

fn validate_logs(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let Some((home_region, arn_account, trail_name)) = parse_arn(&args.trail_arn) else {
        return usage(format!("Invalid trail ARN provided: {}", args.trail_arn));
    };
    let now = jiff::Timestamp::now().as_second();
    let start = time_arg(&args.start_time, now)?;
    let end = match &args.end_time {
        Some(e) => time_arg(e, now)?,
        None => now,
    };
    if start > end {
        return usage(format!(
            "Invalid time range specified: start-time {} is after end-time {}",
            cairn_integrity::digest::iso_seconds(start),
            cairn_integrity::digest::iso_seconds(end)
        ));
    }
    let source_region = args.region.clone().unwrap_or_else(|| home_region.clone());
    let account_id = args.account_id.clone().unwrap_or_else(|| arn_account.clone());
    let rt = super::runtime()?;
    let mut req = Request {
        trail_arn: args.trail_arn.clone(),
        bucket: String::new(),
        prefix: args.s3_prefix.clone().filter(|p| !p.is_empty()),
        org_id: args.organization_id.clone(),
        account_id,
        source_region,
        home_region,
        trail_name,
        start,
        end,
        verbose: args.verbose,
        strict: args.strict,
        parallelism: 1,
        digest_period_secs: None,
        freshness: None,
    };
    let org_setting = settings.organization.as_ref().map(|o| o.id.clone());
    let summary = match &args.endpoint_url {
        Some(endpoint) => {
            let (key, secret) = super::credentials(settings)?;
            let client = CloudTrailClient::new(endpoint, &req.home_region, &key, &secret);
            let trail = rt.block_on(remote_trail(&client, &args.trail_arn))?;
            configure(
                &mut req,
                args,
                trail.as_ref().map(|t| (t.0.clone(), t.1.clone(), t.2)),
                org_setting,
            )?;
            req.parallelism = args.parallelism.unwrap_or(32);
            if req.strict && trail.is_some() {
                let latest = rt.block_on(remote_latest_digest(&client, &args.trail_arn))?;
                // Only the home region of the trail's own account gets a digest every period
                // for sure (other chains start with their first log file).
                if let Some(latest) = latest
                    && req.source_region == req.home_region
                    && req.account_id == arn_account
                {
                    req.freshness = Some(Freshness {
                        latest_delivery: latest,
                        slack_secs: 60,
                        newest_key: None,
                    });
                }
            }
            let (s3_endpoint, s3_key, s3_secret) = match (std::env::var("AWS_ENDPOINT_URL_S3"), &settings.s3_endpoint) {
                (Ok(e), _) if !e.is_empty() => (e, Some(key.clone()), Some(secret.clone())),
                (_, Some(e)) => (
                    e.clone(),
                    settings.s3_access_key_id.clone().or(Some(key.clone())),
                    settings.s3_secret_access_key.clone().or(Some(secret.clone())),
                ),
                _ => (endpoint.clone(), Some(key.clone()), Some(secret.clone())),
            };
            let store = RemoteStore::new(
                S3Endpoint {
                    allow_http: s3_endpoint.starts_with("http://") || settings.s3_allow_http,
                    endpoint: Some(s3_endpoint),
                    region: req.source_region.clone(),
                    access_key_id: s3_key,
                    secret_access_key: s3_secret,
                },
                rt.handle().clone(),
            );
            let keys = RemoteKeys {
                client: client.with_region(&req.source_region),
                handle: rt.handle().clone(),
            };
            validate::run(&req, &store, &keys, &mut StdSink)
        }
        None => {
            let dir = &settings.data_dir;
            let (trail, state) = match &args.s3_bucket {
                Some(_) => (None, None),
                None => {
                    let (t, s) = rt.block_on(local_trail(dir, &args.trail_arn))?;
                    (Some(t), s)
                }
            };
            configure(
                &mut req,
                args,
                trail.as_ref().map(|t| {
                    (
                        t.s3_bucket_name.clone(),
                        t.s3_key_prefix.clone(),
                        t.is_organization_trail,
                    )
                }),
                org_setting,
            )?;
            let period = settings.digest_interval()?.as_secs() as i64;
            req.digest_period_secs = Some(period);
            req.parallelism = args
                .parallelism
                .unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(2, |n| n.get()));
            if req.strict
                && let Some(state) = &state
            {
                req.freshness = local_freshness(&req, state, 60);
            }
            let keys = LocalKeys::open(&dir.join("signing-keys"), settings)?;
            if settings.bucket_store == "s3" {
                let store = RemoteStore::new(settings.s3_endpoint(), rt.handle().clone());
                validate::run(&req, &store, &keys, &mut StdSink)
            } else {
                let buckets = LocalBuckets::open_existing(&dir.join("buckets"))
                    .with_context(|| format!("no trail buckets in {}", dir.display()))?;
                validate::run(&req, &LocalStore(buckets), &keys, &mut StdSink)
            }
        }
    };
    match summary {
        Ok(s) => Ok(s.exit_code()),
        Err(e @ validate::Error::Usage(_)) => usage(e.to_string()),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// Bucket, prefix and org id of the request: from the flags when --s3-bucket is given, else from
/// the trail (bucket, prefix, organization trail).
fn configure(
    req: &mut Request,
    args: &Args,
    trail: Option<(String, Option<String>, bool)>,
    org_setting: Option<String>,
) -> anyhow::Result<()> {
    if let Some(b) = &args.s3_bucket {
        req.bucket = b.clone();
        return Ok(());
    }
    let Some((bucket, prefix, is_org)) = trail else {
        return usage(format!("A trail could not be found for {}", args.trail_arn));
    };
    req.bucket = bucket;
    req.prefix = prefix.filter(|p| !p.is_empty());
    if is_org {
        if args.account_id.is_none() {
            return usage("Missing required parameter for organization trail: '--account-id'");
        }
        req.org_id = args.organization_id.clone().or(org_setting);
        if req.org_id.is_none() {
            return usage("The trail is an organization trail: give its organization with --organization-id");
        }
    } else {
        req.org_id = None;
    }
    Ok(())
}

/// DescribeTrails: bucket, prefix and whether it is an organization trail.
async fn remote_trail(client: &CloudTrailClient, arn: &str) -> anyhow::Result<Option<(String, Option<String>, bool)>> {
    let r = client
        .call("DescribeTrails", &json!({}))
        .await
        .context("DescribeTrails")?;
    if r.status != 200 {
        anyhow::bail!(
            "DescribeTrails: {} (HTTP {}): {}",
            r.error_code().unwrap_or("error"),
            r.status,
            r.body["message"]
                .as_str()
                .or(r.body["Message"].as_str())
                .unwrap_or_default()
        );
    }
    Ok(r.body["trailList"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["TrailARN"].as_str() == Some(arn))
        .map(|t| {
            (
                t["S3BucketName"].as_str().unwrap_or_default().to_string(),
                t["S3KeyPrefix"].as_str().map(str::to_string),
                t["IsOrganizationTrail"].as_bool().unwrap_or(false),
            )
        }))
}

/// GetTrailStatus's LatestDigestDeliveryTime (seconds).
async fn remote_latest_digest(client: &CloudTrailClient, arn: &str) -> anyhow::Result<Option<i64>> {
    let r = client
        .call("GetTrailStatus", &json!({ "Name": arn }))
        .await
        .context("GetTrailStatus")?;
    if r.status != 200 {
        anyhow::bail!(
            "GetTrailStatus: {} (HTTP {})",
            r.error_code().unwrap_or("error"),
            r.status
        );
    }
    Ok(r.body["LatestDigestDeliveryTime"].as_f64().map(|s| s.floor() as i64))
}

/// The trail's configuration and delivery state from the data directory's catalog (read while
/// a server may be running: SQLite in WAL mode lets readers in).
async fn local_trail(dir: &Path, arn: &str) -> anyhow::Result<(TrailConfig, Option<Value>)> {
    let path = dir.join("catalog.db");
    if !path.is_file() {
        return usage(format!(
            "{} holds no catalog: give the data directory with --data-dir, or a server with --endpoint-url",
            dir.display()
        ));
    }
    let catalog = SqliteCatalog::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let trail = catalog.get_document("trail", arn).await?;
    let state = catalog.get_document("trail-delivery", arn).await?;
    catalog.close().await;
    let Some(trail) = trail else {
        return usage(format!("A trail could not be found for {arn}"));
    };
    let trail: TrailConfig = serde_json::from_str(&trail).with_context(|| format!("reading trail {arn}"))?;
    Ok((trail, state.and_then(|s| serde_json::from_str(&s).ok())))
}

/// Strict freshness from the server's delivery state: the chain's newest digest key when it has
/// been written, and when digests were last delivered.
fn local_freshness(req: &Request, state: &Value, slack_secs: i64) -> Option<Freshness> {
    let latest = state["status"]["latestDigestDeliveryMs"].as_i64()?.div_euclid(1000);
    let chain = &state["digests"]["chains"][format!("{}/{}", req.account_id, req.source_region)];
    if !chain.is_object() {
        // This region never had digests.
        return None;
    }
    let key = chain["key"].as_str().map(str::to_string);
    let written = state["digests"]["writing"]
        .as_array()
        .is_none_or(|w| w.iter().all(|d| d["key"].as_str() != key.as_deref()));
    let newest_key = key.filter(|_| written && chain["bucket"].as_str() == Some(req.bucket.as_str()));
    Some(Freshness {
        latest_delivery: latest,
        slack_secs,
        newest_key,
    })
}

/// ListPublicKeys of the source region, through the server.
struct RemoteKeys {
    client: CloudTrailClient,
    handle: tokio::runtime::Handle,
}

impl KeySource for RemoteKeys {
    fn public_keys(&self, _region: &str, start: i64, end: i64) -> Result<Vec<PublicKeyInfo>, String> {
        let r = self
            .handle
            .block_on(
                self.client
                    .call("ListPublicKeys", &json!({ "StartTime": start, "EndTime": end })),
            )
            .map_err(|e| format!("ListPublicKeys: {e}"))?;
        if r.status != 200 {
            return Err(format!(
                "ListPublicKeys: {} (HTTP {})",
                r.error_code().unwrap_or("error"),
                r.status
            ));
        }
        let mut keys = Vec::new();
        for k in r.body["PublicKeyList"].as_array().into_iter().flatten() {
            let der = k["Value"]
                .as_str()
                .and_then(base64_decode)
                .ok_or("ListPublicKeys: a key Value is not base64")?;
            keys.push(PublicKeyInfo {
                der,
                fingerprint: k["Fingerprint"].as_str().unwrap_or_default().to_string(),
                validity_start: k["ValidityStartTime"].as_f64().unwrap_or(0.0) as i64,
                validity_end: k["ValidityEndTime"].as_f64().unwrap_or(0.0) as i64,
            });
        }
        Ok(keys)
    }
}

/// The data directory's signing keys (public halves only).
struct LocalKeys(Option<KeyRing>);

impl LocalKeys {
    fn open(dir: &Path, settings: &Settings) -> anyhow::Result<LocalKeys> {
        if !dir.is_dir() {
            return Ok(LocalKeys(None));
        }
        let rotation = settings.signing_key_rotation()?.as_secs() as i64;
        Ok(LocalKeys(Some(KeyRing::open(dir, rotation, 3600)?)))
    }
}

impl KeySource for LocalKeys {
    fn public_keys(&self, region: &str, start: i64, end: i64) -> Result<Vec<PublicKeyInfo>, String> {
        match &self.0 {
            None => Ok(Vec::new()),
            Some(ring) => ring.public_keys(region, start, end).map_err(|e| e.to_string()),
        }
    }
}

/// The data directory's buckets, read in place.
struct LocalStore(LocalBuckets);

fn local_error(e: BucketError) -> FetchError {
    match e {
        BucketError::NoSuchKey => FetchError::NotFound,
        other => FetchError::Other(format!("{}: {other}", other.code())),
    }
}

impl Store for LocalStore {
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(), FetchError> {
        let mut marker = start_after.map(str::to_string);
        loop {
            let page = self
                .0
                .list_objects(
                    bucket,
                    &ListRequest {
                        prefix: prefix.to_string(),
                        delimiter: None,
                        start_after: marker.clone(),
                        max_keys: 1000,
                    },
                )
                .map_err(local_error)?;
            for o in &page.objects {
                if visit(&o.key).is_break() {
                    return Ok(());
                }
            }
            match (page.is_truncated, page.objects.last()) {
                (true, Some(last)) => marker = Some(last.key.clone()),
                _ => return Ok(()),
            }
        }
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        let o = self.0.get_object(bucket, key, None).map_err(local_error)?;
        Ok(Object {
            body: o.body,
            metadata: o.info.user,
        })
    }
}

/// Buckets on an S3 endpoint (Cairn's facade or any S3-compatible store), through object_store
/// on the runtime; worker threads wait for their requests.
struct RemoteStore {
    endpoint: S3Endpoint,
    handle: tokio::runtime::Handle,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl RemoteStore {
    fn new(endpoint: S3Endpoint, handle: tokio::runtime::Handle) -> RemoteStore {
        RemoteStore {
            endpoint,
            handle,
            stores: Mutex::new(HashMap::new()),
        }
    }

    fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, FetchError> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = stores.get(bucket) {
            return Ok(s.clone());
        }
        let s = self
            .endpoint
            .store(bucket)
            .map_err(|e| FetchError::Other(e.to_string()))?;
        stores.insert(bucket.to_string(), s.clone());
        Ok(s)
    }
}

fn remote_error(e: object_store::Error) -> FetchError {
    match e {
        object_store::Error::NotFound { .. } => FetchError::NotFound,
        other => FetchError::Other(other.to_string()),
    }
}

impl Store for RemoteStore {
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(), FetchError> {
        let store = self.store(bucket)?;
        // object_store lists whole folders: list the prefix's folder, keep the prefix's keys.
        let folder = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let folder = object_store::path::Path::from(folder);
        self.handle.block_on(async {
            let mut stream = match start_after {
                Some(s) => store.list_with_offset(Some(&folder), &object_store::path::Path::from(s)),
                None => store.list(Some(&folder)),
            };
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(remote_error)?;
                let key = meta.location.as_ref();
                if !key.starts_with(prefix) {
                    // Ascending: past the prefix's keys, nothing more to see.
                    if key > prefix {
                        break;
                    }
                    continue;
                }
                if visit(key).is_break() {
                    break;
                }
            }
            Ok(())
        })
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        let store = self.store(bucket)?;
        let path = object_store::path::Path::from(key);
        self.handle.block_on(async {
            let got = store
                .get_opts(&path, GetOptions::default())
                .await
                .map_err(remote_error)?;
            let metadata: BTreeMap<String, String> = got
                .attributes
                .iter()
                .filter_map(|(a, v)| match a {
                    Attribute::Metadata(name) => Some((name.to_ascii_lowercase(), v.to_string())),
                    _ => None,
                })
                .collect();
            let body = got.bytes().await.map_err(remote_error)?.to_vec();
            Ok(Object { body, metadata })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_times_and_base64() {
        assert_eq!(
            parse_arn("arn:aws:cloudtrail:us-east-2:111122223333:trail/main"),
            Some(("us-east-2".into(), "111122223333".into(), "main".into()))
        );
        for bad in [
            "arn:aws:cloudtrail:us-east-2:1111:trail/main",
            "arn:aws:s3:us-east-2:111122223333:trail/main",
            "arn:aws:cloudtrail:us-east-2:111122223333:trail/",
            "main",
        ] {
            assert_eq!(parse_arn(bad), None, "{bad}");
        }
        let now = 1_700_000_000;
        let t = |s: &str| time_arg(s, now).ok();
        assert_eq!(t("2023-11-14T22:13:20Z"), Some(now));
        assert_eq!(t("2023-11-14T22:13:20"), Some(now));
        assert_eq!(t("2023-11-14 22:13:20"), Some(now));
        // The aws CLI replaces an offset by UTC.
        assert_eq!(t("2023-11-14T22:13:20+02:00"), Some(now));
        assert_eq!(t("2023-11-14T22:13:20-0500"), Some(now));
        assert_eq!(t("2023-11-14"), Some(now - 22 * 3600 - 13 * 60 - 20));
        assert_eq!(t("2h"), Some(now - 7200));
        assert_eq!(t("yesterday-ish"), None);
        assert_eq!(base64_decode("TWFu"), Some(b"Man".to_vec()));
        assert_eq!(base64_decode("TWE="), Some(b"Ma".to_vec()));
        assert_eq!(base64_decode("T!"), None);
    }
}
