//! `logtally`: tally web-server access logs (`.gz` and plain) on every core.

mod engine;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod huge_pages;
mod merge;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use logtally_core::read::DEFAULT_MAX_LINE;
use logtally_core::{failed_file, Bucket, GroupBy, Tally, UserOptions};

use engine::{Engine, FileTask, INTERRUPTED};
use logtally_files::Input;

/// Tally web-server access logs (.gz or plain; Apache, nginx, IIS, Caddy, Traefik, AWS or custom formats) in parallel.
///
/// Counts requests by path (or another key) over many files at once, the way the
/// classic map-reduce over gzipped logs with a process pool does, and accounts for
/// every line read: counted, filtered or malformed.
#[derive(Debug, Parser)]
#[command(name = "logtally", version, after_help = AFTER_HELP)]
struct Cli {
    /// Log files, directories (their *.gz and *.log files) or quoted glob patterns.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// process: p worker processes + this parent (a multiprocessing.Pool); thread: a
    /// rayon thread pool; serial: one file after another.
    #[arg(long, value_enum, default_value_t = Engine::Process)]
    engine: Engine,

    /// Workers to run (default: available cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,

    /// Keep only paths below this prefix (e.g. /book/: first segment "book" and at least one more).
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,

    /// What to count (default: path); several, comma-separated, make a report
    /// with those panels (see --report).
    #[arg(long, value_name = "KEY[,KEY...]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(GroupBy::ALL.map(GroupBy::name)).map(|s| s.parse::<GroupBy>().expect("listed")))]
    by: Vec<GroupBy>,

    /// Every panel in one pass (path, static, not-found, host, status, method,
    /// protocol, hour, day, referrer-host, browser, os, vhost; --by picks some):
    /// hits, unique visitors and bytes per key, and hits over time.
    #[arg(long)]
    report: bool,

    /// Only records at or after this time of the log: 2015-05-17, 2015-05-17T10:00,
    /// or 2h, 30m, 7d before the newest record.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,

    /// Only records before this time of the log (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,

    /// Only records where EXPR holds (repeatable, ANDed): status>=500, method=POST,
    /// path~^/api/ (regex), path^=/book/ (prefix), host=10.0.0.0/8, agent~bot,
    /// bytes>100000, vhost=example.com; != and !~ negate.
    #[arg(long = "where", value_name = "EXPR")]
    conditions: Vec<String>,

    /// The time series' bucket: 1m, 5m, 15m, 1h or 1d (default: chosen from the
    /// time span: the narrowest with at most 200 points). With one --by KEY: its
    /// top keys over time.
    #[arg(long, value_name = "WIDTH")]
    bucket: Option<Bucket>,

    /// The log format: auto (detected per file from its first lines), a preset
    /// (combined, common, vcombined, vcommon, combined-xff, traefik, w3c, cloudfront,
    /// caddy, aws-elb, aws-alb, s3), an nginx log_format string ('$remote_addr ...')
    /// or an Apache LogFormat string ('%h %l %u %t ...').
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    log_format: String,

    /// The book program's exact behaviour: its Combined/Common pattern only, and
    /// its drops (empty request, a URL or referrer urlparse rejects) as malformed.
    #[arg(long)]
    book_compat: bool,

    /// Count every path: no favicon.ico/robots.txt/.png/.js/.css/... filter.
    #[arg(long)]
    no_path_filter: bool,

    /// Also drop paths with this segment (repeatable).
    #[arg(long, value_name = "NAME")]
    exclude_name: Vec<String>,

    /// Also drop paths whose last segment ends with this (repeatable), e.g. .gif
    #[arg(long, value_name = "EXT")]
    exclude_ext: Vec<String>,

    #[command(flatten)]
    show: output::Show,

    /// No progress bar and no notices about malformed lines.
    #[arg(short, long)]
    quiet: bool,

    /// Lines longer than this many bytes count as malformed.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE)]
    max_line: usize,

    /// Benchmark floor: only decompress and split lines, parse nothing (lines show as filtered).
    #[arg(long, hide = true)]
    decompress_only: bool,

    /// Print timing and peak memory as one JSON line on stderr (for benchmarks).
    #[arg(long, hide = true)]
    stats: bool,
}

