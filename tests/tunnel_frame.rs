//! The data-channel frame codec and the control messages: the frames captured
//! on the wire from Keeper's library (`docs/tube-framing.md` §6) as exact
//! vectors, split invariance and round trips as properties, and every close
//! reason.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::error::ErrorCode;
use pam_launch_wasm::core::tunnel::control::{CloseReason, ControlMessage};
use pam_launch_wasm::core::tunnel::frame::{self, Frame, FrameDecoder, HEADER_LEN, OVERHEAD};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ascii_hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// (what, bytes as captured, conn, timestamp, control message or session payload)
type Captured = (
    &'static str,
    Vec<u8>,
    u32,
    u64,
    Result<ControlMessage, Vec<u8>>,
);

fn captured() -> Vec<Captured> {
    let close_msg = "Guacd error: Simulated failure, 519";
    let probe = format!(
        "00000000 000001a20f5edc00 0000057e 0001 00000000 {} 3b",
        "00".repeat(1400)
    );
    vec![
        ("OpenConnection(1)", unhex("00000000 000001a20f5ee02b 00000006 0065 00000001 3b"), 0, 0x1a20f5ee02b,
            Ok(ControlMessage::OpenConnection { conn: 1, connect_as: None })),
        ("ConnectionOpened(1)", unhex("00000000 000001a20f5ee02c 00000006 0067 00000001 3b"), 0, 0x1a20f5ee02c,
            Ok(ControlMessage::ConnectionOpened { conn: 1 })),
        ("Pong to empty Ping", unhex("00000000 000001a20f5edc40 00000006 0002 00000000 3b"), 0, 0x1a20f5edc40,
            Ok(ControlMessage::Pong(vec![0, 0, 0, 0]))),
        ("Pong echoing ABCDEFGH", unhex("00000000 000001a20f5ede35 0000000e 0002 00000000 4142434445464748 3b"), 0, 0x1a20f5ede35,
            Ok(ControlMessage::Pong(unhex("00000000 4142434445464748")))),
        ("name on conn 1", unhex("00000001 000001a20f5ee05f 00000012 342e6e616d652c382e66616b652d7373683b 3b"), 1, 0x1a20f5ee05f,
            Err(b"4.name,8.fake-ssh;".to_vec())),
        ("size on conn 1", unhex("00000001 000001a20f5ee7fb 00000019 342e73697a652c342e313032342c332e3736382c322e39363b 3b"), 1, 0x1a20f5ee7fb,
            Err(b"4.size,4.1024,3.768,2.96;".to_vec())),
        ("CloseConnection(1, GuacdError, msg)",
            unhex(&format!("00000000 000001a20f5f6348 0000002c 0066 00000001 0e 0023 {} 3b", ascii_hex(close_msg))), 0, 0x1a20f5f6348,
            Ok(ControlMessage::CloseConnection { conn: 1, reason: CloseReason::GuacdError, message: Some(close_msg.into()) })),
        ("opening probe Ping", unhex(&probe), 0, 0x1a20f5edc00,
            Ok(ControlMessage::Ping({ let mut d = vec![0u8; 4]; d.extend(vec![0u8; 1400]); d }))),
    ]
}

#[test]
fn captured_frames_decode_and_encode_exactly() {
    let all = captured();
    assert_eq!(all.len(), 8);
    for (what, bytes, conn, ts, content) in &all {
        let frames = FrameDecoder::new().push_collect(bytes).unwrap();
        assert_eq!(frames.len(), 1, "{what}");
        let f = &frames[0];
        assert_eq!((f.conn, f.timestamp_ms), (*conn, *ts), "{what}");
        match content {
            Ok(msg) => {
                assert_eq!(ControlMessage::decode(&f.payload).unwrap(), *msg, "{what}");
                assert_eq!(msg.encode(), f.payload, "{what}: encode");
            }
            Err(payload) => assert_eq!(f.payload, *payload, "{what}"),
        }
        assert_eq!(
            frame::encode(f.conn, f.timestamp_ms, &f.payload).unwrap(),
            *bytes,
            "{what}: frame encode"
        );
        assert_eq!(
            Frame::new(f.conn, f.timestamp_ms, f.payload.clone())
                .encode()
                .unwrap(),
            *bytes
        );
    }
    assert_eq!(all[7].1.len(), 1423, "the probe Ping is 1423 bytes");
}

