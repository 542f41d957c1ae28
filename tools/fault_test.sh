#!/usr/bin/env bash
# tools/fault_test.sh: what a training run leaves behind when it is killed or its disk fills up
# (issue 16, "Faults during training"). CPU only; a tiny lstm-cnn on the synthetic corpus.
#
#   bash tools/fault_test.sh              # 20 kill -9 trials and the disk-full check
#   TRIALS=5 bash tools/fault_test.sh     # fewer trials (CI)
#
# 1. kill -9 at random moments. A reference run trains 4 epochs undisturbed. Each trial starts the
#    same run and kills it with SIGKILL after a random delay drawn over the reference's duration.
#    LOOM_TEST_SLOW_WRITES_MS (io/atomic_file.cc) pauses each file write half way, so that many
#    kills land inside a checkpoint write (the trial then finds a *.tmp.<pid> file). After the kill:
#      - every .safetensors file in the folder is whole (header and data inside the file);
#      - when an epoch had been committed (trainer_state.json), `loom eval` loads the model;
#      - `loom train --resume` (or, when no epoch had finished, the same command again) runs to the
#        end, and last/best/optimizer.safetensors and trainer_state.json equal the reference's bytes.
# 2. Disk full. The run folder is a tmpfs sized so that epoch 1's checkpoint fits and epoch 2's
#    does not: `loom train` must stop with an error naming the file and the reason, leave epoch 1's
#    files as an undisturbed 1-epoch run writes them, and `--resume` must finish once there is
#    room. Needs permission to mount a tmpfs (root in a container); skipped with a message otherwise.
#
# Knobs: TRIALS (20), BUILD_DIR (build), OUT (a fresh temporary folder), SEED (1), SLOW_MS (150).
# Exit status: 0 when every check passed, 1 otherwise (the failing checks are listed).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TRIALS=${TRIALS:-20}
SEED=${SEED:-1}
SLOW_MS=${SLOW_MS:-150}
OUT=${OUT:-$(mktemp -d /tmp/loom-fault.XXXXXX)}
LOOM="$BUILD_DIR/loom"
PYTHON=${PYTHON:-python3}
[ -x "$LOOM" ] || { echo "fault_test: $LOOM not found: build first (bash tools/test.sh)"; exit 1; }
mkdir -p "$OUT"
failures=()
fail() { failures+=("$1"); echo "  FAIL: $1"; }

"$LOOM" synth --out "$OUT/data" --rows 3000 --seed 7 > /dev/null
# A constant learning rate: epoch 1's weights are then the same whatever --epochs says (part 2).
TRAIN=(train --input "$OUT/data/train.csv" --arch lstm-cnn --embed-dim 24 --hidden 24 --filters 16
       --batch-size 32 --lr 3e-3 --dropout 0.3 --seed 42 --device cpu --threads 1 --test-split 0)

# Every .safetensors file in a folder parses: 8-byte header length, JSON header, each tensor's data
# inside the file. Prints the bad ones.
check_safetensors() {
  [ -d "$1" ] || return 0  # killed before the run folder was created
  "$PYTHON" - "$1" <<'PY'
import json, os, struct, sys
bad = 0
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".safetensors") and not name.endswith(".safetensors.next"):
        continue
    path = os.path.join(sys.argv[1], name)
    size = os.path.getsize(path)
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        for key, t in header.items():
            if key == "__metadata__":
                continue
            begin, end = t["data_offsets"]
            if not (0 <= begin <= end <= size - 8 - n):
                raise ValueError(f"{key} lies outside the file")
        if max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0) != size - 8 - n:
            raise ValueError("the data does not end at the end of the file")
    except Exception as e:
        print(f"{path}: {e}")
        bad += 1
sys.exit(1 if bad else 0)
PY
}

same_as() {  # same_as REF DIR: the four files --resume depends on are byte-identical
  local f ok=0
  for f in last.safetensors best.safetensors optimizer.safetensors trainer_state.json; do
    cmp -s "$1/$f" "$2/$f" || { echo "    $f differs from the uninterrupted run's"; ok=1; }
  done
  return $ok
}

# ---- 1. kill -9 -----------------------------------------------------------------------------------
echo "== 1. kill -9 at random moments: $TRIALS trials =="
# The reference runs with the same pause in each write (it changes no byte), so its duration is
# what the kills are drawn over.
start=$(date +%s.%N)
LOOM_TEST_SLOW_WRITES_MS=$SLOW_MS "$LOOM" "${TRAIN[@]}" --epochs 4 --ckpt-dir "$OUT/ref" > "$OUT/ref.log" 2>&1 \
  || { cat "$OUT/ref.log"; exit 1; }
