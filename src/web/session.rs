//! `GuacamoleClient`: the core client state machine bound to a canvas.
//!
//! Bytes in (`receive`) and bytes out (the `send` callback): the transport
//! (a data channel, a WebSocket, a TCP bridge in tests) stays outside.
//!
//! Frames: drawing operations collect into the open frame; `sync` closes it.
//! Images start decoding (`createImageBitmap`) the moment their stream ends,
//! in parallel, but frames are applied strictly in order, each only when all
//! of its images are decoded; the `sync` answer goes out after the frame is
//! on the layers, as guacamole-common-js does.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::CanvasRenderingContext2d;

use crate::core::error::Error;
use crate::core::guac::client::{Client, Config, Event};
use crate::core::guac::display::DisplayOp;
use crate::core::guac::limits::{Limit, MAX_PASTE_BYTES, MAX_PENDING_OPS};
use crate::core::guac::status::Status;

use super::canvas::{self, renderer_kind, CanvasTarget, RendererKind};
use super::display::{new_canvas, Display};
use super::error::to_js_error;
use super::sink::{Attached, InputSink};

// The recording player's keyframes (engineer `player`'s file).
#[path = "keyframe.rs"]
pub(crate) mod keyframe;

type JsResult<T = ()> = Result<T, JsValue>;

/// Pending frames past which a log line warns (images decode slower than they arrive).
const PENDING_FRAMES_WARN: usize = 256;
/// Frames waiting to be drawn, at most. guacd paces itself on our `sync`
/// answers, so a real server stays far below; a stream past one of the
/// bounds of [`crate::core::guac::limits`] is hostile or broken and the
/// session ends (`RESOURCE_LIMIT`) instead of exhausting memory.
pub use crate::core::guac::limits::{MAX_PENDING_FRAMES, MAX_PENDING_IMAGE_BYTES};
/// Images decoding at once; the rest wait in order. Enough to keep the
/// browser's decoder threads busy without holding thousands of bitmaps.
const MAX_DECODES_IN_FLIGHT: usize = 32;

/// An image waiting for its turn to decode.
type DecodeJob = (Rc<RefCell<Slot>>, String, Vec<u8>);

enum Slot {
    Decoding,
    Ready(canvas::DecodedImage),
    Failed,
}

enum Item {
    Op(DisplayOp),
    Image {
        slot: Rc<RefCell<Slot>>,
        mask: u8,
        layer: i32,
        x: i32,
        y: i32,
        bytes: usize,
    },
}

struct Frame {
    items: Vec<Item>,
    /// The `sync` that closed the frame; `None` for the tail flushed at end of stream.
    timestamp: Option<u64>,
    /// When its `sync` arrived (`performance.now()`), for the sync lag.
    arrived: f64,
    /// Items already applied to the layers (a frame applied in slices).
    done: usize,
    /// An applied item put pixels on a visible layer.
    painted: bool,
}

/// A frame applied to the layers and not yet composited into the caller's
/// canvas: its count, `painted`, operations, `sync` and arrival.
type Drawn = (u64, bool, u32, Option<u64>, f64);

/// Time a frame's application may hold the thread before it yields
/// (a task of its own, through a `MessageChannel`), so that input and the
/// data channel get their turn: the input latency target is a p99 of 4 ms.
const SLICE_MS: f64 = 2.0;
/// Items applied between two looks at the clock.
const SLICE_CHECK_EVERY: usize = 8;

#[derive(Default)]
struct Callbacks {
    onstatechange: Option<Function>,
    onerror: Option<Function>,
    onclipboard: Option<Function>,
    onname: Option<Function>,
    onfile: Option<Function>,
    onframe: Option<Function>,
    onlog: Option<Function>,
    onresize: Option<Function>,
    onupload: Option<Function>,
    onrequired: Option<Function>,
    onargv: Option<Function>,
}

/// An accepted download: its bytes so far, and the promise `accept()` returned.
struct Download {
    mimetype: String,
    chunks: Array,
    resolve: Function,
    reject: Function,
}

/// The canvas renderer: the layers and the caller's canvas they are composited into.
struct View {
    display: Display,
    target: CanvasTarget,
    ctx: CanvasRenderingContext2d,
}

/// A frame as `onframe` reports it (headless) and `launch()` hears of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameInfo {
    /// Frames completed so far, this one included (1 for the first).
    pub frame: u64,
    /// Drawing operations in the frame.
    pub ops: u32,
    /// The remote display size (layer 0) after the frame.
    pub width: u32,
    pub height: u32,
    /// `performance.now()` when the frame completed (drawn, or headless: closed by its `sync`).
    pub at: f64,
    /// The `sync` timestamp the server sent; `None` for the tail flushed at end of stream.
    pub timestamp: Option<u64>,
    /// The frame put pixels on the visible display (layer 0 or a visible layer).
    pub painted: bool,
}

impl FrameInfo {
    pub(crate) fn to_js(self) -> JsValue {
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &k.into(), &v);
        };
        set("frame", (self.frame as f64).into());
        set("ops", self.ops.into());
        set("width", self.width.into());
        set("height", self.height.into());
        set("at", self.at.into());
        set(
            "timestamp",
            self.timestamp.map_or(JsValue::NULL, |t| (t as f64).into()),
        );
        set("painted", self.painted.into());
        o.into()
    }
}

/// The headless renderer's state: what a canvas would show, as numbers.
#[derive(Default)]
struct Headless {
    width: u32,
    height: u32,
    /// Operations in the open frame, and whether one of them paints.
    ops: u32,
    painted: bool,
}

/// `launch()`'s hook on completed frames (Rust side, so the page's
/// `client.onframe` stays the page's).
pub(crate) type FrameHook = Rc<dyn Fn(FrameInfo)>;
/// `launch()`'s hook on guacd's `error` (status code, text).
pub(crate) type ErrorHook = Rc<dyn Fn(u32, &str)>;

/// Most keys tracked as held on the remote side (more are sent untracked).
const MAX_KEYS_DOWN: usize = 64;

/// An upload's last reported progress: bytes acknowledged and the total.
type UploadProgress = (u64, u64);

pub(crate) struct Inner {
    client: Client,
    /// `None`: headless (nothing drawn; frames reported and answered as they close).
    view: Option<View>,
    headless: Headless,
    /// A second parser over the server's bytes, for `oninstruction`.
    tap: Option<crate::core::guac::parser::Parser>,
    oninstruction: Option<Function>,
    frame_hook: Option<FrameHook>,
    error_hook: Option<ErrorHook>,
    /// Closed frames waiting to be applied, oldest first.
    frames: VecDeque<Frame>,
    /// The frame collecting operations until the next `sync`.
    open: Vec<Item>,
    send: Function,
    cb: Callbacks,
    downloads: HashMap<i32, Download>,
    audio: super::audio::Audio,
    disable_copy: bool,
    disable_paste: bool,
    /// Send `KP_Enter` for the numpad Enter (option `keypadEnter`).
    keypad_enter: bool,
    auto_scale: bool,
    /// Key events from the attached keyboard go to the server.
    keyboard_enabled: bool,
    /// Keysyms pressed on the remote side and not yet released, so that
    /// turning the keyboard off releases them.
    keys_down: Vec<u32>,
    /// How long the last answered `sync` waited between its arrival and
    /// our answer (ms).
    sync_lag_ms: Option<f64>,
    /// The running uploads' last progress (for the final `onupload`).
    upload_progress: HashMap<i32, UploadProgress>,
    /// CSS pixels per remote pixel, as last composited (for mouse input).
    scale: std::cell::Cell<f64>,
    frames_applied: u64,
    pending_image_bytes: usize,
    /// Drawing operations in the open frame and the queued frames.
    pending_ops: usize,
    /// The limit that ended the session (web side), reported by `receive`.
    failed: Option<Error>,
    /// The `File`s of the running uploads, read a chunk at a time.
    upload_sources: HashMap<i32, web_sys::File>,
    decode_queue: VecDeque<DecodeJob>,
    decoding: usize,
    last_size: (u32, u32),
    /// The caller's canvas has been drawn into (a frame composited).
    composited: std::cell::Cell<bool>,
    /// Frames applied to the layers since the last composite (their `sync`
    /// is answered and `onframe` called once they are in the caller's canvas).
    drawn: Vec<Drawn>,
    /// A slice of frame application is scheduled (see [`Inner::flush`]).
    slice_scheduled: bool,
    /// The `MessageChannel` the next slice is posted through (made on first use).
    slicer: Option<Slicer>,
    /// The animation frame that redraws the cursor after mouse input.
    cursor_frame: Option<canvas::AnimationFrame>,
    self_ref: Weak<RefCell<Inner>>,
}

