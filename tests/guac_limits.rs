//! The resource limits of the Guacamole client against hostile, synthetic
//! streams (no recording needed): one test per limit, each checking the
//! `RESOURCE_LIMIT` error and its sentence, the `disconnect` to the server,
//! and that nothing more is handled; plus download consent and streamed
//! uploads (at most one chunk of the source held).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use base64::Engine as _;
#[path = "common/client_io.rs"]
mod client_io;
use client_io::{drain, sent};
use pam_launch_wasm::core::error::ErrorCode;
use pam_launch_wasm::core::guac::client::{Client, ClientError, Config, Event, State};
use pam_launch_wasm::core::guac::encoder::encode;
use pam_launch_wasm::core::guac::limits::{
    MAX_ARGV_BYTES, MAX_CLIPBOARD_BYTES, MAX_FRAME_OPS, MAX_IMAGE_BYTES, MAX_OPEN_STREAM_BYTES,
    MAX_STREAMS, UPLOAD_CHUNK_BYTES,
};
use pam_launch_wasm::core::guac::status::Status;
use pam_launch_wasm::core::guac::DisplayOp;

const MIB: usize = 1024 * 1024;

fn client() -> Client {
    let mut c = Client::new(Config {
        auto_sync: true,
        ..Config::default()
    });
    c.attach();
    c.receive(encode(&["sync", "1"]).as_bytes()).unwrap();
    assert_eq!(c.state(), State::Connected);
    c.take_output();
    drain(&mut c);
    c
}

/// `blob` instructions carrying `bytes` bytes on `stream`, 4 MiB each
/// (under the parser's 8 MiB instruction limit once in base64).
fn blobs(stream: u32, bytes: usize) -> Vec<String> {
    static FULL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![0x5au8; n]);
    let full = FULL.get_or_init(|| b64(4 * MIB));
    let mut left = bytes;
    let mut out = Vec::new();
    while left > 0 {
        let n = left.min(4 * MIB);
        let data = if n == 4 * MIB { full.clone() } else { b64(n) };
        out.push(encode(&["blob", &stream.to_string(), &data]));
        left -= n;
    }
    out
}

/// Feeds every instruction; the first error ends the feed and is returned.
fn feed(c: &mut Client, instructions: &[String]) -> Result<(), ClientError> {
    for i in instructions {
        c.receive(i.as_bytes())?;
    }
    Ok(())
}

/// The session ended on a resource limit whose sentence contains `needle`:
/// the error's code and text, an Error event with the same text, the
/// `disconnect` sent to the server, and nothing handled afterwards.
fn assert_limit(c: &mut Client, r: Result<(), ClientError>, needle: &str) {
    let Err(ClientError::ResourceLimit(e)) = r else {
        panic!("expected a resource limit, got {r:?}");
    };
    assert_eq!(e.code(), ErrorCode::ResourceLimit);
    assert_eq!(e.code().as_str(), "RESOURCE_LIMIT");
    assert!(
        e.message().contains(needle),
        "{:?} should name {needle:?}",
        e.message()
    );
    assert!(e
        .message()
        .ends_with("the session was closed to protect the page"));
    let events = drain(c);
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev, Event::Error { status, message }
            if *status == Status::CLIENT_OVERRUN && message == e.message())),
        "an Error event with the sentence: {events:?}"
    );
    let out = sent(&c.take_output());
    assert_eq!(out.last().map(|i| i[0].as_str()), Some("disconnect"));
    assert_eq!(c.state(), State::Disconnected);
    // Nothing more is handled, nothing panics, no second error.
    c.receive(blobs(1, 1024)[0].as_bytes()).unwrap();
    c.receive(b"4.sync,1.2;").unwrap();
    assert!(c.take_output().is_empty());
    assert_eq!(c.open_stream_bytes(), 0);
}

fn img(stream: u32) -> String {
    encode(&["img", &stream.to_string(), "14", "0", "image/png", "0", "0"])
}

