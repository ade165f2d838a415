//! The seed's `analysis(filename)`: one stream in, one [`Tally`] out.
//!
//! bytes -> lines ([`LineReader`]) -> records ([`RecordParser`]) -> details
//! ([`crate::details`]) -> filters ([`crate::filter`]) -> tally.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::details::{check_url, split_request, url_path, Request, TimeCache, UrlError};
use crate::filter::{PathFilter, PrefixFilter};
use crate::index::{FileRecords, KeepBudget, KeptField, RecordShard, ValueIds};
use crate::keys::{is_not_found, key_field, panel_key, KeyCache, Record, RecordFacts, Size};
use crate::panels::{status_class, wall_clock_seconds, Hit, Panels, RecordKeyIds};
use crate::read::{Block, BlockRef, Cut, Line, LineReader, BLOCK_SIZE, DEFAULT_MAX_LINE};
use crate::record::{rstrip, AccessRecord, RecordParser};
use crate::selection::{Selection, SelectionText};
use crate::tally::{merge_panels, Counts, FileSummary, Problem, Tally};
use logtally_format::{detect, Fields, LineParser, LogFormat, Parsed, TimeText};

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
    /// The virtual host, where the log format has one (`-` otherwise).
    Vhost,
    /// The paths the book's path filter drops (images, scripts, robots.txt...).
    Static,
    /// The paths answered 404.
    NotFound,
    /// The request's protocol, e.g. `HTTP/1.1`.
    Protocol,
    /// The browser (or crawler) named by the user agent.
    Browser,
    /// The operating system named by the user agent.
    Os,
}

impl GroupBy {
    /// Whether a visitor (host, day, user agent) has one key here for all
    /// its records.
    pub(crate) fn is_fixed_per_visitor(self) -> bool {
        matches!(
            self,
            GroupBy::Host | GroupBy::Day | GroupBy::AgentProduct | GroupBy::Browser | GroupBy::Os
        )
    }

    /// Whether every record counted has a key here (the path panels leave
    /// out static files, or all but them, and the not-found panel all but 404s).
    pub(crate) fn keys_every_record(self) -> bool {
        !matches!(self, GroupBy::Path | GroupBy::Static | GroupBy::NotFound)
    }

    /// Every key, in the order the CLI lists them.
    pub const ALL: [GroupBy; 14] = [
        GroupBy::Path,
        GroupBy::Status,
        GroupBy::Method,
        GroupBy::Host,
        GroupBy::Hour,
        GroupBy::Day,
        GroupBy::ReferrerHost,
        GroupBy::AgentProduct,
        GroupBy::Vhost,
        GroupBy::Static,
        GroupBy::NotFound,
        GroupBy::Protocol,
        GroupBy::Browser,
        GroupBy::Os,
    ];

    /// The panels of `--report`, in the order they are shown.
    pub const REPORT: [GroupBy; 13] = [
        GroupBy::Path,
        GroupBy::Static,
        GroupBy::NotFound,
        GroupBy::Host,
        GroupBy::Status,
        GroupBy::Method,
        GroupBy::Protocol,
        GroupBy::Hour,
        GroupBy::Day,
        GroupBy::ReferrerHost,
        GroupBy::Browser,
        GroupBy::Os,
        GroupBy::Vhost,
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
            GroupBy::Vhost => "vhost",
            GroupBy::Static => "static",
            GroupBy::NotFound => "not-found",
            GroupBy::Protocol => "protocol",
            GroupBy::Browser => "browser",
            GroupBy::Os => "os",
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
    /// The log format: `auto` (detected per file), a preset, or an nginx or
    /// Apache format string (see `logtally_format::LogFormat::parse`).
    pub log_format: String,
    /// The book program's exact behaviour: its Combined/Common pattern only,
    /// and its drops (empty request, bad URL, bad referrer) as malformed.
    pub book_compat: bool,
    /// The panels to fill in one pass (`--report`); empty: count `group_by` only.
    pub panels: Vec<GroupBy>,
    /// Which records count (`--since`, `--until`, `--where`), validated by
    /// [`crate::UserOptions::compile`].
    pub selection: SelectionText,
    /// With one panel: count its keys per bucket of this width too.
    pub key_bucket: Option<crate::Bucket>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            group_by: GroupBy::Path,
            path_filter: Some(PathFilter::default()),
            prefix: None,
            max_line: DEFAULT_MAX_LINE,
            malformed_samples: 5,
            log_format: AUTO.to_string(),
            book_compat: false,
            panels: Vec::new(),
            selection: SelectionText::default(),
            key_bucket: None,
        }
    }
}

/// The `log_format` that detects each file's format from its first lines.
pub const AUTO: &str = "auto";

/// How many of a file's first lines `auto` detection looks at.
const DETECTION_LINES: usize = 200;

/// The bytes of a stream read before its format is detected.
pub const DETECTION_BYTES: usize = 64 << 10;

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
    /// No log format was found for its file.
    NoFormat,
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
            Malformed::NoFormat => f.write_str("no log format fits this file"),
        }
    }
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// Counted under `key`; `seconds` is the request's time where the format has it.
    Counted {
        /// The key it counts under.
        key: Cow<'a, [u8]>,
        /// The time the server took, in seconds.
        seconds: Option<f64>,
    },
    /// A valid record that a filter dropped (or a directive line of the format).
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
    /// The book's Combined/Common parser (also the fast path of those presets).
    parser: RecordParser,
    /// `log_format` compiled, unless it is `auto` (or the book's own pattern is used).
    fixed: Option<LogFormat>,
    /// Why `log_format` or the selection does not compile (the CLI and the
    /// page refuse such options before they get here; a library user may not).
    invalid_options: Option<String>,
    /// How the current stream's lines become records.
    matcher: Matcher,
    /// The current stream's format, as reported per file.
    format_name: String,
    /// Why the current stream has no format (it then fails, its lines malformed).
    stream_problem: Option<String>,
    scratch: Scratch,
    /// The last time text seen and what it parsed to.
    last_time: TimeCache,
    /// Which records count.
    selection: Selection,
    /// Formatted times and parsed user agents, reused from record to record.
    keys: KeyCache,
    /// Whether records read into panels are kept for counting again
    /// ([`Partial::records`]), and the memory budget they share.
    keep_records: Option<KeepBudget>,
}

