//! The whole picture in one pass: every panel's hits, visitors, bytes and
//! request times per key, the visitors and bytes overall, and hits over time.
//! Mergeable like the counts: per block, per file, per process, per machine.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config, DDSketch};
use smallvec::SmallVec;

use crate::analyze::GroupBy;
use crate::bytes::same_bytes;
use crate::slot::{bucket_order_pays, file_in_bucket_order, kept_bits, renumber, spread, Slot};
use crate::tally::ranked_places;

/// The (panel, key) ids one visitor was counted under: few for most
/// visitors (one key per panel, a handful of minutes), a set for crawlers.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum KeyIds {
    Few(SmallVec<[u32; 15]>),
    /// The set, and the ids of the visitor's last record, all in the set: a
    /// crawler's next record mostly has its last one's status, method,
    /// hour, minute... (its first one's were hours ago).
    Many {
        set: foldhash::HashSet<u32>,
        last: Vec<u32>,
    },
}

/// Ids kept in a list before a set.
const FEW: usize = 64;

impl KeyIds {
    /// Adds `id`; whether it was new.
    fn insert(&mut self, id: u32) -> bool {
        match self {
            KeyIds::Few(list) => {
                // Without an early exit the scan compiles to vector compares.
                if list.iter().fold(false, |found, &x| found | (x == id)) {
                    return false;
                }
                if list.len() < FEW {
                    if list.len() == list.inline_size() {
                        // Spilling: room for twice the inline ids (growing
                        // one at a time first was a realloc for nothing).
                        list.reserve_exact(list.len());
                    }
                    list.push(id);
                } else {
                    let mut set: foldhash::HashSet<u32> = list.drain(..).collect();
                    set.insert(id);
                    *self = KeyIds::Many {
                        set,
                        last: Vec::new(),
                    };
                }
                true
            }
            KeyIds::Many { set, .. } => set.insert(id),
        }
    }

    /// Ids the visitor has, in the order of a record's ids: a short list's
    /// in the order they came, a set's last record's. A visitor's later
    /// records mostly have the keys of its first (or, for a crawler, of its
    /// last), whose ids are there in the same order, so one compare at the
    /// same place often spares a scan.
    fn in_order(&self) -> &[u32] {
        match self {
            KeyIds::Few(list) => list,
            KeyIds::Many { last, .. } => last,
        }
    }

    /// Remembers `ids`, a record's ids just added, as a set's last record's.
    #[inline]
    fn counted(&mut self, ids: &[u32]) {
        if let KeyIds::Many { last, .. } = self {
            last.clear();
            last.extend_from_slice(ids);
        }
    }

    /// The ids of a visitor's first record (distinct: one per panel, and its minute).
    fn first(ids: &[u32]) -> Self {
        if ids.len() <= FEW {
            KeyIds::Few(SmallVec::from_slice(ids))
        } else {
            KeyIds::Many {
                set: ids.iter().copied().collect(),
                last: ids.to_vec(),
            }
        }
    }

    /// Each id replaced by `f` of it, where it is (a merge's new visitors);
    /// `f` maps distinct ids to distinct ids.
    fn map_in_place(&mut self, f: impl Fn(u32) -> u32) {
        match self {
            KeyIds::Few(list) => list.iter_mut().for_each(|id| *id = f(*id)),
            KeyIds::Many { set, last } => {
                *set = set.drain().map(&f).collect();
                last.iter_mut().for_each(|id| *id = f(*id));
            }
        }
    }

    /// The ids, without copying them (merges walk every visitor's ids).
    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        let (few, many) = match self {
            KeyIds::Few(list) => (Some(list.iter().copied()), None),
            KeyIds::Many { set, .. } => (None, Some(set.iter().copied())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}

/// The ids of one record's keys, one per panel it has a key in, and its
/// minute's: at most 31 (fewer than 31 panels). A fixed array, not a
/// `SmallVec`: it is pushed to once per panel of every record, and a
/// `SmallVec` asks at each push and read whether it spilled.
#[derive(Debug, Clone)]
pub(crate) struct RecordKeyIds {
    ids: [u32; SERIES as usize + 1],
    len: usize,
}

impl Default for RecordKeyIds {
    fn default() -> Self {
        RecordKeyIds {
            ids: [0; SERIES as usize + 1],
            len: 0,
        }
    }
}

impl RecordKeyIds {
    /// Adds the id of a key (one per panel, and the minute's).
    #[inline]
    pub(crate) fn push(&mut self, id: u32) {
        self.ids[self.len] = id;
        self.len += 1;
    }

    #[inline]
    fn as_slice(&self) -> &[u32] {
        &self.ids[..self.len]
    }
}

/// The panels' places in the order a record's keys are counted: the panels
/// every record has a key in first, so that a visitor's later records have
/// their keys at the places its first record's ids are in its list
/// ([`KeyIds::in_order`]) even when their paths are static and its first's
/// was not, or are 404s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CountOrder {
    places: [u8; SERIES as usize],
    len: usize,
}

impl CountOrder {
    fn of(panels: &[(GroupBy, Cells)]) -> Self {
        let mut order = CountOrder {
            places: [0; SERIES as usize],
            len: 0,
        };
        let every = |keys_every: bool| {
            panels
                .iter()
                .enumerate()
                .filter(move |(_, (by, _))| by.keys_every_record() == keys_every)
                .map(|(place, _)| place)
        };
        for place in every(true).chain(every(false)) {
            // Fewer than 31 panels (`Panels::new`).
            order.places[order.len] = place as u8;
            order.len += 1;
        }
        order
    }

