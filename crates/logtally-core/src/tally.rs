//! Tally and merge: counts by key plus the accounting of every line.
//!
//! A [`Tally`] is the seed's `Counter` with bookkeeping: for every file, the
//! lines read equal the lines counted + filtered + malformed. Tallies merge like
//! `Counter.update` (associative and commutative) and round-trip through JSON,
//! so partial results from other processes or machines can be merged later.

use std::ops::Range;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::options::UserOptions;
use crate::panels::{KeySeries, PanelReport, PanelRow, Panels, TimeSeries};

/// Line and byte accounting, for one file or many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Files analysed (failed ones included).
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines that became a count.
    pub counted: u64,
    /// Well-formed records dropped by a filter.
    pub filtered: u64,
    /// Lines that are not a valid record.
    pub malformed: u64,
    /// Bytes read from disk (compressed size for `.gz`).
    pub bytes_in: u64,
    /// Bytes of text after decompression.
    pub bytes_out: u64,
    /// Counted records whose format gives the request's time.
    #[serde(default)]
    pub timed: u64,
    /// Their request times added up, in microseconds (mean: `time_total_us / timed`).
    #[serde(default)]
    pub time_total_us: u64,
    /// The longest request time, in microseconds.
    #[serde(default)]
    pub time_max_us: u64,
}

impl Totals {
    /// Adds `other` field by field.
    pub fn add(&mut self, other: &Totals) {
        self.files += other.files;
        self.lines += other.lines;
        self.counted += other.counted;
        self.filtered += other.filtered;
        self.malformed += other.malformed;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.timed += other.timed;
        self.time_total_us += other.time_total_us;
        self.time_max_us = self.time_max_us.max(other.time_max_us);
    }

    /// Whether every line read is accounted for.
    ///
    /// ```
    /// let t = logtally_core::tally::Totals { lines: 3, counted: 1, filtered: 1, malformed: 1, ..Default::default() };
    /// assert!(t.balanced());
    /// ```
    pub fn balanced(&self) -> bool {
        self.lines == self.counted + self.filtered + self.malformed
    }
}

/// The accounting of one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    /// The file's name as given.
    pub path: String,
    /// Lines read.
    pub lines: u64,
    /// Lines counted.
    pub counted: u64,
    /// Lines filtered out.
    pub filtered: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Bytes read from disk.
    pub bytes_in: u64,
    /// Bytes of text.
    pub bytes_out: u64,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// Whether reading stopped early (its lines before the fault still
    /// count), or no log format fitted it (its lines are malformed).
    pub failed: bool,
    /// The log format it was read in (`book`: the book's pattern, `--book-compat`).
    #[serde(default)]
    pub format: String,
}

/// Something that went wrong with a file or one of its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file it concerns.
    pub path: String,
    /// The line number, where one applies.
    pub line: Option<u64>,
    /// What happened, for a person to read.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

pub use crate::counts::{Counts, CountsIntoIter, ShippedCounts};

/// Counts by key, with the accounting and problems of the files behind them.
///
/// ```
/// use logtally_core::tally::Tally;
/// let mut a = Tally::default();
/// a.add_count("/x", 2);
/// let mut b = Tally::default();
/// b.add_count("/x", 1);
/// b.add_count("/y", 1);
/// a.merge(b);
/// assert_eq!(a.counts["/x"], 3);
/// assert_eq!(a.counts.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Count per key (a seeded fast hash: keys come from untrusted logs, and a
    /// crawler's logs have millions of them).
    pub counts: Counts,
    /// Accounting over all files.
    pub totals: Totals,
    /// One summary per file.
    pub files: Vec<FileSummary>,
    /// File errors and malformed-line samples.
    pub errors: Vec<Problem>,
    /// The panels, when they were asked for (`--report`).
    #[serde(default)]
    pub panels: Option<Box<Panels>>,
}

impl Tally {
    /// Adds `n` to the count of `key`.
    pub fn add_count(&mut self, key: &str, n: u64) {
        self.counts.add(key, n);
    }

    /// Merges `other` into `self` (the seed's `Counter.update`, plus accounting).
    pub fn merge(&mut self, other: Tally) {
        self.counts.merge(other.counts);
        self.totals.add(&other.totals);
        self.files.extend(other.files);
        self.errors.extend(other.errors);
        merge_panels(&mut self.panels, other.panels);
    }

