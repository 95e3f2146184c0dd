//! The connection state machine of one launch, sans I/O: inputs are events
//! with the time they happened (Unix ms, from the caller), outputs are a
//! queue of [`Action`]s for the web layer to carry out.
//!
//! ```text
//! Planning ─OfferSent→ OfferSent ─OfferAccepted→ WaitingForAnswer
//!    (answer timeout: 30 s, 120 s for ephemeral, from OfferSent)
//! ─Answer→ Connecting (ICE; channel timeout) ─ChannelOpen→ ChannelOpen
//! ─(sends OpenConnection(1 [+ConnectAs]))→ OpeningConnection (open timeout)
//! ─ConnectionOpened(1)→ ConnectionOpened (first-frame timeout)
//! ─first data on connection 1→ Connected ─…→ Closed
//! ```
//!
//! Any phase can end in `Closed`: a disconnect request (CloseConnection(1,
//! Normal) when the channel is open, then close the peer once the gateway
//! has closed the channel: it sends no reply), the gateway's CloseConnection
//! (its reason mapped to a status),
//! a timeout, a refusal, a lost channel or peer, a corrupt stream, or a
//! protocol error the renderer found in the session stream
//! (CloseConnection(1, ProtocolError) with the error code as its message).
//!
//! When the peer connection goes `disconnected` or `failed` on an open
//! channel, ICE is restarted from this side with backoff ([`IceRestarts`]:
//! 2 s, then 5, 10, 20 s; 4 attempts; [`Action::RestartIce`]); `connected`
//! ends the interruption, and 20 s after the last attempt the launch ends
//! with `CONNECTION_LOST`. The phase stays; the status message says
//! "reconnecting" with the attempt number.
//!
//! Pings are answered with Pongs; when `keepalive_ms` is set, an idle open
//! channel gets a Ping of its own. When `ping_ms` is set (2 s by default),
//! the open channel gets a round-trip Ping every `ping_ms` carrying our
//! clock (`u32 0 | u64 µs`), at most one outstanding; the Pong that echoes
//! it exactly is the RTT sample ([`Machine::rtt`]), any other Pong is
//! ignored. These probes are sends, so with both on the keepalive never
//! fires: the keepalive matters only with the probes off.
//!
//! Every end has a [`Close`] on its final status: the gateway's
//! CloseConnection reason, or the one this client gives the ends it detects
//! (timeouts, lost peers and channels, protocol errors, the user's
//! disconnect); guacd's `error`, when one came first, rides along
//! ([`GuacStatus`]). Local ICE candidates (trickle only) are
//! held until the offer is accepted, then sent as one batch, then one at a
//! time, and no more once ICE is connected or the channel is open. Remote
//! candidates that arrive before the answer are held until it is applied.

use std::collections::VecDeque;
use std::fmt;

use super::control::{CloseReason, ControlMessage};
use super::frame::{self, FrameDecoder, CONTROL_CONN, OVERHEAD, SESSION_CONN};
use super::offer::max_message_size;
use super::router::RouterEvent;
use pam_error::{Error, ErrorCode};

/// The phases a launch goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Planning,
    OfferSent,
    WaitingForAnswer,
    Connecting,
    ChannelOpen,
    OpeningConnection,
    ConnectionOpened,
    Connected,
    Closed,
}

impl Phase {
    pub const ALL: [Phase; 9] = [
        Phase::Planning,
        Phase::OfferSent,
        Phase::WaitingForAnswer,
        Phase::Connecting,
        Phase::ChannelOpen,
        Phase::OpeningConnection,
        Phase::ConnectionOpened,
        Phase::Connected,
        Phase::Closed,
    ];

    /// The stable name used in JS status events.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Planning => "planning",
            Phase::OfferSent => "offerSent",
            Phase::WaitingForAnswer => "waitingForGateway",
            Phase::Connecting => "ice",
            Phase::ChannelOpen => "channelOpen",
            Phase::OpeningConnection => "openingConnection",
            Phase::ConnectionOpened => "connectionOpened",
            Phase::Connected => "connected",
            Phase::Closed => "closed",
        }
    }

    /// Whether the data channel is (or was just) open.
    fn channel_open(self) -> bool {
        matches!(
            self,
            Phase::ChannelOpen
                | Phase::OpeningConnection
                | Phase::ConnectionOpened
                | Phase::Connected
        )
    }
}

/// `RTCPeerConnection.connectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl PeerState {
    pub const ALL: [PeerState; 6] = [
        PeerState::New,
        PeerState::Connecting,
        PeerState::Connected,
        PeerState::Disconnected,
        PeerState::Failed,
        PeerState::Closed,
    ];

    /// From the browser's string; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "new" => PeerState::New,
            "connecting" => PeerState::Connecting,
            "connected" => PeerState::Connected,
            "disconnected" => PeerState::Disconnected,
            "failed" => PeerState::Failed,
            "closed" => PeerState::Closed,
            _ => return None,
        })
    }
}

