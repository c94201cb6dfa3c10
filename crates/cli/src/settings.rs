//! Settings: built-in defaults, then a TOML file (`--config`), then `CAIRN_*` environment
//! variables, then command-line flags; later sources win.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_log::{LogConfig, S3Location, SegmentLocation};
use cairn_server::auth::identity::{AccountConfig, OrganizationConfig};
use cairn_server::destinations::S3Endpoint;
use cairn_server::trails::delivery::DeliveryConfig;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting. The TOML key and the environment variable name are the same word
/// (`data_dir` / `CAIRN_DATA_DIR`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where Cairn keeps its WAL, catalog and (by default) segments.
    pub data_dir: PathBuf,
    /// Address of the HTTP listener.
    pub listen: String,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// tracing filter, e.g. `info` or `cairn_log=debug,info`.
    pub log_level: String,
    /// Event history retention measured from arrival (`90d`, `12h`, or `off`).
    pub retention: String,
    /// Flush the memtable to a segment past this much record JSON (`256MiB`).
    pub memtable_flush_size: String,
    /// ...or when its oldest event has waited this long (`60s`).
    pub memtable_flush_age: String,
    /// Start a new WAL file past this size (`128MiB`).
    pub wal_file_size: String,
    /// Refuse appends while this much waits to be flushed (`2GiB`).
    pub max_unflushed_size: String,
    /// Memory for lookup caches (matching rows and records read from segments).
    pub lookup_cache_size: String,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// zstd level of segments written by memtable flushes (fast; 1..=22).
    pub flush_zstd_level: i32,
    /// zstd level of segments rewritten by compaction (small; 1..=22).
    pub zstd_level: i32,
    /// Segments smaller than this are merged by compaction (`16MiB`).
    pub compaction_small_size: String,
    /// Compaction output size target (`64MiB`).
    pub compaction_target_size: String,
    /// How often retention and compaction run (`60s`).
    pub maintenance_interval: String,
    /// `local` (segments under data_dir/store) or `s3://bucket/prefix`.
    pub segment_store: String,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    pub s3_allow_http: bool,
    /// Where trail buckets live: `local` (under data_dir/buckets, served by the S3 facade) or `s3`
    /// (the `s3_*` endpoint and credentials).
    pub bucket_store: String,
    /// A trail's batch of events becomes log files this long after its first event (CloudTrail:
    /// about 5 minutes); as low as 1s.
    pub delivery_interval: String,
    /// ...or as soon as it holds this many bytes of records, uncompressed.
    pub delivery_max_batch_size: String,
    /// gzip level of log files (1 fastest, 9 smallest).
    pub delivery_gzip_level: u32,
    /// Longest pause between two attempts at a failing trail destination.
    pub delivery_max_backoff: String,
    /// A batch its destination refuses for this long is given up (CloudTrail: 30 days).
    pub delivery_retry_limit: String,
    /// A trail with log file validation writes a signed digest file this often per region (and
    /// account, for organization trails). CloudTrail: hourly.
    pub digest_interval: String,
    /// How long a digest signing key signs before a new one takes over (older keys stay listed
    /// by ListPublicKeys for the digests they signed).
    pub signing_key_rotation: String,
    /// An RSA private key of your own (PEM or DER, mode 0600) that signs every region's digests
    /// instead of keys Cairn makes and rotates; replace the file to rotate (keys it replaced stay
    /// listed by ListPublicKeys).
    pub signing_key_file: Option<PathBuf>,
    /// Insights: the baseline an API's rate is compared with (CloudTrail: the 7 days before);
    /// whole hours, at least 1h.
    pub insights_baseline: String,
    /// Insights: how often accounts and regions that saw no new event move on by the wall clock
    /// (ending their insights); longer than the pauses of an import.
    pub insights_idle: String,
    /// How long a web console sign-in lasts (`12h`).
    pub console_session_ttl: String,
    /// CloudTrail's quota of trails per account and region.
    pub max_trails_per_region: usize,
    /// LookupEvents calls per second per account and region; 0 = no limit (CloudTrail allows 2).
    pub lookup_rate_limit: f64,
    /// PEM certificate chain and private key; with both, the listener speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Account of the root user made from `root_access_key_id` (and of the bootstrap credentials).
    #[serde(deserialize_with = "text")]
    pub default_account_id: Option<String>,
    /// A root user from the environment (`CAIRN_ROOT_ACCESS_KEY_ID`, `CAIRN_ROOT_SECRET_ACCESS_KEY`).
    #[serde(deserialize_with = "text")]
    pub root_access_key_id: Option<String>,
    #[serde(deserialize_with = "text")]
    pub root_secret_access_key: Option<String>,
    /// Accounts, their root keys, IAM users and policies (`[[accounts]]` tables).
    pub accounts: Vec<AccountConfig>,
    /// An optional organization (`[organization]`).
    pub organization: Option<OrganizationConfig>,
}

