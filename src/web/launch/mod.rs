//! `launch()`: the WebRTC launch through the Keeper Gateway, in the browser.
//!
//! The decisions are the core's ([`crate::core::tunnel`]): this module is the
//! I/O driver of one [`Machine`]. It owns the `RTCPeerConnection` and its data
//! channel, the caller's `signaling` object, the renderer
//! ([`GuacamoleClient`], mode "gateway") and one timer, turns every event into
//! an [`Input`] and carries out every [`Action`].
//!
//! One event loop per session: events go into a queue and are handled one at a
//! time, each with the actions it produced, so a callback that re-enters (the
//! renderer answering `sync` inside `receive`, a page calling `disconnect()`
//! from `onstatus`) never re-enters the machine; it queues.
//!
//! Here: the session's state ([`State`], [`Shared`]), its event loop (events
//! in, the machine's actions carried out), its one timer and the status
//! events. `peer.rs`: the RTCPeerConnection and the data channel; `signaling.rs`:
//! the caller's `signaling` object; `options.rs`: reading `launch()`'s
//! options; `session.rs`: `launch()` and the `PamSession` class.
//!
//! Nothing here logs. Status messages and errors come from the core, which
//! never quotes a key, a seed, a password, a TURN credential or an SDP; the
//! browser's own error texts (which may quote SDP lines) are reduced to the
//! exception's name.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcDataChannel, RtcPeerConnection};

use crate::core::error::{Error, ErrorCode};
use crate::core::tunnel::offer::OfferParams;
use crate::core::tunnel::{
    Action, Conversation, Input, Machine, PeerState, Phase, RouterEvent, Status,
};

use super::error::to_js_error;
use super::session::GuacamoleClient;

mod options;
mod peer;
mod session;
mod signaling;

pub use session::{launch, PamSession};

/// Above this many bytes in the data channel's buffer, frames wait in our queue.
pub const SEND_HIGH_WATER: u32 = 1 << 20;
/// `bufferedAmountLowThreshold`: the queue drains again below this.
pub const SEND_LOW_WATER: u32 = 256 * 1024;
/// Non-trickle: the longest wait for ICE gathering before the offer goes
/// with the candidates gathered so far (Chromium takes about 150 ms).
pub const DEFAULT_GATHERING_MS: u32 = 5_000;
/// The longest wait, when closing, for queued frames (the final
/// CloseConnection) to leave, for the gateway to close the data channel in
/// answer (Keeper's library: about 100 ms) and for the channel to close.
pub const DEFAULT_CLOSE_DRAIN_MS: u32 = 1_000;
/// The longest wait for `unsubscribe.ready` (an optional promise some
/// `signaling` adapters return, e.g. an event stream that is still connecting).
const SUBSCRIBE_READY_MS: u32 = 3_000;
/// Poll step while draining on close.
const DRAIN_STEP_MS: u32 = 5;
/// Longest caller-side error text quoted in a status.
const MAX_QUOTED: usize = 300;

#[wasm_bindgen(typescript_custom_section)]
const TS_LAUNCH: &str = r#"
/** The GatewayAction a launch hands to `signaling.send` (the router message's payload). */
export interface GatewayAction {
  action: "webrtc-session";
  /** URL-safe base64 without padding. */
  conversationId: string;
  messageId: string;
  /** `start`: the plan's inputs plus base64Nonce and the encrypted offer `data`; later `icecandidate`, `ice_restart_offer`, `ice_restart_answer`. */
  inputs: Record<string, unknown>;
  is_scheduled: false;
  gateway_destination: null;
}

/** The gateway's ControllerResponse, as the router delivers it. */
export interface ControllerResponse {
  is_ok?: boolean;
  isOk?: boolean;
  data?: unknown;
  error?: string;
  errors?: string[];
  progress_status?: string;
  [key: string]: unknown;
}

/** One router websocket message. */
export interface RouterMessage {
  /** URL-safe or standard base64. */
  conversationId: string;
  type?: string;
  /** A ControllerResponse, usually as its JSON text. */
  payload: string | ControllerResponse;
  [key: string]: unknown;
}

/**
 * The boundary to Keeper's router: the web vault, an extension or a test
 * plugs in its own router client (which owns the router's transport
 * encryption and protobuf).
 */
