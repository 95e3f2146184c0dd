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
        // Instructions flattened into one buffer (element count, then each
        // element's length and bytes): the same comparison as a Vec of
        // Strings, without an allocation per element.
        let mut out: Vec<u8> = Vec::new();
        let mut push = |i: pam_launch_wasm::core::guac::Instruction<'_>| {
            let els = i.elements();
            out.extend_from_slice(&(els.len() as u32).to_le_bytes());
            for e in els {
                out.extend_from_slice(&(e.len() as u32).to_le_bytes());
                out.extend_from_slice(e.as_bytes());
            }
        };
        for part in parts {
            if p.receive(part, &mut push).is_err() {
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
