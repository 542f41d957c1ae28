#!/usr/bin/env bash
# tools/gpu_check/4_bench.sh: the LSTM and conv1d benches at the issue's target points, with short
# fixed repetition counts so both families fit the step's budget. Per family, PyTorch first (its own
# cuDNN, same shapes, dtypes and TF32 settings, and for bf16/f16 also under torch.autocast:
# bench/torch_reference*.py), then loom's bench with
# those timings joined in, so every ratio comes from this one run on this one GPU.
#
# Each of the four runs gets a quarter of the budget (under 160 s, PyTorch is skipped); JSON lines are appended per point as they are
# measured (4_torch.jsonl, 4_loom.jsonl), so a run stopped at its limit keeps what it timed. The dry
# run skips PyTorch (no GPU for it) and runs loom's benches with --quick and one repetition: it
# proves the harness, not the speed.
set -uo pipefail
source "$(dirname "$0")/env.sh"

budget=$(gc_budget 300)
# With little time left (a long build), loom's own numbers come first: PyTorch is dropped and
# loom's two benches share the budget.
with_torch=0
[ "$gc_mode" = gpu ] && [ "$budget" -ge 160 ] && with_torch=1
if [ "$with_torch" = 1 ]; then slice=$((budget / 4 - 5)); else slice=$((budget / 2 - 5)); fi
torch_json=$gc_out/4_torch.jsonl
loom_json=$gc_out/4_loom.jsonl
if [ "$gc_mode" = gpu ]; then
  reps=(--grid targets --reps "${LOOM_GPU_CHECK_REPS:-20}" --warmup 3)
else
  reps=(--quick --reps 1 --warmup 0)
fi
# A fresh run of this step measures afresh: points of an earlier run would mix into the ratios.
: > "$torch_json"
: > "$loom_json"
status=0

for family in lstm conv1d; do
  script=bench/torch_reference.py
  [ "$family" = conv1d ] && script=bench/torch_reference_conv.py
  gc_section "step 4: $family, PyTorch reference"
  if [ "$with_torch" = 1 ]; then
    # --autocast: the bf16/f16 points also run under torch.autocast (PyTorch's mixed precision, the
    # peer of loom's --precision), besides the module stored in that dtype.
    PYTHONUNBUFFERED=1 gc_run "$slice" python3 "$script" --device cuda "${reps[@]}" --autocast --json "$torch_json" \
      || echo "PyTorch reference for $family failed or timed out: loom's rows will have no ratio"
  elif [ "$gc_mode" = gpu ]; then
    echo "skipped: $budget s is too little for PyTorch and loom both"
  else
    echo "dry run: skipped (PyTorch has no GPU here)"
  fi

  gc_section "step 4: $family, loom (--device $gc_device)"
  bench=$gc_build/bench_$family
  if [ ! -x "$bench" ]; then
    echo "$bench was not built (step 1)"
    status=1
    continue
  fi
  torch_opt=()
  [ -s "$torch_json" ] && torch_opt=(--torch-json "$torch_json")
  gc_run "$slice" "$bench" --device "$gc_device" "${reps[@]}" --json "$loom_json" "${torch_opt[@]}" || status=1
done
exit "$status"
