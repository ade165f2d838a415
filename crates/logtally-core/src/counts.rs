//! Count per key: the keys in the order they came, their texts one after
//! another in one string, and a hash index of small slots beside them.
//!
//! A crawler's logs bring a new key on nearly every line. A new key is a copy
//! into the string and an entry pushed onto a list, not an allocation of its
//! own (malloc and free were a tenth of a run over two million keys); the
//! index holds 8 bytes a key (its place and 32 bits of its hash), so growing
//! it moves little memory and reads no key; and everything that walks the
//! keys (merging, shipping, ranking) reads the list and the texts in order.
//! Merging one file's counts into another's (the seed's `Counter.update`)
//! hashes nothing: the hashes travel with the entries.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::SeedableRandomState;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use integer_encoding::VarInt;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bytes::same_text;
use crate::slot::{bucket_order_pays, file_in_bucket_order, kept_bits, renumber, spread, Slot};

/// Count per key.
///
/// The hash is seeded at random once per process (keys come from untrusted
/// logs), and the same in every table of a process, so tables merge without
/// hashing. Serialized as a map from key to count; read back (or collected
/// from pairs), a key that comes twice adds up.
///
/// ```
/// use logtally_core::Counts;
/// let mut counts = Counts::default();
/// counts.add("/a", 2);
/// counts.add("/a", 1);
/// assert_eq!((counts["/a"], counts.get("/b"), counts.len()), (3, None, 1));
/// ```
#[derive(Clone, Default)]
pub struct Counts {
    /// Where each key is in `entries`, filed by its hash.
    index: HashTable<Slot>,
    /// The keys in the order they came.
    entries: Vec<Counted>,
    /// Every key's text, one after another in the order of `entries`.
    texts: String,
}

/// One key: its place in the texts, its count and its hash.
#[derive(Clone, Copy)]
struct Counted {
    start: usize,
    len: usize,
    count: u64,
    hash: u32,
}

impl Counted {
    /// This key's text among `texts`.
    fn key<'a>(&self, texts: &'a str) -> &'a str {
        &texts[self.start..self.start + self.len]
    }
}

/// The hasher of every [`Counts`] of this process.
fn hasher() -> &'static SeedableRandomState {
    static HASHER: OnceLock<SeedableRandomState> = OnceLock::new();
    HASHER.get_or_init(SeedableRandomState::random)
}

/// The 32 bits of `key`'s hash a [`Slot`] keeps.
fn hash_of(key: &[u8]) -> u32 {
    kept_bits(hasher().hash_one(key))
}

