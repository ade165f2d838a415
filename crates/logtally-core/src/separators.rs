//! Where a line's separators are (spaces, quotes, closing brackets), found in
//! one pass of 16-byte vector compares, so that the Combined matcher walks
//! bit masks instead of searching field after field: those searches (`memchr`
//! and byte tests per field) were most of its 1,070 instructions a line.

/// The longest line indexed; a longer one takes the field-by-field matcher.
const MAX_LINE: usize = 512;
const WORDS: usize = MAX_LINE / 64;

/// Whether the matcher uses [`Separators`] on this target: on x86_64 (its
/// instructions a line fell by a fifth). Not on wasm32, even with `simd128`:
/// there the field-by-field matcher, on `memchr`'s `simd128` searches, read
/// a seed file 3-4% faster in Node (medians of 7, 0.306 s against 0.317 s).
/// Elsewhere the masks would be compared byte by byte.
pub(crate) const VECTOR_COMPARES: bool = cfg!(target_arch = "x86_64");

/// A line's separators as bit masks: bit `i % 64` of word `i / 64` is byte `i`.
pub(crate) struct Separators {
    len: usize,
    /// The spaces (`b' '`): with no other white space or control byte in
    /// the line, exactly where Python's `isspace()` holds.
    space: [u64; WORDS],
    /// The quotes and closing brackets (`"`, `]`): where a quoted or
    /// bracketed field may end.
    close: [u64; WORDS],
}

/// One 16-byte chunk's masks: bit `i` is byte `i`.
#[derive(Debug, PartialEq, Eq)]
struct ChunkMasks {
    space: u16,
    close: u16,
    /// Bytes `<= b' '`: the spaces and every other white space or control byte.
    low: u16,
}

impl Separators {
    /// No line yet: [`index`](Self::index) a line before the searches.
    #[inline(always)]
    pub(crate) fn new() -> Separators {
        Separators {
            len: 0,
            space: [0; WORDS],
            close: [0; WORDS],
        }
    }

    /// Finds the separators of `line`; `false` (and no use for the masks)
    /// when it is longer than 512 bytes or holds a control byte or white
    /// space other than `b' '` (a tab, say), whose lines the field-by-field
    /// matcher handles. Built in place: as a return value the masks were
    /// copied by a call to `memcpy` per line.
    #[inline(always)]
    pub(crate) fn index(&mut self, line: &[u8]) -> bool {
        let len = line.len();
        if len > MAX_LINE {
            return false;
        }
        self.len = len;
        let mut other_low = 0;
        let (blocks, tail) = line.as_chunks::<64>();
        for (word, block) in blocks.iter().enumerate() {
            let (chunks, _) = block.as_chunks::<16>();
            let (mut space, mut close) = (0, 0);
            for (k, chunk) in chunks.iter().enumerate() {
                let masks = chunk_masks(chunk);
                space |= u64::from(masks.space) << (16 * k);
                close |= u64::from(masks.close) << (16 * k);
                other_low |= masks.low ^ masks.space;
            }
            self.space[word] = space;
            self.close[word] = close;
        }
        let start = blocks.len() * 64;
        let (mut space, mut close) = (0, 0);
        for at in (start..len).step_by(16) {
            let masks = chunk_at(line, at);
            space |= u64::from(masks.space) << (at - start);
            close |= u64::from(masks.close) << (at - start);
            other_low |= masks.low ^ masks.space;
        }
        if !tail.is_empty() {
            self.space[blocks.len()] = space;
            self.close[blocks.len()] = close;
        }
        // Words past the line's are never read: the searches stop at its end.
        other_low == 0
    }

    /// The first space at or after `from`, or the line's length if none.
    #[inline(always)]
    pub(crate) fn space_from(&self, from: usize) -> usize {
        first_set(self.words(&self.space), from, false).map_or(self.len, |at| at.min(self.len))
    }

    /// The first byte at or after `from` that is not a space, or the line's
    /// length if none.
    #[inline(always)]
    pub(crate) fn non_space_from(&self, from: usize) -> usize {
        first_set(self.words(&self.space), from, true).map_or(self.len, |at| at.min(self.len))
    }