/// A line's record (`Ok(None)`: a directive line of the format) beside the
/// analyzer's parts that filter it and make its keys (disjoint borrows).
struct ParsedLine<'a> {
    record: Result<Option<Record<'a>>, Malformed>,
    options: &'a Options,
    selection: &'a Selection,
    keys: &'a mut KeyCache,
    keep_records: &'a Option<KeepBudget>,
}

/// Buffers a record's fields are copied into when they cannot borrow the line.
#[derive(Clone, Default)]
struct Scratch {
    request: Vec<u8>,
    target: Vec<u8>,
    path: Vec<u8>,
    referrer: Vec<u8>,
}

/// How a stream's lines become records.
#[derive(Clone)]
enum Matcher {
    /// The book's Combined/Common parser; lines it rejects get a second chance
    /// with these matchers (none under `book_compat`).
    Book { fallback: Vec<LineParser> },
    /// Any other format.
    Format(Box<LineParser>),
    /// No format fits the stream: every line is malformed.
    Unknown,
}

impl Matcher {
    fn for_format(format: &LogFormat) -> Matcher {
        if format.is_clf_family() {
            Matcher::Book {
                fallback: clf_fallbacks(),
            }
        } else {
            Matcher::Format(Box::new(format.parser()))
        }
    }
}

/// What the Combined/Common formats accept beyond the book's pattern (an empty
/// user agent, escaped quotes): their own matchers.
fn clf_fallbacks() -> Vec<LineParser> {
    ["combined", "common"]
        .iter()
        .filter_map(|name| LogFormat::preset(name).ok())
        .map(|f| f.parser())
        .collect()
}

/// A field's bytes for as long as the analyzer's borrow: borrowed from the
/// line where they are, else copied into `buffer`.
fn hold<'a>(field: Cow<'a, [u8]>, buffer: &'a mut Vec<u8>) -> &'a [u8] {
    match field {
        Cow::Borrowed(bytes) => bytes,
        Cow::Owned(bytes) => {
            *buffer = bytes;
            buffer
        }
    }
}

impl Analyzer {
    /// An analyzer with these options.
    pub fn new(options: Options) -> Self {
        let (fixed, invalid_options) = if options.book_compat || options.log_format == AUTO {
            (None, None)
        } else {
            match LogFormat::parse(&options.log_format) {
                Ok(format) => (Some(format), None),
                Err(e) => (None, Some(format!("invalid log format: {e}"))),
            }
        };
        // The CLI, the page and Python validate the selection first
        // (`UserOptions::compile`); a library user's bad one fails the stream.
        let (selection, invalid_options) = match options.selection.parse() {
            Ok(selection) => (selection, invalid_options),
            Err(e) => (
                Selection::default(),
                Some(format!("invalid selection: {e}")),
            ),
        };
        let mut analyzer = Analyzer {
            options,
            parser: RecordParser::new(),
            fixed,
            invalid_options,
            matcher: Matcher::Book {
                fallback: Vec::new(),
            },
            format_name: String::new(),
            stream_problem: None,
            scratch: Scratch::default(),
            last_time: TimeCache::default(),
            selection,
            keys: KeyCache::default(),
            keep_records: None,
        };
        analyzer.prepare(&[]);
        analyzer
    }

    /// Keeps every record it reads into panels (not one-key runs) in the
    /// partial tally's [`records`](Partial::records), so that they can be
    /// counted again with other options ([`retally`](Self::retally)).
    /// `budget` bounds the memory they take, shared by the analyzers cloned
    /// from this one; `None` keeps none.
    pub fn keep_records(&mut self, budget: Option<KeepBudget>) {
        self.keep_records = budget;
    }

    /// Keeps records within no bound, unless a budget is set already.
    pub(crate) fn keeping(&mut self) {
        self.keep_records
            .get_or_insert_with(|| KeepBudget::bytes(usize::MAX));
    }

    /// The options it runs with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The format of the stream being read (after [`prepare`](Self::prepare)).
    pub fn format_name(&self) -> &str {
        &self.format_name
    }

    /// Gets ready for a new stream whose first lines are `sample`: picks its
    /// format (detecting it when `log_format` is `auto`) and starts the
    /// format's per-stream state afresh.
    pub fn prepare(&mut self, sample: &[&[u8]]) {
        self.stream_problem = None;
        if self.options.book_compat {
            self.matcher = Matcher::Book {
                fallback: Vec::new(),
            };
            self.format_name = "book".to_string();
            return;
        }
        if let Some(e) = &self.invalid_options {
            self.matcher = Matcher::Unknown;
            self.format_name = self.options.log_format.clone();
            self.stream_problem = Some(e.clone());
            return;
        }
        if let Some(format) = &self.fixed {
            self.matcher = Matcher::for_format(format);
            self.format_name = format.name().to_string();
            return;
        }
        // auto: the preset that fits most of the first lines.
        let sample = &sample[..sample.len().min(DETECTION_LINES)];
        if sample.iter().all(|l| rstrip(l).is_empty()) {
            // Nothing to go by (an empty file, or none read yet).
            self.matcher = Matcher::Book {
                fallback: clf_fallbacks(),
            };
            self.format_name = "combined".to_string();
            return;
        }
        let detection = detect(sample);
        // The book's pattern is laxer than the Combined/Common presets (it
        // ignores what follows the user agent): where it fits more lines than
        // the best preset, it reads the file, so auto never reads less than it.
        // A preset that fits as many (traefik, combined-xff) keeps its fields.
        let book = sample
            .iter()
            .filter(|l| self.parser.parse(l).is_some())
            .count();
        if book > detection.matched {
            self.matcher = Matcher::Book {
                fallback: clf_fallbacks(),
            };
            self.format_name = "combined".to_string();
            return;
        }
        match detection.format {
            Some(format) => {
                self.matcher = Matcher::for_format(&format);
                self.format_name = format.name().to_string();
            }
            None => {
                self.matcher = Matcher::Unknown;
                self.format_name = "unknown".to_string();
                let first: Vec<String> = sample.iter().take(2).map(|l| excerpt(l)).collect();
                self.stream_problem = Some(format!(
                    "no known log format fits its first lines (tried {}; give --log-format): {}",
                    detection.tried.join(", "),
                    first.join(" | ")
                ));
            }
        }
    }

