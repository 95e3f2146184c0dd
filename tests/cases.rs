//! Runs the shared behaviour tables (`tests/cases/*.json`) natively against
//! `core::api`: the same tables run in Node (`tests/js`) and in headless
//! Chromium (`tests/wasm_browser.rs`) through the JS exports.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::panic, clippy::expect_used)]

use base64::Engine as _;
use pam_launch_wasm::core::api;
use pam_launch_wasm::core::dag::{self, Content, DagInput};
use serde_json::{Map, Value};

const TABLES: [(&str, &str); 2] = [
    ("jit-cases.json", include_str!("cases/jit-cases.json")),
    ("dag-vectors.json", include_str!("cases/dag-vectors.json")),
];

fn as_bytes(v: &Value) -> Option<Vec<u8>> {
    let b64 = v.as_object()?.get("$bytes")?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn key_arg(v: Option<&Value>) -> Result<Option<Vec<u8>>, pam_launch_wasm::Error> {
    match v {
        None => Ok(None),
        Some(v) => match as_bytes(v) {
            Some(b) => Ok(Some(b)),
            None => api::record_key_from_json(v),
        },
    }
}

fn edge_arg(v: &Value, i: usize) -> Result<dag::Edge, pam_launch_wasm::Error> {
    let bytes = v.get("content").and_then(as_bytes);
    let mut e = dag::edge_from_value(v.clone(), i)?;
    if let Some(b) = bytes {
        e.content = Some(Content::Bytes(b));
    }
    Ok(e)
}

fn dag_arg(v: Option<&Value>) -> Result<Option<DagInput>, pam_launch_wasm::Error> {
    let Some(v) = v else { return Ok(None) };
    if let Some(b) = as_bytes(v) {
        return Ok(Some(DagInput::Content(Content::Bytes(b))));
    }
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, e)| edge_arg(e, i))
            .collect::<Result<Vec<_>, _>>()
            .map(|e| Some(DagInput::Edges(e))),
        Value::Object(o) if dag::looks_like_edge(o) => {
            Ok(Some(DagInput::Edges(vec![edge_arg(v, 0)?])))
        }
        other => api::dag_from_json(other),
    }
}

/// `dag`, `recordKey` and the rest of a request.
type Split = (Option<DagInput>, Option<Vec<u8>>, Value);

fn split(req: &Value) -> Result<Split, pam_launch_wasm::Error> {
    let Some(o) = req.as_object() else {
        return Ok((None, None, req.clone()));
    };
    let dag = dag_arg(o.get("dag"))?;
    let key = key_arg(o.get("recordKey").filter(|v| !v.is_null()))?;
    let rest: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| *k != "dag" && *k != "recordKey")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok((dag, key, Value::Object(rest)))
}

fn call(f: &str, args: &[Value]) -> Result<Value, pam_launch_wasm::Error> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    match f {
        "normalizeJitSettings" => Ok(api::normalize_jit_settings(&a(0))),
        "deriveJitMode" => api::derive_jit_mode(&a(0)),
        "buildEphemeralPayload" => Ok(api::build_ephemeral_payload(&a(0))),
        "buildElevationPayload" => Ok(api::build_elevation_payload(&a(0))),
        "provisionsCredential" => Ok(Value::Bool(api::provisions_credential(&a(0), &a(1)))),
        "decodeDagJitSettings" => {
            let key = key_arg(args.get(1).filter(|v| !v.is_null()))?;
            match dag_arg(Some(&a(0)))? {
                Some(d) => api::decode_dag_jit_settings(&d, key.as_deref()),
                None => Ok(Value::Null),
            }
        }
        "loadJitSettings" => {
            let (dag, key, rest) = split(&a(0))?;
            api::load_jit_settings(dag.as_ref(), key.as_deref(), rest.get("record"))
        }
        "planLaunch" => {
            let (dag, key, rest) = split(&a(0))?;
            let req = api::launch_request(&rest, dag, key)?;
            api::plan_launch(&req).map(|mut p| {
                // Warnings are compared by code.
                if let Some(Value::Array(ws)) = p.get_mut("warnings") {
                    for w in ws.iter_mut() {
                        if let Some(o) = w.as_object_mut() {
                            o.retain(|k, _| k == "code");
                        }
                    }
                }
                p
            })
        }
        other => panic!("unknown function {other} in a case table"),
    }
}

#[test]
fn behaviour_tables_hold_natively() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (table, text) in TABLES {
        let doc: Value = serde_json::from_str(text).expect("case table is JSON");
        for case in doc["cases"].as_array().expect("cases array") {
            count += 1;
            let name = case["name"].as_str().unwrap_or("?");
            let f = case["fn"].as_str().expect("fn");
            let args = case["args"].as_array().cloned().unwrap_or_default();
            let got = call(f, &args);
            let ok = match (case.get("error"), &got) {
                (Some(code), Err(e)) => code.as_str() == Some(e.code().as_str()),
                (Some(_), Ok(_)) => false,
                (None, Err(_)) => false,
                (None, Ok(v)) => {
                    let want = &case["expect"];
                    if case.get("ordered") == Some(&Value::Bool(true)) {
                        serde_json::to_string(v).ok() == serde_json::to_string(want).ok()
                    } else {
                        v == want
                    }
                }
            };
            if !ok {
                failures.push(format!(
                    "{table}: {name}\n   got: {got:?}\n  want: {}",
                    case.get("error").unwrap_or(&case["expect"])
                ));
            }
        }
    }
    assert!(count > 100, "case tables look empty ({count} cases)");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