    /// The counts ordered by count (descending), then key, cut to `limit`.
    ///
    /// ```
    /// use logtally_core::tally::{Limit, Tally};
    /// let mut t = Tally::default();
    /// for (k, n) in [("/a", 1), ("/b", 3), ("/c", 3)] { t.add_count(k, n); }
    /// let top = t.ranked(Limit { top: Some(2), min_count: 1 });
    /// assert_eq!(top, vec![("/b".to_string(), 3), ("/c".to_string(), 3)]);
    /// ```
    pub fn ranked(&self, limit: Limit) -> Vec<(String, u64)> {
        ranked_keys(&self.counts, limit)
            .into_iter()
            .map(|r| (self.counts.key_at(r.at as usize).to_string(), r.count))
            .collect()
    }

    /// The report in logtally's JSON schema, files and problems in a stable
    /// order, showing the rows `options` asks for.
    pub fn report(&self, options: &UserOptions) -> Report {
        let counts: RankedCounts = ranked_keys(&self.counts, options.limit())
            .into_iter()
            .map(|r| (self.counts.key_at(r.at as usize), r.count))
            .collect();
        self.report_with(counts, self.counts.len(), options)
    }

    /// The report ([`report`](Self::report)) of a tally no longer needed: its
    /// keys' texts move into the report rather than being copied.
    ///
    /// ```
    /// use logtally_core::{tally::Tally, UserOptions};
    /// let mut t = Tally::default();
    /// for (k, n) in [("/a", 1), ("/b", 3)] { t.add_count(k, n); }
    /// let report = t.clone().into_report(&UserOptions::default());
    /// assert_eq!(report.counts, t.report(&UserOptions::default()).counts);
    /// assert_eq!(report.counts.iter().collect::<Vec<_>>(), [("/b", 3), ("/a", 1)]);
    /// ```
    pub fn into_report(mut self, options: &UserOptions) -> Report {
        let counts = std::mem::take(&mut self.counts);
        // Mapped where they lie: a ranked row and a report's row are the same size.
        let rows: Vec<(usize, usize, u64)> = ranked_keys(&counts, options.limit())
            .into_iter()
            .map(|r| {
                let (start, len) = counts.place_of(r.at as usize);
                (start, len, r.count)
            })
            .collect();
        let distinct = counts.len();
        let ranked = RankedCounts {
            texts: counts.into_texts(),
            rows,
        };
        self.report_with(ranked, distinct, options)
    }

    /// The report showing `counts`, ranked from this tally's `distinct` keys.
    fn report_with(&self, counts: RankedCounts, distinct: usize, options: &UserOptions) -> Report {
        let mut files = self.files.clone();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut errors = self.errors.clone();
        errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        Report {
            complete: counts.len() == distinct,
            distinct: distinct as u64,
            counts,
            totals: self.totals,
            files,
            errors,
            partial: false,
            options: options.clone(),
        }
    }
}