/// A `MessageChannel` whose `port1` runs the next slice of frame
/// application: a task of its own, unlike a microtask, and not clamped like
/// `setTimeout(0)`. The ports and the handler live as long as the session.
struct Slicer {
    port2: JsValue,
    post: Function,
    _port1: JsValue,
    _handler: Closure<dyn FnMut(JsValue)>,
}

impl Drop for Slicer {
    fn drop(&mut self) {
        // A message still on its way finds no handler.
        let _ = Reflect::set(&self._port1, &"onmessage".into(), &JsValue::NULL);
    }
}

impl Slicer {
    /// `port1.onmessage = run`; `None` where the scope has no `MessageChannel`.
    fn new(run: impl Fn() + 'static) -> Option<Self> {
        let ctor: Function = Reflect::get(&js_sys::global(), &"MessageChannel".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let channel = Reflect::construct(&ctor, &Array::new()).ok()?;
        let port1 = Reflect::get(&channel, &"port1".into()).ok()?;
        let port2 = Reflect::get(&channel, &"port2".into()).ok()?;
        let post: Function = Reflect::get(&port2, &"postMessage".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |_e: JsValue| run());
        Reflect::set(&port1, &"onmessage".into(), handler.as_ref()).ok()?;
        Some(Self {
            port2,
            post,
            _port1: port1,
            _handler: handler,
        })
    }
}

/// A Guacamole session rendered into a canvas.
#[wasm_bindgen]
pub struct GuacamoleClient {
    inner: Rc<RefCell<Inner>>,
    listeners: RefCell<Attached>,
}

/// The session as the input handlers see it (`sink.rs`); a weak handle, so
/// listeners left attached never keep a session alive.
struct SessionSink(Weak<RefCell<Inner>>);

impl InputSink for SessionSink {
    fn send_keys(&self, keys: &[(u32, bool)]) {
        if let Some(i) = self.0.upgrade() {
            Inner::keys(&i, keys);
        }
    }

    fn send_mouse(&self, x: i32, y: i32, mask: u8) {
        if let Some(i) = self.0.upgrade() {
            Inner::mouse(&i, x, y, mask);
        }
    }

    fn pointer_geometry(&self) -> Option<(web_sys::HtmlCanvasElement, f64)> {
        let i = self.0.upgrade()?;
        let (canvas, scale) = Inner::pointer_geometry(&i);
        canvas.map(|c| (c, scale))
    }

    fn paste_allowed(&self) -> bool {
        self.0.upgrade().is_some_and(|i| Inner::paste_allowed(&i))
    }

    fn paste_text(&self, text: &str) {
        if let Some(i) = self.0.upgrade() {
            Inner::paste(&i, text);
        }
    }

    fn upload_file(&self, file: web_sys::File) {
        if let Some(i) = self.0.upgrade() {
            Inner::upload_file_streamed(&i, file);
        }
    }

