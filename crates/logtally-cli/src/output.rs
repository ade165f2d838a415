//! Rendering a report: an aligned table, JSON (the schema shared with the
//! page), CSV or TSV; written atomically when it goes to a file.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use logtally_core::{Dashboard, GroupBy, Report, Tally, UserOptions};

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

    /// Colour in the terminal report: auto (not when NO_COLOR is set or not a terminal), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Also write the run's state to FILE: every key and every visitor, for
    /// `logtally merge` to unite with other runs' states into exactly the
    /// report of one run (the visitor counts of reports cannot be added).
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
}

/// Whether the terminal report is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Show {
    /// `counted` (the options a merged report or state was counted with)
    /// showing the rows these flags ask for.
    pub fn rows_of(&self, counted: &UserOptions) -> UserOptions {
        UserOptions {
            top: self.top,
            all: self.all,
            min_count: self.min_count,
            ..counted.clone()
        }
    }

    /// Colour on: asked for, or `auto` on a terminal without `NO_COLOR`.
    pub fn color_on(&self) -> bool {
        use std::io::IsTerminal;
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && self.output.is_none()
                    && std::io::stdout().is_terminal()
            }
        }
    }
}

/// CSV and TSV show one panel (or the time series in long form): a usage
/// error for several panels without `--bucket`.
pub fn check_one_panel(user: &UserOptions, format: Format) -> Result<(), &'static str> {
    if user.report
        && matches!(format, Format::Csv | Format::Tsv)
        && user.report_panels().len() > 1
        && user.bucket.is_none()
    {
        return Err("CSV and TSV show one panel at a time: pick it with --by KEY (or give --bucket for the time series in long form), or choose --format table, json or html");
    }
    Ok(())
}

/// The text of a tally: its dashboard when `user.report`, else its one-key
/// report; and the report, which lists the files and problems. The tally is
/// used up: its keys move into the report.
pub fn render_tally(
    mut total: Tally,
    user: &UserOptions,
    format: Format,
    color: bool,
    seconds: f64,
    partial: bool,
) -> (Text, Report) {
    let dashboard = user.report.then(|| total.dashboard(user));
    // The process ends soon: its exit frees the panels' keys at once, faster
    // than one by one (millions of hosts and visitors).
    std::mem::forget(total.panels.take());
    let mut report = total.into_report(user);
    report.partial = partial;
    let text = match dashboard {
        Some(mut dashboard) => {
            dashboard.partial = partial;
            render_dashboard(&dashboard, format, color, seconds).into()
        }
        None => render(&report, user.by, format, seconds),
    };
    (text, report)
}

/// Writes `state` to `path` atomically.
pub fn write_state(path: &Path, state: &logtally_core::RunState) -> anyhow::Result<()> {
    write_atomically_with(path, |out| {
        state
            .write(std::io::BufWriter::with_capacity(1 << 20, out))
            .map_err(std::io::Error::other)
    })
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
    /// One self-contained HTML file with the dashboard (implies --report).
    Html,
}

/// The format asked for, or the default: a table on a terminal, TSV
/// otherwise; but a table for several panels (TSV holds one).
pub fn choose(show: &Show, user: &UserOptions) -> Format {
    use std::io::IsTerminal;
    let several_panels = user.report && user.report_panels().len() > 1 && user.bucket.is_none();
    show.format.unwrap_or(
        if several_panels || (std::io::stdout().is_terminal() && show.output.is_none()) {
            Format::Table
        } else {
            Format::Tsv
        },
    )
}

/// A rendered output: its text in pieces, written one after another (a
/// report of millions of rows is rendered in pieces on every thread, and
/// not copied into one string).
pub struct Text(Vec<String>);

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(vec![text])
    }
}

impl Text {
    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        self.0
            .iter()
            .try_for_each(|piece| out.write_all(piece.as_bytes()))
    }
}

/// Writes `text` to `path` (atomically) or to standard output (a closed pipe is no error).
pub fn emit(text: &Text, path: Option<&Path>) -> anyhow::Result<()> {
    use anyhow::Context;
    match path {
        Some(path) => write_atomically_with(path, |f| text.write_to(f)),
        None => {
            let mut out = std::io::stdout().lock();
            match text.write_to(&mut out).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(e).context("cannot write to standard output")
                }
                _ => Ok(()),
            }
        }
    }
}

pub fn render(report: &Report, by: GroupBy, format: Format, seconds: f64) -> Text {
    match format {
        Format::Json => {
            let mut pieces = report.pretty_json();
            pieces.push("\n".to_string());
            Text(pieces)
        }
        Format::Csv => logtally_render::counts_table(report, ',').into(),
        Format::Tsv => logtally_render::counts_table(report, '\t').into(),
        Format::Table => table(report, by, seconds).into(),
        Format::Html => unreachable!("--format html makes a report with panels"),
    }
}

/// A report with panels in `format`: JSON schema 2, terminal tables, one
/// panel (or the time series, with several panels) as CSV/TSV, or HTML.
pub fn render_dashboard(report: &Dashboard, format: Format, color: bool, seconds: f64) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).expect("a report serializes");
            s.push('\n');
            s
        }
        Format::Table => {
            let mut s = logtally_render::terminal(report, color);
            s.push_str(&format!("\n{:.2} s\n", seconds));
            s
        }
        Format::Csv | Format::Tsv => {
            let sep = if format == Format::Csv { ',' } else { '\t' };
            match (report.panels.0.as_slice(), &report.timeseries) {
                // One key over time (--by KEY --bucket): bucket,key,hits.
                ([_], _) if report.keys_over_time.is_some() => logtally_render::key_series_table(
                    report.keys_over_time.as_ref().expect("checked"),
                    sep,
                ),
                ([panel], _) => {
                    logtally_render::panel_table(report, &panel.name, sep).unwrap_or_default()
                }
                (_, Some(series)) => logtally_render::timeseries_table(series, sep),
                (_, None) => String::new(),
            }
        }
        Format::Html => logtally_render::html(report),
    }
}

fn table(report: &Report, by: GroupBy, seconds: f64) -> String {
    let rows = &report.counts;
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
        let key = logtally_core::printable(key);
        let _ = writeln!(s, "{:>rank_width$}  {n:>count_width$}  {key}", i + 1);
    }
    let t = &report.totals;
    s.push_str(&format!(
        "\n{} files, {} lines: {} counted, {} filtered, {} malformed; {} in, {} of text; {:.2} s{}\n",
        t.files,
        t.lines,
        t.counted,
        t.filtered,
        t.malformed,
        logtally_render::human_bytes(t.bytes_in),
        logtally_render::human_bytes(t.bytes_out),
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

/// Writes a file (`fill` writes its text) to a temporary name beside `path`, then renames
/// it: `path` is never left half written. A path that is there and is not a
/// regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written into instead:
/// a rename would put a regular file in its place.
fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| fill(&mut f))
            .with_context(|| format!("cannot write {}", path.display()));
    }
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
        fill(&mut f)?;
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