/// The rows `limit` shows, by count (descending) then key, of the `len` rows
/// whose keys and counts `key_at` and `count_at` give by place: each as its
/// count and its place. Places are ranked and only the rows shown are
/// sorted: with millions of keys (a crawler's URLs) and a top 20, nearly
/// nothing is sorted or copied; with `--all`, a row being sorted is 24 bytes
/// (two million of them had been 96 MB).
///
/// Keys that tie on count are ordered by the eight bytes after the prefix all
/// keys share, held beside each row as a number, and only where those tie by
/// comparing the keys: a crawler's URLs share a long prefix
/// (`/catalog/item-000...`), and comparing strings from their start was most
/// of the time of `--all` on two million of them.
pub(crate) fn ranked_places<'a>(
    len: usize,
    key_at: impl Fn(usize) -> &'a str + Sync,
    count_at: impl Fn(usize) -> u64 + Sync,
    limit: Limit,
) -> Vec<Ranked> {
    // A few of many rows shown (a top 20 of millions of hosts): only rows
    // that count at least the top-th largest count can be among them, and
    // their keys are the only ones read (reading every key's text, each a
    // cache miss, was most of the time of ranking such a panel).
    let least = match limit.top {
        Some(0) => return Vec::new(),
        Some(top) if top.saturating_mul(8) <= len => {
            least_of_top(top, (0..len).map(&count_at)).max(limit.min_count)
        }
        _ => limit.min_count,
    };
    // Passes over the rows rather than a list of them in between (two
    // million rows are 48 MB of fresh pages).
    let shown = |at: &usize| count_at(*at) >= least;
    let shared = match (0..len).find(shown) {
        Some(first) => {
            let first = key_at(first).as_bytes();
            let shared_in = |places: Range<usize>| {
                places.filter(shown).fold(first.len(), |shared, at| {
                    shared_part(first, shared, key_at(at).as_bytes())
                })
            };
            // No piece shares more than the first key (an empty piece shares all of it).
            over_pieces(len, pieces_of(len), shared_in)
                .into_iter()
                .min()
                .unwrap_or(first.len())
        }
        None => 0,
    };
    let mut rows = shown_rows(len, shown, |at| Ranked {
        count: count_at(at),
        after_shared: bytes_after(key_at(at).as_bytes(), shared),
        // Counts and panels hold fewer than 2^32 keys.
        at: at as u32,
    });
    let order = |a: &Ranked, b: &Ranked| {
        b.count
            .cmp(&a.count)
            .then(a.after_shared.cmp(&b.after_shared))
            .then_with(|| {
                let key = |r: &Ranked| &key_at(r.at as usize).as_bytes()[shared..];
                key(a).cmp(key(b))
            })
    };
    if let Some(top) = limit.top {
        // At least 1: a top of none returned above.
        if top < rows.len() {
            rows.select_nth_unstable_by(top - 1, order);
            rows.truncate(top);
        }
    }
    sort_rows(&mut rows, order);
    rows
}

/// The `top`-th largest of `counts` (0 when there are fewer): no row
/// counted less is among the `top` first.
fn least_of_top(top: usize, counts: impl Iterator<Item = u64>) -> u64 {
    let mut largest = std::collections::BinaryHeap::with_capacity(top + 1);
    for count in counts {
        if largest.len() < top {
            largest.push(std::cmp::Reverse(count));
        } else if largest.peek().is_some_and(|least| count > least.0) {
            largest.pop();
            largest.push(std::cmp::Reverse(count));
        }
    }
    match largest.peek() {
        Some(least) if largest.len() == top => least.0,
        _ => 0,
    }
}

/// The places of `counts`' keys that `limit` shows, ranked ([`ranked_places`]).
fn ranked_keys(counts: &Counts, limit: Limit) -> Vec<Ranked> {
    ranked_places(
        counts.len(),
        |at| counts.key_at(at),
        |at| counts.count_at(at),
        limit,
    )
}

/// A row being ranked: its count, the eight bytes of its key after the
/// prefix all keys share (as a number that orders as they do), its place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked {
    pub(crate) count: u64,
    after_shared: u64,
    pub(crate) at: u32,
}

/// From how many rows ranking and printing them is shared among the threads
/// (a crawler's millions of distinct paths shown with `--all`).
#[cfg(feature = "rayon")]
const MANY_ROWS: usize = 1 << 16;

/// Sorts `rows` by `order`: on every thread where there are many.
fn sort_rows<R: Send>(rows: &mut [R], order: impl Fn(&R, &R) -> std::cmp::Ordering + Sync) {
    #[cfg(feature = "rayon")]
    if rows.len() >= MANY_ROWS {
        use rayon::slice::ParallelSliceMut;
        rows.par_sort_unstable_by(order);
        return;
    }
    rows.sort_unstable_by(order);
}

/// How many pieces the places `0..len` are cut into: one, or several per
/// thread where there are many.
fn pieces_of(len: usize) -> usize {
    #[cfg(feature = "rayon")]
    if len >= MANY_ROWS {
        return 4 * rayon::current_num_threads();
    }
    #[cfg(not(feature = "rayon"))]
    let _ = len;
    1
}

/// The places of piece `piece` of `pieces` of `0..len`.
fn piece_of(len: usize, pieces: usize, piece: usize) -> Range<usize> {
    let size = len.div_ceil(pieces);
    (piece * size).min(len)..((piece + 1) * size).min(len)
}

