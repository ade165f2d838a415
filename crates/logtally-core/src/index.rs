//! The record index: every record of a stream kept as a row of ids into a
//! table of its distinct field values, so that a report with other filters
//! or panels is counted again from memory instead of inflating and parsing
//! the files again (the page's filter changes).
//!
//! A row is 64 bytes, plus each distinct field value once; the rows
//! are counted by the same code as records read from a file
//! ([`Analyzer::retally`](crate::Analyzer::retally)), so the report is the
//! same as a run over the files with those options.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use hashbrown::HashTable;

use crate::analyze::StreamEnd;
use crate::bytes::same_bytes;
use crate::keys::{Record, Size};

/// No value (an absent optional field).
const NONE: u32 = u32::MAX;
/// No time (the record has none).
const NO_OFFSET: i32 = i32::MIN;
/// No request time.
const NO_SECONDS: u64 = u64::MAX;

/// Each distinct byte string once, by id.
#[derive(Clone, Default)]
struct Strings {
    /// The strings end to end.
    bytes: Vec<u8>,
    /// Where each string ends in `bytes`.
    ends: Vec<usize>,
    /// Each string's hash: the table grows without hashing them again.
    hashes: Vec<u64>,
    /// The ids, by the strings' hashes.
    table: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Strings {
    fn get(&self, id: u32) -> &[u8] {
        string_at(&self.bytes, &self.ends, id)
    }

    fn id(&mut self, value: &[u8]) -> u32 {
        let hash = self.hasher.hash_one(value);
        let Strings {
            bytes,
            ends,
            hashes,
            table,
            ..
        } = self;
        if let Some(&id) = table.find(hash, |&id| same_bytes(string_at(bytes, ends, id), value)) {
            return id;
        }
        let id = u32::try_from(ends.len()).expect("fewer than 2^32 distinct values");
        bytes.extend_from_slice(value);
        ends.push(bytes.len());
        hashes.push(hash);
        table.insert_unique(hash, id, |&id| hashes[id as usize]);
        id
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

/// The UTC day of the last record's time: kept records follow each other in
/// time, and finding a date from a day number is most of making a time.
#[derive(Default)]
struct LastDay(Option<(i64, NaiveDate)>);

impl LastDay {
    /// What `DateTime::from_timestamp(timestamp, nanos)` gives.
    fn utc(&mut self, timestamp: i64, nanos: u32) -> Option<DateTime<Utc>> {
        let day = timestamp.div_euclid(86_400);
        let date = match self.0 {
            Some((last, date)) if last == day => date,
            _ => {
                let date = DateTime::from_timestamp(day.checked_mul(86_400)?, 0)?.date_naive();
                self.0 = Some((day, date));
                date
            }
        };
        let second = u32::try_from(timestamp.rem_euclid(86_400)).ok()?;
        let time = NaiveTime::from_num_seconds_from_midnight_opt(second, nanos)?;
        Some(date.and_time(time).and_utc())
    }
}

/// String `id` of `bytes`, which end where `ends` says.
fn string_at<'a>(bytes: &'a [u8], ends: &[usize], id: u32) -> &'a [u8] {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &bytes[start..ends[id]]
}

/// A field of a kept record, in the order of a row's ids (as
/// `RecordShard::push` stores them; a test checks each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeptField {
    Host,
    Status,
    Method,
    Path,
    Protocol,
    Referrer,
    Agent,
    Vhost,
}

/// A kept record's fields' values as ids into its shard's table of values:
/// each below the shard's [`value_ids`](RecordShard::value_ids), the last of
/// them for an absent field. And its time as the row holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueIds {
    ids: [u32; 8],
    clock: Option<(i64, i32)>,
}

impl ValueIds {
    /// The ids of `row`'s fields in a shard of `value_ids` ids; `timed`:
    /// whether its record has a time.
    #[inline]
    fn of_row(row: &Row, value_ids: usize, timed: bool) -> Self {
        // Fewer than 2^32 values (`Strings::id`), plus one.
        let absent = (value_ids - 1) as u32;
        ValueIds {
            // Once per record, not once per panel asking.
            ids: row.fields.map(|id| if id == NONE { absent } else { id }),
            clock: timed.then(|| (row.timestamp + i64::from(row.offset), row.offset)),
        }
    }