export interface LaunchSignaling {
  /**
   * Posts the GatewayAction to the gateway. Resolves with the gateway's
   * ControllerResponse (object or JSON text); rejects on a router failure
   * (an Error whose `code` is a PamLaunchErrorCode is kept, `name`
   * "TimeoutError"/"AbortError" or `status` 408/504 count as GATEWAY_TIMEOUT).
   * `timeoutMs`: 30000, 120000 for ephemeral launches; `streamResponse` = trickle ICE.
   */
  send(action: GatewayAction, options: { timeoutMs: number; streamResponse: boolean }): Promise<ControllerResponse | string>;
  /**
   * Delivers every router websocket message (an object, an array of them, or
   * their JSON text) to `handler` until the returned function is called.
   * `hint.conversationId` may be used to filter; an optional `ready` promise
   * on the returned function is awaited (at most 3 s) before the offer goes.
   */
  subscribe(
    handler: (message: RouterMessage | RouterMessage[] | string) => void,
    hint?: { conversationId: string },
  ): (() => void) & { ready?: PromiseLike<unknown> };
}

/** The phases of a launch, in order; "closed" ends every launch. */
export type LaunchPhase =
  | "planning"
  | "offerSent"
  | "waitingForGateway"
  | "ice"
  | "channelOpen"
  | "openingConnection"
  | "connectionOpened"
  | "connected"
  | "firstFrame"
  | "closed";

/**
 * Keeper's CloseConnection reasons (camelCase), as `closeReason.name`;
 * "other" for a code this client does not know (the code is kept).
 */
export type CloseReasonName =
  | "normal" | "error" | "timeout" | "serverRefuse" | "client" | "unknown"
  | "invalidInstruction" | "guacdRefuse" | "connectionLost" | "connectionFailed"
  | "tunnelClosed" | "adminClosed" | "errorRecording" | "guacdError" | "aiClosed"
  | "addressResolutionFailed" | "decryptionFailed" | "configurationError"
  | "protocolError" | "upstreamClosed" | "other";

/**
 * Why a launch ended (on every final "closed" status). `source` "gateway":
 * the gateway's CloseConnection; "client": an end this client detected
 * (timeouts -> timeout, ICE failing before the channel -> connectionFailed,
 * the connection lost after the ICE restarts -> connectionLost, the data
 * channel closing -> tunnelClosed, corrupt frames or session stream ->
 * protocolError, a resource limit -> error, a refusal -> serverRefuse, the
 * user's disconnect -> normal). `transient`: a reconnect can be expected to
 * help (timeout, connectionLost, connectionFailed, tunnelClosed, upstreamClosed).
 * `docs/close-reasons.md` has the whole table.
 */
export interface CloseReasonInfo {
  /** The wire code (0 normal ... 20 upstreamClosed; others kept as sent). */
  code: number;
  name: CloseReasonName;
  transient: boolean;
  source: "gateway" | "client";
}

/** A status event. `error` is set when the launch ended in failure. */
export interface LaunchStatus {
  phase: LaunchPhase;
  /** A sentence for a person (for "closed": the reason). Never holds a secret. */
  message: string;
  error?: PamLaunchError;
  /** Phase "closed" only: why it ended. */
  closeReason?: CloseReasonInfo;
  /** Phase "closed" only: guacd's `error` that came before the end (text cleaned: at most 300 characters, no control characters). */
  guacStatus?: { code: number; message: string };
}

/** `session.stats`: live figures of the session (read it as often as you like). */
export interface SessionStats {
  /** Data-channel message bytes received / handed to the channel (frames included). */
  bytesIn: number;
  bytesOut: number;
  /** Frames drawn (`client.framesRendered`). */
  framesRendered: number;
  /** The last round trip of a Ping of ours (every `timeouts.pingMs`), in ms at µs resolution; null before the first Pong. */
  rttMs: number | null;
  /** When that Pong arrived (Unix ms, comparable with Date.now()). */
  rttAt: number | null;
  /** How far the outstanding Ping is past `pingMs` (0 while it is younger); null when none is outstanding. A growing value: the link stalls. */
  pingOverdueMs: number | null;
  /** How long the last `sync` waited between its arrival and our answer (the frame's drawing), ms. */
  syncLagMs: number | null;
  /** Bytes waiting to leave: the channel's bufferedAmount plus the launch's own queue. */
  bufferedAmount: number;
}

