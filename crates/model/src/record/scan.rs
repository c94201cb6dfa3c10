//! The index of a record that Cairn stored itself, by a byte scanner. Every record was parsed in full
//! when it arrived, so reading it back only has to find a dozen fields: values the index does not
//! use (requestParameters, responseElements, ...) are skipped by looking for their end, not
//! tokenised. That is most of a record's bytes, and reading records back is what a page of
//! lookup results costs.
//!
//! The scanner fills the same views as the full parse, and the same rules turn them into an index.
//! Anything it does not expect of a stored record (escapes in keys, the wrong type for a field, a
//! field given twice, integration or insight records) gives `None`, and the caller falls back to
//! the full parse, which then decides.

use std::borrow::Cow;

use super::{IdentityView, IssuerView, RecordView, ResourceView, SessionContextView};

/// The views of `json`, or `None` to leave it to the full parse.
pub(super) fn index_stored(json: &str) -> Option<RecordView<'_>> {
    let mut c = Cursor { s: json, at: 0 };
    let mut view = RecordView::default();
    let mut seen = Seen::default();
    c.object(|c, key| {
        match key {
            "eventID" => view.event_id = seen.once(0, c.opt_string())?,
            "eventTime" => view.event_time = seen.once(1, c.opt_string())?,
            "awsRegion" => view.aws_region = seen.once(2, c.opt_string())?,
            "recipientAccountId" => view.recipient_account_id = seen.once(3, c.opt_string())?,
            "eventName" => view.event_name = seen.once(4, c.opt_string())?,
            "eventSource" => view.event_source = seen.once(5, c.opt_string())?,
            "eventCategory" => view.event_category = seen.once(6, c.opt_string())?,
            "eventType" => view.event_type = seen.once(7, c.opt_string())?,
            "readOnly" => view.read_only = seen.once(8, c.read_only())?,
            "userIdentity" => view.user_identity = seen.once(9, c.nullable(Cursor::identity))?,
            "resources" => view.resources = seen.once(10, c.nullable(Cursor::resources))?,
            // Rare shapes with views of their own: the full parse reads them.
            "eventData" | "insightDetails" => return None,
            _ => c.skip_value()?,
        }
        Some(())
    })?;
    c.ws();
    (c.at == json.len()).then_some(view)
}

/// Which fields of an object have been read: serde refuses a field given twice, so the scanner
/// leaves such records to it.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn once<T>(&mut self, bit: u32, value: Option<T>) -> Option<T> {
        if self.0 & (1 << bit) != 0 {
            return None;
        }
        self.0 |= 1 << bit;
        value
    }
}

struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// The members of an object, each key handed to `member` with the cursor on its value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            // Keys with escapes are left to the full parse.
            let Cow::Borrowed(key) = self.string()? else {
                return None;
            };
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The string at the cursor: borrowed, or unescaped by serde when it holds escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        let b = self.bytes();
        let first = start + memchr::memchr2(b'"', b'\\', &b[start..])?;
        if b[first] == b'"' {
            self.at = first + 1;
            return Some(Cow::Borrowed(&self.s[start..first]));
        }
        self.at = first;
        self.skip_string_rest()?;
        serde_json::from_str::<String>(&self.s[start - 1..self.at])
            .ok()
            .map(Cow::Owned)
    }

    /// From inside a string (after its opening quote) to just past its closing quote.
    fn skip_string_rest(&mut self) -> Option<()> {
        let b = self.bytes();
        loop {
            let i = self.at + memchr::memchr2(b'"', b'\\', &b[self.at..])?;
            if b[i] == b'"' {
                self.at = i + 1;
                return Some(());
            }
            // An escape: its next byte is never the end of the string.
            self.at = i + 2;
        }
    }

    /// `null` (true when it was there).
    fn null(&mut self) -> bool {
        let found = self.bytes()[self.at..].starts_with(b"null");
        if found {
            self.at += 4;
        }
        found
    }

    /// A string or null; any other type is left to the full parse (which refuses it).
    fn opt_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// `value` of a field that may be null.
    fn nullable<T>(&mut self, value: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            return Some(None);
        }
        value(self).map(Some)
    }

    /// `readOnly`: a boolean, or its string form (as the full parse reads it).
    fn read_only(&mut self) -> Option<Option<bool>> {
        let rest = &self.bytes()[self.at..];
        if rest.starts_with(b"true") {
            self.at += 4;
            return Some(Some(true));
        }
        if rest.starts_with(b"false") {
            self.at += 5;
            return Some(Some(false));
        }
        if self.null() {
            return Some(None);
        }
        match self.string()? {
            Cow::Borrowed(s) if s.eq_ignore_ascii_case("true") => Some(Some(true)),
            Cow::Borrowed(s) if s.eq_ignore_ascii_case("false") => Some(Some(false)),
            Cow::Borrowed(_) => Some(None),
            Cow::Owned(_) => None,
        }
    }

    fn identity(&mut self) -> Option<IdentityView<'a>> {
        let mut id = IdentityView::default();
        let mut seen = Seen::default();
        self.object(|c, key| {
            match key {
                "type" => id.kind = seen.once(0, c.opt_string())?,
                "principalId" => id.principal_id = seen.once(1, c.opt_string())?,
                "arn" => id.arn = seen.once(2, c.opt_string())?,
                "accountId" => id.account_id = seen.once(3, c.opt_string())?,
                "accessKeyId" => id.access_key_id = seen.once(4, c.opt_string())?,
                "userName" => id.user_name = seen.once(5, c.opt_string())?,
                "invokedBy" => id.invoked_by = seen.once(6, c.opt_string())?,
                "sessionContext" => id.session_context = seen.once(7, c.nullable(Cursor::session_context))?,
                _ => c.skip_value()?,
            }
            Some(())
        })?;
        Some(id)
    }

    fn session_context(&mut self) -> Option<SessionContextView<'a>> {
        let mut ctx = SessionContextView::default();
        let mut seen = Seen::default();
        self.object(|c, key| {
            match key {
                "sessionIssuer" => ctx.session_issuer = seen.once(0, c.nullable(Cursor::issuer))?,
                _ => c.skip_value()?,
            }
            Some(())
        })?;
        Some(ctx)
    }

    fn issuer(&mut self) -> Option<IssuerView<'a>> {
        let mut issuer = IssuerView::default();
        let mut seen = Seen::default();
        self.object(|c, key| {
            match key {
                "userName" => issuer.user_name = seen.once(0, c.opt_string())?,
                _ => c.skip_value()?,
            }
            Some(())
        })?;
        Some(issuer)
    }

    fn resources(&mut self) -> Option<Vec<ResourceView<'a>>> {
        let mut out = Vec::new();
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(out);
        }
        loop {
            let mut r = ResourceView::default();
            let mut seen = Seen::default();
            self.object(|c, key| {
                match key {
                    "ARN" => r.arn = seen.once(0, c.opt_string())?,
                    "ARNPrefix" => r.arn_prefix = seen.once(1, c.opt_string())?,
                    "type" => r.kind = seen.once(2, c.opt_string())?,
                    _ => c.skip_value()?,
                }
                Some(())
            })?;
            out.push(r);
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// Past the value at the cursor, without reading it: strings by their closing quote,
    /// containers by their matching bracket (brackets inside strings do not count).
    fn skip_value(&mut self) -> Option<()> {
        let b = self.bytes();
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.skip_string_rest()
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    let c = *b.get(self.at)?;
                    self.at += 1;
                    match c {
                        b'"' => self.skip_string_rest()?,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                }
            }
            // A number, true, false or null: up to the next delimiter.
            _ => {
                let end = b[self.at..]
                    .iter()
                    .position(|&c| matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))?;
                (end > 0).then(|| self.at += end)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{index_record, index_stored};

    /// Every sample record and every synthetic shape: the scanner's index is the full parse's.
    #[test]
    fn the_scanner_indexes_as_the_full_parse_does() {
        let mut records: Vec<String> = Vec::new();
        // At run time: a test binary reused from a build cache may have been built in another
        // checkout.
        let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let root = std::path::Path::new(&crate_dir).join("../../testdata/samples");
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // The records as written (their own escapes), and re-serialised (ours).
                if let Ok(raw) = crate::record::split_log_file(&text) {
                    records.extend(raw.iter().map(|r| r.get().to_string()));
                }
                let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(mut file)) => match file.remove("Records") {
                        Some(serde_json::Value::Array(list)) => list,
                        _ => vec![serde_json::Value::Object(file)],
                    },
                    Ok(serde_json::Value::Array(list)) => list,
                    _ => text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect(),
                };
                records.extend(values.iter().map(|v| serde_json::to_string(v).unwrap()));
            }
        }
        records.extend(
            [
                r#"{"eventID":"a","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","readOnly":"TRUE","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/R/s\"x","sessionContext":{"sessionIssuer":{"userName":"R"},"attributes":{"x":[1,{"y":"]}"}]}}},"requestParameters":{"a":[[],{},"\\\"",-1.5e3,true,null]},"resources":[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"},{"ARNPrefix":"arn:aws:s3:::b/"}]}"#,
                r#"{"eventID":"b","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","userIdentity":{"type":"Root","accountId":"111122223333"},"readOnly":null,"resources":null,"eventCategory":null}"#,
                r#"{"eventID":"c","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventName":"Caf\u00e9","userIdentity":null,"resources":[]}"#,
                r#"{"eventID":"d","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","readOnly":7,"userIdentity":{"type":"AWSService","invokedBy":"s3.amazonaws.com"}}"#,
                // Shapes left to the full parse, which must then agree (or refuse alike).
                r#"{"eventID":"e","eventID":"f","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"1"}"#,
                r#"{"eventID":5,"eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"1"}"#,
                r#"{"eventVersion":"1.0","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"1","eventData":{"eventName":"X"},"eventID":"g"}"#,
                r#"{"eventID":"h","eventTime":"2024-05-01T00:00:01Z","awsRegion":"us-east-1","recipientAccountId":"1","x\u0041":1}"#,
                r#"[1,2]"#,
                r#"{"eventID":"i"} x"#,
            ]
            .map(str::to_string),
        );
        let mut w = cairn_synth_like_records();
        records.append(&mut w);
        assert!(records.len() > 1000, "samples found in {}", root.display());
        let mut scanned = 0;
        for r in &records {
            assert_eq!(index_stored(r), index_record(r), "{r}");
            scanned += usize::from(super::index_stored(r).is_some());
        }
        // The fast path is the one taken, not the fallback.
        assert!(
            scanned * 10 > records.len() * 9,
            "{scanned} of {} scanned",
            records.len()
        );
        let t = std::time::Instant::now();
        for r in &records {
            std::hint::black_box(index_stored(r).ok());
        }
        let fast = t.elapsed();
        let t = std::time::Instant::now();
        for r in &records {
            std::hint::black_box(index_record(r).ok());
        }
        eprintln!(
            "{} records: scanner {fast:?}, full parse {:?}",
            records.len(),
            t.elapsed()
        );
    }

    /// Records of every event name the samples use, with user identities of each type.
    fn cairn_synth_like_records() -> Vec<String> {
        let mut out = Vec::new();
        for (i, kind) in [
            "IAMUser",
            "AssumedRole",
            "FederatedUser",
            "Root",
            "AWSService",
            "AWSAccount",
            "Unknown",
        ]
        .iter()
        .enumerate()
        {
            out.push(format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"{kind}","principalId":"P{i}","arn":"arn:aws:sts::111122223333:assumed-role/Role/sess{i}","accountId":"111122223333","accessKeyId":"ASIA{i}","sessionContext":{{"sessionIssuer":{{"type":"Role","userName":"Role{i}"}},"attributes":{{"mfaAuthenticated":"false"}}}},"invokedBy":"svc{i}"}},"eventTime":"2024-05-0{}T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"eu-west-1","sourceIPAddress":"1.2.3.4","requestParameters":{{"bucketName":"b","key":"a \"quoted\" key \\ with {{braces}} and [brackets]"}},"responseElements":null,"eventID":"id-{i}","readOnly":{},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#,
                i + 1,
                i % 2 == 0
            ));
        }
        out
    }
}
