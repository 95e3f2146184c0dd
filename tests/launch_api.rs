//! The JSON helpers behind the web layer's `launch()`: a plan that went
//! through JavaScript back to its inputs, the offer parameters from the
//! record (and the caller's overrides), and router websocket messages
//! filtered to one conversation.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::api;
use pam_launch_wasm::core::error::ErrorCode;
use pam_launch_wasm::core::plan;
use pam_launch_wasm::core::tunnel::conversation::LaunchRandom;
use pam_launch_wasm::core::tunnel::offer::ScreenSize;
use pam_launch_wasm::core::tunnel::{Conversation, RouterEvent};
use serde_json::{json, Value};

fn scenario1() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scenario1.json"
    ))
    .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

const SIZE: ScreenSize = ScreenSize {
    width: 1024,
    height: 768,
    dpi: 96,
};

#[test]
fn a_plan_round_trips_through_json() {
    let s = scenario1();
    let mut req = api::launch_request(
        &json!({ "recordUid": s["recordUid"], "record": s["record"], "jit": true }),
        api::dag_from_json(&s["dag"]).ok().flatten(),
        None,
    )
    .expect("request");
    req.jit = plan::JitRequest::On;
    let p = plan::plan(&req).expect("plan");
    let js = api::plan_to_json(&p);
    assert!(api::is_launch_plan(&js));
    assert!(!api::is_launch_plan(
        &json!({ "recordUid": "r", "record": {} })
    ));
    assert_eq!(api::plan_inputs(&js).as_ref(), Ok(&p.inputs));
    assert_eq!(
        serde_json::to_string(&js["inputs"]).ok(),
        s["expect"]["inputs"].as_str().map(str::to_owned)
    );
    let e = api::plan_inputs(&json!({ "jitMode": null })).err();
    assert_eq!(e.map(|e| e.code()), Some(ErrorCode::InvalidInput));
}

#[test]
fn offer_params_from_the_record_and_overrides() {
    let s = scenario1();
    let record = &s["record"];
    let p = api::launch_offer_params(record, &Value::Null, SIZE, false, false).expect("params");
    assert_eq!(p.host.host_name, "10.0.0.5");
    assert_eq!(p.host.port, Some(22));
    assert!(!p.clipboard.disable_copy && !p.clipboard.disable_paste);
    assert!(!p.enable_pipe);
    assert_eq!(p.size, SIZE);

    let p = api::launch_offer_params(
        record,
        &json!({ "hostName": " db.internal ", "port": "5432" }),
        SIZE,
        true,
        false,
    )
    .expect("override");
    assert_eq!(
        (p.host.host_name.as_str(), p.host.port),
        ("db.internal", Some(5432))
    );
    assert!(p.clipboard.disable_copy && !p.clipboard.disable_paste);
    let p = api::launch_offer_params(record, &json!({ "hostName": "h" }), SIZE, false, true)
        .expect("no port");
    assert_eq!(p.host.port, None);
    assert!(p.clipboard.disable_paste);

    // The record's policy cannot be loosened by the caller.
    let strict = json!({ "type": "pamMachine", "fields": [
        { "type": "pamHostname", "value": [{ "hostName": "h", "port": 22 }] },
        { "type": "pamSettings", "value": [{ "connection": { "protocol": "ssh", "disableCopy": true, "disablePaste": "true" } }] },
    ]});
    let p = api::launch_offer_params(&strict, &Value::Null, SIZE, false, false).expect("strict");
    assert!(p.clipboard.disable_copy && p.clipboard.disable_paste);

    for (rec, host) in [
        (json!({ "type": "pamMachine", "fields": [] }), Value::Null),
        (record.clone(), json!({ "port": 22 })),
        (record.clone(), json!({ "hostName": "h", "port": 70000 })),
        (record.clone(), json!({ "hostName": "h", "port": "ssh" })),
        (record.clone(), json!({ "hostName": "h", "port": 0 })),
        (record.clone(), json!("h:22")),
    ] {
        let e = api::launch_offer_params(&rec, &host, SIZE, false, false).err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::InvalidInput), "{host}");
    }
}

fn conversation() -> Conversation {
    let s = scenario1();
    let req = api::launch_request(
        &json!({ "recordUid": s["recordUid"], "record": s["record"] }),
        None,
        None,
    )
    .expect("request");
    let inputs = plan::plan(&req).expect("plan").inputs;
    let random = LaunchRandom {
        conversation_id: [0xfb; 16],
        salt: [7; 16],
    };
    Conversation::new(&inputs, &[9; 32], &random).expect("conversation")
}

#[test]
fn websocket_messages_are_filtered_to_the_conversation() {
    let c = conversation();
    let data = c
        .key()
        .encrypt(
            &[1; 12],
            br#"{"candidates":["candidate:1 1 udp 1 10.0.0.1 9 typ host",""]}"#,
        )
        .expect("encrypt");
    let ours = json!({
        "conversationId": c.id().channel_label(),
        "payload": json!({ "is_ok": true, "data": data }).to_string(),
    });
    let want = vec![RouterEvent::Candidates(vec![
        "candidate:1 1 udp 1 10.0.0.1 9 typ host".into(),
        String::new(),
    ])];
    assert_eq!(api::launch_ws_events(&c, &ours).as_ref(), Ok(&want));
    let mixed = json!([42, "text", { "conversationId": "other", "payload": "not json" }, { "no": "id" }, ours]);
    assert_eq!(api::launch_ws_events(&c, &mixed).as_ref(), Ok(&want));
    assert_eq!(
        api::launch_ws_events(&c, &Value::String(mixed.to_string())).as_ref(),
        Ok(&want)
    );
    // Other traffic on the router's websocket is no error.
    for other in [
        json!(7),
        json!("not json"),
        json!({ "type": "ping" }),
        json!([{ "conversationId": "other", "payload": "{\"is_ok\": false, \"error\": \"x\"}" }]),
    ] {
        assert_eq!(api::launch_ws_events(&c, &other), Ok(vec![]), "{other}");
    }
    // This conversation's refusal and a payload of another key are errors.
    let refused = json!({ "conversationId": c.id().id(), "payload": "{\"is_ok\": false, \"error\": \"no\"}" });
    let e = api::launch_ws_events(&c, &refused).err();
    assert_eq!(e.map(|e| e.code()), Some(ErrorCode::GatewayRefused));
    let other_key = pam_launch_wasm::core::tunnel::TunnelKey::from_bytes([3; 32])
        .encrypt(&[1; 12], b"{\"answer\":\"x\"}")
        .expect("encrypt");
    let forged = json!({ "conversationId": c.id().id(), "payload": json!({ "is_ok": true, "data": other_key }) });
    let e = api::launch_ws_events(&c, &forged).err();
    assert_eq!(e.map(|e| e.code()), Some(ErrorCode::TunnelDecryptFailed));
}
