//! `RecordingPlayer`: plays a guacd session recording into a canvas with the
//! same renderer as a live session: play and pause at 0.5x-8x, skip idle
//! gaps, seek to a time or a frame (frame-exact stepping), the key log.
//!
//! Frames are fed to a `GuacamoleClient` at their recorded pace (the `sync`
//! timestamps), driven by animation frames (gloo-render in a page, the
//! global `requestAnimationFrame` in a Worker; without one `play()` throws
//! `UNSUPPORTED`).
//!
//! Seeking uses keyframes: snapshots of the whole display (every layer and
//! buffer with its pixels, the cursor) taken at frame boundaries where the
//! client is at rest, at least `keyframeBytes` of recording apart. A seek
//! restores the nearest keyframe at or before the target and replays only
//! the rest. Keyframes are taken lazily, as playback and seeks pass them,
//! and by `index()`, a background pass over the whole recording on a
//! second, hidden client. Their pixels are bounded (`keyframeMiB`, default
//! 384 MiB): when the budget is hit every other keyframe is dropped (the rest
//! stay evenly spread) and the spacing doubles.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use super::canvas::{self, AnimationFrame, CanvasTarget};

use crate::core::error::Error;
use crate::core::guac::recording::{index_recording, FrameMark, KeyLog};

use super::error::to_js_error;
use super::session::keyframe::ClientSnapshot;
use super::session::GuacamoleClient;

#[wasm_bindgen(typescript_custom_section)]
const PLAYER_TS: &str = r#"
/** Options of `new RecordingPlayer(bytes, canvas, options)`. */
export interface RecordingPlayerOptions {
  /** Keyframes for fast seeking (default true; false: backwards seeks replay from the start). */
  keyframes?: boolean;
  /** Pixel budget of the keyframes in MiB of RGBA (default 384). */
  keyframeMiB?: number;
  /** Recording bytes between keyframes, at least (default 98304). */
  keyframeBytes?: number;
}
/** A key press of a recording made with guacd's `recording-include-keys`. */
export interface RecordingKeyEvent {
  /** ms from the recording's first `sync`. */
  atMs: number;
  keysym: number;
  /** The character typed, or a token (`Return`, `Tab`, `BackSpace`, `Ctrl+c`, ...) when `special`. */
  text: string;
  special: boolean;
}
"#;

/// Recording bytes between keyframes, at least (the replay a seek may need).
pub const DEFAULT_KEYFRAME_BYTES: usize = 96 * 1024;
/// Frames between keyframes, at most (replay cost is per frame as well as
/// per byte: a terminal's small frames add up).
pub const DEFAULT_KEYFRAME_FRAMES: usize = 32;
/// Keyframe pixels at most, by default: 384 MiB of RGBA.
pub const DEFAULT_KEYFRAME_MIB: u32 = 384;
/// Skip idle: a stretch between two active frames longer than this (ms) is shortened to it.
pub const IDLE_GAP_MS: f64 = 1000.0;
/// Playback rates accepted.
pub const MIN_RATE: f64 = 0.5;
pub const MAX_RATE: f64 = 8.0;

struct Keyframe {
    /// Frames fed before it (the client shows frames `0..frame`).
    frame: usize,
    /// Bytes fed before it.
    fed: usize,
    snap: ClientSnapshot,
}

struct State {
    bytes: Rc<Vec<u8>>,
    marks: Rc<Vec<FrameMark>>,
    /// Times of the active frames (with drawing), for skip idle.
    active: Vec<f64>,
    keys: KeyLog,
    canvas: CanvasTarget,
    client: GuacamoleClient,
    /// Bytes already fed to the client.
    fed: usize,
    /// Frames already fed.
    next: usize,
    /// Playback position (ms) at `wall_start`.
    base_ms: f64,
    wall_start: f64,
    playing: bool,
    rate: f64,
    skip_idle: bool,
    /// The next animation frame, cancelled on drop (pause, a new frame).
    raf: Option<AnimationFrame>,
    onprogress: Option<Function>,
    onend: Option<Function>,
    onseeked: Option<Function>,
    /// Resolvers of the `seek()` promises waiting for the drawing.
    waiters: Vec<Function>,
    keyframes: Vec<Keyframe>,
    kf_enabled: bool,
    kf_pixels: u64,
    kf_budget: u64,
    kf_spacing: usize,
    /// Frames between keyframes (a keyframe is due past either spacing).
    kf_frames: usize,
    /// Keyframes the budget made the player drop.
    kf_dropped: u32,
    indexing: bool,
    indexed: bool,
    /// A lazy keyframe offer is scheduled.
    keyframe_pending: Rc<std::cell::Cell<bool>>,
}

