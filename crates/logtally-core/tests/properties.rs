//! Properties that must hold for any input (proptest).

use std::io::Read;

use logtally_core::read::LineReader;
use logtally_core::tally::Limit;
use logtally_core::{Analyzer, Options, Partial, StreamEnd, Tally};
use proptest::prelude::*;

/// Lines drawn from real shapes, cut and spliced, plus raw junk.
fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
    let good = prop::sample::select(vec![
        &b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /book/ch1.html HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (X11) Gecko\""[..],
        &b"::1 - bob [01/Jan/2020:00:00:00 -0130] \"POST /a%20b?x=1#f HTTP/1.0\" 404 - \"http://[::1]/r\" \"curl/8\""[..],
        &b"example.org - - [1/jan/2015:1:2:3 Z] \"GET /a;p/b;q HTTP/2.0\" 301 0"[..],
        &b"10.0.0.1 - - [17/May/2015:10:05:03 +0000] \"\" 400 0 \"-\" \"-\""[..],
        &b"10.0.0.1 - - [17/May/2015:10:05:03 +0000] \"GET http://x]/ HTTP/1.1\" 200 1 \"-\" \"ua\""[..],
    ]);
    prop_oneof![
        3 => good.clone().prop_map(|l| l.to_vec()),
        2 => (good, 0usize..200, any::<u8>()).prop_map(|(l, at, b)| {
            let mut l = l.to_vec();
            let at = at.min(l.len());
            l.insert(at, b);
            l
        }),
        1 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..300),
    ]
}

fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line_strategy(), 0..60),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let mut out = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                out.extend_from_slice(l);
                if i + 1 < lines.len() || final_newline {
                    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            out
        })
}