/** Milliseconds from `launch()` to each step; null until reached. */
export interface LaunchTimings {
  /** The plan and the peer connection are ready (launch() returned). */
  plan: number | null;
  /** Non-trickle only: ICE gathering complete. */
  gathered: number | null;
  offerSent: number | null;
  /** The gateway's answer arrived. */
  answer: number | null;
  channelOpen: number | null;
  connectionOpened: number | null;
  /** First byte of the session (connection 1): when its data-channel message arrived. */
  firstByte: number | null;
  /** First frame drawn: the first frame that put pixels on the visible display, its images decoded, applied, and composited into the canvas (null when nothing was drawn). */
  firstFrame: number | null;
  closed: number | null;
}

/** Timer overrides, in ms (tests). */
export interface LaunchTimeouts {
  /** Offer sent -> answer (30000; 120000 for ephemeral). */
  answerMs?: number;
  /** Answer -> data channel open (30000). */
  channelMs?: number;
  /** OpenConnection -> ConnectionOpened (15000; 60000 for ephemeral). */
  openMs?: number;
  /** ConnectionOpened -> first byte (15000). */
  firstFrameMs?: number;
  /** Idle time before a keepalive Ping (30000); null or 0: never. */
  keepaliveMs?: number | null;
  /** Round-trip Pings for `session.stats.rttMs`: one every this many ms while the channel is open, at most one outstanding (2000); null or 0: none. They count as traffic for the keepalive. */
  pingMs?: number | null;
  /** Non-trickle: longest wait for ICE gathering (5000). */
  gatheringMs?: number;
  /** On close: longest wait for the last frames to leave and for the gateway to close the channel (1000). */
  closeDrainMs?: number;
  /**
   * Automatic ICE restarts when the connection drops on an open channel:
   * the wait before each attempt, the first counted from `disconnected`
   * ([2000, 5000, 10000, 20000]; at most 4; [] turns them off). Status
   * messages say "reconnecting ... attempt n of N"; the phase stays.
   */
  iceRestartMs?: number[];
  /** After the last ICE restart: how long to wait for `connected` before closing with CONNECTION_LOST (20000). */
  iceRestartGiveUpMs?: number;
}

/** User-supplied credentials (plans with credentialType "userSupplied"), sealed to the gateway's key. */
export interface ConnectAsOptions {
  /** The gateway's P-256 public key (65 or 33 bytes, or their base64). */
  gatewayPublicKey: Uint8Array | ArrayBuffer | string;
  username?: string;
  password?: string;
  private_key?: string;
  passphrase?: string;
  [key: string]: unknown;
}

/** What launch() uses of a data channel (the browser's, node-datachannel's polyfill's, ...). */
export interface RTCDataChannelLike extends EventTarget {
  binaryType: string;
  bufferedAmountLowThreshold: number;
  readonly bufferedAmount: number;
  readonly readyState: string;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(): void;
}

/**
 * What launch() uses of a peer connection: the browser's RTCPeerConnection,
 * node-datachannel's polyfill and a page's wrapper all fit. Events come
 * through addEventListener (icecandidate, icegatheringstatechange,
 * connectionstatechange; open, close, message, bufferedamountlow on the channel).
 */
export interface RTCPeerConnectionLike extends EventTarget {
  readonly connectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: { readonly type: string; readonly sdp: string } | null;
  createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannelLike;
  createOffer(options?: RTCOfferOptions): Promise<RTCSessionDescriptionInit>;
  createAnswer(): Promise<RTCSessionDescriptionInit>;
  setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
  addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void>;
  close(): void;
}

/** An RTCPeerConnection class: `new (configuration) => peer connection`. */
export type RTCPeerConnectionClass = new (configuration?: RTCConfiguration) => RTCPeerConnectionLike;

