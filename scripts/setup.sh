#!/usr/bin/env bash
# npm run setup: installs what building and testing need, idempotently.
# Fast (well under a second) when everything is there: every check is a file
# test or a single quick command, and nothing is installed twice.
#
#   - the wasm32 compiler: rustup's wasm32-unknown-unknown target when it is (or
#     can be) installed; otherwise Debian's rustc-web toolchain, which builds std
#     from source (-Zbuild-std). The choice goes to target/toolchain.env, which
#     scripts/env.sh reads. PAM_WASM_TOOLCHAIN=rustup|debian forces one;
#     PAM_WASM_RUSTUP_TIMEOUT (default 120 s) bounds the rustup attempt.
#     On the rustup path, also rustup's rust-src when it can be added, so that
#     the release build rebuilds std for our profile (PAM_WASM_RUST_SRC in
#     target/toolchain.env; not fatal without it).
#   - Debian packages chromium and chromium-driver (headless browser tests)
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock
#   - npm dev dependencies (playwright-core, binaryen's wasm-opt, typescript)
#   - rustup components clippy and rustfmt
#   - .venv: the local gateway stand-in's Python environment (Keeper's WebRTC
#     wheel and cryptography, pinned in tests/gateway/requirements.txt). Not
#     fatal: when PyPI or the wheel is unavailable, the reason goes to
#     target/gateway-standin.skip and the WebRTC end-to-end tests skip by name.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
started=$(date +%s%N)

say() { echo "setup: $*"; }
die() {
  echo "setup: error: $*" >&2
  exit 1
}

_cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$_cargo_bin:"*) ;; *) [ -d "$_cargo_bin" ] && PATH="$_cargo_bin:$PATH" ;; esac
export PATH

mkdir -p target

# ---------------------------------------------------------------- helpers
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_log=target/setup-apt.log
apt_updated=0
apt_install() {
  local pkgs=("$@")
  [ ${#pkgs[@]} -gt 0 ] || return 0
  if ! is_root; then
    die "missing Debian package(s): ${pkgs[*]}
  Install them as root, then run this again:
    sudo apt-get update && sudo apt-get install -y ${pkgs[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "missing package(s): ${pkgs[*]}; this script installs them with apt-get (Debian 12) only. Install the equivalents by hand."
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -q >"$apt_log" 2>&1 ||
      { tail -20 "$apt_log" >&2; die "apt-get update failed (log: $apt_log)"; }
    apt_updated=1
  fi
  say "apt-get install ${pkgs[*]}"
  apt-get install -y -q -o DPkg::Lock::Timeout=600 "${pkgs[@]}" >>"$apt_log" 2>&1 ||
    { tail -20 "$apt_log" >&2; die "apt-get install ${pkgs[*]} failed (log: $apt_log)"; }
}

debian_pkgs_missing() { # prints the packages of "$@" that are not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
  done
}

have_rustup_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

try_rustup_target_add() {
  command -v rustup >/dev/null 2>&1 || return 1
  local secs="${PAM_WASM_RUSTUP_TIMEOUT:-120}"
  say "rustup target add wasm32-unknown-unknown (timeout ${secs} s)"
  timeout -k 10 "$secs" rustup target add wasm32-unknown-unknown || return 1
  have_rustup_target
}

DEBIAN_TOOLCHAIN=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
debian_toolchain_ready() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -e /usr/bin/rust-lld ] &&
    [ -d /usr/lib/rustlib/src/rust/library ] &&
    [ -z "$(debian_pkgs_missing "${DEBIAN_TOOLCHAIN[@]}")" ]
}

# ------------------------------------------------ 1. the wasm32 toolchain
request="${PAM_WASM_TOOLCHAIN:-auto}"
case "$request" in
  auto | rustup | debian) ;;
  *) die "PAM_WASM_TOOLCHAIN must be auto, rustup or debian (it is '$request')" ;;
esac
prev_mode=""
prev_request=""
if [ -f target/toolchain.env ]; then
  prev_mode=$(sed -n 's/^PAM_WASM_MODE=//p' target/toolchain.env)
  prev_request=$(sed -n 's/^PAM_WASM_REQUEST=//p' target/toolchain.env)
fi

