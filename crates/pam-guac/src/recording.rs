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
    /// The frame holds more than `sync`, `nop` and `key` instructions (guacd
    /// sends an empty frame every second while nothing happens).
    pub active: bool,
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
                marks.push(FrameMark {
                    at_ms,
                    end: offset,
                    active: true,
                });
            }
        }
    })?;
    p.finish()?;
    Ok(marks)
}

/// Key presses kept in a key log, at most; later ones are counted in
/// [`KeyLog::dropped`] (a hostile recording cannot grow the log without bound).
pub const MAX_KEY_EVENTS: usize = 100_000;

/// One key press of a recording made with guacd's `recording-include-keys`
/// (`key,<keysym>,<pressed>,<timestamp>`; releases are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPress {
    /// Time in ms relative to the recording's first `sync` (the `key`
    /// instruction's own timestamp; without one, the last `sync`'s).
    pub at_ms: u64,
    pub keysym: u32,
    /// The character typed, or a readable token for a special key
    /// (`Return`, `Tab`, `BackSpace`, `Ctrl+c`, `F5`, `0x1234abcd`, ...).
    pub text: String,
    /// `text` is a token, not typed characters.
    pub special: bool,
}

/// The key presses of a recording, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyLog {
    pub presses: Vec<KeyPress>,
    /// Presses past [`MAX_KEY_EVENTS`], not kept.
    pub dropped: u64,
}

/// A recording split into frames, with its key log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordingIndex {
    pub frames: Vec<FrameMark>,
    pub keys: KeyLog,
    /// Frames past [`MAX_RECORDING_FRAMES`], merged into the last one.
    pub frames_merged: u64,
}

/// Frames indexed at most (16 bytes each on wasm32: 64 MiB); later `sync`s
/// extend the last frame, so every byte still plays (a hostile file of
/// empty frames cannot make the index outgrow the file several times).
pub const MAX_RECORDING_FRAMES: usize = 4_000_000;

const SHIFT_L: u32 = 0xffe1;
const SHIFT_R: u32 = 0xffe2;
const CONTROL_L: u32 = 0xffe3;
const CONTROL_R: u32 = 0xffe4;
const CAPS_LOCK: u32 = 0xffe5;
const META_L: u32 = 0xffe7;
const META_R: u32 = 0xffe8;
const ALT_L: u32 = 0xffe9;
const ALT_R: u32 = 0xffea;
const SUPER_L: u32 = 0xffeb;
const SUPER_R: u32 = 0xffec;
const ALTGR: u32 = 0xfe03;

/// The name of a special (non-printing) keysym, as the key log shows it.
pub fn special_key_name(keysym: u32) -> Option<&'static str> {
    Some(match keysym {
        0xff08 => "BackSpace",
        0xff09 => "Tab",
        0xff0d => "Return",
        0xff13 => "Pause",
        0xff14 => "Scroll_Lock",
        0xff1b => "Escape",
        0xffff => "Delete",
        0xff50 => "Home",
        0xff51 => "Left",
        0xff52 => "Up",
        0xff53 => "Right",
        0xff54 => "Down",
        0xff55 => "Page_Up",
        0xff56 => "Page_Down",
        0xff57 => "End",
        0xff61 => "Print",
        0xff63 => "Insert",
        0xff67 => "Menu",
        0xff7f => "Num_Lock",
        0xff8d => "KP_Enter",
        SHIFT_L | SHIFT_R => "Shift",
        CONTROL_L | CONTROL_R => "Ctrl",
        CAPS_LOCK => "Caps_Lock",
        META_L | META_R => "Meta",
        ALT_L | ALT_R => "Alt",
        SUPER_L | SUPER_R => "Super",
        ALTGR => "AltGr",
        0xffbe => "F1",
        0xffbf => "F2",
        0xffc0 => "F3",
        0xffc1 => "F4",
        0xffc2 => "F5",
        0xffc3 => "F6",
        0xffc4 => "F7",
        0xffc5 => "F8",
        0xffc6 => "F9",
        0xffc7 => "F10",
        0xffc8 => "F11",
        0xffc9 => "F12",
        _ => return None,
    })
}

/// The character a printable keysym types: Latin-1 (0x20-0x7e, 0xa0-0xff),
/// the keypad's digits and operators, and Unicode keysyms (0x01000000 + code
/// point), control characters excluded.
pub fn keysym_char(keysym: u32) -> Option<char> {
    let cp = match keysym {
        0x20..=0x7e | 0xa0..=0xff => keysym,
        0xffb0..=0xffb9 => u32::from(b'0') + (keysym - 0xffb0),
        0xffaa => u32::from(b'*'),
        0xffab => u32::from(b'+'),
        0xffad => u32::from(b'-'),
        0xffae => u32::from(b'.'),
        0xffaf => u32::from(b'/'),
        0xff80 => u32::from(b' '),
        0x0100_0000..=0x0110_ffff => keysym - 0x0100_0000,
        _ => return None,
    };
    char::from_u32(cp).filter(|c| !c.is_control())
}

