//! PATH arguments -> input files: files as given, directories' `*.gz` and
//! `*.log` files, and glob patterns expanded here as the seed's `glob.glob`.

use std::path::{Path, PathBuf};

/// An input named on the command line, or why it names nothing readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file to analyse.
    File(String),
    /// An argument that cannot be analysed, with the reason.
    Unusable { path: String, reason: String },
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

fn is_log_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz") || e.eq_ignore_ascii_case("log"))
}

/// Adds the files among `paths`, sorted by name, or says `empty` when there are none.
fn push_files(
    inputs: &mut Vec<Input>,
    arg: &str,
    paths: impl Iterator<Item = PathBuf>,
    empty: &str,
) {
    let mut files: Vec<String> = paths
        .filter(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    if files.is_empty() {
        inputs.push(Input::Unusable {
            path: arg.to_string(),
            reason: empty.to_string(),
        });
    }
    inputs.extend(files.into_iter().map(Input::File));
}

/// Expands the PATH arguments, keeping their order (entries of one directory
/// or one pattern sorted by name).
pub fn expand(args: &[String]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let logs = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| is_log_name(p));
                    push_files(
                        &mut inputs,
                        arg,
                        logs,
                        "directory has no *.gz or *.log files",
                    );
                }
                Err(e) => inputs.push(Input::Unusable {
                    path: arg.clone(),
                    reason: format!("cannot list directory: {e}"),
                }),
            }
        } else if !path.exists() && is_glob(arg) {
            match glob::glob(arg) {
                Ok(paths) => push_files(
                    &mut inputs,
                    arg,
                    paths.filter_map(Result::ok),
                    "no file matches this pattern",
                ),
                Err(e) => inputs.push(Input::Unusable {
                    path: arg.clone(),
                    reason: format!("bad pattern: {e}"),
                }),
            }
        } else {
            // Missing or unreadable files are reported when they are opened.
            inputs.push(Input::File(arg.clone()));
        }
    }
    inputs
}
