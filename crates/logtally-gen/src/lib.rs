//! A deterministic generator of realistic access logs for tests and benchmarks.
//!
//! The same seed always gives the same bytes, on every platform. [`Style::Oracle`]
//! writes only what the seed program can read (Combined Log Format, ASCII, some
//! malformed lines that both reject); [`Style::Wild`] adds what real servers
//! also write: Common Log Format lines, host names, UTF-8 paths, `\r\n` endings.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// Which kinds of lines to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Lines the seed program reads the same way logtally does.
    Oracle,
    /// Oracle lines plus Common Log Format, host names, UTF-8 and CRLF.
    Wild,
}

/// A small, fast, seedable PRNG (SplitMix64): no dependency, same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`, skewed towards the front (Zipf-like), as web traffic is.
    pub fn skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let a = self.below(items.len());
        let b = self.below(items.len());
        &items[a.min(b)]
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const PAGES: &[&str] = &[
    "/book/index.html",
    "/book/ch01.html",
    "/book/ch02.html",
    "/book/ch03.html",
    "/book/ch04.html",
    "/book/appendix/a.html",
    "/book/",
    "/book",
    "/",
    "/blog/2015/05/parallel-logs",
    "/blog/2015/06/functional-python",
    "/articles/dynamic-dns-with-dhcp/",
    "/projects/xdotool/",
    "/reset.css",
    "/static/app.js",
    "/images/logo.png",
    "/favicon.ico",
    "/robots.txt",
    "/humans.txt",
    "/crossdomain.xml",
    "/docs/_images/diagram.gif",
    "/docs/search.html",
    "/docs/genindex.html",
    "/docs/searchindex.js",
    "/docs/py-modindex.html",
    "/feed.xml",
    "/about;jsessionid=42",
    "/book/ch05.html;v=2",
    "//double//slash",
    "/wp-login.php",
];

const QUERIES: &[&str] = &[
    "",
    "",
    "",
    "?q=rust",
    "?page=2&sort=asc",
    "#top",
    "?a=1#frag",
];
const METHODS: &[&str] = &["GET", "GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE"];
const PROTOCOLS: &[&str] = &["HTTP/1.1", "HTTP/1.0", "HTTP/2.0"];
const STATUSES: &[u16] = &[200, 200, 200, 304, 404, 301, 500, 206, 403];
const REFERRERS: &[&str] = &[
    "-",
    "http://semicomplete.com/presentations/logstash-monitorama-2013/",
    "https://www.google.com/search?q=functional+python",
    "https://example.org/book/index.html",
    "http://[::1]:8080/local",
    "android-app://com.google.android.gm",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/",
    "-",
];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Lines both logtally and the seed reject (wrong shape, bad time, bad URL, empty request).
const BROKEN: &[&str] = &[
    "this is not a log line",
    "10.0.0.1 - - [32/May/2015:10:05:03 +0000] \"GET /bad-day HTTP/1.1\" 200 1 \"-\" \"ua\"",
    "10.0.0.1 - - [17/May/2015:10:05:03 +0000] \"GET http://[::1/x HTTP/1.1\" 200 1 \"-\" \"ua\"",
    "10.0.0.1 - - [17/May/2015:10:05:03 +0000] \" \" 400 0 \"-\" \"ua\"",
    "10.0.0.1 - - [17/May/2015:10:05:03 +0000] \"GET /ref HTTP/1.1\" 200 1 \"http://x]/\" \"ua\"",
    "",
];