span=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "reference: 4 epochs in ${span}s with a ${SLOW_MS} ms pause inside each file write; kills drawn over that"
RANDOM=$SEED
mid_write=0; committed=0; none=0; finished=0
printf "%-6s %-8s %-16s %-10s %s\n" trial delay_s state mid-write outcome
for ((trial = 1; trial <= TRIALS; ++trial)); do
  dir="$OUT/t$trial"
  delay=$(awk -v s="$span" -v r="$RANDOM" 'BEGIN { printf "%.2f", s * r / 32767 }')
  LOOM_TEST_SLOW_WRITES_MS=$SLOW_MS "$LOOM" "${TRAIN[@]}" --epochs 4 --ckpt-dir "$dir" > "$dir.log" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  tmp_left=$(find "$dir" -name '*.tmp.*' 2> /dev/null | wc -l)
  [ "$tmp_left" -gt 0 ] && mid_write=$((mid_write + 1))
  if [ -f "$dir/trainer_state.json" ]; then
    epoch=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['epoch'])" "$dir/trainer_state.json")
    state="epoch $epoch saved"
  else
    epoch=0
    state="no epoch saved"
  fi
  check_safetensors "$dir" > "$dir.check" 2>&1 || fail "trial $trial: a partial .safetensors file: $(cat "$dir.check")"
  outcome=""
  if [ "$epoch" -ge 1 ]; then
    committed=$((committed + 1))
    "$LOOM" eval --model "$dir" --input "$OUT/data/test.csv" > "$dir.eval" 2>&1 \
      || fail "trial $trial: loom eval cannot load the killed run: $(tail -1 "$dir.eval")"
  fi
  if [ "$epoch" -ge 4 ]; then
    finished=$((finished + 1))
    outcome="had finished"
  elif [ "$epoch" -ge 1 ]; then
    "$LOOM" train --resume "$dir" > "$dir.resume" 2>&1 || fail "trial $trial: --resume failed: $(tail -1 "$dir.resume")"
    outcome="resumed"
  else
    none=$((none + 1))
    "$LOOM" "${TRAIN[@]}" --epochs 4 --ckpt-dir "$dir" > "$dir.rerun" 2>&1 \
      || fail "trial $trial: running again failed: $(tail -1 "$dir.rerun")"
    outcome="ran again"
  fi
  if same_as "$OUT/ref" "$dir"; then outcome="$outcome, bitwise equal"; else fail "trial $trial: not bitwise equal"; fi
  printf "%-6s %-8s %-16s %-10s %s\n" "$trial" "$delay" "$state" "$([ "$tmp_left" -gt 0 ] && echo yes || echo no)" "$outcome"
done
echo "kills: $TRIALS; inside a file write: $mid_write; after an epoch was saved: $committed (of which the run had" \
     "finished: $finished); before any epoch was saved: $none"

# ---- 2. disk full ---------------------------------------------------------------------------------
echo
echo "== 2. disk full =="
mnt="$OUT/small-disk"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=64k tmpfs "$mnt" 2> /dev/null; then
  echo "skipped: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)"
else
  umount "$mnt"
  "$LOOM" "${TRAIN[@]}" --epochs 1 --ckpt-dir "$OUT/one" > "$OUT/one.log" 2>&1 || { cat "$OUT/one.log"; exit 1; }
  "$LOOM" "${TRAIN[@]}" --epochs 2 --ckpt-dir "$OUT/two" > "$OUT/two.log" 2>&1 || { cat "$OUT/two.log"; exit 1; }
  weights=$(stat -c %s "$OUT/one/last.safetensors")
  used_kb=$(du -sk "$OUT/one" | cut -f1)
  size_kb=$((used_kb + weights / 2048))  # room for epoch 1 and half of one more weights file
  mount -t tmpfs -o "size=${size_kb}k" tmpfs "$mnt"
  echo "run folder on a ${size_kb} KiB tmpfs (epoch 1's folder: ${used_kb} KiB; one weights file: $((weights / 1024)) KiB)"
  "$LOOM" "${TRAIN[@]}" --epochs 2 --ckpt-dir "$mnt/run" > "$OUT/full.log" 2> "$OUT/full.err"
  status=$?
  echo "exit status $status; stderr: $(cat "$OUT/full.err")"
  [ "$status" -ne 0 ] || fail "disk full: loom train did not fail"
  grep -q "No space left on device" "$OUT/full.err" || fail "disk full: the error does not give the reason"
  grep -q "$mnt/run/" "$OUT/full.err" || fail "disk full: the error does not name the file"
  [ "$(wc -l < "$OUT/full.err")" -eq 1 ] || fail "disk full: the error is not one line"
  grep -q "(at " "$OUT/full.err" && fail "disk full: the error shows a source location"
  for f in last.safetensors optimizer.safetensors; do
    cmp -s "$OUT/one/$f" "$mnt/run/$f" || fail "disk full: $f is not epoch 1's"
  done
  check_safetensors "$mnt/run" || fail "disk full: a partial .safetensors file"
  "$LOOM" eval --model "$mnt/run" --input "$OUT/data/test.csv" > /dev/null 2>&1 || fail "disk full: eval cannot load epoch 1"
  mount -o remount,size=16m "$mnt"
  "$LOOM" train --resume "$mnt/run" > "$OUT/full-resume.log" 2>&1 || fail "disk full: --resume failed after freeing space"
  for f in last.safetensors optimizer.safetensors trainer_state.json; do
    cmp -s "$OUT/two/$f" "$mnt/run/$f" || fail "disk full: after --resume, $f differs from an uninterrupted 2-epoch run's"
  done
  echo "epoch 1 intact and loadable; --resume with room finished bitwise equal to an uninterrupted run"
  umount "$mnt"
fi

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "fault_test: all checks passed ($OUT)"
  exit 0
fi
echo "fault_test: ${#failures[@]} check(s) failed:"
printf '  %s\n' "${failures[@]}"
exit 1
