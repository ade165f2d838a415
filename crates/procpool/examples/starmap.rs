//! `starmap` passes each tuple as the function's arguments (the seed's example).
//!
//! `cargo run -p procpool --example starmap`
use procpool::Pool;

fn compute_power(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

fn main() {
    procpool::init();
    let pool = Pool::new(procpool::available_cores()).expect("pool starts");
    let results = pool
        .starmap(compute_power, vec![(2, 3), (3, 4), (4, 5)], None)
        .expect("tasks succeed");
    println!("{results:?}"); // [8, 81, 1024]
}
