//! Checks shared by the CLI's integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Every line read is accounted for, per file and in total, and the files add
/// up to the total.
pub fn assert_balanced(v: &Value) {
    let n = |o: &Value, k: &str| o[k].as_u64().unwrap_or_else(|| panic!("no {k} in {o}"));
    let t = &v["totals"];
    assert_eq!(
        n(t, "lines"),
        n(t, "counted") + n(t, "filtered") + n(t, "malformed"),
        "{t}"
    );
    let files = v["files"].as_array().unwrap();
    for f in files {
        assert_eq!(
            n(f, "lines"),
            n(f, "counted") + n(f, "filtered") + n(f, "malformed"),
            "{f}"
        );
    }
    assert_eq!(
        files.iter().map(|f| n(f, "lines")).sum::<u64>(),
        n(t, "lines")
    );
}

/// A fresh, empty directory for a test: `group/name` under the tests' temporary dir.
#[allow(dead_code)] // each test binary uses a part of this module
pub fn fresh_dir(group: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `command`; its output, once it has succeeded (else the test fails
/// with the command and its stderr).
#[allow(dead_code)] // each test binary uses a part of this module
pub fn succeeded(command: &mut Command) -> Output {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