/// Plays a Guacamole session recording.
#[wasm_bindgen]
pub struct RecordingPlayer {
    state: Rc<RefCell<State>>,
}

fn now() -> f64 {
    super::clock::monotonic_ms()
}

fn new_client(canvas: &CanvasTarget) -> Result<GuacamoleClient, JsValue> {
    let opts = Object::new();
    Reflect::set(&opts, &"canvas".into(), &canvas.js())?;
    // A recording has nobody to answer: output is dropped. A Rust closure,
    // not `new Function`, which a strict CSP (no 'unsafe-eval') forbids.
    let drop_output = Closure::<dyn Fn(JsValue)>::new(|_bytes: JsValue| {}).into_js_value();
    Reflect::set(&opts, &"send".into(), &drop_output)?;
    GuacamoleClient::new(opts.into())
}

fn opt_number(options: &JsValue, key: &str) -> Option<f64> {
    if !options.is_object() {
        return None;
    }
    Reflect::get(options, &key.into())
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|v| v.is_finite())
}

/// Frames whose `sync` time is at or before `ms`.
fn frames_until(marks: &[FrameMark], ms: f64) -> usize {
    marks.partition_point(|m| m.at_ms as f64 <= ms)
}

#[wasm_bindgen]
impl RecordingPlayer {
    /// `new RecordingPlayer(bytes, canvas?, options?)`: indexes the
    /// recording (frames and key log); throws `MALFORMED_INSTRUCTION` /
    /// `INCOMPLETE_INSTRUCTION` on a damaged file. Options: `keyframes`
    /// (default true; false: every backwards seek replays from the start),
    /// `keyframeMiB` (pixel budget, default 384), `keyframeBytes` (recording
    /// bytes between keyframes, default 98304).
    #[wasm_bindgen(constructor)]
    pub fn new(
        bytes: Vec<u8>,
        #[wasm_bindgen(
            unchecked_optional_param_type = "HTMLCanvasElement | OffscreenCanvas | null"
        )]
        canvas: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "RecordingPlayerOptions")] options: Option<
            JsValue,
        >,
    ) -> Result<RecordingPlayer, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let canvas = canvas.unwrap_or(JsValue::UNDEFINED);
        let index = index_recording(&bytes).map_err(|e| to_js_error(Error::from(e)))?;
        let canvas = match canvas::canvas_option(&canvas).map_err(to_js_error)? {
            Some(c) => c,
            None => CanvasTarget::Element(
                canvas::document()
                    .ok_or_else(|| to_js_error(canvas::no_canvas()))?
                    .create_element("canvas")?
                    .dyn_into::<HtmlCanvasElement>()?,
            ),
        };
        let kf_enabled = !options.is_object()
            || Reflect::get(&options, &"keyframes".into())
                .map(|v| v.as_bool() != Some(false))
                .unwrap_or(true);
        let mib = opt_number(&options, "keyframeMiB")
            .map_or(f64::from(DEFAULT_KEYFRAME_MIB), |v| v.clamp(0.0, 4096.0));
        let spacing = opt_number(&options, "keyframeBytes")
            .map_or(DEFAULT_KEYFRAME_BYTES, |v| v.clamp(1024.0, 1e9) as usize);
        let client = new_client(&canvas)?;
        let state = Rc::new(RefCell::new(State {
            bytes: Rc::new(bytes),
            active: index
                .frames
                .iter()
                .filter(|m| m.active)
                .map(|m| m.at_ms as f64)
                .collect(),
            marks: Rc::new(index.frames),
            keys: index.keys,
            canvas,
            client,
            fed: 0,
            next: 0,
            base_ms: 0.0,
            wall_start: 0.0,
            playing: false,
            rate: 1.0,
            skip_idle: false,
            raf: None,
            onprogress: None,
            onend: None,
            onseeked: None,
            waiters: Vec::new(),
            keyframes: Vec::new(),
            kf_enabled,
            kf_pixels: 0,
            // Pixels: MiB of RGBA / 4 bytes per pixel.
            kf_budget: (mib * 1024.0 * 1024.0 / 4.0) as u64,
            kf_spacing: spacing,
            kf_frames: DEFAULT_KEYFRAME_FRAMES,
            kf_dropped: 0,
            indexing: false,
            indexed: false,
            keyframe_pending: Rc::default(),
        }));
        hook_client(&state);
        Ok(RecordingPlayer { state })
    }

    /// Length of the recording in ms (first to last `sync`).
    #[wasm_bindgen(getter)]
    pub fn duration(&self) -> f64 {
        duration(&self.state.borrow())
    }

    /// Frames in the recording (its `sync` instructions).
    #[wasm_bindgen(getter)]
    pub fn frames(&self) -> usize {
        self.state.borrow().marks.len()
    }

    /// Frames in the recording (the same as `frames`).
    #[wasm_bindgen(getter, js_name = frameCount)]
    pub fn frame_count(&self) -> usize {
        self.state.borrow().marks.len()
    }

    /// The index of the last frame shown (-1 before the first).
    #[wasm_bindgen(getter)]
    pub fn frame(&self) -> i32 {
        self.state.borrow().next as i32 - 1
    }

    /// The time (ms from the first `sync`) of frame `i`, or NaN.
    #[wasm_bindgen(js_name = frameTime)]
    pub fn frame_time(&self, i: i32) -> f64 {
        let s = self.state.borrow();
        usize::try_from(i)
            .ok()
            .and_then(|i| s.marks.get(i))
            .map_or(f64::NAN, |m| m.at_ms as f64)
    }

    /// Every frame's time (ms from the first `sync`), in order.
    #[wasm_bindgen(js_name = frameTimes)]
    pub fn frame_times(&self) -> Vec<f64> {
        self.state
            .borrow()
            .marks
            .iter()
            .map(|m| m.at_ms as f64)
            .collect()
    }

    /// Current position in ms.
    #[wasm_bindgen(getter)]
    pub fn position(&self) -> f64 {
        position(&self.state.borrow())
    }

    #[wasm_bindgen(getter)]
    pub fn playing(&self) -> bool {
        self.state.borrow().playing
    }

    /// A seek is still drawing.
    #[wasm_bindgen(getter)]
    pub fn seeking(&self) -> bool {
        !self.state.borrow().waiters.is_empty()
    }

    /// Playback speed, 0.5 to 8 (values outside are clamped).
    #[wasm_bindgen(getter, js_name = playbackRate)]
    pub fn playback_rate(&self) -> f64 {
        self.state.borrow().rate
    }

    #[wasm_bindgen(setter, js_name = playbackRate)]
    pub fn set_playback_rate(&self, rate: f64) -> Result<(), JsValue> {
        if !rate.is_finite() {
            return Err(to_js_error(Error::invalid_input(
                "playbackRate must be a finite number (0.5 to 8)",
            )));
        }
        let mut s = self.state.borrow_mut();
        let pos = position(&s);
        s.base_ms = pos;
        s.wall_start = now();
        s.rate = rate.clamp(MIN_RATE, MAX_RATE);
        Ok(())
    }

    /// Skip idle: while playing, a stretch longer than 1 s with nothing
    /// drawn (only guacd's empty keep-alive frames) is cut to 1 s (positions
    /// and the timeline stay in recording time).
    #[wasm_bindgen(getter, js_name = skipIdle)]
    pub fn skip_idle(&self) -> bool {
        self.state.borrow().skip_idle
    }

    #[wasm_bindgen(setter, js_name = skipIdle)]
    pub fn set_skip_idle(&self, on: bool) {
        self.state.borrow_mut().skip_idle = on;
    }

    #[wasm_bindgen(getter, unchecked_return_type = "HTMLCanvasElement | OffscreenCanvas")]
    pub fn canvas(&self) -> JsValue {
        self.state.borrow().canvas.js()
    }

    /// The client rendering the recording (for `snapshot()`, `framesRendered`, ...).
    #[wasm_bindgen(getter)]
    pub fn client(&self) -> GuacamoleClient {
        self.state.borrow().client.clone_handle()
    }

    /// Keyframes held now.
    #[wasm_bindgen(getter, js_name = keyframeCount)]
    pub fn keyframe_count(&self) -> usize {
        self.state.borrow().keyframes.len()
    }

    /// The frame each keyframe restores to (frames shown before it), in order.
    #[wasm_bindgen(js_name = keyframeFrames)]
    pub fn keyframe_frames(&self) -> Vec<u32> {
        self.state
            .borrow()
            .keyframes
            .iter()
            .map(|k| k.frame as u32)
            .collect()
    }

    /// Bytes of pixels the keyframes hold (RGBA).
    #[wasm_bindgen(getter, js_name = keyframeBytes)]
    pub fn keyframe_bytes(&self) -> f64 {
        self.state.borrow().kf_pixels as f64 * 4.0
    }

    /// Recording bytes between keyframes now (doubles when the budget is hit).
    #[wasm_bindgen(getter, js_name = keyframeSpacing)]
    pub fn keyframe_spacing(&self) -> usize {
        self.state.borrow().kf_spacing
    }

    /// `index()` has run over the whole recording.
    #[wasm_bindgen(getter)]
    pub fn indexed(&self) -> bool {
        self.state.borrow().indexed
    }

    #[wasm_bindgen(setter)]
    pub fn set_onprogress(&self, f: Option<Function>) {
        self.state.borrow_mut().onprogress = f;
    }

    #[wasm_bindgen(setter)]
    pub fn set_onend(&self, f: Option<Function>) {
        self.state.borrow_mut().onend = f;
    }

    /// Called with the position (ms) when a seek has drawn its frame.
    #[wasm_bindgen(setter)]
    pub fn set_onseeked(&self, f: Option<Function>) {
        self.state.borrow_mut().onseeked = f;
    }

    /// The key presses of a recording made with `recording-include-keys`:
    /// `{ atMs, keysym, text, special }` in order (`text`: the character, or
    /// a token such as `Return`, `Tab`, `BackSpace`, `Ctrl+c` when `special`).
    #[wasm_bindgen(js_name = keyEvents, unchecked_return_type = "RecordingKeyEvent[]")]
    pub fn key_events(&self) -> Array {
        let s = self.state.borrow();
        s.keys
            .presses
            .iter()
            .map(|k| {
                let o = Object::new();
                let _ = Reflect::set(&o, &"atMs".into(), &(k.at_ms as f64).into());
                let _ = Reflect::set(&o, &"keysym".into(), &k.keysym.into());
                let _ = Reflect::set(&o, &"text".into(), &k.text.as_str().into());
                let _ = Reflect::set(&o, &"special".into(), &k.special.into());
                JsValue::from(o)
            })
            .collect()
    }

    /// Key presses past the key log's bound (100,000), not listed.
    #[wasm_bindgen(getter, js_name = keyEventsDropped)]
    pub fn key_events_dropped(&self) -> f64 {
        self.state.borrow().keys.dropped as f64
    }

    /// Starts playing at `playbackRate`; `UNSUPPORTED` where this scope has
    /// no `requestAnimationFrame` (Node: use `seek(duration)` to draw the end).
    pub fn play(&self) -> Result<(), JsValue> {
        if !canvas::has_animation_frames() {
            return Err(to_js_error(canvas::no_animation_frames(
                "RecordingPlayer.play()",
            )));
        }
        let at_end = {
            let s = self.state.borrow();
            if s.playing {
                return Ok(());
            }
            s.next >= s.marks.len() && !s.marks.is_empty()
        };
        if at_end {
            go_to(&self.state, 0, 0.0)?;
        }
        {
            let mut s = self.state.borrow_mut();
            s.playing = true;
            s.wall_start = now();
        }
        schedule(&self.state)
    }

    pub fn pause(&self) {
        let mut s = self.state.borrow_mut();
        let pos = position(&s);
        s.playing = false;
        s.base_ms = pos;
        s.raf = None;
    }

    /// Moves to `ms` (clamped to the recording): restores the nearest
    /// keyframe at or before it (or goes on from here when that is nearer)
    /// and feeds the frames up to that time. The promise resolves (and
    /// `onseeked` is called) once that frame is drawn.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn seek(&self, ms: f64) -> Result<Promise, JsValue> {
        let (k, target) = {
            let s = self.state.borrow();
            let target = if ms.is_finite() { ms } else { 0.0 };
            let target = target.clamp(0.0, duration(&s));
            (frames_until(&s.marks, target), target)
        };
        seek_promise(&self.state, k, target)
    }

    /// Shows frame `i` exactly (clamped to the recording); the position
    /// becomes its time. Resolves when drawn.
    #[wasm_bindgen(js_name = seekFrame, unchecked_return_type = "Promise<void>")]
    pub fn seek_frame(&self, i: i32) -> Result<Promise, JsValue> {
        let (k, target) = {
            let s = self.state.borrow();
            if s.marks.is_empty() {
                (0, 0.0)
            } else {
                let i = (i.max(0) as usize).min(s.marks.len() - 1);
                (i + 1, s.marks.get(i).map_or(0.0, |m| m.at_ms as f64))
            }
        };
        seek_promise(&self.state, k, target)
    }

    /// Steps `n` frames (+1 the next, -1 the previous), pausing playback.
    #[wasm_bindgen(js_name = stepFrame, unchecked_return_type = "Promise<void>")]
    pub fn step_frame(&self, n: i32) -> Result<Promise, JsValue> {
        self.pause();
        let current = self.frame();
        let target = if current < 0 && n < 0 {
            0
        } else {
            current.saturating_add(n)
        };
        self.seek_frame(target)
    }

    /// Builds keyframes over the whole recording in the background, on a
    /// hidden client of its own (playback and seeks go on meanwhile). The
    /// promise resolves when done; calling it again returns at once.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn index(&self) -> Promise {
        let ready = {
            let mut s = self.state.borrow_mut();
            if s.indexed || s.indexing || !s.kf_enabled {
                true
            } else {
                s.indexing = true;
                false
            }
        };
        if ready {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let weak = Rc::downgrade(&self.state);
        wasm_bindgen_futures::future_to_promise(async move {
            let r = run_index(weak.clone()).await;
            if let Some(st) = weak.upgrade() {
                let mut s = st.borrow_mut();
                s.indexing = false;
                s.indexed = r.is_ok();
            }
            r.map(|_| JsValue::UNDEFINED)
        })
    }
}