/// The timers of a launch, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Offer sent → answer.
    pub answer_ms: u64,
    /// Answer → data channel open (ICE, DTLS, SCTP).
    pub channel_ms: u64,
    /// OpenConnection sent → ConnectionOpened.
    pub open_ms: u64,
    /// ConnectionOpened → first data on connection 1.
    pub first_frame_ms: u64,
    /// Idle time after which an open channel gets a Ping; `None`: never.
    pub keepalive_ms: Option<u64>,
    /// Round-trip probes: while the channel is open, a Ping carrying our
    /// clock every this many ms, at most one outstanding; `None`: none.
    pub ping_ms: Option<u64>,
    /// Automatic ICE restarts when the connection drops on an open channel.
    pub ice_restart: IceRestarts,
}

/// The interval of the round-trip Pings (`timeouts.pingMs`).
pub const DEFAULT_PING_MS: u64 = 2_000;
/// The data of a round-trip Ping: connection 0 (`u32`) and our clock in
/// microseconds (`u64`), both big-endian.
pub const PING_PROBE_LEN: usize = 12;

/// Most automatic ICE restarts per interruption.
pub const MAX_ICE_RESTARTS: usize = 4;

/// The backoff of automatic ICE restarts: the peer connection went
/// `disconnected` (or `failed`) while the data channel is open. Attempt 1
/// comes `delays_ms[0]` after the interruption, attempt n+1 `delays_ms[n]`
/// after attempt n; `give_up_ms` after the last one, the launch ends with
/// `CONNECTION_LOST`. `connected` again ends the interruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IceRestarts {
    /// How many attempts (0: none; at most [`MAX_ICE_RESTARTS`]).
    pub attempts: usize,
    pub delays_ms: [u64; MAX_ICE_RESTARTS],
    pub give_up_ms: u64,
}

impl IceRestarts {
    /// 2 s of `disconnected`, then 5 s, 10 s, 20 s between attempts (Keeper's
    /// library backs off 5 s, 10 s, 20 s, 60 s), 20 s after the last.
    pub const DEFAULT: Self = Self {
        attempts: MAX_ICE_RESTARTS,
        delays_ms: [2_000, 5_000, 10_000, 20_000],
        give_up_ms: 20_000,
    };

    /// From a list of delays (more than [`MAX_ICE_RESTARTS`] are cut) and the
    /// wait after the last attempt.
    pub fn from_delays(delays: &[u64], give_up_ms: u64) -> Self {
        let mut delays_ms = [0; MAX_ICE_RESTARTS];
        let n = delays.len().min(MAX_ICE_RESTARTS);
        for (slot, d) in delays_ms.iter_mut().zip(delays) {
            *slot = *d;
        }
        Self {
            attempts: n,
            delays_ms,
            give_up_ms,
        }
    }
}

impl Timeouts {
    /// Answer 30 s (120 s for ephemeral accounts: the gateway creates the
    /// account first), channel 30 s, open 15 s (60 s for ephemeral, a guess:
    /// the account may still be settling), first frame 15 s, keepalive 30 s.
    pub fn for_launch(ephemeral: bool) -> Self {
        Self {
            answer_ms: if ephemeral { 120_000 } else { 30_000 },
            channel_ms: 30_000,
            open_ms: if ephemeral { 60_000 } else { 15_000 },
            first_frame_ms: 15_000,
            keepalive_ms: Some(30_000),
            ping_ms: Some(DEFAULT_PING_MS),
            ice_restart: IceRestarts::DEFAULT,
        }
    }
}

/// How the machine is set up.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub trickle_ice: bool,
    /// `credentialType: "ephemeral"` (only changes a status line).
    pub ephemeral: bool,
    pub timeouts: Timeouts,
    /// The ConnectAs block for OpenConnection (see [`super::connect_as::seal`]).
    pub connect_as: Option<Vec<u8>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("trickle_ice", &self.trickle_ice)
            .field("ephemeral", &self.ephemeral)
            .field("timeouts", &self.timeouts)
            .field(
                "connect_as",
                &self
                    .connect_as
                    .as_ref()
                    .map(|b| format!("<{} bytes>", b.len())),
            )
            .finish()
    }
}

impl Config {
    pub fn new(trickle_ice: bool, ephemeral: bool) -> Self {
        Self {
            trickle_ice,
            ephemeral,
            timeouts: Timeouts::for_launch(ephemeral),
            connect_as: None,
        }
    }
}

