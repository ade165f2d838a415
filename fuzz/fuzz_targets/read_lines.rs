//! Any bytes as a file (gzip or not): reading never panics, and every line
//! read is accounted for, in one pass and in blocks alike.
#![no_main]
use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use logtally_core::read::LineReader;
use logtally_core::{Analyzer, Options, Partial, StreamEnd};

thread_local! {
    static ANALYZER: RefCell<Analyzer> = RefCell::new(Analyzer::new(options()));
}

fn options() -> Options {
    Options { max_line: 200, ..Options::default() }
}

fuzz_target!(|data: &[u8]| {
    ANALYZER.with(|a| check(&mut a.borrow_mut(), data));
});

fn check(analyzer: &mut Analyzer, data: &[u8]) {
    let options = options();
    let one_pass = analyzer.analyze("fuzz", data);
    assert!(one_pass.totals.balanced());
    let mut lines = LineReader::with_max_line(data, options.max_line);
    let mut total = Partial::default();
    let mut error = None;
    loop {
        match lines.next_block(97) {
            Ok(Some(block)) => total.merge(analyzer.analyze_block(&block), options.malformed_samples),
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    assert_eq!(analyzer.finish(total, StreamEnd::of("fuzz", &lines, error)), one_pass);
}
