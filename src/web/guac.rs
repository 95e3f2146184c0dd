//! Guacamole protocol tooling for JS: a streaming parser and recording summaries.

use js_sys::{Array, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::error::Error;
use crate::core::guac::parser::Parser;
use crate::core::guac::recording;

use super::error::to_js_error;

/// A streaming Guacamole parser: feed it bytes split anywhere.
#[wasm_bindgen]
pub struct GuacamoleParser {
    inner: Parser,
}

impl Default for GuacamoleParser {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl GuacamoleParser {
    #[wasm_bindgen(constructor)]
    pub fn new() -> GuacamoleParser {
        GuacamoleParser {
            inner: Parser::new(),
        }
    }

    /// Parses `bytes`; returns each complete instruction as `[opcode, ...args]`, in order.
    /// Throws `MALFORMED_INSTRUCTION` or `INSTRUCTION_TOO_LARGE` on a bad stream.
    #[wasm_bindgen(unchecked_return_type = "string[][]")]
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Array, JsValue> {
        let out = Array::new();
        self.inner
            .receive(bytes, |inst| {
                let elems: Array = inst.elements().map(JsString::from).collect();
                out.push(&elems);
            })
            .map_err(|e| to_js_error(Error::from(e)))?;
        Ok(out)
    }

    /// Parses `bytes` and returns how many instructions completed, without
    /// handing them to JS (what a session does internally; used by benchmarks).
    #[wasm_bindgen(js_name = receiveCount)]
    pub fn receive_count(&mut self, bytes: &[u8]) -> Result<usize, JsValue> {
        self.inner
            .receive(bytes, |_| {})
            .map_err(|e| to_js_error(Error::from(e)))
    }

    /// Ends the stream; throws `INCOMPLETE_INSTRUCTION` if a partial instruction is left.
    pub fn finish(&mut self) -> Result<(), JsValue> {
        self.inner.finish().map_err(|e| to_js_error(Error::from(e)))
    }

    /// Bytes held of an unfinished instruction.
    #[wasm_bindgen(getter)]
    pub fn buffered(&self) -> usize {
        self.inner.buffered()
    }
}

/// Summarises a Guacamole session recording (or captured stream): instruction
/// counts by opcode, frame (`sync`) count and duration in ms.
#[wasm_bindgen(js_name = summarizeRecording, unchecked_return_type = "RecordingSummary")]
pub fn summarize_recording(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let s = recording::summarize(bytes).map_err(|e| to_js_error(Error::from(e)))?;
    let counts = Object::new();
    for (op, n) in &s.counts {
        Reflect::set(&counts, &op.into(), &(*n as f64).into())?;
    }
    let out = Object::new();
    Reflect::set(
        &out,
        &"instructions".into(),
        &(s.instructions as f64).into(),
    )?;
    Reflect::set(&out, &"counts".into(), &counts)?;
    Reflect::set(&out, &"frames".into(), &(s.frames as f64).into())?;
    Reflect::set(&out, &"durationMs".into(), &(s.duration_ms as f64).into())?;
    Reflect::set(&out, &"bytes".into(), &(s.bytes as f64).into())?;
    Ok(out.into())
}
