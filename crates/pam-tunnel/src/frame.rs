//! The data-channel frame: `conn u32 | timestamp_ms u64 | len u32 | payload | 0x3B`,
//! all integers big-endian (verified on the wire against Keeper's library).
//!
//! A data-channel message may hold several frames and a frame may be split
//! across messages, so [`FrameDecoder`] buffers and parses in a loop. It keeps
//! at most one unfinished frame (bounded by the payload limit). A terminator
//! that is not `;` at its exact position means the stream is corrupt: the
//! decoder reports `MALFORMED_FRAME` and stays dead, as the gateway does.

use pam_error::{Error, ErrorCode, Result};

/// Header: conn (4) + timestamp (8) + length (4).
pub const HEADER_LEN: usize = 16;
/// The byte after every payload.
pub const TERMINATOR: u8 = b';';
/// Header plus terminator.
pub const OVERHEAD: usize = HEADER_LEN + 1;
/// The default payload limit of [`FrameDecoder`] (1 MiB; the largest frame
/// seen from the gateway was 16,351 bytes).
pub const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;
/// Connection 0 carries control messages.
pub const CONTROL_CONN: u32 = 0;
/// The guacamole session runs on connection 1.
pub const SESSION_CONN: u32 = 1;

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub conn: u32,
    /// The sender's clock, Unix ms.
    pub timestamp_ms: u64,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(conn: u32, timestamp_ms: u64, payload: Vec<u8>) -> Self {
        Self {
            conn,
            timestamp_ms,
            payload,
        }
    }

    /// The frame's bytes. `INVALID_INPUT` when the payload exceeds `u32::MAX` bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode(self.conn, self.timestamp_ms, &self.payload)
    }
}

/// Encodes one frame.
pub fn encode(conn: u32, timestamp_ms: u64, payload: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .map_err(|_| Error::invalid_input("a frame payload must be under 4 GiB"))?;
    let mut out = Vec::with_capacity(OVERHEAD + payload.len());
    out.extend_from_slice(&conn.to_be_bytes());
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.push(TERMINATOR);
    Ok(out)
}

/// The streaming decoder.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max_payload: usize,
    dead: Option<Error>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// A parsed header.
#[derive(Debug, Clone, Copy)]
struct Header {
    conn: u32,
    timestamp_ms: u64,
    len: usize,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::with_max_payload(DEFAULT_MAX_PAYLOAD)
    }

    pub fn with_max_payload(max_payload: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_payload,
            dead: None,
        }
    }

    /// Bytes held of an unfinished frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether the stream was found corrupt.
    pub fn is_dead(&self) -> bool {
        self.dead.is_some()
    }

    /// Feeds one data-channel message; `on_frame` gets each complete frame in
    /// order. On a corrupt stream the frames before the fault are delivered,
    /// then the error is returned, now and on every later call.
    pub fn push(&mut self, bytes: &[u8], mut on_frame: impl FnMut(Frame)) -> Result<()> {
        if let Some(e) = &self.dead {
            return Err(e.clone());
        }
        self.run(bytes, &mut on_frame).map_err(|e| self.kill(e))
    }

    /// Feeds one message and collects the frames (the error drops them; use
    /// [`Self::push`] to keep the frames before a fault).
    pub fn push_collect(&mut self, bytes: &[u8]) -> Result<Vec<Frame>> {
        let mut out = Vec::new();
        self.push(bytes, |f| out.push(f))?;
        Ok(out)
    }

    fn run(&mut self, mut bytes: &[u8], on_frame: &mut impl FnMut(Frame)) -> Result<()> {
        // First complete the buffered frame, taking only the bytes it needs.
        while !self.buf.is_empty() {
            let header = parse_header(&self.buf, self.max_payload)?;
            let need = header.map_or(HEADER_LEN, |h| h.len + OVERHEAD);
            let take = need.saturating_sub(self.buf.len()).min(bytes.len());
            let (head, rest) = bytes.split_at(take);
            self.buf.extend_from_slice(head);
            bytes = rest;
            if self.buf.len() < need {
                return Ok(());
            }
            if let Some(h) = header {
                let frame = finish(&self.buf, h)?;
                self.buf.clear();
                on_frame(frame);
            }
            // else the header just completed: go round to learn the length.
        }
        // Then whole frames straight from the message; keep the tail.
        while !bytes.is_empty() {
            let Some(h) = parse_header(bytes, self.max_payload)? else {
                self.buf.extend_from_slice(bytes);
                return Ok(());
            };
            let total = h.len + OVERHEAD;
            if bytes.len() < total {
                self.buf.extend_from_slice(bytes);
                return Ok(());
            }
            let (whole, rest) = bytes.split_at(total);
            on_frame(finish(whole, h)?);
            bytes = rest;
        }
        Ok(())
    }

    fn kill(&mut self, e: Error) -> Error {
        self.buf = Vec::new();
        self.dead = Some(e.clone());
        e
    }
}

/// The header at the start of `b`, once its 16 bytes are there. A length over
/// `max_payload` is `FRAME_TOO_LARGE`.
fn parse_header(b: &[u8], max_payload: usize) -> Result<Option<Header>> {
    let Some(h) = b.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let mut conn = [0u8; 4];
    let mut ts = [0u8; 8];
    let mut len = [0u8; 4];
    conn.copy_from_slice(h.get(0..4).unwrap_or(&[0; 4]));
    ts.copy_from_slice(h.get(4..12).unwrap_or(&[0; 8]));
    len.copy_from_slice(h.get(12..16).unwrap_or(&[0; 4]));
    let len = u32::from_be_bytes(len) as usize;
    if len > max_payload {
        return Err(Error::new(
            ErrorCode::FrameTooLarge,
            format!(
                "a frame from the gateway declares {len} payload bytes, over the limit of {max_payload}: the stream is corrupt or not Keeper's framing"
            ),
        ));
    }
    Ok(Some(Header {
        conn: u32::from_be_bytes(conn),
        timestamp_ms: u64::from_be_bytes(ts),
        len,
    }))
}

/// The frame in `whole` (header, payload, terminator), checking the terminator.
fn finish(whole: &[u8], h: Header) -> Result<Frame> {
    let end = HEADER_LEN + h.len;
    if whole.get(end) != Some(&TERMINATOR) {
        return Err(Error::new(
            ErrorCode::MalformedFrame,
            format!(
                "a frame from the gateway (connection {}, {} payload bytes) does not end with ';': the stream is corrupt",
                h.conn, h.len
            ),
        ));
    }
    Ok(Frame {
        conn: h.conn,
        timestamp_ms: h.timestamp_ms,
        payload: whole.get(HEADER_LEN..end).unwrap_or_default().to_vec(),
    })
}
