//! Records -> details: time, request, URL path, referrer and user agent.
//!
//! Each function mirrors what the seed's `access_detail_iter` does in Python,
//! including where Python raises `ValueError` (which makes the seed drop the
//! record): those cases return `None` or an error here.

use std::net::Ipv6Addr;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use regex::bytes::Regex;

use crate::bytes::{find_any, same_text};
use crate::record::{is_py_space, low_bytes};

/// The seed's request split: first word the method, last word the protocol,
/// the words between joined by one space as the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// First word, e.g. `GET`.
    pub method: &'a [u8],
    /// Words between the first and the last, joined by single spaces.
    pub target: &'a [u8],
    /// Last word, e.g. `HTTP/1.1` (the method again for a one-word request).
    pub protocol: &'a [u8],
}

/// Splits a request line as `request.split()` does in the seed; `None` for an
/// empty or all-blank request (the seed's `IndexError`). `scratch` holds the
/// target when its words must be re-joined (odd spacing); otherwise nothing is
/// copied.
///
/// ```
/// use logtally_core::details::split_request;
/// let mut scratch = Vec::new();
/// let r = split_request(b"GET /a  b HTTP/1.1", &mut scratch).unwrap();
/// assert_eq!(r.target, b"/a b");
/// assert_eq!(r.protocol, b"HTTP/1.1");
/// assert!(split_request(b"  ", &mut Vec::new()).is_none());
/// ```
pub fn split_request<'a>(request: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Request<'a>> {
    match split_plain_request(request) {
        Some(request) => Some(request),
        None => split_request_words(request, scratch),
    }
}

/// `METHOD TARGET PROTOCOL` with one space between the words and no other
/// white space: what servers write, split without the general case's
/// five scans; `None` for anything else.
fn split_plain_request(request: &[u8]) -> Option<Request<'_>> {
    let first = memchr::memchr(b' ', request)?;
    let last = memchr::memrchr(b' ', request)?;
    if first == 0 || first == last || last + 1 == request.len() {
        return None;
    }
    // The two spaces are its only white space (or control) bytes.
    (low_bytes(request) == 2).then(|| Request {
        method: &request[..first],
        target: &request[first + 1..last],
        protocol: &request[last + 1..],
    })
}

/// [`split_request`] for any request: `request.split()` word by word.
fn split_request_words<'a>(request: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Request<'a>> {
    let start = request.iter().position(|&b| !is_py_space(b))?;
    let end = request.iter().rposition(|&b| !is_py_space(b))? + 1;
    let body = &request[start..end];
    let first_end = body
        .iter()
        .position(|&b| is_py_space(b))
        .unwrap_or(body.len());
    let method = &body[..first_end];
    if first_end == body.len() {
        return Some(Request {
            method,
            target: b"",
            protocol: method,
        });
    }
    let last_start = body
        .iter()
        .rposition(|&b| is_py_space(b))
        .map_or(0, |i| i + 1);
    let protocol = &body[last_start..];
    let middle = &body[first_end..last_start];
    let middle = match (
        middle.iter().position(|&b| !is_py_space(b)),
        middle.iter().rposition(|&b| !is_py_space(b)),
    ) {
        (Some(a), Some(b)) => &middle[a..=b],
        _ => b"",
    };
    // Already "words joined by one space" unless some white space is not a
    // lone ' '.
    let odd = middle.iter().enumerate().any(|(i, &b)| {
        is_py_space(b) && (b != b' ' || middle.get(i + 1).is_some_and(|&n| is_py_space(n)))
    });
    let target = if odd {
        scratch.clear();
        for word in middle.split(|&b| is_py_space(b)).filter(|w| !w.is_empty()) {
            if !scratch.is_empty() {
                scratch.push(b' ');
            }
            scratch.extend_from_slice(word);
        }
        &scratch[..]
    } else {
        middle
    };
    Some(Request {
        method,
        target,
        protocol,
    })
}