    /// The id of `field`'s value.
    #[inline]
    pub(crate) fn of(&self, field: KeptField) -> usize {
        self.ids[field as usize] as usize
    }

    /// The record's time as seconds on its own clock and its UTC offset in
    /// seconds ([`wall_clock_seconds`](crate::panels::wall_clock_seconds)
    /// of its time, without making the time).
    #[inline]
    pub(crate) fn clock(&self) -> Option<(i64, i32)> {
        self.clock
    }
}

/// One record: its fields as ids, its times as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    /// host, status, method, path, protocol, referrer, agent, vhost.
    fields: [u32; 8],
    /// Bytes sent (as a number: sizes are nearly as many as lines).
    sent: u64,
    /// The time: seconds since the epoch, nanoseconds, offset (`NO_OFFSET`: none).
    timestamp: i64,
    nanos: u32,
    offset: i32,
    /// The request time's bits (`NO_SECONDS`: none).
    seconds: u64,
}

/// The memory the analyzers of one run may take to keep records, shared by
/// them (clones share it): once spent, their shards keep no more, drop what
/// they kept, and their streams' records are incomplete.
///
/// ```
/// use logtally_core::{Analyzer, KeepBudget, UserOptions};
/// let log = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n".repeat(10_000);
/// let report = UserOptions { report: true, ..UserOptions::default() };
/// let mut analyzer = Analyzer::new(report.compile().unwrap());
/// analyzer.keep_records(Some(KeepBudget::bytes(100_000)));
/// let (_, records) = analyzer.analyze_indexed("x.log", log.as_bytes());
/// assert!(!records.complete());
/// assert_eq!(records.records(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct KeepBudget(Arc<AtomicI64>);

impl KeepBudget {
    /// A budget of `bytes`.
    pub fn bytes(bytes: usize) -> Self {
        KeepBudget(Arc::new(AtomicI64::new(
            i64::try_from(bytes).unwrap_or(i64::MAX),
        )))
    }

    /// Takes `bytes` from the budget: false when it has not that much left
    /// (it then stays spent for every taker).
    fn take(&self, bytes: usize) -> bool {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.0.fetch_sub(bytes, Ordering::Relaxed) >= bytes
    }
}

/// Bytes a shard takes from its budget at a time.
const ALLOWANCE: usize = 1 << 20;

/// The records one thread read from a stream.
#[derive(Clone, Default)]
pub struct RecordShard {
    strings: Strings,
    rows: Vec<Row>,
    /// The last row's field ids: neighbouring records share most fields.
    last: Option<[u32; 8]>,
    /// Lines that are no record (a format's directives): always filtered.
    pub(crate) directives: u64,
    /// Bytes taken from the budget and not used yet.
    allowance: usize,
    /// The budget was spent: the shard dropped its records and keeps none.
    overflowed: bool,
}

impl std::fmt::Debug for RecordShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordShard {{ {} records, {} values }}",
            self.rows.len(),
            self.strings.ends.len()
        )
    }
}

/// Shards are equal when they hold the same records, whatever their ids.
impl PartialEq for RecordShard {
    fn eq(&self, other: &Self) -> bool {
        self.rows.len() == other.rows.len()
            && self.directives == other.directives
            && self.overflowed == other.overflowed
            && self.rows.iter().zip(&other.rows).all(|(a, b)| {
                let (x, y) = (
                    self.record(a, &mut LastDay::default()),
                    other.record(b, &mut LastDay::default()),
                );
                x.host == y.host
                    && x.status == y.status
                    && x.method == y.method
                    && x.path == y.path
                    && x.protocol == y.protocol
                    && x.referer == y.referer
                    && x.user_agent == y.user_agent
                    && x.vhost == y.vhost
                    && x.bytes_sent() == y.bytes_sent()
                    && x.time == y.time
                    && x.seconds.map(f64::to_bits) == y.seconds.map(f64::to_bits)
            })
    }
}

impl Eq for RecordShard {}

