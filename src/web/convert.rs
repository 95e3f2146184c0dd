//! JS values to the core's types and back.
//!
//! Plain data goes through `JSON.stringify` / `serde_json` (which bounds the
//! nesting depth, rejects cycles and BigInt with a typed error, and keeps key
//! order); binary data (`Uint8Array`, `ArrayBuffer`, any `ArrayBuffer` view)
//! is copied out as bytes before that.

use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array, JSON};
use serde_json::{Map, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::api;
use crate::core::dag::{self, Content, DagInput};
use crate::core::error::{Error, Result};

#[cfg(feature = "bench-js-boundary")]
thread_local! {
    static SERDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Benchmark builds only (feature `bench-js-boundary`): switches the JS
/// boundary between JSON text ("json", what ships) and serde-wasm-bindgen
/// ("serde-wasm-bindgen"), for `benches/boundary`. The shipped boundary is
/// JSON text because it measured faster (README, Performance).
#[cfg(feature = "bench-js-boundary")]
#[wasm_bindgen::prelude::wasm_bindgen(js_name = benchJsBoundary, skip_typescript)]
pub fn bench_js_boundary(mode: &str) -> String {
    SERDE.with(|c| c.set(mode == "serde-wasm-bindgen"));
    mode.to_owned()
}

#[cfg(feature = "bench-js-boundary")]
fn serde_boundary() -> bool {
    SERDE.with(std::cell::Cell::get)
}

/// JSON value of a JS value; `undefined` and functions become `null`.
pub fn to_json(v: &JsValue) -> Result<Value> {
    if v.is_undefined() || v.is_null() {
        return Ok(Value::Null);
    }
    if bytes_of(v).is_some() {
        return Err(Error::invalid_input(
            "expected a JSON value, got binary data",
        ));
    }
    #[cfg(feature = "bench-js-boundary")]
    if serde_boundary() {
        return serde_wasm_bindgen::from_value(v.clone())
            .map_err(|_| Error::invalid_input("value is not plain JSON data"));
    }
    let text = JSON::stringify(v).map_err(|_| {
        Error::invalid_input("value cannot be serialised to JSON (a cycle or a BigInt?)")
    })?;
    let Some(text) = text.as_string() else {
        return Ok(Value::Null);
    };
    serde_json::from_str(&text)
        .map_err(|_| Error::invalid_input("value is not plain JSON data or is nested too deeply"))
}

/// JS value of a JSON value.
pub fn to_js(v: &Value) -> std::result::Result<JsValue, JsValue> {
    #[cfg(feature = "bench-js-boundary")]
    if serde_boundary() {
        use serde::Serialize;
        return v
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(JsValue::from);
    }
    let text = serde_json::to_string(v)
        .map_err(|_| JsValue::from_str("internal: unserialisable value"))?;
    JSON::parse(&text)
}

/// The bytes of a `Uint8Array`, `ArrayBuffer` or other `ArrayBuffer` view
/// (works across realms: no `instanceof`).
pub fn bytes_of(v: &JsValue) -> Option<Vec<u8>> {
    if !v.is_object() {
        return None;
    }
    if ArrayBuffer::is_view(v) {
        let buffer = Reflect::get(v, &"buffer".into()).ok()?;
        let offset = Reflect::get(v, &"byteOffset".into()).ok()?.as_f64()?;
        let len = Reflect::get(v, &"byteLength".into()).ok()?.as_f64()?;
        let view = Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, len as u32);
        return Some(view.to_vec());
    }
    let tag = Reflect::get(v, &js_sys::Symbol::to_string_tag()).ok()?;
    if matches!(
        tag.as_string().as_deref(),
        Some("ArrayBuffer" | "SharedArrayBuffer")
    ) {
        return Some(Uint8Array::new(v).to_vec());
    }
    None
}

/// A record key: bytes, or base64/base64url text.
pub fn record_key_from_js(v: Option<&JsValue>) -> Result<Option<Vec<u8>>> {
    let Some(v) = v.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(None);
    };
    if let Some(b) = bytes_of(v) {
        return Ok(Some(b));
    }
    match v.as_string() {
        Some(s) => api::record_key_from_json(&Value::String(s)),
        None => Err(Error::invalid_input(
            "recordKey must be a Uint8Array of 32 bytes or base64url text",
        )),
    }
}

/// The DAG input: content (object, JSON text, bytes, ciphertext), one edge, or an edge list.
pub fn dag_from_js(v: &JsValue) -> Result<Option<DagInput>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(b) = bytes_of(v) {
        return Ok(Some(api::dag_from_bytes(b)));
    }
    if Array::is_array(v) {
        let arr: &Array = v.unchecked_ref();
        let edges = arr
            .iter()
            .enumerate()
            .map(|(i, e)| edge_from_js(&e, i))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Some(DagInput::Edges(edges)));
    }
    let json = to_json_lossy_bytes(v)?;
    if let Value::Object(o) = &json {
        if dag::looks_like_edge(o) {
            return edge_from_js(v, 0).map(|e| Some(DagInput::Edges(vec![e])));
        }
    }
    api::dag_from_json(&json)
}

fn edge_from_js(v: &JsValue, index: usize) -> Result<dag::Edge> {
    let content = if v.is_object() {
        Reflect::get(v, &"content".into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    };
    let bytes = bytes_of(&content);
    let json = to_json_lossy_bytes(v)?;
    let mut edge = dag::edge_from_value(json, index)?;
    if let Some(b) = bytes {
        edge.content = Some(Content::Bytes(b));
    }
    Ok(edge)
}

/// Like [`to_json`], but binary data nested inside becomes `null` (the
/// callers above read it separately).
fn to_json_lossy_bytes(v: &JsValue) -> Result<Value> {
    if bytes_of(v).is_some() {
        return Ok(Value::Null);
    }
    to_json(v)
}

/// Splits a request-like object into its `dag`, `recordKey` (both may be
/// binary) and the rest as JSON.
pub fn split_request(v: &JsValue) -> Result<(Option<DagInput>, Option<Vec<u8>>, Value)> {
    if !v.is_object() || Array::is_array(v) {
        return Ok((None, None, to_json(v)?));
    }
    let get = |k: &str| Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let dag = dag_from_js(&get("dag"))?;
    let key = record_key_from_js(Some(&get("recordKey")))?;
    // Copy the remaining own enumerable properties (skipping the binary ones).
    let obj = js_sys::Object::new();
    for entry in js_sys::Object::entries(v.unchecked_ref()).iter() {
        let pair: Array = entry.unchecked_into();
        let k = pair.get(0);
        if matches!(k.as_string().as_deref(), Some("dag" | "recordKey")) {
            continue;
        }
        let _ = Reflect::set(&obj, &k, &pair.get(1));
    }
    let rest = to_json(&obj)?;
    Ok((
        dag,
        key,
        match rest {
            Value::Object(m) => Value::Object(m),
            _ => Value::Object(Map::new()),
        },
    ))
}