/// A reader that hands out its bytes in the given piece sizes.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self
            .sizes
            .get(self.next % self.sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn options() -> Options {
    Options {
        max_line: 150,
        ..Options::default()
    }
}

/// Rows of a ranking: key and count.
type Rows = Vec<(String, u64)>;

/// The ranking of `keys` (added up) under `limit`, and what a plain sort by
/// count, then key, of the keys `limit` shows gives.
fn ranked_and_sorted(keys: &[(String, u64)], limit: Limit) -> (Rows, Rows) {
    let mut tally = Tally::default();
    for (key, n) in keys {
        tally.add_count(key, *n);
    }
    let mut expected: Rows = tally
        .counts
        .iter()
        .filter(|&(_, n)| n >= limit.min_count)
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if let Some(top) = limit.top {
        expected.truncate(top);
    }
    (tally.ranked(limit), expected)
}

fn tally_of(counts: &[(&str, u64)], lines: u64) -> Tally {
    let mut t = Tally::default();
    for (k, n) in counts {
        t.add_count(k, *n);
    }
    t.totals.lines = lines;
    t.totals.counted = counts.iter().map(|c| c.1).sum();
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_parse_or_are_malformed_and_never_panic(line in prop::collection::vec(any::<u8>(), 0..400), good in line_strategy()) {
        let mut analyzer = Analyzer::new(Options::default());
        let _ = analyzer.classify(&line);
        let _ = analyzer.classify(&good);
    }

    #[test]
    fn every_line_is_accounted_for(stream in stream_strategy()) {
        let tally = Analyzer::new(options()).analyze("s", &stream[..]);
        let t = tally.totals;
        prop_assert!(t.balanced());
        if tally.files[0].failed {
            if tally.errors.iter().any(|e| e.message.starts_with("not a log file")) {
                // A stream that is clearly not text is refused whole.
                prop_assert_eq!(t.lines, 0);
                return Ok(());
            }
            // Text that no log format fits: named, every line read and malformed.
            prop_assert!(tally.errors.iter().any(|e| e.message.starts_with("no known log format")), "{:?}", tally.errors);
            prop_assert_eq!(t.malformed, t.lines);
        }
        let newlines = stream.iter().filter(|&&b| b == b'\n').count() as u64;
        let expected = newlines + u64::from(!stream.is_empty() && !stream.ends_with(b"\n"));
        prop_assert_eq!(t.lines, expected);
        prop_assert_eq!(t.bytes_out, stream.len() as u64);
    }

    #[test]
    fn reads_cut_anywhere_give_the_same_tally(stream in stream_strategy(), sizes in prop::collection::vec(1usize..97, 1..8)) {
        let one_pass = Analyzer::new(options()).analyze("s", &stream[..]);
        let pieces = Pieces { data: &stream, sizes, next: 0 };
        prop_assert_eq!(Analyzer::new(options()).analyze("s", pieces), one_pass);
    }

    #[test]
    fn blocks_cut_anywhere_give_the_same_tally(stream in stream_strategy(), target in 1usize..600) {
        let mut analyzer = Analyzer::new(options());
        let one_pass = analyzer.analyze("s", &stream[..]);
        let mut lines = LineReader::with_max_line(&stream[..], options().max_line);
        let mut partials = Vec::new();
        let mut error = None;
        loop {
            match lines.next_block(target) {
                Ok(Some(block)) => partials.push(analyzer.analyze_block(&block)),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        // Merge the blocks' partial tallies in reverse order: order must not matter.
        let mut total = Partial::default();
        for p in partials.into_iter().rev() {
            total.merge(p, options().malformed_samples);
        }
        prop_assert_eq!(analyzer.finish(total, StreamEnd::of("s", &lines, error)), one_pass);
    }

    #[test]
    fn ranking_equals_a_plain_sort_by_count_then_key(
        keys in prop::collection::vec(("/(catalog/item-0)?[a\\x00b\\u{e9}]{0,10}", 1u64..4), 0..40),
        top in prop::option::of(0usize..50),
        min_count in 1u64..3,
    ) {
        // Keys that share a long prefix, differ past eight bytes, end early or
        // hold NUL and non-ASCII bytes: the ranking's cached bytes must order
        // them as comparing the strings does.
        let (ranked, expected) = ranked_and_sorted(&keys, Limit { top, min_count });
        prop_assert_eq!(ranked, expected);
    }

    #[test]
    fn ranking_a_few_of_many_equals_a_plain_sort_by_count_then_key(
        keys in prop::collection::vec(("/(catalog/item-0)?[a-d]{0,6}", 1u64..5), 0..600),
        top in 0usize..40,
        min_count in 1u64..3,
    ) {
        // A top of at most an eighth of the keys ranks only the keys that
        // count at least the top-th largest count: many ties at that count.
        let (ranked, expected) = ranked_and_sorted(&keys, Limit { top: Some(top), min_count });
        prop_assert_eq!(ranked, expected);
    }

    #[test]
    fn merging_is_associative_and_commutative(
        a in prop::collection::vec(("[a-c]", 1u64..5), 0..6),
        b in prop::collection::vec(("[a-c]", 1u64..5), 0..6),
        c in prop::collection::vec(("[a-c]", 1u64..5), 0..6),
    ) {
        let to = |v: &Vec<(String, u64)>| tally_of(&v.iter().map(|(k, n)| (k.as_str(), *n)).collect::<Vec<_>>(), v.len() as u64);
        let (ta, tb, tc) = (to(&a), to(&b), to(&c));
        let mut left = ta.clone();
        left.merge(tb.clone());
        left.merge(tc.clone());
        let mut bc = tb.clone();
        bc.merge(tc.clone());
        let mut right = ta.clone();
        right.merge(bc);
        prop_assert_eq!(&left.counts, &right.counts);
        prop_assert_eq!(left.totals, right.totals);
        let mut ab = ta.clone();
        ab.merge(tb.clone());
        let mut ba = tb;
        ba.merge(ta);
        prop_assert_eq!(&ab.counts, &ba.counts);
        prop_assert_eq!(ab.totals, ba.totals);
    }

    #[test]
    fn tallies_round_trip_through_json(a in prop::collection::vec(("[a-z/]{0,8}", 1u64..1000), 0..20)) {
        let t = tally_of(&a.iter().map(|(k, n)| (k.as_str(), *n)).collect::<Vec<_>>(), 7);
        let back: Tally = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        prop_assert_eq!(back, t);
    }
}

/// Lines made of the pieces that decide where fields end: quotes, brackets,
/// white space of every kind, digits and ordinary text.
fn tricky_line() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"\""[..],
        b"]",
        b"[",
        b" ",
        b"  ",
        b"\t",
        b"\x1c",
        b"\r",
        b"200",
        b"5",
        b"-",
        b"GET /a",
        b"HTTP/1.1",
        b"1.2.3.4",
        b"17/May/2015:10:05:03 +0000",
        b"ua (x) y",
        b"\xff",
        b"x",
    ]);
    let skeleton = prop::sample::select(vec![
        &b"1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\""[..],
        b"h - - [t] \"r\" 200 5",
        b"h i u [t] \"r\" 1 2 \"a\" \"b\"",
    ]);
    prop_oneof![
        prop::collection::vec(piece.clone(), 0..30).prop_map(|ps| ps.concat()),
        (skeleton, prop::collection::vec((0usize..60, piece), 0..6)).prop_map(|(s, edits)| {
            let mut l = s.to_vec();
            for (at, p) in edits {
                let at = at.min(l.len());
                l.splice(at..at, p.iter().copied());
            }
            l
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_fast_record_parser_agrees_with_the_regex(line in tricky_line()) {
        let mut parser = logtally_core::record::RecordParser::new();
        let stripped = logtally_core::record::rstrip(&line);
        let fast = parser.parse(&line);
        let slow = parser.parse_with_regex(stripped);
        prop_assert_eq!(fast, slow);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merging_reports_is_associative_and_commutative(streams in prop::collection::vec(stream_strategy(), 3)) {
        use logtally_core::{merge_reports, UserOptions};
        let all = UserOptions { all: true, max_line: 150, ..UserOptions::default() };
        let mut analyzer = Analyzer::new(all.compile().unwrap());
        let reports: Vec<_> = streams
            .iter()
            .enumerate()
            .map(|(i, s)| analyzer.analyze(&format!("f{i}"), &s[..]).report(&all))
            .collect();
        let (a, b, c) = (reports[0].clone(), reports[1].clone(), reports[2].clone());
        let json = |r: &logtally_core::Report| serde_json::to_string(r).unwrap();
        let flat = merge_reports(vec![a.clone(), b.clone(), c.clone()]).unwrap();
        let left = merge_reports(vec![merge_reports(vec![a.clone(), b.clone()]).unwrap(), c.clone()]).unwrap();
        let right = merge_reports(vec![c.clone(), merge_reports(vec![b.clone(), a.clone()]).unwrap()]).unwrap();
        prop_assert_eq!(json(&flat), json(&left));
        prop_assert_eq!(json(&flat), json(&right));
        // And a merge equals the tally of one pass over the files.
        let mut one = Tally::default();
        for (i, s) in streams.iter().enumerate() {
            one.merge(analyzer.analyze(&format!("f{i}"), &s[..]));
        }
        prop_assert_eq!(json(&flat), json(&one.report(&all)));
    }
}

/// Enough keys for ranking and the JSON to go in pieces on every thread
/// (from 2^16): a crawler's shape, some shown and some not by a minimum
/// count, and keys JSON escapes.
#[test]
fn many_rows_rank_and_print_as_a_plain_sort_and_serde_do() {
    let keys: Vec<(String, u64)> = (0..150_000u64)
        .map(|i| {
            let key = match i % 7 {
                0 => format!("/catalog/item-{:08}/\"q\"\\{}", i * 7919 % 150_000, i),
                // A quote alone, a backslash alone: each escaped by itself.
                2 => format!("/catalog/item-{:08}/say \"hi\"", i),
                3 => format!("/catalog/item-{:08}\\x", i),
                1 => format!("/catalog/item-{:08}\u{e9}\t\u{1}\u{7f}</script>", i),
                _ => format!("/catalog/item-{:08}/page?ref={}", i * 31 % 150_000, i % 97),
            };
            (key, 1 + i % 3)
        })
        .collect();
    for limit in [
        Limit {
            top: None,
            min_count: 1,
        },
        Limit {
            top: None,
            min_count: 2,
        },
        Limit {
            top: Some(100_000),
            min_count: 1,
        },
        // No row shown; a few rows of many, in few pieces.
        Limit {
            top: None,
            min_count: 4,
        },
        Limit {
            top: Some(20),
            min_count: 3,
        },
    ] {
        let (ranked, expected) = ranked_and_sorted(&keys, limit);
        assert_eq!(ranked.len(), expected.len());
        assert!(ranked == expected, "ranking of {limit:?}");
    }
    let mut tally = Tally::default();
    for (key, n) in &keys {
        tally.add_count(key, *n);
    }
    let options = logtally_core::UserOptions {
        all: true,
        ..Default::default()
    };
    let report = tally.into_report(&options);
    assert!(report.counts.len() > 1 << 16);
    let whole = serde_json::to_string_pretty(&report).unwrap();
    let pieces = report.pretty_json();
    if cfg!(feature = "rayon") {
        assert!(pieces.len() > 2, "written in pieces");
    }
    assert!(pieces.concat() == whole, "the pieces are serde's text");
}
