#!/usr/bin/env node
// Size of the release wasm by part, for `npm run build` (scripts/build.sh).
// Plain Node, no dependencies: it reads the module's sections, the `name`
// section's function names and the code section's body sizes, and puts each
// function into a part by its (demangled) path.
//
//   node tools/wasm-size.mjs NAMED.wasm [--shipped LABEL=FILE ...] [--top N] [--json]
//
// NAMED.wasm is a copy optimised exactly as the shipped file but with its
// names kept (`wasm-opt -Oz -g`): the shipped file has no names. The table's
// "raw" column is the bytes of each part in NAMED.wasm (function bodies;
// the data segments; every other section but the custom ones as "sections");
// "gzip" is that part's bytes compressed alone with gzip -9, so the parts'
// gzip figures add up to more than the whole file compressed at once (shared
// context), which the last lines state. The check line compares the parts'
// raw sum with each shipped file and prints the difference.
//
// As a module: analyse(bytes) -> { parts, functions, sections, ... }.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// ------------------------------------------------------------ the reader
function reader(buf) {
  let pos = 0;
  const r = {
    get pos() {
      return pos;
    },
    set pos(v) {
      pos = v;
    },
    byte() {
      if (pos >= buf.length) throw new Error(`wasm-size: read past the end at ${pos}`);
      return buf[pos++];
    },
    u32() {
      let result = 0;
      let shift = 0;
      for (;;) {
        const b = r.byte();
        result += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return result;
        shift += 7;
        if (shift > 35) throw new Error('wasm-size: LEB128 too long');
      }
    },
    bytes(n) {
      if (pos + n > buf.length) throw new Error(`wasm-size: ${n} bytes past the end at ${pos}`);
      const out = buf.subarray(pos, pos + n);
      pos += n;
      return out;
    },
    name() {
      return Buffer.from(r.bytes(r.u32())).toString('utf8');
    },
  };
  return r;
}

const SECTION_NAMES = [
  'custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export',
  'start', 'element', 'code', 'data', 'datacount', 'tag',
];

