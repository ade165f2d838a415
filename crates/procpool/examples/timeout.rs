//! `apply_async` with a timeout (the seed's example): a 5 s task, waited for 3 s.
//!
//! `cargo run -p procpool --example timeout`
use std::time::Duration;

use procpool::{Pool, PoolError};

fn long_running_task(n: u64) -> String {
    std::thread::sleep(Duration::from_secs(n));
    format!("Task {n} completed.")
}

fn main() {
    procpool::init();
    let pool = Pool::new(2).expect("pool starts");
    let async_result = pool.apply_async(long_running_task, 5).expect("submitted");
    match async_result.get(Some(Duration::from_secs(3))) {
        Ok(result) => println!("{result}"),
        Err(PoolError::Timeout) => println!("Task timed out."),
        Err(e) => println!("Task failed: {e}"),
    }
    // The handle and the pool stay usable after a timeout.
    println!("{}", async_result.get(None).expect("the task finishes"));
}