fn duration(s: &State) -> f64 {
    s.marks.last().map_or(0.0, |m| m.at_ms as f64)
}

fn position(s: &State) -> f64 {
    if s.playing {
        (s.base_ms + (now() - s.wall_start) * s.rate).min(duration(s))
    } else {
        s.base_ms
    }
}

/// The client's frame hook: after frames are drawn, resolve seeks and take
/// keyframes. The hook runs inside the client's own calls too (a `receive`
/// that drew at once): then the state is borrowed and the caller checks.
fn hook_client(state: &Rc<RefCell<State>>) {
    let weak = Rc::downgrade(state);
    let hook: super::session::FrameHook = Rc::new(move |_info| {
        if let Some(st) = weak.upgrade() {
            if st.try_borrow_mut().is_ok() {
                settle(&st);
            }
        }
    });
    state.borrow().client.set_frame_hook(Some(hook));
}

/// When everything fed is drawn: takes a keyframe if one is due here, and
/// resolves the waiting seeks.
fn settle(st: &Rc<RefCell<State>>) {
    let (waiters, onseeked, pos) = {
        let mut s = st.borrow_mut();
        if s.client.frames_pending() > 0 {
            return;
        }
        if s.kf_enabled && !s.keyframe_pending.get() {
            // The keyframe (if one is due here) is taken after this task, so
            // the copy is not part of the seek's time.
            s.keyframe_pending.set(true);
            let pending = s.keyframe_pending.clone();
            let (frame, fed) = (s.next, s.fed);
            let weak = Rc::downgrade(st);
            wasm_bindgen_futures::spawn_local(async move {
                gloo_timers::future::TimeoutFuture::new(0).await;
                pending.set(false);
                let Some(st) = weak.upgrade() else { return };
                let Ok(mut s) = st.try_borrow_mut() else {
                    return;
                };
                if s.next == frame && s.fed == fed && s.client.frames_pending() == 0 {
                    let client = s.client.clone_handle();
                    let _ = offer_keyframe(&mut s, frame, fed, &client);
                }
            });
        }
        if s.waiters.is_empty() {
            return;
        }
        (
            std::mem::take(&mut s.waiters),
            s.onseeked.clone(),
            s.base_ms,
        )
    };
    for w in waiters {
        let _ = w.call0(&JsValue::NULL);
    }
    if let Some(f) = onseeked {
        let _ = f.call1(&JsValue::NULL, &pos.into());
    }
}

