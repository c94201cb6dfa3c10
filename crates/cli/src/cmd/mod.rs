pub mod bench;
pub mod bench_api;
pub mod bench_delivery;
pub mod bench_history;
pub mod bench_import;
pub mod bench_insights;
pub mod bench_validate;
pub mod dump;
pub mod import;
mod import_remote;
pub mod lookup;
pub mod serve;
pub mod test_put_object;
pub mod test_writer;
pub mod validate_logs;
pub mod verify;

use anyhow::{Context, bail};

/// Installs the tracing subscriber: text or JSON lines on stderr, filtered by `RUST_LOG` or the
/// log_level setting.
pub fn init_tracing(settings: &crate::settings::Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Credentials of commands that talk to a running server: the AWS_* variables, else the bootstrap
/// root credentials of the data directory.
pub fn credentials(settings: &crate::settings::Settings) -> anyhow::Result<(String, String)> {
    if let (Ok(k), Ok(s)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok((k, s));
    }
    let path = settings.data_dir.join("root-credentials.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (no {} either)",
            path.display()
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    match (v["access_key_id"].as_str(), v["secret_access_key"].as_str()) {
        (Some(k), Some(s)) => Ok((k.to_string(), s.to_string())),
        _ => bail!("{} holds no credentials", path.display()),
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cairn")
        .build()?)
}
