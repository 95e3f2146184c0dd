//! The keyboard, bound to a session: `keydown`/`keyup` through the core's
//! translator ([`crate::core::guac::keyboard`]), text from IME composition and
//! soft keyboards through a hidden input sink, and every held key released
//! when focus leaves.
//!
//! A canvas cannot receive composition or `input` events, so, like
//! guacamole-common-js's `InputSink`, a transparent textarea takes the focus
//! whenever the session element is clicked, touched or focused. Its text is
//! typed to the remote side and cleared at once; nothing is kept.
//!
//! Paste shortcuts (Ctrl+V, Meta+V, Shift+Insert) are not prevented, so that
//! the browser still fires `paste`: their key presses are held back until the
//! paste has been sent (or [`PASTE_WAIT_MS`] passed), so that the remote side
//! pastes the new clipboard, not the old one.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventTarget, HtmlTextAreaElement, KeyboardEvent};

use super::sink::{Attached, InputSink};
use crate::core::guac::keyboard::{KeyEvent, KeyKind, Keyboard, Modifiers, Options};

/// How long key presses of a paste shortcut wait for the `paste` event.
const PASTE_WAIT_MS: u32 = 100;

/// The keyboard state shared by the listeners of one `attachInput`.
struct KeyboardState {
    keyboard: Keyboard,
    /// Keys of a paste shortcut, waiting for the clipboard to be sent first.
    held_for_paste: Option<Vec<(u32, bool)>>,
    /// The wait for the `paste` event (cancelled when dropped).
    paste_timer: Option<Timeout>,
}

type Shared = Rc<RefCell<KeyboardState>>;
type Sink = Rc<dyn InputSink>;

/// Platform quirks the core cannot detect, from the user agent
/// (`navigator.userAgent` of the global scope).
fn platform_options(keypad_enter: bool) -> Options {
    let ua = Reflect::get(&js_sys::global(), &"navigator".into())
        .ok()
        .filter(JsValue::is_object)
        .and_then(|n| Reflect::get(&n, &"userAgent".into()).ok())
        .and_then(|u| u.as_string())
        .unwrap_or_default();
    let ios = ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod");
    let mac_safari = ua.contains("Macintosh")
        && ua.contains("Safari")
        && !ua.contains("Chrome")
        && !ua.contains("Chromium");
    Options {
        keyup_unreliable: ios,
        lock_keys_toggle: mac_safari || ios,
        keypad_enter,
    }
}

fn modifiers(e: &KeyboardEvent) -> Modifiers {
    Modifiers {
        shift: e.shift_key(),
        ctrl: e.ctrl_key(),
        alt: e.alt_key(),
        meta: e.meta_key(),
        alt_graph: e.get_modifier_state("AltGraph"),
        caps_lock: e.get_modifier_state("CapsLock"),
    }
}

/// Whether this keydown is a paste shortcut whose default must run.
fn is_paste_shortcut(e: &KeyboardEvent) -> bool {
    let key = e.key();
    let v = key.eq_ignore_ascii_case("v") || e.code() == "KeyV";
    ((e.ctrl_key() || e.meta_key()) && !e.alt_key() && v) || (e.shift_key() && key == "Insert")
}

/// Sends key presses, or holds them while a paste is awaited.
fn send_keys(sink: &Sink, state: &Shared, keys: Vec<(u32, bool)>) {
    if keys.is_empty() {
        return;
    }
    if let Some(held) = state.borrow_mut().held_for_paste.as_mut() {
        held.extend(keys);
        return;
    }
    sink.send_keys(&keys);
}

/// Sends the keys held for a paste, if any.
fn release_held(sink: &Sink, state: &Shared) {
    let (held, timer) = {
        let mut st = state.borrow_mut();
        (st.held_for_paste.take(), st.paste_timer.take())
    };
    drop(timer);
    if let Some(keys) = held {
        sink.send_keys(&keys);
    }
}

/// Types and clears what the input sink holds (composition or soft keyboard
/// text).
fn flush_sink(to: &Sink, state: &Shared, sink: &HtmlTextAreaElement) {
    let text = sink.value();
    if text.is_empty() {
        return;
    }
    sink.set_value("");
    let keys = state.borrow_mut().keyboard.type_text(&text);
    send_keys(to, state, keys);
}

/// Creates the transparent, focusable textarea that receives text input.
fn make_sink() -> Result<HtmlTextAreaElement, JsValue> {
    let document = super::canvas::document()
        .ok_or_else(|| JsValue::from_str("no document to attach the keyboard to"))?;
    let sink: HtmlTextAreaElement = document.create_element("textarea")?.dyn_into()?;
    for (name, value) in [
        ("autocapitalize", "off"),
        ("autocomplete", "off"),
        ("autocorrect", "off"),
        ("spellcheck", "false"),
        ("aria-label", "Remote session keyboard"),
        ("data-pam-input-sink", ""),
    ] {
        sink.set_attribute(name, value)?;
    }
    // CSSOM, not a style attribute: allowed under a strict style-src.
    let style = sink.style();
    for (name, value) in [
        ("position", "fixed"),
        ("left", "0"),
        ("top", "0"),
        ("width", "1px"),
        ("height", "1px"),
        ("opacity", "0"),
        ("border", "0"),
        ("padding", "0"),
        ("margin", "0"),
        ("resize", "none"),
        ("overflow", "hidden"),
        ("pointer-events", "none"),
        ("z-index", "-1"),
    ] {
        style.set_property(name, value)?;
    }
    if let Some(body) = document.body() {
        body.append_child(&sink)?;
    }
    Ok(sink)
}