    /// The line's record, with the parts of the analyzer that filter it and
    /// make its keys. `by_separators`: see `RecordParser::parse_split` (a
    /// one-key run does, `--report` does not).
    // Inlined, so that the record (some 250 bytes) is made where it is
    // used rather than copied out twice per line.
    #[inline(always)]
    fn parse<'a>(&'a mut self, line: &'a [u8], by_separators: bool) -> ParsedLine<'a> {
        let Analyzer {
            options,
            parser,
            matcher,
            scratch,
            last_time,
            selection,
            keys,
            keep_records,
            ..
        } = self;
        let compat = options.book_compat;
        // Checking a referrer costs a search per line; a bad one is dropped
        // only where something reads it.
        let referrer = if compat {
            Referrer::Required
        } else if keep_records.is_some()
            || !options.panels.is_empty()
            || options.group_by == GroupBy::ReferrerHost
            || selection.reads_referrer()
        {
            Referrer::Checked
        } else {
            Referrer::Unread
        };
        ParsedLine {
            record: parse_record(
                matcher,
                parser,
                scratch,
                last_time,
                referrer,
                line,
                by_separators,
            ),
            options,
            selection,
            keys,
            keep_records,
        }
    }

    /// Classifies one line (already split, without `\n`) of the current stream.
    pub fn classify<'a>(&'a mut self, line: &'a [u8]) -> Outcome<'a> {
        let ParsedLine {
            record,
            options,
            selection,
            keys,
            ..
        } = self.parse(line, true);
        let record = match record {
            Ok(Some(record)) => record,
            Ok(None) => return Outcome::Filtered,
            Err(why) => return Outcome::Malformed(why),
        };
        if !options.admits(&record, selection) {
            return Outcome::Filtered;
        }
        let seconds = record.seconds;
        // Where `admits` applied the path filter, the path passed it.
        let mut facts = if options.filters_every_path() {
            RecordFacts::kept()
        } else {
            RecordFacts::new(options.path_filter.as_ref())
        };
        match panel_key(&record, options.group_by, &mut facts, keys) {
            Some(key) => Outcome::Counted { key, seconds },
            None => Outcome::Filtered,
        }
    }

    /// Classifies one line and records the outcome in `partial`.
    /// The caller counts the line itself (`partial.lines`).
    pub fn add_line(&mut self, partial: &mut Partial, line: Line<'_>) {
        if !self.options.panels.is_empty() && line.cut.is_none() {
            if let Err(why) = self.add_to_panels(partial, line.bytes) {
                self.add_malformed(partial, why, &line);
            }
            return;
        }
        let outcome = match line.cut {
            Some(Cut::TooLong) => Outcome::Malformed(Malformed::TooLong),
            Some(Cut::StreamFault) => Outcome::Malformed(Malformed::Incomplete),
            None => self.classify(line.bytes),
        };
        match outcome {
            Outcome::Counted { key, seconds } => {
                partial.count_record(seconds);
                partial.counts.add_bytes(&key, 1);
            }
            Outcome::Filtered => partial.filtered += 1,
            Outcome::Malformed(why) => self.add_malformed(partial, why, &line),
        }
    }

    fn add_malformed(&self, partial: &mut Partial, why: Malformed, line: &Line<'_>) {
        partial.malformed += 1;
        // The first lines' samples: blocks may come out of order (a later
        // line's sample gives way to an earlier line's).
        let sample = |line: &Line<'_>| (line.number, format!("{why}: {}", excerpt(line.bytes)));
        if partial.samples.len() < self.options.malformed_samples {
            partial.samples.push(sample(line));
        } else if let Some(latest) = partial
            .samples
            .iter_mut()
            .max_by_key(|s| s.0)
            .filter(|s| s.0 > line.number)
        {
            *latest = sample(line);
        }
    }

    /// One line into every panel (`--report`): a record the selection keeps
    /// is counted once and added to each panel it has a key in.
    fn add_to_panels(&mut self, partial: &mut Partial, line: &[u8]) -> Result<(), Malformed> {
        let ParsedLine {
            record,
            options,
            selection,
            keys,
            keep_records,
        } = self.parse(line, false);
        let Some(record) = record? else {
            partial.filtered += 1;
            if keep_records.is_some() {
                partial.shard().directives += 1;
            }
            return Ok(());
        };
        if let Some(budget) = keep_records {
            partial.shard().push_within(&record, budget);
        }
        add_record(options, selection, keys, partial, &record, None);
        Ok(())
    }

    /// Counts the records of a stream again, with this analyzer's options
    /// (panels, filters, bucket): the stream's tally as a run over it with
    /// these options would make. The stream was read by an analyzer of the
    /// same log format, line limit and `book_compat`, keeping its records
    /// ([`analyze_indexed`](Self::analyze_indexed)).
    pub fn retally(&mut self, records: &FileRecords) -> Tally {
        let mut partial = Partial::default();
        for shard in &records.shards {
            self.retally_shard(&mut partial, shard);
        }
        self.finish_retally(partial, records)
    }

