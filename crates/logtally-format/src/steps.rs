//! The compiled matcher for line formats made of literals and fields (presets,
//! nginx and Apache strings): a flat list of steps matched left to right with memchr.

use memchr::memchr;

/// Where a field's value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// One of the byte-string fields (index into [`Spans::v`]).
    Cow(usize),
    TimeClf,
    TimeIso,
    TimeEpoch,
    /// W3C `date` / `time`.
    W3cDate,
    W3cTime,
    /// Request time in seconds / milliseconds / microseconds.
    Secs,
    Millis,
    Micros,
    /// One of several processing times to add up (seconds; `-1` means unknown).
    SecsSum,
    /// `$upstream_response_time`: first value of a list.
    Upstream,
    /// A named request header (index into the format's header names).
    Header(u16),
    /// `ip:port` (AWS load balancers): the address goes to `host`.
    HostPort,
    /// User agent with `+` for spaces (IIS).
    UaPlus,
    /// Percent-encoded user agent (CloudFront).
    UaPct,
    /// Accepted, not kept.
    Skip,
    /// Accepted, not kept; may be a list (`a, b : c`) like nginx's `$upstream_*`.
    SkipList,
}

pub(crate) const HOST: usize = 0;
pub(crate) const IDENTITY: usize = 1;
pub(crate) const USER: usize = 2;
pub(crate) const REQUEST: usize = 3;
pub(crate) const METHOD: usize = 4;
pub(crate) const TARGET: usize = 5;
pub(crate) const QUERY: usize = 6;
pub(crate) const PROTOCOL: usize = 7;
pub(crate) const STATUS: usize = 8;
pub(crate) const BYTES: usize = 9;
pub(crate) const REFERER: usize = 10;
pub(crate) const USER_AGENT: usize = 11;
pub(crate) const VHOST: usize = 12;
pub(crate) const PORT: usize = 13;
pub(crate) const FORWARDED_FOR: usize = 14;
pub(crate) const TLS: usize = 15;
pub(crate) const NSLOTS: usize = 16;

/// A value's place: in the line or in the scratch buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Val {
    #[default]
    None,
    Line(usize, usize),
    Scratch(usize, usize),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TimeKind {
    #[default]
    None,
    Clf,
    Iso,
    Epoch,
    W3c,
}

/// Where the values of one line are (reset for each line; reused to avoid allocation).
#[derive(Clone, Debug, Default)]
pub(crate) struct Spans {
    pub v: [Val; NSLOTS],
    pub time_kind: TimeKind,
    pub time: Val,
    pub time2: Val,
    pub request_time: Option<f64>,
    pub rt_bad: bool,
    pub upstream: Option<f64>,
    pub headers: Vec<(u16, Val)>,
}

impl Spans {
    pub fn reset(&mut self) {
        self.v = [Val::None; NSLOTS];
        self.time_kind = TimeKind::None;
        self.time = Val::None;
        self.time2 = Val::None;
        self.request_time = None;
        self.rt_bad = false;
        self.upstream = None;
        self.headers.clear();
    }
}

/// What ends a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Until {
    /// The next literal; `last` when it ends the format.
    Lit { lit: Box<[u8]>, last: bool },
    /// The end of the line.
    Eol,
    /// A space or the end of the line (last field, after a space or in a format that allows trailing data).
    Space,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Lit(Box<[u8]>),
    Field {
        slot: Slot,
        quoted: bool,
        until: Until,
    },
}

/// A compiled literal-and-field format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepFormat {
    pub steps: Vec<Step>,
    /// Names of the header slots.
    pub headers: Vec<String>,
    /// Whether more text may follow the last step (AWS logs grow new fields).
    pub allow_trailing: bool,
}

/// A token of a format string before compilation.
pub(crate) enum Tok {
    Lit(Vec<u8>),
    Field {
        slot: Slot,
        text: String,
        pos: usize,
    },
}

