//! What a session in a dedicated Worker needs from the module that
//! `attachInput` does in a page: the keyboard translator, fed with
//! serialised `KeyboardEvent`s (a Worker gets no DOM events; the page
//! forwards their fields, see `worker/` in the package).

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::guac::keyboard::{KeyEvent, KeyKind, Keyboard, Modifiers, Options};

#[wasm_bindgen(typescript_custom_section)]
const TS_WORKER: &str = r#"
/** The fields of a `KeyboardEvent` the translator reads (what the page forwards). */
export interface SerializedKeyEvent {
  type: "keydown" | "keyup";
  key: string;
  code: string;
  location?: number;
  repeat?: boolean;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  altKey?: boolean;
  metaKey?: boolean;
  /** `getModifierState("AltGraph")`. */
  altGraph?: boolean;
  /** `getModifierState("CapsLock")`. */
  capsLock?: boolean;
  isComposing?: boolean;
}

/** Platform quirks (the page knows its user agent; a Worker's is the same). */
export interface KeyTranslatorOptions {
  /** Send KP_Enter for the numpad Enter (default: Return). */
  keypadEnter?: boolean;
  /** iOS: every non-modifier key is pressed and released at once. */
  keyupUnreliable?: boolean;
  /** macOS Safari, iOS: lock keys report their state; each event taps the key. */
  lockKeysToggle?: boolean;
}

/** `[keysym, pressed]` pairs to send with `sendKeyEvent`, in order. */
export type KeyPresses = Array<[number, boolean]>;
"#;

fn field(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn flag(o: &JsValue, k: &str) -> bool {
    field(o, k).as_bool().unwrap_or(false)
}

fn presses(keys: &[(u32, bool)]) -> Array {
    keys.iter()
        .map(|&(sym, pressed)| Array::of2(&JsValue::from(sym), &JsValue::from(pressed)))
        .collect()
}

/// The keyboard translator of `attachInput` (keysyms, releases by physical
/// key, AltGr, dead keys, modifier resync) for events that arrive as plain
/// objects, e.g. forwarded from a page to the Worker running the session.
#[wasm_bindgen]
pub struct KeyTranslator {
    keyboard: Keyboard,
}

#[wasm_bindgen]
impl KeyTranslator {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "KeyTranslatorOptions | undefined")] options: JsValue,
    ) -> KeyTranslator {
        KeyTranslator {
            keyboard: Keyboard::with_options(Options {
                keyup_unreliable: flag(&options, "keyupUnreliable"),
                lock_keys_toggle: flag(&options, "lockKeysToggle"),
                keypad_enter: flag(&options, "keypadEnter"),
            }),
        }
    }

    /// One keydown or keyup: the presses and releases to send. Anything that
    /// is not a keydown/keyup with a string `key` yields none.
    #[wasm_bindgen(unchecked_return_type = "KeyPresses")]
    pub fn event(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "SerializedKeyEvent")] e: JsValue,
    ) -> Array {
        let kind = match field(&e, "type").as_string().as_deref() {
            Some("keydown") => KeyKind::Down,
            Some("keyup") => KeyKind::Up,
            _ => return Array::new(),
        };
        let Some(key) = field(&e, "key").as_string() else {
            return Array::new();
        };
        let code = field(&e, "code").as_string().unwrap_or_default();
        let location = field(&e, "location")
            .as_f64()
            .filter(|v| (0.0..=3.0).contains(v))
            .map_or(0, |v| v as u32);
        let event = KeyEvent {
            kind,
            key: &key,
            code: &code,
            location,
            repeat: flag(&e, "repeat"),
            modifiers: Modifiers {
                shift: flag(&e, "shiftKey"),
                ctrl: flag(&e, "ctrlKey"),
                alt: flag(&e, "altKey"),
                meta: flag(&e, "metaKey"),
                alt_graph: flag(&e, "altGraph"),
                caps_lock: flag(&e, "capsLock"),
            },
            is_composing: flag(&e, "isComposing"),
        };
        presses(&self.keyboard.event(&event).keys)
    }

    /// Text from an IME composition or a soft keyboard: each character tapped.
    #[wasm_bindgen(js_name = typeText, unchecked_return_type = "KeyPresses")]
    pub fn type_text(&mut self, text: &str) -> Array {
        presses(&self.keyboard.type_text(text))
    }

    /// Focus lost: releases every held key.
    #[wasm_bindgen(unchecked_return_type = "KeyPresses")]
    pub fn reset(&mut self) -> Array {
        presses(&self.keyboard.reset())
    }
}