    /// Adds the records of one shard to `partial`.
    pub fn retally_shard(&mut self, partial: &mut Partial, shard: &RecordShard) {
        let Analyzer {
            options,
            selection,
            keys,
            ..
        } = self;
        let mut known = KnownKeys::new(shard.value_ids());
        shard.for_each_record(|record, ids| {
            add_record(
                options,
                selection,
                keys,
                partial,
                record,
                Some((ids, &mut known)),
            );
        });
        partial.filtered += shard.directives;
    }

    /// Whether its options do not compile, so that it counts no line.
    #[cfg(feature = "rayon")]
    pub(crate) fn counts_nothing(&self) -> bool {
        self.invalid_options.is_some()
    }

    /// The stream's tally from its records counted again into `partial`.
    pub fn finish_retally(&self, mut partial: Partial, records: &FileRecords) -> Tally {
        partial.lines = records.lines;
        partial.malformed = records.malformed;
        partial.samples = records.samples.clone();
        if let Some(problem) = &self.invalid_options {
            // Options that do not compile count nothing (as a read would).
            partial.malformed += partial.counted + partial.filtered;
            partial.counted = 0;
            partial.filtered = 0;
            partial.panels = None;
            let end = StreamEnd {
                error: Some(problem.clone()),
                ..records.end.clone()
            };
            return partial.into_tally(&end);
        }
        partial.into_tally(&records.end)
    }

    /// Tallies a block of lines (one of several of a stream).
    pub fn analyze_block(&mut self, block: &Block) -> Partial {
        let mut partial = Partial::default();
        self.analyze_block_into(&mut partial, block);
        partial
    }