impl StepFormat {
    /// Builds the steps from tokens: merges literals, rejects adjacent fields,
    /// drops duplicate targets (the first occurrence wins) and works out terminators.
    pub fn build(
        toks: Vec<Tok>,
        headers: Vec<String>,
        allow_trailing: bool,
        spec: &str,
    ) -> Result<StepFormat, crate::FormatError> {
        // Merge literals; check adjacency.
        let mut merged: Vec<Tok> = Vec::with_capacity(toks.len());
        for t in toks {
            match (merged.last_mut(), t) {
                (Some(Tok::Lit(a)), Tok::Lit(b)) => a.extend_from_slice(&b),
                (_, Tok::Lit(b)) if b.is_empty() => {}
                // `%U%q`: the query starts with `?`, so the pair is the whole target.
                (
                    Some(Tok::Field {
                        slot: Slot::Cow(TARGET),
                        text: first,
                        ..
                    }),
                    Tok::Field {
                        slot: Slot::Cow(QUERY),
                        text,
                        ..
                    },
                ) if text.ends_with('q') => first.push_str(&text),
                (Some(Tok::Field { text: first, .. }), Tok::Field { text, pos, .. }) => {
                    return Err(crate::FormatError::AdjacentFields {
                        first: first.clone(),
                        second: text,
                        pos,
                    });
                }
                (_, t) => merged.push(t),
            }
        }
        // Lines are matched with trailing spaces stripped: strip them from the format too.
        if let Some(Tok::Lit(l)) = merged.last_mut() {
            while l.last().is_some_and(|b| b.is_ascii_whitespace()) {
                l.pop();
            }
            if l.is_empty() {
                merged.pop();
            }
        }
        if !merged.iter().any(|t| matches!(t, Tok::Field { .. })) {
            return Err(crate::FormatError::NoField(spec.to_string()));
        }
        let mut seen = [false; NSLOTS];
        let mut seen_time = false;
        let mut seen_rt = false;
        let n = merged.len();
        let mut steps = Vec::with_capacity(n);
        for i in 0..n {
            match &merged[i] {
                Tok::Lit(l) => steps.push(Step::Lit(l.clone().into_boxed_slice())),
                Tok::Field { slot, .. } => {
                    let mut slot = *slot;
                    match slot {
                        Slot::Cow(k) => {
                            if seen[k] {
                                slot = Slot::Skip;
                            }
                            seen[k] = true;
                        }
                        Slot::HostPort => {
                            if seen[HOST] {
                                slot = Slot::Skip;
                            }
                            seen[HOST] = true;
                        }
                        Slot::TimeClf | Slot::TimeIso | Slot::TimeEpoch => {
                            if seen_time {
                                slot = Slot::Skip;
                            }
                            seen_time = true;
                        }
                        Slot::Secs | Slot::Millis | Slot::Micros => {
                            if seen_rt {
                                slot = Slot::Skip;
                            }
                            seen_rt = true;
                        }
                        _ => {}
                    }
                    let prev_quote =
                        i > 0 && matches!(&merged[i - 1], Tok::Lit(l) if l.ends_with(b"\""));
                    let prev_space = i > 0
                        && matches!(&merged[i - 1], Tok::Lit(l) if l.ends_with(b" ") || l.ends_with(b"\t"));
                    let (until, next_quote) = match merged.get(i + 1) {
                        Some(Tok::Lit(l)) => (
                            Until::Lit {
                                lit: l.clone().into_boxed_slice(),
                                last: i + 2 == n,
                            },
                            l.starts_with(b"\""),
                        ),
                        // A space-delimited last field is space-free (else `common`
                        // would take a combined line's referer and agent as its size).
                        _ if allow_trailing || prev_space => (Until::Space, false),
                        _ => (Until::Eol, false),
                    };
                    steps.push(Step::Field {
                        slot,
                        quoted: prev_quote && next_quote,
                        until,
                    });
                }
            }
        }
        Ok(StepFormat {
            steps,
            headers,
            allow_trailing,
        })
    }

