//! One stream on several threads (feature `rayon`): this thread inflates and
//! cuts line-aligned blocks while the pool tallies the previous wave of them.
//! The result is the same as [`Analyzer::analyze`]'s, however the stream is cut.

use std::io::Read;
use std::sync::Mutex;

use rayon::prelude::*;

use crate::analyze::{Analyzer, Partial, StreamEnd};
use crate::index::{FileRecords, RecordShard};
use crate::panels::Panels;
use crate::read::LineReader;
use crate::tally::merge_panels;
use crate::tally::Tally;

/// One value per thread of the current rayon pool, made when the thread
/// first asks: each thread works on its own (the last slot is shared by
/// threads from outside the pool, hence the locks).
struct PerThread<T>(Vec<Mutex<Option<T>>>);

impl<T> PerThread<T> {
    fn new() -> Self {
        PerThread(
            (0..=rayon::current_num_threads())
                .map(|_| Mutex::new(None))
                .collect(),
        )
    }

    /// Runs `work` on this thread's value, made by `make` the first time.
    fn with<R>(&self, make: impl FnOnce() -> T, work: impl FnOnce(&mut T) -> R) -> R {
        let slot = rayon::current_thread_index()
            .filter(|&i| i < self.0.len())
            .unwrap_or(self.0.len() - 1);
        let mut slot = self.0[slot].lock().unwrap_or_else(|e| e.into_inner());
        work(slot.get_or_insert_with(make))
    }

