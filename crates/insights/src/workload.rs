//! Deterministic synthetic workload: days of steady management traffic with daily cycles and
//! Poisson noise, plus injected call-rate spikes and error bursts with their ground truth.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::intern::SplitMix64;
use crate::model::{InsightType, Observation};

const MINUTE_MS: i64 = 60_000;
const DAY_MIN: i64 = 1440;

/// Generator settings.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    pub seed: u64,
    /// Simulated days (default 8).
    pub days: u32,
    /// Time of the first event (default 2025-01-06T00:00:00Z).
    pub start_ms: i64,
    /// Events are delivered up to this much after their event time, in random order
    /// (default 0: time-ordered).
    pub disorder_ms: i64,
    /// Inject anomalies into the last `anomaly_days` days (default 2; 0 for none).
    pub anomaly_days: u32,
    /// Multiplies every base rate (default 1.0).
    pub rate_scale: f64,
    pub account_id: String,
    pub region: String,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            days: 8,
            start_ms: 1_736_121_600_000,
            disorder_ms: 0,
            anomaly_days: 2,
            rate_scale: 1.0,
            account_id: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
        }
    }
}

/// A simulated API.
#[derive(Clone, Debug)]
pub struct ApiProfile {
    pub event_source: &'static str,
    pub event_name: &'static str,
    pub is_write: bool,
    /// Mean calls per minute.
    pub base_rate: f64,
    /// Relative amplitude of the daily cycle.
    pub amplitude: f64,
    /// Hour of the daily peak.
    pub peak_hour: f64,
    /// Background fraction of calls failing with `background_error`.
    pub error_fraction: f64,
    pub background_error: &'static str,
    /// Indices into [`USERS`] and [`AGENTS`] used by this API's steady traffic.
    pub users: Vec<usize>,
    pub agents: Vec<usize>,
}

/// What was injected.
#[derive(Clone, Debug, PartialEq)]
pub enum AnomalyKind {
    /// Extra calls from one principal: total rate ×`multiplier`.
    CallRateSpike { multiplier: f64 },
    /// A fraction of calls fail with `error_code`.
    ErrorBurst { error_code: &'static str, fraction: f64 },
}

/// Ground truth of one injected anomaly.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    pub api: usize,
    pub event_source: &'static str,
    pub event_name: &'static str,
    pub insight_type: InsightType,
    /// Error-rate anomalies only.
    pub error_code: Option<&'static str>,
    pub kind: AnomalyKind,
    pub start_ms: i64,
    pub end_ms: i64,
}

pub const ACCOUNT: &str = "123456789012";

/// Principals of the steady traffic.
pub const USERS: [&str; 8] = [
    "arn:aws:sts::123456789012:assumed-role/DeployRole/codepipeline-1736121600",
    "arn:aws:sts::123456789012:assumed-role/AutoScalingServiceRole/AutoScaling",
    "arn:aws:iam::123456789012:user/alice",
    "arn:aws:iam::123456789012:user/bob",
    "arn:aws:sts::123456789012:assumed-role/LambdaExecution/orders-handler",
    "arn:aws:sts::123456789012:assumed-role/TerraformApply/terraform-ci",
    "arn:aws:sts::123456789012:assumed-role/MonitoringReadOnly/datadog",
    "arn:aws:sts::123456789012:assumed-role/EcsTaskRole/ecs-agent",
];

/// User agents of the steady traffic.
pub const AGENTS: [&str; 6] = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.64 md/Botocore#1.34.64 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.64",
    "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.1",
    "autoscaling.amazonaws.com",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.41.0",
    "console.amazonaws.com",
];

/// The principal and agent of injected spikes.
pub const SPIKE_USER: &str = "arn:aws:sts::123456789012:assumed-role/RunawayJob/batch-reprocess-7";
pub const SPIKE_AGENT: &str = "aws-sdk-java/2.25.11 Linux/5.10.210 OpenJDK_64-Bit_Server_VM/17.0.10 Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard";

