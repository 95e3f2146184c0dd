//! The tunnel's data-channel side on arbitrary bytes: the frame decoder gives
//! the same frames and the same verdict whatever the split, control payloads
//! never panic, and the connection state machine takes the bytes as gateway
//! messages (and as router text) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_launch_wasm::core::tunnel::control::ControlMessage;
use pam_launch_wasm::core::tunnel::conversation::LaunchRandom;
use pam_launch_wasm::core::tunnel::frame::{self, Frame, FrameDecoder};
use pam_launch_wasm::core::tunnel::state::Config;
use pam_launch_wasm::core::tunnel::{Action, Conversation, Input, Machine, RouterEvent};
use pam_launch_wasm::core::wire::GatewayInputs;

fn decode(parts: &[&[u8]]) -> (Vec<Frame>, Option<&'static str>) {
    let mut d = FrameDecoder::with_max_payload(4096);
    let mut out = Vec::new();
    for part in parts {
        if let Err(e) = d.push(part, |f| out.push(f)) {
            assert!(d.is_dead());
            assert!(d.push(b"more", |_| unreachable!()).is_err());
            return (out, Some(e.code().as_str()));
        }
        assert!(d.buffered() <= 4096 + frame::OVERHEAD);
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let at = (cut as usize * body.len()) / 255;
    let (a, b) = body.split_at(at.min(body.len()));

    let whole = decode(&[body]);
    assert_eq!(decode(&[a, b]), whole);
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(decode(&bytewise), whole);
    for f in &whole.0 {
        if f.conn == 0 {
            if let Ok(m) = ControlMessage::decode(&f.payload) {
                // What we encode decodes to the same message.
                assert_eq!(ControlMessage::decode(&m.encode()).ok(), Some(m));
            }
        }
        assert_eq!(
            FrameDecoder::new()
                .push_collect(&f.encode().unwrap_or_default())
                .ok(),
            Some(vec![f.clone()])
        );
    }

    // The state machine, channel open, fed the bytes as two gateway messages.
    let mut m = Machine::new(Config::new(cut & 1 == 0, cut & 2 == 0));
    let mut now = 1_000u64;
    for input in [
        Input::OfferSent,
        Input::Router(RouterEvent::Answer {
            sdp: "v=0\r\na=max-message-size:100\r\n".into(),
        }),
        Input::ChannelOpen,
        Input::ChannelMessage(a),
        Input::SendGuacamole(b),
        Input::ChannelMessage(b),
        Input::Tick,
        Input::Disconnect,
    ] {
        m.handle(now, input);
        now += u64::from(cut) * 1000;
        for action in m.take_actions() {
            if let Action::Send(bytes) = action {
                // Session frames fit the peer's a=max-message-size.
                let sent = FrameDecoder::new().push_collect(&bytes).unwrap_or_default();
                assert_eq!(sent.len(), 1);
                if sent[0].conn == 1 {
                    assert!(bytes.len() <= 100);
                }
            }
        }
    }
    assert!(m.is_closed());

    // The same bytes as router text.
    if let Ok(text) = std::str::from_utf8(body) {
        let inputs = GatewayInputs {
            record_uid: "r".into(),
            conversation_type: "ssh".into(),
            ..Default::default()
        };
        let random = LaunchRandom {
            conversation_id: [7; 16],
            salt: [9; 16],
        };
        if let Ok(conv) = Conversation::new(&inputs, b"seed", &random) {
            let v = serde_json::Value::String(text.to_owned());
            let _ = conv.read_response(&v);
            let _ = conv.read_ws_message(&v);
            if let Ok(parsed) = serde_json::from_str::<serde_json::Value>(text) {
                let _ = conv.read_response(&parsed);
                let _ = conv.read_ws_message(&parsed);
            }
        }
    }
});