#[test]
fn captured_stream_split_at_every_point() {
    let all = captured();
    let stream: Vec<u8> = all.iter().flat_map(|c| c.1.clone()).collect();
    let want: Vec<Frame> = FrameDecoder::new().push_collect(&stream).unwrap();
    assert_eq!(want.len(), all.len());
    for cut in 0..=stream.len() {
        let mut d = FrameDecoder::new();
        let mut got = d.push_collect(&stream[..cut]).unwrap();
        got.extend(d.push_collect(&stream[cut..]).unwrap());
        assert_eq!(got, want, "cut at {cut}");
        assert_eq!(d.buffered(), 0);
    }
    for (a, b) in [(1, 2), (16, 17), (100, 1500), (17, 1650)] {
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for part in [&stream[..a], &stream[a..b], &stream[b..]] {
            got.extend(d.push_collect(part).unwrap());
        }
        assert_eq!(got, want);
    }
    let mut d = FrameDecoder::new();
    let mut got = Vec::new();
    for b in &stream {
        got.extend(d.push_collect(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(got, want);
}

#[test]
fn terminator_mismatch_kills_the_stream() {
    let good = frame::encode(1, 5, b"hello").unwrap();
    let mut bad = frame::encode(1, 6, b"world").unwrap();
    *bad.last_mut().unwrap() = b'!';
    let mut stream = good.clone();
    stream.extend(&bad);
    stream.extend(&good);
    let mut d = FrameDecoder::new();
    let mut seen = Vec::new();
    let e = d.push(&stream, |f| seen.push(f)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::MalformedFrame);
    assert_eq!(seen.len(), 1, "the frame before the fault is delivered");
    assert!(d.is_dead());
    assert_eq!(
        d.push_collect(&good).unwrap_err().code(),
        ErrorCode::MalformedFrame
    );
    // Split in the middle: the fault shows when the frame completes.
    let mut d = FrameDecoder::new();
    assert_eq!(d.push_collect(&bad[..10]).unwrap(), vec![]);
    assert_eq!(
        d.push_collect(&bad[10..]).unwrap_err().code(),
        ErrorCode::MalformedFrame
    );
}

#[test]
fn payload_limit_bounds_the_buffer() {
    let mut d = FrameDecoder::with_max_payload(100);
    let ok = frame::encode(1, 0, &[7; 100]).unwrap();
    assert_eq!(d.push_collect(&ok).unwrap().len(), 1);
    let big = frame::encode(1, 0, &[7; 101]).unwrap();
    let e = d.push_collect(&big[..HEADER_LEN]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FrameTooLarge);
    assert!(d.is_dead());
    // A declared length of 4 GiB - 1 is refused at the header, before any buffering.
    let mut d = FrameDecoder::new();
    let mut huge = vec![0u8; 12];
    huge.extend(u32::MAX.to_be_bytes());
    assert_eq!(
        d.push_collect(&huge).unwrap_err().code(),
        ErrorCode::FrameTooLarge
    );
    // The buffer never holds more than one unfinished frame.
    let mut d = FrameDecoder::with_max_payload(1000);
    let f = frame::encode(2, 9, &[1; 1000]).unwrap();
    let mut two = f.clone();
    two.extend(&f[..500]);
    assert_eq!(d.push_collect(&two).unwrap().len(), 1);
    assert_eq!(d.buffered(), 500);
    assert!(d.buffered() <= 1000 + OVERHEAD);
    assert_eq!(d.push_collect(&f[500..]).unwrap().len(), 1);
    assert_eq!(d.buffered(), 0);
}

#[test]
fn empty_payloads_and_zero_length_messages() {
    let f = frame::encode(7, 1, &[]).unwrap();
    assert_eq!(f.len(), OVERHEAD);
    let mut d = FrameDecoder::new();
    assert_eq!(d.push_collect(&[]).unwrap(), vec![]);
    assert_eq!(d.push_collect(&f).unwrap(), vec![Frame::new(7, 1, vec![])]);
}

#[test]
fn control_messages() {
    assert_eq!(
        ControlMessage::pong_for(&[]),
        ControlMessage::Pong(vec![0; 4])
    );
    assert_eq!(
        ControlMessage::pong_for(&[0, 0, 0, 0, 9]),
        ControlMessage::Pong(vec![0, 0, 0, 0, 9])
    );
    assert_eq!(ControlMessage::Ping(vec![]).encode(), vec![0, 1]);
    let block = vec![0xAB; 200];
    let open = ControlMessage::OpenConnection {
        conn: 1,
        connect_as: Some(block.clone()),
    };
    let bytes = open.encode();
    assert_eq!(&bytes[..6], &[0, 101, 0, 0, 0, 1]);
    assert_eq!(&bytes[6..], &block[..]);
    assert_eq!(ControlMessage::decode(&bytes).unwrap(), open);
    for m in [
        ControlMessage::SendEof { conn: 1 },
        ControlMessage::ConnectionOpened { conn: 3 },
        ControlMessage::CloseConnection {
            conn: 1,
            reason: CloseReason::Normal,
            message: None,
        },
        ControlMessage::CloseConnection {
            conn: 0,
            reason: CloseReason::Other(3),
            message: Some("ü".into()),
        },
        ControlMessage::Other {
            code: 301,
            data: vec![1, 2],
        },
    ] {
        assert_eq!(ControlMessage::decode(&m.encode()).unwrap(), m);
    }
    assert_eq!(
        ControlMessage::CloseConnection {
            conn: 1,
            reason: CloseReason::Normal,
            message: None
        }
        .encode(),
        vec![0, 102, 0, 0, 0, 1, 0]
    );
    // Truncated messages are typed errors; an over-long close length keeps what is there.
    for bad in [
        &[][..],
        &[0][..],
        &[0, 101, 0, 0, 1][..],
        &[0, 102, 0, 0, 0, 1][..],
        &[0, 103][..],
        &[0, 104, 1][..],
    ] {
        assert_eq!(
            ControlMessage::decode(bad).unwrap_err().code(),
            ErrorCode::MalformedFrame,
            "{bad:?}"
        );
    }
    assert_eq!(
        ControlMessage::decode(&[0, 102, 0, 0, 0, 1, 14, 0, 9, b'h', b'i']).unwrap(),
        ControlMessage::CloseConnection {
            conn: 1,
            reason: CloseReason::GuacdError,
            message: Some("hi".into())
        }
    );
    // A message longer than u16 is cut at a character boundary.
    let long = "é".repeat(40_000);
    let enc = ControlMessage::CloseConnection {
        conn: 1,
        reason: CloseReason::Error,
        message: Some(long),
    }
    .encode();
    let len = u16::from_be_bytes([enc[7], enc[8]]) as usize;
    assert_eq!(len, 65_534);
    assert_eq!(enc.len(), 9 + len);
}

#[test]
fn every_close_reason_has_a_name_and_a_message() {
    let names = [
        "Normal",
        "Error",
        "Timeout",
        "Other",
        "ServerRefuse",
        "Client",
        "Unknown",
        "InvalidInstruction",
        "GuacdRefuse",
        "ConnectionLost",
        "ConnectionFailed",
        "TunnelClosed",
        "AdminClosed",
        "ErrorRecording",
        "GuacdError",
        "AIClosed",
        "AddressResolutionFailed",
        "DecryptionFailed",
        "ConfigurationError",
        "ProtocolError",
        "UpstreamClosed",
    ];
    let mut messages = std::collections::HashSet::new();
    for code in 0u8..=20 {
        let r = CloseReason::from_code(code);
        assert_eq!(r.code(), code);
        assert_eq!(r.name(), names[code as usize], "{code}");
        assert_eq!(code == 3, matches!(r, CloseReason::Other(3)));
        let m = r.status_message(None);
        assert!(
            !m.is_empty() && m.chars().next().unwrap().is_lowercase() && !m.ends_with('.'),
            "{code}: {m}"
        );
        messages.insert(m.clone());
        let with = r.status_message(Some("details here"));
        assert!(with.ends_with(": details here"), "{with}");
    }
    assert_eq!(messages.len(), 21, "each reason reads differently");
    assert_eq!(CloseReason::ALL.len(), 20);
    assert_eq!(CloseReason::from_code(200), CloseReason::Other(200));
    assert!(CloseReason::Other(200).status_message(None).contains("200"));
    // Which ends are ordinary.
    assert!(CloseReason::Normal.is_normal(Some("Guacd disconnect")));
    assert!(CloseReason::Client.is_normal(None));
    assert!(CloseReason::GuacdError.is_normal(None));
    assert!(CloseReason::GuacdError.is_normal(Some("  ")));
    assert!(!CloseReason::GuacdError.is_normal(Some("Guacd error: x, 519")));
    assert_eq!(
        CloseReason::GuacdError.status_message(None),
        "the session ended (logged out)"
    );
    for r in CloseReason::ALL {
        if !matches!(
            r,
            CloseReason::Normal | CloseReason::Client | CloseReason::GuacdError
        ) {
            assert!(!r.is_normal(None), "{}", r.name());
        }
    }
    let m = CloseReason::ConnectionFailed.status_message(Some("line1\nline2"));
    assert!(!m.contains('\n'));
}

fn frames_strategy() -> impl Strategy<Value = Vec<(u32, u64, Vec<u8>)>> {
    prop::collection::vec(
        (
            0u32..4,
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..300),
        ),
        0..12,
    )
}

proptest! {
    #[test]
    fn round_trip_and_split_invariance(frames in frames_strategy(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let want: Vec<Frame> = frames.iter().map(|(c, t, p)| Frame::new(*c, *t, p.clone())).collect();
        let stream: Vec<u8> = want.iter().flat_map(|f| f.encode().unwrap()).collect();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for p in points.into_iter().chain(std::iter::once(stream.len())) {
            got.extend(d.push_collect(&stream[prev..p]).unwrap());
            prev = p;
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), cut in any::<prop::sample::Index>()) {
        let at = cut.index(bytes.len() + 1);
        let mut d = FrameDecoder::with_max_payload(512);
        let mut frames = 0usize;
        let a = d.push(&bytes[..at], |f| { frames += 1; let _ = ControlMessage::decode(&f.payload); });
        if a.is_ok() {
            let _ = d.push(&bytes[at..], |f| { frames += 1; let _ = ControlMessage::decode(&f.payload); });
        }
        prop_assert!(d.buffered() <= 512 + OVERHEAD);
        let _ = frames;
    }

    #[test]
    fn control_round_trip(conn in any::<u32>(), code in 0u8..=255, msg in proptest::option::of(".{0,80}"), data in prop::collection::vec(any::<u8>(), 0..64)) {
        for m in [
            ControlMessage::CloseConnection { conn, reason: CloseReason::from_code(code), message: msg.clone() },
            ControlMessage::Ping(data.clone()),
            ControlMessage::Pong(data.clone()),
            ControlMessage::ConnectionOpened { conn },
            ControlMessage::SendEof { conn },
            ControlMessage::OpenConnection { conn, connect_as: (!data.is_empty()).then(|| data.clone()) },
        ] {
            prop_assert_eq!(ControlMessage::decode(&m.encode()).unwrap(), m);
        }
    }
}
