//! NextTokens: a scan position sealed with an HMAC over the position and the request's
//! parameters, so a token cannot be forged, altered, or reused with other parameters (or by
//! another account).

use std::path::Path;

use cairn_log::scan::ScanPosition;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;

/// Seals and opens tokens with a key kept in the data directory (mode 0600).
#[derive(Clone)]
pub struct TokenSealer {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSealer(<key>)")
    }
}

impl TokenSealer {
    pub fn new(key: [u8; 32]) -> TokenSealer {
        TokenSealer { key }
    }

    /// Loads the key of `data_dir`, creating it the first time. Tokens survive restarts.
    pub fn open(data_dir: &Path) -> std::io::Result<TokenSealer> {
        let path = data_dir.join("keys").join("lookup-token.key");
        let (bytes, _) = crate::secrets::load_or_create(&path, || {
            let mut k = [0u8; 32];
            rand::fill(&mut k);
            k.to_vec()
        })?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| std::io::Error::other(format!("{} is not a 32-byte key", path.display())))?;
        Ok(TokenSealer { key })
    }

    fn mac(&self, body: &[u8], binding: &str) -> [u8; MAC_LEN] {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(body);
        m.update(&(binding.len() as u64).to_be_bytes());
        m.update(binding.as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// A token for `pos`, valid only with the same `binding` (the caller's account and every
    /// request parameter that shapes the result).
    pub fn seal(&self, pos: ScanPosition, binding: &str) -> String {
        let mut body = vec![VERSION];
        body.extend_from_slice(&pos.to_bytes());
        let mac = self.mac(&body, binding);
        body.extend_from_slice(&mac);
        hex(&body)
    }

    /// The position of a token sealed with the same binding; None for anything else.
    pub fn open_token(&self, token: &str, binding: &str) -> Option<ScanPosition> {
        let raw = unhex(token)?;
        if raw.len() != 1 + 16 + MAC_LEN || raw[0] != VERSION {
            return None;
        }
        let (body, mac) = raw.split_at(1 + 16);
        let expected = self.mac(body, binding);
        // Constant time: a token must not be guessable byte by byte.
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], mac)) {
            return None;
        }
        ScanPosition::from_bytes(&body[1..])
    }
}

fn hex(b: &[u8]) -> String {
    crate::auth::sigv4::hex(b)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::EventTime;

    #[test]
    fn tokens_open_only_with_their_binding() {
        let s = TokenSealer::new([7; 32]);
        let pos = ScanPosition {
            event_time: EventTime::from_millis(1_700_000_000_000),
            seq: 42,
        };
        let t = s.seal(pos, "111111111111|us-east-1|EventName=x");
        assert_eq!(s.open_token(&t, "111111111111|us-east-1|EventName=x"), Some(pos));
        assert_eq!(s.open_token(&t, "222222222222|us-east-1|EventName=x"), None);
        assert_eq!(s.open_token(&t, "111111111111|us-east-1|EventName=y"), None);
        // Any altered character fails.
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            assert_eq!(
                s.open_token(std::str::from_utf8(&b).unwrap(), "111111111111|us-east-1|EventName=x"),
                None
            );
        }
        assert_eq!(
            TokenSealer::new([8; 32]).open_token(&t, "111111111111|us-east-1|EventName=x"),
            None
        );
        assert_eq!(s.open_token("zz", "b"), None);
        assert_eq!(s.open_token("", "b"), None);
    }
}
