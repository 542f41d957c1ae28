#!/usr/bin/env bash
# bench/run_cpu_compare.sh: loom against Debian's PyTorch (python3-torch 1.13) on the CPU, on the
# same machine with the same thread count, in one run, printed as one markdown table.
#
#   bash bench/run_cpu_compare.sh lstm      # `loom bench lstm` (with its in-process libtorch peer when
#                                           #   built with -DLOOM_TORCH=ON) and torch.nn.LSTM through
#                                           #   Python (bench/torch_reference.py) as a second opinion
#   bash bench/run_cpu_compare.sh conv1d    # `loom bench conv1d|textcnn` and nn.Conv1d / the text-CNN
#                                           #   block through Python (bench/torch_reference_conv.py)
#   bash bench/run_cpu_compare.sh models    # `loom train` vs the same classifiers trained in PyTorch
#                                           #   (bench/torch_train_classifiers.py) on sentiment140_100k
#   bash bench/run_cpu_compare.sh precision # `loom train --precision fp32` vs `--precision bf16`
#                                           #   (SEEDS, default "42 43") and PyTorch under
#                                           #   torch.autocast("cpu", bfloat16), same data and modules
#
# Knobs (environment): THREADS (2), REPS (20), ROUNDS (lstm 1, conv1d 3), BUILD_DIR (build; the
# `loom` binary of that build runs every mode), PYTHON_PEER (1: also time the Python torch peer;
# 0: only loom and its in-process libtorch peer), OUT_DIR ($BUILD_DIR/bench-results), PYTHON (/usr/bin/python3: Debian's
# interpreter, the one with torch), TORCH_TUNED_ENV; for models and precision DATA_DIR, ARCHS and
# EPOCHS (4); for precision also SEEDS ("42 43", loom's runs) and TORCH_EPOCHS (EPOCHS: PyTorch's
# autocast run, once per architecture at the first seed; only its epoch time enters the table) and
# HIDDEN (128: the LSTM width of both programs).
#   THREADS=1 REPS=50 bash bench/run_cpu_compare.sh lstm
#   BUILD_DIR=build ROUNDS=1 REPS=3 bash bench/run_cpu_compare.sh conv1d     # a quick look
#   ARCHS="cnn lstm" EPOCHS=1 bash bench/run_cpu_compare.sh models
#
# lstm points: the issue's CPU target (B 64, T 50, C 128 -> H 256, 1 layer, fwd+bwd, F32) and a
# few neighbours (H 128 and 512, B 32, T 100, and the 2-layer BiLSTM with variable lengths), each
# forward-only and forward+backward.
# conv1d points (F32, forward-only and forward+backward each): the issue's CPU target, conv B 64,
# T 50, C 128, F 100, K 3 (target: fwd+bwd >= 1.0x torch, same threads), its neighbours C 300,
# K 5, F 256, B 32, T 100, B 256, and Kim's block of widths 3, 4, 5 x 100 filters at C 128 and 300.
#
# Each point is timed for torch and then for loom straight after, so both see the same machine
# load (the machine is shared). Why rounds: on this shared 2-core machine a whole process can run
# ~1.5-3x slower than the next one with identical settings (torch's CPU conv is bimodal per
# process: the conv target's fwd+bwd takes either ~3 ms or ~9 ms and stays there; loom's speed
# drifts with the host's load over minutes). So every point is run ROUNDS times, each in fresh
# processes; the conv table keeps the FASTEST process of each side and each setting
# (`loom bench conv1d --report`) and lists every loom run's median. The load average is printed before
# and after.
#
# Settings, printed by both programs:
#   loom: its own OpenMP wait policy (core/parallel.h: libgomp's default with oneDNN, the default
#         CPU GEMM; OMP_WAIT_POLICY=passive, by re-executing itself, with OpenBLAS), except the conv
#         points, which set passive as they were first measured. LOOM_NUM_THREADS=$THREADS; OpenBLAS's
#         thread count is set by loom (one pool, never nested), which cpu_gemm_provider() prints.
#   torch: torch.set_num_threads($THREADS), in several settings per point, because on 2 cores its
#         OpenMP threads spin while OpenBLAS's own pthreads want the same cores (2.7-3.3x):
#           default: the inherited environment (what a user gets);
#           tuned:   TORCH_TUNED_ENV (default OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1);
#           one (lstm only): torch.set_num_threads(1) with OpenBLAS's default $THREADS threads
#                    (GEMMs on all cores, one pool at a time: the layout loom uses).
#         The ratio is taken against the FASTEST setting; every one is printed.
#
# models: dev accuracy of the best epoch (by validation accuracy) and seconds per epoch (median
# over epochs; training steps plus the validation pass in both programs), one architecture after
# the other, loom first and PyTorch straight after. Settings (both sides): 5% stratified validation
# split of train.csv, dev.csv as the test set, embed 128, hidden 128, convs 3,4,5 x 100, dropout
# 0.5, vocabulary 20k from the training split, max-len 50, batch 64, Adam(W) lr 1e-3 with weight
# decay 0, global gradient-norm clipping at 1.0 (loom's default), seed 42. The tokenizers agree
# (loom's matches NLTK's TweetTokenizer token for token: tests/data/test_tokenizer_parity.cc). The
# splits and the initial weights are drawn differently, so accuracies differ by run-to-run noise
# (~0.005). PyTorch runs with AdamW(foreach=True), OMP_WAIT_POLICY=passive and
# OPENBLAS_NUM_THREADS=1, the fastest settings found for it here (its default single-tensor AdamW
# is slower).
set -euo pipefail
cd "$(dirname "$0")/.."

