//! The seed's `analysis(filename)`: one stream in, one [`Tally`] out.
//!
//! bytes -> lines ([`LineReader`]) -> records ([`RecordParser`]) -> details
//! ([`crate::details`]) -> filters ([`crate::filter`]) -> tally.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::details::{check_url, parse_agent, parse_time, split_request, url_path, UrlError};
use crate::filter::{PathFilter, PrefixFilter};
use crate::read::{Block, Cut, Line, LineReader, DEFAULT_MAX_LINE};
use crate::record::{AccessRecord, RecordParser};
use crate::tally::{merge_counts, FileSummary, Problem, Tally};

/// What the counts are keyed by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// The URL path of the request (the seed's report).
    #[default]
    Path,
    /// The HTTP status code.
    Status,
    /// The request method.
    Method,
    /// The client host.
    Host,
    /// The hour, in the log's own time zone: `2015-05-17 10:00`.
    Hour,
    /// The day, in the log's own time zone: `2015-05-17`.
    Day,
    /// The referrer's host name (`-` when there is none).
    ReferrerHost,
    /// The user agent's product token, e.g. `Mozilla/5.0` (`-` when none).
    AgentProduct,
}

impl GroupBy {
    /// Every key, in the order the CLI lists them.
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Path,
        GroupBy::Status,
        GroupBy::Method,
        GroupBy::Host,
        GroupBy::Hour,
        GroupBy::Day,
        GroupBy::ReferrerHost,
        GroupBy::AgentProduct,
    ];

    /// The name used on the command line and in the page.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Path => "path",
            GroupBy::Status => "status",
            GroupBy::Method => "method",
            GroupBy::Host => "host",
            GroupBy::Hour => "hour",
            GroupBy::Day => "day",
            GroupBy::ReferrerHost => "referrer-host",
            GroupBy::AgentProduct => "agent-product",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GroupBy {
    type Err = String;

    /// ```
    /// use logtally_core::analyze::GroupBy;
    /// assert_eq!("referrer-host".parse::<GroupBy>(), Ok(GroupBy::ReferrerHost));
    /// assert!("colour".parse::<GroupBy>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| format!("unknown key '{s}'"))
    }
}

/// What to count and what to drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// The key of the counts.
    pub group_by: GroupBy,
    /// The seed's `path_filter`, or `None` to keep every path.
    pub path_filter: Option<PathFilter>,
    /// Keep only paths under this prefix (the seed's `book_filter` is `/book/`).
    pub prefix: Option<PrefixFilter>,
    /// Lines longer than this are malformed (and never held whole in memory).
    pub max_line: usize,
    /// How many malformed lines per file are reported with their number.
    pub malformed_samples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            group_by: GroupBy::Path,
            path_filter: Some(PathFilter::default()),
            prefix: None,
            max_line: DEFAULT_MAX_LINE,
            malformed_samples: 5,
        }
    }
}

/// Why a line is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// It does not match the access-log pattern.
    NotARecord,
    /// It is longer than the line cap.
    TooLong,
    /// The stream ended or failed inside it.
    Incomplete,
    /// Its time does not parse as `%d/%b/%Y:%H:%M:%S %z`.
    BadTime,
    /// Its request line is empty.
    EmptyRequest,
    /// Its request target is not a URL Python's `urlparse` accepts.
    BadTarget(UrlError),
    /// Its referrer is not a URL Python's `urlparse` accepts.
    BadReferrer(UrlError),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::NotARecord => f.write_str("not an access log line"),
            Malformed::TooLong => f.write_str("line too long"),
            Malformed::Incomplete => f.write_str("incomplete line"),
            Malformed::BadTime => f.write_str("bad time"),
            Malformed::EmptyRequest => f.write_str("empty request"),
            Malformed::BadTarget(e) => write!(f, "bad request URL: {e}"),
            Malformed::BadReferrer(e) => write!(f, "bad referrer URL: {e}"),
        }
    }
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Counted under this key.
    Counted(Cow<'a, [u8]>),
    /// A valid record that a filter dropped.
    Filtered,
    /// Not a valid record.
    Malformed(Malformed),
}

/// Runs the pipeline over lines and streams.
///
/// ```
/// use logtally_core::analyze::{Analyzer, Options};
/// let log = concat!(
///     "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
///     "1.2.3.4 - - [17/May/2015:10:05:04 +0000] \"GET /a.png HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
///     "garbage\n",
/// );
/// let tally = Analyzer::new(Options::default()).analyze("access.log", log.as_bytes());
/// assert_eq!(tally.counts["/a"], 1);
/// assert_eq!((tally.totals.lines, tally.totals.counted, tally.totals.filtered, tally.totals.malformed), (3, 1, 1, 1));
/// assert_eq!(tally.errors[0].line, Some(3));
/// ```
#[derive(Clone)]
pub struct Analyzer {
    options: Options,
    parser: RecordParser,
    target_scratch: Vec<u8>,
    scratch: Vec<u8>,
    referrer_scratch: Vec<u8>,
    /// The last time text seen and what it parsed to.
    last_time: (Vec<u8>, Option<DateTime<FixedOffset>>),
}

