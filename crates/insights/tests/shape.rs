//! `insightDetails` shape and the memory bound.

use cairn_insights::workload::{SPIKE_AGENT, SPIKE_USER, Workload, WorkloadConfig};
use cairn_insights::{Analyzer, DetectorConfig, InsightEvent, InsightState, InsightType, insight_details_json};
use serde_json::Value;

fn insights() -> Vec<InsightEvent> {
    let w = Workload::new(WorkloadConfig {
        days: 2,
        anomaly_days: 1,
        ..WorkloadConfig::default()
    });
    let mut a = Analyzer::new(DetectorConfig {
        baseline_minutes: 360,
        ..DetectorConfig::default()
    })
    .unwrap();
    for e in w.events() {
        a.observe(&w.observation(&e));
    }
    a.flush();
    a.drain()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn insight_details_have_the_cloudtrail_shape() {
    let events = insights();
    let calls = events
        .iter()
        .filter(|e| e.insight_type == InsightType::ApiCallRateInsight)
        .count();
    assert!(calls > 0 && calls < events.len(), "both insight types");
    for e in &events {
        let d = insight_details_json(e);
        let is_error = e.insight_type == InsightType::ApiErrorRateInsight;
        let mut want = vec!["eventName", "eventSource", "insightContext", "insightType", "state"];
        if is_error {
            want.push("errorCode");
            want.sort_unstable();
            assert_eq!(d["errorCode"], e.error_code.clone().unwrap().as_str());
        }
        assert_eq!(keys(&d), want);
        assert_eq!(d["state"], e.state.as_str());
        assert_eq!(d["insightType"], e.insight_type.as_str());
        let ctx = &d["insightContext"];
        assert_eq!(keys(ctx), ["attributions", "statistics"]);
        let st = &ctx["statistics"];
        assert_eq!(keys(st), ["baseline", "baselineDuration", "insight", "insightDuration"]);
        assert!(st["baseline"]["average"].is_f64());
        assert!(st["insight"]["average"].as_f64().unwrap() > st["baseline"]["average"].as_f64().unwrap());
        assert!(st["insightDuration"].as_u64().unwrap() >= 1);
        assert!(st["baselineDuration"].as_u64().unwrap() >= 180);
        let attrs = ctx["attributions"].as_array().unwrap();
        let names: Vec<&str> = attrs.iter().map(|a| a["attribute"].as_str().unwrap()).collect();
        if is_error {
            assert_eq!(names, ["userIdentityArn", "userAgent"]);
        } else {
            assert_eq!(names, ["userIdentityArn", "userAgent", "errorCode"]);
        }
        for a in attrs {
            assert_eq!(keys(a), ["attribute", "baseline", "insight"]);
            let new_error = st["baseline"]["average"].as_f64().unwrap() == 0.0;
            for (i, list) in [&a["insight"], &a["baseline"]].into_iter().enumerate() {
                let list = list.as_array().unwrap();
                // A never seen error code has an empty baseline list.
                assert!((!list.is_empty() || (i == 1 && new_error)) && list.len() <= 5);
                let avgs: Vec<f64> = list
                    .iter()
                    .map(|v| {
                        assert_eq!(keys(v), ["average", "value"]);
                        v["average"].as_f64().unwrap()
                    })
                    .collect();
                assert!(avgs.windows(2).all(|p| p[0] >= p[1]), "sorted desc: {avgs:?}");
            }
        }
        if !is_error {
            let err = &attrs[2];
            let values: Vec<&str> = err["baseline"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["value"].as_str().unwrap())
                .collect();
            assert!(values.contains(&"null"), "{values:?}");
            // Spikes come from one runaway principal.
            let top = &attrs[0]["insight"][0]["value"];
            assert_eq!(top, SPIKE_USER, "{d:#}");
            assert_eq!(attrs[1]["insight"][0]["value"], SPIKE_AGENT);
        }
    }
    let start = events.iter().find(|e| e.state == InsightState::Start).unwrap();
    println!("{:#}", insight_details_json(start));
}

#[test]
fn ten_thousand_apis_with_a_week_of_baseline_fit_in_100_mb() {
    let bytes = cairn_insights::bench::memory_for_apis(10_000, 7);
    println!("10,000 APIs, 7 days: {:.1} MB", bytes as f64 / 1e6);
    assert!(bytes <= 100_000_000, "{bytes} bytes");
}
