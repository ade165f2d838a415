//! Bytes -> lines: gzip (multi-member) or plain text, streamed in bounded memory.
//!
//! The seed reads with `gzip.open(name, "rb")` and iterates lines. Here a
//! [`LineReader`] does the same over any [`Read`]: it sniffs the gzip magic,
//! inflates through `flate2`'s [`MultiGzDecoder`] (so `cat a.gz b.gz` and
//! logrotate's output read whole) and splits on `\n` with `memchr`. A line
//! longer than `max_line` is cut to that length and flagged, so one huge line
//! cannot exhaust memory.

use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;

/// The gzip implementation this build inflates with (flate2's backend).
pub const GZIP_BACKEND: &str = if cfg!(feature = "zlib-ng") {
    "zlib-ng"
} else if cfg!(feature = "zlib-rs") {
    "zlib-rs"
} else {
    "miniz_oxide"
};

/// Bytes of text per block when a stream is cut into blocks to tally apart.
pub const BLOCK_SIZE: usize = 1 << 20;

/// Longest line kept by default (1 MiB); longer lines are cut and flagged.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

const CHUNK: usize = 64 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why reading a stream stopped early. Lines before the fault were delivered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The gzip stream is corrupt, truncated or followed by junk.
    #[error("after line {line}: gzip stream is corrupt or truncated ({source})")]
    Gzip {
        /// Lines delivered before the fault.
        line: u64,
        /// What `flate2` reported.
        source: io::Error,
    },
    /// The stream is not text: another compression format or binary data.
    #[error("not a log file: {0}")]
    NotText(&'static str),
    /// The underlying reader failed (I/O error, permission, ...).
    #[error("after line {line}: read failed ({source})")]
    Io {
        /// Lines delivered before the fault.
        line: u64,
        /// The I/O error.
        source: io::Error,
    },
}

/// One line of input, without its `\n` (a trailing `\r` is left for the parser,
/// which strips trailing white space as the seed's `rstrip()` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the (decompressed) stream.
    pub number: u64,
    /// The line's bytes, at most `max_line` of them.
    pub bytes: &'a [u8],
    /// Set when the line is not whole: cut at `max_line`, or by a stream fault.
    pub cut: Option<Cut>,
}

/// Why a [`Line`] is not the whole line that was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cut {
    /// Longer than the reader's `max_line`; the rest up to `\n` was skipped.
    TooLong,
    /// The stream failed before the line's `\n`.
    StreamFault,
}

/// A reader that counts the bytes that pass through it, shareable with a
/// progress display on another thread.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The stream's first bytes, read ahead to recognise its format, then the rest.
type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, Counting<R>>;

enum Source<R: Read> {
    Plain(BufReader<Sniffed<R>>),
    Gzip(Box<MultiGzDecoder<BufReader<Sniffed<R>>>>),
}

/// How many leading bytes decide whether a stream is gzip, text or neither.
const SNIFF: usize = 4096;

/// Reads up to [`SNIFF`] bytes however the reader hands them out, so that
/// what is recognised does not depend on the sizes of reads.
fn read_head<R: Read>(inner: &mut R) -> (Vec<u8>, Option<io::Error>) {
    let mut head = vec![0; SNIFF];
    let mut filled = 0;
    while filled < SNIFF {
        match inner.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                head.truncate(filled);
                return (head, Some(e));
            }
        }
    }
    head.truncate(filled);
    (head, None)
}

/// Splits a (possibly gzip-compressed) byte stream into lines.
///
/// ```
/// use logtally_core::read::LineReader;
/// let mut lines = LineReader::new(&b"one\r\ntwo\nthree"[..]);
/// let mut seen = Vec::new();
/// while let Some(line) = lines.next_line().unwrap() {
///     seen.push((line.number, line.bytes.to_vec()));
/// }
/// assert_eq!(seen, vec![(1, b"one\r".to_vec()), (2, b"two".to_vec()), (3, b"three".to_vec())]);
/// assert!(!lines.is_gzip());
/// ```
pub struct LineReader<R: Read> {
    source: Source<R>,
    bytes_in: Arc<AtomicU64>,
    bytes_out: u64,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Holds a line that spans refills of `buf`.
    spill: Vec<u8>,
    max_line: usize,
    line_no: u64,
    /// A fault held back while the fragment before it is delivered.
    pending: Option<ReadError>,
}

