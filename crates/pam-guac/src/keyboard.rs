//! Keyboard input, sans I/O: browser `KeyboardEvent` fields in, X11 keysyms
//! for Guacamole `key,<keysym>,<1|0>` instructions out.
//!
//! guacamole-common-js (`Keyboard.js`) guesses keysyms from `keyCode`,
//! `keypress` and a deferred event log, because old browsers gave nothing
//! better. Modern browsers report `key` (what the key produces under the
//! current layout and modifiers) and `code` (the physical key), so this
//! translator reads those directly and needs no event log. It keeps the
//! semantics that matter to guacd:
//!
//! - **Printable keys** send the character's keysym: the code point below
//!   0x100, `0x0100_0000 | cp` above; C0 control characters `0xFF00 | c`.
//! - **Named keys** (`Enter`, `ArrowLeft`, `Shift`, ...) send X11 keysyms;
//!   left/right by `location` (1 left, 2 right) or by `code` (`...Right`).
//!   Numpad digits and operators (`location == 3`) send the `KP_*` keysyms.
//! - **A release releases what was pressed**: presses are tracked by the
//!   physical key (`code`, or `key` when `code` is empty), so Shift+A then
//!   Shift up then A up releases `A` (0x41), never `a`.
//! - **Auto-repeat** re-sends the press (guacd repeats); modifiers and lock
//!   keys are not re-sent.
//! - **Dead keys, IME composition, `Process`, `Unidentified`** send nothing
//!   and do not prevent the default: the text arrives as the next keydown's
//!   `key` or through [`Keyboard::type_text`] (`compositionend` / `input`).
//! - **AltGr**: Windows reports AltGr as ControlLeft + AltRight; when a
//!   printable character is produced with `alt_graph` set, the (fake) Ctrl and
//!   Alt keys are released first, as common-js's `release_simulated_altgr`.
//! - **Modifier resync**: each event's flags are compared with the held
//!   modifier keysyms; a held Shift/Ctrl/Alt/AltGr/Meta whose flag is now off
//!   is released (its keyup was lost, e.g. while the window had no focus).
//! - **Chrome loses keyups while Meta/Command is held**: a non-modifier key
//!   pressed with `meta` set is pressed and released at once.
//!
//! `prevent_default` is true for every event this translator handles (a
//! keysym was known for it), and false for dead keys, composition and unknown
//! keys, so the browser still produces the `input`/`composition` events that
//! carry their text. Because printable keydowns are prevented, the browser
//! emits no `input` event for them and nothing is typed twice.
//!
//! Nothing here panics: every string is accepted, the held-key table is
//! bounded ([`MAX_HELD`]) and stored key identities are truncated.

/// X11 keysyms this module names.
pub mod keysym {
    pub const BACKSPACE: u32 = 0xFF08;
    pub const TAB: u32 = 0xFF09;
    pub const RETURN: u32 = 0xFF0D;
    pub const PAUSE: u32 = 0xFF13;
    pub const SCROLL_LOCK: u32 = 0xFF14;
    pub const ESCAPE: u32 = 0xFF1B;
    pub const HOME: u32 = 0xFF50;
    pub const LEFT: u32 = 0xFF51;
    pub const UP: u32 = 0xFF52;
    pub const RIGHT: u32 = 0xFF53;
    pub const DOWN: u32 = 0xFF54;
    pub const PAGE_UP: u32 = 0xFF55;
    pub const PAGE_DOWN: u32 = 0xFF56;
    pub const END: u32 = 0xFF57;
    pub const PRINT: u32 = 0xFF61;
    pub const INSERT: u32 = 0xFF63;
    pub const MENU: u32 = 0xFF67;
    pub const NUM_LOCK: u32 = 0xFF7F;
    pub const KP_ENTER: u32 = 0xFF8D;
    pub const KP_MULTIPLY: u32 = 0xFFAA;
    pub const KP_ADD: u32 = 0xFFAB;
    pub const KP_SUBTRACT: u32 = 0xFFAD;
    pub const KP_DECIMAL: u32 = 0xFFAE;
    pub const KP_DIVIDE: u32 = 0xFFAF;
    pub const KP_0: u32 = 0xFFB0;
    pub const F1: u32 = 0xFFBE;
    pub const SHIFT_L: u32 = 0xFFE1;
    pub const SHIFT_R: u32 = 0xFFE2;
    pub const CONTROL_L: u32 = 0xFFE3;
    pub const CONTROL_R: u32 = 0xFFE4;
    pub const CAPS_LOCK: u32 = 0xFFE5;
    pub const META_L: u32 = 0xFFE7;
    pub const META_R: u32 = 0xFFE8;
    pub const ALT_L: u32 = 0xFFE9;
    pub const ALT_R: u32 = 0xFFEA;
    pub const SUPER_L: u32 = 0xFFEB;
    pub const SUPER_R: u32 = 0xFFEC;
    pub const HYPER_L: u32 = 0xFFED;
    pub const HYPER_R: u32 = 0xFFEE;
    /// `ISO_Level3_Shift`, what guacd calls AltGr.
    pub const ALT_GR: u32 = 0xFE03;
    pub const DELETE: u32 = 0xFFFF;
}