fn apis() -> Vec<ApiProfile> {
    let api = |event_source, event_name, is_write, base_rate, amplitude, peak_hour| ApiProfile {
        event_source,
        event_name,
        is_write,
        base_rate,
        amplitude,
        peak_hour,
        error_fraction: 0.0,
        background_error: "",
        users: vec![0, 2, 5],
        agents: vec![0, 1],
    };
    let mut v = vec![
        api("ec2.amazonaws.com", "RunInstances", true, 20.0, 0.4, 14.0),
        api("ec2.amazonaws.com", "TerminateInstances", true, 12.0, 0.4, 15.0),
        api("ec2.amazonaws.com", "CreateTags", true, 120.0, 0.3, 13.0),
        api("ssm.amazonaws.com", "PutParameter", true, 30.0, 0.5, 11.0),
        api(
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
            true,
            15.0,
            0.5,
            16.0,
        ),
        api("logs.amazonaws.com", "CreateLogStream", true, 200.0, 0.35, 12.0),
        api("cloudformation.amazonaws.com", "UpdateStack", true, 10.0, 0.5, 10.0),
        api("ecs.amazonaws.com", "RunTask", true, 60.0, 0.4, 9.0),
        api(
            "autoscaling.amazonaws.com",
            "CompleteLifecycleAction",
            true,
            25.0,
            0.45,
            18.0,
        ),
        api("ec2.amazonaws.com", "DescribeInstances", false, 180.0, 0.3, 14.0),
        api("iam.amazonaws.com", "GetRole", false, 50.0, 0.4, 13.0),
        api("sts.amazonaws.com", "GetCallerIdentity", false, 100.0, 0.35, 15.0),
        api("s3.amazonaws.com", "ListBuckets", false, 20.0, 0.5, 11.0),
    ];
    // Some APIs fail steadily at a low rate.
    v[0].error_fraction = 0.02;
    v[0].background_error = "Client.InsufficientInstanceCapacity";
    v[7].error_fraction = 0.01;
    v[7].background_error = "ThrottlingException";
    v[9].error_fraction = 0.01;
    v[9].background_error = "Client.RequestLimitExceeded";
    v[10].error_fraction = 0.05;
    v[10].background_error = "NoSuchEntityException";
    // Distinct principals and agents per API.
    v[1].users = vec![0, 5];
    v[3].users = vec![4, 5, 2];
    v[4].users = vec![0, 4];
    v[7].users = vec![7, 0];
    v[7].agents = vec![2];
    v[8].users = vec![1];
    v[8].agents = vec![3];
    v[9].users = vec![6, 2, 3, 5];
    v[9].agents = vec![0, 1, 2, 5];
    v[11].users = vec![0, 1, 2, 3, 4, 5, 6, 7];
    v[11].agents = vec![0, 1, 2, 4];
    v
}

/// A generated workload: the APIs, the ground truth, and an event iterator.
#[derive(Clone, Debug)]
pub struct Workload {
    pub config: WorkloadConfig,
    pub apis: Vec<ApiProfile>,
    pub anomalies: Vec<Anomaly>,
}

/// One generated event (strings by index; see [`Workload::observation`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkloadEvent {
    pub event_time_ms: i64,
    pub api: u16,
    /// Index into [`USERS`], or `u16::MAX` for [`SPIKE_USER`].
    pub user: u16,
    /// Index into [`AGENTS`], or `u16::MAX` for [`SPIKE_AGENT`].
    pub agent: u16,
    /// 0: none, 1: the API's background error, 2: the burst error of an anomaly.
    pub error: u8,
    /// Index into the anomalies (for error 2).
    pub anomaly: u16,
}