const AFTER_HELP: &str = "\
Exit status: 0 when every file was read, 1 when some could not be (the others are
still counted and the failures named), 2 for a usage error, 130 when interrupted
(a partial result is printed, marked partial).

Examples:
  logtally --prefix /book/ logs/
  logtally --by status --format json 'logs/access-*.gz'
  logtally --engine thread -j 8 --all --format csv -o paths.csv logs/
  logtally --log-format '$host $remote_addr - $remote_user [$time_local] \"$request\" $status ...' logs/
  logtally --all --format json -o day1.json logs/day1/   # and later:
  logtally merge day1.json day2.json";

/// Blocks of a megabyte are made and freed by the thousand (the text of a
/// file spread over workers). glibc would map each afresh and hand it back on
/// free, so every block's pages were faulted in and zeroed again (a fifth of
/// a run's time in the kernel). Allocations under 4 MiB come from the heap,
/// which keeps up to 32 MiB freed for reuse; larger ones (the hash tables of
/// a report) are still mapped and unmapped. Measured: a trim threshold of
/// 128 MiB made `--report`'s parent peak 1,020 MB instead of 720.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only tunes the allocator; it runs before any thread
    // starts, and a refused setting (returns 0) leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

/// Other allocators keep their own counsel.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// Whether this process's allocator asks for transparent huge pages.
fn huge_pages_asked() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        huge_pages::asked()
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    huge_pages::ask_for_huge_pages();
    keep_freed_memory();
    procpool::init();
    // `logtally merge REPORT...` (a log file named merge is `./merge`).
    if std::env::args_os().nth(1).is_some_and(|a| a == "merge") {
        let cli = merge::MergeCli::parse_from(std::env::args_os().skip(1));
        return match merge::run(cli) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("logtally merge: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("logtally: {e:#}");
            ExitCode::from(1)
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // A second interrupt: stop now (workers die with us: PR_SET_PDEATHSIG).
        unsafe { libc::_exit(130) };
    }
}

fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// The options as the core's contract (the same JSON the page and Python send).
fn user_options(cli: &Cli) -> UserOptions {
    // Several keys, or a key over time (--bucket), make a report with panels.
    let report = cli.report || cli.by.len() > 1 || cli.bucket.is_some();
    UserOptions {
        by: cli.by.first().copied().unwrap_or_default(),
        report,
        panels: if report { cli.by.clone() } else { Vec::new() },
        since: cli.since.clone(),
        until: cli.until.clone(),
        conditions: cli.conditions.clone(),
        bucket: cli.bucket,
        prefix: cli.prefix.clone(),
        no_path_filter: cli.no_path_filter,
        exclude_name: cli.exclude_name.clone(),
        exclude_ext: cli.exclude_ext.clone(),
        max_line: cli.max_line,
        top: cli.show.top,
        all: cli.show.all,
        min_count: cli.show.min_count,
        log_format: cli.log_format.clone(),
        book_compat: cli.book_compat,
    }
}

fn progress_bar(total_bytes: u64, files: usize, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("valid template"),
    );
    bar.set_message(format!("0/{files} files"));
    bar
}

/// Wall time, throughput and peak resident memory of this process and of its
/// largest (reaped) worker, and whether the allocator asked for huge pages,
/// as one JSON object.
fn stats_line(seconds: f64, total: &Tally) -> String {
    fn max_rss_kb(who: libc::c_int) -> i64 {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut usage) };
        usage.ru_maxrss
    }
    serde_json::json!({
        "seconds": seconds,
        "lines": total.totals.lines,
        "bytes_in": total.totals.bytes_in,
        "bytes_out": total.totals.bytes_out,
        "max_rss_parent_kb": max_rss_kb(libc::RUSAGE_SELF),
        "max_rss_worker_kb": max_rss_kb(libc::RUSAGE_CHILDREN),
        "gzip_backend": logtally_core::read::GZIP_BACKEND,
        "huge_pages": huge_pages_asked(),
    })
    .to_string()
}