/// `part` of each of `pieces` pieces of the places `0..len`, in order: on
/// every thread where there are several.
fn over_pieces<T: Send>(
    len: usize,
    pieces: usize,
    part: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    #[cfg(feature = "rayon")]
    if pieces > 1 {
        use rayon::prelude::*;
        return (0..pieces)
            .into_par_iter()
            .map(|piece| part(piece_of(len, pieces, piece)))
            .collect();
    }
    (0..pieces)
        .map(|piece| part(piece_of(len, pieces, piece)))
        .collect()
}

/// `row(at)` for each of the places `0..len` that `shown` keeps, in order,
/// in one list that every thread fills its pieces of, where there are
/// many: the list's pages are first written (and zeroed by the kernel, a
/// tenth of a second for two million rows) on every thread, and no piece
/// is copied.
fn shown_rows<R: Send>(
    len: usize,
    shown: impl Fn(&usize) -> bool + Sync,
    row: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let pieces = pieces_of(len);
    #[cfg(feature = "rayon")]
    if pieces > 1 {
        use rayon::prelude::*;
        // One cut for the counts and the writes.
        let counts = over_pieces(len, pieces, |places| places.filter(&shown).count());
        let total: usize = counts.iter().sum();
        let mut rows = Vec::with_capacity(total);
        let mut parts = Vec::with_capacity(pieces);
        let mut rest = &mut rows.spare_capacity_mut()[..total];
        for &count in &counts {
            let (part, after) = rest.split_at_mut(count);
            parts.push(part);
            rest = after;
        }
        let written: usize = parts
            .into_par_iter()
            .enumerate()
            .map(|(piece, part)| {
                let places = piece_of(len, pieces, piece).filter(&shown);
                part.iter_mut()
                    .zip(places)
                    .map(|(slot, at)| slot.write(row(at)))
                    .count()
            })
            .sum();
        // A part can hold no more than its count: all are full.
        assert_eq!(written, total, "every shown row written");
        // SAFETY: the capacity is at least `total` (`with_capacity`), and
        // the first `total` elements were written, each once (the parts
        // split them without overlap, and all parts are full).
        unsafe { rows.set_len(total) };
        return rows;
    }
    #[cfg(not(feature = "rayon"))]
    let _ = pieces;
    (0..len).filter(shown).map(row).collect()
}

/// How much of `first[..shared]` `key` starts with. Most keys start with
/// all of it (a crawler's `/catalog/item-...`): one comparison, not one
/// per byte.
fn shared_part(first: &[u8], shared: usize, key: &[u8]) -> usize {
    let prefix = &first[..shared];
    if key.starts_with(prefix) {
        return shared;
    }
    prefix.iter().zip(key).take_while(|(a, b)| a == b).count()
}

/// The (up to) eight bytes of `key` after `skip`, big-endian, zero-padded:
/// numbers that order as the bytes do (a shorter key, padded with the least
/// byte, comes first or ties, and ties are compared in full).
fn bytes_after(key: &[u8], skip: usize) -> u64 {
    let mut window = [0u8; 8];
    let rest = key.get(skip..).unwrap_or_default();
    let n = rest.len().min(8);
    window[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(window)
}

/// A tally as it crosses from a worker process to its parent, its counts as a
/// list: they are hashed once, where they are merged, instead of also into a
/// map of their own on arrival (a crawler's file holds half a million keys).
///
/// ```
/// use logtally_core::{ShippedTally, Tally};
/// let mut one = Tally::default();
/// one.add_count("/a", 2);
/// let mut two = Tally::default();
/// two.add_count("/a", 1);
/// two.add_count("/b", 5);
/// let shipped = ShippedTally::listed(two);
/// assert_eq!(shipped.counts.len(), 2);
/// let mut total = Tally::default();
/// total.merge_shipped(ShippedTally::from(one));
/// total.merge_shipped(shipped);
/// assert_eq!((total.counts["/a"], total.counts["/b"]), (3, 5));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedTally {
    /// Counts beside those of `rest`.
    pub counts: ShippedCounts,
    /// The rest of the tally (its own counts too, if any).
    pub rest: Tally,
}

impl ShippedTally {
    /// `tally` with its counts moved to the list, for the trip (no hashing).
    pub fn listed(mut tally: Tally) -> Self {
        let counts = ShippedCounts::from(std::mem::take(&mut tally.counts));
        ShippedTally {
            counts,
            rest: tally,
        }
    }
}

