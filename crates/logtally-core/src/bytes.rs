//! Byte-string equality for keys compared on every record, and the word
//! test and search (`find_any`) that look through a line's short fields eight
//! bytes at a time.

/// Whether `a` and `b` are equal: short keys (status, method, hour...)
/// compared inline, as a call to `memcmp` costs more than the comparison;
/// long ones (paths, user agents) by `memcmp` natively, and eight bytes at a
/// time on wasm32, whose `memcmp` compares a byte at a time (9% of a profile
/// of the single-threaded module reading with every panel, comparing user
/// agents and kept values).
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0 => true,
        1..=3 => {
            a[0] == b[0] && a[a.len() / 2] == b[a.len() / 2] && a[a.len() - 1] == b[b.len() - 1]
        }
        4..=7 => {
            let word =
                |s: &[u8], at: usize| u32::from_le_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]]);
            let last = a.len() - 4;
            word(a, 0) == word(b, 0) && word(a, last) == word(b, last)
        }
        8..=16 => {
            let word = |s: &[u8], at: usize| {
                u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
            };
            let last = a.len() - 8;
            word(a, 0) == word(b, 0) && word(a, last) == word(b, last)
        }
        #[cfg(target_arch = "wasm32")]
        _ => same_words(a, b),
        #[cfg(not(target_arch = "wasm32"))]
        _ => a == b,
    }
}

/// `a == b` where most keys are long (paths, times): natively the same code
/// (`memcmp`, which other code inlined around it expects), on wasm32 word by
/// word, as [`same_bytes`] does there.
#[inline]
pub(crate) fn same_text(a: &[u8], b: &[u8]) -> bool {
    #[cfg(target_arch = "wasm32")]
    return a.len() == b.len()
        && if a.len() < 8 {
            a == b
        } else {
            same_words(a, b)
        };
    #[cfg(not(target_arch = "wasm32"))]
    return a == b;
}

/// `a == b` for slices of the same length, at least 8: word by word, the
/// last word overlapping the one before it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn same_words(a: &[u8], b: &[u8]) -> bool {
    let (a_words, _) = a.as_chunks::<8>();
    let (b_words, _) = b.as_chunks::<8>();
    a_words
        .iter()
        .zip(b_words)
        .all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
        && last_word(a) == last_word(b)
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn last_word(s: &[u8]) -> Option<u64> {
    s.last_chunk::<8>().map(|w| u64::from_ne_bytes(*w))
}

/// Eight bytes of `byte`.
pub(crate) const fn splat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// The high bit set in the bytes of `word` below `bound` (at most `0x80`):
/// exact in the lowest such byte, as no byte below it borrows (others may
/// be marked too). `bytes_below(word ^ splat(b), 1)` marks the bytes `b`.
#[inline]
pub(crate) fn bytes_below(word: u64, bound: u8) -> u64 {
    debug_assert!(bound <= 0x80);
    word.wrapping_sub(splat(bound)) & !word & splat(0x80)
}

/// Index of the first of `needles` in `s` at or after `from`, eight bytes at
/// a time: for the short fields of a line (a path, a request target), where
/// `memchr`'s call and setup cost more than the search (`memchr3` took 109
/// instructions a request target).
#[inline]
pub(crate) fn find_any<const N: usize>(
    s: &[u8],
    mut from: usize,
    needles: [u8; N],
) -> Option<usize> {
    while let Some(word) = s.get(from..).and_then(|rest| rest.first_chunk::<8>()) {
        let word = u64::from_le_bytes(*word);
        // A zero byte where a needle was: the lowest mark of each needle is
        // exact, so the lowest of all of them is too.
        let marks = needles
            .iter()
            .fold(0, |all, &b| all | bytes_below(word ^ splat(b), 1));
        if marks != 0 {
            return Some(from + (marks.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    s.get(from..)?
        .iter()
        .position(|b| needles.contains(b))
        .map(|n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_keys_compare_as_slices_do() {
        let keys: Vec<Vec<u8>> = (0..=17usize)
            .flat_map(|len| {
                (0..len.max(1)).map(move |flip| {
                    let mut k: Vec<u8> = (0..len as u8).collect();
                    if flip < len {
                        k[flip] ^= 0x20;
                    }
                    k
                })
            })
            .chain((0..=17usize).map(|len| (0..len as u8).collect()))
            .collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn long_keys_compare_word_by_word_as_slices_do(
            a in prop::collection::vec(any::<u8>(), 8..300),
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
            differ in any::<bool>(),
        ) {
            let mut b = a.clone();
            if differ {
                b[flip.index(a.len())] ^= 1 << bit;
            }
            prop_assert_eq!(same_words(&a, &b), a == b);
            prop_assert_eq!(same_bytes(&a, &b), a == b);
            prop_assert_eq!(same_text(&a, &b), a == b);
        }

        #[test]
        fn find_any_finds_the_first_needle_a_scan_finds(
            s in prop::collection::vec(prop::sample::select(b"?#;/a\x00\x80\xff".to_vec()), 0..40),
            from in 0usize..45,
        ) {
            let scan = |needles: &[u8]| {
                s.get(from..).and_then(|rest| rest.iter().position(|b| needles.contains(b))).map(|n| from + n)
            };
            prop_assert_eq!(find_any(&s, from, [b'/']), scan(b"/"));
            prop_assert_eq!(find_any(&s, from, [b'?', b'#', b';']), scan(b"?#;"));
            prop_assert_eq!(find_any(&s, 0, [b'?', b'#', b';']), memchr::memchr3(b'?', b'#', b';', &s));
        }

        #[test]
        fn the_lowest_byte_marked_is_the_first_below_the_bound(word in any::<[u8; 8]>(), bound in 1u8..=0x80) {
            let marked = bytes_below(u64::from_le_bytes(word), bound);
            let first = word.iter().position(|&b| b < bound);
            prop_assert_eq!((marked != 0).then(|| (marked.trailing_zeros() / 8) as usize), first);
        }
    }
}
