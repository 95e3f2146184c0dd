// Key combinations the session toolbar sends, as X11 keysyms (X11's
// keysymdef.h; the same values as guacamole-common-js's keyboard table:
// Control 0xFFE3, Alt 0xFFE9, Delete 0xFFFF, Super 0xFFEB, Tab 0xFF09,
// F1 0xFFBE .. F12 0xFFC9, PrintScreen 0xFF61, Escape 0xFF1B).
// sendKeys presses them in order and releases them in reverse.

export const KEYSYMS = Object.freeze({
  Control_L: 0xffe3,
  Alt_L: 0xffe9,
  Shift_L: 0xffe1,
  Super_L: 0xffeb,
  Delete: 0xffff,
  Tab: 0xff09,
  Print: 0xff61,
  Escape: 0xff1b,
  Return: 0xff0d,
  F1: 0xffbe,
});

const F = (n) => KEYSYMS.F1 + n - 1;

/**
 * The named combinations: name -> { label, keysyms, confirm? }. confirm: the
 * toolbar asks first (in an in-page dialog).
 * @type {Readonly<Record<string, { label: string, keysyms: number[], confirm?: string }>>}
 */
export const COMBOS = Object.freeze({
  'ctrl-alt-del': {
    label: 'Ctrl+Alt+Del',
    keysyms: [KEYSYMS.Control_L, KEYSYMS.Alt_L, KEYSYMS.Delete],
    confirm: 'Send Ctrl+Alt+Del to the remote computer? On Windows it opens the security screen (lock, sign out, Task Manager).',
  },
  win: { label: 'Windows key', keysyms: [KEYSYMS.Super_L] },
  'alt-tab': { label: 'Alt+Tab', keysyms: [KEYSYMS.Alt_L, KEYSYMS.Tab] },
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`ctrl-alt-f${i + 1}`,
    { label: `Ctrl+Alt+F${i + 1}`, keysyms: [KEYSYMS.Control_L, KEYSYMS.Alt_L, F(i + 1)] }])),
  'print-screen': { label: 'Print Screen', keysyms: [KEYSYMS.Print] },
  escape: { label: 'Esc', keysyms: [KEYSYMS.Escape] },
});

// Names people type: "Ctrl+Alt+Del", "ctrl-alt-delete", "Win", "super", ...
/** @type {Map<string, string>} */
const ALIASES = new Map([
  ['ctrlaltdel', 'ctrl-alt-del'], ['ctrlaltdelete', 'ctrl-alt-del'], ['controlaltdelete', 'ctrl-alt-del'],
  ['win', 'win'], ['windows', 'win'], ['super', 'win'], ['meta', 'win'], ['windowskey', 'win'],
  ['alttab', 'alt-tab'],
  ['printscreen', 'print-screen'], ['print', 'print-screen'], ['prtsc', 'print-screen'],
  ['esc', 'escape'], ['escape', 'escape'],
  ...Array.from({ length: 12 }, (_, i) => /** @type {[string, string]} */ ([`ctrlaltf${i + 1}`, `ctrl-alt-f${i + 1}`])),
]);

/**
 * The keysyms of a combination: a name of COMBOS (or a spelling of one,
 * case and separators ignored), or an array of keysyms (integers 0..0xFFFFFFFF).
 * Returns null for anything else.
 * @param {string | number[]} combo
 * @returns {number[] | null}
 */
export function comboKeysyms(combo) {
  if (Array.isArray(combo)) {
    if (combo.length === 0 || combo.length > 8) return null;
    return combo.every((k) => Number.isInteger(k) && k > 0 && k <= 0xffffffff) ? combo.slice() : null;
  }
  if (typeof combo !== 'string') return null;
  if (Object.hasOwn(COMBOS, combo)) return COMBOS[combo].keysyms.slice();
  const key = combo.toLowerCase().replace(/[^a-z0-9]/g, '');
  const name = ALIASES.get(key);
  return name ? COMBOS[name].keysyms.slice() : null;
}