use keysym::*;

/// `KeyboardEvent.location` of the numeric keypad.
pub const LOCATION_NUMPAD: u32 = 3;

/// At most this many physical keys are tracked as held; further presses are
/// ignored until something is released (no keyboard rolls over this far).
pub const MAX_HELD: usize = 32;

/// Stored key identities (`code`, or `key`) are cut to this many bytes.
const MAX_ID_BYTES: usize = 64;

/// Which browser event this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `keydown`
    Down,
    /// `keyup`
    Up,
}

/// The event's modifier flags, from `getModifierState` (or the `*Key` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modifiers {
    pub shift: bool,
    pub ctrl: bool,
    pub alt: bool,
    pub meta: bool,
    /// `getModifierState("AltGraph")`.
    pub alt_graph: bool,
    /// `getModifierState("CapsLock")`: the lock state. Informational; Caps
    /// Lock is sent as a key, never synthesised from this flag.
    pub caps_lock: bool,
}

/// The fields of a browser `KeyboardEvent` the translator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEvent<'a> {
    pub kind: KeyKind,
    /// `KeyboardEvent.key`: the character produced, or the key's name.
    pub key: &'a str,
    /// `KeyboardEvent.code`: the physical key (`KeyA`, `ShiftLeft`, ...).
    pub code: &'a str,
    /// `KeyboardEvent.location`: 0 standard, 1 left, 2 right, 3 numpad.
    pub location: u32,
    /// `KeyboardEvent.repeat`: an auto-repeat keydown.
    pub repeat: bool,
    pub modifiers: Modifiers,
    /// `KeyboardEvent.isComposing`: an IME composition is in progress.
    pub is_composing: bool,
}

impl<'a> KeyEvent<'a> {
    /// A plain keydown (location 0, no modifiers, not repeating or composing).
    pub fn down(key: &'a str, code: &'a str) -> Self {
        KeyEvent {
            kind: KeyKind::Down,
            key,
            code,
            location: 0,
            repeat: false,
            modifiers: Modifiers::default(),
            is_composing: false,
        }
    }

    /// A plain keyup.
    pub fn up(key: &'a str, code: &'a str) -> Self {
        KeyEvent {
            kind: KeyKind::Up,
            ..KeyEvent::down(key, code)
        }
    }
}

/// What to do with one browser event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOutcome {
    /// `(keysym, pressed)` pairs to send as `key` instructions, in order.
    pub keys: Vec<(u32, bool)>,
    /// Whether the caller should call `preventDefault()` on the event.
    pub prevent_default: bool,
}

/// Platform quirks the web layer knows and the core cannot detect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Keyups cannot be relied on (iOS): every key other than Shift, Ctrl,
    /// Alt, AltGr and Meta (which the modifier resync releases) is pressed and
    /// released at once.
    pub keyup_unreliable: bool,
    /// Lock keys report the lock state, not the key (macOS Safari: keydown
    /// when Caps Lock turns on, keyup when it turns off): each of those events
    /// presses and releases the lock key.
    pub lock_keys_toggle: bool,
    /// Send `KP_Enter` (0xFF8D) for the numpad Enter key. Off by default:
    /// guacd's RDP keymaps have no `KP_Enter` and drop it, so numpad Enter is
    /// sent as `Return` (0xFF0D), as guacamole-common-js does. Turn on for
    /// VNC if the remote side must tell the two apart.
    pub keypad_enter: bool,
}

/// The physical key a press is tracked by.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyId {
    Code(String),
    Key(String),
}

