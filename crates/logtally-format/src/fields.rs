//! What a parsed line yields: [`Parsed`], [`Fields`] and [`TimeText`].

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// The outcome of matching one line against a format.
///
/// ```
/// use logtally_format::{LogFormat, Parsed};
/// let mut p = LogFormat::preset("w3c").unwrap().parser();
/// assert!(matches!(p.parse(b"#Version: 1.0"), Parsed::Directive));
/// assert!(matches!(p.parse(b"not a w3c line"), Parsed::NoMatch(_)));
/// ```
// `Record` is large, but a `Parsed` is returned once per line and not stored:
// boxing it would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<'a> {
    /// A request record.
    Record(Fields<'a>),
    /// A directive or comment line of the format (W3C/CloudFront `#Version`, `#Fields`): not a request.
    Directive,
    /// The line does not fit the format (reason for a person to read).
    NoMatch(&'static str),
}

impl<'a> Parsed<'a> {
    /// The record's fields, if the line was a record.
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// let mut p = LogFormat::preset("common").unwrap().parser();
    /// let line = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326"#;
    /// assert_eq!(p.parse(line).record().unwrap().status.as_deref(), Some(&b"200"[..]));
    /// ```
    pub fn record(self) -> Option<Fields<'a>> {
        match self {
            Parsed::Record(f) => Some(f),
            _ => None,
        }
    }
}

/// Fields of one record; absent ones are `None`.
///
/// Byte slices borrow from the line when they need no unescaping, else from the
/// parser's scratch buffer.
///
/// ```
/// use logtally_format::LogFormat;
/// let mut p = LogFormat::nginx("$remote_addr [$time_local] \"$request\" $status $request_time")
///     .unwrap()
///     .parser();
/// let f = p
///     .parse(br#"10.0.0.1 [12/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 0.250"#)
///     .record()
///     .unwrap();
/// assert_eq!(f.host.as_deref(), Some(&b"10.0.0.1"[..]));
/// assert_eq!(f.request_time, Some(0.25));
/// assert!(f.user_agent.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields<'a> {
    /// Client address.
    pub host: Option<Cow<'a, [u8]>>,
    /// RFC 1413 identity (`%l`), usually `-`.
    pub identity: Option<Cow<'a, [u8]>>,
    /// Authenticated user.
    pub user: Option<Cow<'a, [u8]>>,
    /// Request time, as written.
    pub time: Option<TimeText<'a>>,
    /// The full request line `GET /x HTTP/1.1`, where the format has it.
    pub request: Option<Cow<'a, [u8]>>,
    /// The method, where the format has it as a separate field.
    pub method: Option<Cow<'a, [u8]>>,
    /// URL path, plus `?query` where the format has the query.
    pub target: Option<Cow<'a, [u8]>>,
    /// Protocol, e.g. `HTTP/1.1`.
    pub protocol: Option<Cow<'a, [u8]>>,
    /// Status code.
    pub status: Option<Cow<'a, [u8]>>,
    /// Response size (`-` or digits).
    pub bytes: Option<Cow<'a, [u8]>>,
    /// `Referer` request header.
    pub referer: Option<Cow<'a, [u8]>>,
    /// `User-Agent` request header.
    pub user_agent: Option<Cow<'a, [u8]>>,
    /// Virtual host / server name / bucket.
    pub vhost: Option<Cow<'a, [u8]>>,
    /// Server port.
    pub port: Option<Cow<'a, [u8]>>,
    /// Request processing time in seconds.
    pub request_time: Option<f64>,
    /// Upstream response time in seconds (first value if a list).
    pub upstream_time: Option<f64>,
    /// `X-Forwarded-For` request header.
    pub forwarded_for: Option<Cow<'a, [u8]>>,
    /// TLS protocol, e.g. `TLSv1.3`.
    pub tls: Option<Cow<'a, [u8]>>,
    /// Other named request headers (`%{X}i`, `$http_x`, W3C `cs(X)`).
    pub headers: Vec<(Cow<'a, str>, Cow<'a, [u8]>)>,
}

/// A timestamp as the log wrote it.
///
/// ```
/// use logtally_format::TimeText;
/// let t = TimeText::Clf(b"10/Oct/2000:13:55:36 -0700");
/// assert_eq!(t.to_datetime().unwrap().to_rfc3339(), "2000-10-10T13:55:36-07:00");
/// let t = TimeText::EpochSeconds(b"1568294558.5"[..].into());
/// assert_eq!(t.to_datetime().unwrap().to_rfc3339(), "2019-09-12T13:22:38.500+00:00");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum TimeText<'a> {
    /// `10/Oct/2000:13:55:36 -0700`.
    Clf(&'a [u8]),
    /// `2019-09-12T13:22:38.123456Z`, `...+02:00`.
    Iso8601(Cow<'a, [u8]>),
    /// `1568294558.123` (nginx `$msec`, Caddy `ts`).
    EpochSeconds(Cow<'a, [u8]>),
    /// W3C `date` and `time` fields (UTC).
    W3c {
        /// `2019-09-12`.
        date: &'a [u8],
        /// `13:22:38`.
        time: &'a [u8],
    },
}

impl TimeText<'_> {
    /// The timestamp as a date-time with its offset (UTC where the log has none).
    pub fn to_datetime(&self) -> Option<DateTime<FixedOffset>> {
        match self {
            TimeText::Clf(s) => {
                DateTime::parse_from_str(std::str::from_utf8(s).ok()?, "%d/%b/%Y:%H:%M:%S %z").ok()
            }
            TimeText::Iso8601(s) => parse_iso(std::str::from_utf8(s).ok()?),
            TimeText::EpochSeconds(s) => parse_epoch(std::str::from_utf8(s).ok()?),
            TimeText::W3c { date, time } => {
                let d =
                    NaiveDate::parse_from_str(std::str::from_utf8(date).ok()?, "%Y-%m-%d").ok()?;
                let t = NaiveTime::parse_from_str(std::str::from_utf8(time).ok()?, "%H:%M:%S%.f")
                    .ok()?;
                Some(d.and_time(t).and_utc().fixed_offset())
            }
        }
    }
}

fn parse_iso(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().fixed_offset());
        }
    }
    None
}

fn parse_epoch(s: &str) -> Option<DateTime<FixedOffset>> {
    let (secs, frac) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos: u32 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    Some(DateTime::from_timestamp(secs, nanos)?.fixed_offset())
}
