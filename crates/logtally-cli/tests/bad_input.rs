//! Real-world damage: every input of this file is read with the counts that can
//! be had, the problems named with file (and line), and the accounting kept:
//! lines read = counted + filtered + malformed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::assert_balanced;

const GOOD: &str = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /book/ch1.html HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (X11) Gecko\"";

fn dir(name: &str) -> PathBuf {
    common::fresh_dir("bad", name)
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sample_gz() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/apache_logs.gz"))
        .unwrap()
}

fn logtally(engine: &str, args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logtally"))
        .args([
            "--engine", engine, "-j", "2", "--all", "--format", "json", "-q",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn file_summary<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

/// Runs every engine on `files`, checks they agree, and returns one result.
fn all_engines(files: &[&Path]) -> (Output, Value) {
    let serial = logtally("serial", files);
    let v = json(&serial);
    for engine in ["thread", "process"] {
        let other = logtally(engine, files);
        assert_eq!(other.status.code(), serial.status.code(), "{engine}");
        assert_eq!(json(&other), v, "{engine} = serial");
    }
    assert_balanced(&v);
    (serial, v)
}

#[test]
fn damaged_gzip_keeps_what_can_be_read() {
    let d = dir("gzip");
    let sample = sample_gz();
    let mut bad_crc = sample.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0xff;
    let mut trailing = sample.clone();
    trailing.extend_from_slice(b"this is not gzip\n");
    let mut concatenated = sample.clone();
    concatenated.extend_from_slice(&sample);
    let files = [
        ("bad-crc.gz", bad_crc),
        ("trailing-garbage.gz", trailing),
        ("concatenated.gz", concatenated),
        ("truncated.gz", sample[..sample.len() / 3].to_vec()),
        ("empty.log", Vec::new()),
        ("empty.gz", gz(b"")),
    ];
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, data)| {
            let p = d.join(name);
            std::fs::write(&p, data).unwrap();
            p
        })
        .collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (out, v) = all_engines(&refs);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);

    let crc = file_summary(&v, "bad-crc.gz");
    assert_eq!(
        (crc["lines"].as_u64(), crc["failed"].as_bool()),
        (Some(10_000), Some(true)),
        "all lines before the checksum are kept"
    );
    assert!(
        stderr.contains("bad-crc.gz: after line 10000: gzip stream is corrupt or truncated"),
        "{stderr}"
    );

    let trailing = file_summary(&v, "trailing-garbage.gz");
    assert_eq!(
        (trailing["lines"].as_u64(), trailing["failed"].as_bool()),
        (Some(10_000), Some(true))
    );
    assert!(
        stderr.contains("trailing-garbage.gz: after line 10000"),
        "{stderr}"
    );

    let cat = file_summary(&v, "concatenated.gz");
    assert_eq!(
        (
            cat["lines"].as_u64(),
            cat["counted"].as_u64(),
            cat["failed"].as_bool()
        ),
        (Some(20_000), Some(2 * 4396), Some(false))
    );

    let cut = file_summary(&v, "truncated.gz");
    assert_eq!(cut["failed"], true);
    assert!(cut["lines"].as_u64().unwrap() > 1000);
    assert!(stderr.contains("truncated.gz: after line"), "{stderr}");

    for empty in ["empty.log", "empty.gz"] {
        let e = file_summary(&v, empty);
        assert_eq!(
            (e["lines"].as_u64(), e["failed"].as_bool()),
            (Some(0), Some(false)),
            "{empty}"
        );
    }
}

