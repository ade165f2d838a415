//! The entry of a hash index beside a list (the counts' keys, a panel's
//! keys, the visitors): an item's place in the list and 32 bits of its key's
//! hash, eight bytes. Growing the index moves slots without reading the
//! items (a random access into the list, and into the key's text, per entry
//! was 12% of a run with millions of hosts).

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