/// Settings are printed by `--help`-adjacent diagnostics; secrets never are.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        redact(&mut v);
        write!(f, "{v}")
    }
}

fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if (k.contains("secret") || k == "secret") && !v.is_null() {
                    *v = serde_json::Value::String("<redacted>".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./cairn-data"),
            listen: "127.0.0.1:7401".into(),
            log_format: "text".into(),
            log_level: "info".into(),
            retention: "90d".into(),
            memtable_flush_size: "256MiB".into(),
            memtable_flush_age: "60s".into(),
            wal_file_size: "128MiB".into(),
            max_unflushed_size: "2GiB".into(),
            lookup_cache_size: "256MiB".into(),
            row_group_rows: 8 * 1024,
            flush_zstd_level: 1,
            zstd_level: 9,
            compaction_small_size: "16MiB".into(),
            compaction_target_size: "64MiB".into(),
            maintenance_interval: "60s".into(),
            segment_store: "local".into(),
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            bucket_store: "local".into(),
            delivery_interval: "5m".into(),
            delivery_max_batch_size: "32MiB".into(),
            delivery_gzip_level: 6,
            delivery_max_backoff: "5m".into(),
            delivery_retry_limit: "30d".into(),
            digest_interval: "1h".into(),
            signing_key_rotation: "30d".into(),
            signing_key_file: None,
            insights_baseline: "7d".into(),
            insights_idle: "10s".into(),
            console_session_ttl: "12h".into(),
            max_trails_per_region: 5,
            lookup_rate_limit: 0.0,
            tls_cert: None,
            tls_key: None,
            default_account_id: None,
            root_access_key_id: None,
            root_secret_access_key: None,
            accounts: Vec::new(),
            organization: None,
        }
    }
}

