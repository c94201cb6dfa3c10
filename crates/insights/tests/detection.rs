//! Detection accuracy, false positives, determinism, lateness and imports on the synthetic
//! workload.

use cairn_insights::workload::{Workload, WorkloadConfig};
use cairn_insights::{Analyzer, DetectorConfig, InsightEvent, InsightState, InsightType, Observation, SeriesRef};

const MINUTE_MS: i64 = 60_000;

fn run(w: &Workload, cfg: DetectorConfig) -> Vec<InsightEvent> {
    let mut a = Analyzer::new(cfg).unwrap();
    let mut out = Vec::new();
    for e in w.events() {
        a.observe(&w.observation(&e));
    }
    a.flush();
    out.extend(a.drain());
    out
}

/// Matches every anomaly to a Start/End pair; returns (delays, false-positive Starts).
fn evaluate(w: &Workload, events: &[InsightEvent]) -> (Vec<String>, Vec<String>) {
    let mut failures = Vec::new();
    let mut matched = vec![false; events.len()];
    for a in &w.anomalies {
        let start = events.iter().enumerate().find(|(_, e)| {
            e.state == InsightState::Start
                && e.event_source == a.event_source
                && e.event_name == a.event_name
                && e.insight_type == a.insight_type
                && e.error_code.as_deref() == a.error_code
                && (e.event_time_ms - a.start_ms).abs() <= 2 * MINUTE_MS
        });
        let Some((si, s)) = start else {
            failures.push(format!("MISSED {a:?}"));
            continue;
        };
        let end = events
            .iter()
            .enumerate()
            .find(|(_, e)| e.state == InsightState::End && e.shared_id == s.shared_id);
        let Some((ei, e)) = end else {
            failures.push(format!("NO END for {a:?}"));
            continue;
        };
        let start_delay = (s.event_time_ms - a.start_ms) as f64 / 1000.0;
        let end_delay = (e.event_time_ms - a.end_ms) as f64 / 1000.0;
        println!(
            "{:>38} {:<20} {:?} start {start_delay:+6.0}s end {end_delay:+6.0}s \
             baseline {:.2}/min insight(start) {:.1}/min insight(end) {:.1}/min {} min",
            format!("{}:{}", a.event_source, a.event_name),
            a.error_code.unwrap_or("-"),
            a.kind,
            s.statistics.baseline_average,
            s.statistics.insight_average,
            e.statistics.insight_average,
            e.statistics.insight_duration,
        );
        if (e.event_time_ms - a.end_ms).abs() > 5 * MINUTE_MS {
            failures.push(format!("END {end_delay}s off for {a:?}"));
        }
        matched[si] = true;
        matched[ei] = true;
    }
    let fps: Vec<String> = events
        .iter()
        .zip(&matched)
        .filter(|(e, m)| !**m && e.state == InsightState::Start)
        .map(|(e, _)| format!("{e:?}"))
        .collect();
    (failures, fps)
}

#[test]
fn eight_days_every_anomaly_detected_no_false_positives() {
    let w = Workload::new(WorkloadConfig::default());
    let events = run(&w, DetectorConfig::default());
    let (failures, fps) = evaluate(&w, &events);
    println!(
        "anomalies {} insight events {} false positives {}",
        w.anomalies.len(),
        events.len(),
        fps.len()
    );
    for fp in &fps {
        println!("FALSE POSITIVE {fp}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(fps.is_empty(), "{} false positives", fps.len());
    // Every Start has its End.
    let starts = events.iter().filter(|e| e.state == InsightState::Start).count();
    assert_eq!(starts * 2, events.len());
    // Nothing in the steady days.
    let anomalies_from = w.anomalies.iter().map(|a| a.start_ms).min().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.insight_start_ms >= anomalies_from - 2 * MINUTE_MS)
    );
}

#[test]
fn eight_steady_days_raise_nothing() {
    let w = Workload::new(WorkloadConfig {
        seed: 7,
        anomaly_days: 0,
        ..WorkloadConfig::default()
    });
    let events = run(&w, DetectorConfig::default());
    for e in &events {
        println!("FALSE POSITIVE {e:?}");
    }
    assert!(events.is_empty(), "{} false positives", events.len());
}