impl<R: Read> LineReader<R> {
    /// A reader with the default line cap ([`DEFAULT_MAX_LINE`]).
    pub fn new(inner: R) -> Self {
        Self::with_max_line(inner, DEFAULT_MAX_LINE)
    }

    /// A reader that cuts lines longer than `max_line` bytes.
    pub fn with_max_line(inner: R, max_line: usize) -> Self {
        let bytes_in = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner,
            count: Arc::clone(&bytes_in),
        };
        let mut counting = counting;
        let (head, head_error) = read_head(&mut counting);
        let is_gzip = head.starts_with(&GZIP_MAGIC);
        let pending = match head_error {
            Some(source) => Some(ReadError::Io { line: 0, source }),
            None if is_gzip => None,
            None => sniff_non_text(&head).map(ReadError::NotText),
        };
        let buffered = BufReader::with_capacity(CHUNK, io::Cursor::new(head).chain(counting));
        let source = if is_gzip {
            Source::Gzip(Box::new(MultiGzDecoder::new(buffered)))
        } else {
            Source::Plain(buffered)
        };
        LineReader {
            source,
            bytes_in,
            bytes_out: 0,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            spill: Vec::new(),
            max_line: max_line.max(1),
            line_no: 0,
            eof: pending.is_some(),
            pending,
        }
    }

    /// True when the stream began with the gzip magic bytes.
    pub fn is_gzip(&self) -> bool {
        matches!(self.source, Source::Gzip(_))
    }

    /// Bytes consumed from the underlying reader so far (compressed size).
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }

    /// A live view of [`bytes_in`](Self::bytes_in) for progress reporting.
    pub fn bytes_in_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes_in)
    }

    /// Bytes of text produced so far (uncompressed size).
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    /// Lines delivered so far.
    pub fn lines(&self) -> u64 {
        self.line_no
    }

    fn refill(&mut self) -> Result<(), ReadError> {
        let result = match &mut self.source {
            Source::Plain(r) => r.read(&mut self.buf),
            Source::Gzip(r) => r.read(&mut self.buf),
        };
        match result {
            Ok(0) => self.eof = true,
            Ok(n) => {
                self.bytes_out += n as u64;
                self.start = 0;
                self.end = n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                self.eof = true;
                let line = self.line_no;
                return Err(match self.source {
                    Source::Gzip(_) if is_decode_error(&source) => ReadError::Gzip { line, source },
                    _ => ReadError::Io { line, source },
                });
            }
        }
        Ok(())
    }

    /// The next line, `Ok(None)` at the end of the stream.
    ///
    /// After an `Err`, the stream is finished: a partial line that was being
    /// assembled when the fault hit is delivered first if it is non-empty, and
    /// the error is returned on the following call.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, ReadError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        self.spill.clear();
        let mut overlong = false;
        loop {
            if self.start == self.end {
                if self.eof {
                    if self.spill.is_empty() && !overlong {
                        return Ok(None);
                    }
                    self.line_no += 1;
                    return Ok(Some(Line {
                        number: self.line_no,
                        bytes: &self.spill,
                        cut: overlong.then_some(Cut::TooLong),
                    }));
                }
                if let Err(e) = self.refill() {
                    if self.spill.is_empty() && !overlong {
                        return Err(e);
                    }
                    // Deliver the fragment now (flagged: it was cut), the error next call.
                    self.pending = Some(e);
                    self.line_no += 1;
                    return Ok(Some(Line {
                        number: self.line_no,
                        bytes: &self.spill,
                        cut: Some(Cut::StreamFault),
                    }));
                }
                continue;
            }
            let window = &self.buf[self.start..self.end];
            match memchr::memchr(b'\n', window) {
                Some(i) => {
                    let line_start = self.start;
                    self.start += i + 1;
                    self.line_no += 1;
                    if self.spill.is_empty() && !overlong {
                        if i > self.max_line {
                            return Ok(Some(Line {
                                number: self.line_no,
                                bytes: &self.buf[line_start..line_start + self.max_line],
                                cut: Some(Cut::TooLong),
                            }));
                        }
                        return Ok(Some(Line {
                            number: self.line_no,
                            bytes: &self.buf[line_start..line_start + i],
                            cut: None,
                        }));
                    }
                    let room = self.max_line.saturating_sub(self.spill.len());
                    if i > room {
                        overlong = true;
                    }
                    self.spill
                        .extend_from_slice(&self.buf[line_start..line_start + i.min(room)]);
                    return Ok(Some(Line {
                        number: self.line_no,
                        bytes: &self.spill,
                        cut: overlong.then_some(Cut::TooLong),
                    }));
                }
                None => {
                    let room = self.max_line.saturating_sub(self.spill.len());
                    if window.len() > room {
                        overlong = true;
                    }
                    let take = window.len().min(room);
                    self.spill
                        .extend_from_slice(&self.buf[self.start..self.start + take]);
                    self.start = self.end;
                }
            }
        }
    }
}

