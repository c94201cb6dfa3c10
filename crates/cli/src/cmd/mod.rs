pub mod bench;
pub mod bench_api;
pub mod bench_history;
pub mod bench_import;
pub mod dump;
pub mod import;
pub mod lookup;
pub mod serve;
pub mod test_put_object;
pub mod test_writer;
pub mod verify;

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

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cairn")
        .build()?)
}