export interface LaunchOptions {
  /** planLaunch's result, or the request to plan (anything without `inputs`). */
  plan: LaunchPlan | LaunchRequest;
  /** The typed record (trafficEncryptionSeed, pamHostname, clipboard policy); optional when `plan` is a request. */
  record?: TypedRecord;
  signaling: LaunchSignaling;
  /** Passed to RTCPeerConnection as is (STUN/TURN with credentials). */
  iceServers?: RTCIceServer[];
  /**
   * The RTCPeerConnection class to use (default `globalThis.RTCPeerConnection`):
   * node-datachannel's polyfill in Node, a page's own wrapper, a Worker-side
   * proxy. Only its instances' methods and properties are used (SDP and
   * candidates as plain `{ type, sdp }` / `{ candidate, sdpMid, sdpMLineIndex }`).
   * None anywhere: launch() throws UNSUPPORTED.
   */
  RTCPeerConnection?: RTCPeerConnectionClass;
  /**
   * "canvas" (default): draw into `canvas`; "headless": draw nothing, report
   * `oninstruction` and `onframe(frame: HeadlessFrame)`, answer each `sync`
   * as its frame completes (Node runners).
   */
  renderer?: "canvas" | "headless";
  /**
   * Where the session is drawn: an HTMLCanvasElement (its CSS box x
   * devicePixelRatio is the remote size) or an OffscreenCanvas (its bitmap
   * size). Absent, a canvas of `document`; no document: UNSUPPORTED.
   */
  canvas?: HTMLCanvasElement | OffscreenCanvas;
  /** Every Guacamole instruction the server sent, as it arrives. */
  oninstruction?: (opcode: string, args: string[]) => void;
  /** After each frame: the count drawn (canvas), or the HeadlessFrame (headless). Same as `session.onframe`. */
  onframe?: ((framesRendered: number) => void) | ((frame: HeadlessFrame) => void);
  /** Default: plan.inputs.trickleICE. */
  trickleIce?: boolean;
  connectAs?: ConnectAsOptions;
  /** Overrides the record's pamHostname. */
  host?: { hostName: string; port?: number | string };
  timeouts?: LaunchTimeouts;
  onstatus?: (status: LaunchStatus) => void;
  /** Remote display size in device pixels and DPI (default: from the canvas). */
  width?: number;
  height?: number;
  dpi?: number;
  /** Stricter than the record's policy, never looser. */
  disableCopy?: boolean;
  disablePaste?: boolean;
  autoScale?: boolean;
  keypadEnter?: boolean;
  timezone?: string;
  audio?: string[];
  image?: string[];
}
"#;

/// A JS callback of ours (the renderer's `send`, the router subscription).
type Handler = Closure<dyn FnMut(JsValue)>;
/// What a handler does with the session and the event.
type OnEvent = Box<dyn Fn(&Rc<Shared>, &web_sys::Event)>;

/// [`Input`] with owned bytes, for the session's event queue.
enum Ev {
    OfferSent,
    OfferAccepted,
    Router(RouterEvent),
    SignalingFailed(Error),
    RestartOfferSent,
    LocalCandidate(String),
    PeerState(PeerState),
    ChannelOpen,
    /// A message and when it arrived (ms since launch()).
    ChannelMessage(Vec<u8>, f64),
    ChannelClosed,
    SendGuacamole(Vec<u8>),
    Disconnect,
    SessionFailed(Error),
    /// guacd's `error` reached the renderer: its status code and text.
    GuacdError(u32, String),
    Tick,
}

/// One event into the machine, at `now` (the machine's clock in µs).
fn handle(m: &mut Machine, now_us: u64, ev: Ev) {
    let now = now_us;
    match ev {
        Ev::OfferSent => m.handle_us(now, Input::OfferSent),
        Ev::OfferAccepted => m.handle_us(now, Input::OfferAccepted),
        Ev::Router(r) => m.handle_us(now, Input::Router(r)),
        Ev::SignalingFailed(e) => m.handle_us(now, Input::SignalingFailed(e)),
        Ev::RestartOfferSent => m.handle_us(now, Input::RestartOfferSent),
        Ev::LocalCandidate(c) => m.handle_us(now, Input::LocalCandidate(c)),
        Ev::PeerState(s) => m.handle_us(now, Input::PeerState(s)),
        Ev::ChannelOpen => m.handle_us(now, Input::ChannelOpen),
        Ev::ChannelMessage(b, _) => m.handle_us(now, Input::ChannelMessage(&b)),
        Ev::ChannelClosed => m.handle_us(now, Input::ChannelClosed),
        Ev::SendGuacamole(b) => m.handle_us(now, Input::SendGuacamole(&b)),
        Ev::Disconnect => m.handle_us(now, Input::Disconnect),
        Ev::SessionFailed(e) => m.handle_us(now, Input::SessionFailed(e)),
        Ev::GuacdError(code, message) => m.handle_us(now, Input::GuacdError { code, message }),
        Ev::Tick => m.handle_us(now, Input::Tick),
    }
}

