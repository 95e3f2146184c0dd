//! The client state machine against real guacd streams: handshake answers,
//! sync answers, stream bookkeeping, errors and disconnects.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

#[path = "common/fixtures.rs"]
mod fixtures;

#[path = "common/client_io.rs"]
mod client_io;
use client_io::{drain, sent};
use pam_launch_wasm::core::guac::client::{Client, Config, Event, State};
use pam_launch_wasm::core::guac::encoder::encode;
use pam_launch_wasm::core::guac::status::Status;
use pam_launch_wasm::core::guac::DisplayOp;

fn fixture(name: &str) -> Vec<u8> {
    fixtures::read(name)
}

#[test]
fn direct_handshake_answers_args_with_one_value_per_name() {
    let mut cfg = Config {
        auto_sync: true,
        timezone: Some("UTC".into()),
        name: Some("tester".into()),
        ..Config::default()
    };
    cfg.params.insert("hostname".into(), "127.0.0.1".into());
    cfg.params.insert("username".into(), "guactest".into());
    let mut c = Client::new(cfg);
    c.connect("ssh");
    let live = fixture("ssh-live.guac");
    // The args instruction alone.
    let args_end = live.iter().position(|&b| b == b';').unwrap() + 1;
    c.receive(&live[..args_end]).unwrap();
    let out = sent(&c.take_output());
    let ops: Vec<&str> = out.iter().map(|i| i[0].as_str()).collect();
    assert_eq!(
        ops,
        ["select", "size", "audio", "video", "image", "timezone", "name", "connect"]
    );
    assert_eq!(out[0], ["select", "ssh"]);
    assert_eq!(out[1], ["size", "1024", "768", "96"]);
    let connect = &out[7];
    assert_eq!(connect[1], "VERSION_1_5_0");
    // One value per name the server listed, in its order.
    let args = &sent(&live[..args_end])[0];
    let names = &args[2..];
    assert_eq!(connect.len(), 2 + names.len());
    for (i, name) in names.iter().enumerate() {
        let want = match name.as_str() {
            "hostname" => "127.0.0.1",
            "username" => "guactest",
            _ => "", // password and everything else: empty
        };
        assert_eq!(connect[2 + i], want, "value for {name}");
    }
    assert!(names.iter().any(|n| n == "password"));
}

#[test]
fn ssh_live_stream_runs_to_a_clean_disconnect() {
    let mut c = Client::new(Config {
        auto_sync: true,
        ..Config::default()
    });
    c.connect("ssh");
    let live = fixture("ssh-live.guac");
    for chunk in live.chunks(4096) {
        c.receive(chunk).unwrap();
    }
    let events = drain(&mut c);
    let frames: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Frame { timestamp, .. } => Some(*timestamp),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), 86);
    let images = events
        .iter()
        .filter(|e| matches!(e, Event::Op(DisplayOp::Image { .. })))
        .count();
    assert_eq!(images, 100);
    let argv = events
        .iter()
        .filter(|e| matches!(e, Event::Argv { .. }))
        .count();
    assert_eq!(argv, 3);
    let ready = events
        .iter()
        .position(|e| matches!(e, Event::Ready { .. }))
        .unwrap();
    let connected = events
        .iter()
        .position(|e| *e == Event::State(State::Connected))
        .unwrap();
    let first_frame = events
        .iter()
        .position(|e| matches!(e, Event::Frame { .. }))
        .unwrap();
    assert!(ready < connected && connected < first_frame);
    assert_eq!(c.state(), State::Disconnected);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Log(_))),
        "nothing skipped in a real stream"
    );
    // Every sync answered, in order, with the server's own timestamps.
    let out = sent(&c.take_output());
    let answers: Vec<u64> = out
        .iter()
        .filter(|i| i[0] == "sync")
        .map(|i| i[1].parse().unwrap())
        .collect();
    let mut distinct = frames.clone();
    distinct.dedup();
    assert_eq!(answers, distinct);
    // The images are real PNG/WebP data.
    for e in &events {
        if let Event::Op(DisplayOp::Image { data, mimetype, .. }) = e {
            match mimetype.as_str() {
                "image/png" => assert!(data.starts_with(b"\x89PNG")),
                "image/webp" => assert!(data.starts_with(b"RIFF")),
                other => panic!("unexpected {other}"),
            }
        }
    }
}