    /// The values made.
    fn into_values(self) -> impl Iterator<Item = T> {
        self.0
            .into_iter()
            .filter_map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

pub use crate::read::BLOCK_SIZE;

/// Analyses `reader` like [`Analyzer::analyze`], tallying blocks on the
/// current rayon pool. At most two waves of `wave` blocks are in memory.
///
/// ```
/// use logtally_core::{Analyzer, Options};
/// let text = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n".repeat(50_000);
/// let analyzer = Analyzer::new(Options::default());
/// let one_pass = analyzer.clone().analyze("x.log", text.as_bytes());
/// let parallel = logtally_core::parallel::analyze_parallel(&analyzer, "x.log", text.as_bytes(), 4);
/// assert_eq!(parallel, one_pass);
/// ```
pub fn analyze_parallel<R: Read + Send>(
    analyzer: &Analyzer,
    name: &str,
    reader: R,
    wave: usize,
) -> Tally {
    let (analyzer, total, end) = analyze_parallel_partial(analyzer, name, reader, wave);
    analyzer.finish(total, end)
}

/// [`analyze_parallel`], keeping the stream's records (one shard per
/// thread) to count again with other filters or panels
/// ([`retally_parallel`]).
pub fn analyze_parallel_indexed<R: Read + Send>(
    analyzer: &Analyzer,
    name: &str,
    reader: R,
    wave: usize,
) -> (Tally, FileRecords) {
    let mut analyzer = analyzer.clone();
    analyzer.keeping();
    let (analyzer, total, end) = analyze_parallel_partial(&analyzer, name, reader, wave);
    analyzer.finish_indexed(total, end)
}

/// Counts the kept records of streams again with `analyzer`'s options, a
/// shard per task on the current rayon pool: [`Analyzer::retally`] of each
/// stream, merged. Each thread fills one set of panels for all the streams
/// (merging panels costs as much as filling them); only the line
/// accounting is kept per stream.
///
/// ```
/// use logtally_core::{Analyzer, Tally, UserOptions};
/// use logtally_core::parallel::{analyze_parallel_indexed, retally_parallel};
/// let text = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 404 5 \"-\" \"ua\"\n".repeat(50_000);
/// let report = UserOptions { report: true, ..UserOptions::default() };
/// let first = Analyzer::new(report.compile().unwrap());
/// let (_, a) = analyze_parallel_indexed(&first, "a.log", text.as_bytes(), 4);
/// let (_, b) = analyze_parallel_indexed(&first, "b.log", text.as_bytes(), 4);
/// let errors = UserOptions { conditions: vec!["status=404".into()], ..report };
/// let mut analyzer = Analyzer::new(errors.compile().unwrap());
/// let mut read_again = analyzer.analyze("a.log", text.as_bytes());
/// read_again.merge(analyzer.analyze("b.log", text.as_bytes()));
/// assert_eq!(retally_parallel(&analyzer, &[&a, &b]), read_again);
/// ```
pub fn retally_parallel(analyzer: &Analyzer, streams: &[&FileRecords]) -> Tally {
    let shards: Vec<(usize, &RecordShard)> = streams
        .iter()
        .enumerate()
        .flat_map(|(stream, records)| records.shards.iter().map(move |shard| (stream, shard)))
        .collect();
    let max_samples = analyzer.options().malformed_samples;
    // One analyzer and one set of panels per thread.
    let threads = PerThread::new();
    let per_stream: Vec<Mutex<Partial>> = streams.iter().map(|_| Mutex::default()).collect();
    shards.par_iter().for_each(|&(stream, shard)| {
        let partial = threads.with(
            || (analyzer.clone(), None),
            |(a, panels): &mut (Analyzer, Option<Box<Panels>>)| {
                // The thread's panels go through the shard's partial tally.
                let mut partial = Partial {
                    panels: panels.take(),
                    ..Partial::default()
                };
                a.retally_shard(&mut partial, shard);
                *panels = partial.panels.take();
                partial
            },
        );
        per_stream[stream]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .merge(partial, max_samples);
    });
    let mut panels = None;
    for (_, other) in threads.into_values() {
        merge_panels(&mut panels, other);
    }
    let per_stream = per_stream
        .into_iter()
        .map(|p| p.into_inner().unwrap_or_else(|e| e.into_inner()));
    let mut total = Tally::default();
    for (partial, records) in per_stream.zip(streams) {
        total.merge(analyzer.finish_retally(partial, records));
    }
    if analyzer.counts_nothing() {
        return total;
    }
    merge_panels(&mut total.panels, panels);
    total
}

/// The stream's partial tally and how it ended, with the analyzer that read
/// its format.
fn analyze_parallel_partial<R: Read + Send>(
    analyzer: &Analyzer,
    name: &str,
    reader: R,
    wave: usize,
) -> (Analyzer, Partial, StreamEnd) {
    let max_samples = analyzer.options().malformed_samples;
    let mut lines = LineReader::with_max_line(reader, analyzer.options().max_line);
    let mut error = None;
    let mut total = Partial::default();
    let mut current = lines.next_wave(wave.max(1), BLOCK_SIZE, &mut error);
    // The stream's format, from its first lines, before any block is tallied.
    let mut analyzer = analyzer.clone();
    match current.first() {
        Some(first) => analyzer.prepare_for(first),
        None => analyzer.prepare(&[]),
    }
    // One analyzer and one partial tally per thread, for the whole stream: a
    // tally with panels costs as much to merge as to fill, so blocks add to
    // their thread's tally rather than each making one to merge.
    let threads = PerThread::new();
    let analyzer = &analyzer;
    if !analyzer.splittable() {
        let blocks = std::mem::take(&mut current);
        analyzer
            .clone()
            .analyze_waves_in_order(&mut total, blocks, &mut lines, &mut error, || false);
    }
    while !current.is_empty() {
        let (next, ()) = rayon::join(
            || lines.next_wave(wave.max(1), BLOCK_SIZE, &mut error),
            || {
                current.par_iter().for_each(|block| {
                    threads.with(
                        || (analyzer.clone(), Partial::default()),
                        |(a, partial)| a.analyze_block_into(partial, block),
                    );
                });
            },
        );
        current = next;
    }
    for (_, partial) in threads.into_values() {
        total.merge(partial, max_samples);
    }
    let end = StreamEnd::of(name, &lines, error);
    (analyzer.clone(), total, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

    #[test]
    fn a_w3c_log_whose_fields_change_is_read_in_order_however_big() {
        // Two sections with the fields in another order, each longer than a
        // block: a block tallied apart would read the second with the first's.
        let text = logtally_gen::w3c_with_changing_fields(40_000);
        assert!(text.len() > 3 * BLOCK_SIZE);
        let options = Options {
            log_format: "w3c".into(),
            ..Options::default()
        };
        let analyzer = Analyzer::new(options);
        let one_pass = analyzer.clone().analyze("iis.log", text.as_bytes());
        assert_eq!(one_pass.totals.counted, 80_000);
        assert_eq!(one_pass.counts["/b0"], 8_000);
        let parallel = analyze_parallel(&analyzer, "iis.log", text.as_bytes(), 4);
        assert_eq!(parallel, one_pass);
    }

    #[test]
    fn blocks_tallied_out_of_order_keep_the_first_malformed_samples() {
        let good =
            "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
        let text: String = (0..400)
            .map(|n| {
                if n % 10 == 3 {
                    format!("junk {n}\n")
                } else {
                    good.to_string()
                }
            })
            .collect();
        let mut analyzer = Analyzer::new(Options::default());
        let one_pass = analyzer.clone().analyze("x.log", text.as_bytes());
        let mut lines = LineReader::with_max_line(text.as_bytes(), 1 << 20);
        let mut blocks = Vec::new();
        while let Some(block) = lines.next_block(500).unwrap() {
            blocks.push(block);
        }
        assert!(blocks.len() > 10);
        analyzer.prepare_for(&blocks[0]);
        let mut partial = Partial::default();
        for block in blocks.iter().rev() {
            analyzer.analyze_block_into(&mut partial, block);
        }
        let mut total = Partial::default();
        total.merge(partial, analyzer.options().malformed_samples);
        let reversed = analyzer.finish(total, StreamEnd::of("x.log", &lines, None));
        assert_eq!(reversed, one_pass);
        assert_eq!(reversed.totals.malformed, 40);
        // The first samples, not the last blocks' (the sequential run's, compared above).
        assert!(!reversed.errors.is_empty());
        assert!(reversed
            .errors
            .iter()
            .all(|e| e.to_string().contains("junk ")));
    }
}
