//! Counting kept records again (the page's filter changes) gives what a run
//! over the files with the new options gives: every panel, visitor, bucket,
//! and the accounting of every line, for filters, panels, buckets, prefixes.

use std::io::Read;

use logtally_core::parallel::{analyze_parallel_indexed, retally_parallel};
use logtally_core::{Analyzer, FileRecords, GroupBy, Tally, UserOptions};

fn sample() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/apache_logs.gz");
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    text
}

fn generated() -> Vec<u8> {
    let mut text = Vec::new();
    let mut rng = logtally_gen::Rng::new(42);
    logtally_gen::write_lines(&mut text, &mut rng, 20_000, logtally_gen::Style::Wild).unwrap();
    text
}

/// A W3C log: directive lines (always filtered) and a request time.
fn w3c() -> Vec<u8> {
    let mut text = b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes time-taken\n".to_vec();
    for i in 0..3000 {
        let status = [200, 404, 500, 301][i % 4];
        text.extend_from_slice(
            format!(
                "2024-03-0{} 10:{:02}:{:02} 10.0.0.1 {} /p/{} - 443 - 192.168.1.{} Mozilla/5.0+(Windows+NT+10.0) http://r{}.example/ {status} 0 0 {} {}\n",
                1 + i % 3, i % 60, i % 59, if i % 5 == 0 { "POST" } else { "GET" }, i % 37, i % 50, i % 3, 100 + i, i % 900
            )
            .as_bytes(),
        );
        if i % 1000 == 999 {
            text.extend_from_slice(b"#Date: 2024-03-02 00:00:00\nnot a record\n");
        }
    }
    text
}

/// Records whose UTC offsets differ from line to line: their local hours
/// and days (the hour and day panels' keys) go back and forth.
fn zones() -> Vec<u8> {
    let start = chrono::DateTime::from_timestamp(1_431_900_000, 0).unwrap();
    let mut text = Vec::new();
    for i in 0..4000i64 {
        let minutes = [0, 330, -420, -30, 840, -720][(i % 6) as usize];
        let offset = chrono::FixedOffset::east_opt(minutes * 60).unwrap();
        let time = (start + chrono::Duration::seconds(i * 47)).with_timezone(&offset);
        text.extend_from_slice(
            format!(
                "10.0.{}.{} - - [{}] \"GET /z/{} HTTP/1.1\" {} 10 \"-\" \"ua{}\"\n",
                i % 7,
                i % 11,
                time.format("%d/%b/%Y:%H:%M:%S %z"),
                i % 13,
                [200, 404][(i % 2) as usize],
                i % 3
            )
            .as_bytes(),
        );
    }
    text
}

/// A few visitors' runs of records across local midnights: the same host
/// and agent on either side of one are two visitors (GoAccess's, by day).
fn midnight() -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..600i64 {
        let offset = chrono::FixedOffset::east_opt([0, 3_600][(i / 200) as usize % 2]).unwrap();
        let time = chrono::DateTime::from_timestamp(1_431_907_000 + i * 20, 0)
            .unwrap()
            .with_timezone(&offset);
        text.extend_from_slice(
            format!(
                "10.1.0.{} - - [{}] \"GET /m/{} HTTP/1.1\" 200 10 \"-\" \"ua{}\"\n",
                i / 50 % 3,
                time.format("%d/%b/%Y:%H:%M:%S %z"),
                i % 5,
                i / 50 % 2
            )
            .as_bytes(),
        );
    }
    text
}

fn report(options: UserOptions) -> UserOptions {
    UserOptions {
        report: true,
        all: true,
        ..options
    }
}

/// Option sets that change only what the records count for.
fn changes() -> Vec<UserOptions> {
    let with = |conditions: &[&str]| {
        report(UserOptions {
            conditions: conditions.iter().map(|c| c.to_string()).collect(),
            ..UserOptions::default()
        })
    };
    vec![
        report(UserOptions::default()),
        with(&["status>=400"]),
        with(&["status=404", "method!=POST"]),
        with(&["path~^/(blog|p)/", "agent!~(?i)bot"]),
        with(&["host=10.0.0.0/8"]),
        with(&["bytes>10000"]),
        with(&["referrer~example"]),
        report(UserOptions {
            since: Some("2015-05-18".into()),
            until: Some("2015-05-19T12:00".into()),
            ..UserOptions::default()
        }),
        report(UserOptions {
            panels: vec![GroupBy::Status, GroupBy::Path],
            bucket: Some("5m".parse().unwrap()),
            ..UserOptions::default()
        }),
        // Panels whose keys one field gives, found once per value when
        // counting again, beside ones that need two fields or the time.
        report(UserOptions {
            panels: vec![
                GroupBy::AgentProduct,
                GroupBy::NotFound,
                GroupBy::Static,
                GroupBy::ReferrerHost,
                GroupBy::Host,
                GroupBy::Day,
            ],
            bucket: Some("15m".parse().unwrap()),
            conditions: vec!["status!=200".into()],
            ..UserOptions::default()
        }),
        // One key over time.
        report(UserOptions {
            panels: vec![GroupBy::Path],
            bucket: Some("1h".parse().unwrap()),
            ..UserOptions::default()
        }),
        report(UserOptions {
            prefix: Some("/blog/".into()),
            exclude_ext: vec![".xml".into()],
            ..UserOptions::default()
        }),
        report(UserOptions {
            no_path_filter: true,
            conditions: vec!["method=GET".into()],
            ..UserOptions::default()
        }),
    ]
}

