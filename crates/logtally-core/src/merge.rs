//! Merging reports: complete reports written anywhere (other processes,
//! machines, Dask or Spark tasks) combine into exactly the report of one run
//! over all their files.

use crate::options::UserOptions;
use crate::tally::{Report, Tally};

/// Why reports cannot be merged, for a person to read. `index` counts the
/// reports from 0 in the order given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// A report lost keys to `--top` or `--min-count`.
    #[error("report {} shows {shown} of its {distinct} keys (written with --top or --min-count): merging or showing it again needs every key; write the reports with --all", index + 1)]
    Incomplete {
        /// Which report.
        index: usize,
        /// Keys it shows.
        shown: u64,
        /// Keys it counted.
        distinct: u64,
    },
    /// A report is to be shown with other counting options than it was counted with.
    #[error(
        "the report was counted with another `{option}`: its counts cannot be shown for this one"
    )]
    CountedOtherwise {
        /// The option, named as its flag.
        option: &'static str,
    },
    /// A report was counted with other options than the first.
    #[error("report {} was counted with another `{option}` than report 1: its counts mean something else", index + 1)]
    OptionsDiffer {
        /// Which report.
        index: usize,
        /// The option, named as its flag.
        option: &'static str,
    },
}

/// Merges complete reports counted with the same options into the report of
/// one run over all their files: counts added, files and problems joined,
/// showing every key. Associative and commutative (up to the order of files
/// and problems, which reports sort).
///
/// ```
/// use logtally_core::{merge_reports, Analyzer, UserOptions};
/// let all = UserOptions { all: true, ..UserOptions::default() };
/// let line = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
/// let mut analyzer = Analyzer::new(all.compile().unwrap());
/// let a = analyzer.analyze("a.log", line.as_bytes()).report(&all);
/// let b = analyzer.analyze("b.log", line.as_bytes()).report(&all);
/// let merged = merge_reports(vec![a, b]).unwrap();
/// assert_eq!(merged.counts.iter().collect::<Vec<_>>(), [("/a", 2)]);
/// assert_eq!(merged.totals.files, 2);
/// ```
pub fn merge_reports(reports: Vec<Report>) -> Result<Report, MergeError> {
    let first_options = reports.first().ok_or(MergeError::Empty)?.options.clone();
    let mut partial = false;
    let mut total = Tally::default();
    for (index, report) in reports.into_iter().enumerate() {
        if !report.complete {
            return Err(MergeError::Incomplete {
                index,
                shown: report.counts.len() as u64,
                distinct: report.distinct,
            });
        }
        if let Some(option) = report.options.counting_difference(&first_options) {
            return Err(MergeError::OptionsDiffer { index, option });
        }
        partial |= report.partial;
        total.merge(Tally::from(report));
    }
    let options = UserOptions {
        all: true,
        ..first_options
    };
    let mut merged = total.report(&options);
    merged.partial = partial;
    Ok(merged)
}

/// A complete report shown again with the rows `options` asks for (`top`,
/// `all`, `min_count`): refused, as in [`merge_reports`], when the report lost
/// keys, or when `options` would count otherwise than the report was counted.
///
/// ```
/// use logtally_core::{reshow, Analyzer, UserOptions};
/// let all = UserOptions { all: true, ..UserOptions::default() };
/// let line = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
/// let report = Analyzer::new(all.compile().unwrap()).analyze("a.log", line.as_bytes()).report(&all);
/// let top = UserOptions { top: 1, ..UserOptions::default() };
/// assert_eq!(reshow(report.clone(), &top).unwrap().counts.len(), 1);
/// let by_status = UserOptions { by: "status".parse().unwrap(), ..top };
/// assert!(reshow(report, &by_status).unwrap_err().to_string().contains("`by`"));
/// ```
pub fn reshow(report: Report, options: &UserOptions) -> Result<Report, MergeError> {
    if !report.complete {
        return Err(MergeError::Incomplete {
            index: 0,
            shown: report.counts.len() as u64,
            distinct: report.distinct,
        });
    }
    if let Some(option) = options.counting_difference(&report.options) {
        return Err(MergeError::CountedOtherwise { option });
    }
    let partial = report.partial;
    let mut shown = Tally::from(report).report(options);
    shown.partial = partial;
    Ok(shown)
}
