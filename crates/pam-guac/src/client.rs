//! The Guacamole client state machine, sans I/O.
//!
//! Bytes from the server go in with [`Client::receive`]; what the renderer and
//! the application need comes out as [`Event`]s ([`Client::poll_event`]); bytes
//! for the server accumulate in [`Client::take_output`]. Time enters only as
//! arguments ([`Client::tick`]).
//!
//! Two starts:
//! - direct (tests, recordings, a plain guacd): [`Client::connect`] sends
//!   `select`, answers `args` with `size`/`audio`/`video`/`image`/`timezone`/
//!   `name`/`connect`, and waits for `ready`;
//! - over the Keeper gateway, which does the handshake itself:
//!   [`Client::attach`] starts in `Waiting`, ready for guacd's display stream
//!   (an `args` that still arrives is answered as above).
//!
//! The first `sync` means connected. Every `sync` is answered with the
//! timestamp of the last rendered frame: by the renderer through
//! [`Client::frame_rendered`], or at once with `auto_sync`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use base64::Engine as _;

use super::display::{self, DisplayOp};
use super::encoder::encode_into;
use super::limits::{Limit, MAX_FRAME_OPS, MAX_OPEN_STREAM_BYTES, UPLOAD_CHUNK_BYTES};
use super::parser::{Instruction, ParseError, Parser};
use super::status::Status;
use pam_error::Error;

pub use super::limits::MAX_STREAMS;

/// The protocol version this client speaks.
pub const PROTOCOL_VERSION: &str = "VERSION_1_5_0";
/// Largest raw payload of one outgoing blob (guacd's 8 KiB instruction limit).
pub const BLOB_MAX_RAW: usize = 6048;
/// Keep-alive: a `nop` after this long without sending anything.
pub const KEEPALIVE_MS: u64 = 5_000;

/// Client states (the numbers of guacamole-common-js).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle = 0,
    Connecting = 1,
    Waiting = 2,
    Connected = 3,
    Disconnecting = 4,
    Disconnected = 5,
}

/// What the client sends in the handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub audio: Vec<String>,
    pub video: Vec<String>,
    pub image: Vec<String>,
    pub timezone: Option<String>,
    pub name: Option<String>,
    /// Values for `connect`, by argument name; names the server asks for that
    /// are missing here are sent empty (e.g. username/password on ephemeral launches).
    pub params: BTreeMap<String, String>,
    /// Answer each `sync` at once (headless use: tests, recordings).
    pub auto_sync: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            width: 1024,
            height: 768,
            dpi: 96,
            audio: vec!["audio/L8".into(), "audio/L16".into()],
            video: Vec::new(),
            image: vec!["image/png".into(), "image/jpeg".into(), "image/webp".into()],
            timezone: None,
            name: None,
            params: BTreeMap::new(),
            auto_sync: false,
        }
    }
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    State(State),
    /// `ready`: the handshake finished (direct start).
    Ready {
        connection_id: String,
    },
    Name(String),
    /// A drawing operation for the current frame.
    Op(DisplayOp),
    /// `sync`: the operations since the previous frame form one frame.
    Frame {
        timestamp: u64,
        logical_frames: u32,
    },
    Clipboard {
        mimetype: String,
        data: Vec<u8>,
    },
    /// The server offers a file download. Nothing is acknowledged until the
    /// application answers with [`Client::accept_file`] (its bytes then
    /// follow as `FileData`, then `FileEnd`) or [`Client::reject_file`];
    /// blobs before that are dropped.
    FileStart {
        stream: i32,
        mimetype: String,
        filename: String,
    },
    FileData {
        stream: i32,
        data: Vec<u8>,
    },
    FileEnd {
        stream: i32,
    },
    Argv {
        mimetype: String,
        name: String,
        value: Vec<u8>,
    },
    Pipe {
        stream: i32,
        mimetype: String,
        name: String,
    },
    PipeData {
        stream: i32,
        data: Vec<u8>,
    },
    AudioStart {
        stream: i32,
        mimetype: String,
    },
    AudioData {
        stream: i32,
        data: Vec<u8>,
    },
    AudioEnd {
        stream: i32,
    },
    /// The server needs these parameters (e.g. credentials).
    Required(Vec<String>),
    /// `msg`: user joined/left.
    Msg {
        id: u32,
        args: Vec<String>,
    },
    /// An acknowledgement of one of our output streams (other than uploads).
    Ack {
        stream: i32,
        message: String,
        status: Status,
    },
    /// An upload needs its next bytes: read `max` bytes (fewer at the end,
    /// none past it) from `offset` of its source and hand them over with
    /// [`Client::upload_data`]. At most one request per upload is open.
    UploadNeedsData {
        stream: i32,
        offset: u64,
        max: usize,
    },
    /// Upload progress: bytes sent so far.
    UploadProgress {
        stream: i32,
        sent: u64,
        total: u64,
    },
    /// The upload finished (all data acknowledged, `end` sent).
    UploadDone {
        stream: i32,
    },
    /// The server refused the upload.
    UploadFailed {
        stream: i32,
        status: Status,
        message: String,
    },
    /// The server reported an error; the session is ending.
    Error {
        status: Status,
        message: String,
    },
    /// Something was skipped (malformed instruction, unknown stream, bad base64).
    Log(String),
}