    /// Matches `line` (already trimmed), filling `spans` (and `scratch` for unescaped values).
    pub fn match_line(
        &self,
        line: &[u8],
        scratch: &mut Vec<u8>,
        spans: &mut Spans,
    ) -> Result<(), &'static str> {
        let mut pos = 0;
        // Escapes are rare: one look over the line spares a look (a call)
        // over each field.
        let escaped = memchr(b'\\', line).is_some();
        for step in &self.steps {
            match step {
                Step::Lit(l) => match lit_at(line, pos, l) {
                    Some(p) => pos = p,
                    None => return Err("literal text of the format not found where expected"),
                },
                Step::Field {
                    slot,
                    quoted,
                    until,
                } => {
                    let mut end = self.field_end(line, pos, *quoted, until)?;
                    if matches!(slot, Slot::Upstream | Slot::SkipList) {
                        // nginx lists upstream values as `a, b : c`.
                        while end > pos
                            && end < line.len()
                            && (line[end - 1] == b',' || line[end..].starts_with(b" : "))
                        {
                            let from = if line[end - 1] == b',' {
                                end + 1
                            } else {
                                end + 3
                            };
                            if from >= line.len() {
                                break;
                            }
                            end = self.field_end(line, from, *quoted, until)?;
                        }
                    }
                    record(*slot, line, pos, end, scratch, spans, escaped)?;
                    pos = end;
                }
            }
        }
        if pos != line.len() && !self.allow_trailing {
            return Err("unexpected text after the last field of the format");
        }
        Ok(())
    }

    #[inline(always)]
    fn field_end(
        &self,
        line: &[u8],
        pos: usize,
        quoted: bool,
        until: &Until,
    ) -> Result<usize, &'static str> {
        let (lit, last) = match until {
            Until::Eol => return Ok(line.len()),
            Until::Space => return Ok(memchr(b' ', &line[pos..]).map_or(line.len(), |i| pos + i)),
            Until::Lit { lit, last } => (&lit[..], *last),
        };
        if quoted {
            // Ends at the first unescaped `"` followed by the next literal.
            let mut from = pos;
            while let Some(i) = memchr(b'"', &line[from..]) {
                let q = from + i;
                from = q + 1;
                if is_escaped(line, pos, q) {
                    continue;
                }
                let Some(after) = lit_at(line, q, lit) else {
                    continue;
                };
                if last && after != line.len() {
                    if !self.allow_trailing {
                        // The closing quote of the last field must end the line: more
                        // text means another format (e.g. combined + X-Forwarded-For).
                        return Err("unexpected text after the last field of the format");
                    }
                    if line[after] != b' ' && !lit.ends_with(b" ") {
                        continue;
                    }
                }
                return Ok(q);
            }
            Err("unterminated quoted field")
        } else {
            match memchr(lit[0], &line[pos..]) {
                Some(i) => Ok(pos + i),
                None if lit.iter().all(|&b| b == b' ') => Ok(line.len()),
                None => Err("field terminator not found"),
            }
        }
    }
}

/// Where matching `lit` at `pos` leaves off, if it matches. At the end of the line,
/// a literal whose rest is only spaces matches (trailing spaces were stripped).
#[inline]
fn lit_at(line: &[u8], pos: usize, lit: &[u8]) -> Option<usize> {
    let rest = &line[pos..];
    // Literals are a few bytes (`" "`, `] "`): compared in place, as a call
    // to `memcmp` costs more than the comparison.
    let starts = rest.len() >= lit.len() && rest.iter().zip(lit).all(|(a, b)| a == b);
    if starts {
        Some(pos + lit.len())
    } else if lit.starts_with(rest) && lit[rest.len()..].iter().all(|&b| b == b' ') {
        Some(line.len())
    } else {
        None
    }
}

