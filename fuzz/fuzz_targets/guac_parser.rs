//! The Guacamole parser on arbitrary byte streams, split at a fuzzer-chosen
//! point: no panic, typed errors, and the same instructions whatever the split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_launch_wasm::core::guac::{Limits, Parser};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let limits = Limits { max_instruction_bytes: 4096, max_elements: 64 };
    let collect = |parts: &[&[u8]]| {
        let mut p = Parser::with_limits(limits);
        let mut out: Vec<Vec<String>> = Vec::new();
        for part in parts {
            if p.receive(part, |i| out.push(i.elements().map(str::to_owned).collect())).is_err() {
                return (out, false);
            }
        }
        let ok = p.finish().is_ok();
        (out, ok)
    };
    let at = (cut as usize * body.len()) / 255;
    let (a, b) = body.split_at(at.min(body.len()));
    let whole = collect(&[body]);
    let split = collect(&[a, b]);
    assert_eq!(whole, split);
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(collect(&bytewise), whole);
});