    fn keyboard_enabled(&self) -> bool {
        self.0
            .upgrade()
            .is_some_and(|i| i.borrow().keyboard_enabled)
    }
}

enum ViewError {
    Core(Error),
    Js(JsValue),
}

impl From<JsValue> for ViewError {
    fn from(e: JsValue) -> Self {
        Self::Js(e)
    }
}

impl View {
    /// The canvas renderer on the caller's `canvas` (or a new `<canvas>`).
    fn new(canvas_js: &JsValue) -> Result<Self, ViewError> {
        let doc = canvas::document();
        let target = match canvas::canvas_option(canvas_js).map_err(ViewError::Core)? {
            Some(t) => t,
            None => match &doc {
                Some(d) => CanvasTarget::Element(d.create_element("canvas")?.unchecked_into()),
                None => return Err(ViewError::Core(canvas::no_canvas())),
            },
        };
        let ctx = target.context_2d()?;
        // The layers are canvases of this scope's document, or
        // OffscreenCanvases where there is none (a Worker).
        Ok(Self {
            display: Display::new()?,
            target,
            ctx,
        })
    }
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

fn get_u32(o: &JsValue, k: &str, default: u32) -> u32 {
    get(o, k)
        .as_f64()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map_or(default, |v| v as u32)
}

fn call1(f: &Option<Function>, a: &JsValue) {
    if let Some(f) = f {
        let _ = f.call1(&JsValue::NULL, a);
    }
}

fn call2(f: &Option<Function>, a: &JsValue, b: &JsValue) {
    if let Some(f) = f {
        let _ = f.call2(&JsValue::NULL, a, b);
    }
}

#[wasm_bindgen]
impl GuacamoleClient {
    /// `new GuacamoleClient({ send, renderer?: "canvas" | "headless", canvas?, mode?: "gateway" | "direct",
    /// protocol?, params?, width?, height?, dpi?, timezone?, audio?, image?, disableCopy?, disablePaste?,
    /// autoScale?, keypadEnter?, oninstruction? })`
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "GuacamoleClientOptions")] options: JsValue,
    ) -> Result<GuacamoleClient, JsValue> {
        let send: Function = get(&options, "send").dyn_into().map_err(|_| {
            JsValue::from(js_sys::TypeError::new(
                "options.send must be a function (bytes: Uint8Array) => void",
            ))
        })?;
        let headless = renderer_kind(&get(&options, "renderer")).map_err(to_js_error)?
            == RendererKind::Headless;
        let view = if headless {
            None
        } else {
            Some(View::new(&get(&options, "canvas")).map_err(|e| match e {
                ViewError::Core(e) => to_js_error(e),
                ViewError::Js(e) => e,
            })?)
        };
        // guacd draws in device pixels: the CSS box × devicePixelRatio, at
        // 96 × devicePixelRatio DPI (as Guacamole's own web client asks).
        let (css_w, css_h) = view.as_ref().map_or((0, 0), |v| v.target.css_size());
        let (device_w, device_h, device_dpi) =
            device_size(css_w.max(0) as u32, css_h.max(0) as u32);
        // No layout to measure (an OffscreenCanvas, headless): the canvas's
        // bitmap size, else 1024x768, unless the options say.
        let (device_w, device_h) = match view.as_ref().map(|v| &v.target) {
            Some(CanvasTarget::Element(_)) => (device_w, device_h),
            Some(t @ CanvasTarget::Offscreen(_)) if t.width() > 0 && t.height() > 0 => {
                (t.width(), t.height())
            }
            _ => (1024, 768),
        };
        let mut config = Config {
            width: get_u32(&options, "width", device_w).max(1),
            height: get_u32(&options, "height", device_h).max(1),
            dpi: get_u32(&options, "dpi", device_dpi),
            timezone: get(&options, "timezone").as_string(),
            ..Config::default()
        };
        if let Ok(params) = get(&options, "params").dyn_into::<Object>() {
            for entry in Object::entries(&params).iter() {
                let pair: Array = entry.unchecked_into();
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    config.params.insert(k, v);
                }
            }
        }
        for (key, list) in [("audio", &mut config.audio), ("image", &mut config.image)] {
            if let Ok(a) = get(&options, key).dyn_into::<Array>() {
                *list = a.iter().filter_map(|v| v.as_string()).collect();
            }
        }
        let oninstruction = get(&options, "oninstruction").dyn_into::<Function>().ok();
        let inner = Rc::new_cyclic(|weak| {
            RefCell::new(Inner {
                client: Client::new(config),
                view,
                headless: Headless::default(),
                tap: oninstruction
                    .as_ref()
                    .map(|_| crate::core::guac::parser::Parser::new()),
                oninstruction,
                frame_hook: None,
                error_hook: None,
                frames: VecDeque::new(),
                open: Vec::new(),
                send,
                cb: Callbacks::default(),
                downloads: HashMap::new(),
                audio: super::audio::Audio::default(),
                disable_copy: get(&options, "disableCopy").is_truthy(),
                disable_paste: get(&options, "disablePaste").is_truthy(),
                keypad_enter: get(&options, "keypadEnter").is_truthy(),
                auto_scale: get(&options, "autoScale").as_bool().unwrap_or(true),
                keyboard_enabled: true,
                keys_down: Vec::new(),
                sync_lag_ms: None,
                upload_progress: HashMap::new(),
                scale: std::cell::Cell::new(1.0),
                frames_applied: 0,
                pending_image_bytes: 0,
                pending_ops: 0,
                failed: None,
                upload_sources: HashMap::new(),
                decode_queue: VecDeque::new(),
                decoding: 0,
                last_size: (0, 0),
                composited: std::cell::Cell::new(false),
                drawn: Vec::new(),
                slice_scheduled: false,
                slicer: None,
                cursor_frame: None,
                self_ref: weak.clone(),
            })
        });
        let c = GuacamoleClient {
            inner,
            listeners: RefCell::default(),
        };
        let mode = get(&options, "mode")
            .as_string()
            .unwrap_or_else(|| "gateway".into());
        {
            let mut i = c.inner.borrow_mut();
            if mode == "direct" {
                let protocol = get(&options, "protocol")
                    .as_string()
                    .unwrap_or_else(|| "ssh".into());
                i.client.connect(&protocol);
            } else {
                i.client.attach();
            }
        }
        c.inner.borrow().prepare_target(None);
        Inner::pump(&c.inner);
        Ok(c)
    }

    /// A second handle on the same session (no input listeners of its own).
    pub(crate) fn clone_handle(&self) -> GuacamoleClient {
        GuacamoleClient {
            inner: self.inner.clone(),
            listeners: RefCell::default(),
        }
    }

    /// Bytes from the server (any split). Throws a `PamLaunchError`: the
    /// parser's code on a protocol error, `RESOURCE_LIMIT` (the message names
    /// the limit) when the server sent more than a limit allows; the session
    /// has then ended (`disconnect` sent).
    pub fn receive(&self, bytes: &[u8]) -> Result<(), JsValue> {
        Inner::tap(&self.inner, bytes);
        let r = self.inner.borrow_mut().client.receive(bytes);
        Inner::pump(&self.inner);
        if let Some(e) = self.inner.borrow_mut().failed.take() {
            return Err(super::error::to_js_error(e));
        }
        r.map_err(|e| super::error::to_js_error(e.into()))
    }

    /// The canvas the session renders into (null when headless).
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "HTMLCanvasElement | OffscreenCanvas | null"
    )]
    pub fn canvas(&self) -> JsValue {
        self.inner
            .borrow()
            .view
            .as_ref()
            .map_or(JsValue::NULL, |v| v.target.js())
    }

    /// "canvas" or "headless".
    #[wasm_bindgen(getter, unchecked_return_type = "\"canvas\" | \"headless\"")]
    pub fn renderer(&self) -> String {
        if self.inner.borrow().view.is_some() {
            "canvas".into()
        } else {
            "headless".into()
        }
    }

    /// 0 idle, 1 connecting, 2 waiting, 3 connected, 4 disconnecting, 5 disconnected.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> u8 {
        self.inner.borrow().client.state() as u8
    }

    /// Frames applied to the display so far.
    #[wasm_bindgen(getter, js_name = framesRendered)]
    pub fn frames_rendered(&self) -> f64 {
        self.inner.borrow().frames_applied as f64
    }

    /// Frames received but not yet applied (waiting for image decoding).
    #[wasm_bindgen(getter, js_name = framesPending)]
    pub fn frames_pending(&self) -> usize {
        self.inner.borrow().frames.len()
    }

    /// Remote display width and height.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.inner.borrow().size().0
    }

    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.inner.borrow().size().1
    }

    /// Layers refused because a hostile stream asked for too many.
    #[wasm_bindgen(getter, js_name = layersRefused)]
    pub fn layers_refused(&self) -> f64 {
        self.inner
            .borrow()
            .view
            .as_ref()
            .map_or(0.0, |v| v.display.refused_layers() as f64)
    }

    /// Canvases the renderer holds for the session's display: one per
    /// layer and buffer (layer 0 included) plus the cursor's and the spare
    /// layer canvases allocated for a frame not drawn yet; the caller's
    /// canvas is not counted. 0 when headless. Read-only (the soak bench
    /// watches it over a long session).
    #[wasm_bindgen(getter, js_name = canvasCount)]
    pub fn canvas_count(&self) -> u32 {
        self.inner.borrow().view.as_ref().map_or(0, |v| {
            u32::try_from(v.display.canvas_count()).unwrap_or(u32::MAX)
        })
    }

    /// CSS pixels per remote pixel.
    #[wasm_bindgen(getter)]
    pub fn scale(&self) -> f64 {
        self.inner.borrow().scale.get()
    }

    /// Sends one key event (also while `keyboardEnabled` is false: that
    /// switch is for the keyboard `attachInput` listens to).
    #[wasm_bindgen(js_name = sendKeyEvent)]
    pub fn send_key_event(&self, keysym: u32, pressed: bool) {
        self.inner.borrow_mut().send_key(keysym, pressed);
        self.inner.borrow_mut().send_output();
    }

    /// true (default): the remote display is scaled to fit the canvas's CSS
    /// box; false: 1:1, the canvas's bitmap is the remote size in device
    /// pixels (size its CSS box to `width / devicePixelRatio` x
    /// `height / devicePixelRatio` and let a container scroll). Setting it
    /// redraws; the mouse maps through the scale in effect either way.
    #[wasm_bindgen(getter = autoScale)]
    pub fn auto_scale(&self) -> bool {
        self.inner.borrow().auto_scale
    }

    #[wasm_bindgen(setter = autoScale)]
    pub fn set_auto_scale(&self, on: bool) {
        self.inner.borrow_mut().auto_scale = on;
        self.inner.borrow().composite_quiet();
    }

    /// true (default): keys typed into the attached element go to the
    /// server. false: they are left to the page (not sent, not prevented)
    /// and every key held on the remote side is released at once; the
    /// mouse, paste and `sendKeyEvent` still work.
    #[wasm_bindgen(getter = keyboardEnabled)]
    pub fn keyboard_enabled(&self) -> bool {
        self.inner.borrow().keyboard_enabled
    }

    #[wasm_bindgen(setter = keyboardEnabled)]
    pub fn set_keyboard_enabled(&self, on: bool) {
        {
            let mut i = self.inner.borrow_mut();
            if i.keyboard_enabled == on {
                return;
            }
            i.keyboard_enabled = on;
            if !on {
                for k in std::mem::take(&mut i.keys_down) {
                    i.client.send_key(k, false);
                }
            }
        }
        Inner::pump(&self.inner);
    }

    /// The copy policy in effect (the record's, or the stricter option):
    /// true means the remote clipboard never reaches `onclipboard`.
    #[wasm_bindgen(getter = disableCopy)]
    pub fn disable_copy(&self) -> bool {
        self.inner.borrow().disable_copy
    }

    /// The paste policy in effect: true means `setClipboard` and paste
    /// events send nothing.
    #[wasm_bindgen(getter = disablePaste)]
    pub fn disable_paste(&self) -> bool {
        self.inner.borrow().disable_paste
    }

    /// Stops an upload: no more of its `File` is read, the stream is ended
    /// (`end`), and `onupload(stream, sent, total, "cancelled")` reports it.
    /// False for a stream that is not a running upload.
    #[wasm_bindgen(js_name = cancelUpload)]
    pub fn cancel_upload(&self, stream: i32) -> bool {
        Inner::cancel_upload(&self.inner, stream)
    }

    /// Mouse state in remote pixels; mask bits 1 left, 2 middle, 4 right, 8 up, 16 down.
    #[wasm_bindgen(js_name = sendMouseState)]
    pub fn send_mouse_state(&self, x: i32, y: i32, mask: u8) {
        Inner::mouse(&self.inner, x, y, mask);
    }

    /// Asks the server for a new display size, given in CSS pixels: guacd
    /// gets it × devicePixelRatio, at 96 × devicePixelRatio DPI (or `dpi`).
    pub fn resize(&self, width: u32, height: u32, dpi: Option<u32>) {
        let (w, h, device_dpi) = device_size(width, height);
        self.inner
            .borrow_mut()
            .client
            .send_size(w, h, Some(dpi.unwrap_or(device_dpi)));
        Inner::pump(&self.inner);
        self.inner.borrow().composite_quiet();
    }

    /// Handles mouse, wheel, touch (as mouse), paste and file drop on `element`
    /// (usually the canvas or its container; make it focusable with tabindex).
    #[wasm_bindgen(js_name = attachInput)]
    pub fn attach_input(&self, element: &web_sys::Element) -> Result<(), JsValue> {
        if self.inner.borrow().view.is_none() {
            return Err(to_js_error(Error::unsupported(
                "attachInput needs the canvas renderer: a headless client takes input through sendKeyEvent, sendMouseState, setClipboard and resize",
            )));
        }
        let mut l = self.listeners.borrow_mut();
        l.clear();
        let keypad_enter = self.inner.borrow().keypad_enter;
        let sink: Rc<dyn InputSink> = Rc::new(SessionSink(Rc::downgrade(&self.inner)));
        super::keyboard::attach(&sink, element, keypad_enter, &mut l)?;
        super::input::attach(&sink, element, &mut l);
        Ok(())
    }

    /// Gives the keyboard focus to the session (after `attachInput`), so
    /// typing reaches the remote side without a click first.
    pub fn focus(&self) {
        self.listeners.borrow().focus();
    }

    /// Removes the listeners `attachInput` added.
    #[wasm_bindgen(js_name = detachInput)]
    pub fn detach_input(&self) {
        self.listeners.borrow_mut().clear();
    }

    /// Uploads a `File` (from a file input or a drop), read from the file a
    /// chunk at a time as the server's acks ask for more (never whole).
    /// Returns the stream index, or undefined when the session cannot send.
    #[wasm_bindgen(js_name = uploadBrowserFile)]
    pub fn upload_browser_file(&self, file: web_sys::File) -> Option<i32> {
        Inner::upload_file_streamed(&self.inner, file)
    }

    /// Sends text to the remote clipboard (false when disablePaste). Throws
    /// `RESOURCE_LIMIT` above the paste limit (16 MiB of UTF-8); nothing is
    /// sent then and the session goes on.
    #[wasm_bindgen(js_name = setClipboard)]
    pub fn set_clipboard(&self, text: &str) -> Result<bool, JsValue> {
        if text.len() > MAX_PASTE_BYTES {
            return Err(super::error::to_js_error(Limit::PasteBytes.error()));
        }
        let sent = {
            let mut i = self.inner.borrow_mut();
            !i.disable_paste
                && i.client
                    .send_clipboard("text/plain", text.as_bytes())
                    .is_some()
        };
        Inner::pump(&self.inner);
        Ok(sent)
    }

    /// Uploads a file; progress through `onupload(stream, sent, total, status)`.
    #[wasm_bindgen(js_name = uploadFile)]
    pub fn upload_file(&self, name: &str, mimetype: &str, data: &[u8]) -> Option<i32> {
        let s = {
            let mut i = self.inner.borrow_mut();
            let s = i.client.send_file(mimetype, name, data.to_vec());
            if let Some(s) = s {
                i.upload_progress.insert(s, (0, data.len() as u64));
            }
            s
        };
        Inner::pump(&self.inner);
        s
    }

    /// End of stream (a recording played to its end): draws the operations
    /// that came after the last `sync` too. A live session never needs this.
    #[wasm_bindgen(js_name = flushPending)]
    pub fn flush_pending(&self) {
        let headless_tail = {
            let i = self.inner.borrow();
            i.view.is_none() && i.headless.ops > 0 && i.failed.is_none()
        };
        if headless_tail {
            Inner::headless_frame(&self.inner, None);
            return;
        }
        {
            let mut i = self.inner.borrow_mut();
            if !i.open.is_empty() && i.failed.is_none() {
                let items = std::mem::take(&mut i.open);
                i.frames.push_back(Frame {
                    items,
                    timestamp: None,
                    arrived: crate::web::clock::monotonic_ms(),
                    done: 0,
                    painted: false,
                });
            }
        }
        Inner::flush(&self.inner);
    }

    /// Ends the session cleanly (tells the server).
    pub fn disconnect(&self) {
        self.inner.borrow_mut().client.disconnect();
        Inner::pump(&self.inner);
    }

    /// Keep-alive: call periodically with a millisecond clock (e.g. every second).
    pub fn tick(&self, now_ms: f64) {
        self.inner.borrow_mut().client.tick(now_ms.max(0.0) as u64);
        Inner::pump(&self.inner);
    }

    /// The remote display at 1:1, composited (no cursor): for tests and
    /// screenshots. A `<canvas>` where there is a document, else (a Worker)
    /// an `OffscreenCanvas`.
    #[wasm_bindgen(unchecked_return_type = "HTMLCanvasElement | OffscreenCanvas")]
    pub fn snapshot(&self) -> Result<JsValue, JsValue> {
        let i = self.inner.borrow();
        let view = i.view.as_ref().ok_or_else(|| {
            to_js_error(Error::unsupported(
                "snapshot needs the canvas renderer: a headless client draws nothing",
            ))
        })?;
        let (w, h) = view.display.size();
        let (canvas, ctx) = new_canvas(w, h)?;
        view.display.composite(&ctx, false)?;
        Ok(canvas.into())
    }

    /// Redraws the canvas (after the page resized it).
    pub fn redraw(&self) -> Result<(), JsValue> {
        self.inner.borrow().composite()
    }

    /// Every instruction the server sent, as it arrives: `(opcode, args)`
    /// (blob and img payloads as their base64 text).
    #[wasm_bindgen(setter = oninstruction)]
    pub fn set_oninstruction(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "((opcode: string, args: string[]) => void) | null | undefined"
        )]
        f: JsValue,
    ) {
        let mut i = self.inner.borrow_mut();
        i.oninstruction = f.dyn_into::<Function>().ok();
        if i.oninstruction.is_none() {
            i.tap = None;
        } else if i.tap.is_none() {
            i.tap = Some(crate::core::guac::parser::Parser::new());
        }
    }
}

