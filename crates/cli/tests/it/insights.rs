//! Insights through the real binary: two hours of past traffic sent with their own event times
//! (as an import or a forwarder would), a write spike and an error burst inside them. Cairn raises
//! exactly one Start/End pair for each, in event time; LookupEvents finds them with
//! `EventCategory=insight`, the trail delivers them to `CloudTrail-Insight`, ListInsightsMetricData
//! charts the spike, and a restart (which re-reads the log) adds nothing twice.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::delivery::{ALPHA, call, client, create_trail, delivered, rt, serve, setup, uuid};
use crate::wait_for;

const MINUTE: i64 = 60;

fn event(t: i64, name: &str, user: &str, agent: &str, read_only: bool, error: Option<&str>) -> String {
    let mut e = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{ALPHA}:user/{user}"),
                         "accountId": ALPHA, "userName": user},
        "eventTime": jiff::Timestamp::from_second(t).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.0.1",
        "userAgent": agent,
        "requestParameters": null,
        "responseElements": null,
        "eventID": uuid(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ALPHA,
        "eventCategory": "Management",
    });
    if let Some(code) = error {
        e["errorCode"] = json!(code);
        e["errorMessage"] = json!("denied");
    }
    e.to_string()
}

/// Two hours from `t0`: RunInstances 18-22 a minute, DescribeInstances 10 a minute; RunInstances
/// ×10 by another user in minutes 90-96; DescribeInstances failing with AccessDenied 30 times a
/// minute in minutes 100-105.
fn traffic(t0: i64) -> Vec<String> {
    let mut out = Vec::new();
    for m in 0..120 {
        let base = t0 + m * MINUTE;
        for i in 0..(18 + m % 5) {
            out.push(event(
                base + i % 60,
                "RunInstances",
                "alice",
                "aws-cli/2.15",
                false,
                None,
            ));
        }
        for i in 0..10 {
            out.push(event(
                base + 3 + i * 5,
                "DescribeInstances",
                "alice",
                "aws-cli/2.15",
                true,
                None,
            ));
        }
        if (90..97).contains(&m) {
            for i in 0..200 {
                out.push(event(
                    base + i % 60,
                    "RunInstances",
                    "mallory",
                    "evil-script/1.0",
                    false,
                    None,
                ));
            }
        }
        if (100..106).contains(&m) {
            for i in 0..30 {
                out.push(event(
                    base + i * 2,
                    "DescribeInstances",
                    "mallory",
                    "evil-script/1.0",
                    true,
                    Some("AccessDenied"),
                ));
            }
        }
    }
    out
}

