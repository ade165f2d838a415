//! `logtally._logtally`: the Python extension over logtally's core (PyO3).
//!
//! Everything about options and reports lives here and in the core; the pure
//! Python package (`python/logtally/`) only orchestrates. Options cross the
//! boundary as one JSON object, the CLI's long flags by name
//! ([`UserOptions::from_json`]); reports cross as the CLI's JSON (`--format
//! json`), which Python turns into a dict.
//!
//! Every function releases the GIL while it tallies or merges; reading a Python
//! file object re-acquires it for each `read(n)` call only.

use std::io::{self, Read};

use logtally_core::parallel::analyze_parallel;
use logtally_core::{
    failed_file, merge_reports, merge_states, reshow, Analyzer, Options, Report, ReportJsonError,
    RunState, Tally, UserOptions,
};
use logtally_files::{expand, open, Input};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use rayon::prelude::*;
use serde_json::{Map, Value};

/// Bytes asked of a Python file object per `read(n)` call.
pub const READ_CHUNK: usize = 1 << 20;

/// The user's options from their JSON form, validated (unknown names, wrong
/// types, unusable values), with the pipeline's compiled [`Options`].
///
/// A wrong type is reported with the option's name, which serde's own message
/// leaves out.
pub fn user_options(json: &str) -> Result<(UserOptions, Options), String> {
    let user = UserOptions::from_json(json).map_err(|e| name_the_option(json, e.to_string()))?;
    if user.newest_probe().is_some() {
        return Err("relative since/until (`2h`) count back from the newest record, which needs the files read twice: use logtally.tally(paths), or absolute times".into());
    }
    let options = user.compile().map_err(|e| e.to_string())?;
    Ok((user, options))
}

/// The user's options for a run over `paths`: as [`user_options`], with
/// relative `since`/`until` (`2h`) made absolute by a first pass over the
/// files that finds the newest record, as the CLI does.
pub fn run_options(json: &str, paths: &[String]) -> Result<(UserOptions, Options), String> {
    let user = UserOptions::from_json(json).map_err(|e| name_the_option(json, e.to_string()))?;
    let Some(probe) = user.newest_probe() else {
        return user_options(json);
    };
    // Everything but the times is checked before the files are read.
    let probe_options = probe.compile().map_err(|e| e.to_string())?;
    UserOptions {
        since: None,
        until: None,
        ..user.clone()
    }
    .compile()
    .map_err(|e| e.to_string())?;
    let newest = tally_paths(paths, probe_options)
        .newest()
        .ok_or("relative since/until: no record has a time")?;
    let user = user.before_newest(newest);
    let options = user.compile().map_err(|e| e.to_string())?;
    Ok((user, options))
}

/// Finds which option of `json` makes it invalid and says so in `message`.
fn name_the_option(json: &str, message: String) -> String {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(json) else {
        return message;
    };
    for (name, value) in map {
        let mut one = Map::new();
        one.insert(name.clone(), value);
        if let Err(e) = UserOptions::from_json(&Value::Object(one).to_string()) {
            let text = e.to_string();
            if text.contains(&format!("`{name}`")) {
                return text; // serde named it already (an unknown option)
            }
            let text = text.strip_prefix("invalid options: ").unwrap_or(&text);
            let text = text.split(" at line ").next().unwrap_or(text);
            return format!("invalid option `{name}`: {text}");
        }
    }
    message
}

fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

fn to_json(report: &Report) -> String {
    serde_json::to_string(report).expect("a report serializes")
}

/// The tally's report as the CLI prints it: with panels (schema 2) when the
/// options ask for a report, else the counts of one key.
fn report_json(tally: &Tally, user: &UserOptions) -> String {
    if user.report {
        serde_json::to_string(&tally.dashboard(user)).expect("a report serializes")
    } else {
        to_json(&tally.report(user))
    }
}

/// Parses report `index` (from 0) of a list, naming it when it is not one.
fn parse_report(index: usize, text: &str) -> Result<Report, String> {
    Report::from_json(text).map_err(|e| match e {
        ReportJsonError::Json(why) => {
            format!("report {} is not a logtally report: {why}", index + 1)
        }
        ReportJsonError::WithPanels => format!("report {}: {e}", index + 1),
    })
}

