//! The keyboard translator: browser `key`/`code` → X11 keysyms, release
//! bookkeeping, repeat, dead keys, IME, AltGr, modifier resync, reset, numpad,
//! and no panic on any input.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::guac::keyboard::keysym::*;
use pam_launch_wasm::core::guac::keyboard::{
    keysym_from_char, named_keysym, KeyEvent, KeyKind, Keyboard, Modifiers, Options, MAX_HELD,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn down(key: &'static str, code: &'static str) -> KeyEvent<'static> {
    KeyEvent::down(key, code)
}

fn up(key: &'static str, code: &'static str) -> KeyEvent<'static> {
    KeyEvent::up(key, code)
}

fn at(e: KeyEvent<'static>, location: u32) -> KeyEvent<'static> {
    KeyEvent { location, ..e }
}

fn with(e: KeyEvent<'static>, modifiers: Modifiers) -> KeyEvent<'static> {
    KeyEvent { modifiers, ..e }
}

const SHIFT: Modifiers = Modifiers {
    shift: true,
    ctrl: false,
    alt: false,
    meta: false,
    alt_graph: false,
    caps_lock: false,
};

/// Windows AltGr: Ctrl and Alt and AltGraph all reported.
const ALTGR_WIN: Modifiers = Modifiers {
    shift: false,
    ctrl: true,
    alt: true,
    meta: false,
    alt_graph: true,
    caps_lock: false,
};

fn keys(kb: &mut Keyboard, e: KeyEvent) -> Vec<(u32, bool)> {
    kb.event(&e).keys
}

fn pressed(kb: &Keyboard) -> Vec<u32> {
    kb.pressed().collect()
}

/// Press and release one key on a fresh keyboard; both must be prevented and
/// send exactly the keysym.
fn assert_named(key: &'static str, code: &'static str, location: u32, want: u32) {
    let mut kb = Keyboard::new();
    let d = kb.event(&at(down(key, code), location));
    assert_eq!(
        d.keys,
        vec![(want, true)],
        "keydown {key}/{code}/{location}"
    );
    assert!(d.prevent_default, "keydown {key} prevented");
    assert_eq!(pressed(&kb), vec![want]);
    let u = kb.event(&at(up(key, code), location));
    assert_eq!(u.keys, vec![(want, false)], "keyup {key}/{code}/{location}");
    assert!(u.prevent_default, "keyup {key} prevented");
    assert_eq!(pressed(&kb), Vec::<u32>::new());
}

#[test]
fn named_keys_table() {
    let table: &[(&str, &str, u32, u32)] = &[
        ("Backspace", "Backspace", 0, 0xFF08),
        ("Tab", "Tab", 0, 0xFF09),
        ("Enter", "Enter", 0, 0xFF0D),
        ("Escape", "Escape", 0, 0xFF1B),
        ("Delete", "Delete", 0, 0xFFFF),
        ("Home", "Home", 0, 0xFF50),
        ("ArrowLeft", "ArrowLeft", 0, 0xFF51),
        ("ArrowUp", "ArrowUp", 0, 0xFF52),
        ("ArrowRight", "ArrowRight", 0, 0xFF53),
        ("ArrowDown", "ArrowDown", 0, 0xFF54),
        ("PageUp", "PageUp", 0, 0xFF55),
        ("PageDown", "PageDown", 0, 0xFF56),
        ("End", "End", 0, 0xFF57),
        ("Insert", "Insert", 0, 0xFF63),
        ("ContextMenu", "ContextMenu", 0, 0xFF67),
        ("NumLock", "NumLock", 3, 0xFF7F),
        ("ScrollLock", "ScrollLock", 0, 0xFF14),
        ("Pause", "Pause", 0, 0xFF13),
        ("PrintScreen", "PrintScreen", 0, 0xFF61),
        ("CapsLock", "CapsLock", 0, 0xFFE5),
        ("Compose", "", 0, 0xFF20),
        ("Clear", "Numpad5", 3, 0xFF0B),
        (" ", "Space", 0, 0x20),
        // Sided modifiers by location
        ("Shift", "ShiftLeft", 1, 0xFFE1),
        ("Shift", "ShiftRight", 2, 0xFFE2),
        ("Control", "ControlLeft", 1, 0xFFE3),
        ("Control", "ControlRight", 2, 0xFFE4),
        ("Meta", "MetaLeft", 1, 0xFFE7),
        ("Meta", "MetaRight", 2, 0xFFE8),
        ("Alt", "AltLeft", 1, 0xFFE9),
        ("Alt", "AltRight", 2, 0xFFEA),
        ("AltGraph", "AltRight", 2, 0xFE03),
        ("Super", "", 1, 0xFFEB),
        ("Super", "", 2, 0xFFEC),
        ("OS", "OSLeft", 1, 0xFFEB),
        ("OS", "OSRight", 2, 0xFFEC),
        ("Hyper", "", 1, 0xFFED),
        ("Hyper", "", 2, 0xFFEE),
        // Sided modifiers by code when location is missing
        ("Shift", "ShiftLeft", 0, 0xFFE1),
        ("Shift", "ShiftRight", 0, 0xFFE2),
        ("Control", "ControlRight", 0, 0xFFE4),
        ("Alt", "AltRight", 0, 0xFFEA),
        ("Meta", "MetaRight", 0, 0xFFE8),
        ("Shift", "", 0, 0xFFE1),
        // Legacy and iOS names
        ("Esc", "", 0, 0xFF1B),
        ("Del", "", 0, 0xFFFF),
        ("Left", "", 0, 0xFF51),
        ("Up", "", 0, 0xFF52),
        ("Right", "", 0, 0xFF53),
        ("Down", "", 0, 0xFF54),
        ("Win", "", 1, 0xFFE7),
        ("Apps", "", 0, 0xFF67),
        ("Scroll", "", 0, 0xFF14),
        ("Spacebar", "", 0, 0x20),
        ("UIKeyInputEscape", "", 0, 0xFF1B),
        ("UIKeyInputUpArrow", "", 0, 0xFF52),
        ("UIKeyInputDownArrow", "", 0, 0xFF54),
        ("UIKeyInputLeftArrow", "", 0, 0xFF51),
        ("UIKeyInputRightArrow", "", 0, 0xFF53),
        // Editing, UI and IME mode keys
        ("Undo", "", 0, 0xFF65),
        ("Redo", "", 0, 0xFF66),
        ("Again", "", 0, 0xFF66),
        ("Find", "", 0, 0xFF68),
        ("Cancel", "", 0, 0xFF69),
        ("Help", "", 0, 0xFF6A),
        ("Select", "", 0, 0xFF60),
        ("Execute", "", 0, 0xFF62),
        ("Convert", "Convert", 0, 0xFF21),
        ("NonConvert", "NonConvert", 0, 0xFF22),
        ("KanaMode", "KanaMode", 0, 0xFF2D),
        ("HangulMode", "Lang1", 0, 0xFF31),
        ("HanjaMode", "Lang2", 0, 0xFF34),
        ("Hiragana", "", 0, 0xFF25),
        ("Katakana", "", 0, 0xFF26),
        ("HiraganaKatakana", "", 0, 0xFF27),
        ("Zenkaku", "", 0, 0xFF28),
        ("Hankaku", "", 0, 0xFF29),
        ("ZenkakuHankaku", "Backquote", 0, 0xFF2A),
        ("Eisu", "", 0, 0xFF30),
        ("ModeChange", "", 0, 0xFF7E),
    ];
    for &(key, code, location, want) in table {
        assert_named(key, code, location, want);
    }
    // F1..F24 by `key`, each with its own `code`.
    let names: Vec<String> = (1..=24).map(|n| format!("F{n}")).collect();
    for (i, name) in names.iter().enumerate() {
        let mut kb = Keyboard::new();
        let want = 0xFFBE + i as u32;
        assert_eq!(
            keys(&mut kb, KeyEvent::down(name, name)),
            vec![(want, true)]
        );
        assert_eq!(keys(&mut kb, KeyEvent::up(name, name)), vec![(want, false)]);
    }
    assert_eq!(named_keysym("F12", 0, ""), Some(0xFFC9));
    assert_eq!(named_keysym("F35", 0, ""), Some(0xFFE0));
    for bad in ["F", "F0", "F36", "F01", "F+1", "F1x", "F999", "f1", "FF"] {
        assert_eq!(named_keysym(bad, 0, ""), None, "{bad}");
    }
}

#[test]
fn unknown_and_ignored_keys_send_nothing_and_are_not_prevented() {
    let mut kb = Keyboard::new();
    for key in [
        "Unidentified",
        "Dead",
        "Process",
        "",
        "AudioVolumeUp",
        "MediaPlayPause",
        "Fn",
        "NoSuchKey",
        "ab",
        "e\u{301}",
    ] {
        let o = kb.event(&KeyEvent::down(key, "KeyX"));
        assert!(o.keys.is_empty(), "{key:?}");
        assert!(!o.prevent_default, "{key:?}");
        let o = kb.event(&KeyEvent::up(key, "KeyX"));
        assert!(o.keys.is_empty(), "{key:?}");
        assert!(!o.prevent_default, "{key:?}");
    }
    assert_eq!(pressed(&kb), Vec::<u32>::new());
}

#[test]
fn printable_latin1_and_unicode() {
    let table: &[(&str, &str, u32)] = &[
        ("a", "KeyA", 0x61),
        ("A", "KeyA", 0x41),
        ("1", "Digit1", 0x31),
        ("!", "Digit1", 0x21),
        ("~", "Backquote", 0x7E),
        ("é", "Digit2", 0xE9),
        ("ß", "Minus", 0xDF),
        ("ÿ", "KeyY", 0xFF),
        ("¡", "KeyQ", 0xA1),
        ("€", "KeyE", 0x0100_20AC),
        ("😀", "KeyZ", 0x0101_F600),
        ("ж", "Semicolon", 0x0100_0436),
        ("Ж", "Semicolon", 0x0100_0416),
        ("中", "KeyZ", 0x0100_4E2D),
        ("あ", "Digit3", 0x0100_3042),
        ("ا", "KeyH", 0x0100_0627),
    ];
    for &(key, code, want) in table {
        let mut kb = Keyboard::new();
        let o = kb.event(&down(key, code));
        assert_eq!(o.keys, vec![(want, true)], "{key}");
        assert!(o.prevent_default);
        assert_eq!(keys(&mut kb, up(key, code)), vec![(want, false)], "{key}");
    }
    // Control characters and the edges of the mapping.
    assert_eq!(keysym_from_char('\u{8}'), Some(0xFF08));
    assert_eq!(keysym_from_char('\t'), Some(0xFF09));
    assert_eq!(keysym_from_char('\r'), Some(0xFF0D));
    assert_eq!(keysym_from_char('\u{1b}'), Some(0xFF1B));
    assert_eq!(keysym_from_char('\u{7f}'), Some(0xFFFF));
    assert_eq!(keysym_from_char('\0'), None);
    assert_eq!(keysym_from_char('\u{85}'), None);
    assert_eq!(keysym_from_char(' '), Some(0x20));
    assert_eq!(keysym_from_char('\u{A0}'), Some(0xA0));
    assert_eq!(keysym_from_char('\u{100}'), Some(0x0100_0100));
    assert_eq!(keysym_from_char('\u{10FFFF}'), Some(0x0110_FFFF));
}

#[test]
fn release_sends_what_was_pressed_even_after_shift_changed() {
    let mut kb = Keyboard::new();
    let shift = at(down("Shift", "ShiftLeft"), 1);
    assert_eq!(keys(&mut kb, with(shift, SHIFT)), vec![(SHIFT_L, true)]);
    assert_eq!(
        keys(&mut kb, with(down("A", "KeyA"), SHIFT)),
        vec![(0x41, true)]
    );
    assert_eq!(
        keys(&mut kb, at(up("Shift", "ShiftLeft"), 1)),
        vec![(SHIFT_L, false)]
    );
    assert_eq!(pressed(&kb), vec![0x41]);
    // The keyup now says "a": the release is still 0x41.
    assert_eq!(keys(&mut kb, up("a", "KeyA")), vec![(0x41, false)]);
    assert_eq!(pressed(&kb), Vec::<u32>::new());

    // Same without `code` (some virtual keyboards): matched by key, any case.
    let mut kb = Keyboard::new();
    keys(&mut kb, with(down("Shift", ""), SHIFT));
    assert_eq!(
        keys(&mut kb, with(down("A", ""), SHIFT)),
        vec![(0x41, true)]
    );
    keys(&mut kb, up("Shift", ""));
    assert_eq!(keys(&mut kb, up("a", "")), vec![(0x41, false)]);
    assert_eq!(pressed(&kb), Vec::<u32>::new());

    // The same for a Latin-1 letter ("Ä" down, "ä" up, keysym 0xC4), and a
    // key that differs by more than case is not released by it.
    let mut kb = Keyboard::new();
    keys(&mut kb, with(down("Shift", ""), SHIFT));
    assert_eq!(
        keys(&mut kb, with(down("\u{c4}", ""), SHIFT)),
        vec![(0xC4, true)]
    );
    keys(&mut kb, up("Shift", ""));
    keys(&mut kb, up("\u{f7}", ""));
    assert_eq!(pressed(&kb), vec![0xC4]);
    assert_eq!(keys(&mut kb, up("\u{e4}", "")), vec![(0xC4, false)]);
    assert_eq!(pressed(&kb), Vec::<u32>::new());

    // Shift pressed while "1" is held: the key now produces "!", so "1" is
    // released first (its keyup must have been lost) and "!" pressed.
    let mut kb = Keyboard::new();
    keys(&mut kb, down("1", "Digit1"));
    assert_eq!(
        keys(&mut kb, with(down("!", "Digit1"), SHIFT)),
        vec![(0x31, false), (0x21, true)]
    );
    assert_eq!(keys(&mut kb, up("1", "Digit1")), vec![(0x21, false)]);
}

#[test]
fn repeat_resends_press_without_release() {
    let mut kb = Keyboard::new();
    assert_eq!(keys(&mut kb, down("x", "KeyX")), vec![(0x78, true)]);
    for _ in 0..3 {
        let e = KeyEvent {
            repeat: true,
            ..down("x", "KeyX")
        };
        let o = kb.event(&e);
        assert_eq!(o.keys, vec![(0x78, true)]);
        assert!(o.prevent_default);
    }
    assert_eq!(keys(&mut kb, up("x", "KeyX")), vec![(0x78, false)]);

    // Modifiers and locks are not re-sent on repeat.
    let mut kb = Keyboard::new();
    let shift = with(at(down("Shift", "ShiftLeft"), 1), SHIFT);
    assert_eq!(keys(&mut kb, shift), vec![(SHIFT_L, true)]);
    let o = kb.event(&KeyEvent {
        repeat: true,
        ..shift
    });
    assert!(o.keys.is_empty());
    assert!(o.prevent_default);
    let caps = with(down("CapsLock", "CapsLock"), SHIFT);
    assert_eq!(keys(&mut kb, caps), vec![(CAPS_LOCK, true)]);
    let again = KeyEvent {
        repeat: true,
        ..caps
    };
    assert!(keys(&mut kb, again).is_empty());
    assert_eq!(pressed(&kb), vec![SHIFT_L, CAPS_LOCK]);
}

#[test]
fn dead_key_then_composed_character() {
    let mut kb = Keyboard::new();
    // ´ (dead) then e → é, Windows/Linux style: the composed character is the
    // next keydown's `key`.
    let o = kb.event(&down("Dead", "Equal"));
    assert!(o.keys.is_empty());
    assert!(!o.prevent_default, "the browser must compose");
    let o = kb.event(&up("Dead", "Equal"));
    assert!(o.keys.is_empty());
    assert_eq!(keys(&mut kb, down("é", "KeyE")), vec![(0xE9, true)]);
    assert_eq!(keys(&mut kb, up("e", "KeyE")), vec![(0xE9, false)]);
    assert_eq!(pressed(&kb), Vec::<u32>::new());

    // macOS style: the composed keydown is marked composing and the text
    // arrives with compositionend.
    let o = kb.event(&down("Dead", "KeyE"));
    assert!(o.keys.is_empty());
    let o = kb.event(&KeyEvent {
        is_composing: true,
        ..down("é", "KeyE")
    });
    assert!(o.keys.is_empty());
    assert!(!o.prevent_default);
    assert_eq!(kb.type_text("é"), vec![(0xE9, true), (0xE9, false)]);
    let o = kb.event(&KeyEvent {
        is_composing: true,
        ..up("e", "KeyE")
    });
    assert!(o.keys.is_empty());
    assert_eq!(pressed(&kb), Vec::<u32>::new());
}

#[test]
fn ime_composition_is_ignored_then_typed() {
    let mut kb = Keyboard::new();
    for (key, code) in [
        ("Process", "KeyN"),
        ("Process", "KeyI"),
        ("Process", "Space"),
    ] {
        let o = kb.event(&KeyEvent {
            is_composing: true,
            ..down(key, code)
        });
        assert!(o.keys.is_empty());
        assert!(!o.prevent_default);
        let o = kb.event(&KeyEvent {
            is_composing: true,
            ..up(key, code)
        });
        assert!(o.keys.is_empty());
    }
    // "Process" without is_composing (first keydown of a composition).
    let o = kb.event(&down("Process", "KeyK"));
    assert!(o.keys.is_empty());
    assert!(!o.prevent_default);
    // A composing keydown whose key looks printable is still ignored.
    let o = kb.event(&KeyEvent {
        is_composing: true,
        ..down("n", "KeyN")
    });
    assert!(o.keys.is_empty());
    assert_eq!(pressed(&kb), Vec::<u32>::new());

    assert_eq!(
        kb.type_text("日本"),
        vec![
            (0x0100_65E5, true),
            (0x0100_65E5, false),
            (0x0100_672C, true),
            (0x0100_672C, false),
        ]
    );
    assert_eq!(
        kb.type_text("a😀"),
        vec![
            (0x61, true),
            (0x61, false),
            (0x0101_F600, true),
            (0x0101_F600, false)
        ]
    );
    // Line breaks are one Return each; \r\n is one.
    assert_eq!(
        kb.type_text("a\r\nb\nc\r"),
        vec![
            (0x61, true),
            (0x61, false),
            (RETURN, true),
            (RETURN, false),
            (0x62, true),
            (0x62, false),
            (RETURN, true),
            (RETURN, false),
            (0x63, true),
            (0x63, false),
            (RETURN, true),
            (RETURN, false),
        ]
    );
    assert!(kb.type_text("").is_empty());
    assert!(kb.type_text("\0\u{85}").is_empty());
    assert_eq!(pressed(&kb), Vec::<u32>::new());
}

#[test]
fn altgr_on_windows_german_layout_types_at_sign_without_ctrl() {
    let mut kb = Keyboard::new();
    // Windows sends a fake ControlLeft, then AltRight reported as AltGraph.
    let ctrl = Modifiers {
        ctrl: true,
        ..Modifiers::default()
    };
    assert_eq!(
        keys(&mut kb, with(at(down("Control", "ControlLeft"), 1), ctrl)),
        vec![(CONTROL_L, true)]
    );
    assert_eq!(
        keys(
            &mut kb,
            with(at(down("AltGraph", "AltRight"), 2), ALTGR_WIN)
        ),
        vec![(ALT_GR, true)]
    );
    // AltGr+q → '@': the fake Ctrl_L is released before '@' is pressed.
    let o = kb.event(&with(down("@", "KeyQ"), ALTGR_WIN));
    assert_eq!(o.keys, vec![(CONTROL_L, false), (0x40, true)]);
    assert!(o.prevent_default);
    assert_eq!(pressed(&kb), vec![ALT_GR, 0x40]);
    assert_eq!(
        keys(&mut kb, with(up("@", "KeyQ"), ALTGR_WIN)),
        vec![(0x40, false)]
    );
    // AltGr+e → '€' while AltGr is still held: nothing else to release.
    assert_eq!(
        keys(&mut kb, with(down("€", "KeyE"), ALTGR_WIN)),
        vec![(0x0100_20AC, true)]
    );
    assert_eq!(
        keys(&mut kb, with(up("€", "KeyE"), ALTGR_WIN)),
        vec![(0x0100_20AC, false)]
    );
    // The fake Control's keyup sends nothing: it is already released.
    let o = kb.event(&with(at(up("Control", "ControlLeft"), 1), ALTGR_WIN));
    assert!(o.keys.is_empty());
    assert!(o.prevent_default);
    assert_eq!(
        keys(&mut kb, at(up("AltGraph", "AltRight"), 2)),
        vec![(ALT_GR, false)]
    );
    assert_eq!(pressed(&kb), Vec::<u32>::new());
    assert!(!kb.pressed().any(|k| k == CONTROL_L));
}

#[test]
fn altgr_on_linux_and_ctrl_alt_shortcuts() {
    // Linux/macOS: AltGr is AltGraph alone, no fake Ctrl.
    let mut kb = Keyboard::new();
    let ag = Modifiers {
        alt_graph: true,
        ..Modifiers::default()
    };
    assert_eq!(
        keys(&mut kb, with(at(down("AltGraph", "AltRight"), 2), ag)),
        vec![(ALT_GR, true)]
    );
    assert_eq!(
        keys(&mut kb, with(down("@", "KeyQ"), ag)),
        vec![(0x40, true)]
    );
    assert_eq!(
        keys(&mut kb, with(up("@", "KeyQ"), ag)),
        vec![(0x40, false)]
    );
    assert_eq!(
        keys(&mut kb, at(up("AltGraph", "AltRight"), 2)),
        vec![(ALT_GR, false)]
    );

    // A real Ctrl+Alt+Delete / Ctrl+Alt+T keeps both modifiers.
    let mut kb = Keyboard::new();
    let ca = Modifiers {
        ctrl: true,
        alt: true,
        ..Modifiers::default()
    };
    keys(&mut kb, with(at(down("Control", "ControlLeft"), 1), ca));
    keys(&mut kb, with(at(down("Alt", "AltLeft"), 1), ca));
    assert_eq!(
        keys(&mut kb, with(down("Delete", "Delete"), ca)),
        vec![(DELETE, true)]
    );
    assert_eq!(
        keys(&mut kb, with(down("t", "KeyT"), ca)),
        vec![(0x74, true)]
    );
    assert_eq!(pressed(&kb), vec![CONTROL_L, ALT_L, DELETE, 0x74]);
    // With AltGraph reported but an ASCII letter produced (no AltGr mapping
    // for the key), Ctrl+Alt stay too.
    let with_ag = Modifiers {
        alt_graph: true,
        ..ca
    };
    assert_eq!(
        keys(&mut kb, with(down("q", "KeyQ"), with_ag)),
        vec![(0x71, true)]
    );
    assert!(kb.pressed().any(|k| k == CONTROL_L));
}

#[test]
fn modifier_resync_releases_modifiers_whose_keyup_was_lost() {
    let mut kb = Keyboard::new();
    keys(&mut kb, with(at(down("Shift", "ShiftLeft"), 1), SHIFT));
    // The Shift keyup happened while the window had no focus.
    assert_eq!(
        keys(&mut kb, down("a", "KeyA")),
        vec![(SHIFT_L, false), (0x61, true)]
    );
    assert_eq!(pressed(&kb), vec![0x61]);

    // Ctrl, Alt, Meta and AltGr too, most recent first; keys stay.
    let mut kb = Keyboard::new();
    let all = Modifiers {
        shift: true,
        ctrl: true,
        alt: true,
        meta: true,
        alt_graph: true,
        caps_lock: false,
    };
    keys(&mut kb, with(at(down("Control", "ControlRight"), 2), all));
    keys(&mut kb, with(at(down("Alt", "AltLeft"), 1), all));
    keys(&mut kb, with(at(down("AltGraph", "AltRight"), 2), all));
    keys(&mut kb, with(at(down("Shift", "ShiftRight"), 2), all));
    assert_eq!(pressed(&kb), vec![CONTROL_R, ALT_L, ALT_GR, SHIFT_R]);
    // Only shift is still reported: Ctrl, Alt and AltGr go.
    assert_eq!(
        keys(&mut kb, with(down("F5", "F5"), SHIFT)),
        vec![
            (CONTROL_R, false),
            (ALT_L, false),
            (ALT_GR, false),
            (0xFFC2, true)
        ]
    );
    assert_eq!(pressed(&kb), vec![SHIFT_R, 0xFFC2]);
    // Releasing F5 with no flags releases Shift_R as well.
    assert_eq!(
        keys(&mut kb, up("F5", "F5")),
        vec![(SHIFT_R, false), (0xFFC2, false)]
    );

    // Meta.
    let mut kb = Keyboard::new();
    let meta = Modifiers {
        meta: true,
        ..Modifiers::default()
    };
    keys(&mut kb, with(at(down("Meta", "MetaLeft"), 1), meta));
    assert_eq!(keys(&mut kb, up("x", "KeyX")), vec![(META_L, false)]);

    // The event's own modifier is never resynced: releasing ShiftLeft while
    // ShiftRight is held (shift flag still reported or not).
    let mut kb = Keyboard::new();
    keys(&mut kb, with(at(down("Shift", "ShiftLeft"), 1), SHIFT));
    keys(&mut kb, with(at(down("Shift", "ShiftRight"), 2), SHIFT));
    assert_eq!(
        keys(&mut kb, at(up("Shift", "ShiftLeft"), 1)),
        vec![(SHIFT_L, false)]
    );
    assert_eq!(pressed(&kb), vec![SHIFT_R]);
    // And a keydown of Shift reported without the flag (some browsers) is
    // not released by its own event.
    let mut kb = Keyboard::new();
    assert_eq!(
        keys(&mut kb, at(down("Shift", "ShiftLeft"), 1)),
        vec![(SHIFT_L, true)]
    );
    assert_eq!(pressed(&kb), vec![SHIFT_L]);
}

#[test]
fn reset_releases_everything_in_reverse_order() {
    let mut kb = Keyboard::new();
    let m = Modifiers {
        shift: true,
        ctrl: true,
        ..Modifiers::default()
    };
    keys(&mut kb, with(at(down("Shift", "ShiftLeft"), 1), m));
    keys(&mut kb, with(at(down("Control", "ControlLeft"), 1), m));
    keys(&mut kb, with(down("A", "KeyA"), m));
    keys(&mut kb, with(down("ArrowUp", "ArrowUp"), m));
    assert_eq!(pressed(&kb), vec![SHIFT_L, CONTROL_L, 0x41, UP]);
    assert_eq!(
        kb.reset(),
        vec![
            (UP, false),
            (0x41, false),
            (CONTROL_L, false),
            (SHIFT_L, false)
        ]
    );
    assert_eq!(pressed(&kb), Vec::<u32>::new());
    assert!(kb.reset().is_empty());
    // Keyups after the reset send nothing.
    assert!(keys(&mut kb, up("a", "KeyA")).is_empty());
    assert!(keys(&mut kb, at(up("Shift", "ShiftLeft"), 1)).is_empty());
}

#[test]
fn two_physical_keys_with_one_keysym_release_once_both_are_up() {
    let mut kb = Keyboard::new();
    // Both Shift keys with no location or side in `code` map to Shift_L.
    assert_eq!(
        keys(&mut kb, with(down("Shift", "ShiftA"), SHIFT)),
        vec![(SHIFT_L, true)]
    );
    assert!(keys(&mut kb, with(down("Shift", "ShiftB"), SHIFT)).is_empty());
    assert_eq!(pressed(&kb), vec![SHIFT_L]);
    assert!(keys(&mut kb, with(up("Shift", "ShiftA"), SHIFT)).is_empty());
    assert_eq!(keys(&mut kb, up("Shift", "ShiftB")), vec![(SHIFT_L, false)]);
}

#[test]
fn numpad_location_3() {
    let digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let codes = [
        "Numpad0", "Numpad1", "Numpad2", "Numpad3", "Numpad4", "Numpad5", "Numpad6", "Numpad7",
        "Numpad8", "Numpad9",
    ];
    for (i, (d, c)) in digits.iter().zip(codes).enumerate() {
        assert_named(d, c, 3, 0xFFB0 + i as u32);
    }
    assert_named(".", "NumpadDecimal", 3, 0xFFAE);
    assert_named(",", "NumpadDecimal", 3, 0xFFAE); // German layout decimal key
    assert_named("+", "NumpadAdd", 3, 0xFFAB);
    assert_named("-", "NumpadSubtract", 3, 0xFFAD);
    assert_named("*", "NumpadMultiply", 3, 0xFFAA);
    assert_named("/", "NumpadDivide", 3, 0xFFAF);
    // Numpad Enter is Return by default (guacd's RDP keymaps drop KP_Enter).
    assert_named("Enter", "NumpadEnter", 3, 0xFF0D);
    // The same characters off the numpad are plain characters.
    assert_named("1", "Digit1", 0, 0x31);
    assert_named("+", "Equal", 0, 0x2B);
    assert_named(".", "Period", 0, 0x2E);
    // NumLock off: the numpad reports navigation keys.
    assert_named("Home", "Numpad7", 3, 0xFF50);
    assert_named("ArrowDown", "Numpad2", 3, 0xFF54);
    assert_named("Delete", "NumpadDecimal", 3, 0xFFFF);
    // Other numpad keys are characters.
    assert_named(",", "NumpadComma", 3, 0x2C);
    assert_named("=", "NumpadEqual", 3, 0x3D);

    // KP_Enter on request.
    let mut kb = Keyboard::with_options(Options {
        keypad_enter: true,
        ..Options::default()
    });
    assert_eq!(
        keys(&mut kb, at(down("Enter", "NumpadEnter"), 3)),
        vec![(KP_ENTER, true)]
    );
    assert_eq!(
        keys(&mut kb, at(up("Enter", "NumpadEnter"), 3)),
        vec![(KP_ENTER, false)]
    );
    assert_eq!(
        keys(&mut kb, down("Enter", "NumpadEnter")),
        vec![(KP_ENTER, true)]
    );
    assert_eq!(keys(&mut kb, down("Enter", "Enter")), vec![(RETURN, true)]);
}

#[test]
fn keys_pressed_with_meta_are_released_at_once() {
    // Chrome drops the keyup of keys pressed while Meta/Command is held.
    let mut kb = Keyboard::new();
    let meta = Modifiers {
        meta: true,
        ..Modifiers::default()
    };
    keys(&mut kb, with(at(down("Meta", "MetaLeft"), 1), meta));
    assert_eq!(
        keys(&mut kb, with(down("c", "KeyC"), meta)),
        vec![(0x63, true), (0x63, false)]
    );
    // Modifiers pressed with Meta are held as usual.
    let ms = Modifiers {
        shift: true,
        ..meta
    };
    assert_eq!(
        keys(&mut kb, with(at(down("Shift", "ShiftLeft"), 1), ms)),
        vec![(SHIFT_L, true)]
    );
    assert_eq!(pressed(&kb), vec![META_L, SHIFT_L]);
    // A keyup that does arrive sends nothing.
    let o = kb.event(&with(up("c", "KeyC"), ms));
    assert!(o.keys.is_empty());
    assert!(o.prevent_default);
}

#[test]
fn platform_quirk_options() {
    // iOS: keyups unreliable; non-modifiers are tapped, modifiers are held
    // and released by the resync.
    let mut kb = Keyboard::with_options(Options {
        keyup_unreliable: true,
        ..Options::default()
    });
    assert_eq!(
        keys(&mut kb, down("a", "KeyA")),
        vec![(0x61, true), (0x61, false)]
    );
    assert_eq!(
        keys(&mut kb, with(down("Shift", "ShiftLeft"), SHIFT)),
        vec![(SHIFT_L, true)]
    );
    assert_eq!(
        keys(&mut kb, down("b", "KeyB")),
        vec![(SHIFT_L, false), (0x62, true), (0x62, false)]
    );
    assert!(keys(&mut kb, up("a", "KeyA")).is_empty());
    assert_eq!(pressed(&kb), Vec::<u32>::new());

    // macOS Caps Lock: keydown when it turns on, keyup when it turns off;
    // each toggles the remote lock.
    let mut kb = Keyboard::with_options(Options {
        lock_keys_toggle: true,
        ..Options::default()
    });
    let on = Modifiers {
        caps_lock: true,
        ..Modifiers::default()
    };
    assert_eq!(
        keys(&mut kb, with(down("CapsLock", "CapsLock"), on)),
        vec![(CAPS_LOCK, true), (CAPS_LOCK, false)]
    );
    assert_eq!(
        keys(&mut kb, up("CapsLock", "CapsLock")),
        vec![(CAPS_LOCK, true), (CAPS_LOCK, false)]
    );
    assert_eq!(pressed(&kb), Vec::<u32>::new());
    assert!(kb.options().lock_keys_toggle);

    // Without the option Caps Lock is an ordinary key.
    let mut kb = Keyboard::new();
    assert_eq!(
        keys(&mut kb, down("CapsLock", "CapsLock")),
        vec![(CAPS_LOCK, true)]
    );
    assert_eq!(
        keys(&mut kb, up("CapsLock", "CapsLock")),
        vec![(CAPS_LOCK, false)]
    );
}

#[test]
fn held_table_is_bounded() {
    let mut kb = Keyboard::new();
    let n = MAX_HELD + 10;
    let codes: Vec<String> = (0..n).map(|i| format!("Key{i}")).collect();
    let chars: Vec<String> = (0..n)
        .map(|i| char::from_u32(0x4E00 + i as u32).unwrap().to_string())
        .collect();
    for (i, (code, key)) in codes.iter().zip(&chars).enumerate() {
        let sent = keys(&mut kb, KeyEvent::down(key, code));
        if i < MAX_HELD {
            assert_eq!(sent, vec![(0x0100_4E00 + i as u32, true)]);
        } else {
            assert!(sent.is_empty(), "press beyond the bound is ignored");
        }
    }
    assert_eq!(kb.pressed().count(), MAX_HELD);
    // Releasing one makes room again.
    assert_eq!(
        keys(&mut kb, KeyEvent::up(&chars[0], &codes[0])),
        vec![(0x0100_4E00, false)]
    );
    let long = "K".repeat(10_000);
    assert_eq!(
        keys(&mut kb, KeyEvent::down("é", &long)),
        vec![(0xE9, true)]
    );
    assert_eq!(keys(&mut kb, KeyEvent::up("é", &long)), vec![(0xE9, false)]);
    let released = kb.reset();
    assert_eq!(released.len(), MAX_HELD - 1);
    assert!(released.iter().all(|&(_, p)| !p));
    assert_eq!(pressed(&kb), Vec::<u32>::new());
}

// ---------------------------------------------------------------- properties

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "a",
            "A",
            "1",
            "!",
            "é",
            "€",
            "😀",
            "@",
            " ",
            ".",
            ",",
            "+",
            "Shift",
            "Control",
            "Alt",
            "AltGraph",
            "Meta",
            "OS",
            "CapsLock",
            "NumLock",
            "Enter",
            "Tab",
            "Dead",
            "Process",
            "Unidentified",
            "F1",
            "F35",
            "F36",
            "Home",
            "ArrowUp",
            "",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
        "[A-Za-z0-9]{0,12}",
    ]
}