impl Settings {
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig.merge(Env::prefixed("CAIRN_").filter(|k| Settings::is_key(k.as_str())));
        let s: Settings = fig.extract().context("invalid configuration")?;
        s.log_config().context("invalid configuration")?;
        s.delivery_config().context("invalid configuration")?;
        s.signing_key_rotation().context("invalid configuration")?;
        Ok(s)
    }

    /// True for environment keys that are settings (so unrelated `CAIRN_*` variables are ignored).
    fn is_key(k: &str) -> bool {
        let defaults = serde_json::to_value(Settings::default()).expect("settings serialize");
        defaults
            .as_object()
            .is_some_and(|o| o.contains_key(&k.to_ascii_lowercase()))
    }

    pub fn log_config(&self) -> anyhow::Result<LogConfig> {
        let retention = match self.retention.trim() {
            "off" | "none" | "0" => None,
            other => Some(duration("retention", other)?),
        };
        Ok(LogConfig {
            wal_file_bytes: size("wal_file_size", &self.wal_file_size)?,
            memtable_flush_bytes: size("memtable_flush_size", &self.memtable_flush_size)? as usize,
            memtable_flush_age: duration("memtable_flush_age", &self.memtable_flush_age)?,
            max_unflushed_bytes: size("max_unflushed_size", &self.max_unflushed_size)? as usize,
            lookup_cache_bytes: size("lookup_cache_size", &self.lookup_cache_size)? as usize,
            row_group_rows: if self.row_group_rows == 0 {
                bail!("row_group_rows must be at least 1")
            } else {
                self.row_group_rows
            },
            flush_zstd_level: zstd("flush_zstd_level", self.flush_zstd_level)?,
            zstd_level: zstd("zstd_level", self.zstd_level)?,
            retention,
            compaction_small_bytes: size("compaction_small_size", &self.compaction_small_size)?,
            compaction_target_bytes: size("compaction_target_size", &self.compaction_target_size)?,
            maintenance_interval: duration("maintenance_interval", &self.maintenance_interval)?,
            segments: self.segment_location()?,
            ..LogConfig::default()
        })
    }

    pub fn signing_key_rotation(&self) -> anyhow::Result<Duration> {
        let d = duration("signing_key_rotation", &self.signing_key_rotation)?;
        if d < Duration::from_secs(2) {
            bail!("signing_key_rotation must be at least 2s");
        }
        Ok(d)
    }

    pub fn insights_config(&self) -> anyhow::Result<cairn_server::insights::InsightsConfig> {
        let baseline = duration("insights_baseline", &self.insights_baseline)?;
        if baseline < Duration::from_secs(3600) || baseline.as_secs() % 3600 != 0 {
            bail!("insights_baseline must be whole hours, at least 1h");
        }
        let detector = cairn_insights::DetectorConfig {
            baseline_minutes: (baseline.as_secs() / 60) as u32,
            ..cairn_insights::DetectorConfig::default()
        };
        detector.validate().map_err(|e| anyhow::anyhow!("insights: {}", e.0))?;
        Ok(cairn_server::insights::InsightsConfig {
            detector,
            idle: duration("insights_idle", &self.insights_idle)?.max(Duration::from_secs(1)),
        })
    }

    /// How long a console sign-in lasts: at least a minute.
    pub fn console_session_ttl(&self) -> anyhow::Result<Duration> {
        let d = duration("console_session_ttl", &self.console_session_ttl)?;
        if d < Duration::from_secs(60) {
            bail!("console_session_ttl must be at least 1m");
        }
        Ok(d)
    }

    pub fn digest_interval(&self) -> anyhow::Result<Duration> {
        let d = duration("digest_interval", &self.digest_interval)?;
        if d < Duration::from_secs(1) {
            bail!("digest_interval must be at least 1s");
        }
        Ok(d)
    }

    pub fn delivery_config(&self) -> anyhow::Result<DeliveryConfig> {
        let interval = duration("delivery_interval", &self.delivery_interval)?;
        if interval < Duration::from_secs(1) {
            bail!("delivery_interval must be at least 1s");
        }
        if !(1..=9).contains(&self.delivery_gzip_level) {
            bail!("delivery_gzip_level must be 1 to 9");
        }
        let max_batch_bytes = size("delivery_max_batch_size", &self.delivery_max_batch_size)?;
        if !(1024..=1 << 30).contains(&max_batch_bytes) {
            bail!("delivery_max_batch_size must be between 1KiB and 1GiB");
        }
        Ok(DeliveryConfig {
            interval,
            max_batch_bytes: max_batch_bytes as usize,
            gzip_level: self.delivery_gzip_level,
            max_backoff: duration("delivery_max_backoff", &self.delivery_max_backoff)?.max(Duration::from_millis(100)),
            retry_limit: duration("delivery_retry_limit", &self.delivery_retry_limit)?,
            digest_interval: self.digest_interval()?,
        })
    }

    /// The external S3 endpoint of the `s3_*` settings.
    pub fn s3_endpoint(&self) -> S3Endpoint {
        S3Endpoint {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            allow_http: self.s3_allow_http,
        }
    }

    fn segment_location(&self) -> anyhow::Result<SegmentLocation> {
        let s = self.segment_store.trim();
        if s == "local" {
            return Ok(SegmentLocation::Local);
        }
        let Some(rest) = s.strip_prefix("s3://") else {
            bail!("segment_store must be \"local\" or s3://bucket/prefix, not {s:?}");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("segment_store {s:?} names no bucket");
        }
        Ok(SegmentLocation::S3(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            allow_http: self.s3_allow_http,
        }))
    }
}