    /// The panels' places, in counting order.
    pub(crate) fn indices(self) -> impl Iterator<Item = usize> {
        (0..self.len).map(move |at| usize::from(self.places[at]))
    }
}

/// Items in order of arrival (an item's place is its id), with a hash index
/// beside them. The index is not shipped between processes but made again
/// where counting goes on: a merge walks the list it receives (and, where
/// some of its keys were known, this index once), and the parent would
/// otherwise hash every shipped item twice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize",
    deserialize = "K: Deserialize<'de>, V: Deserialize<'de>"
))]
struct Listed<K, V> {
    list: Vec<(K, V)>,
    #[serde(skip)]
    index: hashbrown::HashTable<Slot>,
    #[serde(skip)]
    hasher: foldhash::fast::RandomState,
}

/// How a [`Listed`] key is looked up: a panel's key by its bytes (no UTF-8
/// check per record), a visitor by its hash.
trait ListKey {
    type Lookup: ?Sized + Hash;
    fn lookup(&self) -> &Self::Lookup;
    fn same(a: &Self::Lookup, b: &Self::Lookup) -> bool;
}

impl ListKey for String {
    type Lookup = [u8];
    fn lookup(&self) -> &[u8] {
        self.as_bytes()
    }
    fn same(a: &[u8], b: &[u8]) -> bool {
        same_bytes(a, b)
    }
}

impl ListKey for u64 {
    type Lookup = u64;
    fn lookup(&self) -> &u64 {
        self
    }
    fn same(a: &u64, b: &u64) -> bool {
        a == b
    }
}

impl<K, V> Default for Listed<K, V> {
    fn default() -> Self {
        Listed {
            list: Vec::new(),
            index: Default::default(),
            hasher: Default::default(),
        }
    }
}

impl<K: ListKey, V> Listed<K, V> {
    fn len(&self) -> usize {
        self.list.len()
    }

    /// The 32 bits of `key`'s hash a [`Slot`] keeps.
    fn hash_of(&self, key: &K::Lookup) -> u32 {
        kept_bits(self.hasher.hash_one(key))
    }

    /// Self, with the index made if it was shipped without.
    fn indexed(&mut self) -> &mut Self {
        if self.index.len() != self.list.len() {
            let mut index = hashbrown::HashTable::with_capacity(self.list.len());
            for (at, (key, _)) in self.list.iter().enumerate() {
                let slot = Slot::new(at, self.hash_of(key.lookup()));
                index.insert_unique(slot.filed(), slot, Slot::filed);
            }
            self.index = index;
        }
        self
    }

    /// Where `key` is (a scan if the index was not made: few rows ask).
    fn find(&self, key: &K::Lookup) -> Option<usize> {
        if self.index.len() != self.list.len() {
            return self.list.iter().position(|(k, _)| K::same(k.lookup(), key));
        }
        let hash = self.hash_of(key);
        self.index
            .find(spread(hash), |slot| {
                slot.hash == hash && K::same(self.list[slot.at as usize].0.lookup(), key)
            })
            .map(|slot| slot.at as usize)
    }