impl RecordShard {
    /// Keeps `record` while `budget` allows the memory it takes.
    pub(crate) fn push_within(&mut self, record: &Record<'_>, budget: &KeepBudget) {
        if self.overflowed {
            return;
        }
        let before = self.heap_bytes();
        self.push(record);
        let cost = self.heap_bytes() - before;
        if cost > self.allowance {
            let want = (cost - self.allowance).max(ALLOWANCE);
            if !budget.take(want) {
                *self = RecordShard {
                    overflowed: true,
                    directives: self.directives,
                    ..RecordShard::default()
                };
                return;
            }
            self.allowance += want;
        }
        self.allowance -= cost;
    }

    /// Keeps `record`.
    fn push(&mut self, record: &Record<'_>) {
        let values: [Option<&[u8]>; 8] = [
            Some(&*record.host),
            Some(&*record.status),
            Some(&*record.method),
            Some(record.path),
            Some(&*record.protocol),
            record.referer.as_deref(),
            record.user_agent.as_deref(),
            record.vhost.as_deref(),
        ];
        let mut fields = [NONE; 8];
        for (i, value) in values.into_iter().enumerate() {
            let Some(value) = value else { continue };
            fields[i] = match self.last {
                Some(last) if last[i] != NONE && same_bytes(self.strings.get(last[i]), value) => {
                    last[i]
                }
                _ => self.strings.id(value),
            };
        }
        self.last = Some(fields);
        let (timestamp, nanos, offset) = match record.time {
            Some(t) => (
                t.timestamp(),
                t.timestamp_subsec_nanos(),
                t.offset().local_minus_utc(),
            ),
            None => (0, 0, NO_OFFSET),
        };
        self.rows.push(Row {
            fields,
            sent: record.bytes_sent(),
            timestamp,
            nanos,
            offset,
            seconds: record.seconds.map_or(NO_SECONDS, f64::to_bits),
        });
    }

    fn record(&self, row: &Row, last_day: &mut LastDay) -> Record<'_> {
        let field = |i: usize| {
            (row.fields[i] != NONE).then(|| Cow::Borrowed(self.strings.get(row.fields[i])))
        };
        let time = (row.offset != NO_OFFSET)
            .then(|| {
                let offset = FixedOffset::east_opt(row.offset)?;
                Some(
                    last_day
                        .utc(row.timestamp, row.nanos)?
                        .with_timezone(&offset),
                )
            })
            .flatten();
        Record {
            host: field(0).unwrap_or_default(),
            status: field(1).unwrap_or_default(),
            method: field(2).unwrap_or_default(),
            path: self.strings.get(row.fields[3]),
            protocol: field(4).unwrap_or_default(),
            referer: field(5),
            user_agent: field(6),
            vhost: field(7),
            bytes: Size::Sent(row.sent),
            time,
            seconds: (row.seconds != NO_SECONDS).then(|| f64::from_bits(row.seconds)),
        }
    }

    /// Calls `f` with each record, in the order they were kept, and its
    /// fields' values as ids: the same value of a field has the same id
    /// throughout the shard. (A callback rather than an iterator: a record
    /// and its ids returned together were copied at every step, a third
    /// slower over records that a filter then rejects.)
    pub(crate) fn for_each_record(&self, mut f: impl FnMut(&Record<'_>, &ValueIds)) {
        let mut last_day = LastDay::default();
        let value_ids = self.value_ids();
        for row in &self.rows {
            // A kept record borrows all it holds: dropping it would only look
            // at each field to find nothing to free.
            let record = self.record(row, &mut last_day);
            f(
                &record,
                &ValueIds::of_row(row, value_ids, record.time.is_some()),
            );
            std::mem::forget(record);
        }
    }

    /// How many ids [`ValueIds::of`] gives in this shard: its distinct values,
    /// and one for an absent field.
    pub(crate) fn value_ids(&self) -> usize {
        self.strings.ends.len() + 1
    }

    /// Records kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no record was kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Memory held, in bytes (about).
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>() + self.strings.heap_bytes()
    }
}

