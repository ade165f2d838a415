//! Lines -> records: the seed's `format_pat`, widened to what real servers write.
//!
//! The seed decodes each line as ASCII (non-ASCII bytes become U+FFFD, one per
//! byte), `rstrip()`s it and matches its regex at the start. Working on bytes
//! keeps that one-to-one correspondence, so the same pattern over bytes accepts
//! exactly the same lines, provided `\s` means Python's white space. Beyond the
//! seed, the host may be any non-space token (host names, IPv6) and a Common
//! Log Format line may end after the bytes field.

use regex::bytes::{CaptureLocations, Regex};

use crate::bytes::bytes_below;
use crate::details::Request;
use crate::separators::{FieldEnds, Separators, VECTOR_COMPARES};

/// Python's `str.isspace()` for ASCII, which is what `\s`, `split()` and
/// `rstrip()` use in the seed: it includes the separators `\x1c`..`\x1f`.
pub const fn is_py_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

/// How many bytes of `s` are space or control bytes (`<= b' '`), which every
/// white space byte is: a count without an early exit compiles to vector
/// compares, faster over a field than a search that stops at the first.
pub(crate) fn low_bytes(s: &[u8]) -> usize {
    // Counted in bytes, a chunk at a time: 16 lanes a vector compare rather
    // than the 2 a count in `usize` gets.
    s.chunks(255)
        .map(|chunk| {
            let low = chunk.iter().fold(0u8, |n, &b| n + u8::from(b <= b' '));
            usize::from(low)
        })
        .sum()
}

/// `line.rstrip()` as the seed applies it before matching.
///
/// ```
/// assert_eq!(logtally_core::record::rstrip(b"GET / \r"), b"GET /");
/// ```
pub fn rstrip(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| !is_py_space(b))
        .map_or(0, |i| i + 1);
    &line[..end]
}

const WS: &str = r"[\t\n\x0B\x0C\r\x1C-\x1F ]";
const NWS: &str = r"[^\t\n\x0B\x0C\r\x1C-\x1F ]";

/// The seed's `format_pat` with `HOST_ANY` and an optional combined tail.
fn record_pattern() -> String {
    format!(
        concat!(
            r"(?s-u)\A(?P<host>{n}+){w}+(?P<identity>{n}+){w}+(?P<user>{n}+){w}+",
            r"\[(?P<time>.+?)\]{w}+",
            r#""(?P<request>.+?)"{w}+"#,
            r"(?P<status>[0-9]+){w}+",
            r"(?P<bytes>{n}+)",
            r#"(?:{w}+"(?P<referer>.*?)"{w}+"(?P<user_agent>.+?)"|{w}*\z)"#,
        ),
        n = NWS,
        w = WS
    )
}

/// An access record: the nine fields of the seed's `Access` named tuple, as
/// slices of the line. `referer` and `user_agent` are `None` for a Common Log
/// Format line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// Client address or host name.
    pub host: &'a [u8],
    /// RFC 1413 identity, usually `-`.
    pub identity: &'a [u8],
    /// Authenticated user, usually `-`.
    pub user: &'a [u8],
    /// The text between `[` and `]`.
    pub time: &'a [u8],
    /// The request line between the quotes.
    pub request: &'a [u8],
    /// The status code digits.
    pub status: &'a [u8],
    /// The response size field (`-` or digits).
    pub bytes: &'a [u8],
    /// The referrer, when the line is in Combined Log Format.
    pub referer: Option<&'a [u8]>,
    /// The user agent, when the line is in Combined Log Format.
    pub user_agent: Option<&'a [u8]>,
}

/// Parses lines into [`AccessRecord`]s, reusing its capture buffers.
///
/// ```
/// use logtally_core::record::RecordParser;
/// let mut parser = RecordParser::new();
/// let line = br#"127.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8""#;
/// let record = parser.parse(line).unwrap();
/// assert_eq!(record.request, b"GET /a HTTP/1.1");
/// assert_eq!(record.user_agent, Some(&b"curl/8"[..]));
/// assert!(parser.parse(b"not a log line").is_none());
/// ```
pub struct RecordParser {
    regex: Regex,
    locs: CaptureLocations,
}