impl Workload {
    pub fn new(config: WorkloadConfig) -> Self {
        let apis = apis();
        let mut anomalies = Vec::new();
        if config.anomaly_days > 0 && config.days >= 2 {
            let mut rng = SplitMix64::new(config.seed ^ 0xa5a5_5a5a_0f0f_f0f0);
            let first_day = i64::from(config.days.saturating_sub(config.anomaly_days).max(1));
            let last_day = i64::from(config.days) - 1;
            // (api, kind, minutes)
            let plan: [(usize, AnomalyKind, i64); 11] = [
                (2, AnomalyKind::CallRateSpike { multiplier: 5.0 }, 10),
                (0, AnomalyKind::CallRateSpike { multiplier: 50.0 }, 3),
                (3, AnomalyKind::CallRateSpike { multiplier: 10.0 }, 30),
                (4, AnomalyKind::CallRateSpike { multiplier: 20.0 }, 5),
                (5, AnomalyKind::CallRateSpike { multiplier: 5.0 }, 15),
                (1, AnomalyKind::CallRateSpike { multiplier: 8.0 }, 4),
                (6, AnomalyKind::CallRateSpike { multiplier: 30.0 }, 7),
                (8, AnomalyKind::CallRateSpike { multiplier: 6.0 }, 20),
                (
                    9,
                    AnomalyKind::ErrorBurst {
                        error_code: "AccessDenied",
                        fraction: 0.5,
                    },
                    12,
                ),
                (
                    7,
                    AnomalyKind::ErrorBurst {
                        error_code: "ThrottlingException",
                        fraction: 0.7,
                    },
                    8,
                ),
                (
                    10,
                    AnomalyKind::ErrorBurst {
                        error_code: "ExpiredTokenException",
                        fraction: 0.4,
                    },
                    20,
                ),
            ];
            for (api, kind, minutes) in plan {
                let days = last_day - first_day + 1;
                let day = first_day + rng.below(days as u64) as i64;
                // Between 00:30 and 23:00, at a random second.
                let minute_of_day = 30 + rng.below(22 * 60) as i64;
                let start_ms =
                    config.start_ms + (day * DAY_MIN + minute_of_day) * MINUTE_MS + rng.below(60) as i64 * 1000;
                let p = &apis[api];
                let (insight_type, error_code) = match &kind {
                    AnomalyKind::CallRateSpike { .. } => (InsightType::ApiCallRateInsight, None),
                    AnomalyKind::ErrorBurst { error_code, .. } => (InsightType::ApiErrorRateInsight, Some(*error_code)),
                };
                anomalies.push(Anomaly {
                    api,
                    event_source: p.event_source,
                    event_name: p.event_name,
                    insight_type,
                    error_code,
                    kind,
                    start_ms,
                    end_ms: start_ms + minutes * MINUTE_MS,
                });
            }
        }
        Self {
            config,
            apis,
            anomalies,
        }
    }

    /// Events in delivery order (time order when `disorder_ms == 0`).
    pub fn events(&self) -> EventIter<'_> {
        EventIter {
            w: self,
            rng: SplitMix64::new(self.config.seed),
            delay_rng: SplitMix64::new(self.config.seed ^ 0xde1a_7de1_a7de_1a7d),
            minute: 0,
            minutes: i64::from(self.config.days) * DAY_MIN,
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// The analyzer's view of a generated event.
    pub fn observation<'a>(&'a self, e: &WorkloadEvent) -> Observation<'a> {
        let api = &self.apis[e.api as usize];
        let error_code = match e.error {
            1 => Some(api.background_error),
            2 => match &self.anomalies[e.anomaly as usize].kind {
                AnomalyKind::ErrorBurst { error_code, .. } => Some(*error_code),
                AnomalyKind::CallRateSpike { .. } => None,
            },
            _ => None,
        };
        Observation {
            account_id: &self.config.account_id,
            region: &self.config.region,
            event_source: api.event_source,
            event_name: api.event_name,
            event_time_ms: e.event_time_ms,
            is_write: api.is_write,
            is_management: true,
            error_code,
            user_identity_arn: Some(if e.user == u16::MAX {
                SPIKE_USER
            } else {
                USERS[e.user as usize]
            }),
            user_agent: Some(if e.agent == u16::MAX {
                SPIKE_AGENT
            } else {
                AGENTS[e.agent as usize]
            }),
        }
    }

    /// End of the simulated period.
    pub fn end_ms(&self) -> i64 {
        self.config.start_ms + i64::from(self.config.days) * DAY_MIN * MINUTE_MS
    }
}