macro_rules! callback_setters {
    ($($field:ident => $js:literal),* $(,)?) => {
        #[wasm_bindgen]
        impl GuacamoleClient {
            $(
                #[wasm_bindgen(setter = $js)]
                pub fn $field(&self, f: Option<Function>) {
                    self.inner.borrow_mut().cb.$field = f;
                }
            )*
        }
    };
}

callback_setters! {
    onstatechange => "onstatechange",
    onerror => "onerror",
    onclipboard => "onclipboard",
    onname => "onname",
    onframe => "onframe",
    onlog => "onlog",
    onresize => "onresize",
    onrequired => "onrequired",
    onargv => "onargv",
}

#[wasm_bindgen]
impl GuacamoleClient {
    /// Downloads the server offers. Without a handler every download is
    /// refused (an error `ack`, UNSUPPORTED, as guacamole-common-js does) and
    /// nothing is saved; with one, the handler gets a `FileOffer` and the
    /// download starts only on `offer.accept()`.
    /// Upload progress and outcome (see `UploadStatus`).
    #[wasm_bindgen(setter = onupload)]
    pub fn set_onupload(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UploadCallback | null | undefined")] f: JsValue,
    ) {
        self.inner.borrow_mut().cb.onupload = f.dyn_into::<Function>().ok();
    }

    #[wasm_bindgen(setter = onfile)]
    pub fn set_onfile(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((offer: FileOffer) => void) | null | undefined")]
        f: JsValue,
    ) {
        self.inner.borrow_mut().cb.onfile = f.dyn_into::<Function>().ok();
    }
}

impl GuacamoleClient {
    /// `launch()`'s hook on every completed frame.
    pub(crate) fn set_frame_hook(&self, hook: Option<FrameHook>) {
        self.inner.borrow_mut().frame_hook = hook;
    }

    /// `launch()`'s hook on guacd's `error` instruction.
    pub(crate) fn set_error_hook(&self, hook: Option<ErrorHook>) {
        self.inner.borrow_mut().error_hook = hook;
    }

    /// How long the last answered `sync` waited (ms), for `session.stats`.
    pub(crate) fn sync_lag_ms(&self) -> Option<f64> {
        self.inner.borrow().sync_lag_ms
    }
}

impl Inner {
    /// The remote display size (layer 0).
    fn size(&self) -> (u32, u32) {
        match &self.view {
            Some(v) => v.display.size(),
            None => (self.headless.width, self.headless.height),
        }
    }

    /// The canvas element input maps pointer positions on (none when
    /// headless or on an OffscreenCanvas) and its CSS scale.
    pub(crate) fn pointer_geometry(
        this: &Rc<RefCell<Inner>>,
    ) -> (Option<web_sys::HtmlCanvasElement>, f64) {
        let i = this.borrow();
        (
            i.view.as_ref().and_then(|v| v.target.element().cloned()),
            i.scale.get(),
        )
    }

