//! Streaming parser for the Guacamole protocol.
//!
//! ```text
//! instruction := element ("," element)* ";"
//! element     := LENGTH "." VALUE     LENGTH = decimal count of Unicode code points in VALUE
//! ```
//!
//! The parser works on the bytes of the data channel (no `TextDecoder` step):
//! it counts code points by skipping UTF-8 continuation bytes, validates each
//! instruction as UTF-8 once, and hands out borrowed views (`&str` elements),
//! so no element is copied. Input may be split anywhere, including inside a
//! length, a value or a multi-byte UTF-8 sequence: only the unfinished tail of
//! a chunk is kept between calls.
//!
//! Hostile input ends in a typed [`ParseError`]; after an error the parser is
//! poisoned (a byte stream cannot be resynchronised safely) and every later
//! call returns the same error.

/// Limits on what the parser accepts. Server-to-client instructions can be
/// large (a legacy `png` carries its whole image inline), so the defaults are
/// far above guacd's own 8 KiB limit for what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of one instruction, terminator included.
    pub max_instruction_bytes: usize,
    /// Maximum elements of one instruction, opcode included.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_instruction_bytes: 8 * 1024 * 1024,
            max_elements: 1024,
        }
    }
}

/// Why a stream is not valid Guacamole protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A length prefix has a character that is not a digit (found at `offset` of the instruction).
    #[error("element length is not a decimal number (at byte {offset} of the instruction)")]
    BadLength { offset: usize },
    /// A length prefix is larger than the instruction size limit.
    #[error("element length {length} exceeds the {limit}-byte instruction limit")]
    LengthTooLarge { length: usize, limit: usize },
    /// The instruction grew past the size limit before it ended.
    #[error("instruction exceeds the {limit}-byte limit")]
    InstructionTooLarge { limit: usize },
    /// The instruction has more elements than the limit.
    #[error("instruction has more than {limit} elements")]
    TooManyElements { limit: usize },
    /// An element's value is not followed by `,` or `;`.
    #[error("element is followed by byte 0x{byte:02x} instead of ',' or ';' (at byte {offset} of the instruction)")]
    BadTerminator { byte: u8, offset: usize },
    /// The instruction is not valid UTF-8.
    #[error("instruction is not valid UTF-8")]
    InvalidUtf8,
    /// The stream ended inside an instruction.
    #[error("stream ended inside an instruction ({buffered} bytes buffered)")]
    Incomplete { buffered: usize },
}

impl From<ParseError> for pam_error::Error {
    fn from(e: ParseError) -> Self {
        use pam_error::ErrorCode;
        let code = match e {
            ParseError::Incomplete { .. } => ErrorCode::IncompleteInstruction,
            ParseError::InstructionTooLarge { .. } | ParseError::LengthTooLarge { .. } => {
                ErrorCode::InstructionTooLarge
            }
            _ => ErrorCode::MalformedInstruction,
        };
        Self::new(code, e.to_string())
    }
}

/// A parsed instruction, borrowing the parser's or the caller's buffer.
///
/// The scan has already checked that every element is valid UTF-8 (an
/// all-ASCII element is valid by construction; others are validated when
/// scanned), so the `&str` views below never fail.
#[derive(Debug, Clone, Copy)]
pub struct Instruction<'a> {
    bytes: &'a [u8],
    /// Byte ranges of the elements within `bytes`; the first is the opcode.
    spans: &'a [(u32, u32)],
}

