//! The entry of a hash index beside a list (the counts' keys, a panel's
//! keys, the visitors): an item's place in the list and 32 bits of its key's
//! hash, eight bytes. Growing the index moves slots without reading the
//! items (a random access into the list, and into the key's text, per entry
//! was 12% of a run with millions of hosts).

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

/// An index entry: an item's place in its list and 32 bits of its key's hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) at: u32,
    pub(crate) hash: u32,
}

impl Slot {
    /// The slot of the item at `at` whose key has `hash`.
    pub(crate) fn new(at: usize, hash: u32) -> Slot {
        // Millions of items fit in memory long before 2^32 of them.
        let at = u32::try_from(at).expect("fewer than 2^32 items in an index");
        Slot { at, hash }
    }

    /// The hash the index files this entry under.
    pub(crate) fn filed(&self) -> u64 {
        spread(self.hash)
    }
}

/// The 32 bits of a key's 64-bit hash a [`Slot`] keeps (the top ones).
pub(crate) fn kept_bits(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// A table hash from the 32 bits a [`Slot`] keeps: multiplied by an odd
/// constant, so that both the low bits (the bucket) and the top seven (the
/// tag) of the table's hash vary with them.
pub(crate) fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Whether adding `items` at once to an index of `len` pays in bucket
/// order ([`in_bucket_order`]): from 4096 of them, and an eighth of the
/// index, since renumbering their slots may sweep the whole index once
/// (a few items into millions would pay that sweep for little).
pub(crate) fn bucket_order_pays(items: usize, len: usize) -> bool {
    items >= 1 << 12 && items.saturating_mul(8) >= len
}

/// `hashes` (of the keys about to be added to a hash index of `capacity`,
/// which must not grow while they are) with their places, in the order of
/// the index's buckets: by the top bits of each key's first bucket (at most
/// 4096 runs, each a stretch of the index), a counting sort, two passes.
/// Stable: items of one run keep their order, so of rows that repeat a key
/// the first in their order is the one found first.
///
/// A merge of millions of keys into an index of millions probed the index at
/// random, a cache and TLB miss per key; in this order the probes sweep it
/// front to back.
fn in_bucket_order(hashes: &[u32], capacity: usize) -> Vec<(u32, u32)> {
    assert!(u32::try_from(hashes.len()).is_ok(), "fewer than 2^32 items");
    let buckets = buckets_of(capacity);
    let bits = buckets.trailing_zeros();
    let shift = bits.saturating_sub(12);
    let run_of = |hash: u32| (bucket_of(hash, buckets) >> shift) as usize;
    let mut starts = vec![0u32; (1 << (bits - shift)) + 1];
    for &hash in hashes {
        starts[run_of(hash) + 1] += 1;
    }
    for run in 1..starts.len() {
        starts[run] += starts[run - 1];
    }
    let mut order = vec![(0u32, 0u32); hashes.len()];
    for (at, &hash) in hashes.iter().enumerate() {
        let next = &mut starts[run_of(hash)];
        // Fewer than 2^32 items (a Slot's place).
        order[*next as usize] = (hash, at as u32);
        *next += 1;
    }
    order
}

/// How many buckets a hashbrown table of `capacity` has: a power of two,
/// seven eighths of which it fills (were the estimate off, the order would
/// sweep the buckets twice, or in two interleaved runs: no harm).
fn buckets_of(capacity: usize) -> u64 {
    ((capacity as u64).saturating_mul(8) / 7).next_power_of_two()
}

/// The bucket where a key of `hash` is first looked for, in a table of
/// `buckets` (hashbrown starts a probe at the table hash's low bits).
fn bucket_of(hash: u32, buckets: u64) -> u64 {
    spread(hash) & (buckets - 1)
}

/// Looks each of `hashes` (the keys of rows about to be added to the items
/// of `index`, of which there are `base`) up in bucket order
/// ([`in_bucket_order`]), filing a new one under the place `base + row`
/// for now; where each row's key was found, in the order of the rows:
/// `None` (new), a place below `base` (an item here) or from `base` on (an
/// earlier row with the same key). `same(at, row)` says whether the item at
/// `at` (from `base` on: row `at - base`) has the key of `row`. Room must
/// have been reserved. Once the new rows' places are known, [`renumber`].
pub(crate) fn file_in_bucket_order(
    index: &mut HashTable<Slot>,
    base: usize,
    hashes: &[u32],
    same: impl Fn(usize, usize) -> bool,
) -> Vec<Option<usize>> {
    let mut found = vec![None; hashes.len()];
    for (hash, row) in in_bucket_order(hashes, index.capacity()) {
        let row = row as usize;
        let matches = |slot: &Slot| slot.hash == hash && same(slot.at as usize, row);
        match index.entry(spread(hash), matches, Slot::filed) {
            Entry::Occupied(slot) => found[row] = Some(slot.get().at as usize),
            Entry::Vacant(place) => {
                place.insert(Slot::new(base + row, hash));
            }
        }
    }
    found
}

/// Gives the slots that [`file_in_bucket_order`] filed under `base + row`
/// the place `places[row]`, sweeping the index once.
pub(crate) fn renumber(index: &mut HashTable<Slot>, base: usize, places: &[u32]) {
    for slot in index.iter_mut() {
        if let Some(row) = (slot.at as usize).checked_sub(base) {
            slot.at = places[row];
        }
    }
}