/// Takes a keyframe of `client` (at frame boundary `frame`, `fed` bytes in)
/// if it is due: far enough from its neighbours, within the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    Taken,
    NotDue,
    /// Due, but the client was not at rest (a stream open across the
    /// `sync`, a path or clip pending): a later frame may do.
    NotAtRest,
}

fn offer_keyframe(s: &mut State, frame: usize, fed: usize, client: &GuacamoleClient) -> Offer {
    if !s.kf_enabled || frame == 0 || frame >= s.marks.len() {
        return Offer::NotDue;
    }
    let at = s.keyframes.partition_point(|k| k.frame <= frame);
    let (prev_frame, prev_fed) = at
        .checked_sub(1)
        .and_then(|i| s.keyframes.get(i))
        .map_or((0, 0), |k| (k.frame, k.fed));
    if at > 0 && prev_frame == frame {
        return Offer::NotDue;
    }
    if !far_enough(s, (prev_frame, prev_fed), (frame, fed)) {
        return Offer::NotDue;
    }
    if s.keyframes.get(at).is_some_and(|k| {
        k.fed.saturating_sub(fed) < s.kf_spacing / 2 && k.frame - frame < s.kf_frames / 2
    }) {
        return Offer::NotDue;
    }
    let snap = {
        let near: Vec<&ClientSnapshot> = [at.checked_sub(1), Some(at)]
            .into_iter()
            .flatten()
            .filter_map(|i| s.keyframes.get(i))
            .map(|k| &k.snap)
            .collect();
        match client.keyframe(&near) {
            Ok(Some(snap)) => snap,
            _ => return Offer::NotAtRest,
        }
    };
    // What the new keyframe adds: the layers it does not share.
    let px = snap.display.own_pixels();
    if px > s.kf_budget {
        return Offer::NotDue;
    }
    while s.kf_pixels + px > s.kf_budget && s.keyframes.len() >= 2 {
        thin(s);
    }
    if s.kf_pixels + px > s.kf_budget {
        return Offer::NotDue;
    }
    // Thinning may have widened the spacing: still due?
    let at = s.keyframes.partition_point(|k| k.frame <= frame);
    let prev = at
        .checked_sub(1)
        .and_then(|i| s.keyframes.get(i))
        .map_or((0, 0), |k| (k.frame, k.fed));
    if !far_enough(s, prev, (frame, fed)) {
        return Offer::NotDue;
    }
    s.keyframes.insert(at, Keyframe { frame, fed, snap });
    s.kf_pixels = held_pixels(&s.keyframes);
    Offer::Taken
}

