//! Synthetic CloudTrail workloads: realistic, deterministic (seeded) event records as compact JSON,
//! for benchmarks and tests.
//!
//! Records follow the shape and field order of real CloudTrail management events: a fixed
//! population of principals, IPs and resources per account, about 85 (eventSource, eventName)
//! pairs with a heavy-tailed mix, plausible `requestParameters` / `responseElements`, ~5 % errors,
//! and `requestParameters` grown with tags or filters so the mean record size tracks
//! [`WorkloadConfig::target_record_bytes`]. The same configuration always yields the same records.
//!
//! ```
//! use cairn_synth::{Workload, WorkloadConfig};
//!
//! let mut w = Workload::new(WorkloadConfig { seed: 7, ..WorkloadConfig::default() });
//! let record: String = w.next_record();
//! assert!(record.starts_with(r#"{"eventVersion":"1.0"#));
//! let more: Vec<String> = w.batch(10);
//! assert_eq!(more.len(), 10);
//! ```
#![forbid(unsafe_code)]

mod events;
mod pop;
mod rng;
mod text;

use events::{CATALOGUE, Ctx, Def, Op, Parts, Who};
use pop::{API_UAS, Account, CONSOLE_UAS, PRIVATE_IPS, RoleKind, UA_SSM_AGENT, private_ip_index, public_ip_index};
use rng::{Rand, Zipf};
use text::{iso_time, kv};

/// Parameters of a synthetic workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadConfig {
    /// Seed of every random choice: equal configurations give identical record streams.
    pub seed: u64,
    /// 12-digit account ids the events belong to (`recipientAccountId`); the first is the busiest.
    pub accounts: Vec<String>,
    /// Regions events are recorded in (`awsRegion`); the first is the busiest. IAM, STS and
    /// sign-in events use `us-east-1` when it is listed.
    pub regions: Vec<String>,
    /// Event time of the first event, in milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Mean event rate: event times advance by `1000 / events_per_second` ms on average, with
    /// uniform jitter, and never go backwards.
    pub events_per_second: f64,
    /// Approximate mean size of a record in bytes, reached by growing `requestParameters` with
    /// tags or filters; individual records vary widely around it. Padding is only ever added, so
    /// the mean cannot go below the records' natural size, about 1.1 KB (0 turns padding off).
    pub target_record_bytes: usize,
}

impl Default for WorkloadConfig {
    /// Seed 0, three accounts, `us-east-1` / `us-west-2` / `eu-west-1`, starting
    /// 2024-05-01T00:00:00Z at 100 events/s, ~1000-byte records.
    fn default() -> Self {
        WorkloadConfig {
            seed: 0,
            accounts: vec!["318204756921".into(), "604372918455".into(), "957130842066".into()],
            regions: vec!["us-east-1".into(), "us-west-2".into(), "eu-west-1".into()],
            start_ms: 1_714_521_600_000,
            events_per_second: 100.0,
            target_record_bytes: 1000,
        }
    }
}

/// A deterministic, endless stream of CloudTrail event records (compact JSON, one record each).
pub struct Workload {
    rng: Rand,
    accounts: Vec<Account>,
    account_z: Zipf,
    regions: Vec<String>,
    region_z: Zipf,
    /// Index of `us-east-1` in `regions`, if listed.
    global_region: Option<usize>,
    event_z: Zipf,
    start_ms: i64,
    gap_ms: f64,
    elapsed_ms: f64,
    target: usize,
    emitted: u64,
    bytes: u64,
    clock_sec: i64,
    clock_text: String,
    parts: Parts,
    head: String,
    tail: String,
}