    /// Adds a block of lines to `partial` (blocks may come in any order).
    pub fn analyze_block_into<'a>(
        &mut self,
        partial: &mut Partial,
        block: impl Into<BlockRef<'a>>,
    ) {
        for line in block.into().lines() {
            partial.lines += 1;
            self.add_line(partial, line);
        }
    }

    /// Analyses one stream (gzip or plain) named `name` into a [`Tally`]: its
    /// format is picked from its first lines, then every line is classified.
    ///
    /// A read fault ends the stream: the lines before it stay counted, the file
    /// is marked failed and the fault is listed.
    pub fn analyze<R: Read>(&mut self, name: &str, reader: R) -> Tally {
        let (partial, end) = self.analyze_partial(name, reader);
        self.finish(partial, end)
    }

    /// [`analyze`](Self::analyze), keeping the stream's records to count
    /// again with other filters or panels ([`retally`](Self::retally)).
    /// Only a report with panels keeps its records (one-key runs keep none).
    pub fn analyze_indexed<R: Read>(&mut self, name: &str, reader: R) -> (Tally, FileRecords) {
        let keep = self.keep_records.clone();
        self.keeping();
        let (partial, end) = self.analyze_partial(name, reader);
        self.keep_records = keep;
        self.finish_indexed(partial, end)
    }

    fn analyze_partial<R: Read>(&mut self, name: &str, reader: R) -> (Partial, StreamEnd) {
        let mut lines = LineReader::with_max_line(reader, self.options.max_line);
        let mut partial = Partial::default();
        let error = match lines.next_block(DETECTION_BYTES) {
            Ok(first) => {
                let first = first.unwrap_or_default();
                self.prepare_for(&first);
                partial = self.analyze_block(&first);
                read_lines(&mut lines, &mut partial, |p, line| self.add_line(p, line)).err()
            }
            Err(e) => {
                self.prepare(&[]);
                Some(e.to_string())
            }
        };
        (partial, StreamEnd::of(name, &lines, error))
    }

    /// [`prepare`](Self::prepare) with the first block of a stream.
    pub fn prepare_for<'a>(&mut self, first: impl Into<BlockRef<'a>>) {
        self.prepare(&Self::detection_sample(first));
    }

    /// The lines of a stream's first block (of any size) that
    /// [`prepare_for`](Self::prepare_for) detects its format from, as a serial
    /// read does: what another process needs, with
    /// [`prepare`](Self::prepare), to read later blocks of the stream alike.
    ///
    /// ```
    /// use logtally_core::read::LineReader;
    /// use logtally_core::Analyzer;
    /// let text = b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5\n";
    /// let first = LineReader::new(&text[..]).next_block(1 << 20).unwrap().unwrap();
    /// assert_eq!(Analyzer::detection_sample(&first), vec![&text[..text.len() - 1]]);
    /// ```
    pub fn detection_sample<'a>(first: impl Into<BlockRef<'a>>) -> Vec<&'a [u8]> {
        // The lines a serial read detects from, however big `first` is: those
        // that start within its first DETECTION_BYTES (what
        // `next_block(DETECTION_BYTES)` gives).
        let mut offset = 0;
        first
            .into()
            .lines()
            .take_while(|l| {
                let start = offset;
                offset += l.bytes.len() + 1;
                start < DETECTION_BYTES
            })
            .filter(|l| l.cut.is_none())
            .take(DETECTION_LINES)
            .map(|l| l.bytes)
            .collect()
    }

    /// Tallies `blocks`, a stream's first wave, then the rest of the stream
    /// in waves of as many blocks, in order, on this thread: how a stream
    /// that is not [`splittable`](Self::splittable) is read once its first
    /// wave is. `stop` is asked before each wave (`false`: it stopped the
    /// read); a read fault is kept in `error`.
    pub fn analyze_waves_in_order<R: Read>(
        &mut self,
        partial: &mut Partial,
        mut blocks: Vec<Block>,
        lines: &mut LineReader<R>,
        error: &mut Option<String>,
        stop: impl Fn() -> bool,
    ) -> bool {
        let wave = blocks.len().max(1);
        while !blocks.is_empty() {
            if stop() {
                return false;
            }
            for block in &blocks {
                self.analyze_block_into(partial, block);
            }
            blocks = lines.next_wave(wave, BLOCK_SIZE, error);
        }
        true
    }

    /// Whether the current stream's blocks may be tallied apart and in any
    /// order: not when its format carries state from line to line (a W3C
    /// log's `#Fields:` names the fields of the lines after it), which is
    /// read in order.
    pub fn splittable(&self) -> bool {
        match &self.matcher {
            Matcher::Format(parser) => !parser.carries_state(),
            Matcher::Book { .. } | Matcher::Unknown => true,
        }
    }

    /// The stream's [`Tally`] from its lines' `partial` and how it `end`ed,
    /// with the format it was read in (and why none, if none fitted).
    pub fn finish(&self, partial: Partial, end: StreamEnd) -> Tally {
        partial.into_tally(&self.stream_end(end))
    }

    /// [`finish`](Self::finish), and the stream's records kept for counting
    /// again (its [`Partial::records`]).
    pub fn finish_indexed(&self, mut partial: Partial, end: StreamEnd) -> (Tally, FileRecords) {
        let shards = std::mem::take(&mut partial.records);
        let end = self.stream_end(end);
        let records = FileRecords {
            lines: partial.lines,
            malformed: partial.malformed,
            samples: partial.samples.clone(),
            end: end.clone(),
            shards,
        };
        (partial.into_tally(&end), records)
    }

    /// How the stream ended, with its format and why none fitted, if none did.
    fn stream_end(&self, end: StreamEnd) -> StreamEnd {
        let error = match (self.stream_problem.clone(), end.error) {
            (Some(problem), Some(error)) => Some(format!("{problem}; {error}")),
            (problem, error) => problem.or(error),
        };
        StreamEnd {
            error,
            format: self.format_name.clone(),
            ..end
        }
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
    each: impl FnMut(&mut Partial, Line<'_>),
) -> Tally {
    let mut lines = LineReader::with_max_line(reader, max_line);
    let mut partial = Partial::default();
    let error = read_lines(&mut lines, &mut partial, each).err();
    partial.into_tally(&StreamEnd::of(name, &lines, error))
}

/// Reads the rest of `lines`, counting each and handing it to `each`; the
/// fault that ended the stream early, if one did.
fn read_lines<R: Read>(
    lines: &mut LineReader<R>,
    partial: &mut Partial,
    mut each: impl FnMut(&mut Partial, Line<'_>),
) -> Result<(), String> {
    while let Some(line) = lines.next_line().map_err(|e| e.to_string())? {
        partial.lines += 1;
        each(partial, line);
    }
    Ok(())
}

/// The tally of some lines of one stream: what blocks of a stream merge into
/// before the stream's own accounting is added. It serializes, to cross from
/// a worker process to its parent (the kept records stay behind).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// Count per key (found by the line's bytes; see [`Counts`] for its seeded hash).
    pub counts: Counts,
    /// Lines seen.
    pub lines: u64,
    /// Lines counted.
    pub counted: u64,
    /// Lines filtered.
    pub filtered: u64,
    /// Lines malformed.
    pub malformed: u64,
    /// Counted records with a request time.
    pub timed: u64,
    /// Their request times added up, in microseconds.
    pub time_total_us: u64,
    /// The longest of them, in microseconds.
    pub time_max_us: u64,
    /// The first malformed lines: (line number, message), in line order.
    pub samples: Vec<(u64, String)>,
    /// The panels (`--report`), once a record is counted into them.
    pub panels: Option<Box<Panels>>,
    /// The records read, when the analyzer keeps them
    /// ([`Analyzer::keep_records`]): one shard per partial tally merged in.
    #[serde(skip)]
    pub records: Vec<RecordShard>,
}

impl Partial {
    /// Adds `other`, keeping the `max_samples` malformed lines that come first
    /// in the stream, so the result does not depend on how it was cut.
    pub fn merge(&mut self, other: Partial, max_samples: usize) {
        self.counts.merge(other.counts);
        self.lines += other.lines;
        self.counted += other.counted;
        self.filtered += other.filtered;
        self.malformed += other.malformed;
        self.timed += other.timed;
        self.time_total_us += other.time_total_us;
        self.time_max_us = self.time_max_us.max(other.time_max_us);
        self.samples.extend(other.samples);
        self.samples.sort_by_key(|s| s.0);
        self.samples.truncate(max_samples);
        merge_panels(&mut self.panels, other.panels);
        self.records.extend(other.records);
    }

    /// The shard this partial keeps its records in.
    fn shard(&mut self) -> &mut RecordShard {
        if self.records.is_empty() {
            self.records.push(RecordShard::default());
        }
        self.records.last_mut().expect("pushed above")
    }

    /// Counts one record, with its request time where it has one.
    fn count_record(&mut self, seconds: Option<f64>) {
        self.counted += 1;
        if let Some(s) = seconds {
            let micros = (s * 1e6).round() as u64;
            self.timed += 1;
            self.time_total_us += micros;
            self.time_max_us = self.time_max_us.max(micros);
        }
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
            format: end.format.clone(),
        };
        let mut tally = Tally {
            counts: self.counts,
            ..Tally::default()
        };
        tally.totals = crate::tally::Totals {
            files: 1,
            lines: summary.lines,
            counted: summary.counted,
            filtered: summary.filtered,
            malformed: summary.malformed,
            bytes_in: summary.bytes_in,
            bytes_out: summary.bytes_out,
            timed: self.timed,
            time_total_us: self.time_total_us,
            time_max_us: self.time_max_us,
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
        tally.panels = self.panels;
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
    /// The log format it was read in (empty where none applies).
    pub format: String,
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
            format: String::new(),
        }
    }
}

/// What a line's referrer must be, by what reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Referrer {
    /// One `urlparse` rejects makes the line malformed (`book_compat`).
    Required,
    /// One `urlparse` rejects is dropped from the record.
    Checked,
    /// Nothing reads it: kept as it is.
    Unread,
}

