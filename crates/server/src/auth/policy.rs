//! IAM-style identity policies: parsing a subset of the AWS policy language and deciding whether a
//! principal may call an action on a resource.
//!
//! The subset is `Effect`, `Action`/`NotAction` and `Resource`/`NotResource` with `*` and `?`
//! wildcards. Anything the engine cannot honour (`Condition`, `Principal`, policy variables,
//! unknown fields) is rejected when the policy is loaded rather than ignored: ignoring part of a
//! statement could make an Allow broader or a Deny narrower than its author meant.

use serde_json::{Map, Value};

/// The policy language versions IAM accepts.
const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// A parsed IAM policy document (`{"Version": "2012-10-17", "Statement": [...]}`).
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// The outcome of evaluating a request against a principal's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allowed the request and none denied it.
    Allow,
    /// A `Deny` statement matched; no Allow can override it.
    ExplicitDeny,
    /// No statement matched: denied by default.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// Why a policy document was rejected.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON at all.
    #[error("policy is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The document is JSON but not an object.
    #[error("policy document must be a JSON object, not {0}")]
    NotObject(String),
    /// `Version` is present but not a version IAM knows.
    #[error("Version must be \"2012-10-17\" or \"2008-10-17\", not {0}")]
    BadVersion(String),
    /// The document has no `Statement`.
    #[error("policy has no Statement")]
    MissingStatement,
    /// `Statement` is neither an object nor an array.
    #[error("Statement must be an object or an array of objects, not {0}")]
    BadStatement(String),
    /// A top-level field other than `Version`, `Id` or `Statement`.
    #[error("unknown policy field {0:?} (expected Version, Id, Statement)")]
    UnknownField(String),
    /// A problem in one statement; `index` counts from 1 as people do.
    #[error("statement {index}: {problem}")]
    Statement { index: usize, problem: StatementError },
}

