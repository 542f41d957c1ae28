#!/usr/bin/env bash
# bench/run_cpu_compare_conv.sh: loom's CPU Conv1d and text-CNN block against Debian's PyTorch
# (python3-torch 1.13: nn.Conv1d through oneDNN) on the same points with the same thread count, in
# one run, as one markdown table with ratios. The LSTM's twin is bench/run_cpu_compare.sh.
#
#   bench/run_cpu_compare_conv.sh                 # THREADS=2 REPS=20 BUILD_DIR=build-bench by default
#   THREADS=1 REPS=50 BUILD_DIR=build bench/run_cpu_compare_conv.sh
#
# Points (F32, forward-only and forward+backward each): the issue's CPU target, conv B 64, T 50,
# C 128, F 100, K 3 (target: fwd+bwd >= 1.0x torch, same threads), its neighbours C 300, K 5,
# F 256, B 32, T 100, B 256, and Kim's block of widths 3, 4, 5 x 100 filters at C 128 and C 300.
# Each point is timed for torch and then for loom straight after, so both see the same machine
# load (the machine is shared); the load average is printed before and after the run.
#
# Settings, printed by both programs:
#   loom: OMP_WAIT_POLICY=passive in its environment before it starts (libgomp reads it at load;
#         the `loom` binary re-executes itself to get it, the bench relies on this script).
#         LOOM_NUM_THREADS=$THREADS; OpenBLAS's thread count is set by loom (one pool, never nested).
#   torch: torch.set_num_threads($THREADS), run twice per point: in the inherited environment
#         (what a user gets) and with TORCH_TUNED_ENV (default OMP_WAIT_POLICY=passive). The ratio
#         is taken against the FASTER of the two; both rows are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-2}
reps=${REPS:-20}
tuned_env=${TORCH_TUNED_ENV:-OMP_WAIT_POLICY=passive}
build=${BUILD_DIR:-build-bench}
python=${PYTHON:-/usr/bin/python3}  # Debian's interpreter: the one with torch
out=${OUT_DIR:-$build/bench-results}
mkdir -p "$out"
torch_json=$out/conv_cpu_torch.jsonl
loom_json=$out/conv_cpu_loom.jsonl
rm -f "$torch_json" "$loom_json"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=OFF -DLOOM_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_conv1d -j 1 | tail -1

export LOOM_NUM_THREADS=$threads
echo "# host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores visible"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "# env: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-(unset)}" \
     "OMP_NUM_THREADS=${OMP_NUM_THREADS:-(unset)} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)}" \
     "LOOM_NUM_THREADS=$LOOM_NUM_THREADS; threads $threads, reps $reps; loom runs with OMP_WAIT_POLICY=passive"

#        op     B   T   C   F   K or widths
points=("conv   64  50  128 100 3"
        "conv   64  50  300 100 3"
        "conv   64  50  128 100 5"
        "conv   64  50  128 256 3"
        "conv   32  50  128 100 3"
        "conv   64  100 128 100 3"
        "conv   256 50  128 100 3"
        "block  64  50  128 100 3,4,5"
        "block  64  50  300 100 3,4,5")

status=0
table=$out/conv_cpu_table.md
: > "$table"
first=1
for p in "${points[@]}"; do
  read -r op B T C F K <<<"$p"
  args=(--device cpu --op "$op" --B "$B" --T "$T" --C "$C" --F "$F" --threads "$threads" --reps "$reps" --dtype f32)
  if [ "$op" = conv ]; then args+=(--K "$K"); else args+=(--widths "$K"); fi
  for setting in default tuned; do
    case $setting in
      default) run=("$python" bench/torch_reference_conv.py "${args[@]}") ;;
      tuned) run=(env $tuned_env "$python" bench/torch_reference_conv.py "${args[@]}") ;;
    esac
    # A torch failure (reported in its JSON status) leaves loom's row without a ratio, not the run.
    if [ $first = 1 ]; then
      { "${run[@]}" --json "$torch_json" 2>/dev/null || true; } | grep '^#'
    else
      "${run[@]}" --json "$torch_json" >/dev/null 2>&1 || echo "# torch ($setting) failed at: $p"
    fi
  done
  # The bench prints its settings (lines starting with #) and a table; keep the header once.
  # A FAIL or error row makes the bench exit 1: keep going, show it in the table, exit 1 at the end.
  OMP_WAIT_POLICY=passive "$build/bench_conv1d" "${args[@]}" --json "$loom_json" --torch-json "$torch_json" \
    2>/dev/null > "$out/last_conv.txt" || status=1
  if [ $first = 1 ]; then grep '^#' "$out/last_conv.txt"; grep '^|' "$out/last_conv.txt" >> "$table"; else
    grep '^|' "$out/last_conv.txt" | tail -n +3 >> "$table"; fi
  first=0
done

echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo
echo "ours/torch: loom's median time over torch's (< 1: loom is faster); torch/ours: the speedup, against"
echo "torch's faster setting. TFLOP/s from the kernels' cost formulas; the block's backward is credited"
echo "with its sparse work only (textcnn_bwd_cost), so dense backwards (composed, torch) read low."
cat "$table"
echo
echo "JSON lines: $loom_json (loom, with torch_ms_median and ratio_vs_torch) and $torch_json (torch)"
exit $status
