//! Filters: the seed's `path_filter` (configurable) and `book_filter`
//! generalised to a path prefix.

use serde::{Deserialize, Serialize};

use crate::bytes::{find_any, same_bytes};

/// Path segments the seed's `path_filter` drops.
pub const DEFAULT_EXCLUDED_NAMES: [&str; 10] = [
    "favicon.ico",
    "robots.txt",
    "humans.txt",
    "crossdomain.xml",
    "_images",
    "search.html",
    "genindex.html",
    "searchindex.js",
    "modindex.html",
    "py-modindex.html",
];

/// File extensions the seed's `path_filter` drops.
pub const DEFAULT_EXCLUDED_EXTENSIONS: [&str; 3] = [".png", ".js", ".css"];

/// Drops uninteresting paths: empty ones, those with an excluded segment
/// anywhere, and those whose last segment ends with an excluded extension.
///
/// ```
/// use logtally_core::filter::PathFilter;
/// let f = PathFilter::default();
/// assert!(f.accepts(b"/book/chapter1.html"));
/// assert!(!f.accepts(b"/"));
/// assert!(!f.accepts(b"/static/_images/x.gif"));
/// assert!(!f.accepts(b"/app.js"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PathFilterLists")]
pub struct PathFilter {
    names: Vec<String>,
    extensions: Vec<String>,
    /// Bit n set: some name is n bytes long (all set for one of 64 or more),
    /// a first test that spares most segments a comparison.
    #[serde(skip_serializing)]
    name_lengths: u64,
}

/// A [`PathFilter`] as it travels (its test made again on arrival).
#[derive(Deserialize)]
struct PathFilterLists {
    names: Vec<String>,
    extensions: Vec<String>,
}

impl From<PathFilterLists> for PathFilter {
    fn from(lists: PathFilterLists) -> Self {
        PathFilter::new(lists.names, lists.extensions)
    }
}

impl Default for PathFilter {
    fn default() -> Self {
        PathFilter::with_more(&[], &[])
    }
}

impl PathFilter {
    /// Drops paths with a segment in `names` or a last segment ending with
    /// one of `extensions`.
    pub fn new(names: Vec<String>, extensions: Vec<String>) -> Self {
        let name_lengths = names.iter().fold(0u64, |m, n| {
            if n.len() < 64 {
                m | 1 << n.len()
            } else {
                u64::MAX
            }
        });
        PathFilter {
            names,
            extensions,
            name_lengths,
        }
    }

    /// The seed's filter ([`DEFAULT_EXCLUDED_NAMES`] and
    /// [`DEFAULT_EXCLUDED_EXTENSIONS`]) with more names and extensions.
    pub fn with_more(names: &[String], extensions: &[String]) -> Self {
        let listed = |defaults: &[&str], more: &[String]| {
            defaults
                .iter()
                .map(|s| s.to_string())
                .chain(more.iter().cloned())
                .collect()
        };
        PathFilter::new(
            listed(&DEFAULT_EXCLUDED_NAMES, names),
            listed(&DEFAULT_EXCLUDED_EXTENSIONS, extensions),
        )
    }

    /// Segments that exclude a path wherever they appear.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Suffixes that exclude a path when its last segment ends with one.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Whether the seed's `path_filter` lets `path` through.
    pub fn accepts(&self, path: &[u8]) -> bool {
        // One pass, a word at a time: a split iterator per segment cost four
        // times the instructions. An empty path or one of slashes alone (the
        // seed's `not any(path.split("/"))`) has no byte in a segment.
        let mut in_segments = false;
        let mut start = 0;
        while let Some(slash) = find_any(path, start, [b'/']) {
            let segment = &path[start..slash];
            if self.is_excluded_name(segment) {
                return false;
            }
            in_segments |= !segment.is_empty();
            start = slash + 1;
        }
        let last = &path[start..];
        (in_segments || !last.is_empty())
            && !self.is_excluded_name(last)
            && !self.extensions.iter().any(|e| {
                let e = e.as_bytes();
                last.len() >= e.len() && same_bytes(&last[last.len() - e.len()..], e)
            })
    }

    /// Whether `segment` is one of the names, a length test first (and the
    /// bytes compared inline: a call to `memcmp` per name of the same length
    /// cost more than the comparison).
    #[inline]
    fn is_excluded_name(&self, segment: &[u8]) -> bool {
        let maybe = segment.len() >= 64 || self.name_lengths & (1 << segment.len()) != 0;
        maybe && self.names.iter().any(|n| same_bytes(n.as_bytes(), segment))
    }
}

/// Keeps paths under a prefix: the seed's `book_filter` is `/book/`, which
/// keeps paths whose first non-empty segment is `book` and that have at least
/// one more non-empty segment.
///
/// ```
/// use logtally_core::filter::PrefixFilter;
/// let book = PrefixFilter::new("/book/");
/// assert!(book.accepts(b"/book/ch1.html"));
/// assert!(book.accepts(b"//book//ch1/"));
/// assert!(!book.accepts(b"/book/"));
/// assert!(!book.accepts(b"/books/ch1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixFilter {
    segments: Vec<String>,
}

impl PrefixFilter {
    /// A filter for `prefix`, read as `/`-separated segments.
    pub fn new(prefix: &str) -> Self {
        PrefixFilter {
            segments: prefix
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Whether `path` lies strictly below the prefix.
    pub fn accepts(&self, path: &[u8]) -> bool {
        let mut segments = path.split(|&b| b == b'/').filter(|s| !s.is_empty());
        for want in &self.segments {
            if segments.next() != Some(want.as_bytes()) {
                return false;
            }
        }
        segments.next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The seed's `path_filter`, as it is written: split, `any`, `endswith`.
    fn seed_accepts(filter: &PathFilter, path: &[u8]) -> bool {
        let segments: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        if !segments.iter().any(|s| !s.is_empty()) {
            return false;
        }
        if segments
            .iter()
            .any(|s| filter.names().iter().any(|n| n.as_bytes() == *s))
        {
            return false;
        }
        let last = segments.last().copied().unwrap_or_default();
        !filter
            .extensions()
            .iter()
            .any(|e| last.ends_with(e.as_bytes()))
    }

    proptest! {
        #[test]
        fn accepts_what_the_seeds_filter_accepts(
            segments in prop::collection::vec(prop_oneof![
                Just(String::new()),
                Just("favicon.ico".to_string()),
                Just("_images".to_string()),
                Just("a.js".to_string()),
                Just(".css".to_string()),
                Just("x".repeat(70)),
                "[a-z._/]{0,12}",
            ], 0..6),
        ) {
            let filter = PathFilter::with_more(&["x".repeat(70)], &[]);
            let path = segments.join("/");
            prop_assert_eq!(filter.accepts(path.as_bytes()), seed_accepts(&filter, path.as_bytes()), "{:?}", path);
        }
    }

    #[test]
    fn a_filter_that_travelled_drops_its_own_names() {
        let filter = PathFilter::with_more(&["a-name-of-27-bytes-long.txt".into()], &[]);
        assert!(!filter.accepts(b"/x/a-name-of-27-bytes-long.txt"));
        let json = serde_json::to_string(&filter).unwrap();
        assert!(!json.contains("name_lengths"), "{json}");
        let arrived: PathFilter = serde_json::from_str(&json).unwrap();
        assert_eq!(arrived, filter);
        assert!(!arrived.accepts(b"/x/a-name-of-27-bytes-long.txt"));
        assert!(arrived.accepts(b"/x/a-name-of-26-bytes-long.tx"));
    }
}
