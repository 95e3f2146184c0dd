//! `launch()`: the WebRTC launch through the Keeper Gateway, in the browser.
//!
//! The decisions are the core's ([`crate::core::tunnel`]): this file is the
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
//! Nothing here logs. Status messages and errors come from the core, which
//! never quotes a key, a seed, a password, a TURN credential or an SDP; the
//! browser's own error texts (which may quote SDP lines) are reduced to the
//! exception's name.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use js_sys::{Array, Date, Function, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    HtmlCanvasElement, MessageEvent, RtcDataChannel, RtcDataChannelInit, RtcDataChannelType,
    RtcIceCandidateInit, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcSdpType,
    RtcSessionDescriptionInit,
};

use crate::core::api;
use crate::core::dag::decode_base64;
use crate::core::error::{Error, ErrorCode};
use crate::core::plan;
use crate::core::record;
use crate::core::tunnel::connect_as::{self, ConnectAsUser};
use crate::core::tunnel::conversation::{GatewayRequest, LaunchRandom};
use crate::core::tunnel::crypto::RANDOM_SEED_LEN;
use crate::core::tunnel::offer::{self, OfferParams, ScreenSize};
use crate::core::tunnel::state::{Config, IceRestarts, MAX_ICE_RESTARTS};
use crate::core::tunnel::{
    Action, Conversation, Input, Machine, PeerState, Phase, RouterEvent, Status,
};
use crate::core::wire::{CredentialType, GatewayInputs};

use super::convert::{bytes_of, split_request, to_js, to_json};
use super::error::to_js_error;
use super::session::GuacamoleClient;

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

/** A status event. `error` is set when the launch ended in failure. */
export interface LaunchStatus {
  phase: LaunchPhase;
  /** A sentence for a person (for "closed": the reason). Never holds a secret. */
  message: string;
  error?: PamLaunchError;
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
  /** First frame drawn: its images decoded, applied, and composited into the canvas. */
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

export interface LaunchOptions {
  /** planLaunch's result, or the request to plan (anything without `inputs`). */
  plan: LaunchPlan | LaunchRequest;
  /** The typed record (trafficEncryptionSeed, pamHostname, clipboard policy); optional when `plan` is a request. */
  record?: TypedRecord;
  signaling: LaunchSignaling;
  /** Passed to RTCPeerConnection as is (STUN/TURN with credentials). */
  iceServers?: RTCIceServer[];
  /** Where the session is drawn; its CSS box x devicePixelRatio is the remote size. */
  canvas?: HTMLCanvasElement;
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

type Handler = Closure<dyn FnMut(JsValue)>;
/// What a handler does with the session and the event.
type OnEvent = Box<dyn Fn(&Rc<Shared>, JsValue)>;

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
    Tick,
}

fn handle(m: &mut Machine, now: u64, ev: Ev) {
    match ev {
        Ev::OfferSent => m.handle(now, Input::OfferSent),
        Ev::OfferAccepted => m.handle(now, Input::OfferAccepted),
        Ev::Router(r) => m.handle(now, Input::Router(r)),
        Ev::SignalingFailed(e) => m.handle(now, Input::SignalingFailed(e)),
        Ev::RestartOfferSent => m.handle(now, Input::RestartOfferSent),
        Ev::LocalCandidate(c) => m.handle(now, Input::LocalCandidate(c)),
        Ev::PeerState(s) => m.handle(now, Input::PeerState(s)),
        Ev::ChannelOpen => m.handle(now, Input::ChannelOpen),
        Ev::ChannelMessage(b, _) => m.handle(now, Input::ChannelMessage(&b)),
        Ev::ChannelClosed => m.handle(now, Input::ChannelClosed),
        Ev::SendGuacamole(b) => m.handle(now, Input::SendGuacamole(&b)),
        Ev::Disconnect => m.handle(now, Input::Disconnect),
        Ev::SessionFailed(e) => m.handle(now, Input::SessionFailed(e)),
        Ev::Tick => m.handle(now, Input::Tick),
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
    /// `setTimeout` callback feeding Tick.
    tick_fn: Option<Function>,
    onstatus: Option<Function>,
    onframe: Option<Function>,
    status: JsValue,
    timings: Timings,
    send_queue: VecDeque<Vec<u8>>,
    pc_ops: VecDeque<PcOp>,
    pc_busy: bool,
    /// The armed timer: its handle and the deadline (Unix ms) it fires for.
    timer: Option<(i32, u64)>,
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
    handlers: Vec<Handler>,
}

impl Drop for State {
    fn drop(&mut self) {
        if !self.torn_down {
            detach_handlers(&self.pc, &self.dc);
            self.dc.close();
            self.pc.close();
            if let Some(u) = self.unsubscribe.take() {
                let _ = u.call0(&JsValue::NULL);
            }
        }
        if let (Some((h, _)), Some(w)) = (self.timer.take(), web_sys::window()) {
            w.clear_timeout_with_handle(h);
        }
    }
}

fn detach_handlers(pc: &RtcPeerConnection, dc: &RtcDataChannel) {
    pc.set_onicecandidate(None);
    pc.set_onicegatheringstatechange(None);
    pc.set_onconnectionstatechange(None);
    dc.set_onopen(None);
    dc.set_onclose(None);
    dc.set_onmessage(None);
    dc.set_onbufferedamountlow(None);
    dc.set_onerror(None);
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

fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(Date::now, |p| p.now())
}

/// The machine's clock: Unix ms (frame timestamps and deadlines alike).
fn unix_ms() -> u64 {
    Date::now().max(0.0) as u64
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
            let now = unix_ms();
            self.with(|s| handle(&mut s.machine, now, ev));
        }
        self.running.set(false);
        self.rearm_timer();
    }