#[test]
fn files_that_are_not_logs_are_named() {
    let d = dir("not-logs");
    let junk: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(d.join("binary.log"), &junk).unwrap();
    std::fs::write(d.join("archive.log"), b"BZh91AY&SY\x01\x02").unwrap();
    std::fs::write(d.join("good.log"), format!("{GOOD}\n")).unwrap();
    std::fs::create_dir(d.join("a-directory.log")).unwrap();
    let empty_dir = dir("no-logs-here");
    let missing = d.join("missing.gz");
    let (out, v) = all_engines(&[&d, &empty_dir, &missing]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("binary.log: not a log file: binary data (neither text nor gzip)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("archive.log: not a log file: bzip2-compressed; decompress it first"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no-logs-here: directory has no *.gz or *.log files"),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing.gz: No such file or directory"),
        "{stderr}"
    );
    assert_eq!(
        v["counts"]["/book/ch1.html"], 1,
        "the good file still counts"
    );
    assert_eq!(file_summary(&v, "binary.log")["lines"], 0);
    // The directory named like a log is not taken for a file.
    assert!(v["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["path"].as_str().unwrap().ends_with("a-directory.log")));
}

#[test]
fn unreadable_file_is_named() {
    if unsafe { libc::geteuid() } == 0 {
        // root reads any file regardless of its mode: deny through a path that
        // cannot be opened for reading instead (a directory's write-only twin).
        let d = dir("unreadable-root");
        let p = d.join("socket.log");
        let _listener = std::os::unix::net::UnixListener::bind(&p).unwrap();
        let out = logtally("serial", &[&p]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("socket.log: No such device or address"),
            "{stderr}"
        );
        return;
    }
    let d = dir("unreadable");
    let p = d.join("secret.log");
    std::fs::write(&p, format!("{GOOD}\n")).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let out = logtally("serial", &[&p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("secret.log: Permission denied"));
}

#[test]
fn hostile_and_odd_lines_are_counted_or_malformed_never_lost() {
    let d = dir("odd-lines");
    let lines: Vec<Vec<u8>> = vec![
        GOOD.as_bytes().to_vec(),
        // NUL bytes in the request and in the agent.
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /nul\0here HTTP/1.1\" 200 5 \"-\" \"ua\0\"".to_vec(),
        // Invalid UTF-8 in the path.
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 5 \"-\" \"ua\"".to_vec(),
        // Valid UTF-8 in the path.
        "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /café HTTP/1.1\" 200 5 \"-\" \"ua\"".as_bytes().to_vec(),
        // CRLF ending.
        format!("{GOOD}\r").into_bytes(),
        // Common Log Format.
        b"example.org - - [17/May/2015:10:05:03 +0000] \"GET /clf HTTP/1.0\" 200 12".to_vec(),
        // Spaces in the path: the words between method and protocol, joined.
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a  b   c HTTP/1.1\" 200 5 \"-\" \"ua\"".to_vec(),
        // Empty request.
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"\" 400 0 \"-\" \"-\"".to_vec(),
        // Attack traffic: binary junk in the request line, a script in the path.
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\" 400 0 \"-\" \"-\"".to_vec(),
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /<script>alert(1)</script> HTTP/1.1\" 404 5 \"-\" \"ua\"".to_vec(),
        b"".to_vec(),
        b"\x00\x01\x02 garbage".to_vec(),
    ];
    let mut text = Vec::new();
    for l in &lines {
        text.extend_from_slice(l);
        text.push(b'\n');
    }
    let p = d.join("odd.log");
    std::fs::write(&p, &text).unwrap();
    let (out, v) = all_engines(&[&p]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["totals"]["lines"], lines.len());
    let c = &v["counts"];
    assert_eq!(c["/book/ch1.html"], 2, "plain and CRLF lines count alike");
    assert_eq!(c["/nul\u{0}here"], 1);
    assert_eq!(c["/caf\u{fffd}"], 1);
    assert_eq!(c["/café"], 1);
    assert_eq!(c["/clf"], 1);
    assert_eq!(c["/a b c"], 1);
    assert_eq!(c["/<script>alert(1)</script>"], 1);
    assert_eq!(v["totals"]["counted"], 8);
    // A line that fits the format is a record, even where the book's program
    // drops it: the binary one-word request and the empty request `""` have an
    // empty path (filtered); only the empty line and the garbage are malformed.
    assert_eq!(
        v["totals"]["filtered"], 2,
        "the one-word and the empty request"
    );
    assert_eq!(v["totals"]["malformed"], 2, "empty line, garbage");
    assert_eq!(flagged_lines(&v), vec![11, 12]);
    let (_, status) = all_engines(&[Path::new("--by"), Path::new("status"), &p]);
    assert_eq!(
        status["counts"]["400"], 2,
        "both odd requests count by status"
    );

    // --book-compat: as in the seed, a one-word request is a record with an
    // empty path (filtered), `""` is no record at all (malformed).
    let (_, book) = all_engines(&[Path::new("--book-compat"), &p]);
    assert_eq!(book["totals"]["counted"], 8);
    assert_eq!(book["totals"]["filtered"], 1, "the binary one-word request");
    assert_eq!(
        book["totals"]["malformed"], 3,
        "empty request, empty line, garbage"
    );
    assert_eq!(flagged_lines(&book), vec![8, 11, 12]);
}

fn flagged_lines(v: &Value) -> Vec<u64> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_huge_line_is_malformed_in_bounded_memory() {
    // 1 GiB without a newline, between two good lines: gzip makes it ~1 MB on disk.
    let d = dir("huge-line");
    let p = d.join("huge.log.gz");
    let file = std::fs::File::create(&p).unwrap();
    let mut e =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    writeln!(e, "{GOOD}").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..1024 {
        e.write_all(&chunk).unwrap();
    }
    write!(e, "\n{GOOD}\n").unwrap();
    e.finish().unwrap().flush().unwrap();

    let out = logtally("serial", &[&p]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["totals"]["lines"], 3);
    assert_eq!(v["totals"]["counted"], 2);
    assert_eq!(v["totals"]["malformed"], 1);
    assert_eq!(
        v["totals"]["bytes_out"],
        2 * (GOOD.len() as u64 + 1) + (1 << 30) + 1
    );
    assert_eq!(v["errors"][0]["line"], 2);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("line too long: xxxx"));
    // Peak memory of the (waited-for) children of this test process stays far below 1 GiB.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let peak_mb = usage.ru_maxrss / 1024;
    assert!(peak_mb < 200, "peak RSS {peak_mb} MB");
}

#[test]
fn a_hundred_thousand_tiny_files() {
    let d = dir("tiny");
    let text = format!("{GOOD}\n");
    for i in 0..100_000 {
        std::fs::write(d.join(format!("{i:06}.log")), &text).unwrap();
    }
    for engine in ["serial", "process"] {
        let out = logtally(engine, &[&d]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{engine}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        assert_eq!(v["totals"]["files"], 100_000);
        assert_eq!(v["counts"]["/book/ch1.html"], 100_000);
        assert_balanced(&v);
    }
}
