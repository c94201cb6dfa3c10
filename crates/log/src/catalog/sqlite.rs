//! The embedded catalog: one SQLite file in the data directory (WAL journal, synchronous=FULL, so
//! a committed transaction survives a power cut).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{Catalog, Cursor};
use crate::Seq;
use crate::error::{Error, Result};
use crate::segment::SegmentMeta;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS segments (
        id TEXT PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        min_event_time INTEGER NOT NULL,
        max_event_time INTEGER NOT NULL,
        min_seq INTEGER NOT NULL,
        max_seq INTEGER NOT NULL,
        max_ingest_time INTEGER NOT NULL,
        row_count INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        raw_bytes INTEGER NOT NULL,
        checksum INTEGER NOT NULL,
        level INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS segments_partition ON segments (account_id, region, max_event_time)",
    "CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_ms INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS documents (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key))",
];

const FLUSHED_SEQ: &str = "flushed_seq";

#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    pool: SqlitePool,
}

fn now_ms() -> i64 {
    cairn_model::EventTime::now().millis()
}

impl SqliteCatalog {
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| Error::Catalog(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| Error::Catalog(format!("opening {}: {e}", path.display())))?;
        for stmt in SCHEMA {
            sqlx::query(sqlx::AssertSqlSafe(*stmt)).execute(&pool).await?;
        }
        Ok(SqliteCatalog { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn row_to_meta(r: &sqlx::sqlite::SqliteRow) -> SegmentMeta {
    SegmentMeta {
        id: r.get("id"),
        path: r.get("path"),
        account_id: r.get("account_id"),
        region: r.get("region"),
        min_event_time: r.get("min_event_time"),
        max_event_time: r.get("max_event_time"),
        min_seq: r.get::<i64, _>("min_seq") as Seq,
        max_seq: r.get::<i64, _>("max_seq") as Seq,
        max_ingest_time: r.get("max_ingest_time"),
        row_count: r.get::<i64, _>("row_count") as u64,
        size_bytes: r.get::<i64, _>("size_bytes") as u64,
        raw_bytes: r.get::<i64, _>("raw_bytes") as u64,
        checksum: r.get::<i64, _>("checksum") as u32,
        level: r.get::<i64, _>("level") as u32,
    }
}

async fn insert_segment(tx: &mut sqlx::SqliteConnection, m: &SegmentMeta) -> Result<()> {
    sqlx::query(
        "INSERT INTO segments (id, path, account_id, region, min_event_time, max_event_time, min_seq, max_seq,
            max_ingest_time, row_count, size_bytes, raw_bytes, checksum, level)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&m.id)
    .bind(&m.path)
    .bind(&m.account_id)
    .bind(&m.region)
    .bind(m.min_event_time)
    .bind(m.max_event_time)
    .bind(m.min_seq as i64)
    .bind(m.max_seq as i64)
    .bind(m.max_ingest_time)
    .bind(m.row_count as i64)
    .bind(m.size_bytes as i64)
    .bind(m.raw_bytes as i64)
    .bind(i64::from(m.checksum))
    .bind(i64::from(m.level))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn segments(&self) -> Result<Vec<SegmentMeta>> {
        let rows = sqlx::query("SELECT * FROM segments ORDER BY min_seq")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row_to_meta).collect())
    }

    async fn commit_flush(&self, added: &[SegmentMeta], flushed_seq: Seq) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for m in added {
            insert_segment(&mut tx, m).await?;
        }
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(FLUSHED_SEQ)
        .bind(flushed_seq.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_segments(&self, removed: &[String], added: &[SegmentMeta]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for id in removed {
            sqlx::query("DELETE FROM segments WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for m in added {
            insert_segment(&mut tx, m).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn flushed_seq(&self) -> Result<Seq> {
        Ok(self
            .get_meta(FLUSHED_SEQ)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    async fn cursors(&self) -> Result<Vec<Cursor>> {
        let rows = sqlx::query("SELECT name, seq, updated_ms FROM cursors ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Cursor {
                name: r.get("name"),
                seq: r.get::<i64, _>("seq") as Seq,
                updated_ms: r.get("updated_ms"),
            })
            .collect())
    }

    async fn set_cursor(&self, name: &str, seq: Seq) -> Result<()> {
        sqlx::query(
            "INSERT INTO cursors (name, seq, updated_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms",
        )
        .bind(name)
        .bind(seq as i64)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn ensure_cursor(&self, name: &str, seq: Seq) -> Result<Seq> {
        sqlx::query("INSERT INTO cursors (name, seq, updated_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(seq as i64)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT seq FROM cursors WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<i64, _>("seq") as Seq)
    }

    async fn delete_cursor(&self, name: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM cursors WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("value")))
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_document(&self, kind: &str, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM documents WHERE kind = $1 AND key = $2")
            .bind(kind)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("value")))
    }

    async fn documents(&self, kind: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT key, value FROM documents WHERE kind = $1 ORDER BY key")
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get("key"), r.get("value"))).collect())
    }

    async fn put_document(&self, kind: &str, key: &str, json: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO documents (kind, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
        )
        .bind(kind)
        .bind(key)
        .bind(json)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_document(&self, kind: &str, key: &str, json: &str) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO documents (kind, key, value) VALUES ($1, $2, $3) ON CONFLICT (kind, key) DO NOTHING",
        )
        .bind(kind)
        .bind(key)
        .bind(json)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_document(&self, kind: &str, key: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM documents WHERE kind = $1 AND key = $2")
            .bind(kind)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