#[test]
fn the_budget_across_open_streams_ends_the_session_past_64_mib() {
    let mut c = client();
    // Three images of 30 MiB each, all open: under the per-image cap, over the budget.
    let mut r = Ok(());
    for s in 1..=3 {
        r = feed(&mut c, &[img(s)]).and_then(|()| feed(&mut c, &blobs(s, 30 * MIB)));
        if r.is_err() {
            assert_eq!(s, 3, "the third image crosses 64 MiB");
            break;
        }
        assert_eq!(c.open_stream_bytes(), s as usize * 30 * MIB);
    }
    assert_limit(
        &mut c,
        r,
        "the server's open streams exceed 64 MiB (the limit across all open streams)",
    );
}

#[test]
fn the_budget_is_released_at_each_end_and_on_a_reused_index() {
    let mut c = client();
    // 4 x 30 MiB images, one after another: 120 MiB in all, never 64 at once.
    for round in 0..4 {
        feed(&mut c, &[img(1)]).unwrap();
        feed(&mut c, &blobs(1, 30 * MIB)).unwrap();
        assert_eq!(c.open_stream_bytes(), 30 * MIB, "round {round}");
        feed(&mut c, &[encode(&["end", "1"])]).unwrap();
        assert_eq!(c.open_stream_bytes(), 0);
        let drawn = drain(&mut c)
            .into_iter()
            .filter(
                |e| matches!(e, Event::Op(DisplayOp::Image { data, .. }) if data.len() == 30 * MIB),
            )
            .count();
        assert_eq!(drawn, 1);
    }
    // An index opened again without `end`: the old stream's bytes are freed.
    feed(&mut c, &[img(2)]).unwrap();
    feed(&mut c, &blobs(2, 20 * MIB)).unwrap();
    feed(&mut c, &[img(2)]).unwrap();
    assert_eq!(c.open_stream_bytes(), 0);
    assert_eq!(c.state(), State::Connected);
}

#[test]
fn one_image_past_32_mib_ends_the_session() {
    let mut c = client();
    feed(&mut c, &[img(4)]).unwrap();
    let r = feed(&mut c, &blobs(4, MAX_IMAGE_BYTES + 1));
    assert_limit(
        &mut c,
        r,
        "an image stream from the server exceeds 32 MiB (the limit per image)",
    );
}

#[test]
fn a_clipboard_stream_past_16_mib_ends_the_session() {
    let mut c = client();
    let mut ok = client();
    let open = encode(&["clipboard", "5", "text/plain"]);
    feed(&mut ok, std::slice::from_ref(&open)).unwrap();
    feed(&mut ok, &blobs(5, MAX_CLIPBOARD_BYTES)).unwrap();
    feed(&mut ok, &[encode(&["end", "5"])]).unwrap();
    assert!(drain(&mut ok)
        .iter()
        .any(|e| matches!(e, Event::Clipboard { data, .. } if data.len() == MAX_CLIPBOARD_BYTES)));
    feed(&mut c, &[open]).unwrap();
    let r = feed(&mut c, &blobs(5, MAX_CLIPBOARD_BYTES + 1));
    assert_limit(
        &mut c,
        r,
        "a clipboard stream from the server exceeds 16 MiB (the clipboard limit)",
    );
}

#[test]
fn an_argv_stream_past_64_kib_ends_the_session() {
    let mut c = client();
    feed(
        &mut c,
        &[encode(&["argv", "6", "text/plain", "color-depth"])],
    )
    .unwrap();
    let r = feed(&mut c, &blobs(6, MAX_ARGV_BYTES + 1));
    assert_limit(
        &mut c,
        r,
        "a parameter (argv) stream from the server exceeds 64 KiB",
    );
}

fn rects(n: usize) -> String {
    encode(&["rect", "0", "1", "2", "3", "4"]).repeat(n)
}

