//! The `logtally` binary end to end: counts against the seed program (the
//! oracle), engines against each other, and failures named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::assert_balanced;

fn logtally() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logtally"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> String {
    repo()
        .join("samples/apache_logs.gz")
        .to_string_lossy()
        .into_owned()
}

/// `../shared/tools/reference.py` beside the checkout, as CI has it
/// (LOGTALLY_SHARED overrides), if it is there.
fn reference_py() -> Option<PathBuf> {
    let shared = std::env::var_os("LOGTALLY_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    let script = shared.join("tools/reference.py");
    script.is_file().then_some(script)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the command runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

/// The seed program's counts for `files` (`--any-host`; `--all-paths` unless a
/// book run), from the program itself when `../shared` is there, else from the
/// committed fixture `fixtures/{fixture}.json` that an earlier run of it wrote.
/// With the program there, the fixture is checked against it (and written if
/// missing), so the two cannot drift apart.
fn reference(fixture: &str, files: &[String], all_paths: bool) -> BTreeMap<String, u64> {
    let saved = repo().join(format!("crates/logtally-cli/tests/fixtures/{fixture}.json"));
    let Some(script) = reference_py() else {
        eprintln!(
            "note: ../shared/tools/reference.py is not beside the checkout: using the recorded oracle {}",
            saved.display()
        );
        let text = std::fs::read_to_string(&saved)
            .unwrap_or_else(|e| panic!("no oracle: {} ({e})", saved.display()));
        return serde_json::from_str(&text).expect("the fixture is JSON");
    };
    let mut cmd = Command::new("python3");
    cmd.arg(script).args(["--pool", "serial", "--any-host"]);
    if all_paths {
        cmd.arg("--all-paths");
    }
    let out = common::succeeded(cmd.args(files));
    let live = counts(&serde_json::from_slice(&out.stdout).unwrap());
    match std::fs::read_to_string(&saved) {
        Ok(text) => {
            let recorded: BTreeMap<String, u64> = serde_json::from_str(&text).unwrap();
            assert_eq!(recorded, live, "the fixture {} is stale", saved.display());
        }
        Err(_) => {
            std::fs::write(&saved, serde_json::to_string_pretty(&live).unwrap()).unwrap();
        }
    }
    live
}

fn corpus(
    name: &str,
    files: usize,
    lines: usize,
    seed: u64,
    style: logtally_gen::Style,
) -> Vec<String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    logtally_gen::write_corpus(&dir, files, lines, seed, style)
        .unwrap()
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

fn tally_json(engine: &str, extra: &[&str], files: &[String]) -> Value {
    let out = common::succeeded(
        logtally()
            .args([
                "--engine", engine, "-j", "2", "--all", "--format", "json", "-q",
            ])
            .args(extra)
            .args(files),
    );
    json_of(&out)
}

#[test]
fn apache_sample_matches_the_seed_program_exactly() {
    let files = vec![sample()];
    let ours = tally_json("serial", &[], &files);
    assert_eq!(
        counts(&ours),
        reference("apache_logs.reference", &files, true)
    );
    assert_eq!(ours["totals"]["lines"], 10_000);
    assert_eq!(ours["totals"]["counted"], 4396);
    assert_eq!(ours["totals"]["filtered"], 5603);
    assert_eq!(ours["totals"]["malformed"], 1);
    assert_eq!(ours["errors"][0]["line"], 8899);
    assert_balanced(&ours);
}

#[test]
fn generated_corpus_matches_the_seed_program_with_and_without_the_book_filter() {
    let files = corpus("oracle", 5, 4000, 42, logtally_gen::Style::Oracle);
    let all = tally_json("serial", &["--book-compat"], &files);
    assert_eq!(counts(&all), reference("oracle-all", &files, true));
    let book = tally_json("serial", &["--book-compat", "--prefix", "/book/"], &files);
    let expected = reference("oracle-book", &files, false);
    assert!(expected.len() > 10, "the corpus exercises the book filter");
    assert_eq!(counts(&book), expected);
    assert_eq!(all["totals"]["files"], 5);
    assert_eq!(all["totals"]["lines"], 20_000);
    assert!(
        all["totals"]["malformed"].as_u64().unwrap() > 100,
        "the corpus has malformed lines"
    );
    assert_balanced(&all);
    assert_balanced(&book);
}

#[test]
fn engines_give_identical_json() {
    let mut files = corpus("wild", 6, 3000, 7, logtally_gen::Style::Wild);
    files.push(sample());
    for extra in [
        &[][..],
        &["--by", "status"][..],
        &["--by", "hour", "--prefix", "/book/"][..],
        &["--by", "referrer-host"][..],
        &["--by", "agent-product"][..],
    ] {
        let serial = tally_json("serial", extra, &files);
        assert_eq!(
            tally_json("thread", extra, &files),
            serial,
            "thread = serial for {extra:?}"
        );
        assert_eq!(
            tally_json("process", extra, &files),
            serial,
            "process = serial for {extra:?}"
        );
        assert_balanced(&serial);
    }
}

/// The serial runs' JSON for one key, two keys and every panel over `files`,
/// each checked equal to the runs of `engines`.
fn serial_runs_equal_to(engines: &[&str], files: &[String]) -> Vec<Value> {
    [&[][..], &["--by", "status,path"][..], &["--report"][..]]
        .into_iter()
        .map(|extra| {
            let serial = tally_json("serial", extra, files);
            for engine in engines {
                assert_eq!(
                    tally_json(engine, extra, files),
                    serial,
                    "{engine} = serial for {extra:?}"
                );
            }
            serial
        })
        .collect()
}

#[test]
fn one_file_is_spread_over_the_workers_and_equals_a_serial_run() {
    // Fewer files than workers: the process engine ships the file's blocks
    // (1 MiB of text each) to its workers, as the thread engine does to threads.
    let files = corpus("one-big", 1, 40_000, 11, logtally_gen::Style::Wild);
    for serial in serial_runs_equal_to(&["process", "thread"], &files) {
        assert_eq!(serial["totals"]["lines"], 40_000);
        assert!(serial["files"][0]["bytes_out"].as_u64().unwrap() > 4 << 20);
        assert!(serial["totals"]["malformed"].as_u64().unwrap() > 0);
    }
}

#[test]
fn files_spread_one_after_another_reuse_the_shared_slots() {
    // Fewer files than workers: each is spread in turn through the same
    // shared memory (its sample and slots written anew, its pages given back
    // between files). Each file differs, so a stale block would show.
    let files = corpus("spread-in-turn", 3, 15_000, 17, logtally_gen::Style::Wild);
    let args = |engine: &str| {
        let out = common::succeeded(
            logtally()
                .args([
                    "--engine", engine, "-j", "4", "--all", "--format", "json", "-q",
                ])
                .args(&files),
        );
        json_of(&out)
    };
    let serial = args("serial");
    assert_eq!(args("process"), serial);
    assert_eq!(serial["totals"]["lines"], 45_000);
}

#[test]
fn blocks_too_big_for_shared_memory_travel_with_their_task() {
    // A spread file's blocks cross in memory shared with the workers, in
    // slots of a block and a line; with --max-line above a block, a block
    // that holds a 3 MiB line does not fit and goes with its task instead.
    let dir = common::fresh_dir("cli", "long-lines-spread");
    let line =
        "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /book/ch1 HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
    let mut text = line.repeat(30_000);
    let long = format!(
        "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /book/{} HTTP/1.1\" 200 5 \"-\" \"ua\"\n",
        "x".repeat(3 << 20)
    );
    text.push_str(&long);
    text.push_str(&line.repeat(30_000));
    text.push_str(&long);
    let path = dir.join("long.log");
    std::fs::write(&path, text).unwrap();
    let files = [path.to_string_lossy().into_owned()];
    let extra = ["--max-line", "8388608"];
    let serial = tally_json("serial", &extra, &files);
    assert_eq!(tally_json("process", &extra, &files), serial);
    assert_eq!(serial["totals"]["lines"], 60_002);
    assert_eq!(serial["totals"]["malformed"], 0);
}

#[test]
fn the_files_of_a_last_round_are_spread_and_equal_a_serial_run() {
    // Three files on two workers: two read whole, the largest spread in
    // blocks behind them (a crash in one of its blocks shows it, below).
    let files = corpus("three-files", 3, 12_000, 13, logtally_gen::Style::Wild);
    for serial in serial_runs_equal_to(&["process"], &files) {
        assert_eq!(serial["totals"]["lines"], 36_000);
    }
}

#[test]
#[cfg(feature = "fault-injection")]
fn the_largest_file_of_a_last_round_is_the_one_spread() {
    let files = corpus(
        "three-files-crash",
        3,
        12_000,
        14,
        logtally_gen::Style::Oracle,
    );
    let size = |f: &String| std::fs::metadata(f).unwrap().len();
    let largest = files.iter().max_by_key(|f| size(f)).unwrap();
    let name = std::path::Path::new(largest)
        .file_name()
        .unwrap()
        .to_string_lossy();
    // `NAME:LINE` aborts only a worker given a block: a file read whole is not hit.
    let out = process_run_aborting_on(&format!("{name}:6000"), &files);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{name}: lines ")), "{stderr}");
    let v = json_of(&out);
    let failed: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["failed"] == true)
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(failed, [largest.as_str()]);
    let lines = v["totals"]["lines"].as_u64().unwrap();
    assert!((30_000..36_000).contains(&lines), "{lines}");
}

/// The process engine's JSON run over `files`, a worker aborting where
/// `LOGTALLY_FAULT_ABORT_ON` says (`NAME` or `NAME:LINE`).
#[cfg(feature = "fault-injection")]
fn process_run_aborting_on(needle: &str, files: &[String]) -> Output {
    run(logtally()
        .env("LOGTALLY_FAULT_ABORT_ON", needle)
        .args([
            "--engine", "process", "-j", "2", "--all", "--format", "json", "-q",
        ])
        .args(files))
}

#[test]
#[cfg(feature = "fault-injection")]
fn a_crashed_worker_loses_only_its_block_of_a_file_spread_over_workers() {
    let files = corpus("one-big-crash", 1, 40_000, 12, logtally_gen::Style::Oracle);
    let out = process_run_aborting_on("access-00.log.gz:20000", &files);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(": lines ") && stderr.contains(" not counted: worker process "),
        "{stderr}"
    );
    assert!(stderr.contains("SIGABRT"), "{stderr}");
    let v = json_of(&out);
    assert_eq!(v["files"][0]["failed"], true);
    // One block's lines (a few thousand, named) are lost, and only those.
    let lines = v["totals"]["lines"].as_u64().unwrap();
    assert!((30_000..40_000).contains(&lines), "{lines}");
    let said = stderr.split(": lines ").nth(1).unwrap();
    let (first, last) = said.split(' ').next().unwrap().split_once('-').unwrap();
    let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
    assert!(first <= 20_000 && 20_000 <= last, "{said}");
    assert_eq!(lines + (last - first + 1), 40_000, "{said}");
}

