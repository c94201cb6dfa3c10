//! `cargo run --release -p cairn-insights --example insights_bench [events]`
//!
//! Prints the single-core throughput of `Analyzer::observe` and the memory held for 10,000 APIs
//! after a week of traffic.

fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let (per_sec, bytes) = cairn_insights::bench_counting(events);
    println!("observe: {events} events, {per_sec:.0} events/s on one core");
    println!(
        "memory: 10,000 APIs with 7 days of baseline: {:.1} MB",
        bytes as f64 / 1e6
    );
}