/// `b` is a keyframe's spacing (in bytes or in frames) past `a`.
fn far_enough(s: &State, a: (usize, usize), b: (usize, usize)) -> bool {
    b.1.saturating_sub(a.1) >= s.kf_spacing || b.0.saturating_sub(a.0) >= s.kf_frames
}

/// Pixels the keyframes hold together (shared layers counted once).
fn held_pixels(kfs: &[Keyframe]) -> u64 {
    kfs.iter()
        .map(|k| k.snap.display.held_pixels())
        .sum::<f64>()
        .round() as u64
}

/// Drops every other keyframe (the rest stay evenly spread) and doubles the spacing.
fn thin(s: &mut State) {
    let mut i = 0usize;
    let before = s.keyframes.len();
    s.keyframes.retain(|_| {
        i += 1;
        i % 2 == 0
    });
    s.kf_dropped = s
        .kf_dropped
        .saturating_add((before - s.keyframes.len()) as u32);
    s.kf_pixels = held_pixels(&s.keyframes);
    s.kf_spacing = s.kf_spacing.saturating_mul(2);
    s.kf_frames = s.kf_frames.saturating_mul(2);
}

fn seek_promise(st: &Rc<RefCell<State>>, k: usize, target: f64) -> Result<Promise, JsValue> {
    let mut resolver = None;
    let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
    if let Some(r) = resolver {
        st.borrow_mut().waiters.push(r);
    }
    if let Err(e) = go_to(st, k, target) {
        st.borrow_mut().waiters.clear();
        return Err(e);
    }
    settle(st);
    Ok(promise)
}