#[test]
fn wild_lines_are_counted_beyond_the_seed() {
    // Common Log Format lines, host names and IPv6 hosts count; the seed drops them.
    let files = corpus("wild-vs-seed", 2, 3000, 3, logtally_gen::Style::Wild);
    let ours = tally_json("serial", &["--book-compat"], &files);
    let seed: u64 = reference("wild-vs-seed", &files, true).values().sum();
    assert!(ours["totals"]["counted"].as_u64().unwrap() > seed);
    assert_balanced(&ours);
}

#[test]
fn other_keys_and_limits() {
    let files = vec![sample()];
    let status = tally_json("serial", &["--book-compat", "--by", "status"], &files);
    // Checked with the seed's own functions: Counter(d.access.status for d in path_filter(...)).
    assert_eq!(status["counts"]["200"], 3813);
    assert_eq!(status["totals"]["counted"], 4396);
    // Without --book-compat every record counts by status (the path filter
    // shapes the path report only): all lines but the one cut inside its agent.
    let every = tally_json("serial", &["--by", "status"], &files);
    assert_eq!(every["totals"]["counted"], 9999);
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(sample()).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    // (Line 8899, a 200 cut inside its user agent, has no closing quote.)
    let ok_lines = text
        .lines()
        .filter(|l| l.contains("\" 200 ") && l.ends_with('"'))
        .count();
    assert_eq!(
        every["counts"]["200"], ok_lines as u64,
        "status 200, counted by hand"
    );
    let top = run(logtally()
        .args(["--top", "3", "--format", "csv", "--engine", "serial"])
        .arg(sample()));
    assert_eq!(
        String::from_utf8(top.stdout).unwrap(),
        "path,count\n/blog/tags/puppet,489\n/projects/xdotool/,224\n/projects/xdotool/xdotool.xhtml,154\n"
    );
    let min = tally_json("serial", &["--min-count", "100"], &files);
    assert_eq!(counts(&min).len(), 4, "489, 224, 154 and 135 reach 100");
    let unfiltered = tally_json("serial", &["--no-path-filter"], &files);
    assert_eq!(unfiltered["totals"]["filtered"], 0);
    let png = tally_json(
        "serial",
        &["--exclude-ext", ".jar", "--exclude-name", "xdotool"],
        &files,
    );
    assert!(counts(&png)
        .keys()
        .all(|k| !k.ends_with(".jar") && !k.contains("/xdotool/")));
}

