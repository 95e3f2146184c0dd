//! Cancelling an upload (`Client::upload_cancel`, behind
//! `client.cancelUpload`): `end` on the stream at once, no more data asked
//! for or sent, the server's late acks handled as ordinary acks, false for a
//! stream that is no running upload.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

#[path = "common/client_io.rs"]
mod client_io;
use client_io::{drain, sent};
use pam_launch_wasm::core::guac::client::{Client, Config, Event, State};
use pam_launch_wasm::core::guac::encoder::encode;
use pam_launch_wasm::core::guac::limits::UPLOAD_CHUNK_BYTES;

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

fn ack(c: &mut Client, s: i32) {
    c.receive(encode(&["ack", &s.to_string(), "OK", "0"]).as_bytes())
        .unwrap();
}

#[test]
fn a_cancel_mid_file_ends_the_stream_and_nothing_more_is_read_or_sent() {
    let mut c = client();
    let total = 3 * UPLOAD_CHUNK_BYTES as u64;
    let s = c
        .send_file_streamed("application/octet-stream", "big.bin", Some(total))
        .unwrap();
    assert_eq!(sent(&c.take_output())[0][0], "file");
    // The first chunk is asked for and given; the server takes three blobs.
    let asks = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::UploadNeedsData { stream, .. } if *stream == s))
            .count()
    };
    assert_eq!(asks(&drain(&mut c)), 1);
    assert!(c.upload_data(s, &vec![7u8; UPLOAD_CHUNK_BYTES]));
    for _ in 0..3 {
        ack(&mut c, s);
    }
    let out = sent(&c.take_output());
    assert_eq!(out.iter().filter(|i| i[0] == "blob").count(), 3);
    drain(&mut c);

    assert!(c.upload_cancel(s));
    assert_eq!(
        sent(&c.take_output()),
        vec![vec!["end".to_string(), s.to_string()]]
    );
    assert!(
        drain(&mut c).is_empty(),
        "no event: the caller reports the cancel"
    );
    // Late acks: no blob, no request for data, an ordinary Ack.
    for _ in 0..3 {
        ack(&mut c, s);
    }
    assert!(c.take_output().is_empty());
    let events = drain(&mut c);
    assert_eq!(asks(&events), 0);
    assert!(events
        .iter()
        .all(|e| matches!(e, Event::Ack { stream, .. } if *stream == s)));
    assert!(!events.is_empty());
    // A read that was under way when it was cancelled is refused.
    assert!(!c.upload_data(s, &[1, 2, 3]));
    // Twice, or a stream that is no upload: false, nothing sent.
    assert!(!c.upload_cancel(s));
    assert!(!c.upload_cancel(9_999));
    assert!(c.take_output().is_empty());
}

#[test]
fn a_cancel_of_an_in_memory_upload_and_after_the_end() {
    let mut c = client();
    let s = c
        .send_file("text/plain", "a.txt", vec![1u8; 20_000])
        .unwrap();
    c.take_output();
    ack(&mut c, s);
    assert_eq!(sent(&c.take_output())[0][0], "blob");
    assert!(c.upload_cancel(s));
    assert_eq!(
        sent(&c.take_output()),
        vec![vec!["end".to_string(), s.to_string()]]
    );
    // A finished upload is no longer cancellable.
    let s = c.send_file("text/plain", "b.txt", vec![2u8; 10]).unwrap();
    ack(&mut c, s);
    ack(&mut c, s);
    let out = sent(&c.take_output());
    assert_eq!(out.last().unwrap(), &vec!["end".to_string(), s.to_string()]);
    assert!(drain(&mut c)
        .iter()
        .any(|e| matches!(e, Event::UploadDone { stream } if *stream == s)));
    assert!(!c.upload_cancel(s));
    assert!(c.take_output().is_empty());
}