/// A run of whole lines, each ended by `\n`, with the number of its first
/// line: the unit of work when one stream is tallied on several threads
/// (or, serialized, on several processes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// Number of the block's first line in its stream.
    pub first_line: u64,
    /// The lines, each followed by `\n` (serialized as one byte string, not a
    /// sequence of a million numbers).
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// Lines of the block that are not whole: (index in the block, why).
    pub cuts: Vec<(u64, Cut)>,
}

impl Block {
    /// How many lines the block holds (each ends with `\n`).
    ///
    /// ```
    /// use logtally_core::read::LineReader;
    /// let block = LineReader::new(&b"a\nbb\nccc"[..]).next_block(1 << 20).unwrap().unwrap();
    /// assert_eq!(block.line_count(), 3);
    /// ```
    pub fn line_count(&self) -> u64 {
        self.borrowed().line_count()
    }

    /// The block's lines as [`Line`]s, numbered in their stream.
    ///
    /// ```
    /// use logtally_core::read::{Block, LineReader};
    /// let mut lines = LineReader::new(&b"a\nbb\nccc\n"[..]);
    /// let block = lines.next_block(4).unwrap().unwrap();
    /// let got: Vec<(u64, &[u8])> = block.lines().map(|l| (l.number, l.bytes)).collect();
    /// assert_eq!(got, vec![(1, &b"a"[..]), (2, &b"bb"[..])]);
    /// let rest = lines.next_block(4).unwrap().unwrap();
    /// assert_eq!(rest.first_line, 3);
    /// assert!(lines.next_block(4).unwrap().is_none());
    /// ```
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        self.borrowed().lines()
    }

    /// The block borrowed: what the analyzer reads, wherever the bytes live.
    pub fn borrowed(&self) -> BlockRef<'_> {
        BlockRef {
            first_line: self.first_line,
            data: &self.data,
            cuts: &self.cuts,
        }
    }
}

/// A [`Block`] whose bytes are borrowed, e.g. from memory shared with the
/// process that read them, so that they need not be copied to be tallied.
///
/// ```
/// use logtally_core::read::BlockRef;
/// let block = BlockRef { first_line: 7, data: b"a\nbb\n", cuts: &[] };
/// assert_eq!(block.line_count(), 2);
/// assert_eq!(block.lines().last().map(|l| (l.number, l.bytes)), Some((8, &b"bb"[..])));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef<'a> {
    /// Number of the block's first line in its stream.
    pub first_line: u64,
    /// The lines, each followed by `\n`.
    pub data: &'a [u8],
    /// Lines of the block that are not whole: (index in the block, why).
    pub cuts: &'a [(u64, Cut)],
}

impl<'a> BlockRef<'a> {
    /// How many lines the block holds (each ends with `\n`).
    pub fn line_count(&self) -> u64 {
        memchr::memchr_iter(b'\n', self.data).count() as u64
    }

