//! Online ingest: a trusted forwarder pushes complete CloudTrail records to a running server
//! (`POST /IngestEvents`). A body goes through the same path as an imported file ([`import::parse`]
//! and [`import::commit`]): it is identified by the SHA-256 of its decompressed content, its
//! progress is in the catalog before its batch is appended, and the batch is atomic in the WAL, so
//! a retried body adds nothing and is answered with the same counts, as duplicates.
//!
//! A body holds at most one import batch (10,000 records, 16 MiB of records), so each request is
//! all or nothing in the log.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use cairn_log::EventLog;

use super::import::{self, ImportSummary, Rejection};
use super::source::{self, DecodeError};
use crate::auth::identity::{Organization, Principal};

/// Cap on a body's decompressed size: no zip bombs. Four times what one batch of records may
/// hold, for pretty-printed input.
pub const MAX_DECODED_BYTES: u64 = 64 << 20;

/// Whose records a caller may ingest: its own account's, and the member accounts' when the caller
/// is in the organization's management account.
#[derive(Debug, Clone)]
pub struct Admission {
    caller_arn: String,
    account: String,
    members: Vec<String>,
}

impl Admission {
    pub fn new(principal: &Principal, organization: Option<&Organization>) -> Admission {
        let members = organization
            .filter(|o| o.management_account == principal.account_id)
            .map(|o| o.member_accounts.clone())
            .unwrap_or_default();
        Admission {
            caller_arn: principal.arn.clone(),
            account: principal.account_id.clone(),
            members,
        }
    }

    pub fn check(&self, account: &str) -> Result<(), String> {
        if account == self.account || self.members.iter().any(|m| m == account) {
            return Ok(());
        }
        let may = if self.members.is_empty() {
            format!("account {} only", self.account)
        } else {
            format!("account {} and its organization's member accounts only", self.account)
        };
        Err(format!(
            "the record belongs to account {account}; {} may ingest records of {may}",
            self.caller_arn
        ))
    }
}

/// Why a body was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Log(#[from] cairn_log::Error),
}

/// The outcome of one body.
#[derive(Debug)]
pub struct Ingested {
    /// Hex SHA-256 of the decompressed body.
    pub batch_id: String,
    /// Records in the body, valid or not.
    pub records: usize,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: Vec<Rejection>,
}

/// Decodes, checks and commits one body (`raw` as received, gzip or not). `name` is what the
/// catalog remembers the body by.
pub async fn ingest(log: &EventLog, name: String, raw: Vec<u8>, admission: Admission) -> Result<Ingested, IngestError> {
    let (parsed, batch_id, records) = tokio::task::spawn_blocking(move || prepare(&name, raw, &admission))
        .await
        .map_err(|e| cairn_log::Error::Unavailable(format!("ingest task failed: {e}")))??;
    // The same body twice at once (a forwarder retrying after a timeout while its first attempt
    // is still being appended) must not append twice: the catalog check and the append are one
    // critical section per body.
    let _slot = Slot::hold(&parsed.digest).await;
    let mut summary = ImportSummary::default();
    import::commit(log, parsed, &mut summary).await?;
    Ok(Ingested {
        batch_id,
        records,
        accepted: summary.events_added,
        duplicates: summary.duplicates_skipped,
        rejected: summary.rejected,
    })
}

/// CPU work: gunzip, hash, split and validate.
fn prepare(
    name: &str,
    raw: Vec<u8>,
    admission: &Admission,
) -> Result<(import::ParsedFile, String, usize), IngestError> {
    let content = source::decode_at_most(raw, MAX_DECODED_BYTES).map_err(|e| match e {
        DecodeError::TooLarge(_) => IngestError::TooLarge(format!(
            "The request body decompresses to more than {MAX_DECODED_BYTES} bytes."
        )),
        DecodeError::Invalid(_) => IngestError::Malformed(format!("The request body is not valid: {e}")),
    })?;
    let batch_id = import::digest(&content);
    let mut refused = BTreeSet::new();
    let mut parsed = import::parse(name, &content, batch_id.clone(), |r| {
        let account = &r.index().account_id;
        admission.check(account).inspect_err(|_| {
            refused.insert(account.clone());
        })
    })
    .map_err(|r| IngestError::Malformed(format!("The request body is not valid: {}", r.reason)))?;
    let records = parsed.events as usize + parsed.in_file_duplicates as usize + parsed.rejected.len();
    if records > import::BATCH_EVENTS || parsed.batches.len() > 1 {
        return Err(IngestError::TooLarge(format!(
            "The request holds {records} records; IngestEvents accepts at most {} records and {} bytes of records per request.",
            import::BATCH_EVENTS,
            import::BATCH_BYTES
        )));
    }
    // What is stored of a body depends on whose records the caller may ingest; a caller with other
    // rights sending the same body must not be told its records are in already.
    if !refused.is_empty() {
        let accounts: Vec<&str> = refused.iter().map(String::as_str).collect();
        parsed.digest = format!("{batch_id}-{}", &import::digest(accounts.join(",").as_bytes())[..16]);
    }
    Ok((parsed, batch_id, records))
}

type Slots = parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Bodies being committed, by catalog key.
static IN_FLIGHT: LazyLock<Slots> = LazyLock::new(Default::default);

/// Exclusive hold on one catalog key while its body is committed.
struct Slot {
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Slot {
    async fn hold(key: &str) -> Slot {
        let lock = IN_FLIGHT.lock().entry(key.to_string()).or_default().clone();
        Slot {
            key: key.to_string(),
            guard: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut slots = IN_FLIGHT.lock();
        self.guard.take();
        // Waiters clone the lock under the map's lock, so the count is exact here.
        if slots.get(&self.key).is_some_and(|l| Arc::strong_count(l) == 1) {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(account: &str, members: &[&str]) -> Admission {
        Admission {
            caller_arn: format!("arn:aws:iam::{account}:root"),
            account: account.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn own_and_member_accounts_only() {
        let member = admission("222222222222", &[]);
        assert!(member.check("222222222222").is_ok());
        let e = member.check("111111111111").unwrap_err();
        assert!(
            e.contains("111111111111") && e.contains("account 222222222222 only"),
            "{e}"
        );
        let management = admission("111111111111", &["222222222222"]);
        assert!(management.check("222222222222").is_ok());
        assert!(management.check("333333333333").is_err());
    }

    #[test]
    fn a_zip_bomb_is_refused_without_inflating_it() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..(MAX_DECODED_BYTES >> 20) + 8 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        let Err(e) = prepare("b", bomb, &admission("222222222222", &[])) else {
            panic!("a zip bomb was accepted");
        };
        assert!(matches!(e, IngestError::TooLarge(_)), "{e}");
    }
}