fn read(options: &UserOptions, name: &str, text: &[u8]) -> Tally {
    Analyzer::new(options.compile().unwrap()).analyze(name, text)
}

fn same(ours: &Tally, theirs: &Tally, options: &UserOptions, what: &str) {
    assert_eq!(ours.totals, theirs.totals, "{what}");
    assert_eq!(ours.files, theirs.files, "{what}");
    assert_eq!(ours.errors, theirs.errors, "{what}");
    let json = |t: &Tally| serde_json::to_value(t.dashboard(options)).unwrap();
    assert_eq!(json(ours), json(theirs), "{what}");
}

#[test]
fn kept_records_counted_again_equal_a_run_with_the_new_options() {
    let first = report(UserOptions::default());
    let streams = [
        ("sample.log", sample()),
        ("generated.log", generated()),
        ("iis.log", w3c()),
        ("zones.log", zones()),
        ("midnight.log", midnight()),
    ];
    let mut kept = Vec::new();
    for (name, text) in &streams {
        let (name, text) = (*name, &text[..]);
        let (tally, records) = Analyzer::new(first.compile().unwrap()).analyze_indexed(name, text);
        assert_eq!(tally, read(&first, name, text), "{name}");
        // Every record is kept (malformed lines and directives are not records).
        let directives = if name == "iis.log" { 5 } else { 0 };
        assert_eq!(
            records.records() as u64 + records.malformed + directives,
            records.lines,
            "{name}"
        );
        // Several threads keep one shard each; counted again in parallel.
        let (parallel_tally, parallel_records) =
            analyze_parallel_indexed(&Analyzer::new(first.compile().unwrap()), name, text, 4);
        assert_eq!(parallel_tally, tally, "{name}");
        for options in changes() {
            let what = format!("{name} {options:?}");
            let want = read(&options, name, text);
            let mut analyzer = Analyzer::new(options.compile().unwrap());
            same(&analyzer.retally(&records), &want, &options, &what);
            same(
                &retally_parallel(&analyzer, &[&parallel_records]),
                &want,
                &options,
                &what,
            );
        }
        kept.push(parallel_records);
    }
    // All the streams at once: the panels of all of them, the files each.
    // (Their times span nine years: a key over hourly buckets would be
    // dense and huge, so the key over time is by day and of few keys here.)
    let kept: Vec<&FileRecords> = kept.iter().collect();
    let by_day = report(UserOptions {
        panels: vec![GroupBy::Status],
        bucket: Some("1d".parse().unwrap()),
        ..UserOptions::default()
    });
    for options in changes()
        .into_iter()
        .filter(|o| o.bucket.is_none())
        .chain([by_day])
    {
        let mut want = Tally::default();
        for (name, text) in &streams {
            want.merge(read(&options, name, text));
        }
        let analyzer = Analyzer::new(options.compile().unwrap());
        same(
            &retally_parallel(&analyzer, &kept),
            &want,
            &options,
            &format!("all {options:?}"),
        );
    }
}

#[test]
fn a_changed_filter_changes_the_counts() {
    // Not vacuous: the filters above do drop records of the sample.
    let text = sample();
    let first = report(UserOptions::default());
    let (all, records): (Tally, FileRecords) =
        Analyzer::new(first.compile().unwrap()).analyze_indexed("s.log", &text[..]);
    let errors = &changes()[1];
    let again = Analyzer::new(errors.compile().unwrap()).retally(&records);
    assert!(again.totals.counted > 0);
    assert!(again.totals.counted < all.totals.counted);
    assert_eq!(
        again.totals.counted + again.totals.filtered,
        all.totals.counted + all.totals.filtered
    );
}