/// Environment values that look like numbers (an account id) reach serde as numbers; these
/// settings are text whatever they look like.
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        S(String),
        U(u64),
        I(i64),
    }
    Ok(Option::<Text>::deserialize(d)?.map(|t| match t {
        Text::S(s) => s,
        Text::U(n) => n.to_string(),
        Text::I(n) => n.to_string(),
    }))
}

fn zstd(key: &str, level: i32) -> anyhow::Result<i32> {
    if !(1..=22).contains(&level) {
        bail!("{key} = {level}: zstd levels go from 1 to 22");
    }
    Ok(level)
}

fn duration(key: &str, v: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(v.trim())
        .with_context(|| format!("{key} = {v:?} is not a duration such as 90d, 60s or 500ms"))
}

/// `1024`, `64KiB`, `256MiB`, `2GiB`, `10MB` (decimal units are powers of 1000).
pub fn size(key: &str, v: &str) -> anyhow::Result<u64> {
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .with_context(|| format!("{key} = {v:?} is not a size such as 256MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1 << 20,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1 << 30,
        other => bail!("{key} = {v:?}: unknown size unit {other:?}"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("{key} = {v:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(size("k", "256MiB").unwrap(), 256 << 20);
        assert_eq!(size("k", "10MB").unwrap(), 10_000_000);
        assert_eq!(size("k", "4096").unwrap(), 4096);
        assert!(size("k", "lots").is_err());
        assert!(size("k", "5 parsecs").is_err());
        assert_eq!(duration("d", "90d").unwrap(), Duration::from_secs(90 * 86400));
        let mut s = Settings {
            retention: "off".into(),
            ..Settings::default()
        };
        assert_eq!(s.log_config().unwrap().retention, None);
        s.segment_store = "s3://bucket/some/prefix/".into();
        match s.log_config().unwrap().segments {
            SegmentLocation::S3(l) => assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("bucket", "some/prefix")),
            other => panic!("{other:?}"),
        }
        s.segment_store = "ftp://x".into();
        assert!(s.log_config().is_err());
    }

    #[test]
    fn the_readme_identity_example_is_valid() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n[[accounts]]")
            .expect("the README shows an identity config")
            + 8;
        let toml = &readme[start..start + readme[start..].find("```").unwrap()];
        let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(toml))
            .extract()
            .unwrap();
        assert_eq!(s.accounts.len(), 2);
        let dir = cairn_server::auth::identity::Directory::build(&s.accounts, s.organization.as_ref()).unwrap();
        let ops = dir.principal("AKIAPLATFORMOPS00001").unwrap();
        use cairn_server::auth::policy::Decision;
        assert_eq!(
            ops.authorize(
                "cloudtrail:DeleteTrail",
                "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"
            ),
            Decision::ExplicitDeny
        );
        let auditor = dir.principal("AKIAPLATFORMAUDIT001").unwrap();
        assert_eq!(auditor.authorize("cloudtrail:CreateTrail", "*"), Decision::ImplicitDeny);
        assert_eq!(auditor.authorize("cloudtrail:DescribeTrails", "*"), Decision::Allow);
        // Secrets never show in Debug output.
        assert!(!format!("{s:?}").contains("change-me"));
    }
}