/// Milliseconds from `launch()` to each step (`performance.now()`).
#[derive(Default, Clone, Copy)]
struct Timings {
    plan: Option<f64>,
    gathered: Option<f64>,
    offer_sent: Option<f64>,
    answer: Option<f64>,
    channel_open: Option<f64>,
    connection_opened: Option<f64>,
    first_byte: Option<f64>,
    first_frame: Option<f64>,
    closed: Option<f64>,
}

/// A peer-connection operation; they run one after another (a candidate
/// must wait for the answer it belongs to).
enum PcOp {
    Answer(String),
    Candidates(Vec<String>),
    RestartOffer(String),
}

struct State {
    machine: Machine,
    conv: Conversation,
    conversation_type: String,
    trickle: bool,
    offer_params: OfferParams,
    gathering_ms: u32,
    close_drain_ms: u32,
    pc: RtcPeerConnection,
    /// `createOffer()`, called as the peer connection was made.
    early_offer: Option<Promise>,
    dc: RtcDataChannel,
    signaling: JsValue,
    send_fn: Function,
    subscribe_fn: Function,
    unsubscribe: Option<Function>,
    client_js: JsValue,
    onstatus: Option<Function>,
    onframe: Option<Function>,
    /// The renderer is headless: `onframe` gets the frame's object.
    headless: bool,
    status: JsValue,
    timings: Timings,
    send_queue: VecDeque<Vec<u8>>,
    /// Bytes in `send_queue`.
    send_queue_bytes: usize,
    /// The queue went past its limit: it is dropped, later frames go straight out.
    queue_overflowed: bool,
    pc_ops: VecDeque<PcOp>,
    pc_busy: bool,
    /// The armed timer (gloo-timers: the global `setTimeout`, so a Window,
    /// a Worker and Node alike; cleared when dropped) and the deadline
    /// (machine clock) it fires for.
    timer: Option<(Timeout, u64)>,
    /// ClosePeer seen: the peer is being closed.
    closing: bool,
    /// The data channel and peer connection are closed and the handlers gone.
    torn_down: bool,
    /// The final status, held until the peer is closed.
    held: Vec<Status>,
    end_of_candidates: bool,
    first_frame_seen: bool,
    gather_waiters: Vec<Function>,
    /// Resolved when the data channel's `close` event fires.
    close_waiters: Vec<Function>,
    closed_resolve: Option<Function>,
    closed_promise: Promise,
    /// The peer connection's and data channel's listeners (gloo-events).
    handlers: Vec<gloo_events::EventListener>,
    /// Data-channel message bytes received and handed to the channel (frames included).
    bytes_in: u64,
    bytes_out: u64,
}

impl Drop for State {
    fn drop(&mut self) {
        if !self.torn_down {
            self.handlers.clear();
            self.dc.close();
            self.pc.close();
            if let Some(u) = self.unsubscribe.take() {
                let _ = u.call0(&JsValue::NULL);
            }
        }
        drop(self.timer.take());
    }
}

struct Shared {
    /// `performance.now()` at `launch()`.
    t0: f64,
    pending: RefCell<VecDeque<Ev>>,
    /// The event loop is running (or not started yet).
    running: Cell<bool>,
    /// When the data-channel message being handled arrived (ms since launch()).
    arrived: Cell<f64>,
    st: RefCell<State>,
    /// The renderer, outside `st`: its methods call back into the session
    /// (its output, focus events), so no borrow of `st` may be held then.
    client: RefCell<Option<Rc<GuacamoleClient>>>,
}

