//! `imap` keeps the submission order, `imap_unordered` yields results as they
//! finish: tasks sleep 3, 1 and 2 s (the seed's example), on 3 workers.
//!
//! `cargo run -p procpool --example imap_order`
use std::time::{Duration, Instant};

use procpool::Pool;

fn compute_power(n: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(n));
    n * n
}

fn main() {
    procpool::init();
    let pool = Pool::new(3).expect("pool starts");
    let start = Instant::now();
    for result in pool
        .imap(compute_power, [3, 1, 2], None)
        .expect("submitted")
    {
        println!(
            "imap:           {} at {:.1} s",
            result.expect("task succeeds"),
            start.elapsed().as_secs_f64()
        );
    }
    let start = Instant::now();
    for result in pool
        .imap_unordered(compute_power, [3, 1, 2], None)
        .expect("submitted")
    {
        println!(
            "imap_unordered: {} at {:.1} s",
            result.expect("task succeeds"),
            start.elapsed().as_secs_f64()
        );
    }
}
