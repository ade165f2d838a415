//! `logtally merge A.json B.json ...`: complete JSON reports (written with
//! `--all`, anywhere: other runs, machines, Dask or Spark tasks) combined into
//! exactly the report of one run over all their files. Runs with panels
//! merge through their states (`--state`): visitors are united, not added.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use logtally_core::{
    merge_reports, merge_states, reshow, MergeError, Report, ReportJsonError, RunState, STATE_MAGIC,
};

use crate::output::{self, Show};

/// Merge logtally JSON reports, or states, into the report of one run over all their files.
///
/// JSON reports must be complete (written with --all, or with every key
/// shown). Reports with panels (--report) merge through their states: write
/// them with --state FILE, merge the states. Either way, the runs must have
/// counted with the same options (key, prefix, filters, format).
#[derive(Debug, Parser)]
#[command(name = "logtally merge")]
pub struct MergeCli {
    /// JSON reports written by `logtally --format json --all`, or states
    /// written by `logtally --state FILE` (all of one kind).
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,

    #[command(flatten)]
    show: Show,
}

/// Whether the file at `path` is a state (by its first bytes).
fn is_state(path: &Path) -> anyhow::Result<bool> {
    let mut start = Vec::with_capacity(STATE_MAGIC.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(STATE_MAGIC.len() as u64).read_to_end(&mut start))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(start == STATE_MAGIC)
}

/// `MergeError` with the report or state it is about named by its path.
fn named(e: MergeError, paths: &[PathBuf]) -> anyhow::Error {
    match &e {
        MergeError::Incomplete { index, .. } | MergeError::OptionsDiffer { index, .. } => {
            anyhow::anyhow!("{}: {e}", paths[*index].display())
        }
        MergeError::Empty | MergeError::CountedOtherwise { .. } => anyhow::anyhow!(e),
    }
}

/// Runs `logtally merge`; `Err` for a report that cannot be read or merged.
pub fn run(cli: MergeCli) -> anyhow::Result<ExitCode> {
    let kinds = cli
        .reports
        .iter()
        .map(|p| is_state(p))
        .collect::<anyhow::Result<Vec<bool>>>()?;
    match (
        kinds.iter().position(|&s| s),
        kinds.iter().position(|&s| !s),
    ) {
        (Some(_), None) => return run_states(cli),
        (Some(state), Some(report)) => anyhow::bail!(
            "{} is a state and {} is not: merge states, or JSON reports, not both",
            cli.reports[state].display(),
            cli.reports[report].display()
        ),
        _ => {}
    }
    if cli.show.state.is_some() {
        anyhow::bail!("--state: JSON reports hold no state to write; merge states instead");
    }
    if cli.show.format == Some(output::Format::Html) {
        anyhow::bail!(
            "--format html needs panels: merge states written with --report --state FILE"
        );
    }
    let mut reports = Vec::with_capacity(cli.reports.len());
    for path in &cli.reports {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report = Report::from_json(&text).map_err(|e| match e {
            ReportJsonError::Json(why) => {
                anyhow::anyhow!("{}: not a logtally JSON report: {why}", path.display())
            }
            ReportJsonError::WithPanels => anyhow::anyhow!("{}: {e}", path.display()),
        })?;
        reports.push(report);
    }
    let merged = merge_reports(reports).map_err(|e| named(e, &cli.reports))?;
    let options = cli.show.rows_of(&merged.options);
    // The merged report is complete and counted with these options: it shows.
    let report = reshow(merged, &options)?;
    let format = output::choose(&cli.show, &options);
    let text = output::render(&report, options.by, format, 0.0);
    output::emit(&text, cli.show.output.as_deref())?;
    let failed = report.files.iter().any(|f| f.failed);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Merges states: the report (with panels, or of one key) of one run over
/// all their files, and the merged state when `--state` asks for it.
fn run_states(cli: MergeCli) -> anyhow::Result<ExitCode> {
    let mut states = Vec::with_capacity(cli.reports.len());
    for path in &cli.reports {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        states.push(RunState::read(file).with_context(|| path.display().to_string())?);
    }
    let merged = merge_states(states).map_err(|e| named(e, &cli.reports))?;
    let user = cli.show.rows_of(&merged.options);
    let format = output::choose(&cli.show, &user);
    if format == output::Format::Html && !user.report {
        anyhow::bail!("--format html: these states have no panels (write them with --report)");
    }
    if let Err(why) = output::check_one_panel(&user, format) {
        anyhow::bail!(why);
    }
    // The state first: the report then takes over the merged tally's keys.
    if let Some(path) = &cli.show.state {
        output::write_state(path, &merged)?;
    }
    let (text, report) =
        output::render_tally(merged.tally, &user, format, cli.show.color_on(), 0.0, false);
    output::emit(&text, cli.show.output.as_deref())?;
    Ok(if report.files.iter().any(|f| f.failed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
