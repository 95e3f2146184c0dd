//! Every resource limit that keeps a page safe from a hostile guacd or
//! gateway, in one place (the README's limits table lists them).
//!
//! The numbers sit far above anything a real session needs (the real guacd
//! recordings of `tests/fixtures/guac/` peak at 382 drawing operations in one
//! frame and 134 KB in one stream) and far below what would take a page
//! down (wasm32 has 4 GiB in all). Past one of the session limits the session
//! ends with [`ErrorCode::ResourceLimit`] and a sentence that names the limit
//! ([`Limit::error`]); past a layer limit the one operation is refused.

use pam_error::{Error, ErrorCode};

const MIB: usize = 1024 * 1024;

/// Inbound streams the server may have open at once; more are refused with
/// an `ack` (CLIENT_TOO_MANY), as guacamole-common-js does.
pub const MAX_STREAMS: usize = 512;
/// One byte budget across every open inbound stream: the bytes held for
/// images, clipboard, argv and file downloads until their `end` (audio and
/// pipe data is handed on as it arrives and holds nothing).
pub const MAX_OPEN_STREAM_BYTES: usize = 64 * MIB;
/// One image stream (an `img` and its blobs).
pub const MAX_IMAGE_BYTES: usize = 32 * MIB;
/// One clipboard stream from the server.
pub const MAX_CLIPBOARD_BYTES: usize = 16 * MIB;
/// One `argv` stream (a connection parameter's new value).
pub const MAX_ARGV_BYTES: usize = 64 * 1024;
/// Drawing operations of the open frame (received after the last `sync`).
pub const MAX_FRAME_OPS: usize = 65_536;
/// Drawing operations waiting to be drawn across the queued frames (web).
pub const MAX_PENDING_OPS: usize = 1 << 20;
/// Closed frames waiting to be drawn (web).
pub const MAX_PENDING_FRAMES: usize = 4096;
/// Encoded image bytes waiting to be decoded and drawn (web).
pub const MAX_PENDING_IMAGE_BYTES: usize = 256 * MIB;
/// Layers and buffers alive at once (web); a new one past it is refused.
pub const MAX_LAYERS: usize = 1024;
/// Pixels across all layers and buffers (web); a resize past it is refused.
pub const MAX_TOTAL_PIXELS: u64 = 64 * 1024 * 1024;
/// The side of one layer, in pixels (web); larger sizes are clamped.
pub const MAX_LAYER_DIM: u32 = 16_384;
/// Spare layer canvases the renderer keeps ready (web): allocated when a
/// `size` arrives, ahead of the frame that needs it, and taken by the layer
/// when the frame is drawn. At most this many, holding at most
/// [`MAX_POOLED_PIXELS`]; past either, a resize allocates as it goes.
pub const MAX_POOLED_CANVASES: usize = 4;
/// Pixels held by the spare canvases (web): 8 M, 32 MiB of RGBA, four
/// 1920x1080 layers.
pub const MAX_POOLED_PIXELS: u64 = 8 * 1024 * 1024;
/// Bytes waiting in `launch()`'s outbound queue while the data channel's
/// `bufferedAmount` is high (web).
pub const MAX_SEND_QUEUE_BYTES: usize = 32 * MIB;
/// One paste (`setClipboard`, a paste event) to the remote clipboard. Its
/// base64 blobs (4/3 of it) fit in [`MAX_SEND_QUEUE_BYTES`].
pub const MAX_PASTE_BYTES: usize = 16 * MIB;
/// An upload is read from its `File` in chunks of this size, the next one
/// only when the server's acks have taken the previous one.
pub const UPLOAD_CHUNK_BYTES: usize = 256 * 1024;

// A full paste (its base64, 4/3, plus the blob framing) fits the outbound queue.
const _: () = assert!(MAX_PASTE_BYTES / 3 * 4 + MAX_PASTE_BYTES / 100 < MAX_SEND_QUEUE_BYTES);

