//! The Guacamole client state machine on arbitrary server streams, in both
//! starts: no panic, bounded memory, and every sent instruction re-parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_launch_wasm::core::guac::client::{Client, Config};
use pam_launch_wasm::core::guac::Parser;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let mut c = Client::new(Config { auto_sync: mode & 1 == 1, ..Config::default() });
    if mode & 2 == 0 {
        c.connect("ssh");
    } else {
        c.attach();
    }
    // Chunks of 1, 65, 129, ... bytes: byte-by-byte for one mode in 64, larger
    // pieces otherwise (the parser's own target checks every split).
    for chunk in body.chunks(1 + (mode as usize >> 2) * 64) {
        let _ = c.receive(chunk);
        while c.poll_event().is_some() {}
        c.frame_rendered(u64::MAX);
        c.send_key(0x61, true);
        c.tick(u64::from(mode) * 1000);
    }
    c.disconnect();
    let out = c.take_output();
    let mut p = Parser::new();
    assert!(p.receive(&out, |_| {}).is_ok() && p.finish().is_ok(), "the client sent a malformed instruction");
});
