//! Any bytes: the line parser classifies them (counted, filtered or
//! malformed) without panicking, for every key and every log format (the
//! book's pattern, each preset, an nginx and an Apache format string).
#![no_main]
use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use logtally_core::{Analyzer, GroupBy, Options, Outcome, LOG_FORMAT_PRESETS};

const NGINX: &str = r#"$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time"#;
const APACHE: &str = r#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D"#;

thread_local! {
    // Analyzers built once: building compiles regexes and formats.
    static ANALYZERS: RefCell<Vec<Analyzer>> = RefCell::new({
        let keys = GroupBy::ALL.iter().map(|&group_by| Options { group_by, ..Options::default() });
        let book = GroupBy::ALL.iter().map(|&group_by| Options { group_by, book_compat: true, ..Options::default() });
        let formats = LOG_FORMAT_PRESETS.iter().copied().chain([NGINX, APACHE]).map(|f| Options {
            group_by: GroupBy::Hour,
            log_format: f.to_string(),
            ..Options::default()
        });
        keys.chain(book).chain(formats).map(Analyzer::new).collect()
    });
}

fuzz_target!(|data: &[u8]| {
    ANALYZERS.with(|all| {
        for analyzer in all.borrow_mut().iter_mut() {
            if let Outcome::Counted { key, .. } = analyzer.classify(data) {
                let _ = String::from_utf8_lossy(&key);
            }
        }
    });
});
