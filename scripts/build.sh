#!/usr/bin/env bash
# npm run build: the release wasm32 build, JS bindings for the browser
# (pkg/web, an ES module with init()) and for Node (pkg/node, CommonJS),
# wasm-opt -Oz (npm binaryen), a load check of both, and the sizes: the totals
# and a table by part (tools/wasm-size.mjs over target/size/web.named.wasm, a
# copy optimised with the same flags and its names kept).
# Skips the work when nothing it depends on changed since the last build
# (stamp: target/build.stamp); BUILD_FORCE=1 rebuilds anyway.
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

wasm="target/$WASM_TARGET/release/pam_launch_wasm.wasm"
stamp=target/build.stamp
outputs=(pkg/web/pam_launch_wasm.js pkg/web/pam_launch_wasm_bg.wasm pkg/web/pam_launch_wasm.d.ts
  pkg/node/pam_launch_wasm.js pkg/node/pam_launch_wasm_bg.wasm pkg/node/pam_launch_wasm.d.ts)

# Everything the output depends on: sources, manifests, cargo config, the
# toolchain choice, the tool versions and this script.
inputs_key() {
  {
    find src crates -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock scripts/build.sh tools/wasm-size.mjs
    [ -f .cargo/config.toml ] && sha256sum .cargo/config.toml
    echo "mode=$PAM_WASM_MODE std=$WASM_RELEASE_STD"
    wasm-bindgen --version
    node_modules/.bin/wasm-opt --version
  } | sha256sum | cut -d' ' -f1
}

# The flags of the shipped files; the named copy adds -g (keep the names).
WASM_OPT_FLAGS=(-Oz)
named=target/size/web.named.wasm

sizes() {
  local f
  echo "build: std: $WASM_RELEASE_STD (target/toolchain.env; scripts/env.sh, wasm_cargo_release)"
  if [ -f "$named" ]; then
    node tools/wasm-size.mjs "$named" --shipped pkg/web=pkg/web/pam_launch_wasm_bg.wasm \
      --shipped pkg/node=pkg/node/pam_launch_wasm_bg.wasm | sed 's/^/build: /'
  fi
  for f in pkg/web/pam_launch_wasm_bg.wasm pkg/node/pam_launch_wasm_bg.wasm; do
    echo "build: $f: $(stat -c %s "$f") bytes raw, $(gzip -9c "$f" | wc -c) bytes gzip -9"
  done
}

key=$(inputs_key)
fresh=1
for f in "${outputs[@]}" "$named"; do [ -f "$f" ] || fresh=0; done
if [ "${BUILD_FORCE:-0}" != 1 ] && [ "$fresh" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
  echo "build: up to date (nothing changed under src/, crates/, Cargo.toml, Cargo.lock)"
  sizes
  exit 0
fi
rm -f "$stamp"

t0=$(date +%s%N)
case "$WASM_RELEASE_STD" in
  build-std) std_how="std rebuilt from source (-Zbuild-std), panic=immediate-abort" ;;
  *) std_how="rustup's prebuilt std, panic=abort (no rust-src: the module is about 22 KB gzip larger)" ;;
esac
echo "build: cargo build --release --lib --target $WASM_TARGET ($PAM_WASM_MODE toolchain; $std_how)"
wasm_cargo_release
t1=$(date +%s%N)

echo "build: wasm-bindgen --target web / nodejs"
rm -rf pkg/web pkg/node
wasm-bindgen --target web --out-dir pkg/web "$wasm"
wasm-bindgen --target nodejs --out-dir pkg/node "$wasm"
# Tell Node which module system each directory uses (wasm-bindgen writes no package.json).
echo '{ "type": "module" }' >pkg/web/package.json
echo '{ "type": "commonjs" }' >pkg/node/package.json

echo "build: wasm-opt ${WASM_OPT_FLAGS[*]} (npm binaryen), and a copy with names for the size table"
# Never Debian's /usr/bin/wasm-opt (binaryen 108): it corrupts the externref table.
mkdir -p target/size
rm -f "$named"
cp pkg/web/pam_launch_wasm_bg.wasm target/size/web.bindgen.wasm
node_modules/.bin/wasm-opt "${WASM_OPT_FLAGS[@]}" -g target/size/web.bindgen.wasm -o "$named" &
named_opt=$!
node_modules/.bin/wasm-opt "${WASM_OPT_FLAGS[@]}" pkg/web/pam_launch_wasm_bg.wasm -o pkg/web/pam_launch_wasm_bg.wasm &
web_opt=$!
node_modules/.bin/wasm-opt "${WASM_OPT_FLAGS[@]}" pkg/node/pam_launch_wasm_bg.wasm -o pkg/node/pam_launch_wasm_bg.wasm &
node_opt=$!
wait "$web_opt" || { echo "build: wasm-opt failed on pkg/web" >&2; exit 1; }
wait "$node_opt" || { echo "build: wasm-opt failed on pkg/node" >&2; exit 1; }
wait "$named_opt" || { echo "build: wasm-opt -g failed (the size table's copy)" >&2; exit 1; }
t2=$(date +%s%N)

# Load check: the optimised modules must instantiate and answer, in both flavours.
node --input-type=module - <<'JS'
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(process.cwd() + '/');
const check = (name, m) => {
  const s = m.normalizeJitSettings({ createEphemeral: true });
  if (!s || s.create_ephemeral !== true) {
    throw new Error(`${name}: normalizeJitSettings({createEphemeral:true}) gave ${JSON.stringify(s)}`);
  }
};
check('pkg/node', require('./pkg/node/pam_launch_wasm.js'));
const web = await import('./pkg/web/pam_launch_wasm.js');
web.initSync({ module: readFileSync('./pkg/web/pam_launch_wasm_bg.wasm') });
check('pkg/web', web);
console.log('build: load check ok (pkg/node via require, pkg/web via initSync)');
JS

echo "$key" >"$stamp"
echo "build: cargo $(((t1 - t0) / 1000000)) ms, bindgen + wasm-opt $(((t2 - t1) / 1000000)) ms"
sizes