impl Workload {
    /// Builds the account populations for `cfg`.
    ///
    /// # Panics
    /// If `accounts` or `regions` is empty, or `events_per_second` is not a positive number.
    pub fn new(cfg: WorkloadConfig) -> Self {
        assert!(!cfg.accounts.is_empty(), "WorkloadConfig::accounts is empty");
        assert!(!cfg.regions.is_empty(), "WorkloadConfig::regions is empty");
        assert!(
            cfg.events_per_second.is_finite() && cfg.events_per_second > 0.0,
            "WorkloadConfig::events_per_second must be positive"
        );
        let mut rng = Rand::new(cfg.seed);
        let accounts: Vec<Account> = cfg.accounts.iter().map(|id| Account::new(&mut rng, id)).collect();
        let weights: Vec<f64> = CATALOGUE.iter().map(|d| d.weight).collect();
        Workload {
            account_z: Zipf::new(accounts.len(), 1.0),
            accounts,
            region_z: Zipf::new(cfg.regions.len(), 1.0),
            global_region: cfg.regions.iter().position(|r| r == "us-east-1"),
            regions: cfg.regions,
            event_z: Zipf::weighted(&weights),
            start_ms: cfg.start_ms,
            gap_ms: 1000.0 / cfg.events_per_second,
            elapsed_ms: 0.0,
            target: cfg.target_record_bytes,
            emitted: 0,
            bytes: 0,
            clock_sec: i64::MIN,
            clock_text: String::new(),
            parts: Parts::default(),
            head: String::with_capacity(2048),
            tail: String::with_capacity(1024),
            rng,
        }
    }

