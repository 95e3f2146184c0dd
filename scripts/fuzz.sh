#!/usr/bin/env bash
# npm run fuzz: runs each cargo-fuzz target (fuzz/fuzz_targets) for
# FUZZ_SECONDS (default 300) and prints the executions libFuzzer reports.
# Not part of npm test. Needs cargo-fuzz (installed here if missing) and uses
# RUSTC_BOOTSTRAP=1 so that a stable toolchain accepts libFuzzer's -Z flags.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-300}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dag_decode plan)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (one time)"
  cargo install cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1

# Seed corpora from the behaviour tables (each case's arguments as JSON).
node -e '
const fs = require("fs"), path = require("path");
for (const t of ["dag_decode", "plan"]) fs.mkdirSync(path.join("fuzz/corpus", t), { recursive: true });
let n = 0;
for (const f of ["jit-cases.json", "dag-vectors.json"]) {
  for (const c of JSON.parse(fs.readFileSync(path.join("tests/cases", f), "utf8")).cases) {
    const a = c.args[0];
    const text = JSON.stringify(a === undefined ? null : a);
    const target = c.fn === "planLaunch" ? "plan" : "dag_decode";
    const body = target === "plan" ? Buffer.concat([Buffer.from([n % 16]), Buffer.from(text)]) : Buffer.from(text);
    fs.writeFileSync(path.join("fuzz/corpus", target, `seed-${n++}`), body);
  }
}'

summary=()
for t in "${targets[@]}"; do
  log="fuzz/${t}.log"
  echo "fuzz: ${t} for ${secs}s (log: ${log})"
  if cargo fuzz run -O "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
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