family=${1:-}
case $family in
  lstm | conv1d | models | precision) ;;
  *)
    echo "usage: bash bench/run_cpu_compare.sh lstm|conv1d|models|precision   (knobs: see the comment at the top)" >&2
    exit 2
    ;;
esac

threads=${THREADS:-2}
reps=${REPS:-20}
tuned_env=${TORCH_TUNED_ENV:-OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1}
python=${PYTHON:-/usr/bin/python3}
build=${BUILD_DIR:-build}
python_peer=${PYTHON_PEER:-1}

load() { cut -d' ' -f1-3 /proc/loadavg; }

# The host and the threading environment both programs start from.
print_settings() {
  echo "# host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores visible"
  echo "# load before: $(load) (1, 5, 15 min); $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "# env: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-(unset)}" \
       "OMP_NUM_THREADS=${OMP_NUM_THREADS:-(unset)} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)}; threads $threads" "$@"
}

# Configures $build if needed and builds one target of it.
build_target() {
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=OFF -DLOOM_TESTS=OFF >/dev/null
  fi
  cmake --build "$build" --target "$1" -j 1 | tail -1
}

# time_torch SCRIPT SETTINGS ARGS...: torch at one point in each setting, appended to $torch_json.
# The run's first point also prints torch's settings (its lines starting with #). A torch failure
# (reported in its JSON status) leaves loom's row without a ratio, not the run.
time_torch() {
  local script=$1 settings=$2 setting
  local -a run
  shift 2
  [ "$python_peer" = 1 ] || return 0
  for setting in $settings; do
    case $setting in
      default) run=("$python" "bench/$script" "$@") ;;
      tuned) run=(env $tuned_env "$python" "bench/$script" "$@") ;;
      one) run=("$python" "bench/$script" "$@" --torch-threads 1) ;;
    esac
    if [ "$first" = 1 ]; then
      { "${run[@]}" --json "$torch_json" 2>/dev/null || true; } | grep '^#' || echo "# torch ($setting) failed at: $*"
    else
      "${run[@]}" --json "$torch_json" >/dev/null 2>&1 || echo "# torch ($setting) failed at: $*"
    fi
  done
}

# torch_opt: the --torch-json option once torch has written its file (without torch: loom's rows alone).
set_torch_opt() {
  torch_opt=()
  if [ -s "$torch_json" ]; then torch_opt=(--torch-json "$torch_json"); fi
}