/// The files' tally with `options` on the chosen engine (a progress bar on
/// a terminal); whether every file was read, and how many were.
fn tally_files(
    cli: &Cli,
    options: &logtally_core::Options,
    quiet: bool,
) -> anyhow::Result<(Tally, bool, usize, usize)> {
    let mut total = Tally::default();
    let mut tasks = Vec::new();
    for input in logtally_files::expand(&cli.paths) {
        match input {
            Input::File(path) => tasks.push(FileTask {
                path,
                options: options.clone(),
                decompress_only: cli.decompress_only,
            }),
            Input::Unusable { path, reason } => total.merge(failed_file(&path, &reason)),
        }
    }
    let bytes: Vec<u64> = tasks
        .iter()
        .map(|t| std::fs::metadata(&t.path).map_or(0, |m| m.len()))
        .collect();
    let files = tasks.len();
    let bar = progress_bar(bytes.iter().sum(), files, quiet);
    let jobs = jobs(cli);
    let mut finished = 0;
    let complete = engine::run(cli.engine, jobs, tasks, |tally| {
        finished += 1;
        bar.inc(tally.rest.totals.bytes_in);
        bar.set_message(format!("{finished}/{files} files"));
        total.merge_shipped(tally);
    })
    .context("the engine could not start")?;
    bar.finish_and_clear();
    Ok((total, complete, finished, files))
}

/// The workers asked for (`-j`), or one per core.
fn jobs(cli: &Cli) -> usize {
    cli.jobs.unwrap_or_else(procpool::available_cores).max(1)
}

/// Relative `--since`/`--until` (`2h`) made absolute: a first pass finds the
/// newest record. A usage error names the option.
fn resolve_relative_times(cli: &Cli, user: &mut UserOptions) -> anyhow::Result<Result<(), String>> {
    let Some(probe) = user.newest_probe() else {
        return Ok(Ok(()));
    };
    let options = match probe.compile() {
        Ok(options) => options,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let (total, _, _, _) = tally_files(cli, &options, cli.quiet)?;
    let Some(newest) = total.newest() else {
        return Ok(Err(
            "relative --since/--until: no record has a time".to_string()
        ));
    };
    *user = user.before_newest(newest);
    Ok(Ok(()))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    install_signal_handlers();
    let started = Instant::now();
    let mut user = user_options(&cli);
    let format = output::choose(&cli.show, &user);
    if format == output::Format::Html {
        user.report = true;
    }
    if let Err(e) = resolve_relative_times(&cli, &mut user)? {
        eprintln!("logtally: {e}");
        return Ok(ExitCode::from(2));
    }
    let options = match user.compile() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("logtally: {e}");
            return Ok(ExitCode::from(2)); // a usage error
        }
    };
    if let Err(why) = output::check_one_panel(&user, format) {
        eprintln!("logtally: {why}");
        return Ok(ExitCode::from(2));
    }
    let (mut total, complete, finished, files) = tally_files(&cli, &options, cli.quiet)?;
    let seconds = started.elapsed().as_secs_f64();
    if cli.stats {
        eprintln!("{}", stats_line(seconds, &total));
    }
    // The state first: the report then takes over the total's keys.
    if let Some(path) = &cli.show.state {
        if complete {
            let state = logtally_core::RunState {
                options: user.clone(),
                tally: total,
            };
            output::write_state(path, &state)?;
            total = state.tally;
        } else {
            eprintln!(
                "logtally: {} not written: an interrupted run's state would merge as if complete",
                path.display()
            );
        }
    }

    // Ranking millions of keys (`--all`) sorts on the threads `-j` allows.
    let jobs = match cli.engine {
        engine::Engine::Serial => 1,
        _ => jobs(&cli),
    };
    let render = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let (text, report) = render.install(|| {
        output::render_tally(
            total,
            &user,
            format,
            cli.show.color_on(),
            seconds,
            !complete,
        )
    });
    output::emit(&text, cli.show.output.as_deref())?;

    let mut failed = false;
    for file in &report.files {
        if file.failed {
            failed = true;
        }
        if file.malformed > 0 && !cli.quiet {
            eprintln!(
                "logtally: {}: {} malformed line(s)",
                file.path, file.malformed
            );
        }
    }
    for problem in &report.errors {
        if problem.line.is_none() || !cli.quiet {
            eprintln!("logtally: {problem}");
        }
    }
    if report.partial {
        eprintln!("logtally: interrupted: the result is partial ({finished} of {files} files)");
        return Ok(ExitCode::from(130));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
