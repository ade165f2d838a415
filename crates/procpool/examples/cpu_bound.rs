//! A pool of 4 against a serial loop on truly CPU-bound work (counting primes),
//! so the speed-up reflects the cores the machine has.
//!
//! `cargo run --release -p procpool --example cpu_bound`
use std::time::Instant;

use procpool::Pool;

fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

fn main() {
    procpool::init();
    let work = vec![2_000_000u64; 8];

    let start = Instant::now();
    let serial: Vec<u64> = work.iter().map(|&n| count_primes(n)).collect();
    let serial_time = start.elapsed().as_secs_f64();
    println!("serial:     {serial_time:.2} s");

    let pool = Pool::new(4).expect("pool starts");
    let start = Instant::now();
    let parallel = pool
        .map(count_primes, work, Some(1))
        .expect("tasks succeed");
    let pool_time = start.elapsed().as_secs_f64();
    println!(
        "pool of 4:  {pool_time:.2} s ({:.2}x on {} cores)",
        serial_time / pool_time,
        procpool::available_cores()
    );
    assert_eq!(serial, parallel);
}