/// Parses the seed's time format `%d/%b/%Y:%H:%M:%S %z` with Python's
/// `strptime` rules (what it accepts and rejects), building the value with
/// `chrono`.
///
/// ```
/// use logtally_core::details::parse_time;
/// let t = parse_time(b"17/May/2015:10:05:03 +0000").unwrap();
/// assert_eq!(t.to_rfc3339(), "2015-05-17T10:05:03+00:00");
/// assert!(parse_time(b"31/Feb/2015:10:05:03 +0000").is_none());
/// ```
pub fn parse_time(s: &[u8]) -> Option<DateTime<FixedOffset>> {
    let (d, mon, y, hh, mm, ss, z) = match fast_time_fields(s) {
        Some(fields) => fields,
        None => slow_time_fields(s)?,
    };
    let offset = parse_offset(z)?;
    if y < 1 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y, mon, d)?;
    let naive = date.and_hms_opt(hh, mm, ss)?;
    let tz = FixedOffset::east_opt(offset)?;
    tz.from_local_datetime(&naive).single()
}

/// [`parse_time`] over a stream's times, remembering the last text and the
/// last day: consecutive records mostly share their second, or else their
/// day and zone, so that most times cost a compare or their clock's digits.
///
/// ```
/// use logtally_core::details::{parse_time, TimeCache};
/// let mut times = TimeCache::default();
/// for text in [&b"17/May/2015:10:05:03 +0000"[..], b"17/May/2015:23:59:59 +0000", b"31/Feb/2015:10:05:03 +0000"] {
///     assert_eq!(times.parse(text), parse_time(text));
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TimeCache {
    text: Vec<u8>,
    time: Option<DateTime<FixedOffset>>,
    /// A time of the usual layout (`dd/Mon/yyyy:HH:MM:SS +zzzz`) that
    /// parsed, with its date and offset.
    day: Option<([u8; 26], NaiveDate, FixedOffset)>,
}

impl TimeCache {
    /// `parse_time(text)`.
    pub fn parse(&mut self, text: &[u8]) -> Option<DateTime<FixedOffset>> {
        if !same_text(&self.text, text) {
            self.time = self.parse_new(text);
            self.text.clear();
            self.text.extend_from_slice(text);
        }
        self.time
    }

    fn parse_new(&mut self, s: &[u8]) -> Option<DateTime<FixedOffset>> {
        if let Some((day, date, offset)) = &self.day {
            // The same day and zone (which passed `fast_time_fields`): the
            // same steps as `parse_time`, on the new clock only.
            if s.len() == 26 && s[..11] == day[..11] && s[20..] == day[20..] {
                if let Some((h, m, sec)) = fast_clock(s) {
                    let naive = date.and_hms_opt(h, m, sec)?;
                    return offset.from_local_datetime(&naive).single();
                }
            }
        }
        let time = parse_time(s);
        if let (Some(time), Ok(day)) = (time, <[u8; 26]>::try_from(s)) {
            if fast_time_fields(s).is_some() {
                self.day = Some((day, time.naive_local().date(), *time.offset()));
            }
        }
        time
    }
}

type TimeFields<'a> = (u32, u32, i32, u32, u32, u32, &'a [u8]);

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

fn month_number(m: &[u8]) -> Option<u32> {
    let lower = [
        m.first()?.to_ascii_lowercase(),
        m.get(1)?.to_ascii_lowercase(),
        m.get(2)?.to_ascii_lowercase(),
    ];
    MONTHS
        .iter()
        .position(|name| **name == lower)
        .map(|i| i as u32 + 1)
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
}

/// The layout every server writes: `dd/Mon/yyyy:HH:MM:SS +zzzz`.
fn fast_time_fields(s: &[u8]) -> Option<TimeFields<'_>> {
    if s.len() != 26 || s[2] != b'/' || s[6] != b'/' || s[20] != b' ' {
        return None;
    }
    if !matches!(s[21], b'+' | b'-') {
        return None;
    }
    let d = digits(&s[0..2])?;
    // The clock's colons are checked there.
    let (h, m, sec) = fast_clock(s)?;
    // Python's %d is 01-31 here; out-of-range values go to the slow path to be judged.
    if !(1..=31).contains(&d) {
        return None;
    }
    let month = month_number(&s[3..6])?;
    let year = digits(&s[7..11])? as i32;
    Some((d, month, year, h, m, sec, &s[21..]))
}