/// Writes `lines` log lines for `rng` in `style` to `out`.
///
/// ```
/// let mut a = Vec::new();
/// let mut b = Vec::new();
/// logtally_gen::write_lines(&mut a, &mut logtally_gen::Rng::new(7), 100, logtally_gen::Style::Oracle).unwrap();
/// logtally_gen::write_lines(&mut b, &mut logtally_gen::Rng::new(7), 100, logtally_gen::Style::Oracle).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 100);
/// ```
pub fn write_lines<W: Write>(
    out: &mut W,
    rng: &mut Rng,
    lines: usize,
    style: Style,
) -> io::Result<()> {
    let wild = style == Style::Wild;
    let mut second = rng.below(86_400 * 28) as u64;
    for _ in 0..lines {
        if rng.chance(2) {
            writeln!(out, "{}", rng.skewed(BROKEN))?;
            continue;
        }
        second += rng.below(3) as u64;
        let day = 1 + (second / 86_400) % 28;
        let month = MONTHS[((second / 86_400 / 28) % 12) as usize];
        let (h, m, s) = ((second / 3600) % 24, (second / 60) % 60, second % 60);
        let host = match (wild, rng.below(10)) {
            (true, 0) => "crawler.example.net".to_string(),
            (true, 1) => format!("2001:db8::{:x}", rng.below(4096)),
            _ => format!(
                "{}.{}.{}.{}",
                1 + rng.below(223),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
        };
        let user = if rng.chance(5) { "alice" } else { "-" };
        let mut path = rng.skewed(PAGES).to_string();
        if wild && rng.chance(3) {
            path.push_str("/caf\u{e9}");
        }
        if rng.chance(10) {
            path = format!("/book/ch{:02}.html", rng.below(40));
        }
        let query = rng.skewed(QUERIES);
        let method = rng.skewed(METHODS);
        let protocol = rng.skewed(PROTOCOLS);
        let status = rng.skewed(STATUSES);
        let size = if rng.chance(10) {
            "-".to_string()
        } else {
            rng.below(200_000).to_string()
        };
        write!(
            out,
            "{host} - {user} [{day:02}/{month}/2015:{h:02}:{m:02}:{s:02} +0000] \"{method} {path}{query} {protocol}\" {status} {size}"
        )?;
        if !(wild && rng.chance(5)) {
            write!(
                out,
                " \"{}\" \"{}\"",
                rng.skewed(REFERRERS),
                rng.skewed(AGENTS)
            )?;
        }
        if wild && rng.chance(5) {
            out.write_all(b"\r")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes `files` gzip files of `lines` lines each into `dir`, named
/// `access-NN.log.gz`, and returns their paths.
pub fn write_corpus(
    dir: &Path,
    files: usize,
    lines: usize,
    seed: u64,
    style: Style,
) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng::new(seed);
    (0..files)
        .map(|i| {
            let path = dir.join(format!("access-{i:02}.log.gz"));
            let mut gz = GzEncoder::new(BufWriter::new(File::create(&path)?), Compression::new(6));
            write_lines(&mut gz, &mut rng, lines, style)?;
            gz.finish()?.flush()?;
            Ok(path)
        })
        .collect()
}

/// A W3C extended log (IIS) in two sections of `lines` lines each, the second
/// naming its fields in another order (`#Fields:` again, as IIS writes after a
/// configuration change): every `n`th line of the first section asks for
/// `/a{n % 3}` from 10.0.0.{n % 200} (status 200), of the second for
/// `/b{n % 5}` (status 404). A file read in blocks apart from each other
/// reads the second section wrong unless the directive is followed in order.
///
/// ```
/// let text = logtally_gen::w3c_with_changing_fields(10);
/// assert_eq!(text.lines().filter(|l| l.starts_with("#Fields:")).count(), 2);
/// assert_eq!(text.lines().count(), 22);
/// ```
pub fn w3c_with_changing_fields(lines: usize) -> String {
    let mut text = String::from("#Fields: date time c-ip cs-method cs-uri-stem sc-status\n");
    for n in 0..lines {
        text += &format!(
            "2015-05-17 10:00:00 10.0.0.{} GET /a{} 200\n",
            n % 200,
            n % 3
        );
    }
    text += "#Fields: date time cs-method cs-uri-stem c-ip sc-status\n";
    for n in 0..lines {
        text += &format!(
            "2015-05-17 11:00:00 GET /b{} 10.0.0.{} 404\n",
            n % 5,
            n % 200
        );
    }
    text
}