#[test]
fn directories_and_glob_patterns_expand() {
    let files = corpus("expand", 3, 200, 11, logtally_gen::Style::Oracle);
    let dir = Path::new(&files[0])
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let by_dir = tally_json("serial", &[], std::slice::from_ref(&dir));
    assert_eq!(by_dir["totals"]["files"], 3);
    let by_glob = tally_json("serial", &[], &[format!("{dir}/access-0[01].log.gz")]);
    assert_eq!(by_glob["totals"]["files"], 2);
    assert_eq!(tally_json("serial", &[], &files), by_dir);
}

#[test]
fn missing_and_broken_files_are_named_and_the_rest_still_counted() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gz = std::fs::read(sample()).unwrap();
    let cut = dir.join("cut.log.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let missing = dir.join("missing.log.gz").to_string_lossy().into_owned();
    for engine in ["serial", "thread", "process"] {
        let out = run(logtally()
            .args(["--engine", engine, "--all", "--format", "json", "-q"])
            .arg(sample())
            .arg(&cut)
            .arg(&missing));
        assert_eq!(out.status.code(), Some(1), "{engine}");
        let v = json_of(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{missing}: No such file or directory")),
            "{stderr}"
        );
        assert!(stderr.contains("cut.log.gz: after line"), "{stderr}");
        assert!(
            stderr.contains("gzip stream is corrupt or truncated"),
            "{stderr}"
        );
        let files = v["files"].as_array().unwrap();
        assert_eq!(files.len(), 3);
        let cut_summary = files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with("cut.log.gz"))
            .unwrap();
        assert_eq!(cut_summary["failed"], true);
        let cut_lines = cut_summary["lines"].as_u64().unwrap();
        assert!(
            cut_lines > 3000 && cut_lines < 10_000,
            "lines before the cut are kept: {cut_lines}"
        );
        assert_eq!(v["totals"]["lines"].as_u64().unwrap(), 10_000 + cut_lines);
        assert_balanced(&v);
    }
}

