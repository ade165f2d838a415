//! Any bytes: the line parser classifies them (counted, filtered or
//! malformed) without panicking, and a counted line has a key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use logtally_core::{Analyzer, GroupBy, Options, Outcome};

fuzz_target!(|data: &[u8]| {
    for group_by in GroupBy::ALL {
        let mut analyzer = Analyzer::new(Options { group_by, ..Options::default() });
        if let Outcome::Counted(key) = analyzer.classify(data) {
            let _ = String::from_utf8_lossy(&key);
        }
    }
});
