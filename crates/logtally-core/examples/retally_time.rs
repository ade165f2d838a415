//! Times counting kept records again against reading the files (a profile aid):
//! `cargo run --release --features rayon --example retally_time -- WHERE FILE...`
use std::time::Instant;

use logtally_core::parallel::{analyze_parallel_indexed, retally_parallel};
use logtally_core::{Analyzer, UserOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (condition, files) = args.split_first().expect("WHERE FILE...");
    let report = UserOptions {
        report: true,
        ..UserOptions::default()
    };
    let analyzer = Analyzer::new(report.compile().unwrap());
    let started = Instant::now();
    let plain: u64 = files
        .iter()
        .map(|f| {
            logtally_core::parallel::analyze_parallel(
                &analyzer,
                f,
                std::fs::File::open(f).unwrap(),
                4,
            )
            .totals
            .counted
        })
        .sum();
    println!(
        "read only: {:.2} s ({plain} counted)",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let kept: Vec<_> = files
        .iter()
        .map(|f| analyze_parallel_indexed(&analyzer, f, std::fs::File::open(f).unwrap(), 4).1)
        .collect();
    let bytes: usize = kept.iter().map(|k| k.heap_bytes()).sum();
    let lines: usize = kept.iter().map(|k| k.records()).sum();
    println!(
        "read and kept: {:.2} s, {} MB for {} records",
        started.elapsed().as_secs_f64(),
        bytes / 1_000_000,
        lines
    );
    let filtered = UserOptions {
        conditions: vec![condition.clone()],
        ..report.clone()
    };
    for options in [filtered, report] {
        let analyzer = Analyzer::new(options.compile().unwrap());
        let started = Instant::now();
        let kept: Vec<_> = kept.iter().collect();
        // LOGTALLY_REPEAT=N counts N times (for a profile of the counting alone).
        let repeat: usize = std::env::var("LOGTALLY_REPEAT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let mut counted = 0;
        for _ in 0..repeat {
            counted = retally_parallel(&analyzer, &kept).totals.counted;
        }
        println!(
            "{:?}: {:.2} s, {} counted",
            options.conditions,
            started.elapsed().as_secs_f64(),
            counted
        );
    }
}
