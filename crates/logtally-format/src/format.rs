//! [`LogFormat`], [`LineParser`] and the presets.

use std::sync::{Arc, OnceLock};

use crate::dialects::{compile_apache, compile_nginx};
use crate::steps::{build, join_query, Spans, StepFormat};
use crate::w3c::{W3cFlavor, W3cState};
use crate::{FormatError, Parsed};

/// Preset names, simplest first (auto-detection prefers the earlier on ties).
///
/// ```
/// assert_eq!(logtally_format::PRESETS[0], "common");
/// assert!(logtally_format::PRESETS.contains(&"caddy"));
/// ```
pub const PRESETS: &[&str] = &[
    "common",
    "combined",
    "vcommon",
    "vcombined",
    "combined-xff",
    "traefik",
    "w3c",
    "cloudfront",
    "caddy",
    "aws-elb",
    "aws-alb",
    "s3",
];

const COMBINED: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#;
const COMMON: &str = r#"%h %l %u %t "%r" %>s %b"#;
const NGINX_COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
const NGINX_COMMON: &str =
    r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent"#;

#[derive(Debug)]
enum Kind {
    Steps(StepFormat),
    W3c(W3cFlavor),
    Caddy,
}

/// A compiled format: a preset, an nginx string or an Apache string.
///
/// ```
/// use logtally_format::LogFormat;
/// let f = LogFormat::parse("vcombined").unwrap();
/// assert_eq!(f.name(), "vcombined");
/// let f = LogFormat::parse("$remote_addr [$time_local] \"$request\" $status").unwrap();
/// assert_eq!(f.name(), "nginx:$remote_addr [$time_local] \"$request\" $status");
/// assert!(LogFormat::parse("%h %l %u %t \"%r\" %>s %b").unwrap().is_clf_family());
/// ```
#[derive(Clone, Debug)]
pub struct LogFormat {
    name: Arc<str>,
    kind: Arc<Kind>,
    clf: bool,
}

