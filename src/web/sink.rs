//! The narrow boundary between the input handlers and the session.
//!
//! `input.rs` (mouse, wheel, touch, paste, drop) and `keyboard.rs` know the
//! session only as an [`InputSink`]: the few things they can ask of it. The
//! session (`session.rs`) implements it; neither side imports the other.
//! [`Attached`] holds what `attachInput` set up: gloo-events listeners
//! (removed when dropped) and the elements made for them.

use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventTarget, HtmlCanvasElement, HtmlElement};

/// What the input handlers drive.
pub(crate) trait InputSink {
    /// Sends `(keysym, pressed)` pairs, in order.
    fn send_keys(&self, keys: &[(u32, bool)]);
    /// Sends the mouse state in remote pixels (mask bits 1 left, 2 middle,
    /// 4 right, 8 up, 16 down).
    fn send_mouse(&self, x: i32, y: i32, mask: u8);
    /// The canvas element pointer positions are measured on, and its CSS
    /// pixels per remote pixel; `None` when there is none.
    fn pointer_geometry(&self) -> Option<(HtmlCanvasElement, f64)>;
    /// Whether pasting to the remote clipboard is allowed.
    fn paste_allowed(&self) -> bool;
    /// Pastes text to the remote clipboard (refused above the paste limit).
    fn paste_text(&self, text: &str);
    /// Uploads a file, read a chunk at a time.
    fn upload_file(&self, file: web_sys::File);
    /// Whether key events go to the session (`client.keyboardEnabled`):
    /// when not, the keyboard handlers leave the page's keys alone.
    fn keyboard_enabled(&self) -> bool {
        true
    }
}

/// The listeners and elements one `attachInput` added.
#[derive(Default)]
pub(crate) struct Attached {
    listeners: Vec<EventListener>,
    elements: Vec<Element>,
}

impl Attached {
    /// Listens for `kind` on `target` until [`Attached::clear`]. Not passive:
    /// the handlers may call `preventDefault` (wheel, touch, keys).
    pub(crate) fn on(
        &mut self,
        target: &EventTarget,
        kind: &'static str,
        f: impl FnMut(&Event) + 'static,
    ) {
        self.listeners.push(EventListener::new_with_options(
            target,
            kind,
            EventListenerOptions::enable_prevent_default(),
            f,
        ));
    }

    /// Keeps `el` until [`Attached::clear`], which removes it from the page.
    pub(crate) fn own_element(&mut self, el: Element) {
        self.elements.push(el);
    }

    /// Focuses the first element made for the input (the keyboard's sink).
    pub(crate) fn focus(&self) {
        if let Some(h) = self
            .elements
            .first()
            .and_then(|el| el.dyn_ref::<HtmlElement>())
        {
            let _ = h.focus();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.listeners.clear();
        for el in self.elements.drain(..) {
            el.remove();
        }
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.clear();
    }
}