compare_lstm() {
  #        reps      H    B   T    C   extra
  local points=("$reps     256 64  50  128"
                "$reps     128 64  50  128"
                "$reps     512 64  50  128"
                "$reps     256 32  50  128"
                "$reps     256 64  100 128"
                "$((reps / 4 > 3 ? reps / 4 : 3)) 256 64  50  128 --layers 2 --bidirectional --lengths variable")
  local table=$out/lstm_cpu_table.md p n H B T C extra round
  local -a args
  : > "$table"
  for round in $(seq 1 "$rounds"); do
    for p in "${points[@]}"; do
      read -r n H B T C extra <<<"$p"
      # The BiLSTM point is ~6x the work and torch's packed path is slow: fewer repetitions.
      args=(--device cpu --H "$H" --B "$B" --T "$T" --C "$C" --threads "$threads" --reps "$n" $extra)
      [ "$n" -lt "$reps" ] && args+=(--warmup 1)
      time_torch torch_reference.py "default tuned one" "${args[@]}"
      # The bench prints its settings (lines starting with #) and a table; keep the header once.
      # (torch_reference.py's --lengths variable is loom's --lengths mixed; both spellings work.)
      set_torch_opt
      "$build/loom" bench lstm "${args[@]}" --jsonl "$loom_json" "${torch_opt[@]}" 2>/dev/null \
        > "$out/last_lstm.txt" || status=1
      if [ "$first" = 1 ]; then grep '^#' "$out/last_lstm.txt"; grep '^|' "$out/last_lstm.txt" | head -2 > "$out/first_table.txt"; fi
      grep '^|' "$out/last_lstm.txt" | tail -n +3 >> "$table"
      first=0
    done
    echo "# round $round of $rounds done; load $(load)"
  done
  echo "# load after: $(load) (the machine is shared: compare rows of one run only)"
  echo
  echo "vs libtorch: the in-process libtorch peer's median over loom's (> 1: loom is faster; '-' without"
  echo "the peer). torch.py/* rows: torch.nn.LSTM timed through Python in each setting, a second opinion."
  head -2 "$out/first_table.txt" 2>/dev/null
  cat "$table"
}