    /// The words of `mask` that hold the line's bits.
    #[inline(always)]
    fn words<'m>(&self, mask: &'m [u64; WORDS]) -> &'m [u64] {
        &mask[..self.len.div_ceil(64)]
    }

    /// The last space before `end`.
    #[inline(always)]
    fn last_space_before(&self, end: usize) -> Option<usize> {
        let mut word = end.checked_sub(1)? / 64;
        let mut bits = self.space.get(word)? & (u64::MAX >> (63 - (end - 1) % 64));
        loop {
            if bits != 0 {
                return Some(word * 64 + 63 - bits.leading_zeros() as usize);
            }
            word = word.checked_sub(1)?;
            bits = self.space[word];
        }
    }

    /// The first quote or closing bracket at or after `from`.
    #[inline(always)]
    pub(crate) fn quote_or_bracket_from(&self, from: usize) -> Option<usize> {
        first_set(self.words(&self.close), from, false)
    }
}

/// How the matcher finds where a line's fields end: by searching the line
/// itself (`record::Searches`, any line), or on its [`Separators`], found
/// beforehand in one pass.
pub(crate) trait FieldEnds {
    /// The end of a run of non-space bytes from `i` (at least one).
    fn token(&self, line: &[u8], i: usize) -> Option<usize>;
    /// The index after a run of white space from `i` (at least one).
    fn spaces(&self, line: &[u8], i: usize) -> Option<usize>;
    /// The first `close` (a quote or a closing bracket) at or after `from`.
    fn close_from(&self, line: &[u8], from: usize, close: u8) -> Option<usize>;
    /// `METHOD TARGET PROTOCOL`, the bytes `start..end` of the line split at
    /// its two spaces, where known without a search: when it has exactly two
    /// and neither is at an end (side by side, they leave an empty target,
    /// as `split()` does); what `details::split_request` finds in such a
    /// request.
    fn plain_request(&self, start: usize, end: usize) -> Option<(usize, usize)>;

    /// The first `close` at or after `from` that is followed by white space
    /// and then a byte that `next` accepts: (index of `close`, index of that
    /// byte). This is where a lazy `(.+?)` ending in `close\s+` stops when
    /// what follows starts with such a byte; earlier `close`s cannot lead to
    /// a match.
    #[inline(always)]
    fn close_before(
        &self,
        line: &[u8],
        from: usize,
        close: u8,
        next: impl Fn(u8) -> bool,
    ) -> Option<(usize, usize)> {
        let mut j = from;
        loop {
            let k = self.close_from(line, j, close)?;
            if let Some(after) = self.spaces(line, k + 1) {
                if line.get(after).is_some_and(|&b| next(b)) {
                    return Some((k, after));
                }
            }
            j = k + 1;
        }
    }
}

impl FieldEnds for Separators {
    #[inline(always)]
    fn token(&self, _: &[u8], i: usize) -> Option<usize> {
        Some(self.space_from(i)).filter(|&end| end > i)
    }

    #[inline(always)]
    fn spaces(&self, _: &[u8], i: usize) -> Option<usize> {
        Some(self.non_space_from(i)).filter(|&end| end > i)
    }

    #[inline(always)]
    fn close_from(&self, line: &[u8], from: usize, close: u8) -> Option<usize> {
        debug_assert!(matches!(close, b'"' | b']'), "only these are marked");
        let mut j = from;
        loop {
            let k = self.quote_or_bracket_from(j)?;
            if line[k] == close {
                return Some(k);
            }
            j = k + 1;
        }
    }

    #[inline(always)]
    fn plain_request(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let first = self.space_from(start);
        let last = self.last_space_before(end)?;
        (first > start && first < last && last + 1 < end && self.space_from(first + 1) == last)
            .then_some((first, last))
    }
}

/// The masks of the bytes from `at` (inside `line`) to at most 16 on, as
/// bits from 0: a chunk that would run past the end is read as the last 16
/// bytes, its bits shifted down, so no bit lies past the end.
#[inline(always)]
fn chunk_at(line: &[u8], at: usize) -> ChunkMasks {
    if let Some(chunk) = line.get(at..).and_then(|rest| rest.first_chunk::<16>()) {
        return chunk_masks(chunk);
    }
    match line.last_chunk::<16>() {
        Some(last) => {
            let shift = at + 16 - line.len();
            let m = chunk_masks(last);
            ChunkMasks {
                space: m.space >> shift,
                close: m.close >> shift,
                low: m.low >> shift,
            }
        }
        None => {
            // A line shorter than a chunk: padded with a byte that is no separator.
            let mut padded = [b'x'; 16];
            padded[..line.len()].copy_from_slice(line);
            chunk_masks(&padded)
        }
    }
}

