//! Compilers for nginx `log_format` and Apache `LogFormat` strings.

use crate::steps::*;
use crate::FormatError;

/// nginx variables that exist but are not mapped to a field (accepted and skipped).
const NGINX_KNOWN: &[&str] = &[
    "ancient_browser",
    "args",
    "binary_remote_addr",
    "bytes_received",
    "connection",
    "connection_requests",
    "connection_time",
    "connections_active",
    "connections_reading",
    "connections_waiting",
    "connections_writing",
    "content_length",
    "content_type",
    "date_gmt",
    "date_local",
    "document_root",
    "fastcgi_path_info",
    "fastcgi_script_name",
    "gzip_ratio",
    "hostname",
    "http2",
    "http3",
    "https",
    "invalid_referer",
    "is_args",
    "limit_conn_status",
    "limit_rate",
    "limit_req_status",
    "memcached_key",
    "modern_browser",
    "msie",
    "nginx_version",
    "pid",
    "pipe",
    "protocol",
    "proxy_add_x_forwarded_for",
    "proxy_host",
    "proxy_port",
    "proxy_protocol_addr",
    "proxy_protocol_port",
    "proxy_protocol_server_addr",
    "proxy_protocol_server_port",
    "query_string",
    "realip_remote_port",
    "realpath_root",
    "remote_port",
    "request_body",
    "request_body_file",
    "request_completion",
    "request_filename",
    "request_id",
    "request_length",
    "scheme",
    "secure_link",
    "secure_link_expires",
    "server_addr",
    "session_log_binary_id",
    "session_log_id",
    "session_time",
    "slice_range",
    "spdy",
    "spdy_request_priority",
    "ssl_alpn_protocol",
    "ssl_cipher",
    "ssl_ciphers",
    "ssl_curve",
    "ssl_curves",
    "ssl_early_data",
    "ssl_server_name",
    "ssl_session_id",
    "ssl_session_reused",
    "tcpinfo_rtt",
    "tcpinfo_rttvar",
    "tcpinfo_snd_cwnd",
    "tcpinfo_rcv_space",
    "uid_got",
    "uid_reset",
    "uid_set",
    "upstream_addr",
    "upstream_bytes_received",
    "upstream_bytes_sent",
    "upstream_cache_status",
    "upstream_connect_time",
    "upstream_first_byte_time",
    "upstream_header_time",
    "upstream_queue_time",
    "upstream_response_length",
    "upstream_session_time",
    "upstream_status",
];

/// Prefixes of nginx variable families that are accepted and skipped.
const NGINX_KNOWN_PREFIXES: &[&str] = &[
    "arg_",
    "cookie_",
    "sent_http_",
    "sent_trailer_",
    "upstream_http_",
    "upstream_cookie_",
    "upstream_trailer_",
    "ssl_client_",
    "ssl_preread_",
    "proxy_protocol_tlv_",
    "geoip_",
    "geoip2_",
    "jwt_",
];

/// `x_real_ip` -> `X-Real-Ip`.
fn header_name_from_nginx(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn header_slot(name: &str, headers: &mut Vec<String>) -> Slot {
    if name.eq_ignore_ascii_case("referer") {
        Slot::Cow(REFERER)
    } else if name.eq_ignore_ascii_case("user-agent") {
        Slot::Cow(USER_AGENT)
    } else if name.eq_ignore_ascii_case("x-forwarded-for") {
        Slot::Cow(FORWARDED_FOR)
    } else {
        let i = headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| {
                headers.push(name.to_string());
                headers.len() - 1
            });
        Slot::Header(i as u16)
    }
}

