//! The one clock of the web layer: `performance.now()`, monotonic, for every
//! deadline, timeout and measured interval (a wall clock can jump when the
//! system time is set; `performance.now()` cannot). Wall-clock stamps shown
//! to a person may use `Date`, deadlines never do.

use std::cell::Cell;

use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;

thread_local! {
    /// The last reading, so that the fallback never goes back.
    static LAST: Cell<f64> = const { Cell::new(0.0) };
}

fn performance() -> Option<wasm_bindgen::JsValue> {
    Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .filter(|p| p.is_object())
}

fn call(p: &wasm_bindgen::JsValue, name: &str) -> Option<f64> {
    let f: Function = Reflect::get(p, &name.into()).ok()?.dyn_into().ok()?;
    f.call0(p).ok()?.as_f64().filter(|v| v.is_finite())
}

/// Monotonic milliseconds: `performance.now()`. Without a `performance`
/// object (no known host lacks one), `Date.now()` held from ever going back.
pub fn monotonic_ms() -> f64 {
    let t = performance()
        .and_then(|p| call(&p, "now"))
        .unwrap_or_else(js_sys::Date::now);
    LAST.with(|last| {
        let t = t.max(last.get());
        last.set(t);
        t
    })
}

/// Monotonic milliseconds on the Unix epoch's scale (`timeOrigin` plus
/// `performance.now()`). It never jumps with the system clock and reads as
/// Unix ms, for clocks that are also stamped on the wire (the data-channel
/// frames' timestamps).
pub fn epoch_ms() -> f64 {
    static_origin() + monotonic_ms()
}

thread_local! {
    static ORIGIN: Cell<Option<f64>> = const { Cell::new(None) };
}

/// `performance.timeOrigin`, read once (Unix ms when the page started);
/// without it, `Date.now() - performance.now()` at the first call.
fn static_origin() -> f64 {
    ORIGIN.with(|o| {
        if let Some(v) = o.get() {
            return v;
        }
        let v = performance()
            .and_then(|p| Reflect::get(&p, &"timeOrigin".into()).ok())
            .and_then(|v| v.as_f64())
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or_else(|| js_sys::Date::now() - monotonic_ms());
        o.set(Some(v));
        v
    })
}
