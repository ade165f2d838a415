//! nginx and Apache format strings, errors, and detection.

mod common;
use std::io::BufRead;

use common::*;
use logtally_format::{detect, FormatError, LogFormat, Parsed, TimeText};

const NGINX_COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
const APACHE_COMBINED: &str = r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""#;

fn apache_logs() -> Vec<Vec<u8>> {
    let f = std::fs::File::open("/work/shared/data/apache_logs.gz").expect("apache_logs.gz");
    let r = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
    r.split(b'\n').map(|l| l.unwrap()).collect()
}

#[test]
fn nginx_and_apache_combined_strings_equal_the_preset_on_real_logs() {
    let lines = apache_logs();
    assert_eq!(lines.len(), 10_000);
    let mut preset = fmt("combined").parser();
    let mut nginx = fmt(NGINX_COMBINED).parser();
    let mut apache = fmt(APACHE_COMBINED).parser();
    assert!(fmt(APACHE_COMBINED).is_clf_family() && fmt(NGINX_COMBINED).is_clf_family());
    let mut rejected = 0;
    for line in &lines {
        if let Parsed::NoMatch(_) = preset.parse(line) {
            // One line of the file is cut short inside the user agent.
            assert!(matches!(nginx.parse(line), Parsed::NoMatch(_)));
            assert!(matches!(apache.parse(line), Parsed::NoMatch(_)));
            rejected += 1;
            continue;
        }
        let a = rec(&mut preset, line).clone();
        let mut b = rec(&mut nginx, line).clone();
        let c = rec(&mut apache, line).clone();
        assert_eq!(a, c, "{}", String::from_utf8_lossy(line));
        // nginx has `-` as literal text where Apache has `%l`.
        assert_eq!(a.identity.as_deref(), Some(&b"-"[..]));
        assert_eq!(b.identity, None);
        b.identity = a.identity.clone();
        assert_eq!(a, b, "{}", String::from_utf8_lossy(line));
        assert!(a.time.as_ref().unwrap().to_datetime().is_some());
    }
    assert_eq!(rejected, 1);
    let d = detect(&lines.iter().take(200).map(|l| &l[..]).collect::<Vec<_>>());
    assert_eq!(d.format.unwrap().name(), "combined");
    assert_eq!(d.matched, 200);
}