    /// One timer, armed for the machine's next deadline (an earlier armed
    /// timer is kept: its Tick re-arms).
    fn rearm_timer(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let (deadline, armed) = match self.with(|s| (s.machine.next_deadline(), s.timer)) {
            Some(v) => v,
            None => return,
        };
        match (deadline, armed) {
            (None, Some((h, _))) => {
                window.clear_timeout_with_handle(h);
                self.with(|s| s.timer = None);
            }
            (Some(d), Some((_, at))) if at <= d => {}
            (Some(d), armed) => {
                if let Some((h, _)) = armed {
                    window.clear_timeout_with_handle(h);
                }
                let delay = d.saturating_sub(unix_ms()).min(i32::MAX as u64) as i32;
                let Some(Some(f)) = self.with(|s| s.tick_fn.clone()) else {
                    return;
                };
                let handle = window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&f, delay)
                    .ok();
                self.with(|s| s.timer = handle.map(|h| (h, d)));
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
        self.emit(status.phase.as_str(), &status.message, status.error);
    }

    fn emit(self: &Rc<Self>, phase: &str, message: &str, error: Option<Error>) {
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

    /// The renderer drew a frame.
    fn on_frame(self: &Rc<Self>, count: JsValue) {
        let first = self
            .with(|s| {
                let first = !s.first_frame_seen && !s.machine.is_closed();
                s.first_frame_seen = true;
                first
            })
            .unwrap_or(false);
        if first {
            self.emit("firstFrame", "first frame drawn", None);
        }
        if let Some(Some(f)) = self.with(|s| s.onframe.clone()) {
            let _ = f.call1(&JsValue::NULL, &count);
        }
    }

    // ---------------------------------------------------------------- data channel

    fn send_bytes(self: &Rc<Self>, bytes: Vec<u8>) {
        let Some(dc) = self.with(|s| {
            if s.send_queue.is_empty() {
                Some(s.dc.clone())
            } else {
                s.send_queue.push_back(bytes.clone());
                None
            }
        }) else {
            return;
        };
        if let Some(dc) = dc {
            if dc.buffered_amount() > SEND_HIGH_WATER {
                self.with(|s| s.send_queue.push_back(bytes));
            } else {
                // A channel that is closing refuses: the machine hears of the close.
                let _ = dc.send_with_u8_array(&bytes);
            }
        }
    }

    /// Sends queued frames while the channel's buffer is below the high water mark.
    fn flush_queue(self: &Rc<Self>) {
        loop {
            let next = self.with(|s| {
                if s.dc.buffered_amount() > SEND_HIGH_WATER {
                    return None;
                }
                s.send_queue.pop_front().map(|b| (s.dc.clone(), b))
            });
            let Some(Some((dc, bytes))) = next else {
                return;
            };
            if dc.send_with_u8_array(&bytes).is_err() {
                self.with(|s| s.send_queue.clear());
                return;
            }
        }
    }

    /// ClosePeer: let queued frames (a final CloseConnection) leave and the
    /// channel's buffer drain; when our CloseConnection went out, wait for the
    /// gateway to close the channel (Keeper's library closes the whole tube on
    /// it, and Chromium sees the channel close about 100 ms later; a peer
    /// connection closed before that makes the library report the session as
    /// failed, `critical_upstream_closed`, instead of `normal_exit`). Then close
    /// the data channel (its pending messages are still sent) and wait for it
    /// to close, and close the peer connection. All of it bounded by
    /// `close_drain_ms` (a gateway that never closes the channel cannot hold
    /// the session); then the held final status is reported.
    fn close_peer(self: &Rc<Self>) {
        let start = self
            .with(|s| {
                let first = !s.closing;
                s.closing = true;
                first
            })
            .unwrap_or(false);
        if !start {
            return;
        }
        let me = self.clone();
        spawn_local(async move {
            let Some((dc, pc, drain_ms, gateway_closes)) = me.with(|s| {
                (
                    s.dc.clone(),
                    s.pc.clone(),
                    s.close_drain_ms,
                    s.machine.close_sent(),
                )
            }) else {
                return;
            };
            let until = perf_now() + f64::from(drain_ms);
            let left = || (until - perf_now()).max(0.0);
            let open = |dc: &RtcDataChannel| ready_state(dc) == "open";
            while open(&dc) && left() > 0.0 {
                me.flush_queue();
                let queued = me.with(|s| s.send_queue.len()).unwrap_or(0);
                if queued == 0 && dc.buffered_amount() == 0 {
                    break;
                }
                sleep(DRAIN_STEP_MS).await;
            }
            if gateway_closes && ready_state(&dc) != "closed" && left() > 0.0 {
                me.wait_channel_closed(left()).await;
            }
            let was_open = open(&dc);
            dc.close();
            if was_open && ready_state(&dc) != "closed" && left() > 0.0 {
                me.wait_channel_closed(left()).await;
            }
            detach_handlers(&pc, &dc);
            pc.close();
            let (held, unsub, timer) = me
                .with(|s| {
                    s.torn_down = true;
                    s.send_queue.clear();
                    s.close_waiters.clear();
                    (
                        std::mem::take(&mut s.held),
                        s.unsubscribe.take(),
                        s.timer.take(),
                    )
                })
                .unwrap_or_default();
            if let (Some((h, _)), Some(w)) = (timer, web_sys::window()) {
                w.clear_timeout_with_handle(h);
            }
            if let Some(u) = unsub {
                let _ = u.call0(&JsValue::NULL);
            }
            for s in held {
                me.emit(s.phase.as_str(), &s.message, s.error);
            }
        });
    }

    /// Resolves when the data channel's `close` event fires, or after `ms`.
    async fn wait_channel_closed(self: &Rc<Self>, ms: f64) {
        let me = self.clone();
        let done = Promise::new(&mut |resolve, _| {
            me.with(|s| s.close_waiters.push(resolve));
        });
        let ms = ms.ceil().min(f64::from(u32::MAX)) as u32;
        let _ = JsFuture::from(Promise::race(&Array::of2(&done, &sleep_promise(ms)))).await;
    }

    fn channel_closed(&self) {
        let waiters = self
            .with(|s| std::mem::take(&mut s.close_waiters))
            .unwrap_or_default();
        for w in waiters {
            let _ = w.call0(&JsValue::NULL);
        }
    }

    // ---------------------------------------------------------------- peer connection

    fn pc_op(self: &Rc<Self>, op: PcOp) {
        let start = self
            .with(|s| {
                s.pc_ops.push_back(op);
                let start = !s.pc_busy;
                s.pc_busy = true;
                start
            })
            .unwrap_or(false);
        if !start {
            return;
        }
        let me = self.clone();
        spawn_local(async move {
            loop {
                let next = me
                    .with(|s| {
                        let op = s.pc_ops.pop_front();
                        if op.is_none() {
                            s.pc_busy = false;
                        }
                        op.map(|op| (op, s.pc.clone(), s.torn_down))
                    })
                    .flatten();
                let Some((op, pc, torn_down)) = next else {
                    return;
                };
                if torn_down {
                    continue;
                }
                me.run_pc_op(&pc, op).await;
            }
        });
    }

    async fn run_pc_op(self: &Rc<Self>, pc: &RtcPeerConnection, op: PcOp) {
        match op {
            PcOp::Answer(sdp) => {
                let init = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
                init.set_sdp(&sdp);
                if let Err(e) = JsFuture::from(pc.set_remote_description(&init)).await {
                    self.push(Ev::SignalingFailed(Error::new(
                        ErrorCode::InvalidSignalingMessage,
                        format!(
                            "the browser rejected the gateway's SDP answer ({}): the gateway and this browser cannot agree on a data channel",
                            exception_name(&e)
                        ),
                    )));
                }
            }
            PcOp::Candidates(list) => {
                for c in list {
                    let c = c.trim();
                    let c = c.strip_prefix("a=").unwrap_or(c);
                    let init = RtcIceCandidateInit::new(c);
                    init.set_sdp_mid(Some("0"));
                    init.set_sdp_m_line_index(Some(0));
                    // A candidate the browser cannot use is skipped; ICE goes on
                    // with the others (the channel timeout reports a failure).
                    let _ = JsFuture::from(
                        pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)),
                    )
                    .await;
                }
            }
            PcOp::RestartOffer(sdp) => {
                let init = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
                init.set_sdp(&sdp);
                let result: Result<(), JsValue> = async {
                    JsFuture::from(pc.set_remote_description(&init)).await?;
                    let answer = JsFuture::from(pc.create_answer()).await?;
                    JsFuture::from(pc.set_local_description(answer.unchecked_ref())).await?;
                    Ok(())
                }
                .await;
                if result.is_err() {
                    // The current path stays up; nothing else to do.
                    return;
                }
                self.wait_gathering(true).await;
                let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
                let req = self.with(|s| {
                    random_bytes::<12>().and_then(|n| s.conv.ice_restart_answer(&sdp, &n))
                });
                if let Some(Ok(req)) = req {
                    self.signal(req, false);
                }
            }
        }
    }