apt_pkgs=()
mode=""
case "$request" in
  rustup)
    have_rustup_target || try_rustup_target_add ||
      die "rustup could not add the wasm32-unknown-unknown target. Unset PAM_WASM_TOOLCHAIN to fall back to Debian's toolchain."
    mode=rustup
    ;;
  debian)
    mode=debian
    ;;
  auto)
    if have_rustup_target; then
      mode=rustup
    elif [ "$prev_request" = auto ] && [ "$prev_mode" = debian ] && debian_toolchain_ready; then
      mode=debian # rustup failed before; don't wait for it again
    elif try_rustup_target_add; then
      mode=rustup
    else
      say "rustup's wasm32 target is not available; falling back to Debian's rustc-web toolchain (std built from source)"
      mode=debian
    fi
    ;;
esac
if [ "$mode" = debian ] && ! debian_toolchain_ready; then
  apt_pkgs+=("${DEBIAN_TOOLCHAIN[@]}") # apt-get skips the ones already installed
fi

# ------------------------------------------------ 2. the headless browser
[ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
[ -x /usr/bin/chromedriver ] || apt_pkgs+=(chromium-driver)

apt_install "${apt_pkgs[@]}"
if [ "$mode" = debian ]; then
  debian_toolchain_ready || die "Debian's wasm toolchain is still incomplete after installing ${DEBIAN_TOOLCHAIN[*]}"
fi

# rustup's rust-src: with it the release build rebuilds std with our profile
# and panic=immediate-abort (scripts/env.sh, wasm_cargo_release), about 22 KB
# gzip smaller. Not fatal: without it the build uses the prebuilt std.
# PAM_WASM_RUST_SRC_TIMEOUT (default 120 s) bounds the attempt.
rust_src=0
if [ "$mode" = rustup ]; then
  rust_src_dir="$(rustc --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library/std"
  if [ -d "$rust_src_dir" ]; then
    rust_src=1
  elif [ "$prev_mode" = rustup ] && [ -f target/toolchain.env ] && grep -qx 'PAM_WASM_RUST_SRC=0' target/toolchain.env; then
    rust_src=0 # failed before; `rm target/toolchain.env` to try again
  else
    say "rustup component add rust-src (timeout ${PAM_WASM_RUST_SRC_TIMEOUT:-120} s)"
    if timeout -k 10 "${PAM_WASM_RUST_SRC_TIMEOUT:-120}" rustup component add rust-src && [ -d "$rust_src_dir" ]; then
      rust_src=1
    else
      say "rust-src is not available: the release build uses rustup's prebuilt std (a larger module)"
    fi
  fi
fi

new_env="# written by scripts/setup.sh; read by scripts/env.sh
PAM_WASM_MODE=$mode
PAM_WASM_REQUEST=$request
PAM_WASM_RUST_SRC=$rust_src"
if [ "$(cat target/toolchain.env 2>/dev/null)" != "$new_env" ]; then
  printf '%s\n' "$new_env" >target/toolchain.env
  say "wasm32 toolchain: $mode, rust-src $rust_src (recorded in target/toolchain.env)"
fi

# host cargo: rustup's; Debian's only when there is no other
if command -v cargo >/dev/null 2>&1; then
  host_cargo=cargo
elif [ -x /usr/bin/cargo ]; then
  host_cargo=/usr/bin/cargo
else
  die "no cargo found. Install Rust with rustup (https://rustup.rs), then run this again."
fi

# ------------------------------------------------ 3. rustup components
if command -v rustup >/dev/null 2>&1; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  missing=()
  for c in clippy rustfmt; do
    grep -q "^$c" <<<"$installed" || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "rustup component add ${missing[*]}"
    timeout -k 10 300 rustup component add "${missing[@]}" ||
      die "rustup component add ${missing[*]} failed"
  fi
fi

# ------------------------------------------------ 4. wasm-bindgen-cli
[ -f Cargo.lock ] || "$host_cargo" generate-lockfile
want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$want" ] || die "no wasm-bindgen entry in Cargo.lock"
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
have_runner=$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ] || [ "$have_runner" != "$want" ]; then
  say "cargo install wasm-bindgen-cli --version $want (was: ${have:-none}; takes about 2 minutes)"
  # No --locked: the CLI's lockfile pins a crate version the registry here lacks.
  "$host_cargo" install wasm-bindgen-cli --version "$want" ||
    die "cargo install wasm-bindgen-cli --version $want failed"
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
  [ "$have" = "$want" ] ||
    die "wasm-bindgen on PATH is '${have:-missing}', not $want (is ${_cargo_bin} first on PATH?)"
fi

