//! Which records count: a time range (`--since`, `--until`) and field
//! conditions (`--where`), ANDed. A record they reject counts as filtered.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use ipnet::IpNet;
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use crate::keys::{decimal, Record};

/// A record field a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Status,
    Method,
    Path,
    Host,
    Agent,
    Referrer,
    Bytes,
    Vhost,
    Protocol,
}

const FIELDS: [(&str, Field); 9] = [
    ("status", Field::Status),
    ("method", Field::Method),
    ("path", Field::Path),
    ("host", Field::Host),
    ("agent", Field::Agent),
    ("referrer", Field::Referrer),
    ("bytes", Field::Bytes),
    ("vhost", Field::Vhost),
    ("protocol", Field::Protocol),
];

/// How a condition compares, longest spelling first (so `>=` is not `>`).
const OPERATORS: [(&str, Op); 9] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    ("!~", Op::NotMatches),
    ("^=", Op::Prefix),
    ("=", Op::Eq),
    ("~", Op::Matches),
    (">", Op::Gt),
    ("<", Op::Lt),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Matches,
    NotMatches,
    Prefix,
    Gt,
    Ge,
    Lt,
    Le,
}

/// What a condition compares the field with.
#[derive(Debug, Clone)]
enum Operand {
    Text(Vec<u8>),
    Pattern(Regex),
    Number(u64),
    Network(IpNet),
}

/// One `--where` condition, e.g. `status>=500`, `path~^/api/`, `host=10.0.0.0/8`.
///
/// ```
/// use logtally_core::Condition;
/// assert!("status>=500".parse::<Condition>().is_ok());
/// let err = "colour=red".parse::<Condition>().unwrap_err();
/// assert!(err.to_string().contains("colour=red"));
/// ```
#[derive(Debug, Clone)]
pub struct Condition {
    text: String,
    field: Field,
    op: Op,
    operand: Operand,
}

/// A `--where` expression or a time that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}`: {why}")]
pub struct SelectionError {
    /// The expression as given.
    pub expression: String,
    /// What is wrong with it.
    pub why: String,
}

fn refuse(expression: &str, why: impl Into<String>) -> SelectionError {
    SelectionError {
        expression: expression.to_string(),
        why: why.into(),
    }
}