#[test]
fn the_open_frame_past_65536_operations_ends_the_session() {
    let mut c = client();
    // Exactly the limit, then sync: fine; the count starts again after it.
    for _ in 0..2 {
        c.receive(rects(MAX_FRAME_OPS).as_bytes()).unwrap();
        c.receive(encode(&["sync", "2"]).as_bytes()).unwrap();
        let ops = drain(&mut c)
            .iter()
            .filter(|e| matches!(e, Event::Op(_)))
            .count();
        assert_eq!(ops, MAX_FRAME_OPS);
    }
    c.take_output();
    // One more in a frame that never ends.
    let r = c.receive(rects(MAX_FRAME_OPS + 1).as_bytes());
    let events: Vec<Event> = drain(&mut c);
    let ops = events.iter().filter(|e| matches!(e, Event::Op(_))).count();
    assert_eq!(
        ops, MAX_FRAME_OPS,
        "the operation past the limit is not handed on"
    );
    // Put the Error event back for assert_limit's check.
    let err = events
        .into_iter()
        .find(|e| matches!(e, Event::Error { .. }))
        .expect("an Error event");
    let Event::Error { message, .. } = &err else {
        unreachable!()
    };
    assert!(message.contains("the server's open frame exceeds 65536 drawing operations"));
    let Err(ClientError::ResourceLimit(e)) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(e.code(), ErrorCode::ResourceLimit);
    assert_eq!(e.message(), message);
    assert_eq!(
        sent(&c.take_output()).last().map(|i| i[0].clone()),
        Some("disconnect".into())
    );
    assert_eq!(c.state(), State::Disconnected);
    assert!(c.receive(rects(10).as_bytes()).is_ok());
}

#[test]
fn an_inline_png_counts_as_an_operation_of_the_frame() {
    let mut c = client();
    let png = encode(&["png", "14", "0", "0", "0", "AAAA"]);
    let r = c.receive(format!("{}{png}", rects(MAX_FRAME_OPS)).as_bytes());
    assert_limit(&mut c, r, "65536 drawing operations");
}

#[test]
fn accepted_downloads_count_in_the_budget_until_their_end() {
    let mut c = client();
    feed(
        &mut c,
        &[encode(&["file", "7", "application/zip", "a.zip"])],
    )
    .unwrap();
    assert!(c.accept_file(7));
    feed(&mut c, &blobs(7, 40 * MIB)).unwrap();
    assert_eq!(c.open_stream_bytes(), 40 * MIB);
    feed(&mut c, &[encode(&["end", "7"])]).unwrap();
    assert_eq!(c.open_stream_bytes(), 0);
    drain(&mut c);
    // A download that never ends: the budget stops it.
    feed(
        &mut c,
        &[encode(&["file", "8", "application/zip", "b.zip"])],
    )
    .unwrap();
    assert!(c.accept_file(8));
    let r = feed(&mut c, &blobs(8, MAX_OPEN_STREAM_BYTES + 1));
    assert_limit(&mut c, r, "exceed 64 MiB");
}

#[test]
fn audio_and_pipe_data_is_handed_on_and_holds_nothing() {
    let mut c = client();
    feed(
        &mut c,
        &[encode(&["audio", "9", "audio/L16;rate=44100,channels=2"])],
    )
    .unwrap();
    feed(&mut c, &[encode(&["pipe", "10", "text/plain", "p"])]).unwrap();
    for _ in 0..10 {
        feed(&mut c, &blobs(9, 8 * MIB)).unwrap();
        feed(&mut c, &blobs(10, 8 * MIB)).unwrap();
        drain(&mut c);
    }
    // 160 MiB through the two streams, nothing held, the session goes on.
    assert_eq!(c.open_stream_bytes(), 0);
    assert_eq!(c.state(), State::Connected);
}