function skipLimits(r) {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/** Every section (id, name, offset, size with its header) and the function data. */
export function analyse(bytes) {
  const buf = Buffer.from(bytes);
  if (buf.length < 8 || buf.readUInt32LE(0) !== 0x6d736100) throw new Error('wasm-size: not a wasm module');
  const r = reader(buf);
  r.pos = 8;
  const sections = [];
  let importedFuncs = 0;
  const bodies = []; // [{ index, size, start }]
  const names = new Map();
  const exports = new Map();
  let dataBytes = 0;
  while (r.pos < buf.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const body = r.pos;
    const end = body + size;
    let name = SECTION_NAMES[id] ?? `unknown(${id})`;
    if (id === 0) {
      const sub = reader(buf.subarray(body, end));
      name = `custom:${sub.name()}`;
      if (name === 'custom:name') readNames(buf.subarray(body + sub.pos, end), names);
    } else if (id === 2) {
      const sub = reader(buf.subarray(body, end));
      for (let n = sub.u32(); n > 0; n--) {
        sub.name();
        sub.name();
        const kind = sub.byte();
        if (kind === 0) {
          sub.u32();
          importedFuncs++;
        } else if (kind === 1) {
          sub.byte();
          skipLimits(sub);
        } else if (kind === 2) skipLimits(sub);
        else if (kind === 3) {
          sub.byte();
          sub.byte();
        } else if (kind === 4) {
          sub.byte();
          sub.u32();
        } else throw new Error(`wasm-size: unknown import kind ${kind}`);
      }
    } else if (id === 10) {
      const sub = reader(buf.subarray(body, end));
      const count = sub.u32();
      for (let i = 0; i < count; i++) {
        const headerStart = sub.pos;
        const len = sub.u32();
        const bodyStart = sub.pos;
        sub.pos += len;
        // Each body is charged its size prefix too, so the bodies add up to the section.
        bodies.push({ index: i, size: len + (bodyStart - headerStart), start: body + headerStart });
      }
    } else if (id === 7) {
      const sub = reader(buf.subarray(body, end));
      for (let n = sub.u32(); n > 0; n--) {
        const ename = sub.name();
        const kind = sub.byte();
        const idx = sub.u32();
        if (kind === 0) exports.set(idx, ename);
      }
    } else if (id === 11) {
      dataBytes = end - start;
    }
    sections.push({ id, name, start, size: end - start });
    r.pos = end;
  }
  const functions = bodies.map((b) => {
    const idx = importedFuncs + b.index;
    const fname = names.get(idx) ?? exports.get(idx) ?? '';
    // A function the module exports under its own (plain) name is a wasm-bindgen
    // wrapper of the web layer's API: `guacamoleclient_width`.
    const part = exports.get(idx) === fname && fname && !fname.includes('::') ? 'web layer (src/web)' : partOf(fname);
    return { name: fname, size: b.size, part, bytes: buf.subarray(b.start, b.start + b.size) };
  });
  return { size: buf.length, sections, functions, importedFuncs, dataBytes, named: names.size > 0, buf };
}

function readNames(buf, names) {
  const r = reader(buf);
  while (r.pos < buf.length) {
    const kind = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (kind === 1) {
      for (let n = r.u32(); n > 0; n--) {
        const idx = r.u32();
        names.set(idx, r.name());
      }
    }
    r.pos = end;
  }
}

// ------------------------------------------------------------ the parts
// The parts, in table order (partOf below decides which a function is in).
export const PARTS = [
  ['core: guac parser'],
  ['core: guac (client, display, keyboard, recording)'],
  ['core: tunnel'],
  ['core: plan (jit, dag, record, plan, wire)'],
  ['core: error + api'],
  ['web layer (src/web)'],
  ['serde-derived code'],
  ['serde_json'],
  ['serde (generic)'],
  ['p256 / elliptic-curve / primeorder'],
  ['aes / gcm / ghash'],
  ['sha2 / hkdf'],
  ['base64'],
  ['wasm-bindgen / js-sys / web-sys glue'],
  ['gloo'],
  ['std: fmt'],
  ['std: panicking'],
  ['std / core / alloc (other)'],
  ['other'],
];

const CRATE_PARTS = new Map([
  ['pam_guac_parser', 'core: guac parser'],
  ['pam_guac', 'core: guac (client, display, keyboard, recording)'],
  ['pam_tunnel', 'core: tunnel'],
  ['pam_plan', 'core: plan (jit, dag, record, plan, wire)'],
  ['pam_error', 'core: error + api'],
  ['serde_json', 'serde_json'],
  ['serde', 'serde (generic)'],
  ['serde_core', 'serde (generic)'],
  ['p256', 'p256 / elliptic-curve / primeorder'],
  ['elliptic_curve', 'p256 / elliptic-curve / primeorder'],
  ['primeorder', 'p256 / elliptic-curve / primeorder'],
  ['crypto_bigint', 'p256 / elliptic-curve / primeorder'],
  ['ff', 'p256 / elliptic-curve / primeorder'],
  ['group', 'p256 / elliptic-curve / primeorder'],
  ['subtle', 'p256 / elliptic-curve / primeorder'],
  ['sec1', 'p256 / elliptic-curve / primeorder'],
  ['aes', 'aes / gcm / ghash'],
  ['aes_gcm', 'aes / gcm / ghash'],
  ['ghash', 'aes / gcm / ghash'],
  ['polyval', 'aes / gcm / ghash'],
  ['universal_hash', 'aes / gcm / ghash'],
  ['cipher', 'aes / gcm / ghash'],
  ['aead', 'aes / gcm / ghash'],
  ['ctr', 'aes / gcm / ghash'],
  ['Alg', 'aes / gcm / ghash'],
  ['der', 'p256 / elliptic-curve / primeorder'],
  ['const_oid', 'p256 / elliptic-curve / primeorder'],
  ['pkcs8', 'p256 / elliptic-curve / primeorder'],
  ['spki', 'p256 / elliptic-curve / primeorder'],
  ['base16ct', 'p256 / elliptic-curve / primeorder'],
  ['indexmap', 'serde_json'],
  ['ryu', 'serde_json'],
  ['itoa', 'serde_json'],
  ['__rustc', 'std / core / alloc (other)'],
  ['sha2', 'sha2 / hkdf'],
  ['hkdf', 'sha2 / hkdf'],
  ['hmac', 'sha2 / hkdf'],
  ['digest', 'sha2 / hkdf'],
  ['block_buffer', 'sha2 / hkdf'],
  ['base64', 'base64'],
  ['wasm_bindgen', 'wasm-bindgen / js-sys / web-sys glue'],
  ['wasm_bindgen_futures', 'wasm-bindgen / js-sys / web-sys glue'],
  ['js_sys', 'wasm-bindgen / js-sys / web-sys glue'],
  ['web_sys', 'wasm-bindgen / js-sys / web-sys glue'],
  ['gloo_timers', 'gloo'],
  ['gloo_events', 'gloo'],
  ['gloo_render', 'gloo'],
  ['gloo_utils', 'gloo'],
]);

/** The first path in a demangled name: `<&mut a::B as c::D>::e` -> `a::B`. */
function leadingPath(name) {
  const m = /^[<&*\s]*(?:mut\s+|const\s+|dyn\s+)*([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_<][A-Za-z0-9_]*)*)/.exec(name);
  return m ? m[1] : '';
}

