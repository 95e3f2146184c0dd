//! `RecordingPlayer`: plays a guacd session recording into a canvas with the
//! same renderer as a live session (play, pause, seek to a time).
//!
//! Frames are fed to a `GuacamoleClient` at their recorded pace (the `sync`
//! timestamps), driven by animation frames (gloo-render in a page, the
//! global `requestAnimationFrame` in a Worker; without one `play()` throws
//! `UNSUPPORTED`). Seeking backwards starts a fresh display and feeds
//! everything up to the target at once.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use super::canvas::{self, AnimationFrame, CanvasTarget};

use crate::core::error::Error;
use crate::core::guac::recording::{index_frames, FrameMark};

use super::error::to_js_error;
use super::session::GuacamoleClient;

struct State {
    bytes: Vec<u8>,
    marks: Vec<FrameMark>,
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
    /// The next animation frame, cancelled on drop (pause, a new frame).
    raf: Option<AnimationFrame>,
    onprogress: Option<Function>,
    onend: Option<Function>,
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

#[wasm_bindgen]
impl RecordingPlayer {
    /// `new RecordingPlayer(bytes, canvas?)`: indexes the recording; throws
    /// `MALFORMED_INSTRUCTION` / `INCOMPLETE_INSTRUCTION` on a damaged file.
    #[wasm_bindgen(constructor)]
    pub fn new(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "HTMLCanvasElement | OffscreenCanvas | null")]
        canvas: JsValue,
    ) -> Result<RecordingPlayer, JsValue> {
        let marks = index_frames(&bytes).map_err(|e| to_js_error(Error::from(e)))?;
        let canvas = match canvas::canvas_option(&canvas).map_err(to_js_error)? {
            Some(c) => c,
            None => CanvasTarget::Element(
                canvas::document()
                    .ok_or_else(|| to_js_error(canvas::no_canvas()))?
                    .create_element("canvas")?
                    .dyn_into::<HtmlCanvasElement>()?,
            ),
        };
        let client = new_client(&canvas)?;
        Ok(RecordingPlayer {
            state: Rc::new(RefCell::new(State {
                bytes,
                marks,
                canvas,
                client,
                fed: 0,
                next: 0,
                base_ms: 0.0,
                wall_start: 0.0,
                playing: false,
                raf: None,
                onprogress: None,
                onend: None,
            })),
        })
    }

    /// Length of the recording in ms (first to last `sync`).
    #[wasm_bindgen(getter)]
    pub fn duration(&self) -> f64 {
        self.state
            .borrow()
            .marks
            .last()
            .map_or(0.0, |m| m.at_ms as f64)
    }

    /// Frames in the recording.
    #[wasm_bindgen(getter)]
    pub fn frames(&self) -> usize {
        self.state.borrow().marks.len()
    }

    /// Current position in ms.
    #[wasm_bindgen(getter)]
    pub fn position(&self) -> f64 {
        let s = self.state.borrow();
        if s.playing {
            (s.base_ms + now() - s.wall_start).min(self.duration())
        } else {
            s.base_ms
        }
    }

    #[wasm_bindgen(getter)]
    pub fn playing(&self) -> bool {
        self.state.borrow().playing
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

    #[wasm_bindgen(setter)]
    pub fn set_onprogress(&self, f: Option<Function>) {
        self.state.borrow_mut().onprogress = f;
    }

    #[wasm_bindgen(setter)]
    pub fn set_onend(&self, f: Option<Function>) {
        self.state.borrow_mut().onend = f;
    }

    /// Starts playing at the recorded pace; `UNSUPPORTED` where this scope
    /// has no `requestAnimationFrame` (Node: use `seek(duration)` to draw the end).
    pub fn play(&self) -> Result<(), JsValue> {
        if !canvas::has_animation_frames() {
            return Err(to_js_error(canvas::no_animation_frames(
                "RecordingPlayer.play()",
            )));
        }
        {
            let mut s = self.state.borrow_mut();
            if s.playing {
                return Ok(());
            }
            if s.next >= s.marks.len() && !s.marks.is_empty() {
                drop(s);
                self.seek(0.0)?;
                s = self.state.borrow_mut();
            }
            s.playing = true;
            s.wall_start = now();
        }
        schedule(&self.state)
    }

    pub fn pause(&self) {
        let pos = self.position();
        let mut s = self.state.borrow_mut();
        s.playing = false;
        s.base_ms = pos;
        s.raf = None;
    }

    /// Moves to `ms`: feeds every frame up to that time (restarting the
    /// display when going backwards). Drawing completes asynchronously.
    pub fn seek(&self, ms: f64) -> Result<(), JsValue> {
        let mut s = self.state.borrow_mut();
        let target = ms.clamp(0.0, s.marks.last().map_or(0.0, |m| m.at_ms as f64));
        if s.next > 0
            && s.marks
                .get(s.next - 1)
                .is_some_and(|m| m.at_ms as f64 > target)
        {
            s.client = new_client(&s.canvas)?;
            s.fed = 0;
            s.next = 0;
        }
        feed_until(&mut s, target);
        s.base_ms = target;
        s.wall_start = now();
        Ok(())
    }
}

fn feed_until(s: &mut State, at_ms: f64) {
    let mut end = s.fed;
    while let Some(m) = s.marks.get(s.next) {
        if m.at_ms as f64 > at_ms {
            break;
        }
        end = m.end;
        s.next += 1;
    }
    // After the last frame, feed the tail too (instructions after the last sync).
    let last = s.next >= s.marks.len();
    if last {
        end = s.bytes.len();
    }
    if end > s.fed {
        if let Some(chunk) = s.bytes.get(s.fed..end) {
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
    let (done, progress, end) = {
        let mut s = st.borrow_mut();
        if !s.playing {
            return;
        }
        let pos = s.base_ms + now() - s.wall_start;
        feed_until(&mut s, pos);
        let done = s.next >= s.marks.len();
        if done {
            s.playing = false;
            s.base_ms = s.marks.last().map_or(0.0, |m| m.at_ms as f64);
        }
        (done, s.onprogress.clone(), s.onend.clone())
    };
    if let Some(f) = progress {
        let pos = st.borrow().base_ms.max(0.0);
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