/// An event, with the time passed separately to [`Machine::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The `start` request was handed to `signaling.send`.
    OfferSent,
    /// `signaling.send` of `start` resolved OK (read its events with
    /// `Conversation::read_response` and pass them as `Router`).
    OfferAccepted,
    /// Something the router delivered (HTTP reply or websocket).
    Router(RouterEvent),
    /// The launch's signaling failed: `start` rejected, `GATEWAY_REFUSED`.
    /// Ends the launch until the channel is open; ignored after that.
    SignalingFailed(Error),
    /// An `ice_restart_offer` was sent: the next answer is its answer.
    RestartOfferSent,
    /// A local ICE candidate (`candidate.candidate`; `""` ends them).
    LocalCandidate(String),
    PeerState(PeerState),
    ChannelOpen,
    /// One data-channel message (binary).
    ChannelMessage(&'a [u8]),
    ChannelClosed,
    /// Guacamole bytes from the session, for connection 1.
    SendGuacamole(&'a [u8]),
    /// The user asked to disconnect.
    Disconnect,
    /// guacd's `error` instruction reached the renderer (the session is
    /// ending): kept for the final status (`guacStatus`), nothing else.
    GuacdError {
        code: u32,
        message: String,
    },
    /// The session's renderer failed on what the gateway sent on connection
    /// 1 (a protocol error: `MALFORMED_INSTRUCTION`, `INSTRUCTION_TOO_LARGE`,
    /// ...). Ends the launch with this error; on the open channel the gateway
    /// gets CloseConnection(1, ProtocolError) with the code as its message.
    SessionFailed(Error),
    /// Time passed (drive it from [`Machine::next_deadline`]).
    Tick,
}

/// A status change for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub phase: Phase,
    /// A sentence for a person.
    pub message: String,
    /// Set when the launch ended in failure (phase `Closed`).
    pub error: Option<Error>,
    /// Why the launch ended (phase `Closed` only; every end has one).
    pub close: Option<Close>,
    /// guacd's `error` that came before the end, if one did (phase `Closed` only).
    pub guac: Option<GuacStatus>,
}

/// Who decided an end: the gateway's CloseConnection, or this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseSource {
    Gateway,
    Client,
}

impl CloseSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseSource::Gateway => "gateway",
            CloseSource::Client => "client",
        }
    }
}

/// The reason of an end, as `closeReason` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Close {
    pub reason: CloseReason,
    pub source: CloseSource,
}

impl Close {
    pub const fn client(reason: CloseReason) -> Self {
        Self {
            reason,
            source: CloseSource::Client,
        }
    }

    pub const fn gateway(reason: CloseReason) -> Self {
        Self {
            reason,
            source: CloseSource::Gateway,
        }
    }

    /// `closeReason.transient`: [`CloseReason::is_transient`].
    pub const fn transient(self) -> bool {
        self.reason.is_transient()
    }

    /// The reason this client gives an end it detects from an error code:
    /// timeouts are `timeout`, lost peers and channels `connectionLost`, a
    /// refusal `serverRefuse`, resource limits `error`, corrupt frames and
    /// streams `protocolError`.
    pub fn for_error(code: ErrorCode) -> Self {
        Self::client(match code {
            ErrorCode::GatewayTimeout | ErrorCode::TunnelTimeout => CloseReason::Timeout,
            ErrorCode::ConnectionLost => CloseReason::ConnectionLost,
            ErrorCode::GatewayRefused => CloseReason::ServerRefuse,
            ErrorCode::MalformedFrame
            | ErrorCode::FrameTooLarge
            | ErrorCode::MalformedInstruction
            | ErrorCode::IncompleteInstruction
            | ErrorCode::InstructionTooLarge => CloseReason::ProtocolError,
            _ => CloseReason::Error,
        })
    }
}

/// guacd's `error` instruction: its status code and its text (cleaned:
/// at most 300 characters, no control characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuacStatus {
    pub code: u32,
    pub message: String,
}

/// The last round trip measured by a Ping of ours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttSample {
    /// Milliseconds from our Ping to its Pong (microsecond resolution).
    pub rtt_ms: f64,
    /// When the Pong arrived (the machine's clock, ms).
    pub at_ms: u64,
}

/// Something for the web layer to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Status(Status),
    /// Send an `icecandidate` message with these (`Conversation::ice_candidates`).
    SendCandidates(Vec<String>),
    /// `setRemoteDescription({ type: "answer", sdp })`.
    SetRemoteAnswer(String),
    /// `addIceCandidate({ candidate, sdpMid: "0", sdpMLineIndex: 0 })` for each.
    AddRemoteCandidates(Vec<String>),
    /// The gateway's ICE-restart offer: `setRemoteDescription({ type: "offer", sdp })`,
    /// `createAnswer`, `setLocalDescription`, then send it with
    /// `Conversation::ice_restart_answer`.
    AnswerRestartOffer(String),
    /// Send these bytes on the data channel (one message).
    Send(Vec<u8>),
    /// Guacamole bytes from connection 1, for the session.
    Guacamole(Vec<u8>),
    /// Close the RTCPeerConnection (after the data channel's `bufferedAmount`
    /// has drained, so that a final CloseConnection leaves first, and, when
    /// [`Machine::close_sent`], after the gateway has closed the channel).
    ClosePeer,
    /// Restart ICE from this side: `createOffer({ iceRestart: true })`,
    /// `setLocalDescription`, candidates gathered into the SDP, sent with
    /// `Conversation::ice_restart_offer` (then [`Input::RestartOfferSent`]).
    RestartIce,
}

/// Most remote candidates held before the answer.
pub const MAX_HELD_CANDIDATES: usize = 512;
/// Most session bytes held before ConnectionOpened; more are dropped.
pub const MAX_HELD_GUACAMOLE: usize = 1 << 20;
/// The peer's receive limit when its SDP has no `a=max-message-size` (RFC 8841).
pub const DEFAULT_PEER_MAX_MESSAGE: usize = 65_536;
/// The message size used when the peer says 0 ("no limit").
pub const UNLIMITED_PEER_MAX_MESSAGE: usize = 262_144;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Answer,
    Channel,
    Open,
    FirstFrame,
}

