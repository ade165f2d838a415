//! The record-to-keys step: one [`Record`] view of a line, whatever its
//! format, and the key it has in each panel ([`GroupBy`]).

use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Timelike};

use crate::analyze::GroupBy;
use crate::bytes::same_bytes;
use crate::details::parse_agent;
use crate::filter::PathFilter;
use crate::index::KeptField;

/// One record, whatever its format: the fields the keys and filters use.
pub(crate) struct Record<'a> {
    pub host: Cow<'a, [u8]>,
    pub status: Cow<'a, [u8]>,
    pub method: Cow<'a, [u8]>,
    pub path: &'a [u8],
    pub protocol: Cow<'a, [u8]>,
    pub time: Option<DateTime<FixedOffset>>,
    pub referer: Option<Cow<'a, [u8]>>,
    pub user_agent: Option<Cow<'a, [u8]>>,
    pub vhost: Option<Cow<'a, [u8]>>,
    /// The response size.
    pub bytes: Size<'a>,
    /// The time the server took, in seconds, where the format has it (finite, not negative).
    pub seconds: Option<f64>,
}

/// A response size: as the line writes it (parsed only when it is used),
/// or already a number (a record kept in the index).
pub(crate) enum Size<'a> {
    /// The field as written (`-`: none).
    Written(Cow<'a, [u8]>),
    /// Bytes sent.
    Sent(u64),
}

impl Record<'_> {
    /// The response size in bytes (`-` and junk: 0).
    pub fn bytes_sent(&self) -> u64 {
        match &self.bytes {
            Size::Written(text) => decimal(text).unwrap_or(0),
            Size::Sent(n) => *n,
        }
    }

    /// The status code as a number, when it is one.
    pub fn status_code(&self) -> Option<u16> {
        u16::try_from(decimal(&self.status)?).ok()
    }

    /// The user agent, `b""` when there is none.
    pub fn agent(&self) -> &[u8] {
        self.user_agent.as_deref().unwrap_or(b"")
    }

    /// The visitor as GoAccess defines one: same client host, same day (in
    /// the log's time zone), same user agent. Hashed with a fixed seed so
    /// that ids from other processes and machines merge.
    pub fn visitor(&self) -> u64 {
        let mut h = VISITOR_HASH.build_hasher();
        self.host.as_ref().hash(&mut h);
        self.time.map(|t| t.date_naive()).hash(&mut h);
        self.agent().hash(&mut h);
        h.finish()
    }
}

/// `text` as a decimal number, exactly where `str::parse::<u64>` gives one
/// (digits after an optional `+`, no overflow), without its UTF-8 check and
/// generic parsing: every record asks for its status and size.
pub(crate) fn decimal(text: &[u8]) -> Option<u64> {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit < 10).then_some(())?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The visitor hash: fixed, so that every process hashes alike.
const VISITOR_HASH: foldhash::quality::FixedState =
    foldhash::quality::FixedState::with_seed(0x6c6f_6774_616c_6c79);

/// What the keys of one analyzer remember between records: formatted times
/// and parsed user agents repeat from line to line.
#[derive(Clone, Default)]
pub(crate) struct KeyCache {
    /// The minute last formatted and its hour and day keys.
    minute: Option<(NaiveDateTime, Vec<u8>, Vec<u8>)>,
    /// Per user agent, the index of its browser and OS in `names` (bounded:
    /// cleared when full).
    agents: foldhash::HashMap<Vec<u8>, usize>,
    /// The browsers and OSes found, (browser, OS) each.
    names: Vec<(String, String)>,
    /// The last user agent asked for and the index of its browser and OS
    /// (the buffer is reused: no allocation per record).
    last_agent: (Vec<u8>, Option<usize>),
}

/// What several panels ask of one record, each found at the first question:
/// whether the book's path filter drops its path (path, static), and its
/// agent's browser and OS (browser, OS: the agent compared once, not twice).
pub(crate) struct RecordFacts<'f> {
    filter: Option<&'f PathFilter>,
    dropped: Option<bool>,
    /// The index of the agent's browser and OS in the [`KeyCache`].
    agent: Option<usize>,
}

impl<'f> RecordFacts<'f> {
    /// Not yet asked: `filter` runs at the first question.
    pub fn new(filter: Option<&'f PathFilter>) -> Self {
        RecordFacts {
            filter,
            dropped: None,
            agent: None,
        }
    }

    /// A record whose path is known to pass the filter.
    pub fn kept() -> Self {
        RecordFacts {
            filter: None,
            dropped: Some(false),
            agent: None,
        }
    }

    fn dropped(&mut self, path: &[u8]) -> bool {
        let filter = self.filter;
        *self
            .dropped
            .get_or_insert_with(|| filter.is_some_and(|f| !f.accepts(path)))
    }
}

/// User agents remembered before the cache starts afresh.
const AGENT_CACHE: usize = 4096;