/// Monotonic ms (`performance.now()`): timings and waits.
fn perf_now() -> f64 {
    crate::web::clock::monotonic_ms()
}

/// The machine's clock, for its deadlines and the frames' timestamps alike:
/// monotonic (`performance.timeOrigin + performance.now()`), so a system
/// clock that is set back or forward moves no deadline, and on the Unix ms
/// scale the gateway expects in a frame.
fn unix_ms() -> u64 {
    crate::web::clock::epoch_ms().max(0.0) as u64
}

/// [`unix_ms`] in microseconds (the machine's clock for its round trips).
fn unix_us() -> u64 {
    (crate::web::clock::epoch_ms().max(0.0) * 1000.0) as u64
}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> Option<R> {
        self.st.try_borrow_mut().ok().map(|mut s| f(&mut s))
    }

    fn since_launch(&self) -> f64 {
        ((perf_now() - self.t0) * 10.0).round() / 10.0
    }

    fn mark(&self, pick: impl FnOnce(&mut Timings) -> &mut Option<f64>) {
        let t = self.since_launch();
        self.with(|s| {
            let slot = pick(&mut s.timings);
            if slot.is_none() {
                *slot = Some(t);
            }
        });
    }

    /// Queues an event and runs the loop (unless it is already running).
    fn push(self: &Rc<Self>, ev: Ev) {
        if let Ok(mut q) = self.pending.try_borrow_mut() {
            q.push_back(ev);
        }
        self.run();
    }

    fn run(self: &Rc<Self>) {
        if self.running.get() {
            return;
        }
        self.running.set(true);
        loop {
            if let Some(a) = self.with(|s| s.machine.poll_action()).flatten() {
                self.execute(a);
                continue;
            }
            let ev = self
                .pending
                .try_borrow_mut()
                .ok()
                .and_then(|mut q| q.pop_front());
            let Some(ev) = ev else { break };
            if let Ev::ChannelMessage(_, at) = &ev {
                self.arrived.set(*at);
            }
            let now = unix_us();
            self.with(|s| handle(&mut s.machine, now, ev));
        }
        self.running.set(false);
        self.rearm_timer();
    }

    /// One timer, armed for the machine's next deadline (an earlier armed
    /// timer is kept: its Tick re-arms).
    fn rearm_timer(self: &Rc<Self>) {
        let Some((deadline, armed)) = self.with(|s| {
            (
                s.machine.next_deadline(),
                s.timer.as_ref().map(|(_, at)| *at),
            )
        }) else {
            return;
        };
        match (deadline, armed) {
            (None, Some(_)) => {
                let old = self.with(|s| s.timer.take());
                drop(old);
            }
            (Some(d), Some(at)) if at <= d => {}
            (Some(d), _) => {
                let delay = d.saturating_sub(unix_ms()).min(i32::MAX as u64) as u32;
                let weak = Rc::downgrade(self);
                let timeout = Timeout::new(delay, move || {
                    if let Some(me) = weak.upgrade() {
                        let fired = me.with(|s| s.timer.take());
                        me.push(Ev::Tick);
                        drop(fired);
                    }
                });
                let old = self.with(|s| s.timer.replace((timeout, d)));
                drop(old);
            }
            (None, None) => {}
        }
    }

    fn execute(self: &Rc<Self>, action: Action) {
        match action {
            Action::Status(s) => self.on_status(s),
            Action::SendCandidates(list) => {
                let req = self
                    .with(|s| random_bytes::<12>().and_then(|n| s.conv.ice_candidates(&list, &n)));
                if let Some(Ok(req)) = req {
                    self.signal(req, false);
                }
            }
            Action::SetRemoteAnswer(sdp) => {
                self.mark(|t| &mut t.answer);
                self.pc_op(PcOp::Answer(sdp));
            }
            Action::AddRemoteCandidates(list) => self.pc_op(PcOp::Candidates(list)),
            Action::AnswerRestartOffer(sdp) => self.pc_op(PcOp::RestartOffer(sdp)),
            Action::Send(bytes) => self.send_bytes(bytes),
            Action::Guacamole(bytes) => {
                // When the message arrived, not now: the statuses before it
                // (connected) run the page's onstatus first.
                let at = self.arrived.get();
                self.with(|s| {
                    s.timings.first_byte.get_or_insert(at);
                });
                if let Some(c) = self.renderer() {
                    if let Err(e) = c.receive(&bytes) {
                        self.push(Ev::SessionFailed(renderer_error(&e)));
                    }
                }
            }
            Action::ClosePeer => self.close_peer(),
            Action::RestartIce => {
                let me = self.clone();
                // A failed attempt is left to the machine: the next one follows.
                spawn_local(async move {
                    let _ = me.restart_ice().await;
                });
            }
        }
    }

    fn renderer(&self) -> Option<Rc<GuacamoleClient>> {
        self.client.try_borrow().ok().and_then(|c| c.clone())
    }

    fn on_status(self: &Rc<Self>, status: Status) {
        if status.phase == Phase::Closed {
            let hold = self
                .with(|s| {
                    if s.closing && !s.torn_down {
                        s.held.push(status.clone());
                        true
                    } else {
                        false
                    }
                })
                .unwrap_or(false);
            if hold {
                return;
            }
        }
        let extra = status_extra(&status);
        self.emit_with(status.phase.as_str(), &status.message, status.error, extra);
    }

    fn emit(self: &Rc<Self>, phase: &str, message: &str, error: Option<Error>) {
        self.emit_with(phase, message, error, Vec::new());
    }

    /// A status object `{ phase, message, error?, closeReason?, guacStatus? }`
    /// (`extra`: the last two) to `onstatus`, `session.status` and, for
    /// "closed", `session.closed`.
    fn emit_with(
        self: &Rc<Self>,
        phase: &str,
        message: &str,
        error: Option<Error>,
        extra: Vec<(&'static str, JsValue)>,
    ) {
        match phase {
            "offerSent" => self.mark(|t| &mut t.offer_sent),
            "channelOpen" => self.mark(|t| &mut t.channel_open),
            "connectionOpened" => self.mark(|t| &mut t.connection_opened),
            "firstFrame" => self.mark(|t| &mut t.first_frame),
            "closed" => self.mark(|t| &mut t.closed),
            _ => {}
        }
        let obj = Object::new();
        let _ = Reflect::set(&obj, &"phase".into(), &phase.into());
        let _ = Reflect::set(&obj, &"message".into(), &message.into());
        if let Some(e) = error {
            let _ = Reflect::set(&obj, &"error".into(), &to_js_error(e));
        }
        for (k, v) in extra {
            let _ = Reflect::set(&obj, &k.into(), &v);
        }
        let obj: JsValue = obj.into();
        let (cb, resolve, unsub) = self
            .with(|s| {
                s.status = obj.clone();
                let closed = phase == "closed";
                (
                    s.onstatus.clone(),
                    if closed {
                        s.closed_resolve.take()
                    } else {
                        None
                    },
                    if closed { s.unsubscribe.take() } else { None },
                )
            })
            .unwrap_or((None, None, None));
        if let Some(u) = unsub {
            let _ = u.call0(&JsValue::NULL);
        }
        if let Some(f) = cb {
            let _ = f.call1(&JsValue::NULL, &obj);
        }
        if let Some(r) = resolve {
            let _ = r.call1(&JsValue::NULL, &obj);
        }
    }

    /// The renderer drew a frame. The first one that put pixels on the
    /// visible display is the first frame: an empty `sync` (guacd sends one
    /// before an `error` such as 519 "SSL/TLS connection failed") is not.
    fn on_frame(self: &Rc<Self>, info: crate::web::session::FrameInfo) {
        let painted = info.painted;
        let first = self
            .with(|s| {
                let first = painted && !s.first_frame_seen && !s.machine.is_closed();
                s.first_frame_seen |= painted;
                first
            })
            .unwrap_or(false);
        if first {
            self.emit("firstFrame", "first frame drawn", None);
        }
        if let Some((Some(f), headless)) = self.with(|s| (s.onframe.clone(), s.headless)) {
            let arg = if headless {
                info.to_js()
            } else {
                JsValue::from(info.frame as f64)
            };
            let _ = f.call1(&JsValue::NULL, &arg);
        }
    }

    // ---------------------------------------------------------------- the start

    async fn start(self: Rc<Self>) {
        // The loop was held so that `onstatus`, set right after launch(),
        // sees "planning" too.
        self.running.set(false);
        self.run();
        if self.is_closed() {
            // disconnect() came before the launch started.
            return;
        }
        let ready = match self.subscribe() {
            Ok(r) => r,
            Err(e) => {
                self.push(Ev::SignalingFailed(e));
                return;
            }
        };
        if let Err(e) = self.offer(ready).await {
            self.push(Ev::SignalingFailed(e));
        }
    }

    fn is_closed(&self) -> bool {
        self.with(|s| s.machine.is_closed()).unwrap_or(true)
    }
}

