# tools/gpu_check/env.sh: the settings every step of tools/gpu_check.sh shares, sourced (not run)
# by each step script, so a step runs the same alone (`bash tools/gpu_check.sh 2`) as in the chain.
#
# It decides, from the environment:
#   mode    gpu (a real GPU) or sim (LOOM_GPU_CHECK_SIM=1: the dry run on a machine without one)
#   shape   the LOOM_CUDA value to build: ON on a GPU, SIM in the dry run (OFF while cmake/sim.cmake
#           does not exist yet); LOOM_GPU_CHECK_CUDA overrides it
#   out     the output folder the steps append to: LOOM_GPU_CHECK_OUT, else $OUT/gpu_check when the
#           device tool set OUT, else bench/results/<UTC date>-gpu-check[-sim]/
#   build   the build folder: LOOM_GPU_CHECK_BUILD, else build-gpu (build-gpu-sim in the dry run)
#   arch    the GPU's compute capability without the dot (90 on an H100), from nvidia-smi
#   cuDNN   where PyTorch's nvidia wheel keeps cudnn.h and libcudnn.so.9, when the toolkit has none
# and exports PATH (nvcc) and LD_LIBRARY_PATH (cuDNN's lib folder, see below).
#
# Why the output folder holds at most 8 files: the device tool brings back only 8 files from $OUT.
# They are 0_probe.log 1_build.log 2_ctest.log 3_selftest.log 4_bench.log 4_loom.jsonl
# 4_torch.jsonl and summary-<time>.md; a step must not add a ninth.

# Run from the repository root whatever the caller's folder.
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

if [ "${LOOM_GPU_CHECK_SIM:-0}" = 1 ]; then gc_mode=sim; else gc_mode=gpu; fi

# ---- build shape, build folder, output folder ---------------------------------------------------
if [ -n "${LOOM_GPU_CHECK_CUDA:-}" ]; then
  gc_shape=$LOOM_GPU_CHECK_CUDA
elif [ "$gc_mode" = gpu ]; then
  gc_shape=ON
elif [ -f cmake/sim.cmake ]; then
  gc_shape=SIM
else
  # The simulator's build shape has not landed: dry-run the harness on the CPU build.
  gc_shape=OFF
fi
# Which device the selftest, `loom train` and the benches are asked for: a CPU-only build has none.
if [ "$gc_shape" = OFF ]; then gc_device=cpu; else gc_device=cuda; fi

gc_build=${LOOM_GPU_CHECK_BUILD:-build-gpu$([ "$gc_mode" = sim ] && echo -sim)}
if [ -n "${LOOM_GPU_CHECK_OUT:-}" ]; then
  gc_out=$LOOM_GPU_CHECK_OUT
elif [ -n "${OUT:-}" ]; then
  gc_out=$OUT/gpu_check
else
  gc_out=bench/results/$(date -u +%Y-%m-%d)-gpu-check$([ "$gc_mode" = sim ] && echo -sim)
fi
mkdir -p "$gc_out"
# Absolute, because steps cd into the build folder for ctest.
gc_out=$(cd "$gc_out" && pwd)

# ---- tools --------------------------------------------------------------------------------------
command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
gc_jobs=$(nproc)

# gc_arch: "90" on an H100, empty without nvidia-smi (the dry run, or a broken driver).
gc_arch=""
if [ "$gc_mode" = gpu ]; then
  gc_arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
fi

# ---- cuDNN from PyTorch's nvidia wheel ----------------------------------------------------------
# The toolkit folder rarely holds cuDNN on these machines; PyTorch's wheel nvidia-cudnn-cu* does.
# Its folder layout differs between wheel generations, so look for the two files rather than
# guess the path. cuDNN 9 loads its sub-libraries (libcudnn_engines_precompiled.so.9, ...) with
# dlopen by bare name, which searches LD_LIBRARY_PATH but not the folder libcudnn.so.9 came from:
# without the export below the build links and then every cuDNN call fails at run time.
gc_cudnn_include=""
gc_cudnn_library=""
if [ "$gc_mode" = gpu ] && [ ! -f /usr/local/cuda/include/cudnn.h ] && [ ! -f /usr/include/cudnn.h ]; then
  gc_nvidia_dirs=$(python3 - <<'PY' 2>/dev/null
import importlib.util
spec = importlib.util.find_spec("nvidia")
print("\n".join(spec.submodule_search_locations) if spec and spec.submodule_search_locations else "")
PY
)
  for d in $gc_nvidia_dirs; do
    h=$(find "$d" -maxdepth 4 -name cudnn.h 2>/dev/null | head -1)
    l=$(find "$d" -maxdepth 4 -name 'libcudnn.so.[0-9]*' 2>/dev/null | sort | head -1)
    if [ -n "$h" ] && [ -n "$l" ]; then
      gc_cudnn_include=$(dirname "$h")
      gc_cudnn_library=$l
      break
    fi
  done
fi
# A toolkit (or system) cuDNN needs the same loader path: CMake links libcudnn.so.9 by its full path
# and the RUNPATH it writes serves the executable's own dependencies, not libcudnn's dlopen calls.
gc_cudnn_libdir=""
if [ -n "$gc_cudnn_library" ]; then
  gc_cudnn_libdir=$(dirname "$gc_cudnn_library")
else
  for l in /usr/local/cuda/lib64/libcudnn.so.9 /usr/local/cuda/targets/x86_64-linux/lib/libcudnn.so.9 \
           /usr/lib/x86_64-linux-gnu/libcudnn.so.9; do
    if [ -f "$l" ]; then gc_cudnn_libdir=$(dirname "$l"); break; fi
  done
fi
if [ -n "$gc_cudnn_libdir" ]; then
  case ":${LD_LIBRARY_PATH:-}:" in
    *":$gc_cudnn_libdir:"*) ;;
    *) export LD_LIBRARY_PATH=$gc_cudnn_libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ;;
  esac
fi

# Spinning OpenMP threads starve OpenBLAS's (core/parallel.h); ctest sets it per test as well.
export OMP_WAIT_POLICY=passive

# gc_run SECONDS COMMAND...: one sub-command of a step with its own time limit, its status printed,
# so a hang costs its slice and the step goes on with the next one.
gc_run() {
  local limit=$1 rc start
  shift
  start=$(date +%s)
  echo "\$ $*   (limit ${limit} s)"
  timeout -k 5 "$limit" "$@"
  rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "[gc] timed out after ${limit} s: $*"
  else
    echo "[gc] exit $rc after $(($(date +%s) - start)) s: $1"
  fi
  return "$rc"
}

# gc_budget DEFAULT: this step's time in seconds, as the chain granted it (LOOM_GPU_CHECK_STEP_BUDGET)
# or DEFAULT when the step runs alone; sub-commands split it.
gc_budget() { echo "${LOOM_GPU_CHECK_STEP_BUDGET:-$1}"; }

# gc_section TITLE: a heading in the step's log.
gc_section() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%SZ)"; }
