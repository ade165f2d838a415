//! A report with panels ([`Dashboard`], `logtally --report`) rendered for
//! people: aligned terminal tables with a hits-over-time chart, CSV/TSV of one
//! panel or of the time series, and one self-contained HTML file that shows
//! the page's dashboard (the same renderer, `web/dashboard.js`, inlined with
//! its chart library and the report's data).
//!
//! Strings from logs are data: the terminal gets control characters escaped,
//! the HTML file gets the report as JSON with every `<` escaped, rendered by
//! code that only ever sets text.
//!
//! ```
//! use logtally_core::{Analyzer, UserOptions};
//! let options = UserOptions { report: true, ..UserOptions::default() };
//! let log = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /</script> HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n";
//! let report = Analyzer::new(options.compile().unwrap()).analyze("x.log", log.as_bytes()).dashboard(&options);
//! let html = logtally_render::html(&report);
//! assert!(!html.contains("/</script>"));
//! assert!(html.contains(r"/\u003c/script>"));
//! let text = logtally_render::terminal(&report, false);
//! assert!(text.contains("/</script>"));
//! ```

use std::borrow::Cow;
use std::fmt::Write;

use logtally_core::{printable, Dashboard, KeySeries, PanelReport, TimeSeries};

const TEMPLATE: &str = include_str!("../../../web/report-template.html");
const CHART_JS: &str = include_str!("../../../web/vendor/uPlot.iife.min.js");
const CHART_CSS: &str = include_str!("../../../web/vendor/uPlot.min.css");
const DASHBOARD_JS: &str = include_str!("../../../web/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../../../web/dashboard.css");