/// What is wrong with one statement of a policy.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// A statement must be a JSON object.
    #[error("a statement must be a JSON object, not {0}")]
    NotObject(String),
    /// `Sid` must be a string when present.
    #[error("Sid must be a string, not {0}")]
    BadSid(String),
    /// `Effect` is required.
    #[error("Effect is missing (must be Allow or Deny)")]
    MissingEffect,
    /// `Effect` is present but not `Allow` or `Deny`.
    #[error("Effect must be Allow or Deny, not {0}")]
    BadEffect(String),
    /// Both forms of a field were given (`Action` and `NotAction`, say).
    #[error("{0} and Not{0} cannot both be present")]
    Both(&'static str),
    /// Neither form of a required field was given.
    #[error("one of {0} or Not{0} is required")]
    Neither(&'static str),
    /// An `Action`/`Resource` value that is not a string or an array of strings.
    #[error("{field} must be a string or an array of strings, not {value}")]
    BadList { field: &'static str, value: String },
    /// An empty array would make `Action` match nothing and `NotAction` match everything.
    #[error("{0} must not be an empty array")]
    EmptyList(&'static str),
    /// An action that is neither `*` nor `service:action`.
    #[error("action {0:?} must be \"*\" or of the form service:action")]
    BadAction(String),
    /// A resource that is neither `*` nor an ARN.
    #[error("resource {0:?} must be \"*\" or an ARN (arn:...)")]
    BadResource(String),
    /// A `${...}` policy variable, which version 2012-10-17 would substitute but we cannot.
    #[error("{field} {pattern:?} uses a policy variable (${{...}}), which is not supported")]
    PolicyVariable { field: &'static str, pattern: String },
    /// `Condition` is present; ignoring it could grant more than intended.
    #[error("Condition is not supported (ignoring it could grant more than the policy intends)")]
    Condition,
    /// `Principal` or `NotPrincipal` is present; only identity policies are supported.
    #[error("{0} is not allowed: only identity policies (attached to a principal) are supported")]
    Principal(&'static str),
    /// A field IAM does not define (perhaps a typo, which must not be silently skipped).
    #[error("unknown statement field {0:?}")]
    UnknownField(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` vs `NotAction` (and likewise for resources): whether a match includes or excludes.
#[derive(Debug, Clone)]
struct Matcher {
    negated: bool,
    patterns: Vec<Pattern>,
}

impl Matcher {
    fn matches(&self, text: &[char]) -> bool {
        self.patterns.iter().any(|p| p.matches(text)) != self.negated
    }
}

/// A wildcard pattern, kept as chars so that `?` matches one character, not one byte.
#[derive(Debug, Clone)]
struct Pattern(Box<[char]>);

impl Pattern {
    fn matches(&self, text: &[char]) -> bool {
        glob(&self.0, text)
    }
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    actions: Matcher,
    resources: Matcher,
}

impl Statement {
    /// `action` must already be lower-cased (see [`evaluate`]).
    fn applies(&self, action: &[char], resource: &[char]) -> bool {
        self.actions.matches(action) && self.resources.matches(resource)
    }
}

impl Policy {
    /// Parses a policy from its JSON text.
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        let value: Value = serde_json::from_str(json).map_err(PolicyError::NotJson)?;
        Policy::from_value(&value)
    }

    /// Parses a policy from an already-decoded JSON value (e.g. embedded in a configuration file).
    pub fn from_value(v: &Value) -> Result<Policy, PolicyError> {
        let Value::Object(doc) = v else {
            return Err(PolicyError::NotObject(describe(v)));
        };
        if let Some(field) = doc
            .keys()
            .find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
        {
            return Err(PolicyError::UnknownField(field.clone()));
        }
        // IAM treats a document without Version as 2008-10-17, where `${...}` is literal text.
        let variables = match doc.get("Version") {
            None => false,
            Some(Value::String(s)) if VERSIONS.contains(&s.as_str()) => s == "2012-10-17",
            Some(other) => return Err(PolicyError::BadVersion(describe(other))),
        };
        let statements = match doc.get("Statement") {
            None => return Err(PolicyError::MissingStatement),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            Some(other) => return Err(PolicyError::BadStatement(describe(other))),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                parse_statement(s, variables).map_err(|problem| PolicyError::Statement { index: i + 1, problem })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }
}

fn parse_statement(value: &Value, variables: bool) -> Result<Statement, StatementError> {
    let Value::Object(s) = value else {
        return Err(StatementError::NotObject(describe(value)));
    };
    // The unsupported-but-valid fields first, so their message is the specific one.
    if s.contains_key("Condition") {
        return Err(StatementError::Condition);
    }
    for field in ["Principal", "NotPrincipal"] {
        if s.contains_key(field) {
            return Err(StatementError::Principal(field));
        }
    }
    if let Some(field) = s.keys().find(|k| {
        !matches!(
            k.as_str(),
            "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource"
        )
    }) {
        return Err(StatementError::UnknownField(field.clone()));
    }
    match s.get("Sid") {
        None | Some(Value::String(_)) => {}
        Some(other) => return Err(StatementError::BadSid(describe(other))),
    }
    let effect = match s.get("Effect") {
        None => return Err(StatementError::MissingEffect),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(StatementError::BadEffect(describe(other))),
    };
    let actions = parse_matcher(s, "Action", variables, |p| {
        // A Deny on "cloudtrail.DeleteTrail" would silently never match, so insist on the shape.
        if p == "*" || p.split_once(':').is_some_and(|(service, _)| !service.is_empty()) {
            Ok(p.to_ascii_lowercase())
        } else {
            Err(StatementError::BadAction(p.to_owned()))
        }
    })?;
    let resources = parse_matcher(s, "Resource", variables, |p| {
        if p == "*" || p.starts_with("arn:") {
            Ok(p.to_owned())
        } else {
            Err(StatementError::BadResource(p.to_owned()))
        }
    })?;
    Ok(Statement {
        effect,
        actions,
        resources,
    })
}

/// Reads `field` or `Not{field}` (exactly one), checking and normalising each pattern.
fn parse_matcher(
    s: &Map<String, Value>,
    field: &'static str,
    variables: bool,
    check: impl Fn(&str) -> Result<String, StatementError>,
) -> Result<Matcher, StatementError> {
    let not_field = if field == "Action" { "NotAction" } else { "NotResource" };
    let (negated, value, name) = match (s.get(field), s.get(not_field)) {
        (Some(_), Some(_)) => return Err(StatementError::Both(field)),
        (None, None) => return Err(StatementError::Neither(field)),
        (Some(v), None) => (false, v, field),
        (None, Some(v)) => (true, v, not_field),
    };
    let raw: Vec<&str> = match value {
        Value::String(p) => vec![p.as_str()],
        Value::Array(items) if items.is_empty() => return Err(StatementError::EmptyList(name)),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(p) => Ok(p.as_str()),
                _ => Err(StatementError::BadList {
                    field: name,
                    value: describe(value),
                }),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(StatementError::BadList {
                field: name,
                value: describe(other),
            });
        }
    };
    let patterns = raw
        .into_iter()
        .map(|p| {
            if variables && p.contains("${") {
                return Err(StatementError::PolicyVariable {
                    field: name,
                    pattern: p.to_owned(),
                });
            }
            Ok(Pattern(check(p)?.chars().collect()))
        })
        .collect::<Result<_, _>>()?;
    Ok(Matcher { negated, patterns })
}

/// A JSON value for an error message, shortened so a huge value cannot flood a log line.
fn describe(v: &Value) -> String {
    const MAX: usize = 80;
    let text = v.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// Evaluates every policy of a principal for one request: an explicit Deny in any statement wins;
/// otherwise any matching Allow allows; otherwise implicit deny.
///
/// `action` is `service:Action` (compared case-insensitively); `resource` is an ARN (compared
/// case-sensitively).
pub fn evaluate(policies: &[Policy], action: &str, resource: &str) -> Decision {
    // Patterns were lower-cased when parsed, so lower-casing the action makes matching
    // case-insensitive without per-character folding in the hot loop.
    let action: Vec<char> = action.to_ascii_lowercase().chars().collect();
    let resource: Vec<char> = resource.chars().collect();
    let mut decision = Decision::ImplicitDeny;
    for statement in policies.iter().flat_map(|p| &p.statements) {
        if statement.applies(&action, &resource) {
            match statement.effect {
                // Nothing can override an explicit deny, so stop looking.
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => decision = Decision::Allow,
            }
        }
    }
    decision
}

/// Glob matching with `*` (any sequence, including `:` and `/`) and `?` (exactly one character).
///
/// The two-pointer algorithm: on a mismatch, retry from the most recent `*` with it absorbing one
/// more character. Only the latest star needs remembering, since an earlier star could only absorb
/// text the later one can also reach; so the worst case is O(pattern × text), never exponential.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // (pattern index just after the last `*`, text index that star's match currently ends at)
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((after, end)) => {
                    star = Some((after, end + 1));
                    p = after;
                    t = end + 1;
                }
                None => return false,
            },
        }
    }
    // The text is used up: the rest of the pattern may only be stars, which match nothing.
    pattern[p..].iter().all(|&c| c == '*')
}

/// Read-only access to CloudTrail and to the S3-compatible log buckets: the `Describe*`, `Get*`,
/// `List*` and `LookupEvents` calls of CloudTrail and `Get*`, `List*`, `HeadBucket` of S3, on every
/// resource. A starting point for auditors' identities in configuration examples and tests.
pub fn read_only_cloudtrail_policy() -> Policy {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudTrailReadOnly",
            "Effect": "Allow",
            "Action": [
                "cloudtrail:Describe*",
                "cloudtrail:Get*",
                "cloudtrail:List*",
                "cloudtrail:LookupEvents",
                "s3:Get*",
                "s3:List*",
                "s3:HeadBucket"
            ],
            "Resource": "*"
        }]
    });
    Policy::from_value(&doc).expect("the built-in read-only policy is valid")
}

/// Every action on every resource: for administrators.
pub fn full_access_policy() -> Policy {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Sid": "FullAccess", "Effect": "Allow", "Action": "*", "Resource": "*" }]
    });
    Policy::from_value(&doc).expect("the built-in full-access policy is valid")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/prod";

    fn policy(json: &str) -> Policy {
        Policy::parse(json).unwrap_or_else(|e| panic!("{json} should parse: {e}"))
    }

    fn allow(action: &str, resource: &str) -> Policy {
        policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
        ))
    }

    /// The error message for a document that must be rejected.
    fn error(json: &str) -> String {
        match Policy::parse(json) {
            Ok(p) => panic!("{json} should be rejected, parsed as {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// The error message for one statement, wrapped in a valid document.
    fn statement_error(statement: &str) -> String {
        error(&format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#))
    }

    fn g(pattern: &str, text: &str) -> bool {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        glob(&p, &t)
    }

    #[test]
    fn glob_cases() {
        let cases = [
            ("", "", true),
            ("", "a", false),
            ("a", "", false),
            ("*", "", true),
            ("*", "anything:at/all", true),
            ("**", "x", true),
            ("abc", "abc", true),
            ("abc", "abd", false),
            ("abc", "ab", false),
            ("ab", "abc", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("???", "abc", true),
            ("???", "ab", false),
            ("a*", "a", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*c", "abcbc", true),
            ("*b*", "abc", true),
            ("*b*", "acd", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("*?", "", false),
            ("*?", "x", true),
            ("?*?", "xy", true),
            ("a*?c", "abc", true),
            ("a*?c", "ac", false),
            ("é?", "éü", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(g(pattern, text), expected, "glob({pattern:?}, {text:?})");
        }
    }

    #[test]
    fn allow_matching_action_and_resource() {
        let p = [allow("cloudtrail:LookupEvents", "*")];
        assert_eq!(evaluate(&p, "cloudtrail:LookupEvents", TRAIL), Decision::Allow);
        assert!(evaluate(&p, "cloudtrail:LookupEvents", TRAIL).allowed());
    }

    #[test]
    fn implicit_deny_when_nothing_matches() {
        let p = [allow("cloudtrail:LookupEvents", "*")];
        assert_eq!(evaluate(&p, "cloudtrail:DeleteTrail", TRAIL), Decision::ImplicitDeny);
        assert!(!Decision::ImplicitDeny.allowed());
        assert!(!Decision::ExplicitDeny.allowed());
    }

    #[test]
    fn no_policies_is_implicit_deny() {
        assert_eq!(evaluate(&[], "cloudtrail:LookupEvents", TRAIL), Decision::ImplicitDeny);
        let empty = policy(r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!(
            evaluate(&[empty], "cloudtrail:LookupEvents", TRAIL),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn explicit_deny_in_another_policy_wins() {
        let deny = policy(
            r#"{"Statement":{"Effect":"Deny","Action":"cloudtrail:Delete*","Resource":"arn:aws:cloudtrail:*:*:trail/prod"}}"#,
        );
        // Order must not matter: deny before or after the allow.
        for policies in [
            [full_access_policy(), deny.clone()],
            [deny.clone(), full_access_policy()],
        ] {
            assert_eq!(
                evaluate(&policies, "cloudtrail:DeleteTrail", TRAIL),
                Decision::ExplicitDeny
            );
            assert_eq!(evaluate(&policies, "cloudtrail:StopLogging", TRAIL), Decision::Allow);
            let other = "arn:aws:cloudtrail:us-east-1:111122223333:trail/dev";
            assert_eq!(evaluate(&policies, "cloudtrail:DeleteTrail", other), Decision::Allow);
        }
    }

    #[test]
    fn explicit_deny_within_one_policy() {
        let p = [policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"cloudtrail:*","Resource":"*"},
                {"Effect":"Deny","Action":"cloudtrail:DeleteTrail","Resource":"*"}]}"#,
        )];
        assert_eq!(evaluate(&p, "cloudtrail:DeleteTrail", TRAIL), Decision::ExplicitDeny);
        assert_eq!(evaluate(&p, "cloudtrail:CreateTrail", TRAIL), Decision::Allow);
        assert_eq!(evaluate(&p, "s3:GetObject", TRAIL), Decision::ImplicitDeny);
    }

    #[test]
    fn deny_alone_is_explicit_even_without_allow() {
        let p = [policy(r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#)];
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::ExplicitDeny);
    }

    #[test]
    fn not_action() {
        // Allow everything except CloudTrail deletions.
        let p = [policy(
            r#"{"Statement":{"Effect":"Allow","NotAction":["cloudtrail:Delete*"],"Resource":"*"}}"#,
        )];
        assert_eq!(evaluate(&p, "cloudtrail:DeleteTrail", TRAIL), Decision::ImplicitDeny);
        assert_eq!(evaluate(&p, "cloudtrail:CreateTrail", TRAIL), Decision::Allow);
        assert_eq!(evaluate(&p, "s3:PutObject", "arn:aws:s3:::b/k"), Decision::Allow);

        // Deny everything outside CloudTrail, even with full access elsewhere.
        let fence = policy(r#"{"Statement":{"Effect":"Deny","NotAction":"cloudtrail:*","Resource":"*"}}"#);
        let p = [full_access_policy(), fence];
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::ExplicitDeny);
        assert_eq!(evaluate(&p, "CloudTrail:LookupEvents", TRAIL), Decision::Allow);
    }

    #[test]
    fn not_resource() {
        let p = [policy(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject",
                "NotResource":["arn:aws:s3:::secret/*","arn:aws:s3:::private/*"]}}"#,
        )];
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::logs/a.json.gz"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::secret/a"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::private/a"),
            Decision::ImplicitDeny
        );

        let deny = policy(r#"{"Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:s3:::logs/*"}}"#);
        let p = [full_access_policy(), deny];
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::logs/a"), Decision::Allow);
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::other/a"),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn actions_are_case_insensitive() {
        let p = [allow("CloudTrail:lookupevents", "*")];
        for action in [
            "cloudtrail:LookupEvents",
            "CLOUDTRAIL:LOOKUPEVENTS",
            "cloudtrail:lookupevents",
        ] {
            assert_eq!(evaluate(&p, action, TRAIL), Decision::Allow, "{action}");
        }
        let p = [allow("cloudtrail:Describe*", "*")];
        assert_eq!(evaluate(&p, "CLOUDTRAIL:describeTrails", TRAIL), Decision::Allow);
        // A case-insensitive Deny must also catch every spelling.
        let p = [
            full_access_policy(),
            policy(r#"{"Statement":{"Effect":"Deny","Action":"cloudtrail:deletetrail","Resource":"*"}}"#),
        ];
        assert_eq!(evaluate(&p, "CloudTrail:DeleteTrail", TRAIL), Decision::ExplicitDeny);
    }

    #[test]
    fn resources_are_case_sensitive() {
        let p = [allow("s3:GetObject", "arn:aws:s3:::Logs/*")];
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::Logs/a"), Decision::Allow);
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::logs/a"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::LOGS/a"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        let p = [allow(
            "cloudtrail:Get?rail",
            "arn:aws:cloudtrail:us-east-?:111122223333:trail/prod",
        )];
        assert_eq!(evaluate(&p, "cloudtrail:GetTrail", TRAIL), Decision::Allow);
        assert_eq!(evaluate(&p, "cloudtrail:GetTTrail", TRAIL), Decision::ImplicitDeny);
        assert_eq!(evaluate(&p, "cloudtrail:Getrail", TRAIL), Decision::ImplicitDeny);
        let west = "arn:aws:cloudtrail:us-east-12:111122223333:trail/prod";
        assert_eq!(evaluate(&p, "cloudtrail:GetTrail", west), Decision::ImplicitDeny);
    }

    #[test]
    fn star_spans_colons_and_slashes() {
        let p = [allow("cloudtrail:*", "arn:aws:cloudtrail:*:111122223333:trail/*")];
        let nested = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/team/a/b";
        assert_eq!(evaluate(&p, "cloudtrail:GetTrail", nested), Decision::Allow);
        assert_eq!(evaluate(&p, "cloudtrail:GetTrail", TRAIL), Decision::Allow);
        let other_account = "arn:aws:cloudtrail:us-east-1:999999999999:trail/prod";
        assert_eq!(
            evaluate(&p, "cloudtrail:GetTrail", other_account),
            Decision::ImplicitDeny
        );

        // One star across several `:`-separated fields.
        let p = [allow("*", "arn:aws:*/prod")];
        assert_eq!(evaluate(&p, "s3:GetObject", TRAIL), Decision::Allow);
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::b/prod"), Decision::Allow);
        assert_eq!(
            evaluate(&p, "s3:GetObject", "arn:aws:s3:::b/dev"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn pathological_pattern_completes_fast() {
        let start = Instant::now();
        let pattern = format!("arn:{}b", "a*".repeat(30));
        let text = format!("arn:{}", "a".repeat(20_000));
        let p = [allow("*", &pattern)];
        for _ in 0..10 {
            assert_eq!(evaluate(&p, "s3:GetObject", &text), Decision::ImplicitDeny);
        }
        assert!(g(&"a*".repeat(40), &"a".repeat(10_000)));
        assert!(!g(&format!("{}b", "*a".repeat(40)), &"a".repeat(10_000)));
        // Exponential backtracking would take ages; the linear algorithm takes milliseconds.
        assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    }

    #[test]
    fn single_statement_object_and_string_or_array_action() {
        let single = policy(r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#);
        let array = policy(
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}"#,
        );
        for p in [single, array] {
            assert_eq!(
                evaluate(std::slice::from_ref(&p), "s3:GetObject", "arn:aws:s3:::b/k"),
                Decision::Allow
            );
            assert_eq!(
                evaluate(&[p], "s3:PutObject", "arn:aws:s3:::b/k"),
                Decision::ImplicitDeny
            );
        }
        let several = policy(
            r#"{"Statement":{"Sid":"x","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
                "Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]}}"#,
        );
        let p = [several];
        assert_eq!(evaluate(&p, "s3:PutObject", "arn:aws:s3:::b/k"), Decision::Allow);
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::a/k"), Decision::Allow);
        assert_eq!(
            evaluate(&p, "s3:DeleteObject", "arn:aws:s3:::a/k"),
            Decision::ImplicitDeny
        );
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::c/k"), Decision::ImplicitDeny);
    }

    #[test]
    fn from_value_matches_parse() {
        let v = serde_json::json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}});
        let p = [Policy::from_value(&v).unwrap()];
        assert_eq!(evaluate(&p, "s3:ListBucket", "arn:aws:s3:::b"), Decision::Allow);
    }

    #[test]
    fn read_only_policy() {
        let p = [read_only_cloudtrail_policy()];
        for action in [
            "cloudtrail:DescribeTrails",
            "cloudtrail:GetTrailStatus",
            "cloudtrail:ListTrails",
            "cloudtrail:LookupEvents",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:HeadBucket",
        ] {
            assert_eq!(evaluate(&p, action, TRAIL), Decision::Allow, "{action}");
        }
        for action in [
            "cloudtrail:CreateTrail",
            "cloudtrail:DeleteTrail",
            "cloudtrail:StopLogging",
            "cloudtrail:PutEventSelectors",
            "s3:PutObject",
            "s3:DeleteObject",
            "iam:GetUser",
        ] {
            assert_eq!(evaluate(&p, action, TRAIL), Decision::ImplicitDeny, "{action}");
        }
    }

    #[test]
    fn full_access() {
        let p = [full_access_policy()];
        assert_eq!(evaluate(&p, "cloudtrail:DeleteTrail", TRAIL), Decision::Allow);
        assert_eq!(evaluate(&p, "anything:AtAll", "arn:x"), Decision::Allow);
    }

    #[test]
    fn malformed_documents() {
        let cases = [
            ("{not json", "policy is not valid JSON"),
            ("", "policy is not valid JSON"),
            ("[]", "policy document must be a JSON object, not []"),
            (r#"{"Version":"2012-10-17"}"#, "policy has no Statement"),
            (
                r#"{"Version":"2020-01-01","Statement":[]}"#,
                r#"Version must be "2012-10-17" or "2008-10-17", not "2020-01-01""#,
            ),
            (r#"{"Version":2012,"Statement":[]}"#, "not 2012"),
            (
                r#"{"Statement":"Allow everything"}"#,
                r#"Statement must be an object or an array of objects, not "Allow everything""#,
            ),
            (
                r#"{"Statement":42}"#,
                "Statement must be an object or an array of objects, not 42",
            ),
            (
                r#"{"Statement":[],"Statment":[]}"#,
                r#"unknown policy field "Statment""#,
            ),
            (
                r#"{"Statement":["x"]}"#,
                r#"statement 1: a statement must be a JSON object, not "x""#,
            ),
        ];
        for (json, expected) in cases {
            let message = error(json);
            assert!(
                message.contains(expected),
                "{json}: got {message:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn malformed_statements() {
        let cases = [
            (r#"{"Action":"*","Resource":"*"}"#, "statement 1: Effect is missing"),
            (
                r#"{"Effect":"Permit","Action":"*","Resource":"*"}"#,
                r#"statement 1: Effect must be Allow or Deny, not "Permit""#,
            ),
            (r#"{"Effect":"allow","Action":"*","Resource":"*"}"#, r#"not "allow""#),
            (
                r#"{"Effect":true,"Action":"*","Resource":"*"}"#,
                "Effect must be Allow or Deny, not true",
            ),
            (
                r#"{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}"#,
                "statement 1: Action and NotAction cannot both be present",
            ),
            (
                r#"{"Effect":"Allow","Resource":"*"}"#,
                "statement 1: one of Action or NotAction is required",
            ),
            (
                r#"{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}"#,
                "Resource and NotResource cannot both be present",
            ),
            (
                r#"{"Effect":"Allow","Action":"*"}"#,
                "one of Resource or NotResource is required",
            ),
            (
                r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
                "statement 1: Condition is not supported",
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#,
                "statement 1: Principal is not allowed: only identity policies",
            ),
            (
                r#"{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"*","Resource":"*"}"#,
                "NotPrincipal is not allowed",
            ),
            (
                r#"{"Effect":"Allow","Action":42,"Resource":"*"}"#,
                "statement 1: Action must be a string or an array of strings, not 42",
            ),
            (
                r#"{"Effect":"Allow","Action":["s3:GetObject",7],"Resource":"*"}"#,
                r#"Action must be a string or an array of strings, not ["s3:GetObject",7]"#,
            ),
            (
                r#"{"Effect":"Allow","NotAction":{"a":1},"Resource":"*"}"#,
                "NotAction must be a string or an array of strings",
            ),
            (
                r#"{"Effect":"Allow","Action":"*","Resource":null}"#,
                "Resource must be a string or an array",
            ),
            (
                r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#,
                "Action must not be an empty array",
            ),
            (
                r#"{"Effect":"Deny","NotAction":[],"Resource":"*"}"#,
                "NotAction must not be an empty array",
            ),
            (
                r#"{"Effect":"Deny","Action":"cloudtrail.DeleteTrail","Resource":"*"}"#,
                r#"action "cloudtrail.DeleteTrail" must be "*" or of the form service:action"#,
            ),
            (r#"{"Effect":"Deny","Action":":x","Resource":"*"}"#, r#"action ":x""#),
            (
                r#"{"Effect":"Deny","Action":"*","Resource":"trail/prod"}"#,
                r#"resource "trail/prod" must be "*" or an ARN"#,
            ),
            (
                r#"{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::${aws:username}/*"}"#,
                "uses a policy variable",
            ),
            (
                r#"{"Effect":"Allow","Action":"*","Resource":"*","Efect":"Deny"}"#,
                r#"unknown statement field "Efect""#,
            ),
            (
                r#"{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}"#,
                "Sid must be a string, not 1",
            ),
        ];
        for (statement, expected) in cases {
            let message = statement_error(statement);
            assert!(
                message.contains(expected),
                "{statement}: got {message:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn errors_name_the_statement_by_position() {
        let message = error(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
                {"Effect":"Permit","Action":"*","Resource":"*"}]}"#,
        );
        assert_eq!(message, r#"statement 2: Effect must be Allow or Deny, not "Permit""#);
        assert!(matches!(
            Policy::parse(r#"{"Statement":[{}, {"Effect":"Allow"}]}"#),
            Err(PolicyError::Statement {
                index: 1,
                problem: StatementError::MissingEffect
            })
        ));
    }

    #[test]
    fn policy_variables_are_literal_in_2008_version() {
        // Version 2008-10-17 (or none) treats `${...}` as plain text, as IAM does.
        let p = [policy(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${x}"}}"#,
        )];
        assert_eq!(evaluate(&p, "s3:GetObject", "arn:aws:s3:::${x}"), Decision::Allow);
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(1000);
        let message = error(&format!(r#"{{"Statement":"{long}"}}"#));
        assert!(message.len() < 200, "{message}");
        assert!(message.ends_with("..."), "{message}");
    }
}