impl LogFormat {
    /// A preset name (`combined`, `common`, ...; see [`PRESETS`]), or a format string:
    /// nginx if it contains `$`, else Apache if it contains `%`.
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// assert_eq!(LogFormat::parse("%h %t \"%r\" %>s").unwrap().name(), "apache:%h %t \"%r\" %>s");
    /// assert!(LogFormat::parse("nope").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<LogFormat, FormatError> {
        if spec.contains('$') {
            LogFormat::nginx(spec)
        } else if spec.contains('%') {
            LogFormat::apache(spec)
        } else {
            LogFormat::preset(spec.trim())
        }
    }

    /// A preset by name (see [`PRESETS`]).
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// let e = LogFormat::preset("xyz").unwrap_err().to_string();
    /// assert!(e.starts_with("unknown preset `xyz` (known: common, combined,"));
    /// ```
    pub fn preset(name: &str) -> Result<LogFormat, FormatError> {
        // Compiled once per process: auto-detection tries every preset on every file.
        static COMPILED: OnceLock<Vec<LogFormat>> = OnceLock::new();
        let compiled = COMPILED.get_or_init(|| {
            PRESETS
                .iter()
                .filter_map(|name| LogFormat::compile_preset(name).ok())
                .collect()
        });
        match compiled.iter().find(|f| f.name() == name) {
            Some(format) => Ok(format.clone()),
            None => LogFormat::compile_preset(name),
        }
    }

    fn compile_preset(name: &str) -> Result<LogFormat, FormatError> {
        let steps = |f: Result<StepFormat, FormatError>| f.map(Kind::Steps);
        let nginx = |f: &str, trailing: bool| steps(compile_nginx(f, true, trailing));
        let kind = match name {
            "combined" => steps(compile_apache(COMBINED)),
            "common" => steps(compile_apache(COMMON)),
            "vcombined" => steps(compile_apache(
                r#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#,
            )),
            "vcommon" => steps(compile_apache(r#"%v:%p %h %l %u %t "%r" %>s %O"#)),
            "combined-xff" => steps(compile_apache(
                r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i""#,
            )),
            "traefik" => nginx(
                r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $lt_skip "$lt_skip" "$lt_skip" ${lt_ms}ms"#,
                false,
            ),
            "aws-alb" => nginx(
                r#"$lt_skip $time_iso8601 $lt_skip $lt_hostport $lt_skip $lt_secs_sum $lt_secs_sum $lt_secs_sum $status $lt_skip $lt_skip $body_bytes_sent "$request" "$http_user_agent" $lt_skip $ssl_protocol"#,
                true,
            ),
            "aws-elb" => nginx(
                r#"$time_iso8601 $lt_skip $lt_hostport $lt_skip $lt_secs_sum $lt_secs_sum $lt_secs_sum $status $lt_skip $lt_skip $body_bytes_sent "$request" "$http_user_agent" $lt_skip $ssl_protocol"#,
                true,
            ),
            "s3" => nginx(
                r#"$lt_skip $lt_vhost [$time_local] $remote_addr $lt_user $lt_skip $lt_skip $lt_skip "$request" $status $lt_skip $body_bytes_sent $lt_skip $lt_ms $lt_skip "$http_referer" "$http_user_agent""#,
                true,
            ),
            "w3c" => Ok(Kind::W3c(W3cFlavor::Iis)),
            "cloudfront" => Ok(Kind::W3c(W3cFlavor::CloudFront)),
            "caddy" => Ok(Kind::Caddy),
            _ => {
                return Err(FormatError::UnknownPreset {
                    name: name.to_string(),
                    known: PRESETS.join(", "),
                })
            }
        }?;
        Ok(LogFormat::new(name.to_string(), kind))
    }

    /// An nginx `log_format` string (variables `$name` or `${name}`; everything else literal).
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// let f = LogFormat::nginx("$host $remote_addr [$time_local] \"$request\" $status").unwrap();
    /// let mut p = f.parser();
    /// let r = p.parse(br#" 1.2.3.4 [01/Jan/2024:00:00:00 +0000] "SSH-2.0-Go" 400"#).record().unwrap();
    /// assert_eq!(r.vhost.as_deref(), Some(&b""[..]));
    /// assert_eq!(r.request.as_deref(), Some(&b"SSH-2.0-Go"[..]));
    /// ```
    pub fn nginx(format: &str) -> Result<LogFormat, FormatError> {
        let f = compile_nginx(format, false, false)?;
        Ok(LogFormat::new(format!("nginx:{format}"), Kind::Steps(f)))
    }

    /// An Apache `LogFormat` string (`%h`, `%{Referer}i`, `%>s`, `%D`, ...).
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// let e = LogFormat::apache("%h %Z").unwrap_err();
    /// assert_eq!(e.to_string(), "Apache directive `%Z` at byte 3 is not supported");
    /// ```
    pub fn apache(format: &str) -> Result<LogFormat, FormatError> {
        let f = compile_apache(format)?;
        Ok(LogFormat::new(format!("apache:{format}"), Kind::Steps(f)))
    }

    fn new(name: String, kind: Kind) -> LogFormat {
        let clf = match &kind {
            Kind::Steps(s) => {
                [COMBINED, COMMON]
                    .iter()
                    .any(|f| compile_apache(f).is_ok_and(|c| c == *s))
                    || [NGINX_COMBINED, NGINX_COMMON]
                        .iter()
                        .any(|f| compile_nginx(f, false, false).is_ok_and(|c| c == *s))
            }
            _ => false,
        };
        LogFormat {
            name: name.into(),
            kind: Arc::new(kind),
            clf,
        }
    }

    /// Short name for reports: the preset name, or `nginx:<string>` / `apache:<string>`.
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// assert_eq!(LogFormat::preset("aws-alb").unwrap().name(), "aws-alb");
    /// assert_eq!(LogFormat::nginx("$remote_addr $status").unwrap().name(), "nginx:$remote_addr $status");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is exactly the Combined/Common dialect (Apache's or nginx's spelling).
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// assert!(LogFormat::preset("combined").unwrap().is_clf_family());
    /// assert!(!LogFormat::preset("vcombined").unwrap().is_clf_family());
    /// ```
    pub fn is_clf_family(&self) -> bool {
        self.clf
    }

    /// A per-file line parser (holds state such as the W3C `#Fields:` header and scratch buffers).
    ///
    /// ```
    /// use logtally_format::{LogFormat, Parsed};
    /// let mut p = LogFormat::preset("w3c").unwrap().parser();
    /// assert_eq!(p.parse(b"#Fields: date time c-ip cs-method cs-uri-stem sc-status"), Parsed::Directive);
    /// let f = p.parse(b"2024-03-12 10:00:00 192.0.2.1 GET /a 200").record().unwrap();
    /// assert_eq!(f.target.as_deref(), Some(&b"/a"[..]));
    /// ```
    pub fn parser(&self) -> LineParser {
        let w3c = match *self.kind {
            Kind::W3c(flavor) => Some(W3cState::new(flavor)),
            _ => None,
        };
        LineParser {
            format: self.clone(),
            scratch: Vec::new(),
            spans: Spans::default(),
            w3c,
        }
    }
}

/// Parses the lines of one file in a given format.
///
/// ```
/// use logtally_format::{LogFormat, Parsed};
/// let mut p = LogFormat::preset("combined").unwrap().parser();
/// let line = br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 "-" "Mozilla \"X\" 1.0""#;
/// match p.parse(line) {
///     Parsed::Record(f) => assert_eq!(f.user_agent.as_deref(), Some(&b"Mozilla \"X\" 1.0"[..])),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Debug)]
pub struct LineParser {
    format: LogFormat,
    scratch: Vec<u8>,
    spans: Spans,
    w3c: Option<W3cState>,
}

impl LineParser {
    /// Whether what a line means depends on the lines before it: W3C's
    /// `#Fields:` directives name the fields of the lines that follow, so
    /// such a file is read in order, never in blocks apart.
    ///
    /// ```
    /// use logtally_format::LogFormat;
    /// assert!(LogFormat::preset("w3c").unwrap().parser().carries_state());
    /// assert!(!LogFormat::preset("combined").unwrap().parser().carries_state());
    /// ```
    pub fn carries_state(&self) -> bool {
        self.w3c.is_some()
    }

    /// Parses one line (without its `\n`; a trailing `\r` and trailing spaces are ignored).
    ///
    /// ```
    /// use logtally_format::{LogFormat, Parsed};
    /// let mut p = LogFormat::preset("common").unwrap().parser();
    /// let line = b"::1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 -\r";
    /// assert!(matches!(p.parse(line), Parsed::Record(_)));
    /// assert!(matches!(p.parse(b"::1 GET /"), Parsed::NoMatch(_)));
    /// ```
    pub fn parse<'a>(&'a mut self, line: &'a [u8]) -> Parsed<'a> {
        let mut end = line.len();
        while end > 0 && (line[end - 1] == b'\r' || line[end - 1] == b' ') {
            end -= 1;
        }
        let line = &line[..end];
        let LineParser {
            format,
            scratch,
            spans,
            w3c,
        } = self;
        scratch.clear();
        spans.reset();
        match &*format.kind {
            Kind::Steps(f) => {
                if let Err(why) = f.match_line(line, scratch, spans) {
                    return Parsed::NoMatch(why);
                }
                join_query(line, scratch, spans);
                Parsed::Record(build(spans, line, scratch, &f.headers))
            }
            Kind::W3c(flavor) => {
                let Some(st) = w3c.as_mut() else {
                    return Parsed::NoMatch("parser has no W3C state");
                };
                if line.first() == Some(&b'#') {
                    st.directive(*flavor, line);
                    return Parsed::Directive;
                }
                if line.is_empty() {
                    return Parsed::NoMatch("empty line");
                }
                if let Err(why) = st.match_line(*flavor, line, scratch, spans) {
                    return Parsed::NoMatch(why);
                }
                join_query(line, scratch, spans);
                let st: &'a W3cState = st;
                Parsed::Record(build(spans, line, scratch, &st.names))
            }
            Kind::Caddy => match crate::caddy::parse(line) {
                Ok(f) => Parsed::Record(f),
                Err(why) => Parsed::NoMatch(why),
            },
        }
    }
}

/// The result of [`detect`].
///
/// ```
/// let d = logtally_format::detect(&[&br#"{"ts":1.5,"request":{"remote_ip":"::1","uri":"/"},"status":200}"#[..]]);
/// assert_eq!(d.format.map(|f| f.name().to_string()).as_deref(), Some("caddy"));
/// ```
#[derive(Clone, Debug)]
pub struct Detection {
    /// The best preset, or `None` if no preset parses any line of the sample.
    pub format: Option<LogFormat>,
    /// How many sample lines that preset parsed as records.
    pub matched: usize,
    /// The presets tried, in order.
    pub tried: Vec<&'static str>,
}

/// Auto-detection: the preset that parses the most lines of `sample` (ties go to
/// the earlier in [`PRESETS`]); `format` is `None` if none parses any line.
///
/// ```
/// use logtally_format::detect;
/// let d = detect(&[&br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 "-" "curl/8""#[..]]);
/// assert_eq!(d.format.unwrap().name(), "combined");
/// assert_eq!(d.matched, 1);
/// let d = detect(&[&b"hello"[..]]);
/// assert!(d.format.is_none());
/// assert_eq!(d.tried.len(), logtally_format::PRESETS.len());
/// ```
pub fn detect(sample: &[&[u8]]) -> Detection {
    let mut best: Option<(LogFormat, usize)> = None;
    for name in PRESETS {
        let Ok(f) = LogFormat::preset(name) else {
            continue;
        };
        let mut p = f.parser();
        let n = sample
            .iter()
            // A line fits when it parses and its time (if it has one) is a time:
            // the layout alone can fit by chance (an ELB line has no brackets).
            .filter(|l| match p.parse(l) {
                Parsed::Record(f) => f.time.as_ref().is_none_or(|t| t.to_datetime().is_some()),
                _ => false,
            })
            .count();
        if n > 0 && best.as_ref().is_none_or(|(_, b)| n > *b) {
            best = Some((f, n));
        }
    }
    let (format, matched) = match best {
        Some((f, n)) => (Some(f), n),
        None => (None, 0),
    };
    Detection {
        format,
        matched,
        tried: PRESETS.to_vec(),
    }
}