impl Counts {
    /// How many keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The count of `key`, if it was counted.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.find(key).map(|c| c.count)
    }

    /// The entry of `key`, if it was counted.
    fn find(&self, key: &str) -> Option<&Counted> {
        let hash = hash_of(key.as_bytes());
        let Counts {
            index,
            entries,
            texts,
        } = self;
        let slot = index.find(spread(hash), |slot| {
            slot.hash == hash && entries[slot.at as usize].key(texts) == key
        })?;
        Some(&entries[slot.at as usize])
    }

    /// The keys and their counts, in the order they came into this table (a
    /// merge keeps the larger table's order): no order to rely on.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + Clone + '_ {
        let texts = self.texts.as_str();
        self.entries.iter().map(move |c| (c.key(texts), c.count))
    }

    /// The key at place `at` (`0..len()`, the order of [`iter`](Self::iter)).
    pub(crate) fn key_at(&self, at: usize) -> &str {
        self.entries[at].key(&self.texts)
    }

    /// The count of the key at place `at`.
    pub(crate) fn count_at(&self, at: usize) -> u64 {
        self.entries[at].count
    }

    /// Where the key at place `at` lies in the texts
    /// ([`into_texts`](Self::into_texts)): its start and length.
    pub(crate) fn place_of(&self, at: usize) -> (usize, usize) {
        let c = &self.entries[at];
        (c.start, c.len)
    }

    /// Every key's text, one after another.
    pub(crate) fn into_texts(self) -> String {
        self.texts
    }

    /// Adds `n` to the count of `key`.
    pub fn add(&mut self, key: &str, n: u64) {
        self.add_hashed(key, hash_of(key.as_bytes()), n);
    }

    /// Adds `n` to the count of the key whose text is `key` (lossy where it
    /// is not UTF-8, which can make it one with a key counted before: then
    /// they add up). Found by its bytes, with no UTF-8 check unless it is new.
    pub(crate) fn add_bytes(&mut self, key: &[u8], n: u64) {
        let hash = hash_of(key);
        let Counts {
            index,
            entries,
            texts,
        } = self;
        let same = |slot: &Slot| {
            let c = &entries[slot.at as usize];
            slot.hash == hash && same_text(&texts.as_bytes()[c.start..c.start + c.len], key)
        };
        match index.entry(spread(hash), same, Slot::filed) {
            Entry::Occupied(slot) => entries[slot.get().at as usize].count += n,
            Entry::Vacant(place) => match std::str::from_utf8(key) {
                Ok(text) => {
                    place.insert(push_key(entries, texts, text, hash, n));
                }
                Err(_) => self.add(&String::from_utf8_lossy(key), n),
            },
        }
    }

    /// Adds `n` to the count of `key`, whose hash (by this process's hasher) is `hash`.
    fn add_hashed(&mut self, key: &str, hash: u32, n: u64) {
        let Counts {
            index,
            entries,
            texts,
        } = self;
        let same = |slot: &Slot| slot.hash == hash && entries[slot.at as usize].key(texts) == key;
        match index.entry(spread(hash), same, Slot::filed) {
            Entry::Occupied(slot) => entries[slot.get().at as usize].count += n,
            Entry::Vacant(place) => {
                place.insert(push_key(entries, texts, key, hash, n));
            }
        }
    }

    /// Room for `keys` more keys of `bytes` bytes of text in all.
    fn reserve(&mut self, keys: usize, bytes: usize) {
        self.index.reserve(keys, Slot::filed);
        self.entries.reserve(keys);
        self.texts.reserve(bytes);
    }

    /// Adds the counts of `other`, folding the smaller table into the larger
    /// one; no key is hashed.
    ///
    /// ```
    /// use logtally_core::Counts;
    /// let mut a: Counts = [("/a".to_string(), 2)].into_iter().collect();
    /// let b: Counts = [("/a".to_string(), 1), ("/b".to_string(), 5)].into_iter().collect();
    /// a.merge(b);
    /// assert_eq!((a["/a"], a["/b"]), (3, 5));
    /// ```
    pub fn merge(&mut self, other: Counts) {
        let mut smaller = other;
        if self.len() < smaller.len() {
            std::mem::swap(self, &mut smaller);
        }
        self.add_distinct(&smaller.entries, &smaller.texts);
    }

    /// Adds the counts of `shipped`, hashing each key (it comes from another process).
    pub fn add_shipped(&mut self, shipped: &ShippedCounts) {
        // Hashed in order, the texts read front to back.
        let mut start = 0;
        let rows: Vec<Counted> = shipped
            .iter()
            .map(|(key, count)| {
                let counted = Counted {
                    start,
                    len: key.len(),
                    count,
                    hash: hash_of(key.as_bytes()),
                };
                start += key.len();
                counted
            })
            .collect();
        self.add_distinct(&rows, &shipped.texts);
    }

    /// Adds `rows`, keys among `texts` hashed by this process's hasher
    /// (distinct, as a table's are, or adding up where they are not); the
    /// new ones come after the keys already here, in the order of `rows`.
    ///
    /// A merge of millions of keys into an index of millions probed the
    /// index at random, a cache and TLB miss per key. Here the probes go in
    /// the order of the index's buckets, sweeping it front to back, while
    /// the new keys' entries and texts are still written in the order of
    /// `rows` (ranking and printing read them in that order): a new key's
    /// slot is filed under its row first, and renumbered once all are in
    /// where some keys were here already or some rows repeat a key.
    fn add_distinct(&mut self, rows: &[Counted], texts: &str) {
        self.reserve(rows.len(), texts.len());
        if !bucket_order_pays(rows.len(), self.len()) {
            for row in rows {
                self.add_hashed(row.key(texts), row.hash, row.count);
            }
            return;
        }
        let base = self.entries.len();
        let hashes: Vec<u32> = rows.iter().map(|row| row.hash).collect();
        let Counts {
            index,
            entries,
            texts: mine,
        } = self;
        let found = file_in_bucket_order(index, base, &hashes, |at, row| {
            let key = match at.checked_sub(base) {
                None => entries[at].key(mine),
                Some(earlier) => rows[earlier].key(texts),
            };
            key == rows[row].key(texts)
        });
        let mut places = Vec::with_capacity(rows.len());
        let mut repeats = Vec::new();
        for (row, counted) in rows.iter().enumerate() {
            match found[row] {
                None => {
                    places.push(entries.len() as u32);
                    push_key(
                        entries,
                        mine,
                        counted.key(texts),
                        counted.hash,
                        counted.count,
                    );
                }
                Some(at) if at < base => {
                    entries[at].count += counted.count;
                    places.push(at as u32);
                }
                // Rows that were not distinct after all add up.
                Some(at) => {
                    repeats.push((at - base, counted.count));
                    places.push(u32::MAX);
                }
            }
        }
        if places.len() != entries.len() - base {
            renumber(index, base, &places);
        }
        for (earlier, n) in repeats {
            entries[places[earlier] as usize].count += n;
        }
    }
}