/// A line of the current stream as a record: `Ok(None)` for a directive line
/// of the format (W3C `#Fields`), `Err` when the line is malformed.
#[inline(always)]
fn parse_record<'a>(
    matcher: &'a mut Matcher,
    parser: &'a mut RecordParser,
    scratch: &'a mut Scratch,
    last_time: &mut TimeCache,
    referrer: Referrer,
    line: &'a [u8],
    by_separators: bool,
) -> Result<Option<Record<'a>>, Malformed> {
    let Scratch {
        request: request_buf,
        target: target_buf,
        path: path_buf,
        referrer: referrer_buf,
    } = scratch;
    match matcher {
        Matcher::Unknown => Err(Malformed::NoFormat),
        Matcher::Book { fallback } => match parser.parse_split(line, by_separators) {
            Some((record, request)) => book_record(
                record,
                request,
                referrer,
                last_time,
                target_buf,
                path_buf,
                referrer_buf,
            )
            .map(Some),
            None => match fallback.iter_mut().find_map(|p| p.parse(line).record()) {
                Some(fields) => {
                    fields_record(fields, last_time, request_buf, target_buf, path_buf).map(Some)
                }
                None => Err(Malformed::NotARecord),
            },
        },
        Matcher::Format(p) => match p.parse(line) {
            Parsed::Record(fields) => {
                fields_record(fields, last_time, request_buf, target_buf, path_buf).map(Some)
            }
            Parsed::Directive => Ok(None),
            Parsed::NoMatch(_) => Err(Malformed::NotARecord),
        },
    }
}

impl Options {
    /// The panels a stream starts with: with one panel and a bucket, its
    /// keys are counted per bucket too.
    fn empty_panels(&self) -> Panels {
        match (self.panels.as_slice(), self.key_bucket) {
            ([key], Some(bucket)) => Panels::with_key_series(*key, bucket),
            _ => Panels::new(&self.panels),
        }
    }

    /// Whether the book's path filter drops records (the path key alone, or
    /// the book's behaviour), rather than shaping the path panel only.
    fn filters_every_path(&self) -> bool {
        self.path_filter.is_some()
            && (self.book_compat || (self.panels.is_empty() && self.group_by == GroupBy::Path))
    }

    /// Whether `record` counts: the prefix (and, for the path key or under
    /// `book_compat`, the book's path filter), then the user's selection. In
    /// `--report` the path filter shapes the path panel only.
    fn admits(&self, record: &Record<'_>, selection: &Selection) -> bool {
        if let Some(filter) = &self.path_filter {
            if self.filters_every_path() && !filter.accepts(record.path) {
                return false;
            }
        }
        if let Some(prefix) = &self.prefix {
            if !prefix.accepts(record.path) {
                return false;
            }
        }
        selection.accepts(record)
    }
}

/// Counting kept records again: per panel whose key one field gives
/// ([`key_field`]), the key's id in the panels for each of the shard's value
/// ids, found at the value's first record (a shard of the seed corpus has
/// half a million hosts: their keys are hashed and compared once, not at
/// every record); per panel whose key is the record's hour or day, the last
/// one's key (kept records follow each other in time).
struct KnownKeys {
    value_ids: usize,
    /// Per panel (with its place), in counting order, once the first record made them.
    panels: Option<Vec<(usize, Known)>>,
    /// The visitor hashes of recent (host, agent, local day)s, by their ids.
    recent_visitors: Vec<RecentVisitor>,
}

/// A visitor's host and agent (as value ids) and local day, its hash, and
/// its place in the panels' table of visitors once counted (a hint, which
/// [`Panels::add_totals`] checks).
#[derive(Clone, Copy)]
struct RecentVisitor {
    host: u32,
    agent: u32,
    day: i64,
    hash: u64,
    place: Option<usize>,
}

/// Recent visitors remembered (direct-mapped): a visitor's records come in
/// runs, and hashing its host and agent (100-200 bytes) took a tenth of a
/// recount on wasm32, whose 128-bit multiply is a library call.
const RECENT_VISITORS_BITS: u32 = 10;

/// A day no record has: a free place.
const NO_DAY: i64 = i64::MAX;

/// What is known of one panel's keys, as their ids plus one ([`UNKNOWN`]
/// until found, [`NO_KEY`] for none).
enum Known {
    /// Its field, and its keys' ids by value id.
    Field(KeptField, Vec<u32>),
    /// Its key is the record's local hour or day (seconds long): the last
    /// one's number since the local epoch, and its key's id.
    Time { seconds: i64, last: i64, id: u32 },
    /// The not-found panel: a key (the path's) only where the status is
    /// 404, whose value id the shard's first such record gives; the keys by
    /// the path's value id.
    NotFound { status: Option<u32>, keys: Vec<u32> },
    /// Found record by record.
    Unknown,
}

/// A value whose key is not yet found.
/// Zero, so that a panel's list is zeroed memory, whose pages a narrowing
/// filter (few records counted) never touches.
const UNKNOWN: u32 = 0;
/// A value that gives no key in its panel (a path the filter drops...).
const NO_KEY: u32 = u32::MAX;

impl Known {
    /// A panel keyed by the local hour or day, `seconds` long; none seen yet.
    fn time(seconds: i64) -> Self {
        Known::Time {
            seconds,
            last: i64::MIN,
            id: UNKNOWN,
        }
    }
}

impl KnownKeys {
    fn new(value_ids: usize) -> Self {
        KnownKeys {
            value_ids,
            panels: None,
            recent_visitors: vec![
                RecentVisitor {
                    host: 0,
                    agent: 0,
                    day: NO_DAY,
                    hash: 0,
                    place: None,
                };
                1 << RECENT_VISITORS_BITS
            ],
        }
    }

