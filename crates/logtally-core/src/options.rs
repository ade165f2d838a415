//! The options as people give them (the CLI's long flags, the page's
//! controls, Python's keyword arguments): one JSON contract, validated and
//! compiled here into the [`Options`] the pipeline runs with.

use serde::{Deserialize, Serialize};

use logtally_format::{FormatError, LogFormat};

use crate::analyze::{GroupBy, Options, AUTO};
use crate::filter::{PathFilter, PrefixFilter};
use crate::panels::Bucket;
use crate::read::DEFAULT_MAX_LINE;
use crate::selection::{SelectionError, SelectionText};
use crate::tally::Limit;

/// What a user asks for, named as the CLI's long flags (`no_path_filter` for
/// `--no-path-filter`). Unknown names are refused, so a typo is an error, not
/// a silently ignored option.
///
/// ```
/// use logtally_core::UserOptions;
/// let o = UserOptions::from_json(r#"{"by": "status", "prefix": "/book/", "all": true}"#).unwrap();
/// let options = o.compile().unwrap();
/// assert_eq!(options.group_by.name(), "status");
/// assert_eq!(o.limit().top, None);
/// let err = UserOptions::from_json(r#"{"colour": "red"}"#).unwrap_err();
/// assert!(err.to_string().contains("colour"));
/// let nginx = UserOptions { log_format: "$remote_addr [$time_local] \"$request\" $status $foo".into(), ..UserOptions::default() };
/// assert!(nginx.compile().unwrap_err().to_string().contains("$foo"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserOptions {
    /// What to count (`--by`).
    pub by: GroupBy,
    /// Only paths below this prefix (`--prefix`).
    pub prefix: Option<String>,
    /// No filter of uninteresting paths (`--no-path-filter`).
    pub no_path_filter: bool,
    /// More path segments to drop (`--exclude-name`).
    pub exclude_name: Vec<String>,
    /// More last-segment suffixes to drop (`--exclude-ext`).
    pub exclude_ext: Vec<String>,
    /// Longer lines are malformed (`--max-line`).
    pub max_line: usize,
    /// Rows to show (`--top`); 0 means all, as in the page.
    pub top: usize,
    /// Every row (`--all`).
    pub all: bool,
    /// Only keys counted at least this often (`--min-count`).
    pub min_count: u64,
    /// The log format (`--log-format`): `auto`, a preset, or an nginx or
    /// Apache format string.
    pub log_format: String,
    /// The book program's exact behaviour (`--book-compat`).
    pub book_compat: bool,
    /// Every panel in one pass (`--report`, or several keys in `--by`).
    pub report: bool,
    /// The panels of the report (empty: all of [`GroupBy::REPORT`]).
    pub panels: Vec<GroupBy>,
    /// Only records at or after this time of the log (`--since`).
    pub since: Option<String>,
    /// Only records before this time of the log (`--until`).
    pub until: Option<String>,
    /// Only records these conditions accept (`--where`, ANDed).
    #[serde(rename = "where")]
    pub conditions: Vec<String>,
    /// The time series' bucket (`--bucket`; `None`: chosen from the span).
    pub bucket: Option<Bucket>,
}

impl Default for UserOptions {
    fn default() -> Self {
        UserOptions {
            by: GroupBy::Path,
            prefix: None,
            no_path_filter: false,
            exclude_name: Vec::new(),
            exclude_ext: Vec::new(),
            max_line: DEFAULT_MAX_LINE,
            top: 20,
            all: false,
            min_count: 1,
            log_format: AUTO.to_string(),
            book_compat: false,
            report: false,
            panels: Vec::new(),
            since: None,
            until: None,
            conditions: Vec::new(),
            bucket: None,
        }
    }
}