impl Analyzer {
    /// An analyzer with these options.
    pub fn new(options: Options) -> Self {
        Analyzer {
            options,
            parser: RecordParser::new(),
            target_scratch: Vec::new(),
            scratch: Vec::new(),
            referrer_scratch: Vec::new(),
            last_time: (Vec::new(), None),
        }
    }

    /// The options it runs with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Classifies one line (already split, without `\n`).
    pub fn classify<'a>(&'a mut self, line: &'a [u8]) -> Outcome<'a> {
        let Analyzer {
            options,
            parser,
            target_scratch,
            scratch,
            referrer_scratch,
            last_time,
        } = self;
        let Some(record) = parser.parse(line) else {
            return Outcome::Malformed(Malformed::NotARecord);
        };
        // Consecutive lines mostly share their second: parse each time text once.
        if last_time.0 != record.time {
            last_time.0.clear();
            last_time.0.extend_from_slice(record.time);
            last_time.1 = parse_time(record.time);
        }
        let Some(time) = last_time.1 else {
            return Outcome::Malformed(Malformed::BadTime);
        };
        let Some(request) = split_request(record.request, target_scratch) else {
            return Outcome::Malformed(Malformed::EmptyRequest);
        };
        let path = match url_path(request.target, scratch) {
            Ok(p) => p,
            Err(e) => return Outcome::Malformed(Malformed::BadTarget(e)),
        };
        if let Some(referrer) = record.referer {
            if let Err(e) = check_url(referrer, referrer_scratch) {
                return Outcome::Malformed(Malformed::BadReferrer(e));
            }
        }
        if let Some(filter) = &options.path_filter {
            if !filter.accepts(path) {
                return Outcome::Filtered;
            }
        }
        if let Some(prefix) = &options.prefix {
            if !prefix.accepts(path) {
                return Outcome::Filtered;
            }
        }
        let key: Cow<'a, [u8]> = match options.group_by {
            GroupBy::Path => Cow::Borrowed(path),
            GroupBy::Status => Cow::Borrowed(record.status),
            GroupBy::Method => Cow::Borrowed(request.method),
            GroupBy::Host => Cow::Borrowed(record.host),
            GroupBy::Hour => Cow::Owned(time.format("%Y-%m-%d %H:00").to_string().into_bytes()),
            GroupBy::Day => Cow::Owned(time.format("%Y-%m-%d").to_string().into_bytes()),
            GroupBy::ReferrerHost => Cow::Owned(referrer_host(&record).into_bytes()),
            GroupBy::AgentProduct => match record.user_agent.and_then(parse_agent) {
                Some(agent) => Cow::Borrowed(agent.product),
                None => Cow::Borrowed(b"-"),
            },
        };
        Outcome::Counted(key)
    }

    /// Classifies one line and records the outcome in `partial`.
    /// The caller counts the line itself (`partial.lines`).
    pub fn add_line(&mut self, partial: &mut Partial, line: Line<'_>) {
        let outcome = match line.cut {
            Some(Cut::TooLong) => Outcome::Malformed(Malformed::TooLong),
            Some(Cut::StreamFault) => Outcome::Malformed(Malformed::Incomplete),
            None => self.classify(line.bytes),
        };
        match outcome {
            Outcome::Counted(key) => {
                partial.counted += 1;
                match partial.counts.get_mut(&*key) {
                    Some(n) => *n += 1,
                    None => {
                        partial.counts.insert(key.into_owned(), 1);
                    }
                }
            }
            Outcome::Filtered => partial.filtered += 1,
            Outcome::Malformed(why) => {
                partial.malformed += 1;
                if partial.samples.len() < self.options.malformed_samples {
                    partial
                        .samples
                        .push((line.number, format!("{why}: {}", excerpt(line.bytes))));
                }
            }
        }
    }

    /// Tallies a block of lines (one of several of a stream).
    pub fn analyze_block(&mut self, block: &Block) -> Partial {
        let mut partial = Partial::default();
        for line in block.lines() {
            partial.lines += 1;
            self.add_line(&mut partial, line);
        }
        partial
    }

    /// Analyses one stream (gzip or plain) named `name` into a [`Tally`].
    ///
    /// A read fault ends the stream: the lines before it stay counted, the file
    /// is marked failed and the fault is listed.
    pub fn analyze<R: Read>(&mut self, name: &str, reader: R) -> Tally {
        let max_line = self.options.max_line;
        tally_lines(name, reader, max_line, |partial, line| {
            self.add_line(partial, line)
        })
    }
}