#[test]
fn nginx_honeypot_line_with_empty_host() {
    let f = fmt(
        r#"$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $server_port"#,
    );
    let mut p = f.parser();
    // nginx writes an empty $host as nothing: the line starts with a space.
    let line = br#" 45.148.10.174 - - [12/Mar/2024:01:02:03 +0000] "\x16\x03\x01\x00\xEE\x01\x00\x00\xEA\x03\x03" 400 157 "-" "-" 443"#;
    let r = rec(&mut p, line);
    assert_eq!(s(&r.vhost), Some(""));
    assert_eq!(s(&r.host), Some("45.148.10.174"));
    assert_eq!(r.request.as_deref().unwrap()[..3], [0x16, 0x03, 0x01]);
    assert_eq!(s(&r.status), Some("400"));
    assert_eq!(s(&r.port), Some("443"));
    let line = br#"example.com 198.51.100.1 - - [12/Mar/2024:01:02:04 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "Mozilla/5.0 \x22x\x22" 80"#;
    let r = rec(&mut p, line);
    assert_eq!(s(&r.vhost), Some("example.com"));
    assert_eq!(s(&r.user_agent), Some(r#"Mozilla/5.0 "x""#));
    assert_eq!(s(&r.port), Some("80"));
}

#[test]
fn nginx_variables() {
    let f = fmt(
        r#"${remote_addr} [$time_iso8601] "$request_method $uri?$args $server_protocol" $status $bytes_sent $request_time $upstream_response_time "$http_x_real_ip" $ssl_protocol $connection $msec"#,
    );
    let mut p = f.parser();
    let r = rec(
        &mut p,
        br#"10.1.1.1 [2024-03-12T10:00:00+01:00] "GET /a?b=1 HTTP/1.1" 200 999 0.120 0.050, 0.060 "203.0.113.4" TLSv1.3 12345 1710234000.123"#,
    );
    assert_eq!(s(&r.host), Some("10.1.1.1"));
    assert_eq!(
        r.time,
        Some(TimeText::Iso8601(b"2024-03-12T10:00:00+01:00"[..].into()))
    );
    assert_eq!(
        r.time.as_ref().unwrap().to_datetime().unwrap().to_rfc3339(),
        "2024-03-12T10:00:00+01:00"
    );
    assert_eq!(s(&r.method), Some("GET"));
    assert_eq!(s(&r.target), Some("/a?b=1"));
    assert_eq!(s(&r.protocol), Some("HTTP/1.1"));
    assert_eq!(s(&r.bytes), Some("999"));
    assert_eq!(r.request_time, Some(0.12));
    assert_eq!(r.upstream_time, Some(0.05));
    assert_eq!(r.headers.len(), 1);
    assert_eq!(r.headers[0].0, "X-Real-Ip");
    assert_eq!(&r.headers[0].1[..], b"203.0.113.4");
    assert_eq!(s(&r.tls), Some("TLSv1.3"));
    // Empty $args: the path alone.
    let r = rec(&mut p, br#"10.1.1.1 [2024-03-12T10:00:00+01:00] "GET /a? HTTP/1.1" 200 9 0.1 - "-" - 1 1710234000.123"#);
    assert_eq!(s(&r.target), Some("/a"));
    assert_eq!(r.upstream_time, None);
    // Upstream values are lists when nginx tried several servers.
    let mut p = fmt(r#"$remote_addr "$request" $status $upstream_addr $upstream_status $upstream_response_time $request_time"#).parser();
    let r = rec(
        &mut p,
        br#"10.0.0.9 "GET /x HTTP/1.1" 200 10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80 502, 504 : 200 0.010, 0.020 : 0.030 0.061"#,
    );
    assert_eq!(r.upstream_time, Some(0.01));
    assert_eq!(r.request_time, Some(0.061));
    // $msec as the only time.
    let mut p = fmt("$remote_addr $msec \"$request\"").parser();
    let r = rec(&mut p, br#"::1 1710234000.250 "GET / HTTP/1.1""#);
    assert_eq!(
        r.time.unwrap().to_datetime().unwrap().to_rfc3339(),
        "2024-03-12T09:00:00.250+00:00"
    );
}

#[test]
fn apache_directives() {
    let f = fmt(
        r#"%a %A %V:%{canonical}p %l %u [%{%d/%b/%Y:%H:%M:%S %z}t] "%m %U%q %H" %<s %B %D %{X-Request-Id}i "%{User-agent}i" %!200,304{Referer}i %{SSL_PROTOCOL}x %%"#,
    );
    let mut p = f.parser();
    let r = rec(
        &mut p,
        br#"192.0.2.1 10.0.0.5 www.example.com:443 - - [12/Mar/2024:10:00:00 +0100] "GET /index.php?x=1 HTTP/1.1" 200 1234 2500 req-42 "Wget/1.21 \"quoted\"" - TLSv1.3 %"#,
    );
    assert_eq!(s(&r.host), Some("192.0.2.1"));
    assert_eq!(s(&r.vhost), Some("www.example.com"));
    assert_eq!(s(&r.port), Some("443"));
    assert_eq!(r.time, Some(TimeText::Clf(b"12/Mar/2024:10:00:00 +0100")));
    assert_eq!(s(&r.method), Some("GET"));
    assert_eq!(s(&r.target), Some("/index.php?x=1"));
    assert_eq!(s(&r.protocol), Some("HTTP/1.1"));
    assert_eq!(s(&r.status), Some("200"));
    assert_eq!(s(&r.bytes), Some("1234"));
    assert_eq!(r.request_time, Some(0.0025));
    assert_eq!(r.headers[0].0, "X-Request-Id");
    assert_eq!(s(&r.user_agent), Some(r#"Wget/1.21 "quoted""#));
    assert_eq!(s(&r.referer), Some("-"));
    assert_eq!(s(&r.tls), Some("TLSv1.3"));
    // %T in seconds, %{ms}T in milliseconds.
    let mut p = fmt(r#"%h %t "%r" %>s %T"#).parser();
    let r = rec(
        &mut p,
        br#"::1 [12/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 2"#,
    );
    assert_eq!(r.request_time, Some(2.0));
    let mut p = fmt(r#"%h %t "%r" %>s %{ms}T"#).parser();
    let r = rec(
        &mut p,
        br#"::1 [12/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1500"#,
    );
    assert_eq!(r.request_time, Some(1.5));
    // vhost_combined, as written in apache2.conf.
    let f = fmt(r#"%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""#);
    let mut p = f.parser();
    let mut q = fmt("vcombined").parser();
    let line = br#"blog.example.net:80 66.249.66.1 - - [12/Mar/2024:10:00:00 +0000] "GET /feed HTTP/1.1" 200 4311 "-" "Googlebot/2.1 (+http://www.google.com/bot.html)""#;
    assert_eq!(rec(&mut p, line), rec(&mut q, line));
}

#[test]
fn format_errors_name_the_culprit_and_its_position() {
    let cases: &[(&str, &str)] = &[
        ("$remote_addr - $foo", "unknown nginx variable `$foo` at byte 15"),
        ("$remote_addr ${bar} x", "unknown nginx variable `$bar` at byte 13"),
        ("$remote_addr ${host", "nginx format: `${` without a closing `}` at byte 13"),
        ("$remote_addr $ x", "nginx format: `$` is not followed by a variable name at byte 13"),
        ("%h %Z", "Apache directive `%Z` at byte 3 is not supported"),
        ("%h %{foo}Y x", "Apache directive `%{foo}Y` at byte 3 is not supported"),
        ("%h %{Referer", "Apache format: `%{` without a closing `}` at byte 3"),
        ("%h %", "Apache format: `%` at the end of the format at byte 3"),
        ("%h %i", "Apache format: `%i` needs a header name: `%{Name}i` at byte 3"),
        (
            "$remote_addr$remote_user",
            "`$remote_addr` and `$remote_user` at byte 12 are adjacent with no literal text between them, so where one ends is ambiguous",
        ),
        (
            "%h %u%>s",
            "`%u` and `%>s` at byte 5 are adjacent with no literal text between them, so where one ends is ambiguous",
        ),
        ("xyz", "unknown preset `xyz` (known: common, combined, vcommon, vcombined, combined-xff, traefik, w3c, cloudfront, caddy, aws-elb, aws-alb, s3)"),
        ("%% literal", "format `%% literal` has no field"),
    ];
    for (spec, msg) in cases {
        let e = LogFormat::parse(spec).unwrap_err();
        assert_eq!(e.to_string(), *msg, "{spec}");
    }
    assert!(matches!(
        LogFormat::nginx("$a_b_c").unwrap_err(),
        FormatError::UnknownNginxVariable { pos: 0, .. }
    ));
    // Valid but unmapped variables are accepted and skipped (still one token each).
    let mut p =
        fmt("$remote_addr $connection $sent_http_content_type $cookie_sid \"$request\"").parser();
    let r = rec(&mut p, br#"1.2.3.4 77 text/html abc "GET / HTTP/1.1""#);
    assert_eq!(s(&r.request), Some("GET / HTTP/1.1"));
    assert!(matches!(
        p.parse(br#"1.2.3.4 77 text/html "GET / HTTP/1.1""#),
        Parsed::NoMatch(_)
    ));
}

fn sample(name: &str) -> Vec<&'static [u8]> {
    let text: &'static str = match name {
        "common" => r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
127.0.0.1 - - [10/Oct/2000:13:55:37 -0700] "GET /x HTTP/1.0" 404 -"#,
        "combined" => r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"
127.0.0.1 - - [10/Oct/2000:13:55:37 -0700] "GET /x HTTP/1.0" 404 - "-" "-""#,
        "vcommon" => r#"www.example.com:80 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        "vcombined" => r#"www.example.com:443 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.5.0""#,
        "combined-xff" => r#"10.0.0.2 - - [12/Mar/2024:10:11:12 +0000] "GET / HTTP/1.1" 200 17 "-" "okhttp/4.12.0" "198.51.100.7""#,
        "traefik" => r#"172.18.0.1 - - [12/Mar/2024:10:11:12 +0000] "GET /dashboard/ HTTP/2.0" 200 2151 "-" "Mozilla/5.0" 42 "dashboard@internal" "-" 3ms"#,
        "w3c" => "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n2024-03-12 10:00:00 10.0.0.4 GET /default.htm - 80 - 192.168.1.5 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15",
        "cloudfront" => "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken\n2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tcurl/8\t-\t-\tHit\tSOX4==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001",
        "caddy" => r#"{"level":"info","ts":1646861401.52,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"127.0.0.1","proto":"HTTP/1.1","method":"GET","host":"localhost","uri":"/","headers":{"User-Agent":["curl/7.82.0"]}},"duration":0.0009,"size":12,"status":200}"#,
        "aws-elb" => r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#,
        "aws-alb" => r#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#,
        "s3" => r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -"#,
        _ => panic!("no sample for {name}"),
    };
    text.lines().map(str::as_bytes).collect()
}

#[test]
fn detection_picks_each_preset_from_its_sample() {
    for name in logtally_format::PRESETS {
        let lines = sample(name);
        let d = detect(&lines);
        let got = d.format.as_ref().map(|f| f.name().to_string());
        assert_eq!(got.as_deref(), Some(*name), "sample of {name}");
        assert!(d.matched >= 1);
        assert_eq!(d.tried, logtally_format::PRESETS);
    }
    let d = detect(&[&b"hello world"[..], b"{\"a\":1}"]);
    assert!(d.format.is_none());
    assert_eq!(d.matched, 0);
}

#[test]
fn thread_safety() {
    fn send_sync<T: Send + Sync + Clone>() {}
    fn send<T: Send + Clone>() {}
    send_sync::<LogFormat>();
    send::<logtally_format::LineParser>();
}