/// The first bit at or after `from` that is set in `mask` (clear, when
/// `inverted`).
#[inline(always)]
fn first_set(mask: &[u64], from: usize, inverted: bool) -> Option<usize> {
    let flip = if inverted { u64::MAX } else { 0 };
    let mut word = from / 64;
    let mut bits = (mask.get(word)? ^ flip) & (u64::MAX << (from % 64));
    loop {
        if bits != 0 {
            return Some(word * 64 + bits.trailing_zeros() as usize);
        }
        word += 1;
        bits = mask.get(word)? ^ flip;
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn chunk_masks(chunk: &[u8; 16]) -> ChunkMasks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 target, so its intrinsics run on
    // any CPU this code runs on; `chunk` is 16 readable bytes, and
    // `_mm_loadu_si128` reads 16 bytes at any alignment.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let splat = |b: u8| _mm_set1_epi8(b as i8);
        let bits = |m| _mm_movemask_epi8(m) as u16;
        ChunkMasks {
            space: bits(_mm_cmpeq_epi8(v, splat(b' '))),
            close: bits(_mm_or_si128(
                _mm_cmpeq_epi8(v, splat(b'"')),
                _mm_cmpeq_epi8(v, splat(b']')),
            )),
            low: bits(_mm_cmpeq_epi8(_mm_max_epu8(v, splat(b' ')), splat(b' '))),
        }
    }
}

// Where the matcher does not use the masks (`VECTOR_COMPARES`), they are
// still compiled: a byte at a time.
#[cfg(not(target_arch = "x86_64"))]
fn chunk_masks(chunk: &[u8; 16]) -> ChunkMasks {
    bytewise_masks(chunk)
}

/// [`chunk_masks`] a byte at a time: the definition the vector form matches.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn bytewise_masks(chunk: &[u8; 16]) -> ChunkMasks {
    let mask =
        |test: &dyn Fn(u8) -> bool| (0..16).fold(0u16, |m, i| m | (u16::from(test(chunk[i])) << i));
    ChunkMasks {
        space: mask(&|b| b == b' '),
        close: mask(&|b| b == b'"' || b == b']'),
        low: mask(&|b| b <= b' '),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b' '),
            Just(b'"'),
            Just(b']'),
            Just(b'\t'),
            Just(0u8),
            Just(0x20),
            Just(0x21),
            Just(0x80),
            Just(0xff),
            any::<u8>(),
        ]
    }

    proptest! {
        #[test]
        fn vector_masks_are_the_bytewise_ones(chunk in prop::array::uniform16(byte())) {
            prop_assert_eq!(chunk_masks(&chunk), bytewise_masks(&chunk));
        }

        #[test]
        fn a_plain_request_has_two_lone_spaces_inside(
            line in prop::collection::vec(prop_oneof![Just(b' '), Just(b'x')], 0..10),
            start in 0usize..3,
        ) {
            let mut seps = Separators::new();
            prop_assert!(seps.index(&line));
            let start = start.min(line.len());
            let spaces: Vec<usize> = (start..line.len()).filter(|&i| line[i] == b' ').collect();
            let plain = match spaces[..] {
                [first, last] if first > start && last + 1 < line.len() => Some((first, last)),
                _ => None,
            };
            prop_assert_eq!(seps.plain_request(start, line.len()), plain);
        }

        #[test]
        fn searches_find_what_a_scan_finds(
            line in prop::collection::vec(prop_oneof![Just(b' '), Just(b'"'), Just(b']'), Just(b'x'), Just(b'\t')], 0..600),
            from in 0usize..620,
        ) {
            let mut seps = Separators::new();
            if !seps.index(&line) {
                prop_assert!(line.len() > MAX_LINE || line.contains(&b'\t'));
                return Ok(());
            }
            let len = line.len();
            let at = from.min(len);
            let scan = |from: usize, test: &dyn Fn(u8) -> bool| {
                line.get(from..).and_then(|rest| rest.iter().position(|&b| test(b))).map(|n| from + n)
            };
            prop_assert_eq!(seps.space_from(at), scan(at, &|b| b == b' ').unwrap_or(len));
            prop_assert_eq!(seps.non_space_from(at), scan(at, &|b| b != b' ').unwrap_or(len));
            prop_assert_eq!(seps.quote_or_bracket_from(from), scan(from, &|b| b == b'"' || b == b']'));
            prop_assert_eq!(seps.last_space_before(at), line[..at].iter().rposition(|&b| b == b' '));
        }
    }
}
