//! One error type for the event log, with a matchable [`ErrorKind`] so callers (the API server, the
//! CLI) can map failures to protocol errors without parsing messages.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarsely, for callers that must decide what to tell a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is unacceptable (bad record, too large a batch).
    InvalidInput,
    /// Storage failed (disk full, unwritable directory, object store unreachable).
    Storage,
    /// Stored data failed its checksum or could not be decoded.
    Corruption,
    /// The log is closed or its writer stopped after an unrecoverable error.
    Unavailable,
    /// Writers must slow down: flushing is behind.
    Overloaded,
    /// A name or position that does not exist.
    NotFound,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid record: {0}")]
    InvalidRecord(#[from] cairn_model::RecordError),

    #[error("{0}")]
    InvalidInput(String),

    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("data directory {path} is not usable: {reason}")]
    DataDir { path: PathBuf, reason: String },

    #[error("corrupt data in {path}: {detail}")]
    Corrupt { path: String, detail: String },

    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),

    #[error("segment encoding: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    #[error("segment encoding: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),

    #[error("catalog: {0}")]
    Catalog(String),

    #[error("the event log is unavailable: {0}")]
    Unavailable(String),

    #[error("the event log is overloaded: {0}")]
    Overloaded(String),

    #[error("not found: {0}")]
    NotFound(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidRecord(_) | Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Io { .. } | Error::DataDir { .. } | Error::ObjectStore(_) | Error::Catalog(_) => ErrorKind::Storage,
            Error::Corrupt { .. } | Error::Parquet(_) | Error::Arrow(_) => ErrorKind::Corruption,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Overloaded(_) => ErrorKind::Overloaded,
            Error::NotFound(_) => ErrorKind::NotFound,
        }
    }

    pub(crate) fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            context,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl std::fmt::Display, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.to_string(),
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Catalog(e.to_string())
    }
}
