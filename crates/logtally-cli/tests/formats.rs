//! Log formats end to end: presets detected per file (`auto`), format strings
//! equal to the presets they spell, fields beyond the book's (virtual host,
//! request time), and files no format fits, named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::assert_balanced;

fn dir(name: &str) -> PathBuf {
    common::fresh_dir("formats", name)
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/apache_logs.gz")
}

fn run(engine: &str, args: &[&str], files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logtally"))
        .args([
            "--engine", engine, "-j", "2", "--all", "--format", "json", "-q",
        ])
        .args(args)
        .args(files)
        .output()
        .unwrap()
}

/// The JSON of a run, the same on every engine.
fn tally(args: &[&str], files: &[&Path]) -> Value {
    let serial = run("serial", args, files);
    let v: Value = serde_json::from_slice(&serial.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&serial.stderr));
    });
    for engine in ["thread", "process"] {
        let other: Value = serde_json::from_slice(&run(engine, args, files).stdout).unwrap();
        assert_eq!(other, v, "{engine} = serial for {args:?}");
    }
    assert_balanced(&v);
    v
}

fn write(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn format_of(v: &Value, file: &str) -> String {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(file))
        .map(|f| f["format"].as_str().unwrap().to_string())
        .unwrap()
}

const NGINX_COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
const APACHE_COMBINED: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#;

#[test]
fn format_strings_give_the_tallies_of_the_preset_they_spell() {
    let files = [sample()];
    let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    for by in ["path", "status", "host", "hour", "agent-product"] {
        let preset = tally(&["--by", by, "--log-format", "combined"], &files);
        let auto = tally(&["--by", by], &files);
        let nginx = tally(&["--by", by, "--log-format", NGINX_COMBINED], &files);
        let apache = tally(&["--by", by, "--log-format", APACHE_COMBINED], &files);
        assert_eq!(preset["counts"], auto["counts"], "auto = combined, by {by}");
        assert_eq!(
            preset["counts"], nginx["counts"],
            "nginx string = combined, by {by}"
        );
        assert_eq!(
            preset["counts"], apache["counts"],
            "Apache string = combined, by {by}"
        );
        assert_eq!(preset["totals"], apache["totals"], "by {by}");
        assert_eq!(
            preset["totals"]["malformed"], 1,
            "the line cut in its agent"
        );
    }
    assert_eq!(format_of(&tally(&[], &files), "apache_logs.gz"), "combined");
}

#[test]
fn auto_detects_each_file_of_a_mixed_directory() {
    let d = dir("mixed");
    write(
        &d,
        "vhosts.log",
        &[
            r#"example.com:80 1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /v/a HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11) Gecko""#,
            r#"shop.example.com:443 1.2.3.5 - - [17/May/2015:10:05:04 +0000] "GET /v/b?x=1 HTTP/1.1" 404 0 "https://example.com/v/a" "curl/8.0""#,
        ],
    );
    write(
        &d,
        "common.log",
        &[
            r#"nasa.example 1.2.3.4 - [01/Jul/1995:00:00:01 -0400] "GET /history/apollo/ HTTP/1.0" 200 6245"#,
            r#"unicomp6.unicomp.net - - [01/Jul/1995:00:00:06 -0400] "GET /shuttle/countdown/ HTTP/1.0" 200 3985"#,
        ],
    );
    write(&d, "u_ex190912.log", &[
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
        "2019-09-12 13:22:38 10.0.0.1 GET /w/index.html - 80 - 192.168.1.5 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15",
        "2019-09-12 13:22:39 10.0.0.1 GET /w/about.html q=1 80 - 192.168.1.6 curl/8.0 - 404 0 2 45",
    ]);
    write(
        &d,
        "caddy.log",
        &[
            r#"{"level":"info","ts":1646861401.5241024,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"41342","proto":"HTTP/2.0","method":"GET","host":"localhost","uri":"/c/page?x=1","headers":{"User-Agent":["curl/7.82.0"]}},"duration":0.000929675,"size":10900,"status":200,"resp_headers":{}}"#,
        ],
    );
    let v = tally(&["--no-path-filter"], &[&d]);
    assert_eq!(format_of(&v, "vhosts.log"), "vcombined");
    assert_eq!(format_of(&v, "common.log"), "common");
    assert_eq!(format_of(&v, "u_ex190912.log"), "w3c");
    assert_eq!(format_of(&v, "caddy.log"), "caddy");
    let c = &v["counts"];
    for path in [
        "/v/a",
        "/v/b",
        "/history/apollo/",
        "/shuttle/countdown/",
        "/w/index.html",
        "/w/about.html",
        "/c/page",
    ] {
        assert_eq!(c[path], 1, "{path} in {c}");
    }
    // Directive lines of the W3C file are not records: filtered, not malformed.
    assert_eq!(v["totals"]["malformed"], 0);
    assert_eq!(v["totals"]["filtered"], 3);
    // Request times where the format has them: IIS 15 + 45 ms, Caddy 0.93 ms.
    assert_eq!(v["totals"]["timed"], 3);
    assert_eq!(v["totals"]["time_total_us"], 15_000 + 45_000 + 930);
    assert_eq!(v["totals"]["time_max_us"], 45_000);
    let by_vhost = tally(
        &["--by", "vhost", "--no-path-filter"],
        &[&d.join("vhosts.log")],
    );
    assert_eq!(by_vhost["counts"]["example.com"], 1);
    assert_eq!(by_vhost["counts"]["shop.example.com"], 1);
}

