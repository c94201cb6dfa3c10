//! Micro-benchmarks for `cairn bench`: counting throughput and memory at scale.

use std::time::Instant;

use crate::analyzer::Analyzer;
use crate::config::DetectorConfig;
use crate::intern::SplitMix64;
use crate::model::Observation;

const MINUTE_MS: i64 = 60_000;

/// Synthetic but realistic strings: `apis` APIs over a few services, long ARNs and user agents.
struct Strings {
    sources: Vec<String>,
    names: Vec<String>,
    users: Vec<String>,
    agents: Vec<String>,
    errors: Vec<String>,
}

impl Strings {
    fn new(apis: usize, users: usize, agents: usize) -> Self {
        let services = [
            "ec2",
            "s3",
            "iam",
            "sts",
            "lambda",
            "dynamodb",
            "kms",
            "ssm",
            "logs",
            "ecs",
            "cloudformation",
            "autoscaling",
            "rds",
            "sns",
            "sqs",
            "elasticloadbalancing",
        ];
        Self {
            sources: (0..apis)
                .map(|i| format!("{}.amazonaws.com", services[i % services.len()]))
                .collect(),
            names: (0..apis)
                .map(|i| format!("{}Resource{i}", ["Create", "Update", "Delete", "Put"][i % 4]))
                .collect(),
            users: (0..users)
                .map(|i| format!("arn:aws:sts::123456789012:assumed-role/ServiceRole{}/session-{i:06}", i % 37))
                .collect(),
            agents: (0..agents)
                .map(|i| format!("Boto3/1.34.{i} md/Botocore#1.34.{i} ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.{i}"))
                .collect(),
            errors: ["AccessDenied", "ThrottlingException", "ValidationException"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Throughput of [`Analyzer::observe`] on one core over `events` events (200 APIs in two
/// regions, 2,000 events per second of event time, 50 principals, 20 user agents, 2 % errors,
/// 70 % writes), and the bytes held for 10,000 APIs after a week of sparse traffic (see
/// [`memory_for_apis`]). Returns `(events_per_sec, bytes_for_10k_apis)`.
pub fn bench_counting(events: usize) -> (f64, usize) {
    (observe_throughput(events), memory_for_apis(10_000, 7))
}

/// Events per second through [`Analyzer::observe`] (default configuration).
pub fn observe_throughput(events: usize) -> f64 {
    let s = Strings::new(200, 50, 20);
    let regions = ["us-east-1", "eu-west-1"];
    let mut rng = SplitMix64::new(7);
    // Pre-drawn indices so the timed loop measures the analyzer only.
    let start = 1_736_121_600_000i64;
    let draws: Vec<(u16, u8, u8, u8, u8, bool, i64)> = (0..events)
        .map(|i| {
            let api = rng.below(200) as u16;
            let region = rng.below(2) as u8;
            let user = rng.below(50) as u8;
            let agent = rng.below(20) as u8;
            let err = if rng.below(50) == 0 { 1 + rng.below(3) as u8 } else { 0 };
            let write = rng.below(10) < 7;
            // 2,000 events per second with up to 5 s of disorder.
            let t = start + i as i64 / 2 - rng.below(5_000) as i64;
            (api, region, user, agent, err, write, t)
        })
        .collect();
    let mut analyzer = Analyzer::new(DetectorConfig::default()).expect("default config");
    let t0 = Instant::now();
    for &(api, region, user, agent, err, write, t) in &draws {
        analyzer.observe(&Observation {
            account_id: "123456789012",
            region: regions[region as usize],
            event_source: &s.sources[api as usize],
            event_name: &s.names[api as usize],
            event_time_ms: t,
            is_write: write,
            is_management: true,
            error_code: (err > 0).then(|| s.errors[err as usize - 1].as_str()),
            user_identity_arn: Some(&s.users[user as usize]),
            user_agent: Some(&s.agents[agent as usize]),
        });
    }
    let elapsed = t0.elapsed().as_secs_f64();
    std::hint::black_box(analyzer.drain());
    events as f64 / elapsed.max(1e-9)
}

/// Bytes held by an analyzer (default configuration, 7-day baseline) after `days` days of
/// traffic on `apis` distinct write APIs: every API is called about twice an hour, by 1,000
/// principals and 50 user agents overall, so every baseline attribution table fills up; 10 %
/// of the APIs also fail now and then (error-rate series).
pub fn memory_for_apis(apis: usize, days: u32) -> usize {
    let s = Strings::new(apis, 1000, 50);
    let mut analyzer = Analyzer::new(DetectorConfig::default()).expect("default config");
    let mut rng = SplitMix64::new(11);
    let start = 1_736_121_600_000i64;
    let hours = i64::from(days) * 24;
    for h in 0..hours {
        let per_hour = 2 * apis;
        for i in 0..per_hour {
            let api = rng.below(apis as u64) as usize;
            let t = start + h * 60 * MINUTE_MS + i as i64 * 60 * MINUTE_MS / per_hour as i64;
            let err = (api.is_multiple_of(10) && rng.below(4) == 0).then_some(s.errors[api % 3].as_str());
            analyzer.observe(&Observation {
                account_id: "123456789012",
                region: "us-east-1",
                event_source: &s.sources[api],
                event_name: &s.names[api],
                event_time_ms: t,
                is_write: true,
                is_management: true,
                error_code: err,
                user_identity_arn: Some(&s.users[rng.below(1000) as usize]),
                user_agent: Some(&s.agents[rng.below(50) as usize]),
            });
        }
        analyzer.drain();
    }
    analyzer.memory_bytes()
}