/// Generates minute by minute; a heap orders events by delivery time.
pub struct EventIter<'a> {
    w: &'a Workload,
    rng: SplitMix64,
    /// Separate, so the same seed generates the same events whatever the disorder.
    delay_rng: SplitMix64,
    minute: i64,
    minutes: i64,
    heap: BinaryHeap<Reverse<(i64, u64, WorkloadEvent)>>,
    seq: u64,
}

impl EventIter<'_> {
    fn push(&mut self, e: WorkloadEvent) {
        let delay = if self.w.config.disorder_ms > 0 {
            self.delay_rng.below(self.w.config.disorder_ms as u64 + 1) as i64
        } else {
            0
        };
        self.seq += 1;
        self.heap.push(Reverse((e.event_time_ms + delay, self.seq, e)));
    }

    fn generate_minute(&mut self) {
        let w = self.w;
        let m0 = w.config.start_ms + self.minute * MINUTE_MS;
        let hour_of_day = (self.minute % DAY_MIN) as f64 / 60.0;
        for (ai, api) in w.apis.iter().enumerate() {
            let cycle = 1.0
                + api.amplitude
                    * (std::f64::consts::TAU * (hour_of_day - api.peak_hour) / 24.0 + std::f64::consts::FRAC_PI_2)
                        .sin();
            let rate = api.base_rate * w.config.rate_scale * cycle;
            let n = self.rng.poisson(rate);
            for _ in 0..n {
                let t = m0 + self.rng.below(MINUTE_MS as u64) as i64;
                let user = api.users[self.rng.below(api.users.len() as u64) as usize] as u16;
                let agent = api.agents[self.rng.below(api.agents.len() as u64) as usize] as u16;
                let mut error = 0;
                let mut anomaly = 0;
                for (i, a) in w.anomalies.iter().enumerate() {
                    if let AnomalyKind::ErrorBurst { fraction, .. } = a.kind
                        && a.api == ai
                        && t >= a.start_ms
                        && t < a.end_ms
                        && self.rng.next_f64() < fraction
                    {
                        error = 2;
                        anomaly = i as u16;
                    }
                }
                if error == 0 && api.error_fraction > 0.0 && self.rng.next_f64() < api.error_fraction {
                    error = 1;
                }
                self.push(WorkloadEvent {
                    event_time_ms: t,
                    api: ai as u16,
                    user,
                    agent,
                    error,
                    anomaly,
                });
            }
            for a in w.anomalies.iter().filter(|a| a.api == ai) {
                let AnomalyKind::CallRateSpike { multiplier } = a.kind else {
                    continue;
                };
                let lo = a.start_ms.max(m0);
                let hi = a.end_ms.min(m0 + MINUTE_MS);
                if hi <= lo {
                    continue;
                }
                let frac = (hi - lo) as f64 / MINUTE_MS as f64;
                let extra = self.rng.poisson((multiplier - 1.0) * rate * frac);
                for _ in 0..extra {
                    let t = lo + self.rng.below((hi - lo) as u64) as i64;
                    self.push(WorkloadEvent {
                        event_time_ms: t,
                        api: ai as u16,
                        user: u16::MAX,
                        agent: u16::MAX,
                        error: 0,
                        anomaly: 0,
                    });
                }
            }
        }
    }
}

impl Iterator for EventIter<'_> {
    type Item = WorkloadEvent;

    fn next(&mut self) -> Option<WorkloadEvent> {
        loop {
            // Everything generated later has an event (and so delivery) time at or after the
            // end of the last generated minute.
            let horizon = self.w.config.start_ms + self.minute * MINUTE_MS;
            if let Some(Reverse((arrival, _, _))) = self.heap.peek()
                && (*arrival < horizon || self.minute >= self.minutes)
            {
                return self.heap.pop().map(|Reverse((_, _, e))| e);
            }
            if self.minute >= self.minutes {
                return None;
            }
            self.generate_minute();
            self.minute += 1;
        }
    }
}
