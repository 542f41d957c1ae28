#!/usr/bin/env bash
# bench/run_cpu_compare.sh: loom's CPU LSTM against Debian's PyTorch (python3-torch 1.13) on the
# same points with the same thread count, in one run, as one markdown table with ratios.
#
#   bench/run_cpu_compare.sh                 # THREADS=2 REPS=20 BUILD_DIR=build-bench by default
#   THREADS=1 REPS=50 bench/run_cpu_compare.sh
#
# Points: the issue's CPU target (B 64, T 50, C 128 -> H 256, 1 layer, fwd+bwd, F32) and a few
# neighbours (H 128 and 512, B 32, T 100, and the 2-layer BiLSTM with variable lengths), each
# forward-only and forward+backward. Each point is timed for torch and then for loom straight
# after, so both see the same machine load (the machine is shared). Both programs print their
# thread and BLAS settings.
#
# torch runs three times per point, because on 2 cores its OpenMP threads spin while OpenBLAS's
# own pthreads want the same cores (architecture 11b: 2.7-3.3x), so its settings matter:
#   1. torch.set_num_threads($THREADS) in the inherited environment (what a user gets);
#   2. the same with TORCH_TUNED_ENV (default OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1);
#   3. torch.set_num_threads(1) with OpenBLAS's default $THREADS threads (GEMMs on all cores, one
#      pool at a time: the layout loom uses).
# The ratio is taken against the FASTEST of the three; every row is printed.
# loom runs as the `loom` command does: OMP_WAIT_POLICY=passive unless the caller set a policy
# (bench_lstm restarts itself with it, like tools/loom.cc), and OpenBLAS's thread count set by the
# engine (one pool, never nested), which cpu_gemm_provider() prints.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-2}
reps=${REPS:-20}
tuned_env=${TORCH_TUNED_ENV:-OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1}
build=${BUILD_DIR:-build-bench}
python=${PYTHON:-/usr/bin/python3}  # Debian's interpreter: the one with torch
out=${OUT_DIR:-$build/bench-results}
mkdir -p "$out"
torch_json=$out/lstm_cpu_torch.jsonl
loom_json=$out/lstm_cpu_loom.jsonl
rm -f "$torch_json" "$loom_json"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=OFF -DLOOM_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_lstm -j 1 | tail -1

# The engine's thread count and torch's are both set to $threads; OpenBLAS (used by both) takes
# its count from the caller (loom) or from its own default (torch), so it is printed, not forced.
export LOOM_NUM_THREADS=$threads
echo "# host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores visible"
echo "# env: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-(unset)}" \
     "OMP_NUM_THREADS=${OMP_NUM_THREADS:-(unset)} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)}" \
     "LOOM_NUM_THREADS=$LOOM_NUM_THREADS; threads $threads, reps $reps; load average $(cut -d' ' -f1-3 /proc/loadavg)"

#        reps      H    B   T    C   extra
points=("$reps     256 64  50  128"
        "$reps     128 64  50  128"
        "$reps     512 64  50  128"
        "$reps     256 32  50  128"
        "$reps     256 64  100 128"
        "$((reps / 4 > 3 ? reps / 4 : 3)) 256 64  50  128 --layers 2 --bidirectional --lengths variable")

table=$out/lstm_cpu_table.md
: > "$table"
first=1
for p in "${points[@]}"; do
  read -r n H B T C extra <<<"$p"
  # The BiLSTM point is ~6x the work and torch's packed path is slow: fewer repetitions.
  args=(--device cpu --H "$H" --B "$B" --T "$T" --C "$C" --threads "$threads" --reps "$n" $extra)
  [ "$n" -lt "$reps" ] && args+=(--warmup 1)
  for setting in "default" "tuned" "one"; do
    case $setting in
      default) run=("$python" bench/torch_reference.py "${args[@]}") ;;
      tuned) run=(env $tuned_env "$python" bench/torch_reference.py "${args[@]}") ;;
      one) run=("$python" bench/torch_reference.py "${args[@]}" --torch-threads 1) ;;
    esac
    if [ $first = 1 ]; then
      "${run[@]}" --json "$torch_json" 2>/dev/null | grep '^#'
    else
      "${run[@]}" --json "$torch_json" >/dev/null 2>&1
    fi
  done
  # The bench prints its settings (lines starting with #) and a table; keep the header once.
  "$build/bench_lstm" "${args[@]}" --json "$loom_json" --torch-json "$torch_json" 2>/dev/null > "$out/last.txt"
  if [ $first = 1 ]; then grep '^#' "$out/last.txt"; grep '^|' "$out/last.txt" >> "$table"; else
    grep '^|' "$out/last.txt" | tail -n +3 >> "$table"; fi
  first=0
done

echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: compare rows of one run only)"
echo "ours/torch: loom's median time over torch's (< 1: loom is faster); torch/ours: the speedup."
cat "$table"
echo
echo "JSON lines: $loom_json (loom, with torch_ms_median and ratio_vs_torch) and $torch_json (torch)"
