// Shared by tests/wasm_node.rs and tests/wasm_browser.rs: runs the behaviour
// tables through the exported JS functions (the `web` layer), with real JS
// values (`{"$bytes": ...}` becomes a Uint8Array).

use base64::Engine as _;
use js_sys::{Reflect, Uint8Array, JSON};
use pam_launch_wasm::web;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

const TABLES: [(&str, &str); 2] = [
    ("jit-cases.json", include_str!("../cases/jit-cases.json")),
    ("dag-vectors.json", include_str!("../cases/dag-vectors.json")),
];

fn revive(text: &str) -> JsValue {
    JSON::parse(text).map(|v| revive_value(&v)).unwrap_or(JsValue::UNDEFINED)
}

/// Replaces every `{ "$bytes": base64 }` with a Uint8Array.
fn revive_value(v: &JsValue) -> JsValue {
    if js_sys::Array::is_array(v) {
        let arr: &js_sys::Array = v.unchecked_ref();
        return arr.iter().map(|x| revive_value(&x)).collect::<js_sys::Array>().into();
    }
    if !v.is_object() {
        return v.clone();
    }
    if let Some(b64) = Reflect::get(v, &"$bytes".into()).ok().and_then(|x| x.as_string()) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default();
        return Uint8Array::from(bytes.as_slice()).into();
    }
    let out = js_sys::Object::new();
    for entry in js_sys::Object::entries(v.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let _ = Reflect::set(&out, &pair.get(0), &revive_value(&pair.get(1)));
    }
    out.into()
}

fn call(f: &str, args: &js_sys::Array) -> Result<JsValue, JsValue> {
    let a = |i: u32| args.get(i);
    match f {
        "normalizeJitSettings" => web::normalize_jit_settings(a(0)),
        "deriveJitMode" => web::derive_jit_mode(a(0)),
        "buildEphemeralPayload" => web::build_ephemeral_payload(a(0)),
        "buildElevationPayload" => web::build_elevation_payload(a(0)),
        "provisionsCredential" => Ok(web::provisions_credential(a(0), a(1)).into()),
        "decodeDagJitSettings" => {
            let key = (args.length() > 1).then(|| a(1).unchecked_into());
            web::decode_dag_jit_settings(a(0), key)
        }
        "loadJitSettings" => web::load_jit_settings(a(0)),
        "planLaunch" => web::plan_launch(a(0)),
        other => Err(JsValue::from_str(&format!("unknown function {other}"))),
    }
}

fn to_value(v: &JsValue) -> Value {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// Runs every case; returns (count, failures).
pub fn run_tables() -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (table, text) in TABLES {
        let doc = revive(text);
        let cases: js_sys::Array = Reflect::get(&doc, &"cases".into())
            .map(|c| c.unchecked_into())
            .unwrap_or_default();
        let raw: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        for (i, case) in cases.iter().enumerate() {
            count += 1;
            let spec = &raw["cases"][i];
            let name = spec["name"].as_str().unwrap_or("?");
            let f = spec["fn"].as_str().unwrap_or("?");
            let args: js_sys::Array = Reflect::get(&case, &"args".into())
                .map(|c| c.unchecked_into())
                .unwrap_or_default();
            let got = call(f, &args);
            let verdict = match (&spec.get("error"), got) {
                (Some(code), Err(e)) => {
                    let is_error = e.is_instance_of::<js_sys::Error>();
                    let got_code = Reflect::get(&e, &"code".into()).ok().and_then(|c| c.as_string());
                    if is_error && got_code.as_deref() == code.as_str() {
                        None
                    } else {
                        Some(format!("threw {got_code:?} (Error: {is_error}), want {code}"))
                    }
                }
                (Some(code), Ok(v)) => Some(format!("returned {}, want error {code}", to_value(&v))),
                (None, Err(e)) => Some(format!("threw {:?}", Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))),
                (None, Ok(v)) => {
                    let mut got = to_value(&v);
                    if f == "planLaunch" {
                        if let Some(Value::Array(ws)) = got.get_mut("warnings") {
                            for w in ws.iter_mut() {
                                if let Some(o) = w.as_object_mut() {
                                    o.retain(|k, _| k == "code");
                                }
                            }
                        }
                    }
                    let want = &spec["expect"];
                    let same = if spec.get("ordered") == Some(&Value::Bool(true)) {
                        serde_json::to_string(&got).ok() == serde_json::to_string(want).ok()
                    } else {
                        &got == want
                    };
                    (!same).then(|| format!("got {got}, want {want}"))
                }
            };
            if let Some(why) = verdict {
                failures.push(format!("{table}: {name}: {why}"));
            }
        }
    }
    (count, failures)
}
