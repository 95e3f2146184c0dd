//! The DAG edge decoder on arbitrary bytes: as raw content (with and without a
//! key), as text, and as a JSON edge list. Errors must be typed; no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_launch_wasm::core::api;
use pam_launch_wasm::core::dag::{self, Content, DagInput};
use pam_launch_wasm::ErrorCode;

fuzz_target!(|data: &[u8]| {
    let (key, body) = if data.len() >= 32 { data.split_at(32) } else { (&data[..0], data) };
    let key = (!key.is_empty()).then_some(key);
    let inputs = [
        DagInput::Content(Content::Bytes(body.to_vec())),
        DagInput::Content(Content::Json(serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))),
    ];
    for input in &inputs {
        for k in [None, key] {
            if let Err(e) = dag::decode(input, k) {
                assert!(matches!(
                    e.code(),
                    ErrorCode::DagDecryptFailed | ErrorCode::DagInvalidJson | ErrorCode::InvalidInput
                ));
            }
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Ok(Some(d)) = api::dag_from_json(&v) {
            let _ = api::decode_dag_jit_settings(&d, key);
            let _ = api::load_jit_settings(Some(&d), key, Some(&v));
        }
    }
    // Whatever decrypts must round-trip through encrypt.
    if let Some(k) = key {
        if let Ok(plain) = dag::decrypt(body, k) {
            let nonce: [u8; 12] = body[..12].try_into().unwrap_or([0; 12]);
            assert_eq!(dag::encrypt(&plain, k, &nonce).ok().as_deref(), Some(body));
        }
    }
});
