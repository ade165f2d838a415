//! The core of logtally: the seed's parallel log-analysis pipeline as a
//! one-way data path, free of threads and files so that it builds for native
//! targets and for `wasm32-unknown-unknown` alike.
//!
//! bytes -> lines ([`read`]) -> records ([`record`]) -> details ([`details`])
//! -> filters ([`filter`]) -> tally ([`tally`]), driven by [`analyze`].
//!
//! ```
//! use logtally_core::{Analyzer, Limit, Options, Tally};
//! let day1 = b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /book/ch1 HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
//! let day2 = b"1.2.3.4 - - [18/May/2015:10:05:03 +0000] \"GET /book/ch1 HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
//! let mut analyzer = Analyzer::new(Options::default());
//! let mut total = Tally::default();
//! total.merge(analyzer.analyze("day1.log", &day1[..]));
//! total.merge(analyzer.analyze("day2.log", &day2[..]));
//! assert_eq!(total.ranked(Limit::default()), vec![("/book/ch1".to_string(), 2)]);
//! ```

pub mod analyze;
mod bytes;
mod counts;
pub mod details;
pub mod filter;
mod index;
mod keys;
mod merge;
mod options;
mod panels;
#[cfg(feature = "rayon")]
pub mod parallel;
pub mod read;
pub mod record;
mod selection;
mod separators;
mod slot;
mod state;
pub mod tally;

pub use analyze::{
    failed_file, printable, Analyzer, GroupBy, Malformed, Options, Outcome, Partial, StreamEnd,
};
pub use filter::{PathFilter, PrefixFilter};
pub use index::{FileRecords, KeepBudget, RecordShard};
/// The log-format presets, simplest first (what `--log-format` accepts besides `auto` and format strings).
pub use logtally_format::PRESETS as LOG_FORMAT_PRESETS;
pub use merge::{merge_reports, reshow, MergeError};
pub use options::{OptionsError, UserOptions};
pub use panels::{
    Bucket, KeyPoint, KeySeries, PanelReport, PanelRow, Panels, Point, TimeSeries, TimeSummary,
};
pub use read::{Block, BlockRef, LineReader, ReadError};
pub use selection::{parse_local_time, Condition, Selection, SelectionError, SelectionText};
pub use state::{merge_states, RunState, StateError, STATE_MAGIC};
pub use tally::{
    Counts, CountsIntoIter, Dashboard, DashboardTotals, FileSummary, Limit, PanelsJson, Problem,
    Report, ReportJsonError, ShippedCounts, ShippedTally, Tally, Totals,
};
