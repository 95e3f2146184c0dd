# shellcheck shell=bash
# Sourced (not run) by the other scripts: one consistent environment for the
# host and wasm32 commands. scripts/setup.sh decides which toolchain builds the
# wasm and records it in target/toolchain.env; this file reads that record.
#
# After sourcing:
#   ROOT                 the crate root (also the current directory)
#   PAM_WASM_MODE        "rustup" (rustup's wasm32 target, prebuilt std) or
#                        "debian" (Debian's rustc-web 1.96, std built from source)
#   WASM_CARGO           the cargo command line for wasm32 commands (word-split it)
#   WASM_CARGO_FLAGS     extra flags for wasm32 build/test commands (word-split)
#   WASM_TARGET          wasm32-unknown-unknown
#   CHROMEDRIVER         /usr/bin/chromedriver unless already set
#   wasm_cargo SUB ARGS  runs `$WASM_CARGO SUB $WASM_CARGO_FLAGS --target $WASM_TARGET ARGS`
#   WASM_RELEASE_STD     how the release library build gets std: "build-std"
#                        (std rebuilt with our profile and panic=immediate-abort:
#                        rust-src is there, or the Debian path) or "prebuilt"
#                        (rustup's std as shipped, panic=abort; no rust-src)
#   wasm_cargo_release ARGS  `wasm_cargo build --release --lib ARGS` the way the
#                        shipped module is built (scripts/build.sh, bench.sh)
#
# Host commands (cargo fmt, clippy, test, bench) always use plain `cargo` from
# rustup. RUSTC is deliberately NOT exported: in Debian mode it is set only for
# the wasm commands, because a global RUSTC=/usr/bin/rustc would make host
# `cargo clippy` mix two compilers, and -Zbuild-std in the host commands would
# rebuild std for the host too.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || return 1

# rustup's bin dir is not always on PATH in non-login shells (CI);
# npm's .bin goes first so that nothing picks Debian's broken wasm-opt 108.
_cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$_cargo_bin:"*) ;; *) [ -d "$_cargo_bin" ] && PATH="$_cargo_bin:$PATH" ;; esac
case ":$PATH:" in *":$ROOT/node_modules/.bin:"*) ;; *) PATH="$ROOT/node_modules/.bin:$PATH" ;; esac
export PATH
unset _cargo_bin

# No record yet, or PAM_WASM_TOOLCHAIN asks for another toolchain than recorded:
# (or a record from before rust-src was recorded):
if [ ! -f target/toolchain.env ] || ! grep -q '^PAM_WASM_RUST_SRC=' target/toolchain.env ||
  { [ -n "${PAM_WASM_TOOLCHAIN:-}" ] &&
  ! grep -qx "PAM_WASM_REQUEST=${PAM_WASM_TOOLCHAIN}" target/toolchain.env; }; then
  bash "$ROOT/scripts/setup.sh" || return 1
fi
# shellcheck source=/dev/null
. target/toolchain.env

export WASM_TARGET=wasm32-unknown-unknown
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export PAM_WASM_MODE
case "$PAM_WASM_MODE" in
  rustup)
    export WASM_CARGO="cargo"
    export WASM_CARGO_FLAGS=""
    # setup.sh records whether rustup's rust-src is installed (build-std needs it).
    if [ "${PAM_WASM_RUST_SRC:-0}" = 1 ]; then WASM_RELEASE_STD=build-std; else WASM_RELEASE_STD=prebuilt; fi
    ;;
  debian)
    export WASM_CARGO="env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo"
    export WASM_CARGO_FLAGS="-Zbuild-std=std,panic_abort"
    WASM_RELEASE_STD=build-std
    ;;
  *)
    echo "env.sh: unknown PAM_WASM_MODE '$PAM_WASM_MODE' in target/toolchain.env; run: bash scripts/setup.sh" >&2
    return 1
    ;;
esac

export WASM_RELEASE_STD

wasm_cargo() {
  local sub="$1"
  shift
  # shellcheck disable=SC2086
  $WASM_CARGO "$sub" $WASM_CARGO_FLAGS --target "$WASM_TARGET" "$@"
}

# The release library build (issue 12, size). With std built from source, std
# is compiled with our release profile (opt-level "z", LTO across it) and the
# immediate-abort panic strategy, and std's optimize_for_size feature (smaller
# sort, integer formatting and float parsing code paths; the same results):
# a panic is a trap, with no message, no
# formatting and no source locations in the module (ARCHITECTURE.md, "No
# panics"). RUSTFLAGS with --target reaches only wasm32 artifacts, not build
# scripts or proc macros. Only this build uses it: `wasm_cargo test` (the
# wasm-bindgen-test steps) keeps its own flags.
wasm_cargo_release() {
  case "$WASM_RELEASE_STD" in
    build-std)
      # shellcheck disable=SC2086
      RUSTC_BOOTSTRAP=1 RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Zunstable-options -Cpanic=immediate-abort" \
        $WASM_CARGO build -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
        --target "$WASM_TARGET" --release --lib "$@"
      ;;
    *)
      wasm_cargo build --release --lib "$@"
      ;;
  esac
}
