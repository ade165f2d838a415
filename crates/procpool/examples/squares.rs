//! The seed's first demonstration: squares of 1..8 on all cores, then 1..16 on
//! a pool of 4, each task sleeping 2 s so that the elapsed time shows the
//! parallelism (8 tasks on 2 cores: about 8 s; 16 tasks on 4 workers: about 8 s).
//!
//! `cargo run -p procpool --example squares`
use std::time::{Duration, Instant};

use procpool::Pool;

fn compute_square(n: u64) -> String {
    std::thread::sleep(Duration::from_secs(2)); // stands in for CPU-bound work
    format!("{n} squared is {}", n * n)
}

fn main() {
    procpool::init();
    let cores = procpool::available_cores();
    println!("Number of CPU cores available: {cores}");

    let start = Instant::now();
    let pool = Pool::new(cores).expect("pool starts");
    for line in pool
        .map(compute_square, 1..=8, None)
        .expect("tasks succeed")
    {
        println!("{line}");
    }
    drop(pool);
    println!(
        "1..8 on {cores} workers took {:.2} s\n",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let pool = Pool::new(4).expect("pool starts");
    for line in pool
        .map(compute_square, 1..=16, None)
        .expect("tasks succeed")
    {
        println!("{line}");
    }
    drop(pool);
    println!(
        "1..16 on 4 workers took {:.2} s",
        start.elapsed().as_secs_f64()
    );
}
