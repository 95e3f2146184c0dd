#!/usr/bin/env node
// npm run build:extension: assembles the Manifest V3 example extension
// (examples/extension/) with the built package inside it, into
// examples/extension/dist/ (ignored by git), the folder to load unpacked
// (chrome://extensions, "Load unpacked") or to zip for a store. No remote
// code: the page loads only files of this folder (the wasm package's
// pam_launch_wasm.js and its .wasm, and the launcher's signaling adapter).
//
//   node scripts/build-extension.mjs [--out DIR]    (after npm run build)
//
// As a module: buildExtension({ out }) -> { out, files } (paths relative to out).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'examples', 'extension');
export const DEFAULT_OUT = path.join(SRC, 'dist');

// What goes in, destination (relative to out) <- source (relative to ROOT).
const FILES = [
  ['manifest.json', 'examples/extension/manifest.json'],
  ['background.js', 'examples/extension/background.js'],
  ['session.html', 'examples/extension/session.html'],
  ['session.js', 'examples/extension/session.js'],
  ['session.css', 'examples/extension/session.css'],
  ['signaling.js', 'www/js/signaling.js'],
  // <pam-launch-session> and what it loads (its stylesheet resolves to
  // element.css at the extension's root, its JIT texts to jit.js).
  ['element/pam-launch-session.js', 'www/js/element/pam-launch-session.js'],
  ['element/keys.js', 'www/js/element/keys.js'],
  ['element/close-reasons.js', 'www/js/element/close-reasons.js'],
  ['element/format.js', 'www/js/element/format.js'],
  ['jit.js', 'www/js/jit.js'],
  ['element.css', 'www/element.css'],
  ['pkg/pam_launch_wasm.js', 'pkg/web/pam_launch_wasm.js'],
  ['pkg/pam_launch_wasm_bg.wasm', 'pkg/web/pam_launch_wasm_bg.wasm'],
];

export function buildExtension({ out = DEFAULT_OUT } = {}) {
  const missing = FILES.filter(([, src]) => !fs.existsSync(path.join(ROOT, src))).map(([, src]) => src);
  if (missing.length) {
    throw new Error(`build-extension: missing ${missing.join(', ')} (npm run build makes pkg/web)`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  for (const [dest, src] of FILES) {
    const to = path.join(out, dest);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(ROOT, src), to);
  }
  return { out, files: FILES.map(([dest]) => dest) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let out = DEFAULT_OUT;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out' && args[i + 1]) out = path.resolve(args[++i]);
    else {
      console.error('usage: node scripts/build-extension.mjs [--out DIR]');
      process.exit(2);
    }
  }
  try {
    const built = buildExtension({ out });
    const bytes = built.files.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
    console.log(`build-extension: ${path.relative(process.cwd(), out) || '.'}: ${built.files.length} files, ${bytes} bytes (load it unpacked, or zip it)`);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
