//! W3C extended log format (IIS) and CloudFront standard logs: fields named by `#Fields:`.

use memchr::memchr;

use crate::steps::*;

/// IIS's default field selection (used until a `#Fields:` directive is seen).
pub(crate) const IIS_DEFAULT: &[&str] = &[
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "cs(Referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
];

/// CloudFront standard log fields, in order (used until a `#Fields:` directive is seen).
pub(crate) const CLOUDFRONT_DEFAULT: &[&str] = &[
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// Flavour of a W3C-style format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum W3cFlavor {
    /// IIS / generic W3C extended: space separated, `time-taken` in milliseconds, `+` for spaces in the user agent.
    Iis,
    /// CloudFront: tab separated, `time-taken` in seconds, percent-encoded user agent.
    CloudFront,
}

/// The field layout in force (per file; changes with each `#Fields:`).
#[derive(Clone, Debug)]
pub(crate) struct W3cState {
    pub slots: Vec<Slot>,
    pub names: Vec<String>,
    /// Whether the layout came from a `#Fields:` directive (else the flavour's default).
    pub from_header: bool,
}

impl W3cState {
    pub fn new(flavor: W3cFlavor) -> W3cState {
        let defaults = match flavor {
            W3cFlavor::Iis => IIS_DEFAULT,
            W3cFlavor::CloudFront => CLOUDFRONT_DEFAULT,
        };
        let mut st = W3cState {
            slots: Vec::new(),
            names: Vec::new(),
            from_header: false,
        };
        st.set_fields(flavor, defaults.iter().copied());
        st.from_header = false;
        st
    }

    fn set_fields<'x>(&mut self, flavor: W3cFlavor, fields: impl Iterator<Item = &'x str> + Clone) {
        self.slots.clear();
        self.names.clear();
        self.from_header = true;
        let has_host_header = fields
            .clone()
            .any(|f| f.eq_ignore_ascii_case("x-host-header"));
        let mut seen = [false; NSLOTS];
        let (mut seen_date, mut seen_time, mut seen_rt) = (false, false, false);
        for f in fields {
            let l = f.to_ascii_lowercase();
            let mut slot = match l.as_str() {
                "date" => Slot::W3cDate,
                "time" => Slot::W3cTime,
                "c-ip" => Slot::Cow(HOST),
                "cs-username" => Slot::Cow(USER),
                "cs-method" => Slot::Cow(METHOD),
                "cs-uri-stem" | "cs-uri" => Slot::Cow(TARGET),
                "cs-uri-query" => Slot::Cow(QUERY),
                "sc-status" => Slot::Cow(STATUS),
                "sc-bytes" => Slot::Cow(BYTES),
                "cs(user-agent)" => match flavor {
                    W3cFlavor::Iis => Slot::UaPlus,
                    W3cFlavor::CloudFront => Slot::UaPct,
                },
                "cs(referer)" => Slot::Cow(REFERER),
                "x-host-header" => Slot::Cow(VHOST),
                "cs-host" | "cs(host)" if !has_host_header => Slot::Cow(VHOST),
                "s-port" => Slot::Cow(PORT),
                "time-taken" => match flavor {
                    W3cFlavor::Iis => Slot::Millis,
                    W3cFlavor::CloudFront => Slot::Secs,
                },
                "cs-version" | "cs-protocol-version" => Slot::Cow(PROTOCOL),
                "x-forwarded-for" | "cs(x-forwarded-for)" => Slot::Cow(FORWARDED_FOR),
                "ssl-protocol" => Slot::Cow(TLS),
                "cs(cookie)" => Slot::Skip,
                _ => match f.strip_prefix("cs(").and_then(|h| h.strip_suffix(')')) {
                    Some(h) if !h.is_empty() => {
                        self.names.push(h.to_string());
                        Slot::Header((self.names.len() - 1) as u16)
                    }
                    _ => Slot::Skip,
                },
            };
            let dup = match slot {
                Slot::Cow(k) => std::mem::replace(&mut seen[k], true),
                Slot::UaPlus | Slot::UaPct => std::mem::replace(&mut seen[USER_AGENT], true),
                Slot::W3cDate => std::mem::replace(&mut seen_date, true),
                Slot::W3cTime => std::mem::replace(&mut seen_time, true),
                Slot::Millis | Slot::Secs => std::mem::replace(&mut seen_rt, true),
                _ => false,
            };
            if dup {
                slot = Slot::Skip;
            }
            self.slots.push(slot);
        }
    }

    /// Handles a `#` line; returns whether it was a `#Fields:` directive.
    pub fn directive(&mut self, flavor: W3cFlavor, line: &[u8]) -> bool {
        let Some(rest) = line.strip_prefix(b"#Fields:") else {
            return false;
        };
        let text = String::from_utf8_lossy(rest);
        self.set_fields(flavor, text.split_ascii_whitespace());
        true
    }

    /// Matches a record line.
    pub fn match_line(
        &self,
        flavor: W3cFlavor,
        line: &[u8],
        scratch: &mut Vec<u8>,
        spans: &mut Spans,
    ) -> Result<(), &'static str> {
        let sep = match flavor {
            W3cFlavor::Iis => b' ',
            W3cFlavor::CloudFront => b'\t',
        };
        let mut pos = 0;
        let mut n = 0;
        loop {
            let end = memchr(sep, &line[pos..]).map_or(line.len(), |i| pos + i);
            match self.slots.get(n) {
                Some(&slot) => record(slot, line, pos, end, scratch, spans, false)?,
                None if !self.from_header && flavor == W3cFlavor::CloudFront => {}
                None => return Err("more fields than the #Fields directive names"),
            }
            n += 1;
            if end == line.len() {
                break;
            }
            pos = end + 1;
        }
        let enough = match (self.from_header, flavor) {
            (true, _) | (false, W3cFlavor::Iis) => n == self.slots.len(),
            // Older CloudFront logs have fewer fields: require up to `time-taken`.
            (false, W3cFlavor::CloudFront) => n >= 19,
        };
        if !enough {
            return Err("fewer fields than the #Fields directive names");
        }
        if spans.time_kind == TimeKind::W3c && spans.time2 == Val::None {
            spans.time_kind = TimeKind::None;
        }
        Ok(())
    }
}