/// A tally that does not travel: its counts stay in their map.
impl From<Tally> for ShippedTally {
    fn from(tally: Tally) -> Self {
        ShippedTally {
            counts: ShippedCounts::default(),
            rest: tally,
        }
    }
}

impl Tally {
    /// Merges `shipped` into `self`: [`merge`](Self::merge), and the listed
    /// counts added one by one.
    pub fn merge_shipped(&mut self, shipped: ShippedTally) {
        self.merge(shipped.rest);
        self.counts.add_shipped(&shipped.counts);
    }
}

/// Adds the panels of `other` to `panels`.
pub(crate) fn merge_panels(panels: &mut Option<Box<Panels>>, other: Option<Box<Panels>>) {
    match (panels.as_mut(), other) {
        (Some(mine), Some(theirs)) => mine.merge(*theirs),
        (None, theirs) => *panels = theirs,
        (Some(_), None) => {}
    }
}

/// Which counts a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// At most this many rows (`None`: all).
    pub top: Option<usize>,
    /// Only keys counted at least this often.
    pub min_count: u64,
}

impl Default for Limit {
    fn default() -> Self {
        Limit {
            top: Some(20),
            min_count: 1,
        }
    }
}

/// Counts in rank order, serialized as one JSON object in that order. The
/// keys' texts are kept in one string: a report of millions of keys (`--all`
/// over a crawler's URLs) is not an allocation per key, and a report made
/// from a tally it consumes ([`Tally::into_report`]) takes over the tally's
/// texts without copying them.
///
/// ```
/// use logtally_core::tally::RankedCounts;
/// let rows: RankedCounts = [("/b", 3), ("/a", 1)].into_iter().collect();
/// assert_eq!(rows.iter().collect::<Vec<_>>(), [("/b", 3), ("/a", 1)]);
/// assert_eq!(serde_json::to_string(&rows).unwrap(), r#"{"/b":3,"/a":1}"#);
/// ```
#[derive(Debug, Clone, Default)]
pub struct RankedCounts {
    texts: String,
    /// Per row, in rank order: where its key is in `texts` (start, length) and its count.
    rows: Vec<(usize, usize, u64)>,
}

impl RankedCounts {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends a row.
    pub fn push(&mut self, key: &str, count: u64) {
        self.rows.push((self.texts.len(), key.len(), count));
        self.texts.push_str(key);
    }

    /// The rows in rank order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.rows
            .iter()
            .map(|&(start, len, n)| (&self.texts[start..start + len], n))
    }
}

/// Equal when they show the same rows in the same order (wherever their texts lie).
impl PartialEq for RankedCounts {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for RankedCounts {}

impl<K: AsRef<str>> FromIterator<(K, u64)> for RankedCounts {
    fn from_iter<I: IntoIterator<Item = (K, u64)>>(rows: I) -> Self {
        let mut ranked = RankedCounts::default();
        for (key, n) in rows {
            ranked.push(key.as_ref(), n);
        }
        ranked
    }
}

impl Serialize for RankedCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, n) in self.iter() {
            map.serialize_entry(k, &n)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for RankedCounts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = RankedCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of counts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RankedCounts, A::Error> {
                let mut ranked = RankedCounts::default();
                // A bounded hint, as for Counts: the size comes from the input.
                ranked
                    .rows
                    .reserve(map.size_hint().unwrap_or(0).min(1 << 16));
                while let Some((key, n)) = map.next_entry::<String, u64>()? {
                    ranked.push(&key, n);
                }
                Ok(ranked)
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

/// The result as logtally prints it with `--format json` (and the page
/// exports). A complete report (no rows cut) is also a partial result that
/// [`crate::merge_reports`] combines with others exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Ranked counts.
    pub counts: RankedCounts,
    /// Accounting over all files.
    pub totals: Totals,
    /// Per-file accounting, sorted by path.
    pub files: Vec<FileSummary>,
    /// Problems, sorted by path and line.
    pub errors: Vec<Problem>,
    /// True when the run was interrupted and not every file was read.
    pub partial: bool,
    /// How many distinct keys were counted (`counts` may show fewer).
    pub distinct: u64,
    /// Whether `counts` shows every key (no `--top` or `--min-count` cut).
    pub complete: bool,
    /// The options the counts were made with.
    pub options: UserOptions,
}

/// Why a text is not a report [`crate::merge_reports`] can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportJsonError {
    /// Not JSON of a report's shape.
    #[error("{0}")]
    Json(String),
    /// A report with panels (schema 2): its visitors are counts, not visitors.
    #[error("a report with panels (--report, schema 2) holds visitor counts, not the visitors, so it cannot be merged exactly: write each run's state with --state FILE and merge the states")]
    WithPanels,
}

