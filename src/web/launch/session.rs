//! The JS API: `launch()`, which builds the peer connection, the renderer
//! and the session's [`Shared`] state, and the `PamSession` class it returns.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcDataChannelInit, RtcDataChannelType, RtcPeerConnection};

use crate::core::api;
use crate::core::error::Error;
use crate::core::record;
use crate::core::tunnel::conversation::LaunchRandom;
use crate::core::tunnel::crypto::RANDOM_SEED_LEN;
use crate::core::tunnel::state::Config;
use crate::core::tunnel::{Conversation, Machine, Phase};
use crate::web::canvas::{self, renderer_kind, CanvasTarget, RendererKind};
use crate::web::convert::{bytes_of, to_json};
use crate::web::error::to_js_error;
use crate::web::session::{ErrorHook, FrameHook, FrameInfo, GuacamoleClient};

use super::options::{
    connect_as_block, function_of, get, given, peer_connection_class, plan_and_record,
    renderer_options, screen_size, timeouts,
};
use super::{
    exception_name, mark_handled, perf_now, quoted_message, random_bytes, Ev, Handler, Shared,
    State, Timings, SEND_LOW_WATER,
};

/// A launched session: status, timings, the renderer and its input methods.
#[wasm_bindgen]
pub struct PamSession {
    shared: Rc<Shared>,
}