/// Shows the first `k` frames with the position at `target`: from a
/// keyframe when one is nearer than the frames already shown.
fn go_to(st: &Rc<RefCell<State>>, k: usize, target: f64) -> Result<(), JsValue> {
    let mut s = st.borrow_mut();
    // A keyframe offer still waiting for its turn (seeks in quick
    // succession): taken now, before the display moves on.
    if s.keyframe_pending.get() && s.client.frames_pending() == 0 {
        s.keyframe_pending.set(false);
        let (frame, fed) = (s.next, s.fed);
        let client = s.client.clone_handle();
        let _ = offer_keyframe(&mut s, frame, fed, &client);
    }
    let best = s.keyframes.partition_point(|kf| kf.frame <= k);
    let best = best.checked_sub(1).and_then(|i| s.keyframes.get(i));
    let restore = if k < s.next {
        Some(best)
    } else {
        best.filter(|kf| kf.frame > s.next).map(Some)
    };
    if let Some(kf) = restore {
        let (frame, fed) = kf.map_or((0, 0), |kf| (kf.frame, kf.fed));
        s.client.restore(kf.map(|kf| &kf.snap))?;
        s.fed = fed;
        s.next = frame;
    }
    feed_frames(&mut s, k);
    s.base_ms = target;
    s.wall_start = now();
    Ok(())
}