#[test]
fn streams_past_512_are_refused_with_an_ack() {
    let mut c = client();
    for s in 0..MAX_STREAMS as u32 {
        feed(&mut c, &[img(s)]).unwrap();
    }
    c.take_output();
    assert_eq!(c.open_streams(), MAX_STREAMS);
    feed(&mut c, &[img(MAX_STREAMS as u32)]).unwrap();
    assert_eq!(c.open_streams(), MAX_STREAMS);
    let out = sent(&c.take_output());
    assert_eq!(out, vec![vec!["ack", "512", "too many streams", "797"]]);
    assert_eq!(c.state(), State::Connected);
}

// ---------------------------------------------------------------- downloads

#[test]
fn a_download_is_not_acknowledged_until_accepted_and_its_early_blobs_are_dropped() {
    let mut c = client();
    feed(&mut c, &[encode(&["file", "3", "text/plain", "notes.txt"])]).unwrap();
    let events = drain(&mut c);
    assert!(events.iter().any(
        |e| matches!(e, Event::FileStart { stream: 3, filename, mimetype }
        if filename == "notes.txt" && mimetype == "text/plain")
    ));
    assert!(
        c.take_output().is_empty(),
        "no ack before the application decides"
    );
    // A server that does not wait: its bytes are dropped.
    feed(&mut c, &blobs(3, 1000)).unwrap();
    assert!(!drain(&mut c)
        .iter()
        .any(|e| matches!(e, Event::FileData { .. })));
    assert!(c.take_output().is_empty());
    assert_eq!(c.open_stream_bytes(), 0);
    // Accepted: ack OK, then each blob handed on and acknowledged.
    assert!(c.accept_file(3));
    assert!(!c.accept_file(3), "accepted once");
    assert_eq!(sent(&c.take_output()), vec![vec!["ack", "3", "OK", "0"]]);
    feed(&mut c, &blobs(3, 1000)).unwrap();
    feed(&mut c, &[encode(&["end", "3"])]).unwrap();
    let events = drain(&mut c);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::FileData { stream: 3, data } if data.len() == 1000)));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::FileEnd { stream: 3 })));
    assert_eq!(sent(&c.take_output()), vec![vec!["ack", "3", "OK", "0"]]);
}

#[test]
fn a_refused_download_gets_an_error_ack_and_its_data_is_dropped() {
    let mut c = client();
    feed(
        &mut c,
        &[encode(&["file", "4", "application/x-sh", "run.sh"])],
    )
    .unwrap();
    drain(&mut c);
    assert!(c.reject_file(4, "UNSUPPORTED", Status::UNSUPPORTED));
    assert_eq!(
        sent(&c.take_output()),
        vec![vec!["ack", "4", "UNSUPPORTED", "256"]]
    );
    feed(&mut c, &blobs(4, 5000)).unwrap();
    feed(&mut c, &[encode(&["end", "4"])]).unwrap();
    let events = drain(&mut c);
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::FileData { .. } | Event::FileEnd { .. })));
    assert!(c.take_output().is_empty(), "no ack for the dropped blobs");
    assert!(
        !c.reject_file(4, "x", Status::UNSUPPORTED),
        "the stream is gone"
    );
    assert!(!c.accept_file(99), "no such offer");
}

// ---------------------------------------------------------------- uploads

