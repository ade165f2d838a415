//! Caddy v2 JSON access log entries, read with borrowed strings (no copy unless escaped).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Fields, TimeText};

/// A JSON string, borrowed from the line when it has no escapes.
struct S<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for S<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(S)
    }
}

/// The first string of a JSON array (Caddy logs headers as arrays of values).
struct First<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for First<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Cow<'de, str>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<S<'de>>()?.map(|s| s.0);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(first)
            }
        }
        d.deserialize_seq(V).map(First)
    }
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow, default)]
    ts: Option<&'a RawValue>,
    #[serde(borrow, default)]
    request: Option<Request<'a>>,
    #[serde(borrow, default)]
    user_id: Option<S<'a>>,
    #[serde(borrow, default)]
    duration: Option<&'a RawValue>,
    #[serde(borrow, default)]
    size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, default)]
    remote_ip: Option<S<'a>>,
    #[serde(borrow, default)]
    proto: Option<S<'a>>,
    #[serde(borrow, default)]
    method: Option<S<'a>>,
    #[serde(borrow, default)]
    host: Option<S<'a>>,
    #[serde(borrow, default)]
    uri: Option<S<'a>>,
    #[serde(borrow, default)]
    headers: Option<Headers<'a>>,
    #[serde(default)]
    tls: Option<Tls>,
}

#[derive(Deserialize)]
struct Headers<'a> {
    #[serde(borrow, default, rename = "User-Agent")]
    user_agent: Option<First<'a>>,
    #[serde(borrow, default, rename = "Referer")]
    referer: Option<First<'a>>,
    #[serde(borrow, default, rename = "X-Forwarded-For")]
    forwarded_for: Option<First<'a>>,
}

#[derive(Deserialize)]
struct Tls {
    #[serde(default)]
    version: Option<u16>,
}

fn bytes(c: Cow<'_, str>) -> Cow<'_, [u8]> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

fn raw(v: &RawValue) -> &[u8] {
    v.get().as_bytes()
}

fn num(v: Option<&RawValue>) -> Option<Cow<'_, [u8]>> {
    v.map(|v| Cow::Borrowed(raw(v)))
}

pub(crate) fn parse(line: &[u8]) -> Result<Fields<'_>, &'static str> {
    if line.first() != Some(&b'{') {
        return Err("not a JSON object");
    }
    let e: Entry = serde_json::from_slice(line).map_err(|_| "not a Caddy JSON access entry")?;
    let Some(req) = e.request else {
        return Err("JSON without a `request` object: not a Caddy access entry");
    };
    let time = e.ts.and_then(|t| {
        let b = raw(t);
        if b.first() == Some(&b'"') {
            // `time_format` set to a text format (e.g. iso8601).
            let inner = &b[1..b.len() - 1];
            (!inner.contains(&b'\\')).then_some(TimeText::Iso8601(Cow::Borrowed(inner)))
        } else {
            Some(TimeText::EpochSeconds(Cow::Borrowed(b)))
        }
    });
    let tls = req.tls.and_then(|t| t.version).and_then(|v| {
        let name: &'static [u8] = match v {
            0x0301 => b"TLSv1",
            0x0302 => b"TLSv1.1",
            0x0303 => b"TLSv1.2",
            0x0304 => b"TLSv1.3",
            _ => return None,
        };
        Some(Cow::Borrowed(name))
    });
    let (mut ua, mut referer, mut xff) = (None, None, None);
    if let Some(h) = req.headers {
        ua = h.user_agent.and_then(|f| f.0).map(bytes);
        referer = h.referer.and_then(|f| f.0).map(bytes);
        xff = h.forwarded_for.and_then(|f| f.0).map(bytes);
    }
    Ok(Fields {
        host: req.remote_ip.map(|s| bytes(s.0)),
        user: e.user_id.map(|s| bytes(s.0)).filter(|u| !u.is_empty()),
        time,
        method: req.method.map(|s| bytes(s.0)),
        target: req.uri.map(|s| bytes(s.0)),
        protocol: req.proto.map(|s| bytes(s.0)),
        status: num(e.status),
        bytes: num(e.size),
        referer,
        user_agent: ua,
        vhost: req.host.map(|s| bytes(s.0)),
        request_time: e.duration.and_then(|d| crate::steps::parse_f64(raw(d))),
        forwarded_for: xff,
        tls,
        ..Fields::default()
    })
}
