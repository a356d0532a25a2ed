#!/usr/bin/env bash
# A short fuzzing run of both targets (parse, rules), as CI does it: builds
# them on the stable toolchain with libFuzzer's coverage instrumentation (no
# sanitizer: kb has no unsafe code on these paths, so a panic is the failure
# looked for), seeds them with the shipped corpus and the XSS fixtures, and
# runs each for KB_FUZZ_RUNS inputs (default 30000, about 30 s here).
#
# A crash stops the run with the target's panic message and leaves the input
# in fuzz/artifacts/<target>/ (replay: `…/release/<target> <file>`).
# Longer runs: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O parse`.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${KB_FUZZ_RUNS:-30000}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="${KB_FUZZ_TARGET_DIR:-fuzz/target}"

# What cargo-fuzz passes with `--sanitizer none`, plus debug assertions and
# overflow checks; `--target` keeps the flags off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$triple" --target-dir "$target_dir"

seeds=(corpus tests/e2e/fixtures)
for t in parse rules; do
  work="$(mktemp -d)"
  mkdir -p "fuzz/artifacts/$t"
  echo "fuzz $t: $runs runs"
  if ! "$target_dir/$triple/release/$t" -seed=1 -runs="$runs" -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" "$work" "${seeds[@]}" >"$work.log" 2>&1; then
    grep -v '^#[0-9]' "$work.log" | tail -40
    echo "fuzz $t: FAILED; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E '^(Done|stat::(new_units_added|average_exec_per_sec))' "$work.log"
  rm -rf "$work" "$work.log"
done