fn code_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "KeyA",
            "KeyQ",
            "Digit1",
            "ShiftLeft",
            "ShiftRight",
            "ControlLeft",
            "ControlRight",
            "AltLeft",
            "AltRight",
            "MetaLeft",
            "CapsLock",
            "Numpad1",
            "NumpadEnter",
            "NumpadDecimal",
            "NumpadComma",
            "Enter",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

#[derive(Debug, Clone)]
enum Action {
    Key {
        down: bool,
        key: String,
        code: String,
        location: u32,
        repeat: bool,
        modifiers: [bool; 6],
        composing: bool,
    },
    Type(String),
    Reset,
}

fn action_strategy() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => (
            any::<bool>(),
            key_strategy(),
            code_strategy(),
            prop_oneof![0u32..4, any::<u32>()],
            any::<bool>(),
            any::<[bool; 6]>(),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(down, key, code, location, repeat, modifiers, composing)| Action::Key {
                down,
                key,
                code,
                location,
                repeat,
                modifiers,
                composing,
            }),
        1 => any::<String>().prop_map(Action::Type),
        1 => Just(Action::Reset),
    ]
}

fn options_strategy() -> impl Strategy<Value = Options> {
    any::<[bool; 3]>().prop_map(|[a, b, c]| Options {
        keyup_unreliable: a,
        lock_keys_toggle: b,
        keypad_enter: c,
    })
}