impl Default for RecordParser {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for RecordParser {
    fn clone(&self) -> Self {
        RecordParser {
            regex: self.regex.clone(),
            locs: self.regex.capture_locations(),
        }
    }
}

impl RecordParser {
    /// A parser for Combined and Common Log Format lines.
    pub fn new() -> Self {
        let regex = Regex::new(&record_pattern()).expect("the record pattern compiles");
        let locs = regex.capture_locations();
        RecordParser { regex, locs }
    }

    /// The record in `line` (after `rstrip()`), or `None` if it is not one.
    ///
    /// A hand-written matcher answers for the lines servers write (the
    /// benchmark showed the regex engine to be the bottleneck); whenever it
    /// cannot be sure of the regex's answer it defers to the regex.
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        self.parse_split(line, true).map(|(record, _)| record)
    }

    /// [`parse`](Self::parse), with the record's request split into its
    /// three words where the matcher found that it has one space between
    /// each (`details::split_request` then need not search it again).
    /// `by_separators`: whether to find the fields on the line's
    /// [`Separators`] (x86_64), fewer instructions where little else runs
    /// per line; `false` for a caller whose own code per line is large
    /// (every panel of `--report`), where the larger matcher doubled the
    /// instruction-cache misses and took back its gain.
    #[inline(always)]
    pub(crate) fn parse_split<'a>(
        &mut self,
        line: &'a [u8],
        by_separators: bool,
    ) -> Option<(AccessRecord<'a>, Option<Request<'a>>)> {
        let line = rstrip(line);
        match fast_parse(line, by_separators) {
            Fast::Record(record, request) => Some((record, request)),
            Fast::Unsure => self.parse_with_regex(line).map(|record| (record, None)),
        }
    }

    /// The regex's answer alone (`line` already stripped); the reference for
    /// the fast path.
    pub fn parse_with_regex<'a>(&mut self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        self.regex.captures_read(&mut self.locs, line)?;
        let locs = &self.locs;
        let field = |i: usize| locs.get(i).map(|(s, e)| &line[s..e]);
        Some(AccessRecord {
            host: field(1)?,
            identity: field(2)?,
            user: field(3)?,
            time: field(4)?,
            request: field(5)?,
            status: field(6)?,
            bytes: field(7)?,
            referer: field(8),
            user_agent: field(9),
        })
    }
}

enum Fast<'a> {
    Record(AccessRecord<'a>, Option<Request<'a>>),
    Unsure,
}

/// The regex's match, found by taking at every choice point the alternative
/// the regex tries first; any doubt returns `Unsure`.
#[inline(always)]
fn fast_parse(line: &[u8], by_separators: bool) -> Fast<'_> {
    let mut seps = Separators::new();
    let record = if by_separators && VECTOR_COMPARES && seps.index(line) {
        fields(line, &seps)
    } else {
        fields(line, &Searches)
    };
    match record {
        Some((record, request)) => Fast::Record(record, request),
        None => Fast::Unsure,
    }
}

/// Index of the end of a run of non-space bytes starting at `i` (at least one).
fn token(line: &[u8], i: usize) -> Option<usize> {
    let end = space_from(line, i);
    (end > i).then_some(end)
}

/// Index of the first white space byte at or after `i` (`line.len()` if
/// none). Eight bytes at a time: a host or a size is mostly over in one or two
/// steps, where a test per byte took some 250 instructions a line.
fn space_from(line: &[u8], mut i: usize) -> usize {
    while let Some(word) = line.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        // Space and the control bytes (white space among them).
        let low = bytes_below(u64::from_le_bytes(*word), 0x21);
        if low == 0 {
            i += 8;
            continue;
        }
        let at = i + (low.trailing_zeros() / 8) as usize;
        if is_py_space(line[at]) {
            return at;
        }
        // A control byte that is not white space: go on after it.
        i = at + 1;
    }
    line[i..]
        .iter()
        .position(|&b| is_py_space(b))
        .map_or(line.len(), |n| i + n)
}

/// Index after a run of white space starting at `i` (at least one).
fn spaces(line: &[u8], i: usize) -> Option<usize> {
    let n = line
        .get(i..)?
        .iter()
        .position(|&b| !is_py_space(b))
        .unwrap_or(line.len() - i);
    (n > 0).then_some(i + n)
}

/// The line's fields found by searching it, field by field.
struct Searches;

impl FieldEnds for Searches {
    #[inline(always)]
    fn token(&self, line: &[u8], i: usize) -> Option<usize> {
        token(line, i)
    }