    /// Where `record.visitor()` is remembered (whose values are `ids`):
    /// hashed once per run of the same host, agent and local day.
    fn visitor(&mut self, ids: &ValueIds, record: &Record<'_>, clock: Option<(i64, i32)>) -> usize {
        // Value ids are below 2^32 (a shard holds fewer distinct values).
        let host = ids.of(KeptField::Host) as u32;
        let agent = ids.of(KeptField::Agent) as u32;
        // The visitor's date is its record's local date; `MIN`: no time.
        let day = clock.map_or(i64::MIN, |(second, _)| second.div_euclid(86_400));
        let mix = (u64::from(host) << 32 | u64::from(agent)) ^ (day as u64).rotate_left(29);
        let at = (mix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT_VISITORS_BITS)) as usize;
        let recent = &mut self.recent_visitors[at];
        if (recent.host, recent.agent, recent.day) != (host, agent, day) {
            *recent = RecentVisitor {
                host,
                agent,
                day,
                hash: record.visitor(),
                place: None,
            };
        }
        at
    }

    /// What is known of each panel's keys, with the panel's place, in the
    /// order its keys are counted ([`Panels::count_order`]); made at the
    /// shard's first record.
    fn plans(&mut self, panels: &mut Panels) -> &mut [(usize, Known)] {
        let value_ids = self.value_ids;
        self.panels.get_or_insert_with(|| {
            panels
                .count_order()
                .indices()
                .map(|index| {
                    let known = match panels.key_at(index) {
                        GroupBy::Hour => Known::time(3_600),
                        GroupBy::Day => Known::time(86_400),
                        GroupBy::NotFound => Known::NotFound {
                            status: None,
                            keys: vec![UNKNOWN; value_ids],
                        },
                        by => key_field(by).map_or(Known::Unknown, |f| {
                            Known::Field(f, vec![UNKNOWN; value_ids])
                        }),
                    };
                    (index, known)
                })
                .collect()
        })
    }
}

impl Known {
    /// Where the id of the key this panel has for `record` (whose values are
    /// `ids`) is kept; `no_key` for a record this panel has no key for; none
    /// when it is found record by record.
    #[inline]
    fn slot<'k>(
        &'k mut self,
        ids: &ValueIds,
        record: &Record<'_>,
        clock: Option<(i64, i32)>,
        no_key: &'k mut u32,
    ) -> Option<&'k mut u32> {
        match self {
            Known::Field(field, keys) => Some(&mut keys[ids.of(*field)]),
            Known::Time { seconds, last, id } => {
                // The wall-clock hour or day (what its key says); `MIN + 1`: no time.
                let number = clock.map_or(i64::MIN + 1, |(second, _)| second.div_euclid(*seconds));
                if number != *last {
                    *last = number;
                    *id = UNKNOWN;
                }
                Some(id)
            }
            Known::NotFound { status, keys } => {
                let value = ids.of(KeptField::Status) as u32;
                if status.is_none() && is_not_found(&record.status) {
                    *status = Some(value);
                }
                if *status == Some(value) {
                    Some(&mut keys[ids.of(KeptField::Path)])
                } else {
                    *no_key = NO_KEY;
                    Some(no_key)
                }
            }
            Known::Unknown => None,
        }
    }
}

/// Counts `record` into the panels of `partial`, or as filtered when the
/// options or the selection drop it (the same for a record read from a file
/// and one counted again from the index).
/// `known`: a kept record's value ids and the keys found for them.
fn add_record(
    options: &Options,
    selection: &Selection,
    keys: &mut KeyCache,
    partial: &mut Partial,
    record: &Record<'_>,
    mut known: Option<(&ValueIds, &mut KnownKeys)>,
) {
    if !options.admits(record, selection) {
        partial.filtered += 1;
        return;
    }
    partial.count_record(record.seconds);
    let panels = partial
        .panels
        .get_or_insert_with(|| Box::new(options.empty_panels()));
    let clock_of_time = || {
        record
            .time
            .map(|t| (wall_clock_seconds(&t), t.offset().local_minus_utc()))
    };
    let clock = match &known {
        Some((values, _)) => {
            debug_assert_eq!(values.clock(), clock_of_time());
            values.clock()
        }
        None => clock_of_time(),
    };
    // Where a kept record's visitor is remembered.
    let recent = known
        .as_mut()
        .map(|(values, known)| known.visitor(values, record, clock));
    let visitor = match (&known, recent) {
        (Some((_, known)), Some(at)) => known.recent_visitors[at].hash,
        _ => record.visitor(),
    };
    let hit = Hit {
        visitor,
        bytes: record.bytes_sent(),
        seconds: record.seconds,
        status_class: status_class(record.status_code()),
        clock,
    };
    let mut ids = RecordKeyIds::default();
    let mut facts = RecordFacts::new(options.path_filter.as_ref());
    match &mut known {
        Some((values, known)) => {
            let mut no_key = NO_KEY;
            for (index, plan) in known.plans(panels) {
                let id = match plan.slot(values, record, clock, &mut no_key) {
                    Some(&mut NO_KEY) => None,
                    Some(&mut found) if found != UNKNOWN => {
                        Some(panels.add_to_key(found - 1, &hit))
                    }
                    slot => add_unknown_key(panels, *index, slot, record, &mut facts, keys, &hit),
                };
                if let Some(id) = id {
                    ids.push(id);
                }
            }
        }
        None => {
            for index in panels.count_order().indices() {
                let key = panel_key(record, panels.key_at(index), &mut facts, keys);
                if let Some(key) = key {
                    ids.push(panels.add_key(index, &key, &hit));
                }
            }
        }
    }
    match (known, recent) {
        (Some((_, known)), Some(at)) => {
            let recent = &mut known.recent_visitors[at];
            recent.place = Some(panels.add_totals(&hit, &mut ids, recent.place));
        }
        _ => {
            panels.add_totals(&hit, &mut ids, None);
        }
    }
}