#[test]
#[cfg(feature = "fault-injection")]
fn a_crashed_worker_fails_only_its_file() {
    // Four files on two workers: each read whole (none spread in blocks).
    let files = corpus("crash", 4, 300, 5, logtally_gen::Style::Oracle);
    let out = process_run_aborting_on("access-01", &files);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("access-01.log.gz: task 1 lost: worker process"),
        "{stderr}"
    );
    assert!(stderr.contains("SIGABRT"), "{stderr}");
    let expected = tally_json(
        "serial",
        &[],
        &[files[0].clone(), files[2].clone(), files[3].clone()],
    );
    assert_eq!(v["counts"], expected["counts"]);
    assert_eq!(v["totals"]["files"], 4);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&mut logtally()).status.code(), Some(2));
    assert_eq!(
        run(logtally().args(["--by", "colour", "x"])).status.code(),
        Some(2)
    );
    assert_eq!(
        run(logtally().args(["--engine", "gpu", "x"])).status.code(),
        Some(2)
    );
}

#[test]
fn output_file_is_written_whole_or_not_at_all() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("output");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.json");
    let out = run(logtally()
        .args(["--engine", "serial", "--format", "json", "-q", "-o"])
        .arg(&target)
        .arg(sample()));
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["totals"]["lines"], 10_000);
    let bad = dir.join("no-such-dir/out.json");
    let out = run(logtally()
        .args(["--engine", "serial", "-q", "-o"])
        .arg(&bad)
        .arg(sample()));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
    assert!(!bad.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file is left behind"
    );
}