    #[inline(always)]
    fn spaces(&self, line: &[u8], i: usize) -> Option<usize> {
        spaces(line, i)
    }

    #[inline(always)]
    fn close_from(&self, line: &[u8], from: usize, close: u8) -> Option<usize> {
        Some(from + memchr::memchr(close, line.get(from..)?)?)
    }

    #[inline(always)]
    fn plain_request(&self, _: usize, _: usize) -> Option<(usize, usize)> {
        None
    }
}

/// The record in `line`, with its request split where `ends` knows a plain
/// one's spaces, taking at every choice point the alternative the regex
/// tries first; `None` where in doubt.
#[inline(always)]
fn fields<'a>(
    line: &'a [u8],
    ends: &impl FieldEnds,
) -> Option<(AccessRecord<'a>, Option<Request<'a>>)> {
    // host, identity, user: each the whole run of non-space bytes (the only way
    // `\S+\s+` can match), each followed by white space.
    let host_end = ends.token(line, 0)?;
    let i = ends.spaces(line, host_end)?;
    let identity_end = ends.token(line, i)?;
    let identity = &line[i..identity_end];
    let i = ends.spaces(line, identity_end)?;
    let user_end = ends.token(line, i)?;
    let user = &line[i..user_end];
    let i = ends.spaces(line, user_end)?;
    // `\[(.+?)\]\s+"`: the first `]` (after at least one byte) followed by
    // white space and a quote; earlier `]`s cannot lead to a match.
    if line.get(i) != Some(&b'[') {
        return None;
    }
    let time_start = i + 1;
    let (time_end, quote) = ends.close_before(line, time_start + 1, b']', |b| b == b'"')?;
    let request_start = quote + 1;
    // `"(.+?)"\s+`: the first closing quote that is followed by white space and
    // digits; if the rest then fails, a longer request might match: defer.
    let (request_end, status_start) =
        ends.close_before(line, request_start + 1, b'"', |b| b.is_ascii_digit())?;
    let status_len = line[status_start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let status_end = status_start + status_len;
    let bytes_start = ends.spaces(line, status_end)?;
    let bytes_end = ends.token(line, bytes_start)?;
    let request = ends
        .plain_request(request_start, request_end)
        .map(|(first, last)| Request {
            method: &line[request_start..first],
            target: &line[first + 1..last],
            protocol: &line[last + 1..request_end],
        });
    let record = AccessRecord {
        host: &line[..host_end],
        identity,
        user,
        time: &line[time_start..time_end],
        request: &line[request_start..request_end],
        status: &line[status_start..status_end],
        bytes: &line[bytes_start..bytes_end],
        referer: None,
        user_agent: None,
    };
    if bytes_end == line.len() {
        // The Common alternative (the line is already stripped of trailing space).
        // The combined one was tried first and needs more text: it cannot match.
        return Some((record, request));
    }
    // `\s+"(.*?)"\s+"(.+?)"`: the referrer ends at the first quote followed by
    // white space and a quote; the agent at the first quote after one byte.
    let i = ends.spaces(line, bytes_end)?;
    if line.get(i) != Some(&b'"') {
        return None;
    }
    let referer_start = i + 1;
    let (referer_end, quote) = ends.close_before(line, referer_start, b'"', |b| b == b'"')?;
    let agent_start = quote + 1;
    let agent_end = ends.close_from(line, agent_start + 1, b'"')?;
    let record = AccessRecord {
        referer: Some(&line[referer_start..referer_end]),
        user_agent: Some(&line[agent_start..agent_end]),
        ..record
    };
    Some((record, request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn space_from_finds_the_first_white_space_byte(
            s in prop::collection::vec(prop_oneof![Just(b' '), Just(b'\t'), Just(0x1f), 0u8..0x21, any::<u8>(), any::<u8>()], 0..40),
            i in 0usize..40,
        ) {
            let i = i.min(s.len());
            let plain = s[i..].iter().position(|&b| is_py_space(b)).map_or(s.len(), |n| i + n);
            prop_assert_eq!(space_from(&s, i), plain);
        }

        #[test]
        fn separators_find_the_fields_the_searches_find(
            pieces in prop::collection::vec(prop::sample::select(vec![
                &b"\""[..], b"]", b"[", b" ", b"  ", b"\t", b"200", b"5", b"-", b"GET /a",
                b"HTTP/1.1", b"1.2.3.4", b"17/May/2015:10:05:03 +0000", b"ua (x) y", b"\xff",
                b"x", b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
            ]), 0..60),
            skeleton in prop::sample::select(vec![
                &br#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#[..],
                b"h - - [t] \"r\" 200 5",
                b"",
            ]),
            at in 0usize..600,
        ) {
            let mut line = skeleton.to_vec();
            let at = at.min(line.len());
            line.splice(at..at, pieces.concat());
            let line = rstrip(&line);
            let mut seps = Separators::new();
            if seps.index(line) {
                let found = fields(line, &seps);
                prop_assert_eq!(found.map(|(record, _)| record), fields(line, &Searches).map(|(record, _)| record));
                if let Some((record, Some(request))) = found {
                    let mut scratch = Vec::new();
                    prop_assert_eq!(Some(request), crate::details::split_request(record.request, &mut scratch));
                }
            }
        }

        #[test]
        fn low_bytes_counts_each_byte_up_to_a_space(s in prop::collection::vec(prop_oneof![Just(b' '), Just(0u8), any::<u8>()], 0..1200)) {
            prop_assert_eq!(low_bytes(&s), s.iter().filter(|&&b| b <= b' ').count());
        }
    }

    #[test]
    fn combined_common_and_ipv6_lines() {
        let mut p = RecordParser::new();
        let r = p
            .parse(br#"::1 - bob [01/Jan/2020:00:00:00 +0100] "GET /x?y HTTP/1.0" 404 - "http://r/" "UA (X11) rest" "#)
            .unwrap();
        assert_eq!(r.host, b"::1");
        assert_eq!(r.user, b"bob");
        assert_eq!(r.status, b"404");
        assert_eq!(r.referer, Some(&b"http://r/"[..]));
        let r = p
            .parse(b"example.org - - [01/Jan/2020:00:00:00 +0100] \"GET / HTTP/1.0\" 200 12\r")
            .unwrap();
        assert_eq!(r.bytes, b"12");
        assert_eq!(r.referer, None);
        // A Common line must end after the bytes field.
        assert!(p
            .parse(b"h - - [t] \"GET / HTTP/1.0\" 200 12 trailing")
            .is_none());
    }

    #[test]
    fn edge_lines_parse_as_the_regex_parses_them() {
        let mut p = RecordParser::new();
        for line in [
            // `"(.+?)"`: an agent has at least one byte, so this one is `"x`.
            &br#"1.2.3.4 - - [t] "GET / HTTP/1.1" 200 5 "-" ""x""#[..],
            // A time has at least one byte too: `]]`.
            br#"1.2.3.4 - - []]] "GET / HTTP/1.1" 200 5"#,
            br#"1.2.3.4 - - [t] "GET / HTTP/1.1" 200 5 "" "ua""#,
        ] {
            let (record, _) = p.parse_split(line, true).unwrap();
            assert_eq!(Some(record), p.parse_with_regex(line));
        }
    }

    #[test]
    fn a_request_is_split_as_split_request_splits_it() {
        let mut p = RecordParser::new();
        for request in [
            &b"GET /a HTTP/1.1"[..],
            b" GET /a",
            b"GET /a ",
            b"GET  /a",
            b"GET",
            b"GET /a b HTTP/1.1",
        ] {
            let mut line = b"1.2.3.4 - - [t] \"".to_vec();
            line.extend_from_slice(request);
            line.extend_from_slice(b"\" 200 5 \"-\" \"ua\"");
            let (record, split) = p.parse_split(&line, true).unwrap();
            assert_eq!(record.request, request);
            let mut scratch = Vec::new();
            let words = crate::details::split_request(request, &mut scratch);
            assert!(split.is_none() || split == words, "{request:?}");
            // Two spaces side by side still split plainly: the target is empty.
            let plain = [&b"GET /a HTTP/1.1"[..], b"GET  /a"].contains(&request);
            assert_eq!(split.is_some(), plain, "{request:?}");
        }
    }

    #[test]
    fn request_is_the_shortest_that_lets_the_rest_match() {
        let mut p = RecordParser::new();
        let r = p
            .parse(br#"1.2.3.4 - - [t] "GET /a" b" HTTP/1.1" 200 1 "-" "ua""#)
            .unwrap();
        assert_eq!(r.request, br#"GET /a" b" HTTP/1.1"#);
    }
}
