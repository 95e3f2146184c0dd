//! Core errors as JS `Error` objects with a stable `code`.

use wasm_bindgen::JsValue;

use crate::core::error::Error;

/// `Error` with `name = "PamLaunchError"`, `code` = the stable code, and the
/// core's message (which never contains secrets).
pub fn to_js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(e.message());
    err.set_name("PamLaunchError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().as_str().into());
    err.into()
}