impl Report {
    /// Parses a report of one key (the default JSON); a report with panels is
    /// named as such.
    ///
    /// ```
    /// use logtally_core::{Report, ReportJsonError};
    /// assert_eq!(Report::from_json(r#"{"schema": 2, "panels": {}}"#).unwrap_err(), ReportJsonError::WithPanels);
    /// assert!(matches!(Report::from_json("[]"), Err(ReportJsonError::Json(_))));
    /// ```
    pub fn from_json(text: &str) -> Result<Report, ReportJsonError> {
        serde_json::from_str(text).map_err(|e| {
            // Only a text that is no report is parsed again, to say why.
            let schema = serde_json::from_str::<serde_json::Value>(text).map(|v| v["schema"] == 2);
            if schema.unwrap_or(false) {
                ReportJsonError::WithPanels
            } else {
                ReportJsonError::Json(e.to_string())
            }
        })
    }

    /// This report as `serde_json::to_string_pretty` writes it, in pieces to
    /// write one after another: where there are millions of rows (`--all`
    /// over a crawler's URLs) they are written on every thread, and not
    /// copied into one string.
    ///
    /// ```
    /// use logtally_core::{tally::Tally, UserOptions};
    /// let mut t = Tally::default();
    /// t.add_count("/a \"quoted\"", 2);
    /// let report = t.report(&UserOptions::default());
    /// let whole = serde_json::to_string_pretty(&report).unwrap();
    /// assert_eq!(report.pretty_json().concat(), whole);
    /// ```
    pub fn pretty_json(&self) -> Vec<String> {
        let whole = || vec![serde_json::to_string_pretty(self).expect("a report serializes")];
        let rows = &self.counts.rows;
        let pieces = pieces_of(rows.len());
        if pieces == 1 {
            return whole();
        }
        let shell = Report {
            counts: RankedCounts::default(),
            totals: self.totals,
            files: self.files.clone(),
            errors: self.errors.clone(),
            partial: self.partial,
            distinct: self.distinct,
            complete: self.complete,
            options: self.options.clone(),
        };
        let shell = serde_json::to_string_pretty(&shell).expect("a report serializes");
        // The counts come first: their rows go between the braces.
        let Some(after) = shell.strip_prefix("{\n  \"counts\": {}") else {
            return whole();
        };
        let texts = &self.counts.texts;
        let rows_text = |places: Range<usize>| {
            // A row's text is some tens of bytes.
            let mut text = String::with_capacity(places.len() * 64);
            let mut digits = itoa::Buffer::new();
            for at in places {
                let (start, len, count) = rows[at];
                text.push_str(if at == 0 { "\n    " } else { ",\n    " });
                push_json_string(&mut text, &texts[start..start + len]);
                text.push_str(": ");
                text.push_str(digits.format(count));
            }
            text
        };
        let mut text = vec!["{\n  \"counts\": {".to_string()];
        text.extend(over_pieces(rows.len(), pieces, rows_text));
        text.push(format!("\n  }}{after}"));
        text
    }
}

/// `key` as serde_json writes a string. Most keys have nothing to escape
/// (no control character, quote or backslash, the only bytes serde_json
/// escapes) and are copied as they are: escaping byte by byte, and
/// formatting the counts, were most of the instructions of printing two
/// million rows.
fn push_json_string(text: &mut String, key: &str) {
    // Over every byte, without stopping early, so that it runs in SIMD lanes.
    let plain = !key.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        text.push('"');
        text.push_str(key);
        text.push('"');
    } else {
        text.push_str(&serde_json::to_string(key).expect("a string serializes"));
    }
}

impl From<Report> for Tally {
    /// The tally behind a report (exact when the report is complete).
    fn from(report: Report) -> Tally {
        Tally {
            counts: report.counts.iter().collect(),
            totals: report.totals,
            files: report.files,
            errors: report.errors,
            panels: None,
        }
    }
}