/// Why the client stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Protocol(ParseError),
    /// A resource limit was exceeded (`RESOURCE_LIMIT`, the message names it).
    #[error(transparent)]
    ResourceLimit(Error),
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Protocol(p) => p.into(),
            ClientError::ResourceLimit(e) => e,
        }
    }
}

impl From<ParseError> for ClientError {
    fn from(e: ParseError) -> Self {
        ClientError::Protocol(e)
    }
}

#[derive(Debug)]
enum InStream {
    Image {
        mask: u8,
        layer: i32,
        mimetype: String,
        x: i32,
        y: i32,
        data: Vec<u8>,
        broken: bool,
    },
    Clipboard {
        mimetype: String,
        data: Vec<u8>,
        broken: bool,
    },
    Argv {
        mimetype: String,
        name: String,
        data: Vec<u8>,
    },
    /// A download: offered until accepted; `held` bytes handed on but kept
    /// by the application until the stream ends.
    File {
        accepted: bool,
        held: usize,
    },
    Pipe,
    Audio,
    Ignored,
}

/// The client.
#[derive(Debug)]
pub struct Client {
    config: Config,
    state: State,
    parser: Parser,
    out: Vec<u8>,
    events: VecDeque<Event>,
    streams: HashMap<i32, InStream>,
    /// Highest `sync` timestamp received, and the last one answered.
    last_server_sync: Option<u64>,
    last_answered: Option<u64>,
    handshake_done: bool,
    last_send_ms: u64,
    next_out_stream: i32,
    uploads: HashMap<i32, Upload>,
    /// Bytes held for the open inbound streams (one budget across them).
    stream_bytes: usize,
    /// Drawing operations since the last `sync`.
    frame_ops: usize,
    /// The limit that ended the session, reported once by `receive`.
    failed: Option<Limit>,
}

/// A file being sent, one blob per server acknowledgement. Its bytes come
/// from the application a chunk at a time ([`Event::UploadNeedsData`]).
#[derive(Debug)]
struct Upload {
    /// Bytes received from the source and not yet sent.
    buf: VecDeque<u8>,
    /// Source bytes received so far (the offset of the next request).
    read: u64,
    /// Bytes sent in blobs so far.
    sent: u64,
    total: Option<u64>,
    /// The source has no more bytes.
    eof: bool,
    /// A request for data is open.
    requested: bool,
    /// The server acknowledged and waits for the next blob.
    ack_waiting: bool,
}