#[test]
fn an_empty_nginx_host_and_probes_are_records() {
    // A honeypot's nginx with a custom log_format: `$host` empty for probes
    // that sent none, so the line starts with a space; escaped binary requests.
    let d = dir("honeypot");
    let format = r#"$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $server_port"#;
    let p = write(
        &d,
        "honeypot.log",
        &[
            r#"example.org 1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /n/a HTTP/1.1" 200 5 "-" "ua" 443"#,
            r#" 5.6.7.8 - - [17/May/2015:10:05:04 +0000] "\x16\x03\x01\x00\xA5\x01" 400 157 "-" "-" 443"#,
            r#" 5.6.7.9 - - [17/May/2015:10:05:05 +0000] "SSH-2.0-Go" 400 157 "-" "-" 80"#,
            r#" 5.6.7.9 - - [17/May/2015:10:05:06 +0000] "" 400 0 "-" "-" 80"#,
            "junk that is no log line",
        ],
    );
    let v = tally(&["--by", "status", "--log-format", format], &[&p]);
    assert_eq!(v["counts"]["200"], 1);
    assert_eq!(
        v["counts"]["400"], 3,
        "the TLS and SSH probes and the empty request"
    );
    assert_eq!(v["totals"]["malformed"], 1);
    assert_eq!(v["errors"][0]["line"], 5);
    let paths = tally(&["--log-format", format], &[&p]);
    assert_eq!(paths["counts"]["/n/a"], 1);
    assert_eq!(paths["totals"]["filtered"], 3, "probes have no path");
    // Under auto nothing fits this custom layout: named, its lines malformed, exit 1.
    let out = run("serial", &[], &[&p]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["malformed"], 5);
    assert!(v["files"][0]["failed"].as_bool().unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("honeypot.log: no known log format fits its first lines"),
        "{stderr}"
    );
    assert!(stderr.contains("give --log-format"), "{stderr}");
}

#[test]
fn a_format_string_that_does_not_compile_is_a_usage_error() {
    for (format, names) in [
        (
            "$remote_addr [$time_local] $bogus_variable",
            "$bogus_variable",
        ),
        (r#"%h %l %u %t "%r" %>s %Z"#, "%Z"),
        ("$remote_addr$remote_user", "$remote_user"),
    ] {
        let out = run("serial", &["--log-format", format], &[&sample()]);
        assert_eq!(out.status.code(), Some(2), "{format}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(names), "{format}: {stderr}");
    }
    let out = run(
        "serial",
        &["--log-format", "w3c", "--book-compat"],
        &[&sample()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("book_compat"));
}

#[test]
fn a_big_w3c_log_whose_fields_change_reads_alike_on_every_engine() {
    // Each section is longer than the blocks a file is cut into for threads
    // and workers; the second names its fields in another order.
    let d = dir("w3c-big");
    let text = logtally_gen::w3c_with_changing_fields(40_000);
    let path = d.join("u_ex150517.log");
    std::fs::write(&path, text).unwrap();
    let v = tally(&[], &[&path]);
    assert_eq!(format_of(&v, "u_ex150517.log"), "w3c");
    assert_eq!(v["totals"]["counted"], 80_000);
    assert_eq!(v["totals"]["malformed"], 0);
    assert_eq!(v["counts"]["/b0"], 8_000);
}

#[test]
fn a_big_file_is_detected_from_the_same_lines_on_every_engine() {
    // A first line of 70 KB: a serial read detects the format from the lines
    // in the first 64 KiB (that line alone, no format fits), and so must the
    // engines that cut the file into 1 MiB blocks.
    let d = dir("detect-big");
    let line = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
    let text = "x".repeat(70_000) + "\n" + &line.repeat(30_000);
    let path = d.join("long-first-line.log");
    std::fs::write(&path, text).unwrap();
    let v = tally(&[], &[&path]);
    assert_eq!(v["totals"]["malformed"], 30_001);
    assert_eq!(v["files"][0]["failed"], true);
}
