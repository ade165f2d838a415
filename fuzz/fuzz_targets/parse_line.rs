//! Any bytes: the line parser classifies them (counted, filtered or
//! malformed) without panicking, for every key.
#![no_main]
use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use logtally_core::{Analyzer, GroupBy, Options, Outcome};

thread_local! {
    // One analyzer per key, built once: building compiles regexes.
    static ANALYZERS: RefCell<Vec<Analyzer>> = RefCell::new(
        GroupBy::ALL.iter().map(|&group_by| Analyzer::new(Options { group_by, ..Options::default() })).collect(),
    );
}

fuzz_target!(|data: &[u8]| {
    ANALYZERS.with(|all| {
        for analyzer in all.borrow_mut().iter_mut() {
            if let Outcome::Counted(key) = analyzer.classify(data) {
                let _ = String::from_utf8_lossy(&key);
            }
        }
    });
});