/// `closeReason` and `guacStatus` of a final status, as JS objects.
fn status_extra(status: &Status) -> Vec<(&'static str, JsValue)> {
    let mut out = Vec::new();
    let set = |o: &Object, k: &str, v: JsValue| {
        let _ = Reflect::set(o, &k.into(), &v);
    };
    if let Some(c) = status.close {
        let o = Object::new();
        set(&o, "code", c.reason.code().into());
        set(&o, "name", c.reason.js_name().into());
        set(&o, "transient", c.transient().into());
        set(&o, "source", c.source.as_str().into());
        out.push(("closeReason", o.into()));
    }
    if let Some(g) = &status.guac {
        let o = Object::new();
        set(&o, "code", g.code.into());
        set(&o, "message", g.message.as_str().into());
        out.push(("guacStatus", o.into()));
    }
    out
}

/// The renderer's error (a parse error of the session stream, its code and
/// text from the core parser, or `RESOURCE_LIMIT` with the sentence naming
/// the limit: no session content) as a launch error.
fn renderer_error(e: &JsValue) -> Error {
    let detail = Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    // GuacamoleClient.receive throws a PamLaunchError with the parser's code.
    let code = Reflect::get(e, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
        .and_then(|c| ErrorCode::ALL.into_iter().find(|k| k.as_str() == c))
        .unwrap_or(ErrorCode::MalformedInstruction);
    let detail: String = detail.chars().take(MAX_QUOTED).collect();
    if code == ErrorCode::ResourceLimit {
        // The core's sentence names the limit and its number.
        return Error::new(code, detail);
    }
    Error::new(
        code,
        if detail.is_empty() {
            "the session stream from the gateway is not valid Guacamole: the session was closed"
                .to_owned()
        } else {
            format!(
                "the session stream from the gateway is not valid Guacamole ({detail}): the session was closed"
            )
        },
    )
}

/// Gives `p` a rejection handler, so that a promise nobody awaits in the end
/// (a launch that stops before the offer) leaves no unhandled rejection; an
/// `await` of `p` still sees the rejection.
fn mark_handled(p: &Promise) {
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {}).into_js_value();
    if let Some(catch) = Reflect::get(p, &"catch".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    {
        let _ = catch.call1(p, &noop);
    }
}

/// A promise resolved after `ms` (gloo-timers: any global scope).
fn sleep_promise(ms: u32) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        sleep(ms).await;
        Ok(JsValue::UNDEFINED)
    })
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms.min(i32::MAX as u32)).await;
}

/// `crypto.getRandomValues` of the global object (browsers, workers, Node 20).
fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let missing = || {
        Error::invalid_input(
            "this environment has no crypto.getRandomValues: a launch needs a secure random source",
        )
    };
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).map_err(|_| missing())?;
    let f: Function = Reflect::get(&crypto, &"getRandomValues".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(missing)?;
    let arr = Uint8Array::new_with_length(N as u32);
    f.call1(&crypto, &arr).map_err(|_| missing())?;
    let mut out = [0u8; N];
    arr.copy_to(&mut out);
    Ok(out)
}

/// The `name` of a thrown value (`NotSupportedError`, `OperationError`, ...):
/// the browser's message may quote the SDP.
fn exception_name(e: &JsValue) -> String {
    Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Error".into())
}

/// The message of a caller-side error (the caller's router client), clipped.
fn quoted_message(e: &JsValue) -> String {
    let text = Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| exception_name(e));
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_QUOTED)
        .collect();
    if text.chars().count() > MAX_QUOTED {
        out.push('…');
    }
    out
}
