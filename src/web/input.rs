//! Browser input bound to a session: mouse (buttons, wheel), touch as mouse,
//! paste into the remote clipboard, drag-and-drop upload, and the keyboard.
//!
//! Coordinates are converted from CSS pixels of the canvas to remote pixels
//! with the scale the display was last composited at.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventTarget, HtmlCanvasElement, MouseEvent, TouchEvent, WheelEvent};

use super::session::Inner;

/// One registered listener: where, which event, and the closure kept alive.
type Listener = (EventTarget, &'static str, Closure<dyn FnMut(Event)>);

/// Listeners added by `attachInput`, removed by `detachInput`, and the
/// elements created for them (removed from the page at the same time).
#[derive(Default)]
pub struct Listeners {
    list: Vec<Listener>,
    elements: Vec<Element>,
}

impl Listeners {
    pub fn add(
        &mut self,
        target: &EventTarget,
        kind: &'static str,
        f: impl FnMut(Event) + 'static,
    ) -> Result<(), JsValue> {
        let c = Closure::<dyn FnMut(Event)>::new(f);
        target.add_event_listener_with_callback(kind, c.as_ref().unchecked_ref())?;
        self.list.push((target.clone(), kind, c));
        Ok(())
    }

    /// Keeps `el` until [`Listeners::clear`], which removes it from the page.
    pub fn own_element(&mut self, el: Element) {
        self.elements.push(el);
    }

    pub fn owned_elements(&self) -> impl Iterator<Item = &Element> {
        self.elements.iter()
    }

    pub fn clear(&mut self) {
        for (t, kind, c) in self.list.drain(..) {
            let _ = t.remove_event_listener_with_callback(kind, c.as_ref().unchecked_ref());
        }
        for el in self.elements.drain(..) {
            el.remove();
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.clear();
    }
}

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

fn with_inner(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&Rc<RefCell<Inner>>)) {
    if let Some(inner) = weak.upgrade() {
        f(&inner);
    }
}

/// Attaches pointer, touch, keyboard, paste and drop handling to `target`
/// (events on it are mapped onto the session's canvas).
pub fn attach(
    inner: &Rc<RefCell<Inner>>,
    target: &Element,
    keypad_enter: bool,
    listeners: &mut Listeners,
) -> Result<(), JsValue> {
    super::keyboard::attach(inner, target, keypad_enter, listeners)?;
    let t: &EventTarget = target.as_ref();
    let weak = Rc::downgrade(inner);
    // Last known pointer state, shared by the mouse and touch handlers.
    let state = Rc::new(RefCell::new((0i32, 0i32, 0u8)));

    for kind in ["mousemove", "mousedown", "mouseup"] {
        let (weak, state) = (weak.clone(), state.clone());
        listeners.add(t, kind, move |e: Event| {
            let Some(me) = e.dyn_ref::<MouseEvent>() else {
                return;
            };
            with_inner(&weak, |inner| {
                let (Some(canvas), scale) = Inner::pointer_geometry(inner) else {
                    return;
                };
                let (x, y) = remote_xy(&canvas, scale, me.client_x().into(), me.client_y().into());
                let mask = button_mask(me.buttons());
                *state.borrow_mut() = (x, y, mask);
                Inner::mouse(inner, x, y, mask);
            });
            if e.type_() == "mousedown" {
                // No text selection or drag, and the keyboard's input sink
                // keeps the focus (the keyboard module focuses it).
                e.prevent_default();
            }
        })?;
    }
    {
        let (weak, state) = (weak.clone(), state.clone());
        listeners.add(t, "wheel", move |e: Event| {
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
            with_inner(&weak, |inner| {
                Inner::mouse(inner, x, y, mask | bit);
                Inner::mouse(inner, x, y, mask);
            });
        })?;
    }
    listeners.add(t, "contextmenu", |e: Event| e.prevent_default())?;
    // Touch as mouse: one finger is the left button.
    for kind in ["touchstart", "touchmove", "touchend", "touchcancel"] {
        let (weak, state) = (weak.clone(), state.clone());
        listeners.add(t, kind, move |e: Event| {
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
            with_inner(&weak, |inner| {
                let (Some(canvas), scale) = Inner::pointer_geometry(inner) else {
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
                    Inner::mouse(inner, x, y, 0);
                }
                let mask = u8::from(pressed);
                *state.borrow_mut() = (x, y, mask);
                Inner::mouse(inner, x, y, mask);
            });
        })?;
    }
    {
        let weak = weak.clone();
        listeners.add(t, "paste", move |e: Event| {
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
            with_inner(&weak, |inner| Inner::paste(inner, &text));
        })?;
    }
    listeners.add(t, "dragover", |e: Event| e.prevent_default())?;
    {
        let weak = weak.clone();
        listeners.add(t, "drop", move |e: Event| {
            let Some(de) = e.dyn_ref::<web_sys::DragEvent>() else {
                return;
            };
            e.prevent_default();
            let Some(files) = de.data_transfer().and_then(|d| d.files()) else {
                return;
            };
            for i in 0..files.length() {
                if let Some(f) = files.get(i) {
                    upload(weak.clone(), f);
                }
            }
        })?;
    }
    Ok(())
}

/// Uploads a `File` over the session, read a chunk at a time as the
/// server's acks ask for more (never read whole into memory).
pub fn upload(weak: Weak<RefCell<Inner>>, file: web_sys::File) {
    with_inner(&weak, |inner| {
        Inner::upload_file_streamed(inner, file);
    });
}
