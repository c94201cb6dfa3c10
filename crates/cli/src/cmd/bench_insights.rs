//! Insights benchmark: counting on one core, through the analysis core alone and through the
//! consumer's whole per-record path (routing, attribution fields read from the JSON), and the
//! memory held for 10,000 APIs with a week of baseline.

use super::bench::{Figure, record_pool};

pub fn insights(quick: bool) -> Vec<Figure> {
    let events = if quick { 1_000_000 } else { 5_000_000 };
    println!("\n== insights: counting management events per minute on one core");
    let core = cairn_insights::bench::observe_throughput(events);
    println!("   analysis core, {events} events (200 APIs, 2 regions, 2 % errors): {core:.0} events/s");
    let records = record_pool(if quick { 200_000 } else { 1_000_000 }, 31);
    let path = cairn_server::insights::bench_observe(&records);
    println!(
        "   consumer path over {} synthetic CloudTrail records: {path:.0} events/s",
        records.len()
    );
    drop(records);
    let bytes = cairn_insights::bench::memory_for_apis(10_000, 7);
    println!("   10,000 APIs after 7 days: {:.1} MB", bytes as f64 / 1e6);
    vec![
        Figure::new("insights: counting, analysis core, one core", core, "ev/s").at_least(500_000.0),
        Figure::new("insights: counting, consumer path, one core", path, "ev/s").at_least(500_000.0),
        Figure::new(
            "insights: memory for 10,000 APIs, 7-day baseline",
            bytes as f64 / 1e6,
            "MB",
        )
        .at_most(100.0),
    ]
}