    /// The block's lines as [`Line`]s, numbered in their stream.
    pub fn lines(self) -> impl Iterator<Item = Line<'a>> {
        let mut cuts = self.cuts.iter().peekable();
        let body = self.data.strip_suffix(b"\n").unwrap_or(self.data);
        // `body.split(|&b| b == b'\n')`, found with `memchr` (the split's
        // byte-by-byte scan was 20% of a worker tallying blocks).
        let mut rest = (!self.data.is_empty()).then_some(body);
        let mut pieces = std::iter::from_fn(move || {
            let text = rest?;
            match memchr::memchr(b'\n', text) {
                Some(at) => {
                    rest = Some(&text[at + 1..]);
                    Some(&text[..at])
                }
                None => {
                    rest = None;
                    Some(text)
                }
            }
        });
        let mut index = 0u64;
        let first_line = self.first_line;
        std::iter::from_fn(move || {
            let bytes = pieces.next()?;
            let cut = match cuts.peek() {
                Some(&&(i, cut)) if i == index => {
                    cuts.next();
                    Some(cut)
                }
                _ => None,
            };
            let line = Line {
                number: first_line + index,
                bytes,
                cut,
            };
            index += 1;
            Some(line)
        })
    }
}

impl<'a> From<&'a Block> for BlockRef<'a> {
    fn from(block: &'a Block) -> Self {
        block.borrowed()
    }
}

impl<R: Read> LineReader<R> {
    /// The next run of whole lines of about `target` bytes (at least one line),
    /// `Ok(None)` at the end. After a fault the lines before it come first, the
    /// error on the following call.
    pub fn next_block(&mut self, target: usize) -> Result<Option<Block>, ReadError> {
        let mut block = Block {
            first_line: self.line_no + 1,
            data: Vec::with_capacity(target + target / 8),
            cuts: Vec::new(),
        };
        let mut count = 0u64;
        while block.data.len() < target {
            // The buffer's whole lines at once, when none of them can be too
            // long (the window is at most `max_line`): one copy and one count
            // instead of a search and a copy per line.
            if self.pending.is_none() && self.spill.is_empty() {
                let take = (self.end - self.start)
                    .min(self.max_line)
                    .min(target - block.data.len());
                let window = &self.buf[self.start..self.start + take];
                if let Some(last) = memchr::memrchr(b'\n', window) {
                    let lines = &window[..=last];
                    let n = memchr::memchr_iter(b'\n', lines).count() as u64;
                    block.data.extend_from_slice(lines);
                    self.start += last + 1;
                    self.line_no += n;
                    count += n;
                    continue;
                }
            }
            match self.next_line() {
                Ok(Some(line)) => {
                    block.data.extend_from_slice(line.bytes);
                    block.data.push(b'\n');
                    if let Some(cut) = line.cut {
                        block.cuts.push((count, cut));
                    }
                    count += 1;
                }
                Ok(None) => break,
                Err(e) if count == 0 => return Err(e),
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok((count > 0).then_some(block))
    }

    /// The next blocks of about `block_size` bytes each, at most `count` of
    /// them: a wave to tally on several threads or processes while the next
    /// is read. A read fault ends the stream and is kept in `error`.
    ///
    /// ```
    /// use logtally_core::read::LineReader;
    /// let mut lines = LineReader::new(&b"a\nbb\nccc\n"[..]);
    /// let mut error = None;
    /// let wave = lines.next_wave(2, 1, &mut error);
    /// assert_eq!(wave.len(), 2);
    /// assert_eq!(wave[1].first_line, 2);
    /// assert_eq!(lines.next_wave(2, 1, &mut error).len(), 1);
    /// assert!(lines.next_wave(2, 1, &mut error).is_empty() && error.is_none());
    /// ```
    pub fn next_wave(
        &mut self,
        count: usize,
        block_size: usize,
        error: &mut Option<String>,
    ) -> Vec<Block> {
        let mut blocks = Vec::with_capacity(count);
        while blocks.len() < count && error.is_none() {
            match self.next_block(block_size) {
                Ok(Some(block)) => blocks.push(block),
                Ok(None) => break,
                Err(e) => *error = Some(e.to_string()),
            }
        }
        blocks
    }
}

/// Names what a plain (non-gzip) stream is when it is clearly not a log:
/// another compression format, or binary data (NUL bytes or mostly control
/// bytes at the start). A log line with a stray NUL further in is still read.
fn sniff_non_text(head: &[u8]) -> Option<&'static str> {
    const FORMATS: [(&[u8], &str); 5] = [
        (b"BZh", "bzip2-compressed; decompress it first"),
        (
            &[0xfd, b'7', b'z', b'X', b'Z', 0],
            "xz-compressed; decompress it first",
        ),
        (
            &[0x28, 0xb5, 0x2f, 0xfd],
            "zstd-compressed; decompress it first",
        ),
        (b"PK\x03\x04", "a zip archive; extract it first"),
        (
            &[0x04, 0x22, 0x4d, 0x18],
            "lz4-compressed; decompress it first",
        ),
    ];
    if let Some((_, what)) = FORMATS.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(what);
    }
    let sample = &head[..head.len().min(4096)];
    let binary = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1b))
        .count();
    // Text logs have next to no control bytes; compressed or binary data ~12% of them.
    (sample.len() >= 64 && binary * 20 > sample.len())
        .then_some("binary data (neither text nor gzip)")
}

