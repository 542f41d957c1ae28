#!/usr/bin/env bash
# bench/bench_conv1d.sh (installed as build*/bench_conv1d): the old name of `loom bench conv1d` and
# `loom bench textcnn`, kept for scripts (tools/gpu_check/). --op conv runs conv1d, --op block
# textcnn, --op all (the default) both; --json (which here meant "append JSON lines") becomes
# --jsonl; --K goes to conv1d only and --widths to textcnn only; --report prints one report.
set -uo pipefail
loom="$(dirname "$0")/loom"
op=all
rest=()
while [ $# -gt 0 ]; do
  case $1 in
    --op) op=$2; shift 2 ;;
    --json) rest+=(--jsonl); shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
case $op in
  conv) families=(conv1d) ;;
  block) families=(textcnn) ;;
  all) families=(conv1d textcnn) ;;
  *) echo "bench_conv1d: --op takes conv, block or all, got '$op'" >&2; exit 2 ;;
esac
case " ${rest[*]} " in *" --report "*) families=(conv1d) ;; esac
status=0
for family in "${families[@]}"; do
  drop=--widths
  [ "$family" = textcnn ] && drop=--K
  args=()
  skip=0
  for a in "${rest[@]}"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    if [ "$a" = "$drop" ]; then skip=1; continue; fi
    args+=("$a")
  done
  "$loom" bench "$family" "${args[@]}" || status=1
done
exit $status
