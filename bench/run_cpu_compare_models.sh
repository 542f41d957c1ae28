#!/usr/bin/env bash
# bench/run_cpu_compare_models.sh: `loom train` against the same classifiers trained in PyTorch
# (Debian's python3-torch 1.13, bench/torch_train_classifiers.py) on the same CSV, the same
# settings and the same machine, one architecture after the other, loom first and PyTorch straight
# after so that both see the same load. Prints one markdown table: dev accuracy of the best epoch
# (by validation accuracy) and seconds per epoch (median over epochs; training steps plus the
# validation pass in both programs).
#
#   bash bench/run_cpu_compare_models.sh                        # the issue's sentiment140_100k setup
#   ARCHS="cnn lstm" EPOCHS=1 bash bench/run_cpu_compare_models.sh   # a quicker look
#
# Settings (both sides): 5% stratified validation split of train.csv, dev.csv as the test set,
# embed 128, hidden 128, convs 3,4,5 x 100, dropout 0.5, vocabulary 20k from the training split,
# max-len 50, batch 64, Adam(W) lr 1e-3 with weight decay 0, global gradient-norm clipping at 1.0
# (loom's default), seed 42, THREADS CPU threads (default 2). The tokenizers agree (loom's matches
# NLTK's TweetTokenizer token for token: tests/data/test_tokenizer_parity.cc). The splits and the
# initial weights are drawn differently, so accuracies differ by run-to-run noise (~0.005).
# PyTorch runs with AdamW(foreach=True), OMP_WAIT_POLICY=passive and OPENBLAS_NUM_THREADS=1, the
# fastest settings found for it here (its default single-tensor AdamW is slower).
set -euo pipefail
cd "$(dirname "$0")/.."

data=${DATA_DIR:-../shared/data/sentiment140_100k}
archs=${ARCHS:-cnn lstm bilstm cnn-lstm lstm-cnn}
epochs=${EPOCHS:-4}
threads=${THREADS:-2}
build=${BUILD_DIR:-build}
python=${PYTHON:-/usr/bin/python3}  # Debian's interpreter: the one with torch and nltk
out=${OUT_DIR:-$build/bench-results/models}

if [ ! -f "$data/train.csv" ] || [ ! -f "$data/dev.csv" ]; then
  echo "skipped: $data/train.csv or dev.csv not found (the shared sentiment140_100k data set)"
  exit 0
fi
if [ ! -x "$build/loom" ]; then
  echo "no $build/loom: build it first (bash tools/setup.sh, or BUILD_DIR=...)" >&2
  exit 1
fi
mkdir -p "$out"

common=(--embed-dim 128 --hidden 128 --dropout 0.5 --max-vocab 20000 --max-len 50 --batch-size 64
        --epochs "$epochs" --lr 1e-3 --clip-grad-norm 1 --seed 42)
echo "# host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores visible, $threads threads"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); $(date -u +%Y-%m-%dT%H:%MZ)"

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {printf "%.1f\n", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

table="| model | loom dev acc | PyTorch dev acc | loom s/epoch | PyTorch s/epoch | PyTorch / loom time |"$'\n'
table+="|---|---|---|---|---|---|"$'\n'
for arch in $archs; do
  rm -rf "$out/run-$arch"
  "$build/loom" --threads "$threads" train --input "$data/train.csv" --val-split 0.05 --test "$data/dev.csv" \
    --arch "$arch" "${common[@]}" --monitor val_accuracy --patience "$epochs" \
    --ckpt-dir "$out/run-$arch" > "$out/loom-$arch.log" 2>&1
  loom_times=$(sed -n 's/^Epoch [0-9]*\/[0-9]* - \([0-9.]*\)s - .*/\1/p' "$out/loom-$arch.log" | xargs)
  loom_acc=$(awk '/^test:/ {t=1} t && $1 == "accuracy" {print $2; exit}' "$out/loom-$arch.log")

  OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1 "$python" bench/torch_train_classifiers.py \
    --arch "$arch" --input "$data/train.csv" --test "$data/dev.csv" --val-split 0.05 "${common[@]}" \
    --threads "$threads" --cache-dir "$out/token-cache" > "$out/torch-$arch.jsonl"
  # The script's last line is its summary: "<dev accuracy> <epoch seconds...>".
  summary=$("$python" -c 'import json,sys; r = json.loads(open(sys.argv[1]).readlines()[-1]); print(r["test_accuracy"], *r["epoch_seconds"])' "$out/torch-$arch.jsonl")
  read -r torch_acc torch_times <<< "$summary"

  lm=$(echo "$loom_times" | median); tm=$(echo "$torch_times" | median)
  echo "# $arch: loom epochs [$loom_times] s, dev $loom_acc; torch epochs [$torch_times] s, dev $torch_acc"
  table+="| $arch | $loom_acc | $torch_acc | $lm | $tm | $(awk -v a="$tm" -v b="$lm" 'BEGIN {printf "%.2fx", a / b}') |"$'\n'
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%s' "$table"
