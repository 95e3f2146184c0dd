// A minimal Guacamole instruction codec for the test harness (no dependencies).
// Element lengths count Unicode code points, as the protocol says.

/** Encodes one instruction: encode('key', '65307', '1') -> '3.key,5.65307,1.1;' */
export function encode(opcode, ...args) {
  return [opcode, ...args].map((e) => {
    const s = String(e);
    return `${[...s].length}.${s}`;
  }).join(',') + ';';
}

/**
 * Incremental parser. push(text) returns the complete instructions found so
 * far, each `{ opcode, args, raw }` where raw is the exact instruction text.
 * A malformed stream throws.
 */
export class GuacParser {
  constructor() {
    this.buf = '';
  }

  push(text) {
    this.buf += text;
    const out = [];
    let start = 0;
    for (;;) {
      const r = parseOne(this.buf, start);
      if (!r) break;
      out.push(r.instruction);
      start = r.end;
    }
    this.buf = this.buf.slice(start);
    return out;
  }
}

// Parses one instruction at `pos`; null when incomplete.
function parseOne(s, pos) {
  const elems = [];
  let i = pos;
  for (;;) {
    const dot = s.indexOf('.', i);
    if (dot < 0) {
      if (s.length - i > 12 || !/^\d*$/.test(s.slice(i))) throw new Error(`guac: bad length at ${i}`);
      return null;
    }
    const lenText = s.slice(i, dot);
    if (!/^\d{1,10}$/.test(lenText)) throw new Error(`guac: bad length "${lenText.slice(0, 16)}"`);
    let n = Number(lenText);
    let j = dot + 1;
    // advance n code points
    while (n > 0 && j < s.length) {
      const c = s.charCodeAt(j);
      j += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
      n--;
    }
    if (n > 0 || j >= s.length) return null; // value or terminator not here yet
    elems.push(s.slice(dot + 1, j));
    const t = s[j];
    if (t === ';') {
      const [opcode, ...args] = elems;
      return { instruction: { opcode, args, raw: s.slice(pos, j + 1) }, end: j + 1 };
    }
    if (t !== ',') throw new Error(`guac: bad terminator "${t}" after element`);
    i = j + 1;
  }
}

/** Parses a whole text; throws on a trailing partial instruction. */
export function parseAll(text) {
  const p = new GuacParser();
  const out = p.push(text);
  if (p.buf.length) throw new Error(`guac: ${p.buf.length} trailing bytes`);
  return out;
}
