//! Console sessions: a random token in an HttpOnly cookie names a signed-in access key for a
//! limited time. Sessions live in memory only (a restart signs everyone out), and the table keeps
//! the token's SHA-256, so neither a heap dump nor a timing difference in the map gives a usable
//! cookie away.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const COOKIE: &str = "cairn_session";
/// Name of the cookie holding the session's CSRF token. Script-readable on purpose (double
/// submit): the page sends it back in a header, which a page of another site cannot read or set.
/// It lets the page send its first request without asking for the session first.
pub const CSRF_COOKIE: &str = "cairn_csrf";
/// Sessions one access key may hold at once; the oldest is signed out past this.
const MAX_SESSIONS_PER_KEY: usize = 32;
/// Failed sign-ins one address may make within [`FAILURE_WINDOW`] before it is refused for the
/// rest of the window: enough for typing mistakes, far too few to guess a 40-character secret.
const MAX_FAILURES: usize = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(300);

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_key_id: String,
    /// Sent back as `X-Cairn-Csrf` by every request that acts (double-submit: a page of another
    /// site can neither read it nor set the header).
    pub csrf: String,
    pub expires: Instant,
    created: Instant,
}

/// Every open session, and recent sign-in failures per address.
pub struct Sessions {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_hash: HashMap<[u8; 32], Session>,
    failures: HashMap<IpAddr, Vec<Instant>>,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session for `access_key_id`; returns its token (the cookie's value).
    pub fn open(&self, access_key_id: &str) -> (String, Session) {
        let now = Instant::now();
        let token = random_token();
        let session = Session {
            access_key_id: access_key_id.to_string(),
            csrf: random_token(),
            expires: now + self.ttl,
            created: now,
        };
        let mut inner = self.inner.lock();
        inner.by_hash.retain(|_, s| s.expires > now);
        let mut mine: Vec<([u8; 32], Instant)> = inner
            .by_hash
            .iter()
            .filter(|(_, s)| s.access_key_id == access_key_id)
            .map(|(h, s)| (*h, s.created))
            .collect();
        if mine.len() >= MAX_SESSIONS_PER_KEY {
            mine.sort_by_key(|(_, created)| *created);
            for (h, _) in &mine[..=mine.len() - MAX_SESSIONS_PER_KEY] {
                inner.by_hash.remove(h);
            }
        }
        inner.by_hash.insert(hash(&token), session.clone());
        metrics::gauge!("cairn_console_sessions").set(inner.by_hash.len() as f64);
        (token, session)
    }

    /// The live session a cookie names.
    pub fn get(&self, token: &str) -> Option<Session> {
        let h = hash(token);
        let mut inner = self.inner.lock();
        match inner.by_hash.get(&h) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                inner.by_hash.remove(&h);
                None
            }
            None => None,
        }
    }

    /// Signs a session out.
    pub fn close(&self, token: &str) {
        let mut inner = self.inner.lock();
        inner.by_hash.remove(&hash(token));
        metrics::gauge!("cairn_console_sessions").set(inner.by_hash.len() as f64);
    }

    /// Whether `ip` may try to sign in now.
    pub fn may_try(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        let Some(list) = inner.failures.get_mut(&ip) else {
            return true;
        };
        list.retain(|t| now.duration_since(*t) < FAILURE_WINDOW);
        list.len() < MAX_FAILURES
    }

    /// Remembers a failed sign-in from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        // Bounded: addresses whose failures are all old are forgotten.
        inner
            .failures
            .retain(|_, l| l.last().is_some_and(|t| now.duration_since(*t) < FAILURE_WINDOW));
        inner.failures.entry(ip).or_default().push(now);
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_expire_and_close() {
        let s = Sessions::new(Duration::from_millis(200));
        let (token, session) = s.open("AKIA1");
        assert_eq!(s.get(&token).unwrap().csrf, session.csrf);
        assert!(s.get("nope").is_none());
        assert_ne!(token, session.csrf);
        s.close(&token);
        assert!(s.get(&token).is_none());
        let (token, _) = s.open("AKIA1");
        std::thread::sleep(Duration::from_millis(250));
        assert!(s.get(&token).is_none(), "an expired session is refused");
    }

    #[test]
    fn one_key_holds_a_bounded_number_of_sessions() {
        let s = Sessions::new(Duration::from_secs(60));
        let first = s.open("AKIA1").0;
        let tokens: Vec<String> = (0..MAX_SESSIONS_PER_KEY).map(|_| s.open("AKIA1").0).collect();
        assert!(s.get(&first).is_none(), "the oldest session was signed out");
        assert!(tokens.iter().all(|t| s.get(t).is_some()));
        assert!(s.get(&s.open("AKIA2").0).is_some());
    }

    #[test]
    fn repeated_failures_are_throttled_per_address() {
        let s = Sessions::new(Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(s.may_try(a));
            s.failed(a);
        }
        assert!(!s.may_try(a));
        assert!(s.may_try(b));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; cairn_session_x=2; cairn_session=abc; z=";
        assert_eq!(cookie(h, COOKIE), Some("abc"));
        assert_eq!(cookie(h, "z"), Some(""));
        assert_eq!(cookie(h, "missing"), None);
    }
}