/// Attaches the keyboard to `target` (the session's element) through an input
/// sink; both receive key events, whichever has the focus.
pub(crate) fn attach(
    to: &Sink,
    target: &Element,
    keypad_enter: bool,
    listeners: &mut Attached,
) -> Result<(), JsValue> {
    let state: Shared = Rc::new(RefCell::new(KeyboardState {
        keyboard: Keyboard::with_options(platform_options(keypad_enter)),
        held_for_paste: None,
        paste_timer: None,
    }));
    let sink = make_sink()?;
    listeners.own_element(sink.clone().into());
    let sink_target: EventTarget = sink.clone().into();
    let target: &EventTarget = target.as_ref();

    // Clicking, touching or tabbing to the session gives the sink the focus.
    for kind in ["mousedown", "touchstart", "focus"] {
        let sink = sink.clone();
        listeners.on(target, kind, move |_e: &Event| {
            let _ = sink.focus();
        });
    }

    for t in [target, &sink_target] {
        for kind in ["keydown", "keyup"] {
            let (to, state, sink) = (to.clone(), state.clone(), sink.clone());
            listeners.on(t, kind, move |e: &Event| {
                let Some(ke) = e.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                if !to.keyboard_enabled() {
                    // Keyboard capture is off: the page keeps its keys, and
                    // the translator forgets what was held (the session
                    // released those keys when capture went off).
                    let _ = state.borrow_mut().keyboard.reset();
                    return;
                }
                let down = kind == "keydown";
                let (key, code) = (ke.key(), ke.code());
                let event = KeyEvent {
                    kind: if down { KeyKind::Down } else { KeyKind::Up },
                    key: &key,
                    code: &code,
                    location: ke.location(),
                    repeat: ke.repeat(),
                    modifiers: modifiers(ke),
                    is_composing: ke.is_composing(),
                };
                let outcome = state.borrow_mut().keyboard.event(&event);
                let paste = down && is_paste_shortcut(ke) && to.paste_allowed();
                if outcome.prevent_default && !paste {
                    e.prevent_default();
                }
                if paste && state.borrow().held_for_paste.is_none() {
                    state.borrow_mut().held_for_paste = Some(Vec::new());
                    wait_for_paste(to.clone(), state.clone());
                }
                send_keys(&to, &state, outcome.keys);
                if !down && !ke.is_composing() {
                    // A soft keyboard may put text in without a usable keydown.
                    flush_sink(&to, &state, &sink);
                }
            });
        }
    }

    for kind in ["compositionend", "input"] {
        let (to, state, sink2) = (to.clone(), state.clone(), sink.clone());
        listeners.on(&sink_target, kind, move |e: &Event| {
            let composing = e
                .dyn_ref::<web_sys::InputEvent>()
                .is_some_and(web_sys::InputEvent::is_composing);
            if kind == "compositionend" || !composing {
                flush_sink(&to, &state, &sink2);
            }
        });
    }

    // Paste into the sink: the clipboard first, then the held shortcut keys.
    {
        let (to, state) = (to.clone(), state.clone());
        listeners.on(&sink_target, "paste", move |e: &Event| {
            if let Some(text) = e
                .dyn_ref::<web_sys::ClipboardEvent>()
                .and_then(|ce| ce.clipboard_data())
                .and_then(|d| d.get_data("text/plain").ok())
            {
                e.prevent_default();
                to.paste_text(&text);
            }
            release_held(&to, &state);
        });
    }

    // Focus left both: release every held key, so nothing stays pressed remotely.
    for t in [target, &sink_target] {
        let (to, state) = (to.clone(), state.clone());
        let inside = [target.clone(), sink_target.clone()];
        listeners.on(t, "blur", move |e: &Event| {
            let next = e
                .dyn_ref::<web_sys::FocusEvent>()
                .and_then(web_sys::FocusEvent::related_target);
            if next.is_some_and(|n| inside.contains(&n)) {
                return; // focus moves between the session element and its sink
            }
            release_held(&to, &state);
            let keys = state.borrow_mut().keyboard.reset();
            send_keys(&to, &state, keys);
        });
    }
    Ok(())
}

/// Sends held paste-shortcut keys after [`PASTE_WAIT_MS`] if no `paste` came.
fn wait_for_paste(to: Sink, state: Shared) {
    let st = state.clone();
    let timer = Timeout::new(PASTE_WAIT_MS, move || release_held(&to, &st));
    state.borrow_mut().paste_timer = Some(timer);
}