fn view(bytes: &[u8], (s, e): (u32, u32)) -> &str {
    bytes
        .get(s as usize..e as usize)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

impl<'a> Instruction<'a> {
    /// The opcode (first element).
    pub fn opcode(&self) -> &'a str {
        self.element(0).unwrap_or("")
    }

    /// Number of arguments (elements after the opcode).
    pub fn arg_count(&self) -> usize {
        self.spans.len().saturating_sub(1)
    }

    /// Argument `i` (0-based, after the opcode).
    pub fn arg(&self, i: usize) -> Option<&'a str> {
        self.element(i + 1)
    }

    /// Argument `i` as bytes (base64 payloads need no `&str`).
    pub fn arg_bytes(&self, i: usize) -> Option<&'a [u8]> {
        let &(s, e) = self.spans.get(i + 1)?;
        self.bytes.get(s as usize..e as usize)
    }

    /// The arguments.
    pub fn args(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let bytes = self.bytes;
        self.spans
            .iter()
            .skip(1)
            .map(move |&span| view(bytes, span))
    }

    /// Element `i` (0 = opcode).
    pub fn element(&self, i: usize) -> Option<&'a str> {
        self.spans.get(i).map(|&span| view(self.bytes, span))
    }

    /// All elements, opcode first.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let bytes = self.bytes;
        self.spans.iter().map(move |&span| view(bytes, span))
    }

    /// The instruction's bytes on the wire, terminator included.
    pub fn wire(&self) -> &'a [u8] {
        self.bytes
    }
}

/// True when every byte is ASCII; 16 bytes per step with 64-bit words
/// (wasm32 has native 64-bit integers; `usize` is only 32 bits there).
pub fn all_ascii(b: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(16);
    let mut acc = 0u64;
    for c in &mut chunks {
        let (x, y) = c.split_at(8);
        let x = u64::from_le_bytes(x.try_into().unwrap_or([0x80; 8]));
        let y = u64::from_le_bytes(y.try_into().unwrap_or([0x80; 8]));
        acc |= x | y;
    }
    acc & HIGH == 0 && chunks.remainder().iter().all(u8::is_ascii)
}

/// The streaming parser.
#[derive(Debug, Default)]
pub struct Parser {
    limits: Limits,
    /// Bytes of an unfinished instruction carried over from earlier chunks.
    tail: Vec<u8>,
    /// The unfinished instruction needs at least this many bytes: until the
    /// tail is that long it is not scanned again (keeps big payloads linear).
    need: usize,
    spans: Vec<(u32, u32)>,
    error: Option<ParseError>,
}

/// Where scanning one instruction stopped.
enum Scan {
    /// A whole instruction of this many bytes.
    Complete(usize),
    /// Incomplete; it needs at least this many bytes in all.
    NeedMore(usize),
}

