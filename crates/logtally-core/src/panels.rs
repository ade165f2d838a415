//! The whole picture in one pass: every panel's hits, visitors, bytes and
//! request times per key, the visitors and bytes overall, and hits over time.
//! Mergeable like the counts: per block, per file, per process, per machine.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config, DDSketch};

use crate::analyze::GroupBy;

/// Visitor ids (hashes of host, day and user agent), exact up to hash
/// collisions (64 bits). Few per key in most panels, so a short list first.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Visitors {
    Few(Vec<u64>),
    Many(foldhash::HashSet<u64>),
}

impl Default for Visitors {
    fn default() -> Self {
        Visitors::Few(Vec::new())
    }
}

/// Visitors kept in a list before a set.
const FEW: usize = 8;

impl Visitors {
    fn insert(&mut self, id: u64) {
        match self {
            Visitors::Few(list) => {
                if !list.contains(&id) {
                    if list.len() < FEW {
                        list.push(id);
                    } else {
                        let mut set: foldhash::HashSet<u64> = list.drain(..).collect();
                        set.insert(id);
                        *self = Visitors::Many(set);
                    }
                }
            }
            Visitors::Many(set) => {
                set.insert(id);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Visitors::Few(list) => list.len(),
            Visitors::Many(set) => set.len(),
        }
    }

    fn ids(&self) -> Box<dyn Iterator<Item = u64> + '_> {
        match self {
            Visitors::Few(list) => Box::new(list.iter().copied()),
            Visitors::Many(set) => Box::new(set.iter().copied()),
        }
    }

    fn merge(&mut self, other: Visitors) {
        if let (Visitors::Few(mine), Visitors::Many(_)) = (&*self, &other) {
            let mine = mine.clone();
            *self = other;
            mine.into_iter().for_each(|id| self.insert(id));
            return;
        }
        other.ids().for_each(|id| self.insert(id));
    }
}

/// Request times of some records: their count and a mergeable sketch of
/// their distribution (relative error 1%).
#[derive(Clone, Serialize, Deserialize)]
struct Times {
    sketch: DDSketch,
}

impl std::fmt::Debug for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Times({} records)", self.sketch.count())
    }
}

impl Default for Times {
    fn default() -> Self {
        Times {
            sketch: DDSketch::new(Config::new(0.01, 2048, 1e-6)),
        }
    }
}

/// One key of one panel.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cell {
    hits: u64,
    bytes: u64,
    visitors: Visitors,
    times: Option<Box<Times>>,
}

impl Cell {
    fn add(&mut self, hit: &Hit) {
        self.hits += 1;
        self.bytes += hit.bytes;
        self.visitors.insert(hit.visitor);
        if let Some(seconds) = hit.seconds {
            self.times
                .get_or_insert_with(Default::default)
                .sketch
                .add(seconds);
        }
    }

    fn merge(&mut self, other: Cell) {
        self.hits += other.hits;
        self.bytes += other.bytes;
        self.visitors.merge(other.visitors);
        match (&mut self.times, other.times) {
            (Some(mine), Some(theirs)) => {
                // Same configuration on both sides: merging cannot fail.
                let _ = mine.sketch.merge(&theirs.sketch);
            }
            (mine @ None, theirs) => *mine = theirs,
            _ => {}
        }
    }
}

/// What one counted record adds, besides its keys.
pub(crate) struct Hit {
    pub visitor: u64,
    pub bytes: u64,
    pub seconds: Option<f64>,
    pub status_class: Option<usize>,
    pub time: Option<DateTime<FixedOffset>>,
}

/// One minute of the time series.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Minute {
    hits: u64,
    bytes: u64,
    classes: [u64; 4],
    visitors: Visitors,
}

impl Minute {
    fn merge(&mut self, other: Minute) {
        self.hits += other.hits;
        self.bytes += other.bytes;
        for (mine, theirs) in self.classes.iter_mut().zip(other.classes) {
            *mine += theirs;
        }
        self.visitors.merge(other.visitors);
    }
}