fn nginx_var(name: &str, internal: bool, headers: &mut Vec<String>) -> Option<Slot> {
    let slot = match name {
        "remote_addr" | "realip_remote_addr" => Slot::Cow(HOST),
        "remote_user" => Slot::Cow(USER),
        "time_local" => Slot::TimeClf,
        "time_iso8601" => Slot::TimeIso,
        "msec" => Slot::TimeEpoch,
        "request" => Slot::Cow(REQUEST),
        "request_method" => Slot::Cow(METHOD),
        "request_uri" | "uri" | "document_uri" => Slot::Cow(TARGET),
        "server_protocol" => Slot::Cow(PROTOCOL),
        "status" => Slot::Cow(STATUS),
        "body_bytes_sent" | "bytes_sent" => Slot::Cow(BYTES),
        "host" | "server_name" | "http_host" => Slot::Cow(VHOST),
        "server_port" => Slot::Cow(PORT),
        "request_time" => Slot::Secs,
        "upstream_response_time" => Slot::Upstream,
        "ssl_protocol" => Slot::Cow(TLS),
        _ if internal && name.starts_with("lt_") => match name {
            "lt_skip" => Slot::Skip,
            "lt_hostport" => Slot::HostPort,
            "lt_secs_sum" => Slot::SecsSum,
            "lt_ms" => Slot::Millis,
            "lt_user" => Slot::Cow(USER),
            "lt_vhost" => Slot::Cow(VHOST),
            _ => return None,
        },
        _ => {
            if let Some(h) = name.strip_prefix("http_") {
                if h.is_empty() {
                    return None;
                }
                return Some(header_slot(&header_name_from_nginx(h), headers));
            }
            if name.starts_with("upstream_")
                && (NGINX_KNOWN.contains(&name) || name.starts_with("upstream_http_"))
            {
                Slot::SkipList
            } else if NGINX_KNOWN.contains(&name)
                || NGINX_KNOWN_PREFIXES
                    .iter()
                    .any(|p| name.len() > p.len() && name.starts_with(p))
            {
                Slot::Skip
            } else {
                return None;
            }
        }
    };
    Some(slot)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Compiles an nginx `log_format` string.
pub(crate) fn compile_nginx(
    spec: &str,
    internal: bool,
    allow_trailing: bool,
) -> Result<StepFormat, FormatError> {
    let s = spec.as_bytes();
    let mut toks = Vec::new();
    let mut headers = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'$' {
            lit.push(s[i]);
            i += 1;
            continue;
        }
        let pos = i;
        let (name, next) = if s.get(i + 1) == Some(&b'{') {
            let Some(close) = s[i + 2..].iter().position(|&b| b == b'}') else {
                return Err(FormatError::Syntax {
                    dialect: "nginx",
                    message: "`${` without a closing `}`",
                    pos,
                });
            };
            (&spec[i + 2..i + 2 + close], i + 3 + close)
        } else {
            let n = s[i + 1..].iter().take_while(|&&b| is_name_byte(b)).count();
            (&spec[i + 1..i + 1 + n], i + 1 + n)
        };
        if name.is_empty() || !name.bytes().all(is_name_byte) {
            return Err(FormatError::Syntax {
                dialect: "nginx",
                message: "`$` is not followed by a variable name",
                pos,
            });
        }
        let slot = match name {
            "args" | "query_string" => Slot::Cow(QUERY),
            _ => nginx_var(name, internal, &mut headers).ok_or_else(|| {
                FormatError::UnknownNginxVariable {
                    name: name.to_string(),
                    pos,
                }
            })?,
        };
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        toks.push(Tok::Field {
            slot,
            text: spec[pos..next].to_string(),
            pos,
        });
        i = next;
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    StepFormat::build(toks, headers, allow_trailing, spec)
}

/// Compiles an Apache `LogFormat` string.
pub(crate) fn compile_apache(spec: &str) -> Result<StepFormat, FormatError> {
    let s = spec.as_bytes();
    let mut toks = Vec::new();
    let mut headers = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    let syntax = |message, pos| FormatError::Syntax {
        dialect: "Apache",
        message,
        pos,
    };
    while i < s.len() {
        match s[i] {
            b'\\' if i + 1 < s.len() => {
                // Escapes of the configuration file's quoted string.
                lit.push(match s[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    c => c,
                });
                i += 2;
                continue;
            }
            b'%' => {}
            c => {
                lit.push(c);
                i += 1;
                continue;
            }
        }
        let pos = i;
        i += 1;
        if s.get(i) == Some(&b'%') {
            lit.push(b'%');
            i += 1;
            continue;
        }
        // Conditions (`%!200,304u`, `%400,501{User-agent}i`) and `<`/`>`: ignored.
        while i < s.len()
            && (s[i] == b'!'
                || s[i] == b','
                || s[i].is_ascii_digit()
                || s[i] == b'<'
                || s[i] == b'>')
        {
            i += 1;
        }
        let mut arg: Option<&str> = None;
        if s.get(i) == Some(&b'{') {
            let Some(close) = s[i + 1..].iter().position(|&b| b == b'}') else {
                return Err(syntax("`%{` without a closing `}`", pos));
            };
            arg = Some(&spec[i + 1..i + 1 + close]);
            i += close + 2;
        }
        let Some(&letter) = s.get(i) else {
            return Err(syntax("`%` at the end of the format", pos));
        };
        let mut end = i + 1;
        if letter == b'^' {
            end = (i + 3).min(s.len());
        } else if !letter.is_ascii() {
            // Keep the error message on a char boundary.
            end = i + spec[i..].chars().next().map_or(1, char::len_utf8);
        }
        let text = spec[pos..end].to_string();
        let unsupported = || FormatError::UnsupportedApacheDirective {
            directive: text.clone(),
            pos,
        };
        let slot = match letter {
            b'a' | b'h' => Slot::Cow(HOST),
            b'A' | b'I' | b'S' | b'C' | b'e' | b'f' | b'k' | b'L' | b'n' | b'o' | b'P' | b'R'
            | b'X' => Slot::Skip,
            b'b' | b'B' | b'O' => Slot::Cow(BYTES),
            b'D' => Slot::Micros,
            b'H' => Slot::Cow(PROTOCOL),
            b'i' => match arg {
                Some(h) if !h.is_empty() => header_slot(h, &mut headers),
                _ => return Err(syntax("`%i` needs a header name: `%{Name}i`", pos)),
            },
            b'l' => Slot::Cow(IDENTITY),
            b'm' => Slot::Cow(METHOD),
            b'p' => match arg {
                None | Some("canonical") | Some("local") => Slot::Cow(PORT),
                Some("remote") => Slot::Skip,
                Some(_) => return Err(unsupported()),
            },
            b'q' => Slot::Cow(QUERY),
            b'r' => Slot::Cow(REQUEST),
            b's' => Slot::Cow(STATUS),
            b't' => match arg {
                None => {
                    lit.push(b'[');
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                    toks.push(Tok::Field {
                        slot: Slot::TimeClf,
                        text,
                        pos,
                    });
                    lit.push(b']');
                    i = end;
                    continue;
                }
                Some(f) => {
                    let f = f
                        .strip_prefix("begin:")
                        .or_else(|| f.strip_prefix("end:"))
                        .unwrap_or(f);
                    if f == "sec" {
                        Slot::TimeEpoch
                    } else if f == "%d/%b/%Y:%H:%M:%S %z" {
                        Slot::TimeClf
                    } else if f.starts_with("%Y-%m-%dT") || f.starts_with("%FT") {
                        Slot::TimeIso
                    } else {
                        Slot::Skip
                    }
                }
            },
            b'T' => match arg {
                None | Some("s") => Slot::Secs,
                Some("ms") => Slot::Millis,
                Some("us") => Slot::Micros,
                Some(_) => return Err(unsupported()),
            },
            b'u' => Slot::Cow(USER),
            b'U' => Slot::Cow(TARGET),
            b'v' | b'V' => Slot::Cow(VHOST),
            b'x' => match arg {
                Some("SSL_PROTOCOL") => Slot::Cow(TLS),
                Some(_) => Slot::Skip,
                None => return Err(unsupported()),
            },
            b'^' => match &spec[i..end] {
                "^ti" | "^to" if arg.is_some() => Slot::Skip,
                _ => return Err(unsupported()),
            },
            _ => return Err(unsupported()),
        };
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        toks.push(Tok::Field { slot, text, pos });
        i = end;
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    StepFormat::build(toks, headers, false, spec)
}