#[test]
fn gateway_start_renders_a_recording_without_a_handshake() {
    for (name, frames) in [
        ("ssh-session.guac", 86),
        ("vnc-session.guac", 187),
        ("rdp-session.guac", 263),
    ] {
        let mut c = Client::new(Config {
            auto_sync: true,
            ..Config::default()
        });
        c.attach();
        c.receive(&fixture(name)).unwrap();
        let events = drain(&mut c);
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Frame { .. }))
                .count(),
            frames,
            "{name}"
        );
        assert_eq!(c.state(), State::Connected, "{name}");
        assert!(
            !events.iter().any(|e| matches!(e, Event::Log(_))),
            "{name}: nothing skipped"
        );
        let out = sent(&c.take_output());
        assert!(
            out.iter().all(|i| i[0] == "sync"),
            "{name}: only sync answers go out"
        );
    }
}

#[test]
fn vnc_live_delivers_the_clipboard() {
    let mut c = Client::new(Config {
        auto_sync: true,
        ..Config::default()
    });
    c.connect("vnc");
    c.receive(&fixture("vnc-live.guac")).unwrap();
    let clip = drain(&mut c).into_iter().find_map(|e| match e {
        Event::Clipboard { mimetype, data } => Some((mimetype, data)),
        _ => None,
    });
    let (mime, _data) = clip.expect("a clipboard event");
    assert_eq!(mime, "text/plain");
}

#[test]
fn sync_answers_wait_for_the_renderer_and_never_run_ahead() {
    let mut c = Client::new(Config::default());
    c.attach();
    c.receive(encode(&["sync", "100", "1"]).as_bytes()).unwrap();
    assert!(c.take_output().is_empty(), "not answered before rendering");
    c.frame_rendered(100);
    c.frame_rendered(100);
    c.frame_rendered(5000); // never ahead of the server
    assert_eq!(String::from_utf8(c.take_output()).unwrap(), "4.sync,3.100;");
    c.receive(encode(&["sync", "200"]).as_bytes()).unwrap();
    c.frame_rendered(5000);
    assert_eq!(String::from_utf8(c.take_output()).unwrap(), "4.sync,3.200;");
}

#[test]
fn args_arriving_over_the_gateway_is_still_answered() {
    let mut c = Client::new(Config::default());
    c.attach();
    c.receive(encode(&["args", "VERSION_1_5_0", "username", "password"]).as_bytes())
        .unwrap();
    let out = sent(&c.take_output());
    assert_eq!(out.last().unwrap(), &["connect", "VERSION_1_5_0", "", ""]);
}

#[test]
fn older_servers_get_their_own_version_and_1_0_0_gets_none() {
    let mut c = Client::new(Config {
        timezone: Some("UTC".into()),
        ..Config::default()
    });
    c.connect("vnc");
    c.receive(encode(&["args", "VERSION_1_0_0", "hostname"]).as_bytes())
        .unwrap();
    let out = sent(&c.take_output());
    assert!(
        !out.iter().any(|i| i[0] == "timezone"),
        "1.0.0 has no timezone"
    );
    assert_eq!(out.last().unwrap(), &["connect", "VERSION_1_0_0", ""]);
    let mut c = Client::new(Config::default());
    c.connect("vnc");
    c.receive(encode(&["args", "hostname", "port"]).as_bytes())
        .unwrap();
    assert_eq!(sent(&c.take_output()).last().unwrap(), &["connect", "", ""]);
}