    /// `oninstruction`: the server's bytes through a parser of their own.
    /// Its errors are the session's too (the client's parser reports them).
    fn tap(this: &Rc<RefCell<Inner>>, bytes: &[u8]) {
        let Some(f) = this.borrow().oninstruction.clone() else {
            return;
        };
        let mut list: Vec<(String, Array)> = Vec::new();
        {
            let mut i = this.borrow_mut();
            let Some(p) = i.tap.as_mut() else {
                return;
            };
            let r = p.receive(bytes, |inst| {
                list.push((
                    inst.opcode().to_owned(),
                    inst.args().map(JsValue::from).collect(),
                ));
            });
            if r.is_err() {
                i.tap = None;
            }
        }
        for (op, args) in list {
            let _ = f.call2(&JsValue::NULL, &op.into(), &args);
        }
    }

    /// The mouse from the attached input (or `sendMouseState`): the
    /// instruction is handed to `send` here, synchronously, before anything
    /// else (no frame is applied first). The cursor is redrawn at the next
    /// animation frame, once for any number of moves.
    pub(crate) fn mouse(this: &Rc<RefCell<Inner>>, x: i32, y: i32, mask: u8) {
        {
            let mut i = this.borrow_mut();
            i.client.send_mouse(x, y, mask);
            if let Some(v) = i.view.as_mut() {
                v.display.set_pointer(x, y);
            }
        }
        this.borrow_mut().send_output();
        Inner::redraw_cursor(this);
    }

    /// Composites at the next animation frame (one pending at a time), so
    /// the cursor follows the mouse without a composite per event; at once
    /// where the scope has no animation frames.
    fn redraw_cursor(this: &Rc<RefCell<Inner>>) {
        {
            let i = this.borrow();
            if i.view.is_none() || i.cursor_frame.is_some() {
                return;
            }
        }
        let weak = Rc::downgrade(this);
        let frame = canvas::request_animation_frame("the cursor", move |_t| {
            if let Some(inner) = weak.upgrade() {
                let fired = inner.borrow_mut().cursor_frame.take();
                inner.borrow().composite_quiet();
                drop(fired);
            }
        });
        match frame {
            Ok(f) => this.borrow_mut().cursor_frame = Some(f),
            Err(_) => this.borrow().composite_quiet(),
        }
    }

    /// Sends `key` instructions for `(keysym, pressed)` pairs from the
    /// attached keyboard, in order; nothing while `keyboardEnabled` is false.
    /// Handed to `send` at once, in the handler.
    pub(crate) fn keys(this: &Rc<RefCell<Inner>>, keys: &[(u32, bool)]) {
        {
            let mut i = this.borrow_mut();
            if !i.keyboard_enabled {
                return;
            }
            for &(keysym, pressed) in keys {
                i.send_key(keysym, pressed);
            }
        }
        this.borrow_mut().send_output();
    }

    /// One `key` instruction, with the remote side's held keys tracked.
    fn send_key(&mut self, keysym: u32, pressed: bool) {
        self.client.send_key(keysym, pressed);
        if pressed {
            if !self.keys_down.contains(&keysym) && self.keys_down.len() < MAX_KEYS_DOWN {
                self.keys_down.push(keysym);
            }
        } else {
            self.keys_down.retain(|k| *k != keysym);
        }
    }

    /// [`GuacamoleClient::cancel_upload`].
    fn cancel_upload(this: &Rc<RefCell<Inner>>, stream: i32) -> bool {
        let (cancelled, progress, f) = {
            let mut i = this.borrow_mut();
            let cancelled = i.client.upload_cancel(stream);
            i.upload_sources.remove(&stream);
            let progress = i.upload_progress.remove(&stream).unwrap_or((0, 0));
            (cancelled, progress, i.cb.onupload.clone())
        };
        Inner::pump(this);
        if cancelled {
            report_upload(&f, stream, progress, "cancelled", None);
        }
        cancelled
    }

    /// Whether pasting to the remote clipboard is allowed (not `disablePaste`).
    pub(crate) fn paste_allowed(this: &Rc<RefCell<Inner>>) -> bool {
        !this.borrow().disable_paste
    }

    /// A paste event: sent unless `disablePaste`; above the paste limit it
    /// is refused and `onlog` says why (the session goes on).
    pub(crate) fn paste(this: &Rc<RefCell<Inner>>, text: &str) {
        if text.len() > MAX_PASTE_BYTES {
            let log = this.borrow().cb.onlog.clone();
            call1(&log, &Limit::PasteBytes.error().message().into());
            return;
        }
        {
            let mut i = this.borrow_mut();
            if !i.disable_paste {
                i.client.send_clipboard("text/plain", text.as_bytes());
            }
        }
        Inner::pump(this);
    }

    /// Starts an upload read from `file` a chunk at a time.
    pub(crate) fn upload_file_streamed(
        this: &Rc<RefCell<Inner>>,
        file: web_sys::File,
    ) -> Option<i32> {
        let name = file.name();
        let mime = if file.type_().is_empty() {
            "application/octet-stream".to_owned()
        } else {
            file.type_()
        };
        let size = file.size();
        let total = (size.is_finite() && size >= 0.0).then_some(size as u64);
        let stream = {
            let mut i = this.borrow_mut();
            let s = i.client.send_file_streamed(&mime, &name, total);
            if let Some(s) = s {
                i.upload_sources.insert(s, file);
                i.upload_progress.insert(s, (0, total.unwrap_or(0)));
            }
            s
        };
        Inner::pump(this);
        stream
    }

    /// Reads the next chunk of an upload's `File` and hands it to the client.
    fn read_upload_chunk(this: &Rc<RefCell<Inner>>, stream: i32, offset: u64, max: usize) {
        let Some(file) = this.borrow().upload_sources.get(&stream).cloned() else {
            return;
        };
        let weak = Rc::downgrade(this);
        let start = offset as f64;
        let end = (start + max as f64).min(file.size());
        let promise = file
            .slice_with_f64_and_f64(start, end.max(start))
            .map(|b| b.array_buffer());
        wasm_bindgen_futures::spawn_local(async move {
            let bytes = match promise {
                Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
                    .await
                    .map(|buf| Uint8Array::new(&buf).to_vec()),
                Err(e) => Err(e),
            };
            let Some(inner) = weak.upgrade() else {
                return;
            };
            {
                let mut i = inner.borrow_mut();
                match bytes {
                    Ok(b) => {
                        i.client.upload_data(stream, &b);
                    }
                    Err(_) => i.client.upload_abort(stream, "the file could not be read"),
                }
            }
            Inner::pump(&inner);
        });
    }

    /// Handles the client's events, flushes ready frames, and sends output.
    fn pump(this: &Rc<RefCell<Inner>>) {
        loop {
            let ev = this.borrow_mut().client.poll_event();
            let Some(ev) = ev else { break };
            Inner::on_event(this, ev);
        }
        Inner::flush(this);
        this.borrow_mut().send_output();
    }

    /// A limit of the web side (queued frames, images, operations) was
    /// exceeded: the session ends (`disconnect` sent), `onerror` hears the
    /// sentence, and the next `receive` throws `RESOURCE_LIMIT`.
    fn overrun(this: &Rc<RefCell<Inner>>, limit: Limit) {
        let e = limit.error();
        let onerror = {
            let mut i = this.borrow_mut();
            if i.failed.is_some() || i.client.state() as u8 >= 4 {
                return;
            }
            i.frames.clear();
            i.drawn.clear();
            i.open.clear();
            i.decode_queue.clear();
            i.pending_image_bytes = 0;
            i.pending_ops = 0;
            i.failed = Some(e.clone());
            i.upload_sources.clear();
            i.upload_progress.clear();
            i.client.disconnect();
            i.cb.onerror.clone()
        };
        call1(&onerror, &status_error(Status::CLIENT_OVERRUN, e.message()));
        Inner::fail_downloads(this, e.message());
    }

    /// The session ended: every running download's promise rejects.
    fn fail_downloads(this: &Rc<RefCell<Inner>>, message: &str) {
        let rejects: Vec<Function> = this
            .borrow_mut()
            .downloads
            .drain()
            .map(|(_, d)| d.reject)
            .collect();
        for r in rejects {
            let _ = r.call1(&JsValue::NULL, &js_sys::Error::new(message));
        }
    }

    fn send_output(&mut self) {
        let out = self.client.take_output();
        if !out.is_empty() {
            let _ = self
                .send
                .call1(&JsValue::NULL, &Uint8Array::from(out.as_slice()));
        }
    }