#[test]
fn deterministic() {
    let w = Workload::new(WorkloadConfig {
        days: 2,
        ..WorkloadConfig::default()
    });
    let cfg = short_config();
    let a = run(&w, cfg.clone());
    let b = run(&w, cfg);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

/// A 6-hour window (non-seasonal) for fast tests.
fn short_config() -> DetectorConfig {
    DetectorConfig {
        baseline_minutes: 360,
        ..DetectorConfig::default()
    }
}

#[test]
fn short_window_detects_too() {
    let w = Workload::new(WorkloadConfig {
        days: 2,
        anomaly_days: 1,
        ..WorkloadConfig::default()
    });
    let events = run(&w, short_config());
    let (failures, fps) = evaluate(&w, &events);
    println!("false positives {}", fps.len());
    for fp in &fps {
        println!("FALSE POSITIVE {fp}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(fps.len() <= 1, "{} false positives", fps.len());
}

#[test]
fn disorder_within_lateness_changes_nothing() {
    let base = WorkloadConfig {
        days: 2,
        anomaly_days: 1,
        ..WorkloadConfig::default()
    };
    let ordered = Workload::new(base.clone());
    let shuffled = Workload::new(WorkloadConfig {
        disorder_ms: 110_000,
        ..base
    });
    let a = run(&ordered, short_config());
    let b = run(&shuffled, short_config());
    assert!(!a.is_empty());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
}

#[test]
fn old_import_in_another_partition_is_analysed_in_its_own_period() {
    let live = Workload::new(WorkloadConfig {
        days: 2,
        anomaly_days: 1,
        seed: 1,
        ..WorkloadConfig::default()
    });
    // Thirty days older, other region, imported after the live region's events.
    let old = Workload::new(WorkloadConfig {
        days: 2,
        anomaly_days: 1,
        seed: 2,
        start_ms: WorkloadConfig::default().start_ms - 30 * 1440 * MINUTE_MS,
        region: "eu-west-1".to_owned(),
        ..WorkloadConfig::default()
    });
    let alone_live = run(&live, short_config());
    let alone_old = run(&old, short_config());
    assert!(!alone_old.is_empty());

    let mut a = Analyzer::new(short_config()).unwrap();
    for e in live.events() {
        a.observe(&live.observation(&e));
    }
    a.advance(live.end_ms() + 10 * MINUTE_MS);
    for e in old.events() {
        a.observe(&old.observation(&e));
    }
    a.flush();
    let together = a.drain();
    let (mut got_live, mut got_old): (Vec<_>, Vec<_>) = together.into_iter().partition(|e| e.region == "us-east-1");
    got_live.sort_by_key(|e| (e.event_time_ms, e.shared_id.clone()));
    got_old.sort_by_key(|e| (e.event_time_ms, e.shared_id.clone()));
    let mut alone_live = alone_live;
    let mut alone_old = alone_old;
    alone_live.sort_by_key(|e| (e.event_time_ms, e.shared_id.clone()));
    alone_old.sort_by_key(|e| (e.event_time_ms, e.shared_id.clone()));
    assert_eq!(got_old, alone_old);
    assert_eq!(got_live, alone_live);
    assert!(got_old.iter().all(|e| e.event_time_ms < live.config.start_ms));
}

#[test]
fn late_events_feed_the_baseline_only() {
    let cfg = DetectorConfig {
        baseline_minutes: 60,
        ..DetectorConfig::default()
    };
    let mut a = Analyzer::new(cfg).unwrap();
    let t0 = 1_736_121_600_000i64;
    let obs = |t: i64| Observation {
        account_id: "1",
        region: "r",
        event_source: "s",
        event_name: "n",
        event_time_ms: t,
        is_write: true,
        is_management: true,
        error_code: None,
        user_identity_arn: None,
        user_agent: None,
    };
    // Two hours of 10/min.
    for m in 0..120 {
        for i in 0..10 {
            a.observe(&obs(t0 + m * MINUTE_MS + i * 5000));
        }
    }
    // A late burst in minute 60 (already final): no insight, but counted.
    for _ in 0..500 {
        a.observe(&obs(t0 + 60 * MINUTE_MS + 1));
    }
    a.flush();
    assert!(a.drain().is_empty());
    let key = SeriesRef {
        account_id: "1",
        region: "r",
        event_source: "s",
        event_name: "n",
        insight_type: InsightType::ApiCallRateInsight,
        error_code: None,
    };
    let chart = a.series(&key, t0 + 59 * MINUTE_MS, t0 + 62 * MINUTE_MS);
    assert_eq!(
        chart,
        vec![
            (t0 + 59 * MINUTE_MS, 10),
            (t0 + 60 * MINUTE_MS, 510),
            (t0 + 61 * MINUTE_MS, 10)
        ]
    );
}

#[test]
fn quiet_partition_ends_its_insight_on_advance() {
    let cfg = DetectorConfig {
        baseline_minutes: 60,
        ..DetectorConfig::default()
    };
    let mut a = Analyzer::new(cfg).unwrap();
    let t0 = 1_736_121_600_000i64;
    let feed = |a: &mut Analyzer, m: i64, n: i64| {
        for i in 0..n {
            a.observe(&Observation {
                account_id: "1",
                region: "r",
                event_source: "s",
                event_name: "n",
                event_time_ms: t0 + m * MINUTE_MS + i * (MINUTE_MS / n),
                is_write: true,
                is_management: true,
                error_code: None,
                user_identity_arn: Some("arn:aws:iam::1:user/x"),
                user_agent: None,
            });
        }
    };
    for m in 0..90 {
        feed(&mut a, m, 10);
    }
    for m in 90..95 {
        feed(&mut a, m, 100);
    }
    // The burst stops and so does all traffic: nothing finalises minute 94 yet.
    let events = a.drain();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].state, InsightState::Start);
    assert_eq!(events[0].event_time_ms, t0 + 90 * MINUTE_MS);
    a.advance(t0 + 96 * MINUTE_MS); // saw events since the last call: not moved
    assert!(a.drain().is_empty());
    a.advance(t0 + 102 * MINUTE_MS);
    let events = a.drain();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].state, InsightState::End);
    assert_eq!(events[0].event_time_ms, t0 + 95 * MINUTE_MS);
    assert_eq!(events[0].statistics.insight_duration, 5);
    assert!((events[0].statistics.insight_average - 100.0).abs() < 1e-9);
}