/// The state machine.
#[derive(Debug)]
pub struct Machine {
    cfg: Config,
    phase: Phase,
    actions: VecDeque<Action>,
    decoder: FrameDecoder,
    timer: Option<(u64, Timer)>,
    offer_accepted: bool,
    ice_connected: bool,
    local_held: Vec<String>,
    answered: bool,
    remote_held: Vec<String>,
    restart_pending: bool,
    guac_held: Vec<u8>,
    last_send_ms: u64,
    peer_max_message: usize,
    close_sent: bool,
    /// The connection is interrupted on an open channel: attempts made so
    /// far and when the next one (or the end) is due.
    recovery: Option<Recovery>,
    /// The clock of the event being handled, in microseconds.
    now_us: u64,
    /// Our outstanding round-trip Ping: the clock it carries (µs).
    ping_out: Option<u64>,
    /// When the next round-trip Ping is due (ms), once none is outstanding.
    ping_due: Option<u64>,
    rtt: Option<RttSample>,
    /// guacd's `error`, kept for the final status.
    guac_error: Option<GuacStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recovery {
    attempt: usize,
    at: u64,
}

impl Machine {
    /// A machine in `Planning`; its first action is that status.
    pub fn new(cfg: Config) -> Self {
        let mut m = Self {
            cfg,
            phase: Phase::Planning,
            actions: VecDeque::new(),
            decoder: FrameDecoder::new(),
            timer: None,
            offer_accepted: false,
            ice_connected: false,
            local_held: Vec::new(),
            answered: false,
            remote_held: Vec::new(),
            restart_pending: false,
            guac_held: Vec::new(),
            last_send_ms: 0,
            peer_max_message: DEFAULT_PEER_MAX_MESSAGE,
            close_sent: false,
            recovery: None,
            now_us: 0,
            ping_out: None,
            ping_due: None,
            rtt: None,
            guac_error: None,
        };
        m.status("planning the launch".into());
        m
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether the launch ended with a CloseConnection of ours on the open
    /// channel. Keeper's library answers it by closing the whole tube, so the
    /// web layer waits (bounded) for the data channel's close before it
    /// closes the peer connection: closing first makes the library see the
    /// upstream vanish and report the session as failed.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// The next action, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// All pending actions, in order.
    pub fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
    }