/// Reads a stream's lines, counting each and handing it to `each`, until its end or a fault
/// (which ends the stream: the lines before it stay, the file is marked
/// failed), then adds the stream's accounting.
///
/// ```
/// // Count lines only, as the benchmark's floor does.
/// let t = logtally_core::analyze::tally_lines("x.log", &b"a\nb\n"[..], 100, |p, _| p.filtered += 1);
/// assert_eq!((t.totals.lines, t.totals.filtered), (2, 2));
/// ```
pub fn tally_lines<R: Read>(
    name: &str,
    reader: R,
    max_line: usize,
    mut each: impl FnMut(&mut Partial, Line<'_>),
) -> Tally {
    let mut lines = LineReader::with_max_line(reader, max_line);
    let mut partial = Partial::default();
    let mut error = None;
    loop {
        match lines.next_line() {
            Ok(Some(line)) => {
                partial.lines += 1;
                each(&mut partial, line);
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    partial.into_tally(&StreamEnd::of(name, &lines, error))
}

/// The tally of some lines of one stream: what blocks of a stream merge into
/// before the stream's own accounting is added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partial {
    /// Count per key, as bytes (a seeded hash: keys come from untrusted logs).
    pub counts: foldhash::HashMap<Vec<u8>, u64>,
    /// Lines seen.
    pub lines: u64,
    /// Lines counted.
    pub counted: u64,
    /// Lines filtered.
    pub filtered: u64,
    /// Lines malformed.
    pub malformed: u64,
    /// The first malformed lines: (line number, message), in line order.
    pub samples: Vec<(u64, String)>,
}

impl Partial {
    /// Adds `other`, keeping the `max_samples` malformed lines that come first
    /// in the stream, so the result does not depend on how it was cut.
    pub fn merge(&mut self, other: Partial, max_samples: usize) {
        merge_counts(&mut self.counts, other.counts);
        self.lines += other.lines;
        self.counted += other.counted;
        self.filtered += other.filtered;
        self.malformed += other.malformed;
        self.samples.extend(other.samples);
        self.samples.sort_by_key(|s| s.0);
        self.samples.truncate(max_samples);
    }

    /// The stream's [`Tally`], given how the stream ended.
    pub fn into_tally(self, end: &StreamEnd) -> Tally {
        let summary = FileSummary {
            path: end.name.clone(),
            lines: self.lines,
            counted: self.counted,
            filtered: self.filtered,
            malformed: self.malformed,
            bytes_in: end.bytes_in,
            bytes_out: end.bytes_out,
            gzip: end.gzip,
            failed: end.error.is_some(),
        };
        let mut tally = Tally::default();
        for (key, n) in self.counts {
            tally.add_count(&String::from_utf8_lossy(&key), n);
        }
        tally.totals = crate::tally::Totals {
            files: 1,
            lines: summary.lines,
            counted: summary.counted,
            filtered: summary.filtered,
            malformed: summary.malformed,
            bytes_in: summary.bytes_in,
            bytes_out: summary.bytes_out,
        };
        tally.errors = self
            .samples
            .into_iter()
            .map(|(line, message)| Problem {
                path: end.name.clone(),
                line: Some(line),
                message,
            })
            .collect();
        if let Some(message) = &end.error {
            tally.errors.push(Problem {
                path: end.name.clone(),
                line: None,
                message: message.clone(),
            });
        }
        tally.files.push(summary);
        tally
    }
}

/// How a stream ended: what [`Partial::into_tally`] adds to the counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamEnd {
    /// The stream's (file's) name.
    pub name: String,
    /// Whether it was gzip.
    pub gzip: bool,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes of text.
    pub bytes_out: u64,
    /// The fault that ended it early, if one did.
    pub error: Option<String>,
}

impl StreamEnd {
    /// The end of the stream `lines` read, named `name`.
    pub fn of<R: Read>(name: &str, lines: &LineReader<R>, error: Option<String>) -> Self {
        StreamEnd {
            name: name.to_string(),
            gzip: lines.is_gzip(),
            bytes_in: lines.bytes_in(),
            bytes_out: lines.bytes_out(),
            error,
        }
    }
}

/// A record for a file that could not be opened at all.
///
/// ```
/// let t = logtally_core::analyze::failed_file("gone.gz", "No such file or directory");
/// assert_eq!(t.totals.files, 1);
/// assert!(t.files[0].failed);
/// ```
pub fn failed_file(name: &str, message: &str) -> Tally {
    Partial::default().into_tally(&StreamEnd {
        name: name.to_string(),
        error: Some(message.to_string()),
        ..StreamEnd::default()
    })
}

fn referrer_host(record: &AccessRecord<'_>) -> String {
    record
        .referer
        .and_then(|r| std::str::from_utf8(r).ok())
        .and_then(|r| url::Url::parse(r).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "-".to_string())
}

/// A line as it may appear in a message: lossy UTF-8, control bytes escaped, cut short.
fn excerpt(line: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(&line[..line.len().min(MAX)]);
    // Control bytes (NUL, escape sequences) are shown escaped, all else as it is.
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if line.len() > MAX {
        out.push_str("...");
    }
    out
}
