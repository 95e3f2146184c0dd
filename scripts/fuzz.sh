#!/usr/bin/env bash
# npm run fuzz: runs each cargo-fuzz target (fuzz/fuzz_targets) and prints the
# executions libFuzzer reports. Time per target: 300 s for the JIT targets
# (dag_decode, plan) and the tunnel's frames (tunnel_frames), 600 s for the
# Guacamole ones (guac_parser, guac_client);
# FUZZ_SECONDS overrides all. `npm run fuzz -- guac_parser` runs one.
# Not part of npm test. Needs cargo-fuzz (installed here if missing) and uses
# RUSTC_BOOTSTRAP=1 so that a stable toolchain accepts libFuzzer's -Z flags.
# No AddressSanitizer (`-s none`): the crate is `#![forbid(unsafe_code)]`, so
# ASan has nothing of ours to check, and without it the targets run 5-10x as
# many executions in the same time (coverage instrumentation stays on).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dag_decode plan guac_parser guac_client tunnel_frames)
seconds_for() {
  if [ -n "${FUZZ_SECONDS:-}" ]; then echo "$FUZZ_SECONDS"; return; fi
  case "$1" in guac_*) echo 600 ;; *) echo 300 ;; esac
}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (one time)"
  cargo install cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1

# Seed corpora from the behaviour tables (each case's arguments as JSON).
node -e '
const fs = require("fs"), path = require("path");
for (const t of ["dag_decode", "plan", "guac_parser", "guac_client", "tunnel_frames"]) fs.mkdirSync(path.join("fuzz/corpus", t), { recursive: true });
let n = 0;
for (const f of ["jit-cases.json", "dag-vectors.json"]) {
  for (const c of JSON.parse(fs.readFileSync(path.join("tests/cases", f), "utf8")).cases) {
    const a = c.args[0];
    const text = JSON.stringify(a === undefined ? null : a);
    const target = c.fn === "planLaunch" ? "plan" : "dag_decode";
    const body = target === "plan" ? Buffer.concat([Buffer.from([n % 16]), Buffer.from(text)]) : Buffer.from(text);
    fs.writeFileSync(path.join("fuzz/corpus", target, `seed-${n++}`), body);
  }
}
// Tunnel seeds: frames captured from the Keeper library (docs/tube-framing.md section 6).
const frames = ["00000000000001a20f5ee02b00000006006500000001" + "3b",
  "00000000000001a20f5ede350000000e0002000000004142434445464748" + "3b",
  "00000001000001a20f5ee05f00000012342e6e616d652c382e66616b652d7373683b" + "3b",
  "00000000000001a20f5f63480000002c0066000000010e0023" + Buffer.from("Guacd error: Simulated failure, 519").toString("hex") + "3b"];
fs.writeFileSync(path.join("fuzz/corpus/tunnel_frames", "captured"), Buffer.concat([Buffer.from([100]), Buffer.from(frames.join(""), "hex")]));
// Guacamole seeds: the starts of the real guacd streams.
const dir = "tests/fixtures/guac";
{
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".guac"))) {
    const head = fs.readFileSync(path.join(dir, f)).subarray(0, 3000);
    fs.writeFileSync(path.join("fuzz/corpus/guac_parser", f), Buffer.concat([Buffer.from([128]), head]));
    fs.writeFileSync(path.join("fuzz/corpus/guac_client", f), Buffer.concat([Buffer.from([f.includes("live") ? 0x41 : 0x43]), head]));
  }
}'

summary=()
for t in "${targets[@]}"; do
  secs=$(seconds_for "$t")
  log="fuzz/${t}.log"
  echo "fuzz: ${t} for ${secs}s (log: ${log})"
  if cargo fuzz run -O -s none "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')
    summary+=("fuzz ${t}: ${runs} executions in ${secs}s, no crash")
  else
    tail -40 "$log"
    summary+=("fuzz ${t}: CRASH or failure, see ${log} and fuzz/artifacts/${t}/")
    printf '%s\n' "${summary[@]}"
    exit 1
  fi
done
printf '%s\n' "${summary[@]}"
