//! Browser input bound to a session: mouse (buttons, wheel), touch as mouse,
//! paste into the remote clipboard, drag-and-drop upload.
//!
//! Coordinates are converted from CSS pixels of the canvas to remote pixels
//! with the scale the display was last composited at. The session is only an
//! [`InputSink`]; the listeners live in an [`Attached`].

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventTarget, HtmlCanvasElement, MouseEvent, TouchEvent, WheelEvent};

use super::sink::{Attached, InputSink};

/// Guacamole button mask from `MouseEvent.buttons` (1 left, 2 right, 4 middle
/// in the DOM; 1 left, 2 middle, 4 right in Guacamole).
pub fn button_mask(dom_buttons: u16) -> u8 {
    let mut m = 0;
    if dom_buttons & 1 != 0 {
        m |= 1;
    }
    if dom_buttons & 4 != 0 {
        m |= 2;
    }
    if dom_buttons & 2 != 0 {
        m |= 4;
    }
    m
}

/// Remote pixel position of a client (viewport) position over `canvas`.
fn remote_xy(canvas: &HtmlCanvasElement, scale: f64, client_x: f64, client_y: f64) -> (i32, i32) {
    let r = canvas.get_bounding_client_rect();
    let s = if scale > 0.0 { scale } else { 1.0 };
    (
        ((client_x - r.left()) / s).floor() as i32,
        ((client_y - r.top()) / s).floor() as i32,
    )
}

/// Whether this scope fires `pointerrawupdate` (its `on…` attribute is
/// there only where the browser has the event and the context is secure).
fn has_raw_pointer_updates() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"onpointerrawupdate".into()).unwrap_or(false)
}

/// A pointer event's `pointerType` ("mouse", "pen", "touch"); "" for others.
fn pointer_type(e: &Event) -> String {
    js_sys::Reflect::get(e, &"pointerType".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Attaches pointer, touch, keyboard, paste and drop handling to `target`
/// (events on it are mapped onto the session's canvas).
pub(crate) fn attach(sink: &Rc<dyn InputSink>, target: &Element, listeners: &mut Attached) {
    let t: &EventTarget = target.as_ref();
    // Last known pointer state, shared by the mouse and touch handlers.
    let state = Rc::new(RefCell::new((0i32, 0i32, 0u8)));

    // Moves: `pointerrawupdate` where the scope has it (Chromium, secure
    // contexts) as well as `mousemove`. A `mousemove` waits for the next
    // animation frame (the browser aligns it to rendering, coalesced); the
    // raw update is dispatched as soon as the main thread is free, so the
    // position leaves up to a frame earlier. Only a changed state is sent:
    // the `mousemove` (or button event) that repeats what a raw update
    // already sent sends nothing.
    let mut kinds = vec!["mousemove", "mousedown", "mouseup"];
    if has_raw_pointer_updates() {
        kinds.push("pointerrawupdate");
    }
    // Whether a mouse state was sent yet (the first is sent even if it
    // equals the initial state).
    let sent_any = Rc::new(std::cell::Cell::new(false));
    for kind in kinds {
        let (sink, state, sent_any) = (sink.clone(), state.clone(), sent_any.clone());
        listeners.on(t, kind, move |e: &Event| {
            let Some(me) = e.dyn_ref::<MouseEvent>() else {
                return;
            };
            if kind == "pointerrawupdate" && pointer_type(e) == "touch" {
                return; // touch is handled as touch events below
            }
            if let Some((canvas, scale)) = sink.pointer_geometry() {
                let (x, y) = remote_xy(&canvas, scale, me.client_x().into(), me.client_y().into());
                let mask = button_mask(me.buttons());
                if !sent_any.get() || *state.borrow() != (x, y, mask) {
                    sent_any.set(true);
                    *state.borrow_mut() = (x, y, mask);
                    sink.send_mouse(x, y, mask);
                }
            }
            if e.type_() == "mousedown" {
                // No text selection or drag, and the keyboard's input sink
                // keeps the focus (the keyboard module focuses it).
                e.prevent_default();
            }
        });
    }
    {
        let (sink, state) = (sink.clone(), state.clone());
        listeners.on(t, "wheel", move |e: &Event| {
            let Some(we) = e.dyn_ref::<WheelEvent>() else {
                return;
            };
            e.prevent_default();
            let bit = if we.delta_y() < 0.0 {
                8
            } else if we.delta_y() > 0.0 {
                16
            } else {
                return;
            };
            let (x, y, mask) = *state.borrow();
            sink.send_mouse(x, y, mask | bit);
            sink.send_mouse(x, y, mask);
        });
    }
    listeners.on(t, "contextmenu", |e: &Event| e.prevent_default());
    // Touch as mouse: one finger is the left button.
    for kind in ["touchstart", "touchmove", "touchend", "touchcancel"] {
        let (sink, state) = (sink.clone(), state.clone());
        listeners.on(t, kind, move |e: &Event| {
            let Some(te) = e.dyn_ref::<TouchEvent>() else {
                return;
            };
            e.prevent_default();
            let pressed = matches!(e.type_().as_str(), "touchstart" | "touchmove");
            let touch = if pressed {
                te.touches().get(0)
            } else {
                te.changed_touches().get(0)
            };
            let Some(touch) = touch else { return };
            let Some((canvas, scale)) = sink.pointer_geometry() else {
                return;
            };
            let (x, y) = remote_xy(
                &canvas,
                scale,
                touch.client_x().into(),
                touch.client_y().into(),
            );
            if e.type_() == "touchstart" {
                // Move first, so the press lands where the finger is.
                sink.send_mouse(x, y, 0);
            }
            let mask = u8::from(pressed);
            *state.borrow_mut() = (x, y, mask);
            sink.send_mouse(x, y, mask);
        });
    }
    {
        let sink = sink.clone();
        listeners.on(t, "paste", move |e: &Event| {
            let Some(ce) = e.dyn_ref::<web_sys::ClipboardEvent>() else {
                return;
            };
            let Some(text) = ce
                .clipboard_data()
                .and_then(|d| d.get_data("text/plain").ok())
            else {
                return;
            };
            e.prevent_default();
            sink.paste_text(&text);
        });
    }
    listeners.on(t, "dragover", |e: &Event| e.prevent_default());
    {
        let sink = sink.clone();
        listeners.on(t, "drop", move |e: &Event| {
            let Some(de) = e.dyn_ref::<web_sys::DragEvent>() else {
                return;
            };
            e.prevent_default();
            let Some(files) = de.data_transfer().and_then(|d| d.files()) else {
                return;
            };
            for i in 0..files.length() {
                if let Some(f) = files.get(i) {
                    sink.upload_file(f);
                }
            }
        });
    }
}