/// Starts a launch over WebRTC. Returns the session at once; the launch runs
/// asynchronously and reports through `onstatus` and `session.closed`. Throws
/// (`INVALID_INPUT`, a plan error) only for options that cannot start, and
/// `UNSUPPORTED` when this environment lacks what the options need (no
/// `RTCPeerConnection`, no document and no canvas given).
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
    let rtc_class = peer_connection_class(options)?;
    let renderer = renderer_kind(&get(options, "renderer"))?;
    let canvas = match renderer {
        RendererKind::Canvas => {
            let c = canvas::canvas_option(&get(options, "canvas"))?;
            if c.is_none() && canvas::document().is_none() {
                return Err(canvas::no_canvas());
            }
            c
        }
        RendererKind::Headless => None,
    };
    let oninstruction = get(options, "oninstruction");
    if given(&oninstruction) && !oninstruction.is_function() {
        return Err(Error::invalid_input(
            "oninstruction must be a function (opcode, args) => void",
        ));
    }
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
    let size = screen_size(options, canvas.as_ref().and_then(CanvasTarget::element));
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
    let (gathering_ms, close_drain_ms) = timeouts(options, &mut cfg.timeouts)?;
    let onstatus = get(options, "onstatus").dyn_into::<Function>().ok();

    // The peer connection and its data channel (not yet negotiated).
    let rtc_cfg = Object::new();
    let _ = Reflect::set(&rtc_cfg, &"iceServers".into(), &ice_servers);
    // Only methods and properties of the instance are used from here on
    // (plain dicts for SDP and candidates), so any implementation plugs in.
    let pc: RtcPeerConnection = Reflect::construct(&rtc_class, &Array::of1(&rtc_cfg))
        .map_err(|e| {
            Error::invalid_input(format!(
                "the RTCPeerConnection implementation refused to create a peer connection with these iceServers ({}): check their urls, username and credential",
                exception_name(&e)
            ))
        })?
        .unchecked_into();
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
            onstatus,
            onframe: get(options, "onframe").dyn_into::<Function>().ok(),
            headless: renderer == RendererKind::Headless,
            status: status_object(Phase::Planning.as_str(), "planning the launch"),
            timings: Timings::default(),
            send_queue: VecDeque::new(),
            send_queue_bytes: 0,
            queue_overflowed: false,
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
            bytes_in: 0,
            bytes_out: 0,
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
    let ropts = renderer_options(
        options,
        &send,
        canvas.as_ref(),
        renderer,
        size,
        &offer_params,
    );
    let client = GuacamoleClient::new(ropts.into()).map_err(|e| {
        Error::invalid_input(format!(
            "the session renderer could not start: {}",
            quoted_message(&e)
        ))
    })?;
    let weak = Rc::downgrade(&shared);
    let hook: FrameHook = Rc::new(move |info: FrameInfo| {
        if let Some(me) = weak.upgrade() {
            me.on_frame(info);
        }
    });
    client.set_frame_hook(Some(hook));
    let weak = Rc::downgrade(&shared);
    let on_error: ErrorHook = Rc::new(move |code: u32, message: &str| {
        if let Some(me) = weak.upgrade() {
            me.push(Ev::GuacdError(code, message.to_owned()));
        }
    });
    client.set_error_hook(Some(on_error));
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

    /// After each frame: with the canvas renderer, the count of frames
    /// drawn; headless, `{ frame, ops, width, height, at, timestamp, painted }`.
    #[wasm_bindgen(setter)]
    pub fn set_onframe(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "((framesRendered: number) => void) | ((frame: HeadlessFrame) => void) | null"
        )]
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

    /// Live figures: data-channel bytes, frames drawn, the round trip of the
    /// last Ping of ours that came back (`rttMs`, `rttAt` in Unix ms), how
    /// overdue the outstanding one is, the last `sync`'s wait, and the bytes
    /// waiting to leave (the channel's `bufferedAmount` plus our queue).
    #[wasm_bindgen(getter, unchecked_return_type = "SessionStats")]
    pub fn stats(&self) -> JsValue {
        let now = super::unix_ms();
        let (bytes_in, bytes_out, rtt, overdue, buffered) = self
            .shared
            .with(|s| {
                let buffered = if s.torn_down {
                    0
                } else {
                    u64::from(s.dc.buffered_amount())
                };
                (
                    s.bytes_in,
                    s.bytes_out,
                    s.machine.rtt(),
                    s.machine.ping_overdue_ms(now),
                    buffered.saturating_add(s.send_queue_bytes as u64),
                )
            })
            .unwrap_or((0, 0, None, None, 0));
        let renderer = self.renderer();
        let frames = renderer.as_ref().map_or(0.0, |c| c.frames_rendered());
        let sync_lag = renderer.as_ref().and_then(|c| c.sync_lag_ms());
        let o = Object::new();
        let num = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from);
        for (k, v) in [
            ("bytesIn", JsValue::from(bytes_in as f64)),
            ("bytesOut", JsValue::from(bytes_out as f64)),
            ("framesRendered", JsValue::from(frames)),
            ("rttMs", num(rtt.map(|r| r.rtt_ms))),
            ("rttAt", num(rtt.map(|r| r.at_ms as f64))),
            ("pingOverdueMs", num(overdue.map(|v| v as f64))),
            ("syncLagMs", num(sync_lag)),
            ("bufferedAmount", JsValue::from(buffered as f64)),
        ] {
            let _ = Reflect::set(&o, &k.into(), &v);
        }
        o.into()
    }

    /// Stops an upload (`client.cancelUpload`): false for an unknown stream.
    #[wasm_bindgen(js_name = cancelUpload)]
    pub fn cancel_upload(&self, stream: i32) -> bool {
        self.renderer().is_some_and(|c| c.cancel_upload(stream))
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

    /// Sends text to the remote clipboard (false when the policy forbids
    /// pasting); throws `RESOURCE_LIMIT` above the paste limit (16 MiB).
    #[wasm_bindgen(js_name = setClipboard)]
    pub fn set_clipboard(&self, text: &str) -> Result<bool, JsValue> {
        match self.renderer() {
            Some(c) => c.set_clipboard(text),
            None => Ok(false),
        }
    }

    /// Keyboard, mouse, touch, paste and drop on `element` (see
    /// `GuacamoleClient.attachInput`); `UNSUPPORTED` when headless.
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

fn status_object(phase: &str, message: &str) -> JsValue {
    let obj = Object::new();
    let _ = Reflect::set(&obj, &"phase".into(), &phase.into());
    let _ = Reflect::set(&obj, &"message".into(), &message.into());
    obj.into()
}