    fn on_event(this: &Rc<RefCell<Inner>>, ev: Event) {
        let mut i = this.borrow_mut();
        if i.view.is_none() {
            match ev {
                Event::Op(op) => {
                    i.headless_op(&op);
                    return;
                }
                Event::Frame { timestamp, .. } => {
                    drop(i);
                    Inner::headless_frame(this, Some(timestamp));
                    return;
                }
                other => {
                    drop(i);
                    Inner::on_event_common(this, other);
                    return;
                }
            }
        }
        match ev {
            Event::Op(DisplayOp::Image {
                mask,
                layer,
                x,
                y,
                mimetype,
                data,
            }) => {
                let slot = Rc::new(RefCell::new(Slot::Decoding));
                i.pending_image_bytes += data.len();
                i.pending_ops += 1;
                i.open.push(Item::Image {
                    slot: slot.clone(),
                    mask,
                    layer,
                    x,
                    y,
                    bytes: data.len(),
                });
                if i.pending_image_bytes > MAX_PENDING_IMAGE_BYTES {
                    drop(i);
                    Inner::overrun(this, Limit::PendingImageBytes);
                    return;
                }
                if i.pending_ops > MAX_PENDING_OPS {
                    drop(i);
                    Inner::overrun(this, Limit::PendingOps);
                    return;
                }
                i.decode_queue.push_back((slot, mimetype, data));
                drop(i);
                Inner::start_decodes(this);
            }
            Event::Op(op) => {
                if let DisplayOp::Size {
                    layer,
                    width,
                    height,
                } = op
                {
                    // The layer's canvas is allocated now, while the rest of
                    // the frame arrives, not when the frame is drawn.
                    if let Some(v) = i.view.as_mut() {
                        let _ = v.display.prepare(layer, width, height);
                    }
                    if layer == 0 && !i.composited.get() {
                        i.prepare_target(Some((width, height)));
                    }
                }
                i.open.push(Item::Op(op));
                i.pending_ops += 1;
                if i.pending_ops > MAX_PENDING_OPS {
                    drop(i);
                    Inner::overrun(this, Limit::PendingOps);
                }
            }
            Event::Frame { timestamp, .. } => {
                let items = std::mem::take(&mut i.open);
                i.frames.push_back(Frame {
                    items,
                    timestamp: Some(timestamp),
                    arrived: crate::web::clock::monotonic_ms(),
                    done: 0,
                    painted: false,
                });
                if i.frames.len() > MAX_PENDING_FRAMES {
                    drop(i);
                    Inner::overrun(this, Limit::PendingFrames);
                    return;
                }
                if i.frames.len() == PENDING_FRAMES_WARN {
                    let log = i.cb.onlog.clone();
                    drop(i);
                    call1(&log, &"many frames are waiting for image decoding".into());
                }
            }
            other => {
                drop(i);
                Inner::on_event_common(this, other);
            }
        }
    }

    /// The events both renderers handle alike (all but drawing and frames).
    fn on_event_common(this: &Rc<RefCell<Inner>>, ev: Event) {
        let mut i = this.borrow_mut();
        match ev {
            Event::Op(_) | Event::Frame { .. } => {}
            Event::State(s) => {
                let f = i.cb.onstatechange.clone();
                let ended = s == crate::core::guac::client::State::Disconnected;
                if ended {
                    i.upload_sources.clear();
                    i.upload_progress.clear();
                }
                drop(i);
                call1(&f, &JsValue::from(s as u8));
                if ended {
                    // A download still running never completes now.
                    Inner::fail_downloads(this, "the session ended before the download finished");
                }
            }
            Event::Error { status, message } => {
                let f = i.cb.onerror.clone();
                let hook = i.error_hook.clone();
                drop(i);
                if let Some(h) = hook {
                    h(status.0, &message);
                }
                call1(&f, &status_error(status, &message));
                Inner::fail_downloads(this, &message);
            }
            Event::Clipboard { mimetype, data } => {
                if i.disable_copy {
                    return;
                }
                let f = i.cb.onclipboard.clone();
                drop(i);
                let text = String::from_utf8_lossy(&data).into_owned();
                call2(&f, &text.into(), &mimetype.into());
            }
            Event::Name(n) => {
                let f = i.cb.onname.clone();
                drop(i);
                call1(&f, &n.into());
            }
            Event::FileStart {
                stream,
                mimetype,
                filename,
            } => {
                let Some(f) = i.cb.onfile.clone() else {
                    // No handler: refused, nothing saved (guacamole-common-js
                    // answers UNSUPPORTED without an onfile too).
                    i.client
                        .reject_file(stream, "UNSUPPORTED", Status::UNSUPPORTED);
                    let log = i.cb.onlog.clone();
                    drop(i);
                    call1(
                        &log,
                        &format!("a download from the server was refused (no onfile handler): {filename}")
                            .into(),
                    );
                    return;
                };
                let weak = i.self_ref.clone();
                drop(i);
                let offer = file_offer(weak, stream, &filename, &mimetype);
                if f.call1(&JsValue::NULL, &offer).is_err() {
                    // A handler that throws has not accepted: refuse.
                    let mut i = this.borrow_mut();
                    if !i.downloads.contains_key(&stream) {
                        i.client
                            .reject_file(stream, "UNSUPPORTED", Status::UNSUPPORTED);
                    }
                }
            }
            Event::FileData { stream, data } => {
                if let Some(d) = i.downloads.get(&stream) {
                    d.chunks.push(&Uint8Array::from(data.as_slice()));
                }
            }
            Event::FileEnd { stream } => {
                let Some(d) = i.downloads.remove(&stream) else {
                    return;
                };
                drop(i);
                let opts = web_sys::BlobPropertyBag::new();
                opts.set_type(&d.mimetype);
                match web_sys::Blob::new_with_u8_array_sequence_and_options(&d.chunks, &opts) {
                    Ok(blob) => {
                        let _ = d.resolve.call1(&JsValue::NULL, &blob);
                    }
                    Err(e) => {
                        let _ = d.reject.call1(&JsValue::NULL, &e);
                    }
                }
            }
            Event::UploadNeedsData {
                stream,
                offset,
                max,
            } => {
                drop(i);
                Inner::read_upload_chunk(this, stream, offset, max);
            }
            Event::UploadProgress {
                stream,
                sent,
                total,
            } => {
                if let Some(p) = i.upload_progress.get_mut(&stream) {
                    *p = (sent, total);
                }
                let f = i.cb.onupload.clone();
                drop(i);
                report_upload(&f, stream, (sent, total), "progress", None);
            }
            Event::UploadDone { stream } => {
                i.upload_sources.remove(&stream);
                let progress = i.upload_progress.remove(&stream).unwrap_or((0, 0));
                let f = i.cb.onupload.clone();
                drop(i);
                report_upload(&f, stream, progress, "done", None);
            }
            Event::UploadFailed {
                stream, message, ..
            } => {
                i.upload_sources.remove(&stream);
                let progress = i.upload_progress.remove(&stream).unwrap_or((0, 0));
                let f = i.cb.onupload.clone();
                drop(i);
                report_upload(&f, stream, progress, "error", Some(&message));
            }
            Event::Required(names) => {
                let f = i.cb.onrequired.clone();
                drop(i);
                call1(&f, &names.iter().map(JsValue::from).collect::<Array>());
            }
            Event::Argv { name, value, .. } => {
                let f = i.cb.onargv.clone();
                drop(i);
                call2(
                    &f,
                    &name.into(),
                    &String::from_utf8_lossy(&value).into_owned().into(),
                );
            }
            Event::Log(msg) => {
                let f = i.cb.onlog.clone();
                drop(i);
                call1(&f, &msg.into());
            }
            Event::Ready { .. }
            | Event::Ack { .. }
            | Event::Msg { .. }
            | Event::Pipe { .. }
            | Event::PipeData { .. } => {}
            Event::AudioStart { stream, mimetype } => {
                if !i.audio.start(stream, &mimetype) {
                    let log = i.cb.onlog.clone();
                    drop(i);
                    call1(
                        &log,
                        &format!("audio stream {stream} has an unplayable format").into(),
                    );
                }
            }
            Event::AudioData { stream, data } => {
                if let Err(e) = i.audio.play(stream, &data) {
                    let log = i.cb.onlog.clone();
                    drop(i);
                    call1(
                        &log,
                        &format!("audio could not play: {}", js_message(&e)).into(),
                    );
                }
            }
            Event::AudioEnd { stream } => i.audio.end(stream),
        }
    }