/// Whether the byte at `q` is preceded by an odd number of backslashes (after `start`).
#[inline]
fn is_escaped(line: &[u8], start: usize, q: usize) -> bool {
    let mut n = 0;
    let mut i = q;
    while i > start && line[i - 1] == b'\\' {
        n += 1;
        i -= 1;
    }
    n % 2 == 1
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Undoes nginx (`\xHH`) and Apache (`\"`, `\\`, `\n`, `\xhh`...) escapes.
pub(crate) fn unescape_into(src: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        if b == b'\\' && i + 1 < src.len() {
            let c = src[i + 1];
            let rep = match c {
                b'x' | b'X' if i + 3 < src.len() => match (hex(src[i + 2]), hex(src[i + 3])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 4;
                        continue;
                    }
                    _ => None,
                },
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'v' => Some(0x0b),
                b'b' => Some(0x08),
                _ => None,
            };
            if let Some(r) = rep {
                out.push(r);
                i += 2;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
}

fn percent_decode_into(src: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if src[i] == b'%' && i + 2 < src.len() {
            if let (Some(h), Some(l)) = (hex(src[i + 1]), hex(src[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(src[i]);
        i += 1;
    }
}

pub(crate) fn parse_f64(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// The value of `line[s..e]`, unescaped into `scratch` if `unescape` and it has a backslash.
///
/// Inlined where it is stored: a `Val` returned through memory and copied
/// into its slot stalled on every field (its parts written apart, read as
/// one).
#[inline(always)]
fn value(line: &[u8], s: usize, e: usize, scratch: &mut Vec<u8>, unescape: bool) -> Val {
    let raw = &line[s..e];
    if unescape && memchr(b'\\', raw).is_some() {
        unescaped(raw, scratch)
    } else {
        Val::Line(s, e)
    }
}

/// Appends `raw`, unescaped, to `scratch`; the value is where it lies there.
#[cold]
#[inline(never)]
fn unescaped(raw: &[u8], scratch: &mut Vec<u8>) -> Val {
    let start = scratch.len();
    unescape_into(raw, scratch);
    Val::Scratch(start, scratch.len())
}

/// Stores the field `line[s..e]` into its slot.
///
/// Inlined, as `field_end` is: called for every field, their calls (eight
/// arguments, saved registers) cost more than much of their work.
#[inline(always)]
pub(crate) fn record(
    slot: Slot,
    line: &[u8],
    s: usize,
    e: usize,
    scratch: &mut Vec<u8>,
    spans: &mut Spans,
    unescape: bool,
) -> Result<(), &'static str> {
    let raw = &line[s..e];
    match slot {
        Slot::Cow(k) => {
            // The slot first: a value made before it is found went through
            // memory, written in parts and read whole, which stalled.
            let kept = &mut spans.v[k];
            *kept = value(line, s, e, scratch, unescape);
        }
        Slot::TimeClf | Slot::TimeIso | Slot::TimeEpoch => {
            spans.time = Val::Line(s, e);
            spans.time_kind = match slot {
                Slot::TimeClf => TimeKind::Clf,
                Slot::TimeIso => TimeKind::Iso,
                _ => TimeKind::Epoch,
            };
        }
        Slot::W3cDate => {
            if raw.len() != 10 || raw[4] != b'-' || raw[7] != b'-' {
                return Err("W3C date field is not YYYY-MM-DD");
            }
            spans.time = Val::Line(s, e);
            spans.time_kind = TimeKind::W3c;
        }
        Slot::W3cTime => {
            if raw.len() < 8 || raw[2] != b':' || raw[5] != b':' {
                return Err("W3C time field is not HH:MM:SS");
            }
            spans.time2 = Val::Line(s, e);
        }
        Slot::Secs => spans.request_time = parse_f64(raw),
        Slot::Millis => spans.request_time = parse_f64(raw).map(|v| v / 1e3),
        Slot::Micros => spans.request_time = parse_f64(raw).map(|v| v / 1e6),
        Slot::SecsSum => match parse_f64(raw) {
            Some(v) if v >= 0.0 && !spans.rt_bad => {
                spans.request_time = Some(spans.request_time.unwrap_or(0.0) + v)
            }
            _ => {
                spans.rt_bad = true;
                spans.request_time = None;
            }
        },
        Slot::Upstream => {
            let first = raw
                .iter()
                .position(|&b| b == b',' || b == b' ' || b == b':')
                .map_or(raw, |i| &raw[..i]);
            spans.upstream = parse_f64(first);
        }
        Slot::Header(i) => {
            let v = value(line, s, e, scratch, unescape);
            spans.headers.push((i, v));
        }
        Slot::HostPort => {
            let host_end = match memchr::memrchr(b':', raw) {
                Some(i) if raw != b"-" => s + i,
                _ => e,
            };
            let (hs, he) = if host_end > s + 1 && line[s] == b'[' && line[host_end - 1] == b']' {
                (s + 1, host_end - 1)
            } else {
                (s, host_end)
            };
            spans.v[HOST] = Val::Line(hs, he);
        }
        Slot::UaPlus => {
            if memchr(b'+', raw).is_some() {
                let start = scratch.len();
                scratch.extend(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }));
                spans.v[USER_AGENT] = Val::Scratch(start, scratch.len());
            } else {
                spans.v[USER_AGENT] = Val::Line(s, e);
            }
        }
        Slot::UaPct => {
            if memchr(b'%', raw).is_some() {
                let start = scratch.len();
                percent_decode_into(raw, scratch);
                spans.v[USER_AGENT] = Val::Scratch(start, scratch.len());
            } else {
                spans.v[USER_AGENT] = Val::Line(s, e);
            }
        }
        Slot::Skip | Slot::SkipList => {}
    }
    Ok(())
}

fn bytes_of<'x>(v: Val, line: &'x [u8], scratch: &'x [u8]) -> Option<&'x [u8]> {
    match v {
        Val::None => None,
        Val::Line(s, e) => Some(&line[s..e]),
        Val::Scratch(s, e) => Some(&scratch[s..e]),
    }
}

/// Joins target and query (`path?query`) when the query is present and not `-`.
pub(crate) fn join_query(line: &[u8], scratch: &mut Vec<u8>, spans: &mut Spans) {
    let q = spans.v[QUERY];
    let t = spans.v[TARGET];
    let (Some(qb), Some(_)) = (bytes_of(q, line, scratch), bytes_of(t, line, scratch)) else {
        return;
    };
    if qb.is_empty() || qb == b"-" || qb == b"?" {
        return;
    }
    let start = scratch.len();
    for (i, v) in [t, q].into_iter().enumerate() {
        if i == 1 && bytes_of(v, line, scratch).is_some_and(|b| b[0] != b'?') {
            scratch.push(b'?');
        }
        match v {
            Val::Line(s, e) => scratch.extend_from_slice(&line[s..e]),
            Val::Scratch(s, e) => scratch.extend_from_within(s..e),
            Val::None => {}
        }
    }
    spans.v[TARGET] = Val::Scratch(start, scratch.len());
}

/// Builds the public fields from the spans.
pub(crate) fn build<'a>(
    spans: &Spans,
    line: &'a [u8],
    scratch: &'a [u8],
    names: &'a [String],
) -> crate::Fields<'a> {
    use std::borrow::Cow;
    let get = |v: Val| bytes_of(v, line, scratch).map(Cow::Borrowed);
    let time = match (spans.time_kind, spans.time) {
        (TimeKind::None, _) | (_, Val::None) => None,
        (TimeKind::Clf, v) => bytes_of(v, line, scratch).map(crate::TimeText::Clf),
        (TimeKind::Iso, v) => get(v).map(crate::TimeText::Iso8601),
        (TimeKind::Epoch, v) => get(v).map(crate::TimeText::EpochSeconds),
        (TimeKind::W3c, v) => match (
            bytes_of(v, line, scratch),
            bytes_of(spans.time2, line, scratch),
        ) {
            (Some(date), Some(time)) => Some(crate::TimeText::W3c { date, time }),
            _ => None,
        },
    };
    let headers = spans
        .headers
        .iter()
        .filter_map(|&(i, v)| {
            let name = names.get(usize::from(i))?;
            Some((Cow::Borrowed(name.as_str()), get(v)?))
        })
        .collect();
    crate::Fields {
        host: get(spans.v[HOST]),
        identity: get(spans.v[IDENTITY]),
        user: get(spans.v[USER]),
        time,
        request: get(spans.v[REQUEST]),
        method: get(spans.v[METHOD]),
        target: get(spans.v[TARGET]),
        protocol: get(spans.v[PROTOCOL]),
        status: get(spans.v[STATUS]),
        bytes: get(spans.v[BYTES]),
        referer: get(spans.v[REFERER]),
        user_agent: get(spans.v[USER_AGENT]),
        vhost: get(spans.v[VHOST]),
        port: get(spans.v[PORT]),
        request_time: spans.request_time,
        upstream_time: spans.upstream,
        forwarded_for: get(spans.v[FORWARDED_FOR]),
        tls: get(spans.v[TLS]),
        headers,
    }
}