/// `HH:MM:SS` of the usual layout (`s` is 26 bytes long), where in range
/// for the fast path; out-of-range values go to the slow path to be judged.
fn fast_clock(s: &[u8]) -> Option<(u32, u32, u32)> {
    if s[11] != b':' || s[14] != b':' || s[17] != b':' {
        return None;
    }
    let h = digits(&s[12..14])?;
    let m = digits(&s[15..17])?;
    let sec = digits(&s[18..20])?;
    (h <= 23 && m <= 59 && sec <= 61).then_some((h, m, sec))
}

/// The regular expression `_strptime` builds for the seed's format (IGNORECASE).
fn slow_time_fields(s: &[u8]) -> Option<TimeFields<'_>> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        Regex::new(concat!(
            r"(?i-u)\A(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])/",
            r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)/([0-9]{4}):",
            r"(2[0-3]|[0-1][0-9]|[0-9]):([0-5][0-9]|[0-9]):(6[0-1]|[0-5][0-9]|[0-9])",
            r"[\t\n\x0B\x0C\r\x1C-\x1F ]+",
            r"([+-][0-9][0-9]:?[0-5][0-9](?::?[0-5][0-9](?:\.[0-9]{1,6})?)?|(?-i:Z))\z"
        ))
        .expect("the strptime pattern compiles")
    });
    let c = re.captures(s)?;
    let num = |i: usize| digits(c.get(i)?.as_bytes().trim_ascii_start());
    Some((
        num(1)?,
        month_number(c.get(2)?.as_bytes())?,
        num(3)? as i32,
        num(4)?,
        num(5)?,
        num(6)?,
        c.get(7)?.as_bytes(),
    ))
}

/// `%z` as `_strptime` converts it: `Z`, `±hhmm`, `±hh:mm`, `±hhmmss[.f]`,
/// `±hh:mm:ss[.f]`; Python rejects offsets of a day or more.
fn parse_offset(z: &[u8]) -> Option<i32> {
    if z == b"Z" {
        return Some(0);
    }
    let sign = match z.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut z = z.to_vec();
    if z.get(3) == Some(&b':') {
        z.remove(3);
        if z.len() > 5 {
            if z[5] != b':' {
                return None;
            }
            z.remove(5);
        }
    }
    let hours = digits(z.get(1..3)?)?;
    let minutes = digits(z.get(3..5)?)?;
    let seconds = match z.get(5..7.min(z.len())) {
        Some(s) if !s.is_empty() => digits(s)?,
        _ => 0,
    };
    let total = hours * 3600 + minutes * 60 + seconds;
    // timezone() takes offsets strictly inside one day; a fraction (`.f`) cannot
    // carry 86399 s over it, so it only needs to be well formed, which the pattern ensures.
    if total >= 86_400 {
        return None;
    }
    Some(sign * total as i32)
}

/// Why Python's `urlparse` raised `ValueError` on a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// A `[` without `]` in the network location, or the reverse.
    #[error("invalid IPv6 URL")]
    UnbalancedBrackets,
    /// The bracketed host is neither an IPv6 address nor `vHEX.anything`.
    #[error("invalid bracketed host")]
    BadBracketedHost,
}

