//! Every preset on lines as the server writes them.

mod common;
use std::borrow::Cow;

use common::*;
use logtally_format::{LogFormat, Parsed, TimeText};

#[test]
fn combined_apache_line_with_escaped_quotes() {
    let mut p = fmt("combined").parser();
    // Apache escapes `"` as `\"` and `\` as `\\`.
    let line = br#"192.0.2.7 - - [05/Mar/2024:06:25:24 +0100] "GET /search?q=\"x\" HTTP/1.1" 200 512 "https://example.org/a\\b" "Mozilla/5.0 \"Fake\" (compatible)""#;
    let f = rec(&mut p, line);
    assert_eq!(s(&f.host), Some("192.0.2.7"));
    assert_eq!(s(&f.identity), Some("-"));
    assert_eq!(s(&f.user), Some("-"));
    assert_eq!(f.time, Some(TimeText::Clf(b"05/Mar/2024:06:25:24 +0100")));
    assert_eq!(s(&f.request), Some(r#"GET /search?q="x" HTTP/1.1"#));
    assert_eq!(s(&f.status), Some("200"));
    assert_eq!(s(&f.bytes), Some("512"));
    assert_eq!(s(&f.referer), Some(r"https://example.org/a\b"));
    assert_eq!(s(&f.user_agent), Some(r#"Mozilla/5.0 "Fake" (compatible)"#));
    assert!(matches!(f.host, Some(Cow::Borrowed(_))));
    assert!(f.vhost.is_none() && f.method.is_none() && f.request_time.is_none());
}

#[test]
fn combined_nginx_line_with_hex_escapes() {
    let mut p = fmt("combined").parser();
    // nginx (escape=default) writes `"` as \x22 and non-ASCII bytes as \xHH.
    let line = br#"203.0.113.5 - alice [12/Mar/2024:10:00:01 +0000] "GET /caf\xC3\xA9 HTTP/1.1" 404 153 "-" "Mozilla/5.0 \x22evil\x22""#;
    let f = rec(&mut p, line);
    assert_eq!(s(&f.user), Some("alice"));
    assert_eq!(s(&f.request), Some("GET /café HTTP/1.1"));
    assert_eq!(s(&f.user_agent), Some(r#"Mozilla/5.0 "evil""#));
    assert!(
        matches!(f.user_agent, Some(Cow::Borrowed(_))),
        "unescaped into scratch, borrowed"
    );
}

#[test]
fn combined_odd_requests_are_records() {
    let mut p = fmt("combined").parser();
    let lines: [&[u8]; 5] = [
        br#"198.51.100.23 - - [12/Mar/2024:10:00:02 +0000] "" 400 0 "-" "-""#,
        br#"198.51.100.23 - - [12/Mar/2024:10:00:03 +0000] "\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03" 400 157 "-" "-""#,
        br#"198.51.100.23 - - [12/Mar/2024:10:00:04 +0000] "SSH-2.0-Go" 400 157 "-" "-""#,
        br#"198.51.100.23 - - [12/Mar/2024:10:00:05 +0000] "GET / HTTP/1.1" 200 612 "-" """#,
        b"198.51.100.23 - - [12/Mar/2024:10:00:05 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"curl/8.5.0\"  \r",
    ];
    let f = rec(&mut p, lines[0]);
    assert_eq!(s(&f.request), Some(""));
    let f = rec(&mut p, lines[1]);
    assert_eq!(
        f.request.as_deref(),
        Some(&[0x16, 3, 1, 0, 0xF1, 1, 0, 0, 0xED, 3, 3][..])
    );
    let f = rec(&mut p, lines[2]);
    assert_eq!(s(&f.request), Some("SSH-2.0-Go"));
    let f = rec(&mut p, lines[3]);
    assert_eq!(s(&f.user_agent), Some(""));
    let f = rec(&mut p, lines[4]);
    assert_eq!(s(&f.user_agent), Some("curl/8.5.0"));
}

#[test]
fn combined_rejects_lines_that_do_not_fit() {
    let mut p = fmt("combined").parser();
    for line in [
        &b""[..],
        b"garbage",
        br#"1.2.3.4 - - [12/Mar/2024:10:00:05 +0000] "GET / HTTP/1.1" 200 612"#,
        br#"1.2.3.4 - - [12/Mar/2024:10:00:05 +0000] "GET / HTTP/1.1" 200 612 "-" "ua" "extra""#,
        br#"1.2.3.4 - - [12/Mar/2024:10:00:05 +0000] "GET / HTTP/1.1 200 612 "-" "ua"#,
    ] {
        assert!(
            matches!(p.parse(line), Parsed::NoMatch(_)),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn common_line() {
    let mut p = fmt("common").parser();
    let f = rec(
        &mut p,
        br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
    );
    assert_eq!(s(&f.user), Some("frank"));
    assert_eq!(s(&f.bytes), Some("2326"));
    assert!(f.referer.is_none() && f.user_agent.is_none());
    let f = rec(
        &mut p,
        br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 304 -"#,
    );
    assert_eq!(s(&f.bytes), Some("-"));
}

#[test]
fn vcombined_and_vcommon_lines() {
    // Apache's vhost_combined: "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""
    let mut p = fmt("vcombined").parser();
    let f = rec(
        &mut p,
        br#"www.example.com:443 203.0.113.9 - - [12/Mar/2024:10:11:12 +0100] "GET /index.html HTTP/1.1" 200 5120 "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0""#,
    );
    assert_eq!(s(&f.vhost), Some("www.example.com"));
    assert_eq!(s(&f.port), Some("443"));
    assert_eq!(s(&f.host), Some("203.0.113.9"));
    assert_eq!(s(&f.referer), Some("https://www.example.com/"));
    let mut p = fmt("vcommon").parser();
    let f = rec(
        &mut p,
        br#"example.org:80 2001:db8::1 - - [12/Mar/2024:10:11:12 +0100] "HEAD / HTTP/1.0" 301 0"#,
    );
    assert_eq!(s(&f.vhost), Some("example.org"));
    assert_eq!(s(&f.host), Some("2001:db8::1"));
    assert_eq!(s(&f.status), Some("301"));
}

#[test]
fn combined_xff_line() {
    let mut p = fmt("combined-xff").parser();
    let f = rec(
        &mut p,
        br#"10.0.0.2 - - [12/Mar/2024:10:11:12 +0000] "POST /api HTTP/1.1" 201 17 "-" "okhttp/4.12.0" "198.51.100.7, 10.0.0.1""#,
    );
    assert_eq!(s(&f.forwarded_for), Some("198.51.100.7, 10.0.0.1"));
    let f = rec(
        &mut p,
        br#"10.0.0.2 - - [12/Mar/2024:10:11:12 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" "-""#,
    );
    assert_eq!(s(&f.forwarded_for), Some("-"));
}

#[test]
fn traefik_clf_line() {
    // <ip> - <user> [<ts>] "<req>" <status> <size> "<referer>" "<ua>" <count> "<router>" "<server URL>" <ms>ms
    let mut p = fmt("traefik").parser();
    let f = rec(
        &mut p,
        br#"172.18.0.1 - - [12/Mar/2024:10:11:12 +0000] "GET /dashboard/ HTTP/2.0" 200 2151 "-" "Mozilla/5.0" 42 "dashboard@internal" "-" 3ms"#,
    );
    assert_eq!(s(&f.request), Some("GET /dashboard/ HTTP/2.0"));
    assert_eq!(f.request_time, Some(0.003));
    let f = rec(
        &mut p,
        br#"203.0.113.1 - bob [12/Mar/2024:10:11:13 +0000] "POST /api HTTP/1.1" 502 11 "https://a.example/" "Go \"client\"" 43 "api@docker" "http://172.18.0.5:8080" 1250ms"#,
    );
    assert_eq!(s(&f.user_agent), Some(r#"Go "client""#));
    assert_eq!(f.request_time, Some(1.25));
}

#[test]
fn caddy_json_line() {
    let mut p = fmt("caddy").parser();
    let line = br#"{"level":"info","ts":1646861401.5241024,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"41342","client_ip":"127.0.0.1","proto":"HTTP/2.0","method":"GET","host":"localhost","uri":"/a?b=1","headers":{"User-Agent":["curl/7.82.0"],"Accept":["*/*"],"Referer":["https://x.example/\"q\""]},"tls":{"resumed":false,"version":772,"cipher_suite":4865,"proto":"h2","server_name":"example.com"}},"bytes_read":0,"user_id":"","duration":0.000929675,"size":10900,"status":200,"resp_headers":{"Server":["Caddy"],"Content-Type":["text/html; charset=utf-8"]}}"#;
    let f = rec(&mut p, line);
    assert_eq!(s(&f.host), Some("127.0.0.1"));
    assert_eq!(s(&f.method), Some("GET"));
    assert_eq!(s(&f.target), Some("/a?b=1"));
    assert_eq!(s(&f.protocol), Some("HTTP/2.0"));
    assert_eq!(s(&f.vhost), Some("localhost"));
    assert_eq!(s(&f.user_agent), Some("curl/7.82.0"));
    assert_eq!(s(&f.referer), Some(r#"https://x.example/"q""#));
    assert_eq!(s(&f.status), Some("200"));
    assert_eq!(s(&f.bytes), Some("10900"));
    assert_eq!(s(&f.tls), Some("TLSv1.3"));
    assert!(f.user.is_none());
    assert_eq!(f.request_time, Some(0.000929675));
    assert_eq!(
        f.time,
        Some(TimeText::EpochSeconds(Cow::Borrowed(b"1646861401.5241024")))
    );
    assert_eq!(
        f.time.unwrap().to_datetime().unwrap().timestamp(),
        1646861401
    );
    assert!(matches!(f.user_agent, Some(Cow::Borrowed(_))));
    // Not an access entry.
    let other =
        br#"{"level":"info","ts":1646861401.5,"logger":"tls","msg":"cleaning storage unit"}"#;
    assert!(matches!(p.parse(other), Parsed::NoMatch(_)));
    assert!(matches!(p.parse(b"{broken"), Parsed::NoMatch(_)));
}

#[test]
fn aws_alb_line() {
    let mut p = fmt("aws-alb").parser();
    let line = br#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90"#;
    let f = rec(&mut p, line);
    assert_eq!(s(&f.host), Some("192.168.131.39"));
    assert_eq!(s(&f.status), Some("200"));
    assert_eq!(s(&f.bytes), Some("57"));
    assert_eq!(
        s(&f.request),
        Some("GET https://www.example.com:443/ HTTP/1.1")
    );
    assert_eq!(s(&f.user_agent), Some("curl/7.46.0"));
    assert_eq!(s(&f.tls), Some("TLSv1.2"));
    assert!((f.request_time.unwrap() - 0.171).abs() < 1e-9);
    let t = f.time.unwrap().to_datetime().unwrap();
    assert_eq!(t.to_rfc3339(), "2018-07-02T22:23:00.186641+00:00");
    // A request not dispatched to a target: times are -1, no request time.
    let line = br#"http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - -1 -1 -1 503 - 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - - "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "-" "-" "-" "-" "-""#;
    let f = rec(&mut p, line);
    assert_eq!(s(&f.status), Some("503"));
    assert_eq!(f.request_time, None);
}

#[test]
fn aws_elb_line() {
    let mut p = fmt("aws-elb").parser();
    let f = rec(
        &mut p,
        br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#,
    );
    assert_eq!(s(&f.host), Some("192.168.131.39"));
    assert_eq!(s(&f.status), Some("200"));
    assert_eq!(s(&f.bytes), Some("29"));
    assert_eq!(s(&f.user_agent), Some("curl/7.38.0"));
    assert!((f.request_time.unwrap() - 0.001178).abs() < 1e-9);
    // TCP listener: no HTTP fields.
    let f = rec(
        &mut p,
        br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#,
    );
    assert_eq!(s(&f.request), Some("- - - "));
    assert_eq!(s(&f.status), Some("-"));
}

#[test]
fn s3_line() {
    let mut p = fmt("s3").parser();
    let line = br#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"#;
    let f = rec(&mut p, line);
    assert_eq!(s(&f.vhost), Some("amzn-s3-demo-bucket1"));
    assert_eq!(s(&f.host), Some("192.0.2.3"));
    assert_eq!(
        s(&f.request),
        Some("GET /amzn-s3-demo-bucket1?versioning HTTP/1.1")
    );
    assert_eq!(s(&f.status), Some("200"));
    assert_eq!(s(&f.bytes), Some("113"));
    assert_eq!(f.request_time, Some(0.007));
    assert_eq!(s(&f.user_agent), Some("S3Console/0.4"));
    assert_eq!(f.time, Some(TimeText::Clf(b"06/Feb/2019:00:00:38 +0000")));
}

const IIS: &str = "#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2024-03-12 10:00:00
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
2024-03-12 10:00:00 10.0.0.4 GET /default.htm - 80 - 192.168.1.5 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 15
2024-03-12 10:00:01 10.0.0.4 GET /search.aspx q=rust&page=2 443 CONTOSO\\jane 192.168.1.6 curl/8.5.0 https://example.com/ 404 0 2 120
#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2024-03-12 11:00:00
#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes cs-host cs(X-Request-Id) time-taken
2024-03-12 11:00:00 192.168.1.7 POST /api/upload 201 512 www.contoso.com abc-123 33";

#[test]
fn w3c_header_then_records_and_header_change() {
    let mut p = fmt("w3c").parser();
    let mut recs = Vec::new();
    let mut directives = 0;
    for line in IIS.lines() {
        match p.parse(line.as_bytes()) {
            Parsed::Record(f) => recs.push(format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                s(&f.host),
                s(&f.method),
                s(&f.target),
                s(&f.status),
                s(&f.user_agent),
                s(&f.referer),
                s(&f.user),
                s(&f.port),
                s(&f.vhost),
                s(&f.bytes),
                f.request_time,
                f.headers
                    .iter()
                    .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
                    .collect::<Vec<_>>(),
            )),
            Parsed::Directive => directives += 1,
            Parsed::NoMatch(why) => panic!("{line}: {why}"),
        }
    }
    assert_eq!(directives, 8);
    assert_eq!(
        recs,
        [
            r#"Some("192.168.1.5") Some("GET") Some("/default.htm") Some("200") Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)") Some("-") Some("-") Some("80") None None Some(0.015) []"#,
            r#"Some("192.168.1.6") Some("GET") Some("/search.aspx?q=rust&page=2") Some("404") Some("curl/8.5.0") Some("https://example.com/") Some("CONTOSO\\jane") Some("443") None None Some(0.12) []"#,
            r#"Some("192.168.1.7") Some("POST") Some("/api/upload") Some("201") None None None None Some("www.contoso.com") Some("512") Some(0.033) ["X-Request-Id=abc-123"]"#,
        ]
    );
    // Times are W3C date + time, UTC.
    let mut p = fmt("w3c").parser();
    let line =
        "2024-03-12 10:00:00 10.0.0.4 GET /default.htm - 80 - 192.168.1.5 Mozilla/5.0 - 200 0 0 15";
    let f = rec(&mut p, line.as_bytes());
    assert_eq!(
        f.time,
        Some(TimeText::W3c {
            date: b"2024-03-12",
            time: b"10:00:00"
        })
    );
    assert_eq!(
        f.time.unwrap().to_datetime().unwrap().to_rfc3339(),
        "2024-03-12T10:00:00+00:00"
    );
    // Wrong field count.
    assert!(matches!(
        p.parse(b"2024-03-12 10:00:00 10.0.0.4 GET"),
        Parsed::NoMatch(_)
    ));
}

#[test]
fn cloudfront_lines() {
    let text = "#Version: 1.0
#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end
2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-
2019-12-13\t22:36:27\tSEA19-C1\t900\t192.0.2.200\tGET\td111111abcdef8.cloudfront.net\t/favicon.ico\t502\thttp://www.example.com/\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)\ta=b\t-\tError\t1pkpNfBQ39sYMnjjUQjmH2w1wdJnbHYTbag21o_3OfcQgPzdL2RSSQ==\twww.example.com\thttp\t675\t0.102\t-\t-\t-\tError\tHTTP/1.1\t-\t-\t25260\t0.102\tOriginDnsError\ttext/html\t507\t-\t-";
    let mut p = fmt("cloudfront").parser();
    let mut it = text.lines();
    assert_eq!(p.parse(it.next().unwrap().as_bytes()), Parsed::Directive);
    assert_eq!(p.parse(it.next().unwrap().as_bytes()), Parsed::Directive);
    let l = it.next().unwrap();
    let f = rec(&mut p, l.as_bytes());
    assert_eq!(s(&f.host), Some("192.0.2.100"));
    assert_eq!(s(&f.method), Some("GET"));
    assert_eq!(s(&f.target), Some("/index.html"));
    assert_eq!(s(&f.status), Some("200"));
    assert_eq!(s(&f.bytes), Some("392"));
    assert_eq!(s(&f.vhost), Some("d111111abcdef8.cloudfront.net"));
    assert_eq!(s(&f.protocol), Some("HTTP/2.0"));
    assert_eq!(s(&f.tls), Some("TLSv1.2"));
    assert_eq!(
        s(&f.user_agent),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36")
    );
    assert_eq!(f.request_time, Some(0.001));
    assert_eq!(
        f.time.unwrap().to_datetime().unwrap().to_rfc3339(),
        "2019-12-04T21:02:31+00:00"
    );
    let l = it.next().unwrap();
    let f = rec(&mut p, l.as_bytes());
    assert_eq!(s(&f.target), Some("/favicon.ico?a=b"));
    assert_eq!(s(&f.vhost), Some("www.example.com"));
    assert_eq!(s(&f.referer), Some("http://www.example.com/"));
    // Without the header, the standard field order is assumed.
    let mut p = fmt("cloudfront").parser();
    let f = rec(&mut p, text.lines().nth(2).unwrap().as_bytes());
    assert_eq!(s(&f.host), Some("192.0.2.100"));
}

#[test]
fn every_preset_has_a_parser_and_a_name() {
    for name in logtally_format::PRESETS {
        let f = LogFormat::preset(name).unwrap();
        assert_eq!(f.name(), *name);
        assert_eq!(f.is_clf_family(), matches!(*name, "combined" | "common"));
        let mut p = f.parser();
        assert!(matches!(
            p.parse(b"\x00garbage"),
            Parsed::NoMatch(_) | Parsed::Directive
        ));
    }
}
