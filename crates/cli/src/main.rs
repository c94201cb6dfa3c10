//! `cairn`: the Cairn server and its tools.
#![forbid(unsafe_code)]

mod cmd;
mod settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Cairn: a self-hosted audit trail that speaks AWS CloudTrail.

Every API call becomes an event record. Cairn keeps them in a durable event log, answers \
\"who did what, when, from where\" over the event history, and (as the project grows) delivers \
trails of CloudTrail log files with signed digests to S3-compatible storage.";

const AFTER_HELP: &str = "Settings come from built-in defaults, then the TOML file given with --config, then \
CAIRN_* environment variables (CAIRN_DATA_DIR, CAIRN_LISTEN, CAIRN_RETENTION, ...), then flags.

Examples:
  cairn serve                                  run with data in ./cairn-data on 127.0.0.1:7401
  cairn serve --listen 0.0.0.0:7401 --data-dir /var/lib/cairn
  CAIRN_RETENTION=30d cairn serve --config /etc/cairn.toml
  cairn verify --data-dir /var/lib/cairn       check every WAL file and segment
  cairn lookup --lookup-attribute EventName=CreateTrail --start-time 24h --output csv
  cairn validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \
      --start-time 24h --verbose                 check a trail's log files against its digests
  cairn bench --quick                          measure this machine in about a minute";

#[derive(Parser)]
#[command(name = "cairn", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    /// TOML settings file (keys as in the README's configuration reference).
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Data directory: WAL, catalog and local segments [default: ./cairn-data].
    #[arg(short, long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Cairn server: opens the data directory, replays the WAL, serves HTTP.
    ///
    /// GET /health answers 503 while the event log opens and 200 once events can be taken;
    /// GET /metrics is in Prometheus format. Stop with Ctrl-C or SIGTERM: queued appends
    /// finish and the memtable is flushed before exit.
    Serve(cmd::serve::Args),
    /// Check every WAL frame and every segment of a data directory (no server needed).
    ///
    /// Exits 0 when everything verifies, 1 when damage is found (each problem names its file).
    Verify(cmd::verify::Args),
    /// Import CloudTrail log files (.json, .json.gz, NDJSON, directories, s3://bucket/prefix)
    /// into the event log of the data directory; stop the server first.
    ///
    /// Records are stored unchanged under their own recipientAccountId. Importing the same files
    /// again adds nothing; an interrupted import resumes where it stopped. Exits 1 when records
    /// were rejected (each is listed with its reason).
    Import(cmd::import::Args),
    /// Look up the event history of a running server, as a table, JSON or CSV.
    ///
    /// A table pages through LookupEvents; JSON (NDJSON, records as stored) and CSV are one
    /// streamed export (GET /export/events), to standard output or --out FILE. Credentials come
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else from the data directory's bootstrap
    /// credentials. Every event is returned unless --max-items stops them.
    Lookup(cmd::lookup::Args),
    /// Validate a trail's log files against its signed digest files, like `aws cloudtrail
    /// validate-logs` (same flags, output and exit codes), in parallel.
    ///
    /// Walks the digest chain newest to oldest, checks each digest's signature against the
    /// region's public keys and each log file's SHA-256, and prints the aws CLI's report: problems
    /// on standard error (`Digest file|Log file <TAB> s3://bucket/key <TAB> INVALID: reason`),
    /// valid files on standard output with --verbose, then a summary. --strict adds checks the aws
    /// CLI lacks (every missing digest, broken links, deleted newest digests, log files no digest
    /// lists). Through a running server with --endpoint-url, or straight from the data directory
    /// (no server needed). Exits 0 when everything is valid, 1 when anything is invalid or
    /// missing, 255 for a bad request (ARN, times, unknown trail, no public keys), 254 when the
    /// files cannot be read.
    ValidateLogs(cmd::validate_logs::Args),
    /// Print every stored event in arrival order as JSON lines (no server needed; stop the server
    /// first, since it holds the data directory's lock).
    Dump(cmd::dump::Args),
    /// Measure durable ingest, append latency, compression, lookups and recovery on this machine.
    ///
    /// Writes into a fresh temporary directory (or --work-dir) and prints a table of figures.
    /// The full run stores 10 million events (about 10 GB of JSON, 1.5 GB on disk) and takes
    /// several minutes; --quick scales everything down.
    Bench(cmd::bench::Args),
    /// Internal: append under load and print acknowledgements (used by the crash tests).
    #[command(hide = true)]
    TestWriter(cmd::test_writer::Args),
    /// Internal: place a bucket or object in the local bucket store (used by end-to-end tests).
    #[command(hide = true)]
    TestPutObject(cmd::test_put_object::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = (|| {
        let mut settings = settings::Settings::load(cli.config.as_deref())?;
        if let Some(d) = cli.data_dir {
            settings.data_dir = d;
        }
        match cli.command {
            Command::Serve(args) => cmd::serve::run(settings, args),
            Command::Verify(args) => cmd::verify::run(settings, args),
            Command::Bench(args) => cmd::bench::run(settings, args),
            Command::Dump(args) => cmd::dump::run(settings, args),
            Command::Lookup(args) => cmd::lookup::run(settings, args),
            Command::Import(args) => cmd::import::run(settings, args),
            Command::ValidateLogs(args) => cmd::validate_logs::run(settings, args),
            Command::TestWriter(args) => cmd::test_writer::run(settings, args),
            Command::TestPutObject(args) => cmd::test_put_object::run(settings, args),
        }
    })();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
