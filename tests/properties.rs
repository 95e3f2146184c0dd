//! Property tests over the normaliser, the payload builders, the DAG decoder
//! and the launch plan: invariants that must hold for every JSON value.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::api;
use pam_launch_wasm::core::dag::{self, Content, DagInput};
use pam_launch_wasm::core::jit::{self, JitMode};
use pam_launch_wasm::core::plan::{self, JitRequest, LaunchRequest};
use pam_launch_wasm::core::wire;
use pam_launch_wasm::ErrorCode;
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: [&str; 22] = [
    "createEphemeral",
    "create_ephemeral",
    "elevate",
    "elevationMethod",
    "elevation_method",
    "elevationString",
    "elevation_string",
    "baseDistinguishedName",
    "base_distinguished_name",
    "ephemeralAccountType",
    "ephemeral_account_type",
    "pam_directory_uid_ref",
    "futureField",
    "type",
    "value",
    "fields",
    "connection",
    "protocol",
    "options",
    "jit_settings",
    "allowSupplyHost",
    "allowSupplyUser",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("".to_string()),
            Just("true".into()),
            Just("FALSE".into()),
            Just("linux".into()),
            Just("domain".into()),
            Just("ssh".into()),
            Just("pamSettings".into()),
            "\\PC{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..7).prop_map(
                |kv| { Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()) }
            ),
        ]
    })
}