    /// Where `key` is, and whether it is new: then `new` makes its item (whose
    /// key looks up as `key`), or declines (`None`: nothing added, and `None`
    /// returned). One probe of the index either way. Makes the index if it
    /// was not made.
    #[inline]
    fn find_or_try_add(
        &mut self,
        key: &K::Lookup,
        new: impl FnOnce() -> Option<(K, V)>,
    ) -> Option<(usize, bool)> {
        let hash = self.indexed().hash_of(key);
        let Listed { list, index, .. } = self;
        match index.entry(
            spread(hash),
            |slot| slot.hash == hash && K::same(list[slot.at as usize].0.lookup(), key),
            Slot::filed,
        ) {
            hashbrown::hash_table::Entry::Occupied(slot) => Some((slot.get().at as usize, false)),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let item = new()?;
                slot.insert(Slot::new(list.len(), hash));
                list.push(item);
                Some((list.len() - 1, true))
            }
        }
    }

    /// Where `key` is, and whether it is new: then `new` makes its item (whose
    /// key looks up as `key`). Makes the index if it was not made.
    fn find_or_add(&mut self, key: &K::Lookup, new: impl FnOnce() -> (K, V)) -> (usize, bool) {
        match self.find_or_try_add(key, || Some(new())) {
            Some(found) => found,
            None => unreachable!("`new` always makes an item"),
        }
    }

    /// Adds `key` and `value`, `key` known to be new; where they are.
    fn add(&mut self, key: K, value: V) -> usize {
        let hash = self.indexed().hash_of(key.lookup());
        let slot = Slot::new(self.list.len(), hash);
        self.index.insert_unique(slot.filed(), slot, Slot::filed);
        self.list.push((key, value));
        self.list.len() - 1
    }

    fn reserve(&mut self, additional: usize) {
        let Listed { list, index, .. } = self.indexed();
        list.reserve(additional);
        index.reserve(additional, Slot::filed);
    }

    /// Adds the items of another list (its keys distinct, as a list's are,
    /// or added up where they are not): an item whose key is here is handed
    /// to `known` with the item here; a new one is made by `new` and comes
    /// after the items here, in the order of `theirs`. Where each of theirs
    /// is now, in their order.
    ///
    /// `new` must return a key that looks up as the one it was given (the
    /// slot is filed under that key's hash first). Many items are looked for
    /// in the order of the index's buckets ([`file_in_bucket_order`]): their
    /// slots are filed under their place in `theirs` first, and renumbered
    /// once all are in; fewer, with a find and then an add each.
    fn merge_items(
        &mut self,
        theirs: Vec<(K, V)>,
        mut new: impl FnMut(K, V) -> (K, V),
        mut known: impl FnMut(&mut V, V),
    ) -> Vec<u32> {
        self.reserve(theirs.len());
        if !bucket_order_pays(theirs.len(), self.len()) {
            return theirs
                .into_iter()
                .map(|(key, value)| match self.find(key.lookup()) {
                    Some(at) => {
                        known(&mut self.list[at].1, value);
                        at as u32
                    }
                    None => {
                        let (key, value) = new(key, value);
                        self.add(key, value) as u32
                    }
                })
                .collect();
        }
        let base = self.list.len();
        let hashes: Vec<u32> = theirs
            .iter()
            .map(|(k, _)| self.hash_of(k.lookup()))
            .collect();
        let Listed { list, index, .. } = self;
        let found = file_in_bucket_order(index, base, &hashes, |at, row| {
            let key = match at.checked_sub(base) {
                None => list[at].0.lookup(),
                Some(earlier) => theirs[earlier].0.lookup(),
            };
            K::same(key, theirs[row].0.lookup())
        });
        let mut places = Vec::with_capacity(theirs.len());
        let mut repeats = Vec::new();
        for (row, (key, value)) in theirs.into_iter().enumerate() {
            match found[row] {
                None => {
                    places.push(list.len() as u32);
                    list.push(new(key, value));
                }
                Some(at) if at < base => {
                    known(&mut list[at].1, value);
                    places.push(at as u32);
                }
                Some(at) => {
                    repeats.push((row, at - base, value));
                    places.push(u32::MAX);
                }
            }
        }
        if places.len() != list.len() - base {
            renumber(index, base, &places);
        }
        for (row, earlier, value) in repeats {
            let at = places[earlier];
            known(&mut list[at as usize].1, value);
            places[row] = at;
        }
        places
    }
}

/// Per visitor, the ids of the keys and minutes it was counted under.
type Visitors = Listed<u64, KeyIds>;

/// One panel's keys and their cells.
type Cells = Listed<String, Cell>;

/// Where `key` is in `cells`, added if new (with its lossy text if it is not
/// UTF-8: lossy decoding can make two keys one, and they share the cell then).
fn cell_of(cells: &mut Cells, key: &[u8]) -> usize {
    let made = cells.find_or_try_add(key, || {
        let text = std::str::from_utf8(key).ok()?;
        Some((text.to_owned(), Cell::default()))
    });
    if let Some((at, _)) = made {
        return at;
    }
    let text = String::from_utf8_lossy(key);
    cells
        .find_or_add(text.as_bytes(), || (text.to_string(), Cell::default()))
        .0
}

/// Seconds since the local epoch on `time`'s own clock (what its wall-clock
/// minute, hour and day keys and buckets are cut from).
pub(crate) fn wall_clock_seconds(time: &DateTime<FixedOffset>) -> i64 {
    time.timestamp() + i64::from(time.offset().local_minus_utc())
}

/// A key id: the panel in the top bits, the key's index in its panel below.
const PANEL_SHIFT: u32 = 27;
/// The "panel" of the time series' minutes.
const SERIES: u32 = 31;

fn key_id(panel: usize, index: usize) -> u32 {
    ((panel as u32) << PANEL_SHIFT) | (index as u32 & ((1 << PANEL_SHIFT) - 1))
}

/// The panel (or [`SERIES`]) and the index of key id `id`: [`key_id`] undone.
fn panel_and_index(id: u32) -> (usize, usize) {
    (
        (id >> PANEL_SHIFT) as usize,
        (id & ((1 << PANEL_SHIFT) - 1)) as usize,
    )
}

/// Request times of some records: a mergeable sketch of their
/// distribution (relative error 1%).
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

/// A panel's last key and its index: consecutive records mostly share their
/// status, method, hour... but seldom their path or host, so the panels
/// where it seldom helps stop asking (and look again now and then).
#[derive(Debug, Clone, Default)]
struct LastKey {
    key: Vec<u8>,
    at: Option<usize>,
    /// Records since the last look at whether asking helps.
    records: u32,
    /// Of those, the ones whose key was the last one.
    repeats: u32,
    /// Whether asking paid in the first eighth of the window.
    pays: bool,
}

