//! Summaries of Guacamole session recordings (guacd `recording-path` files) and
//! of captured live streams: instruction counts by opcode, frames, duration.

use std::collections::BTreeMap;

use super::parser::{ParseError, Parser};

/// Distinct opcodes counted by name; further ones (hostile input) are counted as `"(other)"`.
pub const MAX_DISTINCT_OPCODES: usize = 256;

/// What a recording holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Total instructions.
    pub instructions: u64,
    /// Instructions per opcode.
    pub counts: BTreeMap<String, u64>,
    /// Frames: `sync` instructions.
    pub frames: u64,
    /// Time from the first `sync` timestamp to the last, in milliseconds.
    pub duration_ms: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Accumulates a summary over a stream given in any number of chunks.
#[derive(Debug, Default)]
pub struct Summarizer {
    parser: Parser,
    summary: Summary,
    first_sync: Option<u64>,
    last_sync: Option<u64>,
}

impl Summarizer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        let Self {
            parser,
            summary,
            first_sync,
            last_sync,
        } = self;
        summary.bytes += bytes.len() as u64;
        parser.receive(bytes, |inst| {
            summary.instructions += 1;
            let op = inst.opcode();
            if let Some(n) = summary.counts.get_mut(op) {
                *n += 1;
            } else if summary.counts.len() < MAX_DISTINCT_OPCODES {
                summary.counts.insert(op.to_owned(), 1);
            } else {
                *summary.counts.entry("(other)".to_owned()).or_insert(0) += 1;
            }
            if op == "sync" {
                summary.frames += 1;
                if let Some(ts) = inst.arg(0).and_then(|t| t.parse::<u64>().ok()) {
                    first_sync.get_or_insert(ts);
                    *last_sync = Some(ts);
                }
            }
        })?;
        Ok(())
    }

    /// Ends the stream; an unfinished instruction is an error.
    pub fn finish(mut self) -> Result<Summary, ParseError> {
        self.parser.finish()?;
        if let (Some(a), Some(b)) = (self.first_sync, self.last_sync) {
            self.summary.duration_ms = b.saturating_sub(a);
        }
        Ok(self.summary)
    }
}

/// Summarises a whole recording.
pub fn summarize(bytes: &[u8]) -> Result<Summary, ParseError> {
    let mut s = Summarizer::new();
    s.push(bytes)?;
    s.finish()
}

/// Where a frame of a recording ends, and its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMark {
    /// The `sync` timestamp, in ms relative to the first `sync`.
    pub at_ms: u64,
    /// Byte offset just after the frame's `sync` instruction.
    pub end: usize,
}

/// Splits a recording into frames for playback and seeking.
pub fn index_frames(bytes: &[u8]) -> Result<Vec<FrameMark>, ParseError> {
    let mut p = Parser::new();
    let mut marks = Vec::new();
    let mut offset = 0usize;
    let mut first = None;
    p.receive(bytes, |inst| {
        offset += inst.wire().len();
        if inst.opcode() == "sync" {
            if let Some(ts) = inst.arg(0).and_then(|t| t.parse::<u64>().ok()) {
                let base = *first.get_or_insert(ts);
                let at_ms = ts.saturating_sub(base);
                // Timestamps never go backwards in playback.
                let at_ms = marks
                    .last()
                    .map_or(at_ms, |m: &FrameMark| at_ms.max(m.at_ms));
                marks.push(FrameMark { at_ms, end: offset });
            }
        }
    })?;
    p.finish()?;
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_indexed_by_relative_time_and_offset() {
        let rec = b"4.size,1.0,1.8,1.8;4.sync,4.1000;4.rect,1.0,1.0,1.0,1.1,1.1;4.sync,4.1250;4.sync,3.900;";
        let m = index_frames(rec).unwrap_or_default();
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].at_ms, m[1].at_ms, m[2].at_ms), (0, 250, 250));
        assert_eq!(m[2].end, rec.len());
        assert!(rec[..m[0].end].ends_with(b"4.sync,4.1000;"));
    }
}