    /// When to call `handle(now, Input::Tick)` next (Unix ms), if ever.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.is_closed() {
            return None;
        }
        let step = self.timer.map(|(at, _)| at);
        let keepalive = self.keepalive_due();
        let recovery = self.recovery.map(|r| r.at);
        let ping = self.ping_due.filter(|_| self.ping_out.is_none());
        [step, keepalive, recovery, ping]
            .into_iter()
            .flatten()
            .min()
    }

    /// The last round trip a Pong of ours measured.
    pub fn rtt(&self) -> Option<RttSample> {
        self.rtt
    }

    /// How long our outstanding Ping is overdue at `now_ms`: its age past
    /// `ping_ms` (0 while it is younger); `None` when none is outstanding.
    pub fn ping_overdue_ms(&self, now_ms: u64) -> Option<u64> {
        let sent = self.ping_out? / 1000;
        let ping_ms = self.cfg.timeouts.ping_ms.unwrap_or(0);
        Some(now_ms.saturating_sub(sent).saturating_sub(ping_ms))
    }

    /// ICE restarts made in the current interruption (`None`: not interrupted).
    pub fn reconnect_attempt(&self) -> Option<usize> {
        self.recovery.map(|r| r.attempt)
    }

    /// Handles one event that happened at `now_ms`, then the timers.
    pub fn handle(&mut self, now_ms: u64, input: Input<'_>) {
        self.handle_us(now_ms.saturating_mul(1000), input);
    }

    /// [`Self::handle`] with the clock in microseconds: round trips are
    /// measured at this resolution (a loopback takes well under 1 ms).
    pub fn handle_us(&mut self, now_us: u64, input: Input<'_>) {
        if self.is_closed() {
            return;
        }
        self.now_us = now_us;
        let now_ms = now_us / 1000;
        match input {
            Input::OfferSent => self.on_offer_sent(now_ms),
            Input::OfferAccepted => self.on_offer_accepted(),
            Input::Router(ev) => self.on_router(now_ms, ev),
            Input::SignalingFailed(e) => {
                if !self.phase.channel_open() {
                    let msg = e.message().to_owned();
                    let close = Close::for_error(e.code());
                    self.end(now_ms, msg, Some(e), None, close);
                }
            }
            Input::RestartOfferSent => self.restart_pending = true,
            Input::LocalCandidate(c) => self.on_local_candidate(c),
            Input::PeerState(s) => self.on_peer_state(now_ms, s),
            Input::ChannelOpen => self.on_channel_open(now_ms),
            Input::ChannelMessage(bytes) => self.on_channel_message(now_ms, bytes),
            Input::ChannelClosed => self.end(
                now_ms,
                "the data channel to the gateway closed before the session ended".into(),
                Some(Error::new(
                    ErrorCode::ConnectionLost,
                    "the data channel to the gateway closed before the session ended: the gateway or the network dropped it; launch again",
                )),
                None,
                Close::client(CloseReason::TunnelClosed),
            ),
            Input::GuacdError { code, message } => {
                if self.guac_error.is_none() {
                    self.guac_error = Some(GuacStatus {
                        code,
                        message: super::control::clean(message.trim()),
                    });
                }
            }
            Input::SendGuacamole(bytes) => self.on_send_guacamole(now_ms, bytes),
            Input::Disconnect => {
                let normal = Close::client(CloseReason::Normal);
                if self.phase.channel_open() {
                    self.end(
                        now_ms,
                        "disconnected".into(),
                        None,
                        Some(CloseReason::Normal),
                        normal,
                    );
                } else {
                    self.end(now_ms, "the launch was cancelled".into(), None, None, normal);
                }
            }
            Input::SessionFailed(e) => {
                let notify = self.phase.channel_open().then(|| {
                    (
                        CloseReason::ProtocolError,
                        Some(format!("client protocol error: {}", e.code().as_str())),
                    )
                });
                let msg = e.message().to_owned();
                let close = Close::for_error(e.code());
                self.end_with(now_ms, msg, Some(e), notify, close);
            }
            Input::Tick => {}
        }
        self.check_timers(now_ms);
    }

    fn on_offer_sent(&mut self, now: u64) {
        if self.phase != Phase::Planning {
            return;
        }
        self.phase = Phase::OfferSent;
        self.timer = Some((
            now.saturating_add(self.cfg.timeouts.answer_ms),
            Timer::Answer,
        ));
        self.status("sending the offer to the gateway".into());
    }

    fn on_offer_accepted(&mut self) {
        if self.phase == Phase::Planning {
            return;
        }
        self.offer_accepted = true;
        if self.phase == Phase::OfferSent {
            self.phase = Phase::WaitingForAnswer;
            let msg = if self.cfg.ephemeral {
                "waiting for the gateway (it creates a temporary account first, which can take up to 2 minutes)"
            } else {
                "waiting for the gateway to answer"
            };
            self.status(msg.into());
        }
        if self.cfg.trickle_ice && !self.local_held.is_empty() && !self.ice_done() {
            let batch = std::mem::take(&mut self.local_held);
            self.actions.push_back(Action::SendCandidates(batch));
        }
        self.local_held.clear();
    }

    fn on_router(&mut self, now: u64, ev: RouterEvent) {
        match ev {
            RouterEvent::Answer { sdp } => {
                if !self.answered {
                    if !matches!(self.phase, Phase::OfferSent | Phase::WaitingForAnswer) {
                        return;
                    }
                    self.answered = true;
                    self.peer_max_message = match max_message_size(&sdp) {
                        None => DEFAULT_PEER_MAX_MESSAGE,
                        Some(0) => UNLIMITED_PEER_MAX_MESSAGE,
                        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).max(OVERHEAD + 1),
                    };
                    self.actions.push_back(Action::SetRemoteAnswer(sdp));
                    if !self.remote_held.is_empty() {
                        let held = std::mem::take(&mut self.remote_held);
                        self.actions.push_back(Action::AddRemoteCandidates(held));
                    }
                    self.phase = Phase::Connecting;
                    self.timer = Some((
                        now.saturating_add(self.cfg.timeouts.channel_ms),
                        Timer::Channel,
                    ));
                    self.status("connecting to the gateway (ICE)".into());
                } else if self.restart_pending {
                    self.restart_pending = false;
                    self.actions.push_back(Action::SetRemoteAnswer(sdp));
                }
                // Else a repeated answer: setting it again would fail.
            }
            RouterEvent::RestartOffer { sdp } => {
                if self.answered && self.cfg.trickle_ice {
                    self.actions.push_back(Action::AnswerRestartOffer(sdp));
                }
            }
            RouterEvent::Candidates(list) => {
                if list.is_empty() {
                    return;
                }
                if self.answered {
                    self.actions.push_back(Action::AddRemoteCandidates(list));
                } else {
                    let room = MAX_HELD_CANDIDATES.saturating_sub(self.remote_held.len());
                    self.remote_held.extend(list.into_iter().take(room));
                }
            }
            RouterEvent::Progress(text) => {
                if self.phase < Phase::Connected {
                    self.status(format!("gateway: {text}"));
                }
            }
        }
    }

    /// ICE is connected or the channel is open: local candidates are no longer needed.
    fn ice_done(&self) -> bool {
        self.ice_connected || self.phase.channel_open()
    }

    fn on_local_candidate(&mut self, c: String) {
        if !self.cfg.trickle_ice || self.ice_done() {
            return;
        }
        if self.offer_accepted {
            self.actions.push_back(Action::SendCandidates(vec![c]));
        } else if self.local_held.len() < MAX_HELD_CANDIDATES {
            self.local_held.push(c);
        }
    }

    fn on_peer_state(&mut self, now: u64, s: PeerState) {
        match s {
            PeerState::New | PeerState::Connecting => {}
            PeerState::Connected => {
                self.ice_connected = true;
                self.local_held.clear();
                if let Some(r) = self.recovery.take() {
                    self.status(if r.attempt == 0 {
                        "the connection to the gateway recovered".into()
                    } else {
                        format!(
                            "reconnected to the gateway (ICE restart, attempt {} of {})",
                            r.attempt, self.cfg.timeouts.ice_restart.attempts
                        )
                    });
                }
            }
            PeerState::Disconnected | PeerState::Failed
                if self.phase.channel_open() && self.cfg.timeouts.ice_restart.attempts > 0 =>
            {
                if self.recovery.is_none() {
                    let first = self.cfg.timeouts.ice_restart.delays_ms[0];
                    self.recovery = Some(Recovery {
                        attempt: 0,
                        at: now.saturating_add(first),
                    });
                    self.status(format!(
                        "the connection to the gateway is interrupted; reconnecting in {} s if it does not recover",
                        first.div_ceil(1000)
                    ));
                }
            }
            PeerState::Disconnected => {
                self.status(
                    "the connection to the gateway is interrupted; waiting for it to recover"
                        .into(),
                );
            }
            PeerState::Failed | PeerState::Closed => {
                let (msg, detail, reason) = if self.phase.channel_open() {
                    (
                        "the WebRTC connection to the gateway was lost",
                        "the WebRTC connection to the gateway was lost (ICE failed or the peer closed): check the network and launch again",
                        CloseReason::ConnectionLost,
                    )
                } else {
                    (
                        "could not connect to the gateway over WebRTC",
                        "could not connect to the gateway over WebRTC (ICE failed): check that the network allows UDP to Keeper's relay (STUN/TURN on port 3478) and that the TURN credentials are valid",
                        CloseReason::ConnectionFailed,
                    )
                };
                self.end(
                    now,
                    msg.into(),
                    Some(Error::new(ErrorCode::ConnectionLost, detail)),
                    None,
                    Close::client(reason),
                );
            }
        }
    }

    fn on_channel_open(&mut self, now: u64) {
        if self.phase.channel_open() || self.phase == Phase::Planning {
            return;
        }
        self.ice_connected = true;
        self.local_held.clear();
        self.phase = Phase::ChannelOpen;
        self.status("data channel open".into());
        self.ping_due = self
            .cfg
            .timeouts
            .ping_ms
            .filter(|p| *p > 0)
            .map(|p| now.saturating_add(p));
        let open = ControlMessage::OpenConnection {
            conn: SESSION_CONN,
            connect_as: self.cfg.connect_as.clone(),
        };
        self.send_frame(now, CONTROL_CONN, &open.encode());
        self.phase = Phase::OpeningConnection;
        self.timer = Some((now.saturating_add(self.cfg.timeouts.open_ms), Timer::Open));
        self.status("opening the connection to the target".into());
    }

    fn on_channel_message(&mut self, now: u64, bytes: &[u8]) {
        if !self.phase.channel_open() {
            return;
        }
        let mut frames = Vec::new();
        let result = self.decoder.push(bytes, |f| frames.push(f));
        for f in frames {
            if self.is_closed() {
                return;
            }
            match f.conn {
                CONTROL_CONN => self.on_control(now, &f.payload),
                SESSION_CONN => self.on_session_data(now, f.payload),
                _ => {}
            }
        }
        if let Err(e) = result {
            if !self.is_closed() {
                let msg = e.message().to_owned();
                let close = Close::client(CloseReason::ProtocolError);
                self.end(now, msg, Some(e), Some(CloseReason::ProtocolError), close);
            }
        }
    }

    fn on_control(&mut self, now: u64, payload: &[u8]) {
        let msg = match ControlMessage::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                let text = e.message().to_owned();
                let close = Close::client(CloseReason::ProtocolError);
                self.end(now, text, Some(e), Some(CloseReason::ProtocolError), close);
                return;
            }
        };
        match msg {
            ControlMessage::Ping(data) => {
                self.send_frame(now, CONTROL_CONN, &ControlMessage::pong_for(&data).encode())
            }
            ControlMessage::Pong(data) => self.on_pong(now, &data),
            ControlMessage::ConnectionOpened { conn: SESSION_CONN }
                if self.phase == Phase::OpeningConnection =>
            {
                self.opened(now);
            }
            ControlMessage::CloseConnection {
                conn: CONTROL_CONN | SESSION_CONN,
                reason,
                message,
            } => {
                let status = reason.status_message(message.as_deref());
                let error = (!reason.is_normal(message.as_deref()))
                    .then(|| Error::new(ErrorCode::GatewayClosed, status.clone()));
                self.end(now, status, error, None, Close::gateway(reason));
            }
            _ => {}
        }
    }

    /// A Pong: a round-trip sample when it echoes our outstanding Ping
    /// exactly (connection 0, the clock we sent); anything else (the echo
    /// of a keepalive, a wrong length, a stale or replayed clock) is ignored.
    fn on_pong(&mut self, now: u64, data: &[u8]) {
        let Some(sent) = self.ping_out else {
            return;
        };
        let Ok(probe) = <[u8; PING_PROBE_LEN]>::try_from(data) else {
            return;
        };
        let (conn, clock) = probe.split_at(4);
        let echoed = <[u8; 8]>::try_from(clock).ok().map(u64::from_be_bytes);
        if conn != CONTROL_CONN.to_be_bytes() || echoed != Some(sent) {
            return;
        }
        self.ping_out = None;
        self.rtt = Some(RttSample {
            rtt_ms: self.now_us.saturating_sub(sent) as f64 / 1000.0,
            at_ms: now,
        });
    }

    fn opened(&mut self, now: u64) {
        self.phase = Phase::ConnectionOpened;
        self.timer = Some((
            now.saturating_add(self.cfg.timeouts.first_frame_ms),
            Timer::FirstFrame,
        ));
        self.status("connection open, waiting for the first frame".into());
        let held = std::mem::take(&mut self.guac_held);
        if !held.is_empty() {
            self.send_session(now, &held);
        }
    }

    fn on_session_data(&mut self, now: u64, payload: Vec<u8>) {
        if self.phase == Phase::OpeningConnection {
            // Data before ConnectionOpened: the connection is evidently open.
            self.opened(now);
        }
        if payload.is_empty() {
            return;
        }
        if self.phase == Phase::ConnectionOpened {
            self.phase = Phase::Connected;
            self.timer = None;
            self.status("connected".into());
        }
        self.actions.push_back(Action::Guacamole(payload));
    }

    fn on_send_guacamole(&mut self, now: u64, bytes: &[u8]) {
        if matches!(self.phase, Phase::ConnectionOpened | Phase::Connected) {
            self.send_session(now, bytes);
        } else {
            let room = MAX_HELD_GUACAMOLE.saturating_sub(self.guac_held.len());
            self.guac_held
                .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        }
    }

    /// Session bytes in frames that fit the peer's message size.
    fn send_session(&mut self, now: u64, bytes: &[u8]) {
        let max = self.peer_max_message.saturating_sub(OVERHEAD).max(1);
        for chunk in bytes.chunks(max) {
            self.send_frame(now, SESSION_CONN, chunk);
        }
    }

    fn send_frame(&mut self, now: u64, conn: u32, payload: &[u8]) {
        if let Ok(bytes) = frame::encode(conn, now, payload) {
            self.last_send_ms = now;
            self.actions.push_back(Action::Send(bytes));
        }
    }

    fn keepalive_due(&self) -> Option<u64> {
        let k = self.cfg.timeouts.keepalive_ms?;
        matches!(self.phase, Phase::ConnectionOpened | Phase::Connected)
            .then(|| self.last_send_ms.saturating_add(k))
    }

    fn check_timers(&mut self, now: u64) {
        if self.is_closed() {
            return;
        }
        if let Some((at, which)) = self.timer {
            if now >= at {
                self.timeout(now, which);
                return;
            }
        }
        if let Some(r) = self.recovery.filter(|r| now >= r.at) {
            self.reconnect(now, r);
            if self.is_closed() {
                return;
            }
        }
        if self.ping_out.is_none()
            && self.phase.channel_open()
            && self.ping_due.is_some_and(|due| now >= due)
        {
            let mut probe = CONTROL_CONN.to_be_bytes().to_vec();
            probe.extend_from_slice(&self.now_us.to_be_bytes());
            self.send_frame(now, CONTROL_CONN, &ControlMessage::Ping(probe).encode());
            self.ping_out = Some(self.now_us);
            self.ping_due = self.cfg.timeouts.ping_ms.map(|p| now.saturating_add(p));
        }
        if self.keepalive_due().is_some_and(|due| now >= due) {
            let ping = ControlMessage::Ping(CONTROL_CONN.to_be_bytes().to_vec());
            self.send_frame(now, CONTROL_CONN, &ping.encode());
        }
    }

    /// The next ICE restart of an interruption, or its end.
    fn reconnect(&mut self, now: u64, r: Recovery) {
        let policy = self.cfg.timeouts.ice_restart;
        if r.attempt < policy.attempts {
            let attempt = r.attempt + 1;
            let wait = if attempt < policy.attempts {
                policy
                    .delays_ms
                    .get(attempt)
                    .copied()
                    .unwrap_or(policy.give_up_ms)
            } else {
                policy.give_up_ms
            };
            self.recovery = Some(Recovery {
                attempt,
                at: now.saturating_add(wait),
            });
            self.actions.push_back(Action::RestartIce);
            self.status(format!(
                "reconnecting to the gateway: ICE restart, attempt {attempt} of {}",
                policy.attempts
            ));
        } else {
            self.recovery = None;
            let message = format!(
                "the connection to the gateway was lost and {} ICE restarts did not bring it back: check the network and launch again",
                policy.attempts
            );
            self.end(
                now,
                message.clone(),
                Some(Error::new(ErrorCode::ConnectionLost, message)),
                None,
                Close::client(CloseReason::ConnectionLost),
            );
        }
    }

    fn timeout(&mut self, now: u64, which: Timer) {
        let t = self.cfg.timeouts;
        let secs = |ms: u64| ms.div_ceil(1000);
        let (code, message, notify) = match which {
            Timer::Answer => (
                ErrorCode::GatewayTimeout,
                format!(
                    "the gateway did not answer within {} s: check that the gateway is online and reachable, then launch again",
                    secs(t.answer_ms)
                ),
                None,
            ),
            Timer::Channel => (
                ErrorCode::TunnelTimeout,
                format!(
                    "the WebRTC connection to the gateway did not open within {} s: check that the network allows UDP to Keeper's relay (STUN/TURN on port 3478)",
                    secs(t.channel_ms)
                ),
                None,
            ),
            Timer::Open => (
                ErrorCode::TunnelTimeout,
                format!(
                    "the gateway did not open the connection to the target within {} s: check that the gateway can reach the resource",
                    secs(t.open_ms)
                ),
                Some(CloseReason::Timeout),
            ),
            Timer::FirstFrame => (
                ErrorCode::TunnelTimeout,
                format!(
                    "the target sent nothing within {} s after the connection opened",
                    secs(t.first_frame_ms)
                ),
                Some(CloseReason::Timeout),
            ),
        };
        self.end(
            now,
            message.clone(),
            Some(Error::new(code, message)),
            notify,
            Close::client(CloseReason::Timeout),
        );
    }

    /// Ends the launch: tell the gateway (when the channel is open and
    /// `notify` is given), close the peer, report the status.
    fn end(
        &mut self,
        now: u64,
        message: String,
        error: Option<Error>,
        notify: Option<CloseReason>,
        close: Close,
    ) {
        self.end_with(now, message, error, notify.map(|r| (r, None)), close);
    }

    /// [`Self::end`] with a message in the CloseConnection (short, never a secret).
    fn end_with(
        &mut self,
        now: u64,
        message: String,
        error: Option<Error>,
        notify: Option<(CloseReason, Option<String>)>,
        close: Close,
    ) {
        if self.is_closed() {
            return;
        }
        if let Some((reason, close_message)) = notify {
            if self.phase.channel_open() {
                let close = ControlMessage::CloseConnection {
                    conn: SESSION_CONN,
                    reason,
                    message: close_message,
                };
                self.send_frame(now, CONTROL_CONN, &close.encode());
                self.close_sent = true;
            }
        }
        self.phase = Phase::Closed;
        self.timer = None;
        self.recovery = None;
        self.ping_out = None;
        self.ping_due = None;
        self.local_held.clear();
        self.remote_held.clear();
        self.guac_held.clear();
        self.actions.push_back(Action::ClosePeer);
        let guac = self.guac_error.take();
        self.actions.push_back(Action::Status(Status {
            phase: Phase::Closed,
            message,
            error,
            close: Some(close),
            guac,
        }));
    }

    fn status(&mut self, message: String) {
        self.actions.push_back(Action::Status(Status {
            phase: self.phase,
            message,
            error: None,
            close: None,
            guac: None,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_machine() -> Machine {
        let mut m = Machine::new(Config::new(true, false));
        m.handle(1, Input::OfferSent);
        m.handle(2, Input::OfferAccepted);
        m.handle(
            3,
            Input::Router(RouterEvent::Answer {
                sdp: "v=0\r\n".into(),
            }),
        );
        m.handle(4, Input::ChannelOpen);
        m.take_actions();
        m
    }

    #[test]
    fn close_sent_only_when_our_close_connection_went_out() {
        let mut m = open_machine();
        assert!(!m.close_sent());
        m.handle(5, Input::Disconnect);
        assert!(m.close_sent());
        let a = m.take_actions();
        assert!(matches!(a.first(), Some(Action::Send(_))));
        assert_eq!(a.get(1), Some(&Action::ClosePeer));

        // Before the channel opens: nothing to send, nothing to wait for.
        let mut m = Machine::new(Config::new(true, false));
        m.handle(1, Input::OfferSent);
        m.handle(2, Input::Disconnect);
        assert!(m.is_closed());
        assert!(!m.close_sent());

        // A timeout on the open channel tells the gateway too.
        let mut m = open_machine();
        m.handle(4 + 15_000, Input::Tick);
        assert!(m.is_closed());
        assert!(m.close_sent());

        // The gateway's own CloseConnection: no reply from us.
        let mut m = open_machine();
        let close = ControlMessage::CloseConnection {
            conn: SESSION_CONN,
            reason: CloseReason::Normal,
            message: None,
        };
        let bytes = frame::encode(CONTROL_CONN, 5, &close.encode()).unwrap();
        m.handle(5, Input::ChannelMessage(&bytes));
        assert!(m.is_closed());
        assert!(!m.close_sent());
        // A lost channel: nothing sent either.
        let mut m = open_machine();
        m.handle(5, Input::ChannelClosed);
        assert!(m.is_closed());
        assert!(!m.close_sent());
    }
}
