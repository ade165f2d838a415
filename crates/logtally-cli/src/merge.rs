//! `logtally merge A.json B.json ...`: complete JSON reports (written with
//! `--all`, anywhere: other runs, machines, Dask or Spark tasks) combined into
//! exactly the report of one run over all their files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use logtally_core::{merge_reports, reshow, MergeError, Report, ReportJsonError, UserOptions};

use crate::output::{self, Show};

/// Merge logtally JSON reports into the report of one run over all their files.
///
/// The reports must be complete (written with --all, or with every key shown)
/// and counted with the same options (key, prefix, filters, format).
#[derive(Debug, Parser)]
#[command(name = "logtally merge")]
pub struct MergeCli {
    /// JSON reports written by `logtally --format json --all`.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,

    #[command(flatten)]
    show: Show,
}

/// Runs `logtally merge`; `Err` for a report that cannot be read or merged.
pub fn run(cli: MergeCli) -> anyhow::Result<ExitCode> {
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
    let merged = merge_reports(reports).map_err(|e| {
        let named = match &e {
            MergeError::Incomplete { index, .. } | MergeError::OptionsDiffer { index, .. } => {
                format!("{}: {e}", cli.reports[*index].display())
            }
            MergeError::Empty | MergeError::CountedOtherwise { .. } => e.to_string(),
        };
        anyhow::anyhow!(named)
    })?;
    let options = UserOptions {
        top: cli.show.top,
        all: cli.show.all,
        min_count: cli.show.min_count,
        ..merged.options.clone()
    };
    // The merged report is complete and counted with these options: it shows.
    let report = reshow(merged, &options)?;
    let text = output::render(
        &report,
        options.by,
        output::choose(cli.show.format, &cli.show.output),
        0.0,
    );
    output::emit(&text, cli.show.output.as_deref())?;
    let failed = report.files.iter().any(|f| f.failed);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