    /// Resolves when ICE gathering is complete, or after `gathering_ms`.
    /// `restart`: right after an ICE restart's setLocalDescription the state
    /// still says "complete" (of the old generation) until the browser starts
    /// gathering again, so only the next completion counts.
    async fn wait_gathering(self: &Rc<Self>, restart: bool) {
        let Some((pc, ms)) = self.with(|s| (s.pc.clone(), s.gathering_ms)) else {
            return;
        };
        if !restart && gathering_state(&pc) == "complete" {
            return;
        }
        let me = self.clone();
        let done = Promise::new(&mut |resolve, _| {
            me.with(|s| s.gather_waiters.push(resolve));
        });
        let _ = JsFuture::from(Promise::race(&Array::of2(&done, &sleep_promise(ms)))).await;
    }

    fn gathering_done(&self) {
        let waiters = self
            .with(|s| std::mem::take(&mut s.gather_waiters))
            .unwrap_or_default();
        for w in waiters {
            let _ = w.call0(&JsValue::NULL);
        }
    }

    // ---------------------------------------------------------------- signaling

    /// Calls `signaling.send(action, { timeoutMs, streamResponse })`. For the
    /// `start` message (`start`), its outcome drives the launch; for the
    /// others, events in the reply are used and failures are left to the
    /// timers (a lost candidate message is not the end of a launch).
    fn signal(self: &Rc<Self>, req: GatewayRequest, start: bool) {
        let Some((signaling, send_fn)) = self.with(|s| (s.signaling.clone(), s.send_fn.clone()))
        else {
            return;
        };
        let Ok(action) = to_js(&req.action) else {
            if start {
                self.push(Ev::SignalingFailed(Error::invalid_input(
                    "the launch request could not be handed to JavaScript",
                )));
            }
            return;
        };
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"timeoutMs".into(), &(req.timeout_ms as f64).into());
        let _ = Reflect::set(&opts, &"streamResponse".into(), &req.stream_response.into());
        if start {
            self.push(Ev::OfferSent);
        }
        let called = send_fn.call2(&signaling, &action, &opts);
        // Weak: a router that never answers must not keep the session alive.
        let weak = Rc::downgrade(self);
        spawn_local(async move {
            let result = match called {
                Ok(v) => JsFuture::from(Promise::resolve(&v)).await,
                Err(e) => Err(e),
            };
            let Some(me) = weak.upgrade() else {
                return;
            };
            let read = match result {
                Ok(v) => to_json(&v).and_then(|json| {
                    me.with(|s| s.conv.read_response(&json))
                        .unwrap_or_else(|| Ok(Vec::new()))
                }),
                Err(e) => Err(rejection_error(&e)),
            };
            match (read, start) {
                (Ok(events), _) => {
                    if start {
                        me.push(Ev::OfferAccepted);
                    }
                    for ev in events {
                        me.push(Ev::Router(ev));
                    }
                }
                (Err(e), true) => me.push(Ev::SignalingFailed(e)),
                (Err(_), false) => {}
            }
        });
    }

    /// A router websocket message from `signaling.subscribe`.
    fn on_ws_message(self: &Rc<Self>, msg: JsValue) {
        let json = match to_json(&msg) {
            Ok(j) => j,
            Err(_) => return,
        };
        let read = self.with(|s| api::launch_ws_events(&s.conv, &json));
        match read {
            Some(Ok(events)) => {
                for ev in events {
                    self.push(Ev::Router(ev));
                }
            }
            Some(Err(e)) => self.push(Ev::SignalingFailed(e)),
            None => {}
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

    /// Calls `signaling.subscribe(handler, { conversationId })`; returns the
    /// optional `ready` promise of the unsubscribe function, awaited (bounded)
    /// just before the offer goes, so that it overlaps the offer's creation.
    fn subscribe(self: &Rc<Self>) -> Result<Option<Promise>, Error> {
        let Some((signaling, subscribe_fn, id)) = self.with(|s| {
            (
                s.signaling.clone(),
                s.subscribe_fn.clone(),
                s.conv.id().id(),
            )
        }) else {
            return Ok(None);
        };
        let weak = Rc::downgrade(self);
        let handler: Handler = Closure::new(move |msg: JsValue| {
            if let Some(me) = weak.upgrade() {
                me.on_ws_message(msg);
            }
        });
        let hint = Object::new();
        let _ = Reflect::set(&hint, &"conversationId".into(), &id.into());
        // Owned by JavaScript from here: an adapter that calls it after the
        // session is gone reaches a no-op, not a dropped closure.
        let handler = handler.into_js_value();
        let result = subscribe_fn.call2(&signaling, &handler, &hint);
        let unsub = result.map_err(|e| {
            Error::invalid_input(format!(
                "signaling.subscribe(handler) threw: {}",
                quoted_message(&e)
            ))
        })?;
        let ready = Reflect::get(&unsub, &"ready".into()).unwrap_or(JsValue::UNDEFINED);
        if let Ok(f) = unsub.dyn_into::<Function>() {
            let closed = self
                .with(|s| {
                    if s.machine.is_closed() {
                        true
                    } else {
                        s.unsubscribe = Some(f.clone());
                        false
                    }
                })
                .unwrap_or(true);
            if closed {
                let _ = f.call0(&JsValue::NULL);
            }
        }
        let thenable = ready.is_object()
            && Reflect::get(&ready, &"then".into()).is_ok_and(|t| t.is_function());
        Ok(thenable.then(|| Promise::resolve(&ready)))
    }

    fn is_closed(&self) -> bool {
        self.with(|s| s.machine.is_closed()).unwrap_or(true)
    }

    async fn offer(self: &Rc<Self>, subscribed: Option<Promise>) -> Result<(), Error> {
        let Some((pc, trickle, early)) =
            self.with(|s| (s.pc.clone(), s.trickle, s.early_offer.take()))
        else {
            return Ok(());
        };
        let browser = |what: &str, e: JsValue| {
            Error::new(
                ErrorCode::ConnectionLost,
                format!(
                    "the browser could not {what} ({}): WebRTC may be disabled in this browser",
                    exception_name(&e)
                ),
            )
        };
        let offer = JsFuture::from(early.unwrap_or_else(|| pc.create_offer()))
            .await
            .map_err(|e| browser("create a WebRTC offer", e))?;
        if self.is_closed() {
            return Ok(());
        }
        JsFuture::from(pc.set_local_description(offer.unchecked_ref()))
            .await
            .map_err(|e| browser("apply its WebRTC offer", e))?;
        if !trickle {
            self.wait_gathering(false).await;
            self.mark(|t| &mut t.gathered);
        }
        if let Some(ready) = subscribed {
            let _ = JsFuture::from(Promise::race(&Array::of2(
                &ready,
                &sleep_promise(SUBSCRIBE_READY_MS),
            )))
            .await;
        }
        if self.is_closed() {
            return Ok(());
        }
        let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
        let req = self
            .with(|s| {
                let data = offer::offer_data(&sdp, &s.conversation_type, &s.offer_params)?;
                s.conv.start(&data, &random_bytes::<12>()?)
            })
            .unwrap_or_else(|| Err(Error::invalid_input("the session is busy")))?;
        self.signal(req, true);
        Ok(())
    }

    /// Client-side ICE restart: a new offer with `iceRestart`, its candidates
    /// gathered into the SDP, sent as `ice_restart_offer`.
    async fn restart_ice(self: &Rc<Self>) -> Result<(), Error> {
        let Some((pc, closed)) = self.with(|s| (s.pc.clone(), s.machine.is_closed())) else {
            return Ok(());
        };
        if closed {
            return Err(Error::invalid_input("the session is closed"));
        }
        let opts = web_sys::RtcOfferOptions::new();
        opts.set_ice_restart(true);
        let fail = |e: JsValue| {
            Error::new(
                ErrorCode::ConnectionLost,
                format!("the browser could not restart ICE ({})", exception_name(&e)),
            )
        };
        let offer = JsFuture::from(pc.create_offer_with_rtc_offer_options(&opts))
            .await
            .map_err(fail)?;
        JsFuture::from(pc.set_local_description(offer.unchecked_ref()))
            .await
            .map_err(fail)?;
        self.wait_gathering(true).await;
        let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
        let req = self
            .with(|s| random_bytes::<12>().and_then(|n| s.conv.ice_restart_offer(&sdp, &n)))
            .unwrap_or_else(|| Err(Error::invalid_input("the session is busy")))?;
        self.push(Ev::RestartOfferSent);
        self.signal(req, false);
        Ok(())
    }

    // ---------------------------------------------------------------- handlers

    fn install_handlers(self: &Rc<Self>) {
        let Some((pc, dc)) = self.with(|s| (s.pc.clone(), s.dc.clone())) else {
            return;
        };
        let on = |f: OnEvent| -> Handler {
            let weak: Weak<Shared> = Rc::downgrade(self);
            Closure::new(move |ev: JsValue| {
                if let Some(me) = weak.upgrade() {
                    f(&me, ev);
                }
            })
        };
        let icecandidate = on(Box::new(|me, ev| {
            let ev: RtcPeerConnectionIceEvent = ev.unchecked_into();
            let c = ev.candidate().map(|c| c.candidate()).unwrap_or_default();
            if c.is_empty() {
                me.gathering_done();
                let first = me
                    .with(|s| !std::mem::replace(&mut s.end_of_candidates, true))
                    .unwrap_or(false);
                if first {
                    me.push(Ev::LocalCandidate(String::new()));
                }
            } else {
                me.push(Ev::LocalCandidate(c));
            }
        }));
        let gathering = on(Box::new(|me, _| {
            let done = me
                .with(|s| gathering_state(&s.pc) == "complete")
                .unwrap_or(false);
            if done {
                me.gathering_done();
            }
        }));
        let connection = on(Box::new(|me, _| {
            let state = me.with(|s| Reflect::get(&s.pc, &"connectionState".into()).ok());
            if let Some(p) = state.flatten().and_then(|v| v.as_string()) {
                if let Some(p) = PeerState::parse(&p) {
                    me.push(Ev::PeerState(p));
                }
            }
        }));
        let open = on(Box::new(|me, _| me.push(Ev::ChannelOpen)));
        let close = on(Box::new(|me, _| {
            me.channel_closed();
            me.push(Ev::ChannelClosed);
        }));
        let message = on(Box::new(|me, ev| {
            let data = ev.unchecked_into::<MessageEvent>().data();
            let bytes = match data.as_string() {
                Some(text) => text.into_bytes(),
                None => bytes_of(&data).unwrap_or_default(),
            };
            me.push(Ev::ChannelMessage(bytes, me.since_launch()));
        }));
        let low = on(Box::new(|me, _| me.flush_queue()));
        let tick = on(Box::new(|me, _| {
            me.with(|s| s.timer = None);
            me.push(Ev::Tick);
        }));
        pc.set_onicecandidate(Some(icecandidate.as_ref().unchecked_ref()));
        pc.set_onicegatheringstatechange(Some(gathering.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(connection.as_ref().unchecked_ref()));
        dc.set_onopen(Some(open.as_ref().unchecked_ref()));
        dc.set_onclose(Some(close.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(message.as_ref().unchecked_ref()));
        dc.set_onbufferedamountlow(Some(low.as_ref().unchecked_ref()));
        self.with(|s| {
            s.tick_fn = Some(tick.as_ref().unchecked_ref::<Function>().clone());
            s.handlers.extend([
                icecandidate,
                gathering,
                connection,
                open,
                close,
                message,
                low,
                tick,
            ])
        });
    }
}

fn ready_state(dc: &RtcDataChannel) -> String {
    Reflect::get(dc, &"readyState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn gathering_state(pc: &RtcPeerConnection) -> String {
    Reflect::get(pc, &"iceGatheringState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Gives `p` a rejection handler, so that a promise nobody awaits in the end
/// (a launch that stops before the offer) leaves no unhandled rejection; an
/// `await` of `p` still sees the rejection.
/// The renderer's protocol error (a parse error of the session stream, its
/// text from the core parser: no session content) as a launch error.
fn renderer_error(e: &JsValue) -> Error {
    let detail = Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    let code = if detail.starts_with("stream ended inside") {
        ErrorCode::IncompleteInstruction
    } else if detail.contains("exceeds the") {
        ErrorCode::InstructionTooLarge
    } else {
        ErrorCode::MalformedInstruction
    };
    let detail: String = detail.chars().take(MAX_QUOTED).collect();
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

fn mark_handled(p: &Promise) {
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {}).into_js_value();
    if let Some(catch) = Reflect::get(p, &"catch".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    {
        let _ = catch.call1(p, &noop);
    }
}

fn sleep_promise(ms: u32) -> Promise {
    Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.min(i32::MAX as u32) as i32,
            );
        }
    })
}

async fn sleep(ms: u32) {
    let _ = JsFuture::from(sleep_promise(ms)).await;
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

/// What a rejected `signaling.send` means: the caller's own `code` when it is
/// one of ours, a timeout when it says so, else a refusal by the router.
fn rejection_error(e: &JsValue) -> Error {
    let get = |k: &str| Reflect::get(e, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let msg = quoted_message(e);
    let code = get("code").as_string();
    if let Some(code) = ErrorCode::ALL
        .iter()
        .find(|c| code.as_deref() == Some(c.as_str()))
    {
        return Error::new(*code, msg);
    }
    let name = get("name").as_string().unwrap_or_default();
    let status = get("status").as_f64();
    if matches!(name.as_str(), "TimeoutError" | "AbortError")
        || matches!(status, Some(s) if s == 408.0 || s == 504.0)
    {
        return Error::new(
            ErrorCode::GatewayTimeout,
            format!(
                "the gateway did not answer ({msg}): check that the gateway is online and reachable, then launch again"
            ),
        );
    }
    Error::new(
        ErrorCode::GatewayRefused,
        format!("the router did not deliver the launch to the gateway: {msg}"),
    )
}

// ---------------------------------------------------------------- options

fn get(o: &JsValue, k: &str) -> JsValue {
    if !o.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

fn given(v: &JsValue) -> bool {
    !v.is_undefined() && !v.is_null()
}

fn opt_ms(o: &JsValue, k: &str) -> Result<Option<u64>, Error> {
    let v = get(o, k);
    if !given(&v) {
        return Ok(None);
    }
    v.as_f64()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| Some(x as u64))
        .ok_or_else(|| Error::invalid_input(format!("timeouts.{k} must be a number of ms >= 0")))
}

/// `timeouts.iceRestartMs`: an array of at most 4 numbers of ms >= 0.
fn ms_list(v: &JsValue, k: &str) -> Result<Vec<u64>, Error> {
    let bad = || {
        Error::invalid_input(format!(
            "timeouts.{k} must be an array of at most {MAX_ICE_RESTARTS} numbers of ms >= 0"
        ))
    };
    if !Array::is_array(v) {
        return Err(bad());
    }
    let a = Array::from(v);
    if a.length() as usize > MAX_ICE_RESTARTS {
        return Err(bad());
    }
    a.iter()
        .map(|x| {
            x.as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| x as u64)
                .ok_or_else(bad)
        })
        .collect()
}

/// The plan's inputs and the record, from `options.plan` (a plan, or the
/// request to plan) and `options.record`.
fn plan_and_record(options: &JsValue) -> Result<(GatewayInputs, Value), Error> {
    let plan_js = get(options, "plan");
    let record_js = get(options, "record");
    if !plan_js.is_object() {
        return Err(Error::invalid_input(
            "plan is required: the result of planLaunch, or the request to plan ({ recordUid, record, ... })",
        ));
    }
    let has_inputs = Reflect::has(&plan_js, &"inputs".into()).unwrap_or(false);
    if has_inputs {
        let plan = to_json(&plan_js)?;
        let record = to_json(&record_js)?;
        if !record.is_object() {
            return Err(Error::invalid_input(
                "record is required with a plan: the typed record JSON of the PAM resource (for its trafficEncryptionSeed, host and clipboard policy)",
            ));
        }
        return Ok((api::plan_inputs(&plan)?, record));
    }
    let (dag, key, rest) = split_request(&plan_js)?;
    let req = api::launch_request(&rest, dag, key)?;
    let record = if given(&record_js) {
        to_json(&record_js)?
    } else {
        req.record.clone()
    };
    Ok((plan::plan(&req)?.inputs, record))
}

/// The display size: the options', else the canvas's CSS box × devicePixelRatio.
fn screen_size(options: &JsValue, canvas: Option<&HtmlCanvasElement>) -> ScreenSize {
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(0.25, 8.0);
    let (css_w, css_h) = canvas.map_or((0, 0), |c| (c.client_width(), c.client_height()));
    let (mut w, mut h) = if css_w > 0 && css_h > 0 {
        (
            (f64::from(css_w) * dpr).round() as u32,
            (f64::from(css_h) * dpr).round() as u32,
        )
    } else {
        match canvas.map(|c| (c.width(), c.height())) {
            Some((cw, ch)) if cw > 0 && ch > 0 => (cw, ch),
            _ => (1024, 768),
        }
    };
    let mut dpi = (96.0 * dpr).round() as u32;
    let num = |k: &str| {
        get(options, k)
            .as_f64()
            .filter(|x| x.is_finite() && *x >= 1.0)
            .map(|x| x.min(16_384.0) as u32)
    };
    if let Some(v) = num("width") {
        w = v;
    }
    if let Some(v) = num("height") {
        h = v;
    }
    if let Some(v) = num("dpi") {
        dpi = v;
    }
    ScreenSize {
        width: w.max(1),
        height: h.max(1),
        dpi: dpi.max(1),
    }
}

/// The ConnectAs block for `connectAs: { gatewayPublicKey, username, password, ... }`.
fn connect_as_block(options: &JsValue, inputs: &GatewayInputs) -> Result<Option<Vec<u8>>, Error> {
    let v = get(options, "connectAs");
    if !given(&v) {
        return Ok(None);
    }
    if inputs.credential_type != Some(CredentialType::UserSupplied) {
        return Err(Error::invalid_input(
            "connectAs is only for launches whose plan has credentialType \"userSupplied\"",
        ));
    }
    if !v.is_object() {
        return Err(Error::invalid_input(
            "connectAs must be { gatewayPublicKey, username, password, ... }",
        ));
    }
    let key_js = get(&v, "gatewayPublicKey");
    let key = bytes_of(&key_js)
        .or_else(|| key_js.as_string().and_then(|t| decode_base64(t.trim())))
        .ok_or_else(|| {
            Error::invalid_input(
                "connectAs.gatewayPublicKey is required: the gateway's P-256 public key as bytes or base64",
            )
        })?;
    let user = Object::new();
    for entry in Object::entries(v.unchecked_ref()).iter() {
        let pair: Array = entry.unchecked_into();
        if pair.get(0).as_string().as_deref() == Some("gatewayPublicKey") {
            continue;
        }
        let _ = Reflect::set(&user, &pair.get(0), &pair.get(1));
    }
    let user = ConnectAsUser::from_json(&to_json(&user)?)?;
    let nonce = random_bytes::<{ connect_as::NONCE_LEN }>()?;
    let mut last = None;
    // A random 32-byte string is a valid P-256 secret but for ~2^-32 of draws.
    for _ in 0..4 {
        match connect_as::seal(&user, &key, &random_bytes::<32>()?, &nonce) {
            Ok(block) => return Ok(Some(block)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::invalid_input("connectAs could not be sealed")))
}

fn function_of(o: &JsValue, k: &str, what: &str) -> Result<Function, Error> {
    get(o, k)
        .dyn_into::<Function>()
        .map_err(|_| Error::invalid_input(format!("{what} must be a function")))
}

/// The renderer's options: ours plus the caller's renderer settings.
fn renderer_options(
    options: &JsValue,
    send: &JsValue,
    canvas: Option<&HtmlCanvasElement>,
    size: ScreenSize,
    params: &OfferParams,
) -> Object {
    let o = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&o, &k.into(), v);
    };
    set("send", send);
    if let Some(c) = canvas {
        set("canvas", c);
    }
    set("mode", &"gateway".into());
    set("width", &size.width.into());
    set("height", &size.height.into());
    set("dpi", &size.dpi.into());
    set("disableCopy", &params.clipboard.disable_copy.into());
    set("disablePaste", &params.clipboard.disable_paste.into());
    for k in ["autoScale", "keypadEnter", "timezone", "audio", "image"] {
        let v = get(options, k);
        if given(&v) {
            set(k, &v);
        }
    }
    o
}

fn status_object(phase: &str, message: &str) -> JsValue {
    let obj = Object::new();
    let _ = Reflect::set(&obj, &"phase".into(), &phase.into());
    let _ = Reflect::set(&obj, &"message".into(), &message.into());
    obj.into()
}

// ---------------------------------------------------------------- the JS API

/// A launched session: status, timings, the renderer and its input methods.
#[wasm_bindgen]
pub struct PamSession {
    shared: Rc<Shared>,
}

/// Starts a launch over WebRTC. Returns the session at once; the launch runs
/// asynchronously and reports through `onstatus` and `session.closed`. Throws
/// (`INVALID_INPUT`, a plan error) only for options that cannot start.
#[wasm_bindgen(js_name = launch)]
pub fn launch(
    #[wasm_bindgen(unchecked_param_type = "LaunchOptions")] options: JsValue,
) -> Result<PamSession, JsValue> {
    let t0 = perf_now();
    start_launch(&options, t0).map_err(to_js_error)
}

fn start_launch(options: &JsValue, t0: f64) -> Result<PamSession, Error> {
    if !options.is_object() {
        return Err(Error::invalid_input(
            "launch takes an object { plan, record, signaling, iceServers, canvas, ... }",
        ));
    }
    let (mut inputs, record) = plan_and_record(options)?;
    let trickle_opt = get(options, "trickleIce");
    if given(&trickle_opt) {
        inputs.trickle_ice = trickle_opt
            .as_bool()
            .ok_or_else(|| Error::invalid_input("trickleIce must be true or false"))?;
    }
    let signaling = get(options, "signaling");
    let send_fn = function_of(
        &signaling,
        "send",
        "signaling.send(action, { timeoutMs, streamResponse })",
    )?;
    let subscribe_fn = function_of(&signaling, "subscribe", "signaling.subscribe(handler)")?;
    let canvas_js = get(options, "canvas");
    let canvas = if given(&canvas_js) {
        Some(
            canvas_js
                .dyn_into::<HtmlCanvasElement>()
                .map_err(|_| Error::invalid_input("canvas must be an HTMLCanvasElement"))?,
        )
    } else {
        None
    };
    let ice_servers = get(options, "iceServers");
    let ice_servers = if given(&ice_servers) {
        if !Array::is_array(&ice_servers) {
            return Err(Error::invalid_input(
                "iceServers must be an array of RTCIceServer",
            ));
        }
        ice_servers
    } else {
        Array::new().into()
    };
    let size = screen_size(options, canvas.as_ref());
    let offer_params = api::launch_offer_params(
        &record,
        &to_json(&get(options, "host"))?,
        size,
        get(options, "disableCopy").is_truthy(),
        get(options, "disablePaste").is_truthy(),
    )?;
    let seed = match record::traffic_encryption_seed(&record)? {
        Some(s) => s,
        None => random_bytes::<RANDOM_SEED_LEN>()?.to_vec(),
    };
    let random = LaunchRandom {
        conversation_id: random_bytes::<16>()?,
        salt: random_bytes::<16>()?,
    };
    let conv = Conversation::new(&inputs, &seed, &random)?;
    let mut cfg = Config::new(conv.trickle_ice(), conv.is_ephemeral());
    cfg.connect_as = connect_as_block(options, &inputs)?;
    let timeouts = get(options, "timeouts");
    let (mut gathering_ms, mut close_drain_ms) = (DEFAULT_GATHERING_MS, DEFAULT_CLOSE_DRAIN_MS);
    if given(&timeouts) {
        let t = &mut cfg.timeouts;
        if let Some(v) = opt_ms(&timeouts, "answerMs")? {
            t.answer_ms = v;
        }
        if let Some(v) = opt_ms(&timeouts, "channelMs")? {
            t.channel_ms = v;
        }
        if let Some(v) = opt_ms(&timeouts, "openMs")? {
            t.open_ms = v;
        }
        if let Some(v) = opt_ms(&timeouts, "firstFrameMs")? {
            t.first_frame_ms = v;
        }
        let keepalive = get(&timeouts, "keepaliveMs");
        if keepalive.is_null() {
            t.keepalive_ms = None;
        } else if let Some(v) = opt_ms(&timeouts, "keepaliveMs")? {
            t.keepalive_ms = (v > 0).then_some(v);
        }
        if let Some(v) = opt_ms(&timeouts, "gatheringMs")? {
            gathering_ms = v.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(v) = opt_ms(&timeouts, "closeDrainMs")? {
            close_drain_ms = v.min(u64::from(u32::MAX)) as u32;
        }
        let delays = get(&timeouts, "iceRestartMs");
        if given(&delays) {
            let list = ms_list(&delays, "iceRestartMs")?;
            let give_up =
                opt_ms(&timeouts, "iceRestartGiveUpMs")?.unwrap_or(t.ice_restart.give_up_ms);
            t.ice_restart = IceRestarts::from_delays(&list, give_up);
        } else if let Some(v) = opt_ms(&timeouts, "iceRestartGiveUpMs")? {
            t.ice_restart.give_up_ms = v;
        }
    }
    let onstatus = get(options, "onstatus").dyn_into::<Function>().ok();

    // The peer connection and its data channel (not yet negotiated).
    let rtc_cfg = Object::new();
    let _ = Reflect::set(&rtc_cfg, &"iceServers".into(), &ice_servers);
    let pc = RtcPeerConnection::new_with_configuration(rtc_cfg.unchecked_ref()).map_err(|e| {
        let name = exception_name(&e);
        Error::invalid_input(if name == "ReferenceError" {
            "this environment has no RTCPeerConnection (WebRTC): launch() runs in a browser".to_owned()
        } else {
            format!(
                "the browser refused to create an RTCPeerConnection with these iceServers ({name}): check their urls, username and credential"
            )
        })
    })?;
    let init = RtcDataChannelInit::new();
    init.set_ordered(true);
    let dc = pc.create_data_channel_with_data_channel_dict(&conv.id().channel_label(), &init);
    dc.set_binary_type(RtcDataChannelType::Arraybuffer);
    dc.set_buffered_amount_low_threshold(SEND_LOW_WATER);
    // The offer is made now, while the renderer starts and the adapter
    // subscribes (the browser makes it off the main thread); start() awaits it.
    let early_offer = pc.create_offer();
    mark_handled(&early_offer);

    let mut closed_resolve = None;
    let closed_promise = Promise::new(&mut |resolve, _| closed_resolve = Some(resolve));
    let conversation_type = inputs.conversation_type.clone();
    let shared = Rc::new(Shared {
        t0,
        pending: RefCell::new(VecDeque::new()),
        running: Cell::new(true),
        arrived: Cell::new(0.0),
        client: RefCell::new(None),
        st: RefCell::new(State {
            machine: Machine::new(cfg),
            conv,
            conversation_type,
            trickle: inputs.trickle_ice,
            offer_params: offer_params.clone(),
            gathering_ms,
            close_drain_ms,
            pc,
            early_offer: Some(early_offer),
            dc,
            signaling,
            send_fn,
            subscribe_fn,
            unsubscribe: None,
            client_js: JsValue::UNDEFINED,
            tick_fn: None,
            onstatus,
            onframe: None,
            status: status_object(Phase::Planning.as_str(), "planning the launch"),
            timings: Timings::default(),
            send_queue: VecDeque::new(),
            pc_ops: VecDeque::new(),
            pc_busy: false,
            timer: None,
            closing: false,
            torn_down: false,
            held: Vec::new(),
            end_of_candidates: false,
            first_frame_seen: false,
            gather_waiters: Vec::new(),
            close_waiters: Vec::new(),
            closed_resolve,
            closed_promise,
            handlers: Vec::new(),
        }),
    });

    // The renderer: its output goes to the machine (connection 1).
    let weak = Rc::downgrade(&shared);
    let send: Handler = Closure::new(move |bytes: JsValue| {
        if let Some(me) = weak.upgrade() {
            let b = bytes_of(&bytes).unwrap_or_default();
            if !b.is_empty() {
                me.push(Ev::SendGuacamole(b));
            }
        }
    });
    // The renderer may outlive the session (the page holds `session.client`):
    // its two callbacks are owned by JavaScript and do nothing once the
    // session is gone.
    let send = send.into_js_value();
    let ropts = renderer_options(options, &send, canvas.as_ref(), size, &offer_params);
    let client = GuacamoleClient::new(ropts.into()).map_err(|e| {
        Error::invalid_input(format!(
            "the session renderer could not start: {}",
            quoted_message(&e)
        ))
    })?;
    let weak = Rc::downgrade(&shared);
    let onframe: Handler = Closure::new(move |count: JsValue| {
        if let Some(me) = weak.upgrade() {
            me.on_frame(count);
        }
    });
    client.onframe(Some(onframe.into_js_value().unchecked_into::<Function>()));
    let handle = client.clone_handle();
    let client_js: JsValue = client.into();
    if let Ok(mut c) = shared.client.try_borrow_mut() {
        *c = Some(Rc::new(handle));
    }
    shared.with(|s| {
        s.client_js = client_js;
    });
    shared.install_handlers();
    shared.mark(|t| &mut t.plan);
    spawn_local(shared.clone().start());
    Ok(PamSession { shared })
}

#[wasm_bindgen]
impl PamSession {
    /// Ends the session: CloseConnection(1, Normal) to the gateway when the
    /// channel is open, then, once the gateway has closed the channel (at
    /// most `timeouts.closeDrainMs`), the peer connection is closed. Before
    /// the channel opens, it cancels the launch.
    pub fn disconnect(&self) {
        self.shared.push(Ev::Disconnect);
    }

    /// The last status reported.
    #[wasm_bindgen(getter, unchecked_return_type = "LaunchStatus")]
    pub fn status(&self) -> JsValue {
        self.shared
            .st
            .try_borrow()
            .map(|s| s.status.clone())
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// Resolves with the final status (phase "closed") once the peer
    /// connection is closed. Never rejects.
    #[wasm_bindgen(getter, unchecked_return_type = "Promise<LaunchStatus>")]
    pub fn closed(&self) -> Promise {
        self.shared
            .st
            .try_borrow()
            .map(|s| s.closed_promise.clone())
            .unwrap_or_else(|_| Promise::resolve(&JsValue::UNDEFINED))
    }

    /// The renderer (`attachInput`, `focus`, `resize`, `onclipboard`, ...).
    /// Its `onframe` is the session's: set `session.onframe` instead.
    #[wasm_bindgen(getter, unchecked_return_type = "GuacamoleClient")]
    pub fn client(&self) -> JsValue {
        self.shared
            .st
            .try_borrow()
            .map(|s| s.client_js.clone())
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// The conversation id (URL-safe base64), as the router sees it.
    #[wasm_bindgen(getter, js_name = conversationId)]
    pub fn conversation_id(&self) -> String {
        self.shared
            .st
            .try_borrow()
            .map(|s| s.conv.id().id())
            .unwrap_or_default()
    }

    /// Milliseconds from `launch()` to each step; `null` until reached.
    #[wasm_bindgen(getter, unchecked_return_type = "LaunchTimings")]
    pub fn timings(&self) -> JsValue {
        let t = self
            .shared
            .st
            .try_borrow()
            .map(|s| s.timings)
            .unwrap_or_default();
        let o = Object::new();
        for (k, v) in [
            ("plan", t.plan),
            ("gathered", t.gathered),
            ("offerSent", t.offer_sent),
            ("answer", t.answer),
            ("channelOpen", t.channel_open),
            ("connectionOpened", t.connection_opened),
            ("firstByte", t.first_byte),
            ("firstFrame", t.first_frame),
            ("closed", t.closed),
        ] {
            let _ = Reflect::set(&o, &k.into(), &v.map_or(JsValue::NULL, JsValue::from));
        }
        o.into()
    }

    #[wasm_bindgen(
        getter,
        unchecked_return_type = "((status: LaunchStatus) => void) | null"
    )]
    pub fn onstatus(&self) -> JsValue {
        self.shared
            .st
            .try_borrow()
            .ok()
            .and_then(|s| s.onstatus.clone())
            .map_or(JsValue::NULL, Into::into)
    }

    #[wasm_bindgen(setter)]
    pub fn set_onstatus(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((status: LaunchStatus) => void) | null")]
        f: JsValue,
    ) {
        let f = f.dyn_into::<Function>().ok();
        self.shared.with(|s| s.onstatus = f);
    }

    /// Called with the count of frames drawn, after each frame.
    #[wasm_bindgen(setter)]
    pub fn set_onframe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((framesRendered: number) => void) | null")]
        f: JsValue,
    ) {
        let f = f.dyn_into::<Function>().ok();
        self.shared.with(|s| s.onframe = f);
    }

    /// A client-side ICE restart (a new offer with `iceRestart`, sent as
    /// `ice_restart_offer`); resolves once it is sent, rejects with a
    /// `PamLaunchError` when it cannot be.
    #[wasm_bindgen(js_name = restartIce, unchecked_return_type = "Promise<void>")]
    pub fn restart_ice(&self) -> Promise {
        let me = self.shared.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            me.restart_ice()
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(to_js_error)
        })
    }

    fn renderer(&self) -> Option<Rc<GuacamoleClient>> {
        self.shared.renderer()
    }

    #[wasm_bindgen(js_name = sendKeyEvent)]
    pub fn send_key_event(&self, keysym: u32, pressed: bool) {
        if let Some(c) = self.renderer() {
            c.send_key_event(keysym, pressed);
        }
    }

    /// Mouse state in remote pixels; mask bits 1 left, 2 middle, 4 right, 8 up, 16 down.
    #[wasm_bindgen(js_name = sendMouseState)]
    pub fn send_mouse_state(&self, x: i32, y: i32, mask: u8) {
        if let Some(c) = self.renderer() {
            c.send_mouse_state(x, y, mask);
        }
    }

    /// Asks the remote side for a new display size.
    pub fn resize(&self, width: u32, height: u32, dpi: Option<u32>) {
        if let Some(c) = self.renderer() {
            c.resize(width, height, dpi);
        }
    }

    /// Sends text to the remote clipboard (false when the policy forbids pasting).
    #[wasm_bindgen(js_name = setClipboard)]
    pub fn set_clipboard(&self, text: &str) -> bool {
        self.renderer().is_some_and(|c| c.set_clipboard(text))
    }

    /// Keyboard, mouse, touch, paste and drop on `element` (see `GuacamoleClient.attachInput`).
    #[wasm_bindgen(js_name = attachInput)]
    pub fn attach_input(&self, element: &web_sys::Element) -> Result<(), JsValue> {
        match self.renderer() {
            Some(c) => c.attach_input(element),
            None => Ok(()),
        }
    }

    #[wasm_bindgen(js_name = detachInput)]
    pub fn detach_input(&self) {
        if let Some(c) = self.renderer() {
            c.detach_input();
        }
    }

    /// Gives the keyboard focus to the session (after `attachInput`).
    pub fn focus(&self) {
        if let Some(c) = self.renderer() {
            c.focus();
        }
    }
}