impl KeyCache {
    fn times(&mut self, time: DateTime<FixedOffset>) -> (&[u8], &[u8]) {
        let local = time.naive_local();
        let minute = local
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(local);
        if self.minute.as_ref().is_none_or(|m| m.0 != minute) {
            let hour = local.format("%Y-%m-%d %H:00").to_string().into_bytes();
            let day = local.format("%Y-%m-%d").to_string().into_bytes();
            self.minute = Some((minute, hour, day));
        }
        let (_, hour, day) = self.minute.as_ref().expect("set above");
        (hour, day)
    }

    /// The index of `agent`'s browser and OS in `names`.
    fn agent(&mut self, agent: &[u8]) -> usize {
        // The browser and OS panels ask in turn, and a visitor's requests
        // follow each other: the last agent first, then the cache.
        let known = match self.last_agent {
            (ref last, Some(at)) if same_bytes(last, agent) => at,
            _ => {
                let at = match self.agents.get(agent) {
                    Some(&at) => at,
                    None => {
                        if self.agents.len() >= AGENT_CACHE {
                            self.agents.clear();
                            self.names.clear();
                        }
                        let text = String::from_utf8_lossy(agent);
                        let parsed = woothee::parser::Parser::new()
                            .parse(&text)
                            .map(|r| (r.name.to_string(), r.os.to_string()))
                            .unwrap_or_else(|| ("UNKNOWN".to_string(), "UNKNOWN".to_string()));
                        self.names.push(parsed);
                        self.agents.insert(agent.to_vec(), self.names.len() - 1);
                        self.names.len() - 1
                    }
                };
                self.last_agent.0.clear();
                self.last_agent.0.extend_from_slice(agent);
                self.last_agent.1 = Some(at);
                at
            }
        };
        known
    }
}

/// Whether a record with this status is in the not-found panel (its path
/// is its key there, when it has one).
pub(crate) fn is_not_found(status: &[u8]) -> bool {
    status == b"404"
}

/// The record's key in panel `by`; `None` when the record is not in it (a
/// path the filter drops is not in `path` but in `static`; only 404s are in
/// `not-found`). `facts` are what other panels of the record found (whether
/// the book's filter of uninteresting paths drops its path...).
///
/// The key borrows from the line where it can (no copy per record).
pub(crate) fn panel_key<'x, 'r: 'x, 'c: 'x>(
    record: &Record<'r>,
    by: GroupBy,
    facts: &mut RecordFacts<'_>,
    cache: &'c mut KeyCache,
) -> Option<Cow<'x, [u8]>> {
    let dash = || Some(Cow::Borrowed(&b"-"[..]));
    let path = || Some(Cow::Borrowed(record.path));
    let mut dropped = || facts.dropped(record.path);
    match by {
        GroupBy::Path => (!dropped()).then_some(Cow::Borrowed(record.path)),
        GroupBy::Static => (!record.path.is_empty() && dropped()).then(path).flatten(),
        GroupBy::NotFound => (!record.path.is_empty() && is_not_found(&record.status))
            .then(path)
            .flatten(),
        GroupBy::Status => Some(reborrow(&record.status)),
        GroupBy::Method => Some(reborrow(&record.method)),
        GroupBy::Protocol => Some(reborrow(&record.protocol)),
        GroupBy::Host => Some(reborrow(&record.host)),
        GroupBy::Hour | GroupBy::Day => match record.time {
            Some(time) => {
                let (hour, day) = cache.times(time);
                Some(Cow::Borrowed(if by == GroupBy::Hour { hour } else { day }))
            }
            None => dash(),
        },
        GroupBy::ReferrerHost => Some(match &record.referer {
            Some(Cow::Borrowed(referer)) => referrer_host(Some(referer)),
            Some(Cow::Owned(referer)) => Cow::Owned(referrer_host(Some(referer)).into_owned()),
            None => referrer_host(None),
        }),
        GroupBy::AgentProduct => match &record.user_agent {
            Some(Cow::Borrowed(agent)) => {
                parse_agent(agent).map_or_else(dash, |a| Some(Cow::Borrowed(a.product)))
            }
            Some(Cow::Owned(agent)) => {
                parse_agent(agent).map_or_else(dash, |a| Some(Cow::Owned(a.product.to_vec())))
            }
            None => dash(),
        },
        GroupBy::Browser | GroupBy::Os => {
            let at = match facts.agent {
                Some(at) => at,
                None => *facts.agent.insert(cache.agent(record.agent())),
            };
            let (browser, os) = &cache.names[at];
            Some(Cow::Borrowed(
                if by == GroupBy::Browser { browser } else { os }.as_bytes(),
            ))
        }
        GroupBy::Vhost => match &record.vhost {
            Some(v) if !v.is_empty() => Some(reborrow(v)),
            _ => dash(),
        },
    }
}