impl Tally {
    /// The newest record's time on the log's clock (a tally with panels only).
    pub fn newest(&self) -> Option<chrono::NaiveDateTime> {
        self.panels.as_ref()?.newest()
    }

    /// The report with panels (`--report`, JSON schema 2): every panel cut to
    /// the rows `options` asks for, totals exact, hits over time.
    pub fn dashboard(&self, options: &UserOptions) -> Dashboard {
        let mut files = self.files.clone();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut errors = self.errors.clone();
        errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        let empty = Panels::new(&options.report_panels());
        let panels = self.panels.as_deref().unwrap_or(&empty);
        let shown = PanelsJson(panels.report(options.limit()));
        let keys_over_time = shown.0.first().and_then(|p| panels.key_series(&p.rows));
        Dashboard {
            schema: 2,
            totals: DashboardTotals {
                totals: self.totals,
                visitors: panels.visitors(),
                bytes_sent: panels.bytes_sent(),
            },
            panels: shown,
            timeseries: panels.timeseries(options.bucket),
            keys_over_time,
            files,
            errors,
            partial: false,
            options: options.clone(),
        }
    }
}

/// The totals of a report with panels: the line accounting plus visitors and bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardTotals {
    /// Line and byte accounting.
    #[serde(flatten)]
    pub totals: Totals,
    /// Distinct visitors (client host, day, user agent) among the records counted.
    pub visitors: u64,
    /// Bytes sent for the records counted.
    pub bytes_sent: u64,
}

/// A report with panels, as `--report --format json` prints it (schema 2).
///
/// ```
/// use logtally_core::{Analyzer, UserOptions};
/// let options = UserOptions { report: true, ..UserOptions::default() };
/// let log = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 404 5 \"-\" \"curl/8\"\n";
/// let tally = Analyzer::new(options.compile().unwrap()).analyze("x.log", log.as_bytes());
/// let report = tally.dashboard(&options);
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!(json["schema"], 2);
/// assert_eq!(json["panels"]["not-found"]["hits"]["/a"], 1);
/// assert_eq!(json["totals"]["visitors"], 1);
/// assert_eq!(json["timeseries"]["points"][0]["4xx"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// Always 2.
    pub schema: u32,
    /// Exact totals.
    pub totals: DashboardTotals,
    /// The panels in order, each `{"hits", "visitors", "bytes", "distinct", "time"?}`.
    pub panels: PanelsJson,
    /// Hits over time (`None` when no record has a time).
    pub timeseries: Option<TimeSeries>,
    /// With one panel and `--bucket`: its top keys' hits over time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_over_time: Option<KeySeries>,
    /// Per-file accounting, sorted by path.
    pub files: Vec<FileSummary>,
    /// Problems, sorted by path and line.
    pub errors: Vec<Problem>,
    /// True when the run was interrupted.
    pub partial: bool,
    /// The options the report was made with.
    pub options: UserOptions,
}

/// The panels of a [`Dashboard`], serialized as one object in panel order.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelsJson(pub Vec<PanelReport>);

impl Serialize for PanelsJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// One column of a panel, as `{key: value}` in rank order.
        struct Column<'a, T: Serialize>(&'a [PanelRow], fn(&PanelRow) -> Option<T>);
        impl<T: Serialize> Serialize for Column<'_, T> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                for row in self.0 {
                    if let Some(value) = (self.1)(row) {
                        map.serialize_entry(&row.key, &value)?;
                    }
                }
                map.end()
            }
        }
        struct Panel<'a>(&'a PanelReport);
        impl Serialize for Panel<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let rows = &self.0.rows;
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("hits", &Column(rows, |r| Some(r.hits)))?;
                map.serialize_entry("visitors", &Column(rows, |r| Some(r.visitors)))?;
                map.serialize_entry("bytes", &Column(rows, |r| Some(r.bytes)))?;
                map.serialize_entry("distinct", &self.0.distinct)?;
                if rows.iter().any(|r| r.time.is_some()) {
                    map.serialize_entry("time", &Column(rows, |r| r.time.clone()))?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for panel in &self.0 {
            map.serialize_entry(&panel.name, &Panel(panel))?;
        }
        map.end()
    }
}