impl KeyId {
    fn of(e: &KeyEvent) -> KeyId {
        if e.code.is_empty() {
            KeyId::Key(truncated(e.key).to_owned())
        } else {
            KeyId::Code(truncated(e.code).to_owned())
        }
    }
}

fn truncated(s: &str) -> &str {
    let mut end = s.len().min(MAX_ID_BYTES);
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[derive(Debug, Clone)]
struct Held {
    id: KeyId,
    keysym: u32,
}

/// The keyboard translator: tracks which keysym each held physical key sent.
#[derive(Debug, Clone, Default)]
pub struct Keyboard {
    options: Options,
    /// Held keys in press order.
    held: Vec<Held>,
}

/// Modifier groups resynced from the event flags.
const SHIFT_KEYS: &[u32] = &[SHIFT_L, SHIFT_R];
const CTRL_KEYS: &[u32] = &[CONTROL_L, CONTROL_R];
const ALT_KEYS: &[u32] = &[ALT_L, ALT_R];
const ALT_GR_KEYS: &[u32] = &[ALT_GR];
const META_KEYS: &[u32] = &[META_L, META_R];

impl Keyboard {
    /// A translator with no platform quirks.
    pub fn new() -> Self {
        Keyboard::default()
    }

    /// A translator with the given platform quirks.
    pub fn with_options(options: Options) -> Self {
        Keyboard {
            options,
            held: Vec::new(),
        }
    }

    /// The options in use.
    pub fn options(&self) -> Options {
        self.options
    }

    /// Translates one `keydown`/`keyup`. Returns the key presses/releases to
    /// send, in order, as `(keysym, pressed)` pairs, and whether the browser
    /// default should be prevented.
    pub fn event(&mut self, e: &KeyEvent) -> KeyOutcome {
        let mut keys = Vec::new();
        let prevent_default = match e.kind {
            KeyKind::Down => self.down(e, &mut keys),
            KeyKind::Up => self.up(e, &mut keys),
        };
        KeyOutcome {
            keys,
            prevent_default,
        }
    }

    /// Text typed through an IME composition or an `input` event
    /// (`compositionend` / `input` data): each code point is pressed and
    /// released. `\r`, `\n` and `\r\n` are one Return; code points with no
    /// keysym (C1 controls, NUL) are skipped. A keysym a held key already
    /// holds is pressed again but not released.
    pub fn type_text(&mut self, text: &str) -> Vec<(u32, bool)> {
        let mut out = Vec::new();
        let mut after_cr = false;
        for c in text.chars() {
            if c == '\n' && after_cr {
                after_cr = false;
                continue;
            }
            after_cr = c == '\r';
            let sym = if c == '\r' || c == '\n' {
                Some(RETURN)
            } else {
                keysym_from_char(c)
            };
            if let Some(sym) = sym {
                self.tap(sym, &mut out);
            }
        }
        out
    }

    /// Focus lost: releases every held key, most recent first, and forgets
    /// them.
    pub fn reset(&mut self) -> Vec<(u32, bool)> {
        let mut out = Vec::new();
        self.release_where(|_| true, &mut out);
        out
    }

    /// The keysyms currently held on the remote side, in press order.
    pub fn pressed(&self) -> impl Iterator<Item = u32> + '_ {
        self.held.iter().enumerate().filter_map(|(i, h)| {
            let earlier = self.held.iter().take(i).any(|o| o.keysym == h.keysym);
            (!earlier).then_some(h.keysym)
        })
    }

    /// The keysym a keydown with these fields produces, if any (dead keys,
    /// composition and unknown names produce none).
    pub fn keysym_for(&self, e: &KeyEvent) -> Option<u32> {
        if e.is_composing {
            return None;
        }
        if e.location == LOCATION_NUMPAD {
            if let Some(sym) = self.numpad_keysym(e) {
                return Some(sym);
            }
        }
        let mut chars = e.key.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => keysym_from_char(c),
            (Some(_), Some(_)) => {
                if e.key == "Enter" && (e.code == "NumpadEnter" || e.location == LOCATION_NUMPAD) {
                    Some(self.keypad_enter())
                } else {
                    named_keysym(e.key, e.location, e.code)
                }
            }
            (None, _) => None,
        }
    }

    fn keypad_enter(&self) -> u32 {
        if self.options.keypad_enter {
            KP_ENTER
        } else {
            RETURN
        }
    }

    fn numpad_keysym(&self, e: &KeyEvent) -> Option<u32> {
        let sym = match e.key {
            "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" => {
                let digit = e.key.chars().next()?.to_digit(10)?;
                KP_0 + digit
            }
            "." if e.code != "NumpadComma" => KP_DECIMAL,
            // The decimal key of layouts with a decimal comma (German, ...).
            "," if e.code == "NumpadDecimal" => KP_DECIMAL,
            "+" => KP_ADD,
            "-" => KP_SUBTRACT,
            "*" => KP_MULTIPLY,
            "/" => KP_DIVIDE,
            "Enter" => self.keypad_enter(),
            _ => return None,
        };
        Some(sym)
    }

    fn down(&mut self, e: &KeyEvent, out: &mut Vec<(u32, bool)>) -> bool {
        let sym = match e.key {
            "Dead" | "Process" | "Unidentified" => None,
            _ => self.keysym_for(e),
        };
        self.resync(&e.modifiers, sym, out);
        let Some(sym) = sym else {
            return false;
        };

        // Windows AltGr is ControlLeft + AltRight: drop the fake Ctrl (and
        // any Alt) before typing the character AltGr produced. Letters are
        // assumed never to need AltGr, so Ctrl+Alt+letter shortcuts survive.
        if e.modifiers.alt_graph && is_printable(sym) && !is_ascii_letter(sym) {
            self.release_where(|k| CTRL_KEYS.contains(&k) || ALT_KEYS.contains(&k), out);
        }

        let id = KeyId::of(e);
        let tap = (self.options.lock_keys_toggle && is_lock(sym))
            || (self.options.keyup_unreliable && !is_resynced(sym))
            || (e.modifiers.meta && !is_modifier(sym));
        if tap {
            // No reliable keyup will follow: press and release now. A stale
            // entry for this key (pressed before the quirk applied) goes too.
            if let Some(old) = self.take(&id) {
                self.release_unless_held(old.keysym, out);
            }
            self.tap(sym, out);
            return true;
        }

        if let Some(pos) = self.held.iter().position(|h| h.id == id) {
            let old = self.held.get(pos).map(|h| h.keysym);
            if old == Some(sym) {
                // Auto-repeat, or a keydown whose keyup was lost: guacd
                // repeats. Modifiers and locks are not re-sent (a repeated
                // Caps Lock press would toggle it again on some servers).
                if !is_no_repeat(sym) {
                    out.push((sym, true));
                }
                return true;
            }
            // The same physical key now produces something else: release the
            // old keysym before pressing the new one.
            let stale = self.held.remove(pos);
            self.release_unless_held(stale.keysym, out);
        } else if self.held.len() >= MAX_HELD {
            return true;
        }

        if !self.is_held(sym) {
            out.push((sym, true));
        }
        self.held.push(Held { id, keysym: sym });
        true
    }

    fn up(&mut self, e: &KeyEvent, out: &mut Vec<(u32, bool)>) -> bool {
        let id = KeyId::of(e);
        let entry = self.take(&id);
        let sym = match &entry {
            Some(h) => Some(h.keysym),
            None => match e.key {
                "Dead" | "Process" | "Unidentified" => None,
                _ => self.keysym_for(e),
            },
        };
        self.resync(&e.modifiers, sym, out);

        if let Some(h) = entry {
            self.release_unless_held(h.keysym, out);
            return true;
        }
        let Some(sym) = sym else {
            return false;
        };
        if self.options.lock_keys_toggle && is_lock(sym) {
            // The lone keyup of a toggling lock key switches the lock off.
            self.tap(sym, out);
        } else if e.code.is_empty() {
            // No physical key to go by, and the key's value changed since the
            // keydown (e.g. Shift released first, "A" down then "a" up): match
            // the keysym, or the key ignoring case (ASCII and Latin-1 letters,
            // see `fold_eq`).
            if let Some(pos) = self.held.iter().position(|h| match &h.id {
                KeyId::Key(k) => h.keysym == sym || fold_eq(k, e.key),
                KeyId::Code(_) => false,
            }) {
                let h = self.held.remove(pos);
                self.release_unless_held(h.keysym, out);
            }
        }
        true
    }

    /// Releases held modifiers whose flag the event reports off. A group the
    /// event's own key belongs to is left alone: its flag may be changing
    /// because of this very event, or another key of the group may be held.
    fn resync(&mut self, m: &Modifiers, event_sym: Option<u32>, out: &mut Vec<(u32, bool)>) {
        let groups: [(bool, &[u32]); 5] = [
            (m.shift, SHIFT_KEYS),
            (m.ctrl, CTRL_KEYS),
            (m.alt, ALT_KEYS),
            (m.alt || m.alt_graph, ALT_GR_KEYS),
            (m.meta, META_KEYS),
        ];
        for (active, group) in groups {
            if active || event_sym.is_some_and(|s| group.contains(&s)) {
                continue;
            }
            self.release_where(|k| group.contains(&k), out);
        }
    }

    /// Removes every held key whose keysym matches, most recent first,
    /// sending one release per keysym no remaining key still holds.
    fn release_where(&mut self, pred: impl Fn(u32) -> bool, out: &mut Vec<(u32, bool)>) {
        let mut i = self.held.len();
        while i > 0 {
            i -= 1;
            if self.held.get(i).is_some_and(|h| pred(h.keysym)) {
                let h = self.held.remove(i);
                self.release_unless_held(h.keysym, out);
            }
        }
    }

    /// Presses and releases `sym`; if a held key already holds it, only
    /// presses (a repeat), so the held key stays down on the remote side.
    fn tap(&self, sym: u32, out: &mut Vec<(u32, bool)>) {
        out.push((sym, true));
        if !self.is_held(sym) {
            out.push((sym, false));
        }
    }

    fn take(&mut self, id: &KeyId) -> Option<Held> {
        let pos = self.held.iter().position(|h| &h.id == id)?;
        Some(self.held.remove(pos))
    }

    fn is_held(&self, sym: u32) -> bool {
        self.held.iter().any(|h| h.keysym == sym)
    }

    fn release_unless_held(&self, sym: u32, out: &mut Vec<(u32, bool)>) {
        if !self.is_held(sym) {
            out.push((sym, false));
        }
    }
}

