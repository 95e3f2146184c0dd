#!/usr/bin/env bash
# npm run bench: planLaunch natively (criterion) and through wasm in Node,
# side by side, plus the release wasm size (raw and gzip -9), then the JS
# boundary (JSON text vs serde-wasm-bindgen, benches/boundary), the
# Guacamole bench (benches/guac) and the launch bench (benches/launch: Launch
# -> first frame drawn in a network namespace; it says why when it cannot run
# here), the same launch from Node (benches/launch/node.mjs: pam-launch
# launch, headless, node-datachannel; ratios to Chromium, load average), and
# the worker bench (benches/worker: main-thread busy time during the long VNC
# replay, renderer on the main thread vs in a Worker), and the input bench
# (benches/input: key/mouse event to RTCDataChannel.send, idle and busy). A
# benchmark, not a test: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
out=target/bench
mkdir -p "$out"
echo "bench: criterion (native, release)"
cargo bench --bench plan -- --noplot 2>&1 | tee "$out/native.txt" | grep -E '^[a-zA-Z].*|time:' || true
echo "bench: wasm in Node"
node benches/plan-node.cjs | tee "$out/node.jsonl"
node - "$out" <<'JS'
const fs = require('fs'), path = require('path'), zlib = require('zlib');
const dir = process.argv[2];
const native = {};
let current = null;
for (const line of fs.readFileSync(path.join(dir, 'native.txt'), 'utf8').split('\n')) {
  const name = line.match(/^(planLaunch.*?|normalizeJitSettings)\s*(time:|$)/);
  if (name) current = name[1].trim();
  const t = line.match(/time:\s*\[\S+ \S+ (\S+) (\S+)/);
  if (t && current) {
    const unit = { ns: 1, 'µs': 1e3, us: 1e3, ms: 1e6 }[t[2]] || 1;
    native[current] = parseFloat(t[1]) * unit;
    current = null;
  }
}
console.log('\n| case | native (ns/call) | wasm in Node (ns/call) | wasm / native |');
console.log('|---|---:|---:|---:|');
for (const line of fs.readFileSync(path.join(dir, 'node.jsonl'), 'utf8').trim().split('\n')) {
  const r = JSON.parse(line);
  const n = native[r.name];
  console.log(`| ${r.name} | ${n ? Math.round(n) : '?'} | ${r.nsPerCall} | ${n ? (r.nsPerCall / n).toFixed(1) + 'x' : '?'} |`);
}
for (const f of ['pkg/web/pam_launch_wasm_bg.wasm', 'pkg/node/pam_launch_wasm_bg.wasm']) {
  const b = fs.readFileSync(f);
  console.log(`${f}: ${b.length} bytes raw, ${zlib.gzipSync(b, { level: 9 }).length} bytes gzip -9`);
}
JS
echo
echo "bench: the JS boundary, JSON text (shipped) vs serde-wasm-bindgen: a build with --features bench-js-boundary in target/bench/boundary, planLaunch in Node and in headless Chromium"
# shellcheck source=scripts/env.sh
. scripts/env.sh
boundary="$out/boundary"
wasm_cargo_release --features bench-js-boundary
rm -rf "$boundary" && mkdir -p "$boundary"
cp "target/$WASM_TARGET/release/pam_launch_wasm.wasm" "$boundary/pam_launch_wasm.wasm"
# The next npm run build must not take this build for its own.
rm -f target/build.stamp
wasm-bindgen --target web --out-dir "$boundary/web" "$boundary/pam_launch_wasm.wasm"
wasm-bindgen --target nodejs --out-dir "$boundary/node" "$boundary/pam_launch_wasm.wasm"
echo '{ "type": "module" }' >"$boundary/web/package.json"
echo '{ "type": "commonjs" }' >"$boundary/node/package.json"
for d in web node; do node_modules/.bin/wasm-opt -Oz "$boundary/$d/pam_launch_wasm_bg.wasm" -o "$boundary/$d/pam_launch_wasm_bg.wasm"; done
node benches/boundary/run.mjs

echo
echo "bench: Guacamole parse and replay-render in headless Chromium (this project vs guacamole-common-js)"
node benches/guac/run.mjs

echo
echo "bench: launch -> first frame drawn, step by step: the launcher page, the stand-in with Keeper's library and the replay guacd, headless Chromium, in a network namespace"
node benches/launch/run.mjs

echo
echo "bench: the first frame alone (the module's part: its last message -> drawn), headless Chromium, no network"
node benches/frame/run.mjs

echo
echo "bench: launch -> first frame in Node (pam-launch launch: headless, node-datachannel), beside Chromium's above, same set-up"
node benches/launch/node.mjs

echo
echo "bench: main-thread busy time during the long VNC replay, main-thread renderer vs a dedicated Worker (OffscreenCanvas), headless Chromium"
node benches/worker/run.mjs
echo
echo "bench: RecordingPlayer seek (keyframes) in headless Chromium: from seek called to drawn, lazy and after index(), against the from-start replay"
node benches/player/run.mjs
echo
echo "bench: soak: the long VNC and SSH recordings back to back for SOAK_SESSION_SECONDS (default 3600) of session time, as fast as the renderer answers each sync; memory, canvases and fps per session minute, main thread and Worker, headless Chromium"
node benches/soak/run.mjs
echo
echo "bench: input latency in headless Chromium: key and mouse events (playwright, CDP Input) to their bytes handed to RTCDataChannel.send, idle and while frames are drawn (a launch() against an in-page gateway, in a network namespace)"
node benches/input/run.mjs
