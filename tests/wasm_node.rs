//! The JS exports in Node (wasm-bindgen-test's default mode).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::indexing_slicing)]

mod common {
    include!("common/wasm_cases.rs");
}

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn behaviour_tables_hold_in_node() {
    let (count, failures) = common::run_tables();
    assert!(count > 100, "case tables look empty ({count})");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