/// The keysym of a typed character: the code point below 0x100, C0 controls
/// `0xFF00 | c` (Backspace, Tab, Return, Escape, ...), DEL as Delete,
/// `0x0100_0000 | cp` from 0x100 up. NUL and C1 controls have none.
pub fn keysym_from_char(c: char) -> Option<u32> {
    let cp = u32::from(c);
    match cp {
        0x00 => None,
        0x01..=0x1F => Some(0xFF00 | cp),
        0x7F => Some(DELETE),
        0x80..=0x9F => None,
        0x20..=0xFF => Some(cp),
        _ => Some(0x0100_0000 | cp),
    }
}

/// The keysym of a named `KeyboardEvent.key` value (not a single character).
/// Sided keys are right for `location == 2` or a `code` ending in `Right`,
/// left otherwise.
pub fn named_keysym(name: &str, location: u32, code: &str) -> Option<u32> {
    let right = location == 2 || (location != 1 && code.ends_with("Right"));
    let sided = |l: u32, r: u32| if right { r } else { l };
    let sym = match name {
        // Modifiers
        "Shift" => sided(SHIFT_L, SHIFT_R),
        "Control" => sided(CONTROL_L, CONTROL_R),
        "Alt" => sided(ALT_L, ALT_R),
        "AltGraph" => ALT_GR,
        "Meta" | "Win" => sided(META_L, META_R),
        "Super" | "OS" => sided(SUPER_L, SUPER_R),
        "Hyper" => sided(HYPER_L, HYPER_R),
        "CapsLock" => CAPS_LOCK,
        "NumLock" => NUM_LOCK,
        "ScrollLock" | "Scroll" => SCROLL_LOCK,
        // Whitespace and editing
        "Enter" => RETURN,
        "Tab" => TAB,
        "Spacebar" => 0x20,
        "Backspace" => BACKSPACE,
        "Delete" | "Del" => DELETE,
        "Insert" => INSERT,
        "Clear" => 0xFF0B,
        "Copy" => 0xFD15,
        "CrSel" | "Crsel" => 0xFD1C,
        "EraseEof" => 0xFD06,
        "ExSel" | "Exsel" => 0xFD1D,
        "Redo" | "Again" => 0xFF66,
        "Undo" => 0xFF65,
        // Navigation
        "ArrowDown" | "Down" | "UIKeyInputDownArrow" => DOWN,
        "ArrowLeft" | "Left" | "UIKeyInputLeftArrow" => LEFT,
        "ArrowRight" | "Right" | "UIKeyInputRightArrow" => RIGHT,
        "ArrowUp" | "Up" | "UIKeyInputUpArrow" => UP,
        "End" => END,
        "Home" => HOME,
        "PageDown" => PAGE_DOWN,
        "PageUp" => PAGE_UP,
        // UI
        "Escape" | "Esc" | "UIKeyInputEscape" => ESCAPE,
        "ContextMenu" | "Apps" => MENU,
        "Pause" => PAUSE,
        "PrintScreen" => PRINT,
        "Attn" => 0xFD0E,
        "Cancel" => 0xFF69,
        "Execute" => 0xFF62,
        "Find" => 0xFF68,
        "Help" => 0xFF6A,
        "Play" => 0xFD16,
        "Select" => 0xFF60,
        "Separator" => 0xFFAC,
        // Composition and IME mode keys
        "Compose" => 0xFF20,
        "AllCandidates" => 0xFF3D,
        "Alphanumeric" | "Eisu" => 0xFF30,
        "CodeInput" => 0xFF37,
        "Convert" => 0xFF21,
        "NonConvert" => 0xFF22,
        "GroupFirst" => 0xFE0C,
        "GroupLast" => 0xFE0E,
        "GroupNext" => 0xFE08,
        "GroupPrevious" => 0xFE0A,
        "ModeChange" => 0xFF7E,
        "PreviousCandidate" => 0xFF3E,
        "SingleCandidate" => 0xFF3C,
        "HangulMode" => 0xFF31,
        "HanjaMode" => 0xFF34,
        "JunjaMode" => 0xFF38,
        "Hankaku" => 0xFF29,
        "Hiragana" | "JapaneseHiragana" => 0xFF25,
        "HiraganaKatakana" => 0xFF27,
        "Katakana" | "JapaneseKatakana" => 0xFF26,
        "KanaMode" => 0xFF2D,
        "KanjiMode" => 0xFF21,
        "Romaji" | "JapaneseRomaji" => 0xFF24,
        "Zenkaku" => 0xFF28,
        "ZenkakuHankaku" => 0xFF2A,
        _ => return function_key(name),
    };
    Some(sym)
}