#[test]
fn a_streamed_upload_pulls_one_chunk_at_a_time_on_the_servers_acks() {
    let mut c = client();
    let source: Vec<u8> = (0..(3 * UPLOAD_CHUNK_BYTES + 12_345))
        .map(|i| (i % 253) as u8)
        .collect();
    let total = source.len() as u64;
    let s = c
        .send_file_streamed("application/octet-stream", "big.bin", Some(total))
        .unwrap();
    assert_eq!(
        sent(&c.take_output()),
        vec![vec![
            "file".to_string(),
            s.to_string(),
            "application/octet-stream".into(),
            "big.bin".into()
        ]]
    );
    let mut given = 0usize; // source bytes handed to the client
    let mut got = Vec::new(); // bytes the server received
    let mut requests = 0;
    let mut done = false;
    for _ in 0..10_000 {
        // Serve every open request (there is never more than one).
        let events = drain(&mut c);
        let asks: Vec<(u64, usize)> = events
            .iter()
            .filter_map(|e| match e {
                Event::UploadNeedsData {
                    stream,
                    offset,
                    max,
                } if *stream == s => Some((*offset, *max)),
                _ => None,
            })
            .collect();
        assert!(asks.len() <= 1, "one request at a time: {asks:?}");
        if events
            .iter()
            .any(|e| matches!(e, Event::UploadDone { stream } if *stream == s))
        {
            done = true;
            break;
        }
        if let Some(&(offset, max)) = asks.first() {
            requests += 1;
            assert_eq!(offset as usize, given, "asks for the next bytes");
            assert_eq!(max, UPLOAD_CHUNK_BYTES);
            // Never more than one chunk held besides the one being sent.
            assert!(
                given - got.len() <= UPLOAD_CHUNK_BYTES,
                "{given} given, {} sent",
                got.len()
            );
            let end = (given + max).min(source.len());
            assert!(c.upload_data(s, &source[given..end]));
            given = end;
        }
        let out = sent(&c.take_output());
        for i in &out {
            if i[0] == "blob" {
                got.extend(
                    base64::engine::general_purpose::STANDARD
                        .decode(&i[2])
                        .unwrap(),
                );
            }
        }
        // The server acknowledges what it got (one ack per blob; one for the file).
        c.receive(encode(&["ack", &s.to_string(), "OK", "0"]).as_bytes())
            .unwrap();
    }
    assert!(done, "the upload finished");
    assert_eq!(got, source);
    assert_eq!(requests, 4, "four chunks of {UPLOAD_CHUNK_BYTES} bytes");
    let out = sent(&c.take_output());
    assert!(out.iter().any(|i| i == &["end".to_string(), s.to_string()]));
    // Bytes nobody asked for are refused.
    assert!(!c.upload_data(s, &[1, 2, 3]));
}

#[test]
fn a_streamed_upload_of_unknown_size_ends_on_an_empty_chunk_and_a_read_error_aborts() {
    let mut c = client();
    let s = c.send_file_streamed("text/plain", "a.txt", None).unwrap();
    c.take_output();
    assert!(drain(&mut c)
        .iter()
        .any(|e| matches!(e, Event::UploadNeedsData { offset: 0, .. })));
    assert!(c.upload_data(s, b"hello"));
    assert!(!c.upload_data(s, b"more"), "not asked for");
    c.receive(encode(&["ack", &s.to_string(), "OK", "0"]).as_bytes())
        .unwrap();
    let out = sent(&c.take_output());
    assert_eq!(out[0][0], "blob");
    // The read-ahead request for the next chunk: the end of the source.
    assert!(drain(&mut c)
        .iter()
        .any(|e| matches!(e, Event::UploadNeedsData { offset: 5, .. })));
    assert!(c.upload_data(s, b""));
    c.receive(encode(&["ack", &s.to_string(), "OK", "0"]).as_bytes())
        .unwrap();
    assert_eq!(
        sent(&c.take_output()),
        vec![vec!["end".to_string(), s.to_string()]]
    );
    assert!(drain(&mut c)
        .iter()
        .any(|e| matches!(e, Event::UploadDone { .. })));

    // A source that fails to read: `end`, and the upload reported failed.
    let s = c
        .send_file_streamed("text/plain", "b.txt", Some(10))
        .unwrap();
    c.take_output();
    drain(&mut c);
    c.upload_abort(s, "the file could not be read");
    assert_eq!(
        sent(&c.take_output()),
        vec![vec!["end".to_string(), s.to_string()]]
    );
    assert!(drain(&mut c).iter().any(|e| matches!(
        e,
        Event::UploadFailed { message, .. } if message == "the file could not be read"
    )));
}