/// Options that cannot be used, for a person to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Not JSON of the options' shape (an unknown name, a wrong type).
    #[error("invalid options: {0}")]
    Json(String),
    /// `max_line` is 0.
    #[error("max_line must be at least 1 byte")]
    ZeroMaxLine,
    /// An empty name or extension would drop every path.
    #[error("{0} must not be empty: it would drop every path")]
    EmptyExclusion(&'static str),
    /// The log format does not compile.
    #[error("log_format: {0}")]
    Format(#[from] FormatError),
    /// A `since`, `until` or `where` that does not parse.
    #[error("{0}")]
    Selection(#[from] SelectionError),
    /// `book_compat` reads the book's Combined/Common pattern only.
    #[error("book_compat reads Combined/Common lines with the book's pattern: it does not go with log_format `{0}`")]
    BookCompatFormat(String),
}

impl UserOptions {
    /// Parses the JSON form; unknown names and wrong types are errors.
    pub fn from_json(text: &str) -> Result<UserOptions, OptionsError> {
        serde_json::from_str(text).map_err(|e| OptionsError::Json(e.to_string()))
    }

    /// Validates and compiles into the pipeline's [`Options`].
    pub fn compile(&self) -> Result<Options, OptionsError> {
        if self.max_line == 0 {
            return Err(OptionsError::ZeroMaxLine);
        }
        if self.exclude_name.iter().any(String::is_empty) {
            return Err(OptionsError::EmptyExclusion("exclude_name"));
        }
        if self.exclude_ext.iter().any(String::is_empty) {
            return Err(OptionsError::EmptyExclusion("exclude_ext"));
        }
        if self.log_format != AUTO {
            let format = LogFormat::parse(&self.log_format)?;
            if self.book_compat && !format.is_clf_family() {
                return Err(OptionsError::BookCompatFormat(self.log_format.clone()));
            }
        }
        let selection = self.selection();
        selection.parse()?;
        let path_filter = (!self.no_path_filter)
            .then(|| PathFilter::with_more(&self.exclude_name, &self.exclude_ext));
        Ok(Options {
            group_by: self.by,
            path_filter,
            prefix: self
                .prefix
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(PrefixFilter::new),
            max_line: self.max_line,
            log_format: self.log_format.clone(),
            book_compat: self.book_compat,
            panels: self.report_panels(),
            key_bucket: self.bucket.filter(|_| self.report_panels().len() == 1),
            selection,
            ..Options::default()
        })
    }

    /// The panels a report has: those asked for (each once, where first
    /// asked for), or all; none without `report`.
    pub fn report_panels(&self) -> Vec<GroupBy> {
        match (self.report, self.panels.is_empty()) {
            (false, _) => Vec::new(),
            (true, true) => GroupBy::REPORT.to_vec(),
            (true, false) => {
                // A panel asked for twice is one panel (and a key's id holds
                // its panel's place in a few bits: repeats could overflow them).
                let mut panels = Vec::with_capacity(self.panels.len());
                for &panel in &self.panels {
                    if !panels.contains(&panel) {
                        panels.push(panel);
                    }
                }
                panels
            }
        }
    }

    /// The selection's texts (`since`, `until`, `where`).
    pub fn selection(&self) -> SelectionText {
        SelectionText {
            since: self.since.clone().filter(|s| !s.trim().is_empty()),
            until: self.until.clone().filter(|s| !s.trim().is_empty()),
            conditions: self
                .conditions
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }

    /// When `since` or `until` is relative (`2h`, `30m`, `7d`: before the
    /// newest record), the options of a first pass that finds the newest
    /// record: these options without the selection, one small panel. `None`
    /// when both times are absolute (or not given).
    ///
    /// ```
    /// use logtally_core::{Analyzer, UserOptions};
    /// let log = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n\
    ///            1.2.3.4 - - [17/May/2015:13:00:00 +0000] \"GET /b HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
    /// let last_hour = UserOptions { since: Some("1h".into()), report: true, ..UserOptions::default() };
    /// let probe = last_hour.newest_probe().unwrap();
    /// let newest = Analyzer::new(probe.compile().unwrap()).analyze("x.log", log.as_bytes()).newest().unwrap();
    /// let absolute = last_hour.before_newest(newest);
    /// assert_eq!(absolute.since.as_deref(), Some("2015-05-17T12:00:00"));
    /// let tally = Analyzer::new(absolute.compile().unwrap()).analyze("x.log", log.as_bytes());
    /// assert_eq!(tally.totals.counted, 1);
    /// ```
    pub fn newest_probe(&self) -> Option<UserOptions> {
        let relative = [&self.since, &self.until]
            .iter()
            .any(|t| t.as_deref().and_then(relative_span).is_some());
        relative.then(|| UserOptions {
            report: true,
            panels: vec![GroupBy::Method],
            since: None,
            until: None,
            conditions: Vec::new(),
            bucket: None,
            ..self.clone()
        })
    }

    /// These options with a relative `since`/`until` made absolute: that span
    /// before `newest` (the newest record's time, on the log's clock).
    pub fn before_newest(&self, newest: chrono::NaiveDateTime) -> UserOptions {
        // A span reaching before the year 1 means from the beginning.
        let earliest = chrono::NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("a valid date");
        let at = |time: &Option<String>| match time.as_deref().and_then(relative_span) {
            Some(span) => {
                let at = newest
                    .checked_sub_signed(span)
                    .filter(|at| *at >= earliest)
                    .unwrap_or(earliest);
                Some(at.format("%Y-%m-%dT%H:%M:%S").to_string())
            }
            None => time.clone(),
        };
        UserOptions {
            since: at(&self.since),
            until: at(&self.until),
            ..self.clone()
        }
    }

    /// Which rows a report shows.
    pub fn limit(&self) -> Limit {
        Limit {
            top: (!self.all && self.top > 0).then_some(self.top),
            min_count: self.min_count,
        }
    }

    /// The first option in which `self` and `other` would count differently
    /// (the rows shown aside), named as the flag; `None` if they count alike.
    ///
    /// ```
    /// use logtally_core::UserOptions;
    /// let a = UserOptions { top: 5, ..UserOptions::default() };
    /// let b = UserOptions { prefix: Some("/book/".into()), ..UserOptions::default() };
    /// assert_eq!(a.counting_difference(&UserOptions::default()), None);
    /// assert_eq!(a.counting_difference(&b), Some("prefix"));
    /// ```
    pub fn counting_difference(&self, other: &UserOptions) -> Option<&'static str> {
        let differs = [
            ("by", self.by != other.by),
            ("prefix", self.prefix != other.prefix),
            (
                "no_path_filter",
                self.no_path_filter != other.no_path_filter,
            ),
            ("exclude_name", self.exclude_name != other.exclude_name),
            ("exclude_ext", self.exclude_ext != other.exclude_ext),
            ("max_line", self.max_line != other.max_line),
            ("log_format", self.log_format != other.log_format),
            ("book_compat", self.book_compat != other.book_compat),
            ("report", self.report_panels() != other.report_panels()),
            ("since", self.since != other.since),
            ("until", self.until != other.until),
            ("where", self.conditions != other.conditions),
            ("bucket", self.bucket != other.bucket),
        ];
        differs.into_iter().find(|(_, d)| *d).map(|(name, _)| name)
    }
}

/// `2h`, `30m`, `7d`: a span before the newest record (`None`: not relative).
fn relative_span(text: &str) -> Option<chrono::Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let n: u32 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let n = i64::from(n);
    match unit {
        's' => chrono::Duration::try_seconds(n),
        'm' => chrono::Duration::try_minutes(n),
        'h' => chrono::Duration::try_hours(n),
        'd' => chrono::Duration::try_days(n),
        'w' => chrono::Duration::try_weeks(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_of_any_text_or_size_never_panic() {
        let newest = chrono::NaiveDate::from_ymd_opt(2015, 5, 17)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .unwrap();
        let with = |since: &str| UserOptions {
            since: Some(since.into()),
            ..UserOptions::default()
        };
        for text in ["5é", "2015-05-17日", "h", "", "-2h", "99999999999d"] {
            assert!(with(text).newest_probe().is_none(), "{text}");
        }
        assert_eq!(
            with("2h").before_newest(newest).since.as_deref(),
            Some("2015-05-17T08:00:00")
        );
        // A span before the year 1 is every record.
        let all = with("4294967295d").before_newest(newest);
        assert_eq!(all.since.as_deref(), Some("0001-01-01T00:00:00"));
        assert!(all.compile().is_ok());
        let far = with("4294967295w").before_newest(newest);
        assert_eq!(far.since.as_deref(), Some("0001-01-01T00:00:00"));
    }
}