/// Records between looks at whether a panel's last key helps.
const LAST_KEY_WINDOW: u32 = 1024;

impl LastKey {
    /// Whether to ask now: in the first eighth of each window, and beyond it
    /// where asking paid then.
    fn asking(&self) -> bool {
        self.pays || self.records < LAST_KEY_WINDOW / 8
    }

    /// Where `key` is, when it is the last key and asking is on.
    fn at(&self, key: &[u8]) -> Option<usize> {
        self.at
            .filter(|_| self.asking() && same_bytes(&self.key, key))
    }

    /// Counts a record whose `key` is at `at` (`repeated`: found by [`at`](Self::at)).
    fn remember(&mut self, key: &[u8], at: usize, repeated: bool) {
        if !repeated && self.asking() {
            self.key.clear();
            self.key.extend_from_slice(key);
            self.at = Some(at);
        }
        self.records += 1;
        self.repeats += u32::from(repeated);
        if self.records == LAST_KEY_WINDOW / 8 {
            // Asked for the first eighth of the window: ask on if a third repeated.
            self.pays = self.repeats * 3 >= self.records;
        } else if self.records >= LAST_KEY_WINDOW {
            self.records = 0;
            self.repeats = 0;
        }
    }
}

/// One key of one panel.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cell {
    hits: u64,
    bytes: u64,
    /// Distinct visitors (kept exact by the visitor table of [`Panels`]).
    visitors: u64,
    times: Option<Box<Times>>,
}

impl Cell {
    #[inline]
    fn add(&mut self, hit: &Hit) {
        self.hits += 1;
        self.bytes += hit.bytes;
        if let Some(seconds) = hit.seconds {
            self.add_time(seconds);
        }
    }

    /// Out of line: most formats have no request time.
    #[inline(never)]
    fn add_time(&mut self, seconds: f64) {
        self.times
            .get_or_insert_with(Default::default)
            .sketch
            .add(seconds);
    }

    /// Adds `other`'s counts; visitors are added here and the ones both had
    /// taken off again by [`Panels::merge`].
    fn merge(&mut self, other: Cell) {
        self.hits += other.hits;
        self.bytes += other.bytes;
        self.visitors += other.visitors;
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
    /// Its time as seconds on its own clock ([`wall_clock_seconds`]) and
    /// its UTC offset in seconds: found once per record, asked for by the
    /// visitor, the hour and day keys and the time series.
    pub clock: Option<(i64, i32)>,
}

/// One minute of the time series.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Minute {
    hits: u64,
    bytes: u64,
    classes: [u64; 4],
    visitors: u64,
}

impl Minute {
    fn merge(&mut self, other: &Minute) {
        self.hits += other.hits;
        self.bytes += other.bytes;
        for (mine, theirs) in self.classes.iter_mut().zip(other.classes) {
            *mine += theirs;
        }
        self.visitors += other.visitors;
    }
}

type Keyed<K, V> = IndexMap<K, V, foldhash::fast::RandomState>;

/// Hits per (key id, bucket start in local minutes).
type KeyBucketHits = foldhash::HashMap<(u32, i64), u64>;

/// The panels' state: what a report with panels is made from.
///
/// Visitors are exact: one table maps each visitor to the (panel, key) ids
/// and minutes it was counted under, so a record costs one lookup of its
/// visitor, and a key's visitors are counted as they first come.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Panels {
    /// Per panel (in the order asked for), the cell of each key.
    panels: Vec<(GroupBy, Cells)>,
    /// Per visitor, the ids of the keys and minutes it was counted under.
    visitors: Visitors,
    bytes_sent: u64,
    /// Per local minute since the epoch, in the log's wall-clock time.
    minutes: Keyed<i64, Minute>,
    /// The UTC offsets seen, in seconds.
    offsets: Vec<i32>,
    /// The newest record's wall-clock time, in seconds since the local epoch.
    newest: Option<i64>,
    /// Per panel, the last key counted and its index: consecutive records
    /// mostly share their status, method, hour... (not shipped; cleared by merges).
    #[serde(skip)]
    last_keys: Vec<LastKey>,
    /// The last minute counted and its index.
    #[serde(skip)]
    last_minute: Option<(i64, usize)>,
    /// The panels whose key a visitor determines, one bit per panel index
    /// (not shipped; made again when first needed).
    #[serde(skip)]
    fixed_panels: Option<u32>,
    /// The order a record's keys are counted in (not shipped; made again
    /// when first needed).
    #[serde(skip)]
    count_order: Option<CountOrder>,
    /// With one panel and a bucket (`--by KEY --bucket 1h`): hits per (key id,
    /// bucket start in local minutes), and the bucket.
    by_bucket: Option<(Bucket, KeyBucketHits)>,
}

impl Panels {
    /// Empty panels for these keys.
    ///
    /// # Panics
    /// With 31 keys or more: a key's id holds its panel's place in 5 bits,
    /// one of them the time series' ([`UserOptions`](crate::UserOptions)
    /// asks for each key once, and there are fewer kinds).
    pub fn new(keys: &[GroupBy]) -> Self {
        assert!(keys.len() < SERIES as usize, "{} panels", keys.len());
        Panels {
            panels: keys.iter().map(|&k| (k, Default::default())).collect(),
            ..Default::default()
        }
    }