# ------------------------------------------------ 5. npm dev dependencies
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  die "Node.js 20 and npm are needed (node and npm on PATH)"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed (this is $(node --version))"
npm_stamp=node_modules/.pam-setup-stamp
if [ ! -f "$npm_stamp" ] || [ package.json -nt "$npm_stamp" ] ||
  { [ -f package-lock.json ] && [ package-lock.json -nt "$npm_stamp" ]; } ||
  [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/tsc ] ||
  [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 # playwright-core never downloads; belt and braces
  if [ -L node_modules ]; then
    # A shared install (a git worktree linking another checkout's): npm ci
    # here would empty the folder the link points to, under every user of it.
    if [ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/tsc ] && [ -d node_modules/playwright-core ]; then
      say "node_modules is a link to $(readlink node_modules): using it as it is (no npm ci through a link)"
    else
      die "node_modules is a link to $(readlink node_modules) and lacks packages: run npm ci where it points, not through the link"
    fi
  elif [ -f package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  else
    say "npm install"
    npm install --no-audit --no-fund --loglevel=error
  fi
  [ -L node_modules ] || touch "$npm_stamp"
fi

# ------------------------------------------------ 6. the gateway stand-in's Python environment
# (tests/gateway/standin.py: issue 6's local gateway for the WebRTC end-to-end tests.)
# .venv with the pins of tests/gateway/requirements.txt. The stamp is a copy of
# that file: when they match, nothing runs. Failure is not fatal: the reason is
# written to target/gateway-standin.skip, which the tests report when they skip.
# PAM_WASM_PYTHON picks the interpreter (default python3); PAM_WASM_PIP_TIMEOUT
# bounds the install (default 300 s).
venv_req=tests/gateway/requirements.txt
venv_stamp=.venv/.pam-setup-stamp
venv_skip=target/gateway-standin.skip
venv_skip_because() {
  printf '%s\n' "$*" >"$venv_skip"
  say "gateway stand-in: skipped: $* (WebRTC end-to-end tests will skip; see $venv_skip)"
}
if [ -f "$venv_skip" ] && [ -n "$(find "$venv_skip" -newer "$venv_req" -mmin -10 2>/dev/null)" ]; then
  say "gateway stand-in: skipped less than 10 minutes ago: $(head -1 "$venv_skip") (rm $venv_skip to retry now)"
elif [ -f "$venv_req" ] && { [ ! -x .venv/bin/python ] || ! cmp -s "$venv_req" "$venv_stamp"; }; then
  rm -f "$venv_stamp"
  venv_python="${PAM_WASM_PYTHON:-python3}"
  venv_log=target/setup-venv.log
  venv_ok=1
  if [ ! -x .venv/bin/python ]; then
    if ! command -v "$venv_python" >/dev/null 2>&1; then
      venv_ok=0
      venv_skip_because "no $venv_python on PATH (the stand-in needs Python 3.8 or newer)"
    elif ! "$venv_python" -m venv .venv >"$venv_log" 2>&1; then
      rm -rf .venv
      if is_root && command -v apt-get >/dev/null 2>&1 && [ -n "$(debian_pkgs_missing python3-venv)" ] &&
        [ "$(command -v "$venv_python")" = /usr/bin/python3 ]; then
        apt_install python3-venv
        "$venv_python" -m venv .venv >"$venv_log" 2>&1 || venv_ok=0
      else
        venv_ok=0
      fi
      [ "$venv_ok" = 1 ] || venv_skip_because "'$venv_python -m venv .venv' failed (log: $venv_log)"
    fi
  fi
  if [ "$venv_ok" = 1 ]; then
    say "pip install -r $venv_req into .venv"
    if timeout -k 10 "${PAM_WASM_PIP_TIMEOUT:-300}" .venv/bin/python -m pip install -q \
      --disable-pip-version-check --no-input --timeout 20 --retries 2 -r "$venv_req" >>"$venv_log" 2>&1 &&
      .venv/bin/python -c 'import keeper_pam_webrtc_rs, cryptography' >>"$venv_log" 2>&1; then
      cp "$venv_req" "$venv_stamp"
      rm -f "$venv_skip"
    elif grep -qiE 'NewConnectionError|ConnectTimeout|Max retries exceeded|name resolution|Network is unreachable' "$venv_log"; then
      venv_skip_because "PyPI is unreachable, so pip could not install $venv_req; log: $venv_log"
    elif grep -qiE 'no matching distribution|not a supported wheel|could not find a version' "$venv_log"; then
      venv_skip_because "no keeper-pam-webrtc-rs 2.2.9 wheel for this platform ($(uname -sm)); log: $venv_log"
    else
      venv_skip_because "pip could not install $venv_req; log: $venv_log"
    fi
  fi
fi

elapsed=$((($(date +%s%N) - started) / 1000000))
say "ready (wasm32 toolchain: $mode, wasm-bindgen $want, $(node --version); ${elapsed} ms)"