/// Tallies files like the CLI's thread engine: PATH arguments expanded
/// ([`expand`]: files, directories' `*.gz`/`*.log`, globs), files in parallel
/// on the current rayon pool (and the blocks of each file too when there are
/// fewer files than threads). Unreadable files
/// are failed files in the tally, as in the CLI.
pub fn tally_paths(paths: &[String], options: Options) -> Tally {
    let mut total = Tally::default();
    let mut files = Vec::new();
    for input in expand(paths) {
        match input {
            Input::File(path) => files.push(path),
            Input::Unusable { path, reason } => total.merge(failed_file(&path, &reason)),
        }
    }
    let analyzer = Analyzer::new(options);
    let threads = rayon::current_num_threads();
    // Fewer files than threads: the blocks of each file in parallel too (the
    // CLI's thread engine); otherwise one file per thread, read in one pass,
    // which costs less per byte.
    let blocks_in_parallel = threads > 1 && files.len() < threads;
    let tallies = files
        .par_iter()
        .map_init(
            || analyzer.clone(),
            |analyzer, path| match open(path) {
                Ok(file) if blocks_in_parallel => {
                    analyze_parallel(analyzer, path, file, 2 * threads)
                }
                Ok(file) => analyzer.analyze(path, file),
                Err(reason) => failed_file(path, &reason),
            },
        )
        .reduce(Tally::default, |mut a, b| {
            a.merge(b);
            a
        });
    total.merge(tallies);
    total
}