fn insights(c: &cairn_server::client::CloudTrailClient, t0: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input =
            json!({"EventCategory": "insight", "StartTime": t0 - 3600, "EndTime": t0 + 4 * 3600, "MaxResults": 50});
        if let Some(t) = &token {
            input["NextToken"] = json!(t);
        }
        let page = call(c, "LookupEvents", input);
        for e in page["Events"].as_array().unwrap() {
            out.push(serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap());
        }
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

#[test]
fn a_spike_and_an_error_burst_raise_one_insight_each_in_event_time() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let env = [("CAIRN_INSIGHTS_BASELINE", "1h"), ("CAIRN_INSIGHTS_IDLE", "2s")];
    let (mut p, addr) = serve(&data, &config, &env);
    let alpha = client(&addr, ALPHA, "us-east-1");
    create_trail(&alpha, "watch", json!({}));
    call(
        &alpha,
        "PutInsightSelectors",
        json!({"TrailName": "watch", "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]}),
    );
    // Two hours ending half an hour ago, whole minutes.
    let t0 = (jiff::Timestamp::now().as_second() - 150 * MINUTE) / MINUTE * MINUTE;
    let events = traffic(t0);
    for chunk in events.chunks(1000) {
        let r = rt()
            .block_on(alpha.ingest_events(chunk.join("\n").into_bytes(), None))
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }

    let found = wait_for("two Start/End pairs", Duration::from_secs(90), || {
        let found = insights(&alpha, t0);
        (found.len() >= 4).then_some(found)
    });
    assert_eq!(found.len(), 4, "unexpected insights: {found:#?}");
    let by = |kind: &str, state: &str| -> &Value {
        found
            .iter()
            .find(|e| e["insightDetails"]["insightType"] == kind && e["insightDetails"]["state"] == state)
            .unwrap_or_else(|| panic!("no {kind} {state}: {found:#?}"))
    };
    let time = |e: &Value| {
        e["eventTime"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
            - t0
    };
    let (start, end) = (by("ApiCallRateInsight", "Start"), by("ApiCallRateInsight", "End"));
    for e in [start, end] {
        assert_eq!(e["eventType"], "AwsCloudTrailInsight");
        assert_eq!(e["eventCategory"], "Insight");
        assert_eq!(e["recipientAccountId"], ALPHA);
        assert_eq!(e["insightDetails"]["eventName"], "RunInstances");
        assert_eq!(e["insightDetails"]["eventSource"], "ec2.amazonaws.com");
    }
    assert_eq!(start["sharedEventID"], end["sharedEventID"]);
    assert_ne!(start["eventID"], end["eventID"]);
    // Started within 2 minutes of minute 90, ended within 5 of minute 97.
    assert!(
        (90 * MINUTE..=92 * MINUTE).contains(&time(start)),
        "start at +{}s",
        time(start)
    );
    assert!(
        (97 * MINUTE..=102 * MINUTE).contains(&time(end)),
        "end at +{}s",
        time(end)
    );
    let ctx = &end["insightDetails"]["insightContext"];
    assert!(
        ctx["statistics"]["insight"]["average"].as_f64().unwrap() > 150.0,
        "{ctx}"
    );
    assert!(
        ctx["statistics"]["baseline"]["average"].as_f64().unwrap() < 30.0,
        "{ctx}"
    );
    let users = ctx["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attribute"] == "userIdentityArn")
        .unwrap();
    assert_eq!(
        users["insight"][0]["value"],
        format!("arn:aws:iam::{ALPHA}:user/mallory")
    );

    let (es, ee) = (by("ApiErrorRateInsight", "Start"), by("ApiErrorRateInsight", "End"));
    assert_eq!(es["sharedEventID"], ee["sharedEventID"]);
    assert_eq!(es["insightDetails"]["errorCode"], "AccessDenied");
    assert_eq!(es["insightDetails"]["eventName"], "DescribeInstances");
    assert!(
        (100 * MINUTE..=102 * MINUTE).contains(&time(es)),
        "error start at +{}s",
        time(es)
    );
    assert!(
        (106 * MINUTE..=111 * MINUTE).contains(&time(ee)),
        "error end at +{}s",
        time(ee)
    );

    // The trail delivers them to its CloudTrail-Insight folder.
    let ids: HashSet<String> = found
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_string())
        .collect();
    wait_for("insight files", Duration::from_secs(30), || {
        let files = delivered(&data);
        let in_folder: HashSet<String> = files
            .iter()
            .filter(|f| {
                f.key
                    .starts_with(&format!("AWSLogs/{ALPHA}/CloudTrail-Insight/us-east-1/"))
            })
            .flat_map(|f| f.ids.clone())
            .collect();
        (in_folder == ids).then_some(())
    });

    // The chart: a minute of the spike against a minute of the baseline.
    let series = call(
        &alpha,
        "ListInsightsMetricData",
        json!({"EventSource": "ec2.amazonaws.com", "EventName": "RunInstances", "InsightType": "ApiCallRateInsight",
               "StartTime": t0, "EndTime": t0 + 120 * MINUTE, "Period": 60}),
    );
    let values = series["Values"].as_array().unwrap();
    assert_eq!(values.len(), 120, "{series}");
    assert_eq!(series["Timestamps"][0].as_f64().unwrap() as i64, t0);
    assert_eq!(values[10].as_f64().unwrap(), 18.0);
    assert_eq!(values[92].as_f64().unwrap(), 220.0);
    let errors = call(
        &alpha,
        "ListInsightsMetricData",
        json!({"EventSource": "ec2.amazonaws.com", "EventName": "DescribeInstances", "InsightType": "ApiErrorRateInsight",
               "ErrorCode": "AccessDenied", "StartTime": t0, "EndTime": t0 + 120 * MINUTE, "Period": 300, "DataType": "NonZeroData"}),
    );
    let total: f64 = errors["Values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert_eq!(total, 180.0, "{errors}");
    assert!(errors["Values"].as_array().unwrap().len() <= 3, "NonZeroData: {errors}");
    let bad = rt()
        .block_on(alpha.call(
            "ListInsightsMetricData",
            &json!({"EventSource": "ec2.amazonaws.com", "EventName": "RunInstances", "InsightType": "Nope"}),
        ))
        .unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), Some("InvalidParameterException"));

    // A restart reads the log again from its start: the same insights, none twice.
    assert!(p.sigterm().success());
    let (mut p, addr) = serve(&data, &config, &env);
    let alpha = client(&addr, ALPHA, "us-east-1");
    // Wait until the replay has read every event sent (the consumer's own counter), then one
    // more idle period for anything the clock would end.
    wait_for("the replay", Duration::from_secs(60), || {
        let (_, metrics) = crate::http_get(&addr, "/metrics").ok()?;
        let read: f64 = metrics
            .lines()
            .find(|l| l.starts_with("cairn_insights_events_read_total"))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()?;
        (read >= events.len() as f64).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    let again = insights(&alpha, t0);
    assert_eq!(again.len(), 4, "{again:#?}");
    assert!(p.sigterm().success());
}