/// flate2 reports bad data as `InvalidInput`/`InvalidData` and a cut stream as
/// `UnexpectedEof`; anything else came from the reader underneath.
fn is_decode_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn collect<R: Read>(mut r: LineReader<R>) -> (Vec<(Vec<u8>, bool)>, Option<String>) {
        let mut out = Vec::new();
        loop {
            match r.next_line() {
                Ok(Some(l)) => out.push((l.bytes.to_vec(), l.cut.is_some())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn multi_member_gzip_reads_whole() {
        let mut data = gz(b"a\nb\n");
        data.extend(gz(b"c\n"));
        let r = LineReader::new(&data[..]);
        assert!(r.is_gzip());
        let (lines, err) = collect(r);
        assert_eq!(err, None);
        let texts: Vec<_> = lines.into_iter().map(|l| l.0).collect();
        assert_eq!(texts, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn long_lines_are_cut_and_flagged_across_refills() {
        let mut data = vec![b'x'; 200_000];
        data.push(b'\n');
        data.extend_from_slice(b"short\n");
        let (lines, err) = collect(LineReader::with_max_line(&data[..], 1000));
        assert_eq!(err, None);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.len(), 1000);
        assert!(lines[0].1);
        assert_eq!(lines[1], (b"short".to_vec(), false));
    }

    #[test]
    fn truncated_gzip_keeps_lines_before_the_cut() {
        let text: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        let data = gz(text.as_bytes());
        let cut = &data[..data.len() / 2];
        let (lines, err) = collect(LineReader::new(cut));
        let err = err.expect("a truncated stream is an error");
        assert!(err.contains("corrupt or truncated"), "{err}");
        assert!(lines.len() > 100);
        // Every complete line is intact; only the last may be a flagged fragment.
        for (i, (l, overlong)) in lines.iter().enumerate().take(lines.len() - 1) {
            assert_eq!(l, format!("line {i}").as_bytes());
            assert!(!overlong);
        }
    }

    #[test]
    fn binary_and_other_formats_are_named() {
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let (lines, err) = collect(LineReader::new(&junk[..]));
        assert!(lines.is_empty());
        assert_eq!(
            err.as_deref(),
            Some("not a log file: binary data (neither text nor gzip)")
        );
        let (_, err) = collect(LineReader::new(&b"BZh91AY&SY"[..]));
        assert_eq!(
            err.as_deref(),
            Some("not a log file: bzip2-compressed; decompress it first")
        );
        // A NUL inside an otherwise textual log is just part of a line.
        let text =
            b"a log line with a \0 in it\nand another line that is long enough to count as text\n";
        let (lines, err) = collect(LineReader::new(&text[..]));
        assert_eq!((lines.len(), err), (2, None));
    }

    #[test]
    fn empty_input_has_no_lines() {
        let (lines, err) = collect(LineReader::new(&b""[..]));
        assert!(lines.is_empty());
        assert!(err.is_none());
        let (lines, err) = collect(LineReader::new(&gz(b"")[..]));
        assert!(lines.is_empty());
        assert!(err.is_none());
    }
}