impl FromStr for Condition {
    type Err = SelectionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name_end = text
            .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
            .unwrap_or(text.len());
        let name = &text[..name_end];
        let field = FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
                refuse(
                    text,
                    format!("unknown field `{name}` (fields: {})", names.join(", ")),
                )
            })?;
        let rest = &text[name_end..];
        let (spelling, op) = OPERATORS
            .iter()
            .find(|(s, _)| rest.starts_with(s))
            .copied()
            .ok_or_else(|| {
                refuse(
                    text,
                    format!(
                        "expected an operator after `{name}` at byte {name_end} (= != ~ !~ ^= > >= < <=)"
                    ),
                )
            })?;
        let value = &rest[spelling.len()..];
        let numeric = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
        let operand = if numeric {
            if !matches!(field, Field::Status | Field::Bytes) {
                return Err(refuse(
                    text,
                    format!("`{spelling}` compares numbers: only status and bytes are numbers"),
                ));
            }
            Operand::Number(
                value
                    .parse()
                    .map_err(|_| refuse(text, format!("`{value}` is not a whole number")))?,
            )
        } else if matches!(op, Op::Matches | Op::NotMatches) {
            Operand::Pattern(
                Regex::new(value).map_err(|e| refuse(text, format!("bad pattern: {e}")))?,
            )
        } else if field == Field::Host && value.contains('/') && op != Op::Prefix {
            Operand::Network(
                value
                    .parse()
                    .map_err(|_| refuse(text, format!("`{value}` is not a CIDR network")))?,
            )
        } else {
            Operand::Text(value.as_bytes().to_vec())
        };
        Ok(Condition {
            text: text.to_string(),
            field,
            op,
            operand,
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Condition {
    fn accepts(&self, record: &Record<'_>) -> bool {
        let text: &[u8] = match self.field {
            Field::Status => &record.status,
            Field::Method => &record.method,
            Field::Path => record.path,
            Field::Host => &record.host,
            Field::Agent => record.agent(),
            Field::Referrer => record.referer.as_deref().unwrap_or(b""),
            Field::Bytes => b"",
            Field::Vhost => record.vhost.as_deref().unwrap_or(b""),
            Field::Protocol => &record.protocol,
        };
        match (&self.operand, self.op) {
            (Operand::Number(n), op) => {
                let value = match self.field {
                    Field::Bytes => Some(record.bytes_sent()),
                    _ => record.status_code().map(u64::from),
                };
                value.is_some_and(|v| match op {
                    Op::Gt => v > *n,
                    Op::Ge => v >= *n,
                    Op::Lt => v < *n,
                    _ => v <= *n,
                })
            }
            (Operand::Pattern(re), Op::NotMatches) => !re.is_match(text),
            (Operand::Pattern(re), _) => re.is_match(text),
            (Operand::Network(net), op) => {
                let inside = std::str::from_utf8(text)
                    .ok()
                    .and_then(|h| h.parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| net.contains(&ip));
                inside == (op == Op::Eq)
            }
            (Operand::Text(want), Op::Prefix) => text.starts_with(want),
            (Operand::Text(want), op) => {
                let equal = if self.field == Field::Bytes {
                    decimal(want) == Some(record.bytes_sent())
                } else {
                    text == want.as_slice()
                };
                equal == (op == Op::Eq)
            }
        }
    }
}

/// A point in the log's own time: `2015-05-17`, `2015-05-17T10:00` or
/// `2015-05-17T10:00:30` (compared with each record's wall-clock time).
///
/// ```
/// use logtally_core::parse_local_time;
/// assert!(parse_local_time("2015-05-17T10:00").is_ok());
/// assert!(parse_local_time("yesterday").is_err());
/// ```
pub fn parse_local_time(text: &str) -> Result<NaiveDateTime, SelectionError> {
    let t = text.trim();
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .or_else(|_| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| {
            refuse(
                text,
                "expected a time like 2015-05-17, 2015-05-17T10:00 or 2015-05-17T10:00:30 (or, on the command line, 2h or 7d before the newest record)",
            )
        })
}

/// The records that count: at or after `since`, before `until`, and
/// accepted by every condition.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    since: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    conditions: Vec<Condition>,
}

impl Selection {
    /// A selection from its parts (already parsed).
    pub fn new(
        since: Option<NaiveDateTime>,
        until: Option<NaiveDateTime>,
        conditions: Vec<Condition>,
    ) -> Self {
        Selection {
            since,
            until,
            conditions,
        }
    }

    /// Whether it keeps every record.
    pub fn is_everything(&self) -> bool {
        self.since.is_none() && self.until.is_none() && self.conditions.is_empty()
    }

    /// Whether a condition reads the referrer.
    pub(crate) fn reads_referrer(&self) -> bool {
        self.conditions.iter().any(|c| c.field == Field::Referrer)
    }

    /// Whether `record` passes (inlined for the usual case, no selection).
    #[inline]
    pub(crate) fn accepts(&self, record: &Record<'_>) -> bool {
        self.is_everything() || self.accepts_selected(record)
    }

    fn accepts_selected(&self, record: &Record<'_>) -> bool {
        if self.since.is_some() || self.until.is_some() {
            let Some(time) = record.time else {
                return false;
            };
            let local = time.naive_local();
            if self.since.is_some_and(|s| local < s) || self.until.is_some_and(|u| local >= u) {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.accepts(record))
    }
}

/// How a selection travels with the options: as its texts, parsed where it is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionText {
    /// `--since`, absolute.
    pub since: Option<String>,
    /// `--until`, absolute.
    pub until: Option<String>,
    /// `--where` expressions.
    pub conditions: Vec<String>,
}

impl SelectionText {
    /// Parses the texts; the first that does not parse is the error.
    pub fn parse(&self) -> Result<Selection, SelectionError> {
        let time = |t: &Option<String>| t.as_deref().map(parse_local_time).transpose();
        let conditions = self
            .conditions
            .iter()
            .map(|c| c.parse())
            .collect::<Result<Vec<Condition>, _>>()?;
        Ok(Selection::new(
            time(&self.since)?,
            time(&self.until)?,
            conditions,
        ))
    }
}
