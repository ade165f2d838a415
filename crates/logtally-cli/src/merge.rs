//! `logtally merge A.json B.json ...`: complete JSON reports (written with
//! `--all`, anywhere: other runs, machines, Dask or Spark tasks) combined into
//! exactly the report of one run over all their files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use logtally_core::{merge_reports, reshow, MergeError, Report, UserOptions};

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
        if serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v["schema"] == 2) {
            anyhow::bail!(
                "{}: a report with panels (--report, schema 2) holds visitor counts, not the visitors, so it cannot be merged exactly; merge reports of one key (--by KEY --all)",
                path.display()
            );
        }
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a logtally JSON report", path.display()))?;
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