    /// The next record: one CloudTrail event as compact JSON.
    pub fn next_record(&mut self) -> String {
        // Event time: non-decreasing, mean gap 1000/eps ms.
        let now_ms = self.start_ms.saturating_add(self.elapsed_ms as i64);
        self.elapsed_ms += self.gap_ms * 2.0 * self.rng.unit();
        let sec = now_ms.div_euclid(1000);
        if sec != self.clock_sec {
            self.clock_sec = sec;
            self.clock_text.clear();
            iso_time(&mut self.clock_text, sec);
        }

        let def = &CATALOGUE[self.event_z.sample(&mut self.rng)];
        let account = &self.accounts[self.account_z.sample(&mut self.rng)];
        let region = match self.global_region {
            Some(g) if events::is_global(def.svc) => self.regions[g].as_str(),
            _ => self.regions[self.region_z.sample(&mut self.rng)].as_str(),
        };
        let rng = &mut self.rng;
        let caller = choose_caller(rng, account, def, sec);

        self.parts.clear();
        events::write(
            def.op,
            &mut Ctx {
                r: rng,
                a: account,
                region,
                now: sec,
                p: &mut self.parts,
            },
        );
        let error = choose_error(rng, def, &caller);

        // ---- after requestParameters -----------------------------------------------------------
        let p = &self.parts;
        let t = &mut self.tail;
        t.clear();
        t.push_str(r#","responseElements":"#);
        match &error {
            Some(_) if def.op == Op::ConsoleLogin => t.push_str(r#"{"ConsoleLogin":"Failure"}"#),
            None if !p.resp.is_empty() => t.push_str(&p.resp),
            _ => t.push_str("null"),
        }
        if !p.extra.is_empty() {
            t.push_str(r#","additionalEventData":"#);
            t.push_str(&p.extra);
        }
        let service_event = matches!(def.who, Who::ServiceEvent);
        if !service_event && def.op != Op::ConsoleLogin {
            t.push_str(r#","requestID":""#);
            rng.uuid(t);
            t.push('"');
        }
        t.push_str(r#","eventID":""#);
        rng.uuid(t);
        t.push_str(if def.read_only {
            r#"","readOnly":true"#
        } else {
            r#"","readOnly":false"#
        });
        if !p.res.is_empty() {
            t.push_str(r#","resources":["#);
            t.push_str(&p.res);
            t.push(']');
        }
        t.push_str(match (service_event, def.op == Op::ConsoleLogin) {
            (true, _) => r#","eventType":"AwsServiceEvent""#,
            (_, true) => r#","eventType":"AwsConsoleSignIn""#,
            _ => r#","eventType":"AwsApiCall""#,
        });
        t.push_str(r#","managementEvent":true,"recipientAccountId":""#);
        t.push_str(&account.id);
        t.push('"');
        if !p.details.is_empty() {
            t.push_str(r#","serviceEventDetails":"#);
            t.push_str(&p.details);
        }
        if p.shared_id {
            t.push_str(r#","sharedEventID":""#);
            rng.uuid(t);
            t.push('"');
        }
        if caller.tls
            && caller.ip.starts_with("10.")
            && matches!(
                def.svc,
                "kms" | "s3" | "ssm" | "secretsmanager" | "sts" | "logs" | "dynamodb"
            )
        {
            t.push_str(r#","vpcEndpointId":""#);
            t.push_str(account.vpces.pick(rng));
            t.push('"');
        }
        t.push_str(r#","eventCategory":"Management""#);
        if caller.console {
            t.push_str(r#","sessionCredentialFromConsole":"true""#);
        }
        if caller.tls {
            // Modern SDKs negotiate TLS 1.3; the choice follows the client.
            let (version, suite) = match caller.ua.len() % 5 {
                0 => ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
                1 => ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
                _ => ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
            };
            t.push_str(r#","tlsDetails":{"tlsVersion":""#);
            t.push_str(version);
            t.push_str(r#"","cipherSuite":""#);
            t.push_str(suite);
            t.push_str(r#"","clientProvidedHostHeader":""#);
            match def.svc {
                "iam" => t.push_str("iam.amazonaws.com"),
                "signin" => t.push_str("signin.aws.amazon.com"),
                "sts" if caller.ua.len().is_multiple_of(2) => t.push_str("sts.amazonaws.com"),
                svc => {
                    t.push_str(svc);
                    t.push('.');
                    t.push_str(region);
                    t.push_str(".amazonaws.com");
                }
            }
            t.push_str("\"}");
        }
        t.push('}');

        // ---- up to requestParameters -----------------------------------------------------------
        let h = &mut self.head;
        h.clear();
        h.push_str(r#"{"eventVersion":""#);
        h.push_str(events::event_version(def.svc));
        h.push_str(r#"","userIdentity":"#);
        caller.write_identity(h, &account.id);
        h.push_str(r#","eventTime":""#);
        h.push_str(&self.clock_text);
        h.push_str(r#"","eventSource":""#);
        h.push_str(def.svc);
        h.push_str(r#".amazonaws.com","eventName":""#);
        h.push_str(def.name);
        h.push_str(r#"","awsRegion":""#);
        h.push_str(region);
        h.push_str("\",");
        kv(h, "sourceIPAddress", caller.ip);
        h.push(',');
        kv(h, "userAgent", caller.ua);
        if let Some((code, message)) = &error {
            if !code.is_empty() {
                h.push(',');
                kv(h, "errorCode", code);
            }
            h.push(',');
            kv(h, "errorMessage", message);
        }
        h.push_str(r#","requestParameters":"#);

        // ---- size control: grow requestParameters towards this record's share of the target ----
        let req = &mut self.parts.req;
        let natural = h.len() + req.len().max(4) + 1 + t.len();
        if self.target > 0 && !req.is_empty() {
            let target = self.target as f64;
            let spread = if rng.chance(0.03) {
                2.0 + 2.0 * rng.unit()
            } else {
                0.55 + 0.9 * rng.unit()
            };
            let deficit = target * self.emitted as f64 - self.bytes as f64;
            let desired = target * spread + (deficit * 0.25).clamp(-target, target);
            if desired > natural as f64 {
                events::pad(def.pad, desired as usize - natural, rng, account, req);
            }
        }

        let mut out = String::with_capacity(h.len() + req.len().max(4) + 1 + t.len());
        out.push_str(h);
        if req.is_empty() {
            out.push_str("null");
        } else {
            out.push_str(req);
            out.push('}');
        }
        out.push_str(t);
        self.emitted += 1;
        self.bytes += out.len() as u64;
        out
    }

    /// The next `n` records.
    pub fn batch(&mut self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.next_record()).collect()
    }
}

impl Iterator for Workload {
    type Item = String;

    /// Always `Some`: the stream is endless.
    fn next(&mut self) -> Option<String> {
        Some(self.next_record())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// How the `userIdentity` object is written.
enum Identity<'a> {
    /// A complete object but for its closing brace.
    Open(&'a str),
    /// A session: `head`, the session creation time, `tail`, then the closing brace.
    Session {
        head: &'a str,
        tail: &'static str,
        created: i64,
    },
    /// `{"type":"AWSService","invokedBy":..}`
    Service(&'static str),
    /// `{"accountId":..,"invokedBy":..}` of an AwsServiceEvent.
    ServiceEvent(&'static str),
    /// A complete object.
    Closed(&'a str),
}

/// The caller of one event and how the call reached AWS.
struct Caller<'a> {
    identity: Identity<'a>,
    /// Principal ARN for error messages (empty for AWS services).
    arn: &'a str,
    ip: &'a str,
    ua: &'a str,
    /// An AWS service calling on the principal's behalf (`userIdentity.invokedBy`).
    invoked_by: Option<&'static str>,
    console: bool,
    tls: bool,
}

impl Caller<'_> {
    fn write_identity(&self, h: &mut String, account: &str) {
        match self.identity {
            Identity::Open(s) => h.push_str(s),
            Identity::Session { head, tail, created } => {
                h.push_str(head);
                iso_time(h, created);
                h.push_str(tail);
            }
            Identity::Service(svc) => {
                h.push_str(r#"{"type":"AWSService","invokedBy":""#);
                h.push_str(svc);
                h.push_str("\"}");
                return;
            }
            Identity::ServiceEvent(svc) => {
                h.push_str(r#"{"accountId":""#);
                h.push_str(account);
                h.push_str(r#"","invokedBy":""#);
                h.push_str(svc);
                h.push_str("\"}");
                return;
            }
            Identity::Closed(s) => {
                h.push_str(s);
                return;
            }
        }
        if let Some(by) = self.invoked_by {
            h.push_str(r#","invokedBy":""#);
            h.push_str(by);
            h.push('"');
        }
        h.push('}');
    }
}

fn service_host(svc: &str) -> &'static str {
    match svc {
        "kms" => "kms.amazonaws.com",
        "ec2" => "ec2.amazonaws.com",
        _ => "AWS Internal",
    }
}

/// When the session in use at `now` began: sessions renew every `period` seconds at their own phase,
/// so consecutive events of one session share its creationDate.
fn session_start(now: i64, phase: u32, period: i64) -> i64 {
    now - (now + i64::from(phase)).rem_euclid(period)
}

fn choose_caller<'a>(r: &mut Rand, a: &'a Account, def: &Def, now: i64) -> Caller<'a> {
    let api_ip = |r: &mut Rand, pref: u16| -> &'a str {
        if r.chance(0.85) {
            &a.ips.items[usize::from(pref)]
        } else {
            a.ips.pick(r)
        }
    };
    let api_ua = |r: &mut Rand, pref: u8| -> &'static str {
        if r.chance(0.85) {
            API_UAS[usize::from(pref)]
        } else {
            API_UAS[r.below(API_UAS.len())]
        }
    };
    match def.who {
        Who::ServiceEvent => {
            let host = service_host(def.svc);
            return Caller {
                identity: Identity::ServiceEvent(host),
                arn: "",
                ip: host,
                ua: host,
                invoked_by: None,
                console: false,
                tls: false,
            };
        }
        Who::Svc(services) if r.chance(0.7) => {
            let svc = *r.pick(services);
            return Caller {
                identity: Identity::Service(svc),
                arn: "",
                ip: svc,
                ua: svc,
                invoked_by: None,
                console: false,
                tls: false,
            };
        }
        Who::SignIn => {
            let (identity, arn, pref) = if r.chance(0.03) {
                (
                    Identity::Closed(&a.root_signin),
                    a.root_arn.as_str(),
                    public_ip_index(1) as u16,
                )
            } else {
                let mut u = a.user(r);
                for _ in 0..4 {
                    if u.human {
                        break;
                    }
                    u = a.user(r);
                }
                (Identity::Closed(&u.signin_ident), u.arn.as_str(), u.ip)
            };
            return Caller {
                identity,
                arn,
                ip: &a.ips.items[usize::from(pref)],
                ua: CONSOLE_UAS[1 + r.below(2)],
                invoked_by: None,
                console: false,
                tls: true,
            };
        }
        Who::Ec2Role => {
            let role = a.role_of(r, RoleKind::Ec2);
            let s = role.session(r);
            return Caller {
                identity: Identity::Session {
                    head: &s.head,
                    tail: s.tail,
                    created: session_start(now, s.phase, 21_600),
                },
                arn: &s.arn,
                ip: &a.ips.items[private_ip_index(r.below(PRIVATE_IPS))],
                ua: API_UAS[usize::from(UA_SSM_AGENT)],
                invoked_by: None,
                console: false,
                tls: true,
            };
        }
        Who::Any | Who::Svc(_) => {}
    }

    let roll = r.below(100);
    let mut caller = if roll < 30 {
        let role = a.role(r);
        let s = role.session(r);
        let console = role.kind == RoleKind::Sso && r.chance(0.5);
        Caller {
            identity: Identity::Session {
                head: &s.head,
                tail: s.tail,
                created: session_start(now, s.phase, 3600),
            },
            arn: &s.arn,
            ip: api_ip(r, role.ip),
            ua: api_ua(r, role.ua),
            invoked_by: None,
            console,
            tls: true,
        }
    } else if roll < 98 {
        let u = a.user(r);
        let console = u.human && r.chance(0.3);
        let identity = if console {
            Identity::Session {
                head: &u.console_head,
                tail: u.console_tail,
                created: session_start(now, u.phase, 28_800),
            }
        } else {
            Identity::Open(&u.ident)
        };
        Caller {
            identity,
            arn: &u.arn,
            ip: api_ip(r, u.ip),
            ua: api_ua(r, u.ua),
            invoked_by: None,
            console,
            tls: true,
        }
    } else {
        Caller {
            identity: Identity::Session {
                head: &a.root_head,
                tail: r#"","mfaAuthenticated":"true"}}"#,
                created: session_start(now, 1234, 7200),
            },
            arn: &a.root_arn,
            ip: &a.ips.items[public_ip_index(1)],
            ua: CONSOLE_UAS[0],
            invoked_by: None,
            console: true,
            tls: true,
        }
    };
    if caller.console {
        let k = r.below(10);
        if k < 2 {
            // Console back-end calls show up as "AWS Internal".
            caller.ua = CONSOLE_UAS[4];
            caller.ip = CONSOLE_UAS[4];
            caller.tls = false;
        } else if def.svc == "s3" && k < 6 {
            caller.ua = CONSOLE_UAS[3];
        } else {
            caller.ua = CONSOLE_UAS[k % 3];
        }
    } else if !def.read_only && r.chance(0.05) {
        caller.invoked_by = Some("cloudformation.amazonaws.com");
        caller.ip = "cloudformation.amazonaws.com";
        caller.ua = "cloudformation.amazonaws.com";
        caller.tls = false;
    }
    caller
}

/// About 5 % of calls fail: access denied, throttling, or the action's "not found" error. An empty
/// code means the record has an errorMessage only.
fn choose_error(r: &mut Rand, def: &Def, caller: &Caller<'_>) -> Option<(&'static str, String)> {
    if matches!(def.who, Who::ServiceEvent) || !r.chance(0.05) {
        return None;
    }
    if def.op == Op::ConsoleLogin {
        // Failed sign-ins carry only an errorMessage.
        return Some(("", "Failed authentication".to_string()));
    }
    let roll = r.below(100);
    let action = def.name.find("2015").map_or(def.name, |i| &def.name[..i]);
    let iam_prefix = match def.svc {
        "monitoring" => "cloudwatch",
        s => s,
    };
    if roll < 30 || caller.arn.is_empty() {
        let (code, msg) = match def.svc {
            "ec2" => ("Client.RequestLimitExceeded", "Request limit exceeded."),
            "s3" => ("SlowDown", "Please reduce your request rate."),
            "kms" => (
                "ThrottlingException",
                "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
            ),
            _ => ("ThrottlingException", "Rate exceeded"),
        };
        return Some((code, msg.to_string()));
    }
    if roll < 60
        && let Some((code, msg)) = def.not_found
    {
        return Some((code, msg.to_string()));
    }
    let mut m = String::with_capacity(400);
    let code = match def.svc {
        "ec2" => {
            m.push_str("You are not authorized to perform this operation. User: ");
            m.push_str(caller.arn);
            m.push_str(" is not authorized to perform: ec2:");
            m.push_str(action);
            m.push_str(" because no identity-based policy allows the ec2:");
            m.push_str(action);
            m.push_str(" action. Encoded authorization failure message: ");
            r.mixed_alnum(&mut m, 280);
            return Some(("Client.UnauthorizedOperation", m));
        }
        "s3" => return Some(("AccessDenied", "Access Denied".to_string())),
        "kms" | "dynamodb" | "lambda" | "ssm" | "secretsmanager" | "logs" | "ecr" => "AccessDeniedException",
        _ => "AccessDenied",
    };
    m.push_str("User: ");
    m.push_str(caller.arn);
    m.push_str(" is not authorized to perform: ");
    m.push_str(iam_prefix);
    m.push(':');
    m.push_str(action);
    m.push_str(" because no identity-based policy allows the ");
    m.push_str(iam_prefix);
    m.push(':');
    m.push_str(action);
    m.push_str(" action");
    Some((code, m))
}