#[test]
fn output_into_a_fifo_or_device_leaves_it_in_place() {
    // A rename onto /dev/null once left a regular file there, on the machine
    // the tests run on; a FIFO checks the same without touching /dev.
    use std::os::unix::fs::FileTypeExt;
    let dir = common::fresh_dir("cli", "output-fifo");
    let fifo = dir.join("out.fifo");
    common::succeeded(Command::new("mkfifo").arg(&fifo));
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo))
    };
    common::succeeded(
        logtally()
            .args(["--engine", "serial", "--format", "json", "-q", "-o"])
            .arg(&fifo)
            .arg(sample()),
    );
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    // Checked before joining: had the FIFO been replaced, its reader would wait forever.
    assert!(
        kind.is_fifo(),
        "the output path is no longer a FIFO: {kind:?}"
    );
    let v: Value = serde_json::from_str(&reader.join().unwrap().unwrap()).unwrap();
    assert_eq!(v["totals"]["lines"], 10_000);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file"
    );
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{child}/status")) {
            if status.lines().any(|l| l == format!("PPid:\t{pid}")) {
                kids.push(child);
            }
        }
    }
    kids
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.contains(") Z "),
        Err(_) => true,
    }
}

#[test]
fn interrupting_the_cli_leaves_no_worker_and_prints_a_partial_result() {
    // FIFOs never deliver, so the workers are busy for as long as the test wants.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interrupt");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifos: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("stuck-{i}.log"))).collect();
    for f in &fifos {
        let c = std::ffi::CString::new(f.to_string_lossy().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
    // Three files on two workers: one is spread over them in blocks, which
    // this process reads. With a regular file among them, it is the one;
    // FIFOs alone are all read whole by workers (this process could not
    // be interrupted while it waited on one).
    let sample_and_fifos = vec![sample().into(), fifos[0].clone(), fifos[1].clone()];
    for (signal, files) in [
        (libc::SIGINT, &sample_and_fifos),
        (libc::SIGTERM, &sample_and_fifos),
        (libc::SIGINT, &fifos),
    ] {
        let child = logtally()
            .args(["--engine", "process", "-j", "2", "--format", "json", "-q"])
            .args(files)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut workers = Vec::new();
        while workers.len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            workers = children_of(child.id());
        }
        assert_eq!(workers.len(), 2, "two workers started");
        std::thread::sleep(Duration::from_millis(300));
        unsafe { libc::kill(child.id() as i32, signal) };
        // Waited for on a thread, so that a run that never ends fails the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let out = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("logtally ends within 30 s of the signal")
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(130),
            "signal {signal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json_of(&out);
        assert_eq!(v["partial"], true);
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !workers.iter().all(|&w| gone(w)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for w in &workers {
            assert!(gone(*w), "worker {w} is gone after signal {signal}");
        }
    }
}

#[test]
fn merged_per_file_reports_equal_one_run_over_all_files() {
    let mut files = corpus("merge", 3, 2000, 11, logtally_gen::Style::Wild);
    files.push(sample());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("merge-reports");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for extra in [&[][..], &["--by", "status", "--prefix", "/book/"][..]] {
        let parts: Vec<PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let part = dir.join(format!("part-{i}.json"));
                let out = run(logtally()
                    .args(["--all", "--format", "json", "-q", "-o"])
                    .arg(&part)
                    .args(extra)
                    .arg(f));
                assert!(out.status.success());
                part
            })
            .collect();
        let one_run = tally_json("serial", extra, &files);
        // Any order, and merges of merges: the same report.
        let merged = run(logtally()
            .args(["merge", "--all", "--format", "json"])
            .args(parts.iter().rev()));
        assert!(
            merged.status.success(),
            "{}",
            String::from_utf8_lossy(&merged.stderr)
        );
        assert_eq!(json_of(&merged), one_run, "merge of {extra:?}");
        let left = dir.join("left.json");
        assert!(run(logtally()
            .args(["merge", "--all", "--format", "json", "-o"])
            .arg(&left)
            .args(&parts[..2]))
        .status
        .success());
        let nested = run(logtally()
            .args(["merge", "--all", "--format", "json"])
            .args(&parts[2..])
            .arg(&left));
        assert_eq!(json_of(&nested), one_run, "nested merge of {extra:?}");
    }
    // A report cut by --top lost keys: refused, named.
    let cut = dir.join("cut.json");
    run(logtally()
        .args(["--top", "3", "--format", "json", "-q", "-o"])
        .arg(&cut)
        .arg(sample()));
    let whole = dir.join("part-0.json");
    let refused = run(logtally().args(["merge"]).arg(&whole).arg(&cut));
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cut.json") && stderr.contains("--all"),
        "{stderr}"
    );
    // Reports counted by another key: refused, naming the option.
    let other = dir.join("other.json");
    run(logtally()
        .args(["--all", "--by", "method", "--format", "json", "-q", "-o"])
        .arg(&other)
        .arg(sample()));
    let stderr =
        String::from_utf8_lossy(&run(logtally().args(["merge"]).arg(&whole).arg(&other)).stderr)
            .into_owned();
    assert!(
        stderr.contains("other.json") && stderr.contains("`by`"),
        "{stderr}"
    );
}