    /// Applies the leading frames that are closed and fully decoded, in
    /// order, draws the result into the caller's canvas, then answers their
    /// `sync`s and calls `onframe(count, painted)` per frame (`painted`: the
    /// frame put pixels on a visible layer).
    ///
    /// In slices (after the first frame): after [`SLICE_MS`] of applying,
    /// the rest (of this frame or the next) waits for a task of its own
    /// ([`Inner::schedule_slice`]), so that input events and data-channel
    /// messages run in between. The caller's canvas is composited only at a
    /// frame boundary, never with a frame half applied ([`Inner::composite`]
    /// refuses then), and a frame's `sync` is answered only after the
    /// composite that shows it. While a slice is scheduled, other calls (a
    /// message, a decoded image) leave the work to it, so one task never
    /// runs two slices.
    fn flush(this: &Rc<RefCell<Inner>>) {
        if this.borrow().slice_scheduled {
            return;
        }
        // The first frame goes in one piece (nobody types before it, and
        // launch -> first frame is a figure of its own); later ones in slices.
        let deadline = if this.borrow().frames_applied == 0 {
            f64::INFINITY
        } else {
            crate::web::clock::monotonic_ms() + SLICE_MS
        };
        let mut out_of_time = false;
        loop {
            let mut i = this.borrow_mut();
            let ready = match i.frames.front() {
                Some(f) => f.items.iter().skip(f.done).all(|it| match it {
                    Item::Image { slot, .. } => !matches!(*slot.borrow(), Slot::Decoding),
                    Item::Op(_) => true,
                }),
                None => false,
            };
            if !ready {
                out_of_time = false; // nothing to continue: the next image or message calls again
                break;
            }
            if out_of_time {
                break;
            }
            let mut errors = Vec::new();
            let finished = {
                let Inner {
                    frames,
                    view,
                    pending_image_bytes,
                    ..
                } = &mut *i;
                let Some(frame) = frames.front_mut() else {
                    break;
                };
                while frame.done < frame.items.len() {
                    if frame.done % SLICE_CHECK_EVERY == 0
                        && frame.done > 0
                        && crate::web::clock::monotonic_ms() >= deadline
                    {
                        out_of_time = true;
                        break;
                    }
                    let Some(item) = frame.items.get(frame.done) else {
                        break;
                    };
                    frame.done += 1;
                    let r = match item {
                        Item::Op(op) => {
                            frame.painted |= op.paints_visible();
                            view.as_mut().map_or(Ok(()), |v| v.display.apply(op))
                        }
                        Item::Image {
                            slot,
                            mask,
                            layer,
                            x,
                            y,
                            bytes,
                        } => match std::mem::replace(&mut *slot.borrow_mut(), Slot::Failed) {
                            // Drawn, then closed (dropped).
                            Slot::Ready(img) => {
                                frame.painted |= *layer >= 0;
                                *pending_image_bytes = pending_image_bytes.saturating_sub(*bytes);
                                view.as_mut().map_or(Ok(()), |v| {
                                    v.display.draw_image(*mask, *layer, *x, *y, &img)
                                })
                            }
                            _ => {
                                *pending_image_bytes = pending_image_bytes.saturating_sub(*bytes);
                                errors.push("an image could not be decoded; skipped".to_string());
                                Ok(())
                            }
                        },
                    };
                    if let Err(e) = r {
                        errors.push(format!("a drawing operation failed: {}", js_message(&e)));
                    }
                }
                frame.done >= frame.items.len()
            };
            if finished {
                if let Some(frame) = i.frames.pop_front() {
                    i.pending_ops = i.pending_ops.saturating_sub(frame.items.len());
                    i.frames_applied += 1;
                    let ops = frame.items.len().min(u32::MAX as usize) as u32;
                    let count = i.frames_applied;
                    i.drawn
                        .push((count, frame.painted, ops, frame.timestamp, frame.arrived));
                }
                if crate::web::clock::monotonic_ms() >= deadline {
                    out_of_time = true;
                }
            }
            let log = i.cb.onlog.clone();
            drop(i);
            for e in errors {
                call1(&log, &e.into());
            }
        }
        if out_of_time {
            Inner::schedule_slice(this);
        }
        Inner::finish_drawn(this);
    }

    /// The frames applied since the last composite: composited (unless a
    /// frame is half applied: then at the end of that one), their `sync`s
    /// answered, `onresize` if the size changed, then the frame hook and
    /// `onframe` per frame.
    fn finish_drawn(this: &Rc<RefCell<Inner>>) {
        let drawn = {
            let mut i = this.borrow_mut();
            if i.drawn.is_empty() || i.frame_in_progress() {
                return;
            }
            i.composite_quiet();
            let drawn = std::mem::take(&mut i.drawn);
            // After the composite: a frame counts as drawn once it is in
            // the caller's canvas (launch() stamps the first one as firstFrame).
            let now = crate::web::clock::monotonic_ms();
            for &(_, _, _, timestamp, arrived) in &drawn {
                if let Some(ts) = timestamp {
                    i.client.frame_rendered(ts);
                    let lag = now - arrived;
                    i.sync_lag_ms = Some((lag.max(0.0) * 10.0).round() / 10.0);
                }
            }
            drawn
        };
        {
            let i = this.borrow();
            let size = i.size();
            let resized = size != i.last_size;
            let onresize = i.cb.onresize.clone();
            drop(i);
            if resized {
                this.borrow_mut().last_size = size;
                call2(&onresize, &size.0.into(), &size.1.into());
            }
        }
        let (onframe, hook, (width, height)) = {
            let i = this.borrow();
            (i.cb.onframe.clone(), i.frame_hook.clone(), i.size())
        };
        let at = crate::web::clock::monotonic_ms();
        for (count, painted, ops, timestamp, _) in drawn {
            if let Some(h) = &hook {
                h(FrameInfo {
                    frame: count,
                    ops,
                    width,
                    height,
                    at,
                    timestamp,
                    painted,
                });
            }
            call2(
                &onframe,
                &JsValue::from(count as f64),
                &JsValue::from(painted),
            );
        }
    }

    /// The frame at the front of the queue is partly applied to the layers.
    fn frame_in_progress(&self) -> bool {
        self.frames.front().is_some_and(|f| f.done > 0)
    }

    /// Posts the next slice of [`Inner::flush`] as a task of its own (a
    /// `MessageChannel` message); where the scope has no `MessageChannel`,
    /// a zero timeout. The slice sends what it produced (the `sync`s).
    fn schedule_slice(this: &Rc<RefCell<Inner>>) {
        if this.borrow().slice_scheduled {
            return;
        }
        this.borrow_mut().slice_scheduled = true;
        let weak = Rc::downgrade(this);
        let run = move || {
            if let Some(inner) = weak.upgrade() {
                inner.borrow_mut().slice_scheduled = false;
                Inner::flush(&inner);
                inner.borrow_mut().send_output();
            }
        };
        if this.borrow().slicer.is_none() {
            let slicer = Slicer::new(run.clone());
            this.borrow_mut().slicer = slicer;
        }
        let posted = this
            .borrow()
            .slicer
            .as_ref()
            .is_some_and(|s| s.post.call1(&s.port2, &JsValue::UNDEFINED).is_ok());
        if !posted {
            gloo_timers::callback::Timeout::new(0, run).forget();
        }
    }

    /// Headless: a frame closed by its `sync` (or the tail at end of
    /// stream) is complete at once: counted, answered, reported.
    fn headless_frame(this: &Rc<RefCell<Inner>>, timestamp: Option<u64>) {
        let (info, onframe, hook) = {
            let mut i = this.borrow_mut();
            let h = std::mem::take(&mut i.headless.ops);
            let painted = std::mem::take(&mut i.headless.painted);
            i.frames_applied += 1;
            if let Some(ts) = timestamp {
                // Answered as it closes: no wait.
                i.client.frame_rendered(ts);
                i.sync_lag_ms = Some(0.0);
            }
            let info = FrameInfo {
                frame: i.frames_applied,
                ops: h,
                width: i.headless.width,
                height: i.headless.height,
                at: crate::web::clock::monotonic_ms(),
                timestamp,
                painted,
            };
            (info, i.cb.onframe.clone(), i.frame_hook.clone())
        };
        if let Some(h) = hook {
            h(info);
        }
        call1(&onframe, &info.to_js());
    }

    /// Headless: an operation of the open frame (nothing is kept).
    fn headless_op(&mut self, op: &DisplayOp) {
        self.headless.ops = self.headless.ops.saturating_add(1);
        self.headless.painted |= op.paints_visible();
        if let DisplayOp::Size {
            layer: 0,
            width,
            height,
        } = *op
        {
            self.headless.width = width;
            self.headless.height = height;
        }
    }

