//! The launch plan on arbitrary JSON requests (and records), with the first
//! byte choosing the JIT request. Invariants: typed errors, no panic, and a
//! plan's inputs never mix JIT payloads into a non-JIT launch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_launch_wasm::core::api;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return };
    // Either the whole request, or a record wrapped in a request.
    let request = match (&v, sel & 1) {
        (Value::Object(o), 0) if o.contains_key("record") => v.clone(),
        _ => {
            let mut m = Map::new();
            m.insert("recordUid".into(), Value::from("R"));
            m.insert("record".into(), v.clone());
            m.insert(
                "jit".into(),
                match (sel >> 1) % 3 {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    _ => Value::from("auto"),
                },
            );
            if sel & 8 != 0 {
                m.insert("linkedUserRecordUid".into(), Value::from("L"));
            }
            Value::Object(m)
        }
    };
    let dag = request.get("dag").and_then(|d| api::dag_from_json(d).ok().flatten());
    let Ok(req) = api::launch_request(&request, dag, None) else { return };
    if let Ok(plan) = api::plan_launch(&req) {
        let inputs = &plan["inputs"];
        if plan["jitMode"].is_null() {
            assert!(inputs.get("jitSettings").is_none() && inputs.get("jitElevation").is_none());
        }
        if plan["credentialType"] == "ephemeral" {
            assert!(inputs.get("userRecordUid").is_none());
        }
    }
});