/// Appends a new `key` (counted `n` times, of this process's `hash`) to the
/// entries and their texts; the index slot that finds it.
fn push_key(entries: &mut Vec<Counted>, texts: &mut String, key: &str, hash: u32, n: u64) -> Slot {
    let slot = Slot::new(entries.len(), hash);
    entries.push(Counted {
        start: texts.len(),
        len: key.len(),
        count: n,
        hash,
    });
    texts.push_str(key);
    slot
}

/// The count of a key that was counted.
///
/// # Panics
///
/// Where `key` was not counted (as a map's index does); [`Counts::get`] asks.
impl std::ops::Index<&str> for Counts {
    type Output = u64;

    fn index(&self, key: &str) -> &u64 {
        match self.find(key) {
            Some(c) => &c.count,
            None => panic!("no count for {key:?}"),
        }
    }
}

impl IntoIterator for Counts {
    type Item = (String, u64);
    type IntoIter = CountsIntoIter;

    /// The keys and their counts, as [`Counts::iter`] gives them.
    fn into_iter(self) -> CountsIntoIter {
        CountsIntoIter {
            entries: self.entries.into_iter(),
            texts: self.texts,
        }
    }
}

/// The keys of [`Counts`] and their counts, moved out (as [`Counts::iter`] gives them).
pub struct CountsIntoIter {
    entries: std::vec::IntoIter<Counted>,
    texts: String,
}

impl Iterator for CountsIntoIter {
    type Item = (String, u64);

    fn next(&mut self) -> Option<(String, u64)> {
        self.entries
            .next()
            .map(|c| (c.key(&self.texts).to_owned(), c.count))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl<K: AsRef<str>> FromIterator<(K, u64)> for Counts {
    /// Counts from keys and counts (a key that comes twice adds up).
    fn from_iter<I: IntoIterator<Item = (K, u64)>>(items: I) -> Self {
        let mut counts = Counts::default();
        let items = items.into_iter();
        counts.reserve(items.size_hint().0, 0);
        for (key, n) in items {
            counts.add(key.as_ref(), n);
        }
        counts
    }
}

impl PartialEq for Counts {
    fn eq(&self, other: &Counts) -> bool {
        self.len() == other.len() && self.iter().all(|(key, n)| other.get(key) == Some(n))
    }
}

impl Eq for Counts {}

impl fmt::Debug for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, n) in self.iter() {
            map.serialize_entry(key, &n)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountsVisitor;
        impl<'de> Visitor<'de> for CountsVisitor {
            type Value = Counts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of keys to counts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Counts, A::Error> {
                let mut counts = Counts::default();
                // A bounded hint: the size comes from the input.
                let hint = map.size_hint().unwrap_or(0).min(1 << 16);
                counts.reserve(hint, 0);
                while let Some((key, n)) = map.next_entry::<String, u64>()? {
                    counts.add(&key, n);
                }
                Ok(counts)
            }
        }
        deserializer.deserialize_map(CountsVisitor)
    }
}

