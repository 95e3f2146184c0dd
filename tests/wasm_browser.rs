//! The JS exports in headless Chromium.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::indexing_slicing)]

mod common {
    include!("common/wasm_cases.rs");
}

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn behaviour_tables_hold_in_the_browser() {
    assert!(web_sys::window().is_some(), "not running in a browser");
    let (count, failures) = common::run_tables();
    assert!(count > 100, "case tables look empty ({count})");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[wasm_bindgen_test]
fn errors_are_error_objects_with_a_code() {
    let e = pam_launch_wasm::web::plan_launch(JsValue::NULL)
        .err()
        .unwrap_or(JsValue::NULL);
    assert!(e.is_instance_of::<js_sys::Error>());
    let code = js_sys::Reflect::get(&e, &"code".into())
        .ok()
        .and_then(|c| c.as_string());
    assert_eq!(code.as_deref(), Some("INVALID_INPUT"));
}