compare_conv1d() {
  #        op     B   T   C   F   K or widths
  local points=("conv   64  50  128 100 3"
                "conv   64  50  300 100 3"
                "conv   64  50  128 100 5"
                "conv   64  50  128 256 3"
                "conv   32  50  128 100 3"
                "conv   64  100 128 100 3"
                "conv   256 50  128 100 3"
                "block  64  50  128 100 3,4,5"
                "block  64  50  300 100 3,4,5")
  local p op B T C F K round
  local -a args
  for round in $(seq 1 "$rounds"); do
    for p in "${points[@]}"; do
      read -r op B T C F K <<<"$p"
      args=(--device cpu --B "$B" --T "$T" --C "$C" --F "$F" --threads "$threads" --reps "$reps" --dtype f32)
      if [ "$op" = conv ]; then args+=(--K "$K"); else args+=(--widths "$K"); fi
      time_torch torch_reference_conv.py "default tuned" --op "$op" "${args[@]}"
      OMP_WAIT_POLICY=passive "$build/loom" bench "$([ "$op" = conv ] && echo conv1d || echo textcnn)" "${args[@]}" \
        --jsonl "$loom_json" 2>/dev/null > "$out/last_conv.txt" || status=1
      [ "$first" = 1 ] && grep '^#' "$out/last_conv.txt"
      first=0
    done
    echo "# round $round of $rounds done; load $(load)"
  done
  echo "# load after: $(load) (1, 5, 15 min)"
  echo
  echo "ours/torch: loom's median time over torch's (< 1: loom is faster); torch/ours: the speedup, against"
  echo "torch's faster setting. Each side: the fastest of $rounds processes (every loom run's median is listed)."
  echo "TFLOP/s from the kernels' cost formulas; the block's backward is credited with its sparse work only"
  echo "(textcnn_bwd_cost), so dense backwards (composed, torch) read low."
  set_torch_opt
  "$build/loom" bench conv1d --report "$loom_json" "${torch_opt[@]}" | tee "$out/conv_cpu_table.md" || status=1
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {printf "%.1f\n", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

compare_models() {
  local data=${DATA_DIR:-../shared/data/sentiment140_100k} archs=${ARCHS:-cnn lstm bilstm cnn-lstm lstm-cnn}
  local epochs=${EPOCHS:-4} arch loom_times loom_acc summary torch_acc torch_times lm tm
  if [ ! -f "$data/train.csv" ] || [ ! -f "$data/dev.csv" ]; then
    echo "skipped: $data/train.csv or dev.csv not found (the shared sentiment140_100k data set)"
    return
  fi
  if [ ! -x "$build/loom" ]; then
    echo "no $build/loom: build it first (bash tools/setup.sh, or BUILD_DIR=...)" >&2
    exit 1
  fi
  local common=(--embed-dim 128 --hidden 128 --dropout 0.5 --max-vocab 20000 --max-len 50 --batch-size 64
                --epochs "$epochs" --lr 1e-3 --clip-grad-norm 1 --seed 42)
  local table="| model | loom dev acc | PyTorch dev acc | loom s/epoch | PyTorch s/epoch | PyTorch / loom time |"$'\n'
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
  echo "# load after: $(load)"
  echo
  printf '%s' "$table"
}

# precision: per architecture and seed, loom fp32 and loom bf16 back to back (the same load; the
# order alternates between seeds, ABBA, against drift), then PyTorch's autocast(bfloat16) run of the
# same module once. Epoch time: the median over the
# run's epochs (training steps plus the validation pass); dev accuracy: the best epoch's, on dev.csv;
# both averaged over the seeds. The issue's targets: bf16 time <= 0.75x fp32, |dev acc difference|
# <= 0.005, and loom bf16 faster than PyTorch autocast bf16.
compare_precision() {
  local data=${DATA_DIR:-../shared/data/sentiment140_100k} archs=${ARCHS:-lstm bilstm lstm-cnn}
  local epochs=${EPOCHS:-4} seeds=${SEEDS:-42 43} arch seed prec log times acc first_seed summary
  if [ ! -f "$data/train.csv" ] || [ ! -f "$data/dev.csv" ]; then
    echo "skipped: $data/train.csv or dev.csv not found (the shared sentiment140_100k data set)"
    return
  fi
  if [ ! -x "$build/loom" ]; then
    echo "no $build/loom: build it first (bash tools/setup.sh, or BUILD_DIR=...)" >&2
    exit 1
  fi
  local common=(--embed-dim 128 --hidden "${HIDDEN:-128}" --dropout 0.5 --max-vocab 20000 --max-len 50 --batch-size 64
                --lr 1e-3 --clip-grad-norm 1)
  echo "# hidden ${HIDDEN:-128}, epochs $epochs, seeds $seeds"
  local table="| model | fp32 s/epoch | bf16 s/epoch | bf16 / fp32 time | fp32 dev acc | bf16 dev acc | bf16 - fp32 acc | PyTorch autocast bf16 s/epoch | PyTorch / loom bf16 time |"$'\n'
  table+="|---|---|---|---|---|---|---|---|---|"$'\n'
  for arch in $archs; do
    declare -A med=() accsum=()
    for prec in fp32 bf16; do med[$prec]=""; accsum[$prec]=0; done
    local order="fp32 bf16" nth=0
    for seed in $seeds; do
      # ABBA: the order flips from one seed to the next, so a host that drifts slower (or faster)
      # over the run does not always hand the same precision the slower half.
      if [ $((nth % 2)) -eq 0 ]; then order="fp32 bf16"; else order="bf16 fp32"; fi
      nth=$((nth + 1))
      for prec in $order; do
        log="$out/loom-$arch-$prec-$seed.log"
        rm -rf "$out/run-$arch-$prec-$seed"
        "$build/loom" --threads "$threads" train --input "$data/train.csv" --val-split 0.05 --test "$data/dev.csv" \
          --arch "$arch" "${common[@]}" --epochs "$epochs" --seed "$seed" --precision "$prec" \
          --monitor val_accuracy --patience "$epochs" --ckpt-dir "$out/run-$arch-$prec-$seed" > "$log" 2>&1 || status=1
        times=$(sed -n 's/^Epoch [0-9]*\/[0-9]* - \([0-9.]*\)s - .*/\1/p' "$log" | xargs)
        acc=$(awk '/^test:/ {t=1} t && $1 == "accuracy" {print $2; exit}' "$log")
        echo "# $arch $prec seed $seed: epochs [$times] s, dev ${acc:-?}; load $(load)"
        med[$prec]+="$(echo "$times" | median) "
        accsum[$prec]=$(awk -v a="${accsum[$prec]}" -v b="${acc:-nan}" 'BEGIN {print a + b}')
      done
      # This seed's pair: bf16 / fp32 of the two epoch medians (the spread between seeds shows the noise).
      echo "# $arch seed $seed: bf16 / fp32 $(awk -v a="$(echo "${med[bf16]}" | awk '{print $NF}')" \
        -v b="$(echo "${med[fp32]}" | awk '{print $NF}')" 'BEGIN {printf "%.3f", a / b}')"
    done
    first_seed=${seeds%% *}
    OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1 "$python" bench/torch_train_classifiers.py \
      --arch "$arch" --input "$data/train.csv" --test "$data/dev.csv" --val-split 0.05 "${common[@]}" \
      --epochs "${TORCH_EPOCHS:-$epochs}" --seed "$first_seed" --autocast bf16 \
      --threads "$threads" --cache-dir "$out/token-cache" > "$out/torch-$arch-bf16.jsonl" || status=1
    summary=$("$python" -c 'import json,sys; r = json.loads(open(sys.argv[1]).readlines()[-1]); print(*r["epoch_seconds"])' "$out/torch-$arch-bf16.jsonl" 2>/dev/null || echo nan)
    echo "# $arch torch autocast bf16 seed $first_seed: epochs [$summary] s; load $(load)"
    local n f32 b16 tb a32 a16
    n=$(echo "$seeds" | wc -w)
    f32=$(echo "${med[fp32]}" | median); b16=$(echo "${med[bf16]}" | median); tb=$(echo "$summary" | median)
    a32=$(awk -v s="${accsum[fp32]}" -v n="$n" 'BEGIN {printf "%.4f", s / n}')
    a16=$(awk -v s="${accsum[bf16]}" -v n="$n" 'BEGIN {printf "%.4f", s / n}')
    table+="| $arch | $f32 | $b16 | $(awk -v a="$b16" -v b="$f32" 'BEGIN {printf "%.2fx", a / b}') | $a32 | $a16 | $(awk -v a="$a16" -v b="$a32" 'BEGIN {printf "%+.4f", a - b}') | $tb | $(awk -v a="$tb" -v b="$b16" 'BEGIN {printf "%.2fx", a / b}') |"$'\n'
    unset med accsum
  done
  echo "# load after: $(load)"
  echo
  echo "s/epoch: median over epochs, then over seeds ($seeds); dev acc: mean over seeds of the best epoch's."
  printf '%s' "$table"
}

status=0
first=1
export LOOM_NUM_THREADS=$threads
case $family in
  lstm | conv1d)
    prefix=$([ "$family" = lstm ] && echo lstm || echo conv)
    rounds=${ROUNDS:-$([ "$family" = lstm ] && echo 1 || echo 3)}
    out=${OUT_DIR:-$build/bench-results}
    mkdir -p "$out"
    torch_json=$out/${prefix}_cpu_torch.jsonl
    loom_json=$out/${prefix}_cpu_loom.jsonl
    rm -f "$torch_json" "$loom_json"
    build_target loom
    print_settings "reps $reps, rounds $rounds; LOOM_NUM_THREADS=$LOOM_NUM_THREADS; loom runs with" \
                   "OMP_WAIT_POLICY=passive, torch also with: $tuned_env"
    "compare_$family"
    echo
    echo "JSON lines: $loom_json (loom, every run) and $torch_json (torch, every run)"
    ;;
  models)
    out=${OUT_DIR:-$build/bench-results/models}
    mkdir -p "$out"
    print_settings
    compare_models
    ;;
  precision)
    out=${OUT_DIR:-$build/bench-results/precision}
    mkdir -p "$out"
    print_settings "; loom's CPU: $("$build/loom" doctor 2>/dev/null | grep -i -m1 'bf16' || echo '(doctor says nothing of bf16)')"
    compare_precision
    ;;
esac
exit $status
