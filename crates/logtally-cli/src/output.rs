//! Rendering a report: an aligned table, JSON (the schema shared with the
//! page), CSV or TSV; written atomically when it goes to a file.

use std::io::Write;
use std::path::Path;

use logtally_core::{GroupBy, Report};

/// Which rows to show and where: the flags `logtally` and `logtally merge` share.
#[derive(Debug, clap::Args)]
pub struct Show {
    /// Show the N most frequent keys (0: all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,

    /// Show every key (overrides --top); such JSON reports can be merged (logtally merge).
    #[arg(long)]
    pub all: bool,

    /// Show only keys counted at least N times.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_count: u64,

    /// Output format (default: table on a terminal, tsv otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

/// How the counts are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with a summary line (default on a terminal).
    Table,
    /// One JSON object: counts, totals, files, errors.
    Json,
    /// `KEY,count` rows with a header, RFC 4180 quoting.
    Csv,
    /// `KEY<TAB>count` rows with a header (default when piped).
    Tsv,
}

/// The format asked for, or the default: a table on a terminal, TSV otherwise.
pub fn choose(format: Option<Format>, output: &Option<std::path::PathBuf>) -> Format {
    use std::io::IsTerminal;
    format.unwrap_or(if std::io::stdout().is_terminal() && output.is_none() {
        Format::Table
    } else {
        Format::Tsv
    })
}

/// Writes `text` to `path` (atomically) or to standard output (a closed pipe is no error).
pub fn emit(text: &str, path: Option<&Path>) -> anyhow::Result<()> {
    use anyhow::Context;
    match path {
        Some(path) => write_atomically(path, text),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(e).context("cannot write to standard output")
                }
                _ => Ok(()),
            }
        }
    }
}

pub fn render(report: &Report, by: GroupBy, format: Format, seconds: f64) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).expect("a report serializes");
            s.push('\n');
            s
        }
        Format::Csv => {
            let mut s = format!("{by},count\n");
            for (key, n) in &report.counts.0 {
                s.push_str(&format!("{},{n}\n", csv_field(key)));
            }
            s
        }
        Format::Tsv => {
            let mut s = format!("{by}\tcount\n");
            for (key, n) in &report.counts.0 {
                s.push_str(&format!("{}\t{n}\n", tsv_field(key)));
            }
            s
        }
        Format::Table => table(report, by, seconds),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn tsv_field(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn table(report: &Report, by: GroupBy, seconds: f64) -> String {
    let rows = &report.counts.0;
    let count_width = rows
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(0)
        .max(5);
    let rank_width = rows.len().to_string().len().max(4);
    let mut s = format!(
        "{:>rank_width$}  {:>count_width$}  {}\n",
        "RANK",
        "COUNT",
        by.name().to_uppercase()
    );
    for (i, (key, n)) in rows.iter().enumerate() {
        // Control characters from a log never reach the terminal raw.
        let key: String = key
            .chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect();
        s.push_str(&format!(
            "{:>rank_width$}  {n:>count_width$}  {key}\n",
            i + 1
        ));
    }
    let t = &report.totals;
    s.push_str(&format!(
        "\n{} files, {} lines: {} counted, {} filtered, {} malformed; {} in, {} of text; {:.2} s{}\n",
        t.files,
        t.lines,
        t.counted,
        t.filtered,
        t.malformed,
        human_bytes(t.bytes_in),
        human_bytes(t.bytes_out),
        seconds,
        if report.partial { " (PARTIAL: interrupted)" } else { "" }
    ));
    let mut formats: Vec<&str> = report.files.iter().map(|f| f.format.as_str()).collect();
    formats.sort_unstable();
    formats.dedup();
    formats.retain(|f| !f.is_empty());
    if !formats.is_empty() {
        s.push_str(&format!("log format: {}\n", formats.join(", ")));
    }
    if t.timed > 0 {
        s.push_str(&format!(
            "request time: mean {:.1} ms, max {:.1} ms over {} timed requests\n",
            t.time_total_us as f64 / t.timed as f64 / 1e3,
            t.time_max_us as f64 / 1e3,
            t.timed
        ));
    }
    s
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Writes `text` to `path` through a temporary file in the same directory and
/// a rename, so that a failure never leaves a half-written file behind.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("the output path names no file")?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e)
            .with_context(|| format!("cannot write {} (nothing was written)", path.display()));
    }
    Ok(())
}