/// Counts `hit` under the key panel `index` has for `record`, a kept record
/// whose key there is not known yet, found from its bytes; the key's id
/// (none when the panel has no key for it). `slot`: where the id plus one is
/// to be kept, `NO_KEY` for none. Out of line: kept inline, it made the loop
/// over known keys a tenth longer.
#[inline(never)]
fn add_unknown_key(
    panels: &mut Panels,
    index: usize,
    slot: Option<&mut u32>,
    record: &Record<'_>,
    facts: &mut RecordFacts<'_>,
    keys: &mut KeyCache,
    hit: &Hit,
) -> Option<u32> {
    let id = panel_key(record, panels.key_at(index), facts, keys)
        .map(|key| panels.add_key(index, &key, hit));
    if let Some(slot) = slot {
        // Key ids keep the top bits for the panel (fewer than 31).
        debug_assert!(id.is_none_or(|id| id < NO_KEY - 1));
        *slot = id.map_or(NO_KEY, |id| id + 1);
    }
    id
}

/// A line the book's pattern matched, as a record. Under `book_compat` the
/// book's drops (empty request, a URL or referrer `urlparse` rejects) are
/// malformed; otherwise such a line is a record with an empty path.
#[inline(always)]
fn book_record<'a>(
    record: AccessRecord<'a>,
    request: Option<Request<'a>>,
    referrer: Referrer,
    last_time: &mut TimeCache,
    target_buf: &'a mut Vec<u8>,
    path_buf: &'a mut Vec<u8>,
    referrer_buf: &mut Vec<u8>,
) -> Result<Record<'a>, Malformed> {
    let compat = referrer == Referrer::Required;
    let time = last_time.parse(record.time).ok_or(Malformed::BadTime)?;
    let (method, path, protocol): (&[u8], &[u8], &[u8]) =
        match request.or_else(|| split_request(record.request, target_buf)) {
            Some(request) => {
                let protocol = protocol_of(&request);
                match url_path(request.target, path_buf) {
                    Ok(path) => (request.method, path, protocol),
                    Err(e) if compat => return Err(Malformed::BadTarget(e)),
                    Err(_) => (request.method, b"", protocol),
                }
            }
            None if compat => return Err(Malformed::EmptyRequest),
            None => (b"", b"", b"-"),
        };
    let mut referer = record.referer;
    if let Some(r) = referer.filter(|_| referrer != Referrer::Unread) {
        if let Err(e) = check_url(r, referrer_buf) {
            if compat {
                return Err(Malformed::BadReferrer(e));
            }
            referer = None;
        }
    }
    Ok(Record {
        host: Cow::Borrowed(record.host),
        status: Cow::Borrowed(record.status),
        method: Cow::Borrowed(method),
        path,
        protocol: Cow::Borrowed(protocol),
        time: Some(time),
        referer: referer.map(Cow::Borrowed),
        user_agent: record.user_agent.map(Cow::Borrowed),
        vhost: None,
        bytes: Size::Written(Cow::Borrowed(record.bytes)),
        seconds: None,
    })
}

/// The request's protocol (its last word), `-` for a one-word request.
fn protocol_of<'a>(request: &Request<'a>) -> &'a [u8] {
    if std::ptr::eq(request.method, request.protocol) {
        b"-"
    } else {
        request.protocol
    }
}

/// A line of any other format (or one the book's pattern rejected that the
/// Combined/Common presets accept), as a record: absent fields show as `-`, a
/// request that is not HTTP has an empty path; only a time that is there but
/// does not parse makes the line malformed.
#[inline(always)]
fn fields_record<'a>(
    fields: Fields<'a>,
    last_time: &mut TimeCache,
    request_buf: &'a mut Vec<u8>,
    target_buf: &'a mut Vec<u8>,
    path_buf: &'a mut Vec<u8>,
) -> Result<Record<'a>, Malformed> {
    let time = match &fields.time {
        None => None,
        Some(TimeText::Clf(text)) => Some(last_time.parse(text).ok_or(Malformed::BadTime)?),
        Some(other) => Some(other.to_datetime().ok_or(Malformed::BadTime)?),
    };
    let Fields {
        host,
        request,
        method,
        target,
        status,
        referer,
        user_agent,
        vhost,
        request_time,
        protocol,
        bytes,
        ..
    } = fields;
    let dash = || Cow::Borrowed(&b"-"[..]);
    let (method, path, protocol): (Cow<'a, [u8]>, &'a [u8], Cow<'a, [u8]>) = match request {
        Some(request) => {
            let request = hold(request, request_buf);
            match split_request(request, target_buf) {
                Some(r) => (
                    Cow::Borrowed(r.method),
                    url_path(r.target, path_buf).unwrap_or(b""),
                    Cow::Borrowed(protocol_of(&r)),
                ),
                None => (Cow::Borrowed(&b""[..]), &b""[..], dash()),
            }
        }
        None => {
            let path = match target {
                Some(target) => url_path(hold(target, target_buf), path_buf).unwrap_or(b""),
                None => b"",
            };
            (
                method.unwrap_or_else(dash),
                path,
                protocol.filter(|p| !p.is_empty()).unwrap_or_else(dash),
            )
        }
    };
    Ok(Record {
        host: host.unwrap_or_else(dash),
        status: status.unwrap_or_else(dash),
        method,
        path,
        time,
        referer: referer.filter(|r| r.as_ref() != b"-"),
        user_agent: user_agent.filter(|u| !u.is_empty() && u.as_ref() != b"-"),
        vhost,
        protocol,
        bytes: Size::Written(bytes.unwrap_or_else(dash)),
        // A time that is no duration (negative, NaN) is no time.
        seconds: request_time.filter(|s| s.is_finite() && *s >= 0.0),
    })
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

/// A line as it may appear in a message: lossy UTF-8, control bytes escaped, cut short.
fn excerpt(line: &[u8]) -> String {
    const MAX: usize = 120;
    let mut out = printable(&String::from_utf8_lossy(&line[..line.len().min(MAX)])).into_owned();
    if line.len() > MAX {
        out.push_str("...");
    }
    out
}

/// Text from a log as it may reach a terminal: control characters (NUL,
/// escape sequences) shown escaped, all else as it is (and not copied).
///
/// ```
/// assert_eq!(logtally_core::printable("/\x1b[31mred"), "/\\u{1b}[31mred");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