/// A limit that ends the session when exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_OPEN_STREAM_BYTES`].
    OpenStreamBytes,
    /// [`MAX_IMAGE_BYTES`].
    ImageBytes,
    /// [`MAX_CLIPBOARD_BYTES`].
    ClipboardBytes,
    /// [`MAX_ARGV_BYTES`].
    ArgvBytes,
    /// [`MAX_FRAME_OPS`].
    FrameOps,
    /// [`MAX_PENDING_OPS`].
    PendingOps,
    /// [`MAX_PENDING_FRAMES`].
    PendingFrames,
    /// [`MAX_PENDING_IMAGE_BYTES`].
    PendingImageBytes,
    /// [`MAX_SEND_QUEUE_BYTES`].
    SendQueueBytes,
    /// [`MAX_PASTE_BYTES`] (the paste is refused; the session goes on).
    PasteBytes,
}

/// `64 MiB`, `64 KiB`, or the plain number.
fn size(n: usize) -> String {
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

impl Limit {
    /// The number of the limit.
    pub const fn value(self) -> usize {
        match self {
            Limit::OpenStreamBytes => MAX_OPEN_STREAM_BYTES,
            Limit::ImageBytes => MAX_IMAGE_BYTES,
            Limit::ClipboardBytes => MAX_CLIPBOARD_BYTES,
            Limit::ArgvBytes => MAX_ARGV_BYTES,
            Limit::FrameOps => MAX_FRAME_OPS,
            Limit::PendingOps => MAX_PENDING_OPS,
            Limit::PendingFrames => MAX_PENDING_FRAMES,
            Limit::PendingImageBytes => MAX_PENDING_IMAGE_BYTES,
            Limit::SendQueueBytes => MAX_SEND_QUEUE_BYTES,
            Limit::PasteBytes => MAX_PASTE_BYTES,
        }
    }

    /// What exceeded the limit, as a sentence a person can read.
    pub fn sentence(self) -> String {
        let v = self.value();
        match self {
            Limit::OpenStreamBytes => format!(
                "the server's open streams exceed {} (the limit across all open streams)",
                size(v)
            ),
            Limit::ImageBytes => format!(
                "an image stream from the server exceeds {} (the limit per image)",
                size(v)
            ),
            Limit::ClipboardBytes => format!(
                "a clipboard stream from the server exceeds {} (the clipboard limit)",
                size(v)
            ),
            Limit::ArgvBytes => format!(
                "a parameter (argv) stream from the server exceeds {} (the limit per parameter)",
                size(v)
            ),
            Limit::FrameOps => format!(
                "the server's open frame exceeds {v} drawing operations (the limit before its sync)"
            ),
            Limit::PendingOps => format!(
                "more than {v} drawing operations are waiting to be drawn (the limit across queued frames)"
            ),
            Limit::PendingFrames => {
                format!("more than {v} frames are waiting to be drawn (the queued-frame limit)")
            }
            Limit::PendingImageBytes => format!(
                "the images waiting to be drawn exceed {} (the pending-image limit)",
                size(v)
            ),
            Limit::SendQueueBytes => format!(
                "the data waiting to be sent to the gateway exceeds {} (the outbound queue limit) while the data channel is not draining",
                size(v)
            ),
            Limit::PasteBytes => format!(
                "the paste is larger than {} (the paste limit)",
                size(v)
            ),
        }
    }

    /// The `RESOURCE_LIMIT` error for this limit.
    pub fn error(self) -> Error {
        let tail = match self {
            Limit::PasteBytes => "nothing was sent",
            _ => "the session was closed to protect the page",
        };
        Error::new(
            ErrorCode::ResourceLimit,
            format!("{}: {tail}", self.sentence()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_name_the_number() {
        assert_eq!(
            Limit::OpenStreamBytes.error().message(),
            "the server's open streams exceed 64 MiB (the limit across all open streams): the session was closed to protect the page"
        );
        assert!(Limit::FrameOps.sentence().contains("65536"));
        assert!(Limit::ArgvBytes.sentence().contains("64 KiB"));
        assert_eq!(Limit::PasteBytes.error().code(), ErrorCode::ResourceLimit);
    }
}