/// A [`Read`] over a Python binary file object: each refill calls
/// `fileobj.read(READ_CHUNK)` with the GIL held, and only then. A Python
/// exception becomes an I/O error carrying its text, so the stream ends as a
/// failed file naming it (lines before it still count), as a disk error would.
pub struct PyReader {
    file: Py<PyAny>,
    chunk: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl PyReader {
    /// Reads `file` (anything with `read(n) -> bytes`).
    pub fn new(file: Py<PyAny>) -> Self {
        PyReader {
            file,
            chunk: Vec::new(),
            pos: 0,
            eof: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let chunk = Python::with_gil(|py| -> PyResult<Vec<u8>> {
            let data = self.file.bind(py).call_method1("read", (READ_CHUNK,))?;
            if data.is_none() {
                return Ok(Vec::new());
            }
            if let Ok(bytes) = data.downcast::<PyBytes>() {
                return Ok(bytes.as_bytes().to_vec());
            }
            if let Ok(bytes) = data.downcast::<PyByteArray>() {
                return Ok(bytes.to_vec());
            }
            // memoryview and other buffers: through bytes().
            let bytes = py.import("builtins")?.getattr("bytes")?.call1((data,))?;
            Ok(bytes.downcast::<PyBytes>()?.as_bytes().to_vec())
        })
        .map_err(|e| io::Error::other(e.to_string()))?;
        self.eof = chunk.is_empty();
        self.chunk = chunk;
        self.pos = 0;
        Ok(())
    }
}

impl Read for PyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.chunk.len() {
            if self.eof {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The options that only choose which rows a report shows.
pub const VIEW_OPTIONS: [&str; 3] = ["top", "all", "min_count"];

/// `report` shown with the options `overrides` (a JSON object) asks for: the
/// rows as `top`, `all` and `min_count` say (their defaults where not given,
/// as on the command line), the counting options those of the report, which
/// `overrides` may repeat but not change: a counting option that differs (say
/// `by`) is refused, named, as is a report that lacks keys (written with
/// `--top` or `--min-count`).
pub fn render(report: Report, overrides: &str) -> Result<Report, String> {
    let user = shown_options(&report.options, overrides)?;
    reshow(report, &user).map_err(|e| e.to_string())
}

/// The options `counted` shows with when `overrides` (a JSON object) lays
/// its rows (`top`, `all`, `min_count`, their defaults where not given) and
/// maybe counting options over them (checked by the caller).
fn shown_options(counted: &UserOptions, overrides: &str) -> Result<UserOptions, String> {
    let Value::Object(over) =
        serde_json::from_str::<Value>(overrides).map_err(|e| format!("invalid options: {e}"))?
    else {
        return Err("invalid options: not a JSON object".to_string());
    };
    let Value::Object(mut options) = serde_json::to_value(counted).expect("options serialize")
    else {
        unreachable!("options serialize as an object");
    };
    for name in VIEW_OPTIONS {
        options.remove(name);
    }
    options.extend(over);
    Ok(user_options(&Value::Object(options).to_string())?.0)
}

/// A run's state as bytes (what the CLI's `--state FILE` writes).
fn state_bytes(options: UserOptions, tally: Tally) -> Vec<u8> {
    let mut bytes = Vec::new();
    RunState { options, tally }
        .write(&mut bytes)
        .expect("a state writes to memory");
    bytes
}

/// One stream's tally: its blocks on the rayon pool when `parallel`.
fn tally_reader(name: &str, reader: PyReader, options: Options, parallel: bool) -> Tally {
    let mut analyzer = Analyzer::new(options);
    let threads = rayon::current_num_threads();
    if parallel && threads > 1 {
        analyze_parallel(&analyzer, name, reader, 2 * threads)
    } else {
        analyzer.analyze(name, reader)
    }
}

/// `tally(paths, options_json) -> report_json`: the CLI's JSON for these PATH
/// arguments, files tallied in parallel with the GIL released.
#[pyfunction]
#[pyo3(name = "tally")]
fn py_tally(py: Python<'_>, paths: Vec<String>, options: &str) -> PyResult<String> {
    py.allow_threads(|| {
        let (user, compiled) = run_options(options, &paths)?;
        Ok(report_json(&tally_paths(&paths, compiled), &user))
    })
    .map_err(|e: String| value_error(e))
}

/// `tally_stream(fileobj, name, options_json, parallel=True) -> report_json`:
/// one stream (gzip or text, sniffed) read through `fileobj.read(n)`,
/// reported as file `name`, with the GIL released between reads. `parallel`
/// tallies its blocks on the rayon pool while the next ones are read; without
/// it, one pass on this thread (for workers that already run one task per core).
#[pyfunction]
#[pyo3(name = "tally_stream", signature = (fileobj, name, options, parallel=true))]
fn py_tally_stream(
    py: Python<'_>,
    fileobj: Py<PyAny>,
    name: &str,
    options: &str,
    parallel: bool,
) -> PyResult<String> {
    let (user, compiled) = user_options(options).map_err(value_error)?;
    let reader = PyReader::new(fileobj);
    Ok(py.allow_threads(|| report_json(&tally_reader(name, reader, compiled, parallel), &user)))
}

/// `tally_state(paths, options_json) -> bytes`: [`py_tally`]'s run as its
/// state (the CLI's `--state`), to merge exactly with other runs' states.
#[pyfunction]
#[pyo3(name = "tally_state")]
fn py_tally_state<'py>(
    py: Python<'py>,
    paths: Vec<String>,
    options: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py
        .allow_threads(|| {
            let (user, compiled) = run_options(options, &paths)?;
            Ok(state_bytes(user, tally_paths(&paths, compiled)))
        })
        .map_err(|e: String| value_error(e))?;
    Ok(PyBytes::new(py, &bytes))
}

/// `tally_stream_state(fileobj, name, options_json, parallel=True) -> bytes`:
/// [`py_tally_stream`]'s run as its state.
#[pyfunction]
#[pyo3(name = "tally_stream_state", signature = (fileobj, name, options, parallel=true))]
fn py_tally_stream_state<'py>(
    py: Python<'py>,
    fileobj: Py<PyAny>,
    name: &str,
    options: &str,
    parallel: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let (user, compiled) = user_options(options).map_err(value_error)?;
    let reader = PyReader::new(fileobj);
    let bytes =
        py.allow_threads(|| state_bytes(user, tally_reader(name, reader, compiled, parallel)));
    Ok(PyBytes::new(py, &bytes))
}

/// `merge_states(states) -> bytes`: states (bytes) united into the state of
/// one run over all their files; ValueError naming a state that is damaged,
/// from another version, or counted with other options.
#[pyfunction]
#[pyo3(name = "merge_states")]
fn py_merge_states<'py>(py: Python<'py>, states: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyBytes>> {
    let merged = py.allow_threads(|| {
        let states = states
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                RunState::read(&bytes[..]).map_err(|e| format!("state {}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let merged = merge_states(states).map_err(|e| e.to_string())?;
        Ok(state_bytes(merged.options, merged.tally))
    });
    merged
        .map(|bytes| PyBytes::new(py, &bytes))
        .map_err(|e: String| value_error(e))
}

/// `render_state(state, options_json) -> report_json`: the state's report
/// (with panels when it was counted with them) showing the rows
/// `options_json` asks for (`top`, `all`, `min_count`); other options must be
/// those it was counted with.
#[pyfunction]
#[pyo3(name = "render_state")]
fn py_render_state(py: Python<'_>, state: Vec<u8>, options: &str) -> PyResult<String> {
    py.allow_threads(|| {
        let state = RunState::read(&state[..]).map_err(|e| format!("state: {e}"))?;
        let user = shown_options(&state.options, options)?;
        if let Some(option) = user.counting_difference(&state.options) {
            return Err(format!(
                "the state was counted with another `{option}`: its counts cannot be shown for this one"
            ));
        }
        Ok(report_json(&state.tally, &user))
    })
    .map_err(|e: String| value_error(e))
}

/// `failed_state(name, reason, options_json) -> bytes`: the state of one file
/// that could not be read.
#[pyfunction]
#[pyo3(name = "failed_state")]
fn py_failed_state<'py>(
    py: Python<'py>,
    name: &str,
    reason: &str,
    options: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let (user, _) = user_options(options).map_err(value_error)?;
    Ok(PyBytes::new(
        py,
        &state_bytes(user, failed_file(name, reason)),
    ))
}

/// `merge(report_jsons, options_json=None) -> report_json`: the core's
/// `merge_reports` (refusals as ValueError, naming the report), then shown
/// with `options_json` laid over the merged report's options (see [`render`]).
#[pyfunction]
#[pyo3(name = "merge", signature = (reports, options=None))]
fn py_merge(py: Python<'_>, reports: Vec<String>, options: Option<&str>) -> PyResult<String> {
    py.allow_threads(|| {
        let reports = reports
            .iter()
            .enumerate()
            .map(|(i, text)| parse_report(i, text))
            .collect::<Result<Vec<_>, _>>()?;
        let merged = merge_reports(reports).map_err(|e| e.to_string())?;
        let merged = match options {
            Some(options) => render(merged, options)?,
            None => merged,
        };
        Ok(to_json(&merged))
    })
    .map_err(|e: String| value_error(e))
}

/// `render(report_json, options_json) -> report_json`: a complete report shown
/// with other `top`/`all`/`min_count` (see [`render`]).
#[pyfunction]
#[pyo3(name = "render")]
fn py_render(report: &str, options: &str) -> PyResult<String> {
    let report = parse_report(0, report).map_err(value_error)?;
    render(report, options)
        .map(|r| to_json(&r))
        .map_err(value_error)
}

/// `worker_options(options_json) -> options_json`: the options validated
/// (ValueError naming a bad one), with `all` set, so that the reports written
/// with them are complete and merge exactly.
#[pyfunction]
#[pyo3(name = "worker_options")]
fn py_worker_options(options: &str) -> PyResult<String> {
    let (user, _) = user_options(options).map_err(value_error)?;
    let complete = UserOptions { all: true, ..user };
    Ok(serde_json::to_string(&complete).expect("options serialize"))
}

/// `failed_report(name, reason, options_json) -> report_json`: the report of
/// one file that could not be read, as the CLI writes it.
#[pyfunction]
#[pyo3(name = "failed_report")]
fn py_failed_report(name: &str, reason: &str, options: &str) -> PyResult<String> {
    let (user, _) = user_options(options).map_err(value_error)?;
    Ok(to_json(&failed_file(name, reason).report(&user)))
}

/// The extension module `logtally._logtally`.
#[pymodule]
fn _logtally(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("GZIP_BACKEND", logtally_core::read::GZIP_BACKEND)?;
    m.add_function(wrap_pyfunction!(py_tally, m)?)?;
    m.add_function(wrap_pyfunction!(py_tally_stream, m)?)?;
    m.add_function(wrap_pyfunction!(py_merge, m)?)?;
    m.add_function(wrap_pyfunction!(py_render, m)?)?;
    m.add_function(wrap_pyfunction!(py_worker_options, m)?)?;
    m.add_function(wrap_pyfunction!(py_failed_report, m)?)?;
    m.add_function(wrap_pyfunction!(py_tally_state, m)?)?;
    m.add_function(wrap_pyfunction!(py_tally_stream_state, m)?)?;
    m.add_function(wrap_pyfunction!(py_merge_states, m)?)?;
    m.add_function(wrap_pyfunction!(py_render_state, m)?)?;
    m.add_function(wrap_pyfunction!(py_failed_state, m)?)?;
    Ok(())
}
