//! One stream on several threads (feature `rayon`): this thread inflates and
//! cuts line-aligned blocks while the pool tallies the previous wave of them.
//! The result is the same as [`Analyzer::analyze`]'s, however the stream is cut.

use std::io::Read;
use std::sync::Mutex;

use rayon::prelude::*;

use crate::analyze::{Analyzer, Partial, StreamEnd};
use crate::read::{Block, LineReader};
use crate::tally::Tally;

/// Bytes of text per block.
pub const BLOCK_SIZE: usize = 1 << 20;

fn read_wave<R: Read>(
    lines: &mut LineReader<R>,
    error: &mut Option<String>,
    wave: usize,
) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(wave);
    while blocks.len() < wave && error.is_none() {
        match lines.next_block(BLOCK_SIZE) {
            Ok(Some(block)) => blocks.push(block),
            Ok(None) => break,
            Err(e) => *error = Some(e.to_string()),
        }
    }
    blocks
}

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
    let max_samples = analyzer.options().malformed_samples;
    let mut lines = LineReader::with_max_line(reader, analyzer.options().max_line);
    let mut error = None;
    let mut total = Partial::default();
    let mut current = read_wave(&mut lines, &mut error, wave.max(1));
    // The stream's format, from its first lines, before any block is tallied.
    let mut analyzer = analyzer.clone();
    match current.first() {
        Some(first) => analyzer.prepare_for(first),
        None => analyzer.prepare(&[]),
    }
    // One analyzer and one partial tally per thread, for the whole stream: a
    // tally with panels costs as much to merge as to fill, so blocks add to
    // their thread's tally rather than each making one to merge.
    let slots: Vec<Mutex<Option<(Analyzer, Partial)>>> = (0..=rayon::current_num_threads())
        .map(|_| Mutex::new(None))
        .collect();
    let analyzer = &analyzer;
    while !current.is_empty() {
        let (next, ()) = rayon::join(
            || read_wave(&mut lines, &mut error, wave.max(1)),
            || {
                current.par_iter().for_each(|block| {
                    let slot = rayon::current_thread_index()
                        .filter(|&i| i < slots.len())
                        .unwrap_or(slots.len() - 1);
                    // Only this thread takes its own slot (the last one is
                    // shared by threads from outside the pool, hence the lock).
                    let mut slot = slots[slot].lock().unwrap_or_else(|e| e.into_inner());
                    let (a, partial) =
                        slot.get_or_insert_with(|| (analyzer.clone(), Partial::default()));
                    a.analyze_block_into(partial, block);
                });
            },
        );
        current = next;
    }
    for slot in slots {
        if let Some((_, partial)) = slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            total.merge(partial, max_samples);
        }
    }
    analyzer.finish(total, StreamEnd::of(name, &lines, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

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