impl Parser {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A parser with the given limits (instruction size is capped at 2^31 bytes,
    /// since element spans are 32-bit).
    pub fn with_limits(mut limits: Limits) -> Self {
        limits.max_instruction_bytes = limits.max_instruction_bytes.min(1 << 31);
        Self {
            limits,
            tail: Vec::new(),
            need: 0,
            spans: Vec::with_capacity(16),
            error: None,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes buffered of an unfinished instruction.
    pub fn buffered(&self) -> usize {
        self.tail.len()
    }

    /// Feeds `bytes`; calls `on_instruction` for each complete instruction, in
    /// order. Returns the number of instructions delivered by this call.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        mut on_instruction: impl FnMut(Instruction<'_>),
    ) -> Result<usize, ParseError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.receive_inner(bytes, &mut on_instruction);
        if let Err(e) = &r {
            self.error = Some(e.clone());
            self.tail = Vec::new();
        }
        r
    }

    fn receive_inner(
        &mut self,
        bytes: &[u8],
        on_instruction: &mut dyn FnMut(Instruction<'_>),
    ) -> Result<usize, ParseError> {
        if self.tail.is_empty() {
            // Common case: parse straight out of the caller's bytes.
            let (delivered, consumed, need) =
                parse_all(bytes, &self.limits, &mut self.spans, on_instruction)?;
            self.tail
                .extend_from_slice(bytes.get(consumed..).unwrap_or_default());
            self.need = need;
            return Ok(delivered);
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() < self.need {
            return Ok(0);
        }
        let tail = std::mem::take(&mut self.tail);
        let (delivered, consumed, need) =
            parse_all(&tail, &self.limits, &mut self.spans, on_instruction)?;
        self.tail = tail;
        self.tail.drain(..consumed.min(self.tail.len()));
        self.need = need;
        Ok(delivered)
    }

    /// Ends the stream: an unfinished instruction is [`ParseError::Incomplete`].
    pub fn finish(&mut self) -> Result<(), ParseError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.tail.is_empty() {
            Ok(())
        } else {
            let e = ParseError::Incomplete {
                buffered: self.tail.len(),
            };
            self.tail = Vec::new();
            self.need = 0;
            Err(e)
        }
    }
}

/// Parses every whole instruction in `b`. Returns (delivered, bytes consumed,
/// bytes the unfinished rest needs at least).
fn parse_all(
    mut b: &[u8],
    limits: &Limits,
    spans: &mut Vec<(u32, u32)>,
    on_instruction: &mut dyn FnMut(Instruction<'_>),
) -> Result<(usize, usize, usize), ParseError> {
    let mut delivered = 0;
    let mut consumed = 0;
    while !b.is_empty() {
        match scan(b, limits, spans)? {
            Scan::Complete(len) => {
                let (inst, rest) = b.split_at(len);
                on_instruction(Instruction { bytes: inst, spans });
                delivered += 1;
                consumed += len;
                b = rest;
            }
            Scan::NeedMore(need) => {
                if need > limits.max_instruction_bytes {
                    return Err(ParseError::InstructionTooLarge {
                        limit: limits.max_instruction_bytes,
                    });
                }
                return Ok((delivered, consumed, need));
            }
        }
    }
    Ok((delivered, consumed, 0))
}

/// Scans one instruction at the start of `b`, recording element spans.
fn scan(b: &[u8], limits: &Limits, spans: &mut Vec<(u32, u32)>) -> Result<Scan, ParseError> {
    spans.clear();
    let mut pos = 0usize;
    loop {
        // Length prefix.
        let mut length: usize = 0;
        let mut digits = 0usize;
        loop {
            let Some(&c) = b.get(pos) else {
                return Ok(Scan::NeedMore(pos + 1));
            };
            match c {
                b'0'..=b'9' => {
                    length = length
                        .saturating_mul(10)
                        .saturating_add(usize::from(c - b'0'));
                    digits += 1;
                    if length > limits.max_instruction_bytes {
                        return Err(ParseError::LengthTooLarge {
                            length,
                            limit: limits.max_instruction_bytes,
                        });
                    }
                    pos += 1;
                }
                b'.' if digits > 0 => {
                    pos += 1;
                    break;
                }
                _ => return Err(ParseError::BadLength { offset: pos }),
            }
        }
        // Value: `length` code points, each at least one byte.
        let start = pos;
        let mut remaining = length;
        // Fast path: an all-ASCII value (base64 payloads, numbers, names) is
        // exactly `length` bytes; `is_ascii` checks a word at a time.
        let avail = b.len().saturating_sub(pos);
        let run = remaining.min(avail);
        let mut ascii = false;
        if let Some(seg) = b.get(pos..pos + run) {
            if all_ascii(seg) {
                pos += run;
                remaining -= run;
                ascii = true;
            }
        }
        while remaining > 0 {
            let Some(&c) = b.get(pos) else {
                return Ok(Scan::NeedMore(
                    pos.saturating_add(remaining).saturating_add(1),
                ));
            };
            pos += utf8_width(c);
            remaining -= 1;
        }
        // A multi-byte sequence may claim bytes past the end of the chunk.
        if pos >= b.len() {
            return Ok(Scan::NeedMore(pos.saturating_add(1)));
        }
        // Non-ASCII values are validated here, once, when complete.
        if !ascii
            && b.get(start..pos)
                .is_none_or(|v| std::str::from_utf8(v).is_err())
        {
            return Err(ParseError::InvalidUtf8);
        }
        if spans.len() >= limits.max_elements {
            return Err(ParseError::TooManyElements {
                limit: limits.max_elements,
            });
        }
        spans.push((start as u32, pos as u32));
        let t = b.get(pos).copied().unwrap_or(b';');
        pos += 1;
        if pos > limits.max_instruction_bytes {
            return Err(ParseError::InstructionTooLarge {
                limit: limits.max_instruction_bytes,
            });
        }
        match t {
            b',' => continue,
            b';' => return Ok(Scan::Complete(pos)),
            other => {
                return Err(ParseError::BadTerminator {
                    byte: other,
                    offset: pos - 1,
                })
            }
        }
    }
}

/// Bytes of the UTF-8 sequence that starts with `lead` (1 for ASCII and for
/// stray continuation bytes, which UTF-8 validation rejects later).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}