/// A stream's records and what counting them again cannot change: its
/// lines, malformed lines (with their samples), directive lines, and how it
/// ended.
///
/// ```
/// use logtally_core::{Analyzer, UserOptions};
/// let log = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n\
///            1.2.3.4 - - [17/May/2015:10:06:03 +0000] \"POST /b HTTP/1.1\" 500 5 \"-\" \"ua\"\n";
/// let all = UserOptions { report: true, ..UserOptions::default() };
/// let (tally, records) = Analyzer::new(all.compile().unwrap()).analyze_indexed("x.log", log.as_bytes());
/// assert_eq!(tally.totals.counted, 2);
/// let errors = UserOptions { conditions: vec!["status>=500".into()], ..all };
/// let again = Analyzer::new(errors.compile().unwrap()).retally(&records);
/// assert_eq!((again.totals.counted, again.totals.filtered), (1, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecords {
    /// The records, as the threads that read them kept them.
    pub shards: Vec<RecordShard>,
    /// Lines read.
    pub lines: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// The first malformed lines: (line number, message).
    pub samples: Vec<(u64, String)>,
    /// How the stream ended, with its format (and why none fitted, if none did).
    pub end: StreamEnd,
}

impl FileRecords {
    /// Whether every record of the stream was kept (the budget sufficed).
    pub fn complete(&self) -> bool {
        self.shards.iter().all(|s| !s.overflowed)
    }

    /// Records kept.
    pub fn records(&self) -> usize {
        self.shards.iter().map(RecordShard::len).sum()
    }

    /// Memory held, in bytes (about).
    pub fn heap_bytes(&self) -> usize {
        self.shards.iter().map(RecordShard::heap_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_day_makes_the_times_from_timestamp_makes() {
        let mut last_day = LastDay::default();
        let mut timestamps = vec![i64::MIN, i64::MAX, -1, 0, 86_399, 86_400, 1_431_857_103];
        // Days and their edges, in order and back again, as records may come.
        timestamps.extend((-3..200).map(|n| 1_431_800_000 + n * 7_919));
        timestamps.extend((0..50).map(|n| 1_431_900_000 - n * 86_399));
        timestamps.extend([
            253_402_300_799,
            253_402_300_800,
            -62_135_596_800,
            -8_334_632_851_200,
        ]);
        for timestamp in timestamps {
            for nanos in [0, 999_999_999, 1_000_000_000, 1_999_999_999, 2_000_000_000] {
                assert_eq!(
                    last_day.utc(timestamp, nanos),
                    DateTime::from_timestamp(timestamp, nanos),
                    "{timestamp} s {nanos} ns"
                );
            }
        }
    }

    #[test]
    fn value_ids_name_the_fields_a_record_was_kept_with() {
        let record = Record {
            host: Cow::Borrowed(b"10.0.0.1"),
            status: Cow::Borrowed(b"404"),
            method: Cow::Borrowed(b"POST"),
            path: b"/a",
            protocol: Cow::Borrowed(b"HTTP/1.1"),
            time: None,
            referer: Some(Cow::Borrowed(b"http://r.example/")),
            user_agent: Some(Cow::Borrowed(b"curl/8")),
            vhost: None,
            bytes: Size::Sent(5),
            seconds: None,
        };
        let mut shard = RecordShard::default();
        shard.push(&record);
        shard.push(&record);
        let values = shard.value_ids();
        let mut ids = Vec::new();
        shard.for_each_record(|_, values| ids.push(*values));
        assert_eq!(ids.len(), 2);
        let value = |field| match ids[0].of(field) {
            id if id == values - 1 => None,
            id => Some(shard.strings.get(id as u32).to_vec()),
        };
        let fields = [
            (KeptField::Host, Some(&b"10.0.0.1"[..])),
            (KeptField::Status, Some(b"404")),
            (KeptField::Method, Some(b"POST")),
            (KeptField::Path, Some(b"/a")),
            (KeptField::Protocol, Some(b"HTTP/1.1")),
            (KeptField::Referrer, Some(b"http://r.example/")),
            (KeptField::Agent, Some(b"curl/8")),
            (KeptField::Vhost, None),
        ];
        for (field, want) in fields {
            assert_eq!(value(field).as_deref(), want, "{field:?}");
            // The same value, the same id, record after record.
            assert_eq!(ids[0].of(field), ids[1].of(field));
        }
    }
}