export function partOf(raw) {
  if (!raw) return 'other';
  // std's crates carry a disambiguator in the name section: core[c5930c85a12de822]::fmt
  const name = raw.replace(/\[[0-9a-f]{8,}\]/g, '');
  if (/^__wbg|^__wbindgen|^__externref|^wasm_bindgen::|^__wbg_adapter|closure\d*_invoke|^_ZN12wasm_bindgen/.test(name)) {
    return 'wasm-bindgen / js-sys / web-sys glue';
  }
  // serde's derives expand to `_::<impl serde::de::Deserialize for T>` and visitors inside it.
  if (/<impl serde(?:_core)?::(?:de::Deserialize|ser::Serialize)|__FieldVisitor|__Visitor|__Field as serde/.test(name)) {
    return 'serde-derived code';
  }
  if (/core::panicking|std::panicking|core::panic::|std::panic::|rust_panic|rust_begin_unwind|__rust_start_panic|panic_fmt|panic_bounds_check|slice_index_fail|slice_end_index|slice_start_index|str_index_overflow|slice_error_fail|unwrap_failed|expect_failed|option::unwrap|handle_alloc_error|capacity_overflow|alloc::raw_vec::handle_error/.test(name)) {
    return 'std: panicking';
  }
  const lead = leadingPath(name);
  const crate = lead.split('::')[0];
  if (crate === 'pam_launch_wasm') {
    const second = lead.split('::')[1] ?? '';
    const third = lead.split('::')[2] ?? '';
    if (second === 'web') return 'web layer (src/web)';
    if (second === 'core') {
      if (third === 'guac') {
        return lead.split('::')[3] === 'parser' ? 'core: guac parser' : 'core: guac (client, display, keyboard, recording)';
      }
      if (third === 'tunnel') return 'core: tunnel';
      if (['jit', 'dag', 'record', 'plan', 'wire'].includes(third)) return 'core: plan (jit, dag, record, plan, wire)';
      return 'core: error + api';
    }
    return 'core: error + api';
  }
  if (CRATE_PARTS.has(crate)) return CRATE_PARTS.get(crate);
  if (['core', 'alloc', 'std'].includes(crate)) {
    if (/^(?:core|alloc|std)::fmt/.test(lead) || /as core::fmt::(?:Display|Debug|Write)>/.test(name)) return 'std: fmt';
    return 'std / core / alloc (other)';
  }
  // A primitive's impl: <f64 as core::fmt::Display>::fmt, <str>::to_lowercase
  if (/^<(?:[iu](?:8|16|32|64|128|size)|f32|f64|bool|char|str|\[[^\]]*\]|\(\))(?: as |>)/.test(name)) {
    return /as core::fmt::/.test(name) ? 'std: fmt' : 'std / core / alloc (other)';
  }
  if (/ shim$|^__wbindgen|externref/.test(name)) return 'wasm-bindgen / js-sys / web-sys glue';
  // A blanket impl over references (<&T as core::fmt::Debug>::fmt): the formatting machinery.
  if (/^<&(?:mut )?T as core::fmt::/.test(name)) return 'std: fmt';
  if (['compiler_builtins', 'dlmalloc', 'hashbrown', 'memchr'].includes(crate)) return 'std / core / alloc (other)';
  if (/^(?:memcpy|memmove|memset|memcmp|bcmp|__rust_alloc|__rust_dealloc|__rust_realloc|__rust_alloc_zeroed|__rdl_|__rg_|__multi3|__udivti3|__umodti3|__divti3|__modti3|__ashlti3|__lshrti3)/.test(name)) {
    return 'std / core / alloc (other)';
  }
  return 'other';
}

// ------------------------------------------------------------ the report
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
/** The whole file's figure as the README and the issue count it: GNU `gzip -9` (zlib when absent). */
function gzipCli(b) {
  const r = spawnSync('gzip', ['-9c'], { input: b, maxBuffer: 64 << 20 });
  return r.status === 0 ? r.stdout.length : gz(b);
}
const fmt = (n) => n.toLocaleString('en-US');

