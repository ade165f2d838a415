//! A run's state: everything its report was made from (every key, and every
//! visitor of every panel key), so that runs made apart (one a day, one a
//! machine) merge into exactly the report of one run over all their files.
//! A report's visitor counts cannot be added (the same visitor comes back
//! tomorrow); the visitors themselves can be united.
//!
//! The file is a header line naming the format and the logtally version that
//! wrote it, then the options and the tally in a compact binary encoding. It
//! is read back only by the same version: the tally's layout is not a
//! promise between versions.

use std::io::{BufRead, Read, Write};

use crate::merge::MergeError;
use crate::options::UserOptions;
use crate::tally::Tally;

/// The first bytes of a state file.
pub const STATE_MAGIC: &[u8] = b"logtally state ";

/// What a state file says it is, in its header line.
fn header() -> String {
    format!("logtally state 1 {}\n", env!("CARGO_PKG_VERSION"))
}

/// Why a state cannot be written or read, for a person to read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The bytes do not start like a state file.
    #[error("not a logtally state file")]
    NotState,
    /// Written by another version of logtally.
    #[error("written by another logtally ({found}); this is {}: make the state again with this version", header().trim_end())]
    OtherVersion {
        /// The header the file has.
        found: String,
    },
    /// The state does not decode (cut short, or damaged).
    #[error("damaged or cut short: {0}")]
    Damaged(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The options a run counted with and its tally.
///
/// ```
/// use logtally_core::{merge_states, RunState, UserOptions};
/// let options = UserOptions { report: true, ..UserOptions::default() };
/// let line = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
/// let run = |name: &str| {
///     let mut analyzer = logtally_core::Analyzer::new(options.compile().unwrap());
///     let mut bytes = Vec::new();
///     RunState { options: options.clone(), tally: analyzer.analyze(name, line.as_bytes()) }
///         .write(&mut bytes)
///         .unwrap();
///     RunState::read(&bytes[..]).unwrap()
/// };
/// let merged = merge_states(vec![run("day1.log"), run("day2.log")]).unwrap();
/// let report = merged.tally.dashboard(&merged.options);
/// assert_eq!(report.totals.totals.counted, 2);
/// assert_eq!(report.totals.visitors, 1); // the same visitor in both runs
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// The options the tally was counted with (relative times made absolute).
    pub options: UserOptions,
    /// The run's tally, panels and visitors included.
    pub tally: Tally,
}

impl RunState {
    /// Writes the state: the header line, then the options and the tally.
    pub fn write(&self, mut out: impl Write) -> Result<(), StateError> {
        out.write_all(header().as_bytes())?;
        bincode::serialize_into(&mut out, &(&self.options, &self.tally)).map_err(|e| match *e {
            bincode::ErrorKind::Io(e) => StateError::Io(e),
            other => StateError::Damaged(other.to_string()),
        })?;
        out.flush()?;
        Ok(())
    }

    /// Reads a state written by [`RunState::write`] of this version.
    pub fn read(input: impl Read) -> Result<RunState, StateError> {
        let mut input = std::io::BufReader::new(input);
        let mut line = Vec::new();
        // The header is one short line; a file of other bytes stops early.
        input.by_ref().take(100).read_until(b'\n', &mut line)?;
        if !line.starts_with(STATE_MAGIC) {
            return Err(StateError::NotState);
        }
        if line != header().as_bytes() {
            return Err(StateError::OtherVersion {
                found: String::from_utf8_lossy(&line).trim_end().to_string(),
            });
        }
        let (options, tally): (UserOptions, Tally) = bincode::deserialize_from(&mut input)
            .map_err(|e| StateError::Damaged(e.to_string()))?;
        if input.fill_buf()?.is_empty() {
            Ok(RunState { options, tally })
        } else {
            Err(StateError::Damaged(
                "bytes after the end of the state".into(),
            ))
        }
    }
}

/// Merges states counted with the same options into the state of one run
/// over all their files: counts added, visitors united, files and problems
/// joined. `index` in an error counts the states from 0.
pub fn merge_states(states: Vec<RunState>) -> Result<RunState, MergeError> {
    let options = states.first().ok_or(MergeError::Empty)?.options.clone();
    let mut tally = Tally::default();
    for (index, state) in states.into_iter().enumerate() {
        if let Some(option) = state.options.counting_difference(&options) {
            return Err(MergeError::OptionsDiffer { index, option });
        }
        tally.merge(state.tally);
    }
    Ok(RunState { options, tally })
}