    /// Starts queued image decodes, up to [`MAX_DECODES_IN_FLIGHT`].
    fn start_decodes(this: &Rc<RefCell<Inner>>) {
        loop {
            let (job, weak) = {
                let mut i = this.borrow_mut();
                if i.decoding >= MAX_DECODES_IN_FLIGHT {
                    return;
                }
                let Some(job) = i.decode_queue.pop_front() else {
                    return;
                };
                i.decoding += 1;
                (job, i.self_ref.clone())
            };
            let (slot, mimetype, data) = job;
            decode_image(slot, mimetype, data, weak);
        }
    }

    fn composite_quiet(&self) {
        let _ = self.composite();
    }

    /// Before the first frame: gives the caller's canvas the bitmap size
    /// the first composite will give it and allocates that bitmap, so the
    /// first frame does not wait for it. Scaled to fit: the CSS box ×
    /// devicePixelRatio (known from the start); 1:1, the remote size
    /// (`remote`, from layer 0's first `size`). The canvas stays
    /// transparent, as it was; nothing else changes.
    fn prepare_target(&self, remote: Option<(u32, u32)>) {
        let Some(view) = &self.view else {
            return;
        };
        let (css_w, css_h) = view.target.css_size();
        let size = if self.auto_scale && css_w > 0 && css_h > 0 {
            let dpr = canvas::device_pixel_ratio();
            Some((
                (f64::from(css_w) * dpr).round() as u32,
                (f64::from(css_h) * dpr).round() as u32,
            ))
        } else {
            remote.filter(|&(w, h)| w > 0 && h > 0)
        };
        let Some((w, h)) = size else {
            return;
        };
        if view.target.width() != w || view.target.height() != h {
            view.target.set_size(w, h);
        }
        view.ctx.save();
        view.ctx.restore();
    }

    /// Draws the display into the caller's canvas: scaled to fit its CSS box,
    /// at devicePixelRatio resolution, or 1:1 when the canvas has no layout
    /// size (an OffscreenCanvas). Headless: nothing.
    fn composite(&self) -> JsResult {
        let Some(view) = &self.view else {
            return Ok(());
        };
        if self.frame_in_progress() {
            // Never a frame half applied: its last slice composites.
            return Ok(());
        }
        let (w, h) = view.display.size();
        if w == 0 || h == 0 {
            return Ok(());
        }
        let dpr = canvas::device_pixel_ratio();
        let (css_w, css_h) = view.target.css_size();
        let (css_w, css_h) = (f64::from(css_w), f64::from(css_h));
        let (bw, bh, scale) = if self.auto_scale && css_w > 0.0 && css_h > 0.0 {
            let s = (css_w / f64::from(w)).min(css_h / f64::from(h));
            (
                (css_w * dpr).round() as u32,
                (css_h * dpr).round() as u32,
                s,
            )
        } else {
            (w, h, 1.0)
        };
        if view.target.width() != bw || view.target.height() != bh {
            view.target.set_size(bw, bh);
        }
        let k = if bw == w && bh == h && scale == 1.0 {
            1.0
        } else {
            scale * dpr
        };
        // 1:1: the bitmap is the remote size and the page sizes its CSS box
        // (w / devicePixelRatio): the mouse maps through that box.
        let scale = if !self.auto_scale && css_w > 0.0 {
            css_w / f64::from(w)
        } else {
            scale
        };
        self.scale.set(scale);
        let ctx = &view.ctx;
        ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0)?;
        ctx.clear_rect(0.0, 0.0, bw.into(), bh.into());
        ctx.set_transform(k, 0.0, 0.0, k, 0.0, 0.0)?;
        ctx.set_image_smoothing_enabled(k != 1.0);
        self.composited.set(true);
        view.display.composite(ctx.unchecked_ref(), true)
    }
}

fn js_message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn decode_image(
    slot: Rc<RefCell<Slot>>,
    mimetype: String,
    data: Vec<u8>,
    owner: Weak<RefCell<Inner>>,
) {
    let pending = canvas::start_decode(data, &mimetype);
    wasm_bindgen_futures::spawn_local(async move {
        let result = match pending {
            Ok(p) => p.finish().await,
            Err(e) => Err(e),
        };
        *slot.borrow_mut() = match result {
            Ok(img) => Slot::Ready(img),
            Err(_) => Slot::Failed,
        };
        if let Some(inner) = owner.upgrade() {
            {
                let mut i = inner.borrow_mut();
                i.decoding = i.decoding.saturating_sub(1);
            }
            Inner::start_decodes(&inner);
            Inner::flush(&inner);
            inner.borrow_mut().send_output();
        }
    });
}

/// The object `onfile` gets: `{ stream, name, mimetype, accept(), reject() }`.
/// `accept()` acknowledges the stream and returns a promise of the whole
/// file as a `Blob` (rejected if the session ends first); `reject()` refuses
/// it with an error `ack`. Only the first of the two counts.
fn file_offer(weak: Weak<RefCell<Inner>>, stream: i32, name: &str, mimetype: &str) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"stream".into(), &stream.into());
    let _ = Reflect::set(&o, &"name".into(), &name.into());
    let _ = Reflect::set(&o, &"mimetype".into(), &mimetype.into());
    let decided = Rc::new(std::cell::Cell::new(false));
    let (w, d, mime) = (weak.clone(), decided.clone(), mimetype.to_owned());
    let accept = Closure::<dyn FnMut() -> JsValue>::new(move || {
        let mut slots: Option<(Function, Function)> = None;
        let promise = js_sys::Promise::new(&mut |resolve, reject| slots = Some((resolve, reject)));
        let Some((resolve, reject)) = slots else {
            return promise.into();
        };
        let fail = |msg: &str| {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new(msg));
        };
        if d.replace(true) {
            fail("this download was already accepted or rejected");
            return promise.into();
        }
        let Some(inner) = w.upgrade() else {
            fail("the session has ended");
            return promise.into();
        };
        let accepted = {
            let mut i = inner.borrow_mut();
            let ok = i.client.accept_file(stream);
            if ok {
                i.downloads.insert(
                    stream,
                    Download {
                        mimetype: mime.clone(),
                        chunks: Array::new(),
                        resolve: resolve.clone(),
                        reject: reject.clone(),
                    },
                );
            }
            ok
        };
        if accepted {
            Inner::pump(&inner);
        } else {
            fail(
                "the download is no longer offered (the session ended or the server cancelled it)",
            );
        }
        promise.into()
    });
    let reject = Closure::<dyn FnMut()>::new(move || {
        if decided.replace(true) {
            return;
        }
        if let Some(inner) = weak.upgrade() {
            inner.borrow_mut().client.reject_file(
                stream,
                "the download was declined",
                Status::CLIENT_FORBIDDEN,
            );
            Inner::pump(&inner);
        }
    });
    let _ = Reflect::set(&o, &"accept".into(), &accept.into_js_value());
    let _ = Reflect::set(&o, &"reject".into(), &reject.into_js_value());
    o.into()
}

/// `onupload(stream, sent, total, status[, message])`.
fn report_upload(
    f: &Option<Function>,
    stream: i32,
    (sent, total): UploadProgress,
    status: &str,
    message: Option<&str>,
) {
    let Some(f) = f else {
        return;
    };
    let args = Array::of4(
        &stream.into(),
        &(sent as f64).into(),
        &(total.max(sent) as f64).into(),
        &status.into(),
    );
    if let Some(m) = message {
        args.push(&m.into());
    }
    let _ = f.apply(&JsValue::NULL, &args);
}

/// The object `onerror` gets: `{ code, name, message }` (a Guacamole status).
fn status_error(status: Status, message: &str) -> JsValue {
    let e = Object::new();
    let _ = Reflect::set(&e, &"code".into(), &JsValue::from(status.0));
    let _ = Reflect::set(&e, &"name".into(), &status.name().into());
    let _ = Reflect::set(&e, &"message".into(), &message.into());
    e.into()
}

/// CSS pixels to the device pixels and DPI guacd should draw at.
fn device_size(css_width: u32, css_height: u32) -> (u32, u32, u32) {
    let dpr = canvas::device_pixel_ratio();
    let scale = |v: u32| (f64::from(v) * dpr).round() as u32;
    (
        scale(css_width),
        scale(css_height),
        (96.0 * dpr).round() as u32,
    )
}
