#!/usr/bin/env bash
# tools/demo.sh: the README's main job, end to end on the bundled synthetic tweet corpus:
#   build (if needed) -> loom synth -> loom train --arch lstm-cnn -> loom eval -> loom predict.
# Runs on the GPU when there is one (--device auto), else on the CPU, where it takes well under
# three minutes on 2 cores (about 13 s of training: 14,400 tweets, 5 epochs).
#
#   bash tools/demo.sh                 # everything under runs/demo/
#   OUT=/tmp/demo bash tools/demo.sh   # elsewhere
# Extra arguments go to `loom train` (e.g. --arch bow to see the bag-of-words baseline fall short).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-runs/demo}
ROWS=${ROWS:-20000}
EPOCHS=${EPOCHS:-5}
LOOM="$BUILD_DIR/loom"

if [ -f "$BUILD_DIR/build.ninja" ]; then
  cmake --build "$BUILD_DIR" --target loom | tail -1  # an existing build is brought up to date (seconds)
else
  echo "== building loom (tools/setup.sh) =="
  BUILD_DIR="$BUILD_DIR" bash tools/setup.sh
fi

start=$(date +%s)
echo "== 1. a synthetic tweet corpus: $ROWS labeled rows (labels depend on negation, 'but', intensifiers) =="
"$LOOM" synth --out "$OUT/data" --rows "$ROWS" --seed 42

echo
echo "== 2. train lstm-cnn on $OUT/data/train.csv (10% held out for validation) =="
rm -rf "$OUT/model"  # a run folder is never overwritten by a new run
"$LOOM" train --input "$OUT/data/train.csv" --id-col id --arch lstm-cnn --epochs "$EPOCHS" --test-split 0 \
  --ckpt-dir "$OUT/model" "$@"

echo
echo "== 3. evaluate on the held-out $OUT/data/test.csv =="
"$LOOM" eval --model "$OUT/model" --input "$OUT/data/test.csv" --output "$OUT/eval.json"

echo
echo "== 4. predict a few new tweets ($OUT/data/unlabeled.csv) =="
"$LOOM" predict --model "$OUT/model" --input "$OUT/data/unlabeled.csv" --with-text --output "$OUT/predictions.csv"
cat "$OUT/predictions.csv"

echo
echo "done in $(( $(date +%s) - start )) s. The model, its metrics.csv and training curves are in $OUT/model;"
echo "the evaluation as JSON in $OUT/eval.json and the predictions in $OUT/predictions.csv."