    /// Empty panels for one key that also count its keys per `bucket`.
    pub fn with_key_series(key: GroupBy, bucket: Bucket) -> Self {
        Panels {
            by_bucket: Some((bucket, Default::default())),
            ..Panels::new(&[key])
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

    /// The order to count a record's keys in.
    #[inline]
    pub(crate) fn count_order(&mut self) -> CountOrder {
        *self
            .count_order
            .get_or_insert_with(|| CountOrder::of(&self.panels))
    }

    /// Counts `hit` under `key` in panel `index` (an empty key shows as `-`);
    /// the key's id, for [`add_totals`](Self::add_totals).
    pub(crate) fn add_key(&mut self, index: usize, key: &[u8], hit: &Hit) -> u32 {
        let key: &[u8] = if key.is_empty() { b"-" } else { key };
        if self.last_keys.len() < self.panels.len() {
            self.last_keys
                .resize_with(self.panels.len(), LastKey::default);
        }
        let cells = &mut self.panels[index].1;
        let last = &mut self.last_keys[index];
        let remembered = last.at(key);
        let at = match remembered {
            Some(at) => at,
            None => cell_of(cells, key),
        };
        last.remember(key, at, remembered.is_some());
        self.add_to_cell(index, at, hit)
    }

    /// Counts `hit` under the key whose id [`add_key`](Self::add_key) gave in
    /// these panels: the same as adding that key again, without finding it.
    /// Inlined: it runs for every panel of every record counted again (the
    /// wasm32 build called it).
    #[inline]
    pub(crate) fn add_to_key(&mut self, id: u32, hit: &Hit) -> u32 {
        let (index, at) = panel_and_index(id);
        self.add_to_cell(index, at, hit)
    }

    /// Counts `hit` in the cell `at` of panel `index`; the key's id.
    /// Inlined, the rest out of line: it runs for every panel of every record.
    #[inline]
    fn add_to_cell(&mut self, index: usize, at: usize, hit: &Hit) -> u32 {
        self.panels[index].1.list[at].1.add(hit);
        let id = key_id(index, at);
        if self.by_bucket.is_some() {
            self.add_to_bucket(id, hit);
        }
        id
    }

    /// Counts `hit` under key `id` in its bucket (`--by KEY --bucket`).
    #[inline(never)]
    fn add_to_bucket(&mut self, id: u32, hit: &Hit) {
        if let (Some((bucket, hits)), Some((second, _))) = (&mut self.by_bucket, hit.clock) {
            let minute = second.div_euclid(60);
            let width = bucket.minutes();
            *hits
                .entry((id, minute - minute.rem_euclid(width)))
                .or_default() += 1;
        }
    }

    /// Counts `hit` once in the totals and the time series, and its visitor
    /// under the keys `ids` (from [`add_key`](Self::add_key)) where it is new.
    /// `place`: where the visitor may be in the table of visitors (checked);
    /// returns where it is.
    pub(crate) fn add_totals(
        &mut self,
        hit: &Hit,
        ids: &mut RecordKeyIds,
        place: Option<usize>,
    ) -> usize {
        self.bytes_sent += hit.bytes;
        if let Some((second, offset)) = hit.clock {
            if !self.offsets.contains(&offset) {
                self.offsets.push(offset);
                self.offsets.sort_unstable();
            }
            self.newest = self.newest.max(Some(second));
            let minute = second.div_euclid(60);
            let at = match self.last_minute {
                Some((m, at)) if m == minute => at,
                _ => {
                    let at = match self.minutes.get_index_of(&minute) {
                        Some(at) => at,
                        None => self.minutes.insert_full(minute, Minute::default()).0,
                    };
                    self.last_minute = Some((minute, at));
                    at
                }
            };
            let point = &mut self.minutes[at];
            point.hits += 1;
            point.bytes += hit.bytes;
            if let Some(class) = hit.status_class {
                point.classes[class] += 1;
            }
            ids.push(key_id(SERIES as usize, at));
        }
        let ids = ids.as_slice();
        let known = place.filter(|&at| {
            self.visitors
                .list
                .get(at)
                .is_some_and(|(visitor, _)| *visitor == hit.visitor)
        });
        let (at, new) = match known {
            Some(at) => (at, false),
            None => self
                .visitors
                .find_or_add(&hit.visitor, || (hit.visitor, KeyIds::first(ids))),
        };
        match new {
            true => {
                for &id in ids {
                    *visitors_of(&mut self.panels, &mut self.minutes, id) += 1;
                }
            }
            false => {
                let seen = &mut self.visitors.list[at].1;
                let fixed = *self
                    .fixed_panels
                    .get_or_insert_with(|| fixed_panels(&self.panels));
                // The ids that may be new to the visitor, found with one look at
                // its list: its host, day, browser... are those of its first record.
                // One bit per place in `ids` (at most 32).
                let mut unsure = 0u32;
                let in_order = seen.in_order();
                for (place, &id) in ids.iter().enumerate() {
                    if fixed & (1 << (id >> PANEL_SHIFT)) == 0 && in_order.get(place) != Some(&id) {
                        unsure |= 1 << place;
                    }
                }
                while unsure != 0 {
                    let id = ids[unsure.trailing_zeros() as usize];
                    unsure &= unsure - 1;
                    if seen.insert(id) {
                        *visitors_of(&mut self.panels, &mut self.minutes, id) += 1;
                    }
                }
                seen.counted(ids);
            }
        }
        at
    }

    /// Adds `other` (made for the same panels).
    pub fn merge(&mut self, mut other: Panels) {
        if self.panels.is_empty() {
            *self = other;
            return;
        }
        // Fold the smaller into the larger.
        if self.visitors.len() < other.visitors.len() {
            std::mem::swap(self, &mut other);
        }
        self.last_keys.clear();
        self.last_minute = None;
        // Cells and minutes add up; `remap` turns other's ids into ours.
        let mut remap: Vec<Vec<u32>> = Vec::with_capacity(self.panels.len());
        for (index, ((_, mine), (_, theirs))) in
            self.panels.iter_mut().zip(other.panels).enumerate()
        {
            let places = mine.merge_items(theirs.list, |key, cell| (key, cell), Cell::merge);
            remap.push(
                places
                    .into_iter()
                    .map(|at| key_id(index, at as usize))
                    .collect(),
            );
        }
        let mut minute_ids = Vec::with_capacity(other.minutes.len());
        for (minute, point) in other.minutes {
            let at = match self.minutes.get_full_mut(&minute) {
                Some((at, _, p)) => {
                    p.merge(&point);
                    at
                }
                None => self.minutes.insert_full(minute, point).0,
            };
            minute_ids.push(key_id(SERIES as usize, at));
        }
        let mapped = |id: u32| -> u32 {
            let (panel, index) = panel_and_index(id);
            if panel == SERIES as usize {
                minute_ids[index]
            } else {
                remap[panel][index]
            }
        };
        if let (Some((_, mine)), Some((_, theirs))) = (&mut self.by_bucket, other.by_bucket) {
            for ((id, bucket), n) in theirs {
                *mine.entry((mapped(id), bucket)).or_default() += n;
            }
        }
        let (panels, minutes) = (&mut self.panels, &mut self.minutes);
        self.visitors.merge_items(
            other.visitors.list,
            |visitor, mut theirs| {
                theirs.map_in_place(mapped);
                (visitor, theirs)
            },
            // A visitor both sides counted under the same key was added twice.
            |seen, theirs| {
                for id in theirs.ids() {
                    let id = mapped(id);
                    if !seen.insert(id) {
                        *visitors_of(panels, minutes, id) -= 1;
                    }
                }
            },
        );
        self.bytes_sent += other.bytes_sent;
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
            .filter(|(by, cells)| *by != GroupBy::Vhost || cells.list.iter().any(|(k, _)| k != "-"))
            .map(|(by, cells)| {
                let key_at = |at: usize| cells.list[at].0.as_str();
                let rows = ranked_places(cells.len(), key_at, |at| cells.list[at].1.hits, limit);
                PanelReport {
                    name: by.name().to_string(),
                    distinct: cells.len() as u64,
                    rows: rows
                        .into_iter()
                        .map(|r| &cells.list[r.at as usize])
                        .map(|(key, cell)| PanelRow {
                            key: key.to_string(),
                            hits: cell.hits,
                            visitors: cell.visitors,
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
        let first = *self.minutes.keys().min()?;
        let last = *self.minutes.keys().max()?;
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
            let p = points.entry(start_of(minute)).or_default();
            p.hits += point.hits;
            p.bytes += point.bytes;
            for (mine, theirs) in p.classes.iter_mut().zip(point.classes) {
                *mine += theirs;
            }
        }
        if width == 1 {
            for (minute, point) in &self.minutes {
                points.entry(*minute).or_default().visitors = point.visitors;
            }
        } else {
            // A visitor counts once per bucket: its minutes, bucketed. Buckets
            // by their place from the first, each minute's found once.
            let first_start = start_of(first);
            let place_of = |minute: i64| ((start_of(minute) - first_start) / width) as usize;
            let minute_places: Vec<usize> = self.minutes.keys().map(|&m| place_of(m)).collect();
            let places = place_of(last) + 1;
            let visitors = visitors_per_bucket(&self.visitors.list, &minute_places, places);
            for (place, n) in visitors.into_iter().enumerate() {
                if n > 0 {
                    points
                        .entry(first_start + place as i64 * width)
                        .or_default()
                        .visitors = n;
                }
            }
        }
        let (offset, utc_offset) = self.offset();
        Some(TimeSeries {
            bucket: bucket.name().to_string(),
            utc_offset,
            points: points
                .into_iter()
                .map(|(minute, p)| {
                    let start = bucket_start(minute, offset);
                    Point {
                        start,
                        hits: p.hits,
                        visitors: p.visitors,
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

/// Per bucket (by place), the visitors counted in it: each visitor once per
/// bucket that one of its minutes (place `minute_places[minute id]`) is in.
/// Millions of visitors (a new one on every line) are counted in parts on
/// every thread (the `rayon` feature).
fn visitors_per_bucket(
    visitors: &[(u64, KeyIds)],
    minute_places: &[usize],
    places: usize,
) -> Vec<u64> {
    let count = |mut per_bucket: Vec<u64>, visitors: &[(u64, KeyIds)]| {
        let mut buckets: SmallVec<[usize; 16]> = SmallVec::new();
        for (_, ids) in visitors {
            buckets.clear();
            for id in ids.ids() {
                let (panel, minute) = panel_and_index(id);
                if panel == SERIES as usize {
                    let place = minute_places[minute];
                    if !buckets.contains(&place) {
                        buckets.push(place);
                    }
                }
            }
            for &place in &buckets {
                per_bucket[place] += 1;
            }
        }
        per_bucket
    };
    #[cfg(feature = "rayon")]
    if visitors.len() >= 1 << 17 {
        use rayon::prelude::*;
        // One list of buckets per part of the work rayon makes, not per chunk.
        return visitors
            .par_chunks(1 << 16)
            .fold(|| vec![0; places], count)
            .reduce(
                || vec![0; places],
                |mut a, b| {
                    for (a, b) in a.iter_mut().zip(b) {
                        *a += b;
                    }
                    a
                },
            );
    }
    count(vec![0; places], visitors)
}

impl Panels {
    /// The offset the series' times are shown in, and how it is stated.
    fn offset(&self) -> (FixedOffset, String) {
        let offset_seconds = self.offsets.first().copied().unwrap_or(0);
        let offset = FixedOffset::east_opt(offset_seconds)
            .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
        let stated = if self.offsets.len() > 1 {
            format!("mixed ({} shown)", offset)
        } else {
            offset.to_string()
        };
        (offset, stated)
    }

    /// With one panel and a bucket (`--by KEY --bucket 1h`): the hits of the
    /// `rows`' keys (the panel's top rows) in every bucket, zeros included.
    pub fn key_series(&self, rows: &[PanelRow]) -> Option<KeySeries> {
        let (bucket, hits) = self.by_bucket.as_ref()?;
        let (by, cells) = self.panels.first()?;
        let width = bucket.minutes();
        let first = *self.minutes.keys().min()?;
        let last = *self.minutes.keys().max()?;
        let (offset, utc_offset) = self.offset();
        let ids: Vec<Option<u32>> = rows
            .iter()
            .map(|r| cells.find(r.key.as_bytes()).map(|at| key_id(0, at)))
            .collect();
        let mut points = Vec::new();
        let mut at = first - first.rem_euclid(width);
        while at <= last {
            let start = bucket_start(at, offset);
            for (row, id) in rows.iter().zip(&ids) {
                points.push(KeyPoint {
                    start: start.clone(),
                    key: row.key.clone(),
                    hits: id.and_then(|id| hits.get(&(id, at))).copied().unwrap_or(0),
                });
            }
            at += width;
        }
        Some(KeySeries {
            panel: by.name().to_string(),
            bucket: bucket.name().to_string(),
            utc_offset,
            points,
        })
    }
}

/// The start of the bucket at `minute` (local minutes since the epoch), RFC 3339.
fn bucket_start(minute: i64, offset: FixedOffset) -> String {
    let local = DateTime::UNIX_EPOCH.naive_utc() + Duration::minutes(minute);
    local
        .and_local_timezone(offset)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| local.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// One key in one bucket (`--by KEY --bucket 1h`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPoint {
    /// The bucket's start, RFC 3339 in the log's time zone.
    pub start: String,
    /// The key.
    pub key: String,
    /// Its hits in the bucket.
    pub hits: u64,
}

/// The top keys of one panel over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySeries {
    /// The panel.
    pub panel: String,
    /// The buckets' width.
    pub bucket: String,
    /// The log's UTC offset, in which the buckets start.
    pub utc_offset: String,
    /// Every bucket from the first record's to the last's, and in each every
    /// key shown in the panel (in the panel's order), zeros included.
    pub points: Vec<KeyPoint>,
}

/// The visitor count of the key or minute `id`.
/// The panels (one bit per index) whose key is the same for all of a
/// visitor's records: the visitor is its host, day and user agent.
fn fixed_panels(panels: &[(GroupBy, Cells)]) -> u32 {
    panels
        .iter()
        .enumerate()
        .filter(|(_, (by, _))| by.is_fixed_per_visitor())
        .fold(0, |mask, (index, _)| mask | 1 << index)
}

#[inline]
fn visitors_of<'a>(
    panels: &'a mut [(GroupBy, Cells)],
    minutes: &'a mut Keyed<i64, Minute>,
    id: u32,
) -> &'a mut u64 {
    let (panel, index) = panel_and_index(id);
    if panel == SERIES as usize {
        &mut minutes[index].visitors
    } else {
        &mut panels[panel].1.list[index].1.visitors
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitors_per_bucket_count_each_visitor_once_per_bucket() {
        // Enough visitors for the parts on several threads (with rayon), and
        // a few for one; minutes 0..40 in buckets of 7 minutes, with panel ids
        // between them, the same minute twice, and bucket-mates.
        for visitors in [200_000u64, 5] {
            let minute_places: Vec<usize> = (0..40).map(|m| m / 7).collect();
            let list: Vec<(u64, KeyIds)> = (0..visitors)
                .map(|v| {
                    let minutes = [v % 40, (v * 7 + 3) % 40, v % 40, (v / 3) % 40];
                    let mut ids = vec![key_id(2, v as usize % 5)];
                    ids.extend(
                        minutes
                            .iter()
                            .take(1 + v as usize % 4)
                            .map(|&m| key_id(SERIES as usize, m as usize)),
                    );
                    let mut seen = KeyIds::first(&ids[..1]);
                    for &id in &ids[1..] {
                        seen.insert(id);
                    }
                    (v, seen)
                })
                .collect();
            let mut expected = vec![0u64; 6];
            for (_, ids) in &list {
                let buckets: std::collections::BTreeSet<usize> = ids
                    .ids()
                    .filter(|id| id >> PANEL_SHIFT == SERIES)
                    .map(|id| minute_places[(id & ((1 << PANEL_SHIFT) - 1)) as usize])
                    .collect();
                for b in buckets {
                    expected[b] += 1;
                }
            }
            assert_eq!(visitors_per_bucket(&list, &minute_places, 6), expected);
        }
    }

    #[test]
    fn merged_items_land_where_their_keys_are() {
        // Enough items for the bucket order, and a few for the plain one;
        // half of theirs known here, and one key of theirs twice.
        for (mine_keys, their_keys) in [(6_000u64, 9_000u64), (10, 30)] {
            let mut mine: Listed<u64, u64> = Listed::default();
            for key in (0..mine_keys).map(|k| k * 3) {
                mine.add(key, 1);
            }
            let mut theirs: Vec<(u64, u64)> = (0..their_keys).map(|k| (k, 10)).collect();
            theirs.push((4, 100));
            let places = mine.merge_items(theirs.clone(), |k, v| (k, v + 5), |v, w| *v += w);
            assert_eq!(places.len(), theirs.len());
            for ((key, _), &at) in theirs.iter().zip(&places) {
                assert_eq!(mine.list[at as usize].0, *key);
                assert_eq!(mine.find(key), Some(at as usize), "{key}");
            }
            let distinct: std::collections::BTreeSet<u64> =
                mine.list.iter().map(|(k, _)| *k).collect();
            assert_eq!(distinct.len(), mine.len());
            for (key, value) in &mine.list {
                let expected = match (key % 3 == 0 && *key < mine_keys * 3, *key < their_keys) {
                    (true, true) => 11,
                    (true, false) => 1,
                    (false, _) => 15,
                };
                let repeat = if *key == 4 { 100 } else { 0 };
                assert_eq!(*value, expected + repeat, "{key}");
            }
        }
    }

    #[test]
    fn keys_are_found_as_bytes_and_invalid_utf8_shares_its_lossy_cell() {
        let mut panels = Panels::new(&[GroupBy::Path]);
        let hit = Hit {
            visitor: 1,
            bytes: 10,
            seconds: None,
            status_class: Some(0),
            clock: None,
        };
        // Enough records for the last-key cache to stop asking on a path panel.
        for n in 0..3000u32 {
            let key = format!("/p{}", n % 7);
            panels.add_key(0, key.as_bytes(), &hit);
        }
        panels.add_key(0, b"/\xff", &hit);
        panels.add_key(0, b"/\xfe", &hit);
        let cells = &panels.panels[0].1;
        let hits = |key: &str| cells.list[cells.find(key.as_bytes()).unwrap()].1.hits;
        assert_eq!(cells.len(), 8);
        assert_eq!(hits("/p0"), 429);
        assert_eq!(hits("/p6"), 428);
        assert_eq!(hits("/\u{fffd}"), 2);
        assert_eq!(cells.list.iter().map(|(_, c)| c.hits).sum::<u64>(), 3002);
    }

    #[test]
    fn a_listed_index_grows_and_is_made_again_after_shipping() {
        let mut listed: Listed<String, u64> = Listed::default();
        // Past several doublings of the index, which move slots by their kept hash.
        for n in 0..20_000u64 {
            let key = format!("/k{}", n % 15_000);
            let (at, new) = listed.find_or_add(key.as_bytes(), || (key.clone(), 0));
            assert_eq!(new, n < 15_000, "{key}");
            listed.list[at].1 += 1;
        }
        assert_eq!(listed.len(), 15_000);
        let shipped: Listed<String, u64> =
            bincode::deserialize(&bincode::serialize(&listed).unwrap()).unwrap();
        assert_eq!(shipped.index.len(), 0, "the index is not shipped");
        let mut shipped = shipped;
        for n in [0u64, 4_999, 5_000, 14_999] {
            let key = format!("/k{n}");
            let at = shipped.indexed().find(key.as_bytes()).unwrap();
            assert_eq!(shipped.list[at], (key, if n < 5_000 { 2 } else { 1 }));
        }
        assert_eq!(shipped.find(b"/k15000"), None);
        assert_eq!(shipped.add("/new".to_string(), 7), 15_000);
        assert_eq!(shipped.find(b"/new"), Some(15_000));
    }
}