/// The report as one self-contained HTML file: no network request, opens
/// from disk, the page's dashboard with the data inlined.
pub fn html(report: &Dashboard) -> String {
    let data = serde_json::to_string(report).expect("a report serializes");
    // JSON inside <script>: no `<` at all, so no `</script>` or `<!--` can occur.
    let data = data.replace('<', "\\u003c");
    let css = format!("{CHART_CSS}\n{DASHBOARD_CSS}");
    let js = format!("{CHART_JS}\n{DASHBOARD_JS}");
    // One pass over the template, so a placeholder inside inserted text is
    // never replaced again.
    let mut out = String::with_capacity(TEMPLATE.len() + data.len() + js.len() + css.len());
    let mut rest = TEMPLATE;
    let placeholders = [
        ("/*@LOGTALLY_CSS@*/", css.as_str()),
        ("/*@LOGTALLY_JS@*/", js.as_str()),
        ("@LOGTALLY_DATA@", data.as_str()),
    ];
    while let Some((at, name, value)) = placeholders
        .iter()
        .filter_map(|(name, value)| rest.find(name).map(|at| (at, *name, *value)))
        .min_by_key(|(at, _, _)| *at)
    {
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// One panel as CSV (`sep` `,`) or TSV (`sep` `\t`): `key,hits,visitors,bytes`.
/// `None` when the report has no such panel.
pub fn panel_table(report: &Dashboard, panel: &str, sep: char) -> Option<String> {
    let panel = report.panels.0.iter().find(|p| p.name == panel)?;
    let mut s = [panel.name.as_str(), "hits", "visitors", "bytes"].join(&sep.to_string());
    s.push('\n');
    for row in &panel.rows {
        let _ = writeln!(
            s,
            "{}{sep}{}{sep}{}{sep}{}",
            field(&row.key, sep),
            row.hits,
            row.visitors,
            row.bytes
        );
    }
    Some(s)
}

/// The time series in long form: `bucket,key,hits` rows, one per bucket and
/// measure (hits, visitors, bytes, 2xx ... 5xx).
pub fn timeseries_table(series: &TimeSeries, sep: char) -> String {
    let mut s = format!("bucket{sep}key{sep}hits\n");
    for p in &series.points {
        for (key, n) in [
            ("hits", p.hits),
            ("visitors", p.visitors),
            ("bytes", p.bytes),
            ("2xx", p.status_2xx),
            ("3xx", p.status_3xx),
            ("4xx", p.status_4xx),
            ("5xx", p.status_5xx),
        ] {
            let _ = writeln!(s, "{}{sep}{key}{sep}{n}", p.start);
        }
    }
    s
}

/// A panel's top keys over time (`--by KEY --bucket 1h`) in long form:
/// `bucket,key,hits`.
pub fn key_series_table(series: &KeySeries, sep: char) -> String {
    let mut s = format!("bucket{sep}{}{sep}hits\n", series.panel);
    for p in &series.points {
        let _ = writeln!(s, "{}{sep}{}{sep}{}", p.start, field(&p.key, sep), p.hits);
    }
    s
}

/// `s` as one CSV (`sep` `,`) or TSV field: quoted, or escaped, only where
/// it has to be (most keys are left as they are, without a copy).
fn field(s: &str, sep: char) -> Cow<'_, str> {
    // Byte scans (the special characters are all ASCII), not `contains` with
    // a set of chars: `--all` asks this of millions of keys.
    if sep == ',' {
        if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
        } else {
            Cow::Borrowed(s)
        }
    } else if s
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        Cow::Owned(
            s.replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r"),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// `n` bytes in kB, MB, GB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The report for a terminal: the totals, hits over time as a bar chart, and
/// every panel as an aligned table. `color`: bold headings (ANSI).
pub fn terminal(report: &Dashboard, color: bool) -> String {
    let (bold, plain) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let t = &report.totals;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{bold}{} requests, {} visitors, {} sent{plain}  ({} files, {} lines: {} counted, {} filtered, {} malformed){}",
        t.totals.counted,
        t.visitors,
        human_bytes(t.bytes_sent),
        t.totals.files,
        t.totals.lines,
        t.totals.counted,
        t.totals.filtered,
        t.totals.malformed,
        if report.partial { " PARTIAL: interrupted" } else { "" }
    );
    if t.totals.timed > 0 {
        let _ = writeln!(
            s,
            "request time: mean {:.1} ms, max {:.1} ms over {} timed requests",
            t.totals.time_total_us as f64 / t.totals.timed as f64 / 1e3,
            t.totals.time_max_us as f64 / 1e3,
            t.totals.timed
        );
    }
    if let Some(series) = &report.timeseries {
        s.push('\n');
        s.push_str(&chart(series, bold, plain));
    }
    for panel in &report.panels.0 {
        s.push('\n');
        s.push_str(&panel_text(panel, bold, plain));
    }
    if let Some(series) = &report.keys_over_time {
        s.push('\n');
        s.push_str(&key_series_text(series, bold, plain));
    }
    s
}

/// Each top key's hits over time as a sparkline, the key after it.
fn key_series_text(series: &KeySeries, bold: &str, plain: &str) -> String {
    const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut keys: Vec<&str> = Vec::new();
    for p in &series.points {
        if !keys.contains(&p.key.as_str()) {
            keys.push(&p.key);
        }
    }
    let mut s = String::new();
    let buckets = series.points.len() / keys.len().max(1);
    let _ = writeln!(
        s,
        "{bold}{} over time{plain} ({buckets} buckets of {}, UTC offset {})",
        series.panel.to_uppercase(),
        series.bucket,
        series.utc_offset
    );
    for key in keys {
        let hits: Vec<u64> = series
            .points
            .iter()
            .filter(|p| p.key == key)
            .map(|p| p.hits)
            .collect();
        let max = hits.iter().copied().max().unwrap_or(0).max(1);
        let line: String = hits
            .iter()
            .map(|&h| TICKS[((h * 7) / max) as usize])
            .collect();
        let _ = writeln!(s, "{line}  {}", printable(key));
    }
    s
}

/// Hits per bucket as horizontal bars, at most 40 rows (buckets are
/// grouped when there are more), plus a one-line sparkline of them all.
fn chart(series: &TimeSeries, bold: &str, plain: &str) -> String {
    const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut s = String::new();
    let hits: Vec<u64> = series.points.iter().map(|p| p.hits).collect();
    let max = hits.iter().copied().max().unwrap_or(0).max(1);
    let spark: String = hits
        .iter()
        .map(|&h| TICKS[((h * 7) / max) as usize])
        .collect();
    let _ = writeln!(
        s,
        "{bold}Hits over time{plain} ({} buckets of {}, UTC offset {})",
        series.points.len(),
        series.bucket,
        series.utc_offset
    );
    let _ = writeln!(s, "{spark}");
    let group = series.points.len().div_ceil(40).max(1);
    let rows: Vec<(&str, u64)> = series
        .points
        .chunks(group)
        .map(|c| (c[0].start.as_str(), c.iter().map(|p| p.hits).sum()))
        .collect();
    let row_max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let width = rows
        .iter()
        .map(|r| r.1.to_string().len())
        .max()
        .unwrap_or(1);
    for (start, n) in rows {
        let bar = "█".repeat(((n * 40).div_ceil(row_max)) as usize);
        let _ = writeln!(s, "{start}  {n:>width$}  {bar}");
    }
    s
}

fn panel_text(panel: &PanelReport, bold: &str, plain: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{bold}{}{plain} ({} of {} keys)",
        panel.name.to_uppercase(),
        panel.rows.len(),
        panel.distinct
    );
    let timed = panel.rows.iter().any(|r| r.time.is_some());
    let w = |f: fn(&logtally_core::PanelRow) -> u64, title: &str| {
        panel
            .rows
            .iter()
            .map(|r| f(r).to_string().len())
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let (hw, vw) = (w(|r| r.hits, "HITS"), w(|r| r.visitors, "VISITORS"));
    let bytes: Vec<String> = panel.rows.iter().map(|r| human_bytes(r.bytes)).collect();
    let bw = bytes.iter().map(String::len).max().unwrap_or(0).max(5);
    let _ = write!(
        s,
        "{:>hw$}  {:>vw$}  {:>bw$}  ",
        "HITS", "VISITORS", "BYTES"
    );
    if timed {
        let _ = write!(s, "{:>9}  {:>9}  ", "MEAN ms", "P95 ms");
    }
    let _ = writeln!(s, "KEY");
    for (row, bytes) in panel.rows.iter().zip(&bytes) {
        let _ = write!(
            s,
            "{:>hw$}  {:>vw$}  {bytes:>bw$}  ",
            row.hits, row.visitors
        );
        if timed {
            match &row.time {
                Some(t) => {
                    let _ = write!(s, "{:>9.1}  {:>9.1}  ", t.mean_ms, t.p95_ms);
                }
                None => {
                    let _ = write!(s, "{:>9}  {:>9}  ", "-", "-");
                }
            }
        }
        let _ = writeln!(s, "{}", printable(&row.key));
    }
    s
}

/// Every panel's rows as one CSV (`sep` `,`) or TSV table in long form:
/// `panel,key,hits,visitors,bytes` (what the page downloads).
pub fn panels_table(report: &Dashboard, sep: char) -> String {
    let mut s = ["panel", "key", "hits", "visitors", "bytes"].join(&sep.to_string());
    s.push('\n');
    for panel in &report.panels.0 {
        for row in &panel.rows {
            let _ = writeln!(
                s,
                "{}{sep}{}{sep}{}{sep}{}{sep}{}",
                field(&panel.name, sep),
                field(&row.key, sep),
                row.hits,
                row.visitors,
                row.bytes
            );
        }
    }
    s
}

/// The counts of a one-key report as CSV (`sep` `,`) or TSV: `KEY,count`.
pub fn counts_table(report: &logtally_core::Report, sep: char) -> String {
    let mut s = format!("{}{sep}count\n", report.options.by);
    // Millions of rows with `--all` (a crawler's URLs): appended as they are,
    // without the formatting machinery per row.
    let mut digits = itoa::Buffer::new();
    for (key, n) in report.counts.iter() {
        s.push_str(&field(key, sep));
        s.push(sep);
        s.push_str(digits.format(n));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use logtally_core::tally::RankedCounts;
    use logtally_core::{Analyzer, UserOptions};

    /// A report whose counts are `rows`.
    fn report_of(rows: &[(&str, u64)]) -> logtally_core::Report {
        let options = UserOptions::default();
        let tally = Analyzer::new(options.compile().unwrap()).analyze("x.log", &b""[..]);
        let mut report = tally.into_report(&options);
        report.counts = rows.iter().copied().collect::<RankedCounts>();
        report
    }

    #[test]
    fn counts_tables_quote_and_escape_only_where_needed() {
        let report = report_of(&[
            ("/plain", 12),
            ("/a,b", 3),
            ("/say \"hi\"", 2),
            ("/tab\there", 1),
            ("/back\\slash\nline\r", 1),
        ]);
        assert_eq!(
            super::counts_table(&report, ','),
            "path,count\n/plain,12\n\"/a,b\",3\n\"/say \"\"hi\"\"\",2\n/tab\there,1\n\"/back\\slash\nline\r\",1\n"
        );
        assert_eq!(
            super::counts_table(&report, '\t'),
            "path\tcount\n/plain\t12\n/a,b\t3\n/say \"hi\"\t2\n/tab\\there\t1\n/back\\\\slash\\nline\\r\t1\n"
        );
    }
}