/// Builds the key log from `key` instructions, tracking held modifiers so a
/// Ctrl/Alt/Super combination reads `Ctrl+c` rather than `c`.
#[derive(Debug, Default)]
struct KeyLogger {
    log: KeyLog,
    ctrl: u8,
    alt: u8,
    sup: u8,
}

impl KeyLogger {
    fn key(&mut self, keysym: u32, pressed: bool, at_ms: u64) {
        let counter = match keysym {
            CONTROL_L | CONTROL_R => Some(&mut self.ctrl),
            ALT_L | ALT_R | META_L | META_R => Some(&mut self.alt),
            SUPER_L | SUPER_R => Some(&mut self.sup),
            _ => None,
        };
        if let Some(c) = counter {
            *c = if pressed {
                c.saturating_add(1)
            } else {
                c.saturating_sub(1)
            };
            return;
        }
        // Shift, Caps Lock and AltGr change the keysym of the next key, which
        // the log already shows; they are not entries of their own.
        if !pressed || matches!(keysym, SHIFT_L | SHIFT_R | CAPS_LOCK | ALTGR) {
            return;
        }
        let mut prefix = String::new();
        for (held, name) in [
            (self.ctrl, "Ctrl+"),
            (self.alt, "Alt+"),
            (self.sup, "Super+"),
        ] {
            if held > 0 {
                prefix.push_str(name);
            }
        }
        let (text, special) = match (keysym_char(keysym), special_key_name(keysym)) {
            (Some(c), _) if prefix.is_empty() => (c.to_string(), false),
            (Some(c), _) => (format!("{prefix}{c}"), true),
            (None, Some(n)) => (format!("{prefix}{n}"), true),
            (None, None) => (format!("{prefix}0x{keysym:x}"), true),
        };
        if self.log.presses.len() >= MAX_KEY_EVENTS {
            self.log.dropped += 1;
            return;
        }
        self.log.presses.push(KeyPress {
            at_ms,
            keysym,
            text,
            special,
        });
    }
}

/// Splits a recording into frames and reads its key log in one pass.
pub fn index_recording(bytes: &[u8]) -> Result<RecordingIndex, ParseError> {
    index_recording_bounded(bytes, MAX_RECORDING_FRAMES)
}