/// Settings-shaped objects: only the JIT keys, with flag-like values.
fn settings() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS[..13].to_vec()), leaf()), 0..10)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn empty(v: &Value) -> bool {
    v.is_null() || v.as_str() == Some("")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalize_is_none_exactly_for_non_objects_and_empty(v in json()) {
        let none = !matches!(&v, Value::Object(o) if !o.is_empty());
        prop_assert_eq!(jit::normalize(&v).is_none(), none);
    }

    #[test]
    fn normalize_is_idempotent_and_snake_wins(v in settings()) {
        let Some(n) = jit::normalize(&v) else { return Ok(()) };
        prop_assert_eq!(jit::normalize(&Value::Object(n.clone())), Some(n.clone()));
        let raw = v.as_object().cloned().unwrap_or_default();
        for (camel, snake) in wire::JIT_CAMEL_TO_SNAKE {
            prop_assert!(!n.contains_key(camel));
            match (raw.get(camel), raw.get(snake)) {
                (_, Some(s)) => prop_assert_eq!(n.get(snake), Some(s)),
                (Some(c), None) => prop_assert_eq!(n.get(snake), Some(c)),
                (None, None) => prop_assert!(!n.contains_key(snake)),
            }
        }
    }

    #[test]
    fn payloads_are_disjoint_projections_without_empty_values(v in json()) {
        let e = jit::ephemeral_payload(&v);
        let l = jit::elevation_payload(&v);
        let n = jit::normalize(&v).unwrap_or_default();
        for (k, val) in &e {
            prop_assert!(wire::JIT_EPHEMERAL_KEYS.contains(&k.as_str()));
            prop_assert!(!l.contains_key(k));
            prop_assert!(!empty(val));
            prop_assert_eq!(n.get(k), Some(val));
        }
        for (k, val) in &l {
            prop_assert!(wire::JIT_ELEVATION_KEYS.contains(&k.as_str()));
            prop_assert!(!empty(val));
            prop_assert_eq!(n.get(k), Some(val));
        }
        // Nothing non-empty is lost.
        for k in wire::JIT_EPHEMERAL_KEYS {
            if let Some(val) = n.get(k) { prop_assert_eq!(e.contains_key(k), !empty(val)); }
        }
    }

    #[test]
    fn mode_agrees_with_the_flags(v in settings()) {
        let n = jit::normalize(&v).unwrap_or_default();
        let create = jit::parse_flag(&n, "create_ephemeral");
        let elevate = jit::parse_flag(&n, "elevate");
        match jit::derive_mode(&v) {
            Ok(m) => {
                let (c, e) = (create.unwrap_or(false), elevate.unwrap_or(false));
                let want = match (c, e) { (true, true) => Some(JitMode::Both), (true, false) => Some(JitMode::Ephemeral), (false, true) => Some(JitMode::Elevation), _ => None };
                prop_assert_eq!(m, want);
            }
            Err(err) => {
                prop_assert_eq!(err.code(), ErrorCode::InvalidInput);
                prop_assert!(create.is_err() || elevate.is_err());
            }
        }
    }

    #[test]
    fn api_functions_never_panic(v in json(), w in json()) {
        let _ = api::normalize_jit_settings(&v);
        let _ = api::derive_jit_mode(&v);
        let _ = api::build_ephemeral_payload(&v);
        let _ = api::build_elevation_payload(&v);
        let _ = api::provisions_credential(&v, &w);
        if let Ok(Some(d)) = api::dag_from_json(&v) { let _ = api::decode_dag_jit_settings(&d, None); }
        let _ = api::load_jit_settings(None, None, Some(&v));
        let mut req = Map::new();
        req.insert("recordUid".into(), Value::from("r"));
        req.insert("record".into(), v.clone());
        req.insert("jit".into(), w.clone());
        if let Ok(r) = api::launch_request(&Value::Object(req), api::dag_from_json(&w).ok().flatten(), None) {
            let _ = api::plan_launch(&r);
        }
    }

    #[test]
    fn decoder_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200), key in prop::option::of(prop::collection::vec(any::<u8>(), 32))) {
        let r = dag::decode(&DagInput::Content(Content::Bytes(bytes)), key.as_deref());
        if let Err(e) = r {
            prop_assert!(matches!(e.code(), ErrorCode::DagDecryptFailed | ErrorCode::DagInvalidJson | ErrorCode::InvalidInput));
        }
    }

    #[test]
    fn encrypted_edges_round_trip_and_any_bit_flip_fails(v in settings(), key in prop::array::uniform32(any::<u8>()), nonce in prop::array::uniform12(any::<u8>()), flip in any::<prop::sample::Index>()) {
        let blob = dag::encrypt(v.to_string().as_bytes(), &key, &nonce).unwrap_or_default();
        let decoded = dag::decode(&DagInput::Content(Content::Bytes(blob.clone())), Some(&key)).map(|d| d.settings);
        prop_assert_eq!(decoded, Ok(Some(v.clone())));
        let text = dag::encode_base64url(&blob);
        let decoded = dag::decode(&DagInput::Content(Content::Json(Value::String(text))), Some(&key)).map(|d| d.settings);
        prop_assert_eq!(decoded, Ok(Some(v)));
        let mut bad = blob.clone();
        let i = flip.index(bad.len() * 8);
        if let Some(b) = bad.get_mut(i / 8) { *b ^= 1 << (i % 8); }
        let r = dag::decode(&DagInput::Content(Content::Bytes(bad)), Some(&key));
        prop_assert_eq!(r.map_err(|e| e.code()), Err(ErrorCode::DagDecryptFailed));
    }

    #[test]
    fn plan_invariants(s in settings(), jit in prop_oneof![Just(JitRequest::Off), Just(JitRequest::On), Just(JitRequest::Auto)],
                       supply_user in any::<bool>(), supply_host in any::<bool>(), linked in prop::option::of(Just("L".to_string()))) {
        let record = serde_json::json!({"type": "pamMachine", "fields": [{"type": "pamSettings", "value": [{
            "connection": {"protocol": "ssh", "allowSupplyUser": supply_user},
            "allowSupplyHost": supply_host, "options": {"jit_settings": s}}]}]});
        let req = LaunchRequest { record_uid: "R".into(), record, jit, linked_user_record_uid: linked.clone(), ..Default::default() };
        let Ok(p) = plan::plan(&req) else { return Ok(()) };
        let inputs = p.inputs.to_json(None);
        let order = ["recordUid", "kind", "conversationType", "trickleICE", "credentialType", "userRecordUid", "allowSupplyUser", "jitSettings", "jitElevation"];
        let pos: Vec<usize> = inputs.keys().filter_map(|k| order.iter().position(|o| o == k)).collect();
        prop_assert_eq!(pos.len(), inputs.len());
        prop_assert!(pos.windows(2).all(|w| w[0] < w[1]));
        // allowSupplyHost > JIT: never JIT on such a record.
        if supply_host { prop_assert!(p.jit_mode.is_none()); }
        // JIT strictly opt-in.
        if jit == JitRequest::Off { prop_assert!(p.jit_mode.is_none() && !inputs.contains_key("jitSettings") && !inputs.contains_key("jitElevation")); }
        match p.inputs.credential_type {
            Some(wire::CredentialType::Ephemeral) => {
                prop_assert!(p.jit_mode.is_some_and(JitMode::creates_account));
                prop_assert!(!inputs.contains_key("userRecordUid") && p.guacd_credentials_empty);
            }
            Some(wire::CredentialType::Linked) => prop_assert_eq!(inputs.get("userRecordUid").and_then(Value::as_str), linked.as_deref()),
            _ => prop_assert!(!inputs.contains_key("userRecordUid")),
        }
        prop_assert_eq!(jit::provisions_credential(p.jit_mode.is_some(), p.jit_mode), p.inputs.credential_type == Some(wire::CredentialType::Ephemeral));
    }
}