/// `urllib.parse.urlparse(url).path` of the seed, on bytes.
///
/// `scratch` holds the URL when tabs or line breaks must be removed from it
/// (as Python does); the result borrows from `url` or `scratch`.
///
/// ```
/// use logtally_core::details::url_path;
/// let mut scratch = Vec::new();
/// assert_eq!(url_path(b"/a/b;p?q#f", &mut scratch).unwrap(), b"/a/b");
/// assert_eq!(url_path(b"http://h:80/x?y", &mut scratch).unwrap(), b"/x");
/// assert!(url_path(b"http://[::1/x", &mut scratch).is_err());
/// ```
pub fn url_path<'a>(url: &'a [u8], scratch: &'a mut Vec<u8>) -> Result<&'a [u8], UrlError> {
    // Nearly every request target is "/path[?query][#fragment]": no scheme
    // (it cannot start with '/'), no network location, nothing to strip.
    // Python strips tabs and line breaks from the whole URL first; one after
    // the first `?` or `#` cannot change the path.
    if url.first() == Some(&b'/') && url.get(1) != Some(&b'/') {
        // One search finds the end of the path, or a `;` before it.
        let (path, params) = match find_any(url, 0, [b'?', b'#', b';']) {
            Some(at) if url[at] == b';' => {
                let end = memchr::memchr2(b'?', b'#', &url[at..]).map_or(url.len(), |i| at + i);
                (&url[..end], true)
            }
            Some(at) => (&url[..at], false),
            None => (url, false),
        };
        // No tab or line break (no control byte at all, for a quick look).
        if low_bytes(path) == 0 || !path.iter().any(|&b| matches!(b, b'\t' | b'\r' | b'\n')) {
            return Ok(if params { split_params(path) } else { path });
        }
    }
    url_path_general(url, scratch)
}

/// [`url_path`] for any URL: `urlparse` step by step.
fn url_path_general<'a>(url: &'a [u8], scratch: &'a mut Vec<u8>) -> Result<&'a [u8], UrlError> {
    let start = url.iter().position(|&b| b > b' ').unwrap_or(url.len());
    let mut s = &url[start..];
    if s.iter().any(|&b| matches!(b, b'\t' | b'\r' | b'\n')) {
        scratch.clear();
        scratch.extend(s.iter().filter(|&&b| !matches!(b, b'\t' | b'\r' | b'\n')));
        s = scratch;
    }
    let mut scheme: &[u8] = b"";
    if let Some(i) = memchr::memchr(b':', s) {
        let is_scheme_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
        if i > 0 && s[0].is_ascii_alphabetic() && s[..i].iter().all(is_scheme_char) {
            scheme = &s[..i];
            s = &s[i + 1..];
        }
    }
    if s.starts_with(b"//") {
        let rest = &s[2..];
        let end = rest
            .iter()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        check_netloc(&rest[..end])?;
        s = &rest[end..];
    }
    if let Some(i) = memchr::memchr(b'#', s) {
        s = &s[..i];
    }
    if let Some(i) = memchr::memchr(b'?', s) {
        s = &s[..i];
    }
    if uses_params(scheme) {
        s = split_params(s);
    }
    Ok(s)
}

/// `_splitparams`: a `;` in the last segment starts the params, which are cut.
fn split_params(s: &[u8]) -> &[u8] {
    let Some(i) = memchr::memchr(b';', s) else {
        return s;
    };
    match memchr::memrchr(b'/', s) {
        Some(slash) => match memchr::memchr(b';', &s[slash..]) {
            Some(j) => &s[..slash + j],
            None => s,
        },
        None => &s[..i],
    }
}

/// Whether Python's `urlparse` accepts `url` (the seed parses the referrer
/// and drops the record when it raises). Only brackets can make it raise.
///
/// ```
/// use logtally_core::details::check_url;
/// let mut scratch = Vec::new();
/// assert!(check_url(b"https://example.org/x", &mut scratch).is_ok());
/// assert!(check_url(b"http://[::1/", &mut scratch).is_err());
/// ```
pub fn check_url(url: &[u8], scratch: &mut Vec<u8>) -> Result<(), UrlError> {
    if memchr::memchr2(b'[', b']', url).is_none() {
        return Ok(());
    }
    url_path(url, scratch).map(drop)
}

fn uses_params(scheme: &[u8]) -> bool {
    const USES_PARAMS: [&[u8]; 16] = [
        b"",
        b"ftp",
        b"hdl",
        b"prospero",
        b"http",
        b"imap",
        b"https",
        b"shttp",
        b"rtsp",
        b"rtsps",
        b"rtspu",
        b"sip",
        b"sips",
        b"mms",
        b"sftp",
        b"tel",
    ];
    USES_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(scheme))
}