/// Feeds frames up to (not including) frame `k`; past the last frame, the
/// tail after it too.
fn feed_frames(s: &mut State, k: usize) {
    let k = k.min(s.marks.len());
    let mut end = s.fed;
    if k > s.next {
        if let Some(m) = s.marks.get(k - 1) {
            end = m.end;
        }
        s.next = k;
    }
    let last = s.next >= s.marks.len();
    if last {
        end = s.bytes.len();
    }
    if end > s.fed {
        let bytes = s.bytes.clone();
        if let Some(chunk) = bytes.get(s.fed..end) {
            let _ = s.client.receive(chunk);
        }
        s.fed = end;
    }
    if last {
        s.client.flush_pending();
    }
}

/// Asks for the next animation frame, which feeds the frames due by then.
fn schedule(state: &Rc<RefCell<State>>) -> Result<(), JsValue> {
    let weak = Rc::downgrade(state);
    let frame = canvas::request_animation_frame("RecordingPlayer.play()", move |_t| {
        if let Some(st) = weak.upgrade() {
            tick(&st);
        }
    })
    .map_err(to_js_error)?;
    state.borrow_mut().raf = Some(frame);
    Ok(())
}

fn tick(st: &Rc<RefCell<State>>) {
    let (done, progress, end, pos) = {
        let mut s = st.borrow_mut();
        if !s.playing {
            return;
        }
        let mut pos = position(&s);
        if s.skip_idle {
            // Between two active frames more than IDLE_GAP_MS apart (only
            // guacd's empty keep-alive frames between them), jump to the
            // next active frame once IDLE_GAP_MS of the gap has played.
            let i = s.active.partition_point(|&t| t <= pos);
            let prev_at = i.checked_sub(1).and_then(|j| s.active.get(j)).copied();
            if let (Some(prev_at), Some(&next_at)) = (prev_at, s.active.get(i)) {
                if next_at - prev_at > IDLE_GAP_MS && pos > prev_at + IDLE_GAP_MS {
                    pos = next_at;
                    s.base_ms = next_at;
                    s.wall_start = now();
                }
            }
        }
        let k = frames_until(&s.marks, pos);
        feed_frames(&mut s, k);
        let done = s.next >= s.marks.len();
        if done {
            s.playing = false;
            s.base_ms = duration(&s);
        }
        let pos = position(&s).max(0.0);
        (done, s.onprogress.clone(), s.onend.clone(), pos)
    };
    settle(st);
    if let Some(f) = progress {
        let _ = f.call1(&JsValue::NULL, &pos.into());
    }
    if done {
        if let Some(f) = end {
            let _ = f.call0(&JsValue::NULL);
        }
    } else if st.borrow().playing {
        let _ = schedule(st);
    }
}