#[test]
fn server_error_maps_to_status_and_disconnects_cleanly() {
    let mut c = Client::new(Config::default());
    c.attach();
    c.receive(encode(&["sync", "1"]).as_bytes()).unwrap();
    c.receive(encode(&["error", "Aborted. See logs.", "519"]).as_bytes())
        .unwrap();
    let events = drain(&mut c);
    let (status, message) = events
        .iter()
        .find_map(|e| match e {
            Event::Error { status, message } => Some((*status, message.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(status, Status::UPSTREAM_NOT_FOUND);
    assert!(message.contains("could not be found") && message.contains("Aborted"));
    assert_eq!(c.state(), State::Disconnected);
    assert!(String::from_utf8(c.take_output())
        .unwrap()
        .ends_with("10.disconnect;"));
    // Nothing more is sent or handled once disconnected.
    c.send_key(65, true);
    c.receive(b"garbage").unwrap();
    assert!(c.take_output().is_empty());
}

#[test]
fn hostile_streams_are_skipped_with_a_log_and_never_panic() {
    let mut c = Client::new(Config {
        auto_sync: true,
        ..Config::default()
    });
    c.attach();
    let bad = [
        encode(&["img", "1", "14", "0", "image/png", "0", "0"]),
        encode(&["blob", "1", "!!!not base64!!!"]),
        encode(&["end", "1"]),
        encode(&["png", "14", "0", "0", "0", "%%%"]),
        encode(&["copy", "a", "b"]),
        encode(&["size", "-5", "99999999999999", "3"]),
        encode(&["blob", "77", "AAAA"]),
        encode(&["frobnicate", "1"]),
        encode(&["video", "3", "video/mp4", "-1"]),
        encode(&["sync", "notanumber"]),
    ]
    .concat();
    c.receive(bad.as_bytes()).unwrap();
    let events = drain(&mut c);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Op(DisplayOp::Image { .. }))),
        "broken image not drawn"
    );
    assert!(events.iter().filter(|e| matches!(e, Event::Log(_))).count() >= 5);
    let out = String::from_utf8(c.take_output()).unwrap();
    assert!(
        out.contains("3.ack,1.3,8.BAD TYPE,3.783;"),
        "video refused with CLIENT_BAD_TYPE: {out}"
    );
    // A protocol error ends the session with a typed error.
    assert!(c.receive(b"4.sync;;").is_err());
    assert_eq!(c.state(), State::Disconnected);
}

#[test]
fn input_and_clipboard_out() {
    let mut c = Client::new(Config::default());
    c.attach();
    c.send_key(0xff0d, true);
    c.send_mouse(10, 20, 1);
    c.send_size(800, 600, Some(96));
    let text = "é".repeat(4000); // 8000 bytes: two blobs
    c.send_clipboard("text/plain", text.as_bytes());
    let out = sent(&c.take_output());
    assert_eq!(out[0], ["key", "65293", "1"]);
    assert_eq!(out[1], ["mouse", "10", "20", "1"]);
    assert_eq!(out[2], ["size", "800", "600", "96"]);
    assert_eq!(out[3], ["clipboard", "0", "text/plain"]);
    assert_eq!(out.iter().filter(|i| i[0] == "blob").count(), 2);
    assert!(
        out.iter().all(|i| encode(i).len() <= 8192),
        "every instruction fits guacd's limit"
    );
    assert_eq!(out.last().unwrap(), &["end", "0"]);
}

#[test]
fn keepalive_nop_after_five_quiet_seconds() {
    let mut c = Client::new(Config::default());
    c.attach();
    c.receive(encode(&["sync", "1"]).as_bytes()).unwrap();
    c.tick(0);
    c.tick(4_999);
    assert!(c.take_output().is_empty());
    c.tick(5_000);
    assert_eq!(c.take_output(), b"3.nop;");
}

#[test]
fn upload_sends_one_blob_per_ack_then_end() {
    let mut c = Client::new(Config::default());
    c.attach();
    let data: Vec<u8> = (0..15_000u32).map(|i| (i % 251) as u8).collect();
    let s = c
        .send_file("application/octet-stream", "a.bin", data.clone())
        .unwrap();
    let out = sent(&c.take_output());
    assert_eq!(
        out,
        vec![vec![
            "file".to_string(),
            s.to_string(),
            "application/octet-stream".into(),
            "a.bin".into()
        ]]
    );
    let mut got = Vec::new();
    for _ in 0..10 {
        c.receive(encode(&["ack", &s.to_string(), "OK", "0"]).as_bytes())
            .unwrap();
        let out = sent(&c.take_output());
        assert_eq!(out.len(), 1, "exactly one instruction per ack");
        if out[0][0] == "end" {
            break;
        }
        assert_eq!(out[0][0], "blob");
        use base64::Engine as _;
        got.extend(
            base64::engine::general_purpose::STANDARD
                .decode(&out[0][2])
                .unwrap(),
        );
    }
    assert_eq!(got, data);
    assert!(drain(&mut c)
        .iter()
        .any(|e| matches!(e, Event::UploadDone { .. })));
    // A refused upload stops at once.
    let s = c.send_file("text/plain", "b.txt", vec![1; 10]).unwrap();
    c.take_output();
    c.receive(encode(&["ack", &s.to_string(), "Permission denied", "771"]).as_bytes())
        .unwrap();
    assert!(c.take_output().is_empty());
    let failed = drain(&mut c).into_iter().find_map(|e| match e {
        Event::UploadFailed { status, .. } => Some(status),
        _ => None,
    });
    assert_eq!(failed, Some(Status::CLIENT_FORBIDDEN));
}