export function table(named, shipped, { top = 0 } = {}) {
  const a = analyse(named);
  if (!a.named) throw new Error('wasm-size: the module has no name section (analyse a `wasm-opt -g` copy)');
  const byPart = new Map(PARTS.map(([p]) => [p, { raw: 0, chunks: [], count: 0 }]));
  for (const f of a.functions) {
    const e = byPart.get(f.part);
    e.raw += f.size;
    e.count++;
    e.chunks.push(f.bytes);
  }
  const rows = [];
  for (const [p, e] of byPart) {
    if (e.count) rows.push([`${p} (${e.count} fn)`, e.raw, gz(Buffer.concat(e.chunks))]);
  }
  const data = a.sections.filter((s) => s.name === 'data');
  const dataBuf = Buffer.concat(data.map((s) => a.buf.subarray(s.start, s.start + s.size)));
  rows.push(['data section (strings, tables)', dataBuf.length, gz(dataBuf)]);
  const code = a.sections.find((s) => s.name === 'code');
  const codeHeader = code ? code.size - a.functions.reduce((s, f) => s + f.size, 0) : 0;
  const rest = a.sections.filter((s) => s.name !== 'data' && s.name !== 'code' && !s.name.startsWith('custom:'));
  const restBuf = Buffer.concat(rest.map((s) => a.buf.subarray(s.start, s.start + s.size)));
  rows.push(['other sections (types, imports, exports, tables)', restBuf.length + codeHeader + 8, gz(restBuf)]);
  // The custom sections the shipped file keeps too (all but the names).
  const kept = a.sections.filter((s) => s.name.startsWith('custom:') && s.name !== 'custom:name');
  if (kept.length) {
    const keptBuf = Buffer.concat(kept.map((s) => a.buf.subarray(s.start, s.start + s.size)));
    rows.push([`custom sections (${kept.map((s) => s.name.slice(7)).join(', ')})`, keptBuf.length, gz(keptBuf)]);
  }
  const sumRaw = rows.reduce((s, r) => s + r[1], 0);
  const sumGz = rows.reduce((s, r) => s + r[2], 0);
  const custom = a.sections.filter((s) => s.name === 'custom:name');
  const w = Math.max(...rows.map((r) => r[0].length), 40);
  const lines = [];
  lines.push(`size by part (wasm-opt -Oz -g copy: the shipped flags plus names; gzip = the part alone, gzip -9)`);
  lines.push(`${'part'.padEnd(w)} ${'raw'.padStart(9)} ${'gzip'.padStart(9)}`);
  for (const [p, raw, g] of rows) lines.push(`${p.padEnd(w)} ${fmt(raw).padStart(9)} ${fmt(g).padStart(9)}`);
  lines.push(`${'sum of parts'.padEnd(w)} ${fmt(sumRaw).padStart(9)} ${fmt(sumGz).padStart(9)}`);
  lines.push(
    `(not counted: the named copy's name section, ${custom.map((s) => fmt(s.size)).join(', ')} bytes)`,
  );
  for (const [label, bytes] of shipped) {
    const diff = sumRaw - bytes.length;
    lines.push(
      `${`${label} shipped (whole file, gzip -9 < file)`.padEnd(w)} ${fmt(bytes.length).padStart(9)} ${fmt(gzipCli(bytes)).padStart(9)}` +
        `   parts - shipped: ${diff >= 0 ? '+' : ''}${fmt(diff)} raw (${((100 * diff) / bytes.length).toFixed(2)} %)`,
    );
  }
  if (top > 0) {
    lines.push('', `largest ${top} functions:`);
    for (const f of [...a.functions].sort((x, y) => y.size - x.size).slice(0, top)) {
      lines.push(`${fmt(f.size).padStart(8)}  ${f.part.split(' ')[0].padEnd(10)} ${f.name.slice(0, 150)}`);
    }
  }
  return { lines, rows, sumRaw, sumGz, analysis: a };
}

function main(argv) {
  let named = null;
  let top = 0;
  let json = false;
  const shipped = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--shipped') {
      const [label, file] = argv[++i].split('=');
      shipped.push([label, fs.readFileSync(file)]);
    } else if (a === '--top') top = Number(argv[++i]);
    else if (a === '--json') json = true;
    else if (a === '--part') {
      // debugging aid: list one part's functions
      const want = argv[++i];
      const an = analyse(fs.readFileSync(argv[++i]));
      for (const f of an.functions.filter((f) => f.part.startsWith(want)).sort((x, y) => y.size - x.size)) {
        console.log(`${fmt(f.size).padStart(8)}  ${f.name.slice(0, 200)}`);
      }
      return;
    } else named = a;
  }
  if (!named) {
    console.error('usage: node tools/wasm-size.mjs NAMED.wasm [--shipped LABEL=FILE ...] [--top N] [--json]');
    process.exit(2);
  }
  const t = table(fs.readFileSync(named), shipped, { top });
  if (json) console.log(JSON.stringify({ rows: t.rows, sumRaw: t.sumRaw, sumGz: t.sumGz }));
  else console.log(t.lines.join('\n'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