/// The indexing pass: a hidden client fed the recording a keyframe's
/// spacing at a time, waiting for each part to be drawn, offering a
/// keyframe at each stop.
async fn run_index(weak: Weak<RefCell<State>>) -> Result<(), JsValue> {
    let (bytes, marks) = {
        let st = weak
            .upgrade()
            .ok_or_else(|| JsValue::from_str("player dropped"))?;
        let s = st.borrow();
        (s.bytes.clone(), s.marks.clone())
    };
    let surface = super::surface::Canvas::create(0, 0)?;
    let target = CanvasTarget::from_js(&surface)
        .ok_or_else(|| JsValue::from_str("no canvas for indexing"))?;
    let client = new_client(&target)?;
    let (mut fed, mut next) = (0usize, 0usize);
    // After a stop that was due but not at rest, go on a frame at a time.
    let mut retry = false;
    while next < marks.len() {
        let (spacing, frames) = match weak.upgrade() {
            Some(_) if retry => (1, 1),
            Some(st) => {
                let s = st.borrow();
                (s.kf_spacing, s.kf_frames)
            }
            None => return Ok(()),
        };
        // Feed up to the first frame `spacing` bytes or `frames` frames on
        // (at least one frame).
        let goal = fed.saturating_add(spacing);
        let mut k = next + 1;
        while k < marks.len() && k - next < frames && marks.get(k - 1).is_some_and(|m| m.end < goal)
        {
            k += 1;
        }
        let end = marks.get(k - 1).map_or(bytes.len(), |m| m.end);
        if let Some(chunk) = bytes.get(fed..end) {
            client.receive(chunk)?;
        }
        fed = end;
        next = k;
        // Wait for the images to be decoded and the frames drawn.
        let t0 = now();
        while client.frames_pending() > 0 && now() - t0 < 30_000.0 {
            gloo_timers::future::TimeoutFuture::new(1).await;
        }
        let Some(st) = weak.upgrade() else {
            return Ok(());
        };
        {
            // A stop where the client is not at rest (a stream open across
            // the sync) just has no keyframe; the next stop may.
            let mut s = st.borrow_mut();
            retry = offer_keyframe(&mut s, next, fed, &client) == Offer::NotAtRest;
        }
        drop(st);
        // Let playback and input run between parts.
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    Ok(())
}