/// The panels' state: what a report with panels is made from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Panels {
    /// Per panel (in the order asked for), the cell of each key.
    panels: Vec<(GroupBy, foldhash::HashMap<String, Cell>)>,
    visitors: Visitors,
    bytes_sent: u64,
    /// Per local minute since the epoch, keyed in the log's wall-clock time.
    minutes: BTreeMap<i64, Minute>,
    /// The UTC offsets seen, in seconds.
    offsets: Vec<i32>,
    /// The newest record's wall-clock time, in seconds since the local epoch.
    newest: Option<i64>,
}

impl Panels {
    /// Empty panels for these keys.
    pub fn new(keys: &[GroupBy]) -> Self {
        Panels {
            panels: keys.iter().map(|&k| (k, Default::default())).collect(),
            ..Default::default()
        }
    }

    /// The panels' keys, in order.
    pub fn keys(&self) -> Vec<GroupBy> {
        self.panels.iter().map(|(k, _)| *k).collect()
    }

    /// The key of panel `index`.
    pub(crate) fn key_at(&self, index: usize) -> GroupBy {
        self.panels[index].0
    }

    /// How many panels there are.
    pub(crate) fn len(&self) -> usize {
        self.panels.len()
    }

    /// Counts `hit` under `key` in panel `index` (an empty key shows as `-`).
    pub(crate) fn add_key(&mut self, index: usize, key: &[u8], hit: &Hit) {
        let key: &[u8] = if key.is_empty() { b"-" } else { key };
        let cells = &mut self.panels[index].1;
        match std::str::from_utf8(key) {
            Ok(k) => match cells.get_mut(k) {
                Some(cell) => cell.add(hit),
                None => cells.entry(k.to_string()).or_default().add(hit),
            },
            Err(_) => cells
                .entry(String::from_utf8_lossy(key).into_owned())
                .or_default()
                .add(hit),
        }
    }

    /// Counts `hit` in the totals and the time series (once per record).
    pub(crate) fn add_totals(&mut self, hit: &Hit) {
        self.visitors.insert(hit.visitor);
        self.bytes_sent += hit.bytes;
        if let Some(time) = hit.time {
            let offset = time.offset().local_minus_utc();
            if !self.offsets.contains(&offset) {
                self.offsets.push(offset);
                self.offsets.sort_unstable();
            }
            let local = time.naive_local();
            let second = local.and_utc().timestamp();
            self.newest = self.newest.max(Some(second));
            let minute = second.div_euclid(60);
            let point = self.minutes.entry(minute).or_default();
            point.hits += 1;
            point.bytes += hit.bytes;
            if let Some(class) = hit.status_class {
                point.classes[class] += 1;
            }
            point.visitors.insert(hit.visitor);
        }
    }

    /// Adds `other` (made for the same panels).
    pub fn merge(&mut self, other: Panels) {
        if self.panels.is_empty() {
            *self = other;
            return;
        }
        for ((_, mine), (_, theirs)) in self.panels.iter_mut().zip(other.panels) {
            let (mut big, small) = if mine.len() >= theirs.len() {
                (std::mem::take(mine), theirs)
            } else {
                (theirs, std::mem::take(mine))
            };
            for (key, cell) in small {
                big.entry(key).or_default().merge(cell);
            }
            *mine = big;
        }
        self.visitors.merge(other.visitors);
        self.bytes_sent += other.bytes_sent;
        for (minute, point) in other.minutes {
            self.minutes.entry(minute).or_default().merge(point);
        }
        for offset in other.offsets {
            if !self.offsets.contains(&offset) {
                self.offsets.push(offset);
            }
        }
        self.offsets.sort_unstable();
        self.newest = self.newest.max(other.newest);
    }

    /// The newest record's time, on the log's own clock (for `--since 2h`).
    pub fn newest(&self) -> Option<NaiveDateTime> {
        Some(DateTime::from_timestamp(self.newest?, 0)?.naive_utc())
    }

    /// Distinct visitors over every record counted.
    pub fn visitors(&self) -> u64 {
        self.visitors.len() as u64
    }