/// `F1`..`F35` (X11 has keysyms up to F35).
fn function_key(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('F')?;
    if digits.is_empty()
        || digits.len() > 2
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (1..=35).contains(&n).then(|| F1 + n - 1)
}

/// Keysyms with a Unicode equivalent.
fn is_printable(sym: u32) -> bool {
    sym <= 0xFF || (sym & 0xFF00_0000) == 0x0100_0000
}

fn is_ascii_letter(sym: u32) -> bool {
    (0x41..=0x5A).contains(&sym) || (0x61..=0x7A).contains(&sym)
}

/// Shift, Ctrl, Meta, Alt, Super, Hyper (left and right) and AltGr.
fn is_modifier(sym: u32) -> bool {
    matches!(sym, SHIFT_L | SHIFT_R | CONTROL_L | CONTROL_R | ALT_GR)
        || (META_L..=HYPER_R).contains(&sym)
}

fn is_lock(sym: u32) -> bool {
    matches!(sym, CAPS_LOCK | NUM_LOCK | SCROLL_LOCK)
}

/// Keys the modifier resync can release when their keyup never comes.
fn is_resynced(sym: u32) -> bool {
    SHIFT_KEYS.contains(&sym)
        || CTRL_KEYS.contains(&sym)
        || ALT_KEYS.contains(&sym)
        || ALT_GR_KEYS.contains(&sym)
        || META_KEYS.contains(&sym)
}

/// Keys whose auto-repeat is not forwarded.
fn is_no_repeat(sym: u32) -> bool {
    is_modifier(sym) || is_lock(sym) || sym == 0xFFE6
}

/// Two key values equal ignoring the case of ASCII and Latin-1 letters
/// (`À`-`Þ` against `à`-`þ`, but not `×`/`÷`). Other characters compare
/// exactly: the full Unicode case tables would cost the module about 12 KB for
/// this one fallback (a keyup with no `code` whose value changed case).
fn fold_eq(a: &str, b: &str) -> bool {
    fn fold(c: char) -> char {
        match c {
            'A'..='Z' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{de}' => {
                char::from_u32(u32::from(c) + 32).unwrap_or(c)
            }
            _ => c,
        }
    }
    a.chars().map(fold).eq(b.chars().map(fold))
}
