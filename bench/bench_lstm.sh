#!/usr/bin/env bash
# bench/bench_lstm.sh (installed as build*/bench_lstm): the old name of `loom bench lstm`, kept for
# scripts (tools/gpu_check/). It runs the `loom` next to it with the same arguments; --json, which
# here always meant "append JSON lines", becomes --jsonl. Every other flag is `loom bench lstm`'s own
# or one of its aliases (--B, --T, --C, --H, --reps, --phase, --quick, --grid targets).
set -euo pipefail
args=()
for a in "$@"; do
  if [ "$a" = --json ]; then args+=(--jsonl); else args+=("$a"); fi
done
exec "$(dirname "$0")/loom" bench lstm "${args[@]}"
