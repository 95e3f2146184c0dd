//! The offer, the GatewayActions and the router's replies, checked against
//! Node's crypto (`tests/cases/tunnel-vectors.json`) and the forms listed in
//! `docs/gateway-wire.md` (§4-§6).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::dag::{Content, DagInput};
use pam_launch_wasm::core::error::ErrorCode;
use pam_launch_wasm::core::plan::{self, JitRequest, LaunchRequest};
use pam_launch_wasm::core::record::{self, ClipboardPolicy, TargetHost};
use pam_launch_wasm::core::tunnel::conversation::LaunchRandom;
use pam_launch_wasm::core::tunnel::offer::{self, OfferParams, ScreenSize};
use pam_launch_wasm::core::tunnel::router::{self, RouterEvent};
use pam_launch_wasm::core::tunnel::{Conversation, ConversationId, TunnelKey};
use pam_launch_wasm::core::wire::{CredentialType, GatewayInputs};
use serde_json::{json, Value};

fn vectors() -> Value {
    serde_json::from_str(include_str!("cases/tunnel-vectors.json")).unwrap()
}

fn hex(s: &Value) -> Vec<u8> {
    let s = s.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex(v).try_into().unwrap()
}

fn inputs(trickle: bool) -> GatewayInputs {
    GatewayInputs {
        record_uid: "rec-uid".into(),
        conversation_type: "ssh".into(),
        trickle_ice: trickle,
        credential_type: Some(CredentialType::Linked),
        user_record_uid: Some("user-uid".into()),
        ..Default::default()
    }
}

fn launch_conversation(trickle: bool) -> (Conversation, Value) {
    let v = vectors();
    let l = v["launch"].clone();
    let seed = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(l["seed"].as_str().unwrap())
            .unwrap()
    };
    let random = LaunchRandom {
        conversation_id: arr(&l["conversation_id_bytes"]),
        salt: arr(&l["salt"]),
    };
    (
        Conversation::new(&inputs(trickle), &seed, &random).unwrap(),
        l,
    )
}

fn params() -> OfferParams {
    OfferParams {
        size: ScreenSize {
            width: 1024,
            height: 768,
            dpi: 96,
        },
        host: TargetHost {
            host_name: "10.0.0.5".into(),
            port: None,
        },
        clipboard: ClipboardPolicy {
            disable_copy: false,
            disable_paste: true,
        },
        enable_pipe: true,
    }
}