/// The allocator asks for transparent huge pages where the kernel gives them
/// on request (glibc's tunable, which the program sets by running itself
/// again), keeping the user's other tunables, and not where the user turned
/// it off; the counts are the same either way.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn huge_pages_are_asked_for_where_the_kernel_gives_them_on_request() {
    let on_request = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|modes| modes.contains("[madvise]"));
    let run_with = |tunables: Option<&str>| {
        let mut cmd = logtally();
        cmd.args([
            "--engine", "process", "-j", "2", "--stats", "--format", "json", "-q",
        ])
        .arg(sample());
        match tunables {
            Some(t) => cmd.env("GLIBC_TUNABLES", t),
            None => cmd.env_remove("GLIBC_TUNABLES"),
        };
        let out = run(&mut cmd);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{tunables:?}: {stderr}");
        let stats: Value = serde_json::from_str(stderr.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{tunables:?}: no --stats line ({e}): {stderr}"));
        (stats["huge_pages"].as_bool(), counts(&json_of(&out)))
    };
    let (asked, plain) = run_with(None);
    assert_eq!(asked, Some(on_request));
    let (asked, with_others) = run_with(Some("glibc.malloc.arena_max=4"));
    assert_eq!(asked, Some(on_request));
    let (asked, turned_off) = run_with(Some("glibc.malloc.hugetlb=0"));
    assert_eq!(asked, Some(false));
    assert!(!plain.is_empty());
    assert_eq!(plain, with_others);
    assert_eq!(plain, turned_off);
}