/// Applies sent pairs to a model of the remote key state: a release must be
/// of a key the remote side holds.
fn apply(remote: &mut BTreeSet<u32>, sent: &[(u32, bool)]) {
    for &(sym, pressed) in sent {
        assert!(sym != 0 && sym <= 0x0110_FFFF, "keysym {sym:#x}");
        if pressed {
            remote.insert(sym);
        } else {
            assert!(remote.remove(&sym), "release of {sym:#x} that is not held");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// No panic on any input; the remote state the output implies always
    /// equals `pressed()`; reset empties both.
    #[test]
    fn never_panics_and_tracks_remote_state(
        options in options_strategy(),
        actions in prop::collection::vec(action_strategy(), 0..60),
    ) {
        let mut kb = Keyboard::with_options(options);
        let mut remote = BTreeSet::new();
        for action in &actions {
            match action {
                Action::Key { down, key, code, location, repeat, modifiers, composing } => {
                    let [shift, ctrl, alt, meta, alt_graph, caps_lock] = *modifiers;
                    let e = KeyEvent {
                        kind: if *down { KeyKind::Down } else { KeyKind::Up },
                        key,
                        code,
                        location: *location,
                        repeat: *repeat,
                        modifiers: Modifiers { shift, ctrl, alt, meta, alt_graph, caps_lock },
                        is_composing: *composing,
                    };
                    let o = kb.event(&e);
                    apply(&mut remote, &o.keys);
                    if o.keys.iter().any(|&(_, p)| p) {
                        prop_assert!(o.prevent_default);
                    }
                }
                Action::Type(text) => {
                    let sent = kb.type_text(text);
                    apply(&mut remote, &sent);
                }
                Action::Reset => {
                    let sent = kb.reset();
                    apply(&mut remote, &sent);
                    prop_assert!(remote.is_empty());
                }
            }
            let held: BTreeSet<u32> = kb.pressed().collect();
            prop_assert_eq!(&held, &remote);
            prop_assert!(kb.pressed().count() <= MAX_HELD);
        }
        let sent = kb.reset();
        apply(&mut remote, &sent);
        prop_assert!(remote.is_empty());
        prop_assert_eq!(kb.pressed().count(), 0);
    }

    /// Every single code point typed is pressed then released, nothing held.
    #[test]
    fn type_text_is_balanced(text in any::<String>()) {
        let mut kb = Keyboard::new();
        let mut remote = BTreeSet::new();
        apply(&mut remote, &kb.type_text(&text));
        prop_assert!(remote.is_empty());
    }
}
