#!/usr/bin/env bash
# tools/gpu_check/3_selftest.sh: the program as a user runs it. `loom doctor` (what the binary sees:
# devices, cuDNN and cuBLAS versions), `loom selftest` (an MLP must fit a small set on the CPU and on
# every GPU), then the demo's job on the GPU: a synthetic tweet corpus, `loom train --arch lstm-cnn`
# (embedding, LSTM, conv1d, pooling, loss and AdamW kernels in one model), `loom eval`.
#
# The demo corpus is smaller in the dry run, where every CUDA thread is simulated on the CPU (1000
# rows took 207 s of training on 2 cores, too close to the 300 s limit); the flags are otherwise
# the same. Its files go to the build folder, not the output folder (8 files).
set -uo pipefail
source "$(dirname "$0")/env.sh"

loom=$gc_build/loom
if [ ! -x "$loom" ]; then
  echo "step 3: $loom was not built (step 1); nothing to run"
  exit 2
fi
budget=$(gc_budget 300)
start=$(date +%s)
# left RESERVE: the seconds of the budget not yet spent, less RESERVE for what follows (at least 10).
left() { local l=$((budget - ($(date +%s) - start) - $1)); echo $((l < 10 ? 10 : l)); }
if [ "$gc_mode" = gpu ]; then rows=${LOOM_GPU_CHECK_ROWS:-20000} epochs=2; else rows=${LOOM_GPU_CHECK_ROWS:-500} epochs=1; fi
demo=$gc_build/gpu_check_demo
status=0

gc_section "step 3: loom doctor"
gc_run 30 "$loom" doctor || status=1

gc_section "step 3: loom selftest"
gc_run "$((budget / 3))" "$loom" selftest || status=1

gc_section "step 3: loom train on the synthetic corpus ($rows rows, $epochs epochs, --device $gc_device)"
rm -rf "$demo"
gc_run 30 "$loom" synth --out "$demo/data" --rows "$rows" --seed 42 || status=1
# Training gets what is left, less a margin for eval.
gc_run "$(left 35)" "$loom" train --input "$demo/data/train.csv" --id-col id --arch lstm-cnn --epochs "$epochs" \
  --test-split 0 --device "$gc_device" --seed 42 --ckpt-dir "$demo/model" || status=1

gc_section "step 3: loom eval on the held-out split"
if [ -d "$demo/model" ]; then
  gc_run "$(left 5)" "$loom" eval --model "$demo/model" --input "$demo/data/test.csv" --output "$demo/eval.json" || status=1
else
  echo "no trained model to evaluate"
  status=1
fi
[ "$status" = 0 ] && echo "selftest step: OK" || echo "selftest step: FAILED"
exit "$status"