impl Client {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            state: State::Idle,
            parser: Parser::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            streams: HashMap::new(),
            last_server_sync: None,
            last_answered: None,
            handshake_done: false,
            last_send_ms: 0,
            next_out_stream: 0,
            uploads: HashMap::new(),
            stream_bytes: 0,
            frame_ops: 0,
            failed: None,
        }
    }

    /// Bytes held for the open inbound streams.
    pub fn open_stream_bytes(&self) -> usize {
        self.stream_bytes
    }

    /// Inbound streams open.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The limit exceeded: the session ends at once (the server is told with
    /// `disconnect`); `receive` returns the error.
    fn exceed(&mut self, limit: Limit) {
        if self.failed.is_some() {
            return;
        }
        self.failed = Some(limit);
        self.streams.clear();
        self.stream_bytes = 0;
        self.events.push_back(Event::Error {
            status: Status::CLIENT_OVERRUN,
            message: limit.error().message().to_owned(),
        });
        self.disconnect();
    }

    /// Adds `n` held bytes to the budget across open streams.
    fn charge(&mut self, n: usize) -> bool {
        self.stream_bytes = self.stream_bytes.saturating_add(n);
        if self.stream_bytes > MAX_OPEN_STREAM_BYTES {
            self.exceed(Limit::OpenStreamBytes);
            return false;
        }
        true
    }

    fn push_op(&mut self, op: DisplayOp) {
        self.frame_ops += 1;
        if self.frame_ops > MAX_FRAME_OPS {
            self.exceed(Limit::FrameOps);
            return;
        }
        self.events.push_back(Event::Op(op));
    }

    pub fn state(&self) -> State {
        self.state
    }

    fn set_state(&mut self, s: State) {
        if self.state != s {
            self.state = s;
            self.events.push_back(Event::State(s));
        }
    }

    fn send<S: AsRef<str>>(&mut self, elements: &[S]) {
        encode_into(&mut self.out, elements);
    }

    /// Direct start: `select` the protocol (or `$id` to join a connection).
    pub fn connect(&mut self, protocol: &str) {
        self.set_state(State::Connecting);
        self.send(&["select", protocol]);
    }

    /// Gateway start: the handshake is done elsewhere; guacd's display stream follows.
    pub fn attach(&mut self) {
        self.handshake_done = true;
        self.set_state(State::Waiting);
    }

    /// Bytes for the server, taken.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Feeds bytes from the server.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if self.state == State::Disconnected {
            return Ok(());
        }
        let mut parser = std::mem::take(&mut self.parser);
        let r = parser.receive(bytes, |inst| {
            if self.failed.is_none() {
                self.handle(&inst);
            }
        });
        self.parser = parser;
        if let Some(limit) = self.failed {
            return Err(ClientError::ResourceLimit(limit.error()));
        }
        if let Err(e) = r {
            self.events.push_back(Event::Error {
                status: Status::SERVER_ERROR,
                message: format!("the server sent an invalid instruction: {e}"),
            });
            self.disconnect();
            return Err(e.into());
        }
        Ok(())
    }

    fn handle(&mut self, inst: &Instruction<'_>) {
        let op = inst.opcode();
        match op {
            // The tunnel layer's internal opcode: never for the client.
            "" => {}
            "args" => self.answer_args(inst),
            "ready" => {
                self.handshake_done = true;
                self.set_state(State::Waiting);
                self.events.push_back(Event::Ready {
                    connection_id: inst.arg(0).unwrap_or_default().to_owned(),
                });
            }
            "sync" => self.on_sync(inst),
            "nop" | "log" | "key" | "touch" => {}
            "name" => self
                .events
                .push_back(Event::Name(inst.arg(0).unwrap_or_default().to_owned())),
            "error" => {
                let status = inst
                    .arg(1)
                    .and_then(Status::parse)
                    .unwrap_or(Status::SERVER_ERROR);
                let text = inst.arg(0).unwrap_or_default();
                self.events.push_back(Event::Error {
                    status,
                    message: if text.is_empty() {
                        status.message().to_owned()
                    } else {
                        format!("{} ({text})", status.message())
                    },
                });
                self.disconnect();
            }
            "disconnect" => {
                self.set_state(State::Disconnected);
            }
            "required" => self
                .events
                .push_back(Event::Required(inst.args().map(str::to_owned).collect())),
            "msg" => {
                let id = inst.arg(0).and_then(|s| s.parse().ok()).unwrap_or(0);
                self.events.push_back(Event::Msg {
                    id,
                    args: inst.args().skip(1).map(str::to_owned).collect(),
                });
            }
            "img" => self.open_image(inst),
            "png" | "jpeg" => self.legacy_image(inst),
            "blob" => self.on_blob(inst),
            "end" => self.on_end(inst),
            "ack" => {
                let stream = inst.arg(0).and_then(|s| s.parse().ok()).unwrap_or(-1);
                let message = inst.arg(1).unwrap_or_default().to_owned();
                let status = inst
                    .arg(2)
                    .and_then(Status::parse)
                    .unwrap_or(Status::SUCCESS);
                if self.uploads.contains_key(&stream) {
                    self.upload_acked(stream, status, message);
                } else {
                    self.events.push_back(Event::Ack {
                        stream,
                        message,
                        status,
                    });
                }
            }
            "clipboard" | "file" | "pipe" | "argv" | "audio" | "video" => self.open_stream(inst),
            _ if display::is_display_opcode(op) => match display::parse_op(inst) {
                Some(d) => self.push_op(d),
                None => self.log(format!("skipped a malformed {op} instruction")),
            },
            // filesystem/body/undefine/nest and future opcodes: ignored, as common-js does.
            _ => {}
        }
    }

    fn log(&mut self, s: String) {
        self.events.push_back(Event::Log(s));
    }

    fn answer_args(&mut self, inst: &Instruction<'_>) {
        let mut args = inst.args().peekable();
        // 1.0.0 servers send no version; every element is an argument name.
        let version = match args.peek() {
            Some(v) if v.starts_with("VERSION_") => args.next().map(|v| {
                if version_key(v) > version_key(PROTOCOL_VERSION) {
                    PROTOCOL_VERSION.to_owned()
                } else {
                    v.to_owned()
                }
            }),
            _ => None,
        };
        let names: Vec<String> = args.map(str::to_owned).collect();
        let c = self.config.clone();
        self.send(&[
            "size".to_owned(),
            c.width.to_string(),
            c.height.to_string(),
            c.dpi.to_string(),
        ]);
        let with_op = |op: &str, list: &[String]| {
            std::iter::once(op.to_owned())
                .chain(list.iter().cloned())
                .collect::<Vec<_>>()
        };
        self.send(&with_op("audio", &c.audio));
        self.send(&with_op("video", &c.video));
        self.send(&with_op("image", &c.image));
        if let Some(v) = &version {
            if version_key(v) >= version_key("VERSION_1_1_0") {
                if let Some(tz) = &c.timezone {
                    self.send(&["timezone", tz]);
                }
            }
            if version_key(v) >= version_key("VERSION_1_5_0") {
                if let Some(n) = &c.name {
                    self.send(&["name", n]);
                }
            }
        }
        let mut connect = vec!["connect".to_owned()];
        if let Some(v) = version {
            connect.push(v);
        }
        connect.extend(
            names
                .iter()
                .map(|n| c.params.get(n).cloned().unwrap_or_default()),
        );
        self.send(&connect);
        if self.state == State::Idle {
            self.set_state(State::Connecting);
        }
    }

    fn on_sync(&mut self, inst: &Instruction<'_>) {
        let Some(ts) = inst.arg(0).and_then(|t| t.parse::<u64>().ok()) else {
            self.log("skipped a sync without a valid timestamp".into());
            return;
        };
        let logical_frames = inst.arg(1).and_then(|f| f.parse().ok()).unwrap_or(0);
        self.last_server_sync = Some(self.last_server_sync.map_or(ts, |p| p.max(ts)));
        self.frame_ops = 0;
        if matches!(self.state, State::Waiting | State::Connecting | State::Idle) {
            self.set_state(State::Connected);
        }
        self.events.push_back(Event::Frame {
            timestamp: ts,
            logical_frames,
        });
        if self.config.auto_sync {
            self.frame_rendered(ts);
        }
    }

    /// The renderer finished the frame of `sync` timestamp `ts`: answer it.
    /// Never answers a timestamp the server has not sent (guacd treats that as
    /// fatal), and never answers the same one twice.
    pub fn frame_rendered(&mut self, ts: u64) {
        let Some(max) = self.last_server_sync else {
            return;
        };
        let ts = ts.min(max);
        if self.last_answered == Some(ts) || !self.can_send() {
            return;
        }
        self.last_answered = Some(ts);
        self.send(&["sync".to_owned(), ts.to_string()]);
    }

    fn can_send(&self) -> bool {
        matches!(
            self.state,
            State::Connecting | State::Waiting | State::Connected
        )
    }

    fn stream_index(inst: &Instruction<'_>, i: usize) -> Option<i32> {
        inst.arg(i)?.parse().ok()
    }

    fn insert_stream(&mut self, index: i32, s: InStream) -> bool {
        if self.streams.len() >= MAX_STREAMS && !self.streams.contains_key(&index) {
            self.log(format!("too many open streams; refusing stream {index}"));
            self.ack(index, "too many streams", Status::CLIENT_TOO_MANY);
            return false;
        }
        // A stream index reused without its `end`: the old one is dropped.
        self.remove_stream(index);
        self.streams.insert(index, s);
        true
    }

    fn ack(&mut self, stream: i32, msg: &str, status: Status) {
        if self.can_send() {
            self.send(&[
                "ack".to_owned(),
                stream.to_string(),
                msg.to_owned(),
                status.0.to_string(),
            ]);
        }
    }

    fn open_image(&mut self, inst: &Instruction<'_>) {
        let parsed = (|| {
            Some((
                Self::stream_index(inst, 0)?,
                inst.arg(1)?.parse::<u8>().ok()?,
                inst.arg(2)?.parse::<i32>().ok()?,
                inst.arg(3)?.to_owned(),
                inst.arg(4)?.parse::<i32>().ok()?,
                inst.arg(5)?.parse::<i32>().ok()?,
            ))
        })();
        match parsed {
            Some((index, mask, layer, mimetype, x, y)) => {
                self.insert_stream(
                    index,
                    InStream::Image {
                        mask,
                        layer,
                        mimetype,
                        x,
                        y,
                        data: Vec::new(),
                        broken: false,
                    },
                );
            }
            None => self.log("skipped a malformed img instruction".into()),
        }
    }

    fn legacy_image(&mut self, inst: &Instruction<'_>) {
        let mimetype = if inst.opcode() == "png" {
            "image/png"
        } else {
            "image/jpeg"
        };
        let parsed = (|| {
            Some((
                inst.arg(0)?.parse::<u8>().ok()?,
                inst.arg(1)?.parse::<i32>().ok()?,
                inst.arg(2)?.parse::<i32>().ok()?,
                inst.arg(3)?.parse::<i32>().ok()?,
                inst.arg_bytes(4)?,
            ))
        })();
        let Some((mask, layer, x, y, b64)) = parsed else {
            self.log(format!("skipped a malformed {} instruction", inst.opcode()));
            return;
        };
        match decode_b64(b64) {
            Some(data) => self.push_op(DisplayOp::Image {
                mask,
                layer,
                x,
                y,
                mimetype: mimetype.into(),
                data,
            }),
            None => self.log(format!(
                "skipped a {} instruction with bad base64",
                inst.opcode()
            )),
        }
    }

    fn open_stream(&mut self, inst: &Instruction<'_>) {
        let op = inst.opcode();
        let Some(index) = Self::stream_index(inst, 0) else {
            self.log(format!("skipped a malformed {op} instruction"));
            return;
        };
        let mimetype = inst.arg(1).unwrap_or_default().to_owned();
        let name = inst.arg(2).unwrap_or_default().to_owned();
        match op {
            "clipboard" => {
                self.insert_stream(
                    index,
                    InStream::Clipboard {
                        mimetype,
                        data: Vec::new(),
                        broken: false,
                    },
                );
            }
            "argv" => {
                self.insert_stream(
                    index,
                    InStream::Argv {
                        mimetype,
                        name,
                        data: Vec::new(),
                    },
                );
            }
            "file" => {
                let file = InStream::File {
                    accepted: false,
                    held: 0,
                };
                if self.insert_stream(index, file) {
                    self.events.push_back(Event::FileStart {
                        stream: index,
                        mimetype,
                        filename: name,
                    });
                }
            }
            "pipe" => {
                if self.insert_stream(index, InStream::Pipe) {
                    self.events.push_back(Event::Pipe {
                        stream: index,
                        mimetype,
                        name,
                    });
                }
            }
            "audio" => {
                let supported = self
                    .config
                    .audio
                    .iter()
                    .any(|a| mimetype.starts_with(a.as_str()));
                if supported && self.insert_stream(index, InStream::Audio) {
                    self.events.push_back(Event::AudioStart {
                        stream: index,
                        mimetype,
                    });
                    self.ack(index, "OK", Status::SUCCESS);
                } else if !supported {
                    self.insert_stream(index, InStream::Ignored);
                    self.ack(index, "BAD TYPE", Status::CLIENT_BAD_TYPE);
                }
            }
            // "video": no player, as in common-js.
            _ => {
                self.insert_stream(index, InStream::Ignored);
                self.ack(index, "BAD TYPE", Status::CLIENT_BAD_TYPE);
            }
        }
    }

    fn on_blob(&mut self, inst: &Instruction<'_>) {
        let (Some(index), Some(b64)) = (Self::stream_index(inst, 0), inst.arg_bytes(1)) else {
            self.log("skipped a malformed blob instruction".into());
            return;
        };
        let Some(stream) = self.streams.get_mut(&index) else {
            self.log(format!("skipped a blob for unknown stream {index}"));
            return;
        };
        let decoded = decode_b64(b64);
        let n = decoded.as_ref().map_or(0, Vec::len);
        // Bytes this blob adds to what is held for the stream, and its own cap.
        let (held_after, cap) = match &*stream {
            InStream::Image { data, broken, .. } if !*broken => {
                (data.len() + n, Some(Limit::ImageBytes))
            }
            InStream::Clipboard { data, broken, .. } if !*broken => {
                (data.len() + n, Some(Limit::ClipboardBytes))
            }
            InStream::Argv { data, .. } => (data.len() + n, Some(Limit::ArgvBytes)),
            InStream::File {
                accepted: true,
                held,
            } => (held + n, None),
            _ => (0, None),
        };
        if let Some(limit) = cap {
            if held_after > limit.value() {
                self.exceed(limit);
                return;
            }
        }
        let holds = held_after > 0;
        if holds && !self.charge(n) {
            return;
        }
        let Some(stream) = self.streams.get_mut(&index) else {
            return;
        };
        let mut note = None;
        let mut ack = false;
        let mut event = None;
        match (stream, decoded) {
            (
                InStream::Image { data, broken, .. } | InStream::Clipboard { data, broken, .. },
                Some(d),
            ) => {
                if !*broken {
                    data.extend_from_slice(&d);
                }
            }
            (InStream::Argv { data, .. }, Some(d)) => data.extend_from_slice(&d),
            (
                InStream::File {
                    accepted: true,
                    held,
                },
                Some(d),
            ) => {
                *held += d.len();
                event = Some(Event::FileData {
                    stream: index,
                    data: d,
                });
                ack = true;
            }
            (
                InStream::File {
                    accepted: false, ..
                },
                _,
            ) => {
                note = Some(format!(
                    "skipped a blob on download {index} before it was accepted"
                ));
            }
            (InStream::Pipe, Some(d)) => {
                event = Some(Event::PipeData {
                    stream: index,
                    data: d,
                })
            }
            (InStream::Audio, Some(d)) => {
                event = Some(Event::AudioData {
                    stream: index,
                    data: d,
                })
            }
            (InStream::Ignored, _) => {}
            (
                InStream::Image { broken, data, .. } | InStream::Clipboard { broken, data, .. },
                None,
            ) => {
                *broken = true;
                let freed = std::mem::take(data).len();
                self.stream_bytes = self.stream_bytes.saturating_sub(freed);
                note = Some(format!("bad base64 on stream {index}; its data is dropped"));
            }
            (_, None) => note = Some(format!("bad base64 on stream {index}; blob skipped")),
        }
        if let Some(e) = event {
            self.events.push_back(e);
        }
        if ack {
            self.ack(index, "OK", Status::SUCCESS);
        }
        if let Some(n) = note {
            self.log(n);
        }
    }

    /// Bytes held for a stream (counted in the budget across open streams).
    fn held(s: &InStream) -> usize {
        match s {
            InStream::Image { data, .. }
            | InStream::Clipboard { data, .. }
            | InStream::Argv { data, .. } => data.len(),
            InStream::File { held, .. } => *held,
            InStream::Pipe | InStream::Audio | InStream::Ignored => 0,
        }
    }

    fn remove_stream(&mut self, index: i32) -> Option<InStream> {
        let s = self.streams.remove(&index)?;
        self.stream_bytes = self.stream_bytes.saturating_sub(Self::held(&s));
        Some(s)
    }

    fn on_end(&mut self, inst: &Instruction<'_>) {
        let Some(index) = Self::stream_index(inst, 0) else {
            return;
        };
        let Some(stream) = self.remove_stream(index) else {
            return;
        };
        let event = match stream {
            InStream::Image { broken: true, .. } | InStream::Clipboard { broken: true, .. } => None,
            InStream::Image {
                mask,
                layer,
                mimetype,
                x,
                y,
                data,
                ..
            } => {
                self.push_op(DisplayOp::Image {
                    mask,
                    layer,
                    x,
                    y,
                    mimetype,
                    data,
                });
                None
            }
            InStream::Clipboard { mimetype, data, .. } => Some(Event::Clipboard { mimetype, data }),
            InStream::Argv {
                mimetype,
                name,
                data,
            } => Some(Event::Argv {
                mimetype,
                name,
                value: data,
            }),
            InStream::File { accepted: true, .. } => Some(Event::FileEnd { stream: index }),
            InStream::Audio => Some(Event::AudioEnd { stream: index }),
            InStream::File { .. } | InStream::Pipe | InStream::Ignored => None,
        };
        if let Some(e) = event {
            self.events.push_back(e);
        }
    }

    /// Accepts the download the server offered ([`Event::FileStart`]): it is
    /// acknowledged, and its bytes follow. False when there is no such offer.
    pub fn accept_file(&mut self, stream: i32) -> bool {
        match self.streams.get_mut(&stream) {
            Some(InStream::File { accepted, .. }) if !*accepted => {
                *accepted = true;
                self.ack(stream, "OK", Status::SUCCESS);
                true
            }
            _ => false,
        }
    }

    /// Refuses a download (offered or running): an error `ack` (as
    /// guacamole-common-js sends without a handler: UNSUPPORTED), and its
    /// data is dropped until its `end`.
    pub fn reject_file(&mut self, stream: i32, message: &str, status: Status) -> bool {
        if !matches!(self.streams.get(&stream), Some(InStream::File { .. })) {
            return false;
        }
        self.remove_stream(stream);
        self.streams.insert(stream, InStream::Ignored);
        self.ack(stream, message, status);
        true
    }

    /// Keyboard: an X11 keysym pressed or released.
    pub fn send_key(&mut self, keysym: u32, pressed: bool) {
        if self.can_send() {
            self.send(&[
                "key".to_owned(),
                keysym.to_string(),
                if pressed { "1" } else { "0" }.to_owned(),
            ]);
        }
    }

    /// Mouse: position in remote pixels and the button mask (1 left, 2 middle,
    /// 4 right, 8 wheel up, 16 wheel down).
    pub fn send_mouse(&mut self, x: i32, y: i32, mask: u8) {
        if self.can_send() {
            self.send(&[
                "mouse".to_owned(),
                x.to_string(),
                y.to_string(),
                mask.to_string(),
            ]);
        }
    }

    /// The display size changed (with DPI).
    pub fn send_size(&mut self, width: u32, height: u32, dpi: Option<u32>) {
        if self.can_send() {
            let mut v = vec!["size".to_owned(), width.to_string(), height.to_string()];
            if let Some(d) = dpi {
                v.push(d.to_string());
            }
            self.send(&v);
        }
    }

    fn open_output_stream(&mut self) -> i32 {
        let s = self.next_out_stream;
        self.next_out_stream = (self.next_out_stream + 1) % MAX_STREAMS as i32;
        s
    }

    /// Sends clipboard data (e.g. `text/plain` UTF-8) as a stream of blobs.
    pub fn send_clipboard(&mut self, mimetype: &str, data: &[u8]) -> Option<i32> {
        if !self.can_send() {
            return None;
        }
        let s = self.open_output_stream();
        self.send(&["clipboard".to_owned(), s.to_string(), mimetype.to_owned()]);
        for chunk in data.chunks(BLOB_MAX_RAW) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(chunk);
            self.send(&["blob".to_owned(), s.to_string(), b64]);
        }
        self.send(&["end".to_owned(), s.to_string()]);
        Some(s)
    }

    /// Starts a file upload of bytes already in memory: `file` now, then one
    /// blob of at most [`BLOB_MAX_RAW`] bytes per acknowledgement from the
    /// server (its flow control), then `end`. Progress and the outcome
    /// arrive as events.
    pub fn send_file(&mut self, mimetype: &str, filename: &str, data: Vec<u8>) -> Option<i32> {
        let total = data.len() as u64;
        let s = self.open_upload(mimetype, filename, Some(total))?;
        if let Some(up) = self.uploads.get_mut(&s) {
            up.buf = data.into();
            up.read = total;
            up.eof = true;
        }
        Some(s)
    }

    /// Starts a file upload whose bytes are pulled from the application:
    /// `file` now, then [`Event::UploadNeedsData`] asks for the first
    /// [`UPLOAD_CHUNK_BYTES`], and each next chunk only once the server's
    /// acks have taken the previous one, so at most one chunk is held.
    /// `total` (when known) is for the progress events.
    pub fn send_file_streamed(
        &mut self,
        mimetype: &str,
        filename: &str,
        total: Option<u64>,
    ) -> Option<i32> {
        let s = self.open_upload(mimetype, filename, total)?;
        self.request_upload_data(s);
        Some(s)
    }

    fn open_upload(&mut self, mimetype: &str, filename: &str, total: Option<u64>) -> Option<i32> {
        if !self.can_send() {
            return None;
        }
        let s = self.open_output_stream();
        self.send(&[
            "file".to_owned(),
            s.to_string(),
            mimetype.to_owned(),
            filename.to_owned(),
        ]);
        self.uploads.insert(
            s,
            Upload {
                buf: VecDeque::new(),
                read: 0,
                sent: 0,
                total,
                eof: false,
                requested: false,
                ack_waiting: false,
            },
        );
        Some(s)
    }

    fn request_upload_data(&mut self, stream: i32) {
        let Some(up) = self.uploads.get_mut(&stream) else {
            return;
        };
        if up.eof || up.requested || !up.buf.is_empty() {
            return;
        }
        up.requested = true;
        let offset = up.read;
        self.events.push_back(Event::UploadNeedsData {
            stream,
            offset,
            max: UPLOAD_CHUNK_BYTES,
        });
    }

    /// The bytes an [`Event::UploadNeedsData`] asked for; empty at the end of
    /// the source. More than was asked for is refused (false).
    pub fn upload_data(&mut self, stream: i32, bytes: &[u8]) -> bool {
        let Some(up) = self.uploads.get_mut(&stream) else {
            return false;
        };
        if !up.requested || bytes.len() > UPLOAD_CHUNK_BYTES {
            return false;
        }
        up.requested = false;
        if bytes.is_empty() {
            up.eof = true;
        } else {
            up.read += bytes.len() as u64;
            up.buf.extend(bytes);
            if up.total.is_some_and(|t| up.read >= t) {
                up.eof = true;
            }
        }
        if up.ack_waiting {
            up.ack_waiting = false;
            self.upload_next(stream);
        }
        true
    }

    /// The source of an upload failed (a read error): the stream is ended
    /// and the upload reported as failed.
    pub fn upload_abort(&mut self, stream: i32, message: &str) {
        if self.uploads.remove(&stream).is_some() {
            if self.can_send() {
                self.send(&["end".to_owned(), stream.to_string()]);
            }
            self.events.push_back(Event::UploadFailed {
                stream,
                status: Status::CLIENT_BAD_REQUEST,
                message: message.to_owned(),
            });
        }
    }

    /// The application cancels an upload: the stream is ended (`end`), no
    /// more data is asked for or sent, later acks of it are ordinary
    /// [`Event::Ack`]s. No event (the caller knows). False for a stream that
    /// is not a running upload.
    pub fn upload_cancel(&mut self, stream: i32) -> bool {
        if self.uploads.remove(&stream).is_none() {
            return false;
        }
        if self.can_send() {
            self.send(&["end".to_owned(), stream.to_string()]);
        }
        true
    }

    fn upload_acked(&mut self, stream: i32, status: Status, message: String) {
        if status.is_error() {
            self.uploads.remove(&stream);
            self.events.push_back(Event::UploadFailed {
                stream,
                status,
                message: if message.is_empty() {
                    status.message().to_owned()
                } else {
                    message
                },
            });
            return;
        }
        self.upload_next(stream);
    }

    /// The server is ready for more: the next blob, or `end` after the last.
    fn upload_next(&mut self, stream: i32) {
        let Some(up) = self.uploads.get_mut(&stream) else {
            return;
        };
        if up.buf.is_empty() {
            if !up.eof {
                // The next chunk is being read: the blob goes when it comes.
                up.ack_waiting = true;
                self.request_upload_data(stream);
                return;
            }
            let sent = up.sent;
            let total = up.total.unwrap_or(sent).max(sent);
            self.uploads.remove(&stream);
            self.send(&["end".to_owned(), stream.to_string()]);
            self.events.push_back(Event::UploadProgress {
                stream,
                sent,
                total,
            });
            self.events.push_back(Event::UploadDone { stream });
            return;
        }
        let n = up.buf.len().min(BLOB_MAX_RAW);
        let chunk: Vec<u8> = up.buf.drain(..n).collect();
        let before = up.sent;
        up.sent += n as u64;
        let total = up.total.unwrap_or(up.read).max(up.sent);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&chunk);
        self.send(&["blob".to_owned(), stream.to_string(), b64]);
        self.events.push_back(Event::UploadProgress {
            stream,
            sent: before,
            total,
        });
        // Read ahead: the next chunk is on its way while this one drains.
        self.request_upload_data(stream);
    }

    /// Time passes: sends a keep-alive `nop` when nothing was sent for [`KEEPALIVE_MS`].
    pub fn tick(&mut self, now_ms: u64) {
        if !self.out.is_empty() {
            self.last_send_ms = now_ms;
        } else if self.state == State::Connected
            && now_ms.saturating_sub(self.last_send_ms) >= KEEPALIVE_MS
        {
            self.send(&["nop"]);
            self.last_send_ms = now_ms;
        }
    }

    /// Clean disconnect: tells the server, once.
    pub fn disconnect(&mut self) {
        if matches!(self.state, State::Disconnecting | State::Disconnected) {
            return;
        }
        if self.can_send() {
            self.send(&["disconnect"]);
        }
        self.set_state(State::Disconnecting);
        self.set_state(State::Disconnected);
    }

    /// True once the handshake is done (or was done by the gateway).
    pub fn handshake_done(&self) -> bool {
        self.handshake_done
    }
}

fn decode_b64(s: &[u8]) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Orders `VERSION_a_b_c` strings.
fn version_key(v: &str) -> (u32, u32, u32) {
    let mut it = v
        .trim_start_matches("VERSION_")
        .split('_')
        .map(|p| p.parse().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}