fn index_recording_bounded(bytes: &[u8], max_frames: usize) -> Result<RecordingIndex, ParseError> {
    let mut p = Parser::new();
    let mut merged = 0u64;
    let mut frames: Vec<FrameMark> = Vec::new();
    let mut keys = KeyLogger::default();
    let mut offset = 0usize;
    let mut first: Option<u64> = None;
    let mut active = false;
    p.receive(bytes, |inst| {
        offset += inst.wire().len();
        match inst.opcode() {
            "nop" => {}
            "sync" => {
                if let Some(ts) = inst.arg(0).and_then(|t| t.parse::<u64>().ok()) {
                    let base = *first.get_or_insert(ts);
                    let at_ms = ts.saturating_sub(base);
                    // Timestamps never go backwards in playback.
                    let at_ms = frames.last().map_or(at_ms, |m| at_ms.max(m.at_ms));
                    let was_active = std::mem::take(&mut active);
                    let full = frames.len() >= max_frames.max(1);
                    match frames.last_mut() {
                        Some(last) if full => {
                            last.at_ms = at_ms;
                            last.end = offset;
                            last.active |= was_active;
                            merged += 1;
                        }
                        _ => frames.push(FrameMark {
                            at_ms,
                            end: offset,
                            active: was_active,
                        }),
                    }
                }
            }
            "key" => {
                let keysym = inst.arg(0).and_then(|k| k.parse::<u32>().ok());
                let pressed = inst.arg(1) == Some("1");
                if let Some(keysym) = keysym {
                    let last = frames.last().map_or(0, |m| m.at_ms);
                    let at_ms = match (inst.arg(2).and_then(|t| t.parse::<u64>().ok()), first) {
                        (Some(ts), Some(base)) => ts.saturating_sub(base),
                        _ => last,
                    };
                    keys.key(keysym, pressed, at_ms);
                }
            }
            _ => active = true,
        }
    })?;
    p.finish()?;
    Ok(RecordingIndex {
        frames,
        keys: keys.log,
        frames_merged: merged,
    })
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

    #[test]
    fn key_log_reads_presses_with_their_time_and_text() {
        let rec = b"4.sync,4.1000;3.key,3.108,1.1,4.1100;3.key,3.108,1.0,4.1150;\
3.key,5.65505,1.1,4.1200;3.key,2.65,1.1,4.1210;3.key,2.65,1.0,4.1220;3.key,5.65505,1.0,4.1230;\
3.key,5.65293,1.1,4.1300;3.key,5.65293,1.0,4.1310;\
3.key,5.65507,1.1,4.1400;3.key,2.99,1.1,4.1410;3.key,2.99,1.0,4.1420;3.key,5.65507,1.0,4.1430;\
3.key,8.16785580,1.1,4.1500;3.key,5.65288,1.1;4.sync,4.2000;";
        let ix = index_recording(rec).unwrap_or_default();
        let got: Vec<(u64, &str, bool)> = ix
            .keys
            .presses
            .iter()
            .map(|k| (k.at_ms, k.text.as_str(), k.special))
            .collect();
        assert_eq!(
            got,
            vec![
                (100, "l", false),
                (210, "A", false),
                (300, "Return", true),
                (410, "Ctrl+c", true),
                (500, "\u{20ac}", false),
                (0, "BackSpace", true),
            ]
        );
        assert_eq!(ix.frames.len(), 2);
        assert_eq!(ix.keys.dropped, 0);
        // Only sync and key instructions: neither frame is active.
        assert!(ix.frames.iter().all(|f| !f.active));
    }

    #[test]
    fn frames_with_drawing_are_active_empty_ones_are_not() {
        let rec = b"4.size,1.0,1.8,1.8;4.sync,1.0;4.sync,4.1000;3.nop;4.sync,4.2000;4.rect,1.0,1.0,1.0,1.1,1.1;4.sync,4.2500;";
        let ix = index_recording(rec).unwrap_or_default();
        let active: Vec<bool> = ix.frames.iter().map(|f| f.active).collect();
        assert_eq!(active, vec![true, false, false, true]);
    }

    #[test]
    fn frames_past_the_bound_extend_the_last_one() {
        let rec = b"4.sync,1.0;4.sync,2.10;4.rect,1.0,1.0,1.0,1.1,1.1;4.sync,2.20;4.sync,2.30;";
        let ix = index_recording_bounded(rec, 2).unwrap_or_default();
        assert_eq!(ix.frames.len(), 2);
        assert_eq!(ix.frames_merged, 2);
        assert_eq!((ix.frames[1].at_ms, ix.frames[1].end), (30, rec.len()));
        assert!(ix.frames[1].active);
        let all = index_recording(rec).unwrap_or_default();
        assert_eq!((all.frames.len(), all.frames_merged), (4, 0));
    }

    #[test]
    fn key_log_is_bounded() {
        let mut rec = b"4.sync,1.0;".to_vec();
        for _ in 0..(MAX_KEY_EVENTS + 5) {
            rec.extend_from_slice(b"3.key,2.97,1.1,1.5;");
        }
        let ix = index_recording(&rec).unwrap_or_default();
        assert_eq!(ix.keys.presses.len(), MAX_KEY_EVENTS);
        assert_eq!(ix.keys.dropped, 5);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// Any bytes: an index or a parse error, never a panic; frames in order.
        #[test]
        fn index_recording_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Ok(ix) = index_recording(&bytes) {
                proptest::prop_assert!(ix.frames.windows(2).all(|w| w[0].at_ms <= w[1].at_ms && w[0].end < w[1].end));
            }
        }

        /// Well-formed key instructions: one entry per press of a key that is
        /// not a modifier, with the press's own time; a printable ASCII keysym
        /// without Ctrl/Alt/Super held reads as its character.
        #[test]
        fn key_log_lists_each_press(keys in proptest::collection::vec((0x20u32..0x7f, proptest::prelude::any::<bool>(), 0u64..100_000), 0..64)) {
            let mut rec = b"4.sync,4.1000;".to_vec();
            for (k, pressed, t) in &keys {
                let (k, t) = (k.to_string(), (1000 + t).to_string());
                rec.extend_from_slice(format!("3.key,{}.{k},1.{},{}.{t};", k.len(), u8::from(*pressed), t.len()).as_bytes());
            }
            let ix = index_recording(&rec);
            proptest::prop_assert!(ix.is_ok());
            let ix = ix.unwrap_or_default();
            let want: Vec<(u64, String)> = keys
                .iter()
                .filter(|(_, p, _)| *p)
                .map(|(k, _, t)| (*t, char::from_u32(*k).map(String::from).unwrap_or_default()))
                .collect();
            let got: Vec<(u64, String)> = ix.keys.presses.iter().map(|p| (p.at_ms, p.text.clone())).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn key_log_survives_hostile_arguments() {
        for rec in [
            &b"3.key;"[..],
            b"3.key,1.x,1.1;",
            b"3.key,10.4294967295,1.1,20.99999999999999999999;",
            b"3.key,8.16777216,1.1,1.0;4.sync,1.5;3.key,8.17891328,1.1,1.1;",
        ] {
            assert!(index_recording(rec).is_ok());
        }
    }
}