/// Counts on their way from one process to another: the keys' texts in one
/// string and each key's length and count, in the order of the texts; no
/// table, since the receiving process hashes every key anyway (its hasher is
/// seeded differently).
///
/// ```
/// use logtally_core::{Counts, ShippedCounts};
/// let mut counts = Counts::default();
/// counts.add("/a", 2);
/// counts.add("/b", 1);
/// let shipped = ShippedCounts::from(counts.clone());
/// let mut total = Counts::default();
/// total.add_shipped(&shipped);
/// assert_eq!((shipped.len(), total), (2, counts));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShippedCounts {
    texts: String,
    /// Per key, in the order of `texts`: its length in bytes and its count,
    /// each a variable-length number (LEB128). A key shorter than 128 bytes
    /// counted fewer than 128 times takes 2 bytes instead of 16: a crawler's
    /// file ships half a million keys, and its rows cross in 1 MB, not 8.
    #[serde(with = "serde_bytes")]
    rows: Vec<u8>,
    /// How many keys (counted again on arrival).
    #[serde(skip)]
    keys: usize,
}

impl ShippedCounts {
    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// The keys and their counts.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        let (mut at, mut start) = (0, 0);
        // The rows were checked against the texts when they were made or arrived.
        std::iter::from_fn(move || {
            let (len, n) = next_row(&self.rows, &mut at)?;
            let key = self.texts.get(start..start + len)?;
            start += len;
            Some((key, n))
        })
    }
}

/// The length and count of the row at `*at` of shipped rows, moving `at`
/// past it; `None` at the end, or where the row is cut short or too large.
fn next_row(rows: &[u8], at: &mut usize) -> Option<(usize, u64)> {
    let (len, a) = u64::decode_var(rows.get(*at..)?)?;
    let (count, b) = u64::decode_var(&rows[*at + a..])?;
    *at += a + b;
    Some((usize::try_from(len).ok()?, count))
}

impl From<Counts> for ShippedCounts {
    /// `counts`' texts as they are, and their rows in the same order.
    fn from(counts: Counts) -> Self {
        let mut rows = Vec::with_capacity(2 * counts.entries.len());
        let mut number = [0u8; 10];
        for c in &counts.entries {
            for n in [c.len as u64, c.count] {
                let used = n.encode_var(&mut number);
                rows.extend_from_slice(&number[..used]);
            }
        }
        ShippedCounts {
            keys: counts.entries.len(),
            rows,
            texts: counts.texts,
        }
    }
}

