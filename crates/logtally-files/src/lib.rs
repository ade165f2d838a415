//! logtally's inputs on disk, shared by the CLI and the Python package: PATH
//! arguments expanded to log files (files, directories' `*.gz` and `*.log`,
//! glob patterns), each file opened with the reason named when it cannot be,
//! and tallied through the core.
//!
//! ```
//! use logtally_core::{Analyzer, UserOptions};
//! use logtally_files::{expand, tally_path, Input};
//! let inputs = expand(&["/no/such/dir/*.gz".to_string()]);
//! assert!(matches!(&inputs[0], Input::Unusable { .. }));
//! let mut analyzer = Analyzer::new(UserOptions::default().compile().unwrap());
//! let tally = tally_path(&mut analyzer, "/no/such/file.gz");
//! assert!(tally.files[0].failed);
//! assert_eq!(tally.errors[0].message, "No such file or directory");
//! ```

mod inputs;

use std::fs::File;

use logtally_core::{failed_file, Analyzer, Tally};

pub use inputs::{expand, Input};

/// Opens an input file, or says why it cannot be read (the OS's words).
pub fn open(path: &str) -> Result<File, String> {
    let file = File::open(path).map_err(|e| io_reason(&e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err("is a directory".to_string());
    }
    Ok(file)
}

/// The seed's `analysis(filename)`: never fails; a file that cannot be read
/// comes back as a failed tally naming the reason.
pub fn tally_path(analyzer: &mut Analyzer, path: &str) -> Tally {
    match open(path) {
        Ok(file) => analyzer.analyze(path, file),
        Err(reason) => failed_file(path, &reason),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    // The OS text without Rust's "(os error N)" suffix.
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