/// `cargo test -p cairn-insights --release -- --ignored many_seeds --nocapture`
#[test]
#[ignore = "slow: 5 x 8 simulated days"]
fn many_seeds() {
    let (mut missed, mut fps, mut total) = (0, 0, 0);
    for seed in 100..105 {
        let w = Workload::new(WorkloadConfig {
            seed,
            ..WorkloadConfig::default()
        });
        let events = run(&w, DetectorConfig::default());
        let (failures, fp) = evaluate(&w, &events);
        for f in failures.iter().chain(&fp) {
            println!("seed {seed}: {f}");
        }
        missed += failures.len();
        fps += fp.len();
        total += w.anomalies.len();
    }
    for (seed, scale) in [(200, 0.3), (201, 3.0)] {
        let w = Workload::new(WorkloadConfig {
            seed,
            rate_scale: scale,
            anomaly_days: 0,
            ..WorkloadConfig::default()
        });
        let events = run(&w, DetectorConfig::default());
        for e in &events {
            println!("steady x{scale}: FALSE POSITIVE {e:?}");
        }
        fps += events.len() / 2;
    }
    println!("anomalies {total} missed/late {missed} false positives {fps}");
    assert_eq!(missed, 0);
    assert_eq!(fps, 0);
}

#[test]
fn attribution_values_stay_bounded() {
    let cfg = DetectorConfig {
        baseline_minutes: 60,
        max_attribution_values: 2_000,
        ..DetectorConfig::default()
    };
    let mut a = Analyzer::new(cfg).unwrap();
    let t0 = 1_736_121_600_000i64;
    let mut n = 0u64;
    for m in 0..150i64 {
        let spike = (120..125).contains(&m);
        let calls = if spike { 200 } else { 20 };
        for i in 0..calls {
            n += 1;
            // Every steady call from a fresh session: unbounded distinct ARNs.
            let arn = if spike && i % 10 != 0 {
                "arn:aws:iam::1:user/spiker".to_owned()
            } else {
                format!("arn:aws:sts::1:assumed-role/R/session-{n}")
            };
            a.observe(&Observation {
                account_id: "1",
                region: "r",
                event_source: "s",
                event_name: "n",
                event_time_ms: t0 + m * MINUTE_MS + i * (MINUTE_MS / calls),
                is_write: true,
                is_management: true,
                error_code: None,
                user_identity_arn: Some(&arn),
                user_agent: Some("ua"),
            });
        }
    }
    a.flush();
    let events = a.drain();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].attributions[0].insight[0].value, "arn:aws:iam::1:user/spiker");
    // ~3,500 distinct ARNs were seen; far fewer strings are held.
    assert!(a.memory_bytes() < 1_000_000, "{}", a.memory_bytes());
}

#[test]
fn error_rate_chart_series() {
    let mut a = Analyzer::new(DetectorConfig::default()).unwrap();
    let t0 = 1_736_121_600_000i64;
    for (m, code) in [(0, Some("AccessDenied")), (0, None), (2, Some("AccessDenied"))] {
        a.observe(&Observation {
            account_id: "1",
            region: "r",
            event_source: "s",
            event_name: "Get",
            event_time_ms: t0 + m * MINUTE_MS,
            is_write: false,
            is_management: true,
            error_code: code,
            user_identity_arn: None,
            user_agent: None,
        });
    }
    let key = SeriesRef {
        account_id: "1",
        region: "r",
        event_source: "s",
        event_name: "Get",
        insight_type: InsightType::ApiErrorRateInsight,
        error_code: Some("AccessDenied"),
    };
    assert_eq!(
        a.series(&key, t0, t0 + 3 * MINUTE_MS),
        vec![(t0, 1), (t0 + MINUTE_MS, 0), (t0 + 2 * MINUTE_MS, 1)]
    );
    // Reads have no call-rate series.
    let calls = SeriesRef {
        insight_type: InsightType::ApiCallRateInsight,
        error_code: None,
        ..key
    };
    assert!(a.series(&calls, t0, t0 + 3 * MINUTE_MS).is_empty());
    assert_eq!(a.series_count(), 1);
}