impl<'de> Deserialize<'de> for ShippedCounts {
    /// Checked: the rows are whole, their lengths add up to the texts, each
    /// key a whole string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Unchecked {
            texts: String,
            #[serde(with = "serde_bytes")]
            rows: Vec<u8>,
        }
        let Unchecked { texts, rows } = Unchecked::deserialize(deserializer)?;
        let refuse = |why: &str| serde::de::Error::custom(format!("shipped counts: {why}"));
        let (mut at, mut end, mut keys) = (0, 0usize, 0);
        while at < rows.len() {
            let (len, _) = next_row(&rows, &mut at).ok_or_else(|| refuse("a row cut short"))?;
            end = end
                .checked_add(len)
                .filter(|&end| texts.is_char_boundary(end))
                .ok_or_else(|| refuse("a key outside its texts"))?;
            keys += 1;
        }
        if end != texts.len() {
            return Err(refuse("texts beyond the last key"));
        }
        Ok(ShippedCounts { texts, rows, keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts as a plain map, to check against.
    fn plain(counts: &Counts) -> std::collections::BTreeMap<String, u64> {
        counts.iter().map(|(k, n)| (k.to_string(), n)).collect()
    }

    #[test]
    fn keys_are_found_by_bytes_and_text_alike_and_lossy_ones_add_up() {
        let mut counts = Counts::default();
        for key in [&b"/a"[..], b"/b", b"/a", b"/\xff", b"/\xfe", b"/a"] {
            counts.add_bytes(key, 1);
        }
        counts.add("/b", 5);
        counts.add("/\u{fffd}", 1);
        assert_eq!(counts.len(), 3);
        assert_eq!((counts["/a"], counts["/b"], counts["/\u{fffd}"]), (3, 6, 3));
        assert_eq!(counts.get("/c"), None);
    }

    #[test]
    fn merging_grown_tables_equals_counting_in_one() {
        // Enough keys that both tables grow several times, half shared.
        let mut one = Counts::default();
        let mut a = Counts::default();
        let mut b = Counts::default();
        let mut expected = std::collections::BTreeMap::new();
        for i in 0..20_000u64 {
            let key = format!("/catalog/item-{:08}", i % 15_000);
            let part = if i % 3 == 0 { &mut a } else { &mut b };
            part.add(&key, i % 7 + 1);
            one.add_bytes(key.as_bytes(), i % 7 + 1);
            *expected.entry(key).or_insert(0) += i % 7 + 1;
        }
        assert_eq!(plain(&one), expected);
        let mut merged = a.clone();
        merged.merge(b.clone());
        assert_eq!(plain(&merged), expected);
        // The smaller folded into the larger, whichever side it is on.
        b.merge(a);
        assert_eq!(b, merged);
        assert_eq!(merged, one);
        for (key, n) in &expected {
            assert_eq!(merged.get(key), Some(*n), "{key}");
        }
    }

    #[test]
    fn counts_round_trip_as_a_map() {
        let counts: Counts = [
            ("/a".to_string(), 2),
            ("/b".to_string(), 1),
            ("/a".to_string(), 1),
        ]
        .into_iter()
        .collect();
        let json = serde_json::to_string(&counts).expect("serializes");
        let back: Counts = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, counts);
        assert_eq!(plain(&back), [("/a".into(), 3), ("/b".into(), 1)].into());
        let text: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(text, serde_json::json!({"/a": 3, "/b": 1}));
    }

    #[test]
    fn shipped_counts_merged_in_bucket_order_equal_counting_in_one() {
        // Enough rows for the bucket order; the total already holds a third
        // of the keys, and the shipment is added twice (every key known then).
        let mut total = Counts::default();
        let mut shipped = Counts::default();
        let mut expected = std::collections::BTreeMap::new();
        for i in 0..30_000u64 {
            let key = format!("/catalog/item-{i:08}");
            if i % 3 == 0 {
                total.add(&key, 5);
                *expected.entry(key.clone()).or_insert(0) += 5;
            }
            shipped.add(&key, i % 4 + 1);
            *expected.entry(key).or_insert(0) += 2 * (i % 4 + 1);
        }
        let shipped = ShippedCounts::from(shipped);
        total.add_shipped(&shipped);
        total.add_shipped(&shipped);
        assert_eq!(total.len(), expected.len());
        assert_eq!(plain(&total), expected);
        for (key, n) in &expected {
            assert_eq!(total.get(key), Some(*n), "{key}");
        }
        // A shipment whose rows repeat a key (no worker makes one) adds up.
        let texts = "/k".repeat(5_000);
        let rows = vec!["2,3"; 5_000].join(",");
        let repeated: ShippedCounts =
            serde_json::from_str(&format!(r#"{{"texts":"{texts}","rows":[{rows}]}}"#))
                .expect("arrives");
        let mut total = Counts::default();
        total.add("/j", 1);
        total.add_shipped(&repeated);
        assert_eq!((total.len(), total["/k"], total["/j"]), (2, 15_000, 1));
    }

    #[test]
    fn shipped_counts_arrive_whole_or_are_refused() {
        let mut counts = Counts::default();
        // Lengths and counts of one byte and of several.
        let long = "/long".repeat(60);
        for (key, n) in [
            ("/a", 2),
            ("/é", 1),
            (&long, 300),
            ("/catalog/item-1", 1 << 40),
        ] {
            counts.add(key, n);
        }
        let shipped = ShippedCounts::from(counts.clone());
        assert_eq!(
            shipped.iter().collect::<Vec<_>>(),
            counts.iter().collect::<Vec<_>>()
        );
        let json = serde_json::to_string(&shipped).expect("serializes");
        let back: ShippedCounts = serde_json::from_str(&json).expect("arrives");
        let mut total = Counts::default();
        total.add_shipped(&back);
        assert_eq!(total, counts);
        // Rows of one-byte numbers (length, count): lengths past the texts,
        // short of them, inside a character; a number cut short.
        for (rows, why) in [
            ("[2,1,9,1]", "outside"),
            ("[2,1]", "beyond"),
            ("[3,1,1,1]", "outside"),
            ("[2,1,3,128]", "cut short"),
        ] {
            let text = format!(r#"{{"texts":"/a/é","rows":{rows}}}"#);
            let e = serde_json::from_str::<ShippedCounts>(&text).expect_err(rows);
            assert!(e.to_string().contains(why), "{rows}: {e}");
        }
    }
}
