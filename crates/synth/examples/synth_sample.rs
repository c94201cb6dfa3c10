//! Prints records, or measures generation speed and size.
//!
//! `cargo run --release -p cairn-synth --example synth_sample -- print 5`
//! `cargo run --release -p cairn-synth --example synth_sample -- bench 1000000 [target_bytes]`

use std::time::Instant;

use cairn_synth::{Workload, WorkloadConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("print", String::as_str);
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let target: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut w = Workload::new(WorkloadConfig {
        target_record_bytes: target,
        ..WorkloadConfig::default()
    });
    if mode == "print" {
        for r in w.by_ref().take(n) {
            println!("{r}");
        }
        return;
    }
    let start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        bytes += w.next_record().len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} records in {secs:.3} s: {:.0} records/s, {:.1} MB/s, mean {:.1} bytes",
        n as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes as f64 / n as f64
    );
}