    /// Bytes sent to the clients of every record counted.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// The panels as reported: per panel the top rows by hits, with their
    /// visitors, bytes and request times. Panels no record had a key in
    /// because the format lacks the field (vhost) are left out.
    pub fn report(&self, limit: crate::tally::Limit) -> Vec<PanelReport> {
        self.panels
            .iter()
            .filter(|(by, cells)| *by != GroupBy::Vhost || cells.keys().any(|k| k != "-"))
            .map(|(by, cells)| {
                let mut rows: Vec<(&str, &Cell)> = cells
                    .iter()
                    .filter(|(_, c)| c.hits >= limit.min_count)
                    .map(|(k, c)| (k.as_str(), c))
                    .collect();
                let order = |a: &(&str, &Cell), b: &(&str, &Cell)| {
                    b.1.hits.cmp(&a.1.hits).then_with(|| a.0.cmp(b.0))
                };
                if let Some(top) = limit.top {
                    if top < rows.len() {
                        if top > 0 {
                            rows.select_nth_unstable_by(top - 1, order);
                        }
                        rows.truncate(top);
                    }
                }
                rows.sort_unstable_by(order);
                PanelReport {
                    name: by.name().to_string(),
                    distinct: cells.len() as u64,
                    rows: rows
                        .into_iter()
                        .map(|(key, cell)| PanelRow {
                            key: key.to_string(),
                            hits: cell.hits,
                            visitors: cell.visitors.len() as u64,
                            bytes: cell.bytes,
                            time: cell.times.as_ref().map(|t| TimeSummary::of(&t.sketch)),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Hits over time in buckets of `bucket` (chosen from the span when `None`).
    pub fn timeseries(&self, bucket: Option<Bucket>) -> Option<TimeSeries> {
        let (&first, _) = self.minutes.first_key_value()?;
        let (&last, _) = self.minutes.last_key_value()?;
        let bucket = bucket.unwrap_or_else(|| Bucket::for_span(first, last));
        let width = bucket.minutes();
        let start_of = |minute: i64| minute - minute.rem_euclid(width);
        let mut points: BTreeMap<i64, Minute> = BTreeMap::new();
        let mut at = start_of(first);
        while at <= last {
            points.insert(at, Minute::default());
            at += width;
        }
        for (&minute, point) in &self.minutes {
            points
                .entry(start_of(minute))
                .or_default()
                .merge(point.clone());
        }
        let offset_seconds = self.offsets.first().copied().unwrap_or(0);
        let offset = FixedOffset::east_opt(offset_seconds)
            .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
        let utc_offset = if self.offsets.len() > 1 {
            format!("mixed ({} shown)", offset)
        } else {
            offset.to_string()
        };
        Some(TimeSeries {
            bucket: bucket.name().to_string(),
            utc_offset,
            points: points
                .into_iter()
                .map(|(minute, p)| {
                    let local = DateTime::UNIX_EPOCH.naive_utc() + Duration::minutes(minute);
                    let start = local
                        .and_local_timezone(offset)
                        .single()
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| local.format("%Y-%m-%dT%H:%M:%S").to_string());
                    Point {
                        start,
                        hits: p.hits,
                        visitors: p.visitors.len() as u64,
                        bytes: p.bytes,
                        status_2xx: p.classes[0],
                        status_3xx: p.classes[1],
                        status_4xx: p.classes[2],
                        status_5xx: p.classes[3],
                    }
                })
                .collect(),
        })
    }
}

impl PartialEq for Panels {
    /// Equal when every row of every panel and every minute of the series are.
    fn eq(&self, other: &Panels) -> bool {
        let all = crate::tally::Limit {
            top: None,
            min_count: 0,
        };
        self.keys() == other.keys()
            && self.report(all) == other.report(all)
            && self.visitors() == other.visitors()
            && self.bytes_sent == other.bytes_sent
            && self.timeseries(Some(Bucket::Minute)) == other.timeseries(Some(Bucket::Minute))
    }
}

// Request-time summaries are finite (only finite times are added).
impl Eq for Panels {}

/// The width of the time series' buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bucket {
    /// One minute.
    #[serde(rename = "1m")]
    Minute,
    /// Five minutes.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// A quarter of an hour.
    #[serde(rename = "15m")]
    QuarterHour,
    /// One hour.
    #[serde(rename = "1h")]
    Hour,
    /// One day.
    #[serde(rename = "1d")]
    Day,
}

impl Bucket {
    /// Every width, narrowest first.
    pub const ALL: [Bucket; 5] = [
        Bucket::Minute,
        Bucket::FiveMinutes,
        Bucket::QuarterHour,
        Bucket::Hour,
        Bucket::Day,
    ];

    /// The name on the command line: `1m`, `5m`, `15m`, `1h`, `1d`.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Minute => "1m",
            Bucket::FiveMinutes => "5m",
            Bucket::QuarterHour => "15m",
            Bucket::Hour => "1h",
            Bucket::Day => "1d",
        }
    }

    fn minutes(self) -> i64 {
        match self {
            Bucket::Minute => 1,
            Bucket::FiveMinutes => 5,
            Bucket::QuarterHour => 15,
            Bucket::Hour => 60,
            Bucket::Day => 1440,
        }
    }

    /// The narrowest width that shows the span in at most 200 points.
    fn for_span(first: i64, last: i64) -> Bucket {
        Bucket::ALL
            .into_iter()
            .find(|b| {
                let w = b.minutes();
                (last - last.rem_euclid(w) - (first - first.rem_euclid(w))) / w < 200
            })
            .unwrap_or(Bucket::Day)
    }
}

impl std::str::FromStr for Bucket {
    type Err = String;

    /// ```
    /// use logtally_core::Bucket;
    /// assert_eq!("15m".parse::<Bucket>(), Ok(Bucket::QuarterHour));
    /// assert!("2h".parse::<Bucket>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bucket::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown bucket '{s}' (1m, 5m, 15m, 1h or 1d)"))
    }
}

/// Request times of a panel's key, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSummary {
    /// Records with a request time.
    pub count: u64,
    /// Their mean.
    pub mean_ms: f64,
    /// Median (within 1%).
    pub p50_ms: f64,
    /// 95th percentile (within 1%).
    pub p95_ms: f64,
    /// 99th percentile (within 1%).
    pub p99_ms: f64,
}

