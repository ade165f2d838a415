#![allow(dead_code)]
use std::borrow::Cow;

use logtally_format::{Fields, LogFormat, Parsed};

pub fn rec<'a>(p: &'a mut logtally_format::LineParser, line: &'a [u8]) -> Fields<'a> {
    match p.parse(line) {
        Parsed::Record(f) => f,
        other => panic!(
            "not a record: {other:?} for {}",
            String::from_utf8_lossy(line)
        ),
    }
}

pub fn s<'a>(v: &'a Option<Cow<'a, [u8]>>) -> Option<&'a str> {
    v.as_deref().map(|b| std::str::from_utf8(b).unwrap())
}

pub fn fmt(spec: &str) -> LogFormat {
    LogFormat::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
}