#[test]
fn start_action_matches_node() {
    let (conv, l) = launch_conversation(true);
    assert_eq!(conv.key().as_bytes().to_vec(), hex(&l["key"]));
    assert_eq!(conv.base64_nonce(), l["base64_nonce"].as_str().unwrap());
    let data = offer::offer_data(l["sdp"].as_str().unwrap(), "ssh", &params()).unwrap();
    assert_eq!(data, l["offer_data"]);
    let req = conv.start(&data, &arr(&l["start_nonce"])).unwrap();
    assert_eq!(req.timeout_ms, 30_000);
    assert!(req.stream_response);
    let id = l["conversation_id"].as_str().unwrap();
    assert_eq!(
        req.action,
        json!({
            "action": "webrtc-session",
            "conversationId": id,
            "gateway_destination": null,
            "inputs": {
                "recordUid": "rec-uid",
                "kind": "start",
                "base64Nonce": l["base64_nonce"],
                "conversationType": "ssh",
                "data": l["start_data"],
                "trickleICE": true,
                "credentialType": "linked",
                "userRecordUid": "user-uid"
            },
            "is_scheduled": false,
            "messageId": id
        })
    );
    let keys: Vec<&String> = req.action.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "action",
            "conversationId",
            "gateway_destination",
            "inputs",
            "is_scheduled",
            "messageId"
        ]
    );
    // The gateway's view: decrypt `data` with the derived key.
    let plain = conv
        .key()
        .decrypt(req.action["inputs"]["data"].as_str().unwrap())
        .unwrap();
    let seen: Value = serde_json::from_slice(&plain).unwrap();
    let sdp = {
        use base64::Engine as _;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(seen["offer"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert!(sdp.contains("a=sctp-port:5000\r\na=max-message-size:1073741823\r\n"));
}

#[test]
fn signaling_messages_match_node() {
    let (conv, l) = launch_conversation(false);
    for s in l["signals"].as_array().unwrap() {
        let nonce = arr(&s["nonce"]);
        let plain = &s["plain"];
        let req = match s["kind"].as_str().unwrap() {
            "icecandidate" => {
                let c: Vec<String> = plain["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect();
                conv.ice_candidates(&c, &nonce).unwrap()
            }
            "ice_restart_offer" => conv
                .ice_restart_offer(plain["sdp"].as_str().unwrap(), &nonce)
                .unwrap(),
            "ice_restart_answer" => conv
                .ice_restart_answer(plain["sdp"].as_str().unwrap(), &nonce)
                .unwrap(),
            k => panic!("{k}"),
        };
        assert_eq!(req.timeout_ms, 30_000);
        assert!(!req.stream_response);
        let inputs = &req.action["inputs"];
        assert_eq!(
            *inputs,
            json!({
                "recordUid": "rec-uid",
                "kind": s["kind"],
                "base64Nonce": l["base64_nonce"],
                "conversationType": "ssh",
                "data": s["data"],
                "trickleICE": false
            }),
            "{}",
            s["kind"]
        );
    }
    assert!(conv.ice_candidates(&[], &[0; 12]).is_err());
}

#[test]
fn ephemeral_plan_gets_the_long_timeout() {
    let record = json!({"type": "pamMachine", "fields": [
        {"type": "pamHostname", "value": [{"hostName": "10.0.0.5", "port": "22"}]},
        {"type": "trafficEncryptionSeed", "value": ["c2VlZC1zZWVkLXNlZWQtc2VlZC1zZWVkLXNlZWQtMzI"]},
        {"type": "pamSettings", "value": [{"connection": {"protocol": "ssh", "disableCopy": true}}]}
    ]});
    let req = LaunchRequest {
        record_uid: "r".into(),
        record: record.clone(),
        dag: Some(DagInput::Content(Content::Json(
            json!({"createEphemeral": true, "ephemeralAccountType": "linux"}),
        ))),
        jit: JitRequest::On,
        ..Default::default()
    };
    let p = plan::plan(&req).unwrap();
    let seed = record::traffic_encryption_seed(&record).unwrap().unwrap();
    assert_eq!(seed, b"seed-seed-seed-seed-seed-seed-32");
    let conv = Conversation::new(
        &p.inputs,
        &seed,
        &LaunchRandom {
            conversation_id: [1; 16],
            salt: [2; 16],
        },
    )
    .unwrap();
    assert!(conv.is_ephemeral());
    let params = OfferParams {
        size: ScreenSize {
            width: 800,
            height: 600,
            dpi: 96,
        },
        host: record::target_host(&record).unwrap(),
        clipboard: record::clipboard_policy(&record).unwrap(),
        enable_pipe: false,
    };
    let data = offer::offer_data(
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "ssh",
        &params,
    )
    .unwrap();
    assert_eq!(data["guacd_params"], json!({"disable-copy": "true"}));
    assert_eq!(
        data["clipboard"],
        json!({"disableCopy": true, "disablePaste": false})
    );
    assert_eq!(data["terminalSettings"], data["clipboard"]);
    assert_eq!(data["host"], json!({"hostName": "10.0.0.5", "port": 22}));
    let start = conv.start(&data, &[3; 12]).unwrap();
    assert_eq!(start.timeout_ms, 120_000);
    let inputs = &start.action["inputs"];
    assert_eq!(inputs["credentialType"], "ephemeral");
    assert_eq!(inputs["jitSettings"]["create_ephemeral"], true);
    assert!(inputs.get("userRecordUid").is_none());
    // Follow-up messages keep Commander's 30 s.
    assert_eq!(
        conv.ice_candidates(&["c".into()], &[4; 12])
            .unwrap()
            .timeout_ms,
        30_000
    );
    assert!(Conversation::new(
        &GatewayInputs::default(),
        &seed,
        &LaunchRandom {
            conversation_id: [1; 16],
            salt: [2; 16]
        }
    )
    .is_err());
    assert!(Conversation::new(
        &p.inputs,
        &[],
        &LaunchRandom {
            conversation_id: [1; 16],
            salt: [2; 16]
        }
    )
    .is_err());
}

#[test]
fn max_message_size_is_added_where_missing() {
    let crlf = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=sctp-port:5000\r\n";
    assert_eq!(
        offer::ensure_max_message_size(crlf),
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:1073741823\r\n"
    );
    let lf = "v=0\nm=application 9 x\na=sctp-port:5000\na=mid:0";
    assert_eq!(
        offer::ensure_max_message_size(lf),
        "v=0\nm=application 9 x\na=sctp-port:5000\na=max-message-size:1073741823\na=mid:0"
    );
    // Chromium writes its own: kept.
    let chrome = "v=0\r\nm=application 9 x\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
    assert_eq!(offer::ensure_max_message_size(chrome), chrome);
    assert_eq!(
        offer::ensure_max_message_size(&chrome.replace("a=max", "A=MAX")),
        chrome.replace("a=max", "A=MAX")
    );
    // No sctp-port: after the m=application line.
    assert_eq!(
        offer::ensure_max_message_size("v=0\r\nm=application 9 x\r\na=mid:0\r\n"),
        "v=0\r\nm=application 9 x\r\na=max-message-size:1073741823\r\na=mid:0\r\n"
    );
    // Audio sections are left alone; each application section gets one.
    let two = "v=0\nm=audio 9 x\na=sctp-port:1\nm=application 9 x\na=sctp-port:5000\nm=application 9 y\na=sctp-port:5001\na=max-message-size:5\n";
    assert_eq!(
        offer::ensure_max_message_size(two),
        "v=0\nm=audio 9 x\na=sctp-port:1\nm=application 9 x\na=sctp-port:5000\na=max-message-size:1073741823\nm=application 9 y\na=sctp-port:5001\na=max-message-size:5\n"
    );
    // No media section: appended.
    assert_eq!(
        offer::ensure_max_message_size("v=0\r\ns=-"),
        "v=0\r\ns=-\r\na=max-message-size:1073741823\r\n"
    );
    assert_eq!(offer::max_message_size(chrome), Some(262_144));
    assert_eq!(offer::max_message_size("v=0\r\n"), None);
}

#[test]
fn offer_data_refuses_what_the_gateway_cannot_use() {
    let p = params();
    assert_eq!(
        offer::offer_data("djA9", "ssh", &p).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    let mut no_host = params();
    no_host.host.host_name = " ".into();
    assert!(offer::offer_data("v=0\r\n", "ssh", &no_host).is_err());
    let mut zero = params();
    zero.size.dpi = 0;
    assert!(offer::offer_data("v=0\r\n", "ssh", &zero).is_err());
    // Port: the record's, else the protocol's default, else null.
    let d = offer::offer_data("v=0\r\n", "rdp", &params()).unwrap();
    assert_eq!(d["host"]["port"], 3389);
    let d = offer::offer_data("v=0\r\n", "dynamodb", &params()).unwrap();
    assert_eq!(d["host"]["port"], Value::Null);
    let mut with_port = params();
    with_port.host.port = Some(2222);
    assert_eq!(
        offer::offer_data("v=0\r\n", "ssh", &with_port).unwrap()["host"]["port"],
        2222
    );
    let d = offer::offer_data("v=0\r\n", "ssh", &params()).unwrap();
    assert_eq!(d["audio"], json!(["audio/L8", "audio/L16"]));
    assert_eq!(d["video"], json!([]));
    assert_eq!(d["image"], json!(["image/jpeg", "image/png", "image/webp"]));
    assert_eq!(d["size"], json!([1024, 768, 96]));
}

fn events_json(events: &[RouterEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .filter(|e| !matches!(e, RouterEvent::Progress(_)))
            .map(|e| match e {
                RouterEvent::Answer { sdp } => json!({ "answer": sdp }),
                RouterEvent::RestartOffer { sdp } => json!({ "restart_offer": sdp }),
                RouterEvent::Candidates(c) => json!({ "candidates": c }),
                RouterEvent::Progress(_) => unreachable!(),
            })
            .collect(),
    )
}

#[test]
fn router_payloads_from_node_in_every_carrier() {
    let (conv, l) = launch_conversation(true);
    let id = l["conversation_id"].as_str().unwrap();
    let label = l["channel_label"].as_str().unwrap();
    let cases = l["router"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let data = &c["data"];
        let want = &c["events"];
        let payload = json!({"is_ok": true, "data": data});
        // HTTP reply: object, JSON text, camelCase isOk.
        for resp in [
            payload.clone(),
            Value::String(payload.to_string()),
            json!({"isOk": true, "data": data}),
        ] {
            assert_eq!(
                events_json(&conv.read_response(&resp).unwrap()),
                *want,
                "{name}: {resp}"
            );
        }
        // Websocket: object or array, payload as JSON text or object, both id alphabets.
        for cid in [id, label, label.trim_end_matches('=')] {
            let item =
                json!({"conversationId": cid, "type": "message", "payload": payload.to_string()});
            assert_eq!(
                events_json(&conv.read_ws_message(&item).unwrap()),
                *want,
                "{name} via {cid}"
            );
            let list = json!([{"conversationId": "someone-else", "payload": "{}"}, item]);
            assert_eq!(
                events_json(&conv.read_ws_message(&list).unwrap()),
                *want,
                "{name} in a list"
            );
            assert_eq!(
                events_json(
                    &conv
                        .read_ws_message(&Value::String(list.to_string()))
                        .unwrap()
                ),
                *want
            );
        }
        let obj_payload = json!({"conversationId": id, "payload": payload});
        assert_eq!(
            events_json(&conv.read_ws_message(&obj_payload).unwrap()),
            *want
        );
    }
}

#[test]
fn acknowledgements_give_no_event() {
    let (conv, l) = launch_conversation(true);
    let id = l["conversation_id"].as_str().unwrap();
    let long_b64_ack = format!("{}{id}", "A".repeat(40));
    for ack in [
        "ice candidate added".to_owned(),
        "Candidates buffered".into(),
        "Connected".into(),
        "peer disconnected".into(),
        "error: ignored by Commander".into(),
        format!("session started for {id}"),
        long_b64_ack,
        "OK".into(),
        "".into(),
    ] {
        let r = json!({"is_ok": true, "data": ack});
        assert_eq!(conv.read_response(&r).unwrap(), vec![], "{ack}");
        let ws = json!({"conversationId": id, "payload": r.to_string()});
        assert_eq!(conv.read_ws_message(&ws).unwrap(), vec![], "{ack}");
    }
    // No data, null data, non-string data, empty payloads.
    for r in [
        json!({"is_ok": true}),
        json!({"is_ok": true, "data": null}),
        json!({"is_ok": true, "data": {"x": 1}}),
    ] {
        assert_eq!(conv.read_response(&r).unwrap(), vec![]);
    }
    for m in [
        json!({"conversationId": id}),
        json!({"conversationId": id, "payload": ""}),
        json!([]),
    ] {
        assert_eq!(conv.read_ws_message(&m).unwrap(), vec![]);
    }
    // progress_status becomes a Progress event.
    let r = json!({"is_ok": true, "progress_status": "creating account", "data": "buffered"});
    assert_eq!(
        conv.read_response(&r).unwrap(),
        vec![RouterEvent::Progress("creating account".into())]
    );
}

#[test]
fn refusals_carry_the_gateway_reason() {
    let (conv, l) = launch_conversation(true);
    let id = l["conversation_id"].as_str().unwrap();
    let cases = [
        (
            json!({"is_ok": false, "error": "credentialType ephemeral required"}),
            "credentialType ephemeral required",
        ),
        (
            json!({"isOk": false, "error": "Gateway offline"}),
            "Gateway offline",
        ),
        (
            json!({"is_ok": false, "errors": ["bad", "", "worse"]}),
            "bad; worse",
        ),
        (
            json!({"is_ok": false, "data": "RRC_BAD_STATE"}),
            "RRC_BAD_STATE",
        ),
        (json!({"is_ok": false}), "no reason given"),
        (json!({"data": "x"}), "x"),
    ];
    for (resp, reason) in cases {
        let e = conv.read_response(&resp).unwrap_err();
        assert_eq!(e.code(), ErrorCode::GatewayRefused, "{resp}");
        assert_eq!(
            e.message(),
            format!("the gateway refused the launch: {reason}")
        );
    }
    let ws = json!({"conversationId": id, "payload": json!({"is_ok": false, "error": "account creation failed"}).to_string()});
    let e = conv.read_ws_message(&ws).unwrap_err();
    assert_eq!(e.code(), ErrorCode::GatewayRefused);
    assert!(e.message().ends_with("account creation failed"));
    // A refusal for another conversation is none of ours.
    let other = json!({"conversationId": ConversationId::from_bytes([5; 16]).id(), "payload": "{\"is_ok\": false, \"error\": \"x\"}"});
    assert_eq!(conv.read_ws_message(&other).unwrap(), vec![]);
    // Long and control-character reasons are cleaned.
    let long = json!({"is_ok": false, "error": format!("a\nb{}", "x".repeat(2000))});
    let m = conv.read_response(&long).unwrap_err().message().to_owned();
    assert!(m.len() < 700 && !m.contains('\n') && m.ends_with('…'));
}

#[test]
fn malformed_and_undecryptable_payloads() {
    let (conv, l) = launch_conversation(true);
    let id = l["conversation_id"].as_str().unwrap();
    let code = |r: &Value| conv.read_response(r).unwrap_err().code();
    assert_eq!(
        code(&json!("{not json")),
        ErrorCode::InvalidSignalingMessage
    );
    assert_eq!(code(&json!(5)), ErrorCode::InvalidSignalingMessage);
    assert_eq!(code(&json!("[1]")), ErrorCode::InvalidSignalingMessage);
    // Ciphertext under another key.
    let other = TunnelKey::from_bytes([8; 32]);
    let foreign = other.encrypt(&[1; 12], br#"{"answer":"djA9"}"#).unwrap();
    assert_eq!(
        code(&json!({"is_ok": true, "data": foreign})),
        ErrorCode::TunnelDecryptFailed
    );
    // Decrypts, but says nothing known.
    for plain in [
        r#"{"hello":1}"#,
        "[1,2]",
        "just text",
        r#"{"answer":"bm90IHNkcA"}"#,
        r#"{"candidates":"x"}"#,
    ] {
        let data = conv.key().encrypt(&[2; 12], plain.as_bytes()).unwrap();
        assert_eq!(
            code(&json!({"is_ok": true, "data": data})),
            ErrorCode::InvalidSignalingMessage,
            "{plain}"
        );
    }
    let bad_utf8 = conv.key().encrypt(&[2; 12], &[0xff, 0xfe]).unwrap();
    assert_eq!(
        code(&json!({"is_ok": true, "data": bad_utf8})),
        ErrorCode::InvalidSignalingMessage
    );
    let ws = |m: Value| conv.read_ws_message(&m).unwrap_err().code();
    assert_eq!(ws(json!(7)), ErrorCode::InvalidSignalingMessage);
    assert_eq!(ws(json!("{")), ErrorCode::InvalidSignalingMessage);
    assert_eq!(ws(json!([1])), ErrorCode::InvalidSignalingMessage);
    assert_eq!(
        ws(json!({"conversationId": id, "payload": "{oops"})),
        ErrorCode::InvalidSignalingMessage
    );
    // Candidates in RTCIceCandidate.toJSON() form are read too.
    let data = conv.key().encrypt(&[2; 12], br#"{"candidates":[{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0"},7]}"#).unwrap();
    assert_eq!(
        conv.read_response(&json!({"is_ok": true, "data": data}))
            .unwrap(),
        vec![RouterEvent::Candidates(vec![
            "candidate:1 1 udp 1 1.2.3.4 5 typ host".into()
        ])]
    );
    assert_eq!(router::sdp_text("dj0w"), Some("v=0".into()));
    assert_eq!(router::sdp_text("v=0\r\n"), Some("v=0\r\n".into()));
    assert_eq!(router::sdp_text("nope"), None);
}