/// The one field of a record that [`panel_key`]'s key for `by` depends on,
/// where it depends on one alone (with the run's options): counting kept
/// records again, a value's key is then found once per shard, not per record.
pub(crate) fn key_field(by: GroupBy) -> Option<KeptField> {
    match by {
        GroupBy::Path | GroupBy::Static => Some(KeptField::Path),
        GroupBy::Status => Some(KeptField::Status),
        GroupBy::Method => Some(KeptField::Method),
        GroupBy::Protocol => Some(KeptField::Protocol),
        GroupBy::Host => Some(KeptField::Host),
        GroupBy::ReferrerHost => Some(KeptField::Referrer),
        GroupBy::AgentProduct | GroupBy::Browser | GroupBy::Os => Some(KeptField::Agent),
        GroupBy::Vhost => Some(KeptField::Vhost),
        // The path and the status; the time.
        GroupBy::NotFound | GroupBy::Hour | GroupBy::Day => None,
    }
}

/// The same bytes for the line's lifetime: borrowed again, or copied when owned.
fn reborrow<'r>(field: &Cow<'r, [u8]>) -> Cow<'r, [u8]> {
    match field {
        Cow::Borrowed(bytes) => Cow::Borrowed(bytes),
        Cow::Owned(bytes) => Cow::Owned(bytes.clone()),
    }
}

/// The referrer's host as Python's `urlsplit` finds its network location:
/// after `scheme://` (or a leading `//`), up to `/`, `?` or `#`, without
/// user info and port, lower-cased; `-` when there is none. The written text
/// is kept (`http://\xe4.ru/` has the host `\xe4.ru`, not the WHATWG `xe4`).
fn referrer_host(referer: Option<&[u8]>) -> Cow<'_, [u8]> {
    let dash = Cow::Borrowed(&b"-"[..]);
    let Some(r) = referer else {
        return dash;
    };
    // memchr's searches: a referrer is read on every record of a report.
    let after_scheme = match memchr::memchr(b':', r) {
        Some(i)
            if i > 0
                && r[0].is_ascii_alphabetic()
                && r[..i]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            &r[i + 1..]
        }
        _ => r,
    };
    let Some(rest) = after_scheme.strip_prefix(b"//") else {
        return dash;
    };
    let end = memchr::memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len());
    let netloc = &rest[..end];
    let host = match memchr::memrchr(b'@', netloc) {
        Some(at) => &netloc[at + 1..],
        None => netloc,
    };
    let host = if host.first() == Some(&b'[') {
        match memchr::memchr(b']', host) {
            Some(close) => &host[..=close],
            None => host,
        }
    } else {
        &host[..memchr::memchr(b':', host).unwrap_or(host.len())]
    };
    if host.is_empty() {
        return dash;
    }
    // Mostly lower case already: borrowed then.
    if host.iter().any(|b| !b.is_ascii() || b.is_ascii_uppercase()) {
        Cow::Owned(String::from_utf8_lossy(host).to_lowercase().into_bytes())
    } else {
        Cow::Borrowed(host)
    }
}

#[cfg(test)]
mod tests {
    use super::{decimal, referrer_host};
    use proptest::prelude::*;

    fn parsed(text: &[u8]) -> Option<u64> {
        std::str::from_utf8(text).ok()?.parse().ok()
    }

    #[test]
    fn decimals_are_what_str_parse_gives() {
        for text in [
            &b""[..],
            b"+",
            b"-",
            b"+7",
            b"-7",
            b"++7",
            b"007",
            b" 7",
            b"7 ",
            b"18446744073709551615",
            b"18446744073709551616",
            b"99999999999999999999",
            "\u{663}".as_bytes(),
            b"\xff7",
        ] {
            assert_eq!(
                decimal(text),
                parsed(text),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    proptest! {
        #[test]
        fn any_bytes_parse_as_str_parse_does(
            text in prop::collection::vec(prop::sample::select(b"+-0123456789 a\xff".to_vec()), 0..24)
        ) {
            prop_assert_eq!(decimal(&text), parsed(&text));
        }
    }

    #[test]
    fn referrer_hosts_are_found_as_urlsplit_finds_them() {
        for (referrer, host) in [
            (&b"https://User@Example.com:8080/a?b#c"[..], "example.com"),
            (b"http://[::1]:80/x", "[::1]"),
            (b"//cdn.example.org/lib.js", "cdn.example.org"),
            (b"http://\\xe4\\xe5.ru/", "\\xe4\\xe5.ru"),
            (b"android-app://com.google.app/", "com.google.app"),
            (b"-", "-"),
            (b"not a url", "-"),
            (b"http:///path", "-"),
            (b"1http://x.org/", "-"),
        ] {
            assert_eq!(
                referrer_host(Some(referrer)),
                host.as_bytes(),
                "{}",
                String::from_utf8_lossy(referrer)
            );
        }
        assert_eq!(referrer_host(None), &b"-"[..]);
    }
}