impl TimeSummary {
    fn of(sketch: &DDSketch) -> TimeSummary {
        let q = |q: f64| sketch.quantile(q).ok().flatten().unwrap_or(0.0) * 1e3;
        let count = sketch.count() as u64;
        TimeSummary {
            count,
            mean_ms: sketch.sum().unwrap_or(0.0) * 1e3 / count.max(1) as f64,
            p50_ms: q(0.5),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
        }
    }
}

/// One row of a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelRow {
    /// The key.
    pub key: String,
    /// Records.
    pub hits: u64,
    /// Distinct visitors among them.
    pub visitors: u64,
    /// Bytes sent for them.
    pub bytes: u64,
    /// Their request times, where the format has them.
    pub time: Option<TimeSummary>,
}

/// One panel as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelReport {
    /// The panel's name (`path`, `status`, ...).
    pub name: String,
    /// Distinct keys (the rows may show fewer).
    pub distinct: u64,
    /// The top rows, by hits then key.
    pub rows: Vec<PanelRow>,
}

/// One bucket of the time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The bucket's start, RFC 3339 in the log's time zone.
    pub start: String,
    /// Records.
    pub hits: u64,
    /// Distinct visitors.
    pub visitors: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Records answered 2xx.
    #[serde(rename = "2xx")]
    pub status_2xx: u64,
    /// Records answered 3xx.
    #[serde(rename = "3xx")]
    pub status_3xx: u64,
    /// Records answered 4xx.
    #[serde(rename = "4xx")]
    pub status_4xx: u64,
    /// Records answered 5xx.
    #[serde(rename = "5xx")]
    pub status_5xx: u64,
}

/// Hits over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    /// The buckets' width (`1m` ... `1d`).
    pub bucket: String,
    /// The log's UTC offset, in which the buckets start.
    pub utc_offset: String,
    /// Every bucket from the first record's to the last's, empty ones included.
    pub points: Vec<Point>,
}

/// The status class index (0: 2xx ... 3: 5xx) of a status code.
pub(crate) fn status_class(code: Option<u16>) -> Option<usize> {
    match code? {
        200..=299 => Some(0),
        300..=399 => Some(1),
        400..=499 => Some(2),
        500..=599 => Some(3),
        _ => None,
    }
}