/// The bracket checks of Python 3.11's `urlsplit`.
fn check_netloc(netloc: &[u8]) -> Result<(), UrlError> {
    let open = memchr::memchr(b'[', netloc);
    let close = memchr::memchr(b']', netloc);
    match (open, close) {
        (None, None) => Ok(()),
        (Some(_), None) | (None, Some(_)) => Err(UrlError::UnbalancedBrackets),
        (Some(o), Some(_)) => {
            let after = &netloc[o + 1..];
            let host = &after[..memchr::memchr(b']', after).unwrap_or(after.len())];
            if bracketed_host_ok(host) {
                Ok(())
            } else {
                Err(UrlError::BadBracketedHost)
            }
        }
    }
}

fn bracketed_host_ok(host: &[u8]) -> bool {
    if let Some(rest) = host.strip_prefix(b"v") {
        // \Av[a-fA-F0-9]+\..+\Z
        let hex = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        return hex > 0 && rest.get(hex) == Some(&b'.') && rest.len() > hex + 1;
    }
    let Ok(text) = std::str::from_utf8(host) else {
        return false;
    };
    // ipaddress.ip_address: IPv6 with an optional, non-empty `%scope`.
    let addr = match text.split_once('%') {
        Some((_, scope)) if scope.is_empty() || scope.contains('%') => return false,
        Some((addr, _)) => addr,
        None => text,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

/// A user agent split as the seed's `agent_pat` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent<'a> {
    /// The product token before the first parenthesis, e.g. `Mozilla/5.0`.
    pub product: &'a [u8],
    /// The text inside the first parentheses.
    pub system: &'a [u8],
    /// Everything after them.
    pub platform_details_extensions: &'a [u8],
}

/// Splits a user agent with the seed's pattern; `None` where it does not match.
///
/// ```
/// use logtally_core::details::parse_agent;
/// let a = parse_agent(b"Mozilla/5.0 (X11; Linux) Gecko/1").unwrap();
/// assert_eq!(a.product, b"Mozilla/5.0");
/// assert_eq!(a.system, b"X11; Linux");
/// assert!(parse_agent(b"curl/8.0").is_none());
/// ```
pub fn parse_agent(agent: &[u8]) -> Option<Agent<'_>> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        Regex::new(concat!(
            r"(?s-u)\A(?P<product>[^\t\n\x0B\x0C\r\x1C-\x1F ]*?)[\t\n\x0B\x0C\r\x1C-\x1F ]+",
            r"\((?P<system>.*?)\)[\t\n\x0B\x0C\r\x1C-\x1F ]*(?P<rest>.*)"
        ))
        .expect("the agent pattern compiles")
    });
    let c = re.captures(agent)?;
    Some(Agent {
        product: c.name("product")?.as_bytes(),
        system: c.name("system")?.as_bytes(),
        platform_details_extensions: c.name("rest")?.as_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_follows_strptime() {
        assert!(parse_time(b"1/may/2015:1:2:3 +01:00").is_some());
        assert!(parse_time(b" 1/May/2015:10:05:03 +0000").is_some());
        assert!(parse_time(b"17/May/2015:10:05:60 +0000").is_none());
        assert!(parse_time(b"17/May/2015:10:05:03 +2400").is_none());
        assert!(parse_time(b"17/May/2015:10:05:03 +2359").is_some());
        assert!(parse_time(b"17/May/2015:10:05:03 Z").is_some());
        assert!(parse_time(b"17/May/2015:10:05:03 z").is_none());
        assert!(parse_time(b"17/May/0000:10:05:03 +0000").is_none());
        assert!(parse_time(b"17/May/2015:10:05:03 +0000 ").is_none());
        assert!(parse_time(b"17/May/2015:10:05:03  +0000").is_some());
        assert!(parse_time(b"17/May/2015:10:05:03+0000").is_none());
        assert!(parse_time(b"17/May/2015:10:05:03 +01:0030").is_none());
        let t = parse_time(b"17/May/2015:10:05:03 -0130").unwrap();
        assert_eq!(t.offset().local_minus_utc(), -5400);
    }

    #[test]
    fn url_path_follows_urlparse() {
        let mut s = Vec::new();
        let mut p = |u: &[u8]| url_path(u, &mut s).map(|p| p.to_vec());
        assert_eq!(p(b"").unwrap(), b"");
        assert_eq!(p(b"  /a\t/b").unwrap(), b"/a/b");
        assert_eq!(p(b"//host/path").unwrap(), b"/path");
        assert_eq!(p(b"/a;x/b;y").unwrap(), b"/a;x/b");
        assert_eq!(p(b"mailto:x;y").unwrap(), b"x;y");
        assert_eq!(p(b"a;b").unwrap(), b"a");
        assert_eq!(p(b"1http://x/y").unwrap(), b"1http://x/y");
        assert_eq!(p(b"http://[::1]:80/y").unwrap(), b"/y");
        assert_eq!(p(b"http://[vA.x]/y").unwrap(), b"/y");
        assert_eq!(p(b"http://[1.2.3.4]/y"), Err(UrlError::BadBracketedHost));
        assert_eq!(p(b"http://x]/y"), Err(UrlError::UnbalancedBrackets));
        // A bracket after the network location is harmless.
        assert_eq!(p(b"/a[b").unwrap(), b"/a[b");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// The fast paths answer as the general code: requests and URLs
        /// from bytes that make their choices (white space, separators).
        #[test]
        fn fast_paths_agree_with_the_general_code(
            text in proptest::collection::vec(proptest::sample::select(
                b" \t\r\n\x0b\x1c\x00/?#;:[]aG1.".to_vec()), 0..24),
        ) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            proptest::prop_assert_eq!(
                split_request(&text, &mut a),
                split_request_words(&text, &mut b)
            );
            proptest::prop_assert_eq!(
                url_path(&text, &mut a).map(<[u8]>::to_vec),
                url_path_general(&text, &mut b).map(<[u8]>::to_vec)
            );
            let mut slash = b"/".to_vec();
            slash.extend_from_slice(&text);
            proptest::prop_assert_eq!(
                url_path(&slash, &mut a).map(<[u8]>::to_vec),
                url_path_general(&slash, &mut b).map(<[u8]>::to_vec)
            );
        }

        /// Times parsed through the cache equal `parse_time` of each, in
        /// any order: days, zones and clocks changing or not.
        #[test]
        fn cached_times_equal_parse_time(
            times in proptest::collection::vec((
                proptest::sample::select(vec!["17/May/2015", "31/Feb/2015", "01/jan/2016", "1/May/2015"]),
                proptest::sample::select(vec!["10:05:03", "23:59:60", "00:00:61", "24:00:00", "09:5:07", "10:05:0x"]),
                proptest::sample::select(vec![" +0000", " -0130", " +2400", "  +0000", " Z", " +01:00"]),
            ), 1..12),
        ) {
            let mut cache = TimeCache::default();
            for (day, clock, zone) in times {
                let text = format!("{day}:{clock}{zone}");
                proptest::prop_assert_eq!(cache.parse(text.as_bytes()), parse_time(text.as_bytes()), "{}", text);
            }
        }
    }

    #[test]
    fn request_words() {
        let mut s = Vec::new();
        let r = split_request(b"GET", &mut s).unwrap();
        assert_eq!(
            (r.method, r.target, r.protocol),
            (&b"GET"[..], &b""[..], &b"GET"[..])
        );
        let r = split_request(b"GET /x", &mut s).unwrap();
        assert_eq!(r.target, b"");
        assert_eq!(r.protocol, b"/x");
        let r = split_request(b" GET\x1c/a  b   c HTTP/1.0 ", &mut s).unwrap();
        assert_eq!(r.target, b"/a b c");
        let r = split_request(b"GET /a b HTTP/1.0", &mut s).unwrap();
        assert_eq!(r.target, b"/a b");
        let r = split_request(b"GET  /a\tb  HTTP/1.0", &mut s).unwrap();
        assert_eq!(r.target, b"/a b");
    }
}
