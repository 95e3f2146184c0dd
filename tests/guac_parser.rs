//! The Guacamole parser against real guacd streams (`tests/fixtures/guac/`)
//! and a naive reference parser, under every kind of split.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

#[path = "common/fixtures.rs"]
mod fixtures;

use pam_launch_wasm::core::guac::encoder::encode;
use pam_launch_wasm::core::guac::recording::summarize;
use pam_launch_wasm::core::guac::{Limits, ParseError, Parser};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    fixtures::read(name)
}

fn parse_all(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<String>> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let c = c.clamp(prev, bytes.len());
        p.receive(&bytes[prev..c], |i| {
            out.push(i.elements().map(str::to_owned).collect())
        })
        .unwrap();
        prev = c;
    }
    p.finish().unwrap();
    out
}

/// Counts published in the fixtures' README (made by the fixture's author, not by us).
/// (file, instructions, duration in ms, counts by opcode)
type Expected = (&'static str, u64, u64, &'static [(&'static str, u64)]);
const EXPECTED: &[Expected] = &[
    (
        "ssh-session.guac",
        1022,
        25_900,
        &[
            ("rect", 245),
            ("cfill", 245),
            ("key", 124),
            ("blob", 101),
            ("img", 100),
            ("end", 100),
            ("sync", 86),
            ("size", 10),
            ("move", 7),
            ("copy", 3),
            ("cursor", 1),
        ],
    ),
    (
        "ssh-live.guac",
        909,
        25_900,
        &[
            ("rect", 245),
            ("cfill", 245),
            ("blob", 103),
            ("end", 103),
            ("img", 100),
            ("sync", 86),
            ("size", 10),
            ("move", 7),
            ("argv", 3),
            ("copy", 3),
            ("args", 1),
            ("ready", 1),
            ("cursor", 1),
            ("disconnect", 1),
        ],
    ),
    (
        "ssh-session-long.guac",
        8877,
        71_300,
        &[
            ("rect", 1647),
            ("cfill", 1647),
            ("blob", 1190),
            ("img", 1145),
            ("end", 1145),
            ("sync", 616),
            ("copy", 565),
            ("key", 482),
            ("size", 221),
            ("move", 218),
            ("cursor", 1),
        ],
    ),
    (
        "ssh-long-live.guac",
        8406,
        71_300,
        &[
            ("rect", 1647),
            ("cfill", 1647),
            ("blob", 1192),
            ("end", 1148),
            ("img", 1145),
            ("sync", 616),
            ("copy", 565),
            ("size", 221),
            ("move", 218),
            ("argv", 3),
            ("args", 1),
            ("ready", 1),
            ("cursor", 1),
            ("disconnect", 1),
        ],
    ),
    (
        "vnc-session.guac",
        4299,
        25_200,
        &[
            ("img", 1090),
            ("blob", 1090),
            ("end", 1090),
            ("copy", 329),
            ("mouse", 200),
            ("sync", 187),
            ("rect", 153),
            ("cfill", 153),
            ("size", 3),
            ("cursor", 3),
            ("dispose", 1),
        ],
    ),
    (
        "vnc-live.guac",
        4103,
        25_200,
        &[
            ("end", 1091),
            ("img", 1090),
            ("blob", 1090),
            ("copy", 329),
            ("sync", 187),
            ("rect", 153),
            ("cfill", 153),
            ("size", 3),
            ("cursor", 3),
            ("args", 1),
            ("ready", 1),
            ("clipboard", 1),
            ("disconnect", 1),
        ],
    ),
    (
        "vnc-session-long.guac",
        17607,
        48_700,
        &[
            ("blob", 4833),
            ("img", 4821),
            ("end", 4821),
            ("copy", 949),
            ("sync", 721),
            ("rect", 527),
            ("cfill", 527),
            ("mouse", 400),
            ("size", 4),
            ("cursor", 3),
            ("dispose", 1),
        ],
    ),
    (
        "vnc-long-live.guac",
        17205,
        48_700,
        &[
            ("blob", 4833),
            ("img", 4821),
            ("end", 4821),
            ("copy", 949),
            ("sync", 721),
            ("rect", 525),
            ("cfill", 525),
            ("size", 4),
            ("cursor", 3),
            ("args", 1),
            ("ready", 1),
            ("disconnect", 1),
        ],
    ),
    (
        "rdp-session.guac",
        2741,
        20_800,
        &[
            ("blob", 602),
            ("end", 513),
            ("img", 513),
            ("copy", 287),
            ("sync", 263),
            ("key", 206),
            ("mouse", 170),
            ("cfill", 68),
            ("rect", 68),
            ("size", 21),
            ("dispose", 19),
            ("cursor", 11),
        ],
    ),
    (
        "rdp-live.guac",
        2369,
        22_400,
        &[
            ("blob", 602),
            ("end", 513),
            ("img", 513),
            ("copy", 287),
            ("sync", 264),
            ("cfill", 68),
            ("rect", 68),
            ("size", 21),
            ("dispose", 17),
            ("cursor", 12),
            ("args", 1),
            ("disconnect", 1),
            ("mouse", 1),
            ("ready", 1),
        ],
    ),
];

#[test]
fn every_fixture_summarises_as_its_readme_says() {
    for (name, total, duration_ms, counts) in EXPECTED {
        let s = summarize(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.instructions, *total, "{name}: instruction count");
        for (op, n) in *counts {
            assert_eq!(s.counts.get(*op).copied(), Some(*n), "{name}: {op}");
        }
        assert_eq!(
            s.counts.values().sum::<u64>(),
            *total,
            "{name}: no opcode beyond the README's"
        );
        assert_eq!(s.frames, s.counts["sync"]);
        // The README gives durations to 0.1 s.
        assert!(
            s.duration_ms.abs_diff(*duration_ms) <= 50,
            "{name}: duration {} ms",
            s.duration_ms
        );
    }
}

#[test]
fn fixtures_parse_identically_under_any_split_and_reencode_byte_exact() {
    for name in ["ssh-live.guac", "vnc-live.guac", "rdp-live.guac"] {
        let bytes = fixture(name);
        let whole = parse_all(&bytes, &[]);
        // Re-encoding every instruction gives back the exact stream.
        let re: String = whole.iter().map(|i| encode(i)).collect();
        assert_eq!(re.as_bytes(), &bytes[..], "{name}: re-encoding");
        for chunk in [1usize, 2, 3, 7, 64, 1000, 16 * 1024, 65_536] {
            let cuts: Vec<usize> = (chunk..bytes.len()).step_by(chunk).collect();
            assert_eq!(parse_all(&bytes, &cuts), whole, "{name}: chunks of {chunk}");
        }
        // Instruction-aligned messages, as a data channel delivers them.
        let mut cuts = Vec::new();
        let mut at = 0;
        for i in &whole {
            at += encode(i).len();
            cuts.push(at);
        }
        assert_eq!(parse_all(&bytes, &cuts), whole, "{name}: aligned");
    }
}

/// A naive reference: whole input as a `&str`, counting `char`s.
fn reference(text: &str) -> Option<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let mut it = text.chars().peekable();
    while it.peek().is_some() {
        let mut inst = Vec::new();
        loop {
            let mut len = String::new();
            for c in it.by_ref() {
                if c == '.' {
                    break;
                }
                len.push(c);
            }
            let n: usize = len.parse().ok()?;
            let v: String = it.by_ref().take(n).collect();
            if v.chars().count() != n {
                return None;
            }
            inst.push(v);
            match it.next()? {
                ',' => continue,
                ';' => break,
                _ => return None,
            }
        }
        out.push(inst);
    }
    Some(out)
}

fn element() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,8}",
        "\\PC{0,6}",
        "[;,.0-9]{0,5}",
        Just("😀é€a".to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn streaming_equals_reference_under_random_splits(
        insts in prop::collection::vec(prop::collection::vec(element(), 1..6), 0..30),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let text: String = insts.iter().map(|i| encode(i)).collect();
        let bytes = text.as_bytes();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let got = parse_all(bytes, &cuts);
        prop_assert_eq!(&got, &insts);
        prop_assert_eq!(Some(got), reference(&text));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_stick(bytes in prop::collection::vec(any::<u8>(), 0..300), cut in any::<prop::sample::Index>()) {
        let mut p = Parser::with_limits(Limits { max_instruction_bytes: 128, max_elements: 8 });
        let c = cut.index(bytes.len() + 1);
        let a = p.receive(&bytes[..c], |_| {});
        let b = p.receive(&bytes[c..], |_| {});
        if let Err(e) = a {
            prop_assert_eq!(b, Err(e));
        }
    }
}

#[test]
fn errors_are_typed() {
    let lim = Limits {
        max_instruction_bytes: 64,
        max_elements: 4,
    };
    let run = |s: &[u8]| {
        let mut p = Parser::with_limits(lim);
        p.receive(s, |_| {}).and_then(|_| p.finish())
    };
    assert!(matches!(
        run(b"4.size,x.0;"),
        Err(ParseError::BadLength { .. })
    ));
    assert!(matches!(run(b".size;"), Err(ParseError::BadLength { .. })));
    assert!(matches!(run(b"-1.a;"), Err(ParseError::BadLength { .. })));
    assert!(matches!(
        run(b"99999999999999999999.a;"),
        Err(ParseError::LengthTooLarge { .. })
    ));
    assert!(matches!(
        run(b"3.nopX"),
        Err(ParseError::BadTerminator { byte: b'X', .. })
    ));
    assert!(matches!(
        run(b"1.a,1.b,1.c,1.d,1.e;"),
        Err(ParseError::TooManyElements { limit: 4 })
    ));
    assert!(matches!(run(b"1.\xff;"), Err(ParseError::InvalidUtf8)));
    assert!(matches!(
        run(b"4.sync,3.12"),
        Err(ParseError::Incomplete { .. })
    ));
    let exact = format!("60.{};", "a".repeat(60)); // 64 bytes: at the limit, accepted
    assert!(run(exact.as_bytes()).is_ok());
    let long = format!("61.{};", "a".repeat(61));
    assert!(matches!(
        run(long.as_bytes()),
        Err(ParseError::InstructionTooLarge { .. })
    ));
    // Growing without end is bounded too, before the instruction completes.
    let mut p = Parser::with_limits(lim);
    let mut err = None;
    for _ in 0..100 {
        if let Err(e) = p.receive(b"aaaaaaaa", |_| {}) {
            err = Some(e);
            break;
        }
    }
    assert!(err.is_some());
    assert!(p.buffered() <= 64);
}

#[test]
fn split_inside_a_utf8_sequence_and_inside_a_length() {
    let text = encode(&["clipboard", "€😀"]) + &encode(&["nop"]);
    let b = text.as_bytes();
    for i in 0..=b.len() {
        for j in i..=b.len() {
            let got = parse_all(b, &[i, j]);
            assert_eq!(
                got,
                vec![
                    vec!["clipboard".to_string(), "€😀".to_string()],
                    vec!["nop".to_string()]
                ],
                "cuts {i},{j}"
            );
        }
    }
}

#[test]
fn large_payload_in_small_chunks_is_linear() {
    // 4 MiB of base64 in 1 KiB chunks: with the "needs at least" hint the tail
    // is scanned about once, not once per chunk (which would take minutes).
    let payload = "A".repeat(4 << 20);
    let text = encode(&["blob", "1", &payload]);
    let mut p = Parser::new();
    let mut n = 0;
    for c in text.as_bytes().chunks(1024) {
        p.receive(c, |i| {
            assert_eq!(i.arg(1).map(str::len), Some(4 << 20));
            n += 1;
        })
        .unwrap();
    }
    assert_eq!(n, 1);
}

proptest! {
    #[test]
    fn all_ascii_agrees_with_std(bytes in prop::collection::vec(prop_oneof![0u8..0x80, any::<u8>()], 0..100)) {
        prop_assert_eq!(pam_launch_wasm::core::guac::parser::all_ascii(&bytes), bytes.is_ascii());
    }
}
